"""pynmon serves every page of a Kafka-only app, with the data our components hold, in a real browser.

A small fleet runs on the four Kafka components; pynmon runs on the same app in its own process;
headless Chromium visits every GET route pynmon's router declares (its OpenAPI schema, so a new
page is visited without editing this test), with real ids where a route takes one.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pynenc_kafka.demo.fleet import stop_workers
from tests.conftest import unique_app_id
from tests.monitor.browser import PageVisit, headless_chromium, visit
from tests.monitor.fleet import FleetRun, import_fleet_app, run_fleet, start_worker
from tests.monitor.pynmon_server import openapi_get_routes, running_pynmon

#: Route parameters that name the trigger's records: the trigger stays pynenc's (MemTrigger, in
#: each process's memory), so a Kafka-only app has none of them to show yet.
TRIGGER_PARAMETERS = frozenset(
    {"event_id", "trigger_id", "trigger_run_id", "condition_id", "valid_condition_id"}
)
#: Routes pynenc itself cannot serve, on any backend: see test_pynenc_routes.py for the proof.
PYNENC_UNREACHABLE = {
    "/invocations/table": "shadowed by /invocations/{invocation_id}, which pynmon registers first",
}
#: Query parameters a route needs although its schema marks them optional.
NEEDED_QUERIES = {"/calls/": ("call_id_key",)}
#: Text of a Python traceback, or of pynmon's error pages, in a page.
FAILURE_TEXT = re.compile(
    r"Traceback \(most recent call last\)|Internal Server Error|An unexpected error occurred"
)


@dataclass(frozen=True)
class Page:
    """A page to visit.

    :param route: the route's path template, as pynmon's schema names it.
    :param path: the path with real values.
    :param expected: texts the page must show.
    :param absent: texts it must not show (what a filter left out).
    """

    route: str
    path: str
    expected: tuple[str, ...]
    absent: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def watched_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetRun, str, Path]]:
    """A finished fleet run whose worker still heartbeats, and pynmon watching its app."""
    logs = tmp_path_factory.mktemp("pynmon")
    app_id = unique_app_id("pynmon")
    fleet_app = import_fleet_app(app_id)
    worker = start_worker(app_id, logs / "worker.log")
    try:
        run = run_fleet(fleet_app)
        with running_pynmon(app_id, logs / "pynmon.log") as base_url:
            yield run, base_url, logs
    finally:
        stop_workers([worker])


def parameter_values(run: FleetRun) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Real values for each route parameter, with what a page of that value must show besides it."""
    tasks = "tests.monitor.fleet_app"
    now = datetime.now(UTC)
    return {
        "app_id": [(run.app_id, ())],
        "invocation_id": [
            (run.failed, ("ship_order",)),
            (run.workflow, ("nightly_report",)),
            (run.sub_invocations[0], ("price_order",)),
            (run.large_argument, ("archive_manifest",)),
        ],
        "task_id_key": [(f"{tasks}.ship_order", (run.failed_call_key,)), (f"{tasks}.price_order", ())],
        "workflow_type_key": [(f"{tasks}.nightly_report", (run.workflow,))],
        "call_id_key": [(run.failed_call_key, (run.failed,))],
        "runner_id": [(run.runner_id, ("ThreadRunner",))],
        "atomic_service_run_id": [(run.atomic_service_run_id, (run.runner_id,))],
        "start": [((now - timedelta(hours=1)).isoformat(), ())],
        "end": [((now + timedelta(minutes=5)).isoformat(), ())],
    }


def page_expectations(run: FleetRun) -> dict[str, tuple[str, ...]]:
    """Texts each parameterless page must show, by route."""
    return {
        "/": (run.app_id, "KafkaBroker", "KafkaOrchestrator", "KafkaStateBackend", "KafkaClientDataStore"),
        "/broker/": ("KafkaBroker",),
        "/orchestrator/": ("KafkaOrchestrator",),
        "/state-backend/": ("KafkaStateBackend",),
        "/client-data-store/": ("KafkaClientDataStore",),
        "/runners/": (run.runner_id, "ThreadRunner"),
        "/runners/atomic-service/scheduling": (run.runner_id,),
        "/invocations/": (run.failed, run.workflow, "FAILED", "SUCCESS"),
        "/invocations/timeline": ("price_order", "ship_order", "nightly_report"),
        "/tasks/": ("price_order", "ship_order", "archive_manifest", "nightly_report"),
        "/workflows/": ("nightly_report",),
        "/workflows/runs": (run.workflow,),
        # a list of status records: it names the runner, not the invocation
        "/invocations/{invocation_id}/history": ("registered", "running", run.runner_id),
    }


#: Parameterized routes whose page does not repeat the value it was given.
SHOWS_NOT_ITS_VALUE = frozenset({"/invocations/{invocation_id}/history"})


