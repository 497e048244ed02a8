"""The errors pynenc-kafka raises: one base, so callers can catch them all."""


class KafkaBackendError(RuntimeError):
    """Base of every error pynenc-kafka raises; the message says what to do."""
