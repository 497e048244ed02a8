"""Make the broker script's package, ``deploy/kafka/localbroker``, importable by the tests."""

import sys
from pathlib import Path

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
if str(KAFKA_DIR) not in sys.path:
    sys.path.insert(0, str(KAFKA_DIR))
