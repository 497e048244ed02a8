"""Every kind of event, named once: its payload schema and the aggregate it is keyed by.

The log is keyed by aggregate so that one aggregate's events stay in order on one
partition: an invocation's registration, history, result and exception travel together,
as do a workflow's run, data and sub-invocations, and a runner's context. An event
about the app as a whole (its info, a purge) is keyed by the app id. The orchestrator's
events about an invocation are keyed by its *decision key*: the invocation id, or, when its
task limits how many run at once, what its runs compete for, so that competing requests are
decided in one partition's order. A client data value is keyed by its content-hash key.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pynenc_kafka.schemas import NAMESPACE


class EventKind(StrEnum):
    """A payload type of the event envelope's union, with the path of its aggregate key.

    The value is the record's short name (``"ResultSet"``), so a kind compares equal to
    the text analytics tools see; :attr:`schema_name` is its full Avro name.
    """

    aggregate_path: tuple[str, ...]

    def __new__(cls, name: str, aggregate_path: tuple[str, ...]) -> EventKind:
        member = str.__new__(cls, name)
        member._value_ = name
        member.aggregate_path = aggregate_path
        return member

    INVOCATION_REGISTERED = "InvocationRegistered", ("invocation_id",)
    STATUS_RECORDED = "StatusRecorded", ("invocation_id",)
    RESULT_SET = "ResultSet", ("invocation_id",)
    EXCEPTION_SET = "ExceptionSet", ("invocation_id",)
    WORKFLOW_RUN_STORED = "WorkflowRunStored", ("workflow", "workflow_id")
    WORKFLOW_DATA_SET = "WorkflowDataSet", ("workflow_id",)
    SUB_INVOCATION_STORED = "SubInvocationStored", ("workflow_id",)
    RUNNER_CONTEXT_STORED = "RunnerContextStored", ("runner_id",)
    APP_INFO_STORED = "AppInfoStored", ()
    PURGED = "Purged", ()
    # The orchestrator's facts and requests. An invocation's are keyed by its decision key, what
    # its transitions compete for, so that every decision about it is made in one partition's
    # order; blocking control's graph and the atomic-service slot span invocations and live on the
    # app's partition.
    INVOCATION_TRACKED = "InvocationTracked", ("decision_key",)
    STATUS_TRANSITION_REQUESTED = "StatusTransitionRequested", ("decision_key",)
    RETRY_COUNTED = "RetryCounted", ("decision_key",)
    ARGUMENTS_INDEXED = "ArgumentsIndexed", ("decision_key",)
    AUTO_PURGE_SCHEDULED = "AutoPurgeScheduled", ("decision_key",)
    INVOCATION_FORGOTTEN = "InvocationForgotten", ("decision_key",)
    WAITING_FOR_RESULTS = "WaitingForResults", ()
    WAITERS_RELEASED = "WaitersReleased", ()
    ATOMIC_SERVICE_EXECUTION_RECORDED = "AtomicServiceExecutionRecorded", ()
    ATOMIC_SERVICE_EXECUTION_FINALIZED = "AtomicServiceExecutionFinalized", ()
    ATOMIC_SERVICE_EXECUTIONS_PURGED = "AtomicServiceExecutionsPurged", ()
    # Not in the log: the compacted runners topic carries it (see topology.AppTopics.runners).
    RUNNER_HEARTBEAT = "RunnerHeartbeat", ("runner_id",)
    CLIENT_DATA_STORED = "ClientDataStored", ("key",)
    # The trigger's facts and requests, all on the app's partition: one order for every claim and
    # cron execution of the fleet, and a read of the trigger's views waits for one partition only.
    TRIGGER_ROW_STORED = "TriggerRowStored", ()
    TRIGGER_ROWS_DELETED = "TriggerRowsDeleted", ()
    TRIGGER_RUN_CLAIM_REQUESTED = "TriggerRunClaimRequested", ()
    CRON_EXECUTION_REQUESTED = "CronExecutionRequested", ()

    @property
    def schema_name(self) -> str:
        """The payload record's full Avro name, e.g. ``org.pynenc.kafka.events.ResultSet``."""
        return f"{NAMESPACE}.{self.value}"

    @classmethod
    def of(cls, name: str) -> EventKind:
        """The kind of a payload record's short or full Avro name (``"ResultSet"``, ``"org.….ResultSet"``).

        :raises ValueError: If no kind has that name.
        """
        found = _BY_NAME.get(name.rsplit(".", 1)[-1])
        if found is None:
            raise ValueError(f"no pynenc-kafka event kind is named {name!r}")
        return found

    def aggregate_key(self, app_id: str, payload: Mapping[str, Any]) -> str:
        """The Kafka key of an event of this kind: its aggregate's id (the app's for app-wide events).

        :param str app_id: The app the event belongs to.
        :param payload: The event's payload record.
        """
        value: Any = payload
        for name in self.aggregate_path:
            value = value[name]
        return app_id if not self.aggregate_path else str(value)


class PurgeScope(StrEnum):
    """What a ``Purged`` marker drops (its ``scope`` field; markers without one are ``STATE``).

    pynenc purges each component on its own (``app.purge()`` calls them one by one): the
    state backend's purge leaves the client data and the orchestration, the client data store's,
    the orchestrator's and the trigger's leave the others' views.
    """

    STATE = "state"
    CLIENT_DATA = "client_data"
    ORCHESTRATION = "orchestration"
    TRIGGER = "trigger"


_BY_NAME: dict[str, EventKind] = {kind.value: kind for kind in EventKind}
