"""The log read back for people: trails, replays, snapshots, verification, exports.

Installed as ``pynenc_kafka.audit``. It may use :mod:`pynenc_kafka.projections` and
:mod:`pynenc_kafka.schemas`; nothing but the command line imports it.
"""
