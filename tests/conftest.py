"""Test session setup: one real Kafka broker for the whole session, a unique app per test.

A session that runs only brokerless tests (``tests/unit``, ``tests/structure``) starts no broker.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pynenc import Pynenc, PynencBuilder

from pynenc_kafka.core.runtime import RUNTIME
from tests.kafka_broker import SessionBroker, start_session_broker

pytest_plugins = ["pynenc_tests.conftest"]

_BROKER: SessionBroker | None = None
TESTS = Path(__file__).resolve().parent
#: Folders whose tests never touch Kafka: a session of only these starts no broker.
BROKERLESS = (TESTS / "unit", TESTS / "structure")


def needs_broker(config: pytest.Config) -> bool:
    """Whether any test path of the session lies outside the brokerless folders."""
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args] or [TESTS]
    return any(not any(path.is_relative_to(folder) for folder in BROKERLESS) for path in paths)


def pytest_configure(config: pytest.Config) -> None:
    """Start (or find) the broker once, in the controlling process, before any worker exists."""
    global _BROKER
    if hasattr(config, "workerinput") or _BROKER is not None:
        return
    if config.option.collectonly or not needs_broker(config):
        return
    _BROKER = start_session_broker()
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = _BROKER.bootstrap
    os.environ["PYNENC__KAFKA_BOOTSTRAP_SERVERS"] = _BROKER.bootstrap
    os.environ.setdefault(
        "PYNENC__KAFKA_PROJECTION_DIR", tempfile.mkdtemp(prefix="pynenc-kafka-projections-")
    )
    os.environ.setdefault("PYNENC__KAFKA_TOPIC_PREFIX", f"test-{uuid.uuid4().hex[:6]}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the broker this session started."""
    if _BROKER is not None and not hasattr(config, "workerinput"):
        RUNTIME.close()
        _BROKER.stop()


def pytest_report_header(config: pytest.Config) -> str:
    """Show which broker the session runs against, with its Kafka version."""
    return f"kafka broker: {_BROKER.description}" if _BROKER else "kafka broker: none (no test needs one)"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``host:port`` of the session's real broker."""
    return os.environ["KAFKA_BOOTSTRAP_SERVERS"]


def unique_app_id(label: str) -> str:
    """An app id no other test uses: a fresh topic and projection, no broker restart."""
    return f"{label}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def kafka_builder(request: pytest.FixtureRequest, kafka_bootstrap: str) -> PynencBuilder:
    """A builder for a fresh app on the Kafka state backend."""
    return (
        PynencBuilder().app_id(unique_app_id(request.node.name[:60])).kafka(bootstrap_servers=kafka_bootstrap)
    )


@pytest.fixture
def app_instance(kafka_builder: PynencBuilder) -> Iterator[Pynenc]:
    """pynenc's own suites take this fixture: here, an app on KafkaStateBackend."""
    yield kafka_builder.build()
