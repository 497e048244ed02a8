"""The pynenc components on Kafka, one module each.

pynenc finds them by class name (``PYNENC__STATE_BACKEND_CLS=KafkaStateBackend``) once this package
is imported: the ``pynenc.plugins`` entry point names it.
"""

from pynenc_kafka.components.broker import KafkaBroker
from pynenc_kafka.components.client_data_store import KafkaClientDataStore
from pynenc_kafka.components.orchestrator import KafkaOrchestrator
from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.components.trigger import KafkaTrigger

__all__ = ["KafkaBroker", "KafkaClientDataStore", "KafkaOrchestrator", "KafkaStateBackend", "KafkaTrigger"]
