"""One worker process of the demo fleet: runs the app's runner until SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading


def main() -> None:
    """Build the app from the environment and run its runner; stop it cleanly on SIGTERM."""
    from pynenc_kafka.demo.tasks import app

    def stop(signum: int, frame: object) -> None:
        del signum, frame
        threading.Thread(target=app.runner.stop_runner_loop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    app.runner.run()
    sys.exit(0)


if __name__ == "__main__":
    main()
