"""Table schemas, the one reader of numbers, and the one reader of single points."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import errors, settings
from geomap.io import read_table
from geomap.locations import locate_point
from geomap.schema import Column, Rule, Schema, parse_numbers

POSTCODES = settings.data_path("providers", "codepoint_open_postcodes_herefordshire_and_border.csv")


def table_of(write, text: str) -> pd.DataFrame:
    return read_table(write("t.csv", text))


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12", 12.0),
        (" 7 ", 7.0),
        ('"1,050"', 1050.0),
        ('"12,345,678.5"', 12345678.5),
        ("-2.5", -2.5),
        ("1e3", 1000.0),
        ("", math.nan),
    ],
)
def test_numbers_read(write, cell, expected):
    table = table_of(write, f"id,n\n1,{cell}\n")
    value = parse_numbers(table, "n").iloc[0]
    assert (math.isnan(value) and math.isnan(expected)) or value == expected


@pytest.mark.parametrize(
    ("cell", "options", "words"),
    [
        ("twelve", {}, "'twelve' is not a number"),
        ('"1,05"', {}, "'1,05' is not a number"),
        ('"12,34,5"', {}, "'12,34,5' is not a number"),
        ("inf", {}, "'inf' is not a possible n"),
        ("nan", {}, "'nan' is not a possible n"),
        ("-Infinity", {}, "'-Infinity' is not a possible n"),
        ("1e400", {}, "'1e400' is not a possible n"),
        ("-1", {"minimum": 0}, "'-1' is not a possible n"),
        ("101", {"maximum": 100, "label": "age"}, "'101' is not a possible age"),
        ("2.5", {"whole": True}, "'2.5' is not a possible n"),
    ],
)
def test_numbers_refused_name_file_row_and_column(write, cell, options, words):
    table = table_of(write, f"id,n\n1,0\n2,{cell}\n")
    with pytest.raises(errors.InputError) as info:
        parse_numbers(table, "n", **options)
    assert info.value.row == 3 and info.value.column == "n"
    assert str(info.value).startswith(f"{table.attrs['geomap_source']}, row 3, column 'n': {words}")


def test_non_finite_numbers_when_allowed(write):
    table = table_of(write, "id,n\n1,inf\n2,-inf\n3,nan\n4,2\n")
    values = parse_numbers(table, "n", finite=False).to_numpy()
    assert values[0] == np.inf and values[1] == -np.inf and np.isnan(values[2]) and values[3] == 2


def test_numbers_raise_the_error_class_asked_for(write):
    table = table_of(write, "id,lat\n1,north\n")
    with pytest.raises(errors.CoordinateError):
        parse_numbers(table, "lat", error=errors.CoordinateError)


# --------------------------------------------------------------------------- schemas

SCHEMA = Schema(
    columns=(
        Column("id", ("urn",), unique=True),
        Column("kind", type="choice", choices={"a": "alpha", "alpha": "alpha", "b": "beta"}),
        Column("low", ("from",), type="integer", minimum=0, maximum=99),
        Column("high", type="integer", minimum=0, maximum=99),
        Column("share", type="number"),
        Column("open", type="bool"),
        Column("since", type="date"),
        Column("name", required=True),
    ),
    rules=(
        Rule(
            bad=lambda t: (t["low"] > t["high"]).fillna(False),
            message=lambda t, pos: f"{t['low'].iloc[pos]} is above {t['high'].iloc[pos]}",
            column="low",
            fix="Swap them",
        ),
    ),
)


def test_a_valid_table_is_converted_once(write):
    table = table_of(
        write,
        "URN,Kind,From,high,share,open,since,name\n"
        "1,A,3,11,0.5,yes,01-09-2020,One\n"
        '2,b,,,"1,500",0,2021-01-31,Two\n',
    )
    clean = SCHEMA.validate(table, what="test table")
    assert clean.columns.tolist() == [c.name for c in SCHEMA.columns]
    assert clean["id"].tolist() == ["1", "2"]
    assert clean["kind"].tolist() == ["alpha", "beta"]
    assert clean["low"].tolist()[0] == 3 and pd.isna(clean["low"].iloc[1])
    assert clean["share"].tolist() == [0.5, 1500.0]
    assert clean["open"].tolist() == [True, False]
    assert clean["since"].tolist() == [pd.Timestamp("2020-09-01"), pd.Timestamp("2021-01-31")]
    assert clean.attrs["geomap_columns"]["id"] == "URN"
    assert clean.attrs["geomap_columns"]["low"] == "From"
    assert clean.attrs["geomap_source"] == table.attrs["geomap_source"]


# (case, file text, error, row, column, words)
SCHEMA_CASES = [
    (
        "missing required column",
        "id,kind\n1,a\n",
        errors.MissingColumnError,
        None,
        "name",
        ["missing required column 'name'", "columns found: id, kind"],
    ),
    ("unknown choice", "id,kind,name\n1,c,A\n", errors.InputError, 2, "kind", ["unknown kind 'c'"]),
    ("not a whole number", "id,low,name\n1,2.5,A\n", errors.InputError, 2, "low", ["'2.5'"]),
    ("out of bounds", "id,high,name\n1,100,A\n", errors.InputError, 2, "high", ["'100'"]),
    ("not true or false", "id,open,name\n1,perhaps,A\n", errors.InputError, 2, "open", ["perhaps"]),
    ("not a date", "id,since,name\n1,soon,A\n", errors.InputError, 2, "since", ["'soon' is not a date"]),
    ("blank id", "id,name\n1,A\n,B\n", errors.InputError, 3, "id", ["blank id"]),
    (
        "repeated id",
        "urn,name\n1,A\n2,B\n1,C\n",
        errors.DuplicateIdError,
        4,
        "urn",
        ["id '1' appears in rows 2, 4"],
    ),
    (
        "first bad cell in reading order, not in column order",
        "id,kind,low,name\n1,a,x,A\n2,zzz,1,B\n",
        errors.InputError,
        2,
        "low",
        ["'x' is not a number"],
    ),
    ("a rule across columns", "id,from,high,name\n1,9,4,A\n", errors.InputError, 2, "from", ["9 is above 4", "Swap them"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "error", "row", "column", "words"),
    [case[1:] for case in SCHEMA_CASES],
    ids=[case[0] for case in SCHEMA_CASES],
)
def test_schema_errors(write, text, error, row, column, words):
    table = table_of(write, text)
    with pytest.raises(error) as info:
        SCHEMA.validate(table, what="test table")
    err = info.value
    assert table.attrs["geomap_source"] in str(err)
    assert err.row == row and err.column == column
    for word in words:
        assert word in str(err)


def test_fill_and_named_columns(write):
    table = table_of(write, "code,label,kind\n1,A,\n2,B,b\n")
    clean = SCHEMA.validate(
        table, what="t", fill={"kind": "a"}, named={"id": "code", "name": "label"}
    )
    assert clean["id"].tolist() == ["1", "2"]
    assert clean["kind"].tolist() == ["alpha", "beta"]
    with pytest.raises(
        errors.MissingColumnError,
        match="missing required column 'ref' \\(named in the command or the study-area file\\)",
    ):
        SCHEMA.validate(table, what="t", named={"id": "ref"})


# --------------------------------------------------------------------------- single points


def test_a_point_given_in_code():
    by_lonlat = locate_point({"lon": -2.703951, "lat": 52.06676})
    by_grid = locate_point({"easting": 351841, "northing": 241166})
    by_postcode = locate_point({"Post code": "HR1 1DT"}, postcodes=POSTCODES)
    assert isinstance(by_lonlat, shapely.Point)
    assert by_grid.equals(by_postcode)
    assert by_lonlat.distance(by_grid) < 3


@pytest.mark.parametrize(
    ("point", "options", "error", "column", "words"),
    [
        ({"lon": 2.35, "lat": 48.86}, {}, errors.CoordinateError, "lon", "outside Great Britain"),
        ({"lon": 52.06, "lat": -2.7}, {}, errors.CoordinateError, "lon", "look swapped"),
        ({"lon": "west", "lat": 52}, {}, errors.CoordinateError, "lon", "'west' is not a number"),
        ({"postcode": "HR1 1DT"}, {}, errors.PostcodeError, "postcode", "postcode lookup"),
        (
            {"postcode": "ZZ9 9ZZ"},
            {"postcodes": POSTCODES},
            errors.PostcodeError,
            "postcode",
            "unknown postcode 'ZZ9 9ZZ'",
        ),
        ({"name": "A"}, {}, errors.MissingColumnError, "lon/lat", "missing required column"),
    ],
)
def test_a_bad_point_given_in_code(point, options, error, column, words):
    with pytest.raises(error) as info:
        locate_point(point, path="scenario.json", **options)
    err = info.value
    assert err.row is None and "row" not in str(err).split(":")[0]
    assert str(err).startswith("scenario.json")
    assert words in str(err)
    if column != "lon/lat":
        assert err.column == column


def test_a_bad_point_names_the_item_it_came_from():
    with pytest.raises(errors.CoordinateError) as info:
        locate_point({"lon": 2.35, "lat": 48.86}, path="scenario.json", row=4)
    assert info.value.row == 4 and "scenario.json, row 4, column 'lon'" in str(info.value)
