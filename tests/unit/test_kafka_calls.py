"""Which Kafka errors are passing cluster states, retried within the call's timeout."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from pynenc_kafka.schemas.kafka_calls import is_passing


@pytest.mark.parametrize(
    "code",
    [KafkaError.FENCED_LEADER_EPOCH, KafkaError.UNKNOWN_LEADER_EPOCH, KafkaError.NOT_LEADER_FOR_PARTITION],
)
def test_a_moving_leader_is_a_passing_state(code: int) -> None:
    assert is_passing(KafkaException(KafkaError(code)))


def test_a_refusal_is_not_a_passing_state() -> None:
    assert not is_passing(KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)))
    assert not is_passing(ValueError("not kafka"))
