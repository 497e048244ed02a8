"""librdkafka's lines through LibrdkafkaLog: connection failures collapse into the cluster's two lines."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from pynenc_kafka.observability import reachability
from pynenc_kafka.observability.reachability import BrokerReachability

FORMAT = "%s [%s] %s"  # how confluent-kafka calls the logger


class FakeAdmin:
    """An admin client whose metadata requests fail until the cluster is 'back'."""

    def __init__(self) -> None:
        self.back = threading.Event()
        self.asked = 0

    def list_topics(self, timeout: float) -> None:
        self.asked += 1
        if not self.back.is_set():
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "Connection refused"))


def connection_refused(log: reachability.LibrdkafkaLog, count: int) -> None:
    for _ in range(count):
        log.log(
            logging.ERROR,
            FORMAT,
            "FAIL",
            "rdkafka#producer-1",
            "[thrd:127.0.0.1:7/bootstrap]: Connect to ipv4#127.0.0.1:7 failed: Connection refused",
        )


def ours(caplog: pytest.LogCaptureFixture, address: str) -> list[logging.LogRecord]:
    """This test's cluster lines: clients of earlier tests may still log about their own brokers."""
    return [
        r
        for r in caplog.records
        if r.name == "pynenc_kafka.connection" and f"Kafka at {address} " in r.getMessage()
    ]


def test_a_thousand_refused_connections_are_one_warning_then_one_info_when_back(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reachability, "PROBE_INTERVAL", 0.01)
    admin = FakeAdmin()
    cluster = BrokerReachability("127.0.0.1:7", 3.0, lambda: admin)  # type: ignore[arg-type, return-value]
    caplog.set_level(logging.DEBUG, logger="pynenc_kafka")
    connection_refused(cluster.client_log, 1000)
    deadline = time.monotonic() + 10
    while cluster.reachable:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    connection_refused(cluster.client_log, 1000)
    admin.back.set()
    while not cluster.reachable or not any(r.levelno == logging.INFO for r in ours(caplog, "127.0.0.1:7")):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    lines = ours(caplog, "127.0.0.1:7")
    assert [r.levelno for r in lines] == [logging.WARNING, logging.INFO], [r.getMessage() for r in lines]
    assert "Kafka at 127.0.0.1:7 unreachable since" in lines[0].getMessage()
    assert "PYNENC__KAFKA_TIMEOUT (3s)" in lines[0].getMessage()
    assert "reachable again" in lines[1].getMessage()
    raw = [
        r for r in caplog.records if r.name == "pynenc_kafka.librdkafka" and "127.0.0.1:7 " in r.getMessage()
    ]
    assert len(raw) == 2000 and {r.levelno for r in raw} == {logging.DEBUG}
    assert cluster.failed_connections == 2000


def test_a_failure_the_probe_does_not_confirm_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    admin = FakeAdmin()
    admin.back.set()  # one broker restarting; the cluster answers
    cluster = BrokerReachability("k1:9092", 15.0, lambda: admin)  # type: ignore[arg-type, return-value]
    caplog.set_level(logging.DEBUG, logger="pynenc_kafka")
    connection_refused(cluster.client_log, 5)
    deadline = time.monotonic() + 10
    while admin.asked == 0 or cluster._prober is None or cluster._prober.is_alive():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert cluster.reachable and not ours(caplog, "k1:9092")


def test_passing_states_are_debug_and_other_lines_keep_their_level(caplog: pytest.LogCaptureFixture) -> None:
    cluster = BrokerReachability("k1:9092", 15.0, FakeAdmin)  # type: ignore[arg-type]
    caplog.set_level(logging.DEBUG, logger="pynenc_kafka")
    log = cluster.client_log
    log.log(
        logging.WARNING,
        FORMAT,
        "GETPID",
        "rdkafka#producer-3",
        "[thrd:main]: Failed to acquire idempotence PID from broker k1:9092/1: Broker: Coordinator load in "
        "progress: retrying",
    )
    log.log(
        logging.INFO,
        FORMAT,
        "FAIL",
        "rdkafka#producer-3",
        "k1:9092/1: Disconnected (after 600000ms in state UP)",
    )
    log.log(logging.ERROR, FORMAT, "SSL", "rdkafka#producer-3", "certificate verify failed")
    levels = [(r.levelno, r.getMessage()[:6]) for r in caplog.records]
    assert levels == [(logging.DEBUG, "GETPID"), (logging.DEBUG, "FAIL ["), (logging.ERROR, "SSL [r")]
    assert cluster.failed_connections == 0 and cluster._prober is None


def test_reminders_while_down_come_at_most_once_per_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reachability, "PROBE_INTERVAL", 0.01)
    monkeypatch.setattr(reachability, "REMINDER_INTERVAL", 0.2)
    admin = FakeAdmin()
    cluster = BrokerReachability("k2:9092", 1.0, lambda: admin)  # type: ignore[arg-type, return-value]
    caplog.set_level(logging.INFO, logger="pynenc_kafka")
    started = time.monotonic()
    connection_refused(cluster.client_log, 1)
    deadline = started + 20
    while sum("still unreachable" in r.getMessage() for r in ours(caplog, "k2:9092")) < 2:
        connection_refused(cluster.client_log, 50)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    admin.back.set()
    while not cluster.reachable:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    elapsed = time.monotonic() - started
    reminders = [r for r in ours(caplog, "k2:9092") if "still unreachable" in r.getMessage()]
    # each reminder comes at least REMINDER_INTERVAL after the one before (or the first line)
    assert 2 <= len(reminders) <= elapsed / 0.2, (len(reminders), elapsed)
    assert "failed connection attempts" in reminders[0].getMessage()


def test_probing_stops_quietly_when_no_client_tries_the_cluster_any_more(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process whose apps of a cluster were closed does not remind about that cluster; once a
    client fails again and the cluster answers, the one INFO line still comes."""
    monkeypatch.setattr(reachability, "PROBE_INTERVAL", 0.01)
    monkeypatch.setattr(reachability, "REMINDER_INTERVAL", 0.2)
    admin = FakeAdmin()
    cluster = BrokerReachability("k3:9092", 1.0, lambda: admin)  # type: ignore[arg-type, return-value]
    caplog.set_level(logging.INFO, logger="pynenc_kafka")
    connection_refused(cluster.client_log, 1)  # counted before the prober starts: none comes after
    deadline = time.monotonic() + 10
    while cluster.reachable:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    prober = cluster._prober
    assert prober is not None
    prober.join(timeout=5)  # no client tried for a reminder interval: the prober ends
    assert not prober.is_alive()
    assert [r.levelno for r in ours(caplog, "k3:9092")] == [logging.WARNING]
    assert not cluster.reachable  # not claimed reachable without a probe that says so
    admin.back.set()
    connection_refused(cluster.client_log, 1)  # a client tries again: the cluster is probed again
    while not cluster.reachable or len(ours(caplog, "k3:9092")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    lines = ours(caplog, "k3:9092")
    assert [r.levelno for r in lines] == [logging.WARNING, logging.INFO], [r.getMessage() for r in lines]
    assert "reachable again" in lines[1].getMessage()
