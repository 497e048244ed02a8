"""``pynenc-kafka project``: a standalone projector that holds an app's lease on a host.

Run it as a sidecar or service next to the workers: it consumes the app's log into the
host's projection, so worker processes only ever read (as RocksDB secondaries). If
another process holds the lease, it waits as a reader and takes over when that one dies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pynenc_kafka.core.app_projection import AppProjection, AppSpec
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.schemas.errors import KafkaBackendError


class ProjectionDaemon:
    """Keeps one app's projection on this host up to date until stopped.

    :param AppSpec spec: The app and where its projection lives.
    :param Callable report: Receives one-line progress messages.
    :param float status_every: Seconds between lag reports.
    """

    def __init__(self, spec: AppSpec, report: Callable[[str], None], status_every: float = 30.0) -> None:
        self.spec = spec
        self._report = report
        self._status_every = status_every

    def run(self, stop: threading.Event) -> None:
        """Project until ``stop`` is set, then close cleanly (offsets are already stored)."""
        projection = RUNTIME.app(self.spec)
        was_primary = projection.is_primary
        self._report(self._role(projection))
        last_status = time.monotonic()
        try:
            while not stop.wait(min(self.spec.takeover_interval, 1.0)):
                if projection.is_primary != was_primary:
                    was_primary = projection.is_primary
                    self._report(self._role(projection))
                if time.monotonic() - last_status >= self._status_every:
                    last_status = time.monotonic()
                    self._report(self._lag(projection))
        finally:
            RUNTIME.close_app(self.spec.topics)
            self._report(f"stopped; projection of {projection.log.name} closed at its last applied offsets")

    def _role(self, projection: AppProjection) -> str:
        if projection.is_primary:
            return f"projecting {projection.log.name} into {projection.folder}"
        return (
            f"process {projection.lease.holder_pid()} projects {projection.log.name}; "
            "waiting to take over if it stops"
        )

    def _lag(self, projection: AppProjection) -> str:
        applied_now = sum(projection.barrier.progress.snapshot().values())
        try:
            ends = projection.barrier.end_offsets(range(projection.log.partitions))
        except KafkaBackendError:  # Kafka away: the connection log says so, the daemon goes on
            return f"{applied_now} records applied, lag unknown (Kafka does not answer)"
        applied = projection.barrier.progress.snapshot()
        behind = sum(max(0, end - applied.get(p, 0)) for p, end in ends.items())
        return f"{sum(applied.values())} records applied, {behind} behind"
