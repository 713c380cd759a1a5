"""Reading what councils have: encodings, separators, headers, Excel, GIAS and Ofsted extracts."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import pathlib
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import errors
from geomap import settings as geomap_settings
from geomap.cli import main
from geomap.io import read_table
from geomap.locations import normalise_postcode, postcode_lookup
from geomap.providers import classify_gias, gias_sector, load_providers

FIXTURES = Path(__file__).parent / "fixtures"
GIAS = FIXTURES / "gias_extract_cp1252.csv"
OFSTED = FIXTURES / "ofsted_early_years_extract.csv"
POSTCODES = geomap_settings.data_path(
    "providers", "codepoint_open_postcodes_herefordshire_and_border.csv"
)

# a small table with text that only reads right in the right encoding
ROWS = [
    ["id", "name", "kind", "postcode"],
    ["116685", "St Martin\u2019s Primary School", "primary", "HR2 6AF"],
    ["900001", "Café Crèche", "early_years", "HR1 1DT"],
]


def text_of(rows: list[list[str]], sep: str = ",", newline: str = "\r\n") -> str:
    return newline.join(sep.join(row) for row in rows) + newline


def put(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def assert_names(err: errors.InputError, path: Path, *, row: int | None, words: list[str]) -> None:
    message = str(err)
    assert str(path) in message
    assert err.row == row
    if row is not None:
        assert f"row {row}" in message
    for word in words:
        assert word in message, message


# --------------------------------------------------------------------------- encodings


ENCODINGS = [
    ("UTF-8", lambda t: t.encode("utf-8"), "utf-8"),
    ("UTF-8 with BOM (Excel 'CSV UTF-8')", lambda t: t.encode("utf-8-sig"), "utf-8-sig"),
    ("UTF-16 LE with BOM (Excel 'Unicode text')", lambda t: t.encode("utf-16"), "utf-16-le"),
    (
        "UTF-16 BE with BOM",
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        "utf-16-be",
    ),
    ("UTF-16 LE without BOM", lambda t: t.encode("utf-16-le"), "utf-16-le"),
    ("UTF-16 BE without BOM", lambda t: t.encode("utf-16-be"), "utf-16-be"),
    ("Windows-1252 (Excel 'CSV' on Windows)", lambda t: t.encode("cp1252"), "cp1252"),
]


@pytest.mark.parametrize(
    ("encode", "expected"), [e[1:] for e in ENCODINGS], ids=[e[0] for e in ENCODINGS]
)
@pytest.mark.parametrize("sep", [",", "\t"], ids=["comma", "tab"])
def test_every_encoding_reads_the_same_text(tmp_path, encode, expected, sep):
    path = put(tmp_path, "p.csv", encode(text_of(ROWS, sep)))
    table = read_table(path)
    assert table.columns.tolist() == ROWS[0]
    assert table.values.tolist() == ROWS[1:]
    assert table.attrs["geomap_encoding"] == expected
    assert table.attrs["geomap_separator"] == sep
    assert table.attrs["geomap_first_row"] == 2


def test_windows_1252_is_chosen_only_when_utf8_fails(tmp_path):
    # 0xE9 is é in Windows-1252 and not valid UTF-8 on its own; the second row
    # is plain ASCII, so a sample of the start alone would not decide
    text = "id,name\n1,Plain\n" * 5000 + "2,Caf\xe9\n"
    table = read_table(put(tmp_path, "p.csv", text.encode("cp1252")))
    assert table.attrs["geomap_encoding"] == "cp1252"
    assert table["name"].iloc[-1] == "Café"


def test_bytes_that_are_neither_utf8_nor_windows_1252(tmp_path):
    # row 2 is Windows-1252 (é), row 3 holds 0x81, which Windows-1252 does not define
    data = "id,name\n1,Caf\xe9\n".encode("cp1252") + b"2,Bad \x81 byte\n"
    path = put(tmp_path, "p.csv", data)
    with pytest.raises(errors.InputError) as info:
        read_table(path)
    assert_names(
        info.value,
        path,
        row=3,
        words=["0x81", "neither UTF-8 nor Windows-1252", "UTF-16", "CSV UTF-8"],
    )


def test_a_bom_that_lies(tmp_path):
    path = put(tmp_path, "p.csv", codecs.BOM_UTF8 + b"id,name\n1,Caf\xe9\n")
    with pytest.raises(errors.InputError) as info:
        read_table(path)
    assert_names(info.value, path, row=2, words=["byte-order mark", "UTF-8", "0xE9"])


def test_text_decoded_twice_is_read_with_a_warning(tmp_path):
    # "Crèche" saved as UTF-8 after being opened as Windows-1252 reads "CrÃ¨che"
    text = "id,name\n1,Plain\n2,Cr\u00c3\u00a8che\n3,St Martin\u00e2\u20ac\u2122s\n"
    path = put(tmp_path, "p.csv", text)
    with pytest.warns(errors.InputWarning) as record:
        table = read_table(path)
    message = str(record[0].message)
    assert "2 place(s)" in message and "row 3" in message and "'Ã¨' for 'è'" in message
    assert table["name"].tolist() == ["Plain", "Cr\u00c3\u00a8che", "St Martin\u00e2\u20ac\u2122s"]


def test_real_accents_give_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_table(put(tmp_path, "p.csv", text_of(ROWS)))
    assert table["name"].iloc[1] == "Café Crèche"


# --------------------------------------------------------------------------- separators


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_separators_are_sniffed_respecting_quotes(tmp_path, sep):
    # every other separator appears inside a quoted value
    others = "".join(s for s in ",;\t|" if s != sep)
    rows = [["id", "name", "notes"], ["1", f'"A{sep}B"', f'"x{others}y"'], ["2", "C", "z"]]
    table = read_table(put(tmp_path, "p.txt", text_of(rows, sep)))
    assert table.attrs["geomap_separator"] == sep
    assert table.columns.tolist() == ["id", "name", "notes"]
    assert table["name"].tolist() == [f"A{sep}B", "C"]
    assert table["notes"].tolist() == [f"x{others}y", "z"]


def test_fixtures_in_other_layouts(fixtures):
    tab = read_table(fixtures / "providers_utf16_tab.txt")
    pipe = read_table(fixtures / "providers_pipe.txt")
    semi = read_table(fixtures / "providers_semicolon_decimal_comma.csv")
    assert (tab.attrs["geomap_encoding"], tab.attrs["geomap_separator"]) == ("utf-16-le", "\t")
    assert (pipe.attrs["geomap_encoding"], pipe.attrs["geomap_separator"]) == ("utf-8", "|")
    assert (semi.attrs["geomap_encoding"], semi.attrs["geomap_separator"]) == ("cp1252", ";")
    names = ["St Francis Xavier\u2019s Primary School", "Aylestone School", "Blackmarston School"]
    for table in (tab, pipe, semi):
        assert table["name"].tolist() == names


def test_ambiguous_separator(tmp_path):
    path = put(tmp_path, "p.csv", "id;name,kind\n1;A,primary\n2;B,secondary\n")
    with pytest.raises(errors.InputError) as info:
        read_table(path)
    assert_names(
        info.value,
        path,
        row=1,
        words=["cannot tell which separator", "comma gives 2 columns", "semicolon gives 2"],
    )


def test_rows_that_fit_no_separator(tmp_path):
    path = put(tmp_path, "p.csv", "a,b;c,d\n1,2;3,4,5\n1;2;3\n")
    with pytest.raises(errors.InputError) as info:
        read_table(path)
    assert_names(
        info.value,
        path,
        row=None,
        words=["comma: 3 header columns but 4 fields in row 2", "semicolon: 2 header columns"],
    )


def test_a_one_column_table(tmp_path):
    table = read_table(put(tmp_path, "p.csv", "postcode\nHR1 1DT\nHR2 7NX\n"))
    assert table["postcode"].tolist() == ["HR1 1DT", "HR2 7NX"]


# --------------------------------------------------------------------------- decimal commas


def test_decimal_commas_in_a_semicolon_file(fixtures):
    semi = read_table(fixtures / "providers_semicolon_decimal_comma.csv")
    assert semi.attrs["geomap_decimal_comma"] == ["lat", "lon"]
    assert semi["lat"].tolist()[0] == "52.066760"
    providers = load_providers(
        fixtures / "providers_semicolon_decimal_comma.csv", postcodes=POSTCODES
    )
    by_postcode = load_providers(
        fixtures / "providers_utf16_tab.txt", postcodes=POSTCODES
    ).set_index("id")
    located = providers.set_index("id")
    # the lon/lat made from each postcode's grid reference land back on it
    distance = located.geometry.distance(by_postcode.geometry)
    assert (distance < 1).all()
    assert (located["location_source"] == "lonlat").all()


def test_which_columns_get_decimal_points(tmp_path):
    text = (
        "id\tlat\tplaces\tcode\tmixed\tthousands\n"
        "1\t52,05\t12\t1,2\t52,05\t1.234,5\n"
        "2\t-2,7\t8\t3,4\tabc\t12,5\n"
        "3\t\t\t5,6\t1\t7\n"
    )
    table = read_table(put(tmp_path, "p.tsv", text))
    assert table.attrs["geomap_decimal_comma"] == ["lat", "code", "thousands"]
    assert table["lat"].tolist()[:2] == ["52.05", "-2.7"] and pd.isna(table["lat"].iloc[2])
    assert table["places"].tolist()[:2] == ["12", "8"]  # whole numbers: nothing to convert
    assert table["mixed"].tolist() == ["52,05", "abc", "1"]  # not every value a number
    assert table["thousands"].tolist() == ["1234.5", "12.5", "7"]


def test_thousands_separators_are_not_taken_for_decimal_commas(tmp_path):
    # English Excel's "Unicode text" writes large numbers as they are shown
    tab = put(tmp_path, "p.txt", "id\tplaces\tlat\n1\t1,050\t52,051234\n2\t210\t52,1\n")
    with pytest.warns(errors.InputWarning, match=r"'places'.*thousands separator.*'1,050'"):
        table = read_table(tab)
    assert table["places"].tolist() == ["1,050", "210"]
    assert table["lat"].tolist() == ["52.051234", "52.1"]
    # in a semicolon file (European Excel) a comma is always a decimal comma
    semi = put(tmp_path, "p.csv", "id;places\n1;1,050\n2;210\n")
    assert read_table(semi)["places"].tolist() == ["1.050", "210"]


def test_no_decimal_commas_in_a_comma_file(tmp_path):
    table = read_table(put(tmp_path, "p.csv", 'id,lat\n1,"52,05"\n'))
    assert table["lat"].tolist() == ["52,05"]
    assert "geomap_decimal_comma" not in table.attrs


# --------------------------------------------------------------------------- headers and rows


MISSING_HEADER_CELL = "id,name,kind,lon\n1,A,primary,-2.7,52.05\n"

LAYOUT_CASES = [
    (
        "header missing a column (every row one field longer)",
        MISSING_HEADER_CELL,
        2,
        ["5 fields but the header has 4 columns", "'52.05' in column E", "header cell"],
    ),
    (
        "one row with an extra field",
        "id,name,kind,lon,lat\n1,A,primary,-2.7,52.05\n\n2,B,primary,-2.71,52.06,oops\n",
        4,
        ["6 fields but the header has 5 columns", "'oops' in column F"],
    ),
    (
        "extra field after a value spread over two lines",
        'id,name,notes\n1,A,"two\nlines"\n2,B,c,d\n',
        3,
        ["4 fields but the header has 3 columns"],
    ),
    (
        "two columns with the same name",
        "id,name,kind,name\n1,A,primary,B\n",
        1,
        ["two columns are called 'name' (columns B and D)"],
    ),
    (
        "a blank header cell over values",
        "id,name,,postcode\n1,A,x,HR1 1DT\n2,B,,HR1 1DT\n",
        1,
        ["column C has no name", "first in row 2"],
    ),
    (
        "a header of numbers only",
        "1,2,3\n4,5,6\n",
        1,
        ["holds only numbers", "no header row", "Add a header row"],
    ),
    (
        "a quote never closed",
        'id,name\n1,"A\n2,B\n',
        2,
        ["quoted value starting here is never closed"],
    ),
]


@pytest.mark.parametrize(
    ("text", "row", "words"),
    [case[1:] for case in LAYOUT_CASES],
    ids=[case[0] for case in LAYOUT_CASES],
)
def test_layout_errors_name_the_row(tmp_path, text, row, words):
    path = put(tmp_path, "p.csv", text)
    with pytest.raises(errors.InputError) as info:
        read_table(path)
    assert_names(info.value, path, row=row, words=words)


def test_header_missing_a_column_through_the_cli(tmp_path):
    path = put(tmp_path, "p.csv", MISSING_HEADER_CELL)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["providers", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert "row 2" in result.output and "5 fields but the header has 4 columns" in result.output
    assert not out.exists()


def test_short_rows_trailing_separators_and_empty_columns(tmp_path):
    text = "id,name,kind,,\n1,A,primary,,\n2,B\n3,C,secondary,,,\n"
    table = read_table(put(tmp_path, "p.csv", text))
    assert table.columns.tolist() == ["id", "name", "kind"]
    assert table.values.tolist()[0] == ["1", "A", "primary"]
    assert table["name"].tolist() == ["A", "B", "C"]
    assert pd.isna(table["kind"].iloc[1])


def test_matrix_corner_may_be_blank(tmp_path):
    table = read_table(put(tmp_path, "t.csv", ",S1,S2\nA,10,20\nB,15,\n"))
    assert table.columns.tolist() == ["column_A", "S1", "S2"]
    assert table["column_A"].tolist() == ["A", "B"]


def test_blank_lines_before_the_header_keep_row_numbers(tmp_path):
    path = put(tmp_path, "p.csv", "\n\nid,name,kind,lon,lat\n1,A,primary,-2.7,fifty\n")
    table = read_table(path)
    assert table.attrs["geomap_first_row"] == 4
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(path, postcodes=POSTCODES)
    assert info.value.row == 4 and info.value.column == "lat"


# --------------------------------------------------------------------------- files that are not tables


def test_unreadable_file(tmp_path, monkeypatch):
    path = put(tmp_path, "p.csv", text_of(ROWS))
    real_open = pathlib.Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)
    with pytest.raises(errors.InputError) as info:
        read_table(path, what="provider list")
    assert_names(info.value, path, row=None, words=["permission denied", "your account"])


@pytest.mark.parametrize(
    ("name", "data", "error", "words"),
    [
        ("empty.csv", b"", errors.EmptyInputError, ["file is empty"]),
        ("blank.csv", b"\n\n \n", errors.EmptyInputError, ["only blank"]),
        (
            "image.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)),
            errors.InputError,
            ["a PNG image, not a text table"],
        ),
        (
            "noise.csv",
            b"id,name\n" + bytes(range(1, 32)) * 40,
            errors.InputError,
            ["not a text table"],
        ),
        (
            "nul.csv",
            b"id,name\n1,A\x00B\n",
            errors.InputError,
            ["binary data", "row 2"],
        ),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
            errors.InputError,
            ["old binary Excel workbook (.xls)", "save it as an Excel workbook (.xlsx)"],
        ),
        (
            "sheet.ods",
            b"PK\x03\x04",
            errors.InputError,
            ["OpenDocument spreadsheet", "CSV UTF-8"],
        ),
        (
            "locked.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
            errors.InputError,
            ["password-protected", "Remove the password"],
        ),
        (
            "text.xlsx",
            b"id,name\n1,A\n",
            errors.InputError,
            ["not an Excel workbook", ".csv suffix"],
        ),
    ],
)
def test_files_that_are_not_tables(tmp_path, name, data, error, words):
    path = put(tmp_path, name, data)
    with pytest.raises(error) as info:
        read_table(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_a_folder(tmp_path):
    with pytest.raises(errors.InputError, match="this is a folder"):
        read_table(tmp_path)


def test_a_workbook_saved_with_a_csv_name(tmp_path):
    book = excel(tmp_path / "real.xlsx", {"Sheet1": [["id"], [1]]})
    path = put(tmp_path, "providers.csv", book.read_bytes())
    with pytest.raises(errors.InputError, match="this is an Excel workbook, not a text table"):
        read_table(path)


def test_sheet_named_for_a_text_file(tmp_path):
    with pytest.raises(errors.InputError, match="a text file, which has none"):
        read_table(put(tmp_path, "p.csv", text_of(ROWS)), sheet="Providers")


# --------------------------------------------------------------------------- workbooks


def excel(path: Path, sheets: dict[str, list[list[object]]], *, hidden: str | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=r, column=c, value=value)
        if title == hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


PROVIDER_SHEET = [
    ["id", "name", "kind", "lat", "lon", "places", "opened", "inspected", "code", "funded"],
    [116884, "St Francis Xavier\u2019s", "primary", 52.06676, -2.703951, 210.0, dt.date(1994, 9, 1),
     dt.datetime(2024, 3, 5, 9, 30), 7, True],
    [None] * 10,  # a blank row: Excel row 3
    [116936, "Aylestone School", "secondary", 52.0642, -2.6961, 1050, dt.datetime(2001, 1, 2),
     None, 42, False],
]  # fmt: skip


def test_workbook_cells_read_as_a_user_sees_them(tmp_path):
    from openpyxl import load_workbook

    path = excel(tmp_path / "p.xlsx", {"Providers": PROVIDER_SHEET, "Notes": [["about"], ["x"]]})
    book = load_workbook(path)
    book["Providers"]["I2"].number_format = "000"  # a code shown with leading zeros
    book.save(path)
    table = read_table(path)
    assert table.attrs["geomap_sheet"] == "Providers"
    assert table.attrs["geomap_first_row"] == 2
    assert table.attrs["geomap_rows"] == [2, 4]  # the blank row keeps its number
    assert "geomap_encoding" not in table.attrs
    first, second = table.to_dict("records")
    assert first == {
        "id": "116884",
        "name": "St Francis Xavier\u2019s",
        "kind": "primary",
        "lat": "52.06676",
        "lon": "-2.703951",
        "places": "210",
        "opened": "1994-09-01",
        "inspected": "2024-03-05 09:30:00",
        "code": "007",
        "funded": "TRUE",
    }
    assert second["opened"] == "2001-01-02" and pd.isna(second["inspected"])
    assert second["places"] == "1050" and second["funded"] == "FALSE"


def test_a_named_sheet_and_unknown_sheets(tmp_path):
    path = excel(tmp_path / "p.xlsx", {"Notes": [["about"], ["x"]], "Providers": PROVIDER_SHEET})
    assert read_table(path).columns.tolist() == ["about"]
    assert read_table(path, sheet="Providers")["id"].tolist() == ["116884", "116936"]
    assert read_table(path, sheet=" providers ").attrs["geomap_sheet"] == "Providers"
    with pytest.raises(errors.InputError) as info:
        read_table(path, sheet="Schools")
    assert "no sheet 'Schools' (its sheets: 'Notes', 'Providers')" in str(info.value)
    assert "--sheet" in str(info.value)


def test_a_hidden_first_sheet_is_skipped(tmp_path):
    path = excel(
        tmp_path / "p.xlsx",
        {"Lookup": [["code"], ["x"]], "Providers": PROVIDER_SHEET},
        hidden="Lookup",
    )
    assert read_table(path).attrs["geomap_sheet"] == "Providers"


def test_workbook_row_numbers_match_excel_in_errors(tmp_path):
    rows = [list(r) for r in PROVIDER_SHEET]
    rows[3][3] = "fifty-two"  # lat in Excel row 4, after the blank row 3
    path = excel(tmp_path / "p.xlsx", {"Providers": rows})
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(path, postcodes=POSTCODES)
    assert info.value.row == 4 and info.value.column == "lat"
    assert "'fifty-two' is not a number" in str(info.value)


def test_workbook_header_checks(tmp_path):
    path = excel(tmp_path / "p.xlsx", {"S": [["id", "name", None], [1, "A", "stray"]]})
    with pytest.raises(errors.InputError) as info:
        read_table(path)
    assert_names(info.value, path, row=1, words=["column C has no name", "first in row 2"])
    empty = excel(tmp_path / "e.xlsx", {"S": []})
    with pytest.raises(errors.EmptyInputError, match="sheet 'S' of this workbook is empty"):
        read_table(empty)


def test_providers_from_a_workbook(tmp_path):
    rows = [r for r in PROVIDER_SHEET if r[0] is not None]
    path = excel(tmp_path / "p.xlsx", {"Providers": rows})
    providers = load_providers(path, postcodes=POSTCODES).set_index("id")
    assert providers.loc["116884", "name"] == "St Francis Xavier\u2019s"
    assert providers.loc["116884", "capacity"] == 210
    assert (providers["location_source"] == "lonlat").all()


# --------------------------------------------------------------------------- GeoPackage layers


def test_geopackage_with_several_layers(tmp_path):
    path = tmp_path / "sites.gpkg"
    for layer, x in (("schools", 351841), ("nurseries", 350927)):
        gpd.GeoDataFrame(
            {"id": [layer[:3]], "name": [layer], "kind": ["primary"]},
            geometry=[shapely.Point(x, 241000)],
            crs="EPSG:27700",
        ).to_file(path, layer=layer, driver="GPKG")
    with pytest.raises(errors.InputError) as info:
        read_table(path)
    message = str(info.value)
    assert "2 layers ('schools' (Point), 'nurseries' (Point))" in message
    assert "--sheet" in message
    assert read_table(path, sheet="nurseries")["name"].tolist() == ["nurseries"]
    with pytest.raises(errors.InputError, match="no layer 'pupils'"):
        read_table(path, sheet="pupils")


# --------------------------------------------------------------------------- GIAS


@pytest.fixture(scope="module")
def gias():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        providers = load_providers(GIAS, postcodes=POSTCODES)
    return providers.set_index("id"), caught


@pytest.mark.parametrize(
    ("urn", "kind", "sector"),
    [
        ("116884", "primary", "maintained"),
        ("116936", "secondary", "maintained"),
        ("136399", "sixth_form", "academy"),
        ("130710", "college", "college"),
        ("143929", "college", "academy"),  # academy 16-19
        ("117052", "special", "maintained"),  # community special school
        ("130991", "special", "maintained"),  # pupil referral unit
        ("117036", "sixth_form", "independent"),  # phase not applicable, ages 11-19
        ("117002", "primary", "independent"),  # prep school, ages 2-13
        ("135672", "secondary", "academy"),  # all-through free school, no sixth form
        ("116957", "secondary", "maintained"),  # middle deemed secondary
        ("999901", "early_years", "maintained"),  # nursery school
    ],
)
def test_gias_kinds_and_sectors(gias, urn, kind, sector):
    providers, _ = gias
    assert providers.loc[urn, "kind"] == kind
    assert providers.loc[urn, "sector"] == sector
    assert providers.loc[urn, "kind_basis"].startswith("GIAS ")


def test_gias_extract_as_downloaded(gias):
    providers, caught = gias
    assert providers.attrs["register"] == "gias"
    # closed: two with status Closed, two "proposed to close" whose date has passed
    assert providers.attrs["closed_excluded"] == 4
    assert not {"145128", "115518", "116740", "116805"} & set(providers.index)
    # the children's centre and the university are left out, and counted
    assert not {"999902", "999903"} & set(providers.index)
    assert providers.attrs["not_providers_excluded"] == 2
    left_out = [str(w.message) for w in caught if issubclass(w.category, errors.InputWarning)]
    assert any(
        "2 establishment(s)" in m and "1 Children's centre" in m and "Higher education" in m
        for m in left_out
    )
    assert len(providers) == 27 - 4 - 2  # 27 rows in the file
    # Windows-1252 curly apostrophe
    assert providers.loc["116685", "name"] == "St Martin\u2019s Primary School"
    # capacity and pupils, religious character and gender under plain names
    assert providers.loc["116884", "capacity"] == 210
    assert providers.loc["116884", "pupils"] == 204
    assert providers.loc["116884", "religious_character"] == "Roman Catholic"
    assert providers.loc["116884", "gender"] == "Mixed"
    # nursery classes; special schools do not count as early-years provision
    assert providers.loc["116685", "offers_early_years"]
    assert not providers.loc["116884", "offers_early_years"]
    assert not providers.loc["117052", "offers_early_years"]
    assert providers.loc["999901", "offers_early_years"]
    # easting/northing 0: located by postcode (HR3 6LH)
    almeley = providers.loc["116645"]
    assert almeley["location_source"] == "postcode"
    assert (almeley.geometry.x, almeley.geometry.y) == (333502, 251561)
    assert providers.loc["116884", "location_source"] == "bng"


def test_gias_closed_kept_on_request(tmp_path):
    with pytest.warns(errors.InputWarning):
        providers = load_providers(GIAS, include_closed=True, postcodes=POSTCODES).set_index("id")
    assert providers.attrs["closed_excluded"] == 0 and providers.attrs["closed_total"] == 4
    assert providers.loc["116740", "status"] == "closed"
    assert providers.loc["116740", "closed_date"] == "2019-09-30"
    assert providers.loc["116740", "establishment_status"] == "Open, but proposed to close"


def gias_row(**values: str) -> str:
    columns = {
        "URN": "100001",
        "EstablishmentName": "Test School",
        "TypeOfEstablishment (name)": "Community school",
        "EstablishmentTypeGroup (name)": "Local authority maintained schools",
        "EstablishmentStatus (name)": "Open",
        "PhaseOfEducation (name)": "Primary",
        "StatutoryLowAge": "4",
        "StatutoryHighAge": "11",
        "Postcode": "HR1 1DT",
        "Easting": "351841",
        "Northing": "241166",
        "CloseDate": "",
    }
    columns.update(values)
    out = io.StringIO()
    pd.DataFrame([columns]).to_csv(out, index=False)
    return out.getvalue()


def test_gias_future_close_date_stays_open(write):
    path = write(
        "g.csv",
        gias_row(
            **{
                "EstablishmentStatus (name)": "Open, but proposed to close",
                "CloseDate": "31-08-2099",
            }
        ),
    )
    providers = load_providers(path, postcodes=POSTCODES)
    assert providers["status"].tolist() == ["open"]
    assert providers["planned_close_date"].tolist() == ["2099-08-31"]


@pytest.mark.parametrize(
    ("values", "column", "words"),
    [
        ({"StatutoryLowAge": "four"}, "StatutoryLowAge", ["'four' is not a number"]),
        ({"CloseDate": "next July"}, "CloseDate", ["'next July' is not a date", "DD-MM-YYYY"]),
        ({"Easting": "35l841"}, "Easting", ["'35l841' is not a number"]),
    ],
)
def test_gias_bad_values_name_the_gias_column(write, values, column, words):
    path = write("g.csv", gias_row(**values))
    with pytest.raises(errors.InputError) as info:
        load_providers(path, postcodes=POSTCODES)
    assert info.value.column == column
    assert_names(info.value, path, row=2, words=words)


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        ({"type_": "Local authority nursery school", "phase": "Nursery"}, "early_years"),
        ({"type_": "Community school", "phase": "Middle deemed primary", "high": 12.0}, "primary"),
        ({"type_": "Academy converter", "phase": "All-through", "high": 18.0,
          "sixth_form": "Has a sixth form"}, "sixth_form"),
        ({"type_": "Academy converter", "phase": "Secondary", "high": 18.0,
          "sixth_form": "Unknown"}, "sixth_form"),
        ({"type_": "Academy converter", "phase": "Secondary", "high": 16.0}, "secondary"),
        ({"type_": "Free schools 16 to 19", "phase": "16 plus"}, "college"),
        ({"type_": "Further education", "group": "Colleges"}, "college"),
        ({"type_": "Sixth form centres"}, "college"),
        ({"type_": "Academy alternative provision converter"}, "special"),
        ({"type_": "Non-maintained special school", "group": "Special schools"}, "special"),
        ({"type_": "Special post 16 institution", "group": "Colleges"}, "special"),
        ({"type_": "Other independent school", "phase": "Not applicable", "low": 3.0,
          "high": 18.0}, "sixth_form"),
        ({"type_": "Other independent school", "phase": "Not applicable", "low": 11.0,
          "high": 16.0}, "secondary"),
        ({"type_": "Other independent school", "phase": "Not applicable", "low": 2.0,
          "high": 5.0}, "early_years"),
        ({"type_": "Welsh establishment", "group": "Welsh schools", "phase": "Not applicable",
          "low": 4.0, "high": 11.0}, "primary"),
        ({"type_": "Welsh establishment", "group": "Welsh schools"}, None),
        ({"type_": "Miscellaneous", "group": "Other types"}, None),
        ({"type_": "Secure units", "group": "Other types", "low": 10.0, "high": 17.0}, None),
        ({"type_": "British schools overseas", "phase": "Primary"}, None),
        ({"type_": "Online provider", "group": "Online provider", "low": 11.0, "high": 16.0}, None),
        ({"type_": "Higher education institutions", "group": "Universities"}, None),
    ],
)  # fmt: skip
def test_gias_classification_table(record, kind):
    arguments = {"type_": None, "group": None, "phase": None, "low": None, "high": None}
    arguments["sixth_form"] = None
    arguments.update(record)
    assert classify_gias(**arguments)[0] == kind


@pytest.mark.parametrize(
    ("type_", "group", "sector"),
    [
        ("Community special school", "Special schools", "maintained"),
        ("Academy special sponsor led", "Special schools", "academy"),
        ("Free schools special", "Special schools", "academy"),
        ("Non-maintained special school", "Special schools", "independent"),
        ("Pupil referral unit", "Local authority maintained schools", "maintained"),
        ("Academy 16-19 converter", "Academies", "academy"),
        ("Further education", "Colleges", "college"),
        ("Other independent school", "Independent schools", "independent"),
        ("Welsh establishment", "Welsh schools", "unknown"),
    ],
)
def test_gias_sectors(type_, group, sector):
    assert gias_sector(type_, group) == sector


# --------------------------------------------------------------------------- Ofsted early years


def test_ofsted_early_years_extract():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = load_providers(OFSTED, kind="early_years", postcodes=POSTCODES).set_index("id")
    messages = [str(w.message) for w in caught if issubclass(w.category, errors.InputWarning)]
    assert settings.attrs["register"] == "ofsted_early_years"
    assert sorted(settings.index) == ["EY100001", "EY100002", "EY100003", "EY100007"]
    # a Childcare Register-only club and home childcarer are left out and counted
    assert any("2 provider(s) are not on the Early Years Register" in m for m in messages)
    # the inactive one is closed
    assert settings.attrs["closed_excluded"] == 1
    assert (settings["kind"] == "early_years").all() and settings["offers_early_years"].all()
    assert settings["capacity"].tolist() == [40, 6, 5, 10]
    # childminders' names are withheld: named by type and URN
    assert settings.loc["EY100002", "name"] == "Childminder EY100002"
    assert settings.loc["EY100003", "name"] == "Childminder EY100003"
    assert settings.loc["EY100001", "name"] == "Little Acorns Day Nursery"
    # postcode districts: placed at the mean of the district's postcodes, and counted
    assert any("2 provider(s) have only a postcode district" in m for m in messages)
    lookup = postcode_lookup(POSTCODES)
    hr4 = np.array([xy for key, xy in lookup.items() if key[:-3] == "HR4"])
    district = settings.loc["EY100002"]
    assert district["location_source"] == "postcode_district"
    assert abs(district.geometry.x - hr4[:, 0].mean()) < 1
    assert abs(district.geometry.y - hr4[:, 1].mean()) < 1
    assert settings.loc["EY100001", "location_source"] == "postcode"
    exact = lookup[normalise_postcode("HR4 9AA")]
    assert (settings.loc["EY100001"].geometry.x, settings.loc["EY100001"].geometry.y) == exact


def test_ofsted_extract_is_recognised_without_a_kind():
    with pytest.warns(errors.InputWarning):
        settings = load_providers(OFSTED, postcodes=POSTCODES)
    assert (settings["kind"] == "early_years").all()


def test_ofsted_district_not_in_the_lookup(write):
    path = write(
        "ey.csv",
        "Provider URN,Provider type,Individual register combinations,Provider postcode,"
        "Registered places,Provider status\n"
        "EY1,Childminder,EYR,HR4,6,Active\nEY2,Childminder,EYR,ZZ9,6,Active\n",
    )
    with pytest.raises(errors.PostcodeError) as info:
        load_providers(path, kind="early_years", postcodes=POSTCODES)
    assert info.value.column == "Provider postcode"
    assert_names(info.value, path, row=3, words=["postcode district 'ZZ9'", "--postcodes"])


def test_ofsted_places_that_are_not_numbers(write):
    path = write(
        "ey.csv",
        "Provider URN,Provider type,Provider postcode,Registered places\n"
        "EY1,Childminder,HR4 9AA,six\n",
    )
    with pytest.raises(errors.InputError) as info:
        load_providers(path, kind="early_years", postcodes=POSTCODES)
    assert info.value.column == "Registered places"
    assert_names(info.value, path, row=2, words=["'six' is not a number"])


def test_early_years_extract_through_the_cli(tmp_path):
    out = tmp_path / "ey.csv"
    result = CliRunner().invoke(main, ["providers", str(OFSTED), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype=str)
    assert sorted(written["id"]) == ["EY100001", "EY100002", "EY100003", "EY100007"]
