"""The machine's cores split between the fleet and the Kafka broker, as two hosts would have them.

A real fleet does not share its cores with Kafka, but on one machine the local broker takes its
CPU from the cores the fleet runs on, which pynenc's SQLite stack (no server at all) never pays.
With the broker pinned to half of the cores and every process of a fleet to the other half, for
both stacks alike, the stacks are compared on the same CPU for the fleet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CoreSplit:
    """Which cores the fleet's processes get, and which the broker's threads.

    :param frozenset fleet: The fleet's cores.
    :param frozenset broker: The broker's cores.
    """

    fleet: frozenset[int]
    broker: frozenset[int]

    @classmethod
    def of_machine(cls) -> CoreSplit | None:
        """The first half of this process' cores for the fleet, the rest for the broker
        (``None`` with a single core, or where CPU affinity cannot be set)."""
        if not hasattr(os, "sched_setaffinity"):
            return None
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            return None
        half = len(cores) // 2
        return cls(frozenset(cores[:half]), frozenset(cores[half:]))

    def pin_broker(self, pid: int) -> None:
        """Move every thread of the broker's JVM to the broker's cores (new threads inherit them)."""
        _pin_threads(pid, self.broker)

    def release_broker(self, pid: int) -> None:
        """Give the broker's threads every core of the split again."""
        _pin_threads(pid, self.fleet | self.broker)

    def pin_fleet(self) -> None:
        """Pin the calling process to the fleet's cores: a ``preexec_fn`` of the fleet's command,
        whose workers and task processes inherit it."""
        os.sched_setaffinity(0, self.fleet)


def _pin_threads(pid: int, cores: frozenset[int]) -> None:
    for thread in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(thread.name), cores)
        except ProcessLookupError:  # a thread that ended meanwhile
            continue
