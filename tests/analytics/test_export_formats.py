"""``export``: incremental folders, old logs with duplicate registrations, files, standard output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from fastavro import reader
from pynenc import Pynenc, PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.audit.export_dataset import MANIFEST_NAME
from pynenc_kafka.schemas.kinds import EventKind
from pynenc_kafka.schemas.record import decode_record
from pynenc_kafka.schemas.topology import AppTopics
from tests.analytics.conftest import query
from tests.cli.support import moment_between, record_status, register, run_cli
from tests.integration.support import REPO, backend, end_offsets

KEY_COLUMNS = 'event_type, partition, "offset", event_id'


def write_lives(app: Pynenc, first: int, count: int) -> None:
    """Register, run and finish ``count`` invocations."""
    be = backend(app)
    for i in range(first, first + count):
        register(be, f"inv-{i}")
        record_status(be, f"inv-{i}", InvocationStatus.RUNNING)
        be._set_result(InvocationId(f"inv-{i}"), str(i))


def parquet_rows(folder: Path, part: str = "*") -> list[tuple]:
    """The event rows of an export folder's parts, all types, ordered by position in the log."""
    return query(
        f"SELECT {KEY_COLUMNS} FROM read_parquet('{folder}/*/{part}.parquet', union_by_name=true) "
        'ORDER BY partition, "offset"'
    )


