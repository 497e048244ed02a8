"""The commands on a local cluster: ``start --nodes N``, ``start --node ID``, ``stop``
(all nodes or ``--node ID``) and ``status`` (text or ``--json``)."""

import time
from pathlib import Path

from . import cluster_launch
from .cluster import (
    ClusterConfig,
    NodeState,
    bootstrap_servers,
    cluster_states,
    read_config,
    status_json,
    write_config,
)
from .console import EXIT_DOWN, EXIT_OK, BrokerError
from .jars import ensure_jars, jar_cache_dir
from .java import find_java
from .layout import ClusterLayout, kafka_version, locked, make_layout
from .ports import choose_node_ports
from .process import terminate, terminate_all
from .properties import HOST, new_cluster_id
from .readiness import broker_answers, listed_nodes


def cluster_layout(data_dir: Path | None) -> ClusterLayout:
    """:param data_dir: ``--data-dir``, if given.
    :return: that data dir (or the default one) as a cluster's.
    """
    return ClusterLayout(make_layout(data_dir).data_dir)


def print_up(headline: str, states: list[NodeState]) -> None:
    """Print the result of a start; the bootstrap line is always the last one.

    :param headline: the line about the cluster.
    :param states: every node of the cluster (all configured).
    """
    print(headline)
    print(f"KAFKA_BOOTSTRAP_SERVERS={bootstrap_servers([s.port for s in states if s.port])}", flush=True)


def _client_ports(states: list[NodeState]) -> dict[int, int]:
    """:param states: every node of the cluster.
    :return: each configured node's ``node.id`` to its client port.
    """
    return {state.node_id: state.port for state in states if state.port}


def _require_config(cluster: ClusterLayout) -> ClusterConfig:
    """:param cluster: a data dir.
    :return: its cluster's configuration.
    :raises BrokerError: if the data dir holds no cluster.
    """
    config = read_config(cluster)
    if config is None:
        raise BrokerError(f"{cluster.data_dir} holds no cluster: start one with 'start --nodes 3'")
    return config


def start(
    data_dir: Path | None, nodes: int, port: int | None, controller_port: int | None, timeout: float
) -> int:
    """``broker start --nodes N``: start the cluster's nodes that do not run, and wait until
    the cluster lists all of them.

    :param data_dir: ``--data-dir``, if given.
    :param nodes: ``--nodes``.
    :param port: ``--port``: node 1's client port (node ``i`` gets ``port + i - 1``), if given.
    :param controller_port: ``--controller-port``: node 1's controller port, if given.
    :param timeout: ``--timeout``: seconds to wait for the cluster to list its nodes.
    :return: the exit code.
    """
    version = kafka_version()
    cluster = cluster_layout(data_dir)
    started = time.monotonic()
    with locked(cluster.root):
        config = read_config(cluster) or ClusterConfig(nodes, new_cluster_id())
        if config.nodes != nodes:
            raise BrokerError(
                f"{cluster.data_dir} holds a {config.nodes}-node cluster: start it with --nodes "
                f"{config.nodes}, or use another --data-dir"
            )
        states = cluster_states(cluster, nodes)
        running = [state for state in states if state.pid is not None]
        first = states[0]
        if running and (
            port not in (None, first.port) or controller_port not in (None, first.controller_port)
        ):
            raise BrokerError(
                f"nodes of {cluster.data_dir} already run on other ports (node 1: {HOST}:{first.port}): "
                "stop the cluster first, or use another --data-dir"
            )
        if len(running) == nodes:
            return _report_running(cluster, config, states, version)
        java = find_java()
        libs = ensure_jars(jar_cache_dir(version), version)
        if not running:
            ports = choose_node_ports([(s.port, s.controller_port) for s in states], port, controller_port)
            write_config(cluster, config)
            cluster_launch.configure_nodes(java, libs, cluster, ports, config.cluster_id)
            states = cluster_states(cluster, nodes)
        stopped = [state for state in states if state.pid is None]
        launched = cluster_launch.launch_nodes(java, libs, stopped)
        cluster_launch.wait_for_nodes(launched, cluster, _client_ports(states), config.cluster_id, timeout)
    elapsed = time.monotonic() - started
    where = bootstrap_servers([s.port for s in states if s.port])
    print_up(f"Apache Kafka {version} (KRaft) {nodes}-node cluster up on {where} in {elapsed:.1f}s", states)
    return EXIT_OK


