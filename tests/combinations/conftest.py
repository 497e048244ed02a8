"""Run pynenc's combination suite with KafkaStateBackend as the state backend.

pynenc's ``pynenc_tests/integration/combinations/conftest.py`` is not a conftest of
this folder, so its fixtures are imported here explicitly, and ``app_combination_instance``
is overridden, as that conftest tells plugin authors to do.

Every combination uses pynenc's SQLite broker, orchestrator, trigger and client data
store on a temporary database per test, and our ``KafkaStateBackend`` on the session's
broker: one combination per runner pynenc ships, with the serializer pynenc's own suite
pairs it with. The app is described twice, identically: in the builder's config values
(this process) and in ``PYNENC__*`` environment variables, because some tests build the
app again with a bare ``Pynenc()`` in a child process (``_subprocess_runner_main``) and
spawned runners re-import the task modules. ``PYNENC__KAFKA_PROJECTION_DIR`` and
``PYNENC__KAFKA_TOPIC_PREFIX`` come from ``tests/conftest.py``.

``PYNENC_KAFKA_COMBINATIONS_BASELINE=1`` runs the very same tests on pynenc's own
``SQLiteStateBackend`` instead (ids ``[SQLite ...]``): a test that fails there too is
not ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from _pytest.fixtures import FixtureRequest
from _pytest.monkeypatch import MonkeyPatch
from pynenc import Pynenc, PynencBuilder
from pynenc.serializer.base_serializer import BaseSerializer
from pynenc.util.subclasses import get_all_subclasses
from pynenc_tests import util
from pynenc_tests.integration.combinations.conftest import (  # noqa: F401  (fixtures)
    app,
    task_async_add,
    task_async_fail,
    task_async_get_text,
    task_async_get_upper,
    task_async_sleep,
    task_cpu_intensive_no_conc,
    task_distribute_cpu_work,
    task_get_text,
    task_get_upper,
    task_process_large_shared_arg,
    task_raise_exception,
    task_retry_once,
    task_sleep,
    task_sum,
)
from pynenc_tests.util.subclasses import get_runner_subclasses

from pynenc_kafka.backend import KafkaStateBackend
from pynenc_kafka.runtime import RUNTIME

HERE = Path(__file__).resolve().parent

BASELINE = os.environ.get("PYNENC_KAFKA_COMBINATIONS_BASELINE", "") not in ("", "0")

#: Per-test limit in this folder, below pyproject's 300 s: pynenc's MultiThreadRunner can
#: deadlock creating its ``multiprocessing.Manager`` (fork of a threaded process); such a
#: test should not cost CI five minutes. The slowest passing test takes 55-110 s on 2 cores.
COMBINATION_TIMEOUT = 200


@dataclass(frozen=True)
class KafkaCombination:
    """One runner and its serializer, on SQLite components with KafkaStateBackend."""

    runner: type
    serializer: type

    @property
    def combination_id(self) -> str:
        runner = self.runner.__name__.replace("Runner", "")
        serializer = self.serializer.__name__.replace("Serializer", "")
        return f"{'SQLite' if BASELINE else 'Kafka'} {runner} {serializer}"


def build_kafka_combinations() -> list[KafkaCombination]:
    """Every runner pynenc ships, each with the serializer pynenc's own suite pairs it with."""
    runners = sorted(get_runner_subclasses(), key=lambda cls: cls.__name__)
    serializers = sorted(get_all_subclasses(BaseSerializer), key=lambda cls: cls.__name__)  # type: ignore[type-abstract]
    return [KafkaCombination(runner, serializers[i % len(serializers)]) for i, runner in enumerate(runners)]


#: ``prctl`` option making a process the reaper of its orphaned descendants (Linux >= 3.4).
PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> bool:
    """Make this process the parent of its descendants whose own parent dies.

    A test that SIGKILLs a runner on purpose (``test_runner_reroutes_on_real_os_signal``)
    orphans the runner's children: its forked ``multiprocessing.Manager``, task processes,
    MultiThreadRunner workers. Adopted, they stay this process's descendants, where the
    test's teardown finds them; otherwise they would live on under init, polling (~12% of
    a core each) or keeping this worker's stdout open forever (pytest-xdist, or a pipe,
    then waits for them). Linux only: elsewhere such orphans are not swept.

    :return: Whether this process adopts orphans now.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def descendants() -> dict[int, psutil.Process]:
    """This process's descendants (adopted orphans included), by pid."""
    return {proc.pid: proc for proc in psutil.Process().children(recursive=True)}


