"""``verify`` (a replay equals the live views) and ``lag`` (how far the live projection is behind)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer
from pynenc import Pynenc
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.projections import keys
from pynenc_kafka.projections.store import PROJECTED_VIEWS, View, ViewStore
from pynenc_kafka.schemas.codec import EventCodec
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.topology import partition_for
from tests.cli.support import record_status, register, run_cli
from tests.integration.support import backend, end_offsets, projection


def _busy_app(app: Pynenc, invocations: int = 12) -> None:
    be = backend(app)
    for i in range(invocations):
        register(be, f"inv-{i}", workflow_id="wf-1" if i % 3 == 0 else None)
        record_status(be, f"inv-{i}", InvocationStatus.REGISTERED)
        record_status(be, f"inv-{i}", InvocationStatus.RUNNING)
        if i % 4 == 0:
            be._set_exception(InvocationId(f"inv-{i}"), '{"error_name": "ValueError"}')
        else:
            be._set_result(InvocationId(f"inv-{i}"), str(i))
    be.store_workflow_sub_invocation(InvocationId("wf-1"), InvocationId("inv-3"))


def test_verify_passes_on_a_healthy_projection_even_across_a_purge(
    app_instance: Pynenc, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    _busy_app(app_instance)
    be.purge()
    _busy_app(app_instance, invocations=5)
    assert be._get_result(InvocationId("inv-1")) == "1"
    be.projection.barrier.wait()  # the count below is of a caught-up projection

    verified = run_cli(capsys, "verify", "--app", be.app.app_id)
    assert verified.code == 0, verified.out + verified.err
    assert "verify ok" in verified.out
    assert (
        f"({sum(end_offsets(app_instance).values()):,} events; {len(PROJECTED_VIEWS)} views" in verified.out
    )


def test_verify_names_the_view_and_key_a_tampered_projection_differs_in(
    app_instance: Pynenc, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    _busy_app(app_instance)
    assert be._get_result(InvocationId("inv-5")) == "5"
    folder = projection(app_instance).folder
    RUNTIME.close_app(be.topics)

    tampered = ViewStore(folder)
    try:
        batch = tampered.new_batch()
        batch.put(View.RESULTS, keys.text("inv-5"), b"forged")
        tampered.write(batch)
    finally:
        tampered.close()

    verified = run_cli(capsys, "verify", "--app", be.app.app_id)
    assert verified.code == 1
    assert "view 'results' differs" in verified.out
    assert "'inv-5' (live b'forged', replay b'5')" in verified.out
    assert "invocations" not in verified.out  # only the tampered view is named


def test_a_lagging_projection_still_verifies_and_lag_counts_what_it_misses(
    app_instance: Pynenc, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    _busy_app(app_instance, invocations=4)
    assert be._get_result(InvocationId("inv-1")) == "1"
    log = projection(app_instance).log
    ends = end_offsets(app_instance)
    RUNTIME.close_app(be.topics)

    # five more events arrive while no projector runs on this host
    codec, producer = EventCodec(), Producer({"bootstrap.servers": kafka_bootstrap})
    late = partition_for("late", log.partitions)
    for i in range(5):
        payload = {"invocation_id": "late", "serialized_result": str(i)}
        value = codec.encode(
            be.app.app_id, EventKind.RESULT_SET, payload, str(uuid.uuid4()), datetime.now(UTC)
        )
        producer.produce(log.name, value, b"late", partition=late)
    assert producer.flush(15) == 0

    lag = run_cli(capsys, "lag", "--app", be.app.app_id, "--json")
    assert lag.code == 0, lag.err
    report = lag.json()
    assert report["total_lag"] == 5
    rows = {row["partition"]: row for row in report["partitions"]}
    assert rows[late]["end_offset"] == ends[late] + 5
    assert rows[late]["applied_offset"] == ends[late] and rows[late]["lag"] == 5
    assert all(row["skipped_events"] == 0 for row in rows.values())
    assert sum(row["applied_events"] for row in rows.values()) == sum(ends.values())

    table = run_cli(capsys, "lag", "--app", be.app.app_id)
    assert table.code == 0 and "5 records behind" in table.out and "skipped events" in table.out

    verified = run_cli(capsys, "verify", "--app", be.app.app_id)
    assert verified.code == 0, verified.out + verified.err


def test_lag_counts_records_the_projection_skipped(
    app_instance: Pynenc, kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(projection(app_instance).log.name, b"not an event", b"raw", partition=0)
    assert producer.flush(15) == 0
    list(be.get_invocation_ids_by_workflow())  # the read barrier waits until every partition is applied

    report = run_cli(capsys, "lag", "--app", be.app.app_id, "--json").json()
    assert report["total_lag"] == 0
    assert [row["skipped_events"] for row in report["partitions"]][0] == 1


def test_verify_on_a_damaged_live_folder_is_a_one_line_error_not_a_verdict(
    app_instance: Pynenc, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    for i in range(3000):
        be._set_result(InvocationId(f"inv-{i}"), str(i) + "x" * 100)
    assert be._get_result(InvocationId("inv-2999")).startswith("2999")
    live = projection(app_instance)
    live.store._db.flush()
    folder = live.folder
    RUNTIME.close_app(live.topics)
    (sst,) = sorted(folder.glob("*.sst"), key=lambda p: p.stat().st_size)[-1:]
    data = bytearray(sst.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    sst.write_bytes(bytes(data))

    run = run_cli(capsys, "verify", "--app", be.app.app_id)
    assert run.code == 2, run
    assert "verify ok" not in run.out and "FAILED" not in run.out
    (line,) = run.err.strip().splitlines()
    assert str(folder) in line and "rebuilt from the log" in line
