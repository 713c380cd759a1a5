"""Home-to-school transport eligibility (geomap.eligibility) on hand-built networks.

Every network here is a straight street along the x axis in British National
Grid metres, with the home at x = 0 and schools at nodes along it, so each walk
is the sum of the edges between them: the answers are worked out by hand from
the miles named in each test (1 mile = 1,609.344 m).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.cli import main
from geomap.eligibility import (
    RULE_8_PLUS,
    RULE_FAITH,
    RULE_LOW_INCOME_8_11,
    RULE_LOW_INCOME_11_16,
    RULE_NOT_NEAREST,
    RULE_NOT_SCHOOL_AGE,
    RULE_UNDER_8,
    assess_eligibility,
    read_pupils,
    transport_cost,
)
from geomap.errors import InputError, MissingColumnError, PostcodeError

MILE = 1609.344
X0, Y0 = 400_000.0, 250_000.0
POSTCODES = settings.data_path("providers", "codepoint_open_postcodes_herefordshire_and_border.csv")


def street(stops_miles: list[float], *, mode: str = "walk") -> nx.MultiDiGraph:
    """A two-way street from x = 0 through nodes at the given miles (sorted)."""
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS, geomap_mode=mode)
    xs = sorted({0.0, *stops_miles})
    for i, miles in enumerate(xs):
        graph.add_node(i, x=X0 + miles * MILE, y=Y0)
    for i in range(len(xs) - 1):
        length = (xs[i + 1] - xs[i]) * MILE
        graph.add_edge(i, i + 1, length=length)
        graph.add_edge(i + 1, i, length=length)
    return graph


def schools(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Providers at the given miles along the street."""
    base = {
        "kind": "primary",
        "sector": "maintained",
        "low_age": 4,
        "high_age": 11,
        "offers_primary": True,
        "offers_secondary": False,
        "gender": "Mixed",
        "religious_character": "Does not apply",
        "capacity": np.nan,
        "pupils": np.nan,
    }
    full = []
    for row in rows:
        item = {**base, **row}
        if item["kind"] == "secondary":
            item.update(low_age=11, high_age=16, offers_primary=False, offers_secondary=True)
            item.update({k: v for k, v in row.items() if k not in ("kind",)})
        item["name"] = f"School {item['id']}"
        full.append(item)
    geometry = [shapely.Point(X0 + float(r["miles"]) * MILE, Y0) for r in full]  # type: ignore[arg-type]
    return gpd.GeoDataFrame(full, geometry=geometry, crs=settings.MEASURE_CRS)


