"""The broker's two ports: the client port and the KRaft controller port."""

import socket

from .console import BrokerError
from .properties import HOST

DEFAULT_PORT = 9092
"""Kafka's usual client port, used when neither --port nor an earlier start chose one."""


def port_is_free(port: int) -> bool:
    """:param port: a TCP port.
    :return: True if ``127.0.0.1:port`` can be bound (as the JVM binds it).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """:return: a port that the kernel reports free on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def require_free(port: int, option: str) -> None:
    """:param port: a TCP port.
    :param option: the option that chooses it, for the message.
    :raises BrokerError: if the port is taken.
    """
    if not port_is_free(port):
        raise BrokerError(
            f"port {port} on {HOST} is already in use by another process: choose another with {option} PORT"
        )


def choose_controller_port(port: int, requested: int | None, previous: int | None) -> int:
    """Pick the controller port: the requested one, else the previous one, else
    ``port + 1``, else any free port.

    :param port: the client port.
    :param requested: ``--controller-port``, if given.
    :param previous: the controller port of the last start, if any.
    :return: the controller port.
    """
    if requested is not None:
        return requested
    for candidate in (previous, port + 1):
        if candidate and candidate != port and candidate <= 65535 and port_is_free(candidate):
            return candidate
    return free_port()
