"""One invocation as a projection folder holds it: the state as of the point its replay stopped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynenc_kafka.projections.store import View, ViewStore
from pynenc_kafka.projections.views import history, invocations, outcomes
from pynenc_kafka.projections.views.history import HistoryRow
from pynenc_kafka.projections.views.invocations import InvocationRow
from pynenc_kafka.schemas.timestamps import from_micros

_PREVIEW = 200


def _preview(text: str) -> str:
    return text if len(text) <= _PREVIEW else text[:_PREVIEW] + f"... ({len(text)} chars)"


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
    invocation: InvocationRow | None
    history: list[HistoryRow]
    result: str | None
    exception: str | None
    children: list[str]

    @classmethod
    def read(cls, store: ViewStore, invocation_id: str) -> InvocationSnapshot:
        """Read the invocation's rows from ``store``."""
        return cls(
            invocation_id=invocation_id,
            invocation=invocations.invocation(store, invocation_id),
            history=history.of_invocation(store, invocation_id),
            result=outcomes.result(store, invocation_id),
            exception=outcomes.exception(store, invocation_id),
            children=invocations.members(store, View.CHILDREN, invocation_id),
        )

    @property
    def known(self) -> bool:
        """Whether the projection holds anything about the invocation."""
        return bool(self.invocation or self.history or self.result is not None or self.exception is not None)

    @property
    def status(self) -> str | None:
        """The latest status, or ``None`` without history."""
        return self.history[-1]["status"] if self.history else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict of the snapshot."""
        return {
            "invocation_id": self.invocation_id,
            "known": self.known,
            "invocation": self.invocation,
            "status": self.status,
            "history": [
                {
                    "timestamp": from_micros(h["history_at"]).isoformat(),
                    "status": h["status"],
                    "runner_id": h["owner_runner_id"],
                    "runner_context_id": h["runner_context_id"],
                    "registered_by_inv_id": h["registered_by_inv_id"],
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
            workflow = self.invocation.get("workflow")
            if workflow:
                lines.append(f"  workflow:  {workflow['workflow_id']} ({workflow['workflow_type_key']})")
        if self.children:
            lines.append(f"  children:  {', '.join(self.children)}")
        lines.append(f"  status:    {self.status or '(no history)'}")
        lines.append(f"  result:    {'(none)' if self.result is None else _preview(self.result)}")
        if self.exception is None:
            lines.append("  exception: (none)")
        else:
            lines.append(
                f"  exception: {outcomes.error_name(self.exception) or '(unnamed)'}: {_preview(self.exception)}"
            )
        lines.append("  history:")
        for h in self.history:
            at = from_micros(h["history_at"]).isoformat()
            lines.append(f"    {at}  {h['status']:<12} runner={h['owner_runner_id'] or '-'}")
        return "\n".join(lines)
