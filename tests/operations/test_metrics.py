"""The metrics endpoint: the same figures as ``pynenc-kafka lag``, roles and takeovers, probes, ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.core.runtime import RUNTIME
from tests.cli.support import run_cli
from tests.conftest import unique_app_id
from tests.integration.support import REPO, backend, projection, run_python
from tests.operations.support import (
    ProjectDaemon,
    Samples,
    http_get,
    of_app,
    parse_samples,
    scrape,
    wait_until,
)

OFFSET_GAUGES = {
    "pynenc_kafka_log_end_offset": "end_offset",
    "pynenc_kafka_projection_applied_offset": "applied_offset",
    "pynenc_kafka_projection_lag_records": "lag",
}


def as_lag_json(samples: Samples, app_id: str) -> dict[int, dict[str, int]]:
    """The offset gauges of one app, shaped as ``lag --json``'s partitions."""
    rows: dict[int, dict[str, int]] = {}
    for name, field in OFFSET_GAUGES.items():
        for labels, value in of_app(samples, name, app_id).items():
            rows.setdefault(int(dict(labels)["partition"]), {})[field] = int(value)
    return rows


def lag_json_rows(report: dict) -> dict[int, dict[str, int]]:
    return {row["partition"]: {f: row[f] for f in OFFSET_GAUGES.values()} for row in report["partitions"]}


def write_results(be: KafkaStateBackend, prefix: str, count: int) -> None:
    for i in range(count):
        be._set_result(InvocationId(f"{prefix}-{i}"), str(i))


def test_metrics_equal_lag_json_and_max_lag_fails_only_while_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_id = unique_app_id("metrics-lag")
    daemon = ProjectDaemon(app_id, tmp_path / "daemon.log")
    app = PynencBuilder().app_id(app_id).kafka().build()
    be = backend(app)
    try:
        assert "projecting" in daemon.role
        assert not projection(app).is_primary, "the daemon projects"
        write_results(be, "a", 30)
        assert be._get_result(InvocationId("a-29")) == "29"

        # caught up: the daemon's metrics and `lag --json` say the same, and the check passes
        served = as_lag_json(scrape(daemon.port), app_id)
        lag = run_cli(capsys, "lag", "--app", app_id, "--json", "--max-lag", "0")
        assert lag.code == 0, lag.out + lag.err
        report = lag.json()
        assert served == lag_json_rows(report) and len(served) == 3
        assert sum(row["end_offset"] for row in served.values()) == 31  # 30 results and the app's info
        assert report["projector_pid"] == daemon.pid and "project" in report["projector_command"]
        assert report["behind"] is None
        assert http_get(daemon.port, "/healthz") == (200, "ok\n")
        assert http_get(daemon.port, "/readyz") == (200, "ok\n")

        # the projector stops (SIGSTOP: it keeps the lease) while 5 more events arrive
        os.kill(daemon.pid, signal.SIGSTOP)
        try:
            write_results(be, "b", 5)
            mine = parse_samples(generate_latest(REGISTRY).decode())  # this process reads as a secondary
            lag = run_cli(capsys, "lag", "--app", app_id, "--json", "--max-lag", "0")
            assert lag.code == 1, lag.out + lag.err
            report = lag.json()
            assert as_lag_json(mine, app_id) == lag_json_rows(report)
            assert report["total_lag"] == 5 and "more than --max-lag 0" in report["behind"]
            assert sum(v for _, v in of_app(mine, "pynenc_kafka_projection_lag_records", app_id).items()) == 5
            seconds = of_app(mine, "pynenc_kafka_projection_lag_seconds", app_id)
            assert max(seconds.values()) > 0 and report["max_lag_seconds"] > 0
            roles = of_app(mine, "pynenc_kafka_projector_role", app_id)
            assert roles == {(("role", "primary"),): 0.0, (("role", "secondary"),): 1.0}
            text = run_cli(capsys, "lag", "--app", app_id, "--max-lag-seconds", "0")
            assert (
                text.code == 1 and "BEHIND" in text.out and f"projected by process {daemon.pid}" in text.out
            )
        finally:
            os.kill(daemon.pid, signal.SIGCONT)

        caught_up = wait_until(
            "the projection to catch up",
            lambda: run_cli(capsys, "lag", "--app", app_id, "--max-lag", "0").code == 0,
        )
        assert caught_up
        samples = scrape(daemon.port)
        assert as_lag_json(samples, app_id) == lag_json_rows(
            run_cli(capsys, "lag", "--app", app_id, "--json").json()
        )
        applied = of_app(samples, "pynenc_kafka_events_applied_total", app_id)
        assert applied[(("kind", "ResultSet"),)] == 35.0 and sum(applied.values()) == 36.0
        assert http_get(daemon.port, "/readyz") == (200, "ok\n")
    finally:
        RUNTIME.close_app(be.topics)  # else this process takes the projection over from the daemon
        daemon.stop()
    lag = run_cli(capsys, "lag", "--app", app_id)
    assert lag.code == 0 and "no process projects it on this host now" in lag.out


