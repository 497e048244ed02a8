"""Whether our broker answers: one metadata request through confluent-kafka's AdminClient.

A probe asks for the cluster metadata and checks that the broker lists itself
on our port with the cluster id our data dir was formatted with, so that
another broker that happens to listen on the port does not count.
"""

import logging
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from .console import BrokerError
from .layout import Layout
from .process import POLL_SECONDS, log_tail, terminate
from .properties import HOST
from .security import probe_options

PROBE_SECONDS = 2.0
"""How long one metadata request may take. librdkafka keeps reconnecting within
it, so a broker that opens its port during a probe still answers that probe."""
CLIENT_ID = "pynenc-kafka-broker"


def _silent_logger() -> logging.Logger:
    """Build the logger given to librdkafka instead of its own stderr output.

    While the broker starts, librdkafka logs every refused connection; the
    script reports readiness itself, so those lines must not reach the terminal.

    :return: a logger that emits nothing (a level above CRITICAL, no propagation,
        and a handler so that Python's last-resort handler never prints either).
    """
    logger = logging.getLogger("localbroker.librdkafka")
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


LIBRDKAFKA_LOGGER = _silent_logger()


@dataclass(frozen=True)
class BrokerAddress:
    """One live broker as listed in the cluster metadata.

    :param node_id: its ``node.id``.
    :param host: its advertised host.
    :param port: its advertised port.
    """

    node_id: int
    host: str | None
    port: int


@dataclass(frozen=True)
class ClusterView:
    """The cluster as one broker describes it.

    :param cluster_id: the cluster id the broker's storage was formatted with.
    :param brokers: the live brokers.
    """

    cluster_id: str | None
    brokers: tuple[BrokerAddress, ...]


def ask_cluster(
    port: int, timeout: float = PROBE_SECONDS, options: Mapping[str, str] | None = None
) -> ClusterView | None:
    """Ask the broker on ``port`` for the cluster metadata, with a client of its own.

    :param port: the broker's port on 127.0.0.1.
    :param timeout: seconds to wait for the answer.
    :param options: client options (a secured broker's, see :func:`.security.probe_options`).
    :return: what the broker said, or None if nothing answered in time.
    """
    return ask_servers([port], timeout, options)


def ask_servers(
    ports: Sequence[int], timeout: float = PROBE_SECONDS, options: Mapping[str, str] | None = None
) -> ClusterView | None:
    """Ask whichever of the brokers on ``ports`` answers first for the cluster metadata.

    :param ports: the brokers' ports on 127.0.0.1 (the client's bootstrap servers).
    :param timeout: seconds to wait for the answer.
    :param options: client options (a secured broker's, see :func:`.security.probe_options`).
    :return: what a broker said, or None if nothing answered in time.
    """
    bootstrap = ",".join(f"{HOST}:{port}" for port in ports)
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "client.id": CLIENT_ID, **(options or {})},
        logger=LIBRDKAFKA_LOGGER,
    )
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException:
        return None
    finally:
        # AdminClient has no close(): dropping its only reference destroys the
        # librdkafka handle (threads, sockets) here rather than at interpreter exit.
        del admin
    brokers = tuple(
        BrokerAddress(broker.id, broker.host, broker.port) for broker in metadata.brokers.values()
    )
    return ClusterView(metadata.cluster_id, brokers)


def broker_answers(
    port: int,
    cluster_id: str | None,
    timeout: float = PROBE_SECONDS,
    options: Mapping[str, str] | None = None,
) -> bool:
    """Tell whether our broker serves metadata on ``port``.

    :param port: the broker's port.
    :param cluster_id: the cluster id of the data dir (None if never formatted,
        which no broker can match).
    :param timeout: seconds to wait for the answer.
    :param options: client options (a secured broker's, see :func:`.security.probe_options`).
    :return: True if a broker of that cluster lists itself as live on ``port``.
    """
    if cluster_id is None:
        return False
    view = ask_cluster(port, timeout, options)
    return (
        view is not None
        and view.cluster_id == cluster_id
        and any(broker.port == port for broker in view.brokers)
    )


def listed_nodes(
    ports: Mapping[int, int], cluster_id: str | None, timeout: float = PROBE_SECONDS
) -> set[int]:
    """Ask a cluster's nodes which of them are live members.

    :param ports: each node's ``node.id`` to its client port.
    :param cluster_id: the cluster id the nodes were formatted with.
    :param timeout: seconds to wait for the answer.
    :return: the node ids that the cluster lists as live brokers on their own ports
        (none if no node answered, or the answer is another cluster's).
    """
    view = ask_servers(sorted(ports.values()), timeout)
    if cluster_id is None or view is None or view.cluster_id != cluster_id:
        return set()
    return {broker.node_id for broker in view.brokers if ports.get(broker.node_id) == broker.port}


def wait_until_ready(
    process: subprocess.Popen[bytes],
    layout: Layout,
    port: int,
    cluster_id: str,
    timeout: float,
) -> None:
    """Probe the launched broker until it answers; stop it on failure.

    :param process: the launched broker.
    :param layout: the data dir.
    :param port: the client port.
    :param cluster_id: the data dir's cluster id.
    :param timeout: seconds to wait.
    :raises BrokerError: if the broker exits or does not answer in time.
    """
    deadline = time.monotonic() + timeout
    options = probe_options(layout)
    try:
        while not broker_answers(
            port, cluster_id, min(PROBE_SECONDS, max(deadline - time.monotonic(), 0.1)), options
        ):
            code = process.poll()
            if code is not None:
                layout.pid_file.unlink(missing_ok=True)
                raise BrokerError(f"the broker exited with code {code} while starting", log_tail(layout))
            if time.monotonic() > deadline:
                terminate(process.pid, layout)
                raise BrokerError(
                    f"the broker did not answer on {HOST}:{port} within {timeout:g}s "
                    "(stopped it; try a larger --timeout)",
                    log_tail(layout),
                )
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        terminate(process.pid, layout)
        raise
