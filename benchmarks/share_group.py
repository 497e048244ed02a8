"""Why KafkaBroker is neither a share group (KIP-932) nor a classic consumer group: measured.

- Share group: a new ``ShareConsumer`` (confluent-kafka 2.16, ``share.acknowledgement.mode=explicit``,
  the group set to ``share.auto.offset.reset=earliest``) subscribes to a topic holding records:
  seconds from ``subscribe`` to its first records, and how many records each poll acquired.
  librdkafka's lines (its "Preview" warning among them) go through Python logging, not stderr.
- Classic group: two members share a 2-partition topic; one takes a record and stays busy
  (stops polling, as a worker running a long task); how many records the idle member gets
  meanwhile, and how many stay held on the busy member's partition.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Producer, ShareConsumer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

LIBRDKAFKA = logging.getLogger("benchmarks.librdkafka")


class _LibrdkafkaLines:
    """librdkafka's log lines into Python logging (the ``logger`` client option)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, level: int, msg: str, *args: object) -> None:
        text = msg % args if args else msg
        self.lines.append(text)
        LIBRDKAFKA.log(level, "%s", text)


def _topic(admin: AdminClient, partitions: int) -> str:
    name = f"bench-share-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    time.sleep(1)  # leaders known everywhere
    return name


def _fill(bootstrap: str, topic: str, count: int, partitions: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for n in range(count):
        producer.produce(topic, b"x" * 60, str(n).encode(), partition=n % partitions)
    assert producer.flush(30) == 0


def share_group(bootstrap: str, records: int = 5000, polls: int = 6) -> dict[str, Any]:
    """A new share consumer on a topic of ``records`` records: first-record delay and records per poll."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = _topic(admin, 1)
    _fill(bootstrap, topic, records, 1)
    group = f"bench-share-{uuid.uuid4().hex[:8]}"
    resource = ConfigResource(
        ResourceType.GROUP,
        group,
        incremental_configs=[
            ConfigEntry("share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([resource])[resource].result(30)
    lines = _LibrdkafkaLines()
    consumer = ShareConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "share.acknowledgement.mode": "explicit",
            "logger": lines,
        }
    )
    sizes: list[int] = []
    try:
        subscribed = time.perf_counter()
        consumer.subscribe([topic])
        first = None
        while len(sizes) < polls and sum(sizes) < records and time.perf_counter() - subscribed < 60:
            batch = [m for m in consumer.poll(1.0) if m.error() is None]
            if not batch:
                continue
            if first is None:
                first = time.perf_counter() - subscribed
            sizes.append(len(batch))
            for message in batch:
                consumer.acknowledge(message)
            consumer.commit_sync(30)
    finally:
        consumer.close()
        admin.delete_topics([topic])
    preview = any("preview" in line.lower() for line in lines.lines)
    return {
        "share.first_record_s": None if first is None else round(first, 2),
        "share.records_per_poll": sizes,
        "share.preview_warning_logged": preview,
    }


def classic_group(bootstrap: str, records: int = 20, wait: float = 10.0) -> dict[str, Any]:
    """Two members of one group; the busy one stops polling after its first record."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = _topic(admin, 2)
    group = f"bench-classic-{uuid.uuid4().hex[:8]}"
    config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    busy, idle = Consumer(config), Consumer(config)
    try:
        busy.subscribe([topic])
        idle.subscribe([topic])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (busy.assignment() and idle.assignment()):
            busy.poll(0.1)
            idle.poll(0.1)
        _fill(bootstrap, topic, records, 2)
        taken_by_busy = None
        while taken_by_busy is None and time.monotonic() < deadline:
            taken_by_busy = busy.poll(0.2)
        got, started = 0, time.monotonic()
        while time.monotonic() - started < wait:  # the busy member runs its long task: no poll
            message = idle.poll(0.2)
            if message is not None and message.error() is None:
                got += 1
    finally:
        busy.close()
        idle.close()
        admin.delete_topics([topic])
    return {
        "classic.records": records,
        "classic.idle_member_got": got,
        "classic.held_by_busy_member": records - got - 1,
        "classic.busy_for_s": wait,
    }


def measure(bootstrap: str) -> dict[str, Any]:
    """Every figure of this module."""
    return {**share_group(bootstrap), **classic_group(bootstrap)}
