"""The queue table's applier, fed records built in memory: FIFO, priority, claims, purge, compaction."""

from __future__ import annotations

import logging
import random
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pynenc_kafka.projections.queue_state import QueueState
from pynenc_kafka.schemas.codec import UndecodableEventError
from pynenc_kafka.schemas.queue_codec import QueueCodec, QueueKind
from tests.unit.log_records import MemoryRecord

CODEC = QueueCodec()
APP = "app"


class QueueLog:
    """A queue topic in memory: records appended with offsets and keys, as the broker writes them."""

    def __init__(self) -> None:
        self.records: list[MemoryRecord] = []
        self._next: dict[int, int] = {}

    def append(
        self, partition: int, kind: QueueKind, payload: dict[str, Any], key: str, app: str = APP
    ) -> None:
        offset = self._next.get(partition, 0)
        self._next[partition] = offset + 1
        self.records.append(MemoryRecord(partition, offset, CODEC.encode(app, kind, payload), key.encode()))

    def route(self, invocation_id: str, queue: str = "q", priority: float = 0.0, partition: int = 0) -> str:
        entry_id = str(uuid.uuid4())
        payload = {
            "entry_id": entry_id,
            "invocation_id": invocation_id,
            "queue_name": queue,
            "priority": priority,
        }
        self.append(partition, QueueKind.ROUTED, payload, entry_id)
        return entry_id

    def claim(self, entry_id: str, partition: int = 0, queue: str = "q") -> str:
        claim_id = str(uuid.uuid4())
        payload = {"entry_id": entry_id, "claim_id": claim_id, "queue_name": queue, "invocation_id": "?"}
        self.append(partition, QueueKind.CLAIMED, payload, entry_id)
        return claim_id

    def tombstone(self, entry_id: str, partition: int = 0) -> None:
        offset = self._next.get(partition, 0)
        self._next[partition] = offset + 1
        self.records.append(MemoryRecord(partition, offset, None, entry_id.encode()))

    def purge(self, partitions: int = 1) -> None:
        purge_id = str(uuid.uuid4())
        for p in range(partitions):
            self.append(p, QueueKind.QUEUE_PURGED, {"purge_id": purge_id}, purge_id)


def applied(records: list[MemoryRecord]) -> tuple[QueueState, dict[str, bool]]:
    state = QueueState(APP, "queue-topic", CODEC)
    outcomes = {}
    for record in records:
        outcome = state.apply(record)
        if outcome is not None:
            outcomes[outcome.claim_id] = outcome.won
    return state, outcomes


def drain(state: QueueState, queue: str = "q", partition: int = 0) -> list[str]:
    return [e.invocation_id for e in state.queued(partition, queue)]


def test_equal_priorities_are_handed_out_in_log_order() -> None:
    log = QueueLog()
    for name in ("a", "b", "c"):
        log.route(name)
    state, _ = applied(log.records)
    assert drain(state) == ["a", "b", "c"]
    assert state.head(0, "q").invocation_id == "a"  # type: ignore[union-attr]
    assert state.count(["q"]) == 3


def test_higher_priority_first_then_log_order() -> None:
    log = QueueLog()
    log.route("low", priority=-100.0)
    log.route("mid-1", priority=0.5)
    log.route("high", priority=100.0)
    log.route("mid-2", priority=0.5)
    state, _ = applied(log.records)
    assert drain(state) == ["high", "mid-1", "mid-2", "low"]


def test_one_invocation_routed_twice_is_two_entries() -> None:
    log = QueueLog()
    log.route("a")
    log.route("a")
    state, _ = applied(log.records)
    assert drain(state) == ["a", "a"]
    assert state.count(["q"]) == 2


def test_the_first_claim_of_an_entry_wins_and_later_ones_lose() -> None:
    log = QueueLog()
    first = log.route("a")
    log.route("b")
    winner, loser = log.claim(first), log.claim(first)
    state, outcomes = applied(log.records)
    assert outcomes == {winner: True, loser: False}
    assert drain(state) == ["b"]
    assert state.count(["q"]) == 1


def test_a_tombstone_after_a_winning_claim_changes_nothing_and_is_no_skip() -> None:
    log = QueueLog()
    first = log.route("a")
    log.route("b")
    log.claim(first)
    log.tombstone(first)
    state, _ = applied(log.records)
    assert drain(state) == ["b"]
    assert state.skipped == {}


def test_a_claim_of_an_entry_never_seen_loses() -> None:
    log = QueueLog()
    stray = log.claim(str(uuid.uuid4()))
    state, outcomes = applied(log.records)
    assert outcomes == {stray: False}
    assert state.count(["q"]) == 0


def test_queues_are_apart_and_counted_together() -> None:
    log = QueueLog()
    log.route("p", queue="payments", partition=1)
    log.route("d", queue="default")
    state, _ = applied(log.records)
    assert drain(state, "payments", 1) == ["p"]
    assert state.head(0, "payments") is None
    assert state.count(["default", "payments"]) == 2
    assert state.count(["reports"]) == 0


