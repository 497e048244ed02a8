"""Where things are: the files next to the script, the Kafka version, a broker's data dir."""

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .console import BrokerError

KAFKA_DIR = Path(__file__).resolve().parent.parent
"""``deploy/kafka``: the script, its POM, its log4j2 configuration and VERSION."""
REPO_ROOT = KAFKA_DIR.parent.parent
POM = KAFKA_DIR / "pom.xml"
LOG4J_CONFIG = KAFKA_DIR / "log4j2.yaml"
VERSION_FILE = KAFKA_DIR / "VERSION"
"""The one place that pins the Kafka version (Maven jars, Docker image, test containers)."""


def kafka_version() -> str:
    """Read the pinned Kafka version.

    :return: the version in ``deploy/kafka/VERSION``, e.g. ``4.4.0``.
    :raises BrokerError: if the file is missing or does not hold one version.
    """
    try:
        version = VERSION_FILE.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise BrokerError(f"cannot read the Kafka version from {VERSION_FILE}: {error}") from error
    # It becomes part of a folder name and of a Maven option: no spaces, no slashes.
    if not re.fullmatch(r"[0-9][0-9A-Za-z.-]*", version):
        raise BrokerError(f"{VERSION_FILE} must hold one Kafka version such as 4.4.0, not {version!r}")
    return version


@dataclass(frozen=True)
class Layout:
    """The files of one broker data dir.

    :param data_dir: absolute path of the data dir.
    """

    data_dir: Path

    @property
    def server_properties(self) -> Path:
        """:return: the broker configuration, rewritten on every start."""
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        """:return: Kafka's ``log.dirs`` (topic data and the metadata log)."""
        return self.data_dir / "kraft-logs"

    @property
    def meta_properties(self) -> Path:
        """:return: written by the storage format; holds the cluster id."""
        return self.log_dir / "meta.properties"

    @property
    def pid_file(self) -> Path:
        """:return: the pid of the running broker."""
        return self.data_dir / "broker.pid"

    @property
    def broker_log(self) -> Path:
        """:return: the broker's stdout and stderr."""
        return self.data_dir / "broker.log"

    @property
    def lock_file(self) -> Path:
        """:return: serialises ``start`` and ``stop`` on this data dir."""
        return self.data_dir / ".broker.lock"


@dataclass(frozen=True)
class ClusterLayout:
    """The files of a local cluster's data dir: one broker data dir per node, and
    ``cluster.properties``, which makes the folder a cluster's.

    :param data_dir: absolute path of the cluster's data dir.
    """

    data_dir: Path

    @property
    def cluster_file(self) -> Path:
        """:return: the node count and the cluster id, written before any node is formatted."""
        return self.data_dir / "cluster.properties"

    @property
    def root(self) -> Layout:
        """:return: the data dir itself as a broker layout: its lock file serialises ``start``
        and ``stop`` of the whole cluster and of each node."""
        return Layout(self.data_dir)

    def node(self, node_id: int) -> Layout:
        """:param node_id: a node's ``node.id``, from 1.
        :return: the node's own data dir, ``node-<id>``, laid out as a single broker's.
        """
        return Layout(self.data_dir / f"node-{node_id}")


def default_data_dir() -> Path:
    """:return: ``$PYNENC_KAFKA_BROKER_HOME`` or ``<repo>/.kafka/broker``."""
    home = os.environ.get("PYNENC_KAFKA_BROKER_HOME")
    return Path(home) if home else REPO_ROOT / ".kafka" / "broker"


def make_layout(data_dir: Path | None) -> Layout:
    """:param data_dir: the ``--data-dir`` option, if given.
    :return: the layout of that data dir, or of the default one.
    """
    return Layout((data_dir or default_data_dir()).expanduser().resolve())


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """Hold an exclusive lock on the data dir (creating the dir), so that two
    ``start`` or ``stop`` runs on one data dir never interleave.

    :param layout: the data dir.
    """
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    with layout.lock_file.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
