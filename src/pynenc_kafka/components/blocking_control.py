"""``KafkaBlockingControl``: which invocations wait for which, as events of the app's log.

The graph spans invocations, so its events share the app's partition and every projection builds
the same graph in the same order (:mod:`pynenc_kafka.projections.views.blocking`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pynenc.identifiers.invocation_id import InvocationId
from pynenc.orchestrator.base_orchestrator import BaseBlockingControl

from pynenc_kafka.core.app_log import AppLog, Record
from pynenc_kafka.projections.views import blocking
from pynenc_kafka.schemas.kinds import EventKind

if TYPE_CHECKING:
    from pynenc.app import Pynenc


class KafkaBlockingControl(BaseBlockingControl):
    """pynenc's blocking control on the app's log and projection.

    :param Pynenc app: The pynenc app.
    :param AppLog log: The app's log, shared with the orchestrator.
    """

    def __init__(self, app: Pynenc, log: AppLog) -> None:
        self.app = app
        self._log = log

    def waiting_for_results(
        self, caller_invocation_id: InvocationId, result_invocation_ids: list[InvocationId]
    ) -> None:
        payload = {"caller_id": caller_invocation_id, "waited_ids": list(result_invocation_ids)}
        self._log.publish([(EventKind.WAITING_FOR_RESULTS, payload)])

    def release_waiters(self, waited_invocation_id: InvocationId) -> None:
        self._log.publish([self.released(waited_invocation_id)])

    @staticmethod
    def released(waited_invocation_id: InvocationId) -> Record:
        """The event releasing the invocations that wait for ``waited_invocation_id``."""
        return EventKind.WAITERS_RELEASED, {"waited_id": waited_invocation_id}

    def get_blocking_invocations(self, max_num_invocations: int) -> Iterator[InvocationId]:
        """Invocations that block others and wait for nothing, oldest first, while they may still run."""
        ready = self._log.reads.fresh(lambda store: list(blocking.ready(store)), self._log.app_id)
        found = 0
        for invocation_id in ready:
            if found >= max_num_invocations:
                return
            if self.app.orchestrator.get_invocation_status(
                InvocationId(invocation_id)
            ).is_available_for_run():
                found += 1
                yield InvocationId(invocation_id)
