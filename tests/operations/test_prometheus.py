"""A real Prometheus (Debian's package) scrapes a projector; the shipped rules and config pass promtool."""

from __future__ import annotations

import json
import subprocess
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from tests.conftest import unique_app_id
from tests.integration.support import REPO, backend
from tests.kafka_broker import free_port
from tests.operations.support import ProjectDaemon, http_get, prometheus_tools, wait_until

SHIPPED = REPO / "deploy" / "prometheus"
#: Where the test leaves the lag query's answer, for people to read after a run.
LAG_QUERY_ANSWER = Path(tempfile.gettempdir()) / "pynenc-kafka-prometheus-lag.json"


def test_promtool_accepts_the_shipped_rules_and_config_and_the_rules_fire_when_they_should() -> None:
    _, promtool = prometheus_tools()
    for command in (
        ["check", "rules", str(SHIPPED / "alerts.yml")],
        ["check", "config", str(SHIPPED / "prometheus.yml")],
        ["test", "rules", str(SHIPPED / "alerts_test.yml")],
    ):
        done = subprocess.run([promtool, *command], capture_output=True, text=True, timeout=120, cwd=SHIPPED)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout + done.stderr


def query(port: int, expression: str) -> dict[str, Any]:
    """An instant query through Prometheus's HTTP API."""
    status, body = http_get(port, "/api/v1/query?query=" + urllib.parse.quote(expression))
    assert status == 200, body
    answer: dict[str, Any] = json.loads(body)
    assert answer["status"] == "success", answer
    return answer


def test_a_real_prometheus_scrapes_the_projector_lag_and_applied_events(tmp_path: Path) -> None:
    prometheus, _ = prometheus_tools()
    app_id = unique_app_id("prometheus")
    daemon = ProjectDaemon(app_id, tmp_path / "daemon.log")
    server = None
    try:
        config = (SHIPPED / "prometheus.yml").read_text()
        config = config.replace("127.0.0.1:9464", f"127.0.0.1:{daemon.port}").replace("15s", "1s")
        config = config.replace("- alerts.yml", f"- {SHIPPED / 'alerts.yml'}")
        (tmp_path / "prometheus.yml").write_text(config)
        port = free_port()
        server = subprocess.Popen(
            [
                prometheus,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
            ]
            + [f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "prometheus.log").open("w"),
        )
        wait_until("Prometheus to be ready", lambda: _answers(port, "/-/ready"))

        be = backend(PynencBuilder().app_id(app_id).kafka().build())
        for i in range(40):
            be._set_result(InvocationId(f"p-{i}"), str(i))
        assert be._get_result(InvocationId("p-39")) == "39"

        applied = f'sum(pynenc_kafka_events_applied_total{{app="{app_id}",kind="ResultSet"}})'
        wait_until(
            "Prometheus to have scraped all 40 applied events",
            lambda: [r for r in query(port, applied)["data"]["result"] if float(r["value"][1]) == 40],
        )
        lag_query = f'pynenc_kafka_projection_lag_records{{app="{app_id}"}}'

        def caught_up() -> dict[str, Any] | None:
            answer = query(port, lag_query)
            series = answer["data"]["result"]
            return answer if len(series) == 3 and all(float(r["value"][1]) == 0 for r in series) else None

        lag = wait_until("the lag series of every partition, caught up", caught_up)
        ends = query(port, f'sum(pynenc_kafka_log_end_offset{{app="{app_id}"}})')["data"]["result"]
        assert float(ends[0]["value"][1]) == 41  # 40 results and the app's info
        for series in lag["data"]["result"]:
            assert series["metric"]["job"] == "pynenc-kafka"
            assert series["metric"]["instance"] == f"127.0.0.1:{daemon.port}"
        LAG_QUERY_ANSWER.write_text(json.dumps({"query": lag_query, "answer": lag}, indent=2))
        print(f"Prometheus answered {lag_query} (saved in {LAG_QUERY_ANSWER}):\n{json.dumps(lag)}")
        rules = json.loads(http_get(port, "/api/v1/rules")[1])
        loaded = {rule["name"] for group in rules["data"]["groups"] for rule in group["rules"]}
        assert "PynencKafkaProjectionLagging" in loaded and "PynencKafkaNoProjector" in loaded
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        daemon.stop()


def _answers(port: int, path: str) -> bool:
    try:
        return http_get(port, path)[0] == 200
    except OSError:
        return False
