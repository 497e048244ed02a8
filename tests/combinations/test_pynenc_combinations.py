"""pynenc's combination suite (every runner) on SQLite components with KafkaStateBackend.

The app comes from ``app_combination_instance`` in this folder's conftest. One test of
the suite, ``test_status_transitions`` (from ``pynenc_tests.integration.orchestrator``),
builds its own module-level SQLite-only app and so never touches KafkaStateBackend.
"""

from pynenc_tests.integration.combinations.all_tests import *
