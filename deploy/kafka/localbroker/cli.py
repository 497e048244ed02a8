"""The command line of ``deploy/kafka/broker``: options, dispatch, errors to exit codes."""

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import commands
from .console import EXIT_DOWN, EXIT_ERROR, EXIT_INTERRUPTED, BrokerError, report_error
from .java import MIN_JAVA
from .ports import DEFAULT_PORT
from .process import STOP_GRACE_SECONDS
from .properties import HOST

DEFAULT_TIMEOUT = 90.0
"""Seconds ``start`` waits for a launched broker: generous, for a loaded machine."""


def _port(text: str) -> int:
    """:param text: an option value.
    :return: it as a TCP port.
    :raises argparse.ArgumentTypeError: if it is not one (a usage error, exit 2).
    """
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def _positive_seconds(text: str) -> float:
    """:param text: an option value.
    :return: it as a positive number of seconds.
    :raises argparse.ArgumentTypeError: if it is not positive (a usage error, exit 2).
    """
    seconds = float(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    """:return: the command line parser of ``broker``."""
    parser = argparse.ArgumentParser(
        prog="broker",
        description="Run a local single-node Apache Kafka broker (KRaft mode) on "
        f"{HOST}, without Docker. Needs Java {MIN_JAVA}+ on PATH, and Maven (mvn) "
        "the first time, to download the jars.",
        epilog="Environment: PYNENC_KAFKA_BROKER_HOME (default data dir, else "
        "<repo>/.kafka/broker); PYNENC_KAFKA_JARS (jar cache, else "
        "~/.cache/pynenc-kafka/kafka-<version>). Exit codes: 0 ok, 1 error, "
        f"2 usage error, {EXIT_DOWN} 'status' found the broker down.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="broker data dir (default: $PYNENC_KAFKA_BROKER_HOME, else <repo>/.kafka/broker)",
    )

    start = subcommands.add_parser(
        "start",
        parents=[data_dir],
        help="start the broker (or report the running one)",
        description="Start the broker and wait until it serves metadata. The last line "
        f"on stdout is KAFKA_BOOTSTRAP_SERVERS={HOST}:PORT. If this data dir's broker "
        "already runs, report it. The data dir is formatted once and then reused.",
    )
    start.add_argument(
        "--port",
        type=_port,
        help=f"client port (default: the data dir's last port, else {DEFAULT_PORT})",
    )
    start.add_argument(
        "--controller-port",
        type=_port,
        metavar="PORT",
        help="KRaft controller port (default: the data dir's last one, else PORT+1 or a free port)",
    )
    start.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the launched broker to answer (default: {DEFAULT_TIMEOUT:g})",
    )

    subcommands.add_parser(
        "stop",
        parents=[data_dir],
        help="stop the broker",
        description="Stop the broker whose pid is in <data-dir>/broker.pid: SIGTERM, "
        f"then SIGKILL after {STOP_GRACE_SECONDS:g}s. Exits 0 if nothing runs.",
    )
    subcommands.add_parser(
        "status",
        parents=[data_dir],
        help="tell whether the broker is up",
        description=f"Print 'up {HOST}:PORT (pid N)' and exit 0, or 'down' and exit {EXIT_DOWN}.",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the chosen command.

    :param args: the parsed command line.
    :return: the exit code.
    """
    data_dir: Path | None = args.data_dir
    if args.command == "start":
        return commands.start(data_dir, args.port, args.controller_port, args.timeout)
    if args.command == "stop":
        return commands.stop(data_dir)
    return commands.status(data_dir)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the command, turn failures into exit codes.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :return: the exit code.
    """
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except BrokerError as error:
        report_error(error)
    except OSError as error:  # e.g. a data dir that cannot be written
        report_error(BrokerError(str(error)))
    except KeyboardInterrupt:
        report_error(BrokerError("interrupted"))
        return EXIT_INTERRUPTED
    return EXIT_ERROR
