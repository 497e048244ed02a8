"""Run pynenc's combination suite with every component on Kafka.

pynenc's ``pynenc_tests/integration/combinations/conftest.py`` is not a conftest of
this folder, so its fixtures are imported here explicitly, and ``app_combination_instance``
is overridden, as that conftest tells plugin authors to do.

Every combination puts every component on Kafka (``PynencBuilder().kafka()``, the
session's broker: state backend, broker, orchestrator, client data store and trigger): one
combination per runner pynenc ships, with the serializer pynenc's own suite pairs it with.
The app is described twice, identically: in the builder's config values
(this process) and in ``PYNENC__*`` environment variables, because some tests build the
app again with a bare ``Pynenc()`` in a child process (``_subprocess_runner_main``) and
spawned runners re-import the task modules. ``PYNENC__KAFKA_PROJECTION_DIR`` and
``PYNENC__KAFKA_TOPIC_PREFIX`` come from ``tests/conftest.py``.

``PYNENC_KAFKA_COMBINATIONS_BASELINE=1`` runs the very same tests on pynenc's full SQLite
stack instead (ids ``[SQLite ...]``): a test that fails there too is not ours.
"""

from __future__ import annotations

import os
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

from pynenc_kafka.builder import KAFKA_COMPONENTS
from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.core.queue_tables import QUEUE_TABLES
from pynenc_kafka.core.runtime import RUNTIME

HERE = Path(__file__).resolve().parent

BASELINE = os.environ.get("PYNENC_KAFKA_COMBINATIONS_BASELINE", "") not in ("", "0")

#: Per-test limit in this folder, below pyproject's 300 s: pynenc's MultiThreadRunner can
#: deadlock creating its ``multiprocessing.Manager`` (fork of a threaded process); such a
#: test should not cost CI five minutes. The slowest passing test takes 55-110 s on 2 cores.
COMBINATION_TIMEOUT = 200

#: One failure of pynenc's own, proven on its full SQLite stack, gets one more run with a new
#: app, in MultiThreadRunner tests only: a hang past the per-test timeout, when pynenc's
#: MultiThreadRunner deadlocks creating its ``multiprocessing.Manager`` (a fork of this threaded
#: process). ``PYNENC_KAFKA_COMBINATIONS_BASELINE=1 ... -k MultiThread`` failed 2 of 27 so (a
#: ``Manager`` proxy error, a 200 s hang). Any other failure fails at once, and so does a second one.
#:
#: The state-backend-only run also reran a KILLED missing after SIGTERM: pynenc's SQLite
#: orchestrator held its write lock through the runner's SIGTERM handler, and the workers blocked
#: on it. With the Kafka orchestrator there is no such lock, so that failure is no longer pynenc's
#: and fails at once.
PYNENC_RACES = pytest.mark.flaky(reruns=1, only_rerun=[r"^Failed: Timeout \(>[0-9.]+s\) from pytest-timeout"])
#: The runner whose tests get that rerun.
RACY_RUNNER = "MultiThreadRunner"


@dataclass(frozen=True)
class KafkaCombination:
    """One runner and its serializer, on every Kafka component."""

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
    serializers = sorted(get_all_subclasses(BaseSerializer), key=lambda cls: cls.__name__)
    return [KafkaCombination(runner, serializers[i % len(serializers)]) for i, runner in enumerate(runners)]


def kill_processes_of(app_id: str, sqlite_db: Path, projection: tuple[Path, str] | None) -> None:
    """Kill every other process left running by this test's app.

    pynenc's ``app`` fixture kills only this process's children. The descendants of a
    runner the test SIGKILLs on purpose (``test_runner_reroutes_on_real_os_signal``) are
    orphaned and live on: MultiThreadRunner workers keep polling (~12% of a core each),
    and a forked ``multiprocessing.Manager`` serves forever and keeps this worker's
    stdout open, which leaves whatever reads it (pytest-xdist, a pipe) waiting forever.
    They are recognised by this test's unique app id: in the environment of spawned
    processes, or, for forked ones (whose /proc environ is the worker's own), by files
    they hold open: the test's own SQLite database, which every process of the app opens
    (pynenc's SQLite components), and this app's projection folder, under the projection
    root only (the broker's partition folders are named after the same topic).

    :param app_id: The test's unique app id.
    :param sqlite_db: The test's temporary SQLite database.
    :param projection: ``(projection root, events topic)`` of a Kafka app, else ``None``.
    """
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            ours = proc.environ().get("PYNENC__APP_ID") == app_id or any(
                holds_app_file(Path(f.path), sqlite_db, projection) for f in proc.open_files()
            )
            if ours:
                proc.kill()
        except (psutil.Error, OSError):
            continue


