"""The TLS material of a secured broker: a self-signed CA and a broker certificate it signs,
made once per data dir with the JDK's ``keytool`` (no Python dependency, no OpenSSL).

Every file lands in the data dir's ``secure/`` folder (mode 0700, files 0600): the CA's key
and certificate (``ca.p12``), the CA certificate clients trust (``ca.pem``), the broker's
key and certificate chain (``broker.p12``) and the broker's truststore (``truststore.p12``,
the CA only). The store password is handed to ``keytool`` through its environment, never on
its command line.
"""

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .console import TAIL_LINES, BrokerError, info

BROKER_SUBJECT = "CN=pynenc-kafka-broker"
"""The broker certificate's subject; presented on the controller listener (mutual TLS), it is
the principal ``User:CN=pynenc-kafka-broker``, a super user of the broker's authorizer."""
CA_SUBJECT = "CN=pynenc-kafka local CA"
VALIDITY_DAYS = "3650"
_PASSWORD_VARIABLE = "PYNENC_KAFKA_STORE_PASSWORD"


def _keytool(java: str) -> str:
    """:param java: the ``java`` executable that runs the broker.
    :return: the ``keytool`` of the same JDK (or the one on PATH).
    :raises BrokerError: if there is none.
    """
    beside = Path(java).resolve().parent / "keytool"
    found = str(beside) if beside.exists() else shutil.which("keytool")
    if found is None:
        raise BrokerError("keytool not found (it comes with the JDK): it makes the --secure certificates")
    return found


def _run(keytool: str, args: Sequence[str], password: str) -> None:
    """Run one ``keytool`` command with the store password in its environment.

    :param keytool: the ``keytool`` executable.
    :param args: its arguments; ``:env`` options read :data:`_PASSWORD_VARIABLE`.
    :param password: the store password.
    :raises BrokerError: if it fails.
    """
    env = {**os.environ, _PASSWORD_VARIABLE: password}
    result = subprocess.run(
        [keytool, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    if result.returncode != 0:
        raise BrokerError(
            f"keytool {args[0]} failed (exit {result.returncode})", result.stdout.splitlines()[-TAIL_LINES:]
        )


def make_certificates(java: str, folder: Path, password: str) -> None:
    """Make the CA, the broker's keystore and its truststore in ``folder`` (all or nothing).

    :param java: the ``java`` executable (its JDK's ``keytool`` is used).
    :param folder: the data dir's ``secure/`` folder (exists, mode 0700).
    :param password: the password of every store and key.
    :raises BrokerError: if ``keytool`` fails.
    """
    keytool = _keytool(java)
    storepass = ["-storepass:env", _PASSWORD_VARIABLE]
    ca, broker, truststore = folder / "ca.p12", folder / "broker.p12", folder / "truststore.p12"
    ca_pem, csr, signed = folder / "ca.pem", folder / "broker.csr", folder / "broker.pem"
    info(f"making a self-signed CA and the broker certificate in {folder} (keytool)")
    for path in (ca, broker, truststore, ca_pem, csr, signed):
        path.unlink(missing_ok=True)
    new_key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", VALIDITY_DAYS, "-storetype", "PKCS12"]
    steps: list[list[str]] = [
        ["-genkeypair", "-alias", "ca", *new_key, "-dname", CA_SUBJECT, "-ext", "bc:c"]
        + ["-keystore", str(ca), *storepass],
        ["-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca), *storepass, "-file", str(ca_pem)],
        ["-genkeypair", "-alias", "broker", *new_key, "-dname", BROKER_SUBJECT]
        + ["-keystore", str(broker), *storepass],
        ["-certreq", "-alias", "broker", "-keystore", str(broker), *storepass, "-file", str(csr)],
        ["-gencert", "-alias", "ca", "-keystore", str(ca), *storepass, "-infile", str(csr)]
        + ["-outfile", str(signed), "-rfc", "-validity", VALIDITY_DAYS]
        + ["-ext", "SAN=ip:127.0.0.1,dns:localhost", "-ext", "eku=serverAuth,clientAuth"],
        [
            "-importcert",
            "-alias",
            "ca",
            "-file",
            str(ca_pem),
            "-keystore",
            str(broker),
            *storepass,
            "-noprompt",
        ],
        ["-importcert", "-alias", "broker", "-file", str(signed), "-keystore", str(broker), *storepass],
        ["-importcert", "-alias", "ca", "-file", str(ca_pem), "-keystore", str(truststore)]
        + ["-storetype", "PKCS12", *storepass, "-noprompt"],
    ]
    old_umask = os.umask(0o077)
    try:
        for step in steps:
            _run(keytool, step, password)
    except BrokerError:
        for path in (ca, broker, truststore, ca_pem):
            path.unlink(missing_ok=True)
        raise
    finally:
        os.umask(old_umask)
        csr.unlink(missing_ok=True)
        signed.unlink(missing_ok=True)
    ca_pem.chmod(0o644)  # a certificate, no secret: clients read it
