"""The client data view on records built in memory: rows, and purges of each scope."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_kafka.projections.store import View, ViewStore
from pynenc_kafka.projections.views import client_data, outcomes
from pynenc_kafka.projections.writer import ViewWriter
from pynenc_kafka.schemas.kinds import EventKind, PurgeScope
from tests.unit.log_records import MemoryLog

APP = "cds-app"
TOPIC = "test.cds-app.events"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ViewStore]:
    opened = ViewStore(tmp_path / "views")
    yield opened
    opened.close()


def stored(log: MemoryLog, partition: int, key: str, value: str) -> None:
    log.append(partition, EventKind.CLIENT_DATA_STORED, {"key": key, "value": value})


def purge(log: MemoryLog, purge_id: str, scope: PurgeScope | None) -> None:
    marker: dict[str, object] = {"purge_id": purge_id, "partitions": log.partitions}
    if scope is not None:
        marker["scope"] = scope.value
    for p in range(log.partitions):
        log.append(p, EventKind.PURGED, marker)


def test_a_stored_value_is_read_back_by_its_key_and_a_missing_key_is_none(store: ViewStore) -> None:
    log = MemoryLog(APP)
    stored(log, 0, "k1", "v" * 5000)
    stored(log, 1, "k2", "ünïcode")
    stored(log, 0, "k1", "v" * 5000)  # the same content again: the same row
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert client_data.value(store, "k1") == "v" * 5000
    assert client_data.value(store, "k2") == "ünïcode"
    assert client_data.value(store, "k3") is None
    assert store.count(View.CLIENT_DATA) == 2


def test_a_client_data_purge_drops_the_client_data_and_leaves_the_state(store: ViewStore) -> None:
    log = MemoryLog(APP)
    stored(log, 0, "before", "1")
    log.result(1, "inv", "42")
    purge(log, "p1", PurgeScope.CLIENT_DATA)
    stored(log, 1, "after", "2")
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert client_data.value(store, "before") is None
    assert client_data.value(store, "after") == "2"
    assert outcomes.result(store, "inv") == "42"


@pytest.mark.parametrize("scope", [PurgeScope.STATE, None], ids=["state", "no-scope"])
def test_a_state_purge_drops_the_state_and_leaves_the_client_data(
    store: ViewStore, scope: PurgeScope | None
) -> None:
    log = MemoryLog(APP)
    stored(log, 0, "kept", "1")
    log.result(1, "inv", "42")
    purge(log, "p1", scope)
    ViewWriter(store, APP, TOPIC).apply(log.records)
    assert client_data.value(store, "kept") == "1"
    assert outcomes.result(store, "inv") is None


def test_a_client_data_purge_waits_for_every_partitions_marker(store: ViewStore) -> None:
    """A value written before the purge on a partition read late is still dropped."""
    log = MemoryLog(APP)
    writer = ViewWriter(store, APP, TOPIC)
    stored(log, 1, "late-partition", "1")
    purge(log, "p1", PurgeScope.CLIENT_DATA)
    stored(log, 0, "after", "2")
    by_partition = sorted(log.records, key=lambda r: r.partition())  # partition 0 wholly first
    first = [r for r in by_partition if r.partition() == 0]
    writer.apply(first)
    assert client_data.value(store, "after") is None, "held behind the marker"
    writer.apply([r for r in by_partition if r.partition() == 1])
    assert client_data.value(store, "late-partition") is None
    assert client_data.value(store, "after") == "2"


def test_a_purge_of_an_unknown_scope_drops_nothing_and_says_so(
    store: ViewStore, caplog: pytest.LogCaptureFixture
) -> None:
    log = MemoryLog(APP)
    stored(log, 0, "kept", "1")
    log.result(1, "inv", "42")
    for p in range(log.partitions):
        log.append(p, EventKind.PURGED, {"purge_id": "p9", "partitions": log.partitions, "scope": "later"})
    with caplog.at_level(logging.WARNING, logger="pynenc_kafka.projector"):
        ViewWriter(store, APP, TOPIC).apply(log.records)
    assert client_data.value(store, "kept") == "1" and outcomes.result(store, "inv") == "42"
    assert "scope 'later', unknown to this version" in caplog.text
