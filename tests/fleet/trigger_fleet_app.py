"""The app of the trigger fleet tests, built alike by every process from the environment.

``TRIGGER_FLEET_APP`` names the app, ``TRIGGER_FLEET_MARKS`` is a folder where each run of
:func:`slow` leaves a mark naming its process, and the usual ``PYNENC__*`` variables (set by the
test) choose the runner, the atomic-service slots, the recovery crons and the projection folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pynenc import PynencBuilder
from pynenc.trigger.trigger_builder import TriggerBuilder

app = PynencBuilder().app_id(os.environ["TRIGGER_FLEET_APP"]).kafka().build()


@app.task(triggers=TriggerBuilder().on_cron("* * * * *"))
def tick() -> str:
    """A user's cron task, every minute: says which host ran it."""
    return os.environ.get("TRIGGER_FLEET_HOST", "?")


@app.task
def slow(item: int) -> int:
    """A task long enough to be running when its worker is killed; marks where it ran."""
    marks = Path(os.environ["TRIGGER_FLEET_MARKS"])
    (marks / f"{item}-{os.getpid()}").touch()
    time.sleep(4)
    return item * 10
