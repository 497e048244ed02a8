"""``export`` (the events as an Avro object container file) and ``apps`` (the registry)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fastavro import reader
from pynenc import Pynenc
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.schemas import NAMESPACE
from tests.cli.support import moment_between, record_status, register, run_cli
from tests.integration.support import backend, end_offsets, projection


def _read(path: Path) -> tuple[list[dict], dict[str, str]]:
    with path.open("rb") as f:
        avro = reader(f, return_record_name=True)
        records = [r for r in avro if isinstance(r, dict)]
        return records, dict(avro.metadata)


def test_export_writes_every_event_as_avro_readable_without_pynenc_kafka(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    for i in range(10):
        register(be, f"inv-{i}")
        record_status(be, f"inv-{i}", InvocationStatus.RUNNING)
    cut = moment_between()
    for i in range(10):
        be._set_result(InvocationId(f"inv-{i}"), str(i))

    out = tmp_path / "events.avro"
    run = run_cli(capsys, "export", "--app", be.app.app_id, "--out", str(out))
    assert run.code == 0, run.err
    records, metadata = _read(out)
    assert len(records) == sum(end_offsets(app_instance).values())
    kinds = Counter(r["payload"][0].rsplit(".", 1)[-1] for r in records)
    assert kinds["InvocationRegistered"] == 10 and kinds["StatusRecorded"] == 10 and kinds["ResultSet"] == 10
    assert {r["app_id"] for r in records} == {be.app.app_id}
    results = {
        r["payload"][1]["invocation_id"]: r["payload"][1]["serialized_result"]
        for r in records
        if r["payload"][0] == f"{NAMESPACE}.ResultSet"
    }
    assert results == {f"inv-{i}": str(i) for i in range(10)}
    assert metadata["pynenc_kafka.app_id"] == be.app.app_id
    assert metadata["pynenc_kafka.topic"] == projection(app_instance).log.name
    assert f"exported {len(records):,} events" in run.out

    early = tmp_path / "early.avro"
    assert (
        run_cli(
            capsys, "export", "--app", be.app.app_id, "--out", str(early), "--until", cut.isoformat()
        ).code
        == 0
    )
    early_records, early_metadata = _read(early)
    assert len(early_records) == len(records) - 10
    assert not any(r["payload"][0] == f"{NAMESPACE}.ResultSet" for r in early_records)
    assert early_metadata["pynenc_kafka.until"] == cut.isoformat()
    assert not list(tmp_path.glob("*.partial"))


def test_apps_lists_registered_apps_with_their_event_logs(
    app_instance: Pynenc, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    log = projection(app_instance).log

    listed = run_cli(capsys, "apps", "--json")
    assert listed.code == 0, listed.err
    apps = {a["app_id"]: a for a in listed.json()["apps"]}
    assert apps[be.app.app_id] == {"app_id": be.app.app_id, "topic": log.name, "partitions": log.partitions}

    table = run_cli(capsys, "apps")
    assert table.code == 0
    line = next(line for line in table.out.splitlines() if line.startswith(be.app.app_id))
    assert line.split()[-2:] == [log.name, str(log.partitions)]
