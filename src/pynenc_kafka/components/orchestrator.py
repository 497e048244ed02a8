"""``KafkaOrchestrator``: pynenc's orchestrator as requests decided in the log's order.

There is no lock server: the log's order is the lock. A status change is *requested* as an event
on the partition of the invocation's decision key; every projection decides the requests of a
partition in order with pynenc's own transition rules (:mod:`pynenc_kafka.projections.views.orchestration`),
so every process on every host reaches the same decision. The requester waits until its own
projection applied its request, then reads the outcome: the new status record, or pynenc's own
transition or ownership error. Invocations whose task limits how many run at once share a
decision key (the task, or the task and its concurrency arguments), so a request to run is
decided against every other run of the group in one order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.orchestrator.base_orchestrator import BaseOrchestrator

from pynenc_kafka.components.blocking_control import KafkaBlockingControl
from pynenc_kafka.components.decision_keys import DecisionKeys, RunningConcurrencyError
from pynenc_kafka.components.runner_registry import RunnerRegistry
from pynenc_kafka.components.transition_requests import TransitionRequests
from pynenc_kafka.core.app_log import AppLog, Record
from pynenc_kafka.core.app_projection import AppSpec
from pynenc_kafka.core.conf import ConfigOrchestratorKafka
from pynenc_kafka.core.fork_bridge import SERVER as FORK_BRIDGE
from pynenc_kafka.core.fork_bridge import through_parent
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.projections.views import orchestration
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope
from pynenc_kafka.schemas.timestamps import from_micros, to_micros

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pynenc.app import Pynenc
    from pynenc.identifiers.call_id import CallId
    from pynenc.identifiers.task_id import TaskId
    from pynenc.invocation.dist_invocation import DistributedInvocation
    from pynenc.orchestrator.atomic_service import (
        ActiveRunnerInfo,
        AtomicServiceExecution,
        AtomicServiceExecutionStatus,
        AtomicServiceRun,
    )
    from pynenc.runner.runner_context import RunnerContext
    from pynenc.task import Task
    from pynenc.types import Params, Result


def _now_micros() -> datetime:
    return datetime.now(UTC)


def _is_final(row: orchestration.OrchestrationRow | None) -> bool:
    return row is not None and InvocationStatus(row["status"]).is_final()


class KafkaOrchestrator(BaseOrchestrator):
    """A pynenc orchestrator whose every decision is an event of the app's log.

    Select it with ``PYNENC__ORCHESTRATOR_CLS=KafkaOrchestrator`` or ``PynencBuilder().kafka(...)``.

    :param Pynenc app: The pynenc app.
    """

    def __init__(self, app: Pynenc) -> None:
        super().__init__(app)
        self.bridge_seconds = self.conf.kafka_fork_bridge_seconds
        self._log = AppLog(AppSpec.from_config(self.conf, app.app_id), self.bridge_seconds)
        self._keys = DecisionKeys(self._log)
        self._transitions = TransitionRequests(self._log, self._keys)
        self._blocking_control = KafkaBlockingControl(app, self._log)
        self._runners = RunnerRegistry(app, self._log)
        FORK_BRIDGE.register(self)

    @cached_property
    def conf(self) -> ConfigOrchestratorKafka:
        return ConfigOrchestratorKafka(
            config_values=self.app.config_values,
            config_filepath=self.app.config_filepath,
        )

    @property
    def blocking_control(self) -> KafkaBlockingControl:
        return self._blocking_control

    def _decision(self, invocation_id: str) -> tuple[str, str | None]:
        return self._keys.of(invocation_id)

    def _row(self, invocation_id: str) -> orchestration.OrchestrationRow | None:
        """The invocation's row: at once when the views hold it in a final status (pynenc allows no
        transition out of one), else after the barrier of its partition (another process may have
        moved it)."""
        try:
            key, _ = self._decision(invocation_id)
        except KeyError:
            return None
        return self._log.reads.settled(key, lambda store: orchestration.row(store, invocation_id), _is_final)

    # -- registration and transitions ------------------------------------------------------------

    def _register_new_invocations(
        self,
        invocations: list[DistributedInvocation[Params, Result]],
        runner_id: str | None = None,
    ) -> InvocationStatusRecord:
        return self._transitions.register(invocations, runner_id)

    def _atomic_status_transition(
        self,
        invocation_id: InvocationId,
        status: InvocationStatus,
        runner_id: str | None = None,
    ) -> InvocationStatusRecord:
        """A request in the log, decided by every projection in log order (see ``transition_requests``);
        the writes this thread holds go in the same request to Kafka, ahead of it."""
        return self._request_transition(invocation_id, status, runner_id, self._log.take_held())

    @through_parent(writes=True)
    def _request_transition(
        self,
        invocation_id: InvocationId,
        status: InvocationStatus,
        runner_id: str | None,
        before: list[Record],
    ) -> InvocationStatusRecord:
        return self._transitions.request(invocation_id, status, runner_id, before)

    def set_invocation_status(
        self, invocation_id: InvocationId, status: InvocationStatus, runner_ctx: RunnerContext
    ) -> None:
        """pynenc's status change; a run refused by concurrency control is rerouted (or made final)
        before the refusal reaches the runner, as pynenc does when its own check refuses."""
        try:
            self._set_status(invocation_id, status, runner_ctx)
        except RunningConcurrencyError:
            invocation = self.app.state_backend.get_invocation(invocation_id)
            if invocation.task.conf.reroute_on_concurrency_control:
                self.reroute_invocations({invocation_id}, runner_ctx)
            else:
                self._set_status(invocation_id, InvocationStatus.CONCURRENCY_CONTROLLED_FINAL, runner_ctx)
            raise

    def _set_status(
        self, invocation_id: InvocationId, status: InvocationStatus, runner_ctx: RunnerContext
    ) -> None:
        """``BaseOrchestrator.set_invocation_status``, step for step, but for one thing: what follows
        the decision (the history entry and, for a final status, its waiters released and its auto
        purge scheduled) is one write to Kafka, one acknowledgement instead of three."""
        with self._log.together():
            record = self._atomic_status_transition(invocation_id, status, runner_ctx.runner_id)
            if status.is_final():
                self._log.publish_soon(
                    [self._blocking_control.released(invocation_id), self._purge_scheduled(invocation_id)]
                )
            self.app.state_backend.add_history(invocation_id, record, runner_ctx)
        self.app.trigger.report_tasks_status([invocation_id], status)
        self.app.logger.info(f"invocation:{invocation_id} status:{status.value}")

    def set_invocation_result(
        self, invocation: DistributedInvocation[Params, Result], result: Result, runner_ctx: RunnerContext
    ) -> None:
        """pynenc's, with the result and the request for ``SUCCESS`` in one write to Kafka."""
        with self._log.together():
            super().set_invocation_result(invocation, result, runner_ctx)

    def set_invocation_exception(
        self,
        invocation: DistributedInvocation[Params, Result],
        exception: Exception,
        runner_ctx: RunnerContext,
    ) -> None:
        """pynenc's, with the exception and the request for ``FAILED`` in one write to Kafka."""
        with self._log.together():
            super().set_invocation_exception(invocation, exception, runner_ctx)

    # -- reads -----------------------------------------------------------------------------------

    @through_parent()
    def get_invocation_status_record(self, invocation_id: InvocationId) -> InvocationStatusRecord:
        row = self._row(invocation_id)
        if row is None:
            raise KeyError(f"invocation {invocation_id} is not registered in the orchestrator")
        return InvocationStatusRecord(
            status=InvocationStatus(row["status"]),
            runner_id=row["runner_id"],
            timestamp=from_micros(row["status_at"]),
        )

    def get_existing_invocations(
        self,
        task: Task[Params, Result],
        key_serialized_arguments: dict[str, str] | None = None,
        statuses: list[InvocationStatus] | None = None,
    ) -> Iterator[InvocationId]:
        def read(store: ViewStore) -> set[str]:
            found = orchestration.members(store, "task", task.task_id.key)
            if key_serialized_arguments:
                found &= orchestration.with_arguments(store, key_serialized_arguments)
            if statuses:
                found &= self._with_statuses(store, statuses)
            return found

        return (InvocationId(i) for i in sorted(self._log.reads.fresh(read)))

    @staticmethod
    def _with_statuses(store: ViewStore, statuses: Sequence[InvocationStatus]) -> set[str]:
        found: set[str] = set()
        for status in statuses:
            found |= orchestration.members(store, "status", status.value)
        return found

    def get_task_invocation_ids(self, task_id: TaskId) -> Iterator[InvocationId]:
        found = self._log.reads.fresh(lambda store: orchestration.members(store, "task", task_id.key))
        return (InvocationId(i) for i in sorted(found))

    def get_call_invocation_ids(self, call_id: CallId) -> Iterator[InvocationId]:
        found = self._log.reads.fresh(lambda store: orchestration.members(store, "call", call_id.key))
        return (InvocationId(i) for i in sorted(found))

    def _matching(
        self, task_id: TaskId | None, statuses: list[InvocationStatus] | None
    ) -> list[orchestration.OrchestrationRow]:
        """The rows of the invocations of a task and/or in some statuses, found through the indexes
        (every row only when neither filter is given)."""

        def read(store: ViewStore) -> list[orchestration.OrchestrationRow]:
            if task_id is None and not statuses:
                return list(orchestration.all_rows(store))
            found: set[str] | None = None
            if task_id is not None:
                found = orchestration.members(store, "task", task_id.key)
            if statuses:
                in_statuses = self._with_statuses(store, statuses)
                found = in_statuses if found is None else found & in_statuses
            rows = (orchestration.row(store, i) for i in sorted(found or ()))
            return [r for r in rows if r is not None]

        return self._log.reads.fresh(read)

    @through_parent()
    def get_invocation_ids_paginated(
        self,
        task_id: TaskId | None = None,
        statuses: list[InvocationStatus] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InvocationId]:
        rows = sorted(self._matching(task_id, statuses), key=lambda r: r["status_at"], reverse=True)
        return [InvocationId(r["invocation_id"]) for r in rows[offset : offset + limit]]

    @through_parent()
    def count_invocations(
        self, task_id: TaskId | None = None, statuses: list[InvocationStatus] | None = None
    ) -> int:
        return len(self._matching(task_id, statuses))

    @through_parent()
    def filter_by_status(
        self, invocation_ids: list[InvocationId], status_filter: frozenset[InvocationStatus]
    ) -> list[InvocationId]:
        if not invocation_ids or status_filter is None:
            return []
        wanted = {s.value for s in status_filter}

        def read(store: ViewStore) -> list[InvocationId]:
            rows = {i: orchestration.row(store, i) for i in invocation_ids}
            return [i for i, row in rows.items() if row is not None and row["status"] in wanted]

        return self._log.reads.fresh(read)

    # -- retries, arguments, auto purge ------------------------------------------------------------

    def increment_invocation_retries(self, invocation_id: InvocationId) -> None:
        key, _ = self._decision(invocation_id)
        self._log.publish([(EventKind.RETRY_COUNTED, {"invocation_id": invocation_id, "decision_key": key})])

    @through_parent()
    def get_invocation_retries(self, invocation_id: InvocationId) -> int:
        row = self._row(invocation_id)
        return 0 if row is None else row["retries"]

    def index_arguments_for_concurrency_control(
        self, invocation: DistributedInvocation[Params, Result]
    ) -> None:
        key, _ = self._decision(invocation.invocation_id)
        payload = {
            "invocation_id": invocation.invocation_id,
            "decision_key": key,
            "arguments": dict(invocation.call.serialized_arguments),
        }
        self._log.publish([(EventKind.ARGUMENTS_INDEXED, payload)])

    def set_up_invocation_auto_purge(self, invocation_id: InvocationId) -> None:
        self._log.publish([self._purge_scheduled(invocation_id)])

    def _purge_scheduled(self, invocation_id: InvocationId) -> Record:
        """The event scheduling the invocation's auto purge, from now."""
        key, _ = self._decision(invocation_id)
        payload = {"invocation_id": invocation_id, "decision_key": key, "final_at": _now_micros()}
        return EventKind.AUTO_PURGE_SCHEDULED, payload

    def auto_purge(self) -> None:
        """Forget the invocations final for longer than ``auto_final_invocation_purge_hours``."""
        cutoff = datetime.now(UTC) - timedelta(hours=self.conf.auto_final_invocation_purge_hours)
        due = self._log.reads.fresh(lambda store: orchestration.purge_due(store, to_micros(cutoff)))
        self._forget([InvocationId(i) for i in due])

    def _forget(self, invocation_ids: list[InvocationId]) -> None:
        for invocation_id in invocation_ids:
            self.release_waiters(invocation_id)
        events: list[Record] = [
            (EventKind.INVOCATION_FORGOTTEN, {"invocation_id": i, "decision_key": self._decision(i)[0]})
            for i in invocation_ids
        ]
        if events:
            self._log.publish(events)
        self._keys.forget(invocation_ids)

    def purge(self) -> None:
        """Drop the orchestrator's views (invocations, blocking graph, atomic-service executions) with
        a scoped purge marker, and every runner's heartbeat; the log keeps their history for audits
        and the other components' views stay."""
        self._log.purge(PurgeScope.ORCHESTRATION)
        self._keys.clear()
        self._runners.purge_heartbeats()

    # -- runners, recovery and atomic-service executions -------------------------------------------

    def register_runner_heartbeats(
        self,
        runner_ids: list[str],
        can_run_atomic_service: bool = False,
        consumed_queues: Sequence[str] | None = None,
    ) -> None:
        self._runners.heartbeat(runner_ids, can_run_atomic_service, consumed_queues)

    def _get_active_runners(
        self, timeout_seconds: float, can_run_atomic_service: bool | None
    ) -> list[ActiveRunnerInfo]:
        return self._runners.active(timeout_seconds, can_run_atomic_service)

    def get_pending_invocations_for_recovery(self) -> Iterator[InvocationId]:
        cutoff = datetime.now(UTC) - timedelta(seconds=self.app.conf.max_pending_seconds)
        rows = self._matching(None, [InvocationStatus.PENDING])
        limit = to_micros(cutoff)
        return (InvocationId(r["invocation_id"]) for r in rows if r["status_at"] <= limit)

    def _get_running_invocations_for_recovery(self, timeout_seconds: float) -> Iterator[InvocationId]:
        alive = {r.runner_id for r in self._runners.active(timeout_seconds, None)}
        rows = self._matching(None, [InvocationStatus.RUNNING])
        return (
            InvocationId(r["invocation_id"]) for r in rows if r["runner_id"] and r["runner_id"] not in alive
        )

    def record_atomic_service_execution_start(
        self,
        atomic_service_run: AtomicServiceRun,
        started_at: datetime | None,
        status: AtomicServiceExecutionStatus | None = None,
        reason: str = "",
    ) -> bool:
        return self._runners.record_execution_start(atomic_service_run, started_at, status, reason)

    def finalize_atomic_service_execution(
        self,
        atomic_service_run: AtomicServiceRun,
        end_time: datetime,
        status: AtomicServiceExecutionStatus,
        reason: str = "",
    ) -> None:
        self._runners.finalize_execution(atomic_service_run, end_time, status, reason)

    def get_active_atomic_service_executions(self) -> list[AtomicServiceExecution]:
        return self._runners.active_executions()

    def get_atomic_service_executions_in_timerange(
        self,
        start_time: datetime,
        end_time: datetime,
        limit: int = 1000,
        *,
        runner_id: str | None = None,
        min_duration_seconds: float = 0.0,
    ) -> list[AtomicServiceExecution]:
        return self._runners.executions_in_timerange(
            start_time, end_time, limit, runner_id=runner_id, min_duration_seconds=min_duration_seconds
        )

    def purge_atomic_service_executions(self) -> int:
        return self._runners.purge_executions()
