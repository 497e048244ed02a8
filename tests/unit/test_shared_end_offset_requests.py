"""Threads asking for end offsets at once share requests, and every answer is fresh enough.

A read behind the barrier must see every write acknowledged before it began, so the end offsets
it waits for must come from a request sent after it began. The requests here are a stub that
records when each was sent and holds it for a while, so that threads pile up behind it.
"""

from __future__ import annotations

import threading
import time

import pytest

from pynenc_kafka.projections.barrier import SharedEndOffsetRequests


class SlowLog:
    """End offsets that grow with every request, each request held ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sent: list[tuple[float, frozenset[int]]] = []
        self._lock = threading.Lock()

    def __call__(self, partitions: set[int]) -> dict[int, int]:
        with self._lock:
            self.sent.append((time.monotonic(), frozenset(partitions)))
            number = len(self.sent)
        time.sleep(self.seconds)
        return dict.fromkeys(partitions, number)


def test_one_caller_sends_one_request_for_its_partitions() -> None:
    log = SlowLog(0)
    assert SharedEndOffsetRequests().ask({0, 2}, log) == {0: 1, 2: 1}
    assert [parts for _, parts in log.sent] == [frozenset({0, 2})]


def test_threads_asking_at_once_share_requests_and_each_answer_was_sent_after_its_call() -> None:
    log, flights = SlowLog(0.02), SharedEndOffsetRequests()
    answers: dict[int, tuple[float, dict[int, int]]] = {}

    def read(n: int) -> None:
        began = time.monotonic()
        answers[n] = (began, flights.ask({n % 3}, log))

    threads = [threading.Thread(target=read, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
        time.sleep(0.001)
    for thread in threads:
        thread.join(10)

    assert len(answers) == 40
    assert len(log.sent) < 20, "the threads did not share requests"
    for n, (began, answer) in answers.items():
        number = answer[n % 3]
        sent_at, partitions = log.sent[number - 1]
        assert sent_at >= began, f"reader {n} got the answer of a request sent before it asked"
        assert n % 3 in partitions


def test_an_error_reaches_every_joiner_and_the_next_request_is_sent_anew() -> None:
    flights, calls = SharedEndOffsetRequests(), []

    def failing(partitions: set[int]) -> dict[int, int]:
        calls.append(partitions)
        raise ConnectionError("Kafka did not answer")

    with pytest.raises(ConnectionError):
        flights.ask({0}, failing)
    assert flights.ask({1}, SlowLog(0)) == {1: 1}
    assert calls == [{0}]
