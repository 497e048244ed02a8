"""Stop the broker under a running backend: clear errors while it is down, nothing lost after."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.schemas.errors import KafkaBackendError
from tests.conftest import unique_app_id
from tests.integration.support import backend, projection, projector_of
from tests.kafka_broker import BROKER_SCRIPT, free_port


class OwnBroker:
    """A broker of this test alone (deploy/kafka/broker), so it may be stopped and restarted."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.bootstrap: str | None = None

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(BROKER_SCRIPT), *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> str:
        self.bootstrap = (
            self._run("start", "--port", str(self.port)).strip().splitlines()[-1].split("=", 1)[1]
        )
        return self.bootstrap

    def stop(self) -> None:
        self._run("stop")


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    broker = OwnBroker(tmp_path / "broker")
    yield broker
    if broker.bootstrap is not None:  # no client of this process goes on polling it once it stops
        RUNTIME.close_cluster(broker.bootstrap)
        assert all(c.settings.bootstrap_servers != broker.bootstrap for c in RUNTIME.open_clusters())
    broker.stop()


def test_a_stopped_broker_fails_writes_clearly_and_loses_no_acknowledged_write(
    own_broker: OwnBroker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bootstrap = own_broker.start()
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("PYNENC__KAFKA_PROJECTION_DIR", str(tmp_path / "projections"))
    app = PynencBuilder().app_id(unique_app_id("outage")).kafka(timeout=3, read_barrier_timeout=5).build()
    be = backend(app)
    acked = []
    for i in range(100):
        be._set_result(InvocationId(f"before-{i}"), str(i))
        acked.append(i)
    assert be._get_result(InvocationId("before-99")) == "99"

    own_broker.stop()
    started = time.monotonic()
    with pytest.raises(KafkaBackendError) as caught:
        be._set_result(InvocationId("during"), "lost?")
    assert time.monotonic() - started < 15
    assert "acknowledge" in str(caught.value) or "persist" in str(caught.value)
    assert be._get_result(InvocationId("before-42")) == "42", "a local hit needs no broker"
    with pytest.raises(KafkaBackendError):
        be.get_history(InvocationId("before-1"))  # a barrier read cannot be sure while Kafka is down

    own_broker.start()  # returns once the broker answers
    be._set_result(InvocationId("after"), "back")  # the first write after it is back succeeds
    assert be._get_result(InvocationId("after")) == "back"
    assert be.get_history(InvocationId("before-1")) == []  # a barrier read (end offsets) works again
    for i in acked:
        assert be._get_result(InvocationId(f"before-{i}")) == str(i)
    assert projector_of(projection(app)).running
