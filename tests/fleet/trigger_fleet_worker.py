"""One worker process of the trigger fleet tests: runs the app's runner until SIGTERM.

python -m tests.fleet.trigger_fleet_worker
"""

from __future__ import annotations

import signal
import sys
import threading

from tests.fleet.trigger_fleet_app import app


def main() -> None:
    def stop(signum: int, frame: object) -> None:
        del signum, frame
        threading.Thread(target=app.runner.stop_runner_loop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    app.runner.run()
    sys.exit(0)


if __name__ == "__main__":
    main()
