"""The ``pynenc-kafka`` command line: audit, export, lag, ACLs and the projection daemon.

:func:`pynenc_kafka.cli.main.main` is the entry point; ``python -m pynenc_kafka.cli`` runs it too.
"""
