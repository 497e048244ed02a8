"""The broker's ``server.properties``, and the cluster id its storage is formatted with."""

import base64
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from .layout import Layout
from .security import Credentials, secure_settings

HOST = "127.0.0.1"
"""The broker listens on loopback only: it is for this machine's tests and tools."""
NODE_ID = 1
"""The ``node.id`` of the single-node broker."""
CLUSTER_REPLICATION = 3
"""Replicas of every topic of a local cluster (new topics, offsets, transactions)."""
CLUSTER_MIN_ISR = 2
"""In-sync replicas a cluster's write needs before it is acknowledged (``acks=all``)."""


def _escape_property(value: str) -> str:
    """Escape a value for Java's ``Properties.load`` (ISO-8859-1).

    :param value: the raw value.
    :return: the value with backslashes and non-ASCII characters escaped.
    """
    escaped = value.replace("\\", "\\\\")
    return "".join(ch if ord(ch) < 128 else f"\\u{ord(ch):04x}" for ch in escaped)


def _server_settings(
    layout: Layout, node_id: int, port: int, controller_port: int, voters: str
) -> dict[str, object]:
    """The settings every node has, single or in a cluster, with single-node replication.

    :param layout: the node's data dir.
    :param node_id: its ``node.id``.
    :param port: its client (PLAINTEXT) port.
    :param controller_port: its controller (CONTROLLER) port.
    :param voters: ``controller.quorum.voters``: ``id@host:port`` of every controller.
    :return: the settings, in the order they are written.
    """
    return {
        "process.roles": "broker,controller",
        "node.id": node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": layout.log_dir,
        "num.partitions": 1,
        "auto.create.topics.enable": "false",
        "log.retention.hours": -1,
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
        # Kafka's defaults (3 network threads, 8 request handlers) suit a server of its own; on
        # a machine that shares its few cores with the fleet, fewer threads hand requests over
        # less often: the broker spent ~13% less CPU per fleet run (see the README's figures).
        "num.network.threads": 1,
        "num.io.threads": 2,
    }


def _render(settings: dict[str, object]) -> str:
    """:param settings: the settings, in order.
    :return: the text of ``server.properties``.
    """
    lines = [
        "# Written by deploy/kafka/broker on every start: edits here are overwritten.",
        *(f"{key}={_escape_property(str(value))}" for key, value in settings.items()),
    ]
    return "\n".join(lines) + "\n"


def render_server_properties(
    layout: Layout, port: int, controller_port: int, credentials: Credentials | None = None
) -> str:
    """Build the KRaft combined-mode configuration of the single node.

    :param layout: the data dir.
    :param port: the client port (PLAINTEXT, or SASL_SSL when secured).
    :param controller_port: the controller (CONTROLLER) port.
    :param credentials: the data dir's credentials if it is secured (see :mod:`.security`).
    :return: the text of ``server.properties``.
    """
    voters = f"{NODE_ID}@{HOST}:{controller_port}"
    settings = _server_settings(layout, NODE_ID, port, controller_port, voters)
    if credentials is not None:
        settings.update(secure_settings(layout, credentials, HOST, port, controller_port))
    return _render(settings)


def render_node_properties(layout: Layout, node_id: int, ports: Sequence[tuple[int, int]]) -> str:
    """Build the KRaft combined-mode configuration of one node of a local cluster.

    Every node is a controller too, so the quorum has one voter per node. Topics are
    replicated on three nodes and a write needs two in-sync replicas, so that losing
    any one node loses no acknowledged write and does not stop writes.

    :param layout: the node's data dir.
    :param node_id: its ``node.id``, from 1.
    :param ports: the client and controller ports of every node, node 1 first.
    :return: the text of the node's ``server.properties``.
    """
    port, controller_port = ports[node_id - 1]
    voters = ",".join(f"{number}@{HOST}:{quorum}" for number, (_, quorum) in enumerate(ports, start=1))
    settings = _server_settings(layout, node_id, port, controller_port, voters)
    replicated = {
        "default.replication.factor": CLUSTER_REPLICATION,
        "min.insync.replicas": CLUSTER_MIN_ISR,
        "offsets.topic.replication.factor": CLUSTER_REPLICATION,
        "transaction.state.log.replication.factor": CLUSTER_REPLICATION,
        "transaction.state.log.min.isr": CLUSTER_MIN_ISR,
        "share.coordinator.state.topic.replication.factor": CLUSTER_REPLICATION,
        "share.coordinator.state.topic.min.isr": CLUSTER_MIN_ISR,
    }
    return _render({**settings, **replicated})


def read_properties(path: Path) -> dict[str, str]:
    """Read the ``key=value`` lines of a properties file (no escapes, no continuations).

    :param path: the file.
    :return: its settings, or an empty dict if it does not exist.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def previous_ports(layout: Layout) -> tuple[int | None, int | None]:
    """:param layout: the data dir.
    :return: the client (PLAINTEXT or SASL_SSL) and controller ports of the last start, if any.
    """
    listeners = read_properties(layout.server_properties).get("listeners", "")
    ports = dict(re.findall(r"(PLAINTEXT|SASL_SSL|CONTROLLER)://[^,]*:(\d+)", listeners))
    client = ports.get("PLAINTEXT") or ports.get("SASL_SSL")
    return (
        int(client) if client else None,
        int(ports["CONTROLLER"]) if "CONTROLLER" in ports else None,
    )


def read_cluster_id(layout: Layout) -> str | None:
    """:param layout: the data dir.
    :return: the cluster id if the storage is formatted, else None.
    """
    return read_properties(layout.meta_properties).get("cluster.id")


def new_cluster_id() -> str:
    """:return: a random Kafka cluster id: 16 bytes, base64url without padding."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # would be read as an option
            return cluster_id