def test_a_sigkilled_projector_shows_as_a_role_change_and_a_takeover_in_the_survivor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_TAKEOVER_INTERVAL", "0.2")
    app_id = unique_app_id("metrics-takeover")
    first = ProjectDaemon(app_id, tmp_path / "first.log")
    second = None
    try:
        assert "projecting" in first.role
        second = ProjectDaemon(app_id, tmp_path / "second.log")
        assert f"process {first.pid} projects" in second.role
        before = scrape(second.port)
        assert of_app(before, "pynenc_kafka_projector_role", app_id) == {
            (("role", "primary"),): 0.0,
            (("role", "secondary"),): 1.0,
        }
        assert of_app(before, "pynenc_kafka_projector_takeovers_total", app_id) == {(): 0.0}

        os.kill(first.pid, signal.SIGKILL)
        first.process.wait(10)

        def primary_now() -> Samples | None:
            assert second is not None
            samples = scrape(second.port)
            roles = of_app(samples, "pynenc_kafka_projector_role", app_id)
            return samples if roles.get((("role", "primary"),)) == 1.0 else None

        after = wait_until("the second daemon to take over", primary_now)
        assert of_app(after, "pynenc_kafka_projector_role", app_id)[(("role", "secondary"),)] == 0.0
        assert of_app(after, "pynenc_kafka_projector_takeovers_total", app_id) == {(): 1.0}
        assert http_get(second.port, "/healthz") == (200, "ok\n")
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_worker_serves_metrics_by_setting_and_a_taken_port_is_one_line_not_a_crash() -> None:
    app_id = unique_app_id("metrics-worker")
    code = """
        import urllib.request
        from pynenc.identifiers.invocation_id import InvocationId
        be._set_result(InvocationId("w-1"), "1")
        assert be._get_result(InvocationId("w-1")) == "1"
        port = int(be.conf.kafka_metrics_port)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        print("served write histogram:", "pynenc_kafka_write_seconds_count" in body)
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"PYNENC__KAFKA_METRICS_PORT": str(port), "PYNENC__KAFKA_METRICS_ADDRESS": "127.0.0.1"}
    assert "served write histogram: True" in run_python(code, app_id, env=env)

    with socket.socket() as taken:  # another process of the host holds the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        script = f"""
            import logging
            logging.basicConfig(level=logging.INFO)
            from pynenc import PynencBuilder
            from pynenc.identifiers.invocation_id import InvocationId
            be = PynencBuilder().app_id({app_id!r}).kafka().build().state_backend
            be._set_result(InvocationId("w-2"), "2")
            assert be._get_result(InvocationId("w-2")) == "2"
            print("worked")
        """
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            env={**os.environ, **env, "PYNENC__KAFKA_METRICS_PORT": str(taken_port)},
        )
    assert done.returncode == 0 and "worked" in done.stdout, done.stderr
    about_port = [line for line in done.stderr.splitlines() if "metrics" in line]
    assert len(about_port) == 1 and f"127.0.0.1:{taken_port}" in about_port[0], done.stderr
    assert "PYNENC__KAFKA_METRICS_PORT" in about_port[0]


def test_lag_all_apps_checks_every_app_projected_here_and_lists_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = unique_app_id("all-apps")
    here, elsewhere = unique_app_id("here"), unique_app_id("elsewhere")
    monkeypatch.setenv("PYNENC__KAFKA_TOPIC_PREFIX", prefix)  # the environment wins over builder arguments
    backend(PynencBuilder().app_id(here).kafka().build())._set_result(InvocationId("h"), "1")
    with monkeypatch.context() as another_host:
        another_host.setenv("PYNENC__KAFKA_PROJECTION_DIR", str(tmp_path))
        backend(PynencBuilder().app_id(elsewhere).kafka().build())._set_result(InvocationId("e"), "1")

    run = run_cli(capsys, "lag", "--all-apps", "--max-lag", "0", "--json")
    assert run.code == 0, run.out + run.err
    report = run.json()
    assert [a["app_id"] for a in report["apps"]] == [here], report
    assert report["apps"][0]["behind"] is None and report["apps"][0]["projector_pid"] == os.getpid()
    assert [a["app_id"] for a in report["not_here"]] == [elsewhere] and report["unmeasured"] == []
    text = run_cli(capsys, "lag", "--all-apps")
    assert text.code == 0 and f"app {elsewhere!r}: no projection on this host" in text.out
    assert f"projected by process {os.getpid()}" in text.out
