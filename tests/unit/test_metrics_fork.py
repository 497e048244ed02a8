"""A forked child never inherits a metric lock that a parent's thread held at the fork."""

from __future__ import annotations

import os
import signal
import time

from pynenc_kafka.observability.metrics import WRITE_SECONDS, WRITES, ProjectionMetrics


def test_a_child_forked_while_metric_locks_are_held_still_observes() -> None:
    metrics = ProjectionMetrics("fork-test")
    metrics.applied({"ResultSet": 1})
    held = [WRITE_SECONDS._sum._lock, metrics._kinds["ResultSet"]._value._lock, metrics._waits._sum._lock]
    for lock in held:  # as another thread of the parent would, in the middle of an observation
        lock.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # the child: each of these would block forever on an inherited lock
            code = 1
            try:
                WRITES.acknowledged(0.001)
                metrics.applied({"ResultSet": 2})
                metrics.barrier_waited(0.001, timed_out=False)
                code = 0
            finally:
                os._exit(code)
    finally:
        for lock in held:
            lock.release()
    deadline = time.monotonic() + 30
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited == (0, 0):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert waited != (0, 0) and os.waitstatus_to_exitcode(waited[1]) == 0, "the child blocked or failed"
