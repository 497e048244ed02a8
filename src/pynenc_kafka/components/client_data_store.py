"""``KafkaClientDataStore``: pynenc's store of large serialized values, as events in the app's log.

pynenc keeps an argument or a result over ``min_size_to_cache`` characters out of the
invocation and passes a reference key (a hash of the content) instead. Here each stored value
is a ``ClientDataStored`` event in the app's log, keyed by its reference key, acknowledged by
Kafka before ``_store`` returns; reads are answered from the local projection's
``client_data`` view. A purge is a ``Purged`` marker of the client data's scope on every
partition: it drops the client data and nothing of the state backend's, as pynenc's own
stores do.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from pynenc.client_data_store.base_client_data_store import BaseClientDataStore

from pynenc_kafka.core.app_log import AppLog
from pynenc_kafka.core.app_projection import AppProjection, AppSpec
from pynenc_kafka.core.conf import ConfigClientDataStoreKafka
from pynenc_kafka.core.fork_bridge import SERVER as FORK_BRIDGE
from pynenc_kafka.core.fork_bridge import through_parent
from pynenc_kafka.observability.server import serve_configured_metrics
from pynenc_kafka.producers.publisher import RAISE_LIMIT_ADVICE
from pynenc_kafka.projections.views import client_data
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope

if TYPE_CHECKING:
    from pynenc.app import Pynenc

#: A value too large for one event has nowhere else to go: the limit must be raised.
_ADVICE = f"{RAISE_LIMIT_ADVICE}; a client data value is one event."


class KafkaClientDataStore(BaseClientDataStore):
    """A pynenc client data store whose values live in the app's Kafka log and its projection.

    Select it with ``PYNENC__CLIENT_DATA_STORE_CLS=KafkaClientDataStore``.

    :param Pynenc app: The pynenc app.
    """

    def __init__(self, app: Pynenc) -> None:
        super().__init__(app)
        self.spec = AppSpec.from_config(self.conf, app.app_id)
        self.bridge_seconds = self.conf.kafka_fork_bridge_seconds
        self._log = AppLog(self.spec, self.bridge_seconds)
        self._reads = self._log.reads
        FORK_BRIDGE.register(self)
        serve_configured_metrics(self.conf)

    @cached_property
    def conf(self) -> ConfigClientDataStoreKafka:
        return ConfigClientDataStoreKafka(
            config_values=self.app.config_values,
            config_filepath=self.app.config_filepath,
        )

    @property
    def projection(self) -> AppProjection:
        """This app's projection in this process (opened, and topics created, on first use)."""
        return self._reads.projection

    def _store(self, key: str, value: str) -> None:
        """Publish ``value`` under its reference key; returns once Kafka acknowledged it.

        Every call publishes, even of a key stored before: a purge (of any process) may have
        dropped it since, and a reference must never outlive its value.

        :raises EventTooLargeError: If the value's event is over Kafka's limits; nothing was
            written, and the message names the value's size, the limits and the setting to raise.
        """
        self._log.publish([(EventKind.CLIENT_DATA_STORED, {"key": key, "value": value})], advice=_ADVICE)

    @through_parent()
    def _retrieve(self, key: str) -> str:
        """The value stored under ``key``: at once when the view has it, else after the read barrier.

        A key names its content, so a row never changes once written (until a purge drops it).

        :raises KeyError: If no value is stored under ``key``.
        """
        found = self._reads.immutable(key, lambda store: client_data.value(store, key))
        if found is None:
            raise KeyError(f"Key {key} not found in client data store")
        return found

    def _purge(self) -> None:
        """Drop this app's client data from the views (the state backend's stay); the log keeps it.

        Returns once this process's views show the purge.
        """
        self._log.purge(PurgeScope.CLIENT_DATA)
