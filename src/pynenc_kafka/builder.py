"""``PynencBuilder().kafka(...)``: the builder method of the pynenc-kafka plugin."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pynenc.builder import PynencBuilder

#: pynenc's name of each component pynenc-kafka provides -> its class name.
KAFKA_COMPONENTS: dict[str, str] = {
    "state_backend": "KafkaStateBackend",
    "broker": "KafkaBroker",
    "orchestrator": "KafkaOrchestrator",
    "client_data_store": "KafkaClientDataStore",
    "trigger": "KafkaTrigger",
}


class KafkaBuilderPlugin:
    """Registers the ``kafka`` builder method with pynenc (entry point ``pynenc.plugins``)."""

    @staticmethod
    def register_builder_methods(builder_class: type[PynencBuilder]) -> None:
        """Called by pynenc when it discovers the plugin.

        :param builder_class: ``PynencBuilder``.
        """
        builder_class.register_plugin_method("kafka", kafka)
        builder_class.register_plugin_validator(validate_kafka_config)


def kafka(
    builder: PynencBuilder,
    bootstrap_servers: str | None = None,
    topic_prefix: str | None = None,
    partitions: int | None = None,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    projection_dir: str | None = None,
    read_barrier_timeout: float | None = None,
    timeout: float | None = None,
    max_message_bytes: int | None = None,
    client_options: dict[str, Any] | None = None,
    producer_options: dict[str, Any] | None = None,
    consumer_options: dict[str, Any] | None = None,
    components: Iterable[str] = KAFKA_COMPONENTS,
) -> PynencBuilder:
    """Run the app on Kafka: every pynenc component pynenc-kafka provides, or the ``components`` named.

    To keep another component, name only the Kafka ones
    (``components=("state_backend",)``) and choose the others as usual, before or after this call.
    Arguments left out keep their configured value (environment, ``pyproject.toml``, default).

    :param PynencBuilder builder: The builder.
    :param bootstrap_servers: ``host:port`` list of the Kafka cluster.
    :param topic_prefix: Prefix of the app's topics.
    :param partitions: Partitions of a new app log.
    :param replication_factor: Replication factor of new topics (``-1``: broker default).
    :param min_insync_replicas: ``min.insync.replicas`` of new topics (``0``: 2 with 3+ replicas).
    :param projection_dir: Host folder of the RocksDB projections.
    :param read_barrier_timeout: Seconds a read may wait for the projection.
    :param timeout: Seconds a write, topic creation or metadata request may take.
    :param max_message_bytes: Largest event the app may write (new topics and the producer).
    :param client_options: librdkafka options for every client (security, SASL, TLS).
    :param producer_options: librdkafka options for the producer only.
    :param consumer_options: librdkafka options for consumers only.
    :param components: Which of ``state_backend``, ``broker``, ``orchestrator``, ``client_data_store``
        to put on Kafka (all of them by default).
    :return: The builder, for chaining.
    :raises ValueError: If a name is none of those.
    """
    settings = {
        "kafka_bootstrap_servers": bootstrap_servers,
        "kafka_topic_prefix": topic_prefix,
        "kafka_partitions": partitions,
        "kafka_replication_factor": replication_factor,
        "kafka_min_insync_replicas": min_insync_replicas,
        "kafka_projection_dir": projection_dir,
        "kafka_read_barrier_timeout": read_barrier_timeout,
        "kafka_timeout": timeout,
        "kafka_max_message_bytes": max_message_bytes,
        "kafka_client_options": client_options,
        "kafka_producer_options": producer_options,
        "kafka_consumer_options": consumer_options,
    }
    builder._config.update({k: v for k, v in settings.items() if v is not None})
    chosen = tuple(components)
    unknown = sorted(set(chosen) - set(KAFKA_COMPONENTS))
    if unknown:
        raise ValueError(
            f"no Kafka component is named {', '.join(unknown)}: choose among {', '.join(KAFKA_COMPONENTS)}"
        )
    for name in chosen:
        builder._config[f"{name}_cls"] = KAFKA_COMPONENTS[name]
    builder._plugin_components.add("kafka")
    builder._using_memory_components = False
    return builder


def validate_kafka_config(config: dict[str, Any]) -> None:
    """Refuse Kafka components configured with an empty bootstrap server list.

    :param dict config: The builder's configuration.
    :raises ValueError: If ``kafka_bootstrap_servers`` is set but empty.
    """
    chosen = [cls for name, cls in KAFKA_COMPONENTS.items() if config.get(f"{name}_cls") == cls]
    if chosen and config.get("kafka_bootstrap_servers") == "":
        raise ValueError(f"{', '.join(chosen)} need kafka_bootstrap_servers (host:port of the Kafka cluster)")
