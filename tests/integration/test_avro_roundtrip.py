"""The first real test: an Avro event through a real broker, back field by field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind


def test_an_avro_event_round_trips_through_the_broker(kafka_bootstrap: str) -> None:
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    codec = EventCodec()
    sent = {
        "invocation_id": "inv-ü-1",
        "call_id_key": "mod.task#args",
        "serialized_arguments": {"a": "1", "b": '"two"'},
        "parent_invocation_id": None,
        "parent_event_id": "evt-9",
        "workflow": {"workflow_id": "wf", "workflow_type_key": "mod.flow", "parent_workflow_id": None},
    }
    event_id, at = str(uuid.uuid4()), datetime(2026, 11, 29, 10, 0, 0, 123456, tzinfo=UTC)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    producer.produce(
        topic,
        codec.encode("round trip", EventKind.INVOCATION_REGISTERED, sent, event_id, at),
        "inv-ü-1".encode(),
    )
    assert producer.flush(30) == 0

    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": "roundtrip", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    msg = consumer.poll(30)
    consumer.close()
    assert msg is not None and msg.error() is None
    got = codec.decode(msg.value())
    assert msg.key() == "inv-ü-1".encode()
    assert (got.event_id, got.app_id, got.occurred_at, got.kind) == (
        event_id,
        "round trip",
        at,
        "InvocationRegistered",
    )
    for field, value in sent.items():
        assert got.payload[field] == value, field
