"""What a freshly forked process pays for its first write (pynenc's ProcessRunner forks one per task).

The parent's librdkafka clients cannot cross a fork, so the child builds its own; these
tests pin down that it relearns nothing the parent knew (no metadata round trips) and
that its new producer's id is ready when its first write is.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import time
import uuid
from multiprocessing.queues import Queue
from typing import Any

import pytest
from pynenc import Pynenc
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.core.client_settings import KafkaClientSettings
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.producers.publisher import EventPublisher, OutgoingEvent
from pynenc_kafka.producers.topics import TopicProvisioner
from tests.integration.support import backend

FORK = multiprocessing.get_context("fork")

#: Forking a threaded process is exactly what pynenc's ProcessRunner does; that is the point.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


@pytest.fixture(autouse=True)
def _children_use_kafka_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    """These children build their own clients: the fork bridge (on by default) is off here."""
    monkeypatch.setenv("PYNENC__KAFKA_FORK_BRIDGE_SECONDS", "0")


def _write_in_forked_child(app: Pynenc, report: Queue[dict[str, Any]]) -> None:
    """Runs in the child: count the metadata requests its first write needs."""
    requests: list[str] = []
    original = TopicProvisioner._call

    def counting(self: TopicProvisioner, request: Any, what: str) -> Any:
        requests.append(what)
        return original(self, request, what)

    TopicProvisioner._call = counting  # type: ignore[method-assign]
    backend(app)._set_result(InvocationId("written-by-forked-child"), "from the fork")
    report.put({"metadata_requests": requests})


def test_a_forked_child_writes_without_relearning_the_cluster(app_instance: Pynenc) -> None:
    be = backend(app_instance)
    be._set_result(InvocationId("written-by-parent"), "from the parent")  # topics known here
    assert be._get_result(InvocationId("written-by-parent")) == "from the parent"

    report: Queue[dict[str, Any]] = FORK.Queue()
    child = FORK.Process(target=_write_in_forked_child, args=(app_instance, report))
    child.start()
    seen = report.get(timeout=60)
    child.join(60)

    assert child.exitcode == 0
    assert seen["metadata_requests"] == [], "the child asked again what its parent knew"
    assert be._get_result(InvocationId("written-by-forked-child")) == "from the fork"


def record_idempotence_state(snapshots: list[tuple[float, str]], raw_statistics: str) -> None:
    """librdkafka statistics callback: keep when, and in which idempotence state, it came."""
    snapshots.append((time.monotonic(), json.loads(raw_statistics)["eos"]["idemp_state"]))


def test_a_new_publishers_first_write_does_not_wait_for_its_producer_id(kafka_bootstrap: str) -> None:
    """librdkafka asks for the idempotent producer's id when a broker's connection-time
    metadata arrives, and otherwise retries on a fixed 500 ms timer; a write issued right
    after the producer is created can make it skip that metadata. Statistics show the
    idempotence state: from shortly after the first write is issued, every snapshot must
    read ``Assigned`` (a skipped request keeps it ``WaitTransport`` for ~500 ms)."""
    settings = KafkaClientSettings(bootstrap_servers=kafka_bootstrap, timeout=10)
    topic = RUNTIME.cluster(settings).topics.ensure(f"pynenc-kafka-test.warm-up-{uuid.uuid4().hex}", 1)
    for attempt in range(12):
        snapshots: list[tuple[float, str]] = []
        config = {
            **settings.producer_config(),
            "statistics.interval.ms": 10,
            "stats_cb": functools.partial(record_idempotence_state, snapshots),
        }
        publisher = EventPublisher(config, settings.timeout, settings.describe())
        issued_at = time.monotonic()
        publisher.publish([OutgoingEvent(topic.name, 0, b"probe", b"warm-up", "warm-up probe")])
        time.sleep(0.1)
        publisher.close()
        later = [state for at, state in snapshots if at > issued_at + 0.05]
        assert later, f"attempt {attempt}: no statistics received"
        assert set(later) == {"Assigned"}, f"attempt {attempt}: producer id still pending: {later}"
