"""Topic names and partitioning shared by the write and read sides."""

from __future__ import annotations

import re

import pytest

from pynenc_kafka.schemas.topology import AppTopics, partition_for, topic_safe

KAFKA_LEGAL = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


@pytest.mark.parametrize(
    "app_id",
    [
        "plain",
        "with spaces",
        "brackets[1](2){3}",
        "slashes/and\\back",
        "ünïcødé-日本語",
        "a" * 400,
        "",
        "...",
    ],
)
def test_every_app_id_gives_a_legal_topic(app_id: str) -> None:
    topics = AppTopics("pynenc", app_id)
    assert KAFKA_LEGAL.match(topics.events), topics.events
    assert KAFKA_LEGAL.match(topics.queue), topics.queue
    assert topics.queue == topics.events.removesuffix(".events") + ".queue"
    assert topics.registry == "pynenc.apps"


def test_ids_that_sanitize_alike_get_different_topics() -> None:
    assert topic_safe("a/b") != topic_safe("a b")
    assert topic_safe("a/b").startswith("a_b-")


def test_partition_is_stable_and_in_range() -> None:
    seen = {partition_for(f"inv-{i}", 3) for i in range(200)}
    assert seen == {0, 1, 2}
    assert partition_for("inv-7", 5) == partition_for("inv-7", 5)
