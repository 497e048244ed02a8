"""Side-by-side benchmarks of pynenc's state backends: Mem, SQLite, Redis and ours on Kafka.

``bash deploy/bench`` (or ``python -m benchmarks``) runs every workload on every backend in
the same run, interleaved over several rounds, and writes a table with each figure's ratio
to Redis, the machine's details and a chart to ``benchmarks/results/``. Benchmarks are not
tests: the test suite only runs a tiny smoke round of the same command.
"""
