"""The component stacks the fleet can run on: Kafka alone by default, pynenc's SQLite ones to compare.

``PYNENC_KAFKA_DEMO_STACK`` names the stack (the demo's ``--stack`` sets it for every process);
the SQLite stacks keep their database at ``PYNENC_KAFKA_DEMO_SQLITE``, a file of this host only.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynenc import PynencBuilder

#: The environment variable naming the stack of every process of the fleet.
STACK_VARIABLE = "PYNENC_KAFKA_DEMO_STACK"
#: The environment variable naming the SQLite database of the SQLite stacks.
SQLITE_VARIABLE = "PYNENC_KAFKA_DEMO_SQLITE"


class Stack(StrEnum):
    """A set of pynenc components the fleet's app is built on; the value is its name on the command line."""

    #: Every component pynenc-kafka provides: state backend, broker, orchestrator, client data store.
    KAFKA = "kafka"
    #: pynenc's SQLite components, all of them (the trigger too): one host's file.
    SQLITE = "sqlite"
    #: pynenc's SQLite broker, orchestrator, trigger and client data store; our state backend.
    SQLITE_KAFKA_STATE = "sqlite+kafka-state"
    #: pynenc's SQLite broker, orchestrator, trigger and client data store; pynenc-redis's state backend.
    SQLITE_REDIS_STATE = "sqlite+redis-state"

    @classmethod
    def from_environment(cls) -> Stack:
        """:return: the stack ``PYNENC_KAFKA_DEMO_STACK`` names (unset: :attr:`KAFKA`).
        :raises ValueError: if it names none.
        """
        name = os.environ.get(STACK_VARIABLE) or cls.KAFKA.value
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(stack.value for stack in cls)
            raise ValueError(f"{STACK_VARIABLE}={name!r} names no stack: choose among {known}") from None

    @property
    def label(self) -> str:
        """:return: its name in the demo's output."""
        return {
            Stack.KAFKA: "Kafka alone",
            Stack.SQLITE: "pynenc's SQLite components",
            Stack.SQLITE_KAFKA_STATE: "pynenc's SQLite components, Kafka state backend",
            Stack.SQLITE_REDIS_STATE: "pynenc's SQLite components, Redis state backend",
        }[self]

    @property
    def uses_sqlite(self) -> bool:
        """Whether some component keeps its data in this host's SQLite file."""
        return self is not Stack.KAFKA

    def builder(self, app_id: str) -> PynencBuilder:
        """:param app_id: the app's id.
        :return: a builder of the app on this stack (Kafka settings come from ``PYNENC__KAFKA_*``).
        :raises ValueError: if a SQLite stack has no ``PYNENC_KAFKA_DEMO_SQLITE``.
        """
        from pynenc import PynencBuilder

        builder = PynencBuilder().app_id(app_id)
        if self is Stack.KAFKA:
            return builder.kafka()
        path = os.environ.get(SQLITE_VARIABLE)
        if not path:
            raise ValueError(f"the {self.value} stack needs {SQLITE_VARIABLE}, the path of its SQLite file")
        builder = builder.sqlite(sqlite_db_path=path)
        if self is Stack.SQLITE_KAFKA_STATE:
            return builder.kafka(components=("state_backend",))
        if self is Stack.SQLITE_REDIS_STATE:
            return builder.custom_config(
                state_backend_cls="RedisStateBackend", redis_url=os.environ.get("PYNENC__REDIS_URL", "")
            )
        return builder
