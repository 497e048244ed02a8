"""Fixtures of the security tests: one secured broker for the session, users and apps on it."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pynenc_kafka.core.runtime import RUNTIME
from tests.security.secured_broker import SecuredBroker, secured_broker


@pytest.fixture(scope="session")
def secure_broker() -> Iterator[SecuredBroker]:
    """``deploy/kafka/broker start --secure``, started once for the session's security tests."""
    with secured_broker(Path(tempfile.mkdtemp(prefix="pynenc-kafka-secured-"))) as broker:
        yield broker
        RUNTIME.close_cluster(broker.bootstrap)  # no client of this process goes on polling it


@pytest.fixture
def secure_app_id(secure_broker: SecuredBroker) -> Iterator[str]:
    """An app id no other test uses; the projections of the secured broker's apps close after the
    test (their consumers stop polling it)."""
    yield f"secure-{uuid.uuid4().hex[:10]}"
    for projection in RUNTIME.open_projections():
        if projection.spec.settings.bootstrap_servers == secure_broker.bootstrap:
            RUNTIME.close_app(projection.topics)
