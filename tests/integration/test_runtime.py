"""The per-process runtime: opening one app never stalls another; closing waits for readers."""

from __future__ import annotations

import threading
import time

import pytest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.core.app_projection import AppProjection, AppSpec
from pynenc_kafka.core.runtime import RUNTIME, Runtime
from pynenc_kafka.projections.views import outcomes
from tests.conftest import unique_app_id
from tests.integration.support import backend


def _app(label: str, bootstrap: str) -> PynencBuilder:
    return PynencBuilder().app_id(unique_app_id(label)).kafka(bootstrap_servers=bootstrap)


def test_a_slow_opening_app_does_not_stall_another_apps_reads(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = backend(_app("ready", kafka_bootstrap).build())
    ready._set_result(InvocationId("inv-1"), "42")
    assert ready._get_result(InvocationId("inv-1")) == "42"
    slow = AppSpec.from_config(ready.conf, unique_app_id("slow"))  # not opened yet

    opening, release = threading.Event(), threading.Event()
    real_open = Runtime._open

    def stalled_open(self: Runtime, spec: AppSpec) -> AppProjection:
        if spec.topics.app_id == slow.topics.app_id:
            opening.set()
            release.wait(30)  # a topic creation or a projector that takes its time
        return real_open(self, spec)

    monkeypatch.setattr(Runtime, "_open", stalled_open)
    opener = threading.Thread(target=RUNTIME.app, args=(slow,))
    opener.start()
    try:
        assert opening.wait(10)
        started = time.monotonic()
        assert ready._get_result(InvocationId("inv-1")) == "42"
        ready._set_result(InvocationId("inv-2"), "43")
        assert ready._get_result(InvocationId("inv-2")) == "43"
        assert time.monotonic() - started < 5, "another app's opening held the reads up"
    finally:
        release.set()
        opener.join(30)
    assert any(p.spec == slow for p in RUNTIME.open_projections()), "the slow app opened in the end"


def test_closing_the_least_recently_used_projection_waits_for_its_readers(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_MAX_OPEN_PROJECTIONS", "1")
    first = backend(_app("lru-first", kafka_bootstrap).build())
    first._set_result(InvocationId("inv-1"), "1")
    assert first._get_result(InvocationId("inv-1")) == "1"  # applied: the slow read needs no barrier
    projection = first.projection
    reading, finish = threading.Event(), threading.Event()
    found: list[str | None] = []

    def slow_read(opened: AppProjection) -> str | None:
        reading.set()
        finish.wait(30)
        return outcomes.result(opened.store, "inv-1")

    reader = threading.Thread(target=lambda: found.append(first._use(slow_read)))
    reader.start()
    try:
        assert reading.wait(10)
        second = backend(_app("lru-second", kafka_bootstrap).build())
        second._set_result(InvocationId("inv-1"), "2")  # opens a second projection: the first must go
        assert projection not in RUNTIME.open_projections()
        assert not projection.closed, "closed under a reader"
    finally:
        finish.set()
        reader.join(30)
    assert found == ["1"]
    assert projection.closed, "closed once its reader was done"
    assert first._get_result(InvocationId("inv-1")) == "1", "a closed projection reopens on the next use"
