"""A Kafka-only fleet over SASL_SSL: workers, a client and a reader of one app, all as the app's
principal holding exactly the ACLs ``pynenc-kafka acl APP PRINCIPAL --apply`` grants, run tasks
end to end on the state backend, broker, orchestrator and client data store on Kafka."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import pytest
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.core.queue_tables import QUEUE_TABLES
from pynenc_kafka.schemas.topology import AppTopics
from tests.fleet.kafka_fleet import (
    APP_VAR,
    read_back,
    runs_of,
    start_worker,
    stop_all,
    wait_ready,
    worker_env,
)
from tests.security.secured_broker import SecuredBroker, grant_app

TASKS = 12
RUNNER = {"RUNNER_CLS": "ThreadRunner", "MAX_THREADS": "2", "LOGGING_LEVEL": "warning"}


def test_a_kafka_only_fleet_runs_as_an_app_principal(
    secure_broker: SecuredBroker, secure_app_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = secure_broker.new_user(f"bob-{secure_app_id}")
    granted = grant_app(secure_broker, secure_app_id, bob["sasl.username"])
    assert granted.returncode == 0, granted.stderr
    for topic in (".events", ".queue", ".runners"):
        assert topic in granted.stdout, f"no grant on the app's {topic} topic"

    # Every process of the fleet: the secured broker, as bob (the environment wins over the builder).
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", secure_broker.bootstrap)
    monkeypatch.setenv("PYNENC__KAFKA_CLIENT_OPTIONS", json.dumps(bob))
    monkeypatch.setenv("PYNENC__LOGGING_LEVEL", "warning")
    monkeypatch.setenv(APP_VAR, secure_app_id)
    monkeypatch.delitem(sys.modules, "tests.fleet.kafka_fleet", raising=False)
    fleet = importlib.import_module("tests.fleet.kafka_fleet")
    assert {
        type(c).__name__ for c in (fleet.app.broker, fleet.app.orchestrator, fleet.app.client_data_store)
    } == {
        "KafkaBroker",
        "KafkaOrchestrator",
        "KafkaClientDataStore",
    }
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    workers = [
        start_worker(worker_env(runs_dir, f"w{n}", tmp_path / f"w{n}", **RUNNER), tmp_path / f"w{n}.log")
        for n in range(2)
    ]
    try:
        wait_ready(runs_dir, workers, timeout=120)
        # One argument over pynenc's min_size_to_cache (1,024 characters): the client data store's too.
        batch = fleet.record_run.parallelize([(i,) for i in range(TASKS)])
        ids = [inv.invocation_id for inv in batch.invocations]
        large = fleet.app.client_data_store.serialize("x" * 5000)
        assert large.startswith("__pynenc__client_data__"), "not kept in the client data store"
        assert fleet.app.client_data_store.deserialize(large) == "x" * 5000
        deadline = time.monotonic() + 180
        while (
            len(list(fleet.app.orchestrator.filter_by_status(ids, frozenset({InvocationStatus.SUCCESS}))))
            < TASKS
        ):
            dead = [w for w in workers if w.poll() is not None]
            assert not dead, f"worker {dead[0].pid} exited with {dead[0].returncode}: see {tmp_path}"
            assert time.monotonic() < deadline, f"the fleet did not finish in 180s: see {tmp_path}"
            time.sleep(0.2)
    finally:
        stop_all(workers)
        QUEUE_TABLES.close_app(AppTopics(fleet.app.state_backend.topics.prefix, secure_app_id))

    found = read_back(worker_env(runs_dir, "reader", tmp_path / "reader"), ids)
    runs = runs_of(runs_dir, ids)
    assert {inv_id: len(r) for inv_id, r in runs.items()} == dict.fromkeys(ids, 1)
    assert found == {
        inv_id: [InvocationStatus.SUCCESS.value, f"{i}@{runs[inv_id][0].group}"]
        for i, inv_id in enumerate(ids)
    }
