"""The app's info: ``app_info``, app id -> pynenc's ``AppInfo`` JSON (UTF-8)."""

from __future__ import annotations

from typing import Any

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore
from pynenc_kafka.schemas.kinds import EventKind


def write_app_info(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the row of an ``AppInfoStored`` event."""
    batch.put(View.APP_INFO, keys.text(app_id), p["app_info_json"].encode())


WRITERS = {EventKind.APP_INFO_STORED: write_app_info}


def app_info_json(store: ViewStore, app_id: str) -> str | None:
    """The app's ``AppInfo`` JSON, or ``None``."""
    value = store.get(View.APP_INFO, keys.text(app_id))
    return None if value is None else value.decode()
