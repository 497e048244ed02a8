"""What the script tells its user: progress on stderr, one-line errors, exit codes."""

import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DOWN = 3
EXIT_INTERRUPTED = 130

TAIL_LINES = 20
"""How many last lines of a tool's output (Maven, the storage tool, the broker log) an error shows."""


class BrokerError(Exception):
    """A failure reported as one ``broker: error:`` line, plus optional details.

    :param message: the one-line error.
    :param details: lines printed after the error line (e.g. a log tail).
    """

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


def info(message: str) -> None:
    """Print a progress line on stderr, so that stdout keeps only the results.

    :param message: the progress message.
    """
    print(f"broker: {message}", file=sys.stderr, flush=True)


def report_error(error: BrokerError) -> None:
    """Print ``error`` as one ``broker: error:`` line on stderr, then its details.

    :param error: the failure.
    """
    print(f"broker: error: {error}", file=sys.stderr)
    for line in error.details:
        print(line, file=sys.stderr)
