"""The floor under a write: one produce round trip with a bare confluent-kafka producer.

Same cluster, same acknowledgement (``acks=all``, idempotent, no linger) as the backend's
writes, but no encoding, no projection and no pynenc: what a write cannot go below here.
"""

from __future__ import annotations

import threading
import uuid

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.samples import Latency, timed_calls


def produce_round_trip(bootstrap: str, count: int) -> Latency:
    """p50/p99, in microseconds, of producing one small record and receiving its acknowledgement.

    :param str bootstrap: The cluster.
    :param int count: Records, one after another.
    """
    topic = f"bench-floor-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0}
    )
    acknowledged = threading.Event()
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failures.append(err)
        acknowledged.set()

    def produce(i: int) -> None:
        acknowledged.clear()
        producer.produce(topic, b"x" * 200, str(i).encode(), on_delivery=on_delivery)
        while not acknowledged.is_set():
            producer.poll(1)

    try:
        timed_calls(produce, 20)  # connection, producer id, leader: not part of the floor
        samples = timed_calls(produce, count)
    finally:
        producer.flush(10)
        admin.delete_topics([topic])
    if failures:
        raise RuntimeError(f"the bare producer's writes failed: {failures[0]}")
    return Latency.of(samples)
