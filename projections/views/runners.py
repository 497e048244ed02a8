"""Runner contexts: ``runner_contexts``, runner id -> :class:`RunnerContextRow` (JSON)."""

from __future__ import annotations

from typing import Any, TypedDict

from pynenc_kafka.projections import keys, row_json
from pynenc_kafka.projections.store import View, ViewBatch, ViewStore, dump
from pynenc_kafka.schemas.kinds import EventKind


class RunnerContextRow(TypedDict):
    """One runner context; its parent is named by id."""

    runner_id: str
    runner_cls: str
    parent_runner_id: str | None
    pid: int
    hostname: str
    thread_id: int


def write_context(batch: ViewBatch, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """Stage the row of a ``RunnerContextStored`` event."""
    row: RunnerContextRow = {
        "runner_id": p["runner_id"],
        "runner_cls": p["runner_cls"],
        "parent_runner_id": p["parent_runner_id"],
        "pid": p["pid"],
        "hostname": p["hostname"],
        "thread_id": p["thread_id"],
    }
    batch.put(View.RUNNER_CONTEXTS, keys.text(p["runner_id"]), dump(row))


WRITERS = {EventKind.RUNNER_CONTEXT_STORED: write_context}


def context(store: ViewStore, runner_id: str) -> RunnerContextRow | None:
    """The runner's context row, or ``None``."""
    return store.get_json(View.RUNNER_CONTEXTS, keys.text(runner_id))


def matching(store: ViewStore, partial_id: str) -> list[RunnerContextRow]:
    """Every context whose runner id contains ``partial_id``, in key order."""
    return [row_json.load(v) for k, v in store.scan(View.RUNNER_CONTEXTS) if partial_id in k.decode()]
