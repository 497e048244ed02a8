"""Package discovery for the sides' folders, which install into one ``pynenc_kafka`` namespace.

``[tool.setuptools.package-dir]`` in ``pyproject.toml`` maps each side's top-level folder to its
import name (``producers/`` is ``pynenc_kafka.producers``…). setuptools' own discovery cannot put a
folder's subpackages under the name the folder maps to, so this finds every package of every side
(any folder with an ``__init__.py``) and names it: a new subpackage needs no list to be edited.
Everything else about the distribution is in ``pyproject.toml``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent


def side_packages(package_dir: dict[str, str], root: Path) -> list[str]:
    """Name every package of every side.

    :param package_dir: import name of each side -> its folder, relative to ``root``.
    :param root: the project folder.
    :return: each side's own package, then its subpackages, prefixed with the side's name.
    """
    packages: list[str] = []
    for name, folder in package_dir.items():
        packages.append(name)
        packages.extend(f"{name}.{sub}" for sub in find_packages(str(root / folder)))
    return packages


def sides(root: Path) -> dict[str, str]:
    """:param root: the project folder.
    :return: ``[tool.setuptools.package-dir]`` of its ``pyproject.toml``.
    """
    with (root / "pyproject.toml").open("rb") as config:
        package_dir: dict[str, str] = tomllib.load(config)["tool"]["setuptools"]["package-dir"]
    return package_dir


setup(packages=side_packages(sides(ROOT), ROOT))
