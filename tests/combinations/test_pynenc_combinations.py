"""pynenc's combination suite (every runner) with every component on Kafka, pynenc's SQLite trigger.

The app comes from ``app_combination_instance`` in this folder's conftest. One test of
the suite, ``test_status_transitions`` (from ``pynenc_tests.integration.orchestrator``),
builds its own module-level SQLite-only app and so never touches our components.
"""

from pynenc_tests.integration.combinations.all_tests import *
