"""A secured broker (``start --secure``): SASL_SSL with SCRAM-SHA-512, TLS, ACLs, an admin user.

Listeners of a secured data dir:

- ``SASL_SSL`` on the client port: TLS with the broker certificate of
  :mod:`.certificates`, SCRAM-SHA-512 logins. Brokers talk to each other on it too, as
  the admin user (one listener fewer to secure; a single node rarely uses it).
- ``CONTROLLER`` on the controller port, loopback only: mutual TLS. The broker presents its
  own certificate, whose principal ``User:CN=pynenc-kafka-broker`` is a super user; a client
  without the broker's key cannot connect, so the controller grants nothing to anonymous users.

The ``StandardAuthorizer`` denies everything no ACL allows (``allow.everyone.if.no.acl.found``
is false); the super users are the admin and the broker. The admin's SCRAM credential is
written into the metadata log when the storage is formatted (Kafka's storage tool,
``--add-scram``), so it exists before the broker first starts.

The passwords are random, made once per data dir and kept in ``secure/credentials.json``
(0600, in a 0700 folder); ``server.properties``, which carries them for the broker, is 0600 too.
"""

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .certificates import BROKER_SUBJECT, make_certificates
from .console import BrokerError
from .layout import Layout

ADMIN_USER = "admin"
MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
HIDDEN = "<hidden: deploy/kafka/broker credentials --show-password>"
"""What stands for the password wherever it is printed without being asked for."""


@dataclass(frozen=True)
class Credentials:
    """The secrets of a secured data dir.

    :param admin_password: the SCRAM password of the admin user.
    :param store_password: the password of the key and trust stores.
    """

    admin_password: str
    store_password: str


def secure_dir(layout: Layout) -> Path:
    """:param layout: a broker data dir.
    :return: its ``secure/`` folder: certificates, stores, credentials.
    """
    return layout.data_dir / "secure"


def ca_file(layout: Layout) -> Path:
    """:param layout: a broker data dir.
    :return: the CA certificate clients trust (``ssl.ca.location``).
    """
    return secure_dir(layout) / "ca.pem"


def _credentials_file(layout: Layout) -> Path:
    return secure_dir(layout) / "credentials.json"


def is_secure(layout: Layout) -> bool:
    """:param layout: a broker data dir.
    :return: True if it was set up by ``start --secure``.
    """
    return _credentials_file(layout).exists()


def read_credentials(layout: Layout) -> Credentials | None:
    """:param layout: a broker data dir.
    :return: its credentials, or None if it is not secured.
    :raises BrokerError: if the credentials file is unreadable or malformed.
    """
    path = _credentials_file(layout)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(str(data["admin_password"]), str(data["store_password"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BrokerError(
            f"cannot read the credentials of the secured broker from {path} ({type(error).__name__})"
        ) from None


def create_credentials(java: str, layout: Layout) -> Credentials:
    """Make the passwords and the certificates of a data dir that becomes secured.

    :param java: the ``java`` executable (its ``keytool`` makes the certificates).
    :param layout: the data dir, locked by the caller and not formatted yet.
    :return: the new credentials.
    :raises BrokerError: if the certificates cannot be made.
    """
    folder = secure_dir(layout)
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    credentials = Credentials(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
    make_certificates(java, folder, credentials.store_password)
    path = _credentials_file(layout)
    text = json.dumps({"admin_user": ADMIN_USER, **credentials.__dict__}, indent=2) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    return credentials


def scram_format_args(credentials: Credentials) -> list[str]:
    """:param credentials: the data dir's credentials.
    :return: the storage tool's arguments that create the admin's SCRAM credential at format time.
    """
    return ["--add-scram", f"{MECHANISM}=[name={ADMIN_USER},password={credentials.admin_password}]"]


def secure_settings(
    layout: Layout, credentials: Credentials, host: str, port: int, controller_port: int
) -> dict[str, object]:
    """The ``server.properties`` settings of a secured single node (over the plaintext ones).

    :param layout: the data dir.
    :param credentials: its credentials.
    :param host: the address it listens on.
    :param port: the client (SASL_SSL) port.
    :param controller_port: the controller (mutual TLS) port.
    :return: the settings that replace or add to the plaintext node's.
    """
    folder = secure_dir(layout)
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN_USER}" password="{credentials.admin_password}";'
    )
    return {
        "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"SASL_SSL://{host}:{port}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
        "listener.name.controller.ssl.client.auth": "required",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": folder / "broker.p12",
        "ssl.keystore.password": credentials.store_password,
        "ssl.key.password": credentials.store_password,
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": folder / "truststore.p12",
        "ssl.truststore.password": credentials.store_password,
        "authorizer.class.name": AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN_USER};User:{BROKER_SUBJECT}",
    }


def client_options(layout: Layout, credentials: Credentials, show_password: bool) -> dict[str, str]:
    """The librdkafka options of an admin client of the secured broker.

    :param layout: the data dir.
    :param credentials: its credentials.
    :param show_password: put the real password in (else :data:`HIDDEN`).
    :return: ``security.protocol``, ``sasl.*`` and ``ssl.ca.location``.
    """
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": MECHANISM,
        "sasl.username": ADMIN_USER,
        "sasl.password": credentials.admin_password if show_password else HIDDEN,
        "ssl.ca.location": str(ca_file(layout)),
    }


def probe_options(layout: Layout) -> Mapping[str, str]:
    """:param layout: a broker data dir.
    :return: the client options a readiness probe needs: none for a plaintext broker, the
        admin's for a secured one.
    """
    credentials = read_credentials(layout)
    return {} if credentials is None else client_options(layout, credentials, show_password=True)


def client_settings_lines(layout: Layout, credentials: Credentials, show_password: bool) -> list[str]:
    """What ``start --secure`` and ``credentials`` print: the client settings, one per line.

    :param layout: the data dir.
    :param credentials: its credentials.
    :param show_password: print the real password (else :data:`HIDDEN`).
    :return: the lines, ending with ``PYNENC__KAFKA_CLIENT_OPTIONS=<JSON>``.
    """
    options = client_options(layout, credentials, show_password)
    return [
        *(f"{key}={value}" for key, value in options.items()),
        f"PYNENC__KAFKA_CLIENT_OPTIONS={json.dumps(options)}",
    ]
