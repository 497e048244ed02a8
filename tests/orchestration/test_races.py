"""Races decided in the log's order: many processes, two hosts' projection folders, one answer.

Eight processes (four per projection folder, as two hosts would) ask at the same moment to move
the same invocations to PENDING then RUNNING. Each invocation is won by exactly one of them, and
every process's views name that one as its owner. Eight processes each ask to run a different
invocation of a task that may run once at a time: one is granted, the others are refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pynenc.invocation.dist_invocation import DistributedInvocation

from tests.conftest import unique_app_id
from tests.orchestration.race_app import make

RACERS = 8
REPO = Path(__file__).resolve().parents[2]


def race(app_id: str, folders: list[Path], ids: list[list[str]], tmp_path: Path) -> list[dict]:
    """Start the racers together; each gets ``ids[n]`` (or all of ``ids[0]``) and a folder."""
    start_at = time.time() + 6.0
    procs = []
    for n in range(RACERS):
        out = tmp_path / f"racer-{n}.json"
        args = [app_id, f"runner-{n}", str(folders[n % 2]), str(start_at), str(out), *ids[n % len(ids)]]
        procs.append(
            (
                subprocess.Popen([sys.executable, "-m", "tests.orchestration.race_worker", *args], cwd=REPO),
                out,
            )
        )
    for proc, _ in procs:
        assert proc.wait(timeout=120) == 0
    return [json.loads(out.read_text()) for _, out in procs]


def test_each_invocation_is_won_by_exactly_one_racer_in_every_view(tmp_path: Path) -> None:
    app_id = unique_app_id("race-own")
    folders = [tmp_path / "host-a", tmp_path / "host-b"]
    app, free, _ = make(app_id, str(folders[0]))
    invocations: list[DistributedInvocation] = [free(n) for n in range(12)]
    ids = [i.invocation_id for i in invocations]
    reports = race(app_id, folders, [ids], tmp_path)
    winners = {inv: [n for n, r in enumerate(reports) if inv in r["won"]] for inv in ids}
    assert all(len(w) == 1 for w in winners.values()), winners
    for report in reports:
        for inv, (status, owner) in report["views"].items():
            assert (status, owner) == ("running", f"runner-{winners[inv][0]}")
    print(f"wins per racer: {[len(r['won']) for r in reports]}")


def test_a_task_limited_to_one_run_is_granted_to_one_racer(tmp_path: Path) -> None:
    app_id = unique_app_id("race-limit")
    folders = [tmp_path / "host-a", tmp_path / "host-b"]
    app, _, limited = make(app_id, str(folders[0]))
    ids = [[limited(n).invocation_id] for n in range(RACERS)]
    reports = race(app_id, folders, ids, tmp_path)
    running = [r["won"] for r in reports if r["won"]]
    assert len(running) == 1, reports
    refusals = [reason for r in reports for _, reason in r["refused"]]
    assert refusals == ["RunningConcurrencyError"] * (RACERS - 1)
    owner = next(n for n, r in enumerate(reports) if r["won"])
    for n, report in enumerate(reports):  # each racer's own view of its own invocation
        (status, who), *_ = report["views"].values()
        assert (status, who) == ("running" if n == owner else "pending", f"runner-{n}")
    seen = {i[0]: app.orchestrator.get_invocation_status(i[0]).value for i in ids}  # this process's view
    assert sorted(seen.values()) == ["pending"] * (RACERS - 1) + ["running"]
    assert seen[running[0][0]] == "running"
