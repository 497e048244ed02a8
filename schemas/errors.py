"""The errors pynenc-kafka raises: one base, so callers can catch them all.

Errors that wrap a Kafka client error keep it (:attr:`KafkaUnavailableError.kafka_error`,
and as ``__cause__``), so a caller can branch on its code without parsing the message.
"""

from __future__ import annotations

from typing import Any


class KafkaBackendError(RuntimeError):
    """Base of every error pynenc-kafka raises; the message says what to do."""


class KafkaUnavailableError(KafkaBackendError):
    """The cluster did not answer within the configured timeout.

    :param str message: What failed and what to check.
    :param kafka_error: The client's ``KafkaError``, when there was one.
    """

    def __init__(self, message: str, kafka_error: Any = None) -> None:
        super().__init__(message)
        self.kafka_error = kafka_error

    @property
    def code(self) -> int | None:
        """The ``KafkaError`` code (``confluent_kafka.KafkaError.<NAME>``), or ``None``."""
        return None if self.kafka_error is None else int(self.kafka_error.code())


class KafkaAccessError(KafkaBackendError):
    """The cluster answered, and refused: the credentials (authentication) or a permission
    (authorization). Retrying does not help, so it is raised at once, never after a timeout.

    :param str message: What was refused and what to grant or fix.
    :param kafka_error: The client's ``KafkaError``, when there was one.
    """

    def __init__(self, message: str, kafka_error: Any = None) -> None:
        super().__init__(message)
        self.kafka_error = kafka_error


class KafkaAuthenticationError(KafkaAccessError):
    """The cluster refused the client's credentials (a wrong SASL password or user, a bad certificate)."""


class KafkaAuthorizationError(KafkaAccessError):
    """The client's principal lacks a permission (an ACL) the request needs."""


def kafka_did_not_answer[E: KafkaUnavailableError](
    what: str, exc: BaseException, timeout: float, describe: str, error: type[E]
) -> E:
    """The error for a Kafka request that failed or timed out: what, why, and what to check.

    :param str what: The request, as "could not <what>" reads (``"read cluster metadata"``).
    :param exc: The client's exception (a ``KafkaException`` carries a ``KafkaError``).
    :param float timeout: The seconds the request was given.
    :param str describe: Safe description of the connection (secrets redacted).
    :param error: The error class to raise (a :class:`KafkaUnavailableError`).
    :return: The error, with the ``KafkaError`` kept and ``exc`` as its cause.
    """
    kafka_error = exc.args[0] if exc.args and hasattr(exc.args[0], "code") else None
    reason = kafka_error.str() if kafka_error is not None else str(exc)
    found = error(
        f"could not {what} within {timeout:g}s: Kafka did not answer ({reason}); check that the "
        f"cluster at {describe} is up and reachable (PYNENC__KAFKA_BOOTSTRAP_SERVERS)",
        kafka_error,
    )
    found.__cause__ = exc
    return found
