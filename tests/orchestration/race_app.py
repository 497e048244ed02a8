"""The app of the race tests, built alike in the test and in every racing process."""

from __future__ import annotations

import os
from typing import Any

from pynenc import Pynenc, PynencBuilder
from pynenc.conf.config_task import ConcurrencyControlType
from pynenc.task import Task


def free(n: int) -> int:
    """A task with no concurrency control."""
    return n


def limited(n: int) -> int:
    """A task of which at most one invocation may run at a time."""
    return n


def make(app_id: str, projection_dir: str) -> tuple[Pynenc, Task[Any, Any], Task[Any, Any]]:
    """The app on the Kafka state backend and orchestrator, and its two tasks.

    :param str app_id: The shared app id.
    :param str projection_dir: This process's host folder of projections.
    """
    app = (
        PynencBuilder()
        .app_id(app_id)
        .kafka(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], projection_dir=projection_dir)
        .custom_config(orchestrator_cls="KafkaOrchestrator")
        .build()
    )
    return (
        app,
        app.task(free),
        app.task(running_concurrency=ConcurrencyControlType.TASK)(limited),
    )
