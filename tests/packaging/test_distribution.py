"""The distribution: the folders show the architecture, the imports stay in one namespace."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIDES = ("producers", "projections", "schemas")


def test_editable_install_maps_the_folders_into_the_namespace() -> None:
    import pynenc_kafka.producers
    import pynenc_kafka.projections
    import pynenc_kafka.schemas

    for side, module in zip(
        SIDES, (pynenc_kafka.producers, pynenc_kafka.projections, pynenc_kafka.schemas), strict=True
    ):
        assert Path(module.__file__).resolve().parent == REPO / side


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("pynenc_kafka-*.whl")
    return built


def test_the_wheel_carries_every_side_and_the_schemas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for side in SIDES:
        assert f"pynenc_kafka/{side}/__init__.py" in names
    schemas = {n for n in names if n.startswith("pynenc_kafka/schemas/") and n.endswith(".avsc")}
    assert len(schemas) == len(list((REPO / "schemas").glob("*.avsc"))) == 12
    assert "pynenc_kafka/schemas/released/event-0.1.0.json" in names
    assert not any(n.startswith(("tests/", "deploy/")) for n in names)


def test_the_wheel_installs_and_imports_in_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, timeout=600
    )
    probe = (
        "import pynenc_kafka.producers.publisher, pynenc_kafka.projections.projector, pynenc_kafka.backend\n"
        "from pynenc_kafka.schemas.codec import EventCodec\n"
        "import pynenc_kafka.schemas as s, pathlib\n"
        "print(pathlib.Path(s.__file__).parent.name, len(list(s.SCHEMA_DIR.glob('*.avsc'))), "
        "EventCodec().fingerprint.hex())"
    )
    done = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    folder, count, fingerprint = done.stdout.split()
    assert (folder, count) == ("schemas", "12")
    from pynenc_kafka.schemas.codec import EventCodec

    assert fingerprint == EventCodec().fingerprint.hex()
