"""Errors of the read side: each names what went wrong and what to do."""

from pynenc_kafka.schemas.errors import KafkaBackendError


class ReadBarrierTimeoutError(KafkaBackendError):
    """The projection did not reach Kafka's end offset within the read barrier timeout."""


class ForeignProjectionError(KafkaBackendError):
    """A projection folder belongs to another cluster, topic or app, or is not ours."""


class DamagedProjectionError(KafkaBackendError):
    """RocksDB reported an error reading a projection folder; deleting it rebuilds it from the log."""
