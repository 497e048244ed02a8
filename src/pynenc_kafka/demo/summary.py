"""The visible result of a run: what the fleet did, read back through the state backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the workload builds the app, which must wait for the settings
    from pynenc_kafka.demo.workload import Outcome


def print_summary(outcome: Outcome, workers: int, log_folder: Path) -> None:
    """Print the summary, then where the details are.

    :param outcome: what the run did.
    :param workers: how many worker processes ran it.
    :param log_folder: the run's log folder.
    """
    print(f"=== pynenc fleet: app {outcome.app_id!r}, {workers} worker processes, {outcome.backend} ===")
    print(
        f"ran {outcome.tasks} tasks in {outcome.seconds:.1f}s: {outcome.tasks / outcome.seconds:.0f} tasks/s"
    )
    print("final statuses (read back from the state backend):", dict(sorted(outcome.statuses.items())))
    inv_id, value = outcome.sample_result
    print(f"a result:     score {inv_id} -> {value!r}; history {' -> '.join(outcome.history)}")
    if outcome.exception:
        failed_id, exc = outcome.exception
        print(f"an exception: check {failed_id} -> {type(exc).__name__}: {exc}")
    if outcome.workflow:
        wf_id, subs, status = outcome.workflow
        print(f"a workflow:   {wf_id} ran {len(subs)} sub-invocations, workflow data status={status!r}")
        print(f"              first sub-invocations: {', '.join(subs[:3])}, ...")
    print(f"logs: {shown(log_folder)}/ (worker-N.log: each worker's output, with the tracebacks of the")
    print("      checks that fail on purpose; demo.log: the logging of this process and of librdkafka)")


def shown(path: Path) -> str:
    """:param path: a file or folder.
    :return: the path relative to the current folder if it is under it, else as it is.
    """
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return os.fspath(path)
