"""The Kafka version is pinned in one place, ``deploy/kafka/VERSION``.

The broker script reads it and hands it to Maven; the test session's
testcontainers image reads it too. The Docker Compose file cannot read a file,
so these tests fail if it, or the POM, names a version of its own.
"""

import re
from pathlib import Path
from xml.etree import ElementTree

from localbroker import layout

from tests.kafka_broker import KAFKA_IMAGE

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "deploy" / "docker-compose.yml"
MAVEN = {"m": "http://maven.apache.org/POM/4.0.0"}


def test_version_file_holds_one_kafka_4_version() -> None:
    version = layout.kafka_version()
    assert re.fullmatch(r"4\.\d+\.\d+", version)
    assert layout.VERSION_FILE.read_text(encoding="utf-8") == f"{version}\n"


def test_docker_compose_runs_the_pinned_version() -> None:
    tags = re.findall(r"apache/kafka:([\w.-]+)", COMPOSE_FILE.read_text(encoding="utf-8"))
    assert tags == [layout.kafka_version()]


def test_pom_takes_the_version_from_the_script() -> None:
    pom = ElementTree.parse(layout.POM)
    assert pom.find("m:properties/m:kafka.version", MAVEN) is None
    kafka_dependencies = [
        dependency
        for dependency in pom.iterfind("m:dependencies/m:dependency", MAVEN)
        if dependency.findtext("m:groupId", namespaces=MAVEN) == "org.apache.kafka"
    ]
    assert kafka_dependencies
    for dependency in kafka_dependencies:
        assert dependency.findtext("m:version", namespaces=MAVEN) == "${kafka.version}"


def test_test_session_container_runs_the_pinned_version() -> None:
    assert KAFKA_IMAGE == f"apache/kafka:{layout.kafka_version()}"
