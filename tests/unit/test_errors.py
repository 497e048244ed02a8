"""Errors that wrap a Kafka client error keep it: callers branch on its code, not on text."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from pynenc_kafka.audit.log_reader import LogReadError
from pynenc_kafka.schemas.errors import KafkaBackendError, KafkaUnavailableError, kafka_did_not_answer


def test_the_error_names_the_request_the_reason_and_what_to_check_and_keeps_the_kafka_error() -> None:
    cause = KafkaException(KafkaError(KafkaError._TRANSPORT, "Broker transport failure"))
    error = kafka_did_not_answer(
        "read cluster metadata", cause, 2.5, "bootstrap.servers=h:1", KafkaUnavailableError
    )
    assert str(error) == (
        "could not read cluster metadata within 2.5s: Kafka did not answer (Broker transport failure); "
        "check that the cluster at bootstrap.servers=h:1 is up and reachable (PYNENC__KAFKA_BOOTSTRAP_SERVERS)"
    )
    assert error.code == KafkaError._TRANSPORT and error.kafka_error is cause.args[0]
    assert error.__cause__ is cause
    assert isinstance(error, KafkaBackendError)


def test_the_caller_chooses_the_error_class() -> None:
    cause = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    error = kafka_did_not_answer("read t", cause, 1, "bootstrap.servers=h:1", LogReadError)
    assert isinstance(error, LogReadError) and error.code == KafkaError._TIMED_OUT


def test_an_exception_without_a_kafka_error_keeps_its_text() -> None:
    error = kafka_did_not_answer("read t", RuntimeError("boom"), 1, "x", KafkaUnavailableError)
    assert "(boom)" in str(error) and error.code is None
