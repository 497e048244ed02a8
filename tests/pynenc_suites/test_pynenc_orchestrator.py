"""pynenc's unit suite for orchestrators, run against KafkaOrchestrator on the real broker."""

from collections.abc import Iterator

import pytest
from pynenc import Pynenc, PynencBuilder
from pynenc_tests.unit.orchestrator.all_tests import *


@pytest.fixture
def app_instance(kafka_builder: PynencBuilder) -> Iterator[Pynenc]:
    """An app whose orchestrator (and state backend) are on Kafka."""
    yield kafka_builder.custom_config(orchestrator_cls="KafkaOrchestrator").build()