def pupils(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Children at the home (x = 0) unless ``at`` miles is given."""
    points = [shapely.Point(X0 + float(r.pop("at", 0.0)) * MILE, Y0) for r in rows]  # type: ignore[arg-type]
    return gpd.GeoDataFrame(rows, geometry=points, crs=settings.MEASURE_CRS)


def one(result: gpd.GeoDataFrame, ident: str) -> dict[str, object]:
    return dict(result.set_index("id").loc[ident])


# --------------------------------------------------------------------------- the standard rule


def test_exactly_two_miles_is_not_eligible_and_just_over_is() -> None:
    # one primary 2 miles from the home; a second home 1 m further out on the same street
    graph = street([2.0])
    provider = schools([{"id": "P", "miles": 2.0}])
    kids = pupils(
        [
            {"id": "at", "age": 6},
            {"id": "over", "age": 6, "at": -1 / MILE},  # 2 miles + 1 m
        ]
    )
    graph.add_node(99, x=X0 - 1.0, y=Y0)
    graph.add_edge(0, 99, length=1.0)
    graph.add_edge(99, 0, length=1.0)
    result = assess_eligibility(kids, provider, walk_network=graph)
    at, over = one(result, "at"), one(result, "over")
    assert at["walk_miles"] == pytest.approx(2.0, abs=1e-9)
    assert at["eligible"] is False or at["eligible"] == False  # noqa: E712
    assert at["rule"] == "within 2 miles"
    assert over["walk_miles"] == pytest.approx(2.0 + 1 / MILE, abs=1e-3)
    assert bool(over["eligible"]) and over["rule"] == RULE_UNDER_8


def test_a_child_of_7_and_of_8_at_the_same_home() -> None:
    # the primary is 2.5 miles: over 2 (under 8), within 3 (8 and over)
    result = assess_eligibility(
        pupils([{"id": "seven", "age": 7}, {"id": "eight", "age": 8}]),
        schools([{"id": "P", "miles": 2.5}]),
        walk_network=street([2.5]),
    )
    seven, eight = one(result, "seven"), one(result, "eight")
    assert bool(seven["eligible"]) and seven["rule"] == RULE_UNDER_8
    assert seven["limit_miles"] == 2.0
    assert not bool(eight["eligible"]) and eight["rule"] == "within 3 miles"
    assert eight["limit_miles"] == 3.0 and eight["walk_miles"] == pytest.approx(2.5)


def test_nearest_suitable_school_skips_wrong_phase_sex_independent_and_full() -> None:
    provider = schools(
        [
            {"id": "SEC", "miles": 0.5, "kind": "secondary"},  # wrong phase for 9
            {"id": "IND", "miles": 1.0, "sector": "independent"},
            {"id": "BOYS", "miles": 1.5, "gender": "Boys"},  # a girl's, and unknown sex's
            {"id": "FULL", "miles": 2.0, "capacity": 100, "pupils": 100},
            {"id": "OK", "miles": 3.5},
        ]
    )
    kids = pupils([{"id": "girl", "age": 9, "sex": "girl"}, {"id": "boy", "age": 9, "sex": "boy"}])
    result = assess_eligibility(kids, provider, walk_network=street([0.5, 1.0, 1.5, 2.0, 3.5]))
    girl, boy = one(result, "girl"), one(result, "boy")
    assert girl["nearest_school_id"] == "OK" and bool(girl["eligible"])
    assert girl["rule"] == RULE_8_PLUS and girl["walk_miles"] == pytest.approx(3.5)
    assert boy["nearest_school_id"] == "BOYS" and not bool(boy["eligible"])
    # without capacity, the full school 2 miles away is the nearest for the girl
    loose = assess_eligibility(
        kids, provider, walk_network=street([0.5, 1.0, 1.5, 2.0, 3.5]), use_capacity=False
    )
    assert one(loose, "girl")["nearest_school_id"] == "FULL"


def test_a_pupil_at_a_school_other_than_the_nearest_is_not_eligible() -> None:
    result = assess_eligibility(
        pupils([{"id": "a", "age": 10, "school_id": "FAR"}]),
        schools([{"id": "NEAR", "miles": 3.2}, {"id": "FAR", "miles": 4.0}]),
        walk_network=street([3.2, 4.0]),
    )
    row = one(result, "a")
    assert row["school_id"] == "FAR" and row["nearest_school_id"] == "NEAR"
    assert not bool(row["eligible"]) and row["rule"] == RULE_NOT_NEAREST


# --------------------------------------------------------------------------- extended rights


SECONDARIES = [
    {"id": "S1", "miles": 1.0, "kind": "secondary"},
    {"id": "S2", "miles": 1.5, "kind": "secondary"},
    {"id": "S3", "miles": 5.0, "kind": "secondary"},
    {"id": "S4", "miles": 5.5, "kind": "secondary"},
    {"id": "RC", "miles": 14.0, "kind": "secondary", "religious_character": "Roman Catholic"},
    {"id": "RC2", "miles": 16.0, "kind": "secondary", "religious_character": "Roman Catholic"},
]
STOPS = [1.0, 1.5, 5.0, 5.5, 14.0, 16.0]


def _secondary(kids: list[dict[str, object]]) -> gpd.GeoDataFrame:
    return assess_eligibility(
        pupils(kids),
        schools(SECONDARIES),
        walk_network=street(STOPS),
        drive_network=street(STOPS, mode="drive"),
    )


def test_low_income_12_year_old_whose_third_nearest_school_is_5_miles_away() -> None:
    result = _secondary(
        [
            {"id": "third", "age": 12, "low_income": True, "school_id": "S3"},
            {"id": "fourth", "age": 12, "low_income": True, "school_id": "S4"},
            {"id": "not_low", "age": 12, "low_income": False, "school_id": "S3"},
            {"id": "any", "age": 12, "low_income": True},
        ]
    )
    third = one(result, "third")
    assert bool(third["eligible"]) and third["rule"] == RULE_LOW_INCOME_11_16
    assert third["walk_miles"] == pytest.approx(5.0) and third["road_miles"] == pytest.approx(5.0)
    assert not bool(one(result, "fourth")["eligible"])
    assert one(result, "fourth")["rule"] == RULE_NOT_NEAREST
    assert not bool(one(result, "not_low")["eligible"])
    # without a school named: eligible, to the third nearest (the first 2-6 miles of the three)
    anyone = one(result, "any")
    assert bool(anyone["eligible"]) and anyone["school_id"] == "S3"


def test_faith_school_at_14_miles_by_road_and_not_at_16() -> None:
    result = _secondary(
        [
            {
                "id": "rc",
                "age": 13,
                "low_income": True,
                "faith": "Roman Catholic",
                "school_id": "RC",
            },
            {"id": "rc_any", "age": 13, "low_income": True, "faith": "roman catholic"},
            {
                "id": "rc_far",
                "age": 13,
                "low_income": True,
                "faith": "Roman Catholic",
                "school_id": "RC2",
            },
        ]
    )
    rc = one(result, "rc")
    assert bool(rc["eligible"]) and rc["rule"] == RULE_FAITH
    assert rc["road_miles"] == pytest.approx(14.0)
    # unnamed: the three nearest come first (S3 at 5 miles)
    assert bool(one(result, "rc_any")["eligible"])
    assert not bool(one(result, "rc_far")["eligible"])


def test_low_income_8_to_10_over_two_miles() -> None:
    result = assess_eligibility(
        pupils([{"id": "poor", "age": 9, "low_income": True}, {"id": "not", "age": 9}]),
        schools([{"id": "P", "miles": 2.4}]),
        walk_network=street([2.4]),
    )
    assert one(result, "poor")["rule"] == RULE_LOW_INCOME_8_11
    assert bool(one(result, "poor")["eligible"])
    assert not bool(one(result, "not")["eligible"])


# --------------------------------------------------------------------------- unsafe routes


def _loop() -> nx.MultiDiGraph:
    """Home (0) to the school (1) 1.5 miles along the main road, or 3.5 miles round a lane."""
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS, geomap_mode="walk")
    graph.add_node(0, x=X0, y=Y0)
    graph.add_node(1, x=X0 + 1.5 * MILE, y=Y0)
    graph.add_node(2, x=X0 + 0.75 * MILE, y=Y0 + 1.0 * MILE)
    for u, v, miles in ((0, 1, 1.5), (0, 2, 1.75), (2, 1, 1.75)):
        graph.add_edge(u, v, length=miles * MILE)
        graph.add_edge(v, u, length=miles * MILE)
    return graph


def test_an_unsafe_road_lengthens_the_walk_or_leaves_none() -> None:
    kid = pupils([{"id": "k", "age": 9}])
    provider = schools([{"id": "P", "miles": 1.5}])
    road = gpd.GeoDataFrame(
        geometry=[shapely.Point(X0 + 0.75 * MILE, Y0).buffer(50)], crs=settings.MEASURE_CRS
    )
    safe = assess_eligibility(kid, provider, walk_network=_loop())
    assert not bool(one(safe, "k")["eligible"]) and one(safe, "k")["walk_miles"] == pytest.approx(
        1.5
    )
    longer = one(assess_eligibility(kid, provider, walk_network=_loop(), unsafe=road), "k")
    assert bool(longer["eligible"]) and longer["walk_miles"] == pytest.approx(3.5)
    assert longer["rule"] == "unsafe route: available walking route over 3 miles"
    lane = gpd.GeoDataFrame(
        geometry=[shapely.LineString([(X0 - 10, Y0 + 10), (X0 + 2 * MILE, Y0 + 10)]).buffer(200)],
        crs=settings.MEASURE_CRS,
    )  # covers every edge near the home
    none = one(assess_eligibility(kid, provider, walk_network=_loop(), unsafe=lane), "k")
    assert bool(none["eligible"]) and np.isnan(float(none["walk_miles"]))  # type: ignore[arg-type]
    assert none["rule"] == "unsafe route: no available walking route"


def test_unsafe_routes_need_a_walk_network() -> None:
    road = gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0).buffer(5)], crs=settings.MEASURE_CRS)
    with pytest.raises(InputError, match="walk network"):
        assess_eligibility(
            pupils([{"id": "k", "age": 9}]), schools([{"id": "P", "miles": 1}]), unsafe=road
        )


# --------------------------------------------------------------------------- estimates, ages, cost


def test_estimate_flags_cases_close_to_a_limit() -> None:
    # straight line 1.6 miles: estimate 2.08 miles (over 2, but within 25%): check by route
    # straight line 1.0 mile: estimate 1.3 miles, 2 miles is outside 1.3 x (1 ± 0.25)
    result = assess_eligibility(
        pupils([{"id": "close", "age": 6}, {"id": "clear", "age": 6, "at": 0.6}]),
        schools([{"id": "P", "miles": 1.6}]),
    )
    close, clear = one(result, "close"), one(result, "clear")
    assert close["walk_miles"] == pytest.approx(1.6 * 1.3, abs=1e-3)
    assert bool(close["eligible"]) and bool(close["check_by_route"])
    assert not bool(clear["eligible"]) and not bool(clear["check_by_route"])


def test_children_outside_school_age_are_not_assessed() -> None:
    with pytest.warns(UserWarning, match="not assessed"):
        result = assess_eligibility(
            pupils([{"id": "baby", "age": 3}]), schools([{"id": "P", "miles": 5}])
        )
    row = one(result, "baby")
    assert row["eligible"] is None or row["eligible"] is np.nan or str(row["eligible"]) == "<NA>"
    assert row["rule"] == RULE_NOT_SCHOOL_AGE


def test_cost_is_count_times_cost_per_pupil() -> None:
    result = assess_eligibility(
        pupils([{"id": "a", "age": 6}, {"id": "b", "age": 6}, {"id": "c", "age": 9}]),
        schools([{"id": "P", "miles": 2.5}]),
        walk_network=street([2.5]),
    )
    cost = transport_cost(result, cost_per_pupil=1000.0)
    total = cost.iloc[-1]
    assert total["rule"] == "all eligible" and total["eligible"] == 2
    assert total["annual_cost"] == 2000.0


def test_reference_on_random_streets() -> None:
    """The standard rule against a brute force: networkx shortest paths and the limits."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        stops = sorted(set(np.round(rng.uniform(0.1, 6.0, 5), 3)))
        graph = street(stops)
        provider = schools([{"id": f"P{i}", "miles": m} for i, m in enumerate(stops)])
        ages = rng.integers(5, 11, 4)
        kids = pupils([{"id": f"k{i}", "age": int(a)} for i, a in enumerate(ages)])
        result = assess_eligibility(kids, provider, walk_network=graph)
        lengths = nx.single_source_dijkstra_path_length(graph, 0, weight="length")
        nearest = min(lengths[i + 1] for i in range(len(stops))) / MILE
        for i, age in enumerate(ages):
            row = one(result, f"k{i}")
            limit = 2.0 if age < 8 else 3.0
            assert row["walk_miles"] == pytest.approx(nearest, abs=1e-3)
            assert bool(row["eligible"]) == (nearest * MILE > limit * MILE + 1e-3)


# --------------------------------------------------------------------------- pupil files


@pytest.mark.parametrize(
    ("text", "error", "where"),
    [
        ("id,postcode\n1,HR1 1AA\n", MissingColumnError, "age"),
        ("id,postcode,age\n1,HR1 1AA,seven\n", InputError, "row 2, column 'age'"),
        ("id,postcode,age\n1,HR1 1AA,7\n2,HR1 1AA,\n", InputError, "row 3, column 'age'"),
        ("id,postcode,age\n1,ZZ9 9ZZ,7\n", PostcodeError, "row 2, column 'postcode'"),
        ("id,postcode,age,low_income\n1,HR1 1AA,7,maybe\n", InputError, "column 'low_income'"),
    ],
)
def test_bad_pupil_files(tmp_path: Path, text: str, error: type[Exception], where: str) -> None:
    path = tmp_path / "pupils.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error) as caught:
        read_pupils(path, postcodes=POSTCODES)
    assert "pupils.csv" in str(caught.value) and where in str(caught.value)


def test_good_pupil_file(tmp_path: Path) -> None:
    path = tmp_path / "pupils.csv"
    path.write_text(
        "id,postcode,age,low_income,faith\n1,HR1 1AA,7,yes,Roman Catholic\n2,HR1 1AB,12,no,\n",
        encoding="utf-8",
    )
    read = read_pupils(path, postcodes=POSTCODES)
    assert list(read["low_income"]) == [True, False]
    assert read.geometry.iloc[0].x == 351418 and read.geometry.iloc[0].y == 240501


# --------------------------------------------------------------------------- the command


def test_cli_every_postcode_in_the_county(tmp_path: Path) -> None:
    out = tmp_path / "eligibility"
    run = CliRunner().invoke(main, ["eligibility", "--postcodes", "--out", str(out)])
    assert run.exit_code == 0, run.output
    for name in ("eligibility.csv", "counts.csv", "cost.csv", "eligibility_map.html"):
        assert (out / name).is_file()
    import pandas as pd

    table = pd.read_csv(out / "eligibility.csv", encoding="utf-8-sig")
    for column in ("id", "school_id", "walk_miles", "road_miles", "eligible", "rule"):
        assert column in table.columns
    assert table["eligible"].any() and not table["eligible"].all()
    cost = pd.read_csv(out / "cost.csv", encoding="utf-8-sig")
    total = cost.iloc[-1]
    assert total["annual_cost"] == pytest.approx(total["eligible"] * 1526.0, abs=1)
    assert "National Audit Office" in total["source"]
    assert "check by route" in (out / "eligibility_map.html").read_text(encoding="utf-8")


def test_cli_needs_pupils_or_postcodes(tmp_path: Path) -> None:
    run = CliRunner().invoke(main, ["eligibility", "--out", str(tmp_path / "o")])
    assert run.exit_code == 1 and "--pupils" in run.output


def test_the_walk_is_measured_along_the_street_from_the_home_or_from_its_nearest_node() -> None:
    # a lane of two long edges: junction 0 at 0 miles, 1 at 1.5 miles, 2 at 4 miles; the
    # school at 4 miles, the home on the lane at 1.9 miles and 100 m off it
    graph = street([1.5, 4.0])
    provider = schools([{"id": "P", "miles": 4.0}])
    kids = gpd.GeoDataFrame(
        [{"id": "h", "age": 9}],
        geometry=[shapely.Point(X0 + 1.9 * MILE, Y0 + 100.0)],
        crs=settings.MEASURE_CRS,
    )
    from_home = one(assess_eligibility(kids, provider, walk_network=graph), "h")
    # along the street from where the home joins it (2.1 miles) plus the 100 m leg
    assert from_home["walk_miles"] == pytest.approx(2.1 + 100 / MILE, abs=5e-4)  # 3 decimals
    assert from_home["eligible"] == False  # noqa: E712  (under the 3-mile limit at 9)
    from_node = one(assess_eligibility(kids, provider, walk_network=graph, start="node"), "h")
    # from the nearer end of its street along it: junction 1 at 1.5 miles, 2.5 miles on
    assert from_node["walk_miles"] == pytest.approx(2.5, abs=5e-4)
