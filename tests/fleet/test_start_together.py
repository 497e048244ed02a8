"""A fleet starts many processes at the same moment on a new app: every one of them works."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import unique_app_id
from tests.integration.support import REPO

PROCESSES = 6


@pytest.mark.parametrize("round_", range(2))
def test_processes_starting_together_on_a_new_app_all_write_and_read(round_: int, tmp_path: Path) -> None:
    """The first one creates the topics and the projection; the others must wait for a fully
    created RocksDB (every column family) before they open it as secondaries."""
    del round_
    app_id = unique_app_id("start-together")
    code = textwrap.dedent(
        f"""
        import os, sys
        from pynenc import PynencBuilder
        from pynenc.identifiers.invocation_id import InvocationId
        be = PynencBuilder().app_id({app_id!r}).kafka().build().state_backend
        mine = InvocationId(f"inv-{{os.getpid()}}")
        be._set_result(mine, str(os.getpid()))
        assert be._get_result(mine) == str(os.getpid())
        print("ok", flush=True)
        """
    )
    env = {**os.environ, "PYNENC__KAFKA_PROJECTION_DIR": str(tmp_path / "projections")}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    outcomes = [w.communicate(timeout=120) for w in workers]
    failed = [err[-2000:] for w, (_, err) in zip(workers, outcomes, strict=True) if w.returncode != 0]
    assert not failed, f"{len(failed)} of {PROCESSES} processes died:\n" + "\n---\n".join(failed)
    assert all(out.strip() == "ok" for out, _ in outcomes)
    leftovers = list((tmp_path / "projections" / ".secondary").glob("*/*"))
    assert not leftovers, f"secondary folders left behind: {leftovers}"
