"""The view writer on records built in memory: rows, offsets, skips, idempotence, the purge hold."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.store import PROJECTED_VIEWS, View, ViewStore
from pynenc_kafka.projections.views import history, outcomes
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.kinds import EventKind
from tests.unit.log_records import MemoryLog

APP = "writer-app"
TOPIC = "test.writer-app.events"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ViewStore]:
    opened = ViewStore(tmp_path / "views")
    yield opened
    opened.close()


def rows(store: ViewStore) -> dict[View, list[tuple[bytes, bytes]]]:
    return {view: list(store.scan(view)) for view in PROJECTED_VIEWS}


def status(log: MemoryLog, partition: int, invocation_id: str, name: str, at: int) -> None:
    payload = {
        "invocation_id": invocation_id,
        "status": name,
        "owner_runner_id": None,
        "status_at": at,
        "history_at": at,
        "runner_context_id": "ctx",
        "registered_by_inv_id": None,
    }
    log.append(partition, EventKind.STATUS_RECORDED, payload)


def test_a_batch_writes_its_rows_and_the_offsets_after_it(store: ViewStore) -> None:
    log = MemoryLog(APP)
    log.result(0, "a", "1")
    log.result(1, "b", "2")
    log.result(0, "c", "3")
    writer = ViewWriter(store, APP, TOPIC)
    assert writer.apply(log.records) == {0: 2, 1: 1}
    assert [outcomes.result(store, i) for i in "abc"] == ["1", "2", "3"]
    stored = ProjectionCheckpoint(store).load()
    assert stored.next_offsets == {0: 2, 1: 1} and stored.applied == {0: 2, 1: 1}


def test_history_keeps_pynencs_timestamps_in_order(store: ViewStore) -> None:
    log = MemoryLog(APP)
    status(log, 0, "inv", "RUNNING", 2_000)
    status(log, 0, "inv", "REGISTERED", 1_000)
    ViewWriter(store, APP, TOPIC).apply(log.records)
    entries = history.of_invocation(store, "inv")
    assert [(e["status"], e["history_at"]) for e in entries] == [("REGISTERED", 1_000), ("RUNNING", 2_000)]


def test_applying_the_same_records_again_changes_no_row(store: ViewStore) -> None:
    log = MemoryLog(APP)
    log.result(0, "a")
    status(log, 1, "a", "RUNNING", 5)
    status(log, 1, "a", "RUNNING", 5)  # the same entry twice: two rows, told apart by position
    writer = ViewWriter(store, APP, TOPIC)
    writer.apply(log.records)
    once = rows(store)
    writer.apply(log.records)
    assert rows(store) == once
    assert len(once[View.HISTORY]) == 2


def test_bytes_that_are_not_our_events_are_skipped_counted_and_named(
    store: ViewStore, caplog: pytest.LogCaptureFixture
) -> None:
    log = MemoryLog(APP)
    log.append_bytes(0, b"not an event")
    log.append_bytes(0, None)
    log.append(1, EventKind.RESULT_SET, {"invocation_id": "x", "serialized_result": "1"}, app_id="other")
    log.result(1, "mine")
    with caplog.at_level(logging.WARNING, logger="pynenc_kafka.projector"):
        advanced = ViewWriter(store, APP, TOPIC).apply(log.records)
    assert advanced == {0: 2, 1: 2}
    state = ProjectionCheckpoint(store).load()
    assert state.skipped == {0: 2, 1: 1} and state.applied == {0: 0, 1: 1}
    assert outcomes.result(store, "x") is None and outcomes.result(store, "mine") == "1"
    assert f"{TOPIC} partition 0 offset 0" in caplog.text and "'other'" in caplog.text


def test_records_behind_a_purge_marker_wait_for_every_partitions_marker(store: ViewStore) -> None:
    log = MemoryLog(APP)
    log.result(0, "before-0")
    log.result(1, "before-1")
    marker_0, marker_1 = log.purge()
    after = log.result(0, "after-0")
    writer = ViewWriter(store, APP, TOPIC)

    writer.apply([r for r in log.records if r.partition() == 0])
    assert writer.hold.partitions == {0}
    assert outcomes.result(store, "before-0") == "1", "no purge before every marker arrived"
    assert outcomes.result(store, "after-0") is None, "a record behind the marker waits"
    assert ProjectionCheckpoint(store).load().next_offsets[0] == marker_0.offset() + 1

    writer.apply([r for r in log.records if r.partition() == 1])
    assert writer.hold.partitions == frozenset()
    assert outcomes.result(store, "before-0") is None and outcomes.result(store, "before-1") is None
    assert outcomes.result(store, "after-0") == "1"
    state = ProjectionCheckpoint(store).load()
    assert state.next_offsets == {0: after.offset() + 1, 1: marker_1.offset() + 1}
    assert state.pending_purges == {}


def test_the_purge_hold_survives_a_restart(tmp_path: Path) -> None:
    log = MemoryLog(APP)
    log.result(1, "before-1")
    log.purge()
    held = log.result(0, "after-0")
    store = ViewStore(tmp_path / "views")
    ViewWriter(store, APP, TOPIC).apply([r for r in log.records if r.partition() == 0])
    store.close()

    store = ViewStore(tmp_path / "views")
    writer = ViewWriter(store, APP, TOPIC)
    assert writer.hold.partitions == {0}, "the pending purge is part of the checkpoint"
    writer.apply([held])  # the consumer reads it again: it was never committed
    assert outcomes.result(store, "after-0") is None
    writer.apply([r for r in log.records if r.partition() == 1])
    assert outcomes.result(store, "after-0") == "1" and outcomes.result(store, "before-1") is None
    store.close()
