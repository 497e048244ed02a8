"""Pausing Python's cyclic garbage collector while a bulk read allocates millions of objects.

Decoded events are dicts of strings and numbers: reference counting frees them, and none
forms a cycle. Yet every few hundred allocations the cyclic collector walks the young objects,
and now and then every object alive, which costs a bulk replay about a third of its time.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; restore its previous state afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
