"""Every kind of event, named once: its payload schema and the aggregate it is keyed by.

The log is keyed by aggregate so that one aggregate's events stay in order on one
partition: an invocation's registration, history, result and exception travel together,
as do a workflow's run, data and sub-invocations, and a runner's context. A client data
value is keyed by its content-hash key. An event about the app as a whole (its info, a
purge) is keyed by the app id.
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
    CLIENT_DATA_STORED = "ClientDataStored", ("key",)

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
    state backend's purge leaves the client data, and the client data store's leaves the state.
    """

    STATE = "state"
    CLIENT_DATA = "client_data"


_BY_NAME: dict[str, EventKind] = {kind.value: kind for kind in EventKind}
