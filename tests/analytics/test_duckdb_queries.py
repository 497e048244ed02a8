"""The README's DuckDB queries, run as written on an export of a real run, against the backend's answers."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from pynenc.invocation.status import InvocationStatus
from pynenc.state_backend.base_state_backend import InvocationHistory

from tests.analytics.conftest import RealRun, query
from tests.cli.support import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_queries() -> list[str]:
    """The SQL blocks of the README's *Analytics* section."""
    text = README.read_text()
    section = text[text.index("## Analytics\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```sql\n(.*?)```", section, re.S)


def quantile_cont(values: list[float], q: float) -> float:
    """DuckDB's ``quantile_cont``: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_seconds(history: list[InvocationHistory]) -> float | None:
    """First RUNNING to a final status, from the backend's history."""
    last = history[-1].status_record.status
    running = [h.timestamp for h in history if h.status_record.status == InvocationStatus.RUNNING]
    if not last.is_final() or not running:
        return None
    return (history[-1].timestamp - running[0]).total_seconds()


def test_the_readme_queries_count_what_the_backend_reports(
    real_run: RealRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the README's queries name analytics/... relative to where they run
    app = real_run.app_id
    events = run_cli(capsys, "export", "--app", app, "--format", "parquet", "--out", "analytics/events")
    assert events.code == 0, events.err
    table = run_cli(
        capsys, "export", "--app", app, "--table", "invocations", "--format", "parquet",
        "--out", "analytics/invocations.parquet", "--force",
    )  # fmt: skip
    assert table.code == 0, table.err
    queries = readme_queries()
    assert len(queries) == 3
    by_status, durations, failures = (query(q) for q in queries)

    be = real_run.backend
    ids = list(be.get_invocation_ids_by_workflow())
    assert {i.invocation_id for i in real_run.submitted} <= set(ids)
    histories = {i: be.get_history(i) for i in ids}
    final = Counter(h[-1].status_record.status.value for h in histories.values())
    assert dict(by_status) == dict(final)
    assert final["failed"] == 4 and final["success"] == len(ids) - 4  # 2 rejected, 2 retried out

    tasks = {i: be.get_invocation(i).task.task_id.key for i in ids}
    expected: dict[str, list[float]] = {}
    for i, history in histories.items():
        seconds = run_seconds(history)
        if seconds is not None:
            expected.setdefault(tasks[i], []).append(seconds)
    assert [row[0] for row in durations] == sorted(expected)
    for task_id, finished, p50, p95 in durations:
        assert finished == len(expected[task_id])
        assert p50 == pytest.approx(quantile_cont(expected[task_id], 0.5), abs=1e-6)
        assert p95 == pytest.approx(quantile_cont(expected[task_id], 0.95), abs=1e-6)

    raised: Counter[str] = Counter()
    for i in ids:
        try:
            raised[json.loads(be._get_exception(i))["error_name"]] += 1
        except KeyError:
            continue
    per_class: Counter[str] = Counter()
    for _minute, error_name, count in failures:
        per_class[error_name] += count
    assert per_class == raised == Counter({"RejectedInput": 2, "FlakyService": 2})


def test_the_invocations_table_equals_the_backend_row_by_row(
    real_run: RealRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "invocations.parquet"
    run = run_cli(capsys, "export", "--app", real_run.app_id, "--table", "invocations", "--format", "parquet",
                  "--out", str(out))  # fmt: skip
    assert run.code == 0, run.err
    rows = {r[0]: r for r in query(
        f"SELECT invocation_id, task_id, final_status, status_records, retries, workflow_id, exception_class "
        f"FROM '{out}'"
    )}  # fmt: skip
    be = real_run.backend
    ids = list(be.get_invocation_ids_by_workflow())
    assert sorted(rows) == sorted(ids)
    for i in ids:
        history = be.get_history(i)
        invocation = be.get_invocation(i)
        _, task_id, final_status, records, retries, workflow_id, exception_class = rows[i]
        assert task_id == invocation.task.task_id.key
        assert final_status == history[-1].status_record.status.value
        assert records == len(history)
        assert retries == sum(1 for h in history if h.status_record.status == InvocationStatus.RETRY)
        assert workflow_id == (invocation.workflow.workflow_id if invocation.workflow else None)
        assert exception_class in (None, "RejectedInput", "FlakyService")
    flaky = [rows[i.invocation_id] for i in real_run.submitted if i.task.task_id.key.endswith(".flaky")]
    assert [(r[2], r[4], r[6]) for r in flaky] == [("failed", 2, "FlakyService")] * 2
    workflow_id = real_run.workflow.invocation_id
    members = {i for i, r in rows.items() if r[5] == workflow_id}
    assert members == {workflow_id, *be.get_workflow_sub_invocations(workflow_id)}
    assert len(members) == 4
