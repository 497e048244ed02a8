"""``pynenc-kafka``: audit an app's event log and its projections.

Subcommands: ``trail`` (every event of one invocation), ``replay`` (rebuild the views from the
log, up to a moment if asked), ``show`` (an invocation as of a replayed folder), ``verify`` (a
replay equals the live views), ``lag`` (how far the live projection is behind), ``apps`` (the
apps the registry knows), ``export`` (the events as an Avro object container file) and
``project`` (this host's projector of an app, as a standalone daemon).

Connection settings are the backend's own (``PYNENC__KAFKA_*`` environment variables and
pynenc config files); the options override them. Exit codes: 0 ok, 1 a negative answer (a
verify mismatch, nothing found), 2 an error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pynenc_kafka import __version__
from pynenc_kafka.audit import AppLog, AuditSession
from pynenc_kafka.cli_output import emit_json, row_difference, table
from pynenc_kafka.conf import ConfigStateBackendKafka
from pynenc_kafka.export import AvroExport
from pynenc_kafka.progress_bar import ProgressBar
from pynenc_kafka.projection_daemon import ProjectionDaemon
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.digest import compare
from pynenc_kafka.projections.log_reader import LogReader, OffsetRange
from pynenc_kafka.projections.replay import LogReplay, ReplayFolder
from pynenc_kafka.projections.views import ViewStore
from pynenc_kafka.registry import AppRegistry
from pynenc_kafka.runtime import AppSpec
from pynenc_kafka.schemas.errors import KafkaBackendError
from pynenc_kafka.schemas.topology import AppTopics, registry_topic
from pynenc_kafka.show import InvocationSnapshot
from pynenc_kafka.trail import InvocationTrail

EXIT_OK, EXIT_NEGATIVE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class InputError(KafkaBackendError):
    """A command-line value is malformed, or names nothing usable."""


# -- shared helpers -----------------------------------------------------------------------------


def parse_moment(text: str) -> datetime:
    """An ISO-8601 timestamp; one without a UTC offset is read as UTC.

    :raises InputError: If ``text`` is not ISO-8601.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"malformed timestamp {text!r}: use ISO-8601, e.g. 2024-05-01T12:30:00Z "
            "or '2024-05-01 12:30:00.250+02:00' (no offset means UTC)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _config(args: argparse.Namespace) -> ConfigStateBackendKafka:
    conf = ConfigStateBackendKafka()
    if args.bootstrap_servers:
        conf.kafka_bootstrap_servers = args.bootstrap_servers
    if args.topic_prefix:
        conf.kafka_topic_prefix = args.topic_prefix
    if args.projection_dir:
        conf.kafka_projection_dir = args.projection_dir
    if args.timeout is not None:
        conf.kafka_timeout = args.timeout
    return conf


def _session(args: argparse.Namespace) -> AuditSession:
    return AuditSession(_config(args))


def _whole_log(reader: LogReader, log: AppLog) -> OffsetRange:
    """Every record of ``log`` now; an empty log is an error."""
    whole = reader.whole_log()
    if whole.total == 0:
        raise InputError(f"the log of app {log.app_id!r} ({log.topic}) is empty: nothing to read")
    return whole


def _up_to(reader: LogReader, log: AppLog, until: datetime | None) -> OffsetRange:
    """The log's records, all of them or those Kafka stamped at or before ``until``."""
    whole = _whole_log(reader, log)
    if until is None:
        return whole
    cut = OffsetRange(whole.start, reader.offsets_after(until))
    if cut.total == 0:
        raise InputError(f"no event of app {log.app_id!r} was written at or before {until.isoformat()}")
    return cut


def _progress(label: str) -> ProgressBar:
    return ProgressBar(sys.stderr, label)


# -- subcommands --------------------------------------------------------------------------------


