"""The state backends compared, and how each one's pynenc app is built.

Every app uses the same pynenc version and settings; only the state backend differs. The
micro-benchmarks call the backend directly; the fleet runs add pynenc's SQLite broker and
orchestrator around it (see :mod:`benchmarks.fleet`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pynenc import Pynenc, PynencBuilder


class Backend(StrEnum):
    """A state backend of the comparison; the value is its name on the command line."""

    MEM = "mem"
    SQLITE = "sqlite"
    REDIS = "redis"
    KAFKA = "kafka"

    @property
    def label(self) -> str:
        """Its name in the report."""
        return {
            Backend.MEM: "Mem (pynenc)",
            Backend.SQLITE: "SQLite (pynenc)",
            Backend.REDIS: "Redis (pynenc-redis)",
            Backend.KAFKA: "Kafka (pynenc-kafka)",
        }[self]

    @property
    def shared(self) -> bool:
        """Whether several processes see one state (Mem is one process's memory)."""
        return self is not Backend.MEM


@dataclass(frozen=True, slots=True)
class Servers:
    """Where the run's servers and files are.

    :param str kafka_bootstrap: Bootstrap servers of the Kafka cluster.
    :param str redis_url: URL of the redis-server.
    :param Path work_dir: Folder for SQLite files, projections and logs of the run.
    """

    kafka_bootstrap: str
    redis_url: str
    work_dir: Path

    def environment(self) -> dict[str, str]:
        """Settings every process of the run (the fleet's workers too) takes from the environment."""
        return {
            "PYNENC__KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "PYNENC__KAFKA_PROJECTION_DIR": str(self.work_dir / "projections"),
            "PYNENC__REDIS_URL": self.redis_url,
            "PYNENC__LOGGING_LEVEL": "warning",
        }


def new_app_id(backend: Backend, workload: str) -> str:
    """A unique app id, so rounds never share state."""
    return f"bench-{workload}-{backend}-{uuid.uuid4().hex[:8]}"


def build_app(backend: Backend, servers: Servers, app_id: str) -> Pynenc:
    """A pynenc app on ``backend``: pynenc's SQLite components around it, but Mem's all in memory.

    :param Backend backend: The state backend.
    :param Servers servers: The run's servers.
    :param str app_id: The app's id.
    """
    os.environ.update(servers.environment())
    builder = PynencBuilder().app_id(app_id)
    if backend is Backend.MEM:
        return builder.memory().build()
    builder = builder.sqlite(sqlite_db_path=str(servers.work_dir / f"{app_id}.db"))
    if backend is Backend.REDIS:
        builder = builder.custom_config(state_backend_cls="RedisStateBackend", redis_url=servers.redis_url)
    elif backend is Backend.KAFKA:
        builder = builder.kafka(bootstrap_servers=servers.kafka_bootstrap)
    return builder.build()


def release_app(app: Pynenc) -> None:
    """Close what the app holds open in this process (our projection and its consumer), if anything.

    Each workload uses a new app: closing the finished ones keeps their threads out of the
    next measurement.
    """
    from pynenc_kafka.components.state_backend import KafkaStateBackend
    from pynenc_kafka.core.runtime import RUNTIME

    if isinstance(app.state_backend, KafkaStateBackend):
        RUNTIME.close_app(app.state_backend.topics)
