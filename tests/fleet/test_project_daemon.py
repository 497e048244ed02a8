"""``pynenc-kafka project``: a standalone projector holds the host's lease; workers only read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from tests.conftest import unique_app_id
from tests.integration.support import REPO, backend, projection


def test_the_daemon_projects_for_the_host_and_stops_cleanly_on_sigterm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_TAKEOVER_INTERVAL", "0.2")
    app_id = unique_app_id("daemon")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "pynenc_kafka.cli", "project", "--app", app_id, "--status-every", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ},
    )
    try:
        assert daemon.stdout is not None and daemon.stderr is not None
        first = daemon.stdout.readline()
        assert "projecting" in first, first + (daemon.stderr.read() if daemon.poll() is not None else "")

        app = PynencBuilder().app_id(app_id).kafka().build()
        be = backend(app)
        assert not projection(app).is_primary, "the daemon holds the lease"
        for i in range(50):
            be._set_result(InvocationId(f"d-{i}"), str(i))
        assert be._get_result(InvocationId("d-49")) == "49", "read through the daemon's projection"
        status = daemon.stdout.readline()
        assert "records applied" in status, status

        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
        assert "stopped" in daemon.stdout.read()
    finally:
        if daemon.poll() is None:
            daemon.kill()

    deadline = time.monotonic() + 5
    while not projection(app).is_primary:
        assert time.monotonic() < deadline, "no process took the projection over"
        time.sleep(0.05)
    be._set_result(InvocationId("after-daemon"), "x")
    assert be._get_result(InvocationId("after-daemon")) == "x"
