"""A council's study-area files as they go wrong: each case is refused with file and place, or warned."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

import geomap
from geomap import errors
from geomap.cli import main

LUGG = Path(__file__).resolve().parent / "fixtures" / "study_area_lugg"


@pytest.fixture
def lugg(tmp_path) -> Path:
    """A copy of the Lugg Vale study area to spoil."""
    folder = tmp_path / "lugg"
    shutil.copytree(LUGG, folder, ignore=shutil.ignore_patterns("build.py"))
    return folder / "lugg_vale.toml"


def _add(study: Path, text: str) -> None:
    study.write_text(study.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


def _inputs(study: Path) -> geomap.Inputs:
    return geomap.load_inputs(geomap.load_study_area(study))


def _zones(study: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(study.parent / "zones.geojson")


def test_a_deprivation_code_given_twice_is_named(lugg):
    (lugg.parent / "dep.csv").write_text("zone,decile\nE01013999,3\nE01013999,4\n")
    text = lugg.read_text().replace(
        "[providers]",
        '[deprivation]\npath = "dep.csv"\narea = "zone"\ndecile = "decile"\n\n[providers]',
    )
    lugg.write_text(text)
    with pytest.raises(errors.DuplicateIdError, match=r"dep\.csv.*E01013999") as caught:
        _inputs(lugg)
    assert caught.value.row == 3


def _origins(lugg: Path, geometries: list, codes: list[str]) -> None:
    gpd.GeoDataFrame({"zone": codes}, geometry=geometries, crs=27700).to_file(
        lugg.parent / "orig.geojson", driver="GeoJSON"
    )
    _add(lugg, '[[origins]]\npath = "orig.geojson"\ncode = "zone"\nkind = "trip_point"\n')


def test_an_origin_code_given_twice_is_named(lugg):
    zones = _zones(lugg).to_crs(27700)
    point = zones.geometry.iloc[0].representative_point()
    _origins(lugg, [point, point], [zones["zone"].iloc[0]] * 2)
    with pytest.raises(errors.DuplicateIdError, match="more than one origin point"):
        _inputs(lugg)


def test_an_origin_that_is_a_polygon_is_refused(lugg):
    zones = _zones(lugg).to_crs(27700)
    _origins(lugg, [zones.geometry.iloc[0]], [zones["zone"].iloc[0]])
    with pytest.raises(errors.InputError, match=r"must be points.*Polygon"):
        _inputs(lugg)


def test_an_origin_far_outside_its_area_is_not_used(lugg):
    zones = _zones(lugg).to_crs(27700)
    far = shapely.Point(450000, 180000)
    near = zones.geometry.iloc[1].representative_point()
    _origins(lugg, [far, near], list(zones["zone"].iloc[:2]))
    with pytest.warns(
        errors.InputWarning, match=r"orig\.geojson: 1 origin point\(s\) lie more than 2 km outside"
    ):
        inputs = _inputs(lugg)
    sources = inputs.origins.set_index("id")["origin_source"]
    assert sources[zones["zone"].iloc[0]] == "representative_point"
    assert sources[zones["zone"].iloc[1]] == "trip_point"


def _wide(lugg: Path, change) -> None:
    long = pd.read_csv(lugg.parent / "population_long.csv", dtype={"age": str})
    wide = long.pivot(index="zone", columns="age", values="people").reset_index()
    wide.columns = ["zone", *(f"age_{c}" for c in wide.columns[1:])]
    wide = change(wide)
    wide.to_csv(lugg.parent / "wide.csv", index=False)
    text = lugg.read_text().replace('path = "population_long.csv"', 'path = "wide.csv"')
    text = text.replace('age = "age"\n', "").replace('count = "people"\n', "")
    lugg.write_text(text)


def test_a_wide_population_with_one_age_twice_is_refused(lugg):
    _wide(lugg, lambda w: w.assign(**{"5": 999}))
    with pytest.raises(errors.InputError, match="'age_5' and '5' both count people aged 5"):
        _inputs(lugg)


def test_a_wide_population_with_an_age_missing_is_warned_about(lugg):
    _wide(lugg, lambda w: w.drop(columns=["age_7"]))
    with pytest.warns(errors.InputWarning, match=r"no column for age\(s\) 7 between 0 and 90"):
        _inputs(lugg)


def test_an_age_over_120_is_refused(lugg):
    with open(lugg.parent / "population_long.csv", "a", encoding="utf-8") as f:
        f.write("E01013999,200,5\n")
    with pytest.raises(errors.InputError, match=r"'200' is not a single year of age \(0 to 120\)"):
        _inputs(lugg)


def test_the_provider_list_as_its_own_early_years_list_is_refused(lugg):
    _add(lugg, '[early_years]\npath = "schools.csv"\n')
    with pytest.raises(errors.InputError, match="counted twice"):
        _inputs(lugg)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ('idd = "school_id"', "'idd' is not a column geomap reads"),
        ('capacity = "school_id"', "column 'school_id' is named for both id and capacity"),
    ],
)
def test_bad_provider_column_names_are_refused(lugg, mapping, message):
    _add(lugg, mapping + "\n")
    with pytest.raises(errors.InputError, match=re.escape(message)):
        _inputs(lugg)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[public_transport]\ngtfs = "schools.csv"\ndate = "yesterday"\n', "which is not a date"),
        ('[public_transport]\ngtfs = "schools.csv"\ndate = "2024-02-30"\n', "which is not a date"),
        (
            '[public_transport]\ngtfs = "schools.csv"\ndate = "2024-03-05"\ntable = "schools.csv"\n'
            'sites = "schools.csv"\n',
            "both a table and a gtfs feed",
        ),
        (
            '[public_transport]\ngtfs = "schools.csv"\ndate = 2024-03-05\narrive_by = "nine"\n',
            "arrive_by",
        ),
    ],
)
def test_public_transport_settings_are_checked_when_read(lugg, text, message):
    text = text.replace("[public_transport]", "[public_transport]", 1)
    body = lugg.read_text().replace("[providers]", text + "\n[providers]")
    lugg.write_text(body)
    with pytest.raises(errors.StudyAreaError, match=re.escape(message)):
        geomap.load_study_area(lugg)


def test_a_native_toml_date_is_read_as_a_date(lugg):
    body = lugg.read_text().replace(
        "[providers]", '[public_transport]\ngtfs = "schools.csv"\ndate = 2024-03-05\n\n[providers]'
    )
    lugg.write_text(body)
    study = geomap.load_study_area(lugg)
    assert study.public_transport is not None and study.public_transport.date == "2024-03-05"


def test_hidden_characters_in_a_name_are_refused(lugg):
    body = lugg.read_text().replace('name = "Lugg Vale"', 'name = "Lugg\\u202eVale"')
    lugg.write_text(body)
    with pytest.raises(
        errors.StudyAreaError, match=r"'name' holds a hidden control character \(U\+202E\)"
    ):
        geomap.load_study_area(lugg)


def test_thresholds_table_says_a_threshold_was_set_for_the_run(tmp_path, lugg):
    _add(lugg, "[thresholds.walk]\nprimary = 20\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["report", "--study-area", str(lugg), "-q", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "thresholds.csv", encoding="utf-8-sig")
    row = table[(table["mode"] == "walk") & (table["kind"] == "primary")].iloc[0]
    assert row["minutes"] == 20 and row["source"].startswith("set for this run")


def test_writing_a_result_never_replaces_the_study_areas_own_files(tmp_path):
    folder = tmp_path / "area"
    shutil.copytree(LUGG, folder, ignore=shutil.ignore_patterns("build.py"))
    study = geomap.load_study_area(folder / "lugg_vale.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.GeomapWarning)
        result = geomap.run(study)
    with pytest.raises(errors.GeomapError):
        geomap.write_report(result, folder)
    assert (folder / "schools.csv").exists() and (folder / "lugg_vale.toml").exists()


def test_a_boundary_that_misses_every_area_is_refused(lugg):
    boundary = gpd.read_file(lugg.parent / "boundary.geojson")
    boundary.geometry = boundary.geometry.translate(200_000, 0)
    boundary.to_file(lugg.parent / "boundary.geojson", driver="GeoJSON")
    with pytest.raises(errors.InputError, match=r"none of the 12 areas of zones\.geojson touches"):
        _inputs(lugg)


def test_population_areas_outside_the_study_area_are_said_to_be_left_out(lugg):
    with open(lugg.parent / "population_long.csv", "a", encoding="utf-8") as f:
        f.write("E01999999,5,10\n")
    with pytest.warns(
        errors.InputWarning, match=r"1 area\(s\) of the population table .* E01999999"
    ):
        _inputs(lugg)


def test_areas_without_a_deprivation_decile_are_counted(lugg):
    (lugg.parent / "dep.csv").write_text("zone,decile\nE01013999,3\n")
    text = lugg.read_text().replace(
        "[providers]",
        '[deprivation]\npath = "dep.csv"\narea = "zone"\ndecile = "decile"\n\n[providers]',
    )
    lugg.write_text(text)
    with pytest.warns(errors.InputWarning, match="11 of 12 areas have no deprivation decile"):
        inputs = _inputs(lugg)
    assert inputs.areas["imd_decile"].notna().sum() == 1


def test_the_library_takes_one_kind_as_text_and_refuses_no_travel_source(lugg):
    inputs = _inputs(lugg)
    car = geomap.default_estimate("car")
    analysis = geomap.analyse(inputs, [car], kinds="primary")
    assert set(analysis.coverage["kind"]) == {"primary"}
    with pytest.raises(errors.InputError, match="no travel-time source"):
        geomap.analyse(inputs, [], kinds="primary")
