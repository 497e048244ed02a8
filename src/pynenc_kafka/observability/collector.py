"""The figures that are a state, read when Prometheus scrapes, and the health and readiness checks.

For every projection open in this process: the log's end offsets, the applied offsets, the lag
in records and seconds (:mod:`pynenc_kafka.observability.lag`, as ``pynenc-kafka lag`` measures
it) and this process's role; for every cluster: the producer's queue and whether it answers.
A cluster that does not answer is not asked for offsets (a scrape must not wait for
``KAFKA_TIMEOUT``): its lag series are missing until it is back, and ``broker_reachable`` is 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pynenc_kafka.core.app_projection import AppProjection
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.observability.lag import PartitionLag, RecordTimes, measure_lag
from pynenc_kafka.observability.metrics import GAUGES

logger = logging.getLogger("pynenc_kafka.observability.metrics")


def projection_lags(projection: AppProjection, seconds: bool = True) -> list[PartitionLag]:
    """Each partition's lag of a projection open in this process (asks Kafka for the end offsets).

    :param bool seconds: Also read when the oldest unapplied records were written (else ``None``).
    """
    ends = projection.barrier.end_offsets(range(projection.log.partitions))
    applied = projection.barrier.progress.current()
    clients = projection.clients
    times = RecordTimes(
        lambda: clients.new_consumer("pynenc-kafka-lag"), projection.log.name, clients.settings.timeout
    )
    return measure_lag(ends, applied, times if seconds else lambda offsets: {})


def _reachable(projection: AppProjection) -> bool:
    return projection.clients.settings.reachability().reachable


class RuntimeCollector(Collector):
    """Yields the scrape-time gauges of :data:`~pynenc_kafka.observability.metrics.GAUGES` from the runtime."""

    def collect(self) -> Iterator[Metric]:
        """The gauges now."""
        gauges = {
            name: GaugeMetricFamily(name, text, labels=labels) for name, (text, labels) in GAUGES.items()
        }
        for projection in RUNTIME.open_projections():
            app = projection.topics.app_id
            for role in ("primary", "secondary"):
                is_it = projection.is_primary == (role == "primary")
                gauges["pynenc_kafka_projector_role"].add_metric([app, role], 1.0 if is_it else 0.0)
            if not _reachable(projection):
                continue
            try:
                lags = projection_lags(projection)
            except Exception as exc:  # closed or replaced meanwhile, or Kafka went away: no figure
                logger.debug("no lag figures for %s: %r", app, exc)
                continue
            for lag in lags:
                labels = [app, str(lag.partition)]
                gauges["pynenc_kafka_log_end_offset"].add_metric(labels, lag.end_offset)
                gauges["pynenc_kafka_projection_applied_offset"].add_metric(labels, lag.applied_offset)
                gauges["pynenc_kafka_projection_lag_records"].add_metric(labels, lag.lag)
                if lag.lag_seconds is not None:
                    gauges["pynenc_kafka_projection_lag_seconds"].add_metric(labels, lag.lag_seconds)
        for clients in RUNTIME.open_clusters():
            servers = [clients.settings.bootstrap_servers]
            publisher = clients.existing_publisher
            queued = 0 if publisher is None else publisher.queued
            gauges["pynenc_kafka_producer_queue_messages"].add_metric(servers, queued)
            reachable = clients.settings.reachability().reachable
            gauges["pynenc_kafka_broker_reachable"].add_metric(servers, 1.0 if reachable else 0.0)
        yield from gauges.values()


def health_problems() -> list[str]:
    """Why this process is not healthy: a projector thread of it that stopped (empty: healthy)."""
    problems = []
    for projection in RUNTIME.open_projections():
        projector = projection.projector
        if projector is None or projection.closing:
            continue
        if projector.failure is not None:
            problems.append(f"the projector of {projection.log.name} failed: {projector.failure!r}")
        elif not projector.running:
            problems.append(f"the projector thread of {projection.log.name} is not running")
    return problems


def readiness_problems(max_lag: int) -> list[str]:
    """Why this process is not ready: a cluster that does not answer, a projection behind (empty: ready).

    :param int max_lag: Records a projection may be behind and still be ready.
    """
    problems = []
    for clients in RUNTIME.open_clusters():
        reachability = clients.settings.reachability()
        if reachability.unreachable_since is not None:
            problems.append(
                f"Kafka at {reachability.servers} unreachable since {reachability.unreachable_since:%H:%M:%S} UTC"
            )
    if problems:
        return problems
    for projection in RUNTIME.open_projections():
        try:
            behind = sum(lag.lag for lag in projection_lags(projection, seconds=False))
        except Exception as exc:
            problems.append(f"no lag of {projection.log.name}: {exc}")
            continue
        if behind > max_lag:
            problems.append(
                f"the projection of {projection.log.name} is {behind} records behind "
                f"(ready at {max_lag} or fewer, PYNENC__KAFKA_READY_MAX_LAG)"
            )
    return problems


_COLLECTOR = RuntimeCollector()
REGISTRY.register(_COLLECTOR)
