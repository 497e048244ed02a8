"""Settings checked where they are read: a bad value fails at once, naming the variable to fix.

A malformed bootstrap address would otherwise wait out the whole timeout before librdkafka
gives up, and a non-number would surface as a bare ``TypeError`` deep inside a call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pynenc_kafka.schemas.errors import KafkaBackendError

_ADDRESS = re.compile(r"^(?:[A-Za-z_]+://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s:/,\[\]]+):(\d{1,5})$")


class SettingError(KafkaBackendError):
    """A ``PYNENC__KAFKA_*`` setting has a value that cannot work."""


def _name(field: str) -> str:
    return f"PYNENC__{field.upper()}"


def number[N: (int, float)](field: str, value: Any, kind: type[N], minimum: N | None = None) -> N:
    """``value`` as ``kind``, at least ``minimum``.

    :param str field: The setting's field name (``kafka_partitions``), named in the error.
    :param value: What the configuration holds.
    :param kind: ``int`` or ``float``.
    :param minimum: The smallest acceptable value, if any.
    :raises SettingError: If it is not a number of that kind, or is too small.
    """
    try:
        found = kind(value)
    except (TypeError, ValueError):
        raise SettingError(
            f"{_name(field)}={value!r} is not a{'n integer' if kind is int else ' number'}"
        ) from None
    if minimum is not None and found < minimum:
        raise SettingError(f"{_name(field)}={value!r} is below its minimum of {minimum}")
    return found


def at_least[N: (int, float)](field: str, minimum: N) -> Callable[[Any, type[N]], N]:
    """A cistell ``ConfigField`` mapper: the value as a number of the field's type, at least ``minimum``.

    :param str field: The field's name, for the error.
    :param minimum: The smallest acceptable value.
    """

    def mapper(value: Any, expected_type: type[N]) -> N:
        return number(field, value, expected_type, minimum)

    return mapper


def bootstrap_servers(value: Any) -> str:
    """A ``host:port[,host:port…]`` list, checked for its form (not for reachability).

    :raises SettingError: If an entry is not ``host:port`` with a port from 1 to 65535.
    """
    text = str(value).strip()
    entries = [e.strip() for e in text.split(",")] if text else []
    wrong = [e for e in entries if not (m := _ADDRESS.match(e)) or not 0 < int(m.group(1)) < 65536]
    if not entries or wrong:
        raise SettingError(
            f"PYNENC__KAFKA_BOOTSTRAP_SERVERS={value!r} is not a host:port list"
            + (f" ({', '.join(map(repr, wrong))} malformed)" if wrong else "")
            + ", e.g. 'kafka-1:9092,kafka-2:9092'"
        )
    return text
