"""Tests of ``deploy/kafka/broker``, the script that runs a local Kafka broker,
and of its package ``deploy/kafka/localbroker`` (importable through this folder's
conftest).

The module starts ONE real broker (module-scoped fixture) on a free port with a
temporary data dir; the tests that need it run first, and the stop test runs
last among them. The other tests exercise the failure paths, which stop before
a broker is launched.
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from localbroker import console, jars, layout, properties, readiness

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "deploy" / "kafka" / "broker"
HOST = "127.0.0.1"
RUN_TIMEOUT = 600  # seconds; a first start downloads the jars


def free_port() -> int:
    """:return: a port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_broker(
    *args: str,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
) -> subprocess.CompletedProcess[str]:
    """Run the script.

    :param args: its arguments.
    :param env: its environment (default: this process's).
    :param python: the interpreter to run it with.
    :return: the finished process, with text stdout and stderr.
    """
    return subprocess.run(
        [python, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Check that a run failed with exactly one ``broker: error:`` line.

    :param result: the finished run.
    :return: that line.
    """
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("broker: error: "), result.stderr
    return lines[0]


def processes_mentioning(path: Path) -> list[str]:
    """:param path: a data dir.
    :return: the command lines of running processes that mention it.
    """
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in text:
            found.append(text)
    return found


def bin_dir(tmp_path: Path, **commands: str) -> Path:
    """Make a folder for PATH holding ``python3`` and the given commands.

    ``python3`` is a wrapper that runs this interpreter, not a link to it: a
    link to a venv's python outside the venv starts the bare base interpreter,
    without confluent-kafka.

    :param tmp_path: where to create it.
    :param commands: command name to the path it links to.
    :return: the folder.
    """
    folder = tmp_path / "bin"
    folder.mkdir()
    python = folder / "python3"
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    for name, target in commands.items():
        (folder / name).symlink_to(target)
    return folder


@dataclass(frozen=True)
class RunningBroker:
    """The broker started by the module fixture."""

    data_dir: Path
    port: int
    start: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """Start one broker for the module; stop it at teardown.

    :param tmp_path_factory: pytest's temporary folders.
    :return: the running broker.
    """
    data_dir = tmp_path_factory.mktemp("broker-data")
    port = free_port()
    start = run_broker("start", "--port", str(port), "--data-dir", str(data_dir), "--timeout", "120")
    assert start.returncode == 0, start.stderr
    try:
        yield RunningBroker(data_dir, port, start)
    finally:
        run_broker("stop", "--data-dir", str(data_dir))


# ---------------------------------------------------------------- running broker


def test_start_prints_version_then_bootstrap_servers_last(
    broker: RunningBroker,
) -> None:
    lines = broker.start.stdout.strip().splitlines()
    assert lines[-1] == f"KAFKA_BOOTSTRAP_SERVERS={HOST}:{broker.port}"
    version = re.escape(layout.kafka_version())
    headline = rf"Apache Kafka {version} \(KRaft\) up on {HOST}:{broker.port} in \d+\.\ds"
    assert re.fullmatch(headline, lines[-2]), lines


def test_status_reports_up_with_the_pid(broker: RunningBroker) -> None:
    pid = int((broker.data_dir / "broker.pid").read_text())
    result = run_broker("status", "--data-dir", str(broker.data_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"up {HOST}:{broker.port} (pid {pid})"


def test_status_json_gives_the_single_node(broker: RunningBroker) -> None:
    pid = int((broker.data_dir / "broker.pid").read_text())
    result = run_broker("status", "--json", "--data-dir", str(broker.data_dir))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["bootstrap_servers"] == f"{HOST}:{broker.port}"
    assert document["cluster_id"] == properties.read_cluster_id(layout.Layout(broker.data_dir))
    (node,) = document["nodes"]
    assert (node["node_id"], node["up"], node["pid"], node["port"]) == (1, True, pid, broker.port)
    assert node["log"] == str(broker.data_dir / "broker.log")


def test_status_uses_pynenc_kafka_broker_home(broker: RunningBroker) -> None:
    env = {**os.environ, "PYNENC_KAFKA_BROKER_HOME": str(broker.data_dir)}
    result = run_broker("status", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"up {HOST}:{broker.port} ")


def test_start_prints_nothing_but_its_own_lines_on_stderr(broker: RunningBroker) -> None:
    """librdkafka's connection errors while the broker starts must not leak."""
    lines = broker.start.stderr.strip().splitlines()
    assert lines, broker.start
    assert all(line.startswith("broker: ") for line in lines), lines


def test_a_real_broker_answers_with_its_cluster_id(broker: RunningBroker) -> None:
    cluster = readiness.ask_cluster(broker.port)
    meta = properties.read_properties(broker.data_dir / "kraft-logs" / "meta.properties")
    assert cluster is not None
    assert cluster.cluster_id == meta["cluster.id"]
    assert len(cluster.cluster_id) == 22
    assert readiness.BrokerAddress(1, HOST, broker.port) in cluster.brokers
    assert readiness.broker_answers(broker.port, meta["cluster.id"])


def test_a_broker_of_another_cluster_is_not_ours(broker: RunningBroker) -> None:
    assert not readiness.broker_answers(broker.port, properties.new_cluster_id())
    assert not readiness.broker_answers(broker.port, None)


def test_server_properties(broker: RunningBroker) -> None:
    settings = properties.read_properties(broker.data_dir / "server.properties")
    assert settings["process.roles"] == "broker,controller"
    assert settings["advertised.listeners"] == f"PLAINTEXT://{HOST}:{broker.port}"
    assert settings["listeners"].startswith(f"PLAINTEXT://{HOST}:{broker.port},CONTROLLER://")
    assert settings["log.dirs"] == str(broker.data_dir / "kraft-logs")
    assert settings["log.retention.hours"] == "-1"
    assert settings["auto.create.topics.enable"] == "false"
    assert settings["offsets.topic.replication.factor"] == "1"


def test_start_again_reports_the_running_broker(broker: RunningBroker) -> None:
    pid_before = (broker.data_dir / "broker.pid").read_text()
    result = run_broker("start", "--data-dir", str(broker.data_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == f"KAFKA_BOOTSTRAP_SERVERS={HOST}:{broker.port}"
    assert "already up" in lines[-2]
    assert (broker.data_dir / "broker.pid").read_text() == pid_before


def test_start_on_another_port_while_running_fails(broker: RunningBroker) -> None:
    other = free_port()
    result = run_broker("start", "--port", str(other), "--data-dir", str(broker.data_dir))
    line = one_error_line(result)
    assert f"already runs on {HOST}:{broker.port}" in line


def test_complete_jar_cache_needs_no_maven(
    broker: RunningBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = layout.kafka_version()
    cache = jars.jar_cache_dir(version)
    monkeypatch.setenv("PATH", str(bin_dir(tmp_path)))
    assert shutil.which("mvn") is None
    libs = jars.ensure_jars(cache, version)
    assert libs == cache / "libs"
    assert (libs / f"kafka_2.13-{version}.jar").is_file()


def test_stop_stops_the_broker(broker: RunningBroker) -> None:
    """Runs after the other tests of the running broker (file order)."""
    pid = int((broker.data_dir / "broker.pid").read_text())
    result = run_broker("stop", "--data-dir", str(broker.data_dir))
    assert result.returncode == 0, result.stderr
    assert f"stopped the broker (pid {pid})" in result.stdout
    assert not (broker.data_dir / "broker.pid").exists()
    assert processes_mentioning(broker.data_dir) == []
    assert (broker.data_dir / "kraft-logs" / ".kafka_cleanshutdown").exists()
    status = run_broker("status", "--data-dir", str(broker.data_dir))
    assert (status.returncode, status.stdout.strip()) == (
        console.EXIT_DOWN,
        "down",
    )


# ---------------------------------------------------------------- failure paths


def test_port_taken(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_broker("start", "--port", str(port), "--data-dir", str(data_dir))
    line = one_error_line(result)
    assert f"port {port}" in line
    assert "--port" in line
    assert not (data_dir / "broker.pid").exists()
    assert processes_mentioning(data_dir) == []


def test_java_missing(tmp_path: Path) -> None:
    folder = bin_dir(tmp_path)
    env = {**os.environ, "PATH": str(folder)}
    result = run_broker(
        "start",
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "data"),
        env=env,
        python=str(folder / "python3"),
    )
    assert "Java" in one_error_line(result)


def test_java_too_old(tmp_path: Path) -> None:
    fake_java = tmp_path / "java"
    fake_java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    fake_java.chmod(0o755)
    folder = bin_dir(tmp_path, java=str(fake_java))
    env = {**os.environ, "PATH": str(folder)}
    result = run_broker(
        "start",
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "data"),
        env=env,
        python=str(folder / "python3"),
    )
    line = one_error_line(result)
    assert "Java 11" in line
    assert "17" in line


def test_maven_missing_with_an_empty_jar_cache(tmp_path: Path) -> None:
    java = shutil.which("java")
    assert java is not None, "these tests need Java 17+ on PATH"
    folder = bin_dir(tmp_path, java=java)
    cache = tmp_path / "jars"
    cache.mkdir()
    env = {**os.environ, "PATH": str(folder), "PYNENC_KAFKA_JARS": str(cache)}
    result = run_broker(
        "start",
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "data"),
        env=env,
        python=str(folder / "python3"),
    )
    assert "Maven" in one_error_line(result)
    assert list(cache.iterdir()) == []


def test_without_confluent_kafka(tmp_path: Path) -> None:
    """A python without the project's packages gets one line that says which python to use."""
    bare_python = tmp_path / "python3"
    bare_python.symlink_to(sys.executable)  # outside the venv: the base interpreter
    probe = subprocess.run(
        [str(bare_python), "-c", "import confluent_kafka"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        pytest.skip("the base interpreter has confluent-kafka too")
    result = run_broker("status", "--data-dir", str(tmp_path / "data"), python=str(bare_python))
    line = one_error_line(result)
    assert "confluent-kafka" in line
    assert ".venv/bin/python" in line


def test_nothing_listening_is_not_ready_and_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    started = time.monotonic()
    assert readiness.ask_cluster(port, timeout=1.0) is None
    assert not readiness.broker_answers(port, properties.new_cluster_id(), timeout=1.0)
    assert time.monotonic() - started < 10  # two probes of 1 s, plus client set-up
    assert capfd.readouterr() == ("", "")  # librdkafka's refused connections stay silent


def test_stop_when_nothing_runs(tmp_path: Path) -> None:
    result = run_broker("stop", "--data-dir", str(tmp_path / "never-started"))
    assert result.returncode == 0, result.stderr
    assert "no broker running" in result.stdout


def test_status_when_nothing_runs(tmp_path: Path) -> None:
    result = run_broker("status", "--data-dir", str(tmp_path))
    assert (result.returncode, result.stdout.strip()) == (
        console.EXIT_DOWN,
        "down",
    )


@pytest.mark.parametrize("command", [[], ["start"], ["stop"], ["status"]])
def test_help(command: list[str]) -> None:
    result = run_broker(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: broker {' '.join(command)}".rstrip())


# ---------------------------------------------------------------- pure functions


def test_new_cluster_id_is_22_base64url_characters() -> None:
    ids = {properties.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")
