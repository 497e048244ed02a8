"""The broker's jars: resolved from Maven Central by ``mvn`` once, then kept in a cache."""

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

from .console import TAIL_LINES, BrokerError, info
from .layout import POM

STAMP_NAME = "pynenc-kafka.stamp"
"""Written last into a complete jar folder: what it was resolved from, and its jars."""


def jar_cache_dir(version: str) -> Path:
    """:param version: the Kafka version.
    :return: ``$PYNENC_KAFKA_JARS`` or ``~/.cache/pynenc-kafka/kafka-<version>``.
    """
    configured = os.environ.get("PYNENC_KAFKA_JARS")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "pynenc-kafka" / f"kafka-{version}"


def _stamp_header(version: str) -> str:
    """Name what a jar set is resolved from, so that a change of either invalidates it.

    :param version: the Kafka version given to Maven.
    :return: the version and a hash of the POM's content (ignoring comments and layout).
    """
    canonical = ElementTree.canonicalize(from_file=POM, strip_text=True)
    return f"kafka {version} pom-sha256 {hashlib.sha256(canonical.encode()).hexdigest()}"


def cache_is_complete(libs: Path, version: str) -> bool:
    """Tell whether ``libs`` holds the full jar set of this Kafka version and POM.

    :param libs: the ``libs`` folder of the jar cache.
    :param version: the Kafka version.
    :return: True if its stamp names this version and POM, and every listed jar exists.
    """
    try:
        header, *jars = (libs / STAMP_NAME).read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return False
    return header == _stamp_header(version) and bool(jars) and all((libs / jar).is_file() for jar in jars)


def ensure_jars(cache: Path, version: str) -> Path:
    """Return the folder of the broker's jars, downloading them once with Maven.

    The download goes to a temporary folder that is renamed into place only
    when complete, so an interrupted download never leaves a half cache.

    :param cache: the jar cache folder.
    :param version: the Kafka version.
    :return: ``<cache>/libs``.
    :raises BrokerError: if Maven is missing or fails.
    """
    libs = cache / "libs"
    if cache_is_complete(libs, version):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            f"Maven (mvn) not found on PATH: it is needed once to download the Kafka "
            f"{version} jars into {cache} (e.g. apt-get install maven)"
        )
    cache.mkdir(parents=True, exist_ok=True)
    info(f"downloading the Kafka {version} jars with Maven into {libs} (only once)")
    with tempfile.TemporaryDirectory(prefix=".download-", dir=cache) as tmp:
        staged = Path(tmp) / "libs"
        _run_maven(mvn, staged, version)
        jars = sorted(jar.name for jar in staged.glob("*.jar"))
        if not jars:
            raise BrokerError(f"Maven resolved no jars from {POM}")
        (staged / STAMP_NAME).write_text(_stamp_text(version, jars), encoding="utf-8")
        _swap_into_place(staged, libs, Path(tmp) / "stale", version)
    return libs


def _stamp_text(version: str, jars: Sequence[str]) -> str:
    """:param version: the Kafka version.
    :param jars: the names of the resolved jars.
    :return: the content of the stamp file.
    """
    return "\n".join([_stamp_header(version), *jars]) + "\n"


def _run_maven(mvn: str, output_dir: Path, version: str) -> None:
    """Copy the runtime jars of the POM, at the given Kafka version, into ``output_dir``.

    :param mvn: the ``mvn`` executable.
    :param output_dir: where the jars go.
    :param version: the Kafka version, passed as the POM's ``kafka.version`` property.
    :raises BrokerError: if Maven fails.
    """
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={output_dir}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode != 0:
        output = result.stdout.splitlines()[-TAIL_LINES:]
        raise BrokerError(f"Maven failed (exit {result.returncode}) to resolve {POM}", output)


def _swap_into_place(staged: Path, libs: Path, stale: Path, version: str) -> None:
    """Atomically replace ``libs`` (if any) by ``staged``.

    :param staged: the complete new jar folder.
    :param libs: its final place.
    :param stale: where an old, incomplete ``libs`` is moved (to be deleted).
    :param version: the Kafka version, to recognise a complete ``libs``.
    """
    with contextlib.suppress(FileNotFoundError):
        libs.rename(stale)
    try:
        staged.rename(libs)
    except OSError:
        if not cache_is_complete(libs, version):  # another start may have won the race
            raise
