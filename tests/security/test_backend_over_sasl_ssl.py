"""The backend and the CLI, unchanged, over SASL_SSL: as an app's principal with exactly the ACLs
``pynenc-kafka acl APP PRINCIPAL --apply`` grants, on the secured local broker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId
from pynenc.invocation.status import InvocationStatus

from pynenc_kafka.components.state_backend import KafkaStateBackend
from pynenc_kafka.projections.store import View
from pynenc_kafka.schemas.topology import AppTopics
from tests.cli.support import record_status, register, run_cli
from tests.integration.support import REPO, backend, projection, run_python
from tests.security.secured_broker import SecuredBroker, grant_app


def log_bytes(broker: SecuredBroker, topic: str) -> bytes:
    """Every key and value of a topic, read as the admin: to look for secrets in what was written."""
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, **broker.admin_options, "group.id": "pynenc-kafka.test-grep"}
    )
    try:
        metadata = consumer.list_topics(topic, timeout=15).topics[topic]
        found = b""
        for partition in metadata.partitions:
            _, end = consumer.get_watermark_offsets(TopicPartition(topic, partition), 15)
            if end == 0:
                continue
            consumer.assign([TopicPartition(topic, partition, 0)])
            read = 0
            while read < end:
                msg = consumer.poll(15)
                assert msg is not None and msg.error() is None, msg and msg.error()
                found += (msg.key() or b"") + b"|" + (msg.value() or b"") + b"\n"
                read = int(msg.offset() or 0) + 1
        return found
    finally:
        consumer.close()


def test_write_read_across_processes_purge_replay_and_verify_as_an_app_principal(
    secure_broker: SecuredBroker,
    secure_app_id: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = secure_broker.new_user(f"alice-{secure_app_id}")
    granted = grant_app(secure_broker, secure_app_id, alice["sasl.username"])
    assert granted.returncode == 0, granted.stderr
    assert f"applied 22 ACLs for User:{alice['sasl.username']} as User:admin" in granted.stderr
    assert "IDEMPOTENT_WRITE" in granted.stdout and "kafka-acls.sh" in granted.stdout

    # The environment wins over builder arguments: the session's plaintext broker must not.
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", secure_broker.bootstrap)
    app = (
        PynencBuilder()
        .app_id(secure_app_id)
        .kafka(bootstrap_servers=secure_broker.bootstrap, client_options=alice)
        .build()
    )
    be = backend(app)
    register(be, "inv-1")
    for status in (InvocationStatus.REGISTERED, InvocationStatus.PENDING, InvocationStatus.RUNNING):
        record_status(be, "inv-1", status)
    be._set_result(InvocationId("inv-1"), '"the answer"')
    record_status(be, "inv-1", InvocationStatus.SUCCESS)

    # Another process, same principal, configured through the environment only.
    child_env = secure_broker.env(alice)
    out = run_python(
        """
        from pynenc.identifiers.invocation_id import InvocationId
        print(be._get_result(InvocationId("inv-1")))
        print(",".join(h.status_record.status.value for h in be.get_history(InvocationId("inv-1"))))
        be._set_result(InvocationId("inv-2"), '"from the child"')
        """,
        secure_app_id,
        env=child_env,
    )
    assert out.splitlines() == ['"the answer"', "registered,pending,running,success"]
    assert be._get_result(InvocationId("inv-2")) == '"from the child"'

    # The CLI, as the same principal.
    monkeypatch.setenv("PYNENC__KAFKA_CLIENT_OPTIONS", json.dumps(alice))
    trail = run_cli(capsys, "trail", "inv-1", "--app", secure_app_id)
    assert trail.code == 0, trail.err
    assert "inv-1" in trail.out and "ResultSet" in trail.out
    replayed = run_cli(capsys, "replay", "--app", secure_app_id, "--into", str(tmp_path / "replay"))
    assert replayed.code == 0, replayed.err
    shown = run_cli(capsys, "show", "inv-1", "--from", str(tmp_path / "replay"), "--json")
    assert shown.json()["status"] == InvocationStatus.SUCCESS.value
    verified = run_cli(capsys, "verify", "--app", secure_app_id)
    assert verified.code == 0 and verified.out.startswith("verify ok"), verified.out + verified.err
    exported = run_cli(capsys, "export", "--app", secure_app_id, "--out", str(tmp_path / "events.avro"))
    assert exported.code == 0, exported.err
    assert secure_app_id in KafkaStateBackend.discover_app_infos()

    be.purge()
    assert projection(app).store.count(View.RESULTS) == 0
    with pytest.raises(KeyError):
        be._get_result(InvocationId("inv-1"))
    assert secure_app_id not in KafkaStateBackend.discover_app_infos()
    after = run_cli(capsys, "verify", "--app", secure_app_id)
    assert after.code == 0 and after.out.startswith("verify ok"), after.out + after.err

    # The builder's client options held the password: neither the log nor the registry got it.
    topics = AppTopics(be.topics.prefix, secure_app_id)
    written = log_bytes(secure_broker, topics.events) + log_bytes(secure_broker, topics.registry)
    assert b"AppInfoStored" in written or secure_app_id.encode() in written
    assert alice["sasl.password"].encode() not in written
