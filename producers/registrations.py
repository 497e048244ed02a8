"""The invocation registrations this process has had acknowledged, so an identical one is not sent twice.

pynenc registers a new invocation in two steps that both upsert it with the same content
(``DistributedInvocation.store_in_backend``, then the orchestrator's ``register_new_invocations``).
Publishing the second copy cost a broker round trip and left every registration twice in the log.
:class:`PublishedRegistrations` remembers, per invocation, a digest of the registration of this
process that Kafka acknowledged last (by its offset, so concurrent threads leave the one the log
ends with) and the log it went to; a registration with the same digest to the same log is left
out, one that differs is published. Within one call, a registration is compared with the one
before it in the same call, so ``[X, Y]`` after ``Y`` publishes both and the log still ends with Y.

What it believes is only ever true:

- an entry is added after Kafka acknowledged the registration, never before, so a failed publish
  leaves nothing behind and the next attempt publishes;
- the log is named by Kafka's topic id, so a topic deleted and created again is a new log;
- a purge of the app by this process forgets everything (:meth:`forget`);
- a forked child starts with an empty memory: it learns nothing from its parent, whose publishes
  may have been in flight when it forked (and whose lock it must not inherit);
- it is bounded: past ``capacity`` entries, the oldest are forgotten (at worst, an extra publish).

What *another* process writes is not seen: if it purges the app, or registers the same invocation
differently, after this process registered it, an identical registration by this process is then
left out although the views no longer hold it. pynenc does not do this (an invocation is
registered by the process that creates it, in the two steps above), so the README names it as a
limit.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: Registrations remembered per backend at most (each costs an id and a 16-byte digest).
DEFAULT_CAPACITY = 50_000

_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class Registration:
    """One ``InvocationRegistered`` payload with the digest of its content.

    :param dict payload: The event's payload.
    :param bytes digest: 16 bytes of BLAKE2b over the payload's canonical JSON.
    """

    payload: dict[str, Any]
    digest: bytes

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Registration:
        """The registration of ``payload``, with its digest."""
        return cls(payload, hashlib.blake2b(_ENCODE(payload).encode(), digest_size=16).digest())


class PublishedRegistrations:
    """Invocation id -> (log, digest) of the last acknowledged registration, oldest evicted first.

    :param int capacity: Entries kept at most.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, bytes, int]] = {}

    def _current(self) -> None:
        """Forget whatever a forked child inherited (checked before the inherited lock is touched)."""
        if self._pid != os.getpid():
            self._reset()

    def to_publish(self, log_id: str, payloads: Iterable[dict[str, Any]]) -> list[Registration]:
        """The registrations among ``payloads`` not already acknowledged, identical, on ``log_id``.

        :param str log_id: Kafka's id of the log they go to.
        :param payloads: ``InvocationRegistered`` payloads, in order.
        """
        self._current()
        registrations = [Registration.of(p) for p in payloads]
        last: dict[str, tuple[str, bytes]] = {}  # what the log ends with, for this call's invocations
        with self._lock:
            for r in registrations:
                known = self._seen.get(r.payload["invocation_id"])
                if known is not None:
                    last[r.payload["invocation_id"]] = (known[0], known[1])
        fresh: list[Registration] = []
        for r in registrations:  # in order: each is compared with what the log holds just before it
            invocation_id = r.payload["invocation_id"]
            if last.get(invocation_id) != (log_id, r.digest):
                fresh.append(r)
                last[invocation_id] = (log_id, r.digest)
        return fresh

    def remember(self, log_id: str, registrations: Sequence[Registration], offsets: Sequence[int]) -> None:
        """Record registrations Kafka acknowledged on ``log_id`` (call only after the acknowledgement).

        :param str log_id: Kafka's id of the log they went to.
        :param registrations: What :meth:`to_publish` returned and was then published.
        :param offsets: The offset Kafka gave each (an invocation's registrations share a partition).
        """
        self._current()
        with self._lock:
            seen = self._seen
            for r, offset in zip(registrations, offsets, strict=True):
                invocation_id = r.payload["invocation_id"]
                known = seen.pop(invocation_id, None)  # re-inserted last: the newest is evicted last
                if known is not None and known[0] == log_id and known[2] > offset:
                    seen[invocation_id] = known  # another thread's later registration is the log's last
                else:
                    seen[invocation_id] = (log_id, r.digest, offset)
            while len(seen) > self._capacity:
                del seen[next(iter(seen))]

    def forget(self) -> None:
        """Forget every registration (the app was purged: the views no longer hold them)."""
        self._current()
        with self._lock:
            self._seen.clear()

    def __len__(self) -> int:
        self._current()
        return len(self._seen)
