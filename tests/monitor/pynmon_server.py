"""pynmon (``pynenc --app tests.monitor.fleet_app monitor``) in a subprocess on 127.0.0.1 and a free port."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.kafka_broker import free_port
from tests.monitor.fleet import APP_MODULE, REPO, fleet_env

#: Seconds pynmon has to answer ``/health`` after it starts.
START_TIMEOUT = 60.0


@contextmanager
def running_pynmon(app_id: str, log: Path, app_module: str = APP_MODULE) -> Iterator[str]:
    """Run pynmon on the fleet's app until the block ends.

    :param app_id: the app's id.
    :param log: file for pynmon's output (its access log and any traceback).
    :param app_module: the module of the app (``pynenc --app``).
    :return: pynmon's base URL, ``http://127.0.0.1:PORT``.
    """
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pynenc", "--app", app_module, "monitor", "--host", "127.0.0.1"]
            + ["--port", str(port), "--log-level", "info"],
            cwd=REPO,
            env=fleet_env(app_id),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pynmon exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=5) as response:
                if json.load(response).get("status") == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"pynmon did not answer in {START_TIMEOUT:.0f}s:\n{log.read_text(errors='replace')}")


def openapi_get_routes(base_url: str) -> dict[str, list[dict[str, object]]]:
    """Every GET route pynmon serves, from its own router's OpenAPI schema.

    :param base_url: pynmon's base URL.
    :return: path template (``/invocations/{invocation_id}``) -> its parameters (``name``, ``in``,
        ``required``), as the schema lists them.
    """
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=30) as response:
        spec = json.load(response)
    return {
        path: list(operations["get"].get("parameters", []))
        for path, operations in spec["paths"].items()
        if "get" in operations
    }
