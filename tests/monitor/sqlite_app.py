"""An app on pynenc's own SQLite stack, to tell pynmon's own faults from ours (``PYNMON_SQLITE_DB``)."""

from __future__ import annotations

import os

from pynenc import PynencBuilder

app = (
    PynencBuilder()
    .app_id(os.environ.get("PYNMON_FLEET_APP", "pynmon-sqlite"))
    .sqlite(sqlite_db_path=os.environ.get("PYNMON_SQLITE_DB", "/tmp/pynmon-sqlite.db"))
    .build()
)


@app.task
def price_order(order_id: int, quantity: int) -> float:
    """The same small task as the Kafka fleet's."""
    return round(quantity * 9.5 + order_id / 100, 2)
