"""Refusals of a secured cluster: a login it refused, a permission the principal lacks.

Both are answers, not outages: they become :class:`~pynenc_kafka.schemas.errors.KafkaAccessError`
at once, with what to fix, instead of being retried until the timeout and reported as a
cluster that did not answer. Messages name the principal (the SASL user) and the ACL to
add, never a secret: the connection is described by ``KafkaClientSettings.describe()``,
which redacts every secret-looking option.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from pynenc_kafka.schemas.errors import KafkaAuthenticationError, KafkaAuthorizationError

#: A login the cluster refused: a wrong SASL user or password.
AUTHENTICATION_CODES = frozenset({KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED})
#: A request the principal has no ACL for.
AUTHORIZATION_CODES = frozenset(
    {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    }
)
#: Where the ACLs of one app are listed (and granted, by an admin).
ACL_COMMAND = "pynenc-kafka acl <app> <user> [--apply]"


def client_principal(options: Mapping[str, Any]) -> str:
    """Who a client with these librdkafka options is to the cluster, for the ACLs to add.

    :param options: librdkafka options.
    :return: ``User:<sasl.username>``, or a description when the client logs in otherwise.
    """
    user = options.get("sasl.username")
    return f"User:{user}" if user else "this client's principal"


def kafka_error_of(exc: BaseException) -> KafkaError | None:
    """The ``KafkaError`` a ``KafkaException`` carries, if any."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return error if isinstance(error, KafkaError) else None


def acl_to_add(principal: str, operations: str, resource: str) -> str:
    """The ACL a refused request needs, as an admin would add it.

    :param str principal: ``User:<name>``.
    :param str operations: e.g. ``WRITE`` or ``DESCRIBE, READ``.
    :param str resource: e.g. ``topic 'pynenc.orders-1a2b3c4d.events'`` or ``the cluster``.
    """
    return (
        f"add the ACL: ALLOW {principal} {operations} on {resource} "
        f"(`{ACL_COMMAND}` lists and grants all an app needs)"
    )


def authentication_refused(error: KafkaError, describe: str) -> KafkaAuthenticationError:
    """The error for a login the cluster refused.

    :param error: librdkafka's error (its text names the mechanism, never the password).
    :param str describe: Safe description of the connection.
    """
    return KafkaAuthenticationError(
        f"Kafka refused the client's credentials ({error.str()}); check sasl.username and sasl.password "
        f"(or the TLS settings) in PYNENC__KAFKA_CLIENT_OPTIONS, connecting to {describe}",
        error,
    )


def authorization_refused(
    what: str, error: KafkaError, describe: str, acl: str = ""
) -> KafkaAuthorizationError:
    """The error for a request the principal has no ACL for.

    :param str what: The request, as "not allowed to <what>" reads; it names the topic.
    :param error: librdkafka's error.
    :param str describe: Safe description of the connection (it names the SASL user).
    :param str acl: The ACL to add (see :func:`acl_to_add`); by default, where to find them.
    """
    return KafkaAuthorizationError(
        f"not allowed to {what} ({error.str()}, {describe}): "
        + (acl or f"the principal lacks an ACL; `{ACL_COMMAND}` lists and grants all an app needs"),
        error,
    )


def refusal(
    what: str, exc: BaseException, describe: str
) -> KafkaAuthenticationError | KafkaAuthorizationError | None:
    """The access error ``exc`` is, if the cluster refused the login or the request.

    :param str what: The request, as "not allowed to <what>" reads.
    :param exc: The client's exception.
    :param str describe: Safe description of the connection.
    """
    error = kafka_error_of(exc)
    if error is None:
        return None
    if error.code() in AUTHENTICATION_CODES:
        return authentication_refused(error, describe)
    if error.code() in AUTHORIZATION_CODES:
        return authorization_refused(what, error, describe)
    return None


class AuthenticationWatch:
    """librdkafka's ``error_cb`` for one cluster's clients: remembers a refused login.

    librdkafka reports a refused SASL login only to this callback (served by the client's
    ``poll``); a request meanwhile waits for its timeout and fails as a transport error.
    A request that failed checks the watch, and reports the refusal instead of an outage.
    """

    def __init__(self) -> None:
        self._refused: KafkaError | None = None
        self._lock = threading.Lock()

    def __call__(self, error: KafkaError) -> None:
        """The ``error_cb``: keep the last refused login (librdkafka logs every error anyway)."""
        if error.code() in AUTHENTICATION_CODES:
            with self._lock:
                self._refused = error

    @property
    def refused(self) -> KafkaError | None:
        """The last refused login, if any."""
        return self._refused

    def check(self, describe: str) -> None:
        """Called after a request failed: was it because the login was refused?

        :raises KafkaAuthenticationError: If the cluster refused a login of these clients.
        """
        refused = self._refused
        if refused is not None:
            raise authentication_refused(refused, describe)
