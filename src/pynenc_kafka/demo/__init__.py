"""A real pynenc worker fleet on the Kafka state backend: ``python -m pynenc_kafka.demo``."""
