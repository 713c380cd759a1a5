"""A study area's deprivation table: one decile from 1 to 10 per area, bad cells named."""

from __future__ import annotations

from pathlib import Path

import pytest

from geomap.errors import InputError
from geomap.pipeline import _deprivation
from geomap.study_area import Deprivation, Layer, Population, Providers, StudyArea

HEADER = "LSOA code,IMD decile\n"


def study_with(path: Path) -> StudyArea:
    """A study area whose only input read here is its deprivation table."""
    unused = path.parent / "unused"
    return StudyArea(
        name="Toyshire",
        boundary=unused,
        areas=Layer(unused),
        population=Population(unused),
        providers=Providers(unused),
        deprivation=Deprivation(path, area="LSOA code", decile="IMD decile"),
    )


def test_deciles_by_area(write):
    path = write("imd.csv", HEADER + "E01000001,1\n E01000002 , 10 \nE01000003,5\n")
    deciles = _deprivation(study_with(path))
    assert deciles.to_dict() == {"E01000001": 1, "E01000002": 10, "E01000003": 5}


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("abc", "'abc' is not a number"),
        ("inf", "'inf' is not a possible deprivation decile"),
        ("1e999", "'1e999' is not a possible deprivation decile"),
        ("-3", "'-3' is not a possible deprivation decile"),
        ("0", "'0' is not a possible deprivation decile"),
        ("11", "'11' is not a possible deprivation decile"),
        ("2.5", "'2.5' is not a possible deprivation decile"),
        ("", "blank deprivation decile"),
    ],
)
def test_a_bad_decile_is_refused_with_its_row(write, cell, words):
    path = write("imd.csv", HEADER + f"E01000001,4\nE01000002,{cell}\n")
    with pytest.raises(InputError) as caught:
        _deprivation(study_with(path))
    error = caught.value
    assert (error.path, error.row, error.column) == (str(path), 3, "IMD decile")
    assert words in str(error)
