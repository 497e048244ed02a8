"""A replay with partitions decoded in worker processes equals a serial one, and resumes after SIGKILL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from pynenc import Pynenc
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from benchmarks.replay import new_log, write_log
from pynenc_kafka.audit.log_reader import OffsetRange
from pynenc_kafka.audit.replay import LogReplay
from pynenc_kafka.audit.replay_worker import send_chunks
from pynenc_kafka.audit.worker_processes import split_partitions
from pynenc_kafka.cli.session import AuditSession
from pynenc_kafka.core.conf import ConfigStateBackendKafka
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.store import View, ViewStore
from tests.cli.support import folder_digests, record_status, register, run_cli
from tests.integration.support import backend


def _session(bootstrap: str, prefix: str | None = None) -> AuditSession:
    conf = ConfigStateBackendKafka()
    conf.kafka_bootstrap_servers = bootstrap
    if prefix:
        conf.kafka_topic_prefix = prefix
    return AuditSession(conf)


def test_workers_and_one_process_replay_the_same_views_through_a_purge(
    app_instance: Pynenc, tmp_path: Path, kafka_bootstrap: str
) -> None:
    be = backend(app_instance)
    for i in range(40):
        register(be, f"inv-{i}", workflow_id=f"inv-{i % 4}")
        record_status(be, f"inv-{i}", InvocationStatus.REGISTERED)
    be.purge()
    for i in range(30, 70):
        register(be, f"inv-{i}")
        record_status(be, f"inv-{i}", InvocationStatus.RUNNING)
        be._set_result(InvocationId(f"inv-{i}"), str(i))
    session = _session(kafka_bootstrap)
    log = session.app_log(be.app.app_id)
    folders = {}
    for workers in (1, 2, 3):
        folders[workers] = tmp_path / f"workers-{workers}"
        with session.reader(log) as reader:
            whole = reader.whole_log()
            result = LogReplay(reader, log.source, batch_size=7, workers=workers).run(folders[workers], whole)
        assert result.skipped == 0 and result.records == whole.total
    serial = folder_digests(folders[1])
    assert (
        serial[View.RESULTS].rows == 40 and serial[View.INVOCATIONS].rows == 40
    )  # the purge emptied the rest
    assert folder_digests(folders[2]) == serial
    assert folder_digests(folders[3]) == serial


def test_the_cli_replays_with_workers_and_says_it_resumes(
    app_instance: Pynenc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    be = backend(app_instance)
    for i in range(20):
        register(be, f"inv-{i}")
    app_id = be.app.app_id
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(capsys, "replay", "--app", app_id, "--into", str(one), "--workers", "1").code == 0
    assert run_cli(capsys, "replay", "--app", app_id, "--into", str(two), "--workers", "3").code == 0
    assert folder_digests(one) == folder_digests(two)
    again = run_cli(capsys, "replay", "--app", app_id, "--into", str(two), "--workers", "3")
    assert again.code == 0 and "resuming" in again.out and "replayed 0 records" in again.out


def test_partitions_are_split_whole_and_a_worker_waits_for_the_writer() -> None:
    todo = OffsetRange({0: 0, 1: 5, 2: 0, 3: 0}, {0: 100, 1: 10, 2: 60, 3: 50})
    shares = split_partitions(todo, 2)
    assert sorted(p for share in shares for p in share.pending()) == [0, 1, 2, 3]
    assert sorted(share.total for share in shares) == [105, 110]  # largest first, to the least loaded
    assert all(share.pending()[p] == todo.pending()[p] for share in shares for p in share.pending())

    # the memory bound: a worker's send returns only once the writer took the message, so a worker
    # holds at most the batch it sends and the one it reads
    receiving, sending = multiprocessing.Pipe(duplex=False)
    big = ("chunks", [b"x" * (1 << 20)])
    sender = threading.Thread(target=send_chunks, args=(sending, big))
    sender.start()
    sender.join(0.5)
    assert sender.is_alive()  # nobody read it: still sending
    assert receiving.recv() == big
    sender.join(10)
    assert not sender.is_alive()


def _checkpoint_applied(folder: Path) -> int:
    if not (folder / "CURRENT").exists():
        return 0
    try:
        store = ViewStore(folder, read_only=True)
    except Exception:
        return 0
    try:
        return sum(ProjectionCheckpoint(store).load().applied.values())
    finally:
        store.close()


def test_a_replay_killed_mid_way_resumes_and_equals_one_replay(tmp_path: Path, kafka_bootstrap: str) -> None:
    session = _session(kafka_bootstrap, "bench")
    log = new_log(session, 3)
    events = 120_000
    write_log(session, log, events)
    cli = [sys.executable, "-m", "pynenc_kafka.cli", "--bootstrap-servers", kafka_bootstrap]
    cli += ["--topic-prefix", "bench", "replay", "--app", log.app_id]
    killed = tmp_path / "killed"
    process = subprocess.Popen([*cli, "--into", str(killed), "--workers", "2"], stdout=subprocess.PIPE)
    try:
        while process.poll() is None and _checkpoint_applied(killed) == 0:
            time.sleep(0.05)
        children = psutil.Process(process.pid).children(recursive=True) if process.poll() is None else []
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        psutil.wait_procs(children, timeout=30)  # workers notice their writer died and stop
        assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    finally:
        if process.poll() is None:
            process.kill()
    assert _checkpoint_applied(killed) < events or process.returncode == 0  # killed mid-way (or it won)
    resumed = subprocess.run([*cli, "--into", str(killed)], capture_output=True, text=True, check=True)
    assert "resuming" in resumed.stdout
    once = tmp_path / "once"
    subprocess.run([*cli, "--into", str(once), "--workers", "1"], capture_output=True, check=True)
    assert folder_digests(killed) == folder_digests(once)
    assert folder_digests(once)[View.HISTORY].rows == events * 4 // 6
    session.clients.admin.delete_topics([log.topic])


def test_workers_replay_the_orchestrators_decisions_and_scoped_purges_as_the_live_views(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """Decisions (the orchestrator's requests) are made by the replay's one writer, in order, on the
    state the rows before them left; each component's purge drops only its views."""
    from pynenc.exceptions import InvocationStatusError

    from pynenc_kafka.projections.store import ORCHESTRATION_VIEWS, PROJECTED_VIEWS
    from tests.conftest import unique_app_id
    from tests.orchestration.race_app import make

    app, free, limited = make(unique_app_id("replay-decisions"), str(tmp_path / "live"))
    orchestrator = app.orchestrator
    first = [free(n).invocation_id for n in range(6)]
    orchestrator.purge()  # the orchestration's scope: the state backend keeps its rows
    runs = [limited(n).invocation_id for n in range(4)] + [free(n).invocation_id for n in range(6, 12)]
    for n, invocation_id in enumerate(runs):
        runner = f"runner-{n % 2}"
        try:
            orchestrator._atomic_status_transition(invocation_id, InvocationStatus.PENDING, runner)
            orchestrator._atomic_status_transition(invocation_id, InvocationStatus.RUNNING, runner)
        except InvocationStatusError:
            pass
    orchestrator.waiting_for_results(runs[4], runs[5:7])
    app.client_data_store.purge()
    session = _session(kafka_bootstrap)
    log = session.app_log(app.app_id)
    folders = {}
    for workers in (1, 3):
        folders[workers] = tmp_path / f"workers-{workers}"
        with session.reader(log) as reader:
            whole = reader.whole_log()
            LogReplay(reader, log.source, batch_size=5, workers=workers).run(folders[workers], whole)
    serial, parallel = folder_digests(folders[1]), folder_digests(folders[3])
    assert {v: serial[v] for v in PROJECTED_VIEWS} == {v: parallel[v] for v in PROJECTED_VIEWS}
    assert serial[View.ORCH_INVOCATIONS].rows == len(runs)  # the purge forgot the first ones
    assert serial[View.INVOCATIONS].rows == len(first) + len(runs)  # the state's rows stayed
    assert all(serial[v] == parallel[v] for v in ORCHESTRATION_VIEWS)
    running = [i for i in runs[:4] if orchestrator.get_invocation_status(i) is InvocationStatus.RUNNING]
    assert len(running) == 1  # the live views: one of the limited task runs
