"""The view store: scans are whole or fail loudly; batches hold rows of any view."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.errors import DamagedProjectionError
from pynenc_kafka.projections.store import View, ViewStore


def _fill(path: Path, rows: int) -> None:
    store = ViewStore(path)
    batch = store.new_batch()
    for i in range(rows):
        batch.put(View.HISTORY, keys.joined("inv", f"{i:08d}"), b"x" * 200)
    store.write(batch)
    store._db.flush()  # into an .sst file, where a damaged block can be
    store.close()


def test_a_scan_reads_every_row_in_key_order(tmp_path: Path) -> None:
    _fill(tmp_path / "views", 500)
    store = ViewStore(tmp_path / "views")
    found = [key for key, _ in store.scan_prefix(View.HISTORY, keys.prefix("inv"))]
    assert found == sorted(found) and len(found) == 500
    assert store.count(View.HISTORY) == 500 and store.count(View.RESULTS) == 0
    store.close()


def test_a_damaged_block_fails_the_scan_instead_of_ending_it_early(tmp_path: Path) -> None:
    _fill(tmp_path / "views", 20_000)
    (sst,) = sorted((tmp_path / "views").glob("*.sst"), key=lambda p: p.stat().st_size)[-1:]
    data = bytearray(sst.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    sst.write_bytes(bytes(data))
    store = ViewStore(tmp_path / "views")
    with pytest.raises(DamagedProjectionError, match="delete it and it is rebuilt from the log"):
        list(store.scan(View.HISTORY))
    store.close()
