"""Whether a cluster answers, told in two log lines: one when it goes away, one when it is back.

librdkafka logs every failed connection attempt (about a hundred lines a second while a
broker is down, from each client of a process) and a fresh broker's passing states. Each
client is given a :class:`LibrdkafkaLog` instead of a :class:`logging.Logger`: librdkafka's
lines go to the ``pynenc_kafka.librdkafka`` logger at DEBUG when they are about connections
or passing states, at their own level otherwise; a failed connection makes the cluster's
:class:`BrokerReachability` probe it, and only a cluster that does not answer the probe is
reported (WARNING on ``pynenc_kafka.connection``), then reminded of at most once a minute,
and reported back (INFO) once a probe succeeds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

logger = logging.getLogger("pynenc_kafka.connection")
LIBRDKAFKA_LOGGER = logging.getLogger("pynenc_kafka.librdkafka")

#: Seconds between two probes of an unreachable cluster.
PROBE_INTERVAL = 1.0
#: Seconds between two reminders that a cluster is still unreachable.
REMINDER_INTERVAL = 60.0
#: Parts of librdkafka's lines that mean a connection could not be made.
_CONNECTION_FAILED = ("Connect to ", "brokers are down", "Failed to resolve", "Connection setup timed out")
#: Parts of lines about passing states (a fresh or restarting broker) and ordinary disconnects.
_PASSING = (
    "Disconnected",
    "Coordinator load in progress",
    "Not coordinator",
    "Leader not available",
    "Coordinator not available",
    "not found in cache",  # a partition's new leader not known yet, after a broker restart
    "Timed out",
)


class BrokerReachability:
    """What this process knows of one cluster's reachability, and the lines it logs about it.

    :param str servers: The bootstrap servers, as the lines name them.
    :param float timeout: ``KAFKA_TIMEOUT``, as the lines name it.
    :param Callable probe_client: Creates an admin client of the cluster, for probes.
    """

    def __init__(self, servers: str, timeout: float, probe_client: Callable[[], AdminClient]) -> None:
        self.servers = servers
        self.timeout = timeout
        self._probe_client = probe_client
        self._lock = threading.Lock()
        self._prober: threading.Thread | None = None
        #: Connection attempts librdkafka reported failed, since the process started.
        self.failed_connections = 0
        #: When the cluster was found unreachable (``None``: reachable, as far as we know).
        self.unreachable_since: datetime | None = None
        self._failed_when_down = 0
        self.client_log = LibrdkafkaLog(self)

    @property
    def reachable(self) -> bool:
        """Whether the last probe (if any) found the cluster answering."""
        return self.unreachable_since is None

    def connection_failed(self) -> None:
        """librdkafka could not connect: probe the cluster (once at a time), in a thread."""
        with self._lock:
            self.failed_connections += 1
            if self._prober is not None and self._prober.is_alive():
                return
            self._prober = threading.Thread(
                target=self._probe_until_back, name="pynenc-kafka-probe", daemon=True
            )
            self._prober.start()

    def _answers(self, admin: AdminClient) -> bool:
        try:
            admin.list_topics(timeout=min(self.timeout, 5.0))
            return True
        except KafkaException:
            return False

    def _probe_until_back(self) -> None:
        """Probe until the cluster answers: one WARNING when found down, a reminder per interval.

        Probing stops quietly when no client of this process tried the cluster for a whole
        reminder interval (its apps were closed): a process does not remind about a cluster it
        no longer uses. The state stays "unreachable" until a later probe finds it answering.
        """
        pid = os.getpid()
        admin = self._probe_client()
        if self._answers(admin):
            self._back()  # a passing failure (one broker restarting, an idle connection): no line
            return
        since = self.unreachable_since
        if since is None:
            since = self.unreachable_since = datetime.now(UTC)
            self._failed_when_down = self.failed_connections
            logger.warning(
                "Kafka at %s unreachable since %s; writes fail after PYNENC__KAFKA_TIMEOUT (%gs), reads "
                "of facts already projected are still served",
                self.servers,
                since.strftime("%H:%M:%S UTC"),
                self.timeout,
            )
        reminded, failed_at_reminder = time.monotonic(), self.failed_connections
        while os.getpid() == pid:
            time.sleep(PROBE_INTERVAL)
            if self._answers(admin):
                self._back()
                return
            if time.monotonic() - reminded >= REMINDER_INTERVAL:
                if self.failed_connections == failed_at_reminder:
                    return  # nothing here uses the cluster any more; the next failed connection probes again
                reminded, failed_at_reminder = time.monotonic(), self.failed_connections
                logger.warning(
                    "Kafka at %s still unreachable (since %s, %d failed connection attempts)",
                    self.servers,
                    since.strftime("%H:%M:%S UTC"),
                    self.failed_connections - self._failed_when_down,
                )

    def _back(self) -> None:
        """The cluster answered: one INFO line if it was known unreachable."""
        since, self.unreachable_since = self.unreachable_since, None
        if since is not None:
            logger.info(
                "Kafka at %s reachable again, after %.1fs unreachable",
                self.servers,
                (datetime.now(UTC) - since).total_seconds(),
            )


class LibrdkafkaLog:
    """Takes librdkafka's log lines in place of a :class:`logging.Logger` (the ``logger`` option).

    confluent-kafka calls ``log(level, "%s [%s] %s", facility, client, text)``.

    :param BrokerReachability reachability: Told of every failed connection.
    """

    def __init__(self, reachability: BrokerReachability) -> None:
        self._reachability = reachability

    def log(self, level: int, msg: str, *args: object) -> None:
        """One librdkafka line: connections and passing states at DEBUG, anything else as is."""
        text = msg % args if args else msg
        if any(part in text for part in _CONNECTION_FAILED):
            self._reachability.connection_failed()
            level = logging.DEBUG
        elif any(part in text for part in _PASSING):
            level = logging.DEBUG
        LIBRDKAFKA_LOGGER.log(level, "%s", text)


_CLUSTERS: dict[str, BrokerReachability] = {}
_CLUSTERS_LOCK = threading.Lock()


def reachability_of(key: str, make: Callable[[], BrokerReachability]) -> BrokerReachability:
    """The one :class:`BrokerReachability` of a cluster's settings in this process.

    :param str key: The settings' identity.
    :param Callable make: Creates it the first time.
    """
    found = _CLUSTERS.get(key)
    if found is None:
        with _CLUSTERS_LOCK:
            found = _CLUSTERS.get(key) or _CLUSTERS.setdefault(key, make())
    return found


def _forget_in_child() -> None:
    """A forked child has no probe thread: it starts with no knowledge of any cluster."""
    global _CLUSTERS_LOCK
    _CLUSTERS.clear()
    _CLUSTERS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)
