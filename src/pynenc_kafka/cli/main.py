"""``pynenc-kafka``: audit an app's event log and its projections.

Subcommands: ``trail`` (every event of one invocation), ``replay`` (rebuild the views from the
log, up to a moment if asked), ``show`` (an invocation as of a replayed folder), ``verify`` (a
replay equals the live views), ``lag`` (how far the live projection is behind), ``apps`` (the
apps the registry knows), ``export`` (the events, or one row per invocation, as Avro or Parquet),
``project`` (this host's projector of an app, as a standalone daemon) and ``acl`` (the ACLs an
app's principal needs on a secured cluster).

Connection settings are the backend's own (``PYNENC__KAFKA_*`` environment variables and
pynenc config files); the options override them. Exit codes: 0 ok, 1 a negative answer (a
verify mismatch, nothing found), 2 an error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pynenc_kafka import __version__
from pynenc_kafka.audit.worker_processes import WORKERS_HELP
from pynenc_kafka.cli.commands import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    cmd_acl,
    cmd_apps,
    cmd_project,
    cmd_replay,
    cmd_show,
    cmd_trail,
    cmd_verify,
    parse_moment,
)
from pynenc_kafka.cli.export import add_export_arguments, cmd_export
from pynenc_kafka.cli.lag import cmd_lag
from pynenc_kafka.schemas.errors import KafkaBackendError

__all__ = ["build_parser", "main", "parse_moment"]


def _connection_options(suppress: bool) -> argparse.ArgumentParser:
    """The connection options, before or after the subcommand.

    After it they default to ``SUPPRESS``, so they never overwrite values given before it.
    """
    default: Any = argparse.SUPPRESS if suppress else None
    options = argparse.ArgumentParser(add_help=False, argument_default=default)
    group = options.add_argument_group("connection (override the PYNENC__KAFKA_* settings)")
    group.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT[,...]",
        help="Kafka host:port list (PYNENC__KAFKA_BOOTSTRAP_SERVERS)",
    )
    group.add_argument(
        "--topic-prefix", metavar="PREFIX", help="topic prefix of the deployment (PYNENC__KAFKA_TOPIC_PREFIX)"
    )
    group.add_argument(
        "--projection-dir",
        metavar="DIR",
        help="host folder of live projections (PYNENC__KAFKA_PROJECTION_DIR)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="seconds a Kafka request may take (PYNENC__KAFKA_TIMEOUT)",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="log what the clients do, to stderr")
    return options


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    connection = _connection_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="pynenc-kafka",
        description=(
            "Audit a pynenc-kafka app (event trails, point-in-time replays, verification, lag, export) "
            "and run its projector."
        ),
        epilog="Exit codes: 0 ok, 1 a negative answer (verify mismatch, nothing found), 2 error, 130 interrupted.",
        parents=[_connection_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text, parents=[connection])
        sub.set_defaults(handler=handler)
        return sub

    trail = command("trail", cmd_trail, "every event of one invocation, in log order")
    trail.add_argument("invocation_id")
    trail.add_argument("--app", required=True, help="the pynenc app id")
    trail.add_argument("--deep", action="store_true", help="read every partition: also events naming it")
    trail.add_argument("--json", action="store_true", help="JSON with full payloads")

    replay = command("replay", cmd_replay, "rebuild every view from the log into a fresh folder")
    replay.add_argument("--app", required=True, help="the pynenc app id")
    replay.add_argument(
        "--into", required=True, metavar="DIR", help="new or empty folder, or a previous replay"
    )
    replay.add_argument(
        "--until", metavar="TIMESTAMP", help="ISO-8601 moment to stop at (the state as of then)"
    )
    replay.add_argument("--fresh", action="store_true", help="start over instead of resuming a replay in DIR")
    replay.add_argument("--workers", type=int, metavar="N", help=WORKERS_HELP)

    show = command("show", cmd_show, "an invocation's history, result or exception as of a replayed folder")
    show.add_argument("invocation_id")
    show.add_argument("--from", dest="from_folder", required=True, metavar="DIR", help="a replayed folder")
    show.add_argument("--json", action="store_true")

    verify = command("verify", cmd_verify, "check that a replay of the log equals the live projection")
    verify.add_argument("--app", required=True, help="the pynenc app id")
    verify.add_argument("--workers", type=int, metavar="N", help=WORKERS_HELP)

    lag = command(
        "lag", cmd_lag, "how far this host's projection of an app is behind the log, who projects it"
    )
    which = lag.add_mutually_exclusive_group(required=True)
    which.add_argument("--app", help="the pynenc app id")
    which.add_argument("--all-apps", action="store_true", help="every app the registry knows")
    lag.add_argument("--max-lag", type=int, metavar="N", help="exit 1 when more than N records behind")
    lag.add_argument(
        "--max-lag-seconds",
        type=float,
        metavar="SECONDS",
        help="exit 1 when the oldest record not applied was written more than SECONDS ago",
    )
    lag.add_argument("--json", action="store_true")

    apps = command("apps", cmd_apps, "the apps the registry knows, with their event logs")
    apps.add_argument("--json", action="store_true")

    export = command(
        "export", cmd_export, "the events (or one row per invocation) as Avro or Parquet, for analytics"
    )
    add_export_arguments(export)

    acl = command(
        "acl",
        cmd_acl,
        "the ACLs one app's principal needs on a secured cluster, and no more; --apply creates them",
    )
    acl.add_argument("app", metavar="APP", help="the pynenc app id")
    acl.add_argument("principal", metavar="PRINCIPAL", help="the SASL user (alice) or principal (User:alice)")
    acl.add_argument(
        "--apply", action="store_true", help="create them, with the configured client's (an admin's) rights"
    )
    acl.add_argument("--json", action="store_true")

    project = command(
        "project", cmd_project, "run this host's projector of an app (a sidecar or service) until SIGTERM"
    )
    project.add_argument("--app", required=True, help="the pynenc app id")
    project.add_argument(
        "--status-every", type=float, default=30.0, metavar="SECONDS", help="seconds between lag reports"
    )
    project.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve /metrics (Prometheus), /healthz and /readyz on PORT (0: any free port)",
    )
    project.add_argument(
        "--metrics-address", metavar="ADDRESS", help="address to listen on (PYNENC__KAFKA_METRICS_ADDRESS)"
    )
    project.add_argument(
        "--ready-max-lag",
        type=int,
        metavar="N",
        help="records behind at most for /readyz to answer ready (PYNENC__KAFKA_READY_MAX_LAG)",
    )
    return parser


@contextmanager
def _cli_logging(verbose: bool, daemon: bool) -> Iterator[None]:
    """Log warnings (everything with ``-v``) to stderr as one line each, for the command's duration.

    The lines saying the cluster became unreachable and is back are for a daemon (``project``),
    which lives through an outage; a one-shot command's own error already says it.
    """
    package = logging.getLogger("pynenc_kafka")
    librdkafka = logging.getLogger("pynenc_kafka.librdkafka")
    connection = logging.getLogger("pynenc_kafka.connection")  # unreachable, and back: both lines
    saved = (package.level, package.propagate, librdkafka.level, connection.level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("pynenc-kafka: %(levelname)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.DEBUG if verbose else logging.WARNING)
    package.propagate = False
    librdkafka.setLevel(logging.INFO if verbose else logging.CRITICAL + 1)
    connection.setLevel(logging.DEBUG if verbose else logging.INFO if daemon else logging.ERROR)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(saved[0])
        package.propagate = saved[1]
        librdkafka.setLevel(saved[2])
        connection.setLevel(saved[3])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    :param argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    with _cli_logging(args.verbose, daemon=args.command == "project"):
        try:
            code: int = args.handler(args)
            sys.stdout.flush()
            return code
        except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except (KafkaBackendError, OSError) as exc:
            print(f"pynenc-kafka {args.command}: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            print(f"pynenc-kafka {args.command}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as exc:  # a bug of ours: still exit 2, never 1 (which means "mismatch")
            if args.verbose:
                traceback.print_exc()
            hint = "" if args.verbose else " (run with -v for the traceback)"
            print(f"pynenc-kafka {args.command}: internal error: {exc!r}{hint}", file=sys.stderr)
            return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
