"""Every Prometheus metric of pynenc-kafka, named once, and the observers that feed them.

Counters and histograms are updated as things happen, through the observers the two sides
call (:class:`ProjectionMetrics`, :class:`WriteMetrics`); figures that are a state (offsets,
lag, role, queue depth, reachability) are read when Prometheus scrapes, by
:mod:`pynenc_kafka.observability.collector`, under the names :data:`GAUGES` gives them. Everything
is in prometheus_client's default registry, so a process that serves its own metrics serves
these too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram

from pynenc_kafka.producers.observer import WRITE_ERROR_CAUSES

EVENTS_APPLIED = Counter(
    "pynenc_kafka_events_applied",
    "Events applied to the projection by this process, by kind",
    ["app", "kind"],
)
RECORDS_SKIPPED = Counter(
    "pynenc_kafka_records_skipped",
    "Records of the log skipped: not our events (foreign or undecodable)",
    ["app"],
)
TAKEOVERS = Counter(
    "pynenc_kafka_projector_takeovers",
    "Times this process took the projection over from a process gone",
    ["app"],
)
BARRIER_WAIT = Histogram(
    "pynenc_kafka_read_barrier_wait_seconds",
    "Seconds a read waited at the read barrier (end offsets asked, then applied)",
    ["app"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BARRIER_TIMEOUTS = Counter(
    "pynenc_kafka_read_barrier_timeouts",
    "Reads that gave up at the read barrier (KAFKA_READ_BARRIER_TIMEOUT)",
    ["app"],
)
WRITE_SECONDS = Histogram(
    "pynenc_kafka_write_seconds",
    "Seconds from a write call's first record produced to Kafka's acknowledgement of all its records",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30),
)
WRITE_ERRORS = Counter("pynenc_kafka_write_errors", "Write calls that failed, by cause", ["cause"])
for _cause in WRITE_ERROR_CAUSES:  # every series from 0, so the first error is an increase alerts see
    WRITE_ERRORS.labels(cause=_cause)

#: The figures read at scrape time: name -> (help, labels).
GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pynenc_kafka_log_end_offset": ("Offset the next record of the partition will get", ("app", "partition")),
    "pynenc_kafka_projection_applied_offset": (
        "Next offset the host's projection will apply (records before it are applied)",
        ("app", "partition"),
    ),
    "pynenc_kafka_projection_lag_records": ("Records of the log not applied yet", ("app", "partition")),
    "pynenc_kafka_projection_lag_seconds": (
        "Seconds since the oldest record not applied yet was written (0 when caught up)",
        ("app", "partition"),
    ),
    "pynenc_kafka_projector_role": (
        "1 for this process's role for the app's projection on this host (primary projects, secondary reads)",
        ("app", "role"),
    ),
    "pynenc_kafka_producer_queue_messages": (
        "Records produced and not yet acknowledged",
        ("bootstrap_servers",),
    ),
    "pynenc_kafka_broker_reachable": (
        "1 while the cluster answers this process, 0 from a failed probe until one succeeds",
        ("bootstrap_servers",),
    ),
}


class ProjectionMetrics:
    """The :class:`~pynenc_kafka.projections.observer.ProjectionObserver` of one app's projection.

    :param str app_id: The app, the ``app`` label.
    """

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self._kinds: dict[str, Counter] = {}
        self._skipped = RECORDS_SKIPPED.labels(app=app_id)
        self._waits = BARRIER_WAIT.labels(app=app_id)
        self._timeouts = BARRIER_TIMEOUTS.labels(app=app_id)
        self._takeovers = TAKEOVERS.labels(app=app_id)

    def applied(self, kinds: Mapping[str, int]) -> None:
        """Count a batch's events by kind."""
        for kind, count in kinds.items():
            counter = self._kinds.get(kind)
            if counter is None:
                counter = self._kinds[kind] = EVENTS_APPLIED.labels(app=self.app_id, kind=kind)
            counter.inc(count)

    def skipped(self, count: int) -> None:
        """Count skipped records."""
        self._skipped.inc(count)

    def barrier_waited(self, seconds: float, timed_out: bool) -> None:
        """Observe a barrier wait; count it if it timed out."""
        self._waits.observe(seconds)
        if timed_out:
            self._timeouts.inc()

    def took_over(self) -> None:
        """Count a takeover by this process."""
        self._takeovers.inc()


class WriteMetrics:
    """The :class:`~pynenc_kafka.producers.observer.WriteObserver` of the process's publishers."""

    def acknowledged(self, seconds: float) -> None:
        """Observe a write's time to its acknowledgement."""
        WRITE_SECONDS.observe(seconds)

    def failed(self, cause: str) -> None:
        """Count a failed write by cause."""
        WRITE_ERRORS.labels(cause=cause).inc()


WRITES = WriteMetrics()

_OURS = (
    EVENTS_APPLIED,
    RECORDS_SKIPPED,
    TAKEOVERS,
    BARRIER_WAIT,
    BARRIER_TIMEOUTS,
    WRITE_SECONDS,
    WRITE_ERRORS,
)


def _guarded(metric: Any) -> Iterator[Any]:
    """A metric, its labelled children and their values: everything that holds a ``_lock``."""
    for owner in (metric, *getattr(metric, "_metrics", {}).values()):
        yield owner
        yield from (getattr(owner, name, None) for name in ("_value", "_sum"))
        yield from getattr(owner, "_buckets", ())


def _fresh_locks_in_child() -> None:
    """Give a forked child new locks for our metrics and the registry, keeping the values.

    prometheus_client guards each value with a ``threading.Lock`` and does nothing at fork: a
    lock another thread of the parent held at that instant (the projector counting a batch) would
    stay held in the child, and its next write or scrape would wait forever.
    """
    for owner in [REGISTRY, *(part for metric in _OURS for part in _guarded(metric))]:
        if owner is not None and hasattr(owner, "_lock"):
            owner._lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_in_child)
