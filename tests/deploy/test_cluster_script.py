"""Tests of ``deploy/kafka/broker start --nodes 3``: a local 3-node cluster, its status,
and stopping and starting one node.

The module starts ONE real cluster (module-scoped fixture) in a temporary data dir; the
tests that need it run in file order, the one that stops it last. The tests after it
exercise usage errors and pure functions, with no broker.
"""

import json
import random
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from localbroker import cluster, console, layout, ports, properties, readiness

from tests.deploy.test_broker_script import HOST, one_error_line, processes_mentioning, run_broker
from tests.kafka_broker import free_port_block, local_cluster

NODES = 3


@dataclass(frozen=True)
class RunningCluster:
    """The cluster started by the module fixture."""

    data_dir: Path
    port: int
    start_stdout: str

    @property
    def client_ports(self) -> dict[int, int]:
        """Each node's id to its client port."""
        return {node_id: self.port + node_id - 1 for node_id in range(1, NODES + 1)}

    def status_json(self) -> dict[str, Any]:
        """``status --json``."""
        result = run_broker("status", "--json", "--data-dir", str(self.data_dir))
        document: dict[str, Any] = json.loads(result.stdout)
        return document


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    """Start one 3-node cluster for the module; stop it at teardown.

    :param tmp_path_factory: pytest's temporary folders.
    :return: the running cluster.
    """
    with local_cluster(tmp_path_factory.mktemp("cluster-data"), NODES) as started:
        yield RunningCluster(started.data_dir, started.port, started.start_stdout)


# ---------------------------------------------------------------- running cluster


def test_start_prints_the_cluster_then_all_bootstrap_servers_last(running: RunningCluster) -> None:
    lines = running.start_stdout.strip().splitlines()
    servers = ",".join(f"{HOST}:{port}" for port in running.client_ports.values())
    assert lines[-1] == f"KAFKA_BOOTSTRAP_SERVERS={servers}"
    version = re.escape(layout.kafka_version())
    assert re.fullmatch(
        rf"Apache Kafka {version} \(KRaft\) 3-node cluster up on {servers} in \d+\.\ds", lines[-2]
    )


def test_every_node_answers_as_a_member_of_one_cluster(running: RunningCluster) -> None:
    config = cluster.read_config(layout.ClusterLayout(running.data_dir))
    assert config is not None and config.nodes == NODES
    for node_id in running.client_ports:
        meta = properties.read_properties(
            running.data_dir / f"node-{node_id}" / "kraft-logs" / "meta.properties"
        )
        assert meta["cluster.id"] == config.cluster_id
        assert meta["node.id"] == str(node_id)
    assert readiness.listed_nodes(running.client_ports, config.cluster_id) == {1, 2, 3}
    assert readiness.listed_nodes(running.client_ports, properties.new_cluster_id()) == set()


def test_nodes_replicate_three_times_with_two_in_sync(running: RunningCluster) -> None:
    voters = []
    for node_id, port in running.client_ports.items():
        settings = properties.read_properties(running.data_dir / f"node-{node_id}" / "server.properties")
        assert settings["node.id"] == str(node_id)
        assert settings["advertised.listeners"] == f"PLAINTEXT://{HOST}:{port}"
        for key in ("default.replication.factor", "offsets.topic.replication.factor"):
            assert settings[key] == "3", key
        assert settings["transaction.state.log.replication.factor"] == "3"
        assert settings["min.insync.replicas"] == settings["transaction.state.log.min.isr"] == "2"
        voters.append(settings["controller.quorum.voters"])
    assert len(set(voters)) == 1 and voters[0].count("@") == NODES


