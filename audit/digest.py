"""Fingerprints of views, and where two projections differ.

A view's digest is the SHA-256 of its rows in key order, each key and value length-prefixed,
so two views have equal digests exactly when they hold the same rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pynenc_kafka.projections.store import PROJECTED_VIEWS, View, ViewStore


@dataclass(frozen=True)
class ViewDigest:
    """The fingerprint of one view.

    :param View view: The view.
    :param int rows: Its row count.
    :param str sha256: Hex SHA-256 over its rows.
    """

    view: View
    rows: int
    sha256: str

    @classmethod
    def of(cls, store: ViewStore, view: View) -> ViewDigest:
        """Compute the digest of ``view`` in ``store``."""
        digest = hashlib.sha256()
        rows = 0
        pending: list[bytes] = []
        add = pending.append
        for key, value in store.scan(view):  # one hash update per thousand rows, not four per row
            add(len(key).to_bytes(4, "big"))
            add(key)
            add(len(value).to_bytes(4, "big"))
            add(value)
            rows += 1
            if len(pending) >= 4000:
                digest.update(b"".join(pending))
                pending.clear()
        digest.update(b"".join(pending))
        return cls(view, rows, digest.hexdigest())


@dataclass(frozen=True)
class RowDifference:
    """One key whose row differs between two stores.

    :param bytes key: The key.
    :param left: Its value in the first store, ``None`` if absent.
    :param right: Its value in the second store, ``None`` if absent.
    """

    key: bytes
    left: bytes | None
    right: bytes | None


@dataclass(frozen=True)
class ViewMismatch:
    """A view that differs between two stores.

    :param ViewDigest left: Its digest in the first store.
    :param ViewDigest right: Its digest in the second store.
    :param list differences: The first differing rows, in key order.
    """

    left: ViewDigest
    right: ViewDigest
    differences: list[RowDifference]

    @property
    def view(self) -> View:
        """The view."""
        return self.left.view


def digests(store: ViewStore, views: Iterable[View] = PROJECTED_VIEWS) -> dict[View, ViewDigest]:
    """The digest of every view of ``store`` (the checkpoint excluded by default)."""
    return {view: ViewDigest.of(store, view) for view in views}


def first_differences(left: ViewStore, right: ViewStore, view: View, limit: int = 5) -> list[RowDifference]:
    """The first ``limit`` keys, in key order, whose rows differ between two stores.

    :param ViewStore left: One store.
    :param ViewStore right: The other.
    :param View view: The view to compare.
    :param int limit: How many differences to return at most.
    """
    found: list[RowDifference] = []
    for key, a, b in _merged(left.scan(view), right.scan(view)):
        if a != b:
            found.append(RowDifference(key, a, b))
            if len(found) >= limit:
                break
    return found


@dataclass(frozen=True)
class StoreComparison:
    """Two stores compared view by view.

    :param dict left: The digest of each view of the first store.
    :param dict right: The digest of each view of the second store.
    :param list mismatches: The views that differ, with their first differing rows.
    """

    left: dict[View, ViewDigest]
    right: dict[View, ViewDigest]
    mismatches: list[ViewMismatch]

    @property
    def equal(self) -> bool:
        """Whether every view holds the same rows in both stores."""
        return not self.mismatches


def compare(left: ViewStore, right: ViewStore, views: Iterable[View] = PROJECTED_VIEWS) -> StoreComparison:
    """Compare two stores view by view (the checkpoint excluded by default)."""
    wanted = list(views)
    a, b = digests(left, wanted), digests(right, wanted)
    mismatches = [
        ViewMismatch(a[view], b[view], first_differences(left, right, view))
        for view in wanted
        if a[view].sha256 != b[view].sha256
    ]
    return StoreComparison(a, b, mismatches)


def _merged(
    left: Iterator[tuple[bytes, bytes]], right: Iterator[tuple[bytes, bytes]]
) -> Iterator[tuple[bytes, bytes | None, bytes | None]]:
    """Walk two key-ordered row streams together: (key, left value, right value)."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            yield a[0], a[1], None
            a = next(left, None)
        elif a is None or b[0] < a[0]:
            yield b[0], None, b[1]
            b = next(right, None)
        else:
            yield a[0], a[1], b[1]
            a, b = next(left, None), next(right, None)
