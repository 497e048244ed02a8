"""The trigger's decisions, made by the view writer on records built in memory: claims and cron
executions are pure functions of the events before them, so every host decides alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_kafka.projections.store import View, ViewStore
from pynenc_kafka.projections.views import triggers
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope
from tests.unit.log_records import MemoryLog

APP = "trigger-app"
TOPIC = "test.trigger-app.events"
AT = 1_700_000_000_000_000
MINUTE = 60_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ViewStore]:
    opened = ViewStore(tmp_path / "views")
    yield opened
    opened.close()


def claim(log: MemoryLog, request_id: str, key: str, at: int) -> None:
    payload = {"request_id": request_id, "claim_key": key, "requested_at": at, "expires_at": at + MINUTE}
    log.append(0, EventKind.TRIGGER_RUN_CLAIM_REQUESTED, payload)


def cron(log: MemoryLog, request_id: str, at: int, expected: int | None) -> None:
    payload = {
        "request_id": request_id,
        "condition_id": "every-minute",
        "execution_time": at,
        "expected_last_execution": expected,
    }
    log.append(0, EventKind.CRON_EXECUTION_REQUESTED, payload)


def test_two_hosts_claiming_one_trigger_run_get_one_grant_until_it_expires(store: ViewStore) -> None:
    log = MemoryLog(APP)
    claim(log, "a", "run:r1", AT)
    claim(log, "b", "run:r1", AT + 1)
    claim(log, "c", "run:r2", AT + 2)
    claim(log, "d", "run:r1", AT + MINUTE + 1)
    ViewWriter(store, APP, TOPIC).apply(log.records)
    decided = {r: triggers.granted(store, r) for r in "abcd"}
    assert decided == {"a": True, "b": False, "c": True, "d": True}


def test_two_hosts_recording_the_same_cron_minute_fire_it_once(store: ViewStore) -> None:
    log = MemoryLog(APP)
    cron(log, "first", AT, None)
    cron(log, "host-a", AT + MINUTE, AT)
    cron(log, "host-b", AT + MINUTE + 5, AT)
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert [triggers.granted(store, r) for r in ("first", "host-a", "host-b")] == [True, True, False]
    assert triggers.last_cron_execution(store, "every-minute") == AT + MINUTE


def test_one_record_per_batch_decides_as_one_batch(tmp_path: Path) -> None:
    log = MemoryLog(APP)
    cron(log, "x", AT, None)
    cron(log, "y", AT + MINUTE, AT)
    cron(log, "z", AT + MINUTE, AT)
    claim(log, "p", "run:r", AT)
    claim(log, "q", "run:r", AT + 1)
    together, apart = ViewStore(tmp_path / "together"), ViewStore(tmp_path / "apart")
    ViewWriter(together, APP, TOPIC).apply(log.records)
    writer = ViewWriter(apart, APP, TOPIC)
    for record in log.records:
        writer.apply([record])
    assert list(together.scan(View.TRIGGERS)) == list(apart.scan(View.TRIGGERS))
    together.close()
    apart.close()


def test_the_triggers_purge_drops_its_view_and_nothing_else(store: ViewStore) -> None:
    log = MemoryLog(APP)
    log.append(0, EventKind.TRIGGER_ROW_STORED, {"table": "condition", "row_id": "c1", "value": "{}"})
    log.append(0, EventKind.CLIENT_DATA_STORED, {"key": "k", "value": "v"})
    log.append(0, EventKind.PURGED, {"purge_id": "p", "partitions": 1, "scope": PurgeScope.TRIGGER.value})
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert store.count(View.TRIGGERS) == 0
    assert store.count(View.CLIENT_DATA) == 1


def test_outcomes_are_kept_for_their_requester_then_dropped(store: ViewStore) -> None:
    log = MemoryLog(APP)
    claim(log, "old", "run:r1", AT)
    claim(log, "recent", "run:r2", AT + triggers.OUTCOME_KEPT_MICROS)
    claim(log, "new", "run:r3", AT + triggers.OUTCOME_KEPT_MICROS + 1)
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert [triggers.granted(store, r) for r in ("old", "recent", "new")] == [None, True, True]
