"""The ``pynenc-kafka`` subcommands: each reads its arguments and prints its answer.

Each returns the process exit code (:data:`EXIT_OK`, :data:`EXIT_NEGATIVE`); errors are
raised as :class:`~pynenc_kafka.schemas.errors.KafkaBackendError` and printed by
:func:`pynenc_kafka.cli.main` as one line.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pynenc_kafka.audit.digest import compare
from pynenc_kafka.audit.log_reader import LogReader, OffsetRange
from pynenc_kafka.audit.progress_bar import ProgressBar
from pynenc_kafka.audit.replay import LogReplay, ReplayFolder
from pynenc_kafka.audit.show import InvocationSnapshot
from pynenc_kafka.audit.trail import InvocationTrail
from pynenc_kafka.cli.acl import app_grants, apply_grants, principal_of
from pynenc_kafka.cli.output import emit_json, row_difference, table
from pynenc_kafka.cli.project_daemon import ProjectionDaemon
from pynenc_kafka.cli.session import AppLog, AuditSession
from pynenc_kafka.core.app_projection import AppSpec
from pynenc_kafka.core.conf import ConfigStateBackendKafka
from pynenc_kafka.core.registry import AppRegistry
from pynenc_kafka.observability.server import serve_metrics
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.schemas.errors import KafkaBackendError
from pynenc_kafka.schemas.topology import AppTopics, registry_topic

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


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for the block (drawn on a terminal only), erased after it."""
    bar = ProgressBar(sys.stderr, label)
    try:
        yield bar.update
    finally:
        bar.close()


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
        with _progress("replay") as progress:
            replay = LogReplay(reader, log.source, workers=args.workers)
            result = replay.run(Path(args.into), offsets, until, args.fresh, progress)
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
                f"{whole.stop}): the topic was recreated; delete {session.live_layout(log).folder} to rebuild it"
            )
        with tempfile.TemporaryDirectory(prefix="pynenc-kafka-verify-") as tmp:
            with _progress("verify") as progress:
                result = LogReplay(reader, log.source, workers=args.workers).run(
                    Path(tmp) / "replay", OffsetRange(whole.start, stop), on_progress=progress
                )
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


def cmd_project(args: argparse.Namespace) -> int:
    """Hold this host's projection of an app and keep it applied until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    conf = _config(args)
    spec = AppSpec.from_config(conf, args.app)
    if args.metrics_port is not None:
        address = args.metrics_address or conf.kafka_metrics_address
        ready_max_lag = int(conf.kafka_ready_max_lag if args.ready_max_lag is None else args.ready_max_lag)
        server = serve_metrics(args.metrics_port, address, ready_max_lag)
        if server is None:
            raise InputError(f"cannot serve metrics on {address}:{args.metrics_port}: the port is taken")
        print(
            f"pynenc-kafka project: metrics on http://{address}:{server.port}/metrics (probes /healthz, /readyz)"
        )
    daemon = ProjectionDaemon(
        spec, lambda line: print(f"pynenc-kafka project: {line}", flush=True), args.status_every
    )
    daemon.run(stop)
    return EXIT_OK


def cmd_acl(args: argparse.Namespace) -> int:
    """The ACLs one app's principal needs, and no more; with ``--apply``, create them."""
    conf = _config(args)
    topics = AppTopics(conf.kafka_topic_prefix, args.app)
    principal = principal_of(args.principal)
    grants = app_grants(topics)
    if args.json:
        emit_json(
            {
                "app_id": args.app,
                "principal": principal,
                "acls": [
                    {
                        "resource_type": g.resource.name,
                        "resource": g.name,
                        "pattern": g.pattern.name,
                        "operations": [op.name for op in g.operations],
                        "why": g.why,
                    }
                    for g in grants
                ],
            }
        )
    else:
        print(f"ACLs of {principal} for app {args.app!r} (topic prefix {conf.kafka_topic_prefix!r}):")
        rows: list[Sequence[object]] = [("resource", "name", "pattern", "operations", "why")]
        rows += [
            (g.resource.name, g.name, g.pattern.name, ",".join(op.name for op in g.operations), g.why)
            for g in grants
        ]
        print(table(rows))
        print("with Kafka's own tool (as an admin):")
        for grant in grants:
            print(
                f"  kafka-acls.sh --bootstrap-server {conf.kafka_bootstrap_servers} {grant.kafka_acls_args(principal)}"
            )
    if args.apply:
        session = _session(args)
        session.clients.cluster_id  # noqa: B018 - the first contact: a refused login fails at once
        count = apply_grants(
            session.clients.admin, grants, principal, session.settings.timeout, session.settings.describe()
        )
        print(f"applied {count} ACLs for {principal} as {session.settings.principal}", file=sys.stderr)
    return EXIT_OK
