"""What pynmon cannot serve on pynenc's own SQLite stack either: not ours to fix, and proven here.

If pynenc fixes one, its test here fails: drop the route from ``PYNENC_UNREACHABLE`` in
test_pynmon_pages.py, and the Kafka app's page is visited like every other.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import unique_app_id
from tests.monitor.pynmon_server import running_pynmon
from tests.monitor.test_pynmon_pages import PYNENC_UNREACHABLE


def status_and_body(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_invocations_table_is_shadowed_on_pynencs_sqlite_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pynmon registers ``/invocations/{invocation_id}`` before ``/invocations/table``, so the table's
    refresh (the Refresh button of the invocations page) asks for an invocation named "table"."""
    assert "/invocations/table" in PYNENC_UNREACHABLE
    monkeypatch.setenv("PYNMON_SQLITE_DB", str(tmp_path / "pynenc.db"))
    app_id = unique_app_id("pynmon-sqlite")
    with running_pynmon(app_id, tmp_path / "pynmon.log", app_module="tests.monitor.sqlite_app") as base_url:
        assert status_and_body(f"{base_url}/invocations/")[0] == 200
        status, body = status_and_body(f"{base_url}/invocations/table")
    assert status == 404
    assert "Invocation Not Found" in body
    assert "No invocation found with ID: table" in (tmp_path / "pynmon.log").read_text(errors="replace")
