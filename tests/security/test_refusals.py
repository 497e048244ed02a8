"""What a user sees when the secured cluster refuses: a wrong password, a missing ACL.

Each refusal is a clear error at once (not a timeout taken for an outage), naming what to fix;
a password appears in no message, log line or command output.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import OffsetSpec
from pynenc import PynencBuilder
from pynenc.identifiers.invocation_id import InvocationId

from pynenc_kafka.cli.acl import app_grants, apply_grants
from pynenc_kafka.producers.errors import TopicAccessError
from pynenc_kafka.schemas.errors import KafkaAuthenticationError, KafkaAuthorizationError, KafkaBackendError
from pynenc_kafka.schemas.topology import AppTopics
from tests.cli.support import run_cli
from tests.integration.support import REPO, backend
from tests.security.secured_broker import SecuredBroker
from tests.security.test_backend_over_sasl_ssl import grant_app, log_bytes

TIMEOUT = 20.0


def end_offsets(broker: SecuredBroker, topic: str) -> list[int]:
    """The end offset of every partition of ``topic``, asked as the admin (none if it does not exist)."""
    admin = broker.admin()
    metadata = admin.list_topics(topic, timeout=15).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return []
    futures = admin.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in metadata.partitions})
    return [future.result().offset for future in futures.values()]


def user_with_the_app_acls_but(
    broker: SecuredBroker, app_id: str, name: str, missing: str
) -> tuple[AppTopics, dict[str, str]]:
    """A new user with every ACL ``pynenc-kafka acl`` grants for the app but ``missing`` on its log."""
    user = broker.new_user(f"{name}-{app_id}")
    topics = AppTopics(os.environ["PYNENC__KAFKA_TOPIC_PREFIX"], app_id)
    log, *others = app_grants(topics)
    partial = dataclasses.replace(log, operations=tuple(op for op in log.operations if op.name != missing))
    admin = broker.admin()
    apply_grants(admin, [partial, *others], f"User:{user['sasl.username']}", 30, "test admin")
    return topics, user


def test_a_wrong_password_is_a_clear_error_within_the_timeout_and_is_never_shown(
    secure_broker: SecuredBroker,
    secure_app_id: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    wrong = f"wrong-{secrets.token_hex(8)}"
    options = {**secure_broker.admin_options, "sasl.password": wrong}
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", secure_broker.bootstrap)
    monkeypatch.setenv("PYNENC__KAFKA_CLIENT_OPTIONS", json.dumps(options))
    monkeypatch.setenv("PYNENC__KAFKA_TIMEOUT", str(TIMEOUT))
    caplog.set_level(logging.DEBUG)

    started = time.monotonic()
    with pytest.raises(KafkaAuthenticationError) as refused:
        backend(PynencBuilder().app_id(secure_app_id).kafka().build())
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT
    message = str(refused.value)
    assert message.startswith("Kafka refused the client's credentials (")
    assert "SASL authentication error" in message and "'sasl.password': '<redacted>'" in message

    cli = subprocess.run(
        [sys.executable, "-m", "pynenc_kafka.cli", "-v", "trail", "inv-1", "--app", secure_app_id],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=secure_broker.env(options, PYNENC__KAFKA_TIMEOUT=str(TIMEOUT)),
    )
    assert cli.returncode == 2
    assert "pynenc-kafka trail: error: Kafka refused the client's credentials (" in cli.stderr

    shown = capfd.readouterr()
    everything = "\n".join(
        [
            message,
            repr(refused.value),
            "".join(traceback.format_exception(refused.value)),  # the chained client errors too
            caplog.text,
            shown.out,
            shown.err,
            cli.stdout,
            cli.stderr,
        ]
    )
    assert "SASL authentication error" in caplog.text  # librdkafka's own log lines were captured
    assert wrong not in everything
    assert secure_broker.admin_password not in everything
    print(f"wrong password refused after {elapsed:.2f}s: {message}\nCLI: {cli.stderr.splitlines()[-1]}")


def test_a_principal_without_write_on_the_log_is_told_the_topic_and_the_acl_and_nothing_is_written(
    secure_broker: SecuredBroker, secure_app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", secure_broker.bootstrap)
    topics, bob = user_with_the_app_acls_but(secure_broker, secure_app_id, "bob", "WRITE")

    app = PynencBuilder().app_id(secure_app_id).kafka(client_options=bob).build()
    with pytest.raises(TopicAccessError) as refused:
        backend(app)  # pynenc records the app's info on first use: the first write
    message = str(refused.value)
    print(f"no WRITE: {message}")
    principal = f"User:{bob['sasl.username']}"
    assert message.startswith(f"not allowed to write to topic {topics.events!r} as {principal} (")
    assert f"add the ACL: ALLOW {principal} WRITE on topic {topics.events!r}" in message
    assert isinstance(refused.value, KafkaAuthorizationError)

    with pytest.raises(TopicAccessError, match="not allowed to write to topic"):
        backend(app)._set_result(InvocationId("inv-1"), '"never written"')

    assert end_offsets(secure_broker, topics.events) and set(end_offsets(secure_broker, topics.events)) == {0}
    assert secure_app_id.encode() not in log_bytes(secure_broker, topics.registry)  # no registry entry either
    assert bob["sasl.password"] not in message


@pytest.mark.parametrize("command", ["trail", "replay", "export"])
def test_a_principal_of_app_a_cannot_read_app_b_through_the_cli(
    command: str,
    secure_broker: SecuredBroker,
    secure_app_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app_b = f"{secure_app_id}-b"
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", secure_broker.bootstrap)
    monkeypatch.setenv("PYNENC__KAFKA_CLIENT_OPTIONS", json.dumps(secure_broker.admin_options))
    backend(PynencBuilder().app_id(app_b).kafka().build())._set_result(InvocationId("inv-1"), '"b"')

    carol = secure_broker.new_user(f"carol-{secure_app_id}")
    assert grant_app(secure_broker, secure_app_id, carol["sasl.username"]).returncode == 0
    monkeypatch.setenv("PYNENC__KAFKA_CLIENT_OPTIONS", json.dumps(carol))
    out = tmp_path / "out"
    argv = {
        "trail": ["trail", "inv-1", "--app", app_b],
        "replay": ["replay", "--app", app_b, "--into", str(out)],
        "export": ["export", "--app", app_b, "--out", str(out)],
    }[command]
    refused = run_cli(capsys, *argv)

    with capsys.disabled():
        print(f"\n{command}: {refused.err.strip()}")
    assert refused.code == 2 and refused.out == ""
    topic = AppTopics(os.environ["PYNENC__KAFKA_TOPIC_PREFIX"], app_b).events
    principal = f"User:{carol['sasl.username']}"
    assert refused.err.startswith(
        f"pynenc-kafka {command}: error: not allowed to read the log of app {app_b!r}: topic {topic!r} as {principal} ("
    )
    assert f"add the ACL: ALLOW {principal} DESCRIBE, READ on topic {topic!r}" in refused.err
    assert not out.exists()
    assert carol["sasl.password"] not in refused.err
    # Its own app stays readable: the refusal is about B, not the login.
    assert run_cli(capsys, "apps").code == 0


def test_a_principal_without_read_on_the_log_is_told_so_by_its_reads(
    secure_broker: SecuredBroker, secure_app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", secure_broker.bootstrap)
    monkeypatch.setenv("PYNENC__KAFKA_READ_BARRIER_TIMEOUT", "5")
    topics, dave = user_with_the_app_acls_but(secure_broker, secure_app_id, "dave", "READ")

    be = backend(PynencBuilder().app_id(secure_app_id).kafka(client_options=dave).build())
    be._set_result(InvocationId("inv-1"), '"written"')  # writes work
    with pytest.raises(KafkaBackendError) as refused:
        be.get_history(InvocationId("inv-1"))
    print(f"no READ: {refused.value}")
    assert str(refused.value).startswith(f"the projector of {topics.events} failed: KafkaAuthorizationError(")
    assert f"not allowed to read topic {topics.events!r}" in str(refused.value)
    assert f"READ on topic {topics.events!r}" in str(refused.value)


def test_a_principal_that_may_write_nothing_is_told_about_the_idempotent_producer(
    secure_broker: SecuredBroker, secure_app_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No WRITE anywhere and no IDEMPOTENT_WRITE: librdkafka's producer fails for good (a fatal
    error); the write says so at once instead of waiting for an acknowledgement."""
    monkeypatch.setenv("PYNENC__KAFKA_BOOTSTRAP_SERVERS", secure_broker.bootstrap)
    erin = secure_broker.new_user(f"erin-{secure_app_id}")
    topics = AppTopics(os.environ["PYNENC__KAFKA_TOPIC_PREFIX"], secure_app_id)
    reading = [
        dataclasses.replace(g, operations=tuple(op for op in g.operations if op.name != "WRITE"))
        for g in app_grants(topics)
        if g.resource.name != "BROKER"
    ]
    admin = secure_broker.admin()
    apply_grants(admin, reading, f"User:{erin['sasl.username']}", 30, "test admin")

    with pytest.raises(TopicAccessError) as refused:
        backend(PynencBuilder().app_id(secure_app_id).kafka(client_options=erin).build())
    print(f"no IDEMPOTENT_WRITE: {refused.value}")
    assert str(refused.value).startswith(
        f"not allowed to use the idempotent producer as User:{erin['sasl.username']} ("
    )
    assert f"add the ACL: ALLOW User:{erin['sasl.username']} IDEMPOTENT_WRITE on the cluster" in str(
        refused.value
    )
    assert set(end_offsets(secure_broker, topics.events)) == {0}
