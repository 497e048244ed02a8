"""Topic provisioning: create an app's topics once per process and wait until they serve."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from pynenc_kafka.producers.errors import KafkaUnavailableError, TopicAccessError, TopicRefusedError
from pynenc_kafka.schemas.access import AuthenticationWatch, acl_to_add, refusal
from pynenc_kafka.schemas.errors import kafka_did_not_answer
from pynenc_kafka.schemas.kafka_calls import call_kafka, is_passing

#: Kafka's default ``max.message.bytes`` for a topic, used when the broker won't say.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_588

_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
#: A broker's refusal of the topic asked for: the request was answered, its settings are wrong.
_REFUSALS = {
    KafkaError.INVALID_PARTITIONS,
    KafkaError.INVALID_REPLICATION_FACTOR,
    KafkaError.INVALID_CONFIG,
    KafkaError.POLICY_VIOLATION,
    KafkaError.INVALID_REQUEST,
    KafkaError.TOPIC_EXCEPTION,
}
_ACCESS_ERRORS = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
}
#: Seconds one metadata request of the first contact may take: between two, the clients'
#: reports are read, so a refused login fails at once rather than at the timeout.
_CONNECT_SLICE = 0.25


def min_insync_replicas(replication: int, setting: int) -> int | None:
    """The ``min.insync.replicas`` of a new topic, or ``None`` for the broker's default.

    With three replicas or more, an acknowledged write survives the loss of any one broker
    only if two replicas had it: that is the default then. A setting above 0 always wins.

    :param int replication: The topic's replication factor (``-1``: the broker's default, unknown here).
    :param int setting: ``kafka_min_insync_replicas``.
    """
    if setting > 0:
        return setting
    return 2 if replication >= 3 else None


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What the write and read sides need to know of a topic.

    :param str name: Topic name.
    :param int partitions: Its partition count.
    :param int max_message_bytes: The topic's ``max.message.bytes``.
    :param str topic_id: Kafka's id of the topic: a topic deleted and created again under the
        same name gets a new one, so state built from the old log is never taken for the new.
    """

    name: str
    partitions: int
    max_message_bytes: int
    topic_id: str


@dataclass
class ClusterFacts:
    """What a process learnt of a cluster: plain data, still true in a forked child.

    librdkafka handles never cross a fork, but these facts do: a forked worker's first
    write then skips the metadata round trips its parent already made.

    :param cluster_id: The cluster's id, once asked.
    :param dict topics: The topics ensured so far, by name.
    """

    cluster_id: str | None = None
    topics: dict[str, TopicInfo] = field(default_factory=dict)


