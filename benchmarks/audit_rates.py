"""Every audit command on one generated log: events/s, and peak memory with the worker processes.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python -m benchmarks.audit_rates --events 1000000

Writes ``--events`` events (the mix of :mod:`benchmarks.replay`: whole invocation lives, two
thirds status records) into a new app's log in two halves, a moment apart, then runs, each as
its own ``pynenc-kafka`` process (what a user runs, timed from start to exit): ``replay`` of the
whole log, ``replay --until`` the moment between the halves, ``verify`` (with ``--verify``: the
app's live projection is first built by the backend's own projector, which takes a while), and
``export`` as Avro events (one file), Parquet events (a folder) and the Parquet invocations table.
Prints events per second of each (the events the command covers over its wall time) and the
peak resident memory of the command with every process it started. ``--workers`` is passed to
the commands that replay (``1``: the serial replay of earlier releases, for a before figure).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.peak_rss import run_measured
from benchmarks.replay import bench_session, new_log, write_log

PREFIX = "bench"


def _live_projection(bootstrap: str, app_id: str, projection_dir: Path) -> float:
    """Build the app's live projection with the backend's projector; return the seconds it took."""
    from pynenc import PynencBuilder

    from pynenc_kafka.components.state_backend import KafkaStateBackend
    from pynenc_kafka.schemas.errors import KafkaBackendError

    os.environ["PYNENC__KAFKA_PROJECTION_DIR"] = str(projection_dir)
    os.environ["PYNENC__KAFKA_TOPIC_PREFIX"] = PREFIX
    app = PynencBuilder().app_id(app_id).kafka(bootstrap_servers=bootstrap).build()
    backend = app.state_backend
    assert isinstance(backend, KafkaStateBackend)
    started = time.perf_counter()
    while True:
        try:  # each wait is bounded by KAFKA_READ_BARRIER_TIMEOUT: wait again until caught up
            backend.projection.barrier.wait()
            return time.perf_counter() - started
        except KafkaBackendError:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--workers", type=int, help="passed to replay, verify and the invocations table")
    parser.add_argument("--verify", action="store_true", help="also build the live projection and run verify")
    parser.add_argument(
        "--before",
        metavar="PYTHON",
        help="also run each command with this interpreter (another install: e.g. the previous release's "
        "venv), right before this one's, on the same log",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated commands to run (replay,until,verify,avro,parquet,invocations)",
    )
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    session = bench_session(bootstrap)
    log = new_log(session, args.partitions)
    half = args.events // 2
    seconds = write_log(session, log, half)
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    seconds += write_log(session, log, args.events - half, first=half)
    print(f"wrote {args.events:,} events to {log.topic} in {seconds:.1f}s; load average {os.getloadavg()}")
    cli = [
        sys.executable,
        "-m",
        "pynenc_kafka.cli",
        "--bootstrap-servers",
        bootstrap,
        "--topic-prefix",
        PREFIX,
    ]
    workers = [] if args.workers is None else ["--workers", str(args.workers)]
    only = set(filter(None, args.only.split(",")))
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    app = ["--app", log.app_id]
    runs: list[tuple[str, int, list[str]]] = [
        ("replay", args.events, ["replay", *app, "--into", str(tmp / "replay"), *workers]),
        (
            "until",
            half,
            ["replay", *app, "--into", str(tmp / "until"), "--until", middle.isoformat(), *workers],
        ),
        ("avro", args.events, ["export", *app, "--out", str(tmp / "events.avro")]),
        ("parquet", args.events, ["export", *app, "--format", "parquet", "--out", str(tmp / "events")]),
        (
            "invocations",
            args.events,
            [
                "export",
                *app,
                "--table",
                "invocations",
                "--format",
                "parquet",
                "--out",
                str(tmp / "inv.parquet"),
                *workers,
            ],
        ),
    ]
    if args.verify:
        took = _live_projection(bootstrap, log.app_id, tmp / "live")
        print(f"live projection built by the backend's projector in {took:.1f}s")
        runs.insert(
            2, ("verify", args.events, ["--projection-dir", str(tmp / "live"), "verify", *app, *workers])
        )
    try:
        for label, events, argv in runs:
            if only and label not in only:
                continue
            versions = (
                [("before", args.before), ("after", sys.executable)]
                if args.before
                else [("", sys.executable)]
            )
            for version, python in versions:
                command = [python, *cli[1:], *argv]
                if version == "before":  # no --workers then
                    command = [
                        a for i, a in enumerate(command) if a != "--workers" and command[i - 1] != "--workers"
                    ]
                for leftover in (
                    tmp / "replay",
                    tmp / "until",
                    tmp / "events",
                    tmp / "events.avro",
                    tmp / "inv.parquet",
                ):
                    shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(
                        missing_ok=True
                    )
                load = os.getloadavg()[0]
                # ``-m`` puts the working folder first on the path: run each install from its own
                run = run_measured(
                    command, Path(python).absolute().parents[2] if version == "before" else None
                )
                print(
                    f"== {label:<12}{version:>7} {events:>11,} events in {run.seconds:7.1f}s: "
                    f"{events / run.seconds:>9,.0f} events/s, peak RSS {run.peak_rss / 2**20:,.0f} MiB "
                    f"(load {load:.1f}){'' if run.code == 0 else f' EXIT {run.code}: {run.out.strip()[-300:]}'}",
                    flush=True,
                )
    finally:
        if args.verify:
            from pynenc_kafka.core.runtime import RUNTIME

            RUNTIME.close()  # the live projection's RocksDB, before its folder goes
        shutil.rmtree(tmp, ignore_errors=True)
        session.clients.admin.delete_topics([log.topic])
    return 0


if __name__ == "__main__":
    sys.exit(main())
