"""Errors of the read side: each names what went wrong and what to do."""

from pynenc_kafka.schemas.errors import KafkaBackendError


class ReadBarrierTimeoutError(KafkaBackendError):
    """The projection did not reach Kafka's end offset within the read barrier timeout."""


class ForeignProjectionError(KafkaBackendError):
    """A projection folder belongs to another cluster, topic or app, or is not ours."""


class LogRewoundError(KafkaBackendError):
    """Kafka's log ends before offsets the projection already applied: it is not the log projected."""


class StaleProjectionError(ForeignProjectionError):
    """A projection folder was built from an earlier topic of the same name (deleted, then created again)."""


class DamagedProjectionError(KafkaBackendError):
    """RocksDB reported an error reading a projection folder; deleting it rebuilds it from the log."""


class ProjectionFolderError(KafkaBackendError):
    """The projection folder cannot be used (not a folder, no permission, locked by another program)."""
