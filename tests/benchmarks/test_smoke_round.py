"""The benchmark command's smoke round: every workload on every backend and stack, tiny, on the session broker.

The figures of a smoke round mean nothing; what it shows is that ``bash deploy/bench`` runs
from a fresh clone (redis-server installed where missing), that every backend answers every
workload correctly (the workloads check their reads), and that the report, its JSON and the
chart are written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.support import REPO

BACKENDS = ("Mem (pynenc)", "SQLite (pynenc)", "Redis (pynenc-redis)", "Kafka (pynenc-kafka)")


def test_the_smoke_round_measures_every_backend_and_writes_the_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYNENC__KAFKA_PROJECTION_DIR": str(tmp_path / "projections")},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    table = (tmp_path / "latest.md").read_text()
    assert all(label in table for label in BACKENDS)
    figures = json.loads((tmp_path / "latest.json").read_text())["figures"]
    every = {"mem", "sqlite", "redis", "kafka"}
    expected = {
        "write.1": every,
        "write.8": every,
        "read.get_result": every,
        "read.get_history": every,
        "read.get_workflow_data": every,
        "cross.get_history after another process's write": every - {"mem"},
        "fork.exit": every - {"mem"},
        "fork.exit.bridge": {"kafka"},
        "write.floor": {"kafka"},
        "replay": {"kafka"},
        "fleet.ThreadRunner": every - {"mem"},
        "stack.ThreadRunner": {"sqlite", "kafka"},
        "queue.route": {"kafka"},
        "queue.latency.2w": {"kafka"},
        "queue.latency.2w.p99": {"kafka"},
        "queue.throughput.2w": {"kafka"},
    }
    for key, backends in expected.items():
        medians = figures[key]["median"]
        assert set(medians) == backends, key
        assert all(value > 0 for value in medians.values()), (key, medians)
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
