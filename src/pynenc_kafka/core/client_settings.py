"""librdkafka configuration of every client, built from the backend's settings.

Security, SASL and TLS options pass through untouched; what we add are only the
options our guarantees depend on (idempotence, ``acks=all``, bounded timeouts).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from confluent_kafka.admin import AdminClient

from pynenc_kafka.core import settings_check
from pynenc_kafka.core.conf import ConfigKafka
from pynenc_kafka.observability.reachability import LIBRDKAFKA_LOGGER, BrokerReachability, reachability_of
from pynenc_kafka.schemas.access import client_principal

__all__ = ["LIBRDKAFKA_LOGGER", "KafkaClientSettings", "redact"]

_SECRET_MARKERS = ("password", "secret", "token", "key", "jaas", "oauthbearer.config")


def redact(options: dict[str, Any]) -> dict[str, Any]:
    """Return ``options`` with every secret-looking value replaced by ``"<redacted>"``.

    :param dict options: librdkafka options.
    :return: A copy safe to log or put in an error message.
    """
    return {
        k: "<redacted>" if any(m in k.lower() for m in _SECRET_MARKERS) else v for k, v in options.items()
    }


#: The settings that hold librdkafka options, and so may hold secrets.
OPTION_SETTINGS = (
    "kafka_client_options",
    "kafka_producer_options",
    "kafka_consumer_options",
    "kafka_admin_options",
)


def without_secret_options(config_values: dict[str, Any] | None) -> dict[str, Any] | None:
    """An app's configuration values fit to be written to Kafka: an options setting that holds a
    secret (a builder's ``client_options`` with ``sasl.password``) is left out, so the reader's
    own configuration (environment, files) supplies it.

    :param config_values: pynenc's ``AppInfo.config_values``.
    :return: A copy without those settings (``None`` stays ``None``).
    """
    if config_values is None:
        return None
    return {
        key: value
        for key, value in config_values.items()
        if not (key in OPTION_SETTINGS and isinstance(value, dict) and redact(value) != value)
    }


@dataclass(frozen=True, repr=False)
class KafkaClientSettings:
    """Everything needed to create producers, consumers and admin clients for one cluster.

    :param str bootstrap_servers: ``host:port`` list.
    :param float timeout: Seconds any request or delivery may take.
    :param int max_message_bytes: Largest event written; sizes topics and the producer.
    :param dict common: Options for every client.
    :param dict producer: Producer-only options.
    :param dict consumer: Consumer-only options.
    :param dict admin: Admin-only options.
    """

    bootstrap_servers: str
    timeout: float = 15.0
    max_message_bytes: int = 32 * 1024 * 1024
    common: dict[str, Any] = field(default_factory=dict)
    producer: dict[str, Any] = field(default_factory=dict)
    consumer: dict[str, Any] = field(default_factory=dict)
    admin: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """Secrets redacted: a traceback or log line that shows the settings shows no password."""
        options = ", ".join(
            f"{name}={redact(getattr(self, name))!r}" for name in ("common", "producer", "consumer", "admin")
        )
        return (
            f"KafkaClientSettings(bootstrap_servers={self.bootstrap_servers!r}, timeout={self.timeout!r}, "
            f"max_message_bytes={self.max_message_bytes!r}, {options})"
        )

    @classmethod
    def from_config(cls, conf: ConfigKafka) -> KafkaClientSettings:
        """Build settings from a pynenc config object.

        :param ConfigKafka conf: Any config holding the ``kafka_*`` fields.
        """
        return cls(
            bootstrap_servers=settings_check.bootstrap_servers(conf.kafka_bootstrap_servers),
            timeout=float(conf.kafka_timeout),
            max_message_bytes=int(conf.kafka_max_message_bytes),
            common=dict(conf.kafka_client_options),
            producer=dict(conf.kafka_producer_options),
            consumer=dict(conf.kafka_consumer_options),
            admin=dict(conf.kafka_admin_options),
        )

    @cached_property
    def identity(self) -> str:
        """A stable key of these settings, safe to show (a hash, never the options; computed once)."""
        blob = json.dumps(
            [
                self.bootstrap_servers,
                self.timeout,
                self.max_message_bytes,
                self.common,
                self.producer,
                self.consumer,
                self.admin,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _base(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            # librdkafka accepts no connection timeout under one second
            "socket.connection.setup.timeout.ms": max(1000, int(self.timeout * 1000)),
            # librdkafka drops the bootstrap connection once it learns the brokers and waits
            # half this backoff before connecting to one, which every new client's first request
            # pays (the README's figures table has the cost). Reconnects after failures still
            # back off exponentially up to ``reconnect.backoff.max.ms``.
            "reconnect.backoff.ms": 20,
            # A broker that is back is reconnected to within a second, inside any sensible
            # KAFKA_TIMEOUT (librdkafka's default lets the backoff grow to 10 s).
            "reconnect.backoff.max.ms": 1000,
            # librdkafka's lines go to Python logging (``pynenc_kafka.librdkafka``), connection
            # failures collapsed into the cluster's reachability lines (pynenc_kafka/reachability.py).
            "logger": self.reachability().client_log,
            **self.common,
        }

    def reachability(self) -> BrokerReachability:
        """What this process knows of the cluster's reachability (one per settings and process)."""
        return reachability_of(
            self.identity,
            lambda: BrokerReachability(
                self.bootstrap_servers, self.timeout, lambda: AdminClient(self.admin_config())
            ),
        )

    def producer_config(self) -> dict[str, Any]:
        """Options of the idempotent, ``acks=all`` producer."""
        return {
            **self._base(),
            # Every write waits for its acknowledgement: lingering only adds latency (see the
            # README's figures). Concurrent writers still batch whatever queues while a request
            # is in flight.
            "linger.ms": 0,
            "message.timeout.ms": int(self.timeout * 1000),
            "message.max.bytes": self.max_message_bytes,
            **self.producer,
            # Our durability guarantee: not overridable.
            "enable.idempotence": True,
            "acks": "all",
        }

    def consumer_config(self, client_id: str) -> dict[str, Any]:
        """Options of a projector or CLI consumer: manual assignment, no Kafka commits.

        :param str client_id: Shown in broker logs, e.g. ``pynenc-kafka-projector``.
        """
        return {
            **self._base(),
            "group.id": f"pynenc-kafka.{client_id}",
            "client.id": client_id,
            "fetch.wait.max.ms": 50,
            "enable.partition.eof": False,
            # A checkpoint offset Kafka no longer has: re-read from the oldest record kept
            # rather than librdkafka's default of jumping to the end and skipping records.
            "auto.offset.reset": "earliest",
            **self.consumer,
            # Offsets live in the projection's checkpoint, never in Kafka.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }

    def admin_config(self) -> dict[str, Any]:
        """Options of the admin client (topics, metadata, end offsets)."""
        return {**self._base(), **self.admin}

    @property
    def principal(self) -> str:
        """Who the clients are to a secured cluster (``User:<sasl.username>``), for the ACLs to add."""
        return client_principal(self.common)

    def describe(self) -> str:
        """A one-line description for errors and logs, secrets redacted."""
        extra = redact(self.common)
        return f"bootstrap.servers={self.bootstrap_servers}" + (f" options={extra}" if extra else "")
