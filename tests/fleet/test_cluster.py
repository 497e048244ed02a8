"""Leader failover on a local 3-node cluster: no acknowledged write is lost or applied twice,
and a Kafka-only fleet runs every invocation exactly once.

The module starts its own cluster with ``deploy/kafka/broker start --nodes 3`` (the
session's broker is a single node). Once, for all its tests, writer threads write
results through the backend while the broker that leads the app log's partitions is
SIGKILLed; the tests then check what the writers saw and what the views hold. Then the
killed node is started again, and two worker processes run a batch on every Kafka component
while the node that leads the queue's partition (and a partition of the log) is SIGKILLed;
each task body appends to a file per invocation, so one that ran twice is seen.
"""

from __future__ import annotations

import importlib
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
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.core.client_settings import LIBRDKAFKA_LOGGER
from pynenc_kafka.core.queue_tables import QUEUE_TABLES
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.projections.store import View
from pynenc_kafka.schemas.errors import KafkaUnavailableError
from pynenc_kafka.schemas.topology import partition_for
from tests.conftest import unique_app_id
from tests.fleet.kafka_fleet import (
    APP_VAR,
    TASK_SECONDS_VAR,
    Run,
    read_back,
    runs_of,
    start_worker,
    stop_all,
    wait_ready,
    worker_env,
)
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


# -- a Kafka-only fleet through the SIGKILL of the leader of its queue and of its log -----------

FLEET_TASKS, FLEET_KILL_AFTER = 200, 30
FLEET_RUNNER = {"RUNNER_CLS": "ThreadRunner", "MAX_THREADS": "2", "LOGGING_LEVEL": "warning"}


@dataclass
class FleetFailover:
    """One batch of a Kafka-only fleet through a leader's SIGKILL, read back by another process."""

    ids: list[str]
    runs: dict[str, list[Run]]
    found: dict[str, list[str]]
    killed: float
    leader: int
    queue_partition: int
    log_partitions: list[int]


def start_stopped_nodes(cluster: Cluster) -> None:
    """Start again every node an earlier test killed, so the fleet's new topics get three replicas."""
    status = json.loads(run_broker("status", "--json", "--data-dir", str(cluster.data_dir)).stdout)
    for node in status["nodes"]:
        if node["pid"] is None:
            started = run_broker("start", "--node", str(node["node_id"]), "--data-dir", str(cluster.data_dir))
            assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 120
    while len(cluster.admin().list_topics(timeout=10).brokers) < NODES:
        assert time.monotonic() < deadline, "a restarted node did not join the cluster"
        time.sleep(0.5)


def led_by(admin: AdminClient, topic: str, node: int) -> list[int]:
    """The partitions of ``topic`` whose leader is ``node``."""
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    return sorted(p for p, info in partitions.items() if info.leader == node)


