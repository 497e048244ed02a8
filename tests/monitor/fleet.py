"""A small fleet run on the Kafka components, for pynmon to show: what ran, and the ids to look for.

One worker process (``pynenc runner start`` on :mod:`tests.monitor.fleet_app`, a ThreadRunner that
heartbeats and takes atomic-service turns) runs a few tasks routed from the test process: results,
one failure, a large argument kept by the client data store, and a workflow with sub-invocations.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from pynenc.exceptions import PynencError

REPO = Path(__file__).resolve().parents[2]
#: The module every process of the fleet builds the app from.
APP_MODULE = "tests.monitor.fleet_app"
#: Seconds the fleet has to run everything it was given.
FLEET_TIMEOUT = 120.0


@dataclass(frozen=True)
class FleetRun:
    """What the fleet ran, by id.

    :param app_id: the app's id.
    :param runner_id: the worker's runner, alive while the run is watched.
    :param succeeded: a ``price_order`` invocation that succeeded.
    :param failed: the ``ship_order`` invocation that raised ``RejectedOrderError``.
    :param failed_call_key: the key of that invocation's call.
    :param workflow: the ``nightly_report`` workflow invocation.
    :param sub_invocations: the workflow's ``price_order`` sub-invocations.
    :param large_argument: the ``archive_manifest`` invocation whose argument the client data store keeps.
    :param atomic_service_run_id: one atomic-service run the worker recorded.
    """

    app_id: str
    runner_id: str
    succeeded: str
    failed: str
    failed_call_key: str
    workflow: str
    sub_invocations: tuple[str, ...]
    large_argument: str
    atomic_service_run_id: str


def fleet_env(app_id: str) -> dict[str, str]:
    """The environment of every process of the fleet: this one's, with the app's id."""
    return {**os.environ, "PYNMON_FLEET_APP": app_id, "PYNENC__LOGGING_LEVEL": "warning"}


def import_fleet_app(app_id: str) -> ModuleType:
    """Import (again) :mod:`tests.monitor.fleet_app` in this process, for ``app_id``."""
    os.environ["PYNMON_FLEET_APP"] = app_id
    sys.modules.pop(APP_MODULE, None)
    __import__(APP_MODULE)
    return sys.modules[APP_MODULE]


def start_worker(app_id: str, log: Path) -> subprocess.Popen[bytes]:
    """Start the fleet's worker: ``pynenc --app tests.monitor.fleet_app runner start``.

    :param app_id: the app's id.
    :param log: file for the worker's output.
    """
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pynenc", "--app", APP_MODULE, "runner", "start"],
            cwd=REPO,
            env=fleet_env(app_id),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_fleet(fleet_app: ModuleType) -> FleetRun:
    """Route the run's tasks, wait for every result, and collect the ids pynmon should show.

    :param fleet_app: :mod:`tests.monitor.fleet_app`, imported for this run's app.
    """
    app = fleet_app.app
    prices = [fleet_app.price_order(order, 3) for order in range(1, 4)]
    shipped = fleet_app.ship_order(12)
    rejected = fleet_app.ship_order(13)
    manifest = fleet_app.archive_manifest("line of the manifest\n" * 200)
    report = fleet_app.nightly_report(100, 3)
    for invocation in (*prices, shipped, manifest, report):
        assert invocation.result is not None
    try:
        rejected.result  # noqa: B018 (waits for the failure)
        raise AssertionError("ship_order(13) should have failed")
    except fleet_app.RejectedOrderError:
        pass
    sub_invocations = tuple(app.state_backend.get_child_invocations(report.invocation_id))
    assert len(sub_invocations) == 3, sub_invocations
    runner_id, run_id = _runner_and_atomic_run(app)
    return FleetRun(
        app_id=app.app_id,
        runner_id=runner_id,
        succeeded=prices[0].invocation_id,
        failed=rejected.invocation_id,
        failed_call_key=rejected.call.call_id.key,
        workflow=report.invocation_id,
        sub_invocations=sub_invocations,
        large_argument=manifest.invocation_id,
        atomic_service_run_id=run_id,
    )


def _runner_and_atomic_run(app: object) -> tuple[str, str]:
    """The worker's runner id and one atomic-service run it recorded (waits for the first)."""
    orchestrator = app.orchestrator  # type: ignore[attr-defined]
    deadline = time.monotonic() + FLEET_TIMEOUT
    while True:
        runners = orchestrator.get_active_runners()
        now = datetime.now(UTC)
        runs = orchestrator.get_atomic_service_executions_in_timerange(now - timedelta(hours=1), now)
        if runners and runs:
            return runners[0].runner_id, runs[0].atomic_service_run_id
        if time.monotonic() > deadline:
            raise PynencError(f"no runner heartbeat or atomic-service run in {FLEET_TIMEOUT:.0f}s")
        time.sleep(0.5)
