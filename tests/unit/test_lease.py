"""The projector lease: one holder per folder, freed by the kernel when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pynenc_kafka.projections.errors import ProjectionFolderError
from pynenc_kafka.projections.layout import ProjectionLayout
from pynenc_kafka.projections.lease import ProjectionLease

REPO = Path(__file__).resolve().parents[2]


def test_one_holder_at_a_time(tmp_path: Path) -> None:
    lock = ProjectionLayout(tmp_path, "cluster", "t.events").lock_file
    first, second = ProjectionLease(lock), ProjectionLease(lock)
    assert first.try_acquire() and first.try_acquire(), "holding it twice is still holding it"
    assert not second.try_acquire()
    assert second.holder_pid() == os.getpid()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_sigkilled_holder_frees_the_lease(tmp_path: Path) -> None:
    lock = ProjectionLayout(tmp_path, "cluster", "t.events").lock_file
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from pynenc_kafka.projections.lease import ProjectionLease\n"
        f"assert ProjectionLease(Path({str(lock)!r})).try_acquire()\n"
        "print('holding', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        lease = ProjectionLease(lock)
        assert not lease.try_acquire()
        assert lease.holder_pid() == holder.pid
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 5
        while not lease.try_acquire():
            assert time.monotonic() < deadline, "the lease stayed taken after its holder died"
            time.sleep(0.01)
        lease.release()
    finally:
        holder.kill()
        holder.wait(10)


def test_the_secondary_folders_of_dead_processes_are_swept(tmp_path: Path) -> None:
    layout = ProjectionLayout(tmp_path, "cluster", "t.events")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_folder = tmp_path / ".secondary" / "t.events" / f"{int(dead.stdout)}-0"
    mine = layout.new_secondary_folder()
    for folder in (dead_folder, mine):
        folder.mkdir(parents=True)
    assert layout.sweep_dead_secondaries() == [dead_folder]
    assert mine.exists() and not dead_folder.exists()


def test_a_projection_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    lease = ProjectionLease(ProjectionLayout(blocker / "projections", "cluster", "t.events").lock_file)
    with pytest.raises(ProjectionFolderError, match="PYNENC__KAFKA_PROJECTION_DIR"):
        lease.try_acquire()