def cmd_trail(args: argparse.Namespace) -> int:
    """Every event of one invocation, in log order."""
    session = _session(args)
    log = session.app_log(args.app)
    with session.reader(log) as reader:
        _whole_log(reader, log)
        trail = InvocationTrail(reader, session.clients.codec, log.app_id)
        entries = trail.collect(args.invocation_id, deep=args.deep)
    if args.json:
        emit_json(
            {
                "app_id": log.app_id,
                "topic": log.topic,
                "invocation_id": args.invocation_id,
                "events": [e.to_json() for e in entries],
            }
        )
    else:
        print(
            f"trail of invocation {args.invocation_id} in app {log.app_id!r} ({log.topic}): {len(entries)} events"
        )
        if entries:
            rows: list[Sequence[object]] = [("at", "occurred_at", "event", "summary")]
            for e in entries:
                aggregate = "" if e.aggregate == args.invocation_id else f"[{e.aggregate}] "
                rows.append(
                    (
                        f"{e.partition}:{e.offset}",
                        e.event.occurred_at.isoformat(),
                        e.event.kind,
                        aggregate + e.summary,
                    )
                )
            print(table(rows))
    if trail.undecodable:
        print(f"pynenc-kafka: warning: {trail.undecodable} undecodable records were skipped", file=sys.stderr)
    if not entries:
        print(
            f"no event of invocation {args.invocation_id!r} in the log of app {log.app_id!r}", file=sys.stderr
        )
        return EXIT_NEGATIVE
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    """Rebuild every view from the log, up to a moment if asked, into a folder."""
    until = parse_moment(args.until) if args.until else None
    session = _session(args)
    log = session.app_log(args.app)
    with session.reader(log) as reader:
        offsets = _up_to(reader, log, until)
        bar = _progress("replay")
        try:
            result = LogReplay(reader, log.source).run(
                Path(args.into), offsets, until, args.fresh, bar.update
            )
        finally:
            bar.close()
    rate = result.records / result.seconds if result.seconds > 0 else 0.0
    print(
        f"replayed {result.records:,} records of app {log.app_id!r} into {args.into} in {result.seconds:.1f}s "
        f"({rate:,.0f} events/s){' resuming the previous replay' if result.resumed else ''}: "
        f"{result.applied:,} events applied, {result.skipped:,} skipped, "
        f"{'as of ' + until.isoformat() if until else 'whole log'}"
    )
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """An invocation as of a replayed (or any) projection folder."""
    folder = Path(args.from_folder)
    if not (folder / "CURRENT").is_file():
        raise InputError(
            f"{folder} is not a projection folder (no RocksDB in it): give the folder of a replay"
        )
    marker = ReplayFolder(folder).marker()
    store = ViewStore(folder, read_only=True)
    try:
        snapshot = InvocationSnapshot.read(store, args.invocation_id)
    finally:
        store.close()
    as_of = "the end of the log" if marker is None or marker.until is None else marker.until
    if marker is not None and not marker.complete:
        as_of += " (replay incomplete)"
    if args.json:
        emit_json({"as_of": as_of, "app_id": marker.source.app_id if marker else None, **snapshot.to_json()})
    else:
        print(snapshot.render(as_of))
    return EXIT_OK if snapshot.known else EXIT_NEGATIVE


def cmd_verify(args: argparse.Namespace) -> int:
    """Replay up to the live projection's checkpoint and compare every view."""
    session = _session(args)
    log = session.app_log(args.app)
    with session.live_store(log) as live, session.reader(log) as reader:
        whole = _whole_log(reader, log)
        applied = ProjectionCheckpoint(live).load().next_offsets
        stop = {p: applied.get(p, 0) for p in range(log.partitions)}
        ahead = {p: o for p, o in stop.items() if o > whole.stop[p]}
        if ahead:
            raise InputError(
                f"the live projection is ahead of the log (partition -> applied offset {ahead}, log ends "
                f"{whole.stop}): the topic was recreated; delete {session.live_folder(log)} to rebuild it"
            )
        with tempfile.TemporaryDirectory(prefix="pynenc-kafka-verify-") as tmp:
            bar = _progress("verify")
            try:
                result = LogReplay(reader, log.source).run(
                    Path(tmp) / "replay", OffsetRange(whole.start, stop), on_progress=bar.update
                )
            finally:
                bar.close()
            replayed = ViewStore(Path(tmp) / "replay", read_only=True)
            try:
                comparison = compare(live, replayed)
            finally:
                replayed.close()
    if comparison.equal:
        rows = sum(d.rows for d in comparison.left.values())
        print(
            f"verify ok: the live projection of app {log.app_id!r} equals a replay of its log up to its "
            f"checkpoint ({result.applied:,} events; {len(comparison.left)} views, {rows:,} rows)"
        )
        return EXIT_OK
    for mismatch in comparison.mismatches:
        keys = "; ".join(row_difference(d) for d in mismatch.differences)
        print(
            f"verify FAILED: view {mismatch.view.value!r} differs (live {mismatch.left.rows:,} rows, "
            f"replay {mismatch.right.rows:,} rows); first differing keys: {keys}"
        )
    return EXIT_NEGATIVE


def cmd_lag(args: argparse.Namespace) -> int:
    """Per partition: the log's end, the live projection's applied offset, skipped records."""
    session = _session(args)
    log = session.app_log(args.app)
    with session.live_store(log) as live:
        state = ProjectionCheckpoint(live).load()
    ends = session.end_offsets(log)
    partitions = [
        {
            "partition": p,
            "end_offset": ends[p],
            "applied_offset": state.next_offsets.get(p, 0),
            "lag": max(0, ends[p] - state.next_offsets.get(p, 0)),
            "applied_events": state.applied.get(p, 0),
            "skipped_events": state.skipped.get(p, 0),
        }
        for p in range(log.partitions)
    ]
    total = sum(row["lag"] for row in partitions)
    if args.json:
        emit_json({"app_id": log.app_id, "topic": log.topic, "total_lag": total, "partitions": partitions})
        return EXIT_OK
    print(f"lag of the projection of app {log.app_id!r} ({log.topic}) on this host: {total:,} records behind")
    header = ("partition", "end offset", "applied offset", "lag", "applied events", "skipped events")
    print(table([header, *[tuple(row.values()) for row in partitions]]))
    return EXIT_OK


