"""A Kafka-only pynenc fleet for the tests: an app, a task that leaves a countable trace, workers.

Every process builds the same app from the environment: ``PYNENC_KAFKA_TEST_FLEET_APP`` names
it, ``PynencBuilder().kafka()`` puts the state backend, broker, orchestrator and client data
store on Kafka (pynenc's ``MemTrigger`` stays: nothing here uses triggers), and the usual
``PYNENC__*`` variables carry the cluster, the runner and the projection folder. No SQLite
file anywhere.

:func:`record_run` appends one line to ``<PYNENC_KAFKA_TEST_RUNS>/<invocation id>`` each time
its body runs, so an invocation run twice shows as a file of two lines, whatever the views say.
``python -m tests.fleet.fleet_worker`` is one worker (:func:`start_worker`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pynenc import PynencBuilder

REPO = Path(__file__).resolve().parents[2]
APP_VAR, RUNS_VAR, GROUP_VAR = (
    "PYNENC_KAFKA_TEST_FLEET_APP",
    "PYNENC_KAFKA_TEST_RUNS",
    "PYNENC_KAFKA_TEST_GROUP",
)
#: Seconds each run of :func:`record_run` sleeps (``PYNENC_KAFKA_TEST_TASK_SECONDS``).
TASK_SECONDS_VAR = "PYNENC_KAFKA_TEST_TASK_SECONDS"

app = PynencBuilder().app_id(os.environ.get(APP_VAR, "kafka-fleet-test")).kafka().build()


@app.task
def record_run(item: int) -> str:
    """Append ``<group> <pid> <start time>`` to this invocation's run file; return ``<item>@<group>``."""
    group = os.environ.get(GROUP_VAR, "none")
    invocation_id = record_run.invocation.invocation_id
    with open(Path(os.environ[RUNS_VAR]) / invocation_id, "a") as runs:
        runs.write(f"{group} {os.getpid()} {time.time():.6f}\n")
    time.sleep(float(os.environ.get(TASK_SECONDS_VAR, "0")))
    return f"{item}@{group}"


@dataclass(frozen=True)
class Run:
    """One run of :func:`record_run`'s body, as its run file says."""

    group: str
    pid: int
    started: float


def runs_of(runs_dir: Path, invocation_ids: Iterable[str]) -> dict[str, list[Run]]:
    """Every recorded run of each invocation (an empty list: it never ran)."""
    found: dict[str, list[Run]] = {}
    for invocation_id in invocation_ids:
        path = runs_dir / invocation_id
        lines = path.read_text().splitlines() if path.exists() else []
        found[invocation_id] = [Run(g, int(p), float(t)) for g, p, t in (line.split() for line in lines)]
    return found


def worker_env(runs_dir: Path, group: str, projection_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a worker of ``group``: its own projection folder, the runs folder,
    and ``settings`` as ``PYNENC__<NAME>`` variables (e.g. ``RUNNER_CLS="ThreadRunner"``)."""
    return {
        **os.environ,
        RUNS_VAR: str(runs_dir),
        GROUP_VAR: group,
        "PYNENC__KAFKA_PROJECTION_DIR": str(projection_dir),
        **{f"PYNENC__{name}": value for name, value in settings.items()},
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start one worker process (its output goes to ``log``)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.fleet.fleet_worker"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_ready(runs_dir: Path, workers: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Wait until every worker wrote its ready file (a worker that exits fails at once)."""
    deadline = time.monotonic() + timeout
    pids = {worker.pid for worker in workers}
    while {int(p.name.rsplit("-", 1)[1]) for p in runs_dir.glob("ready-*")} & pids != pids:
        dead = [w for w in workers if w.poll() is not None]
        assert not dead, f"worker {dead[0].pid} exited with {dead[0].returncode} before it was ready"
        assert time.monotonic() < deadline, f"the workers were not ready within {timeout:g}s"
        time.sleep(0.1)


def stop_all(workers: list[subprocess.Popen[bytes]], grace: float = 20) -> None:
    """SIGTERM the workers, then SIGKILL any still alive after ``grace`` seconds."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(grace)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


READ_BACK = """
import json, sys
from pynenc.identifiers.invocation_id import InvocationId
from tests.fleet.kafka_fleet import app
found = {}
for invocation_id in json.loads(sys.stdin.read()):
    status = app.orchestrator.get_invocation_status(InvocationId(invocation_id))
    found[invocation_id] = [status.value, app.state_backend.get_result(InvocationId(invocation_id))]
print(json.dumps(found))
"""


def read_back(env: dict[str, str], invocation_ids: list[str], timeout: float = 180) -> dict[str, list[str]]:
    """``{invocation id: [status, serialized result]}``, read by a new process with ``env``."""
    done = subprocess.run(
        [sys.executable, "-c", READ_BACK],
        input=json.dumps(invocation_ids),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, f"the reading process failed:\n{done.stderr[-4000:]}"
    found: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return found
