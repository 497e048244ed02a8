"""The views, one module per family: how events become rows, and how rows are read back.

Each module writes its rows from the events that concern it and reads them back for
the backend, side by side, so the shape of a row is spelt in one place. :data:`ROW_WRITERS`
says which module applies each kind of event; a purge is not here, it is the
:class:`~pynenc_kafka.projections.writer.ViewWriter`'s business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pynenc_kafka.projections.store import ViewBatch
from pynenc_kafka.projections.views import (
    app_info,
    client_data,
    history,
    invocations,
    outcomes,
    runners,
    workflows,
)
from pynenc_kafka.schemas.kinds import EventKind

#: Stages the rows of one event: (batch, app id, payload, partition, offset).
RowWriter = Callable[[ViewBatch, str, dict[str, Any], int, int], None]

ROW_WRITERS: Mapping[EventKind, RowWriter] = {
    **invocations.WRITERS,
    **history.WRITERS,
    **outcomes.WRITERS,
    **workflows.WRITERS,
    **runners.WRITERS,
    **app_info.WRITERS,
    **client_data.WRITERS,
}