def test_purge_drops_what_came_before_it_and_keeps_what_follows() -> None:
    log = QueueLog()
    before = log.route("before")
    log.route("other-partition", partition=1)
    log.purge(partitions=2)
    log.route("after")
    late = log.claim(before)
    state, outcomes = applied(log.records)
    assert drain(state) == ["after"]
    assert state.count(["q"]) == 1
    assert outcomes == {late: False}


def test_bytes_that_are_not_queue_records_are_skipped_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    log = QueueLog()
    log.route("a")
    log.records.append(MemoryRecord(0, 1, b"not a queue record"))
    log.append(0, QueueKind.ROUTED, {"entry_id": str(uuid.uuid4()), "invocation_id": "x", "queue_name": "q",
                                     "priority": 0.0}, "k", app="another-app")  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="pynenc_kafka.queue"):
        state, _ = applied(log.records)
    assert drain(state) == ["a"]
    assert state.skipped == {0: 2}
    assert "queue-topic partition 0 offset 1" in caplog.text
    assert "another-app" in caplog.text


def test_the_codec_refuses_bytes_of_another_schema() -> None:
    with pytest.raises(UndecodableEventError, match="not a queue record"):
        CODEC.decode(b"\xc3\x01" + b"\x00" * 8 + b"body")


def compacted(records: list[MemoryRecord], seed: int) -> list[MemoryRecord]:
    """The log after a compaction: any subset of the records a later one of the same key superseded
    removed, and some keys whose latest record is a tombstone removed whole (tombstone and all)."""
    chance = random.Random(seed)
    latest: dict[tuple[int, bytes], MemoryRecord] = {}
    for record in records:
        latest[(record.partition(), record.key())] = record
    gone = {key for key, last in latest.items() if last.value() is None and chance.random() < 0.5}
    return [
        r
        for r in records
        if (r.partition(), r.key()) not in gone
        and (latest[(r.partition(), r.key())] is r or chance.random() < 0.3)
    ]


#: One step of a queue's life: route (queue, priority), claim the n-th entry routed so far, purge.
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("route"), st.sampled_from(["q", "r"]), st.sampled_from([-100.0, 0.0, 2.5, 100.0])),
        st.tuples(st.just("claim"), st.integers(0, 40), st.just(0.0)),
        st.tuples(st.just("purge"), st.just(""), st.just(0.0)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(steps=STEPS, seed=st.integers(0, 1000))
def test_the_table_matches_a_plain_model_and_a_compacted_log_gives_the_same_queues(
    steps: list[tuple[str, Any, float]], seed: int
) -> None:
    log = QueueLog()
    partition_of = {"q": 0, "r": 1}
    routed: list[tuple[str, str]] = []  # (entry id, queue) in routing order
    model: dict[str, list[tuple[float, int, str]]] = {"q": [], "r": []}
    expected: dict[str, bool] = {}
    for number, (op, arg, priority) in enumerate(steps):
        if op == "route":
            entry = log.route(f"inv-{number}", queue=arg, priority=priority, partition=partition_of[arg])
            routed.append((entry, arg))
            model[arg].append((-priority, number, f"inv-{number}"))
        elif op == "claim" and routed:
            entry, queue = routed[arg % len(routed)]
            claim = log.claim(entry, partition=partition_of[queue], queue=queue)
            name = next((i for i in model[queue] if i[2] == _invocation(log, entry)), None)
            expected[claim] = name is not None
            if name is not None:
                model[queue].remove(name)
                if arg % 2:  # the winner's tombstone (it may also never have been written: a crash)
                    log.tombstone(entry, partition=partition_of[queue])
        elif op == "purge":
            log.purge(partitions=2)
            model = {"q": [], "r": []}
    state, outcomes = applied(log.records)
    assert outcomes == expected
    for queue, partition in partition_of.items():
        assert drain(state, queue, partition) == [name for *_, name in sorted(model[queue])]
        assert state.count([queue]) == len(model[queue])
    replayed, _ = applied(compacted(log.records, seed))
    for queue, partition in partition_of.items():
        assert drain(replayed, queue, partition) == drain(state, queue, partition)


def _invocation(log: QueueLog, entry_id: str) -> str:
    for record in log.records:
        if record.value() is None:
            continue
        decoded = CODEC.decode(record.value())
        if decoded.kind is QueueKind.ROUTED and decoded.payload["entry_id"] == entry_id:
            return str(decoded.payload["invocation_id"])
    raise AssertionError(entry_id)


def test_losers_spread_over_the_first_entries_of_the_heads_priority_only() -> None:
    log = QueueLog()
    log.route("high-1", priority=5.0)
    log.route("low", priority=1.0)
    log.route("high-2", priority=5.0)
    log.route("high-3", priority=5.0)
    state, _ = applied(log.records)
    assert [e.invocation_id for e in state.heads(0, "q", 1)] == ["high-1"]
    assert [e.invocation_id for e in state.heads(0, "q", 2)] == ["high-1", "high-2"]
    assert [e.invocation_id for e in state.heads(0, "q", 8)] == ["high-1", "high-2", "high-3"]
    assert state.heads(0, "other", 8) == []
