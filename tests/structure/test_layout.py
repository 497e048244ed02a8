"""The code's shape: which side imports which, small modules, brokerless unit tests."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Folder -> import name, as ``setup.py`` maps them.
SIDES = {
    "schemas": "pynenc_kafka.schemas",
    "producers": "pynenc_kafka.producers",
    "projections": "pynenc_kafka.projections",
    "audit": "pynenc_kafka.audit",
    "pynenc_kafka": "pynenc_kafka",
}
#: What each side may import of the project, besides itself.
MAY_IMPORT = {
    "schemas": set(),
    "producers": {"schemas"},
    "projections": {"schemas"},
    "audit": {"projections", "schemas"},
}
MAX_LINES = 400


def modules(folder: str) -> list[Path]:
    return sorted(p for p in (REPO / folder).rglob("*.py") if "__pycache__" not in p.parts)


def side_of(name: str) -> str:
    """The side an import name belongs to (``pynenc_kafka.projections.store`` -> ``projections``)."""
    for folder, package in SIDES.items():
        if folder != "pynenc_kafka" and (name == package or name.startswith(package + ".")):
            return folder
    return "pynenc_kafka"


def project_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pynenc_kafka"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pynenc_kafka"))
    return found


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
    assert importers and all(p.startswith("pynenc_kafka/cli") for p in importers), importers


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
