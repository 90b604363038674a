"""The version musig reports is the one pyproject.toml declares."""

import tomllib
from pathlib import Path

import musig

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_package_version_matches_pyproject():
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    assert musig.__version__ == declared
