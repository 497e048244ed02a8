"""A real pynenc worker fleet on Kafka alone, in two groups standing for two hosts: ``python -m pynenc_kafka.demo``."""
