"""One racing process: asks for every invocation it is given, then reports what it won and what
its own views say of every invocation.

    python -m tests.orchestration.race_worker APP_ID RUNNER_ID PROJECTION_DIR START_AT OUT INV_ID...
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pynenc.exceptions import InvocationStatusError
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from tests.orchestration.race_app import make


def main(argv: list[str]) -> None:
    app_id, runner_id, projection_dir, start_at, out, *invocation_ids = argv
    app, _, _ = make(app_id, projection_dir)
    orchestrator = app.orchestrator
    ids = [InvocationId(i) for i in invocation_ids]
    orchestrator.get_invocation_status(ids[0])  # open the views before the start
    time.sleep(max(0.0, float(start_at) - time.time()))
    won, refused = [], []
    for invocation_id in ids:
        try:
            orchestrator._atomic_status_transition(invocation_id, InvocationStatus.PENDING, runner_id)
            orchestrator._atomic_status_transition(invocation_id, InvocationStatus.RUNNING, runner_id)
            won.append(invocation_id)
        except InvocationStatusError as exc:
            refused.append([invocation_id, type(exc).__name__])
    views = {}
    for invocation_id in ids:
        record = orchestrator.get_invocation_status_record(invocation_id)
        views[invocation_id] = [record.status.value, record.runner_id]
    Path(out).write_text(json.dumps({"won": won, "refused": refused, "views": views}))


if __name__ == "__main__":
    main(sys.argv[1:])
