"""``timestamp-micros``: exact conversions between datetimes and microseconds since the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(value: datetime | int) -> int:
    """Microseconds since the epoch; a naive datetime is local time, as ``datetime.timestamp``.

    :param value: A datetime, or microseconds already.
    """
    if isinstance(value, int):
        return value
    aware = value if value.tzinfo is not None else value.astimezone()
    return (aware - EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    """The UTC datetime of microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=value)
