"""Property: any sequence of backend operations, applied live, equals its replay from the log.

Hypothesis generates sequences of :class:`KafkaStateBackend` and :class:`KafkaClientDataStore`
operations on a small id space (invocations, workflows and runners collide, several history
entries share a microsecond, results and workflow data are overwritten, purges of either
component fall anywhere). Each example applies them to a fresh app, waits until the live
projection applied the whole log, and then:

- replays the log into fresh folders, through a projector of its own and through the CLI's
  :class:`LogReplay`, and asserts that every view equals the live one, row for row;
- asks the backend a few questions whose answers a simple model of the operations knows
  (latest result, exception and workflow data, history since the last purge…), so views
  that are consistently wrong on both sides fail too.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pynenc import Pynenc, PynencBuilder
from pynenc.app_info import AppInfo
from pynenc.arguments import Arguments
from pynenc.call import Call
from pynenc.client_data_store.base_client_data_store import _generate_key
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.identifiers.task_id import TaskId
from pynenc.invocation import DistributedInvocation
from pynenc.invocation.status import InvocationStatus, InvocationStatusRecord
from pynenc.models.call_dto import CallDTO
from pynenc.models.invocation_dto import InvocationDTO
from pynenc.runner.runner_context import RunnerContext
from pynenc.state_backend.base_state_backend import InvocationHistory
from pynenc.task import Task
from pynenc.workflow.workflow_identity import WorkflowIdentity

from pynenc_kafka.audit.replay import LogReplay
from pynenc_kafka.cli.session import AuditSession
from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.projections.store import ViewStore
from tests.conftest import unique_app_id
from tests.integration.support import backend, fresh_replay, view_rows


def alpha(x: int) -> int:
    """A task of the generated invocations."""
    return x


def beta(x: int) -> int:
    """Another task, so that calls and workflow types differ."""
    return -x


TASK_FUNCS = {"alpha": alpha, "beta": beta}
INVOCATIONS = ("inv-a", "inv-b", "inv-c", "inv-d")  # also the workflow ids: a workflow is an invocation
RUNNERS = ("runner-a", "runner-b", "runner-c")
DATA_KEYS = ("k0", "k1")
BASE = datetime(2024, 2, 29, 12, 0, 0, 500_000, tzinfo=UTC)
MICROS = 4  # history times are BASE + 0..3 µs: entries often share a microsecond
MISSING = object()
ERRORS: dict[str, type[Exception]] = {"ValueError": ValueError, "RuntimeError": RuntimeError}
CLIENT_VALUES = tuple(letter * 1500 for letter in "xyz")  # over pynenc's min_size_to_cache


# -- operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workflow:
    """A workflow identity: its id (an invocation's), its task, its parent workflow."""

    wf: str
    task: str
    parent_wf: str | None

    def identity(self) -> WorkflowIdentity:
        task_id = TaskId(__name__, self.task)
        parent = InvocationId(self.parent_wf) if self.parent_wf else None
        return WorkflowIdentity(InvocationId(self.wf), task_id, parent)


@dataclass(frozen=True)
class Entry:
    """One invocation to register: its call (task and argument), parent, trigger event, workflow."""

    inv: str
    task: str
    arg: int
    parent: str | None
    parent_event: str | None
    workflow: Workflow | None


@dataclass(frozen=True)
class Register:
    """Register invocations in one call."""

    entries: tuple[Entry, ...]
    as_dto: bool  # _upsert_invocations with DTOs, else upsert_invocations with DistributedInvocations


@dataclass(frozen=True)
class AddHistory:
    """``_add_histories``: one entry for each invocation, at pynenc times BASE + µs."""

    invs: tuple[str, ...]
    status: InvocationStatus
    at_us: int
    status_at_us: int
    runner: str | None
    registered_by: str | None


@dataclass(frozen=True)
class SetResult:
    """``set_result`` (a later one overwrites)."""

    inv: str
    value: int | str


@dataclass(frozen=True)
class SetException:
    """``set_exception`` with a builtin exception (a later one overwrites)."""

    inv: str
    error: str
    message: str


@dataclass(frozen=True)
class StoreWorkflowRun:
    """``store_workflow_run``."""

    workflow: Workflow


@dataclass(frozen=True)
class SetWorkflowData:
    """``set_workflow_data`` (a later one of the same key overwrites)."""

    workflow: Workflow
    key: str
    value: int | str


@dataclass(frozen=True)
class StoreSubInvocation:
    """``store_workflow_sub_invocation``."""

    wf: str
    sub: str


@dataclass(frozen=True)
class Runner:
    """A runner context, its parent's context if any."""

    runner_id: str
    cls: str
    pid: int
    parent: Runner | None

    def context(self) -> RunnerContext:
        parent = self.parent.context() if self.parent else None
        return RunnerContext(self.cls, self.runner_id, parent, self.pid, f"host-{self.pid}", self.pid * 10)


@dataclass(frozen=True)
class StoreRunnerContext:
    """``store_runner_context`` (pynenc's: the parents too, each id once until a purge)."""

    runner: Runner


@dataclass(frozen=True)
class StoreAppInfo:
    """``store_app_info``."""

    module: str


@dataclass(frozen=True)
class Purge:
    """``purge`` of the state backend (the client data stays)."""


@dataclass(frozen=True)
class StoreClientData:
    """The client data store keeps a large value (``serialize``: stored under its content's key)."""

    value: str


@dataclass(frozen=True)
class PurgeClientData:
    """``purge`` of the client data store (the state stays)."""


Op = (
    Register
    | AddHistory
    | SetResult
    | SetException
    | StoreWorkflowRun
    | SetWorkflowData
    | StoreSubInvocation
    | StoreRunnerContext
    | StoreAppInfo
    | Purge
    | StoreClientData
    | PurgeClientData
)

ids = st.sampled_from(INVOCATIONS)
maybe_ids = st.none() | ids
tasks = st.sampled_from(sorted(TASK_FUNCS))
workflows = st.builds(Workflow, ids, tasks, maybe_ids)
entries = st.builds(
    Entry,
    ids,
    tasks,
    st.integers(0, 2),
    maybe_ids,
    st.none() | st.sampled_from(["ev-1", "ev-2"]),
    st.none() | workflows,
)
runner_classes = st.sampled_from(["ThreadRunner", "ProcessRunner"])


def runner_with_id(runner_id: str) -> st.SearchStrategy[Runner]:
    """A runner context, with or without a parent context (of another runner id)."""
    parents = st.sampled_from([r for r in RUNNERS if r != runner_id])
    parent = st.none() | st.builds(Runner, parents, runner_classes, st.integers(1, 3), st.none())
    return st.builds(Runner, st.just(runner_id), runner_classes, st.integers(1, 3), parent)


runners = st.sampled_from(RUNNERS).flatmap(runner_with_id)
common_ops: list[st.SearchStrategy[Op]] = [
    st.builds(Register, st.lists(entries, min_size=1, max_size=3).map(tuple), st.booleans()),
    st.builds(
        AddHistory,
        st.lists(ids, min_size=1, max_size=3).map(tuple),
        st.sampled_from(list(InvocationStatus)),
        st.integers(0, MICROS - 1),
        st.integers(0, MICROS - 1),
        st.none() | st.sampled_from(RUNNERS),
        maybe_ids,
    ),
    st.builds(SetResult, ids, st.integers(0, 2) | st.sampled_from(["x", "y"])),
    st.builds(SetException, ids, st.sampled_from(sorted(ERRORS)), st.sampled_from(["m1", "m2"])),
    st.builds(StoreWorkflowRun, workflows),
    st.builds(SetWorkflowData, workflows, st.sampled_from(DATA_KEYS), st.integers(0, 2) | st.just("v")),
    st.builds(StoreSubInvocation, ids, ids),
    st.builds(StoreRunnerContext, runners),
    st.builds(StoreAppInfo, st.sampled_from(["mod.one", "mod.two"])),
    st.builds(StoreClientData, st.sampled_from(CLIENT_VALUES)),
]
#: Every operation in any order, a purge of each kind about once in twenty. Chunks of a plain ``st.lists``
#: would mostly be shorter than ten operations; chunks of chunks reach 30 often and still shrink well.
any_op = st.one_of(*common_ops, *common_ops, st.just(Purge()), st.just(PurgeClientData()))
operations = st.lists(st.lists(any_op, min_size=1, max_size=6), max_size=5).map(
    lambda chunks: [op for chunk in chunks for op in chunk]
)


# -- applying them -----------------------------------------------------------------------------


def dto_pair(entry: Entry, bound: dict[str, Task]) -> tuple[InvocationDTO, CallDTO]:
    """The (invocation, call) DTOs that registering ``entry`` stores."""
    call = Call(bound[entry.task], Arguments(kwargs={"x": entry.arg}))
    parent = InvocationId(entry.parent) if entry.parent else None
    workflow = entry.workflow.identity() if entry.workflow else None
    inv = InvocationDTO(InvocationId(entry.inv), call.call_id, workflow, parent, entry.parent_event)
    return inv, call.to_dto()


def distributed(entry: Entry, bound: dict[str, Task]) -> DistributedInvocation:
    """``entry`` as the invocation object pynenc's ``upsert_invocations`` takes (its constructor stores nothing)."""
    call = Call(bound[entry.task], Arguments(kwargs={"x": entry.arg}))
    parent = InvocationId(entry.parent) if entry.parent else None
    workflow = entry.workflow.identity() if entry.workflow else None
    return DistributedInvocation(call, InvocationId(entry.inv), parent, workflow, True, entry.parent_event)


def history_entry(op: AddHistory) -> InvocationHistory:
    record = InvocationStatusRecord(op.status, op.runner, BASE + timedelta(microseconds=op.status_at_us))
    entry = InvocationHistory(op.invs[0], record, "ctx-1", op.registered_by)
    entry._timestamp = BASE + timedelta(microseconds=op.at_us)
    return entry


def apply(op: Op, be: KafkaStateBackend, bound: dict[str, Task]) -> None:
    """Perform ``op`` through the backend (or the app's client data store)."""
    match op:
        case StoreClientData(value=value):
            be.app.client_data_store.serialize(value)
        case PurgeClientData():
            be.app.client_data_store.purge()
        case Register(entries=entries, as_dto=True):
            be._upsert_invocations([dto_pair(e, bound) for e in entries])
        case Register(entries=entries):
            be.upsert_invocations([distributed(e, bound) for e in entries])
        case AddHistory():
            be._add_histories([InvocationId(i) for i in op.invs], history_entry(op))
        case SetResult(inv=inv, value=value):
            be.set_result(InvocationId(inv), value)
        case SetException(inv=inv, error=error, message=message):
            be.set_exception(InvocationId(inv), ERRORS[error](message))
        case StoreWorkflowRun(workflow=wf):
            be.store_workflow_run(wf.identity())
        case SetWorkflowData(workflow=wf, key=key, value=value):
            be.set_workflow_data(wf.identity(), key, value)
        case StoreSubInvocation(wf=wf, sub=sub):
            be.store_workflow_sub_invocation(InvocationId(wf), InvocationId(sub))
        case StoreRunnerContext(runner=runner):
            be.store_runner_context(runner.context())
        case StoreAppInfo(module=module):
            be.store_app_info(AppInfo(app_id=be.app.app_id, module=module))
        case Purge():
            be.purge()


# -- the model ---------------------------------------------------------------------------------


@dataclass
class State:
    """The state the backend should answer with: what the operations since the last purge left."""

    app_info: AppInfo | None = None
    invocations: dict[str, tuple[InvocationDTO, CallDTO]] = field(default_factory=dict)
    # Index rows are blind puts: a child registered again under another parent may stay listed
    # under the first one too, so these hold every owner ever named (an upper bound).
    children_ever: dict[str, set[str]] = field(default_factory=dict)
    by_workflow_ever: dict[str, set[str]] = field(default_factory=dict)
    workflow_types_ever: set[str] = field(default_factory=set)
    history: dict[str, list[tuple[int, int, AddHistory]]] = field(default_factory=dict)
    results: dict[str, int | str] = field(default_factory=dict)
    exceptions: dict[str, tuple[str, str]] = field(default_factory=dict)
    workflow_runs: dict[str, WorkflowIdentity] = field(default_factory=dict)
    workflow_data: dict[tuple[str, str], int | str] = field(default_factory=dict)
    subs: dict[str, set[str]] = field(default_factory=dict)
    runners: dict[str, Runner] = field(default_factory=dict)  # as written
    runner_cache: set[str] = field(default_factory=set)  # the base backend's cache: written once


@dataclass
class Model:
    """A simple model of the operations: what the backend should answer after them."""

    app_id: str
    state: State
    writes: int = 0
    client_data: set[str] = field(default_factory=set)  # values stored since the last client data purge

    def record(self, op: Op, bound: dict[str, Task]) -> None:
        """Account for ``op``, applied after every operation recorded so far."""
        self.writes += 1
        s = self.state
        match op:
            case Register(entries=entries):
                for e in entries:
                    s.invocations[e.inv] = dto_pair(e, bound)
                    if e.parent:
                        s.children_ever.setdefault(e.parent, set()).add(e.inv)
                    if e.workflow:
                        s.by_workflow_ever.setdefault(e.workflow.wf, set()).add(e.inv)
            case AddHistory():
                for inv_id in op.invs:  # one invocation's entries: log order within a microsecond
                    s.history.setdefault(inv_id, []).append((op.at_us, self.writes, op))
            case SetResult(inv=inv, value=value):
                s.results[inv] = value
            case SetException(inv=inv, error=error, message=message):
                s.exceptions[inv] = (error, message)
            case StoreWorkflowRun(workflow=wf):
                s.workflow_runs[wf.wf] = wf.identity()
                s.workflow_types_ever.add(wf.identity().workflow_type.key)
            case SetWorkflowData(workflow=wf, key=key, value=value):
                s.workflow_data[(wf.wf, key)] = value
            case StoreSubInvocation(wf=wf, sub=sub):
                s.subs.setdefault(wf, set()).add(sub)
            case StoreRunnerContext(runner=runner):
                self._store_runner(runner)
            case StoreAppInfo(module=module):
                s.app_info = AppInfo(app_id=self.app_id, module=module)
            case Purge():
                self.state = State()
            case StoreClientData(value=value):
                self.client_data.add(value)
            case PurgeClientData():
                self.client_data = set()

    def _store_runner(self, runner: Runner) -> None:
        """Mirror ``BaseStateBackend.store_runner_context``: written once per id until a purge."""
        if runner.runner_id not in self.state.runner_cache:
            self.state.runners[runner.runner_id] = runner
        self.state.runner_cache.add(runner.runner_id)
        if runner.parent:
            self._store_runner(runner.parent)


def described(ctx: RunnerContext | None) -> tuple[str, int, str, int, str | None] | None:
    """A runner context as comparable fields, its parent by id."""
    if ctx is None:
        return None
    parent = ctx.parent_ctx.runner_id if ctx.parent_ctx else None
    return ctx.runner_cls, ctx.pid, ctx.hostname, ctx.thread_id, parent


def history_fields(h: InvocationHistory) -> tuple[Any, ...]:
    record = h.status_record
    return (
        h.invocation_id,
        record.status,
        h.timestamp,
        record.timestamp,
        record.runner_id,
        h.registered_by_inv_id,
    )


def expected_history(inv: str, op: AddHistory) -> tuple[Any, ...]:
    at, status_at = (BASE + timedelta(microseconds=us) for us in (op.at_us, op.status_at_us))
    return inv, op.status, at, status_at, op.runner, op.registered_by


def check_answers(be: KafkaStateBackend, model: Model) -> None:
    """The backend's answers equal the model's."""
    s = model.state
    for inv in INVOCATIONS:
        inv_id = InvocationId(inv)
        if inv in s.results:
            assert be.get_result(inv_id) == s.results[inv], inv
        else:
            with pytest.raises(KeyError):
                be._get_result(inv_id)
        if inv in s.exceptions:
            exc = be.get_exception(inv_id)
            assert (type(exc).__name__, str(exc)) == s.exceptions[inv], inv
        else:
            with pytest.raises(KeyError):
                be._get_exception(inv_id)
        entries = [op for _, _, op in sorted(s.history.get(inv, []), key=lambda t: t[:2])]
        got = [history_fields(h) for h in be.get_history(inv_id)]
        assert got == [expected_history(inv, op) for op in entries], f"history of {inv}"
        assert be._get_invocation(inv_id) == s.invocations.get(inv), inv
        children = set(be.get_child_invocations(inv_id))
        latest = {i for i, (dto, _) in s.invocations.items() if dto.parent_invocation_id == inv}
        assert latest <= children <= s.children_ever.get(inv, set()), f"children of {inv}"
        members = set(be.get_invocation_ids_by_workflow(workflow_id=inv))
        latest = {
            i for i, (dto, _) in s.invocations.items() if dto.workflow and dto.workflow.workflow_id == inv
        }
        assert latest <= members <= s.by_workflow_ever.get(inv, set()), f"invocations of workflow {inv}"
        assert set(be.get_workflow_sub_invocations(inv_id)) == s.subs.get(inv, set()), inv
        for key in DATA_KEYS:
            identity = WorkflowIdentity(inv_id, TaskId(__name__, "alpha"))
            assert be.get_workflow_data(identity, key, MISSING) == s.workflow_data.get((inv, key), MISSING)
    assert set(be.get_invocation_ids_by_workflow()) == set(s.invocations)
    timeline = [h for batch in be.iter_history_in_timerange(BASE, BASE + timedelta(seconds=1)) for h in batch]
    assert [h.timestamp for h in timeline] == sorted(h.timestamp for h in timeline)
    assert Counter(map(history_fields, timeline)) == Counter(
        expected_history(inv, op) for inv, entries in s.history.items() for _, _, op in entries
    )
    assert {run.workflow_id: run for run in be.get_all_workflow_runs()} == s.workflow_runs
    types = {t.key for t in be.get_all_workflow_types()}
    assert {r.workflow_type.key for r in s.workflow_runs.values()} <= types <= s.workflow_types_ever
    for runner_id in RUNNERS:
        want = s.runners.get(runner_id)
        assert described(be._get_runner_context(runner_id)) == described(want and want.context()), runner_id
    cds = be.app.client_data_store
    for value in CLIENT_VALUES:
        key = _generate_key(be.app.serializer.serialize(value))
        if value in model.client_data:
            assert cds._retrieve(key) == be.app.serializer.serialize(value)
        else:
            with pytest.raises(KeyError):
                cds._retrieve(key)
    if s.app_info is None:
        with pytest.raises(KeyError):
            be.get_app_info()
    else:
        assert be.get_app_info() == s.app_info


# -- the property --------------------------------------------------------------------------------


Rows = dict[str, list[tuple[bytes, bytes]]]


def audit_replay(be: KafkaStateBackend, folder: Path) -> ViewStore:
    """Replay the app's whole log as ``pynenc-kafka replay`` does; the folder opened read-only."""
    session = AuditSession(be.conf)
    log = session.app_log(be.app.app_id)
    with session.reader(log) as reader:
        LogReplay(reader, log.source).run(folder, reader.whole_log())
    return ViewStore(folder, read_only=True)


def rows_of(open_store: Callable[[], ViewStore]) -> Rows:
    """Every state view's rows of a replayed folder, closed afterwards."""
    store = open_store()
    try:
        return view_rows(store)
    finally:
        store.close()


def first_difference(live: Rows, other: Rows) -> str:
    for view, rows in live.items():
        if rows != other[view]:
            only_live = sorted(set(rows) - set(other[view]))[:3]
            only_other = sorted(set(other[view]) - set(rows))[:3]
            return f"view {view}: only live {only_live}, only replayed {only_other}"
    return "no difference"


@pytest.mark.timeout(900)  # a failure shrinks for up to 5 minutes (~1 s an example) before it is shown
@settings(
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_replaying_the_log_equals_the_live_views(kafka_bootstrap: str, ops: list[Op]) -> None:
    app: Pynenc = (
        PynencBuilder()
        .app_id(unique_app_id("prop-replay"))
        .kafka(bootstrap_servers=kafka_bootstrap)
        .custom_config(client_data_store_cls="KafkaClientDataStore")
        .build()
    )
    bound = {name: app.task(func) for name, func in TASK_FUNCS.items()}
    be = backend(app)  # first use: pynenc stores the app's info
    model = Model(app.app_id, State(app_info=AppInfo.from_app(app)))
    event(f"{len(ops) // 10 * 10}-{len(ops) // 10 * 10 + 9} operations")
    event(f"{sum(isinstance(op, Purge) for op in ops)} purges")
    event(f"{sum(isinstance(op, PurgeClientData) for op in ops)} client data purges")
    try:
        for op in ops:
            apply(op, be, bound)
            model.record(op, bound)
        # Every write was acknowledged: the log is complete, so the replays (each with a consumer
        # of its own, one through a projector, one as the CLI does) run while the live views catch up.
        with tempfile.TemporaryDirectory(prefix="prop-replay-") as tmp, ThreadPoolExecutor(2) as pool:
            replays = {
                "projector": pool.submit(rows_of, lambda: fresh_replay(app, Path(tmp) / "projector")),
                "LogReplay": pool.submit(rows_of, lambda: audit_replay(be, Path(tmp) / "log-replay")),
            }
            be.projection.barrier.wait()
            live = view_rows(be.projection.store)
            for name, replayed in replays.items():
                rows = replayed.result()
                assert rows == live, f"the {name} replay differs: {first_difference(live, rows)}"
        check_answers(be, model)
    finally:
        RUNTIME.close_app(be.topics)
