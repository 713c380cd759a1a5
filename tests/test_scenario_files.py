"""Scenario files from outside the council: YAML read as text, bounded, and checked field by field."""

from __future__ import annotations

import json
import os
import pathlib
import tracemalloc
import warnings

import geopandas as gpd
import pytest
from click.testing import CliRunner

from geomap import _yaml, errors, settings
from geomap._yaml import YamlList, YamlMap, YamlText, line_of, load_yaml
from geomap.cli import main
from geomap.clock import TimeOfDay
from geomap.routes import MAX_ROUTE_STOPS, MAX_ROUTES, load_scenario

EXAMPLES = settings.data_dir().parent / "examples"
POSTCODES = settings.data_path("providers", "codepoint_open_postcodes_herefordshire_and_border.csv")
FIXTURES = pathlib.Path(__file__).parent / "fixtures"

# line numbers matter: each case below names the line it breaks
BASE = """\
scenario: test
arrive_by: "09:00"
routes:
  - name: Line
    days: [mon, tue, wed, thu, fri]
    first_departure: "07:00"
    last_departure: "08:00"
    headway_minutes: 20
    running_minutes: [10, 20]
    stops:
      - {name: A, easting: 350000, northing: 240000}
      - {name: B, easting: 355000, northing: 240000}
      - {name: C, easting: 360000, northing: 240000}
"""


def edit(line: int, text: str | None, *, base: str = BASE) -> str:
    """``base`` with line ``line`` (1-based) replaced by ``text`` (several lines, or none)."""
    lines = base.splitlines()
    lines[line - 1 : line] = [] if text is None else text.split("\n")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def county():
    """The shipped county: its 2021 LSOAs, dissolved."""
    lsoa = gpd.read_file(settings.data_path("boundaries", "lsoa21_herefordshire.geojson"))
    return gpd.GeoSeries([lsoa.to_crs(settings.MEASURE_CRS).union_all()], crs=settings.MEASURE_CRS)


@pytest.fixture
def load(tmp_path, shipped_inputs, county):
    """Write a scenario file and load it."""

    def _load(text: str | bytes, name: str = "scenario.yml"):
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return load_scenario(
            path, providers=shipped_inputs.providers, county=county, postcodes=POSTCODES
        )

    return _load


def test_base_file_loads(load):
    """The file the bad cases are made from is itself good."""
    route = load(BASE).routes[0]
    assert route.offsets == (0.0, 10.0, 30.0) and route.headway_minutes == 20.0


# --------------------------------------------------------------------------- bad files

Y = errors.YamlError
V = errors.InputError  # a value of the right kind, but wrong: not a YamlError

