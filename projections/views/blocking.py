"""Blocking control: which invocations wait for which, and which block others without waiting.

The graph spans invocations, so its events travel on the app's own partition, in one order.
Rows of ``orch_blocking`` (set members unless said):

- ``for \\0 <caller> \\0 <waited>``: ``caller`` waits for ``waited``;
- ``by \\0 <waited> \\0 <caller>``: the same edge, found from the waited side;
- ``ready \\0`` + position + ``<id>``: ``id`` blocks others and waits for nothing, ordered by the
  position of the event that made it so (oldest first);
- ``ready-at \\0 <id>`` -> that position, to find the ``ready`` row again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynenc_kafka.projections import keys
from pynenc_kafka.projections.staged import StagedView
from pynenc_kafka.projections.store import View, ViewStore
from pynenc_kafka.schemas.kinds import EventKind


def _ends(view: StagedView, side: str, invocation_id: str) -> list[str]:
    return [
        keys.last_part(k) for k, _ in view.scan_prefix(View.ORCH_BLOCKING, keys.prefix(side, invocation_id))
    ]


def _set_ready(view: StagedView, invocation_id: str, position: bytes) -> None:
    if view.get(View.ORCH_BLOCKING, keys.joined("ready-at", invocation_id)) is None:
        view.put(View.ORCH_BLOCKING, keys.prefix("ready") + position + keys.text(invocation_id))
        view.put(View.ORCH_BLOCKING, keys.joined("ready-at", invocation_id), position)


def _unset_ready(view: StagedView, invocation_id: str) -> None:
    position = view.get(View.ORCH_BLOCKING, keys.joined("ready-at", invocation_id))
    if position is not None:
        view.delete(View.ORCH_BLOCKING, keys.prefix("ready") + position + keys.text(invocation_id))
        view.delete(View.ORCH_BLOCKING, keys.joined("ready-at", invocation_id))


def wait(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``WaitingForResults``: the caller waits; each waited invocation that waits for nothing is ready."""
    caller, position = p["caller_id"], keys.position(partition, offset)
    for waited in p["waited_ids"]:
        view.put(View.ORCH_BLOCKING, keys.joined("for", caller, waited))
        view.put(View.ORCH_BLOCKING, keys.joined("by", waited, caller))
        if not _ends(view, "for", waited):
            _set_ready(view, waited, position)
    _unset_ready(view, caller)


def release(view: StagedView, app_id: str, p: dict[str, Any], partition: int, offset: int) -> None:
    """``WaitersReleased``: the waited invocation leaves the graph; a waiter left waiting for nothing,
    and itself waited for, becomes ready."""
    waited, position = p["waited_id"], keys.position(partition, offset)
    for caller in _ends(view, "by", waited):
        view.delete(View.ORCH_BLOCKING, keys.joined("for", caller, waited))
        view.delete(View.ORCH_BLOCKING, keys.joined("by", waited, caller))
        if not _ends(view, "for", caller) and _ends(view, "by", caller):
            _set_ready(view, caller, position)
    for still_waited in _ends(view, "for", waited):
        view.delete(View.ORCH_BLOCKING, keys.joined("for", waited, still_waited))
        view.delete(View.ORCH_BLOCKING, keys.joined("by", still_waited, waited))
    _unset_ready(view, waited)


DECIDERS = {EventKind.WAITING_FOR_RESULTS: wait, EventKind.WAITERS_RELEASED: release}


def ready(store: ViewStore) -> Iterator[str]:
    """Invocations that block others and wait for nothing, oldest first."""
    start = keys.prefix("ready")
    for key, _ in store.scan_prefix(View.ORCH_BLOCKING, start):
        yield key[len(start) + 12 :].decode()
