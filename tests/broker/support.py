"""Helpers of KafkaBroker's own tests: apps on it, and workers that run in processes of their own."""

from __future__ import annotations

import os
import time
from multiprocessing.synchronize import Barrier, Event
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from pynenc import Pynenc, PynencBuilder

from pynenc_kafka.components.broker import KafkaBroker


def broker_app(app_id: str, **config: Any) -> Pynenc:
    """An app whose broker is KafkaBroker (pynenc's in-memory components otherwise).

    The bootstrap servers, topic prefix and projection folder come from the session's environment.
    """
    return (
        PynencBuilder()
        .app_id(app_id)
        .memory()
        .custom_config(
            broker_cls="KafkaBroker", kafka_bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], **config
        )
        .build()
    )


def broker_of(app: Pynenc) -> KafkaBroker:
    """The app's broker, typed."""
    broker = app.broker
    assert isinstance(broker, KafkaBroker)
    return broker


def queue_end_offsets(app: Pynenc) -> dict[int, int]:
    """Kafka's end offset of every partition of the app's queue topic (0 everywhere if it does not exist)."""
    broker = broker_of(app)
    consumer = Consumer({"bootstrap.servers": os.environ["KAFKA_BOOTSTRAP_SERVERS"], "group.id": "probe"})
    try:
        topic = broker.spec.topics.queue
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return {}
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in metadata.partitions
        }
    finally:
        consumer.close()


def drain_worker(app_id: str, start: Barrier, results: Any) -> None:
    """Retrieve from the default queue until it is empty, after every racer is ready; report what it got."""
    broker = broker_of(broker_app(app_id))
    broker.count_invocations()  # the table is open and caught up before the race starts
    got = []
    start.wait(120)
    while (invocation_id := broker.retrieve_invocation()) is not None:
        got.append(str(invocation_id))
    results.put((os.getpid(), got))


def busy_worker(app_id: str, holding: Event, release: Event, results: Any) -> None:
    """Take one invocation (the long task) and hold it until told to let go, as a busy runner would."""
    broker = broker_of(broker_app(app_id))
    got = broker.retrieve_invocation()
    holding.set()
    release.wait(120)
    results.put(("busy", [str(got)]))


def idle_worker(app_id: str, short_tasks: int, results: Any) -> None:
    """Take invocations until it has run ``short_tasks`` of them (bounded), as an idle runner would."""
    broker = broker_of(broker_app(app_id))
    got: list[str] = []
    deadline = time.monotonic() + 120
    while len(got) < short_tasks and time.monotonic() < deadline:
        if (invocation_id := broker.retrieve_invocation()) is not None:
            got.append(str(invocation_id))
    results.put(("idle", got))
