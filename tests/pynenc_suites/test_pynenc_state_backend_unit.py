"""pynenc's unit suite for state backends, run against KafkaStateBackend on the real broker."""

from pynenc_tests.unit.state_backend.all_tests import *
