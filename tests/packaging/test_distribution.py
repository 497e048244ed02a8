"""The distribution: the folders show the architecture, the imports stay in one namespace.

The wheel is built from a clean copy of the source tree and installed into a fresh venv (its
dependencies come from PyPI, through pip's cache), where its two commands must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from pynenc_kafka.schemas.kinds import EventKind

REPO = Path(__file__).resolve().parents[2]
SIDES = ("producers", "projections", "schemas")


def package_dirs() -> dict[str, Path]:
    """:return: ``[tool.setuptools.package-dir]``: each side's import name -> its folder."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: REPO / folder for name, folder in config["tool"]["setuptools"]["package-dir"].items()}


def source_packages() -> set[str]:
    """:return: the import name of every folder with an ``__init__.py`` in every side."""
    names = set()
    for name, folder in package_dirs().items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            names.add(".".join((name, *relative)))
    return names


def test_editable_install_maps_the_folders_into_the_namespace() -> None:
    import pynenc_kafka.producers
    import pynenc_kafka.projections
    import pynenc_kafka.schemas

    for side, module in zip(
        SIDES, (pynenc_kafka.producers, pynenc_kafka.projections, pynenc_kafka.schemas), strict=True
    ):
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent == REPO / side


def test_every_side_of_the_configuration_is_a_folder_of_the_tree() -> None:
    sides = package_dirs()
    assert {"pynenc_kafka", *(f"pynenc_kafka.{side}" for side in SIDES)} <= set(sides)
    assert all((folder / "__init__.py").is_file() for folder in sides.values())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # From a copy of what the build reads (the files at the top, the sides' folders): an in-place
    # build would reuse build/lib, where a module deleted from the tree could still ship.
    source = tmp_path_factory.mktemp("source")
    for path in REPO.iterdir():
        if path.is_file():
            shutil.copy2(path, source / path.name)
    for folder in package_dirs().values():
        shutil.copytree(
            folder, source / folder.relative_to(REPO), ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "warning" not in (built.stdout + built.stderr).lower(), built.stdout + built.stderr
    (whl,) = out.glob("pynenc_kafka-*.whl")
    return whl


@pytest.fixture(scope="module")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no site packages of ours) with the wheel and its dependencies installed.

    :return: the venv's ``bin`` folder.
    """
    env_dir = tmp_path_factory.mktemp("clean") / "venv"
    started = time.monotonic()
    venv.EnvBuilder(with_pip=True).create(env_dir)
    installed = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    print(f"clean venv with the wheel installed in {time.monotonic() - started:.1f}s")
    return env_dir / "bin"


def run_in(
    clean_venv: Path, *command: str, cwd: Path | None = None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command of the clean venv, without this process' settings.

    :param clean_venv: the venv's ``bin`` folder.
    :param command: the program (a name in ``bin``) and its arguments.
    :param cwd: where it runs; outside the source tree unless given.
    :param env_extra: environment variables to add.
    :return: the finished process.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYNENC", "VIRTUAL_ENV"))}
    env["PATH"] = f"{clean_venv}{os.pathsep}{env.get('PATH', '')}"
    env.update(env_extra or {})
    return subprocess.run(
        [str(clean_venv / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or clean_venv.parent,
        env=env,
    )


def test_the_wheel_carries_every_side_and_the_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for side in SIDES:
        assert f"pynenc_kafka/{side}/__init__.py" in names
    schemas = {n for n in names if n.startswith("pynenc_kafka/schemas/") and n.endswith(".avsc")}
    assert len(schemas) == len(list((REPO / "schemas").glob("*.avsc")))
    assert {f"pynenc_kafka/schemas/{kind.schema_name}.avsc" for kind in EventKind} <= schemas
    for release in ("0.1.0", "0.2.0"):
        assert f"pynenc_kafka/schemas/released/event-{release}.json" in names
    assert not any(n.startswith(("tests/", "deploy/")) for n in names)
    assert all(n.startswith(("pynenc_kafka/", "pynenc_kafka-")) for n in names)


def test_the_wheel_carries_every_package_of_the_source_tree(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    in_wheel = {n.removesuffix("/__init__.py").replace("/", ".") for n in names if n.endswith("/__init__.py")}
    expected = source_packages()
    assert "pynenc_kafka.demo" in expected
    assert sorted(expected - in_wheel) == []


def test_the_wheel_declares_its_license_as_spdx(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        headers = archive.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers
    assert not any(h.startswith("License:") for h in headers)


def test_the_wheel_installs_and_imports_in_a_clean_venv(clean_venv: Path) -> None:
    probe = (
        "import pynenc_kafka.producers.publisher, pynenc_kafka.projections.projector, pynenc_kafka.components.state_backend\n"
        "from pynenc_kafka.schemas.codec import EventCodec\n"
        "import pynenc_kafka.schemas as s, pathlib\n"
        "print(pathlib.Path(s.__file__).parent.name, len(list(s.SCHEMA_DIR.glob('*.avsc'))), "
        "EventCodec().fingerprint.hex())"
    )
    done = run_in(clean_venv, "python", "-c", probe)
    assert done.returncode == 0, done.stderr
    folder, count, fingerprint = done.stdout.split()
    assert (folder, int(count)) == ("schemas", len(list((REPO / "schemas").glob("*.avsc"))))
    from pynenc_kafka.schemas.codec import EventCodec

    assert fingerprint == EventCodec().fingerprint.hex()


def test_the_demo_runs_from_the_wheel(clean_venv: Path) -> None:
    done = run_in(clean_venv, "python", "-m", "pynenc_kafka.demo", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m pynenc_kafka.demo")
    assert "--workers" in done.stdout


def test_the_command_line_runs_from_the_wheel(clean_venv: Path) -> None:
    done = run_in(clean_venv, "pynenc-kafka", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: pynenc-kafka")
    assert "replay" in done.stdout


def test_no_folder_at_the_root_shadows_the_installed_package() -> None:
    """A script run from the checkout's root puts the root first on ``sys.path``: a folder there
    named like the package would hide the installed one and its mapped sides."""
    assert not (REPO / "pynenc_kafka").exists()
    assert package_dirs()["pynenc_kafka"] == REPO / "src" / "pynenc_kafka"


def test_a_regular_install_works_from_the_repository_root(
    clean_venv: Path, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The wheel installed the regular way, then used from the checkout's root as a newcomer would."""
    imported = run_in(
        clean_venv,
        "python",
        "-c",
        "import pynenc_kafka.backend, pynenc_kafka.projections.store; print(pynenc_kafka.backend.__file__)",
        cwd=REPO,
    )
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).is_relative_to(clean_venv.parent)
    assert run_in(clean_venv, "pynenc-kafka", "--help", cwd=REPO).stdout.startswith("usage: pynenc-kafka")
    looked_up = run_in(
        clean_venv,
        "python",
        "-c",
        "from pynenc import Pynenc; backend = Pynenc(config_values={'app_id': 'root-probe'}).state_backend; "
        "print(type(backend).__module__, type(backend).__name__)",
        cwd=REPO,
        env_extra={
            "PYNENC__STATE_BACKEND_CLS": "KafkaStateBackend",
            # pynenc records the app's info when it first builds the backend: a real cluster
            "PYNENC__KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "PYNENC__KAFKA_PROJECTION_DIR": str(tmp_path / "projections"),
            "PYNENC__KAFKA_TOPIC_PREFIX": os.environ.get("PYNENC__KAFKA_TOPIC_PREFIX", "test-root"),
        },
    )
    assert looked_up.returncode == 0, looked_up.stderr
    assert looked_up.stdout.split() == ["pynenc_kafka.components.state_backend", "KafkaStateBackend"]
