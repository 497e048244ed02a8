"""Settings: every field is an environment variable; secrets never show."""

from __future__ import annotations

import pytest
from pynenc import PynencBuilder

from pynenc_kafka.core.client_settings import KafkaClientSettings, redact
from pynenc_kafka.core.conf import ConfigBrokerKafka, ConfigStateBackendKafka


def test_every_setting_reads_from_pynenc_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", "10.1.2.3:9093")
    monkeypatch.setenv("PYNENC__KAFKA_PARTITIONS", "7")
    monkeypatch.setenv("PYNENC__KAFKA_READ_BARRIER_TIMEOUT", "2.5")
    monkeypatch.setenv(
        "PYNENC__KAFKA_CLIENT_OPTIONS", '{"security.protocol": "SASL_SSL", "sasl.password": "hunter2"}'
    )
    conf = ConfigStateBackendKafka()
    assert conf.kafka_bootstrap_servers == "10.1.2.3:9093"
    assert conf.kafka_partitions == 7
    assert conf.kafka_read_barrier_timeout == 2.5
    assert conf.kafka_client_options["security.protocol"] == "SASL_SSL"
    assert "hunter2" not in conf.explain()


def test_client_options_pass_through_but_durability_is_not_overridable() -> None:
    settings = KafkaClientSettings(
        "b:1",
        common={"security.protocol": "SSL", "ssl.key.password": "s3cret"},
        producer={"acks": "1", "linger.ms": 20},
    )
    producer = settings.producer_config()
    assert producer["security.protocol"] == "SSL"
    assert producer["linger.ms"] == 20
    assert producer["acks"] == "all" and producer["enable.idempotence"] is True
    assert settings.consumer_config("x")["enable.auto.commit"] is False
    assert "s3cret" not in settings.describe()
    assert redact({"sasl.password": "p", "sasl.username": "u"}) == {
        "sasl.password": "<redacted>",
        "sasl.username": "u",
    }


def test_unparsable_options_name_the_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_PRODUCER_OPTIONS", "{not json")
    with pytest.raises(TypeError, match="JSON object"):
        ConfigStateBackendKafka()


def test_builder_method_selects_the_backend_and_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("PYNENC__KAFKA_TOPIC_PREFIX", raising=False)
    builder = (
        PynencBuilder().app_id("builder-test").kafka(bootstrap_servers="h:1", partitions=6, topic_prefix="p")
    )
    assert builder._config["state_backend_cls"] == "KafkaStateBackend"
    conf = ConfigStateBackendKafka(config_values=builder._config)
    assert (conf.kafka_bootstrap_servers, conf.kafka_partitions, conf.kafka_topic_prefix) == ("h:1", 6, "p")


def test_min_insync_replicas_of_new_topics() -> None:
    from pynenc_kafka.producers.topics import min_insync_replicas

    assert min_insync_replicas(3, 0) == 2, "three replicas: a write acknowledged by two survives a broker"
    assert min_insync_replicas(5, 0) == 2
    assert min_insync_replicas(1, 0) is None and min_insync_replicas(-1, 0) is None
    assert min_insync_replicas(3, 3) == 3 and min_insync_replicas(1, 1) == 1
    conf = ConfigStateBackendKafka(config_values={"kafka_min_insync_replicas": 2})
    assert int(conf.kafka_min_insync_replicas) == 2


def test_the_queue_topic_takes_the_logs_partition_count_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_PARTITIONS", "5")
    assert ConfigBrokerKafka().queue_partitions == 5
    monkeypatch.setenv("PYNENC__KAFKA_QUEUE_PARTITIONS", "2")
    conf = ConfigBrokerKafka()
    assert conf.queue_partitions == 2
    assert conf.queues == ("default",)  # pynenc's own broker settings are there too


def test_kafka_selects_every_kafka_component_or_the_ones_named() -> None:
    from pynenc import PynencBuilder

    every = PynencBuilder().kafka(bootstrap_servers="k:9092")._config
    assert {k: every[k] for k in every if k.endswith("_cls")} == {
        "state_backend_cls": "KafkaStateBackend",
        "broker_cls": "KafkaBroker",
        "orchestrator_cls": "KafkaOrchestrator",
        "client_data_store_cls": "KafkaClientDataStore",
        "trigger_cls": "KafkaTrigger",
    }
    mixed = PynencBuilder().sqlite(sqlite_db_path="/tmp/x.db").kafka(components=("state_backend",))._config
    assert (mixed["state_backend_cls"], mixed["orchestrator_cls"]) == (
        "KafkaStateBackend",
        "SQLiteOrchestrator",
    )
    with pytest.raises(ValueError, match="no Kafka component is named queue"):
        PynencBuilder().kafka(components=("queue",))
