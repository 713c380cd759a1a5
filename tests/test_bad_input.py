"""Every kind of bad input gets a specific error naming file, row and column, and leaves no output."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from shipped_data import boundary, layer

from geomap import errors, settings
from geomap.areas import assign_to_areas, load_areas, load_partnerships
from geomap.cli import main
from geomap.io import atomic_path, neutralise_formulas, write_csv, write_text
from geomap.locations import read_points
from geomap.providers import load_providers

HEADER = "id,name,kind,lon,lat\n"
POSTCODES = settings.data_path("providers", "codepoint_open_postcodes_herefordshire_and_border.csv")
SHIPPED_PROVIDERS = settings.data_path("providers", "herefordshire_providers.csv")

# (case, file name, text, error class, row, column, words the message must contain)
PROVIDER_CASES = [
    (
        "missing required column",
        "p.csv",
        "id,kind,lon,lat\n1,primary,-2.7,52.05\n",
        errors.MissingColumnError,
        None,
        "name",
        ["missing required column", "columns found: id, kind, lon, lat"],
    ),
    (
        "non-numeric coordinate",
        "p.csv",
        HEADER + "1,A,primary,-2.7,52.05\n2,B,primary,-2.71,fifty-two\n",
        errors.CoordinateError,
        3,
        "lat",
        ["'fifty-two' is not a number"],
    ),
    (
        "coordinate outside Great Britain",
        "p.csv",
        HEADER + "1,A,primary,2.35,48.86\n",
        errors.CoordinateError,
        2,
        "lon",
        ["outside Great Britain"],
    ),
    (
        "lat/lon swapped",
        "p.csv",
        HEADER + "1,A,primary,-2.7,52.05\n2,B,primary,52.06,-2.71\n",
        errors.CoordinateError,
        3,
        "lon",
        ["look swapped", "swap the 'lon' and 'lat' columns"],
    ),
    (
        "easting/northing given as lon/lat",
        "p.csv",
        HEADER + "1,A,primary,351841,241166\n",
        errors.CoordinateError,
        2,
        "lon",
        ["look like British National Grid", "Rename the columns to 'easting' and 'northing'"],
    ),
    (
        "lon/lat given as easting/northing",
        "p.csv",
        "id,name,kind,easting,northing\n1,A,primary,-2.7,52.05\n",
        errors.CoordinateError,
        2,
        "easting",
        ["look like longitude/latitude", "Rename the columns to 'lon' and 'lat'"],
    ),
    (
        "unknown postcode",
        "p.csv",
        "id,name,kind,postcode\n1,A,primary,HR1 1DT\n2,B,primary,ZZ9 9ZZ\n",
        errors.PostcodeError,
        3,
        "postcode",
        ["unknown postcode 'ZZ9 9ZZ'"],
    ),
    (
        "duplicate id",
        "p.csv",
        HEADER + "1,A,primary,-2.7,52.05\n2,B,primary,-2.71,52.06\n1,C,primary,-2.72,52.07\n",
        errors.DuplicateIdError,
        4,
        "id",
        ["id '1' appears in rows 2, 4"],
    ),
    (
        "empty file",
        "p.csv",
        "",
        errors.EmptyInputError,
        None,
        None,
        ["file is empty"],
    ),
    (
        "header but no rows",
        "p.csv",
        HEADER,
        errors.EmptyInputError,
        None,
        None,
        ["has a header but no rows"],
    ),
    (
        "unknown kind",
        "p.csv",
        HEADER + "1,A,primary,-2.7,52.05\n2,B,university,-2.71,52.06\n",
        errors.UnknownKindError,
        3,
        "kind",
        ["unknown kind 'university'", "Use one of: early_years, primary"],
    ),
    (
        "row with no location",
        "p.csv",
        "id,name,kind,postcode\n1,A,primary,HR1 1DT\n2,B,primary,\n",
        errors.CoordinateError,
        3,
        "postcode",
        ["no location"],
    ),
    (
        "GeoJSON declaring lon/lat but holding grid metres",
        "p.geojson",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"id": "1", "name": "A", "kind": "primary"},
                        "geometry": {"type": "Point", "coordinates": [351841, 241166]},
                    }
                ],
            }
        ),
        errors.CRSError,
        None,
        None,
        ["declares EPSG:4326", "look like metres"],
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "error", "row", "column", "words"),
    [case[1:] for case in PROVIDER_CASES],
    ids=[case[0] for case in PROVIDER_CASES],
)
def test_provider_list_errors(write, name, text, error, row, column, words):
    path = write(name, text)
    with pytest.raises(error) as info:
        load_providers(path, postcodes=POSTCODES)
    err = info.value
    assert isinstance(err, errors.GeomapError)
    assert isinstance(err, ValueError)  # specific errors inherit a built-in too
    message = str(err)
    assert str(path) in message
    assert err.row == row
    if row is not None:
        assert f"row {row}" in message
    assert err.column == column
    if column is not None:
        assert f"column '{column}'" in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("name", "text", "error", "row", "column", "words"),
    [case[1:] for case in PROVIDER_CASES],
    ids=[case[0] for case in PROVIDER_CASES],
)
def test_provider_list_errors_through_the_cli(
    write, tmp_path, name, text, error, row, column, words
):
    path = write(name, text)
    out = tmp_path / "normalised.csv"
    result = CliRunner().invoke(main, ["providers", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ")
    assert words[0] in result.output
    assert not out.exists()


def test_missing_crs_in_a_vector_file(tmp_path):
    layer = gpd.GeoDataFrame(
        {"id": ["1"], "name": ["A"], "kind": ["primary"]},
        geometry=[shapely.Point(351841, 241166)],
        crs=None,
    )
    path = tmp_path / "no_crs.shp"
    layer.to_file(path)
    with pytest.raises(errors.CRSError, match="has no coordinate reference system"):
        load_providers(path, postcodes=POSTCODES)


def test_mismatched_crs_between_layers_names_both():
    areas = layer("ward")
    points = gpd.GeoDataFrame({"id": ["1"]}, geometry=[shapely.Point(-2.7, 52.05)], crs="EPSG:4326")
    with pytest.raises(errors.CRSError) as info:
        assign_to_areas(points, areas)
    assert "EPSG:4326" in str(info.value) and "EPSG:27700" in str(info.value)


def _polygon_file(tmp_path: Path, geometries: list, *, crs: str = "EPSG:27700") -> Path:
    layer = gpd.GeoDataFrame(
        {"id": [f"A{i}" for i in range(len(geometries))], "name": "x"}, geometry=geometries, crs=crs
    )
    path = tmp_path / "areas.gpkg"
    layer.to_file(path, driver="GPKG")
    return path


def test_invalid_polygon(tmp_path):
    good = shapely.box(350000, 240000, 351000, 241000)
    bowtie = shapely.Polygon(
        [(350000, 240000), (351000, 241000), (351000, 240000), (350000, 241000)]
    )
    path = _polygon_file(tmp_path, [good, bowtie])
    with pytest.raises(errors.GeometryError) as info:
        load_areas(path)
    message = str(info.value)
    assert "invalid polygon (A1)" in message and "Self-intersection" in message
    assert "row 2" in message and "Fix geometries" in message


def test_empty_polygon(tmp_path):
    path = _polygon_file(tmp_path, [shapely.box(350000, 240000, 351000, 241000), shapely.Polygon()])
    with pytest.raises(errors.GeometryError, match=r"row 2.*empty or missing polygon"):
        load_areas(path)


def test_partnership_with_unknown_code(write):
    path = write("p.csv", "code,partnership\nE05009438,North\nE05999999,North\n")
    with pytest.raises(
        errors.InputError,
        match="row 3, column 'code': area code 'E05999999' is not in the ward layer",
    ):
        load_partnerships(path, base=layer("ward"))


def test_partnership_code_in_two_partnerships(write):
    path = write("p.csv", "code,partnership\nE05009438,North\nE05009438,South\n")
    with pytest.raises(errors.InputError, match="more than one partnership"):
        load_partnerships(path, base=layer("ward"))


def test_times_with_bad_origins_leaves_no_output(write, tmp_path):
    origins = write("o.csv", "id,lon,lat\na,52.06,-2.71\n")
    destinations = write("d.csv", "id,postcode\nx,HR1 1DT\n")
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        main,
        [
            "times",
            "--origins",
            str(origins),
            "--destinations",
            str(destinations),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert "o.csv, row 2, column 'lon': latitude and longitude look swapped" in result.output
    assert not out.exists()


def test_output_folder_not_writable(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["report", "--quiet", "--out", str(blocker / "out")])
    assert result.exit_code == 1
    assert "not writable" in result.output and "--out" in result.output
    assert "Traceback" not in result.output
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(
    hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
    reason="root ignores permissions",
)
def test_output_folder_without_permission(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    result = CliRunner().invoke(main, ["report", "--quiet", "--out", str(locked)])
    assert result.exit_code == 1 and "not writable" in result.output


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "table.csv"
    write_text("good old content\n", target)

    class SimulatedCrashError(Exception):
        pass

    with pytest.raises(SimulatedCrashError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise SimulatedCrashError
    assert target.read_text() == "good old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_csv_cells_cannot_run_as_formulas(tmp_path):
    import pandas as pd

    table = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+1+A1", "-2+3", "@SUM(A1)", "\tTab", "Plain", None],
            "lon_text": ["-2.713", "+1", "-0.5e3", "1", "2", "3", None],
            "minutes": [-1.5, 2, 3, 4, 5, 6, 7],
        }
    )
    safe = neutralise_formulas(table)
    assert safe["name"].tolist()[:6] == [
        '\'=HYPERLINK("http://x")',
        "'+1+A1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "Plain",
    ]
    # numbers written as text are numbers, not formulas: left alone
    assert safe["lon_text"].tolist()[:3] == ["-2.713", "+1", "-0.5e3"]
    assert safe["minutes"].tolist()[0] == -1.5  # numbers stay numbers
    path = write_csv(table, tmp_path / "t.csv")
    text = path.read_text()
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text
    assert "-1.5" in text


def test_a_layer_that_is_not_a_polygon_file(write):
    with pytest.raises(errors.InputError, match="is not a polygon file"):
        load_areas(write("parishes.csv", "code,name\nA,B\n"))


def test_points_need_ids(write):
    path = write("o.csv", "name,lon,lat\nA,-2.7,52.05\n")
    with pytest.raises(errors.MissingColumnError, match="'id'"):
        read_points(path)


def test_row_numbers_count_blank_lines(write):
    path = write("p.csv", HEADER + "1,A,primary,-2.7,52.05\n\n2,B,primary,-2.71,fifty\n")
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(path, postcodes=POSTCODES)
    assert info.value.row == 4  # as a spreadsheet shows it: header 1, A 2, blank 3, B 4


def test_columns_geopackage_cannot_hold_are_renamed(write, tmp_path):
    path = write("p.csv", "id,name,kind,postcode,fid,Note,note\n1,A,primary,HR1 1DT,7,x,y\n")
    out = tmp_path / "clean.gpkg"
    result = CliRunner().invoke(main, ["providers", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    columns = set(gpd.read_file(out).columns)
    assert {"fid_2", "Note", "note_2"} <= columns


def test_a_failed_report_leaves_the_output_folder_as_it_was(tmp_path, monkeypatch):
    import geomap.report as report_module

    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("last week's report")

    def broken(*_args, **_kwargs):
        raise errors.OutputError("disk full (simulated)")

    monkeypatch.setattr(report_module, "write_geopackage", broken)
    result = CliRunner().invoke(main, ["report", "--quiet", "--out", str(out)])
    assert result.exit_code == 1 and "disk full (simulated)" in result.output
    assert [p.name for p in out.iterdir()] == ["index.html"]  # no maps, no CSVs, no staging folder
    assert (out / "index.html").read_text() == "last week's report"


def test_long_table_without_a_minutes_column(write):
    from geomap.travel.tables import read_time_table

    path = write("t.csv", "from_id,to_id,duration\nA,S1,10\n")
    with pytest.raises(errors.MissingColumnError, match="of minutes"):
        read_time_table(path)


def test_wide_table_with_text_for_minutes(write):
    from geomap.travel.tables import read_time_table

    path = write("t.csv", "zone,S1,S2\nA,10,\nB,-,20\n")
    with pytest.raises(errors.InputError) as info:
        read_time_table(path)
    assert (
        info.value.row == 3
        and info.value.column == "S1"
        and "'-' is not a number" in str(info.value)
        and "leave the cell blank where there is no journey" in str(info.value)
    )


def test_scenario_that_is_not_utf8(tmp_path):
    from geomap.routes import load_scenario

    path = tmp_path / "s.yml"
    path.write_bytes("scenario: caf\xe9\nroutes: []\n".encode("latin-1"))
    with pytest.raises(errors.InputError, match="not UTF-8"):
        providers = load_providers(SHIPPED_PROVIDERS, postcodes=POSTCODES)
        load_scenario(path, providers=providers, county=boundary().geometry)


def test_isochrones_with_nothing_to_draw(tmp_path):
    out = tmp_path / "i.gpkg"
    short = CliRunner().invoke(main, ["isochrones", "--minutes", "5", "--out", str(out)])
    assert short.exit_code == 1 and "nothing is reachable within 5 min" in short.output
    none = CliRunner().invoke(
        main,
        [
            "isochrones",
            "--kind",
            "early_years",
            "--providers",
            "tests/fixtures/providers_small.csv",
            "--out",
            str(out),
        ],
    )
    assert none.exit_code == 1 and "no early_years providers" in none.output
    assert not out.exists()
