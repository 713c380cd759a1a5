"""Options and tables that were accepted but gave wrong results are refused or warned about."""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner

from geomap import errors
from geomap.cli import main
from geomap.gaps import parse_threshold

PROVIDERS = "tests/fixtures/providers_small.csv"


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("car:sixth_form=10", "write car:post16=10"),
        ("car:college=10", "write car:post16=10"),
        ("car:nurseries=10", "'nurseries' is not a kind"),
        ("pt:post16=50", "--pt-max-minutes"),
        ("boat:primary=10", "no gap analysis by 'boat'"),
        ("walk:primary=-5", "not a number of minutes above 0"),
        ("walk:primary=nan", "not a number of minutes above 0"),
        ("walk:primary=inf", "not a number of minutes above 0"),
        ("walk:primary=0", "not a number of minutes above 0"),
        ("walk primary 30", "cannot read threshold"),
    ],
)
def test_thresholds_that_would_be_ignored_or_meaningless(text, words):
    with pytest.raises(errors.InputError, match=words.replace("(", r"\(")):
        parse_threshold(text)
    result = _invoke("gaps", "--threshold", text)
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output


def test_a_threshold_is_read_in_any_case():
    assert parse_threshold(" Walk:Primary = 30 ") == ("walk", "primary", 30.0)


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "lots"])
def test_max_site_km_must_be_a_finite_positive_distance(value):
    result = _invoke("post16", "--max-site-km", value, "--out", "never-written")
    assert result.exit_code == 2 and "--max-site-km" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--pt-max-minutes", "nan"),
        ("--pt-max-minutes", "inf"),
        ("--ratio", "-2"),
        ("--ratio", "nan"),
    ],
)
def test_barrier_thresholds_must_be_finite_and_positive(option, value):
    result = _invoke("post16", option, value, "--out", "never-written")
    assert result.exit_code == 2 and option in result.output


def test_isochrone_minutes_must_be_positive():
    result = _invoke("isochrones", "--minutes", "-5", "--out", "never.gpkg")
    assert result.exit_code == 2 and "--minutes" in result.output


def test_a_table_whose_origins_match_no_area(tmp_path):
    table = tmp_path / "pt.csv"
    table.write_text("from_id,to_id,minutes\nW01000001,S1,30\nW01000002,S1,45\n")
    sites = tmp_path / "sites.csv"
    sites.write_text("id,lon,lat\nS1,-2.7130,52.0605\n")
    out = tmp_path / "post16"
    result = _invoke(
        "post16", "--pt-table", str(table), "--pt-sites", str(sites), "--out", str(out)
    )
    assert result.exit_code == 1, result.output
    assert "none of the 116 origins" in result.output and "pt.csv" in result.output
    assert not out.exists()


def test_a_table_whose_sites_match_no_site_file(tmp_path):
    table = tmp_path / "pt.csv"
    table.write_text("from_id,to_id,minutes\nE01013986,RLQ01,30\n")
    sites = tmp_path / "sites.csv"
    sites.write_text("id,lon,lat\nS1,-2.7130,52.0605\n")
    result = _invoke(
        "post16", "--pt-table", str(table), "--pt-sites", str(sites), "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 1 and "none of the table's 1 site ids" in result.output


def test_a_table_covering_few_origins_is_warned_about(tmp_path):
    from geomap.locations import read_points
    from geomap.travel.tables import TableTravelTimes, read_sites, read_time_table

    table = tmp_path / "pt.csv"
    table.write_text("from_id,to_id,minutes\na,S1,30\n")
    sites = tmp_path / "sites.csv"
    sites.write_text("id,lon,lat\nS1,-2.7130,52.0605\n")
    homes = tmp_path / "homes.csv"
    homes.write_text("id,lon,lat\na,-2.71,52.06\nb,-2.72,52.07\nc,-2.73,52.08\n")
    source = TableTravelTimes(
        times=read_time_table(table), sites=read_sites(sites), source="test table"
    )
    with pytest.warns(errors.InputWarning, match="2 of 3 origins have no row"):
        source.matrix(read_points(homes), read_points(sites))


def test_geomap_warnings_print_as_one_line(tmp_path):
    from geomap.cli import _show_warning

    with warnings.catch_warnings():
        runner = CliRunner()
        with runner.isolation() as (_out, err, *_rest):
            _show_warning(errors.InputWarning("3 rows odd"), errors.InputWarning, "x.py", 1)
            assert err.getvalue().decode() == "Warning: 3 rows odd\n"


def test_an_unreadable_input_is_named_without_a_traceback(tmp_path, monkeypatch):
    import geomap.osm as network

    graph = tmp_path / "drive.graphml"
    graph.write_text("<graphml/>")

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(graph))

    monkeypatch.setattr(network.ox, "load_graphml", refuse)
    result = _invoke(
        "times",
        "--origins",
        PROVIDERS,
        "--destinations",
        PROVIDERS,
        "--network",
        str(graph),
        "--out",
        str(tmp_path / "t.csv"),
    )
    assert result.exit_code == 1, result.output
    assert "Permission denied" in result.output and "Traceback" not in result.output


def test_an_unexpected_fault_is_one_line(tmp_path, monkeypatch):
    import geomap.pipeline as pipeline

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(pipeline, "run", broken)
    result = _invoke("report", "--quiet", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "unexpected error (ZeroDivisionError: division by zero)" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def _workbook(path):
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["These settings were checked in November"])
    schools = book.create_sheet("Schools")
    schools.append(["URN", "Name", "Kind", "Postcode", "Places"])
    schools.append([130710, "Hereford Sixth Form College", "sixth form", "HR1 1RT", 1500])
    schools.append([116735, "St Mary's RC Primary", "primary", "HR1 1DT", 210])
    book.save(path)
    return path


def test_providers_from_a_named_worksheet(tmp_path):
    book = _workbook(tmp_path / "settings.xlsx")
    out = tmp_path / "clean.csv"
    result = _invoke("providers", str(book), "--sheet", "Schools", "--out", str(out))
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(out, dtype=str)
    assert table["id"].tolist() == ["130710", "116735"]  # whole numbers without ".0"
    assert table["capacity"].astype(float).tolist() == [1500.0, 210.0]
    first = _invoke("providers", str(book))  # the first sheet holds no providers
    assert first.exit_code == 1 and "sheet 'Notes'" in first.output
    assert "--sheet (its other sheets: 'Schools')" in first.output


def test_sheet_applies_to_each_workbook_input(tmp_path):
    book = _workbook(tmp_path / "settings.xlsx")
    out = tmp_path / "post16"
    result = _invoke("post16", "--providers", str(book), "--sheet", "Schools", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "post16_areas.csv").exists()


def test_sheet_without_a_workbook_is_refused(tmp_path):
    result = _invoke("providers", PROVIDERS, "--sheet", "Schools")
    assert result.exit_code == 1 and "no input is a workbook" in result.output
