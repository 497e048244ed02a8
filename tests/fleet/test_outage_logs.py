"""The broker stopped for 20 s under two processes: a few clear lines each, none of librdkafka's raw ones."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from functools import partial
from pathlib import Path

from tests.conftest import unique_app_id
from tests.fleet.test_broker_outage import OwnBroker, own_broker  # noqa: F401 - the fixture
from tests.integration.support import REPO
from tests.operations.support import ProjectDaemon, http_get, wait_until

OUTAGE_SECONDS = 20
#: What librdkafka prints when its lines reach a terminal raw, and a fresh broker's passing states.
RAW = ("rdkafka", "FAIL", "GETPID", "Coordinator load", "Connection refused")

WORKER = """
    import logging, sys, time
    from pathlib import Path
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from pynenc import PynencBuilder
    from pynenc.identifiers.invocation_id import InvocationId
    from pynenc_kafka.schemas.errors import KafkaBackendError
    be = PynencBuilder().app_id(sys.argv[1]).kafka().build().state_backend
    be._set_result(InvocationId("w-0"), "0")
    print("ready", flush=True)
    i = 0
    while not Path(sys.argv[2]).exists():  # writes fail while Kafka is away; local hits are served
        i += 1
        try:
            be._set_result(InvocationId(f"w-{i}"), str(i))
        except KafkaBackendError:
            pass
        assert be._get_result(InvocationId("w-0")) == "0"
        time.sleep(0.5)
"""


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def says_back(log: Path) -> bool:
    return "reachable again" in log.read_text()


def test_a_broker_outage_is_one_line_going_and_one_coming_back_in_each_process(
    own_broker: OwnBroker,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    env = {
        "PYNENC__KAFKA_BOOTSTRAP_SERVERS": own_broker.start(),
        "PYNENC__KAFKA_PROJECTION_DIR": str(tmp_path / "projections"),
        "PYNENC__KAFKA_TIMEOUT": "3",
        "PYNENC__KAFKA_READ_BARRIER_TIMEOUT": "5",
    }
    app_id = unique_app_id("outage-logs")
    daemon = ProjectDaemon(app_id, tmp_path / "daemon.log", env)
    stop_file, worker_log = tmp_path / "stop", tmp_path / "worker.log"
    with worker_log.open("w") as worker_err:
        worker = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WORKER), app_id, str(stop_file)],
            stdout=subprocess.PIPE,
            stderr=worker_err,
            text=True,
            cwd=REPO,
            env={**os.environ, **env},
        )
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n", worker_log.read_text()
        assert "projecting" in daemon.role
        logs = {"daemon": daemon.stderr_path, "worker": worker_log}
        before = {name: len(lines(path)) for name, path in logs.items()}

        own_broker.stop()
        stopped = time.monotonic()

        def not_ready_saying_why() -> bool:
            status, body = http_get(daemon.port, "/readyz")
            return (
                status == 503
                and f"Kafka at {env['PYNENC__KAFKA_BOOTSTRAP_SERVERS']} unreachable since" in body
            )

        wait_until("the daemon's /readyz to say Kafka is unreachable", not_ready_saying_why)
        assert http_get(daemon.port, "/healthz") == (200, "ok\n"), "the process is alive, its projector too"
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        own_broker.start()

        for name, path in logs.items():
            wait_until(f"the {name} to log that Kafka is back", partial(says_back, path))
        wait_until("the daemon to be ready again", lambda: http_get(daemon.port, "/readyz") == (200, "ok\n"))
        time.sleep(2)  # anything the reconnection logs comes now
        during = {name: lines(path)[before[name] :] for name, path in logs.items()}
        for name, logged in during.items():
            print(f"{name}: {len(logged)} lines logged for a {OUTAGE_SECONDS}s outage:", *logged, sep="\n  ")
            assert len(logged) <= 4, logged
            assert sum("unreachable since" in line for line in logged) == 1, logged
            assert sum("reachable again" in line for line in logged) == 1, logged
            assert all("WARNING" in line for line in logged if "unreachable since" in line)
            assert all("INFO" in line for line in logged if "reachable again" in line)
    finally:
        stop_file.touch()
        try:
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
            daemon.stop()
    assert worker.returncode == 0, worker_log.read_text()
    for name, path in {"daemon": daemon.stderr_path, "worker": worker_log}.items():
        raw = [line for line in lines(path) if any(mark in line for mark in RAW)]
        assert not raw, f"{name} printed librdkafka's raw lines (up to its exit): {raw}"