def data_pages(run: FleetRun) -> list[Page]:
    """Pages looked at again for what only our components can give them: statuses, the exception,
    the runner that ran an invocation, a workflow's sub-invocations, filters answered by our queries."""
    detail = "/invocations/{invocation_id}"
    failed = (run.failed, "FAILED", "RejectedOrderError", "no shipping address", run.runner_id)
    return [
        Page(detail, f"/invocations/{run.failed}", failed),
        Page(detail, f"/invocations/{run.workflow}", (run.workflow, "SUCCESS", *run.sub_invocations)),
        Page(detail, f"/invocations/{run.sub_invocations[0]}", ("SUCCESS", run.workflow, run.runner_id)),
        Page(detail, f"/invocations/{run.large_argument}", ("SUCCESS", "line of the manifest")),
        Page(f"{detail}/family-tree", f"/invocations/{run.workflow}/family-tree", run.sub_invocations),
        Page(
            "/invocations/", f"/invocations/?workflow_id={run.workflow}", run.sub_invocations, (run.failed,)
        ),
        Page("/invocations/", "/invocations/?status=FAILED", (run.failed,), (run.succeeded, run.workflow)),
        Page("/invocations/", "/invocations/?status=SUCCESS", (run.succeeded, run.workflow), (run.failed,)),
    ]


def pages_to_visit(
    routes: dict[str, list[dict[str, object]]], run: FleetRun
) -> tuple[list[Page], dict[str, str]]:
    """Every GET route as pages with real values, and the routes left out with why.

    :raises AssertionError: if a route needs a parameter this test has no value for (a new page).
    """
    values = parameter_values(run)
    expectations = page_expectations(run)
    pages: list[Page] = []
    left_out: dict[str, str] = {}
    unknown: list[str] = []
    for route, parameters in sorted(routes.items()):
        needed = [str(p["name"]) for p in parameters if p.get("in") == "path" or p.get("required")]
        needed += NEEDED_QUERIES.get(route, ())
        if route in PYNENC_UNREACHABLE:
            left_out[route] = PYNENC_UNREACHABLE[route]
            continue
        if TRIGGER_PARAMETERS & set(needed):
            left_out[route] = "trigger records: the trigger stays pynenc's (MemTrigger)"
            continue
        unknown += [f"{route}: {name}" for name in needed if name not in values]
        if any(name not in values for name in needed):
            continue
        pages += _pages_of(route, parameters, needed, values, expectations.get(route, ()))
    assert not unknown, f"pynmon routes need values this test does not provide: {unknown}"
    return pages, left_out


def _pages_of(
    route: str,
    parameters: list[dict[str, object]],
    needed: list[str],
    values: dict[str, list[tuple[str, tuple[str, ...]]]],
    expected: tuple[str, ...],
) -> list[Page]:
    in_path = {str(p["name"]) for p in parameters if p.get("in") == "path"}
    repeats_value = route not in SHOWS_NOT_ITS_VALUE
    combos: list[tuple[dict[str, str], tuple[str, ...]]] = [({}, expected)]
    for name in needed:
        combos = [
            ({**chosen, name: value}, shown + ((value,) * (name != "app_id") + also) * repeats_value)
            for chosen, shown in combos
            for value, also in values[name]
        ]
    pages = []
    for chosen, shown in combos:
        path = route
        for name in in_path:
            path = path.replace("{" + name + "}", urllib.parse.quote(chosen[name], safe=""))
        query = {name: value for name, value in chosen.items() if name not in in_path}
        if query:
            path += "?" + urllib.parse.urlencode(query)
            shown = expected
        pages.append(Page(route, path, shown))
    return pages


def page_problems(page: Page, seen: PageVisit) -> list[str]:
    """What is wrong with a visited page (nothing: an empty list)."""
    problems = []
    if seen.status != 200:
        problems.append(f"HTTP {seen.status}")
    if FAILURE_TEXT.search(seen.source):
        problems.append(f"error text: {FAILURE_TEXT.search(seen.source).group(0)!r}")  # type: ignore[union-attr]
    problems += [f"console: {error}" for error in seen.console_errors if "/favicon.ico" not in error]
    problems += [f"does not show {text!r}" for text in page.expected if text not in seen.source]
    problems += [f"shows {text!r}" for text in page.absent if text in seen.source]
    return problems


def test_pynmon_serves_every_page_of_a_kafka_only_app(watched_fleet: tuple[FleetRun, str, Path]) -> None:
    run, base_url, logs = watched_fleet
    pages, left_out = pages_to_visit(openapi_get_routes(base_url), run)
    assert len(pages) >= 30, [p.path for p in pages]
    pages += data_pages(run)
    failures: dict[str, list[str]] = {}
    with headless_chromium() as driver:
        for page in pages:
            problems = page_problems(page, visit(driver, base_url + page.path))
            if problems:
                failures[page.path] = problems
        visit(driver, base_url + "/invocations/timeline?time_range=15m&show_atomic_service=0")
        driver.save_screenshot(str(logs / "timeline.png"))  # beside the logs, to look at a failed run
    monitor_log = (logs / "pynmon.log").read_text(errors="replace")
    report = "\n".join(f"{path}: {'; '.join(problems)}" for path, problems in failures.items())
    assert not failures, f"{len(failures)} of {len(pages)} pages failed (logs in {logs}):\n{report}"
    assert "Traceback" not in monitor_log and " ERROR" not in monitor_log, monitor_log[-5000:]
    assert set(PYNENC_UNREACHABLE) <= set(left_out), "a route pynenc could not serve is gone: drop it"
