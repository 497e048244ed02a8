"""``pynenc-kafka lag``: how far this host's projection of an app is behind its log, and who projects it.

With ``--max-lag`` or ``--max-lag-seconds`` it is a check for cron or a probe: it exits 1
when any projection is further behind. It measures lag as the metrics do
(:mod:`pynenc_kafka.observability.lag`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from pynenc_kafka.cli.commands import EXIT_NEGATIVE, EXIT_OK, _session
from pynenc_kafka.cli.output import emit_json, table
from pynenc_kafka.cli.session import AuditSession, NoLiveProjectionError, UnknownAppError
from pynenc_kafka.core.registry import AppRegistry
from pynenc_kafka.observability.lag import RecordTimes, measure_lag
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.lease import ProjectionLease
from pynenc_kafka.schemas.errors import KafkaBackendError
from pynenc_kafka.schemas.topology import registry_topic


def _command_line(pid: int) -> str | None:
    """A process's command line, as ``ps`` shows it (``None`` if it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


def app_lag(session: AuditSession, app_id: str) -> dict[str, Any]:
    """The lag report of one app on this host (raises if the host has no projection of it)."""
    log = session.app_log(app_id)
    with session.live_store(log) as live:
        state = ProjectionCheckpoint(live).load()
    ends = session.end_offsets(log)
    settings = session.settings
    times = RecordTimes(
        lambda: Consumer(settings.consumer_config("pynenc-kafka-cli")), log.topic, settings.timeout
    )
    lags = measure_lag(ends, state.next_offsets, times)
    holder = ProjectionLease(session.live_layout(log).lock_file).holder()
    seconds = [lag.lag_seconds for lag in lags]
    return {
        "app_id": log.app_id,
        "topic": log.topic,
        "projector_pid": holder,
        "projector_command": None if holder is None else _command_line(holder),
        "total_lag": sum(lag.lag for lag in lags),
        "max_lag_seconds": None
        if None in seconds
        else max((s for s in seconds if s is not None), default=0.0),
        "partitions": [
            {
                "partition": lag.partition,
                "end_offset": lag.end_offset,
                "applied_offset": lag.applied_offset,
                "lag": lag.lag,
                "lag_seconds": lag.lag_seconds,
                "applied_events": state.applied.get(lag.partition, 0),
                "skipped_events": state.skipped.get(lag.partition, 0),
            }
            for lag in lags
        ],
    }


def _behind(report: dict[str, Any], max_lag: int | None, max_seconds: float | None) -> str | None:
    """Why the report fails the check, or ``None`` if it passes."""
    if max_lag is not None and report["total_lag"] > max_lag:
        return f"{report['total_lag']:,} records behind, more than --max-lag {max_lag:,}"
    if max_seconds is not None and report["total_lag"] > 0:
        seconds = report["max_lag_seconds"]
        if seconds is None:
            return "behind, and the time of its oldest unapplied record could not be read"
        if seconds > max_seconds:
            return f"{seconds:.1f}s behind, more than --max-lag-seconds {max_seconds:g}"
    return None


def _print(report: dict[str, Any], behind: str | None) -> None:
    seconds = report["max_lag_seconds"]
    age = (
        ""
        if not report["total_lag"]
        else (
            ", oldest unapplied record written "
            + ("at an unknown time" if seconds is None else f"{seconds:.1f}s ago")
        )
    )
    print(
        f"lag of the projection of app {report['app_id']!r} ({report['topic']}) on this host: "
        f"{report['total_lag']:,} records behind{age}"
    )
    if report["projector_pid"] is None:
        print(
            "no process projects it on this host now: it stays behind until one does "
            "(a worker of the app, or pynenc-kafka project --app ...)"
        )
    else:
        command = report["projector_command"]
        print(f"projected by process {report['projector_pid']}" + (f" ({command})" if command else ""))
    header = (
        "partition",
        "end offset",
        "applied offset",
        "lag",
        "lag seconds",
        "applied events",
        "skipped events",
    )
    rows = [
        tuple("?" if v is None else (f"{v:.1f}" if isinstance(v, float) else v) for v in row.values())
        for row in report["partitions"]
    ]
    print(table([header, *rows]))
    if behind:
        print(f"BEHIND: {behind}")


def cmd_lag(args: argparse.Namespace) -> int:
    """Per partition: the log's end, the applied offset, lag in records and seconds, who projects."""
    session = _session(args)
    if args.all_apps:
        app_ids = sorted(AppRegistry(session.clients, registry_topic(session.prefix)).read())
    else:
        app_ids = [args.app]
    reports: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []  # --all-apps: apps this host does not project (not a failure)
    unmeasured: list[dict[str, str]] = []  # --all-apps: apps whose lag could not be measured
    for app_id in app_ids:
        try:
            reports.append(app_lag(session, app_id))
        except (NoLiveProjectionError, UnknownAppError) as exc:
            if not args.all_apps:
                raise
            missing.append({"app_id": app_id, "reason": str(exc)})
        except KafkaBackendError as exc:
            if not args.all_apps:
                raise
            unmeasured.append({"app_id": app_id, "reason": str(exc)})
    checking = args.max_lag is not None or args.max_lag_seconds is not None
    verdicts = [_behind(r, args.max_lag, args.max_lag_seconds) for r in reports]
    for report, behind in zip(reports, verdicts, strict=True):
        if checking:
            report["behind"] = behind
    if args.json:
        everything = {"apps": reports, "not_here": missing, "unmeasured": unmeasured}
        emit_json(everything if args.all_apps else reports[0])
    else:
        for report, behind in zip(reports, verdicts, strict=True):
            _print(report, behind)
        for skipped in missing:
            print(f"app {skipped['app_id']!r}: no projection on this host")
        for failed in unmeasured:
            print(f"app {failed['app_id']!r}: lag unknown: {failed['reason']}")
    return EXIT_NEGATIVE if any(verdicts) or (checking and unmeasured) else EXIT_OK
