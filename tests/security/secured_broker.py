"""The secured broker of the security tests: ``deploy/kafka/broker start --secure``, once per session.

Only the tests of ``tests/security`` use it; every other test runs on the session's plaintext
broker. Its users are SCRAM-SHA-512 users made by the admin (``alter_user_scram_credentials``);
their ACLs come from ``pynenc-kafka acl`` or are set by a test.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from tests.kafka_broker import BROKER_SCRIPT, free_port_block

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SecuredBroker:
    """A running secured broker.

    :param Path data_dir: Its data dir.
    :param str bootstrap: ``host:port`` of its SASL_SSL listener.
    :param dict admin_options: The admin's librdkafka options, password included.
    :param str start_out: What ``start --secure`` printed (stdout then stderr).
    """

    data_dir: Path
    bootstrap: str
    admin_options: dict[str, str]
    start_out: str

    @property
    def admin_password(self) -> str:
        return self.admin_options["sasl.password"]

    def admin(self) -> AdminClient:
        """An admin client logged in as the admin user."""
        return AdminClient(
            {"bootstrap.servers": self.bootstrap, **self.admin_options},
            logger=logging.getLogger("tests.security"),
        )

    def new_user(self, name: str) -> dict[str, str]:
        """Create a SCRAM-SHA-512 user with a random password; return its client options."""
        password = secrets.token_urlsafe(18)
        credential = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
        admin = self.admin()  # kept until the futures are done: dropping it cancels them
        futures = admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(name, credential, password.encode())]
        )
        for future in futures.values():
            future.result(timeout=30)
        return {**self.admin_options, "sasl.username": name, "sasl.password": password}

    def env(self, options: dict[str, Any], **settings: str) -> dict[str, str]:
        """The environment of a process that connects with ``options``."""
        return {
            **os.environ,
            "PYNENC__KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "PYNENC__KAFKA_CLIENT_OPTIONS": json.dumps(options),
            **settings,
        }


def broker_command(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``deploy/kafka/broker`` with the test's Python."""
    return subprocess.run(
        [sys.executable, str(BROKER_SCRIPT), *args], capture_output=True, text=True, timeout=600
    )


@contextmanager
def secured_broker(data_dir: Path) -> Iterator[SecuredBroker]:
    """Start a secured broker in ``data_dir``; stop it at the end, whatever happened."""
    port = free_port_block(2)
    try:
        started = broker_command("start", "--secure", "--port", str(port), "--data-dir", str(data_dir))
        assert started.returncode == 0, started.stderr + started.stdout
        bootstrap = started.stdout.strip().splitlines()[-1].removeprefix("KAFKA_BOOTSTRAP_SERVERS=")
        shown = broker_command("credentials", "--show-password", "--json", "--data-dir", str(data_dir))
        assert shown.returncode == 0, shown.stderr
        yield SecuredBroker(data_dir, bootstrap, json.loads(shown.stdout), started.stdout + started.stderr)
    finally:
        broker_command("stop", "--data-dir", str(data_dir))


def grant_app(broker: SecuredBroker, app_id: str, user: str) -> subprocess.CompletedProcess[str]:
    """``pynenc-kafka acl APP USER --apply``, run as the admin."""
    return subprocess.run(
        [sys.executable, "-m", "pynenc_kafka.cli", "acl", app_id, user, "--apply"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=broker.env(broker.admin_options),
    )
