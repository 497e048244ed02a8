"""``python -m pynenc_kafka.cli``: the same as the ``pynenc-kafka`` command."""

import sys

from pynenc_kafka.cli.main import main

sys.exit(main())
