"""Decision keys: the partition an invocation's orchestration is decided on, and why.

An invocation's status requests are decided in the order of one partition. When its task limits
how many of its invocations run at once, every invocation of the group must be decided in the same
order, so they share a decision key: the task, or the task and the arguments it limits by.
Otherwise the key is the invocation's own id, which spreads the app's invocations over the log.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from pynenc.conf.config_task import ConcurrencyControlType
from pynenc.exceptions import InvocationStatusTransitionError
from pynenc.invocation.dist_invocation import DistributedInvocation
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.core.app_log import AppLog
from pynenc_kafka.projections.views import orchestration

#: Decision keys a process remembers (they never change once an invocation is tracked).
_KNOWN_KEYS = 100_000


class RunningConcurrencyError(InvocationStatusTransitionError):
    """A request to run was refused: another invocation of its concurrency group runs.

    It is a transition error to pynenc (the run does not start); the orchestrator has already
    rerouted the invocation, or marked it CONCURRENCY_CONTROLLED_FINAL, as its task says.

    :param str invocation_id: The invocation refused.
    :param str existing_invocation_id: The invocation of its group that runs (pynenc's name for it).
    """

    def __init__(self, invocation_id: str, existing_invocation_id: str) -> None:
        super().__init__(InvocationStatus.PENDING, InvocationStatus.RUNNING, frozenset())
        self.invocation_id = invocation_id
        self.existing_invocation_id = existing_invocation_id

    def __str__(self) -> str:
        return (
            f"invocation:{self.invocation_id} may not run while invocation:{self.existing_invocation_id} "
            "of its concurrency group runs"
        )

    def _to_json_dict(self) -> dict[str, Any]:
        return {"invocation_id": self.invocation_id, "existing_invocation_id": self.existing_invocation_id}

    @classmethod
    def _from_json_dict(cls, json_dict: dict[str, Any]) -> RunningConcurrencyError:
        return cls(json_dict["invocation_id"], json_dict["existing_invocation_id"])


def decision_of(invocation: DistributedInvocation[Any, Any]) -> tuple[str, str | None]:
    """The decision key of an invocation's orchestration, and its running concurrency group.

    :return: ``(key, group)``: the invocation id and no group when its task does not limit
        concurrent runs; else the group (the task, or the task and the arguments it limits by)
        as both, so that every run of the group is decided in one partition's order.
    """
    mode = invocation.task.conf.running_concurrency
    if mode == ConcurrencyControlType.DISABLED:
        return invocation.invocation_id, None
    group = f"task:{invocation.task.task_id.key}"
    arguments = invocation.call.serialized_arguments
    if mode == ConcurrencyControlType.KEYS:
        arguments = {k: arguments[k] for k in invocation.task.conf.key_arguments if k in arguments}
    if mode in (ConcurrencyControlType.ARGUMENTS, ConcurrencyControlType.KEYS):
        digest = hashlib.blake2b(json.dumps(arguments, sort_keys=True).encode(), digest_size=12)
        group = f"{group}:{digest.hexdigest()}"
    return group, group


class DecisionKeys:
    """The decision keys of an app's invocations, as this process knows them.

    :param AppLog log: The app's log, whose views know every tracked invocation's key.
    """

    def __init__(self, log: AppLog) -> None:
        self._log = log
        self._known: OrderedDict[str, tuple[str, str | None]] = OrderedDict()

    def of_new(self, invocation: DistributedInvocation[Any, Any]) -> tuple[str, str | None]:
        """The key and group of an invocation being registered (remembered from now on)."""
        decision = decision_of(invocation)
        self._remember(invocation.invocation_id, decision)
        return decision

    def of(self, invocation_id: str) -> tuple[str, str | None]:
        """The key and group of a tracked invocation.

        :raises KeyError: If the orchestrator never registered it.
        """
        known = self._known.get(invocation_id)
        if known is not None:
            return known
        found = self._log.reads.immutable(None, lambda store: orchestration.row(store, invocation_id))
        if found is None:
            raise KeyError(f"invocation {invocation_id} is not registered in the orchestrator")
        key = found["decision_key"]
        decision = (key, None if key == invocation_id else key)
        self._remember(invocation_id, decision)
        return decision

    def forget(self, invocation_ids: Iterable[str]) -> None:
        """Drop what this process knows of forgotten invocations."""
        for invocation_id in invocation_ids:
            self._known.pop(invocation_id, None)

    def clear(self) -> None:
        """Forget everything (the orchestrator's views were purged)."""
        self._known.clear()

    def _remember(self, invocation_id: str, decision: tuple[str, str | None]) -> None:
        self._known[invocation_id] = decision
        self._known.move_to_end(invocation_id)
        while len(self._known) > _KNOWN_KEYS:
            self._known.popitem(last=False)