def kill_new_descendants(before: set[int], timeout: float = 5.0) -> None:
    """Kill, and reap, every descendant that was not there before the test.

    A killed grandchild becomes this process's child (and reapable) once its own parent,
    killed too, is gone; until then it is left to that parent.

    :param set before: Pids of the descendants that existed when the test started (the
        session's broker, for one, when it runs as this process's child).
    :param float timeout: Seconds to wait for the killed processes to be gone.
    """
    leftovers = {pid: proc for pid, proc in descendants().items() if pid not in before}
    for proc in leftovers.values():
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + timeout
    while leftovers and time.monotonic() < deadline:
        for pid in list(leftovers):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    del leftovers[pid]
            except ChildProcessError:
                if not psutil.pid_exists(pid):
                    del leftovers[pid]
        time.sleep(0.01)


@pytest.fixture(params=build_kafka_combinations(), ids=lambda comb: comb.combination_id)
def app_combination_instance(
    request: FixtureRequest, monkeypatch: MonkeyPatch, temp_sqlite_db_path: str, kafka_bootstrap: str
) -> Iterator[Pynenc]:
    """A fresh app per test: SQLite components on a temp database, KafkaStateBackend on the session broker.

    At teardown (after pynenc's ``app`` fixture stopped the runner and killed its children)
    every process the test left behind is killed (orphans included, see :func:`adopt_orphans`)
    and the app's projection is closed in this process, so a worker does not keep idle projector threads and RocksDB handles of
    earlier tests (more threads also make pynenc's fork-based runners likelier to deadlock).
    """
    comb: KafkaCombination = request.param
    test_module, test_name = util.get_module_name(request)
    app_id = f"{test_module}.{test_name}-{uuid.uuid4().hex[:10]}"
    settings = {
        "runner_cls": comb.runner.__name__,
        "serializer_cls": comb.serializer.__name__,
        "logging_level": "debug",
        "print_arguments": False,
        # Fast loop/poll intervals, as pynenc's own fixture uses.
        "runner_loop_sleep_time_sec": 0.01,
        "invocation_wait_results_sleep_time_sec": 0.01,
    }
    builder = PynencBuilder().app_id(app_id).sqlite(sqlite_db_path=temp_sqlite_db_path)
    if BASELINE:
        state_backend_cls = "SQLiteStateBackend"
    else:
        builder = builder.kafka(bootstrap_servers=kafka_bootstrap)
        state_backend_cls = KafkaStateBackend.__name__
    pynenc_app = builder.custom_config(**settings).build()
    # The same app for any process that builds it from the environment.
    env = {
        "PYNENC__APP_ID": app_id,
        "PYNENC__ORCHESTRATOR_CLS": "SQLiteOrchestrator",
        "PYNENC__BROKER_CLS": "SQLiteBroker",
        "PYNENC__CLIENT_DATA_STORE_CLS": "SQLiteClientDataStore",
        "PYNENC__TRIGGER_CLS": "SQLiteTrigger",
        "PYNENC__STATE_BACKEND_CLS": state_backend_cls,
        "PYNENC__SQLITE_DB_PATH": temp_sqlite_db_path,
        "PYNENC__KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **{f"PYNENC__{key.upper()}": str(value) for key, value in settings.items()},
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert os.environ.get("PYNENC__KAFKA_TOPIC_PREFIX"), "tests/conftest.py sets the topic prefix"
    assert type(pynenc_app.state_backend).__name__ == state_backend_cls
    before = set(descendants())
    yield pynenc_app
    kill_new_descendants(before)
    backend = pynenc_app.state_backend
    if isinstance(backend, KafkaStateBackend):
        RUNTIME.close_app(backend.topics)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker pynenc's suite uses, and adopt orphans in this (worker) process."""
    config.addinivalue_line("markers", "slow: pynenc's slow combination tests (performance)")
    adopt_orphans()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Bound each combination test's time (this folder only)."""
    for item in items:
        if HERE not in item.path.resolve().parents:
            continue
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(COMBINATION_TIMEOUT))
