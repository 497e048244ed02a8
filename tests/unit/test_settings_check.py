"""Bad settings fail at once, naming the variable to fix."""

from __future__ import annotations

import time

import pytest

from pynenc_kafka.core.app_projection import AppSpec
from pynenc_kafka.core.client_settings import KafkaClientSettings
from pynenc_kafka.core.conf import ConfigStateBackendKafka
from pynenc_kafka.core.settings_check import SettingError, bootstrap_servers


@pytest.mark.parametrize(
    "good", ["127.0.0.1:9092", "kafka-1:9092, kafka-2:9093", "[::1]:9092", "SSL://k:9093"]
)
def test_well_formed_bootstrap_servers_pass(good: str) -> None:
    assert bootstrap_servers(good) == good.strip()


@pytest.mark.parametrize("bad", ["", "localhost", "kafka:port", "kafka:70000", "a:1,,b:2", "http://x"])
def test_a_malformed_bootstrap_address_fails_at_once(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", raising=False)  # the environment wins
    conf = ConfigStateBackendKafka(config_values={"kafka_bootstrap_servers": bad})
    started = time.monotonic()
    with pytest.raises(SettingError, match="PYNENC__KAFKA_BOOTSTRAP_SERVERS=.* is not a host:port list"):
        KafkaClientSettings.from_config(conf)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("kafka_partitions", "three", "PYNENC__KAFKA_PARTITIONS='three' is not an integer"),
        ("kafka_partitions", 0, "PYNENC__KAFKA_PARTITIONS=0 is below its minimum of 1"),
        ("kafka_replication_factor", -2, "PYNENC__KAFKA_REPLICATION_FACTOR=-2 is below its minimum of -1"),
        ("kafka_read_barrier_timeout", "soon", "PYNENC__KAFKA_READ_BARRIER_TIMEOUT='soon' is not a number"),
        ("kafka_timeout", 0, "PYNENC__KAFKA_TIMEOUT=0 is below its minimum of 0.001"),
    ],
)
def test_a_bad_number_names_its_variable(
    field: str, value: object, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(f"PYNENC__{field.upper()}", raising=False)
    with pytest.raises(SettingError) as caught:
        AppSpec.from_config(ConfigStateBackendKafka(config_values={field: value}), "app")
    assert str(caught.value).startswith(says)


def test_a_timeout_under_a_second_gives_librdkafka_a_connection_timeout_it_accepts() -> None:
    settings = KafkaClientSettings(bootstrap_servers="h:1", timeout=0.3)
    assert settings.admin_config()["socket.connection.setup.timeout.ms"] == 1000
    assert settings.producer_config()["message.timeout.ms"] == 300
