"""The bench's core split: the fleet's processes on half of the cores, the broker's threads on the rest."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.core_split import CoreSplit

SPLIT = CoreSplit.of_machine()
needs_cores = pytest.mark.skipif(SPLIT is None, reason="a split needs two cores and CPU affinity")


def _affinity(pid: int) -> set[int]:
    return set(os.sched_getaffinity(pid))


@needs_cores
def test_the_halves_cover_the_cores_once() -> None:
    assert SPLIT is not None
    assert SPLIT.fleet and SPLIT.broker and not SPLIT.fleet & SPLIT.broker
    assert SPLIT.fleet | SPLIT.broker == _affinity(0)


@needs_cores
def test_a_fleet_and_its_children_run_on_the_fleets_cores() -> None:
    assert SPLIT is not None
    child = "import os, subprocess, sys; print(subprocess.run([sys.executable, '-c', 'import os; print(sorted(os.sched_getaffinity(0)))'], capture_output=True, text=True).stdout.strip())"
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True, preexec_fn=SPLIT.pin_fleet
    )
    assert done.stdout.strip() == str(sorted(SPLIT.fleet))


@needs_cores
def test_every_thread_of_the_broker_moves_to_its_cores_and_back() -> None:
    assert SPLIT is not None
    threads = "import threading, time; [threading.Thread(target=time.sleep, args=(30,), daemon=True).start() for _ in range(3)]; print('up', flush=True); time.sleep(30)"
    process = subprocess.Popen([sys.executable, "-c", threads], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "up"
        tids = [int(t) for t in os.listdir(f"/proc/{process.pid}/task")]
        assert len(tids) >= 4
        SPLIT.pin_broker(process.pid)
        assert all(_affinity(t) == SPLIT.broker for t in tids)
        SPLIT.release_broker(process.pid)
        assert all(_affinity(t) == SPLIT.fleet | SPLIT.broker for t in tids)
    finally:
        process.kill()
        process.wait()
