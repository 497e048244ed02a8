"""The broker process: launched detached, found again by its pid file, stopped."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .console import TAIL_LINES, info
from .java import JVM_OPTIONS, java_command
from .layout import Layout

STOP_GRACE_SECONDS = 30.0
"""How long a SIGTERM'd broker may take for a clean shutdown before it gets SIGKILL."""
KILL_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.25


def launch(
    java: str, libs: Path, layout: Layout, jvm_options: Sequence[str] = JVM_OPTIONS
) -> subprocess.Popen[bytes]:
    """Start ``kafka.Kafka`` detached (new session), logging to ``broker.log``.

    The previous run's log is kept as ``broker.log.1``.

    :param java: the ``java`` executable.
    :param libs: the jar folder.
    :param layout: the data dir.
    :param jvm_options: the heap and other JVM options.
    :return: the broker process, whose pid is written to the pid file.
    """
    with contextlib.suppress(FileNotFoundError):
        layout.broker_log.replace(layout.broker_log.with_name("broker.log.1"))
    command = java_command(java, libs, "kafka.Kafka", str(layout.server_properties), jvm_options=jvm_options)
    with layout.broker_log.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=layout.data_dir,
            start_new_session=True,
        )
    layout.pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
    return process


def process_command_line(pid: int) -> str:
    """:param pid: a process id.
    :return: its command line (arguments joined by spaces), or "" if it is gone.
    """
    proc_cmdline = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self").exists():
        try:
            return proc_cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            return ""
    result = subprocess.run(  # no /proc (macOS)
        ["ps", "-ww", "-o", "command=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


def is_our_broker(pid: int, layout: Layout) -> bool:
    """Tell whether ``pid`` is a ``kafka.Kafka`` process of this data dir.

    A recycled pid, or a zombie, has another command line.

    :param pid: a process id.
    :param layout: the data dir.
    :return: True if that process runs this data dir's broker.
    """
    return process_command_line(pid).endswith(f" kafka.Kafka {layout.server_properties}")


def read_live_pid(layout: Layout) -> int | None:
    """:param layout: the data dir.
    :return: the pid in the pid file if that process is our broker, else None.
    """
    try:
        pid = int(layout.pid_file.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return pid if is_our_broker(pid, layout) else None


def wait_until_gone(pid: int, layout: Layout, seconds: float) -> bool:
    """:param pid: the broker's pid.
    :param layout: the data dir.
    :param seconds: how long to wait.
    :return: True if the broker exited in time.
    """
    deadline = time.monotonic() + seconds
    while is_our_broker(pid, layout):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def terminate(pid: int, layout: Layout) -> None:
    """Stop the broker: SIGTERM, then SIGKILL if it is still up after the grace period.

    :param pid: the broker's pid (checked to be ours by the caller).
    :param layout: the data dir.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        if not wait_until_gone(pid, layout, STOP_GRACE_SECONDS):
            info(f"pid {pid} did not stop in {STOP_GRACE_SECONDS:g}s: killing it")
            os.kill(pid, signal.SIGKILL)
            wait_until_gone(pid, layout, KILL_WAIT_SECONDS)
    layout.pid_file.unlink(missing_ok=True)


def terminate_all(brokers: Sequence[tuple[int, Layout]]) -> None:
    """Stop several brokers at once: SIGTERM to all, then SIGKILL to those still up after
    the grace period.

    A cluster's nodes shut down cleanly only while a majority of its controllers still
    runs, so they are all told at once rather than one after the other.

    :param brokers: each broker's pid (checked to be ours by the caller) and data dir.
    """
    for pid, _ in brokers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for pid, layout in brokers:
        if not wait_until_gone(pid, layout, max(deadline - time.monotonic(), 0.0)):
            info(f"pid {pid} did not stop in {STOP_GRACE_SECONDS:g}s: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_until_gone(pid, layout, KILL_WAIT_SECONDS)
        layout.pid_file.unlink(missing_ok=True)


def log_tail(layout: Layout) -> list[str]:
    """:param layout: the data dir.
    :return: a header and the last lines of ``broker.log``, to show why a start failed.
    """
    try:
        lines = layout.broker_log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    if not lines:
        return [f"({layout.broker_log} is empty)"]
    return [f"--- last {TAIL_LINES} lines of {layout.broker_log} ---", *lines[-TAIL_LINES:]]
