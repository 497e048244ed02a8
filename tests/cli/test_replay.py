"""``replay`` and ``show``: the views as of any moment of the log, rebuilt from the log alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pynenc import Pynenc
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.audit.replay import MARKER_NAME
from pynenc_kafka.projections.store import View
from tests.cli.support import folder_digests, moment_between, record_status, register, run_cli
from tests.integration.support import backend


def test_a_replay_until_a_moment_shows_the_state_as_of_then(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    app_id = be.app.app_id
    register(be, "inv-1")
    for status in (InvocationStatus.REGISTERED, InvocationStatus.PENDING, InvocationStatus.RUNNING):
        record_status(be, "inv-1", status)
    while_running = moment_between()
    be._set_result(InvocationId("inv-1"), '"the answer"')
    record_status(be, "inv-1", InvocationStatus.SUCCESS)

    assert be._get_result(InvocationId("inv-1")) == '"the answer"'
    assert be.get_history(InvocationId("inv-1"))[-1].status_record.status == InvocationStatus.SUCCESS

    then = tmp_path / "then"
    replay = run_cli(
        capsys, "replay", "--app", app_id, "--into", str(then), "--until", while_running.isoformat()
    )
    assert replay.code == 0, replay.err
    assert "as of " + while_running.isoformat() in replay.out
    assert replay.err == ""  # no progress bar off a terminal

    shown = run_cli(capsys, "show", "inv-1", "--from", str(then), "--json")
    assert shown.code == 0, shown.err
    snapshot = shown.json()
    assert snapshot["status"] == InvocationStatus.RUNNING.value
    assert [h["status"] for h in snapshot["history"]] == ["registered", "pending", "running"]
    assert snapshot["result"] is None
    assert snapshot["as_of"] == while_running.isoformat()
    assert snapshot["invocation"]["call_id_key"].endswith(":args-inv-1")

    now = tmp_path / "now"
    assert run_cli(capsys, "replay", "--app", app_id, "--into", str(now)).code == 0
    final = run_cli(capsys, "show", "inv-1", "--from", str(now))
    assert final.code == 0
    assert "status:    success" in final.out and '"the answer"' in final.out


def test_replaying_twice_into_a_folder_equals_replaying_once(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    app_id = be.app.app_id
    for i in range(30):
        register(be, f"inv-{i}")
        record_status(be, f"inv-{i}", InvocationStatus.REGISTERED)
    early = moment_between()
    for i in range(30):
        be._set_result(InvocationId(f"inv-{i}"), str(i))
        record_status(be, f"inv-{i}", InvocationStatus.SUCCESS)

    once, twice = tmp_path / "once", tmp_path / "twice"
    assert run_cli(capsys, "replay", "--app", app_id, "--into", str(once)).code == 0
    assert run_cli(capsys, "replay", "--app", app_id, "--into", str(twice)).code == 0
    again = run_cli(capsys, "replay", "--app", app_id, "--into", str(twice))
    assert again.code == 0 and "resuming" in again.out and "replayed 0 records" in again.out
    assert folder_digests(twice) == folder_digests(once)
    fresh = run_cli(capsys, "replay", "--app", app_id, "--into", str(twice), "--fresh")
    assert fresh.code == 0 and "resuming" not in fresh.out and "replayed 0 records" not in fresh.out
    assert folder_digests(twice) == folder_digests(once)
    assert folder_digests(once)[View.RESULTS].rows == 30

    # a replay to an earlier moment into the same folder starts over: it equals a fresh one
    fresh_early = tmp_path / "fresh-early"
    assert (
        run_cli(
            capsys, "replay", "--app", app_id, "--into", str(fresh_early), "--until", early.isoformat()
        ).code
        == 0
    )
    assert (
        run_cli(capsys, "replay", "--app", app_id, "--into", str(twice), "--until", early.isoformat()).code
        == 0
    )
    assert folder_digests(twice) == folder_digests(fresh_early)
    assert folder_digests(fresh_early)[View.RESULTS].rows == 0

    # and resuming from the earlier moment to the end equals a replay of the whole log at once
    assert run_cli(capsys, "replay", "--app", app_id, "--into", str(twice)).code == 0
    assert folder_digests(twice) == folder_digests(once)
    marker = json.loads((twice / MARKER_NAME).read_text())
    assert marker["complete"] is True and marker["until"] is None and marker["source"]["app_id"] == app_id


def test_replay_refuses_a_folder_that_is_not_a_replay_of_the_app(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("precious")

    refused = run_cli(capsys, "replay", "--app", be.app.app_id, "--into", str(busy))
    assert refused.code == 2
    assert "is not empty and is not a pynenc-kafka replay" in refused.err
    assert (busy / "notes.txt").read_text() == "precious" and len(list(busy.iterdir())) == 1

    other = tmp_path / "other"
    assert run_cli(capsys, "replay", "--app", be.app.app_id, "--into", str(other)).code == 0
    marker = json.loads((other / MARKER_NAME).read_text())
    marker["source"]["app_id"] = "some-other-app"
    (other / MARKER_NAME).write_text(json.dumps(marker))
    foreign = run_cli(capsys, "replay", "--app", be.app.app_id, "--into", str(other))
    assert foreign.code == 2 and "holds a replay of app 'some-other-app'" in foreign.err


def test_show_tells_an_unknown_invocation_and_a_folder_that_is_no_projection(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    record_status(be, "inv-1", InvocationStatus.REGISTERED)
    folder = tmp_path / "replay"
    assert run_cli(capsys, "replay", "--app", be.app.app_id, "--into", str(folder)).code == 0

    unknown = run_cli(capsys, "show", "never-ran", "--from", str(folder))
    assert unknown.code == 1 and "never-ran is unknown as of the end of the log" in unknown.out

    empty = tmp_path / "empty"
    empty.mkdir()
    not_projection = run_cli(capsys, "show", "inv-1", "--from", str(empty))
    assert not_projection.code == 2 and "is not a projection folder" in not_projection.err
