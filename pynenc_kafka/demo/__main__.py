"""Run a pynenc worker fleet on the Kafka state backend and show what it did.

``python -m pynenc_kafka.demo --workers 4 --tasks 3000``: starts worker processes, submits
tasks (some fail on purpose) and workflows with sub-invocations, waits for every result,
then prints throughput and a summary read back through the backend.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The demo's options."""
    parser = argparse.ArgumentParser(prog="python -m pynenc_kafka.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    parser.add_argument("--tasks", type=int, default=3000, help="tasks to run in total (default 3000)")
    parser.add_argument("--workflows", type=int, default=5, help="workflows of 10 sub-invocations each")
    parser.add_argument("--runner", default="ThreadRunner", help="pynenc runner class of each worker")
    parser.add_argument("--app", default=f"fleet-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace) -> str:
    """Put the fleet's settings in the environment, for this process and every worker."""
    sqlite_path = os.path.join(tempfile.mkdtemp(prefix="pynenc-kafka-demo-"), "pynenc.db")
    os.environ.update(
        {
            "PYNENC_KAFKA_DEMO_APP": args.app,
            "PYNENC_KAFKA_DEMO_SQLITE": sqlite_path,
            "PYNENC__RUNNER_CLS": args.runner,
            "PYNENC__LOGGING_LEVEL": os.environ.get("PYNENC__LOGGING_LEVEL", "critical"),
        }
    )
    # pynenc's runners poll every 0.1 s by default; a busy fleet wants shorter naps.
    for name in ("PYNENC__RUNNER_LOOP_SLEEP_TIME_SEC", "PYNENC__INVOCATION_WAIT_RESULTS_SLEEP_TIME_SEC"):
        os.environ.setdefault(name, "0.01")
    return sqlite_path


def start_workers(count: int) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` worker OS processes."""
    return [subprocess.Popen([sys.executable, "-m", "pynenc_kafka.demo.worker"]) for _ in range(count)]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every worker, then wait (SIGKILL after 20 s)."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Submit the work, wait for it, and read the summary back through the backend."""
    from pynenc_kafka.demo.tasks import app, batch_report, check, score

    workflow_tasks = args.workflows * 11
    checks = max(1, (args.tasks - workflow_tasks) // 5)
    scores = max(1, args.tasks - workflow_tasks - checks)
    started = time.monotonic()
    score_group = score.parallelize([(i,) for i in range(scores)])
    check_group = check.parallelize([(i,) for i in range(checks)])
    workflows = [batch_report(10_000 + 10 * w, 10) for w in range(args.workflows)]
    results = list(score_group.results)
    outcomes: Counter[str] = Counter()
    failed_id = None
    for inv in check_group.invocations:
        try:
            _ = inv.result  # waits; raises the task's exception
            outcomes["ok"] += 1
        except Exception:
            outcomes["failed"] += 1
            failed_id = failed_id or inv.invocation_id
    reports = [wf.result for wf in workflows]
    elapsed = time.monotonic() - started
    total = scores + checks + workflow_tasks

    backend = app.state_backend
    window = (datetime.now(UTC) - timedelta(seconds=elapsed + 60), datetime.now(UTC))
    final_status: dict[str, str] = {}
    for batch in backend.iter_history_in_timerange(*window, batch_size=1000):
        for entry in batch:
            final_status[entry.invocation_id] = entry.status_record.status.value
    first_wf = workflows[0].invocation_id
    return {
        "app": app.app_id,
        "backend": type(backend).__name__,
        "tasks": total,
        "seconds": elapsed,
        "statuses": Counter(final_status.values()),
        "sample_result": (score_group.invocations[0].invocation_id, results[0]),
        "exception": (failed_id, backend.get_exception(failed_id) if failed_id else None),
        "workflow": (first_wf, sorted(backend.get_workflow_sub_invocations(first_wf))),
        "workflow_status": backend.get_workflow_data(workflows[0].workflow, "status"),
        "report_items": sum(len(r) for r in reports),
        "history": [
            h.status_record.status.value
            for h in backend.get_history(score_group.invocations[0].invocation_id)
        ],
    }


def print_summary(summary: dict[str, Any], workers: int) -> None:
    """The visible result of the run."""
    print(f"\n=== pynenc fleet: app {summary['app']!r}, {workers} worker processes, {summary['backend']} ===")
    print(
        f"ran {summary['tasks']} tasks in {summary['seconds']:.1f}s: {summary['tasks'] / summary['seconds']:.0f} tasks/s"
    )
    print("final statuses (read back from the state backend):", dict(sorted(summary["statuses"].items())))
    inv_id, value = summary["sample_result"]
    print(f"a result:     score {inv_id} -> {value!r}; history {' -> '.join(summary['history'])}")
    failed_id, exc = summary["exception"]
    print(f"an exception: check {failed_id} -> {type(exc).__name__}: {exc}")
    wf_id, subs = summary["workflow"]
    print(
        f"a workflow:   {wf_id} ran {len(subs)} sub-invocations, workflow data status={summary['workflow_status']!r}"
    )
    print(f"              first sub-invocations: {', '.join(subs[:3])}, ...")


def main(argv: list[str] | None = None) -> int:
    """Run the fleet end to end."""
    args = parse_args(argv)
    configure(args)
    workers = start_workers(args.workers)
    try:
        summary = run(args)
    finally:
        stop_workers(workers)
    print_summary(summary, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