def test_an_incremental_export_writes_only_new_events_and_its_parts_equal_a_full_export(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_id = app_instance.app_id
    folder = tmp_path / "events"
    write_lives(app_instance, 0, 10)
    first = run_cli(capsys, "export", "--app", app_id, "--format", "parquet", "--out", str(folder))
    assert first.code == 0, first.err
    after_first = parquet_rows(folder)
    assert len(after_first) == sum(end_offsets(app_instance).values())

    write_lives(app_instance, 10, 5)
    second = run_cli(capsys, "export", "--app", app_id, "--format", "parquet", "--out", str(folder))
    assert second.code == 0, second.err
    new = parquet_rows(folder, "part-00001")
    assert len(new) == 15  # 5 registrations, 5 statuses, 5 results: nothing of the first run again
    assert sorted(new) == sorted(set(parquet_rows(folder)) - set(after_first))

    full = tmp_path / "full"
    assert run_cli(capsys, "export", "--app", app_id, "--format", "parquet", "--out", str(full)).code == 0
    assert parquet_rows(folder) == parquet_rows(full)
    assert len(parquet_rows(full)) == sum(end_offsets(app_instance).values())
    columns = "* EXCLUDE (filename)"
    for kind in ("InvocationRegistered", "StatusRecorded", "ResultSet"):
        parts = query(f"SELECT {columns} FROM read_parquet('{folder}/{kind}/*.parquet', filename=true) "
                           "ORDER BY partition, \"offset\"")  # fmt: skip
        whole = query(f"SELECT {columns} FROM read_parquet('{full}/{kind}/*.parquet', filename=true) "
                           "ORDER BY partition, \"offset\"")  # fmt: skip
        assert parts == whole

    again = run_cli(capsys, "export", "--app", app_id, "--format", "parquet", "--out", str(folder))
    assert again.code == 0 and "nothing new to export" in again.out
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert [p["events"] for p in manifest["parts"]] == [len(after_first), 15]
    assert manifest["next_offsets"] == {str(p): o for p, o in end_offsets(app_instance).items()}


def test_a_run_that_died_before_its_manifest_leaves_no_duplicate_part(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "events"
    write_lives(app_instance, 0, 3)
    assert (
        run_cli(
            capsys, "export", "--app", app_instance.app_id, "--format", "avro", "--out", f"{folder}/"
        ).code
        == 0
    )
    orphan = folder / "part-00001.avro"  # a second run killed after writing its file, before its manifest
    orphan.write_bytes((folder / "part-00000.avro").read_bytes())
    write_lives(app_instance, 3, 2)
    assert (
        run_cli(
            capsys, "export", "--app", app_instance.app_id, "--format", "avro", "--out", f"{folder}/"
        ).code
        == 0
    )
    records = [r for part in sorted(folder.glob("part-*.avro")) for r in reader(part.open("rb"))]
    positions = [(r["partition"], r["offset"]) for r in records if isinstance(r, dict)]
    assert len(positions) == len(set(positions)) == sum(end_offsets(app_instance).values())


def test_an_old_log_with_duplicate_registrations_counts_each_invocation_once(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    for i in range(6):
        payload = {
            "invocation_id": f"old-{i}",
            "call_id_key": f"tests.cli.audited_task:args-{i}",
            "serialized_arguments": {"x": str(i)},
            "parent_invocation_id": None,
            "parent_event_id": None,
            "workflow": None,
        }
        # What earlier versions wrote for every invocation: the same registration twice.
        be._publish([(EventKind.INVOCATION_REGISTERED, payload), (EventKind.INVOCATION_REGISTERED, payload)])
        record_status(be, f"old-{i}", InvocationStatus.SUCCESS)
    app_id = app_instance.app_id
    events, table = tmp_path / "events", tmp_path / "invocations.parquet"
    assert run_cli(capsys, "export", "--app", app_id, "--format", "parquet", "--out", str(events)).code == 0
    assert run_cli(capsys, "export", "--app", app_id, "--table", "invocations", "--format", "parquet",
                   "--out", str(table)).code == 0  # fmt: skip
    registered = f"'{events}/InvocationRegistered/*.parquet'"
    counted = query(f"SELECT count(*), count(DISTINCT invocation_id) FROM {registered}")
    assert counted == [(12, 6)]
    assert query(f"SELECT count(*), count(DISTINCT invocation_id) FROM '{table}'") == [(6, 6)]
    per_status = query(f"SELECT final_status, count(*) FROM '{table}' GROUP BY ALL")
    assert per_status == [("success", 6)]


def test_avro_events_carry_their_type_and_position_and_go_to_standard_output(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lives(app_instance, 0, 4)
    done = subprocess.run(
        [sys.executable, "-m", "pynenc_kafka.cli", "export", "--app", app_instance.app_id, "--out", "-"],
        capture_output=True,
        cwd=REPO,
        env=os.environ,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"exported 13 events" in done.stderr  # app info + 4 x (registration, status, result)
    out = tmp_path / "events.avro"
    out.write_bytes(done.stdout)
    records = [r for r in reader(out.open("rb")) if isinstance(r, dict)]
    # Each partition in log order; partitions interleave as the consumer hands them over.
    by_partition: dict[int, list[int]] = {}
    for r in records:
        by_partition.setdefault(r["partition"], []).append(r["offset"])
    assert sum(map(len, by_partition.values())) == 13
    for offsets in by_partition.values():
        assert offsets == sorted(set(offsets))
    assert {r["event_type"] for r in records} == {
        "AppInfoStored",
        "InvocationRegistered",
        "StatusRecorded",
        "ResultSet",
    }
    again = run_cli(capsys, "export", "--app", app_instance.app_id, "--out", str(out))
    assert again.code == 2 and "--force" in again.err
    assert out.read_bytes() == done.stdout
    forced = run_cli(capsys, "export", "--app", app_instance.app_id, "--out", str(out), "--force")
    assert forced.code == 0, forced.err


def test_parquet_without_pyarrow_is_one_clear_line(
    app_instance: Pynenc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lives(app_instance, 0, 1)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what `import pyarrow` meets without the extra
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    run = run_cli(
        capsys, "export", "--app", app_instance.app_id, "--format", "parquet", "--out", str(tmp_path / "x")
    )
    assert run.code == 2
    assert "pip install 'pynenc-kafka[analytics]'" in run.err and len(run.err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_a_folder_of_another_apps_export_is_refused(
    app_instance: Pynenc, kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lives(app_instance, 0, 1)
    folder = tmp_path / "events"
    assert (
        run_cli(
            capsys, "export", "--app", app_instance.app_id, "--format", "parquet", "--out", str(folder)
        ).code
        == 0
    )
    other = f"other-{uuid.uuid4().hex[:8]}"
    other_app = PynencBuilder().app_id(other).kafka(bootstrap_servers=kafka_bootstrap).build()
    record_status(backend(other_app), "x", InvocationStatus.RUNNING)
    refused = run_cli(capsys, "export", "--app", other, "--format", "parquet", "--out", str(folder))
    assert refused.code == 2 and "--force" in refused.err
    assert (
        run_cli(capsys, "export", "--app", other, "--format", "parquet", "--out", str(folder), "--force").code
        == 0
    )
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["log"]["app_id"] == other and len(manifest["parts"]) == 1
    assert not any(p.name.startswith("part-") and p.parent.name == "ResultSet" for p in folder.rglob("*"))


def test_since_starts_the_export_at_a_moment(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lives(app_instance, 0, 3)
    moment = moment_between()
    write_lives(app_instance, 3, 2)
    out = tmp_path / "late.avro"
    assert (
        run_cli(
            capsys, "export", "--app", app_instance.app_id, "--out", str(out), "--since", moment.isoformat()
        ).code
        == 0
    )
    records = [r for r in reader(out.open("rb")) if isinstance(r, dict)]
    assert sorted(r["payload"]["invocation_id"] for r in records if r["event_type"] == "ResultSet") == [
        "inv-3",
        "inv-4",
    ]


def test_a_plain_confluent_kafka_consumer_decodes_the_log_with_decode_record(
    app_instance: Pynenc, kafka_bootstrap: str
) -> None:
    write_lives(app_instance, 0, 3)
    topic = AppTopics(os.environ["PYNENC__KAFKA_TOPIC_PREFIX"], app_instance.app_id).events
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"analytics-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    decoded: list[tuple[str, dict, dict]] = []
    deadline = time.monotonic() + 60
    try:
        while len(decoded) < sum(end_offsets(app_instance).values()) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            decoded.append(decode_record(message.value()))
    finally:
        consumer.close()
    types = Counter(event_type for event_type, _, _ in decoded)
    assert types == Counter(
        {"AppInfoStored": 1, "InvocationRegistered": 3, "StatusRecorded": 3, "ResultSet": 3}
    )
    assert {envelope["app_id"] for _, envelope, _ in decoded} == {app_instance.app_id}
    results = {p["invocation_id"]: p["serialized_result"] for t, _, p in decoded if t == "ResultSet"}
    assert results == {"inv-0": "0", "inv-1": "1", "inv-2": "2"}
