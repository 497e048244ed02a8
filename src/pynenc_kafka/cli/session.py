"""What the audit commands share: one cluster's clients, an app's log, this host's projection of it.

Nothing here creates a topic: an audit of an app that has no log is an error, not a new app.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, KafkaException

from pynenc_kafka.audit.log_reader import LogReader, bulk_read_config
from pynenc_kafka.audit.replay import ReplaySource
from pynenc_kafka.core.client_settings import KafkaClientSettings
from pynenc_kafka.core.cluster import ClusterClients
from pynenc_kafka.core.conf import ConfigStateBackendKafka
from pynenc_kafka.core.runtime import RUNTIME
from pynenc_kafka.producers.errors import KafkaUnavailableError
from pynenc_kafka.projections.barrier import EndOffsets
from pynenc_kafka.projections.checkpoint import ProjectionCheckpoint
from pynenc_kafka.projections.layout import ProjectionLayout
from pynenc_kafka.projections.store import ViewStore
from pynenc_kafka.schemas.access import AUTHORIZATION_CODES, acl_to_add, authorization_refused
from pynenc_kafka.schemas.errors import KafkaBackendError, kafka_did_not_answer
from pynenc_kafka.schemas.topology import AppTopics


class UnknownAppError(KafkaBackendError):
    """The app has no event log on the cluster."""


class NoLiveProjectionError(KafkaBackendError):
    """This host holds no projection of the app."""


@dataclass(frozen=True)
class AppLog:
    """An app's event log as the cluster serves it.

    :param AppTopics topics: The app's topics.
    :param int partitions: The log's partition count.
    :param str cluster_id: The cluster's id.
    :param str topic_id: Kafka's id of the log (a topic created again under its name has another).
    """

    topics: AppTopics
    partitions: int
    cluster_id: str
    topic_id: str

    @property
    def app_id(self) -> str:
        """The app."""
        return self.topics.app_id

    @property
    def topic(self) -> str:
        """The log's topic."""
        return self.topics.events

    @property
    def source(self) -> ReplaySource:
        """The log as a replay names it."""
        return ReplaySource(self.cluster_id, self.topic, self.app_id, self.partitions)


class AuditSession:
    """The clients and folders the audit commands work with.

    :param ConfigStateBackendKafka conf: The backend's settings (environment, files, overrides).
    """

    def __init__(self, conf: ConfigStateBackendKafka) -> None:
        self.conf = conf
        self.settings = KafkaClientSettings.from_config(conf)
        self.clients: ClusterClients = RUNTIME.cluster(self.settings)
        self.prefix: str = conf.kafka_topic_prefix

    def topic_partitions(self) -> dict[str, int]:
        """Every topic of the cluster with its partition count (one metadata request)."""
        timeout = self.settings.timeout
        try:
            metadata = self.clients.admin.list_topics(timeout=timeout)
        except KafkaException as exc:
            raise kafka_did_not_answer(
                "read cluster metadata", exc, timeout, self.settings.describe(), KafkaUnavailableError
            ) from exc
        return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}

    def app_log(self, app_id: str) -> AppLog:
        """The log of ``app_id``.

        :raises UnknownAppError: If the cluster has no log for it.
        """
        topics = AppTopics(self.prefix, app_id)
        cluster_id = self.clients.cluster_id
        partitions = self.topic_partitions().get(topics.events)
        if not partitions:
            self._require_access(app_id, topics.events)
            raise UnknownAppError(
                f"app {app_id!r} has no event log on the cluster (topic {topics.events!r} not found, "
                f"topic prefix {self.prefix!r}); check --app and --topic-prefix, "
                "`pynenc-kafka apps` lists the apps the cluster knows"
            )
        return AppLog(topics, partitions, cluster_id, self.clients.topics.topic_id(topics.events))

    def _require_access(self, app_id: str, topic: str) -> None:
        """A secured cluster leaves the topics a principal may not describe out of its listing:
        ask for ``topic`` by name, so that a missing permission is not taken for a missing app.

        :raises KafkaAuthorizationError: If the principal may not describe the topic.
        """
        try:
            metadata = self.clients.admin.list_topics(topic=topic, timeout=self.settings.timeout)
        except KafkaException:
            return  # the listing just worked: leave the verdict to it
        found = metadata.topics.get(topic)
        error = found.error if found is not None else None
        if error is not None and error.code() in AUTHORIZATION_CODES:
            principal = self.settings.principal
            raise authorization_refused(
                f"read the log of app {app_id!r}: topic {topic!r} as {principal}",
                error,
                self.settings.describe(),
                acl_to_add(principal, "DESCRIBE, READ", f"topic {topic!r}"),
            )

    def end_offsets(self, log: AppLog) -> dict[int, int]:
        """The end offset of each partition of ``log``."""
        end_offsets = EndOffsets(
            self.clients.offsets_consumer,
            self.clients.admin,
            log.topic,
            self.settings.timeout,
            self.settings.describe(),
        )
        return end_offsets(range(log.partitions))

    def reader(self, log: AppLog) -> LogReader:
        """A reader of ``log`` with its own consumer (close it after use)."""
        config = bulk_read_config(self.settings.consumer_config("pynenc-kafka-cli"), self.settings.consumer)
        return LogReader(
            Consumer(config),
            log.topic,
            log.partitions,
            self.settings.timeout,
            self.settings.describe(),
            config,
        )

    def live_layout(self, log: AppLog) -> ProjectionLayout:
        """Where this host keeps the live projection of ``log`` (as the backend does)."""
        return ProjectionLayout(self.conf.projection_root, log.cluster_id, log.topic)

    @contextmanager
    def live_store(self, log: AppLog) -> Iterator[ViewStore]:
        """This host's live projection of ``log``, opened as a RocksDB secondary.

        A secondary sees the projection as of the moment it opened (whole WriteBatches only) and
        never disturbs a projector that runs meanwhile.

        :raises NoLiveProjectionError: If this host has none.
        """
        layout = self.live_layout(log)
        folder = layout.folder
        if not layout.is_created:
            raise NoLiveProjectionError(
                f"this host has no projection of app {log.app_id!r} (looked in {folder}); "
                "run a worker of the app here, or point --projection-dir at the folder that holds it"
            )
        with tempfile.TemporaryDirectory(prefix="pynenc-kafka-secondary-") as secondary:
            store = ViewStore(folder, secondary_path=Path(secondary))
            try:
                ProjectionCheckpoint(store).bind(log.cluster_id, log.topic, log.app_id, log.topic_id)
                yield store
            finally:
                store.close()
