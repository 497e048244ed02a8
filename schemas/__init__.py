"""The public contract of pynenc-kafka: Avro schemas of every event, and how they are framed.

The ``*.avsc`` files in this package are the versioned event feed that analytics tools
read; :mod:`pynenc_kafka.schemas.codec` frames them with Avro single-object encoding and
:mod:`pynenc_kafka.schemas.topology` names the topics and partitions they travel on.
"""

from pathlib import Path

#: Folder holding the ``*.avsc`` files, one per named type.
SCHEMA_DIR = Path(__file__).parent

#: Avro namespace of every event record.
NAMESPACE = "org.pynenc.kafka.events"

#: Full name of the envelope record that every message of the log carries.
EVENT_SCHEMA_NAME = f"{NAMESPACE}.Event"
