"""``deploy/kafka/broker start --secure``: what it prints, what it keeps, who it lets in."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tests.security.secured_broker import SecuredBroker, broker_command


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_start_prints_the_client_settings_but_not_the_password(secure_broker: SecuredBroker) -> None:
    printed = secure_broker.start_out
    assert "secured (SASL_SSL, SCRAM-SHA-512, ACLs) up on 127.0.0.1:" in printed
    for line in (
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        "sasl.username=admin",
        "sasl.password=<hidden: deploy/kafka/broker credentials --show-password>",
        f"ssl.ca.location={secure_broker.data_dir / 'secure' / 'ca.pem'}",
    ):
        assert line in printed.splitlines()
    assert secure_broker.admin_password not in printed
    hidden = broker_command("credentials", "--data-dir", str(secure_broker.data_dir))
    assert hidden.returncode == 0 and secure_broker.admin_password not in hidden.stdout
    options = json.loads(hidden.stdout.splitlines()[-1].removeprefix("PYNENC__KAFKA_CLIENT_OPTIONS="))
    assert options == {**secure_broker.admin_options, "sasl.password": options["sasl.password"]}
    running = broker_command("start", "--data-dir", str(secure_broker.data_dir))  # already up: same report
    assert running.returncode == 0 and "already up" in running.stdout
    assert secure_broker.admin_password not in running.stdout + running.stderr
    status = broker_command("status", "--data-dir", str(secure_broker.data_dir))
    assert status.returncode == 0 and status.stdout.startswith("up 127.0.0.1:")


def test_secrets_stay_in_files_only_their_owner_reads(secure_broker: SecuredBroker) -> None:
    secure = secure_broker.data_dir / "secure"
    assert mode(secure) == 0o700
    for name in ("credentials.json", "ca.p12", "broker.p12", "truststore.p12"):
        assert mode(secure / name) == 0o600, name
    assert mode(secure_broker.data_dir / "server.properties") == 0o600
    assert "BEGIN CERTIFICATE" in (secure / "ca.pem").read_text()
    assert secure_broker.admin_password not in (secure_broker.data_dir / "broker.log").read_text()


@pytest.mark.parametrize(
    "options",
    [{}, {"security.protocol": "SSL"}],
    ids=["plaintext", "tls-without-login"],
)
def test_a_client_without_a_login_gets_nothing(secure_broker: SecuredBroker, options: dict[str, str]) -> None:
    ca = {"ssl.ca.location": secure_broker.admin_options["ssl.ca.location"]} if options else {}
    admin = AdminClient({"bootstrap.servers": secure_broker.bootstrap, **options, **ca})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=3)


def test_secure_is_for_a_single_broker(tmp_path: Path) -> None:
    cluster = broker_command("start", "--secure", "--nodes", "3", "--data-dir", str(tmp_path))
    assert cluster.returncode == 1
    assert cluster.stderr.startswith("broker: error: --secure starts a single broker")
