"""The public import path of the components, as released in 0.1.0.

``from pynenc_kafka.backend import KafkaStateBackend`` keeps working; the components themselves
live in :mod:`pynenc_kafka.components`, one module each.
"""

from pynenc_kafka.components import *  # noqa: F403
from pynenc_kafka.components import __all__ as __all__
