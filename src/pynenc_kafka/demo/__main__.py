"""Run a pynenc worker fleet on Kafka alone and show what it did.

``python -m pynenc_kafka.demo --workers 4 --tasks 3000``: starts worker processes in two
groups standing for two hosts, submits tasks (some fail on purpose) and workflows with
sub-invocations, waits for every result, then prints throughput and a summary read back
through the components by this process, from a projection folder of its own. The terminal
gets a header, a progress line and the summary; everything else goes to the run's log folder.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from pynenc_kafka.core.conf import default_projection_dir
from pynenc_kafka.demo.fleet import WorkerDied, WorkerGroup, start_workers, stop_workers, worker_groups
from pynenc_kafka.demo.logs import RunLogs, adopt_app_logger, log_to
from pynenc_kafka.demo.options import configure, parse_args
from pynenc_kafka.demo.progress import ProgressLine
from pynenc_kafka.demo.summary import header, print_summary, shown
from pynenc_kafka.demo.watch import FleetWatch

logger = logging.getLogger("pynenc_kafka.demo")


def dead_worker_message(failure: WorkerDied, logs: RunLogs) -> str:
    """:param failure: the worker that died.
    :param logs: the run's log folder.
    :return: two lines for the terminal: what happened (with the last line the worker wrote), its log.
    """
    dead = failure.dead
    how = (
        f"was killed by {signal.Signals(-dead.returncode).name}"
        if dead.returncode < 0
        else f"exited with code {dead.returncode}"
    )
    last = last_line(logs.worker(dead.index))
    return (
        f"error: worker {dead.index} (pid {dead.pid}) {how} while the fleet ran"
        + (f"; its last line: {last}" if last else "")
        + f"\n       its log: {shown(logs.worker(dead.index))}"
    )


def last_line(path: Path) -> str:
    """:param path: a log file.
    :return: its last line that is not blank, or ``""``.
    """
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - 4096))
            lines = log.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def run_fleet(groups: list[WorkerGroup], tasks: int, workflows: int, logs: RunLogs) -> int:
    """Start the workers, run the work while watching them, stop them, print the summary.

    :param groups: the worker groups to start.
    :param tasks: tasks in total.
    :param workflows: workflows among them.
    :param logs: the run's log folder.
    :return: the exit code.
    :raises WorkerDied: if a worker exits before the work is done.
    """
    from pynenc_kafka.demo import workload  # builds the app from the environment

    adopt_app_logger(workload.app)
    print(header(workload.app, workload.STACK, groups), flush=True)
    plan = workload.Plan.for_total(tasks, workflows)
    workers = groups[-1].last
    logger.info("app %s: %s, %d worker processes in %s", workload.app.app_id, plan, workers, groups)
    processes = start_workers(groups, logs)
    try:
        watch = FleetWatch(processes, workload.count_done, ProgressLine(plan.total))
        watch.start()
        try:
            outcome = workload.run(plan)
        finally:
            watch.stop()
    finally:
        stop_workers(processes)
    logger.info("done: %s", outcome)
    print_summary(outcome, groups, logs.folder)
    return 0


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Handle SIGTERM and SIGHUP like Ctrl-C, so the workers are stopped before the demo exits.

    :param signum: the signal.
    :param frame: where the main thread was.
    :raises KeyboardInterrupt: always.
    """
    del signum, frame
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the fleet end to end.

    :param argv: the options (``None``: the command line's).
    :return: the exit code: 0 done, 1 failed (one or two lines on stderr), 130 interrupted.
    """
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    logs = RunLogs(args.log_dir, args.app)
    log_to(logs.demo.open("a", encoding="utf-8", buffering=1))
    print(
        f"==> running the fleet: {args.workers} worker processes ({args.runner}), {args.tasks} tasks;"
        f" logs in {shown(logs.folder)}/",
        flush=True,
    )
    projection_root = Path(os.environ.get("PYNENC__KAFKA_PROJECTION_DIR") or default_projection_dir())
    groups = worker_groups(args.workers, projection_root)
    with tempfile.TemporaryDirectory(prefix="pynenc-kafka-demo-") as scratch:
        # Only a SQLite stack (to compare) has a database; the Kafka stack writes no file but projections.
        sqlite_path = Path(scratch) / "pynenc.db" if args.stack.uses_sqlite else None
        configure(args, projection_root / "client", sqlite_path)
        try:
            return run_fleet(groups, args.tasks, args.workflows, logs)
        except WorkerDied as failure:
            message = dead_worker_message(failure, logs)
            logger.error("%s", message)
            print(message, file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted: the workers are stopped", file=sys.stderr)
            return 130
        except Exception as error:
            logger.exception("the fleet failed")
            first_line = next(iter(str(error).strip().splitlines()), "")
            print(
                f"error: the fleet failed: {type(error).__name__}: {first_line}\n"
                f"       details: {shown(logs.demo)}",
                file=sys.stderr,
            )
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
