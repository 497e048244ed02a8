"""pynenc's integration suite for state backends, run against KafkaStateBackend on the real broker."""

from pynenc_tests.integration.state_backend.all_tests import *
