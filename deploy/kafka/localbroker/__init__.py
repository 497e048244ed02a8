"""Run a local Apache Kafka broker (KRaft mode), or a local cluster, without Docker.

The package behind ``deploy/kafka/broker``::

    deploy/kafka/broker start  [--nodes N | --node ID | --secure] [--port 9092]
                               [--controller-port PORT] [--data-dir DIR]
                               [--timeout SECONDS]
    deploy/kafka/broker stop   [--node ID] [--data-dir DIR]
    deploy/kafka/broker status [--json] [--data-dir DIR]
    deploy/kafka/broker credentials [--show-password] [--json] [--data-dir DIR]

``start`` downloads the broker's jars from Maven Central once (with ``mvn``,
``deploy/kafka/pom.xml`` and the version in ``deploy/kafka/VERSION``) into a
cache outside the repository, writes ``server.properties``, formats the data
dir on first use, launches ``kafka.Kafka`` detached and returns when the broker
answers a metadata request with the cluster id it was formatted with. Its last
line on stdout is ``KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT``.

The data dir holds ``server.properties``, ``kraft-logs/`` (topics and the
metadata log), ``broker.log`` and ``broker.pid``.

``start --nodes 3`` starts a local cluster instead: three nodes, each broker and
controller (a three-voter quorum), with one cluster id, topics replicated three
times and two in-sync replicas per write. Its data dir holds
``cluster.properties`` (node count, cluster id) and one broker data dir per
node, ``node-<id>/``, laid out as above. It returns once the cluster lists
every node as a live broker; its last line is
``KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3``. ``stop``
and ``status`` act on whatever the data dir holds; ``stop --node ID`` and
``start --node ID`` stop and start one node of a running cluster, and
``status --json`` gives each node's pid and ports.

``start --secure`` secures a single broker: SASL_SSL with SCRAM-SHA-512 on the client
port, a self-signed CA and broker certificate, mutual TLS on the controller port, the
StandardAuthorizer with ACLs, and an admin user (:mod:`.security`, :mod:`.certificates`).
It prints the client settings before the bootstrap line, the password hidden;
``credentials --show-password`` prints it.

Exit codes: 0 ok, 1 error (one ``broker: error:`` line on stderr, sometimes
followed by a log tail), 2 usage error, 3 ``status`` found the broker (or a
cluster node) down, 130 interrupted.

Modules, one job each: :mod:`.console` (messages and exit codes),
:mod:`.layout` (where things are, the Kafka version), :mod:`.properties`
(``server.properties`` and the cluster id), :mod:`.jars` (the jar cache, filled
by Maven), :mod:`.java` (the JVM and the storage format), :mod:`.process`
(the broker process), :mod:`.ports`, :mod:`.readiness` (asking the broker
through confluent-kafka's ``AdminClient``), :mod:`.commands` (the single
broker's commands), :mod:`.cluster` (what a data dir's nodes run, as text or
JSON), :mod:`.cluster_launch` (configuring, launching and waiting for a
cluster's nodes), :mod:`.cluster_commands` (the cluster's commands), :mod:`.security` (a secured
broker's settings and credentials), :mod:`.certificates` (its CA and certificate, by
``keytool``) and :mod:`.cli`.
"""
