"""``KafkaBroker``: pynenc's invocation queue on a compacted Kafka topic, decided in log order.

Routing writes one ``Routed`` record per invocation to the app's queue topic
(``<prefix>.<app>.queue``), on the partition of its pynenc queue, and waits for Kafka's
acknowledgement. Every process follows the topic into an in-memory table; retrieving claims
the head of the queue with a ``Claimed`` record and returns the invocation if that claim was
the first for the entry in log order. Any idle worker can take any queued invocation: no
partition is pinned to a consumer, so a busy worker holds nothing back.

An invocation handed out belongs to pynenc's orchestrator from then on (at-most-once handoff,
as pynenc's own brokers): if the worker dies, the orchestrator's recovery routes it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from pynenc.broker.base_broker import BaseBroker
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.core.conf import ConfigBrokerKafka
from pynenc_kafka.core.queue_table import QueueSpec
from pynenc_kafka.core.queue_tables import QUEUE_TABLES

if TYPE_CHECKING:
    from pynenc.app import Pynenc


class KafkaBroker(BaseBroker):
    """A pynenc broker whose queues are records of a compacted Kafka topic.

    Select it with ``PYNENC__BROKER_CLS=KafkaBroker`` (or ``broker_cls`` in ``config_values``).
    Priorities are exact: pynenc's float priority is carried as is, higher first, equal ones
    in the order they were routed.

    :param Pynenc app: The pynenc app.
    """

    def __init__(self, app: Pynenc) -> None:
        super().__init__(app)
        self.spec = QueueSpec.from_config(self.conf, app.app_id)

    @cached_property
    def conf(self) -> ConfigBrokerKafka:
        return ConfigBrokerKafka(
            config_values=self.app.config_values,
            config_filepath=self.app.config_filepath,
        )

    def _route_invocation(self, invocation_id: InvocationId, queue_name: str, priority: float) -> None:
        """Queue one invocation (validated by the base class first)."""
        self._route_invocations([invocation_id], queue_name, priority)

    def _route_invocations(
        self, invocation_ids: Sequence[InvocationId], queue_name: str, priority: float
    ) -> None:
        """Queue the invocations in order, one entry each; Kafka acknowledges them all before this returns."""
        if invocation_ids:
            QUEUE_TABLES.use(self.spec, lambda table: table.route(invocation_ids, queue_name, priority))

    def retrieve_invocation(self, queue_name: str | None = None) -> InvocationId | None:
        """The next invocation of a queue (the first configured one by default), or ``None`` at once if empty."""
        queue = self.conf.queues[0] if queue_name is None else queue_name
        self._validate_queue_names((queue,))
        found = QUEUE_TABLES.use(self.spec, lambda table: table.retrieve(queue))
        return None if found is None else InvocationId(found)

    def count_invocations(self, queue_names: Sequence[str] | None = None) -> int:
        """Invocations queued now in ``queue_names`` (every configured queue by default)."""
        queues = tuple(self.conf.queues if queue_names is None else queue_names)
        self._validate_queue_names(queues)
        return QUEUE_TABLES.use(self.spec, lambda table: table.count(queues))

    def purge(self) -> None:
        """Drop every queued invocation of the app."""
        QUEUE_TABLES.use(self.spec, lambda table: table.purge())
