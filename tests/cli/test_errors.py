"""Bad input and an unreachable cluster: one clear line on stderr, exit 2, no traceback, no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pynenc import Pynenc
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.cli.main import parse_moment
from pynenc_kafka.cli.session import AuditSession
from pynenc_kafka.core.conf import ConfigStateBackendKafka
from pynenc_kafka.schemas.topology import AppTopics
from tests.cli.support import record_status, run_cli
from tests.conftest import unique_app_id
from tests.integration.support import REPO, backend
from tests.kafka_broker import free_port


def test_an_unknown_app_is_named_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app_id = unique_app_id("never-existed")
    for argv in (
        ["replay", "--app", app_id, "--into", str(tmp_path / "r")],
        ["trail", "inv-1", "--app", app_id],
        ["export", "--app", app_id, "--out", str(tmp_path / "e.avro")],
        ["verify", "--app", app_id],
        ["lag", "--app", app_id],
    ):
        run = run_cli(capsys, *argv)
        assert run.code == 2, argv
        assert run.err.count("\n") == 1 and "Traceback" not in run.err
        assert f"app {app_id!r} has no event log on the cluster" in run.err
        assert "pynenc-kafka apps" in run.err
    assert not (tmp_path / "r").exists() and not (tmp_path / "e.avro").exists()
    session = AuditSession(ConfigStateBackendKafka())
    assert AppTopics(session.prefix, app_id).events not in session.topic_partitions()  # nothing was created


def test_an_empty_log_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app_id = unique_app_id("empty-log")
    session = AuditSession(ConfigStateBackendKafka())
    session.clients.topics.ensure(AppTopics(session.prefix, app_id).events, 3)

    run = run_cli(capsys, "replay", "--app", app_id, "--into", str(tmp_path / "r"))
    assert run.code == 2 and "is empty: nothing to read" in run.err
    assert not (tmp_path / "r").exists()


def test_a_malformed_timestamp_is_refused_before_anything_is_read(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    for bad in ("yesterday", "2024-13-01T00:00:00", "12:00 tomorrow"):
        run = run_cli(capsys, "replay", "--app", be.app.app_id, "--into", str(tmp_path / "r"), "--until", bad)
        assert run.code == 2
        assert run.err.strip() == (
            f"pynenc-kafka replay: error: malformed timestamp {bad!r}: use ISO-8601, e.g. 2024-05-01T12:30:00Z "
            "or '2024-05-01 12:30:00.250+02:00' (no offset means UTC)"
        )
    assert not (tmp_path / "r").exists()

    for early in ("2001-01-01", "1969-12-31T23:59:59.998+00:00"):
        before_anything = run_cli(
            capsys, "replay", "--app", be.app.app_id, "--into", str(tmp_path / "r"), "--until", early
        )
        assert before_anything.code == 2
        assert "no event of app" in before_anything.err
        assert parse_moment(early).isoformat() in before_anything.err
    assert not (tmp_path / "r").exists()


def test_a_folder_that_cannot_be_created_is_one_line_too(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    run = run_cli(capsys, "replay", "--app", be.app.app_id, "--into", str(a_file / "sub"))
    assert run.code == 2 and run.err.count("\n") == 1 and "Not a directory" in run.err


def test_an_unreachable_broker_fails_fast_with_one_line_and_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-do-not-print"
    options = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}
    monkeypatch.setenv(
        "PYNENC__KAFKA_CLIENT_OPTIONS", json.dumps({**options, "sasl.username": "u", "sasl.password": secret})
    )
    nowhere = f"127.0.0.1:{free_port()}"
    connection = ["--bootstrap-servers", nowhere, "--timeout", "1.5"]
    for argv in (
        ["lag", "--app", "some-app", *connection],
        ["apps", *connection],
        [*connection, "replay", "--app", "a", "--into", str(tmp_path / "r")],  # options before the command
    ):
        run = run_cli(capsys, *argv)
        assert run.code == 2, argv
        assert run.err.count("\n") == 1 and "Traceback" not in run.err, run.err
        assert "Kafka did not answer" in run.err and f"bootstrap.servers={nowhere}" in run.err
        assert secret not in run.err + run.out and "<redacted>" in run.err


def test_the_console_script_runs_and_exits_with_the_code(tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "pynenc_kafka.cli", "apps", "--bootstrap-servers", nowhere, "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ},
    )
    assert done.returncode == 2
    assert done.stderr.startswith("pynenc-kafka apps: error: could not") and done.stderr.count("\n") == 1
    assert done.stdout == ""

    usage = subprocess.run(
        [sys.executable, "-m", "pynenc_kafka.cli", "replay", "--app", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 2 and "--into" in usage.stderr


def test_verify_and_lag_need_a_projection_on_this_host(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    elsewhere = str(tmp_path / "no-projections-here")
    for command in ("verify", "lag"):
        run = run_cli(capsys, command, "--app", be.app.app_id, "--projection-dir", elsewhere)
        assert run.code == 2
        assert f"this host has no projection of app {be.app.app_id!r}" in run.err
        assert "--projection-dir" in run.err and run.err.count("\n") == 1
