"""The plugin's entry point: pynenc finds the backend by its class name alone."""

from __future__ import annotations

import subprocess
import sys


def test_entry_point_makes_the_class_selectable_by_name(kafka_bootstrap: str) -> None:
    """``PYNENC__STATE_BACKEND_CLS=KafkaStateBackend`` works without importing us."""
    code = (
        "from pynenc import Pynenc; app = Pynenc(); "
        "print(type(app.state_backend).__module__, type(app.state_backend).__name__)"
    )
    env = {
        "PYNENC__STATE_BACKEND_CLS": "KafkaStateBackend",
        "PYNENC__APP_ID": "ep",
        "PYNENC__KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.split() == ["pynenc_kafka.components.state_backend", "KafkaStateBackend"], out.stderr
