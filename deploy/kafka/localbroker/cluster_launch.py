"""Launching a cluster's nodes and waiting until the cluster lists them as live brokers."""

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .cluster import NodeState
from .console import BrokerError, info
from .java import NODE_JVM_OPTIONS, format_storages
from .layout import ClusterLayout, Layout
from .ports import require_free
from .process import POLL_SECONDS, launch, log_tail, terminate_all
from .properties import HOST, read_cluster_id, render_node_properties
from .readiness import PROBE_SECONDS, listed_nodes

Launched = dict[int, subprocess.Popen[bytes]]
"""The processes one ``start`` launched, by ``node.id``."""


def configure_nodes(
    java: str, libs: Path, cluster: ClusterLayout, ports: Sequence[tuple[int, int]], cluster_id: str
) -> None:
    """Write every node's ``server.properties`` and format the nodes not formatted yet.

    :param java: the ``java`` executable.
    :param libs: the jar folder.
    :param cluster: the cluster's data dir.
    :param ports: each node's client and controller ports, node 1 first.
    :param cluster_id: the cluster's id.
    :raises BrokerError: if a node is formatted with another cluster id, or formatting fails.
    """
    unformatted: list[Layout] = []
    for node_id in range(1, len(ports) + 1):
        layout = cluster.node(node_id)
        layout.data_dir.mkdir(parents=True, exist_ok=True)
        layout.server_properties.write_text(render_node_properties(layout, node_id, ports), encoding="utf-8")
        formatted_with = read_cluster_id(layout)
        if formatted_with is None:
            unformatted.append(layout)
        elif formatted_with != cluster_id:
            raise BrokerError(
                f"{layout.log_dir} belongs to cluster {formatted_with}, not {cluster_id} "
                f"({cluster.cluster_file}): delete the data dir to start afresh"
            )
    if unformatted:
        format_storages(java, libs, unformatted, cluster_id)


def launch_nodes(java: str, libs: Path, states: Sequence[NodeState]) -> Launched:
    """Launch the brokers of the given nodes, whose ``server.properties`` are written.

    :param java: the ``java`` executable.
    :param libs: the jar folder.
    :param states: the nodes to launch (their ports must be free).
    :return: the launched processes, by ``node.id``.
    :raises BrokerError: if a node's port is taken.
    """
    for state in states:
        if state.port is None or state.controller_port is None:
            raise BrokerError(f"node {state.node_id} has no ports in {state.layout.server_properties}")
        require_free(state.port, "--port")
        require_free(state.controller_port, "--controller-port")
    info(f"starting node(s) {', '.join(str(state.node_id) for state in states)} on {HOST}")
    return {state.node_id: launch(java, libs, state.layout, NODE_JVM_OPTIONS) for state in states}


def wait_for_nodes(
    launched: Launched,
    cluster: ClusterLayout,
    ports: dict[int, int],
    cluster_id: str,
    timeout: float,
) -> None:
    """Probe the cluster until it lists every node as live; stop what was launched on failure.

    :param launched: the processes this start launched, by ``node.id``.
    :param cluster: the cluster's data dir.
    :param ports: every node's ``node.id`` to its client port (all of them must be listed).
    :param cluster_id: the cluster's id.
    :param timeout: seconds to wait.
    :raises BrokerError: if a launched node exits, or the cluster does not list every
        node in time.
    """
    deadline = time.monotonic() + timeout
    try:
        while True:
            probe = min(PROBE_SECONDS, max(deadline - time.monotonic(), 0.1))
            missing = set(ports) - listed_nodes(ports, cluster_id, probe)
            if not missing:
                return
            for node_id, process in launched.items():
                code = process.poll()
                if code is not None:
                    layout = cluster.node(node_id)
                    layout.pid_file.unlink(missing_ok=True)
                    _stop_launched(launched, cluster)
                    raise BrokerError(
                        f"node {node_id} exited with code {code} while starting", log_tail(layout)
                    )
            if time.monotonic() > deadline:
                _stop_launched(launched, cluster)
                tails = [line for node_id in sorted(missing) for line in log_tail(cluster.node(node_id))]
                raise BrokerError(
                    f"the cluster did not list node(s) {', '.join(map(str, sorted(missing)))} as live "
                    f"within {timeout:g}s (stopped the nodes this start launched; a node joins only "
                    "while a majority of the nodes runs; try a larger --timeout)",
                    tails,
                )
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        _stop_launched(launched, cluster)
        raise


def _stop_launched(launched: Launched, cluster: ClusterLayout) -> None:
    """:param launched: the processes this start launched, by ``node.id``.
    :param cluster: the cluster's data dir.
    """
    alive = [
        (process.pid, cluster.node(node_id))
        for node_id, process in launched.items()
        if process.poll() is None
    ]
    terminate_all(alive)
