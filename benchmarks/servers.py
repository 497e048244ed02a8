"""The servers a benchmark run needs on 127.0.0.1: a redis-server, and the Kafka broker.

The redis-server comes from Debian's ``redis-server`` package, installed with apt-get where
missing; the broker is the one ``KAFKA_BOOTSTRAP_SERVERS`` names, else the project's local
broker (``deploy/kafka/broker``), started for the run and stopped after it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class ServerError(RuntimeError):
    """A server the benchmarks need could not be installed or started."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_server_binary() -> str:
    """Path of ``redis-server``; installs Debian's package first where it is missing.

    :raises ServerError: If it is missing and cannot be installed (not root, no apt-get).
    """
    found = shutil.which("redis-server")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise ServerError(
            "redis-server is not installed and this user cannot install it: "
            "run 'sudo apt-get install redis-server' (Debian/Ubuntu) and try again"
        )
    print("==> installing redis-server from Debian's packages (apt-get)", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "redis-server"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise ServerError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    found = shutil.which("redis-server")
    if not found:
        raise ServerError("apt-get installed redis-server but it is not on PATH")
    return found


class RedisServer:
    """A throwaway redis-server on 127.0.0.1: no persistence, its own folder, stopped on exit.

    :param Path folder: Where it keeps its log.
    """

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        folder.mkdir(parents=True, exist_ok=True)
        command = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(folder),
            "--logfile", str(folder / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_up(folder)

    def _wait_until_up(self, folder: Path) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerError(f"redis-server exited at start: see {folder / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise ServerError(f"redis-server did not answer on port {self.port} within 15 s")

    def version(self) -> str:
        """The server's version, as ``redis-server --version`` prints it."""
        out = subprocess.run([redis_server_binary(), "--version"], capture_output=True, text=True).stdout
        return out.split(" v=")[1].split()[0] if " v=" in out else out.strip()

    def stop(self) -> None:
        """Stop the server."""
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()


class KafkaBroker:
    """The Kafka cluster of the run: ``KAFKA_BOOTSTRAP_SERVERS``, else a local broker started for it.

    :param Path folder: Data folder of a broker started here.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._started = False
        named = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if named:
            self.bootstrap = named
            return
        script = REPO / "deploy" / "kafka" / "broker"
        command = [
            sys.executable,
            str(script),
            "start",
            "--port",
            str(free_port()),
            "--data-dir",
            str(folder),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise ServerError(f"the local Kafka broker did not start:\n{done.stderr[-2000:]}")
        self.bootstrap = done.stdout.strip().splitlines()[-1].split("=", 1)[1]
        self._started = True

    @property
    def pid(self) -> int | None:
        """The process of the broker this run started (``None``: the run uses a named cluster)."""
        if not self._started:
            return None
        return int((self._folder / "broker.pid").read_text(encoding="utf-8").strip())

    def version(self) -> str:
        """The Kafka version the project's local broker runs (``deploy/kafka/VERSION``)."""
        return (REPO / "deploy" / "kafka" / "VERSION").read_text().strip()

    def stop(self) -> None:
        """Stop the broker if this run started it."""
        if self._started:
            script = REPO / "deploy" / "kafka" / "broker"
            subprocess.run(
                [sys.executable, str(script), "stop", "--data-dir", str(self._folder)],
                capture_output=True,
                text=True,
            )
