"""Peak resident memory of a command and every process it starts (a replay's workers included)."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

#: Seconds between two samples of the process tree's memory.
SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class CommandRun:
    """One command's run.

    :param int code: Its exit code.
    :param float seconds: Wall time.
    :param int peak_rss: The largest sum of the tree's resident sets seen, in bytes.
    :param str out: What it printed on standard output.
    """

    code: int
    seconds: float
    peak_rss: int
    out: str


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(argv: list[str], cwd: Path | None = None) -> CommandRun:
    """Run ``argv`` (in ``cwd``), sampling the resident memory of its process tree until it exits."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=cwd)
    root = psutil.Process(process.pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(root))
            stop.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    return CommandRun(process.returncode, seconds, peak, out)
