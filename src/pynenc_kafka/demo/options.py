"""The demo's command line, and the settings it puts in the environment of every process of the fleet."""

from __future__ import annotations

import argparse
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pynenc_kafka.demo.stacks import SQLITE_VARIABLE, STACK_VARIABLE, Stack

#: Where each run's log folder goes unless ``--log-dir`` says otherwise (``deploy/fleet``: ``.kafka/fleet-logs``).
DEFAULT_LOG_DIR = Path("~/.cache/pynenc-kafka/fleet-logs")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the demo's options.

    :param argv: the arguments, without the program name (``None``: ``sys.argv[1:]``).
    :return: the options.
    """
    parser = argparse.ArgumentParser(
        prog="python -m pynenc_kafka.demo",
        description="Run a pynenc worker fleet on Kafka alone and show what it did.",
    )
    parser.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    parser.add_argument("--tasks", type=int, default=3000, help="tasks to run in total (default 3000)")
    parser.add_argument("--workflows", type=int, default=5, help="workflows of 10 sub-invocations each")
    parser.add_argument("--runner", default="ThreadRunner", help="pynenc runner class of each worker")
    parser.add_argument(
        "--stack",
        type=Stack,
        choices=list(Stack),
        default=Stack.KAFKA,
        help="the components: kafka (default: every one pynenc-kafka provides), sqlite (pynenc's SQLite"
        " ones, to compare), sqlite+kafka-state or sqlite+redis-state (pynenc's SQLite ones but the state backend)",
    )
    parser.add_argument("--app", default=f"fleet-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}")
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=DEFAULT_LOG_DIR,
        help=f"the run's logs go to DIR/<app>/ (default {DEFAULT_LOG_DIR})",
    )
    return parser.parse_args(argv)


def configure(args: argparse.Namespace, projection_dir: Path, sqlite_path: Path | None) -> None:
    """Put the fleet's settings in the environment, for this process and every worker.

    :param args: the demo's options.
    :param projection_dir: this process' projection folder (each worker group gets its own, see
        :func:`~pynenc_kafka.demo.fleet.worker_groups`).
    :param sqlite_path: the database of the SQLite components, for a stack that has some (``None``: none).
    """
    os.environ.pop(SQLITE_VARIABLE, None)
    if sqlite_path is not None:
        os.environ[SQLITE_VARIABLE] = str(sqlite_path)
    os.environ.update(
        {
            "PYNENC_KAFKA_DEMO_APP": args.app,
            STACK_VARIABLE: args.stack.value,
            "PYNENC__KAFKA_PROJECTION_DIR": str(projection_dir),
            "PYNENC__RUNNER_CLS": args.runner,
            # pynenc logs every status change at "info"; the logs keep warnings and errors.
            "PYNENC__LOGGING_LEVEL": os.environ.get("PYNENC__LOGGING_LEVEL", "warning"),
        }
    )
    # pynenc's runners poll every 0.1 s by default; a busy fleet wants shorter naps.
    for name in ("PYNENC__RUNNER_LOOP_SLEEP_TIME_SEC", "PYNENC__INVOCATION_WAIT_RESULTS_SLEEP_TIME_SEC"):
        os.environ.setdefault(name, "0.01")
    # pynenc colours its log lines unless told not to, even into a file (the task processes of
    # process runners make their own logger). cistell converts with bool(): only "" is false.
    os.environ.setdefault("PYNENC__LOG_USE_COLORS", "")