def holds_app_file(path: Path, sqlite_db: Path, projection: tuple[Path, str] | None) -> bool:
    """Whether an open file belongs to the test's app: its database (and journal) or projection."""
    if path.name.startswith(sqlite_db.name) and path.parent == sqlite_db.parent:
        return True
    return projection is not None and in_projection(path, *projection)


def in_projection(path: Path, root: Path, topic: str) -> bool:
    """Whether ``path`` belongs to the projection of ``topic`` under ``root``.

    Its folder ``root/<cluster>/<topic>/``, its lease ``root/<cluster>/<topic>.projector.lock``
    and its readers' ``root/.secondary/<topic>/`` folders.
    """
    if not path.is_relative_to(root):
        return False
    parts = path.relative_to(root).parts
    return topic in parts[:-1] or parts[-1] == f"{topic}.projector.lock"


@pytest.fixture(params=build_kafka_combinations(), ids=lambda comb: comb.combination_id)
def app_combination_instance(
    request: FixtureRequest, monkeypatch: MonkeyPatch, temp_sqlite_db_path: str, kafka_bootstrap: str
) -> Iterator[Pynenc]:
    """A fresh app per test: every component on Kafka (the session broker), the trigger included.

    At teardown (after pynenc's ``app`` fixture stopped the runner and killed its children)
    the test's leftover processes are killed and the app's projection and queue table are
    closed in this process, so a worker does not keep idle follower threads and RocksDB
    handles of earlier tests (more threads also make pynenc's fork-based runners likelier to
    deadlock).
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
        components = {name: f"SQLite{cls.removeprefix('Kafka')}" for name, cls in KAFKA_COMPONENTS.items()}
    else:
        builder = builder.kafka(bootstrap_servers=kafka_bootstrap)
        components = dict(KAFKA_COMPONENTS)
    pynenc_app = builder.custom_config(**settings).build()
    # The same app for any process that builds it from the environment.
    env = {
        "PYNENC__APP_ID": app_id,
        **{f"PYNENC__{name.upper()}_CLS": cls for name, cls in components.items()},
        "PYNENC__SQLITE_DB_PATH": temp_sqlite_db_path,
        "PYNENC__KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        **{f"PYNENC__{key.upper()}": str(value) for key, value in settings.items()},
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert os.environ.get("PYNENC__KAFKA_TOPIC_PREFIX"), "tests/conftest.py sets the topic prefix"
    built = {name: type(getattr(pynenc_app, name)).__name__ for name in components}
    assert built == components, f"the builder made {built}, not {components}"
    yield pynenc_app
    backend = pynenc_app.state_backend
    if isinstance(backend, KafkaStateBackend):
        kill_processes_of(
            app_id, Path(temp_sqlite_db_path), (backend.conf.projection_root.resolve(), backend.topics.events)
        )
        RUNTIME.close_app(backend.topics)
        QUEUE_TABLES.close_app(backend.topics)
    else:
        kill_processes_of(app_id, Path(temp_sqlite_db_path), None)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker pynenc's suite uses, so it is not an unknown-mark warning."""
    config.addinivalue_line("markers", "slow: pynenc's slow combination tests (performance)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Bound each combination test's time; pynenc's MultiThreadRunner hang gets one more run (this folder only)."""
    for item in items:
        if HERE not in item.path.resolve().parents:
            continue
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(COMBINATION_TIMEOUT))
        callspec = getattr(item, "callspec", None)
        combination = callspec.params.get("app_combination_instance") if callspec else None
        if isinstance(combination, KafkaCombination) and combination.runner.__name__ == RACY_RUNNER:
            item.add_marker(PYNENC_RACES)
