"""The post-16 options finder: its compact data, inert text, size, and the page in Chromium.

The hand-built county (``Testshire``) is a 10 km square, 350000–360000 E,
240000–250000 N, split into two areas at 355000 E. Two postcodes lie inside it
and one outside; three post-16 providers count (a primary school and an
independent sixth form do not). Car times are 2 min per straight-line km,
walks 15 min per km, and public transport a fixed table from the two areas'
start points, so every expected answer below is worked out by hand.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.errors import InputError
from geomap.finder import DATA_FORMAT, FINDER_WALK_MINUTES, finder_data, finder_html, inert_json
from geomap.travel.base import TravelTimes, check_points
from geomap.travel.estimate import default_estimate

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_RATING = "{{ 7*7 }}"
CRS = settings.MEASURE_CRS


class PerKm(TravelTimes):
    """Minutes = ``rate`` × straight-line km; NaN for the pairs in ``missing``."""

    def __init__(self, rate: float, *, mode: str, missing=()):
        self.rate = rate
        self.mode = mode
        self.method = f"test:{mode}"
        self.missing = set(missing)

    def describe(self):
        return f"{self.rate:g} min per km ({self.mode})"

    def matrix(self, origins, destinations):
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        rows = []
        for o in origins.itertuples():
            for d in destinations.itertuples():
                km = o.geometry.distance(d.geometry) / 1000.0
                gone = (o.id, d.id) in self.missing
                rows.append((o.id, d.id, math.nan if gone else self.rate * km, self.method))
        return pd.DataFrame(rows, columns=["from_id", "to_id", "minutes", "method"])


class Fixed(TravelTimes):
    """Minutes from a table of (origin id, destination id); NaN for pairs not in it."""

    mode = "pt"
    method = "test:pt"

    def __init__(self, table):
        self.table = table

    def describe(self):
        return "a fixed test table"

    def matrix(self, origins, destinations):
        rows = [
            (o, d, self.table.get((o, d), math.nan), self.method)
            for o in origins["id"]
            for d in destinations["id"]
        ]
        return pd.DataFrame(rows, columns=["from_id", "to_id", "minutes", "method"])


def box(*bounds):
    return gpd.GeoDataFrame({"name": ["Testshire"]}, geometry=[shapely.box(*bounds)], crs=CRS)


def providers_frame(rows):
    columns = [
        "id",
        "name",
        "kind",
        "sector",
        "offers_post16",
        "rating",
        "students_16_18",
        "in_county",
        "la_name",
        "postcode",
        "x",
        "y",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["students_16_18"] = table["students_16_18"].astype("Float64")
    return gpd.GeoDataFrame(
        table.drop(columns=["x", "y"]),
        geometry=gpd.points_from_xy(table["x"], table["y"]),
        crs=CRS,
    )


PROVIDERS = [
    # id, name, kind, sector, post16, rating, students, in county, council, postcode, x, y
    ("p1", "Near Sixth Form", "sixth_form", "maintained", True, "Good", 150, True, "Testshire", "AB1 2CD", 352000, 241000),
    ("p2", "Border College", "college", "college", True, None, None, False, "Next County", "ZX1 1AA", 361000, 241000),
    ("p3", HOSTILE_NAME, "college", "college", True, HOSTILE_RATING, 300, True, None, None, 351000, 243000),
    ("p4", "Primary Only", "primary", "maintained", False, "Good", None, True, "Testshire", None, 351000, 241100),
    ("p5", "Fee Paying Sixth Form", "sixth_form", "independent", True, "Good", 80, True, "Testshire", None, 351000, 241050),
]  # fmt: skip

POSTCODES = """postcode,positional_quality,easting,northing
AB1 1AA,10,351000,241000
AB1 1AB,10,359000,249000
AB9 9ZZ,10,370000,241000
AB1 1XX,90,0,0
"""


def county(tmp_path, *, providers=PROVIDERS, postcodes=POSTCODES, lookup=True, study_box=None):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "postcodes.csv"  # the lookup is cached by path: one per folder
    path.write_text(postcodes, encoding="utf-8")
    boundary = box(*(study_box or (350000, 240000, 360000, 250000)))
    areas = gpd.GeoDataFrame(
        {"area_id": ["A1", "A2"], "area_name": ["West", "East"]},
        geometry=[
            shapely.box(350000, 240000, 355000, 250000),
            shapely.box(355000, 240000, 360000, 250000),
        ],
        crs=CRS,
    )
    origins = gpd.GeoDataFrame(
        {"id": ["A1", "A2"]},
        geometry=gpd.points_from_xy([351000, 359000], [241000, 249000]),
        crs=CRS,
    )
    study = SimpleNamespace(
        name="Testshire", postcodes=path if lookup else None, attribution="Test data", path=None
    )
    return SimpleNamespace(
        study=study,
        name="Testshire",
        boundary=boundary,
        providers=providers_frame(providers),
        areas=areas,
        origins=origins,
        base=boundary.rename(columns={"name": "area_name"}),
        ratings_note="Ofsted ratings to February 2020",
        students_note="16–18 students in 2016/17",
        area_label="area",
    )


CAR = PerKm(2.0, mode="car")
WALK = PerKm(15.0, mode="walk")
PT_TABLE = Fixed({("A1", "p1"): 25.0, ("A1", "p2"): 55.0, ("A2", "p2"): 33.0, ("A2", "p1"): 70.0})


def options_of(data, key):
    """Per option of ``key``: (provider id, car, walk, pt)."""
    i = data["postcodes"]["key"].index(key)
    n = data["options"]
    rows = []
    for k in range(i * n, i * n + n):
        p = data["option"][k]
        rows.append(
            (
                data["providers"]["id"][p] if p >= 0 else None,
                data["car"][k],
                None if data["walk"] is None else data["walk"][k],
                None if data["pt"] is None else data["pt"][k],
            )
        )
    return rows


# --------------------------------------------------------------------------- the data


def test_hand_worked_options_nearest_first(tmp_path):
    data = finder_data(county(tmp_path), car=CAR, pt=PT_TABLE, walk=WALK)
    assert data["format"] == DATA_FORMAT
    assert data["options"] == 3  # only three providers count
    assert data["providers"]["id"] == ["p1", "p2", "p3"]  # no primary, no independent
    assert data["postcodes"]["key"] == ["AB11AA", "AB11AB"]
    assert data["outside"] == ["AB99ZZ"]  # the row with no grid reference is in neither
    # AB1 1AA (351000, 241000): p1 1 km, p3 2 km, p2 10 km
    # car 2, 4, 20 min; walk 15, 30 (150 is over 45: left out); pt from area A1
    assert options_of(data, "AB11AA") == [
        ("p1", 2, 15, 25),
        ("p3", 4, 30, None),
        ("p2", 20, None, 55),
    ]
    # AB1 1AB (359000, 249000): p2 √68 = 8.246 km, p3 10 km, p1 √113 = 10.630 km
    # car 16.49 → 16, 20, 21.26 → 21; every walk over 45 min; pt from area A2
    assert options_of(data, "AB11AB") == [
        ("p2", 16, None, 33),
        ("p3", 20, None, None),
        ("p1", 21, None, 70),
    ]
    # the table has no time to p3 at all: not known, not "no journey"
    assert data["providers"]["pt_known"] == [True, True, False]
    assert data["pt_leave"] is None and data["pt_changes"] is None
    assert "area each postcode lies in" in data["notes"]["pt"]


def test_ratings_sizes_and_border_unknowns_are_none_never_zero(tmp_path):
    data = finder_data(county(tmp_path), car=CAR)
    providers = data["providers"]
    assert providers["rating"] == ["Good", None, HOSTILE_RATING]
    assert providers["students"] == [150, None, 300]
    assert providers["in_county"] == [True, False, True]
    assert providers["council"] == ["Testshire", "Next County", None]
    assert providers["kind"] == ["School sixth form", "College", "College"]
    assert "February 2020" in data["notes"]["ratings"]
    assert "2016/17" in data["notes"]["students"]
    assert "1 of them across the border" in data["notes"]["providers"]
    # without walk and public-transport sources: none, and the page is told why
    assert data["walk"] is None and data["pt"] is None
    assert "No public-transport times" in data["notes"]["pt"]


def test_walks_only_where_short(tmp_path):
    # walking at 15 min per km: p3 is 3 km from AB1 1AA at 45 min (shown), 3.1 km (46.5) not
    rows = [list(PROVIDERS[0]), list(PROVIDERS[2])]
    rows[0][-2:] = [354000, 241000]  # 3 km east: 45 min
    rows[1][-2:] = [351000, 244100]  # 3.1 km north: 46.5 min
    data = finder_data(county(tmp_path, providers=[tuple(r) for r in rows]), car=CAR, walk=WALK)
    assert FINDER_WALK_MINUTES == 45
    assert options_of(data, "AB11AA") == [("p1", 6, 45, None), ("p3", 6, None, None)]


def test_fewer_options_and_providers_with_no_car_journey_go_last(tmp_path):
    car = PerKm(2.0, mode="car", missing={("AB11AA", "p1")})
    data = finder_data(county(tmp_path), car=car, options=2)
    assert data["options"] == 2
    # p1 has no car journey: after p3 (4 min), then p2 (20 min) would come, but only 2 listed
    assert options_of(data, "AB11AA") == [("p3", 4, None, None), ("p2", 20, None, None)]
    data = finder_data(county(tmp_path), car=car)
    assert options_of(data, "AB11AA")[-1] == ("p1", None, None, None)


def test_include_independent_lists_the_independent_sixth_form(tmp_path):
    data = finder_data(county(tmp_path), car=CAR, include_independent=True)
    assert data["providers"]["id"] == ["p1", "p2", "p3", "p5"]
    # p5 is 50 m from AB1 1AA: 0.1 min by car, first
    assert options_of(data, "AB11AA")[0] == ("p5", 0, None, None)


@pytest.mark.filterwarnings("ignore:.*impossible positions:geomap.errors.TravelWarning")
def test_timetable_gives_leave_changes_and_arrive(tmp_path):
    from geomap.travel.gtfs import TimetableTravelTimes, load_gtfs

    tiny = Path(__file__).parent / "fixtures" / "gtfs" / "tiny"
    timetable = load_gtfs(tiny, date="2024-01-17")
    college = [("c", "College at C", "college", "college", True, "Good", 500, True, "Testshire", None, 370000, 240000)]  # fmt: skip
    postcodes = "postcode,easting,northing\nAA1 1AA,350000,240000\nDD1 1DD,350000,250000\n"
    inputs = county(
        tmp_path,
        providers=college,
        postcodes=postcodes,
        study_box=(349000, 239000, 371000, 251000),
    )
    data = finder_data(inputs, car=CAR, pt=TimetableTravelTimes(timetable, arrive_by="09:00"))
    # hand-worked in tests/test_gtfs.py: from A, t2 07:40 → 08:40, no change; from D,
    # t6 07:30 to B, walk to B2, t8 to C at 08:50: one change
    assert data["pt"] == [60, 80]
    assert data["pt_leave"] == [7 * 60 + 40, 7 * 60 + 30]
    assert data["pt_arrive"] == [8 * 60 + 40, 8 * 60 + 50]
    assert data["pt_changes"] == [0, 1]
    assert data["providers"]["pt_known"] == [True]
    assert "arriving by 09:00" in data["notes"]["pt"]


def test_random_instances_match_a_brute_force_reference(tmp_path):
    rng = np.random.default_rng(7)
    for round_ in range(3):
        xs = rng.uniform((350000, 240000), (360000, 250000), size=(12, 2)).round()
        rows = [
            (f"q{i}", f"P{i}", "college", "college", True, None, None, True, None, None, x, y)
            for i, (x, y) in enumerate(xs)
        ]
        homes = rng.uniform((350500, 240500), (359500, 249500), size=(30, 2)).round()
        text = "postcode,easting,northing\n" + "".join(
            f"T{i // 10}{i % 10} 1AA,{x:.0f},{y:.0f}\n" for i, (x, y) in enumerate(homes)
        )
        car = default_estimate("car")
        data = finder_data(
            county(tmp_path / str(round_), providers=rows, postcodes=text), car=car, options=5
        )
        coords = {f"T{i // 10}{i % 10}1AA": (x, y) for i, (x, y) in enumerate(homes)}
        for key, (hx, hy) in coords.items():
            km = [math.hypot(hx - x, hy - y) / 1000 for x, y in xs]
            minutes = [float(car.minutes_for_km(np.array([d]))[0]) for d in km]
            expected = sorted(range(12), key=lambda j: (minutes[j], km[j]))[:5]
            got = options_of(data, key)
            assert [g[0] for g in got] == [f"q{j}" for j in expected]
            assert [g[1] for g in got] == [round(minutes[j]) for j in expected]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"options": 0}, "at least one option"),
        ({"options": True}, "at least one option"),
        ({"options": 2.5}, "at least one option"),
        ({"lookup": False}, "names no postcode lookup"),
        ({"providers": PROVIDERS[3:4]}, "no sixth forms or colleges"),
        ({"study_box": (0, 0, 1000, 1000)}, "lies inside Testshire"),
    ],
)
def test_bad_inputs_are_refused(tmp_path, change, message):
    options = change.pop("options", 8)
    with pytest.raises(InputError, match=message):
        finder_data(county(tmp_path, **change), car=CAR, options=options)


def test_finder_html_refuses_other_data():
    with pytest.raises(InputError, match="not finder data"):
        finder_html({"format": "other"}, title="t", caption="c")


# --------------------------------------------------------------------------- inert text


def _embedded(page: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="finder-data">(.*?)</script>', page, re.S
    )
    assert found
    return json.loads(found.group(1))


def test_hostile_text_is_inert(tmp_path):
    data = finder_data(county(tmp_path), car=CAR)
    page = finder_html(
        data, title=f"Finder {HOSTILE_RATING}", caption=f"About {HOSTILE_NAME}\nline two"
    )
    assert "<img" not in page
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page
    assert '"rating":["Good",null,"{{ 7*7 }}"]' in page  # data reach the page as typed
    assert "<title>Finder {{ 7*7 }}</title>" in page  # shown as typed, not rendered
    assert "About &lt;img src=x onerror=alert(1)&gt;" in page
    # the page's script writes no data as markup
    script = (Path(__import__("geomap").__file__).parent / "_assets" / "finder.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    back = _embedded(page)
    assert back["providers"]["name"][2] == HOSTILE_NAME
    assert back["providers"]["rating"][2] == HOSTILE_RATING


def test_inert_json_escapes_markup_characters():
    text = inert_json({"a": "</script><b>&amp;\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><b>&amp;\u2028"}


def test_page_contract_and_accessibility(tmp_path):
    page = finder_html(finder_data(county(tmp_path), car=CAR), title="T", caption="C")
    assert '<html lang="en">' in page and "<title>T</title>" in page
    assert '<label for="postcode">' in page and '<input id="postcode"' in page
    assert re.search(r'<p id="message" role="status" aria-live="polite">', page)
    assert '<ol id="results"' in page
    assert "<script src" not in page and "<link" not in page  # nothing fetched: Leaflet inlined


# --------------------------------------------------------------------------- shipped data


@pytest.fixture(scope="module")
def shipped_page(shipped_inputs, tmp_path_factory):
    from geomap.finder import finder_caption
    from geomap.pipeline import choose_public_transport, choose_travel

    car, walk = choose_travel(shipped_inputs.study, ["car", "walk"])
    data = finder_data(
        shipped_inputs, car=car, walk=walk, pt=choose_public_transport(shipped_inputs.study)
    )
    page = finder_html(data, title="Post-16 options", caption=finder_caption(shipped_inputs))
    path = tmp_path_factory.mktemp("finder") / "finder.html"
    path.write_text(page, encoding="utf-8")
    return data, path


def test_shipped_page_is_under_five_megabytes(shipped_page):
    data, path = shipped_page
    assert path.stat().st_size < 5_000_000
    assert len(data["postcodes"]["key"]) > 5000
    assert "HR11AA" in data["postcodes"]["key"]


def test_finder_command_writes_the_page(tmp_path):
    from geomap.cli import main

    out = tmp_path / "finder.html"
    result = CliRunner().invoke(main, ["finder", "--out", str(out), "--options", "3"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size < 5_000_000
    assert _embedded(out.read_text(encoding="utf-8"))["options"] == 3
    assert not list(tmp_path.glob(".*.tmp*"))  # written atomically, nothing left over


# --------------------------------------------------------------------------- in Chromium

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("GEOMAP_SKIP_BROWSER"):
            pytest.skip("GEOMAP_SKIP_BROWSER is set and /usr/bin/chromium is missing")
        pytest.fail("Debian's chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def _open(browser, path):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    remote: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "request",
        lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(Path(path).as_uri())
    page.wait_for_selector(".leaflet-container")
    return page, problems, remote, dialogs


def _type(page, text):
    box = page.locator("#postcode")
    box.fill("")
    box.type(text)
    page.wait_for_function(
        "key => document.getElementById('results').dataset.answered === key",
        arg="".join(text.upper().split()),
    )
    return float(page.locator("#results").get_attribute("data-answer-ms"))


@pytest.mark.browser
@pytest.mark.slow
def test_shipped_finder_answers_in_chromium(browser, shipped_page):
    data, path = shipped_page
    page, problems, remote, _dialogs = _open(browser, path)
    assert "Type a postcode" in page.locator("#message").inner_text()
    i = data["postcodes"]["key"].index("HR11AA")
    nearest = data["providers"]["name"][data["option"][i * data["options"]]]
    timings = []
    for typed in ("hr1 1aa", "HR11AA", " HR1  1AA "):
        timings.append(_type(page, typed))
        items = page.locator("#results li")
        assert items.count() == data["options"]
        assert nearest in items.first.inner_text()
        assert "HR1 1AA" in page.locator("#message").inner_text()
    first = items.first.inner_text()
    assert "By car" in first and "Public transport" in first and "Ofsted rating" in first
    assert page.locator(".gm-pin").count() == data["options"]
    assert page.locator(".gm-home").count() == 1

    _type(page, "ZZ9 9ZZ")
    assert page.locator("#results li").count() == 0
    assert "could not find the postcode ZZ9 9ZZ" in page.locator("#message").inner_text()

    outside = data["outside"][0]
    _type(page, outside)
    message = page.locator("#message").inner_text()
    assert page.locator("#results li").count() == 0
    assert "is outside Herefordshire" in message and outside[-3:] in message

    assert problems == [] and remote == []
    assert all(ms < 1000 for ms in timings), timings
    print(f"finder answer times (ms, in the page): {timings}")
    page.close()


@pytest.mark.browser
def test_hostile_names_show_as_typed_in_chromium(browser, tmp_path):
    data = finder_data(county(tmp_path), car=CAR, pt=PT_TABLE, walk=WALK)
    path = tmp_path / "finder.html"
    path.write_text(finder_html(data, title="T", caption=HOSTILE_NAME), encoding="utf-8")
    page, problems, remote, dialogs = _open(browser, path)
    _type(page, "ab1 1aa")
    items = page.locator("#results li")
    assert items.count() == 3
    second = items.nth(1).inner_text()
    assert HOSTILE_NAME in second and HOSTILE_RATING in second
    assert "not known (no times to this place)" in second
    third = items.nth(2).inner_text()
    assert "Ofsted rating\nnot known" in third and "Students aged 16–18\nnot known" in third
    assert "across the border (Next County)" in third
    assert page.locator("#results img, #about img").count() == 0
    assert dialogs == [] and problems == [] and remote == []
    _type(page, "AB9 9ZZ")
    assert "is outside Testshire" in page.locator("#message").inner_text()
    page.close()
