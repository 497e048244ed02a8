"""Run a local single-node Apache Kafka broker (KRaft mode) without Docker.

The package behind ``deploy/kafka/broker``::

    deploy/kafka/broker start  [--port 9092] [--controller-port PORT]
                               [--data-dir DIR] [--timeout SECONDS]
    deploy/kafka/broker stop   [--data-dir DIR]
    deploy/kafka/broker status [--data-dir DIR]

``start`` downloads the broker's jars from Maven Central once (with ``mvn``,
``deploy/kafka/pom.xml`` and the version in ``deploy/kafka/VERSION``) into a
cache outside the repository, writes ``server.properties``, formats the data
dir on first use, launches ``kafka.Kafka`` detached and returns when the broker
answers a metadata request with the cluster id it was formatted with. Its last
line on stdout is ``KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT``.

The data dir holds ``server.properties``, ``kraft-logs/`` (topics and the
metadata log), ``broker.log`` and ``broker.pid``.

Exit codes: 0 ok, 1 error (one ``broker: error:`` line on stderr, sometimes
followed by a log tail), 2 usage error, 3 ``status`` found the broker down,
130 interrupted.

Modules, one job each: :mod:`.console` (messages and exit codes),
:mod:`.layout` (where things are, the Kafka version), :mod:`.properties`
(``server.properties`` and the cluster id), :mod:`.jars` (the jar cache, filled
by Maven), :mod:`.java` (the JVM and the storage format), :mod:`.process`
(the broker process), :mod:`.ports`, :mod:`.readiness` (asking the broker
through confluent-kafka's ``AdminClient``), :mod:`.commands` and :mod:`.cli`.
"""
