"""The package version, apart from ``musig/__init__.py`` so that modules of musig can read it
without importing the package they belong to (which would make an import circle)."""

__version__ = "0.2.0"  # kept equal to pyproject.toml's version by tests/test_version.py
