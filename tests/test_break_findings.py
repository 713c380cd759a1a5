"""Regression tests for inputs a break-tester found accepted wrongly or ending in a fault."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from geomap import errors
from geomap.cli import _printable, main
from geomap.providers import load_providers

HEADER = "id,name,kind,lon,lat"


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_a_college_with_no_lowest_age_is_drawn(write, tmp_path):
    path = write(
        "c.csv",
        "id,name,kind,lon,lat,low_age,high_age\n1,Hereford College,college,-2.7,52.05,,99\n",
    )
    out = tmp_path / "m.html"
    result = _invoke("map", "--providers", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "adults too" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("columns", "values", "column", "words"),
    [
        ("capacity", "inf", "capacity", "'inf' is not a possible capacity"),
        ("capacity", "1e400", "capacity", "is not a possible capacity"),
        ("capacity", "-30", "capacity", "is not a possible capacity"),
        ("low_age,high_age", "inf,99", "low_age", "is not a possible low age"),
        ("low_age,high_age", "11,4", "low_age", "lowest age 11 is above the highest 4"),
    ],
)
def test_impossible_ages_and_places_are_refused(write, columns, values, column, words):
    path = write("p.csv", f"{HEADER},{columns}\n1,A,primary,-2.7,52.05,{values}\n")
    with pytest.raises(errors.InputError) as info:
        load_providers(path)
    assert info.value.row == 2 and info.value.column == column and words in str(info.value)


@pytest.mark.parametrize(
    ("text", "code"),
    [("Good\u202eloohcs", "U+202E"), ("A\x0bB", "U+000B"), ("prim\x1b[2Jary", "U+001B")],
)
def test_hidden_control_characters_are_refused(tmp_path, text, code):
    path = tmp_path / "p.csv"
    path.write_text(f'{HEADER}\n1,"{text}",primary,-2.7,52.05\n', encoding="utf-8")
    with pytest.raises(errors.InputError) as info:
        load_providers(path)
    assert info.value.row == 2 and info.value.column == "name" and code in str(info.value)


def test_a_line_break_in_a_name_is_read_as_a_space(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(f'{HEADER}\n1,"Two\r\nlines",primary,-2.7,52.05\n'.encode())
    with pytest.warns(errors.InputWarning, match="1 value.*line breaks"):
        providers = load_providers(path)
    assert providers["name"].tolist() == ["Two lines"]


def test_messages_never_carry_terminal_controls():
    assert (
        _printable("bad \x1b]0;pwned\x07 kind\nnext") == "bad <U+001B>]0;pwned<U+0007> kind\nnext"
    )


def test_an_unclosed_polygon_in_a_provider_layer(write):
    path = write(
        "p.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"id":"1","name":"A","kind":"primary"},"geometry":{"type":"Polygon","coordinates":'
        "[[[-2.71,52.05],[-2.70,52.05],[-2.70,52.06]]]}}]}",
    )
    with pytest.raises(errors.InputError, match="cannot be built") as info:
        load_providers(path)
    assert info.value.column == "geometry"


@pytest.mark.parametrize(
    "args",
    [
        ("map", "--kind", "primary", "--threshold", "car:primary=1e308", "--out", "t.html"),
        ("post16", "--pt-max-minutes", "1e308", "--out", "p"),
        ("post16", "--ratio", "1e308", "--out", "p"),
        ("post16", "--max-site-km", "1e6", "--out", "p"),
        ("network", "fetch", "--bbox", "0,50,1,51", "--buffer-m", "1e308", "--out", "n.graphml"),
    ],
)
def test_huge_numbers_are_refused_before_any_work(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = _invoke(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "unexpected error" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_whole_world_boundary_is_refused(tmp_path, write):
    path = write(
        "world.geojson",
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[-179,-80],[179,-80],[179,80],'
        "[-179,80],[-179,-80]]]}}]}",
    )
    result = _invoke(
        "network", "fetch", "--boundary", str(path), "--out", str(tmp_path / "n.graphml")
    )
    assert result.exit_code == 1 and "more than the 12° that covers Great Britain" in result.output


def test_table_minutes_must_be_travel_times(write):
    from geomap.travel.tables import read_time_table

    path = write("t.csv", "from_id,to_id,minutes\nA,S1,10\nB,S1,inf\n")
    with pytest.raises(
        errors.InputError,
        match="row 3, column 'minutes': 'inf' is not a possible number of minutes",
    ):
        read_time_table(path)


def test_table_site_ids_are_unique(write):
    from geomap.travel.tables import read_sites

    path = write("s.csv", "id,lon,lat\nS1,-2.71,52.06\nS1,-3.0,52.5\n")
    with pytest.raises(errors.DuplicateIdError, match="'S1' appears in rows 2, 3"):
        read_sites(path)


def test_table_sites_far_from_every_provider_are_warned_about(write):
    from geomap.locations import read_points
    from geomap.travel.tables import TableTravelTimes, read_sites, read_time_table

    times = read_time_table(write("t.csv", "from_id,to_id,minutes\na,S1,30\n"))
    sites = read_sites(write("s.csv", "id,lon,lat\nS1,-4.25,55.86\n"))  # Glasgow
    homes = read_points(write("h.csv", "id,lon,lat\na,-2.71,52.06\n"))
    schools = read_points(write("d.csv", "id,lon,lat\nx,-2.72,52.05\n"))
    source = TableTravelTimes(times=times, sites=sites, source="test")
    with pytest.warns(errors.InputWarning, match="none of the 1 destinations is within 1.5 km"):
        table = source.matrix(homes, schools)
    assert table["minutes"].isna().all()


def test_a_feed_far_from_the_study_area_is_warned_about():
    from geomap.locations import read_points
    from geomap.travel.gtfs import TimetableTravelTimes, load_gtfs

    feed = load_gtfs("data/gtfs/chester-20230816-small_gtfs.zip", date="2023-08-16")
    source = TimetableTravelTimes(feed, arrive_by="09:00")
    from shipped_data import shipped

    homes = read_points(
        "tests/fixtures/providers_small.csv", postcodes=shipped("postcodes")
    )  # in Herefordshire
    with pytest.warns(errors.InputWarning, match=r"only \d of the 6 origins are within 1200 m"):
        source.matrix(homes, read_points("examples/chester_colleges.csv"))


def test_a_geom_column_does_not_stop_the_geopackage(write, tmp_path):
    path = write("p.csv", f"{HEADER},geom\n1,A,primary,-2.7,52.05,a note\n")
    out = tmp_path / "p.gpkg"
    result = _invoke("providers", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    import geopandas as gpd

    assert "geom_2" in gpd.read_file(out).columns


def test_written_tables_are_one_line_per_row(tmp_path, write):
    path = write("p.csv", f"{HEADER}\n1,\"=cmd|' /C calc'!A0\",primary,-2.7,52.05\n")
    out = tmp_path / "clean.csv"
    assert _invoke("providers", str(path), "--out", str(out)).exit_code == 0
    table = pd.read_csv(out, dtype=str)
    assert table["name"].tolist() == ["'=cmd|' /C calc'!A0"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--arrive-by", "07:00"), "--arrive-by only apply to a GTFS timetable"),
        (("--date", "2020-01-01"), "--date only apply to a GTFS timetable"),
        (("--pt-sites", "tests/fixtures/providers_small.csv"), "--pt-sites goes with --pt-table"),
    ],
)
def test_public_transport_options_that_would_be_ignored(tmp_path, args, words):
    result = _invoke("post16", *args, "--out", str(tmp_path / "p"))
    assert result.exit_code == 1 and words in result.output


def test_a_killed_runs_temporary_file_is_removed_by_the_next_write(tmp_path):
    import os

    from geomap.io import write_text

    target = tmp_path / "t.csv"
    stale = tmp_path / ".t.4c692170.tmp.csv"
    stale.write_text("half")
    os.utime(stale, (1, 1))
    recent = tmp_path / ".t.0123abcd.tmp.csv"  # perhaps another run writing now
    recent.write_text("busy")
    write_text("new", target)
    assert not stale.exists() and recent.exists() and target.read_text() == "new"


def test_a_threshold_for_a_mode_not_run_is_said_to_be_unused(herefordshire):
    from pathlib import Path

    from geomap.pipeline import analyse, load_inputs
    from geomap.travel.estimate import default_estimate

    inputs = load_inputs(
        herefordshire.with_inputs(providers=Path("tests/fixtures/providers_small.csv"))
    )
    with pytest.warns(errors.InputWarning, match="walk:primary not used"):
        analyse(
            inputs,
            [default_estimate("car")],
            kinds=["primary"],
            thresholds={"walk": {"primary": 5.0}},
        )