class TopicProvisioner:
    """Creates topics on first use and remembers what it learnt in :class:`ClusterFacts`.

    :param AdminClient admin: Admin client of the cluster.
    :param float timeout: Seconds any admin request may take.
    :param str describe: Safe description of the connection, for error messages.
    :param int max_message_bytes: ``max.message.bytes`` of the topics it creates.
    :param ClusterFacts facts: What this process already knows of the cluster (shared, updated here).
    :param AuthenticationWatch watch: The ``error_cb`` of the admin client (a refused login).
    :param str principal: Who the clients are to the cluster (``User:<name>``), for the ACLs to add.
    """

    def __init__(
        self,
        admin: AdminClient,
        timeout: float,
        describe: str,
        max_message_bytes: int,
        facts: ClusterFacts,
        watch: AuthenticationWatch | None = None,
        principal: str = "this client's principal",
    ) -> None:
        self._admin = admin
        self._timeout = timeout
        self._describe = describe
        self._new_topic_max_bytes = max_message_bytes
        self.facts = facts
        self._watch = watch or AuthenticationWatch()
        self._principal = principal
        self._lock = threading.Lock()

    def cluster_id(self) -> str:
        """The cluster's id, which names the projection folder of this cluster (asked once).

        It is the process's first request to the cluster: made in short slices, reading the
        admin client's reports in between, so a refused login is reported at once.

        :raises KafkaAuthenticationError: If the cluster refused the credentials.
        :raises KafkaUnavailableError: If it did not answer within the timeout.
        """
        if self.facts.cluster_id is None:
            deadline = time.monotonic() + self._timeout
            # The answer names every topic of the cluster: with thousands of them it takes longer
            # than one slice, so each attempt waits twice as long as the one before.
            attempt = _CONNECT_SLICE
            while True:
                remaining = deadline - time.monotonic()
                try:
                    metadata = self._admin.list_topics(timeout=max(0.01, min(attempt, remaining)))
                    break
                except KafkaException as exc:
                    self._admin.poll(0)  # serves the error_cb: the watch learns of a refused login
                    self._watch.check(self._describe)
                    refused = refusal("read cluster metadata", exc, self._describe)
                    if refused is not None:
                        raise refused from exc
                    code = exc.args[0].code()
                    passing = is_passing(exc) or code in (KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN)
                    if not passing or time.monotonic() >= deadline:
                        raise self._unavailable("read cluster metadata", exc) from exc
                    attempt *= 2
            self.facts.cluster_id = str(metadata.cluster_id)
        return self.facts.cluster_id

    def ensure(
        self,
        name: str,
        partitions: int,
        replication: int = -1,
        compacted: bool = False,
        min_insync: int = 0,
        config: Mapping[str, str] | None = None,
    ) -> TopicInfo:
        """Return the topic, creating it if it does not exist yet.

        :param str name: Topic name.
        :param int partitions: Partition count if the topic is created.
        :param int replication: Replication factor if created (``-1``: the broker's default).
        :param bool compacted: Compacted (a registry) instead of kept forever (a log).
        :param int min_insync: ``min.insync.replicas`` if created (``0``: see :func:`min_insync_replicas`).
        :param config: Further topic settings if created (e.g. a compacted topic's ``segment.ms``).
        :return: The topic as the cluster serves it.
        :raises KafkaUnavailableError: If the cluster does not answer in time.
        :raises TopicAccessError: If a permission is missing.
        """
        with self._lock:
            known = self.facts.topics.get(name)
            if known is not None:
                return known
            self.cluster_id()  # the first contact: a refused login fails here, at once
            count = self._partitions(name)
            if count is None:
                self._create(name, partitions, replication, compacted, min_insync, config or {})
                count = self._await_leaders(name)
            info = TopicInfo(name, count, self._max_message_bytes(name), self.topic_id(name))
            self.facts.topics[name] = info
            return info

    def forget(self, name: str) -> None:
        """Drop what this process knows of a topic (it was deleted, or created again)."""
        with self._lock:
            self.facts.topics.pop(name, None)

    def topic_id(self, name: str, patient: bool = True) -> str:
        """Kafka's id of the topic as the cluster serves it now.

        :param bool patient: Retry passing cluster states until the timeout; ``False`` asks once.
        :raises KafkaUnavailableError: If the cluster does not answer in time, or has no such topic.
        """

        def describe() -> str:
            futures = self._admin.describe_topics(TopicCollection([name]), request_timeout=self._timeout)
            return str(futures[name].result().topic_id)

        if patient:
            return self._call(describe, f"describe topic {name}")
        try:
            return describe()
        except KafkaException as exc:
            raise self._unavailable(f"describe topic {name}", exc) from exc

    def _partitions(self, name: str) -> int | None:
        metadata = self._call(
            lambda: self._admin.list_topics(topic=name, timeout=self._timeout), f"describe topic {name}"
        )
        topic = metadata.topics.get(name)
        if topic is None or topic.error is not None:
            if topic is not None and topic.error is not None and topic.error.code() in _ACCESS_ERRORS:
                raise TopicAccessError(
                    f"not allowed to describe topic {name!r} as {self._principal} ({topic.error.str()}): "
                    + acl_to_add(self._principal, "DESCRIBE", f"topic {name!r}"),
                    topic.error,
                )
            return None
        if not topic.partitions or any(p.leader < 0 for p in topic.partitions.values()):
            return None
        return len(topic.partitions)

    def _create(
        self,
        name: str,
        partitions: int,
        replication: int,
        compacted: bool,
        min_insync: int,
        extra: Mapping[str, str],
    ) -> None:
        config = {"cleanup.policy": "compact"} if compacted else {"cleanup.policy": "delete", **_FOREVER}
        config.update(extra)
        config["max.message.bytes"] = str(self._new_topic_max_bytes)
        insync = min_insync_replicas(replication, min_insync)
        if insync is not None:
            config["min.insync.replicas"] = str(insync)
        topic = NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config)
        future = self._admin.create_topics([topic], request_timeout=self._timeout)[name]
        try:
            future.result(timeout=self._timeout + 5)
        except KafkaException as exc:
            code = exc.args[0].code()
            if code == KafkaError.TOPIC_ALREADY_EXISTS:
                return
            if code in _ACCESS_ERRORS:
                raise TopicAccessError(
                    f"not allowed to create topic {name!r} as {self._principal} ({exc.args[0].str()}): "
                    + acl_to_add(self._principal, "CREATE", f"topic {name!r}")
                    + ", or create the topic beforehand",
                    exc.args[0],
                ) from None
            if code in _REFUSALS:
                raise TopicRefusedError(
                    f"Kafka refused to create topic {name!r} with {partitions} partitions, replication factor "
                    f"{replication} and {config}: {exc.args[0].str()}; change PYNENC__KAFKA_PARTITIONS, "
                    "PYNENC__KAFKA_REPLICATION_FACTOR or PYNENC__KAFKA_MIN_INSYNC_REPLICAS to what the cluster "
                    "allows (replication at most its number of brokers), or create the topic beforehand"
                ) from exc
            raise self._unavailable(f"create topic {name}", exc) from exc

    def _await_leaders(self, name: str) -> int:
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            count = self._partitions(name)
            if count is not None:
                return count
            time.sleep(0.05)
        raise KafkaUnavailableError(
            f"topic {name!r} was created but has no leader for every partition after "
            f"{self._timeout:g}s ({self._describe})"
        )

    def _max_message_bytes(self, name: str) -> int:
        resource = ConfigResource(ResourceType.TOPIC, name)
        try:
            configs = self._admin.describe_configs([resource], request_timeout=self._timeout)[
                resource
            ].result()
            return int(configs["max.message.bytes"].value)
        except (KafkaException, KeyError, ValueError):
            return DEFAULT_MAX_MESSAGE_BYTES

    def _call[T](self, request: Callable[[], T], what: str) -> T:
        return call_kafka(request, what, self._timeout, self._describe, KafkaUnavailableError)

    def _unavailable(self, what: str, exc: KafkaException) -> KafkaUnavailableError:
        return kafka_did_not_answer(what, exc, self._timeout, self._describe, KafkaUnavailableError)
