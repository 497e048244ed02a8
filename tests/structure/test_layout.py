"""The code's shape: which side imports which, small modules, brokerless unit tests."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Folder -> import name, as ``[tool.setuptools.package-dir]`` maps them; the glue package's
#: subpackages are sides of their own, so the rules below can tell them apart.
SIDES = {
    "schemas": "pynenc_kafka.schemas",
    "producers": "pynenc_kafka.producers",
    "projections": "pynenc_kafka.projections",
    "audit": "pynenc_kafka.audit",
    "src/pynenc_kafka/core": "pynenc_kafka.core",
    "src/pynenc_kafka/observability": "pynenc_kafka.observability",
    "src/pynenc_kafka/components": "pynenc_kafka.components",
    "src/pynenc_kafka/cli": "pynenc_kafka.cli",
    "src/pynenc_kafka/demo": "pynenc_kafka.demo",
    "src/pynenc_kafka": "pynenc_kafka",
}
_WRITE_READ_CONTRACT = {"producers", "projections", "schemas"}
#: What each side may import of the project, besides itself. The shared core and observability
#: know each other (the clients count their errors, the collector reads the runtime's views);
#: the components use both; only the command line reads the audit side; nothing imports the
#: command line or the demo.
MAY_IMPORT = {
    "schemas": set(),
    "producers": {"schemas"},
    "projections": {"schemas"},
    "audit": {"projections", "schemas"},
    "src/pynenc_kafka/core": _WRITE_READ_CONTRACT | {"src/pynenc_kafka/observability"},
    "src/pynenc_kafka/observability": _WRITE_READ_CONTRACT | {"src/pynenc_kafka/core"},
    "src/pynenc_kafka/components": _WRITE_READ_CONTRACT
    | {"src/pynenc_kafka/core", "src/pynenc_kafka/observability"},
    "src/pynenc_kafka/cli": _WRITE_READ_CONTRACT
    | {
        "audit",
        "src/pynenc_kafka",  # the package's __version__
        "src/pynenc_kafka/core",
        "src/pynenc_kafka/observability",
        "src/pynenc_kafka/components",
    },
    "src/pynenc_kafka/demo": {"src/pynenc_kafka/components", "src/pynenc_kafka/core"},
}
MAX_LINES = 400


def modules(folder: str) -> list[Path]:
    """The modules of one side, without those of the sides nested in it (the glue's subpackages)."""
    nested = [REPO / other for other in SIDES if other != folder and other.startswith(folder + "/")]
    return sorted(
        p
        for p in (REPO / folder).rglob("*.py")
        if "__pycache__" not in p.parts and not any(p.is_relative_to(n) for n in nested)
    )


def side_of(name: str) -> str:
    """The side an import name belongs to (``pynenc_kafka.projections.store`` -> ``projections``)."""
    best = "src/pynenc_kafka"
    for folder, package in SIDES.items():
        if (name == package or name.startswith(package + ".")) and len(package) > len(SIDES[best]):
            best = folder
    return best


def project_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pynenc_kafka"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pynenc_kafka"))
    return found


def test_every_folder_of_the_tree_is_a_side() -> None:
    """The rules cover every package: a new glue subpackage must be given its place here."""
    packages = {
        init.parent.relative_to(REPO).as_posix()
        for side in ("schemas", "producers", "projections", "audit", "src/pynenc_kafka")
        for init in (REPO / side).rglob("__init__.py")
        if init.parent.parent == REPO / "src/pynenc_kafka" or init.parent == REPO / side
    }
    assert packages <= set(SIDES), packages - set(SIDES)


@pytest.mark.parametrize("side", sorted(MAY_IMPORT))
def test_each_side_imports_only_what_it_may(side: str) -> None:
    wrong = {
        f"{path.relative_to(REPO)} imports {name}"
        for path in modules(side)
        for name in project_imports(path)
        if side_of(name) not in MAY_IMPORT[side] | {side}
    }
    assert not wrong


def test_nothing_but_the_command_line_imports_the_audit_side() -> None:
    importers = {
        path.relative_to(REPO).as_posix()
        for folder in SIDES
        if folder != "audit"
        for path in modules(folder)
        if any(side_of(name) == "audit" for name in project_imports(path))
    }
    assert importers and all(p.startswith("src/pynenc_kafka/cli/") for p in importers), importers


def test_no_module_of_the_package_is_long() -> None:
    long = {
        f"{path.relative_to(REPO)}: {lines} lines"
        for folder in SIDES
        for path in modules(folder)
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long


def test_the_unit_tests_run_without_a_broker(tmp_path: Path) -> None:
    """``pytest tests/unit`` needs neither Kafka nor Java: it must not even try to start a broker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "PYNENC__KAFKA_"))}
    bin_dir = tmp_path / "bin"  # a PATH without java or mvn: starting a broker would fail
    bin_dir.mkdir()
    env["PATH"] = str(bin_dir)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/unit"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout.splitlines()[-1]
