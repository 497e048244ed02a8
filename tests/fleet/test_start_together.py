"""A fleet starts many processes at the same moment on a new app: every one of them works."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import unique_app_id
from tests.integration.support import REPO

PROCESSES, ROUNDS = 8, 20

#: One worker: build the app, write, read its write back. A new app per round, all at once.
_WORKER = textwrap.dedent(
    """
    import os, sys
    from pynenc import PynencBuilder
    from pynenc.identifiers.invocation_id import InvocationId
    be = PynencBuilder().app_id(sys.argv[1]).kafka().build().state_backend
    mine = InvocationId(f"inv-{os.getpid()}")
    be._set_result(mine, str(os.getpid()))
    assert be._get_result(mine) == str(os.getpid())
    print("ok", flush=True)
    """
)


def test_processes_starting_together_on_new_apps_all_write_and_read(tmp_path: Path) -> None:
    """The first one creates the topics and the projection; the others must wait for a fully
    created RocksDB (every column family) before they open it as secondaries."""
    env = {**os.environ, "PYNENC__KAFKA_PROJECTION_DIR": str(tmp_path / "projections")}
    failures: list[str] = []
    for _ in range(ROUNDS):
        app_id = unique_app_id("start-together")
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, app_id],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
                env=env,
            )
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            if worker.returncode != 0 or out.strip() != "ok":
                failures.append(err[-1500:])
    assert not failures, f"{len(failures)} of {PROCESSES * ROUNDS} processes failed:\n" + "\n---\n".join(
        failures
    )
    leftovers = list((tmp_path / "projections" / ".secondary").glob("*/*"))
    assert not leftovers, f"secondary folders left behind: {leftovers}"
