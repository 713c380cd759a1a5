"""CSV outputs: every cell stays one cell, and no cell a spreadsheet would run survives."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomap.io import is_formula, neutralise_formulas, write_csv

#: What a spreadsheet treats as the start of a formula (OWASP), full-width forms included.
STARTS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"
#: A plain number, as a spreadsheet reads it: these are left alone.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def dangerous(cell: str) -> bool:
    """Reference: could a spreadsheet run this cell?"""
    firsts = {cell[:1], cell.lstrip(" ")[:1]} - {""}
    starts = any(first in STARTS for first in firsts)
    return starts and not NUMBER.fullmatch(cell.strip(" "))


def _read_back(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def test_carriage_return_in_a_name_stays_in_its_cell(tmp_path):
    table = pd.DataFrame(
        {"id": ["a", "b"], "name": ["Split\r=cmd|' /C calc'!A0", 'Line\nbreak, and "quotes"']}
    )
    path = write_csv(table, tmp_path / "t.csv")
    rows = _read_back(path)
    assert rows == [
        ["id", "name"],
        ["a", "Split\r=cmd|' /C calc'!A0"],
        ["b", 'Line\nbreak, and "quotes"'],
    ]
    back = pd.read_csv(path, dtype=str)
    assert len(back) == 2 and back["name"].iloc[0] == "Split\r=cmd|' /C calc'!A0"
    raw = path.read_bytes().decode("utf-8-sig")
    assert '"Split\r=cmd' in raw  # quoted, so no reader starts a row at the =


def test_header_cells_are_neutralised(tmp_path):
    table = pd.DataFrame({'=HYPERLINK("http://x","y")': [1], "@cmd": ["x"], "+x": ["y"], "ok": [2]})
    path = write_csv(table, tmp_path / "t.csv")
    header = _read_back(path)[0]
    assert header == ['\'=HYPERLINK("http://x","y")', "'@cmd", "'+x", "ok"]


def test_numbers_written_as_text_are_left_alone():
    table = pd.DataFrame(
        {"x": ["-2.71", "+1", "1e-3", "-0.5E3", " -3", "-", "-inf", "+44 1432 260000"]}
    )
    assert neutralise_formulas(table)["x"].tolist() == [
        "-2.71",
        "+1",
        "1e-3",
        "-0.5E3",
        " -3",
        "'-",
        "'-inf",
        "'+44 1432 260000",
    ]


def test_leading_spaces_and_full_width_signs_do_not_hide_a_formula():
    for text in ["  =1+1", "\uff1dSUM(A1)", " @x", "\t=1"]:
        assert is_formula(text), text


cells = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["=1+1", "-2.5", "\r=x", "@a", " +b"])
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4, unique=True),
    data=st.data(),
)
def test_any_text_round_trips_and_no_formula_survives(tmp_path, names, data):
    rows = data.draw(
        st.lists(st.lists(cells, min_size=len(names), max_size=len(names)), max_size=5)
    )
    table = pd.DataFrame(rows, columns=names, dtype=object)
    path = write_csv(table, tmp_path / "t.csv")
    back = _read_back(path)

    def expected(value: str | None) -> str:
        text = "" if value is None else value
        return "'" + text if dangerous(text) else text

    assert back[0] == [expected(n) for n in names]
    assert back[1:] == [[expected(v) for v in row] for row in rows]
    for row in back:
        assert not any(dangerous(cell) for cell in row)
    # pandas reads the same cells back (blank cells as empty text)
    if rows:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        assert frame.shape == (len(rows), len(names))


def test_written_csv_is_utf8_with_bom_and_crlf(tmp_path):
    path = write_csv(pd.DataFrame({"name": ["Ysgol Gymraeg Llanfair ’s"]}), tmp_path / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert pd.read_csv(io.BytesIO(raw), dtype=str)["name"].iloc[0] == "Ysgol Gymraeg Llanfair ’s"
