"""One worker process of the demo fleet: runs the app's runner until SIGTERM.

Its stdout and stderr are its log file (see :mod:`pynenc_kafka.demo.logs`): logging, warnings
and the tracebacks of failing tasks all go there.
"""

from __future__ import annotations

import signal
import sys
import threading

from pynenc_kafka.demo.logs import adopt_app_logger, log_to


def main() -> None:
    """Build the app from the environment and run its runner; stop it cleanly on SIGTERM."""
    log_to(sys.stderr)
    from pynenc_kafka.demo.tasks import app

    adopt_app_logger(app)

    def stop(signum: int, frame: object) -> None:
        del signum, frame
        threading.Thread(target=app.runner.stop_runner_loop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    app.runner.run()
    sys.exit(0)


if __name__ == "__main__":
    main()
