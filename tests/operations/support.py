"""Helpers of the operations tests: a ``pynenc-kafka project`` daemon with its endpoint, scrapes, Prometheus."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.support import REPO

#: (sample name, sorted label items) -> value
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class ProjectDaemon:
    """``pynenc-kafka project --app APP --metrics-port 0`` in its own process; stderr goes to a file.

    :param str app_id: The app.
    :param Path stderr: File that receives the daemon's log.
    :param env: Extra environment.
    """

    def __init__(self, app_id: str, stderr: Path, env: dict[str, str] | None = None) -> None:
        self.stderr_path = stderr
        self._stderr: IO[str] = stderr.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pynenc_kafka.cli", "project", "--app", app_id]
            + ["--metrics-port", "0", "--metrics-address", "127.0.0.1", "--status-every", "3600"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert "metrics on http://127.0.0.1:" in first, first + self.stderr_path.read_text()
        self.port = int(first.split("127.0.0.1:", 1)[1].split("/", 1)[0])
        #: The daemon's first role line: "projecting ..." or "process N projects ...".
        self.role = self.process.stdout.readline()

    @property
    def pid(self) -> int:
        """The daemon's pid."""
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM (SIGKILL if it does not stop), close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._stderr.close()


def http_get(port: int, path: str) -> tuple[int, str]:
    """Status and body of ``GET http://127.0.0.1:port/path``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def parse_samples(text: str) -> Samples:
    """Every sample of a Prometheus text exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(port: int) -> Samples:
    """The samples a daemon's ``/metrics`` serves now."""
    status, body = http_get(port, "/metrics")
    assert status == 200, body
    return parse_samples(body)


def of_app(samples: Samples, name: str, app_id: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of metric ``name`` labelled with ``app_id``, by their other labels."""
    return {
        tuple(item for item in labels if item[0] != "app"): value
        for (sample, labels), value in samples.items()
        if sample == name and ("app", app_id) in labels
    }


def wait_until[T](what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    """``probe()`` until it returns something other than ``None``/``False``; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def prometheus_tools() -> tuple[str, str]:
    """Paths of Debian's ``prometheus`` and ``promtool``: installed with apt-get where missing
    (as root; one installer at a time), else the test is skipped saying why."""
    found = shutil.which("prometheus"), shutil.which("promtool")
    if all(found):
        return found[0] or "", found[1] or ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            "Prometheus is not installed and cannot be here (needs root and apt-get): apt-get install prometheus"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"]
    with open(Path(tempfile.gettempdir()) / "pynenc-kafka-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shutil.which("prometheus"):
            done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
            if done.returncode != 0:  # a fresh machine may have no package lists yet
                subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=900)
                done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
            if done.returncode != 0:
                pytest.skip(f"apt-get could not install prometheus: {done.stderr.strip()[-400:]}")
    found = shutil.which("prometheus"), shutil.which("promtool")
    if not all(found):
        pytest.skip("the prometheus package installed no prometheus or promtool binary")
    return found[0] or "", found[1] or ""
