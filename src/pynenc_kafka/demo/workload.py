"""The work the fleet does: submit tasks and workflows, wait for them, read the outcome back.

Importing this module builds the app (:mod:`pynenc_kafka.demo.tasks`) from the environment, so
it is imported once the demo has put its settings there.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynenc.invocation.dist_invocation import DistributedInvocation
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.demo.stacks import Stack
from pynenc_kafka.demo.tasks import STACK, app, batch_report, check, score

#: Sub-invocations of each workflow (:func:`~pynenc_kafka.demo.tasks.batch_report` scores this many items).
WORKFLOW_SIZE = 10


@dataclass(frozen=True)
class Plan:
    """How many of each task a run submits.

    :param scores: :func:`~pynenc_kafka.demo.tasks.score` tasks.
    :param checks: :func:`~pynenc_kafka.demo.tasks.check` tasks (every 25th fails).
    :param workflows: workflows, each with :data:`WORKFLOW_SIZE` sub-invocations.
    """

    scores: int
    checks: int
    workflows: int

    @classmethod
    def for_total(cls, tasks: int, workflows: int) -> Plan:
        """:param tasks: tasks in total, workflows and their sub-invocations included.
        :param workflows: workflows among them.
        :return: the plan: a fifth of the rest are checks, the others scores.
        """
        rest = tasks - workflows * (WORKFLOW_SIZE + 1)
        checks = max(1, rest // 5)
        return cls(scores=max(1, rest - checks), checks=checks, workflows=workflows)

    @property
    def total(self) -> int:
        """:return: the tasks of the run, workflows and their sub-invocations included."""
        return self.scores + self.checks + self.workflows * (WORKFLOW_SIZE + 1)


@dataclass(frozen=True)
class Outcome:
    """What the run did, as read back through the components.

    :param app_id: the app.
    :param stack: the components it ran on.
    :param tasks: the tasks run.
    :param seconds: how long submitting and waiting took.
    :param statuses: the final status of each of the run's tasks, counted.
    :param sample_result: a score invocation's id and result.
    :param history: that invocation's status history.
    :param exception: a failed check's id and exception.
    :param workflow: a workflow's id, its sub-invocations' ids and its ``status`` workflow data.
    """

    app_id: str
    stack: Stack
    tasks: int
    seconds: float
    statuses: Counter[str]
    sample_result: tuple[str, str]
    history: list[str]
    exception: tuple[str, BaseException] | None
    workflow: tuple[str, list[str], object] | None


def count_done() -> int:
    """:return: the run's tasks in a final status so far (pynenc's own service tasks left out)."""
    final = list(InvocationStatus.get_final_statuses())
    return sum(
        app.orchestrator.count_invocations(task.task_id, final) for task in (score, check, batch_report)
    )


def run(plan: Plan) -> Outcome:
    """Submit the work, wait for all of it, and read the outcome back through the backend.

    :param plan: what to submit.
    :return: the outcome.
    """
    started = time.monotonic()
    score_group = score.parallelize([(i,) for i in range(plan.scores)])
    check_group = check.parallelize([(i,) for i in range(plan.checks)])
    workflows = [batch_report(10_000 + WORKFLOW_SIZE * w, WORKFLOW_SIZE) for w in range(plan.workflows)]
    results = list(score_group.results)
    failed_id = None
    for inv in check_group.invocations:
        try:
            _ = inv.result  # waits; raises the task's exception
        except Exception:
            failed_id = failed_id or inv.invocation_id
    for workflow in workflows:
        _ = workflow.result
    elapsed = time.monotonic() - started

    backend = app.state_backend
    subs = {
        wf.invocation_id: sorted(backend.get_workflow_sub_invocations(wf.invocation_id)) for wf in workflows
    }
    ours = {inv.invocation_id for inv in (*score_group.invocations, *check_group.invocations, *workflows)}
    ours.update(sub for ids in subs.values() for sub in ids)
    window = (datetime.now(UTC) - timedelta(seconds=elapsed + 60), datetime.now(UTC))
    final_status: dict[str, str] = {}
    for batch in backend.iter_history_in_timerange(*window, batch_size=1000):
        for entry in batch:
            if entry.invocation_id in ours:
                final_status[entry.invocation_id] = entry.status_record.status.value
    sample_id = score_group.invocations[0].invocation_id
    return Outcome(
        app_id=app.app_id,
        stack=STACK,
        tasks=plan.total,
        seconds=elapsed,
        statuses=Counter(final_status.values()),
        sample_result=(sample_id, results[0]),
        history=[h.status_record.status.value for h in backend.get_history(sample_id)],
        exception=(failed_id, backend.get_exception(failed_id)) if failed_id else None,
        workflow=_first_workflow(workflows, subs),
    )


def _first_workflow(
    workflows: list[DistributedInvocation], subs: dict[str, list[str]]
) -> tuple[str, list[str], object] | None:
    """:param workflows: the run's workflow invocations.
    :param subs: each workflow's sub-invocation ids.
    :return: the first workflow's id, sub-invocations and ``status`` workflow data, if there is one.
    """
    if not workflows:
        return None
    first = workflows[0]
    return (
        first.invocation_id,
        subs[first.invocation_id],
        app.state_backend.get_workflow_data(first.workflow, "status"),
    )
