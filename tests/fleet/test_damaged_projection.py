"""Damaged projection folders: never a partial or wrong answer, a clear error, then a rebuild from the log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.projections.errors import DamagedProjectionError
from tests.conftest import unique_app_id
from tests.integration.support import backend, projection

RESULTS = 4000


def _written_and_closed(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[KafkaStateBackend, Path]:
    """An app whose views hold ``RESULTS`` results in RocksDB files, closed (as after a restart)."""
    monkeypatch.setenv("PYNENC__KAFKA_PROJECTION_DIR", str(tmp_path / "projections"))
    be = backend(
        PynencBuilder().app_id(unique_app_id("damaged")).kafka(bootstrap_servers=kafka_bootstrap).build()
    )
    for first in range(0, RESULTS, 500):
        be._set_result(InvocationId(f"inv-{first}"), "x" * 100)
        for i in range(first + 1, first + 500):
            be._set_result(InvocationId(f"inv-{i}"), f"{i}-" + "x" * 100)
    assert be._get_result(InvocationId(f"inv-{RESULTS - 1}")).startswith(f"{RESULTS - 1}-")
    opened = projection(be.app)
    opened.store._db.flush()  # into .sst files, where blocks can be damaged
    RUNTIME.close_app(opened.topics)
    return be, opened.folder


def _expected(i: int) -> str:
    return "x" * 100 if i % 500 == 0 else f"{i}-" + "x" * 100


def _damage(path: Path, flip: Callable[[bytearray], None]) -> None:
    data = bytearray(path.read_bytes())
    flip(data)
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_an_sst_fail_reads_clearly_then_the_views_are_rebuilt(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    be, folder = _written_and_closed(kafka_bootstrap, tmp_path, monkeypatch)
    (sst,) = sorted(folder.glob("*.sst"), key=lambda p: p.stat().st_size)[-1:]
    _damage(sst, lambda d: d.__setitem__(slice(len(d) // 2, len(d) // 2 + 64), bytes(64)))

    errors = 0
    for i in range(RESULTS):  # every answer is right, or a clear error: never a wrong one
        try:
            assert be._get_result(InvocationId(f"inv-{i}")) == _expected(i)
        except DamagedProjectionError as exc:
            assert str(folder) in str(exc) and "rebuilt from the log" in str(exc)
            errors += 1
            break
    assert errors == 1, "the damaged block was never read"
    assert all(be._get_result(InvocationId(f"inv-{i}")) == _expected(i) for i in range(RESULTS))


@pytest.mark.parametrize("damage", ["missing sst", "damaged MANIFEST"])
def test_a_folder_that_cannot_be_opened_is_rebuilt_from_the_log(
    damage: str,
    kafka_bootstrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    be, folder = _written_and_closed(kafka_bootstrap, tmp_path, monkeypatch)
    if damage == "missing sst":
        for sst in folder.glob("*.sst"):
            sst.unlink()
    else:
        (manifest,) = folder.glob("MANIFEST-*")
        _damage(manifest, lambda d: d.__setitem__(slice(0, 32), b"\xff" * 32))
    with caplog.at_level(logging.WARNING, logger="pynenc_kafka.core.runtime"):
        assert all(be._get_result(InvocationId(f"inv-{i}")) == _expected(i) for i in range(0, RESULTS, 7))
    assert "rebuilding it from the log" in caplog.text and str(folder) in caplog.text
