"""The fork bridge's protocol, brokerless: a forked child's calls run in its parent, or in itself."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

import pytest

from pynenc_kafka.core.fork_bridge import SERVER, through_parent

FORK = multiprocessing.get_context("fork")
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


class NotPicklableError(Exception):
    def __init__(self, code: int, detail: str) -> None:  # two arguments: unpickling fails
        super().__init__(f"{code}: {detail}")


class FakeBackend:
    """Methods marked as the backend's are: each says which process ran it."""

    def __init__(self, bridge_seconds: float = 30.0) -> None:
        self.bridge_seconds = bridge_seconds

    @through_parent()
    def where(self, value: str) -> tuple[int, str]:
        return os.getpid(), value

    @through_parent()
    def missing(self) -> None:
        raise KeyError("not found in the parent")

    @through_parent()
    def odd_error(self) -> None:
        raise NotPicklableError(7, "odd")

    @through_parent()
    def not_picklable(self) -> tuple[int, Callable[[], None]]:
        return os.getpid(), lambda: None


def _in_child_later(backend: FakeBackend, report: Queue[dict[str, Any]]) -> None:
    first = backend.where("v")[0]
    time.sleep(0.6)
    report.put({"first": first, "later": backend.where("v")[0], "pid": os.getpid()})


def _in_child(backend: FakeBackend, late: FakeBackend, report: Queue[dict[str, Any]]) -> None:
    seen: dict[str, Any] = {"where": backend.where("v"), "late": late.where("v")[0]}
    for name in ("missing", "odd_error"):
        try:
            getattr(backend, name)()
        except Exception as exc:
            seen[name] = f"{type(exc).__name__}: {exc}"
    seen["not_picklable"] = backend.not_picklable()[0]
    seen["pid"] = os.getpid()
    report.put(seen)


def _fork(*args: Any, target: Callable[..., None] = _in_child) -> dict[str, Any]:
    report: Queue[dict[str, Any]] = FORK.Queue()
    child = FORK.Process(target=target, args=(*args, report))
    child.start()
    seen = report.get(timeout=30)
    child.join(30)
    assert child.exitcode == 0
    return seen


def test_the_parent_runs_the_childs_calls_and_its_errors_cross() -> None:
    backend, unregistered = FakeBackend(), FakeBackend()
    SERVER.register(backend)

    seen = _fork(backend, unregistered)

    assert seen["where"] == (os.getpid(), "v")
    assert seen["late"] == seen["pid"], "a backend the parent never registered runs in the child"
    assert seen["missing"] == "KeyError: 'not found in the parent'"
    assert seen["odd_error"] == "RuntimeError: NotPicklableError: 7: odd"
    assert seen["not_picklable"] == seen["pid"], "an answer that cannot cross is computed in the child"


def test_a_backend_with_the_bridge_off_runs_in_the_child() -> None:
    backend = FakeBackend(bridge_seconds=0)
    SERVER.register(backend)

    seen = _fork(backend, backend)

    assert seen["where"] == (seen["pid"], "v")


def test_a_child_that_lives_longer_than_the_bridges_seconds_runs_its_calls_itself() -> None:
    backend = FakeBackend(bridge_seconds=0.3)
    SERVER.register(backend)

    seen = _fork(backend, target=_in_child_later)

    assert seen["first"] == os.getpid()
    assert seen["later"] == seen["pid"]