# (id, file text, error class, row, column, words in the message)
BAD = [
    # YAML 1.1 would have read these as booleans, numbers in base 60 or 8, or floats
    *[
        (
            f"headway {word}",
            edit(8, f"    headway_minutes: {word}"),
            Y,
            8,
            "routes[0].headway_minutes",
            [f"'{word}'", "a word, not a number", "such as 30"],
        )
        for word in ("yes", "no", "on", "off", "true", "True", "null", "~")
    ],
    *[
        (
            f"headway {text}",
            edit(8, f"    headway_minutes: {text}"),
            Y,
            8,
            "routes[0].headway_minutes",
            [f"'{text.strip(chr(39))}'", words, "such as 30"],
        )
        for text, words in (
            (".inf", "not a finite number"),
            ("-.inf", "not a finite number"),
            (".nan", "not a finite number"),
            ("nan", "not a finite number"),
            ("1e999", "not a plain number"),
            ("1e3", "not a plain number"),
            ("0x10", "not a plain number"),
            ("0o17", "not a plain number"),
            ("1_000", "not a plain number"),
            ("9:00", "looks like a time"),
            ("30 minutes", "not a plain number"),
            ("'30 min'", "not a plain number"),
        )
    ],
    (
        "headway empty",
        edit(8, "    headway_minutes:"),
        Y,
        8,
        "routes[0].headway_minutes",
        ["headway is empty"],
    ),
    (
        "headway a list",
        edit(8, "    headway_minutes: [20, 30]"),
        Y,
        8,
        "routes[0].headway_minutes",
        ["headway must be a single value, not a list"],
    ),
    (
        "running minutes infinite",
        edit(9, "    running_minutes: [.inf, 5]"),
        Y,
        9,
        "routes[0].running_minutes[0]",
        ["running time is '.inf'", "not a finite number"],
    ),
    (
        "running minutes a word",
        edit(9, "    running_minutes:\n      - 10\n      - yes"),
        Y,
        11,
        "routes[0].running_minutes[1]",
        ["running time is 'yes'"],
    ),
    (
        "speed nan",
        edit(9, "    speed_kmh: nan"),
        Y,
        9,
        "routes[0].speed_kmh",
        ["speed is 'nan'", "not a finite number"],
    ),
    (
        "easting in exponent form",
        edit(11, "      - {name: A, easting: 3.5e5, northing: 240000}"),
        Y,
        11,
        "routes[0].stops[0].easting",
        ["easting is '3.5e5'"],
    ),
    (
        "lat infinite",
        edit(11, "      - {name: A, lon: -2.7, lat: .inf}"),
        Y,
        11,
        "routes[0].stops[0].lat",
        ["lat is '.inf'"],
    ),
    # times
    (
        "departure in minutes",
        edit(6, "    first_departure: 540"),
        Y,
        6,
        "routes[0].first_departure",
        ["'540' is not a time of day", "HH:MM"],
    ),
    (
        "departure after midnight",
        edit(6, "    first_departure: 25:30"),
        Y,
        6,
        "routes[0].first_departure",
        ["'25:30'", "hours run from 00 to 23"],
    ),
    (
        "departure 24:00",
        edit(7, '    last_departure: "24:00"'),
        Y,
        7,
        "routes[0].last_departure",
        ["'24:00'", "hours run from 00 to 23"],
    ),
    (
        "minutes past 59",
        edit(6, "    first_departure: 07:60"),
        Y,
        6,
        "routes[0].first_departure",
        ["'07:60' is not a time of day"],
    ),
    (
        "minutes past 59 and hours past 23",
        edit(6, '    first_departure: "25:61"'),
        Y,
        6,
        "routes[0].first_departure",
        ["'25:61' is not a time of day", "HH:MM"],
    ),
    (
        "time with seconds",
        edit(6, "    first_departure: 07:00:00"),
        Y,
        6,
        "routes[0].first_departure",
        ["'07:00:00' is not a time of day"],
    ),
    (
        "arrive_by a word",
        edit(2, "arrive_by: yes"),
        Y,
        2,
        "arrive_by",
        ["'yes' is not a time of day"],
    ),
    (
        "time a list",
        edit(6, "    first_departure: [07:00]"),
        Y,
        6,
        "routes[0].first_departure",
        ["a time must be one value", "not a list"],
    ),
    # values of the right kind, out of range
    (
        "headway over a day",
        edit(8, "    headway_minutes: 1441"),
        V,
        8,
        "routes[0].headway_minutes",
        ["headway must be at most 1440 minutes, not 1441"],
    ),
    (
        "headway under a minute",
        edit(8, "    headway_minutes: 0.001"),
        V,
        8,
        "routes[0].headway_minutes",
        ["headway must be at least 1 minutes, not 0.001"],
    ),
    (
        "headway of 400 digits",
        edit(8, "    headway_minutes: " + "9" * 400),
        V,
        8,
        "routes[0].headway_minutes",
        ["headway must be at most 1440 minutes, not inf"],
    ),
    (
        "running minutes enormous",
        edit(9, "    running_minutes: [10, 100000]"),
        V,
        9,
        "routes[0].running_minutes[1]",
        ["running time must be at most 180 minutes"],
    ),
    (
        "running minutes zero",
        edit(9, "    running_minutes: [10, 0]"),
        V,
        9,
        "routes[0].running_minutes[1]",
        ["running time must be more than 0 minutes"],
    ),
    (
        "speed too high",
        edit(9, "    speed_kmh: 500"),
        V,
        9,
        "routes[0].speed_kmh",
        ["speed must be at most 120 km/h, not 500"],
    ),
    (
        "speed too low",
        edit(9, "    speed_kmh: 1"),
        V,
        9,
        "routes[0].speed_kmh",
        ["speed must be at least 5 km/h"],
    ),
    (
        "lon out of range",
        edit(11, "      - {name: A, lon: 300, lat: 52}"),
        errors.CoordinateError,
        11,
        "routes[0].stops[0].lon",
        ["(300, 52) look like British National Grid easting/northing"],
    ),
    (
        "lon and lat swapped",
        edit(11, "      - {name: A, lon: 52.1, lat: -2.7}"),
        errors.CoordinateError,
        11,
        "routes[0].stops[0].lon",
        ["latitude and longitude look swapped"],
    ),
    (
        "lon/lat in Northern Ireland",
        edit(11, "      - {name: A, lon: -5.93, lat: 54.597}"),
        errors.CoordinateError,
        11,
        "routes[0].stops[0].lon",
        ["outside Great Britain"],
    ),
    (
        "easting and northing in degrees",
        edit(11, "      - {name: A, easting: -2.7, northing: 52.1}"),
        errors.CoordinateError,
        11,
        "routes[0].stops[0].easting",
        ["look like longitude/latitude"],
    ),
    (
        "easting outside Great Britain",
        edit(11, "      - {name: A, easting: 900000, northing: 240000}"),
        errors.CoordinateError,
        11,
        "routes[0].stops[0].easting",
        ["outside Great Britain"],
    ),
    (
        "provider id with a leading zero",
        edit(13, "      - {name: C, provider: 0130710}"),
        errors.InputError,
        13,
        "routes[0].stops[2].provider",
        ["unknown provider id '0130710'", "'130710', without the leading zero"],
    ),
    (
        "unknown postcode",
        edit(13, "      - {name: C, postcode: ZZ9 9ZZ}"),
        errors.PostcodeError,
        13,
        "routes[0].stops[2].postcode",
        ["unknown postcode 'ZZ9 9ZZ'"],
    ),
    (
        "two routes with the same name",
        BASE + BASE.split("routes:\n", 1)[1].replace("Line", "LINE"),
        errors.DuplicateIdError,
        14,
        "routes[1].name",
        ["two routes are named 'LINE': routes[0] and routes[1]"],
    ),
    (
        "unknown day",
        edit(5, "    days: [mon, funday]"),
        Y,
        5,
        "routes[0].days[1]",
        ["unknown day 'funday'"],
    ),
    (
        "day that YAML 1.1 read as true",
        edit(5, "    days: [on]"),
        Y,
        5,
        "routes[0].days[0]",
        ["unknown day 'on'"],
    ),
    (
        "no days",
        edit(5, "    days: []"),
        Y,
        5,
        "routes[0].days",
        ["no days given"],
    ),
    # the file's structure
    (
        "stray quote",
        edit(4, "  - name: 'Line"),
        Y,
        4,
        None,
        ["not valid YAML", "quote that opens a value on line 4 is never closed"],
    ),
    (
        "apostrophe inside single quotes",
        edit(4, "  - name: 'St Mary's line'"),
        Y,
        4,
        None,
        ["not valid YAML"],
    ),
    (
        "tab indentation",
        edit(5, "\tdays: [mon]"),
        Y,
        5,
        None,
        ["not valid YAML", "line 5 is indented with a tab", "spaces"],
    ),
    (
        "unclosed bracket",
        edit(9, "    running_minutes: [10, 20"),
        Y,
        9,
        None,
        ["not valid YAML", "the bracket that opens on line 9 is not closed before line 10"],
    ),
    (
        "unclosed brace at the end",
        edit(13, "      - {name: C, easting: 360000, northing: 240000"),
        Y,
        13,
        None,
        ["not valid YAML", "the bracket that opens on line 13 is never closed"],
    ),
    (
        "colon in an unquoted value",
        edit(4, "  - name: Line: express"),
        Y,
        4,
        None,
        ["not valid YAML", "must be quoted"],
    ),
    ("a list, not a mapping", "- a\n- b\n", Y, 1, None, ["this one is a list"]),
    ("text, not a mapping", "just some text\n", Y, 1, None, ["this one is text"]),
    (
        "no routes key",
        "scenario: test\nroots: []\n",
        Y,
        1,
        "routes",
        ["a list of routes under 'routes:'", "'roots'"],
    ),
    (
        "routes empty",
        "scenario: test\nroutes:\n",
        Y,
        2,
        "routes",
        ["'routes:' is empty"],
    ),
    ("routes an empty list", "scenario: test\nroutes: []\n", Y, 2, "routes", ["is empty"]),
    (
        "routes a mapping",
        "scenario: test\nroutes:\n  name: Line\n",
        Y,
        3,
        "routes",
        ["not a mapping"],
    ),
    (
        "route is text",
        "scenario: test\nroutes:\n  - Line\n",
        Y,
        3,
        "routes[0]",
        ["a route must be a mapping", "not text"],
    ),
    (
        "stop is a list",
        edit(11, "      - [A, 350000, 240000]"),
        Y,
        11,
        "routes[0].stops[0]",
        ["a stop must be a mapping", "not a list"],
    ),
    (
        "stop with no location",
        edit(11, "      - {name: A}"),
        Y,
        11,
        "routes[0].stops[0]",
        ["a stop needs a postcode"],
    ),
    (
        "stop with lon only",
        edit(11, "      - {name: A, lon: -2.7}"),
        Y,
        11,
        "routes[0].stops[0].lat",
        ["gives lon but not lat"],
    ),
    (
        "stop field given twice in two spellings",
        edit(11, "      - {name: A, postcode: HR7 4DP, Postcode: HR1 3QR}"),
        Y,
        11,
        "routes[0].stops[0].Postcode",
        ["'postcode' twice"],
    ),
    (
        "route name a mapping",
        edit(4, "  - name: {first: Line}"),
        Y,
        4,
        "routes[0].name",
        ["the route name must be a single value, not a mapping"],
    ),
    (
        "route name empty",
        edit(4, '  - name: "  "'),
        V,
        4,
        "routes[0].name",
        ["a route needs a name"],
    ),
    (
        "route without a headway",
        edit(8, None),
        Y,
        4,
        "routes[0].headway_minutes",
        ["a route needs headway_minutes"],
    ),
    (
        "neither running minutes nor speed",
        edit(9, None),
        Y,
        4,
        "routes[0].running_minutes",
        ["give running_minutes or speed_kmh"],
    ),
    (
        "running minutes count",
        edit(9, "    running_minutes: [10]"),
        V,
        9,
        "routes[0].running_minutes",
        ["running_minutes needs 2 values"],
    ),
    (
        "duplicate key in a route",
        edit(8, "    headway_minutes: 20\n    headway_minutes: 30"),
        Y,
        9,
        "routes[0].headway_minutes",
        ["'headway_minutes' is given twice", "first on line 8"],
    ),
    (
        "duplicate key at the top",
        edit(1, "scenario: test\nscenario: other"),
        Y,
        2,
        "scenario",
        ["'scenario' is given twice"],
    ),
    (
        "duplicate key in a flow mapping",
        edit(11, "      - {name: A, name: B, easting: 350000, northing: 240000}"),
        Y,
        11,
        "routes[0].stops[0].name",
        ["'name' is given twice"],
    ),
    (
        "key that is a list",
        edit(1, "? [a, b]\n: test"),
        Y,
        1,
        None,
        ["a key must be text, not a list"],
    ),
    (
        "python tag",
        edit(1, "scenario: !!python/object/apply:os.system [echo]"),
        Y,
        1,
        "scenario",
        ["the tag '!!python/object/apply:os.system' is not allowed"],
    ),
    (
        "int tag",
        edit(8, "    headway_minutes: !!int 20"),
        Y,
        8,
        "routes[0].headway_minutes",
        ["the tag '!!int' is not allowed"],
    ),
    (
        "local tag",
        edit(8, "    headway_minutes: !minutes 20"),
        Y,
        8,
        "routes[0].headway_minutes",
        ["the tag '!minutes' is not allowed"],
    ),
    (
        "two documents",
        BASE + "---\nscenario: other\n",
        Y,
        14,
        None,
        ["more than one YAML document"],
    ),
    (
        "alias to nothing",
        edit(9, "    running_minutes: *hops"),
        Y,
        9,
        "routes[0].running_minutes",
        ["the alias *hops refers to no anchor &hops before it"],
    ),
    (
        "alias inside its own anchor",
        edit(9, "    running_minutes: &hops [10, *hops]"),
        Y,
        9,
        "routes[0].running_minutes[1]",
        ["*hops is inside the value anchored as &hops"],
    ),
    (
        "merge of a text",
        edit(5, "    <<: mon"),
        Y,
        5,
        "routes[0]",
        ["a merge key '<<' must be followed by a mapping"],
    ),
    (
        "nested too deep",
        edit(1, "scenario: " + "[" * 40 + "]" * 40),
        Y,
        1,
        "scenario" + "[0]" * 31,
        ["nested more than 32 levels deep"],
    ),
    # names
    (
        "NUL in a name (from an escape)",
        edit(4, '  - name: "Li\\0ne"'),
        Y,
        4,
        "routes[0].name",
        ["'Li<U+0000>ne' contains the control character U+0000"],
    ),
    (
        "escape character in a name",
        edit(4, '  - name: "\\e[31mLine"'),
        Y,
        4,
        "routes[0].name",
        ["control character U+001B"],
    ),
    (
        "control character in a key",
        edit(4, '  - "na\\x07me": Line'),
        Y,
        4,
        "routes[0]",
        ["control character U+0007"],
    ),
    (
        "line break in a key",
        edit(4, '  - "na\\nme": Line'),
        Y,
        4,
        "routes[0]",
        ["the key 'na<U+000A>me' runs over more than one line"],
    ),
    (
        "line break in a name",
        edit(4, '  - name: "Line\\nTwo"'),
        Y,
        4,
        "routes[0].name",
        ["'Line<U+000A>Two' contains U+000A, a line break"],
    ),
    (
        "text-direction control in a name",
        edit(11, '      - {name: "A\\u202eB", easting: 350000, northing: 240000}'),
        Y,
        11,
        "routes[0].stops[0].name",
        ["contains U+202E", "text-direction control"],
    ),
    (
        "name too long",
        edit(1, "scenario: " + "x" * 201),
        Y,
        1,
        "scenario",
        ["201 characters long, more than 200"],
    ),
    (
        "raw control character in the file",
        edit(4, "  - name: Li\x1bne"),
        Y,
        4,
        None,
        ["control character U+001B", "line 4"],
    ),
    ("empty file", "", Y, None, None, ["the scenario file is empty"]),
    (
        "only comments",
        "# a scenario\n\n# to come\n",
        Y,
        None,
        None,
        ["has no content"],
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "row", "column", "words"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_file(load, tmp_path, text, error, row, column, words):
    with pytest.raises(errors.InputError) as info:
        load(text)
    err = info.value
    message = str(err)
    assert type(err) is error, (type(err), message)
    assert err.path == str(tmp_path / "scenario.yml") and message.startswith(str(err.path))
    assert err.row == row, message
    assert err.column == column, message
    if row is not None:
        assert f"row {row}" in message
    if column is not None:
        assert f"column '{column}'" in message
    for word in words:
        assert word in message
    assert "\n" not in message and "\x1b" not in message and "\x00" not in message
    assert err.fix  # every message says how to fix it


@pytest.mark.parametrize(
    ("data", "row", "words"),
    [
        ("scenario: caf\xe9\n".encode("latin-1"), 1, "byte 0xe9 on line 1 is not valid UTF-8"),
        (
            BASE.replace("name: B", "name: Br\xe9").encode("cp1252"),
            12,
            "byte 0xe9 on line 12",
        ),
        (BASE.encode("utf-16"), 1, "saved as UTF-16"),
    ],
    ids=["latin-1", "windows-1252 deep in the file", "utf-16"],
)
def test_file_not_utf8(load, data, row, words):
    with pytest.raises(errors.YamlError) as info:
        load(data)
    assert info.value.row == row and "not UTF-8" in str(info.value) and words in str(info.value)


def test_utf8_with_byte_order_mark_loads(load):
    assert load(("\ufeff" + BASE).encode("utf-8")).name == "test"


def test_file_too_large(load, tmp_path):
    text = BASE + "# padding\n" * (_yaml.MAX_BYTES // 10 + 1)
    with pytest.raises(errors.YamlError, match="larger than 1024 KiB"):
        load(text)


def test_unreadable_files(tmp_path, shipped_inputs, county, monkeypatch):
    def attempt(path):
        with pytest.raises(errors.InputError) as info:
            load_scenario(
                path, providers=shipped_inputs.providers, county=county, postcodes=POSTCODES
            )
        assert info.value.path == str(path)
        return str(info.value)

    assert "scenario file not found" in attempt(tmp_path / "missing.yml")
    folder = tmp_path / "a_folder.yml"
    folder.mkdir()
    assert "this is a folder" in attempt(folder)
    if hasattr(os, "mkfifo"):  # reading a pipe would wait for a writer for ever
        fifo = tmp_path / "pipe.yml"
        os.mkfifo(fifo)
        assert "not a regular file" in attempt(fifo)
    locked = tmp_path / "locked.yml"
    locked.write_text(BASE)
    real_open = pathlib.Path.open

    def refuse(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)
    assert "permission denied" in attempt(locked)


def test_too_many_routes_and_stops(load):
    routes = "".join(f"  - name: R{i}\n" for i in range(MAX_ROUTES + 1))
    with pytest.raises(errors.InputError) as info:
        load(f"scenario: many\nroutes:\n{routes}")
    assert info.value.column == "routes" and f"more than {MAX_ROUTES}" in str(info.value)
    stops = "".join(
        f"      - {{easting: {350000 + i}, northing: 240000}}\n" for i in range(MAX_ROUTE_STOPS + 1)
    )
    text = BASE.split("    stops:\n")[0].replace("running_minutes: [10, 20]", "speed_kmh: 30")
    with pytest.raises(errors.InputError) as info:
        load(f"{text}    stops:\n{stops}")
    assert info.value.column == "routes[0].stops" and info.value.row == 11
    assert f"at most {MAX_ROUTE_STOPS} stops" in str(info.value)


def test_hop_too_long_at_the_speed_given(load):
    text = edit(9, "    speed_kmh: 5").replace("easting: 360000", "easting: 380000")
    with pytest.raises(errors.InputError) as info:
        load(text)
    assert info.value.column == "routes[0].stops[2]" and info.value.row == 13
    assert "takes 390 minutes, more than 180" in str(info.value)


# --------------------------------------------------------------------------- aliases


def laughs(levels: int, width: int) -> str:
    """A "billion laughs" file: each level an anchored list of ``width`` aliases of the one before."""
    lines = ["scenario: lol", 'l0: &l0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    lines.append(f"routes: *l{levels}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("levels", "width", "row", "words"),
    [
        # 10 ** 10 values: refused on reaching the value limit, at the level that crosses it
        (10, 10, 7, "more than 100,000 values once its aliases (*name) are expanded"),
        # 9 aliases a level: well under the alias limit, still 9 ** 9 values
        (9, 9, 7, "more than 100,000 values"),
        # 1001 aliases of one short list: the alias limit
        (1, 1001, 3, "more than 1000 aliases"),
    ],
    ids=["ten by ten", "nine by nine", "wide"],
)
def test_alias_bomb_is_refused_without_expanding(load, levels, width, row, words):
    text = laughs(levels, width)
    assert len(text) < 10_000
    tracemalloc.start()
    try:
        with pytest.raises(errors.YamlError) as info:
            load(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.row == row and words in str(info.value)
    assert "Write the values out" in str(info.value)
    # expanding even 10 ** 6 of the values would take far more than this
    assert peak < 5_000_000


def test_aliases_are_shared_not_copied(tmp_path):
    path = tmp_path / "a.yml"
    path.write_text(laughs(3, 10))  # 1000 values: within every limit
    data = load_yaml(path, what="test file")
    assert isinstance(data, YamlMap)
    assert len(data["routes"]) == 10 and all(item is data["l2"] for item in data["routes"])
    assert data["routes"][9][9][0] == ["lol"]


SHARED = """\
scenario: shared stops and settings
arrive_by: 9:00
defaults: &weekday
  days: [mon, tue, wed, thu, fri]
  headway_minutes: 30
  running_minutes: [10, 20]
stops: &stops
  - {name: A, easting: 350000, northing: 240000}
  - {name: B, easting: 355000, northing: 240000}
  - {name: C, easting: 360000, northing: 240000}
routes:
  - name: Early
    <<: *weekday
    first_departure: 7:00
    last_departure: 7:30
    stops: *stops
  - name: Late
    <<: *weekday
    headway_minutes: 15
    first_departure: 8:00
    last_departure: 8:30
    stops: *stops
"""


def test_shared_stops_and_settings_with_anchors(load):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario = load(SHARED)
    early, late = scenario.routes
    assert early.stop_names == late.stop_names == ("A", "B", "C")
    assert early.days == late.days == ("mon", "tue", "wed", "thu", "fri")
    assert early.headway_minutes == 30 and late.headway_minutes == 15  # written keys win
    assert [d.minutes for d in early.departures] == [420.0, 450.0]
    assert [d.minutes for d in late.departures] == [480.0, 495.0, 510.0]
    assert early.offsets == late.offsets == (0.0, 10.0, 30.0)
    # the top-level helpers 'defaults' and 'stops' are not scenario fields: said so, not refused
    [warning] = [w for w in caught if issubclass(w.category, errors.InputWarning)]
    assert "2 field(s) geomap does not know" in str(warning.message)
    assert "defaults (line 3)" in str(warning.message) and "stops (line 7)" in str(warning.message)


# --------------------------------------------------------------------------- what the text means


def test_unquoted_times_are_times(load):
    text = (
        edit(2, "arrive_by: 9:00")
        .replace('first_departure: "07:00"', "first_departure: 7:05")
        .replace('last_departure: "08:00"', "last_departure: 07:45")
    )
    scenario = load(text)
    route = scenario.routes[0]
    # 09:00, not YAML 1.1's 9 × 60 = 540 seconds read as minutes
    assert scenario.arrive_by == TimeOfDay.parse("09:00") and scenario.arrive_by.minutes == 540.0
    assert route.first_departure.minutes == 425.0 and route.last_departure.minutes == 465.0
    assert [d.minutes for d in route.departures] == [425.0, 445.0, 465.0]
    assert "departures 07:05–07:45" in route.describe()


def test_ids_and_names_are_the_exact_text(load):
    text = edit(4, "  - name: '<b>Bus</b> & \"St Mary''s\" {{ 7 * 7 }}'  ").replace(
        "{name: C, easting: 360000, northing: 240000}", "{name: '  C  ', provider: 130710}"
    )
    route = load(text).routes[0]
    # kept as written (surrounding spaces aside): escaping for a web page is the map's business
    assert route.name == '<b>Bus</b> & "St Mary\'s" {{ 7 * 7 }}'
    assert route.stop_names[2] == "C"
    # an unquoted id is the id, not a number
    assert route.stops.iloc[2].x == pytest.approx(352292.0)


def test_numbers_written_plainly(load):
    text = edit(8, '    headway_minutes: "12.5"').replace("[10, 20]", "[+10, 20.]")
    route = load(text).routes[0]
    assert route.headway_minutes == 12.5 and route.offsets == (0.0, 10.0, 30.0)


def test_days_as_text_and_full_names(load):
    assert load(edit(5, "    days: Monday, wed")).routes[0].days == ("mon", "wed")
    assert load(edit(5, "    days: [Tuesday, thurs, tue]")).routes[0].days == ("tue", "thu")
    assert load(edit(5, None)).routes[0].days == ("mon", "tue", "wed", "thu", "fri")


def test_odd_but_accepted_fields_are_warned_about(load):
    text = edit(9, "    running_minutes: [10, 20]\n    speed_kmh: 40\n    headway_mins: 5").replace(
        "{name: C, easting: 360000, northing: 240000}",
        "{name: C, postcode: HR7 4DP, easting: 360000, northing: 240000}",
    )
    with pytest.warns(errors.InputWarning) as caught:
        route = load(text).routes[0]
    messages = [str(w.message) for w in caught]
    assert route.offsets == (0.0, 10.0, 30.0)  # running_minutes used, the speed not
    assert any("routes[0].headway_mins (line 11)" in m and "1 field(s)" in m for m in messages)
    assert any("routes[0].speed_kmh (line 10" in m for m in messages)
    assert any("routes[0].stops[2] (postcode and easting/northing" in m for m in messages)


def test_good_file_gives_no_warning(load):
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        load(BASE)


@pytest.mark.parametrize("name", ["post16_routes.yml", "route_serving_nobody.yml"])
def test_examples_load_as_before(shipped_inputs, county, name):
    before = json.loads((FIXTURES / "scenario_examples_before.json").read_text())[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        scenario = load_scenario(
            EXAMPLES / name, providers=shipped_inputs.providers, county=county, postcodes=POSTCODES
        )
    assert scenario.name == before["name"] and scenario.arrive_by.minutes == before["arrive_by"]
    assert len(scenario.routes) == len(before["routes"])
    for route, old in zip(scenario.routes, before["routes"], strict=True):
        assert route.name == old["name"]
        assert list(route.stop_names) == old["stop_names"]
        assert list(route.days) == old["days"]
        assert [d.minutes for d in route.departures] == old["departures"]
        assert route.headway_minutes == old["headway"]
        assert list(route.offsets) == pytest.approx(old["offsets"], rel=1e-12, abs=1e-12)
        assert route.running_basis == old["basis"]
        xy = [c for p in route.stops for c in (p.x, p.y)]
        assert xy == pytest.approx([c for pair in old["xy"] for c in pair], abs=1e-6)


# --------------------------------------------------------------------------- the reader itself


def test_every_value_knows_its_line(tmp_path):
    path = tmp_path / "lines.yml"
    path.write_text("a: 1\nb:\n  - x\n  - {c: 'y'}\n\nd: |\n  two\n  lines\n")
    data = load_yaml(path, what="test file")
    assert isinstance(data, YamlMap) and data.line == 1
    assert isinstance(data["a"], YamlText) and data["a"] == "1" and line_of(data["a"]) == 1
    assert isinstance(data["b"], YamlList) and data["b"].line == 3
    assert line_of(data["b"][1]) == 4 and line_of(data["b"][1]["c"]) == 4
    assert data["d"] == "two\nlines\n" and line_of(data["d"]) == 6
    assert [line_of(k) for k in data] == [1, 2, 6]
    assert line_of("not from a file") is None


def test_no_implicit_types(tmp_path):
    path = tmp_path / "types.yml"
    path.write_text(
        "t: 9:00\nid: 0130710\nb: yes\nn: ~\ne:\nf: 1e3\ni: .inf\nd: 2024-01-01\nq: '30'\n"
    )
    data = load_yaml(path, what="test file")
    assert data == {
        "t": "9:00",
        "id": "0130710",
        "b": "yes",
        "n": "~",
        "e": "",
        "f": "1e3",
        "i": ".inf",
        "d": "2024-01-01",
        "q": "30",
    }
    assert all(type(v) is YamlText for v in data.values())


def test_cli_refuses_an_alias_bomb_cleanly(tmp_path):
    path = tmp_path / "lol.yml"
    path.write_text(laughs(10, 10))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["routes", "evaluate", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.exception is not None
    assert f"{path}, row 7, " in result.output and "aliases" in result.output
    assert not out.exists()  # nothing is created for a scenario that fails to load


def test_field_names_do_not_depend_on_capitals(tmp_path, shipped_inputs, county):
    """``Days: [sat, sun]`` is the route's days, not an unknown field that is ignored."""
    text = pathlib.Path("examples/post16_routes.yml").read_text(encoding="utf-8")
    text = text.replace("arrive_by:", "Arrive_By:", 1)
    text = text.replace("    days: [mon, tue, wed, thu, fri]", "    Days: [sat, sun]", 1)
    path = tmp_path / "caps.yml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(
        path, providers=shipped_inputs.providers, county=county, postcodes=POSTCODES
    )
    assert scenario.routes[0].days == ("sat", "sun")
    twice = tmp_path / "twice.yml"
    twice.write_text('scenario: x\nArrive_By: "07:00"\narrive_by: "08:00"\nroutes: []\n')
    with pytest.raises(errors.YamlError, match="given twice") as info:
        load_scenario(twice, providers=shipped_inputs.providers, county=county)
    assert info.value.row == 3
