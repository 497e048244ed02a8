"""pynenc's second, identical registration of an invocation is not published; every other one is."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from pynenc import Pynenc
from pynenc.identifiers.call_id import CallId
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.models.call_dto import CallDTO
from pynenc.models.invocation_dto import InvocationDTO

from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.producers.errors import EventNotPersistedError
from pynenc_kafka.producers.publisher import EventPublisher
from tests.cli.support import TASK
from tests.integration.support import backend, end_offsets

FORK = multiprocessing.get_context("fork")
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


def entry(invocation_id: str, parent: str | None = None, x: str = "1") -> tuple[InvocationDTO, CallDTO]:
    call = CallDTO(call_id=CallId(TASK, f"args-{x}"), serialized_arguments={"x": x})
    inv = InvocationDTO(
        invocation_id=InvocationId(invocation_id),
        call_id=call.call_id,
        workflow=None,
        parent_invocation_id=InvocationId(parent) if parent else None,
    )
    return inv, call


def log_size(app: Pynenc) -> int:
    return sum(end_offsets(app).values())


def registrations_written(app: Pynenc, be: KafkaStateBackend, *entries: tuple[InvocationDTO, CallDTO]) -> int:
    """Upsert ``entries`` and return how many events reached the log."""
    before = log_size(app)
    be._upsert_invocations(list(entries))
    return log_size(app) - before


def test_an_identical_registration_is_published_once_and_one_that_differs_again(app_instance: Pynenc) -> None:
    be = backend(app_instance)
    assert registrations_written(app_instance, be, entry("a"), entry("b")) == 2
    assert registrations_written(app_instance, be, entry("a"), entry("b")) == 0
    assert registrations_written(app_instance, be, entry("a", parent="p"), entry("b")) == 1
    assert registrations_written(app_instance, be, entry("b", x="2")) == 1
    # an invocation is served at once once known, so wait for the views with a read behind the barrier
    assert list(be.get_child_invocations(InvocationId("p"))) == ["a"]
    found = be._get_invocation(InvocationId("a"))
    assert found is not None and found[0].parent_invocation_id == "p"
    assert be._get_invocation(InvocationId("b"))[1].serialized_arguments == {"x": "2"}  # type: ignore[index]


def test_a_failed_publish_leaves_nothing_believed(
    app_instance: Pynenc, monkeypatch: pytest.MonkeyPatch
) -> None:
    be = backend(app_instance)
    be._set_result(InvocationId("warm"), "x")
    original = EventPublisher.publish

    def failing(self: EventPublisher, events: Any) -> Any:
        raise EventNotPersistedError("Kafka did not acknowledge (test)")

    monkeypatch.setattr(EventPublisher, "publish", failing)
    with pytest.raises(EventNotPersistedError):
        be._upsert_invocations([entry("a")])
    monkeypatch.setattr(EventPublisher, "publish", original)
    assert registrations_written(app_instance, be, entry("a")) == 1
    assert be._get_invocation(InvocationId("a")) is not None


def test_after_a_purge_a_registration_is_published_again(app_instance: Pynenc) -> None:
    be = backend(app_instance)
    assert registrations_written(app_instance, be, entry("a")) == 1
    be.purge()
    assert be._get_invocation(InvocationId("a")) is None
    assert registrations_written(app_instance, be, entry("a")) == 1
    assert be._get_invocation(InvocationId("a")) is not None


def _register_in_child(app: Pynenc, answer: Any) -> None:
    be = backend(app)
    be._upsert_invocations([entry("a")])
    answer.put("done")


def test_a_forked_child_publishes_what_its_parent_had_published(app_instance: Pynenc) -> None:
    be = backend(app_instance)
    assert registrations_written(app_instance, be, entry("a")) == 1
    before = log_size(app_instance)
    answer = FORK.Queue()
    child = FORK.Process(target=_register_in_child, args=(app_instance, answer))
    child.start()
    assert answer.get(timeout=60) == "done"
    child.join(60)
    assert child.exitcode == 0
    assert log_size(app_instance) - before == 1
    assert registrations_written(app_instance, be, entry("a")) == 0  # the parent's belief is still true


def test_the_last_registration_of_a_call_wins_even_when_an_earlier_one_was_already_published(
    app_instance: Pynenc,
) -> None:
    """The sequence the property test found: a call's repeated registrations keep their order."""
    be = backend(app_instance)
    x, y = entry("a"), entry("a", parent="a", x="2")
    assert registrations_written(app_instance, be, x) == 1
    assert registrations_written(app_instance, be, x, x, y) == 1
    assert registrations_written(app_instance, be, x, x, y) == 2
    assert list(be.get_child_invocations(InvocationId("a"))) == ["a"]  # the views caught up (a barrier read)
    found = be._get_invocation(InvocationId("a"))
    assert (
        found is not None
        and found[0].parent_invocation_id == "a"
        and found[1].serialized_arguments == {"x": "2"}
    )
