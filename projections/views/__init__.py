"""The views, one module per family: how events become rows, and how rows are read back.

Each module writes its rows from the events that concern it and reads them back for
the backend, side by side, so the shape of a row is spelt in one place. :data:`ROW_WRITERS`
says which module applies each kind of event whose rows depend on the event alone;
:data:`DECIDERS`, each kind whose rows are a decision on the state the events before it left
(read through a :class:`~pynenc_kafka.projections.staged.StagedView`). A purge is not here, it
is the :class:`~pynenc_kafka.projections.writer.ViewWriter`'s business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pynenc_kafka.projections.staged import StagedView
from pynenc_kafka.projections.store import ViewBatch
from pynenc_kafka.projections.views import (
    app_info,
    atomic_service,
    blocking,
    client_data,
    history,
    invocations,
    orchestration,
    outcomes,
    runners,
    triggers,
    workflows,
)
from pynenc_kafka.schemas.kinds import EventKind

#: Stages the rows of one event: (batch, app id, payload, partition, offset).
RowWriter = Callable[[ViewBatch, str, dict[str, Any], int, int], None]
#: Decides one event on the staged state: (staged view, app id, payload, partition, offset).
Decider = Callable[[StagedView, str, dict[str, Any], int, int], None]

ROW_WRITERS: Mapping[EventKind, RowWriter] = {
    **invocations.WRITERS,
    **history.WRITERS,
    **outcomes.WRITERS,
    **workflows.WRITERS,
    **runners.WRITERS,
    **app_info.WRITERS,
    **client_data.WRITERS,
}

DECIDERS: Mapping[EventKind, Decider] = {
    **orchestration.DECIDERS,
    **blocking.DECIDERS,
    **atomic_service.DECIDERS,
    **triggers.DECIDERS,
}
