"""Settings of the Kafka components, each a cistell ``ConfigField``.

Every field is also an environment variable in pynenc's usual form, e.g.
``PYNENC__KAFKA_BOOTSTRAP_SERVERS`` or ``PYNENC__CONFIGSTATEBACKENDKAFKA__KAFKA_PARTITIONS``,
and a key of ``[tool.pynenc]`` in ``pyproject.toml``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cistell import ConfigField
from pynenc.conf.config_base import ConfigPynencBase
from pynenc.conf.config_broker import ConfigBroker
from pynenc.conf.config_client_data_store import ConfigClientDataStore
from pynenc.conf.config_orchestrator import ConfigOrchestrator
from pynenc.conf.config_state_backend import ConfigStateBackend
from pynenc.conf.config_trigger import ConfigTrigger

from pynenc_kafka.core.settings_check import at_least


def client_options_mapper(value: Any, expected_type: type[dict[str, Any]]) -> dict[str, Any]:
    """Accept librdkafka options as a dict or as a JSON object text (environment variables).

    :param value: A dict, or JSON text such as ``{"security.protocol": "SASL_SSL"}``.
    :param expected_type: Always ``dict``.
    :return: The options as a dict of strings to scalars.
    :raises TypeError: If the value is neither.
    """
    del expected_type
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise TypeError(
                f"Kafka client options must be a JSON object, got unparsable text ({exc.msg})"
            ) from exc
        if isinstance(parsed, dict):
            return parsed
    raise TypeError(f"Kafka client options must be a dict or a JSON object, not {type(value).__name__}")


def default_projection_dir() -> str:
    """Return the host-wide default folder of projections: ``$XDG_CACHE_HOME/pynenc-kafka/projections``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(cache) / "pynenc-kafka" / "projections")


class ConfigKafka(ConfigPynencBase):
    """Connection and topic settings shared by every pynenc-kafka component.

    :cvar ConfigField[str] kafka_bootstrap_servers:
        Comma-separated ``host:port`` list of the Kafka cluster.
    :cvar ConfigField[str] kafka_topic_prefix:
        Prefix of every topic: ``<prefix>.<app>.events`` and ``<prefix>.apps``.
    :cvar ConfigField[int] kafka_partitions:
        Partitions of a new app's event log. An existing topic keeps its count.
    :cvar ConfigField[int] kafka_replication_factor:
        Replication factor of new topics; ``-1`` takes the broker's default.
    :cvar ConfigField[int] kafka_min_insync_replicas:
        ``min.insync.replicas`` of new topics: how many replicas must have a write before Kafka
        acknowledges it (``acks=all``). ``0`` chooses: 2 when the replication factor is 3 or more,
        otherwise the broker's default.
    :cvar ConfigField[dict] kafka_client_options:
        librdkafka options for every client: ``security.protocol``, ``sasl.*``, ``ssl.*``, ...
        (secret: never logged).
    :cvar ConfigField[dict] kafka_producer_options:
        librdkafka options for the producer only, over ``kafka_client_options``.
    :cvar ConfigField[dict] kafka_consumer_options:
        librdkafka options for consumers only, over ``kafka_client_options``.
    :cvar ConfigField[dict] kafka_admin_options:
        librdkafka options for the admin client only, over ``kafka_client_options``.
    :cvar ConfigField[int] kafka_max_message_bytes:
        Largest event (an invocation with inline arguments, a result) the app may write:
        new topics get it as ``max.message.bytes`` and the producer as ``message.max.bytes``.
    :cvar ConfigField[float] kafka_timeout:
        Seconds a write, a topic creation or a metadata request may take before failing
        with a clear error (an unreachable broker never hangs a caller).
    """

    kafka_bootstrap_servers = ConfigField("127.0.0.1:9092")
    kafka_topic_prefix = ConfigField("pynenc")
    kafka_partitions = ConfigField(3, at_least("kafka_partitions", 1))
    kafka_replication_factor = ConfigField(-1, at_least("kafka_replication_factor", -1))
    kafka_min_insync_replicas = ConfigField(0, at_least("kafka_min_insync_replicas", 0))
    kafka_client_options = ConfigField(dict[str, Any](), client_options_mapper, secret=True)
    kafka_producer_options = ConfigField(dict[str, Any](), client_options_mapper, secret=True)
    kafka_consumer_options = ConfigField(dict[str, Any](), client_options_mapper, secret=True)
    kafka_admin_options = ConfigField(dict[str, Any](), client_options_mapper, secret=True)
    kafka_max_message_bytes = ConfigField(32 * 1024 * 1024, at_least("kafka_max_message_bytes", 1024))
    kafka_timeout = ConfigField(15.0, at_least("kafka_timeout", 0.001))


