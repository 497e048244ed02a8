"""The broker's two ports: the client port and the KRaft controller port."""

import socket
from collections.abc import Sequence

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


def _first_free(candidates: Sequence[int | None], taken: set[int]) -> int:
    """:param candidates: ports to try in order (None and out-of-range ones are skipped).
    :param taken: ports already given to other nodes.
    :return: the first candidate that is free and not taken, else any free port not taken.
    """
    for candidate in candidates:
        if candidate and candidate <= 65535 and candidate not in taken and port_is_free(candidate):
            return candidate
    while True:
        port = free_port()
        if port not in taken:
            return port


def choose_node_ports(
    previous: Sequence[tuple[int | None, int | None]], port: int | None, controller_port: int | None
) -> list[tuple[int, int]]:
    """Pick the client and controller ports of every node of a cluster that starts.

    Node ``i`` (from 1) gets client port ``port + i - 1`` when ``--port`` is given, else
    its last start's port, else ``9092 + i - 1``; its controller port is
    ``controller_port + i - 1`` when ``--controller-port`` is given, else its last one,
    else the one after the clients' (``client port of node 1 + nodes + i - 1``), else any
    free port.

    :param previous: each node's client and controller ports of its last start, node 1 first.
    :param port: ``--port``, if given.
    :param controller_port: ``--controller-port``, if given.
    :return: each node's client and controller ports, node 1 first.
    :raises BrokerError: if a chosen port is taken, or two nodes would share one.
    """
    nodes = len(previous)
    clients = [
        port + index if port else (last or DEFAULT_PORT + index) for index, (last, _) in enumerate(previous)
    ]
    if len(set(clients)) < nodes or max(clients) > 65535:
        raise BrokerError(f"the nodes' client ports {clients} overlap or exceed 65535: choose another --port")
    for client in clients:
        require_free(client, "--port")
    taken = set(clients)
    controllers: list[int] = []
    for index, (_, last) in enumerate(previous):
        if controller_port:
            chosen = controller_port + index
            if chosen in taken or chosen > 65535:
                raise BrokerError(
                    f"controller port {chosen} is a client port or over 65535: choose another --controller-port"
                )
            require_free(chosen, "--controller-port")
        else:
            chosen = _first_free([last, clients[0] + nodes + index], taken)
        controllers.append(chosen)
        taken.add(chosen)
    return list(zip(clients, controllers, strict=True))
