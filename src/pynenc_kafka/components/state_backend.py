"""``KafkaStateBackend``: pynenc's state backend as events in Kafka, read from RocksDB views.

Every state change is published as an Avro event to the app's log and acknowledged by
Kafka before the call returns; every read is answered from the local projection, behind
a read barrier where another process's write must be visible.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cached_property
from itertools import batched
from typing import TYPE_CHECKING, Any

from pynenc.app_info import AppInfo
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.identifiers.task_id import TaskId
from pynenc.state_backend.base_state_backend import BaseStateBackend, InvocationHistory
from pynenc.types import Params, Result

from pynenc_kafka.components import payloads
from pynenc_kafka.core.app_log import AppLog, Record, purge_markers
from pynenc_kafka.core.app_projection import (
    AppProjection,
    AppSpec,
)
from pynenc_kafka.core.client_settings import KafkaClientSettings, without_secret_options
from pynenc_kafka.core.conf import ConfigStateBackendKafka
from pynenc_kafka.core.fork_bridge import SERVER as FORK_BRIDGE
from pynenc_kafka.core.fork_bridge import through_parent
from pynenc_kafka.core.registry import AppRegistry
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.observability.server import serve_configured_metrics
from pynenc_kafka.producers.publisher import OutgoingEvent, Position
from pynenc_kafka.producers.registrations import PublishedRegistrations
from pynenc_kafka.projections.store import View, ViewStore
from pynenc_kafka.projections.views import app_info, history, invocations, outcomes, runners, workflows
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope
from pynenc_kafka.schemas.timestamps import to_micros
from pynenc_kafka.schemas.topology import AppTopics

if TYPE_CHECKING:
    from pynenc.app import Pynenc
    from pynenc.invocation.dist_invocation import DistributedInvocation
    from pynenc.invocation.status import InvocationStatusRecord
    from pynenc.models.call_dto import CallDTO
    from pynenc.models.invocation_dto import InvocationDTO
    from pynenc.runner.runner_context import RunnerContext
    from pynenc.workflow import WorkflowIdentity


class KafkaStateBackend(BaseStateBackend[Params, Result]):
    """A pynenc state backend whose source of truth is an Avro event log in Kafka.

    Select it with ``PYNENC__STATE_BACKEND_CLS=KafkaStateBackend`` or
    ``PynencBuilder().kafka(bootstrap_servers=...)``.

    :param Pynenc app: The pynenc app.
    """

    def __init__(self, app: Pynenc) -> None:
        super().__init__(app)
        self.spec = AppSpec.from_config(self.conf, app.app_id)
        self.topics = self.spec.topics
        self.bridge_seconds = self.conf.kafka_fork_bridge_seconds
        self._log = AppLog(self.spec, self.bridge_seconds)
        self._reads = self._log.reads
        FORK_BRIDGE.register(self)
        serve_configured_metrics(self.conf)
        self._registrations = PublishedRegistrations()

    @cached_property
    def conf(self) -> ConfigStateBackendKafka:
        return ConfigStateBackendKafka(
            config_values=self.app.config_values,
            config_filepath=self.app.config_filepath,
        )

    # -- plumbing ------------------------------------------------------------------------

    @property
    def projection(self) -> AppProjection:
        """This app's projection in this process (opened, and topics created, on first use)."""
        return self._reads.projection

    def _use[T](self, work: Callable[[AppProjection], T]) -> T:
        """Run ``work`` on the projection, held open meanwhile (see :class:`ProjectionAccess`)."""
        return self._reads.use(work)

    def _publish(self, records: Sequence[Record], *extra: OutgoingEvent) -> list[Position]:
        """Publish one call's events and wait once for Kafka (see :meth:`AppLog.publish`)."""
        return self._log.publish(records, *extra)

    def wait_for_all_async_operations(self) -> None:
        """Flush anything still in flight to Kafka (every write already waits for its ack).

        Kept for callers of earlier pynenc state backends, whose writes could be asynchronous.
        """
        RUNTIME.cluster(self.spec.settings).publisher.flush()

    def wait_for_invocation_async_operations(self, invocation_id: InvocationId) -> None:
        """Flush anything still in flight to Kafka for ``invocation_id`` (see above).

        :param InvocationId invocation_id: The invocation; the producer is shared, so all flush.
        """
        del invocation_id
        self.wait_for_all_async_operations()

    # -- app info ----------------------------------------------------------------------------

    def store_app_info(self, app_info: AppInfo) -> None:
        """Record the app's info in its log and in the registry topic (no secret option: the log is
        read by auditors, the registry by every app of the prefix)."""
        public = dataclasses.replace(app_info, config_values=without_secret_options(app_info.config_values))
        payload = {"app_info_json": public.to_json()}
        # The log first: a principal that may not write it leaves no registry entry behind either.
        self._publish([(EventKind.APP_INFO_STORED, payload)])
        self._publish([], self._registry().entry(app_info.app_id, payload))

    @through_parent()
    def get_app_info(self) -> AppInfo:
        app_id = self.app.app_id
        found = self._reads.fresh(lambda store: app_info.app_info_json(store, app_id), app_id)
        if found is None:
            raise KeyError(f"App info for {app_id} not found")
        return AppInfo.from_json(found)

    def _registry(self) -> AppRegistry:
        return AppRegistry(RUNTIME.cluster(self.spec.settings), self.topics.registry)

    @staticmethod
    def discover_app_infos() -> dict[str, AppInfo]:
        """Every app registered on the cluster named by the environment's configuration."""
        conf = ConfigStateBackendKafka()
        clients = RUNTIME.cluster(KafkaClientSettings.from_config(conf))
        registry = AppRegistry(clients, AppTopics(conf.kafka_topic_prefix, "").registry)
        return {app_id: AppInfo.from_json(info["app_info_json"]) for app_id, info in registry.read().items()}

    # -- invocations ---------------------------------------------------------------------------

    def _upsert_invocations(self, entries: list[tuple[InvocationDTO, CallDTO]]) -> None:
        """Publish the registrations this process has not already had acknowledged, identical.

        pynenc upserts every new invocation twice with the same content; the second is left out
        (see :mod:`pynenc_kafka.producers.registrations`), a registration that differs is published.
        """
        log_id = self.projection.log.topic_id
        fresh = self._registrations.to_publish(
            log_id, (payloads.invocation_registered(inv, call) for inv, call in entries)
        )
        if fresh:
            positions = self._publish([(EventKind.INVOCATION_REGISTERED, r.payload) for r in fresh])
            self._registrations.remember(log_id, fresh, [p.offset for p in positions])

    @through_parent()
    def _get_invocation(self, invocation_id: InvocationId) -> tuple[InvocationDTO, CallDTO] | None:
        def read(store: ViewStore) -> tuple[InvocationDTO, CallDTO] | None:
            row = invocations.invocation(store, invocation_id)
            if row is None:
                return None
            return payloads.invocation_from_rows(row, invocations.arguments(store, row["call_id_key"]))

        return self._reads.immutable(invocation_id, read)

    def get_child_invocations(self, parent_invocation_id: InvocationId) -> Iterator[InvocationId]:
        return self._ids(View.CHILDREN, parent_invocation_id)

    def get_invocations_by_parent_event(self, parent_event_id: str) -> Iterator[InvocationId]:
        return self._ids(View.BY_PARENT_EVENT, parent_event_id)

    def _ids(self, view: View, owner: str, aggregate_key: str | None = None) -> Iterator[InvocationId]:
        found = self._reads.fresh(lambda store: invocations.members(store, view, owner), aggregate_key)
        return (InvocationId(i) for i in found)

    def get_invocation_ids_by_workflow(
        self, workflow_id: str | None = None, workflow_type_key: str | None = None
    ) -> Iterator[InvocationId]:
        def read(store: ViewStore) -> list[str]:
            if workflow_id is None and workflow_type_key is None:
                return invocations.all_ids(store)
            found: set[str] | None = None
            for view, owner in ((View.BY_WORKFLOW, workflow_id), (View.BY_WORKFLOW_TYPE, workflow_type_key)):
                if owner is not None:
                    ids = set(invocations.members(store, view, owner))
                    found = ids if found is None else found & ids
            return sorted(found or ())

        return (InvocationId(i) for i in self._reads.fresh(read))

    # -- history -------------------------------------------------------------------------------

    def add_histories(
        self,
        invocations: list[DistributedInvocation[Params, Result]],
        status_record: InvocationStatusRecord,
        runner_context: RunnerContext,
    ) -> None:
        """Persist one history entry per invocation, in one publish that waits once."""
        self.store_runner_context(runner_context)
        entries = (
            (i.invocation_id, payloads.history_entry(i, status_record, runner_context)) for i in invocations
        )
        self._publish([(EventKind.STATUS_RECORDED, payloads.status_recorded(*entry)) for entry in entries])

    def _add_histories(
        self, invocation_ids: list[InvocationId], invocation_history: InvocationHistory
    ) -> None:
        self._log.publish_soon(
            [
                (EventKind.STATUS_RECORDED, payloads.status_recorded(i, invocation_history))
                for i in invocation_ids
            ]
        )

    @through_parent()
    def _get_history(self, invocation_id: InvocationId) -> list[InvocationHistory]:
        rows = self._reads.fresh(lambda store: history.of_invocation(store, invocation_id), invocation_id)
        return [payloads.history_from_row(row) for row in rows]

    def iter_invocations_in_timerange(
        self, start_time: datetime, end_time: datetime, batch_size: int = 100
    ) -> Iterator[list[InvocationId]]:
        rows = self._history_rows(start_time, end_time)
        ids = dict.fromkeys(row["invocation_id"] for row in rows)  # first seen first, once each
        for chunk in batched(ids, batch_size):
            yield [InvocationId(i) for i in chunk]

    def iter_history_in_timerange(
        self, start_time: datetime, end_time: datetime, batch_size: int = 100
    ) -> Iterator[list[InvocationHistory]]:
        for chunk in batched(self._history_rows(start_time, end_time), batch_size):
            yield [payloads.history_from_row(row) for row in chunk]

    def _history_rows(self, start_time: datetime, end_time: datetime) -> list[history.HistoryRow]:
        start, end = to_micros(start_time), to_micros(end_time)
        return self._reads.fresh(lambda store: list(history.in_timerange(store, start, end)))

    # -- results and exceptions -----------------------------------------------------------------

    def _set_result(self, invocation_id: InvocationId, serialized_result: str) -> None:
        payload = {"invocation_id": invocation_id, "serialized_result": serialized_result}
        self._log.publish_soon([(EventKind.RESULT_SET, payload)])

    @through_parent()
    def _get_result(self, invocation_id: InvocationId) -> str:
        found = self._reads.immutable(invocation_id, lambda store: outcomes.result(store, invocation_id))
        if found is None:
            raise KeyError(f"Result for invocation {invocation_id} not found")
        return found

    def _set_exception(self, invocation_id: InvocationId, serialized_exception: str) -> None:
        self._log.publish_soon(
            [(EventKind.EXCEPTION_SET, payloads.exception_set(invocation_id, serialized_exception))]
        )

    @through_parent()
    def _get_exception(self, invocation_id: InvocationId) -> str:
        found = self._reads.immutable(invocation_id, lambda store: outcomes.exception(store, invocation_id))
        if found is None:
            raise KeyError(f"Exception for invocation {invocation_id} not found")
        return found

    # -- workflows --------------------------------------------------------------------------------

    def store_workflow_run(self, workflow_identity: WorkflowIdentity) -> None:
        payload = {"workflow": payloads.workflow_payload(workflow_identity)}
        self._publish([(EventKind.WORKFLOW_RUN_STORED, payload)])

    def get_all_workflow_types(self) -> Iterator[TaskId]:
        return (TaskId.from_key(key) for key in self._reads.fresh(workflows.types))

    def get_all_workflow_runs(self) -> Iterator[WorkflowIdentity]:
        return (payloads.workflow_from_row(row) for row in self._reads.fresh(workflows.runs))

    def get_workflow_runs(self, workflow_type: TaskId) -> Iterator[WorkflowIdentity]:
        rows = self._reads.fresh(lambda store: workflows.runs_of_type(store, workflow_type.key))
        return (payloads.workflow_from_row(row) for row in rows)

    def set_workflow_data(self, workflow_identity: WorkflowIdentity, key: str, value: Any) -> None:
        payload = {
            "workflow_id": workflow_identity.workflow_id,
            "key": key,
            "serialized_value": self.app.client_data_store.serialize(value),
        }
        self._publish([(EventKind.WORKFLOW_DATA_SET, payload)])

    @through_parent()
    def get_workflow_data(self, workflow_identity: WorkflowIdentity, key: str, default: Any = None) -> Any:
        wf_id = workflow_identity.workflow_id
        found = self._reads.fresh(lambda store: workflows.data(store, wf_id, key), wf_id)
        return default if found is None else self.app.client_data_store.deserialize(found)

    def store_workflow_sub_invocation(
        self, parent_workflow_id: InvocationId, sub_invocation_id: InvocationId
    ) -> None:
        payload = {"workflow_id": parent_workflow_id, "sub_invocation_id": sub_invocation_id}
        self._publish([(EventKind.SUB_INVOCATION_STORED, payload)])

    def get_workflow_sub_invocations(self, workflow_id: InvocationId) -> Iterator[InvocationId]:
        found = self._reads.fresh(lambda store: workflows.sub_invocations(store, workflow_id), workflow_id)
        return (InvocationId(i) for i in found)

    # -- runner contexts ----------------------------------------------------------------------------

    def _store_runner_context(self, runner_context: RunnerContext) -> None:
        self._publish([(EventKind.RUNNER_CONTEXT_STORED, payloads.runner_context_stored(runner_context))])

    @through_parent()
    def _get_runner_context(self, runner_id: str) -> RunnerContext | None:
        row = self._reads.immutable(runner_id, lambda store: runners.context(store, runner_id))
        return None if row is None else self._runner_context_from(row)

    def _get_runner_contexts(self, runner_ids: list[str]) -> list[RunnerContext]:
        found = (self._get_runner_context(runner_id) for runner_id in runner_ids)
        return [ctx for ctx in found if ctx is not None]

    def _runner_context_from(self, row: runners.RunnerContextRow) -> RunnerContext:
        parent_id = row.get("parent_runner_id")
        parent = self.get_runner_context(parent_id) if parent_id else None
        if parent_id and parent is None:
            raise KeyError(f"Parent RunnerContext {parent_id} not found")
        return payloads.runner_context_from_row(row, parent)

    def get_matching_runner_contexts(self, partial_id: str) -> Iterator[RunnerContext]:
        rows = self._reads.fresh(lambda store: runners.matching(store, partial_id))
        return (self._runner_context_from(row) for row in rows)

    # -- purge ----------------------------------------------------------------------------------------

    def purge(self) -> None:
        """Drop the app's state from the views; the log keeps its history for audits.

        A ``Purged`` marker of the state's scope goes to every partition, and the app leaves the
        registry. The client data store's values stay, as with pynenc's own stores: ``app.purge()``
        purges that store on its own.
        Returns once this process's views show the purge.
        """

        try:
            markers = self._use(lambda projection: purge_markers(projection, PurgeScope.STATE))
            self._publish([], *markers, self._registry().tombstone(self.app.app_id))
        finally:
            self._registrations.forget()
        self._runner_context_cache.clear()
        self._reads.fresh(lambda store: None)