def test_status_lists_each_node(running: RunningCluster) -> None:
    result = run_broker("status", "--data-dir", str(running.data_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == NODES
    for node_id, (line, port) in enumerate(zip(lines, running.client_ports.values(), strict=True), start=1):
        assert re.fullmatch(rf"node {node_id} up {HOST}:{port} \(pid \d+\)", line)


def test_status_json_gives_each_node_pid_and_ports(running: RunningCluster) -> None:
    document = running.status_json()
    assert document["data_dir"] == str(running.data_dir)
    assert document["bootstrap_servers"] == ",".join(f"{HOST}:{p}" for p in running.client_ports.values())
    assert [node["node_id"] for node in document["nodes"]] == [1, 2, 3]
    for node in document["nodes"]:
        node_dir = running.data_dir / f"node-{node['node_id']}"
        assert node["up"] is True
        assert node["pid"] == int((node_dir / "broker.pid").read_text())
        assert node["port"] == running.client_ports[node["node_id"]]
        assert node["controller_port"] not in running.client_ports.values()
        assert node["log"] == str(node_dir / "broker.log")


def test_start_again_reports_the_running_cluster(running: RunningCluster) -> None:
    result = run_broker("start", "--data-dir", str(running.data_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "3-node cluster already up" in lines[-2]
    assert lines[-1] == running.start_stdout.strip().splitlines()[-1]


def test_a_cluster_data_dir_refuses_a_single_broker_and_other_ports(running: RunningCluster) -> None:
    single = run_broker("start", "--nodes", "1", "--data-dir", str(running.data_dir))
    assert "holds a 3-node cluster" in one_error_line(single)
    moved = run_broker("start", "--port", str(running.port + 100), "--data-dir", str(running.data_dir))
    assert "already run on other ports" in one_error_line(moved)


def test_one_node_stops_and_starts_again(running: RunningCluster) -> None:
    before = {node["node_id"]: node["pid"] for node in running.status_json()["nodes"]}
    stopped = run_broker("stop", "--node", "2", "--data-dir", str(running.data_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"stopped node 2 (pid {before[2]}) of {running.data_dir}"
    status = run_broker("status", "--data-dir", str(running.data_dir))
    assert status.returncode == console.EXIT_DOWN
    assert status.stdout.splitlines()[1] == f"node 2 down {HOST}:{running.client_ports[2]}"

    started = run_broker("start", "--node", "2", "--data-dir", str(running.data_dir), "--timeout", "120")
    assert started.returncode == 0, started.stderr
    assert re.fullmatch(
        rf"node 2 up on {HOST}:{running.client_ports[2]} in \d+\.\ds", started.stdout.splitlines()[0]
    )
    after = {node["node_id"]: node["pid"] for node in running.status_json()["nodes"]}
    assert after[1] == before[1] and after[3] == before[3] and after[2] != before[2]
    config = cluster.read_config(layout.ClusterLayout(running.data_dir))
    assert config is not None
    assert readiness.listed_nodes(running.client_ports, config.cluster_id) == {1, 2, 3}


def test_stop_stops_every_node(running: RunningCluster) -> None:
    """Runs after the other tests of the running cluster (file order)."""
    pids = ", ".join(str(node["pid"]) for node in running.status_json()["nodes"])
    result = run_broker("stop", "--data-dir", str(running.data_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"stopped the running nodes (pids {pids}) of {running.data_dir}"
    assert processes_mentioning(running.data_dir) == []
    for node_id in running.client_ports:
        node_dir = running.data_dir / f"node-{node_id}"
        assert not (node_dir / "broker.pid").exists()
        assert (node_dir / "kraft-logs" / ".kafka_cleanshutdown").exists()
    status = run_broker("status", "--json", "--data-dir", str(running.data_dir))
    assert status.returncode == console.EXIT_DOWN
    assert [node["up"] for node in json.loads(status.stdout)["nodes"]] == [False] * NODES
    again = run_broker("stop", "--data-dir", str(running.data_dir))
    assert (again.returncode, again.stdout.strip()) == (0, f"no node running from {running.data_dir}")


# ---------------------------------------------------------------- without a broker


@pytest.mark.parametrize("nodes", ["0", "2", "10"])
def test_node_counts_other_than_one_or_three_to_nine_are_usage_errors(nodes: str, tmp_path: Path) -> None:
    result = run_broker("start", "--nodes", nodes, "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "must be 1, or 3 to 9" in result.stderr


def test_node_options_need_a_cluster(tmp_path: Path) -> None:
    assert "holds no cluster" in one_error_line(
        run_broker("stop", "--node", "1", "--data-dir", str(tmp_path))
    )
    assert "holds no cluster" in one_error_line(
        run_broker("start", "--node", "1", "--data-dir", str(tmp_path))
    )


def test_a_single_broker_data_dir_refuses_a_cluster(tmp_path: Path) -> None:
    (tmp_path / "server.properties").write_text("process.roles=broker,controller\n")
    result = run_broker("start", "--nodes", "3", "--data-dir", str(tmp_path))
    assert "holds a single broker" in one_error_line(result)
    assert not (tmp_path / "cluster.properties").exists()


def test_status_json_of_nothing_is_one_node_down(tmp_path: Path) -> None:
    result = run_broker("status", "--json", "--data-dir", str(tmp_path))
    assert result.returncode == console.EXIT_DOWN
    document = json.loads(result.stdout)
    assert document["cluster_id"] is None and document["bootstrap_servers"] is None
    assert [(n["node_id"], n["up"], n["pid"]) for n in document["nodes"]] == [(1, False, None)]


def test_node_properties_name_every_voter(tmp_path: Path) -> None:
    node_ports = [(9101, 9201), (9102, 9202), (9103, 9203)]
    text = properties.render_node_properties(layout.Layout(tmp_path / "node-2"), 2, node_ports)
    settings = dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
    assert settings["node.id"] == "2"
    assert settings["controller.quorum.voters"] == f"1@{HOST}:9201,2@{HOST}:9202,3@{HOST}:9203"
    assert settings["listeners"] == f"PLAINTEXT://{HOST}:9102,CONTROLLER://{HOST}:9202"
    assert settings["log.dirs"] == str(tmp_path / "node-2" / "kraft-logs")
    assert settings["default.replication.factor"] == "3" and settings["min.insync.replicas"] == "2"


def test_single_broker_properties_keep_one_replica(tmp_path: Path) -> None:
    settings = dict(
        line.split("=", 1)
        for line in properties.render_server_properties(layout.Layout(tmp_path), 9092, 9093).splitlines()
        if not line.startswith("#")
    )
    assert settings["controller.quorum.voters"] == f"1@{HOST}:9093"
    assert settings["offsets.topic.replication.factor"] == "1"
    assert "default.replication.factor" not in settings and "min.insync.replicas" not in settings


def test_node_ports_follow_port_and_controller_port() -> None:
    base = free_port_block(6)
    chosen = ports.choose_node_ports([(None, None)] * 3, base, None)
    assert chosen == [(base, base + 3), (base + 1, base + 4), (base + 2, base + 5)]
    assert ports.choose_node_ports([(None, None)] * 3, base, base + 3) == chosen
    assert ports.choose_node_ports(chosen, None, None) == chosen  # a restart keeps the ports


def test_a_taken_or_shared_node_port_is_refused() -> None:
    base = free_port_block(3)
    with socket.socket() as taken:
        taken.bind((HOST, base + 1))
        taken.listen()
        with pytest.raises(console.BrokerError, match=f"port {base + 1} .*--port"):
            ports.choose_node_ports([(None, None)] * 3, base, None)
    base = free_port_block(3)
    with pytest.raises(console.BrokerError, match=f"controller port {base + 2} is a client port"):
        ports.choose_node_ports([(None, None)] * 3, base, base + 2)
