"""Fault tests on the real broker: SIGKILLed processes, restarts over big logs, several hosts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.projections.store import View
from pynenc_kafka.schemas.kinds import EventKind
from tests.conftest import unique_app_id
from tests.integration.support import (
    REPO,
    backend,
    end_offsets,
    fresh_replay,
    produce_results,
    projection,
    projector_of,
    run_python,
    view_rows,
)


def _spawn_holder(app_id: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """A process that opens the app's projection (taking the lease) and idles until killed."""
    code = textwrap.dedent(
        f"""
        import time
        from pynenc import PynencBuilder
        app = PynencBuilder().app_id({app_id!r}).kafka().build()
        assert app.state_backend.projection.is_primary
        print("holding", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, **env}
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "holding"
    return child


def test_sigkill_of_the_projector_mid_stream_loses_and_doubles_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_TAKEOVER_INTERVAL", "0.2")
    app_id = unique_app_id("sigkill-projector")
    holder = _spawn_holder(app_id, {"PYNENC__KAFKA_TAKEOVER_INTERVAL": "0.2"})
    app = PynencBuilder().app_id(app_id).kafka().build()
    be = backend(app)
    assert not projection(app).is_primary, "the child process holds the lease"

    total, batch, killed_at = 10_000, 100, 3_000
    taken_over_after: list[float] = []

    def stream() -> None:
        for first in range(0, total, batch):
            records = [
                (EventKind.RESULT_SET, {"invocation_id": f"s-{i}", "serialized_result": str(i)})
                for i in range(first, first + batch)
            ]
            be._publish(records)
            if first + batch == killed_at:
                holder.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                threading.Thread(target=_await_takeover, args=(killed,), daemon=True).start()

    def _await_takeover(killed: float) -> None:
        while not projection(app).is_primary:
            time.sleep(0.01)
        taken_over_after.append(time.monotonic() - killed)

    writer = threading.Thread(target=stream)
    writer.start()
    writer.join(300)
    holder.wait(10)
    assert holder.returncode == -signal.SIGKILL

    live = projection(app)
    live.barrier.wait()
    assert live.is_primary and taken_over_after and taken_over_after[0] < 5
    assert be._get_result(InvocationId(f"s-{total - 1}")) == str(total - 1)
    assert live.store.count(View.RESULTS) == total
    log_size = sum(end_offsets(app).values())
    assert sum(projector_of(live).state.applied.values()) == log_size, "an event was applied twice or lost"
    replayed = fresh_replay(app, tmp_path / "replay")
    assert view_rows(replayed) == view_rows(live.store)
    replayed.close()


def test_restart_over_100k_events_applies_none_of_them_again(
    app_instance: object, kafka_bootstrap: str
) -> None:
    be = backend(app_instance)
    produce_results(app_instance, 100_000, kafka_bootstrap)
    live = projection(app_instance)
    live.barrier.wait()
    assert be._get_result(InvocationId("bulk-99999")) == "99999"
    applied = sum(projector_of(live).state.applied.values())
    assert applied >= 100_000

    RUNTIME.close_app(be.topics)
    reopened = projection(app_instance)
    reopened.barrier.wait()
    assert projector_of(reopened).consumed == 0
    assert sum(projector_of(reopened).state.applied.values()) == applied
    assert be._get_result(InvocationId("bulk-12345")) == "12345"


def test_two_hosts_with_their_own_projection_folders_serve_the_same_app(
    app_instance: object, tmp_path: Path
) -> None:
    """Two projection folders stand in for two hosts: each projects the whole log itself."""
    be = backend(app_instance)
    be._set_result(InvocationId("from-host-a"), "a")
    out = run_python(
        """
        from pynenc.identifiers.invocation_id import InvocationId
        assert be.projection.is_primary, "host B projects into its own folder"
        print(be._get_result(InvocationId("from-host-a")))
        be._set_result(InvocationId("from-host-b"), "b")
        """,
        be.app.app_id,
        env={"PYNENC__KAFKA_PROJECTION_DIR": str(tmp_path / "host-b")},
    )
    assert out.strip() == "a"
    assert be._get_result(InvocationId("from-host-b")) == "b"
    assert (tmp_path / "host-b").is_dir()
    assert projection(app_instance).folder.parent.parent != tmp_path / "host-b"
