"""Errors of the write side: each names what went wrong and what to do."""

from pynenc_kafka.schemas.errors import KafkaAuthorizationError, KafkaBackendError, KafkaUnavailableError

__all__ = [
    "EventNotPersistedError",
    "EventTooLargeError",
    "KafkaUnavailableError",
    "TopicAccessError",
    "TopicRefusedError",
]


class TopicAccessError(KafkaAuthorizationError):
    """The credentials lack a permission a topic operation needs; the message names the ACL to add."""


class TopicRefusedError(KafkaBackendError):
    """Kafka answered a topic creation with a refusal: the settings asked for are not possible."""


class EventTooLargeError(KafkaBackendError):
    """An event is larger than Kafka accepts; nothing of the call was written."""


class EventNotPersistedError(KafkaBackendError):
    """Kafka did not acknowledge an event; the write may not be durable."""
