"""``KafkaStateBackend``: pynenc's state backend as events in Kafka, read from RocksDB views.

Every state change is published as an Avro event to the app's log and acknowledged by
Kafka before the call returns; every read is answered from the local projection, behind
a read barrier where another process's write must be visible.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pynenc.app_info import AppInfo
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.identifiers.task_id import TaskId
from pynenc.invocation.status import InvocationStatus
from pynenc.state_backend.base_state_backend import BaseStateBackend, InvocationHistory
from pynenc.types import Params, Result

from pynenc_kafka import payloads
from pynenc_kafka.client_settings import KafkaClientSettings
from pynenc_kafka.conf import ConfigStateBackendKafka
from pynenc_kafka.producers.publisher import OutgoingEvent, Position
from pynenc_kafka.projections import keys
from pynenc_kafka.projections.views import View
from pynenc_kafka.registry import AppRegistry
from pynenc_kafka.runtime import RUNTIME, AppProjection, AppSpec
from pynenc_kafka.schemas.timestamps import to_micros
from pynenc_kafka.schemas.topology import AppTopics, partition_for

if TYPE_CHECKING:
    from pynenc.app import Pynenc
    from pynenc.invocation.dist_invocation import DistributedInvocation
    from pynenc.invocation.status import InvocationStatusRecord
    from pynenc.models.call_dto import CallDTO
    from pynenc.models.invocation_dto import InvocationDTO
    from pynenc.runner.runner_context import RunnerContext
    from pynenc.workflow import WorkflowIdentity

    from pynenc_kafka.producers.topics import TopicInfo
    from pynenc_kafka.schemas.codec import EventCodec

#: (event kind, aggregate key, payload) of one event to publish.
Record = tuple[str, str, dict[str, Any]]


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
        return RUNTIME.app(self.spec)

    def _event(
        self,
        log: TopicInfo,
        codec: EventCodec,
        kind: str,
        key: str,
        payload: dict[str, Any],
        partition: int | None = None,
    ) -> OutgoingEvent:
        """One encoded event of this app, on its aggregate's partition unless told otherwise."""
        return OutgoingEvent(
            topic=log.name,
            partition=partition_for(key, log.partitions) if partition is None else partition,
            key=key.encode(),
            value=codec.encode(self.app.app_id, kind, payload, str(uuid.uuid4()), datetime.now(UTC)),
            label=f"{kind} of {key!r} in app {self.app.app_id!r}",
        )

    def _publish(self, records: Sequence[Record], *extra: OutgoingEvent) -> list[Position]:
        """Encode and size-check one call's events, publish them all, wait once for Kafka.

        The first write opens the app's projection too, as the first read would: measured
        with pynenc's fork-based runners, processes that only wrote and opened the views
        later failed 8 of 40 runs of their SIGTERM tests (0 of 32 when opening on write).
        """
        projection = self.projection
        clients, log = projection.clients, projection.log
        events = [self._event(log, clients.codec, kind, key, payload) for kind, key, payload in records]
        events.extend(extra)
        publisher = clients.publisher
        publisher.check_sizes(events, log.max_message_bytes)
        return publisher.publish(events)

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

    def _immutable(self, view: View, key: str) -> bytes | None:
        """A fact that never changes once written: served at once when present."""
        projection = self.projection
        value = projection.store.get(view, keys.text(key))
        if value is None:
            projection.barrier.wait([partition_for(key, projection.log.partitions)])
            value = projection.store.get(view, keys.text(key))
        return value

    def _fresh(self, aggregate_key: str | None = None) -> AppProjection:
        """The projection after the barrier: of one aggregate's partition, or of all."""
        projection = self.projection
        partitions = (
            None if aggregate_key is None else [partition_for(aggregate_key, projection.log.partitions)]
        )
        projection.barrier.wait(partitions)
        return projection

    def _ids(self, view: View, key_prefix: bytes, aggregate_key: str | None = None) -> Iterator[InvocationId]:
        rows = list(self._fresh(aggregate_key).store.scan_prefix(view, key_prefix))
        return (InvocationId(keys.last_part(k)) for k, _ in rows)

    # -- app info ----------------------------------------------------------------------------

    def store_app_info(self, app_info: AppInfo) -> None:
        """Record the app's info in its log and in the registry topic."""
        payload = {"app_info_json": app_info.to_json()}
        registry = self._registry()
        self._publish([("AppInfoStored", app_info.app_id, payload)], registry.entry(app_info.app_id, payload))

    def get_app_info(self) -> AppInfo:
        value = self._fresh(self.app.app_id).store.get(View.APP_INFO, keys.text(self.app.app_id))
        if value is None:
            raise KeyError(f"App info for {self.app.app_id} not found")
        return AppInfo.from_json(value.decode())

    def _registry(self) -> AppRegistry:
        return AppRegistry(RUNTIME.cluster(self.spec.settings), self.topics.registry)

    @staticmethod
    def discover_app_infos() -> dict[str, AppInfo]:
        """Every app registered on the cluster named by the environment's configuration."""
        conf = ConfigStateBackendKafka()
        clients = RUNTIME.cluster(KafkaClientSettings.from_config(conf))
        return {
            app_id: AppInfo.from_json(info["app_info_json"])
            for app_id, info in AppRegistry(clients, AppTopics(conf.kafka_topic_prefix, "").registry)
            .read()
            .items()
        }

    # -- invocations ---------------------------------------------------------------------------

    def _upsert_invocations(self, entries: list[tuple[InvocationDTO, CallDTO]]) -> None:
        self._publish(
            [
                ("InvocationRegistered", inv.invocation_id, payloads.invocation_registered(inv, call))
                for inv, call in entries
            ]
        )

    def _get_invocation(self, invocation_id: InvocationId) -> tuple[InvocationDTO, CallDTO] | None:
        value = self._immutable(View.INVOCATIONS, invocation_id)
        if value is None:
            return None
        row = json.loads(value)
        arguments = self.projection.store.get_json(View.CALLS, keys.text(row["call_id_key"]))
        return payloads.invocation_from_rows(row, arguments)

    def get_child_invocations(self, parent_invocation_id: InvocationId) -> Iterator[InvocationId]:
        return self._ids(View.CHILDREN, keys.prefix(parent_invocation_id))

    def get_invocations_by_parent_event(self, parent_event_id: str) -> Iterator[InvocationId]:
        return self._ids(View.BY_PARENT_EVENT, keys.prefix(parent_event_id))

    def get_invocation_ids_by_workflow(
        self, workflow_id: str | None = None, workflow_type_key: str | None = None
    ) -> Iterator[InvocationId]:
        store = self._fresh().store
        if workflow_id is None and workflow_type_key is None:
            return (InvocationId(k.decode()) for k, _ in list(store.scan(View.INVOCATIONS)))
        found: set[str] | None = None
        for view, value in ((View.BY_WORKFLOW, workflow_id), (View.BY_WORKFLOW_TYPE, workflow_type_key)):
            if value is not None:
                ids = {keys.last_part(k) for k, _ in store.scan_prefix(view, keys.prefix(value))}
                found = ids if found is None else found & ids
        return (InvocationId(i) for i in sorted(found or ()))

    # -- history -------------------------------------------------------------------------------

    def add_histories(
        self,
        invocations: list[DistributedInvocation[Params, Result]],
        status_record: InvocationStatusRecord,
        runner_context: RunnerContext,
    ) -> None:
        """Persist one history entry per invocation, in one publish that waits once."""
        self.store_runner_context(runner_context)
        registered = status_record.status == InvocationStatus.REGISTERED
        self._publish(
            [
                (
                    "StatusRecorded",
                    inv.invocation_id,
                    payloads.status_recorded(
                        inv.invocation_id,
                        InvocationHistory(
                            invocation_id=inv.invocation_id,
                            status_record=status_record,
                            runner_context_id=runner_context.runner_id,
                            registered_by_inv_id=inv.parent_invocation_id if registered else None,
                        ),
                    ),
                )
                for inv in invocations
            ]
        )

    def _add_histories(
        self, invocation_ids: list[InvocationId], invocation_history: InvocationHistory
    ) -> None:
        self._publish(
            [("StatusRecorded", i, payloads.status_recorded(i, invocation_history)) for i in invocation_ids]
        )

    def _get_history(self, invocation_id: InvocationId) -> list[InvocationHistory]:
        rows = self._fresh(invocation_id).store.scan_prefix(View.HISTORY, keys.prefix(invocation_id))
        return [payloads.history_from_row(json.loads(v)) for _, v in rows]

    def iter_invocations_in_timerange(
        self, start_time: datetime, end_time: datetime, batch_size: int = 100
    ) -> Iterator[list[InvocationId]]:
        seen: set[str] = set()
        batch: list[InvocationId] = []
        for row in self._history_rows(start_time, end_time):
            if row["invocation_id"] not in seen:
                seen.add(row["invocation_id"])
                batch.append(InvocationId(row["invocation_id"]))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def iter_history_in_timerange(
        self, start_time: datetime, end_time: datetime, batch_size: int = 100
    ) -> Iterator[list[InvocationHistory]]:
        batch: list[InvocationHistory] = []
        for row in self._history_rows(start_time, end_time):
            batch.append(payloads.history_from_row(row))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _history_rows(self, start_time: datetime, end_time: datetime) -> Iterator[dict[str, Any]]:
        store = self._fresh().store
        start, end = keys.micros(to_micros(start_time)), keys.micros(to_micros(end_time) + 1)
        for _, value in store.scan(View.HISTORY_BY_TIME, start, end):
            yield json.loads(value)

    # -- results and exceptions -----------------------------------------------------------------

    def _set_result(self, invocation_id: InvocationId, serialized_result: str) -> None:
        self._publish(
            [
                (
                    "ResultSet",
                    invocation_id,
                    {"invocation_id": invocation_id, "serialized_result": serialized_result},
                )
            ]
        )

    def _get_result(self, invocation_id: InvocationId) -> str:
        value = self._immutable(View.RESULTS, invocation_id)
        if value is None:
            raise KeyError(f"Result for invocation {invocation_id} not found")
        return value.decode()

    def _set_exception(self, invocation_id: InvocationId, serialized_exception: str) -> None:
        self._publish(
            [("ExceptionSet", invocation_id, payloads.exception_set(invocation_id, serialized_exception))]
        )

    def _get_exception(self, invocation_id: InvocationId) -> str:
        value = self._immutable(View.EXCEPTIONS, invocation_id)
        if value is None:
            raise KeyError(f"Exception for invocation {invocation_id} not found")
        return value.decode()

    # -- workflows --------------------------------------------------------------------------------

    def store_workflow_run(self, workflow_identity: WorkflowIdentity) -> None:
        self._publish(
            [
                (
                    "WorkflowRunStored",
                    workflow_identity.workflow_id,
                    {"workflow": payloads.workflow_payload(workflow_identity)},
                )
            ]
        )

    def get_all_workflow_types(self) -> Iterator[TaskId]:
        rows = list(self._fresh().store.scan(View.WORKFLOW_TYPES))
        return (TaskId.from_key(k.decode()) for k, _ in rows)

    def get_all_workflow_runs(self) -> Iterator[WorkflowIdentity]:
        rows = list(self._fresh().store.scan(View.WORKFLOW_RUNS))
        return (payloads.workflow_from_row(json.loads(v)) for _, v in rows)

    def get_workflow_runs(self, workflow_type: TaskId) -> Iterator[WorkflowIdentity]:
        store = self._fresh().store
        ids = [
            keys.last_part(k)
            for k, _ in store.scan_prefix(View.WORKFLOW_RUNS_BY_TYPE, keys.prefix(workflow_type.key))
        ]
        rows = [store.get_json(View.WORKFLOW_RUNS, keys.text(i)) for i in ids]
        return (payloads.workflow_from_row(r) for r in rows if r is not None)

    def set_workflow_data(self, workflow_identity: WorkflowIdentity, key: str, value: Any) -> None:
        wf_id = workflow_identity.workflow_id
        payload = {
            "workflow_id": wf_id,
            "key": key,
            "serialized_value": self.app.client_data_store.serialize(value),
        }
        self._publish([("WorkflowDataSet", wf_id, payload)])

    def get_workflow_data(self, workflow_identity: WorkflowIdentity, key: str, default: Any = None) -> Any:
        wf_id = workflow_identity.workflow_id
        value = self._fresh(wf_id).store.get(View.WORKFLOW_DATA, keys.joined(wf_id, key))
        return default if value is None else self.app.client_data_store.deserialize(value.decode())

    def store_workflow_sub_invocation(
        self, parent_workflow_id: InvocationId, sub_invocation_id: InvocationId
    ) -> None:
        payload = {"workflow_id": parent_workflow_id, "sub_invocation_id": sub_invocation_id}
        self._publish([("SubInvocationStored", parent_workflow_id, payload)])

    def get_workflow_sub_invocations(self, workflow_id: InvocationId) -> Iterator[InvocationId]:
        return self._ids(View.SUB_INVOCATIONS, keys.prefix(workflow_id), workflow_id)

    # -- runner contexts ----------------------------------------------------------------------------

    def _store_runner_context(self, runner_context: RunnerContext) -> None:
        self._publish(
            [
                (
                    "RunnerContextStored",
                    runner_context.runner_id,
                    payloads.runner_context_stored(runner_context),
                )
            ]
        )

    def _get_runner_context(self, runner_id: str) -> RunnerContext | None:
        value = self._immutable(View.RUNNER_CONTEXTS, runner_id)
        return None if value is None else self._runner_context_from(json.loads(value))

    def _get_runner_contexts(self, runner_ids: list[str]) -> list[RunnerContext]:
        found = (self._get_runner_context(runner_id) for runner_id in runner_ids)
        return [ctx for ctx in found if ctx is not None]

    def _runner_context_from(self, row: dict[str, Any]) -> RunnerContext:
        parent_id = row.get("parent_runner_id")
        parent = self.get_runner_context(parent_id) if parent_id else None
        if parent_id and parent is None:
            raise KeyError(f"Parent RunnerContext {parent_id} not found")
        return payloads.runner_context_from_row(row, parent)

    def get_matching_runner_contexts(self, partial_id: str) -> Iterator[RunnerContext]:
        rows = [
            json.loads(v)
            for k, v in self._fresh().store.scan(View.RUNNER_CONTEXTS)
            if partial_id in k.decode()
        ]
        return (self._runner_context_from(row) for row in rows)

    # -- purge ----------------------------------------------------------------------------------------

    def purge(self) -> None:
        """Drop the app's state from the views; the log keeps its history for audits.

        A ``Purged`` marker goes to every partition, and the app leaves the registry.
        Returns once this process's views show the purge.
        """
        projection = self.projection
        clients, log = projection.clients, projection.log
        partitions = log.partitions
        marker = {"purge_id": str(uuid.uuid4()), "partitions": partitions}
        self._publish(
            [],
            *(
                self._event(log, clients.codec, "Purged", self.app.app_id, marker, partition=p)
                for p in range(partitions)
            ),
            self._registry().tombstone(self.app.app_id),
        )
        self._runner_context_cache.clear()
        self._fresh()
