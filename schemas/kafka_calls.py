"""One way to make a Kafka client request: retried through the cluster's passing states.

A topic just created has no leader yet, a coordinator is still loading, a leader moves to
another broker: such states last moments, and a request made then fails with an error that
says so. They are retried until the request's timeout; only an error that persists past it,
or one that is not passing (an unknown topic that stays unknown), is reported, with
:func:`~pynenc_kafka.schemas.errors.kafka_did_not_answer`'s clear message. A refused login or
a missing permission is an answer, not an outage: it is raised at once as a
:class:`~pynenc_kafka.schemas.errors.KafkaAccessError` (:func:`~pynenc_kafka.schemas.access.refusal`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException

from pynenc_kafka.schemas.access import refusal
from pynenc_kafka.schemas.errors import KafkaUnavailableError, kafka_did_not_answer

#: Errors of a cluster in a passing state, besides those librdkafka itself calls retriable.
PASSING_CODES = frozenset(
    {
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_PARTITION,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError._NOENT,
        KafkaError._TRANSPORT,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.NOT_COORDINATOR,
        KafkaError.REQUEST_TIMED_OUT,
        # A leader epoch the client cached before a leader change: the next metadata refresh
        # brings the new one (seen once under heavy load, killing a runner loop unretried).
        KafkaError.FENCED_LEADER_EPOCH,
        KafkaError.UNKNOWN_LEADER_EPOCH,
    }
)
_PAUSE = 0.05


def is_passing(exc: BaseException) -> bool:
    """Whether ``exc`` is a Kafka error of a passing cluster state (worth retrying)."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return (
        isinstance(error, KafkaError)
        and not error.fatal()
        and (error.retriable() or error.code() in PASSING_CODES)
    )


def learn_leaders(consumer: Consumer, topic: str, timeout: float) -> None:
    """Let a new consumer learn the topic's partition leaders before it is assigned.

    A consumer assigned before it knows the leaders waits for librdkafka's offset-query timer
    (half a second) before its first fetch; one metadata request first spares that wait. An
    unreachable cluster is left for the fetches to report.
    """
    try:
        consumer.list_topics(topic, timeout=timeout)
    except KafkaException:
        pass


def call_kafka[T, E: KafkaUnavailableError](
    request: Callable[[], T], what: str, timeout: float, describe: str, error: type[E]
) -> T:
    """``request()``, retried while the cluster is in a passing state, until ``timeout``.

    :param request: The client call (it may raise ``KafkaException``).
    :param str what: The request, as "could not <what>" reads.
    :param float timeout: Seconds the request, retries included, may take.
    :param str describe: Safe description of the connection, for the error.
    :param error: The error class to raise.
    :raises KafkaAccessError: At once, if the cluster refused the login or the request.
    :raises E: If it failed for good, or still failed at the timeout; the ``KafkaError`` is kept.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return request()
        except KafkaException as exc:
            refused = refusal(what, exc, describe)
            if refused is not None:
                raise refused from exc
            if not is_passing(exc) or time.monotonic() + _PAUSE >= deadline:
                raise kafka_did_not_answer(what, exc, timeout, describe, error) from exc
        time.sleep(_PAUSE)
