"""Client data: the large serialized values pynenc's client data store keeps by reference.

Rows: ``client_data``, content-hash reference key -> the serialized value (UTF-8). A key names
its content, so a value stored twice writes the same row: storing is idempotent.
"""

from __future__ import annotations

from typing import Any

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore
from pynenc_kafka.schemas.kinds import EventKind


def write_client_data(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the row of a ``ClientDataStored`` event."""
    batch.put(View.CLIENT_DATA, keys.text(p["key"]), p["value"].encode())


WRITERS = {EventKind.CLIENT_DATA_STORED: write_client_data}


def value(store: ViewStore, key: str) -> str | None:
    """The serialized value stored under ``key``, or ``None``."""
    found = store.get(View.CLIENT_DATA, keys.text(key))
    return None if found is None else found.decode()