class ConfigKafkaProjection(ConfigKafka):
    """Settings of the local projection every component reads from, shared by all of them.

    :cvar ConfigField[str] kafka_projection_dir:
        Host folder of the RocksDB projections; one sub-folder per cluster and app,
        shared by every process of the host. Defaults to ``~/.cache/pynenc-kafka/projections``.
    :cvar ConfigField[float] kafka_read_barrier_timeout:
        Seconds a read may wait for the projection to apply writes already in Kafka.
    :cvar ConfigField[float] kafka_takeover_interval:
        Seconds between a reading process's attempts to take over a projection whose
        projecting process died.
    :cvar ConfigField[int] kafka_max_open_projections:
        Projections a process keeps open at once; the least recently used closes first.
    :cvar ConfigField[float] kafka_fork_bridge_seconds:
        For how long after its fork a process forked from one that uses the app (pynenc's
        ProcessRunner task processes) sends its writes, status transitions and point reads to
        that process over a Unix socket, instead of building its own Kafka clients and opening
        the views (see ``fork_bridge``); a child living longer builds its own. ``0`` turns it off.
    :cvar ConfigField[int] kafka_metrics_port:
        TCP port of the process's Prometheus endpoint (``/metrics``, ``/healthz``, ``/readyz``);
        ``0``: none. A port another process of the host holds already is logged once, not fatal.
    :cvar ConfigField[str] kafka_metrics_address:
        Address the endpoint listens on (``0.0.0.0``: every interface; ``127.0.0.1``: this host).
    :cvar ConfigField[int] kafka_ready_max_lag:
        Records a projection may be behind for ``/readyz`` to answer ready.
    """

    kafka_projection_dir = ConfigField("")
    kafka_read_barrier_timeout = ConfigField(30.0, at_least("kafka_read_barrier_timeout", 0.0))
    kafka_takeover_interval = ConfigField(1.0, at_least("kafka_takeover_interval", 0.001))
    kafka_max_open_projections = ConfigField(32, at_least("kafka_max_open_projections", 1))
    kafka_fork_bridge_seconds = ConfigField(10.0, at_least("kafka_fork_bridge_seconds", 0.0))
    kafka_metrics_port = ConfigField(0, at_least("kafka_metrics_port", 0))
    kafka_metrics_address = ConfigField("0.0.0.0")
    kafka_ready_max_lag = ConfigField(1000, at_least("kafka_ready_max_lag", 0))

    @property
    def projection_root(self) -> Path:
        """The configured projection folder, or the host default."""
        return Path(self.kafka_projection_dir or default_projection_dir())


class ConfigStateBackendKafka(ConfigStateBackend, ConfigKafkaProjection):
    """Settings of :class:`~pynenc_kafka.components.state_backend.KafkaStateBackend`: the shared ones."""


class ConfigClientDataStoreKafka(ConfigClientDataStore, ConfigKafkaProjection):
    """Settings of :class:`~pynenc_kafka.components.client_data_store.KafkaClientDataStore`.

    pynenc's own (``min_size_to_cache``, ``local_cache_size``…) and the shared Kafka ones: a
    stored value is one event, so ``kafka_max_message_bytes`` bounds it.
    """


class ConfigBrokerKafka(ConfigBroker, ConfigKafkaProjection):
    """Settings of :class:`~pynenc_kafka.components.broker.KafkaBroker`: pynenc's broker settings
    (``queues``, ``priority_rules``, ...), the shared ones, and the queue topic's own.

    :cvar ConfigField[int] kafka_queue_partitions:
        Partitions of a new app's queue topic (``<prefix>.<app>.queue``); each pynenc queue
        lives on one of them. ``0``, the default, takes ``kafka_partitions``.
    """

    kafka_queue_partitions = ConfigField(0, at_least("kafka_queue_partitions", 0))

    @property
    def queue_partitions(self) -> int:
        """Partitions of a new queue topic."""
        return int(self.kafka_queue_partitions) or int(self.kafka_partitions)


class ConfigOrchestratorKafka(ConfigOrchestrator, ConfigKafkaProjection):
    """Settings of :class:`~pynenc_kafka.components.orchestrator.KafkaOrchestrator`: pynenc's
    (``blocking_control``, ``auto_final_invocation_purge_hours``) and the shared ones."""


class ConfigTriggerKafka(ConfigTrigger, ConfigKafkaProjection):
    """Settings of :class:`~pynenc_kafka.components.trigger.KafkaTrigger`: pynenc's
    (``scheduler_interval_seconds``, ``event_retention_days``, ``event_max_records``,
    ``trigger_run_max_records``...) and the shared ones."""
