"""Record the current event schema as a release: its canonical form and golden bytes of every kind.

    python -m tests.golden.release VERSION

writes ``schemas/released/event-VERSION.json`` (the schema's parsing canonical form, which the
codec accepts as a writer schema forever after) and ``tests/golden/VERSION/``: one event of each
payload type encoded with it (``<Kind>.bin``) and what it must decode to (``expected.json``).
Every kind needs a sample below, so a new kind cannot be released without golden bytes.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastavro.schema import to_parsing_canonical_form

from pynenc_kafka.schemas import SCHEMA_DIR
from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind

GOLDEN = Path(__file__).resolve().parent
AT = 1_700_000_000_000_000
OCCURRED_AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def samples() -> dict[str, dict[str, Any]]:
    """A payload of every kind: the first release's, and one of each kind added since."""
    first = json.loads((GOLDEN / "0.1.0" / "expected.json").read_text())
    found = {kind: entry["payload"] for kind, entry in first.items()}
    found.update(
        {
            "InvocationTracked": {
                "invocation_id": "inv-1",
                "decision_key": "inv-1",
                "task_id": "mod.task",
                "call_id": "mod.task:args-1",
                "owner_runner_id": "runner-1",
                "registered_at": AT,
            },
            "StatusTransitionRequested": {
                "request_id": "req-1",
                "invocation_id": "inv-1",
                "decision_key": "task:mod.task",
                "status": "running",
                "runner_id": "runner-1",
                "requested_at": AT + 1,
                "concurrency_group": "task:mod.task",
            },
            "RetryCounted": {"invocation_id": "inv-1", "decision_key": "inv-1"},
            "ArgumentsIndexed": {"invocation_id": "inv-1", "decision_key": "inv-1", "arguments": {"x": "1"}},
            "AutoPurgeScheduled": {"invocation_id": "inv-1", "decision_key": "inv-1", "final_at": AT + 2},
            "InvocationForgotten": {"invocation_id": "inv-1", "decision_key": "inv-1"},
            "WaitingForResults": {"caller_id": "inv-1", "waited_ids": ["inv-2", "inv-3"]},
            "WaitersReleased": {"waited_id": "inv-2"},
            "AtomicServiceExecutionRecorded": {
                "request_id": "req-2",
                "runner_id": "runner-1",
                "run_id": "run-1",
                "started_at": AT + 3,
                "status": "running",
                "reason": "",
            },
            "AtomicServiceExecutionFinalized": {
                "runner_id": "runner-1",
                "run_id": "run-1",
                "end_time": AT + 4,
                "status": "completed",
                "reason": "",
            },
            "AtomicServiceExecutionsPurged": {"run_ids": ["run-0"]},
            "RunnerHeartbeat": {
                "runner_id": "runner-1",
                "created_at": AT,
                "heartbeat_at": AT + 5,
                "can_run_atomic_service": True,
                "consumed_queues": ["default"],
            },
        }
    )
    return found


def release(version: str) -> None:
    """Write the release files of ``version`` (refusing to overwrite another schema's)."""
    codec = EventCodec()
    canonical = to_parsing_canonical_form(codec.schema)
    schema_file = SCHEMA_DIR / "released" / f"event-{version}.json"
    schema_file.write_text(canonical)
    folder = GOLDEN / version
    folder.mkdir(exist_ok=True)
    payloads = samples()
    expected: dict[str, Any] = {}
    for n, kind in enumerate(EventKind, start=1):
        event_id = f"00000000-0000-4000-8000-{n:012d}"
        payload = payloads[kind.value]
        (folder / f"{kind.value}.bin").write_bytes(
            codec.encode("golden app", kind, payload, event_id, OCCURRED_AT)
        )
        expected[kind.value] = {
            "app_id": "golden app",
            "event_id": event_id,
            "occurred_at": OCCURRED_AT.isoformat(),
            "payload": payload,
        }
    (folder / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    release(sys.argv[1])
