"""Byte keys of the RocksDB views: ordered, prefix-scannable, unambiguous.

Text parts are UTF-8 joined by ``\\x00`` (which no id contains), so a prefix scan of
``"inv-1\\x00"`` never returns ``"inv-10"``'s rows. Timestamps are 8-byte big-endian
microseconds shifted by 2**63, so byte order is time order, before 1970 too.
"""

from __future__ import annotations

SEP = b"\x00"
_SHIFT = 1 << 63
#: Greater than every key: UTF-8 text never holds 0xFF bytes.
END = b"\xff" * 16


def text(value: str) -> bytes:
    """One text part as bytes."""
    return value.encode()


def joined(*parts: str) -> bytes:
    """Text parts joined by the separator: a composite key."""
    return SEP.join([p.encode() for p in parts])


def prefix(*parts: str) -> bytes:
    """The key prefix selecting every row under ``parts``."""
    if len(parts) == 1:  # every applied status record asks for one
        return parts[0].encode() + SEP
    return joined(*parts) + SEP


def micros(value: int) -> bytes:
    """A signed microsecond timestamp as an order-preserving 8-byte key part."""
    return (value + _SHIFT).to_bytes(8, "big")


def position(partition: int, offset: int) -> bytes:
    """An event's (partition, offset) as a 12-byte key part, unique in the log."""
    return partition.to_bytes(4, "big") + offset.to_bytes(8, "big")


def last_part(key: bytes) -> str:
    """The text after the last separator of a composite key."""
    return key.rsplit(SEP, 1)[-1].decode()
