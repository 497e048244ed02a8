"""The Kafka broker a test session runs against.

In order of preference: the one named by ``KAFKA_BOOTSTRAP_SERVERS``; a
testcontainers ``apache/kafka`` container when a Docker engine answers; otherwise
``deploy/kafka/broker``, started for the session from Maven Central's jars on the
machine's JDK and stopped at its end.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BROKER_SCRIPT = REPO / "deploy" / "kafka" / "broker"
KAFKA_VERSION_FILE = REPO / "deploy" / "kafka" / "VERSION"
KAFKA_IMAGE = f"apache/kafka:{KAFKA_VERSION_FILE.read_text(encoding='utf-8').strip()}"


@dataclass
class SessionBroker:
    """A broker the session uses.

    :param str bootstrap: ``host:port``.
    :param str description: What it is, for the report header.
    :param Callable stop: Stops it at the end of the session (no-op if not ours).
    """

    bootstrap: str
    description: str
    stop: Callable[[], None] = field(default=lambda: None)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def _container_broker() -> SessionBroker:
    from testcontainers.kafka import KafkaContainer

    container = KafkaContainer(KAFKA_IMAGE).with_kraft()
    container.start()
    return SessionBroker(container.get_bootstrap_server(), f"testcontainers {KAFKA_IMAGE}", container.stop)


def _local_broker() -> SessionBroker:
    data_dir = Path(tempfile.mkdtemp(prefix="pynenc-kafka-broker-"))
    port = free_port()
    started = subprocess.run(
        [sys.executable, str(BROKER_SCRIPT), "start", "--port", str(port), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if started.returncode != 0:
        raise RuntimeError(f"deploy/kafka/broker could not start a broker:\n{started.stderr}{started.stdout}")
    lines = started.stdout.strip().splitlines()
    bootstrap = lines[-1].split("=", 1)[1]

    def stop() -> None:
        subprocess.run(
            [sys.executable, str(BROKER_SCRIPT), "stop", "--data-dir", str(data_dir)],
            capture_output=True,
            timeout=120,
        )

    return SessionBroker(bootstrap, f"deploy/kafka/broker: {lines[0]}", stop)


def start_session_broker() -> SessionBroker:
    """Find or start the broker for this session (see the module docstring)."""
    named = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if named:
        return SessionBroker(named, f"KAFKA_BOOTSTRAP_SERVERS={named}")
    if _docker_answers():
        return _container_broker()
    return _local_broker()


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free ports, below Linux's ephemeral range: there,
    other processes' outgoing connections could take a port between this check and the bind."""
    for _ in range(200):
        base = random.randrange(20_000, 32_000 - count)
        if all(_port_is_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports between 20000 and 32000")


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class LocalCluster:
    """A local multi-node cluster started by :func:`local_cluster`.

    :param Path data_dir: Its data dir.
    :param int port: Node 1's client port (node ``i`` has ``port + i - 1``).
    :param str start_stdout: What ``start`` printed.
    """

    data_dir: Path
    port: int
    start_stdout: str

    @property
    def bootstrap(self) -> str:
        """The ``KAFKA_BOOTSTRAP_SERVERS`` that ``start`` printed last."""
        return self.start_stdout.strip().splitlines()[-1].removeprefix("KAFKA_BOOTSTRAP_SERVERS=")


@contextmanager
def local_cluster(data_dir: Path, nodes: int = 3) -> Iterator[LocalCluster]:
    """Start a ``nodes``-node cluster with ``deploy/kafka/broker``; stop it at the end, whatever happened."""
    port = free_port_block(2 * nodes)  # client ports, then controller ports
    try:
        started = subprocess.run(
            [sys.executable, str(BROKER_SCRIPT), "start", "--nodes", str(nodes), "--port", str(port)]
            + ["--data-dir", str(data_dir), "--timeout", "150"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert started.returncode == 0, started.stderr
        yield LocalCluster(data_dir, port, started.stdout)
    finally:
        subprocess.run(
            [sys.executable, str(BROKER_SCRIPT), "stop", "--data-dir", str(data_dir)],
            capture_output=True,
            timeout=120,
        )
