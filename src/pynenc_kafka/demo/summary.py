"""What the terminal shows of a run: the header (components, worker groups) and the summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pynenc_kafka.demo.fleet import WorkerGroup
from pynenc_kafka.demo.stacks import Stack

if TYPE_CHECKING:  # importing the workload builds the app, which must wait for the settings
    from pynenc import Pynenc

    from pynenc_kafka.demo.workload import Outcome


def header(app: Pynenc, stack: Stack, groups: list[WorkerGroup]) -> str:
    """:param app: the fleet's app, as built in this process.
    :param stack: the stack it was built on.
    :param groups: the worker groups.
    :return: one line: the app's components (their classes, as built) and the worker groups.
    """
    components = ", ".join(
        type(component).__name__
        for component in (app.state_backend, app.broker, app.orchestrator, app.client_data_store, app.trigger)
    )
    where = "no SQLite" if stack is Stack.KAFKA else "one SQLite file, shared by every worker"
    hosts = f"{len(groups)} group{'s' if len(groups) > 1 else ''}, a projection folder each"
    return f"==> {stack.label}: {components} ({where}); {hosts}: {', '.join(map(str, groups))}"


def print_summary(outcome: Outcome, groups: list[WorkerGroup], log_folder: Path) -> None:
    """Print the summary, then where the details are.

    :param outcome: what the run did.
    :param groups: the worker groups that ran it.
    :param log_folder: the run's log folder.
    """
    workers = f"{groups[-1].last} worker processes in {len(groups)} group{'s' if len(groups) > 1 else ''}"
    print(f"=== pynenc fleet: app {outcome.app_id!r}, {workers}, on {outcome.stack.label} ===")
    print(
        f"ran {outcome.tasks} tasks in {outcome.seconds:.1f}s: {outcome.tasks / outcome.seconds:.0f} tasks/s"
    )
    print(
        "final statuses (read back by this process, from its own projection folder):",
        dict(sorted(outcome.statuses.items())),
    )
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
