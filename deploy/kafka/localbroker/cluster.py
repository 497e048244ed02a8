"""What a data dir holds and runs: its nodes' pids, ports and cluster id, as text or JSON.

A single broker's data dir is one node (``node.id`` 1); a local cluster's data dir
(:class:`~.layout.ClusterLayout`) has a ``cluster.properties`` with the node count
and the cluster id, and one broker data dir per node, ``node-<id>``.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .console import BrokerError
from .layout import ClusterLayout, Layout
from .process import read_live_pid
from .properties import HOST, NODE_ID, previous_ports, read_properties


@dataclass(frozen=True)
class ClusterConfig:
    """What ``cluster.properties`` says: fixed when the cluster is first started.

    :param nodes: how many nodes the cluster has (``node.id`` 1 to ``nodes``).
    :param cluster_id: the id every node's storage is formatted with.
    """

    nodes: int
    cluster_id: str


def read_config(cluster: ClusterLayout) -> ClusterConfig | None:
    """:param cluster: a cluster's data dir.
    :return: its ``cluster.properties``, or None if the dir holds no cluster.
    :raises BrokerError: if the file exists but is damaged.
    """
    settings = read_properties(cluster.cluster_file)
    if not settings:
        return None
    try:
        return ClusterConfig(int(settings["nodes"]), settings["cluster.id"])
    except (KeyError, ValueError) as error:
        raise BrokerError(f"{cluster.cluster_file} is damaged ({error!r}): delete the data dir") from error


def write_config(cluster: ClusterLayout, config: ClusterConfig) -> None:
    """Write ``cluster.properties`` (before any node is formatted with the id).

    :param cluster: the cluster's data dir.
    :param config: what to write.
    """
    cluster.data_dir.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by deploy/kafka/broker when the cluster was first started.\n"
        f"nodes={config.nodes}\ncluster.id={config.cluster_id}\n"
    )
    cluster.cluster_file.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class NodeState:
    """One node as its data dir tells it, without asking the network.

    :param node_id: its ``node.id``.
    :param layout: its data dir.
    :param pid: the pid of its running broker process, or None if it does not run.
    :param port: its client port (None if never configured).
    :param controller_port: its controller port (None if never configured).
    """

    node_id: int
    layout: Layout
    pid: int | None
    port: int | None
    controller_port: int | None

    def describe(self, up: bool) -> str:
        """:param up: whether the node answers.
        :return: its ``status`` line, e.g. ``node 2 up 127.0.0.1:9093 (pid 123)``.
        """
        where = f"{HOST}:{self.port}" if self.port else "(never started)"
        if up:
            return f"node {self.node_id} up {where} (pid {self.pid})"
        running = f" (pid {self.pid} runs but does not answer)" if self.pid else ""
        return f"node {self.node_id} down {where}{running}"

    def as_json(self, up: bool) -> dict[str, Any]:
        """:param up: whether the node answers.
        :return: the node's entry in ``status --json``.
        """
        return {
            "node_id": self.node_id,
            "up": up,
            "pid": self.pid,
            "port": self.port,
            "controller_port": self.controller_port,
            "data_dir": str(self.layout.data_dir),
            "log": str(self.layout.broker_log),
        }


def node_state(node_id: int, layout: Layout) -> NodeState:
    """:param node_id: the node's ``node.id``.
    :param layout: its data dir.
    :return: what its data dir says: pid (if that process is its broker) and ports.
    """
    port, controller_port = previous_ports(layout)
    return NodeState(node_id, layout, read_live_pid(layout), port, controller_port)


def single_state(layout: Layout) -> NodeState:
    """:param layout: a single broker's data dir.
    :return: its one node.
    """
    return node_state(NODE_ID, layout)


def cluster_states(cluster: ClusterLayout, nodes: int) -> list[NodeState]:
    """:param cluster: a cluster's data dir.
    :param nodes: its node count.
    :return: every node's state, node 1 first.
    """
    return [node_state(node_id, cluster.node(node_id)) for node_id in range(1, nodes + 1)]


def bootstrap_servers(ports: list[int]) -> str:
    """:param ports: client ports on 127.0.0.1.
    :return: them as a ``bootstrap.servers`` list.
    """
    return ",".join(f"{HOST}:{port}" for port in ports)


def status_json(data_dir: Path, cluster_id: str | None, states: list[NodeState], up: list[bool]) -> str:
    """Render ``status --json``: the nodes' pids and ports, for scripts and tests.

    :param data_dir: the data dir asked about.
    :param cluster_id: its cluster id (None if never formatted).
    :param states: its nodes.
    :param up: whether each node answers, in the same order.
    :return: one line of JSON: ``data_dir``, ``cluster_id``, ``bootstrap_servers`` and
        ``nodes`` (each with ``node_id``, ``up``, ``pid``, ``port``, ``controller_port``,
        ``data_dir`` and ``log``).
    """
    ports = [state.port for state in states if state.port]
    document = {
        "data_dir": str(data_dir),
        "cluster_id": cluster_id,
        "bootstrap_servers": bootstrap_servers(ports) if ports else None,
        "nodes": [state.as_json(answers) for state, answers in zip(states, up, strict=True)],
    }
    return json.dumps(document)