def _report_running(
    cluster: ClusterLayout, config: ClusterConfig, states: list[NodeState], version: str
) -> int:
    """Handle ``start`` when every node of the cluster already runs.

    :param cluster: the cluster's data dir.
    :param config: its configuration.
    :param states: its nodes, all running.
    :param version: the Kafka version.
    :return: the exit code.
    :raises BrokerError: if the cluster does not list every node.
    """
    missing = set(_client_ports(states)) - listed_nodes(_client_ports(states), config.cluster_id)
    if missing:
        raise BrokerError(
            f"the nodes of {cluster.data_dir} run but the cluster does not list node(s) "
            f"{', '.join(map(str, sorted(missing)))}: see their broker.log, or stop the cluster"
        )
    pids = ", ".join(str(state.pid) for state in states)
    where = bootstrap_servers([s.port for s in states if s.port])
    print_up(
        f"Apache Kafka {version} (KRaft) {config.nodes}-node cluster already up on {where} (pids {pids})",
        states,
    )
    return EXIT_OK


def start_node(data_dir: Path | None, node_id: int, timeout: float) -> int:
    """``broker start --node ID``: start one stopped node of the cluster and wait until the
    cluster lists it again.

    :param data_dir: ``--data-dir``, if given.
    :param node_id: ``--node``.
    :param timeout: ``--timeout``: seconds to wait.
    :return: the exit code.
    """
    version = kafka_version()
    cluster = cluster_layout(data_dir)
    started = time.monotonic()
    with locked(cluster.root):
        config = _require_config(cluster)
        if not 1 <= node_id <= config.nodes:
            raise BrokerError(
                f"the cluster of {cluster.data_dir} has nodes 1 to {config.nodes}, not {node_id}"
            )
        states = cluster_states(cluster, config.nodes)
        state = states[node_id - 1]
        if state.port is None:
            raise BrokerError(
                f"node {node_id} of {cluster.data_dir} was never started: start the whole cluster"
            )
        if state.pid is not None:
            print_up(f"node {node_id} already up on {HOST}:{state.port} (pid {state.pid})", states)
            return EXIT_OK
        java = find_java()
        libs = ensure_jars(jar_cache_dir(version), version)
        launched = cluster_launch.launch_nodes(java, libs, [state])
        cluster_launch.wait_for_nodes(
            launched, cluster, {node_id: state.port, **_client_ports(states)}, config.cluster_id, timeout
        )
    elapsed = time.monotonic() - started
    print_up(f"node {node_id} up on {HOST}:{state.port} in {elapsed:.1f}s", states)
    return EXIT_OK


def stop(data_dir: Path | None, node_id: int | None) -> int:
    """``broker stop`` on a cluster: stop all its nodes at once, or only ``--node ID``.

    :param data_dir: ``--data-dir``, if given.
    :param node_id: ``--node``, if given.
    :return: the exit code (also 0 when nothing runs).
    """
    cluster = cluster_layout(data_dir)
    with locked(cluster.root):
        config = _require_config(cluster)
        states = cluster_states(cluster, config.nodes)
        if node_id is not None:
            if not 1 <= node_id <= config.nodes:
                raise BrokerError(
                    f"the cluster of {cluster.data_dir} has nodes 1 to {config.nodes}, not {node_id}"
                )
            states = [states[node_id - 1]]
        running = [(state.pid, state.layout) for state in states if state.pid is not None]
        if not running:
            print(
                f"no node running from {cluster.data_dir}"
                if node_id is None
                else f"node {node_id} is not running"
            )
            return EXIT_OK
        if node_id is not None:
            terminate(*running[0])
        else:
            terminate_all(running)
    pids = ", ".join(str(pid) for pid, _ in running)
    which = f"node {node_id} (pid {pids})" if node_id is not None else f"the running nodes (pids {pids})"
    print(f"stopped {which} of {cluster.data_dir}")
    return EXIT_OK


def status(data_dir: Path | None, as_json: bool) -> int:
    """``broker status`` on a cluster: one line per node (or JSON), exit 0 only if all are up.

    :param data_dir: ``--data-dir``, if given.
    :param as_json: ``--json``: print :func:`~.cluster.status_json` instead of lines.
    :return: 0 if every node is up, :data:`~.console.EXIT_DOWN` otherwise.
    """
    cluster = cluster_layout(data_dir)
    config = _require_config(cluster)
    states = cluster_states(cluster, config.nodes)
    up = [
        state.pid is not None and state.port is not None and broker_answers(state.port, config.cluster_id)
        for state in states
    ]
    if as_json:
        print(status_json(cluster.data_dir, config.cluster_id, states, up))
    else:
        for state, answers in zip(states, up, strict=True):
            print(state.describe(answers))
    return EXIT_OK if all(up) else EXIT_DOWN
