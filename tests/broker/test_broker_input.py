"""KafkaBroker's handling of bad input, of foreign bytes in its topic, and of many apps in one process."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import uuid
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from pynenc.conf.config_broker import MAX_PRIORITY
from pynenc.exceptions import ConfigError
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.core.queue_tables import QUEUE_TABLES
from pynenc_kafka.schemas.topology import partition_for
from tests.broker.support import broker_app, broker_of, queue_end_offsets
from tests.conftest import unique_app_id


def test_bad_queue_names_and_priorities_fail_in_pynencs_validation_and_write_nothing() -> None:
    app = broker_app(unique_app_id("bad-input"), raise_on_queue_mismatch=True)
    broker = broker_of(app)
    invocation = InvocationId(str(uuid.uuid4()))
    with pytest.raises(ConfigError, match="not configured in broker.queues"):
        broker.route_invocation(invocation, "missing", 0.0)
    with pytest.raises(ConfigError, match="between -100.0 and 100.0"):
        broker.route_invocations([invocation], "default", MAX_PRIORITY + 1.0)
    with pytest.raises(ConfigError, match="between -100.0 and 100.0"):
        broker.route_invocation(invocation, "default", float("nan"))
    with pytest.raises(ConfigError, match="Invalid queue name"):
        broker.route_invocation(invocation, "no spaces", 0.0)
    with pytest.raises(ConfigError, match="Invalid queue name"):
        broker.retrieve_invocation("*")
    with pytest.raises(ConfigError, match="not configured in broker.queues"):
        broker.count_invocations(["missing"])
    assert not any(queue_end_offsets(app).values())
    assert broker.count_invocations() == 0
    assert not any(queue_end_offsets(app).values())


def test_bytes_that_are_not_queue_records_are_skipped_and_reported(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = broker_app(unique_app_id("foreign-bytes"))
    broker = broker_of(app)
    assert broker.count_invocations() == 0  # creates the topic
    topic = broker.spec.topics.queue
    partition = partition_for("default", len(queue_end_offsets(app)))
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, b"not a queue record", b"raw", partition=partition)
    assert producer.flush(15) == 0
    invocation = InvocationId(str(uuid.uuid4()))
    with caplog.at_level(logging.WARNING, logger="pynenc_kafka.queue"):
        broker.route_invocation(invocation, "default", 0.0)
        assert broker.retrieve_invocation() == invocation
        assert broker.retrieve_invocation() is None
    assert f"skipped record at {topic} partition {partition} offset 0" in caplog.text


def test_apps_that_come_and_go_leave_a_bounded_number_of_tables_and_threads() -> None:
    before = {t.ident for t in threading.enumerate()}
    for _ in range(5):
        broker = broker_of(broker_app(unique_app_id("many"), kafka_max_open_projections=2))
        assert broker.count_invocations() == 0
    assert len(QUEUE_TABLES.open_tables()) <= 2
    followers = [t for t in threading.enumerate() if t.name.startswith("pynenc-kafka-queue[")]
    assert len(followers) <= 2
    new = [
        t for t in threading.enumerate() if t.ident not in before and t.name.startswith("pynenc-kafka-queue[")
    ]
    assert len(new) <= 2


def test_closing_an_app_closes_its_table_only_and_a_later_use_reads_the_queue_again() -> None:
    kept, closed = (broker_of(broker_app(unique_app_id(label))) for label in ("kept", "closed"))
    invocation_id = InvocationId(str(uuid.uuid4()))
    closed.route_invocation(invocation_id, "default", 0.0)
    assert kept.count_invocations() == 0
    QUEUE_TABLES.close_app(closed.spec.topics)
    open_topics = {table.spec.topics for table in QUEUE_TABLES.open_tables()}
    assert closed.spec.topics not in open_topics and kept.spec.topics in open_topics
    assert closed.retrieve_invocation() == invocation_id


def _retrieve_in_child(app_id: str, results: Any) -> None:
    results.put(str(broker_of(broker_app(app_id)).retrieve_invocation()))


def test_a_forked_child_builds_its_own_table_and_takes_what_the_parent_routed() -> None:
    """pynenc's process runners fork: the parent's follower thread and clients stay behind."""
    app_id = unique_app_id("forked")
    broker = broker_of(broker_app(app_id))
    first, second = InvocationId(str(uuid.uuid4())), InvocationId(str(uuid.uuid4()))
    broker.route_invocations([first, second], "default", 0.0)
    assert broker.retrieve_invocation() == first  # the parent's table is open when it forks
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_retrieve_in_child, args=(app_id, results))
    child.start()
    assert results.get(timeout=60) == second
    child.join(30)
    assert child.exitcode == 0
    assert broker.retrieve_invocation() is None


def test_a_won_claim_leaves_a_tombstone_so_compaction_drops_the_decided_entry(kafka_bootstrap: str) -> None:
    app = broker_app(unique_app_id("tombstone"))
    broker = broker_of(app)
    invocation = InvocationId(str(uuid.uuid4()))
    broker.route_invocation(invocation, "default", 0.0)
    assert broker.retrieve_invocation() == invocation
    QUEUE_TABLES.use(broker.spec, lambda table: table.clients.publisher.flush())
    topic, partition = broker.spec.topics.queue, partition_for("default", len(queue_end_offsets(app)))
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": "probe", "enable.partition.eof": True}
    )
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    records = []
    while (message := consumer.poll(10)) is not None and message.error() is None:
        records.append((message.key(), message.value() is None))
    consumer.close()
    entry = records[0][0]
    assert [is_tombstone for key, is_tombstone in records if key == entry] == [False, False, True]
