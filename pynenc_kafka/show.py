"""One invocation as a projection folder holds it: the state as of the point its replay stopped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pynenc.state_backend.base_state_backend import InvocationHistory

from pynenc_kafka.payloads import history_from_row
from pynenc_kafka.projections import keys
from pynenc_kafka.projections.views import View, ViewStore

_PREVIEW = 200


def _preview(text: str) -> str:
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + f"... ({len(text)} chars)"


def _error_name(serialized_exception: str) -> str:
    try:
        return str(json.loads(serialized_exception).get("error_name", "")) or "(unnamed)"
    except (ValueError, AttributeError):
        return "(unnamed)"


@dataclass(frozen=True)
class InvocationSnapshot:
    """What the views of one projection know about one invocation.

    :param str invocation_id: The invocation.
    :param invocation: Its ``invocations`` row (call, parent, workflow), or ``None``.
    :param list history: Its status history, oldest first.
    :param result: Its serialized result, or ``None``.
    :param exception: Its serialized exception, or ``None``.
    :param list children: Invocations it spawned.
    """

    invocation_id: str
    invocation: dict[str, Any] | None
    history: list[InvocationHistory]
    result: str | None
    exception: str | None
    children: list[str]

    @classmethod
    def read(cls, store: ViewStore, invocation_id: str) -> InvocationSnapshot:
        """Read the invocation's rows from ``store``."""
        key = keys.text(invocation_id)
        result, exception = store.get(View.RESULTS, key), store.get(View.EXCEPTIONS, key)
        return cls(
            invocation_id=invocation_id,
            invocation=store.get_json(View.INVOCATIONS, key),
            history=[
                history_from_row(json.loads(v))
                for _, v in store.scan_prefix(View.HISTORY, keys.prefix(invocation_id))
            ],
            result=None if result is None else result.decode(),
            exception=None if exception is None else exception.decode(),
            children=[
                keys.last_part(k) for k, _ in store.scan_prefix(View.CHILDREN, keys.prefix(invocation_id))
            ],
        )

    @property
    def known(self) -> bool:
        """Whether the projection holds anything about the invocation."""
        return bool(self.invocation or self.history or self.result is not None or self.exception is not None)

    @property
    def status(self) -> str | None:
        """The latest status, or ``None`` without history."""
        return self.history[-1].status_record.status.value if self.history else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict of the snapshot."""
        return {
            "invocation_id": self.invocation_id,
            "known": self.known,
            "invocation": self.invocation,
            "status": self.status,
            "history": [
                {
                    "timestamp": h.timestamp.isoformat(),
                    "status": h.status_record.status.value,
                    "runner_id": h.status_record.runner_id,
                    "runner_context_id": h.runner_context_id,
                    "registered_by_inv_id": h.registered_by_inv_id,
                }
                for h in self.history
            ],
            "result": self.result,
            "exception": self.exception,
            "children": self.children,
        }

    def render(self, as_of: str) -> str:
        """A human-readable description, as of ``as_of``."""
        if not self.known:
            return f"invocation {self.invocation_id} is unknown as of {as_of}"
        lines = [f"invocation {self.invocation_id} as of {as_of}"]
        if self.invocation:
            lines.append(f"  call:      {self.invocation['call_id_key']}")
            if self.invocation.get("parent_invocation_id"):
                lines.append(f"  parent:    {self.invocation['parent_invocation_id']}")
            if self.invocation.get("workflow"):
                workflow = self.invocation["workflow"]
                lines.append(f"  workflow:  {workflow['workflow_id']} ({workflow['workflow_type_key']})")
        if self.children:
            lines.append(f"  children:  {', '.join(self.children)}")
        lines.append(f"  status:    {self.status or '(no history)'}")
        lines.append(f"  result:    {'(none)' if self.result is None else _preview(self.result)}")
        if self.exception is None:
            lines.append("  exception: (none)")
        else:
            lines.append(f"  exception: {_error_name(self.exception)}: {_preview(self.exception)}")
        lines.append("  history:")
        for h in self.history:
            runner = h.status_record.runner_id or "-"
            lines.append(f"    {h.timestamp.isoformat()}  {h.status_record.status.value:<12} runner={runner}")
        return "\n".join(lines)
