"""pynenc-kafka: an event-sourced pynenc state backend on Apache Kafka and RocksDB."""

__version__ = "0.1.0"
