"""``PublishedRegistrations``: what a process believes it already published, and when it forgets."""

from __future__ import annotations

import os
from typing import Any

import pytest

from pynenc_kafka.producers.registrations import PublishedRegistrations, Registration

_offsets = iter(range(1_000_000))


def acknowledged(
    memory: PublishedRegistrations, log_id: str, fresh: list[Registration]
) -> list[Registration]:
    """Record ``fresh`` as acknowledged at the next offsets of the log."""
    memory.remember(log_id, fresh, [next(_offsets) for _ in fresh])
    return fresh


def payload(invocation_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "invocation_id": invocation_id,
        "call_id_key": "tasks.add:abc",
        "serialized_arguments": {"x": "1", "y": "2"},
        "parent_invocation_id": None,
        "parent_event_id": None,
        "workflow": None,
        **changes,
    }


def test_an_acknowledged_registration_is_not_published_again_but_one_that_differs_is() -> None:
    memory = PublishedRegistrations()
    first = memory.to_publish("log-1", [payload("a"), payload("b")])
    assert [r.payload["invocation_id"] for r in first] == ["a", "b"]
    acknowledged(memory, "log-1", first)
    assert memory.to_publish("log-1", [payload("a"), payload("b")]) == []
    # the same content with keys in another order is the same registration
    assert memory.to_publish("log-1", [dict(reversed(list(payload("a").items())))]) == []
    changed = memory.to_publish("log-1", [payload("a", parent_invocation_id="p"), payload("b")])
    assert [r.payload["invocation_id"] for r in changed] == ["a"]
    argument = memory.to_publish("log-1", [payload("b", serialized_arguments={"x": "1", "y": "3"})])
    assert len(argument) == 1


def test_within_a_call_each_registration_is_compared_with_the_one_before_it() -> None:
    memory = PublishedRegistrations()
    x, y = payload("a"), payload("a", parent_invocation_id="a")
    acknowledged(memory, "log-1", memory.to_publish("log-1", [x]))
    # the log ends with x; [x, x, y] must leave it ending with y
    first = acknowledged(memory, "log-1", memory.to_publish("log-1", [x, x, y]))
    assert [r.payload for r in first] == [y]
    # the log ends with y; [x, x, y] must publish x (a change), then y again (a change back)
    second = acknowledged(memory, "log-1", memory.to_publish("log-1", [x, x, y]))
    assert [r.payload for r in second] == [x, y]
    assert memory.to_publish("log-1", [y]) == []


def test_the_registration_the_log_ends_with_is_remembered_whatever_thread_remembers_last() -> None:
    memory = PublishedRegistrations()
    x, y = payload("a"), payload("a", parent_invocation_id="p")
    fresh_x, fresh_y = memory.to_publish("log-1", [x]), memory.to_publish("log-1", [y])
    memory.remember("log-1", fresh_y, [8])  # y landed after x in the log, but is remembered first
    memory.remember("log-1", fresh_x, [7])
    assert memory.to_publish("log-1", [y]) == []
    assert len(memory.to_publish("log-1", [x])) == 1


def test_a_registration_not_acknowledged_is_published_again() -> None:
    memory = PublishedRegistrations()
    assert len(memory.to_publish("log-1", [payload("a")])) == 1  # the publish then failed: no remember()
    assert len(memory.to_publish("log-1", [payload("a")])) == 1


def test_another_log_a_purge_and_the_capacity_forget() -> None:
    memory = PublishedRegistrations(capacity=3)
    acknowledged(memory, "log-1", memory.to_publish("log-1", [payload("a")]))
    assert len(memory.to_publish("log-2", [payload("a")])) == 1  # the topic was created again
    memory.forget()
    assert len(memory.to_publish("log-1", [payload("a")])) == 1
    acknowledged(memory, "log-1", memory.to_publish("log-1", [payload(i) for i in "abcde"]))
    assert len(memory) == 3
    assert [
        r.payload["invocation_id"] for r in memory.to_publish("log-1", [payload(i) for i in "abcde"])
    ] == [
        "a",
        "b",
    ]


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_with_an_empty_memory() -> None:
    memory = PublishedRegistrations()
    acknowledged(memory, "log-1", memory.to_publish("log-1", [payload("a")]))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            fresh = len(memory.to_publish("log-1", [payload("a")]))
            os.write(write, str(fresh).encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 16)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert memory.to_publish("log-1", [payload("a")]) == []  # the parent still knows
