"""The ACLs one app's principal needs on a secured cluster, and no more (``pynenc-kafka acl``).

A worker, client or auditor of one app:

- on the app's event log ``<prefix>.<app>.events``: WRITE (events), READ (projection,
  audits), DESCRIBE (metadata, end offsets, topic id), DESCRIBE_CONFIGS (the topic's
  ``max.message.bytes``, to refuse oversize events before writing) and CREATE (the first
  process of the app creates the topic; granted on that one name only);
- the same on the app's queue ``<prefix>.<app>.queue`` (``KafkaBroker``: routes and claims
  are written, every process follows the topic into its queue table) and its runner table
  ``<prefix>.<app>.runners`` (``KafkaOrchestrator``: heartbeats written, every process keeps a
  copy; a purge writes tombstones), both compacted and created on first use like the log;
- the same on the registry ``<prefix>.apps``, which every app of the prefix shares
  (``discover_app_infos`` reads it, each app writes its own entry);
- IDEMPOTENT_WRITE on the cluster: the producer is idempotent (``acks=all``);
- READ on the consumer groups named ``pynenc-kafka.*`` (prefixed): every consumer of ours
  (projector, end offsets, queue table ``pynenc-kafka.pynenc-kafka-queue``, runner table
  ``pynenc-kafka.pynenc-kafka-table-<topic>``, lag, CLI) is assigned partitions by hand and
  never commits offsets, but librdkafka still looks up its group's coordinator, which Kafka
  refuses without it. The groups hold no data; no share group is used.

Nothing else: no other topic, no ALTER, no DELETE, no cluster-wide CREATE.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from pynenc_kafka.schemas.errors import KafkaUnavailableError
from pynenc_kafka.schemas.kafka_calls import call_kafka
from pynenc_kafka.schemas.topology import AppTopics

#: The consumer groups our clients name (``pynenc-kafka.<client id>``, see ``consumer_config``).
GROUP_PREFIX = "pynenc-kafka."
_TOPIC_OPERATIONS = (
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.DESCRIBE,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.CREATE,
)


@dataclass(frozen=True)
class AclGrant:
    """Operations allowed on one resource.

    :param ResourceType resource: TOPIC, GROUP or BROKER (the cluster).
    :param str name: The resource's name (``kafka-cluster`` for the cluster).
    :param tuple operations: What is allowed.
    :param ResourcePatternType pattern: LITERAL (that name) or PREFIXED (names starting with it).
    :param str why: What the app does with it.
    """

    resource: ResourceType
    name: str
    operations: tuple[AclOperation, ...]
    pattern: ResourcePatternType
    why: str

    def bindings(self, principal: str) -> list[AclBinding]:
        """:param str principal: ``User:<name>``.
        :return: One ALLOW binding per operation, from any host.
        """
        return [
            AclBinding(self.resource, self.name, self.pattern, principal, "*", op, AclPermissionType.ALLOW)
            for op in self.operations
        ]

    def kafka_acls_args(self, principal: str) -> str:
        """:param str principal: ``User:<name>``.
        :return: The ``kafka-acls.sh`` arguments that add this grant.
        """
        operations = " ".join(f"--operation {op.name.title().replace('_', '')}" for op in self.operations)
        target = {
            ResourceType.TOPIC: f"--topic {self.name}",
            ResourceType.GROUP: f"--group {self.name}",
            ResourceType.BROKER: "--cluster",
        }[self.resource]
        pattern = " --resource-pattern-type prefixed" if self.pattern == ResourcePatternType.PREFIXED else ""
        return f"--add --allow-principal {principal} {operations} {target}{pattern}"


def principal_of(user: str) -> str:
    """:param str user: A SASL user name, or a principal (``User:alice``).
    :return: The principal.
    """
    return user if ":" in user else f"User:{user}"


def app_grants(topics: AppTopics) -> list[AclGrant]:
    """What a principal of one app needs (see the module docstring).

    :param AppTopics topics: The app's topics.
    """
    return [
        AclGrant(
            ResourceType.TOPIC,
            topics.events,
            _TOPIC_OPERATIONS,
            ResourcePatternType.LITERAL,
            "the app's event log: write events, project and audit them, create it on first use",
        ),
        AclGrant(
            ResourceType.TOPIC,
            topics.queue,
            _TOPIC_OPERATIONS,
            ResourcePatternType.LITERAL,
            "KafkaBroker's queue: route and claim invocations, follow the queue, create it on first use",
        ),
        AclGrant(
            ResourceType.TOPIC,
            topics.runners,
            _TOPIC_OPERATIONS,
            ResourcePatternType.LITERAL,
            "KafkaOrchestrator's runner heartbeats: write them, read the active runners, create it on first use",
        ),
        AclGrant(
            ResourceType.TOPIC,
            topics.registry,
            _TOPIC_OPERATIONS,
            ResourcePatternType.LITERAL,
            "the app registry (shared by the prefix's apps): the app's entry, discover_app_infos",
        ),
        AclGrant(
            ResourceType.BROKER,
            "kafka-cluster",
            (AclOperation.IDEMPOTENT_WRITE,),
            ResourcePatternType.LITERAL,
            "the idempotent producer (acks=all, no duplicates on retry)",
        ),
        AclGrant(
            ResourceType.GROUP,
            GROUP_PREFIX,
            (AclOperation.READ,),
            ResourcePatternType.PREFIXED,
            "consumer groups' coordinator lookup (partitions are assigned by hand, no offset is committed)",
        ),
    ]


def apply_grants(
    admin: AdminClient, grants: list[AclGrant], principal: str, timeout: float, describe: str
) -> int:
    """Create the grants' ACLs (Kafka ignores those that exist already).

    :param AdminClient admin: An admin client whose principal may alter ACLs.
    :param list grants: What to grant.
    :param str principal: To whom.
    :param float timeout: Seconds the request may take.
    :param str describe: Safe description of the connection, for errors.
    :return: How many ACL bindings were created or confirmed.
    :raises KafkaAccessError: If the admin client's principal may not create ACLs.
    """
    bindings = [binding for grant in grants for binding in grant.bindings(principal)]

    def create() -> int:
        futures = admin.create_acls(bindings, request_timeout=timeout)
        for future in futures.values():
            future.result()
        return len(futures)

    return call_kafka(create, f"create the ACLs of {principal}", timeout, describe, KafkaUnavailableError)
