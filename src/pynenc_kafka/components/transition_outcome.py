"""What a decided status-transition request means to the process that asked for it.

Every projection decides a ``StatusTransitionRequested`` in log order and keeps its outcome
(:mod:`pynenc_kafka.projections.views.orchestration`); the requester reads it back and turns it
into what pynenc's orchestrators answer: the new status record, or pynenc's own error.
"""

from __future__ import annotations

from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord, status_record_transition

from pynenc_kafka.components.decision_keys import RunningConcurrencyError
from pynenc_kafka.projections.views import orchestration


def record_of(
    outcome: orchestration.Outcome | None,
    request_id: str,
    invocation_id: str,
    status: InvocationStatus,
    runner_id: str | None,
) -> InvocationStatusRecord:
    """The record a granted request set.

    :param outcome: The request's outcome, as the views kept it (``None``: none, a bug).
    :param str request_id: The request.
    :param str invocation_id: Its invocation.
    :param InvocationStatus status: The status it asked for.
    :param runner_id: The runner that asked.
    :raises KeyError: If the orchestrator never registered the invocation.
    :raises RunningConcurrencyError: If another invocation of its concurrency group runs.
    :raises InvocationStatusTransitionError: If pynenc's rules forbid the transition.
    :raises InvocationStatusOwnershipError: If another runner owns the invocation.
    """
    if outcome is None:  # the barrier saw the request applied: its outcome is there
        raise RuntimeError(f"no outcome of transition request {request_id} after it was applied")
    if outcome["verdict"] == "granted" and outcome["record"] is not None:
        return orchestration.record_from_json(outcome["record"])
    if outcome["verdict"] == "missing" or outcome["current"] is None:
        raise KeyError(f"invocation {invocation_id} is not registered in the orchestrator")
    if outcome["verdict"] == "concurrency":
        raise RunningConcurrencyError(invocation_id, outcome["holder"] or "?")
    # Refused: pynenc's own rules, applied again to the record they were applied to, raise
    # pynenc's own error (transition or ownership) with its own message.
    status_record_transition(orchestration.record_from_json(outcome["current"]), status, runner_id)
    raise RuntimeError(f"transition request {request_id} was refused, yet pynenc's rules allow it")
