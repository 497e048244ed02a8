"""pynenc's plugin suite for brokers, run against KafkaBroker on the real broker.

The app's other components stay pynenc's in-memory ones: the suite tests the broker alone
(some of its tests build their own apps with ``.memory()``/``.sqlite()``: those are pynenc's own).
"""

from collections.abc import Iterator

import pytest
from pynenc import Pynenc, PynencBuilder
from pynenc_tests.unit.broker.all_tests import *

from tests.conftest import unique_app_id


@pytest.fixture
def app_instance(request: pytest.FixtureRequest, kafka_bootstrap: str) -> Iterator[Pynenc]:
    """An app whose broker is KafkaBroker (a fresh queue topic per test)."""
    yield (
        PynencBuilder()
        .app_id(unique_app_id(request.node.name[:60]))
        .memory()
        .custom_config(broker_cls="KafkaBroker", kafka_bootstrap_servers=kafka_bootstrap)
        .build()
    )