@pytest.fixture(scope="module")
def fleet_failover(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetFailover]:
    """Two worker processes run a batch on the Kafka-only stack (replication 3, min.insync 2); once
    some tasks ran, SIGKILL the node that leads the queue's partition (and some of the log's);
    wait for the whole batch; read every result back from a process with a folder of its own."""
    start_stopped_nodes(cluster)
    folder = tmp_path_factory.mktemp("fleet")
    runs_dir = folder / "runs"
    runs_dir.mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap)
        env.setenv("PYNENC__KAFKA_REPLICATION_FACTOR", "3")
        env.setenv("PYNENC__KAFKA_TIMEOUT", str(KAFKA_TIMEOUT))
        env.setenv("PYNENC__LOGGING_LEVEL", "warning")
        env.setenv(APP_VAR, unique_app_id("fleet-failover"))
        env.setenv(TASK_SECONDS_VAR, "0.05")
        env.delitem(sys.modules, "tests.fleet.kafka_fleet", raising=False)
        fleet = importlib.import_module("tests.fleet.kafka_fleet")
        app = fleet.app
        workers = [
            start_worker(
                worker_env(runs_dir, f"w{n}", folder / f"w{n}", **FLEET_RUNNER), folder / f"w{n}.log"
            )
            for n in range(2)
        ]
        try:
            wait_ready(runs_dir, workers, timeout=180)
            batch = fleet.record_run.parallelize([(i,) for i in range(FLEET_TASKS)])
            ids = [inv.invocation_id for inv in batch.invocations]
            _wait_until(
                lambda: sum(1 for r in runs_of(runs_dir, ids).values() if r) >= FLEET_KILL_AFTER, workers
            )
            admin = cluster.admin()
            queue = app.broker.spec.topics.queue
            queue_partition = partition_for(
                app.broker.conf.queues[0], len(admin.list_topics(queue).topics[queue].partitions)
            )
            leader = admin.list_topics(queue, timeout=10).topics[queue].partitions[queue_partition].leader
            log_partitions = led_by(admin, projection(app).log.name, leader)
            os.kill(cluster.pid_of(leader), signal.SIGKILL)
            killed = time.time()
            final = frozenset({InvocationStatus.SUCCESS, InvocationStatus.FAILED})
            _wait_until(
                lambda: len(list(app.orchestrator.filter_by_status(ids, final))) == FLEET_TASKS, workers
            )
        finally:
            stop_all(workers)
            RUNTIME.close_app(app.state_backend.topics)
            QUEUE_TABLES.close_app(app.state_backend.topics)
        found = read_back(worker_env(runs_dir, "reader", folder / "reader"), ids)
    yield FleetFailover(ids, runs_of(runs_dir, ids), found, killed, leader, queue_partition, log_partitions)


def _wait_until(
    done: Callable[[], bool], workers: list[subprocess.Popen[bytes]], timeout: float = 300
) -> None:
    """Wait until ``done()``; a worker that exits, or ``timeout`` seconds, fail the test."""
    deadline = time.monotonic() + timeout
    while not _answered(done):
        dead = [w for w in workers if w.poll() is not None]
        assert not dead, f"worker {dead[0].pid} exited with {dead[0].returncode}"
        assert time.monotonic() < deadline, f"not done within {timeout:g}s"
        time.sleep(0.2)


def _answered(done: Callable[[], bool]) -> bool:
    """``done()``, or ``False`` while this watching process's own read fails for want of a leader
    (the fleet is what is tested, not the test's polling)."""
    try:
        return done()
    except KafkaUnavailableError as error:
        print(f"\nthe test's own read failed, asking again: {error}")
        return False


def test_the_killed_node_led_the_queue_and_part_of_the_log(fleet_failover: FleetFailover) -> None:
    assert fleet_failover.log_partitions, "the killed node led no partition of the app's log"
    print(
        f"\nkilled node {fleet_failover.leader}: leader of the queue's partition "
        f"{fleet_failover.queue_partition} and of the log's partitions {fleet_failover.log_partitions}"
    )


def test_the_fleet_goes_on_and_runs_every_invocation_exactly_once(fleet_failover: FleetFailover) -> None:
    runs, killed = fleet_failover.runs, fleet_failover.killed
    twice = {inv_id: r for inv_id, r in runs.items() if len(r) > 1}
    never = [inv_id for inv_id, r in runs.items() if not r]
    assert not twice, f"{len(twice)} invocations ran more than once, e.g. {list(twice.items())[:3]}"
    assert not never, f"{len(never)} invocations never ran, e.g. {never[:3]}"
    starts = sorted(r[0].started for r in runs.values())
    after = [t for t in starts if t > killed]
    gap = max(later - earlier for earlier, later in zip(starts, starts[1:], strict=False))
    print(
        f"\nfleet failover: {len(starts) - len(after)} tasks started before the kill, {len(after)} after; "
        f"first start {after[0] - killed:.2f}s after the kill; longest time between two task starts "
        f"{gap:.2f}s"
        if after
        else "\nfleet failover: every task had started before the kill"
    )
    assert after, "no task started after the kill: the batch finished too early to show anything"


def test_every_result_is_read_back_as_its_single_run_returned_it(fleet_failover: FleetFailover) -> None:
    expected = {
        inv_id: [InvocationStatus.SUCCESS.value, f"{item}@{fleet_failover.runs[inv_id][0].group}"]
        for item, inv_id in enumerate(fleet_failover.ids)
    }
    assert fleet_failover.found == expected
