"""Refusals of a secured cluster are answers: raised at once, clear, and free of secrets."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AclOperation, ResourcePatternType, ResourceType

from pynenc_kafka.cli.acl import app_grants, principal_of
from pynenc_kafka.core.client_settings import KafkaClientSettings, without_secret_options
from pynenc_kafka.schemas.access import AuthenticationWatch
from pynenc_kafka.schemas.errors import (
    KafkaAuthenticationError,
    KafkaAuthorizationError,
    KafkaUnavailableError,
)
from pynenc_kafka.schemas.kafka_calls import call_kafka
from pynenc_kafka.schemas.topology import AppTopics


def refused_by(code: int, text: str = "refused"):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def request() -> None:
        calls.append(1)
        raise KafkaException(KafkaError(code, text))

    return request, calls


def test_a_missing_permission_is_raised_at_once_not_retried_until_the_timeout() -> None:
    request, calls = refused_by(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Broker: Topic authorization failed")
    try:
        call_kafka(
            request, "read the end offsets of p.a.events", 600, "bootstrap.servers=h:1", KafkaUnavailableError
        )
    except KafkaAuthorizationError as error:
        assert str(error).startswith(
            "not allowed to read the end offsets of p.a.events (Broker: Topic authorization"
        )
        assert "pynenc-kafka acl <app> <user>" in str(error)
        assert error.kafka_error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    else:
        raise AssertionError("no authorization error")
    assert len(calls) == 1


def test_a_refused_login_is_an_authentication_error_at_once() -> None:
    request, calls = refused_by(KafkaError.SASL_AUTHENTICATION_FAILED, "Authentication failed")
    try:
        call_kafka(request, "read t", 600, "bootstrap.servers=h:1", KafkaUnavailableError)
    except KafkaAuthenticationError as error:
        assert str(error).startswith("Kafka refused the client's credentials (Authentication failed)")
    else:
        raise AssertionError("no authentication error")
    assert len(calls) == 1


def test_the_watch_keeps_only_refused_logins() -> None:
    watch = AuthenticationWatch()
    watch(KafkaError(KafkaError._TRANSPORT, "down"))
    watch.check("x")  # an outage is not a refusal
    watch(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error"))
    try:
        watch.check("bootstrap.servers=h:1")
    except KafkaAuthenticationError as error:
        assert "SASL authentication error" in str(error) and "bootstrap.servers=h:1" in str(error)
    else:
        raise AssertionError("the refusal was not reported")


def test_an_app_principal_gets_its_log_queue_runners_the_registry_and_idempotence_only() -> None:
    topics = AppTopics("p", "orders")
    grants = {(g.resource, g.name, g.pattern): set(g.operations) for g in app_grants(topics)}
    data = {AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS}
    assert grants == {
        (ResourceType.TOPIC, topics.events, ResourcePatternType.LITERAL): data | {AclOperation.CREATE},
        (ResourceType.TOPIC, topics.queue, ResourcePatternType.LITERAL): data | {AclOperation.CREATE},
        (ResourceType.TOPIC, topics.runners, ResourcePatternType.LITERAL): data | {AclOperation.CREATE},
        (ResourceType.TOPIC, "p.apps", ResourcePatternType.LITERAL): data | {AclOperation.CREATE},
        (ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL): {AclOperation.IDEMPOTENT_WRITE},
        (ResourceType.GROUP, "pynenc-kafka.", ResourcePatternType.PREFIXED): {AclOperation.READ},
    }
    cluster = next(g for g in app_grants(topics) if g.resource == ResourceType.BROKER)
    assert (
        cluster.kafka_acls_args("User:a")
        == "--add --allow-principal User:a --operation IdempotentWrite --cluster"
    )
    assert principal_of("alice") == "User:alice" and principal_of("User:bob") == "User:bob"


def test_app_info_leaves_out_the_options_that_hold_a_secret() -> None:
    values = {
        "app_id": "a",
        "kafka_client_options": {"security.protocol": "SASL_SSL", "sasl.password": "s3cret"},
        "kafka_producer_options": {"linger.ms": 5},
    }
    assert without_secret_options(values) == {"app_id": "a", "kafka_producer_options": {"linger.ms": 5}}
    assert without_secret_options(None) is None


def test_the_settings_show_no_secret_when_printed() -> None:
    settings = KafkaClientSettings(
        "h:1",
        common={"sasl.username": "u", "sasl.password": "s3cret-common"},
        producer={"ssl.key.password": "s3cret-key"},
    )
    shown = repr(settings) + settings.describe() + str(settings)
    assert "s3cret" not in shown and "'sasl.username': 'u'" in shown
    assert settings.principal == "User:u"
