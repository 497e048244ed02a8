"""A topic deleted and created again under a running process: nothing of the old log is served."""

from __future__ import annotations

import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.projections.store import View
from tests.conftest import unique_app_id
from tests.integration.support import backend, projection, run_python


def _recreate(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([topic], operation_timeout=30)[topic].result()
    deadline = time.monotonic() + 60
    while True:
        futures = admin.create_topics([NewTopic(topic, partitions, -1)], operation_timeout=30)
        try:
            futures[topic].result()
            return
        except Exception as exc:  # the deletion is still being completed
            assert time.monotonic() < deadline, f"could not create {topic} again: {exc}"
            time.sleep(0.5)


def test_a_recreated_topic_gets_a_fresh_projection(kafka_bootstrap: str) -> None:
    app_id = unique_app_id("recreated")
    be = backend(PynencBuilder().app_id(app_id).kafka(bootstrap_servers=kafka_bootstrap).build())
    for i in range(20):  # the old log is longer than the new one will be
        be._set_result(InvocationId(f"old-{i}"), "old")
    assert be._get_result(InvocationId("old-19")) == "old"
    old = projection(be.app)
    topic, partitions = old.log.name, old.log.partitions

    _recreate(kafka_bootstrap, topic, partitions)
    be._set_result(InvocationId("new-1"), "new")
    assert be._get_result(InvocationId("new-1")) == "new"
    fresh = projection(be.app)
    assert fresh is not old and fresh.log.topic_id != old.log.topic_id
    assert fresh.store.count(View.RESULTS) == 1, "the views hold the new log only"
    with pytest.raises(KeyError):
        be._get_result(InvocationId("old-0"))

    out = run_python(
        """
        from pynenc.identifiers.invocation_id import InvocationId
        be._set_result(InvocationId("new-2"), "from another process")
        try:
            be._get_result(InvocationId("old-1"))
            print("stale")
        except KeyError:
            print("fresh")
        """,
        app_id,
    )
    assert out.split() == ["fresh"]
    assert be._get_result(InvocationId("new-2")) == "from another process"
