"""A status change as the orchestrator asks for it: a request in the log, and its outcome.

Every projection decides a ``StatusTransitionRequested`` in log order and keeps its outcome
(:mod:`pynenc_kafka.projections.views.orchestration`); the requester waits until its own
projection applied the request, reads the outcome back and turns it into what pynenc's
orchestrators answer: the new status record, or pynenc's own error.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord, status_record_transition

from pynenc_kafka.components.decision_keys import DecisionKeys, RunningConcurrencyError
from pynenc_kafka.core.app_log import AppLog, Record
from pynenc_kafka.projections.views import orchestration
from pynenc_kafka.schemas.kinds import EventKind

if TYPE_CHECKING:
    from pynenc.invocation.dist_invocation import DistributedInvocation


class TransitionRequests:
    """Status changes of one app's invocations, requested in its log.

    :param AppLog log: The app's log and projection.
    :param DecisionKeys keys: Where each invocation's decisions are made.
    """

    def __init__(self, log: AppLog, keys: DecisionKeys) -> None:
        self._log = log
        self._keys = keys

    def register(
        self, invocations: Sequence[DistributedInvocation[Any, Any]], runner_id: str | None
    ) -> InvocationStatusRecord:
        """Track new invocations in the orchestrator's views, in one write: their first status,
        ``REGISTERED``, needs no decision.

        :param invocations: The new invocations.
        :param runner_id: The runner registering them.
        :return: Their first status record.
        """
        record = status_record_transition(None, InvocationStatus.REGISTERED, runner_id)
        events: list[Record] = []
        for invocation in invocations:
            key, _ = self._keys.of_new(invocation)
            payload = {
                "invocation_id": invocation.invocation_id,
                "decision_key": key,
                "task_id": invocation.task.task_id.key,
                "call_id": invocation.call.call_id.key,
                "owner_runner_id": record.runner_id,
                "registered_at": record.timestamp,
            }
            events.append((EventKind.INVOCATION_TRACKED, payload))
        if events:
            self._log.publish(events)
        return record

    def request(
        self,
        invocation_id: str,
        status: InvocationStatus,
        runner_id: str | None,
        before: Sequence[Record] = (),
    ) -> InvocationStatusRecord:
        """Request the change, wait until this process's views decided it, and answer as pynenc does.

        :param str invocation_id: The invocation.
        :param InvocationStatus status: The status asked for.
        :param runner_id: The runner asking.
        :param before: Events that must be written ahead of the request (a result, before the
            change to ``SUCCESS``): in the same write when they share its partition (the invocation's
            own, unless its task limits concurrency), else in a write of their own first.
        :return: The new status record.
        :raises KeyError, RunningConcurrencyError, InvocationStatusTransitionError,
            InvocationStatusOwnershipError: See :func:`record_of`.
        """
        key, group = self._keys.of(invocation_id)
        request_id = str(uuid.uuid4())
        payload = {
            "request_id": request_id,
            "invocation_id": invocation_id,
            "decision_key": key,
            "status": status.value,
            "runner_id": runner_id,
            "requested_at": datetime.now(UTC),
            "concurrency_group": group if status is InvocationStatus.RUNNING else None,
        }
        requested = (EventKind.STATUS_TRANSITION_REQUESTED, payload)
        if before and {self._log.partition_of(r) for r in before} != {self._log.partition_of(requested)}:
            # Kafka may write one partition's part of a request and fail another's: what must
            # precede the request is written first, unless it shares the request's partition.
            self._log.publish(before)
            before = ()
        positions = self._log.publish([*before, requested])
        outcome = self._log.reads.after_written(
            positions, lambda store: orchestration.outcome(store, request_id)
        )
        return record_of(outcome, request_id, invocation_id, status, runner_id)


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
