"""The checkpoint: offsets and counters round-trip; a folder belongs to one cluster, topic and app."""

from __future__ import annotations

from pathlib import Path

import pytest

from pynenc_kafka.projections.checkpoint import CheckpointState, ProjectionCheckpoint
from pynenc_kafka.projections.errors import ForeignProjectionError
from pynenc_kafka.projections.store import ViewStore


def test_a_staged_position_loads_back(tmp_path: Path) -> None:
    store = ViewStore(tmp_path / "views")
    state = CheckpointState({0: 7, 2: 3}, {0: 6, 2: 3}, {0: 1}, {"purge-1": [2]})
    batch = store.new_batch()
    ProjectionCheckpoint.stage(batch, state, {0, 2})
    store.write(batch)
    assert ProjectionCheckpoint(store).load() == CheckpointState(
        {0: 7, 2: 3}, {0: 6, 2: 3}, {0: 1, 2: 0}, {"purge-1": [2]}
    )
    store.close()


def test_a_folder_is_bound_to_one_cluster_topic_and_app(tmp_path: Path) -> None:
    store = ViewStore(tmp_path / "views")
    checkpoint = ProjectionCheckpoint(store)
    checkpoint.bind("cluster-a", "t.events", "app")
    checkpoint.bind("cluster-a", "t.events", "app")
    for other in (
        ("cluster-b", "t.events", "app"),
        ("cluster-a", "u.events", "app"),
        ("cluster-a", "t.events", "x"),
    ):
        with pytest.raises(ForeignProjectionError, match="delete the folder to rebuild it"):
            checkpoint.bind(*other)
    store.close()


def test_a_new_folder_has_an_empty_position(tmp_path: Path) -> None:
    store = ViewStore(tmp_path / "views")
    assert ProjectionCheckpoint(store).load() == CheckpointState()
    store.close()
