"""The orchestrator's runners: their heartbeats, and the atomic-service executions they run.

Heartbeats are frequent and say nothing an audit needs, so they stay out of the app's log: they go
to the app's compacted runners topic (one record per runner after compaction), which a read of the
active runners reads whole (:class:`~pynenc_kafka.core.compacted_topic.CompactedTopic`). Atomic-service executions are decisions
(at most one runs at a time), so they are events of the app's log, decided in its order
(:mod:`pynenc_kafka.projections.views.atomic_service`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pynenc.orchestrator.atomic_service import (
    ActiveRunnerInfo,
    AtomicServiceExecution,
    AtomicServiceExecutionStatus,
    AtomicServiceId,
    AtomicServiceRun,
)

from pynenc_kafka.core.app_log import AppLog
from pynenc_kafka.core.compacted_topic import CompactedTopic
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.projections.views import atomic_service
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.timestamps import from_micros

if TYPE_CHECKING:
    from pynenc.app import Pynenc


def _execution(row: atomic_service.ExecutionRow) -> AtomicServiceExecution:
    return AtomicServiceExecution(
        atomic_service_id=AtomicServiceId(runner_id=row["runner_id"], atomic_service_run_id=row["run_id"]),
        start_time=from_micros(row["start_time"]),
        end_time=None if row["end_time"] is None else from_micros(row["end_time"]),
        status=AtomicServiceExecutionStatus(row["status"]),
        reason=row["reason"],
    )


def _runner(payload: dict[str, Any]) -> ActiveRunnerInfo:
    return ActiveRunnerInfo(
        runner_id=payload["runner_id"],
        creation_time=payload["created_at"],
        last_heartbeat=payload["heartbeat_at"],
        allow_to_run_atomic_service=payload["can_run_atomic_service"],
        consumed_queues=tuple(payload["consumed_queues"] or ()),
    )


class RunnerRegistry:
    """One app's runners as its orchestrator sees them.

    :param Pynenc app: The pynenc app.
    :param AppLog log: The app's log, shared with the orchestrator.
    """

    def __init__(self, app: Pynenc, log: AppLog) -> None:
        self.app = app
        self._log = log
        #: When this process first saw each runner: the creation time its heartbeats carry.
        self._created: dict[str, datetime] = {}
        #: What this process last wrote of each runner, and when.
        self._written: dict[str, tuple[datetime, tuple[bool, tuple[str, ...] | None]]] = {}

    # -- heartbeats --------------------------------------------------------------------------------

    def _table(self) -> CompactedTopic:
        spec = self._log.spec
        clients = RUNTIME.cluster(spec.settings)
        # One partition: a heartbeat is a small record and a fleet has few runners.
        return CompactedTopic(clients, spec.topics.runners, 1, spec.replication)

    def heartbeat(
        self, runner_ids: list[str], can_run_atomic_service: bool, consumed_queues: Sequence[str] | None
    ) -> None:
        """Record that the runners are alive now; a runner first seen here was created now.

        A runner whose last heartbeat from this process is more recent than a twentieth of the
        time after which it is considered dead (at most a second), and says the same, is not written
        again: the runner loop calls this on every iteration.
        """
        now = datetime.now(UTC)
        queues = None if consumed_queues is None else list(consumed_queues)
        spacing = timedelta(seconds=min(1.0, self.app.conf.runner_considered_dead_after_minutes * 3))
        table = self._table()
        records = []
        for runner_id in runner_ids:
            said = (can_run_atomic_service, None if queues is None else tuple(queues))
            last = self._written.get(runner_id)
            if last is not None and last[1] == said and now - last[0] < spacing:
                continue
            created = self._created.setdefault(runner_id, now)
            payload = {
                "runner_id": runner_id,
                "created_at": created,
                "heartbeat_at": now,
                "can_run_atomic_service": can_run_atomic_service,
                "consumed_queues": queues,
            }
            records.append(
                table.record(
                    self._log.app_id, runner_id, EventKind.RUNNER_HEARTBEAT, payload, str(uuid.uuid4()), now
                )
            )
            self._written[runner_id] = (now, said)
        if records:
            RUNTIME.cluster(self._log.spec.settings).publisher.publish(records)

    def active(self, timeout_seconds: float, can_run_atomic_service: bool | None) -> list[ActiveRunnerInfo]:
        """Runners with a heartbeat within ``timeout_seconds``, by creation time then runner id."""
        cutoff = datetime.now(UTC) - timedelta(seconds=timeout_seconds)
        runners = [_runner(p) for p in self._table().read(self._log.app_id).values()]
        found = [
            r
            for r in runners
            if r.last_heartbeat >= cutoff
            and (can_run_atomic_service is None or r.allow_to_run_atomic_service == can_run_atomic_service)
        ]
        return sorted(found, key=lambda r: (r.creation_time, r.runner_id))

    # -- atomic-service executions -----------------------------------------------------------------

    def record_execution_start(
        self,
        run: AtomicServiceRun,
        started_at: datetime | None,
        status: AtomicServiceExecutionStatus | None,
        reason: str,
    ) -> bool:
        """Ask to start an execution: granted only if none is RUNNING, decided in log order."""
        request_id = str(uuid.uuid4())
        run.started_at = started_at or datetime.now(UTC)
        payload = {
            "request_id": request_id,
            "runner_id": run.atomic_service_id.runner_id,
            "run_id": run.atomic_service_id.atomic_service_run_id,
            "started_at": run.started_at,
            "status": (status or AtomicServiceExecutionStatus.RUNNING).value,
            "reason": reason,
        }
        positions = self._log.publish([(EventKind.ATOMIC_SERVICE_EXECUTION_RECORDED, payload)])
        allowed = self._log.reads.after_written(
            positions, lambda store: atomic_service.start_allowed(store, request_id)
        )
        if allowed is None:
            raise RuntimeError(f"no outcome of atomic-service request {request_id} after it was applied")
        if status is not None and status is not AtomicServiceExecutionStatus.RUNNING:
            self.purge_executions()
        return allowed

    def finalize_execution(
        self, run: AtomicServiceRun, end_time: datetime, status: AtomicServiceExecutionStatus, reason: str
    ) -> None:
        """End an execution; the first terminal status wins."""
        payload = {
            "runner_id": run.atomic_service_id.runner_id,
            "run_id": run.atomic_service_id.atomic_service_run_id,
            "end_time": end_time,
            "status": status.value,
            "reason": reason,
        }
        self._log.publish([(EventKind.ATOMIC_SERVICE_EXECUTION_FINALIZED, payload)])
        self.purge_executions()

    def _executions(self) -> list[AtomicServiceExecution]:
        rows = self._log.reads.fresh(atomic_service.executions, self._log.app_id)
        return [_execution(row) for row in rows]

    def active_executions(self) -> list[AtomicServiceExecution]:
        """RUNNING executions, most recently started first."""
        active = [e for e in self._executions() if e.is_active]
        return sorted(active, key=lambda e: e.start_time, reverse=True)

    def executions_in_timerange(
        self,
        start_time: datetime,
        end_time: datetime,
        limit: int,
        *,
        runner_id: str | None,
        min_duration_seconds: float,
    ) -> list[AtomicServiceExecution]:
        """Executions overlapping ``[start_time, end_time]``, most recently started first."""
        found = [
            e
            for e in self._executions()
            if (e.end_time or e.start_time) >= start_time
            and e.start_time <= end_time
            and (runner_id is None or e.runner_id == runner_id)
            and (min_duration_seconds <= 0.0 or e.duration_seconds >= min_duration_seconds)
        ]
        found.sort(key=lambda e: e.start_time, reverse=True)
        return found[: max(limit, 0)]

    def purge_executions(self) -> int:
        """Drop finished executions past the retention, and the oldest past the maximum count,
        except those a trigger run still refers to.

        :return: How many were dropped.
        """
        retention = float(self.app.conf.atomic_service_execution_retention_minutes)
        max_records = int(self.app.conf.atomic_service_execution_max_records)
        protected = self.app.trigger.get_referenced_atomic_service_run_ids()
        executions = sorted(self._executions(), key=lambda e: e.start_time)
        dropped: set[str] = set()
        if retention > 0:
            cutoff = datetime.now(UTC) - timedelta(minutes=retention)
            dropped |= {
                e.atomic_service_run_id
                for e in executions
                if e.end_time is not None and e.end_time < cutoff and e.atomic_service_run_id not in protected
            }
        kept = [e for e in executions if e.atomic_service_run_id not in dropped]
        if max_records > 0 and len(kept) > max_records:
            unprotected = [e for e in kept if e.atomic_service_run_id not in protected]
            excess = len(unprotected) - max_records
            if excess > 0:
                dropped |= {e.atomic_service_run_id for e in unprotected[:excess]}
        if dropped:
            payload = {"run_ids": sorted(dropped)}
            self._log.publish([(EventKind.ATOMIC_SERVICE_EXECUTIONS_PURGED, payload)])
        return len(dropped)

    def purge_heartbeats(self) -> None:
        """Forget every runner's heartbeat (tombstones: compaction drops them)."""
        table = self._table()
        tombstones = [table.tombstone(runner_id) for runner_id in table.read(self._log.app_id)]
        if tombstones:
            RUNTIME.cluster(self._log.spec.settings).publisher.publish(tombstones)
        self._created.clear()
        self._written.clear()
