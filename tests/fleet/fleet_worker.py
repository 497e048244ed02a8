"""One worker of the test fleet (``tests.fleet.kafka_fleet``): warm up, say so, run until SIGTERM.

It opens the app's Kafka clients and views first, then writes ``ready-<group>-<pid>`` in the
runs folder, so a test routes its batch only once every worker can take from the queue.
A module of its own: pynenc refuses tasks defined in ``__main__``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pynenc_kafka.demo.worker import run_until_sigterm
from tests.fleet.kafka_fleet import GROUP_VAR, RUNS_VAR, app


def main() -> None:
    """Warm up, write the ready file, run the app's runner until SIGTERM."""
    app.broker.count_invocations()  # the queue table
    list(app.orchestrator.get_active_runners())  # the views and the runner table
    (Path(os.environ[RUNS_VAR]) / f"ready-{os.environ.get(GROUP_VAR, 'none')}-{os.getpid()}").touch()
    run_until_sigterm(app)


if __name__ == "__main__":
    main()
