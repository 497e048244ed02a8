"""Errors name the real cause and the setting to change."""

from __future__ import annotations

import time

import pytest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.producers.errors import TopicRefusedError
from pynenc_kafka.schemas.errors import KafkaUnavailableError
from tests.conftest import unique_app_id
from tests.integration.support import backend
from tests.kafka_broker import free_port


def test_a_topic_the_cluster_cannot_hold_is_a_refusal_not_an_outage(kafka_bootstrap: str) -> None:
    app = (
        PynencBuilder()
        .app_id(unique_app_id("refused"))
        .kafka(bootstrap_servers=kafka_bootstrap, replication_factor=3, timeout=5)
        .build()
    )
    started = time.monotonic()
    with pytest.raises(TopicRefusedError) as caught:
        backend(app)._set_result(InvocationId("i"), "1")
    message = str(caught.value)
    assert "refused to create topic" in message and "replication factor 3" in message
    assert "PYNENC__KAFKA_REPLICATION_FACTOR" in message and "did not answer" not in message
    assert time.monotonic() - started < 5


def test_a_timeout_under_a_second_works_and_fails_clearly(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS")  # the environment wins over the builder
    nowhere = f"127.0.0.1:{free_port()}"
    app = PynencBuilder().app_id(unique_app_id("short")).kafka(bootstrap_servers=nowhere, timeout=0.5).build()
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError) as caught:
        backend(app)._set_result(InvocationId("i"), "1")
    assert time.monotonic() - started < 5
    assert f"bootstrap.servers={nowhere}" in str(caught.value) and "within 0.5s" in str(caught.value)
    quick = (
        PynencBuilder()
        .app_id(unique_app_id("short-ok"))
        .kafka(bootstrap_servers=kafka_bootstrap, timeout=0.9)
    )
    be = backend(quick.build())
    be._set_result(InvocationId("i"), "1")
    assert be._get_result(InvocationId("i")) == "1"
