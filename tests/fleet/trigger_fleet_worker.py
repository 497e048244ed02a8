"""One worker process of the trigger fleet tests: runs the app's runner until SIGTERM.

python -m tests.fleet.trigger_fleet_worker
"""

from __future__ import annotations

from pynenc_kafka.demo.worker import run_until_sigterm
from tests.fleet.trigger_fleet_app import app


def main() -> None:
    """Run the app's runner until SIGTERM."""
    run_until_sigterm(app)


if __name__ == "__main__":
    main()
