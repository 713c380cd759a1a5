"""Shared fixtures: paths, a CSV writer, and the shipped inputs loaded once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _own_cache_dir(tmp_path_factory):
    """Networks a developer has cached must not change test results: use an empty cache."""
    old = os.environ.get("GEOMAP_CACHE_DIR")
    os.environ["GEOMAP_CACHE_DIR"] = str(tmp_path_factory.mktemp("geomap-cache"))
    yield
    if old is None:
        os.environ.pop("GEOMAP_CACHE_DIR", None)
    else:
        os.environ["GEOMAP_CACHE_DIR"] = old


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write text to a file in the test's temporary folder and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def herefordshire():
    """The shipped study area."""
    from geomap.study_area import default_study_area

    return default_study_area()


@pytest.fixture(scope="session")
def shipped_inputs(herefordshire):
    from geomap.pipeline import load_inputs

    return load_inputs(herefordshire)


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory) -> Path:
    """``geomap report`` run once on the shipped data, through the CLI."""
    from click.testing import CliRunner

    from geomap.cli import main

    out = tmp_path_factory.mktemp("report") / "out"
    result = CliRunner().invoke(main, ["report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