def cmd_apps(args: argparse.Namespace) -> int:
    """The apps the registry knows, with their event logs."""
    session = _session(args)
    registered = AppRegistry(session.clients, registry_topic(session.prefix)).read()
    topics = session.topic_partitions()
    apps = []
    for app_id in sorted(registered):
        events = AppTopics(session.prefix, app_id).events
        apps.append({"app_id": app_id, "topic": events, "partitions": topics.get(events)})
    if args.json:
        emit_json({"topic_prefix": session.prefix, "apps": apps})
        return EXIT_OK
    print(
        f"{len(apps)} apps registered under topic prefix {session.prefix!r} ({registry_topic(session.prefix)})"
    )
    if apps:
        rows: list[Sequence[object]] = [("app", "event log", "partitions")]
        rows += [(a["app_id"], a["topic"], a["partitions"] or "missing") for a in apps]
        print(table(rows))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """The events of an app as an Avro object container file."""
    until = parse_moment(args.until) if args.until else None
    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: folder {out.parent} does not exist")
    session = _session(args)
    log = session.app_log(args.app)
    with session.reader(log) as reader:
        offsets = _up_to(reader, log, until)
        bar = _progress("export")
        try:
            result = AvroExport(reader, log.app_id, args.compression).write(out, offsets, until, bar.update)
        finally:
            bar.close()
    print(
        f"exported {result.events:,} events of app {log.app_id!r} to {out} ({result.size:,} bytes) in "
        f"{result.seconds:.1f}s, {result.skipped:,} records skipped, "
        f"{'as of ' + until.isoformat() if until else 'whole log'}"
    )
    return EXIT_OK


# -- parser -------------------------------------------------------------------------------------


def cmd_project(args: argparse.Namespace) -> int:
    """Hold this host's projection of an app and keep it applied until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    spec = AppSpec.from_config(_config(args), args.app)
    daemon = ProjectionDaemon(
        spec, lambda line: print(f"pynenc-kafka project: {line}", flush=True), args.status_every
    )
    daemon.run(stop)
    return EXIT_OK


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

    show = command("show", cmd_show, "an invocation's history, result or exception as of a replayed folder")
    show.add_argument("invocation_id")
    show.add_argument("--from", dest="from_folder", required=True, metavar="DIR", help="a replayed folder")
    show.add_argument("--json", action="store_true")

    verify = command("verify", cmd_verify, "check that a replay of the log equals the live projection")
    verify.add_argument("--app", required=True, help="the pynenc app id")

    lag = command("lag", cmd_lag, "how far this host's projection of an app is behind the log")
    lag.add_argument("--app", required=True, help="the pynenc app id")
    lag.add_argument("--json", action="store_true")

    apps = command("apps", cmd_apps, "the apps the registry knows, with their event logs")
    apps.add_argument("--json", action="store_true")

    export = command("export", cmd_export, "the events as an Avro object container file")
    export.add_argument("--app", required=True, help="the pynenc app id")
    export.add_argument("--out", required=True, metavar="FILE.avro")
    export.add_argument("--until", metavar="TIMESTAMP", help="ISO-8601 moment to stop at")
    export.add_argument(
        "--compression", choices=("deflate", "null"), default="deflate", help="Avro block codec"
    )

    project = command(
        "project", cmd_project, "run this host's projector of an app (a sidecar or service) until SIGTERM"
    )
    project.add_argument("--app", required=True, help="the pynenc app id")
    project.add_argument(
        "--status-every", type=float, default=30.0, metavar="SECONDS", help="seconds between lag reports"
    )
    return parser


@contextmanager
def _cli_logging(verbose: bool) -> Iterator[None]:
    """Log warnings (everything with ``-v``) to stderr as one line each, for the command's duration."""
    package = logging.getLogger("pynenc_kafka")
    librdkafka = logging.getLogger("pynenc_kafka.librdkafka")
    saved = (package.level, package.propagate, librdkafka.level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("pynenc-kafka: %(levelname)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.DEBUG if verbose else logging.WARNING)
    package.propagate = False
    librdkafka.setLevel(logging.INFO if verbose else logging.CRITICAL + 1)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(saved[0])
        package.propagate = saved[1]
        librdkafka.setLevel(saved[2])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    :param argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    with _cli_logging(args.verbose):
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


if __name__ == "__main__":
    sys.exit(main())
