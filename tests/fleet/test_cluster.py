"""Leader failover on a local 3-node cluster: no acknowledged write is lost or applied twice.

The module starts its own cluster with ``deploy/kafka/broker start --nodes 3`` (the
session's broker is a single node). Once, for all its tests, writer threads write
results through the backend while the broker that leads the app log's partitions is
SIGKILLed; the tests then check what the writers saw and what the views hold.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from pynenc import Pynenc, PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.core.client_settings import LIBRDKAFKA_LOGGER
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.projections.store import View
from tests.conftest import unique_app_id
from tests.integration.support import REPO, backend, end_offsets, projection, projector_of
from tests.kafka_broker import local_cluster

BROKER_SCRIPT = REPO / "deploy" / "kafka" / "broker"
NODES = 3
#: ``kafka_timeout`` of the app: how long one write may wait for its acknowledgement.
KAFKA_TIMEOUT = 30.0
#: Seconds of writing after the first acknowledgement before the kill, and after the first
#: acknowledgement of a write issued after the kill.
WRITE_BEFORE, WRITE_AFTER = 2.0, 3.0
WRITERS = 4


def run_broker(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``deploy/kafka/broker`` with this interpreter (it needs confluent-kafka)."""
    return subprocess.run(
        [sys.executable, str(BROKER_SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )


@dataclass(frozen=True)
class Cluster:
    """The module's cluster: its data dir and bootstrap servers."""

    data_dir: Path
    bootstrap: str

    def pid_of(self, node_id: int) -> int:
        """The pid of a running node's broker process, from ``status --json``."""
        status = json.loads(run_broker("status", "--json", "--data-dir", str(self.data_dir)).stdout)
        (node,) = [n for n in status["nodes"] if n["node_id"] == node_id]
        assert node["pid"] is not None, f"node {node_id} does not run"
        return int(node["pid"])

    def admin(self) -> AdminClient:
        """A new admin client: its metadata is fetched now, so it knows the current leaders."""
        return AdminClient({"bootstrap.servers": self.bootstrap}, logger=LIBRDKAFKA_LOGGER)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A 3-node cluster for the module, stopped at its end whatever happened."""
    with local_cluster(tmp_path_factory.mktemp("cluster"), NODES) as started:
        yield Cluster(started.data_dir, started.bootstrap)
        RUNTIME.close_cluster(started.bootstrap)  # no client of this process goes on polling it


@dataclass
class WriteLog:
    """What the writer threads saw: each acknowledged write with when it was issued and
    acknowledged, and each write that raised."""

    acknowledged: list[tuple[str, float, float]] = field(default_factory=list)
    failed: list[tuple[str, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged_times(self, issued_after: float = 0.0) -> list[float]:
        """When the writes issued after ``issued_after`` were acknowledged, in order."""
        with self.lock:
            return sorted(acked for _, issued, acked in self.acknowledged if issued > issued_after)


def write_until(be: Any, writer: int, stop: threading.Event, log: WriteLog) -> None:
    """Set results ``w<writer>-<i>`` one after the other until ``stop``; record every outcome."""
    i = 0
    while not stop.is_set():
        inv_id = f"w{writer}-{i}"
        issued = time.monotonic()
        try:
            be._set_result(InvocationId(inv_id), inv_id)
        except Exception as error:
            with log.lock:
                log.failed.append((inv_id, issued, f"{type(error).__name__}: {error}"))
        else:
            with log.lock:
                log.acknowledged.append((inv_id, issued, time.monotonic()))
        i += 1


def leading_node(admin: AdminClient, topic: str) -> tuple[int, list[int]]:
    """The node that leads most of the topic's partitions (partition 0's leader on a tie),
    and the partitions it leads."""
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    leaders = Counter(info.leader for info in partitions.values())
    node = partitions[0].leader
    if leaders[node] < max(leaders.values()):
        node = leaders.most_common(1)[0][0]
    return node, sorted(p for p, info in partitions.items() if info.leader == node)


def _wait_for(acknowledged: Callable[[], list[float]], then: float) -> None:
    """Wait until ``acknowledged()`` lists an acknowledgement, then ``then`` seconds more
    (at most ``KAFKA_TIMEOUT + 15`` seconds in all)."""
    deadline = time.monotonic() + KAFKA_TIMEOUT + 15
    while time.monotonic() < deadline:
        times = acknowledged()
        if times and time.monotonic() > times[0] + then:
            return
        time.sleep(0.1)


@dataclass
class Failover:
    """One run of writers through a leader's SIGKILL, shared by the module's tests."""

    app: Pynenc
    topic: str
    log: WriteLog
    killed: float
    leader: int
    led: list[int]
    before_writes: int
    admin: AdminClient


@pytest.fixture(scope="module")
def failover(cluster: Cluster) -> Iterator[Failover]:
    """Write from several threads; once writes are acknowledged, SIGKILL the node that leads
    the app log's partitions, and keep writing until writes issued after the kill have been
    acknowledged for a few seconds."""
    with pytest.MonkeyPatch.context() as env:
        # The session exports its own broker, which would win over the builder's argument.
        env.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap)
        app = (
            PynencBuilder()
            .app_id(unique_app_id("failover"))
            .kafka(bootstrap_servers=cluster.bootstrap, replication_factor=3, timeout=KAFKA_TIMEOUT)
            .build()
        )
        be = backend(app)
        try:
            topic = projection(app).log.name
            before_writes = sum(end_offsets(app).values())  # the app's own events (its info)
            log, stop = WriteLog(), threading.Event()
            writers = [threading.Thread(target=write_until, args=(be, n, stop, log)) for n in range(WRITERS)]
            for thread in writers:
                thread.start()
            try:
                _wait_for(log.acknowledged_times, WRITE_BEFORE)
                leader, led = leading_node(cluster.admin(), topic)
                os.kill(cluster.pid_of(leader), signal.SIGKILL)
                killed = time.monotonic()
                _wait_for(lambda: log.acknowledged_times(issued_after=killed), WRITE_AFTER)
            finally:
                stop.set()
                for thread in writers:
                    thread.join(KAFKA_TIMEOUT + 10)
            assert not any(thread.is_alive() for thread in writers)
            yield Failover(app, topic, log, killed, leader, led, before_writes, cluster.admin())
        finally:
            RUNTIME.close_app(be.topics)


def test_the_app_log_is_replicated_three_times_with_two_in_sync_replicas(failover: Failover) -> None:
    (future,) = failover.admin.describe_configs([ConfigResource(ResourceType.TOPIC, failover.topic)]).values()
    assert future.result(timeout=10)["min.insync.replicas"].value == "2"
    partitions = failover.admin.list_topics(failover.topic, timeout=10).topics[failover.topic].partitions
    assert {len(info.replicas) for info in partitions.values()} == {NODES}
    assert all(failover.leader not in info.isrs for info in partitions.values()), "the killed node is in sync"


def test_writes_go_on_after_the_leader_is_killed(failover: Failover) -> None:
    log, killed = failover.log, failover.killed
    acked = log.acknowledged_times()
    gap = max((later - earlier for earlier, later in zip(acked, acked[1:], strict=False)), default=0.0)
    after = log.acknowledged_times(issued_after=killed)
    first = f"{after[0] - killed:.2f}s" if after else "never"
    print(
        f"\nkilled node {failover.leader}, leader of partitions {failover.led}: failover gap (longest time "
        f"between two acknowledged writes) {gap:.2f}s; the first write issued after the kill was "
        f"acknowledged {first} after it\nacknowledged {len(acked)} writes ({len(after)} issued after the "
        f"kill), failed {len(log.failed)}"
    )
    assert after, "no write issued after the kill was acknowledged"
    assert gap < KAFKA_TIMEOUT
    assert not log.failed, f"writes failed within kafka_timeout={KAFKA_TIMEOUT:g}s: {log.failed[:3]}"


def test_no_acknowledged_write_is_lost_or_applied_twice(failover: Failover) -> None:
    app, log = failover.app, failover.log
    live = projection(app)
    # The backend's admin client learnt the leaders before the kill: its first end offsets
    # request may meet the dead leader (librdkafka answers -1001), which the barrier retries.
    started = time.monotonic()
    live.barrier.wait()
    print(f"\nthe read barrier answered {time.monotonic() - started:.2f}s after it was asked")
    be = backend(app)
    lost = [inv_id for inv_id, _, _ in log.acknowledged if _result_or_error(be, inv_id) != inv_id]
    assert not lost, f"{len(lost)} acknowledged writes are missing from the views, e.g. {lost[:5]}"
    log_size = sum(end_offsets(app).values())
    assert sum(projector_of(live).state.applied.values()) == log_size, "an event was applied twice or lost"
    results = live.store.count(View.RESULTS)
    assert results == log_size - failover.before_writes, "a write is in the log twice"
    assert len(log.acknowledged) <= results <= len(log.acknowledged) + len(log.failed)


def _result_or_error(be: Any, inv_id: str) -> str:
    try:
        result: str = be._get_result(InvocationId(inv_id))
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return result
