"""KafkaStateBackend against the real broker: what pynenc's suites do not cover."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.state_backend.base_state_backend import InvocationHistory

from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.producers.errors import EventTooLargeError, KafkaUnavailableError
from pynenc_kafka.projections.store import View
from pynenc_kafka.schemas.topology import partition_for
from tests.conftest import unique_app_id
from tests.integration.support import backend, end_offsets, produce_raw, projection, projector_of, run_python
from tests.kafka_broker import free_port


def _history(inv_id: str, status: InvocationStatus, at: datetime) -> InvocationHistory:
    entry = InvocationHistory(
        invocation_id=inv_id,
        status_record=InvocationStatusRecord(status=status, runner_id="runner-1", timestamp=at),
        runner_context_id="ctx-1",
    )
    entry._timestamp = at
    return entry


def test_a_write_in_one_process_is_read_in_another(app_instance: object) -> None:
    be = backend(app_instance)  # this process holds the projection lease
    app_id = be.app.app_id
    assert projection(app_instance).is_primary

    run_python(
        """
        from pynenc.identifiers.invocation_id import InvocationId
        assert not be.projection.is_primary, "the test process holds the lease"
        be._set_result(InvocationId("written-by-child"), "from the child")
        """,
        app_id,
    )
    assert be._get_result(InvocationId("written-by-child")) == "from the child"

    be._set_result(InvocationId("written-by-parent"), "from the parent")
    out = run_python('print(be._get_result("written-by-parent"))', app_id)
    assert out.strip() == "from the parent"


def test_history_keeps_pynenc_timestamps_in_order_not_kafka_time(app_instance: object) -> None:
    be = backend(app_instance)
    base = datetime(2001, 9, 9, 1, 46, 40, 123456, tzinfo=UTC)
    order = [
        InvocationStatus.REGISTERED,
        InvocationStatus.PENDING,
        InvocationStatus.RUNNING,
        InvocationStatus.SUCCESS,
    ]
    written = [(status, base + timedelta(microseconds=17 * i)) for i, status in enumerate(order)]
    for status, at in reversed(written):  # newest first: the log order is not the history order
        be._add_histories([InvocationId("inv-h")], _history("inv-h", status, at))

    history = be.get_history(InvocationId("inv-h"))
    assert [(h.status_record.status, h.timestamp) for h in history] == written
    assert [h.status_record.timestamp for h in history] == [at for _, at in written]

    batches = list(be.iter_history_in_timerange(base, base + timedelta(microseconds=34), batch_size=2))
    assert [[h.status_record.status for h in b] for b in batches] == [order[:2], order[2:3]]


@pytest.mark.parametrize(
    "label", ["with spaces", "brackets [x] (y) {z}", "slashes/a/b\\c", "ünïcødé 日本語 ✓"]
)
def test_any_app_id_works_and_travels_unchanged(label: str, kafka_bootstrap: str) -> None:
    app_id = unique_app_id(label)
    app = PynencBuilder().app_id(app_id).kafka(bootstrap_servers=kafka_bootstrap).build()
    be = backend(app)
    be._set_result(InvocationId("i"), "r")
    assert be._get_result(InvocationId("i")) == "r"
    assert be.get_app_info().app_id == app_id
    assert app_id in KafkaStateBackend.discover_app_infos()


def test_two_apps_are_discovered_with_their_info(kafka_bootstrap: str) -> None:
    ids = [unique_app_id("discover-a"), unique_app_id("discover-b")]
    for app_id in ids:
        backend(PynencBuilder().app_id(app_id).kafka(bootstrap_servers=kafka_bootstrap).build())
    found = KafkaStateBackend.discover_app_infos()
    assert {app_id: found[app_id].app_id for app_id in ids} == {app_id: app_id for app_id in ids}


def test_purge_empties_the_views_but_the_log_keeps_the_history(app_instance: object) -> None:
    be = backend(app_instance)
    for i in range(20):
        be._set_result(InvocationId(f"inv-{i}"), str(i))
        be._add_histories(
            [InvocationId(f"inv-{i}")], _history(f"inv-{i}", InvocationStatus.REGISTERED, datetime.now(UTC))
        )
    before = sum(end_offsets(app_instance).values())

    be.purge()

    store = projection(app_instance).store
    assert store.count(View.RESULTS) == 0 and store.count(View.HISTORY) == 0
    assert all(be.get_history(InvocationId(f"inv-{i}")) == [] for i in range(20))
    with pytest.raises(KeyError):
        be._get_result(InvocationId("inv-3"))
    assert be.app.app_id not in KafkaStateBackend.discover_app_infos()
    assert sum(end_offsets(app_instance).values()) == before + projection(app_instance).log.partitions

    be._set_result(InvocationId("after"), "still works")
    assert be._get_result(InvocationId("after")) == "still works"


def test_a_write_racing_a_purge_on_another_partition_is_purged_or_kept_never_half(
    app_instance: object,
) -> None:
    """Records written before a purge are gone after it, whatever partition they are on."""
    be = backend(app_instance)
    partitions = projection(app_instance).log.partitions
    ids = [f"race-{i}" for i in range(60)]
    assert len({partition_for(i, partitions) for i in ids}) == partitions
    for inv_id in ids:
        be._set_result(InvocationId(inv_id), "before")
    be.purge()
    assert projection(app_instance).store.count(View.RESULTS) == 0


def test_a_restarted_backend_applies_no_event_twice(app_instance: object) -> None:
    be = backend(app_instance)
    for i in range(200):
        be._set_result(InvocationId(f"r-{i}"), str(i))
    projection(app_instance).barrier.wait()  # every partition applied, not only r-199's
    applied_before = sum(projector_of(projection(app_instance)).state.applied.values())
    assert applied_before >= 200

    RUNTIME.close_app(be.topics)
    reopened = projection(app_instance)
    assert reopened.is_primary
    reopened.barrier.wait()
    assert projector_of(reopened).consumed == 0
    assert sum(projector_of(reopened).state.applied.values()) == applied_before
    assert be._get_result(InvocationId("r-42")) == "42"

    be._set_result(InvocationId("r-new"), "new")
    assert be._get_result(InvocationId("r-new")) == "new"
    assert projector_of(reopened).consumed == 1


def test_an_unreachable_broker_fails_clearly_within_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS")
    address = f"127.0.0.1:{free_port()}"
    builder = PynencBuilder().app_id(unique_app_id("unreachable")).kafka(bootstrap_servers=address, timeout=2)
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError) as caught:
        builder.build().state_backend._set_result(InvocationId("i"), "r")
    assert time.monotonic() - started < 10
    assert address in str(caught.value)
    assert "PYNENC__KAFKA_BOOTSTRAP_SERVERS" in str(caught.value)


def test_a_result_over_the_size_limit_is_refused_naming_size_and_setting(
    kafka_builder: PynencBuilder,
) -> None:
    app_instance = kafka_builder.kafka(max_message_bytes=1_000_000).build()
    be = backend(app_instance)
    be._set_result(InvocationId("small"), "fits")
    before = end_offsets(app_instance)
    with pytest.raises(EventTooLargeError) as caught:
        be._set_result(InvocationId("big"), "x" * 2_000_000)
    message = str(caught.value)
    assert re.search(r"2,000,\d{3} bytes encoded", message), message
    assert "max.message.bytes=1,000,000" in message and "PYNENC__KAFKA_MAX_MESSAGE_BYTES" in message
    assert "nothing was written" in message
    assert end_offsets(app_instance) == before
    with pytest.raises(KeyError):
        be._get_result(InvocationId("big"))


def test_bytes_that_are_not_our_events_are_skipped_counted_and_reported(
    app_instance: object, kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    be = backend(app_instance)
    proj = projection(app_instance)
    partition = partition_for("after-garbage", proj.log.partitions)
    start = end_offsets(app_instance)[partition]
    produce_raw(app_instance, partition, b"definitely not avro", kafka_bootstrap)
    produce_raw(app_instance, partition, b"\xc3\x01" + b"\x07" * 8 + b"unknown schema", kafka_bootstrap)
    with caplog.at_level(logging.WARNING, logger="pynenc_kafka.projector"):
        be._set_result(InvocationId("after-garbage"), "applied anyway")
        assert be._get_result(InvocationId("after-garbage")) == "applied anyway"
    assert projector_of(proj).state.skipped.get(partition) == 2
    assert f"partition {partition} offset {start}" in caplog.text
    assert f"partition {partition} offset {start + 1}" in caplog.text
    assert projector_of(proj).running


def test_many_apps_in_one_process_leak_no_threads_or_files(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_MAX_OPEN_PROJECTIONS", "4")

    def native_threads() -> int:
        return len(os.listdir("/proc/self/task"))

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    def one_app() -> None:
        app = PynencBuilder().app_id(unique_app_id("many")).kafka(bootstrap_servers=kafka_bootstrap).build()
        backend(app)._set_result(InvocationId("i"), "r")
        assert backend(app)._get_result(InvocationId("i")) == "r"

    for _ in range(6):  # warm up: the shared producer, admin client, 4 open projections
        one_app()
    threads, files = native_threads(), open_files()
    for _ in range(30):
        one_app()
    assert len(RUNTIME.open_projections()) <= 4
    assert native_threads() <= threads + 2, "threads grew with the number of apps"
    assert open_files() <= files + 8, "file handles grew with the number of apps"
    assert threading.active_count() < 40


def test_the_async_wait_methods_of_earlier_backends_remain_and_flush(app_instance: object) -> None:
    be = backend(app_instance)
    be._set_result(InvocationId("w"), "1")
    be.wait_for_all_async_operations()
    be.wait_for_invocation_async_operations(InvocationId("w"))
    assert projection(app_instance).clients.publisher.flush(0) == 0
    assert be._get_result(InvocationId("w")) == "1"
