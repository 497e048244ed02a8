"""pynenc's plugin suite for client data stores, run against KafkaClientDataStore on the real broker."""

from collections.abc import Iterator

import pytest
from pynenc import Pynenc, PynencBuilder
from pynenc_tests.unit.client_data_store.all_tests import *

from pynenc_kafka.components.client_data_store import KafkaClientDataStore


@pytest.fixture
def app_instance(kafka_builder: PynencBuilder) -> Iterator[Pynenc]:
    """pynenc's suite takes this fixture: here, an app whose client data store is Kafka's."""
    app = kafka_builder.custom_config(client_data_store_cls="KafkaClientDataStore").build()
    assert isinstance(app.client_data_store, KafkaClientDataStore)
    yield app
