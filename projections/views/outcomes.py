"""Outcomes: an invocation's result or exception, as pynenc serialized it.

Rows: ``results`` and ``exceptions``, invocation id -> the serialized text (UTF-8).
"""

from __future__ import annotations

import json
from typing import Any

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore
from pynenc_kafka.schemas.kinds import EventKind


def write_result(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the row of a ``ResultSet`` event."""
    batch.put(View.RESULTS, keys.text(p["invocation_id"]), p["serialized_result"].encode())


def write_exception(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the row of an ``ExceptionSet`` event."""
    batch.put(View.EXCEPTIONS, keys.text(p["invocation_id"]), p["serialized_exception"].encode())


WRITERS = {EventKind.RESULT_SET: write_result, EventKind.EXCEPTION_SET: write_exception}


def result(store: ViewStore, invocation_id: str) -> str | None:
    """The serialized result, or ``None``."""
    value = store.get(View.RESULTS, keys.text(invocation_id))
    return None if value is None else value.decode()


def exception(store: ViewStore, invocation_id: str) -> str | None:
    """The serialized exception, or ``None``."""
    value = store.get(View.EXCEPTIONS, keys.text(invocation_id))
    return None if value is None else value.decode()


def error_name(serialized_exception: str) -> str:
    """The exception class name pynenc put in a serialized exception (``""`` if none)."""
    try:
        return str(json.loads(serialized_exception).get("error_name", ""))
    except (ValueError, AttributeError):
        return ""
