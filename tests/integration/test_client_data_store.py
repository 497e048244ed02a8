"""KafkaClientDataStore on the real broker: across processes, purges of each component, oversize values."""

from __future__ import annotations

import multiprocessing
import re
import tempfile
from multiprocessing.queues import Queue

import pytest
from pynenc import Pynenc, PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.components.client_data_store import KafkaClientDataStore
from pynenc_kafka.producers.errors import EventTooLargeError
from tests.conftest import unique_app_id
from tests.integration.support import backend, end_offsets, run_python

FORK = multiprocessing.get_context("fork")
#: Forking a threaded process is what pynenc's ProcessRunner does.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
ON_KAFKA = {"PYNENC__CLIENT_DATA_STORE_CLS": "KafkaClientDataStore"}
LARGE = "large value " * 500  # over pynenc's min_size_to_cache


@pytest.fixture
def app(kafka_builder: PynencBuilder) -> Pynenc:
    """An app on the Kafka state backend and the Kafka client data store."""
    return kafka_builder.custom_config(client_data_store_cls="KafkaClientDataStore").build()


def store_of(app: Pynenc) -> KafkaClientDataStore:
    cds = app.client_data_store
    assert isinstance(cds, KafkaClientDataStore)
    return cds


def _read_in_child(app: Pynenc, key: str, report: Queue[object]) -> None:
    cds = store_of(app)
    cds._deserialized_cache.clear()
    report.put(cds.resolve(key))


def test_a_value_stored_by_one_process_is_read_by_others(app: Pynenc) -> None:
    key = store_of(app).serialize(LARGE)
    assert store_of(app).is_reference(key)
    read = f"print(app.client_data_store.resolve({key!r}) == {LARGE!r}, type(app.client_data_store).__name__)"
    # A process of the same host: a secondary of this process's projection folder.
    assert run_python(read, app.app_id, env=ON_KAFKA).split() == ["True", "KafkaClientDataStore"]
    # A process that shares nothing but the broker: a projection folder of its own.
    with tempfile.TemporaryDirectory(prefix="cds-other-host-") as folder:
        env = {**ON_KAFKA, "PYNENC__KAFKA_PROJECTION_DIR": folder}
        assert run_python(read, app.app_id, env=env).split() == ["True", "KafkaClientDataStore"]


def test_a_value_stored_by_another_process_is_read_here(app: Pynenc) -> None:
    written = run_python(
        f"print(app.client_data_store.serialize({LARGE + 'from the child'!r}))", app.app_id, env=ON_KAFKA
    )
    assert store_of(app).resolve(written.strip()) == LARGE + "from the child"


def test_a_forked_child_reads_what_its_parent_stored(app: Pynenc) -> None:
    key = store_of(app).serialize(LARGE)
    report: Queue[object] = FORK.Queue()
    child = FORK.Process(target=_read_in_child, args=(app, key, report))
    child.start()
    assert report.get(timeout=60) == LARGE
    child.join(60)
    assert child.exitcode == 0


def test_purging_the_client_data_leaves_the_state_backends_data(app: Pynenc) -> None:
    key = store_of(app).serialize(LARGE)
    backend(app)._set_result(InvocationId("inv-1"), '"kept"')
    store_of(app).purge()
    with pytest.raises(KeyError):
        store_of(app)._retrieve(key)
    assert backend(app)._get_result(InvocationId("inv-1")) == '"kept"'
    # Another process sees the purge too.
    out = run_python(
        f"""
        try:
            app.client_data_store._retrieve({key!r})
            print("found")
        except KeyError:
            print("missing")
        """,
        app.app_id,
        env=ON_KAFKA,
    )
    assert out.strip() == "missing"


def test_purging_the_state_backend_leaves_the_client_data(app: Pynenc) -> None:
    """As with pynenc's Mem and SQLite stores: each component purges its own data."""
    key = store_of(app).serialize(LARGE)
    backend(app)._set_result(InvocationId("inv-1"), '"dropped"')
    backend(app).purge()
    with pytest.raises(KeyError):
        backend(app)._get_result(InvocationId("inv-1"))
    assert store_of(app)._retrieve(key) == app.serializer.serialize(LARGE)


def test_purging_the_app_purges_both(app: Pynenc) -> None:
    key = store_of(app).serialize(LARGE)
    backend(app)._set_result(InvocationId("inv-1"), '"dropped"')
    app.purge()
    with pytest.raises(KeyError):
        backend(app)._get_result(InvocationId("inv-1"))
    with pytest.raises(KeyError):
        store_of(app)._retrieve(key)


def test_a_value_stored_again_after_a_purge_is_found_again(app: Pynenc) -> None:
    key = store_of(app).serialize(LARGE)
    store_of(app).purge()
    assert store_of(app).serialize(LARGE) == key
    store_of(app)._deserialized_cache.clear()
    assert store_of(app).resolve(key) == LARGE


def test_an_oversize_value_is_refused_naming_its_size_and_the_setting_and_nothing_is_written(
    kafka_bootstrap: str,
) -> None:
    app = (
        PynencBuilder()
        .app_id(unique_app_id("cds-oversize"))
        .kafka(bootstrap_servers=kafka_bootstrap, max_message_bytes=64 * 1024)
        .custom_config(client_data_store_cls="KafkaClientDataStore")
        .build()
    )
    store_of(app).serialize(LARGE)  # within the limit; the log exists
    before = end_offsets(app)
    huge = "y" * 200_000
    with pytest.raises(EventTooLargeError) as raised:
        store_of(app).serialize(huge)
    message = str(raised.value)
    assert "ClientDataStored" in message and "PYNENC__KAFKA_MAX_MESSAGE_BYTES" in message
    assert "nothing was written" in message and "a client data value is one event" in message
    size = re.search(r"is ([\d,]+) bytes encoded", message)
    assert size is not None and int(size.group(1).replace(",", "")) > len(huge)
    assert end_offsets(app) == before
