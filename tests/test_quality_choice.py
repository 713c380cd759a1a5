"""Quality-aware access, choice within a reasonable journey, and journey-time bands.

Hand-worked cases on fixed tables of times, the straight-line estimate on
points placed along a line, brute-force references on random instances, and
sanity checks on the shipped data.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.errors import InputError, InputWarning, MissingColumnError, UnknownKindError
from geomap.gaps import (
    GOOD_NOTE,
    JTS_BANDS_NOTE,
    choice,
    coverage,
    is_good,
    nearest_by_kind,
    quality_access,
    rating_known,
    share_within_bands,
    summarise_quality,
)
from geomap.travel.base import TravelTimes
from geomap.travel.estimate import default_estimate

# --------------------------------------------------------------------------- helpers


def _points(ids, xs):
    return gpd.GeoDataFrame(
        {"id": list(ids)},
        geometry=[shapely.Point(x, 0) for x in xs],
        crs=settings.MEASURE_CRS,
    )


def _providers(rows):
    """Providers from (id, name, kind, sector, rating, x) rows, placed along y = 0."""
    frame = pd.DataFrame(rows, columns=["id", "name", "kind", "sector", "rating", "x"])
    for phase in ("early_years", "primary", "secondary", "post16"):
        frame[f"offers_{phase}"] = frame["kind"] == phase
    frame["in_county"] = True
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy(frame["x"], np.zeros(len(frame))),
        crs=settings.MEASURE_CRS,
    )


class Table(TravelTimes):
    """Fixed minutes per (origin, destination); pairs not in the table have no journey."""

    method = "test:table"

    def __init__(self, times, *, mode="car"):
        self.times = dict(times)
        self.mode = mode
        self.nearest_calls = []
        self.matrix_calls = []

    def describe(self):
        return "fixed table of times"

    def matrix(self, origins, destinations):
        self.matrix_calls.append(len(destinations))
        rows = [
            (o, d, self.times.get((o, d), math.nan))
            for o in origins["id"]
            for d in destinations["id"]
        ]
        return pd.DataFrame(
            {
                "from_id": [r[0] for r in rows],
                "to_id": [r[1] for r in rows],
                "minutes": np.array([r[2] for r in rows], dtype=float),
                "method": self.method,
            }
        )

    def nearest(self, origins, destinations):
        self.nearest_calls.append(tuple(destinations["id"]))
        return super().nearest(origins, destinations)


def _records(frame, columns):
    """Rows as dicts with every missing value as None, for exact comparison."""
    part = frame[list(columns)].astype(object)
    return [
        {c: (None if pd.isna(v) else v) for c, v in row.items()} for row in part.to_dict("records")
    ]


# --------------------------------------------------------------------------- ratings


@pytest.mark.parametrize(
    ("rating", "good", "known"),
    [
        ("Good", True, True),
        ("good", True, True),
        ("  GOOD ", True, True),
        ("Outstanding", True, True),
        ("outstanding\t", True, True),
        ("1", True, True),
        ("2", True, True),
        ("2.0", True, True),
        (1.0, True, True),
        ("3", False, True),
        ("4", False, True),
        ("Requires Improvement", False, True),
        ("requires_improvement", False, True),
        ("Requires-improvement", False, True),
        ("Satisfactory", False, True),
        ("Inadequate", False, True),
        ("Serious Weaknesses", False, True),
        ("Special Measures", False, True),
        (None, False, False),
        (math.nan, False, False),
        (pd.NA, False, False),
        ("", False, False),
        ("Met", False, False),
        ("Not met", False, False),
        ("Excellent", False, False),
        ("5", False, False),
        ("12", False, False),
        ("Good school", False, False),
    ],
)
def test_rating_spellings(rating, good, known):
    ratings = pd.Series(["Good", rating], index=["x", "y"], dtype=object)
    got_good, got_known = is_good(ratings), rating_known(ratings)
    assert got_good.dtype == bool and got_known.dtype == bool
    assert list(got_good.index) == ["x", "y"]
    assert bool(got_good["y"]) == good
    assert bool(got_known["y"]) == known


def test_rating_of_a_string_column_with_missing_values():
    ratings = pd.Series(["Good", None, "Inadequate", "1"], dtype="string")
    assert is_good(ratings).tolist() == [True, False, False, True]
    assert rating_known(ratings).tolist() == [True, False, True, True]


# --------------------------------------------------------------------------- quality_access, hand-worked


@pytest.fixture
def quality_case():
    """Six areas and four primary schools, with fixed car times.

    ======  ====================================================================
    area    journeys (minutes)
    ======  ====================================================================
    A       good 5, ri 8                       nearest is good: extra 0
    B       ri 4, good 10                      nearest requires improvement: extra 6
    C       ri 3 (nothing good reachable)      minutes_good NaN, still counted below good
    D       unrated 2, good 7                  nearest unrated: extra 5, not below good
    E       no journey at all                  everything missing, no flag
    F       ri 6, good 6                       a tie: the good one is the nearest
    ======  ====================================================================

    The independent school (outstanding) is 1 minute from every area but is not
    counted unless asked.
    """
    areas = ["A", "B", "C", "D", "E", "F"]
    origins = _points(areas, range(6))
    providers = _providers(
        [
            # listed first, so that a search that broke ties by order would pick it
            ("ri", "RI School", "primary", "academy", "Requires Improvement", 1),
            ("good", "Good School", "primary", "maintained", "Good", 0),
            ("unrated", "New School", "primary", "academy", None, 2),
            ("indep", "Fee School", "primary", "independent", "Outstanding", 3),
        ]
    )
    times = {
        ("A", "good"): 5.0,
        ("A", "ri"): 8.0,
        ("B", "ri"): 4.0,
        ("B", "good"): 10.0,
        ("C", "ri"): 3.0,
        ("D", "unrated"): 2.0,
        ("D", "good"): 7.0,
        ("F", "ri"): 6.0,
        ("F", "good"): 6.0,
    }
    times.update({(a, "indep"): 1.0 for a in areas if a != "E"})
    children = pd.DataFrame(
        {"primary": [10, 20, 30, 40, 50, 60], "secondary": 1},
        index=pd.Index(areas, name="area_id"),
    )
    return origins, providers, children, Table(times)


COLUMNS = (
    "area_id",
    "kind",
    "mode",
    "method",
    "minutes_any",
    "provider_any_id",
    "provider_any_name",
    "provider_any_rating",
    "minutes_good",
    "provider_good_id",
    "provider_good_name",
    "extra_minutes",
    "nearest_below_good",
    "nearest_unrated",
    "children",
    "children_nearest_below_good",
)


def _row(area, any_, good, extra, below, unrated, kids):
    names = {
        "good": ("Good School", "Good"),
        "ri": ("RI School", "Requires Improvement"),
        "unrated": ("New School", None),
        "indep": ("Fee School", "Outstanding"),
    }
    any_id, any_min = any_ if any_ else (None, None)
    good_id, good_min = good if good else (None, None)
    return {
        "area_id": area,
        "kind": "primary",
        "mode": "car",
        "method": "test:table",
        "minutes_any": any_min,
        "provider_any_id": any_id,
        "provider_any_name": names[any_id][0] if any_id else None,
        "provider_any_rating": names[any_id][1] if any_id else None,
        "minutes_good": good_min,
        "provider_good_id": good_id,
        "provider_good_name": names[good_id][0] if good_id else None,
        "extra_minutes": extra,
        "nearest_below_good": below,
        "nearest_unrated": unrated,
        "children": kids,
        "children_nearest_below_good": kids if below else 0,
    }


def test_quality_access_hand_worked(quality_case):
    origins, providers, children, travel = quality_case
    table = quality_access(
        origins, providers, children, travel, kinds=["primary"], ratings_note="Ofsted, 2020"
    )
    assert tuple(table.columns) == COLUMNS
    expected = [
        _row("A", ("good", 5.0), ("good", 5.0), 0.0, False, False, 10),
        _row("B", ("ri", 4.0), ("good", 10.0), 6.0, True, False, 20),
        _row("C", ("ri", 3.0), None, None, True, False, 30),
        _row("D", ("unrated", 2.0), ("good", 7.0), 5.0, False, True, 40),
        _row("E", None, None, None, False, False, 50),
        _row("F", ("good", 6.0), ("good", 6.0), 0.0, False, False, 60),
    ]
    assert _records(table, COLUMNS) == expected
    assert table["nearest_below_good"].dtype == bool and table["nearest_unrated"].dtype == bool
    assert table.attrs["ratings_note"] == "Ofsted, 2020"
    assert table.attrs["good_note"] == GOOD_NOTE
    assert "Outstanding or Good" in GOOD_NOTE
    assert table.attrs["description"] == "fixed table of times"
    assert table.attrs["providers"] == {"primary": 3}
    assert table.attrs["unrated_providers"] == {"primary": 1}
    # one search among all three, one among the good one only
    assert travel.nearest_calls == [("ri", "good", "unrated"), ("good",)]


def test_quality_access_counts_independent_schools_when_asked(quality_case):
    origins, providers, children, travel = quality_case
    table = quality_access(
        origins, providers, children, travel, kinds=["primary"], include_independent=True
    ).set_index("area_id")
    # the outstanding independent school, 1 minute away, is everyone's nearest (but E's)
    reached = table.drop(index="E")
    assert (reached["provider_any_id"] == "indep").all()
    assert (reached["provider_good_id"] == "indep").all()
    assert (reached["extra_minutes"] == 0).all() and not reached["nearest_below_good"].any()
    assert math.isnan(table.loc["E", "minutes_any"])


def test_quality_access_asks_once_when_every_provider_is_good(quality_case):
    origins, providers, children, travel = quality_case
    only_good = providers[providers["id"] == "good"]
    table = quality_access(origins, only_good, children, travel, kinds=["primary"])
    assert travel.nearest_calls == [("good",)]
    assert (table["minutes_any"].fillna(-1) == table["minutes_good"].fillna(-1)).all()


def test_quality_access_with_no_good_provider(quality_case):
    origins, providers, children, travel = quality_case
    poor = providers[providers["id"].isin(["ri", "unrated"])]
    table = quality_access(origins, poor, children, travel, kinds=["primary"])
    assert table["minutes_good"].isna().all() and table["extra_minutes"].isna().all()
    # no search among no providers
    assert travel.nearest_calls[0] == ("ri", "unrated") and len(travel.matrix_calls) == 1
    assert table["children"].sum() == 210
    assert table.set_index("area_id").loc["B", "children_nearest_below_good"] == 20


def test_quality_access_on_the_estimate_along_a_line():
    """One area at x = 0; a school requiring improvement at 500 m, a good one at 1,500 m."""
    walk = default_estimate("walk")
    origins = _points(["home"], [0.0])
    providers = _providers(
        [
            ("near", "Near", "primary", "maintained", "Requires improvement", 500),
            ("far", "Far", "primary", "maintained", "good", 1500),
            ("farther", "Farther", "primary", "maintained", "Outstanding", 2500),
        ]
    )
    children = pd.DataFrame({"primary": [7]}, index=pd.Index(["home"], name="area_id"))
    row = quality_access(origins, providers, children, walk, kinds=["primary"]).iloc[0]
    near, far = walk.minutes_for_km([0.5, 1.5])  # the estimate's times are to 0.01 min
    assert row["mode"] == "walk"
    assert row["provider_any_id"] == "near" and row["minutes_any"] == pytest.approx(near, abs=0.01)
    assert row["provider_good_id"] == "far" and row["minutes_good"] == pytest.approx(far, abs=0.01)
    assert row["extra_minutes"] == pytest.approx(far - near, abs=0.02) and row["extra_minutes"] > 0
    assert row["nearest_below_good"] and row["children_nearest_below_good"] == 7


def test_unrecognised_ratings_warn_and_count_as_unrated(quality_case):
    origins, providers, children, travel = quality_case
    providers = providers.copy()
    providers.loc[providers["id"] == "ri", "rating"] = "Excellent"
    with pytest.warns(InputWarning, match=r"1 providers .*'Excellent'"):
        table = quality_access(origins, providers, children, travel, kinds=["primary"])
    b = table.set_index("area_id").loc["B"]
    assert b["nearest_unrated"] and not b["nearest_below_good"]


def test_missing_ratings_do_not_warn(quality_case):
    origins, providers, children, travel = quality_case
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        quality_access(origins, providers, children, travel, kinds=["primary"])


def _drop_rating(providers):
    return providers.drop(columns="rating")


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda p, c: (_drop_rating(p), c, ["primary"]), MissingColumnError, "rating"),
        (lambda p, c: (p, c.drop(columns="primary"), ["primary"]), InputError, "age band"),
        (lambda p, c: (p, c, ["nursery"]), UnknownKindError, "nursery"),
    ],
)
def test_quality_access_bad_inputs(quality_case, change, error, match):
    origins, providers, children, travel = quality_case
    providers, children, kinds = change(providers, children)
    with pytest.raises(error, match=match):
        quality_access(origins, providers, children, travel, kinds=kinds)


def test_summarise_quality_hand_worked(quality_case):
    origins, providers, children, travel = quality_case
    table = quality_access(origins, providers, children, travel, kinds=["primary"])
    lookup = pd.Series(
        {"A": "north", "B": "north", "C": "north", "D": "south", "E": "south", "F": "south"}
    )
    names = pd.Series({"north": "North ward", "south": "South ward"})
    summary = summarise_quality(table, lookup, names=names).set_index("group_id")
    north, south = summary.loc["north"], summary.loc["south"]
    assert north["group_name"] == "North ward"
    assert (north["areas"], north["children"]) == (3, 60)
    # B (20) and C (30) have a nearest below good
    assert north["children_nearest_below_good"] == 50
    assert north["share_nearest_below_good"] == round(50 / 60, 3)
    assert north["children_no_good"] == 30
    # C has no good school within reach, left out: (10*0 + 20*6) / 30 = 4
    assert north["mean_extra_minutes"] == 4.0
    assert (south["areas"], south["children"]) == (3, 150)
    assert south["children_nearest_below_good"] == 0 and south["share_nearest_below_good"] == 0
    assert south["children_nearest_unrated"] == 40 and south["children_no_good"] == 50
    # (40*5 + 60*0) / 100 = 2; E unreachable left out
    assert south["mean_extra_minutes"] == 2.0
    assert summary.attrs["good_note"] == GOOD_NOTE


# --------------------------------------------------------------------------- choice, hand-worked


def test_choice_hand_worked():
    """Threshold 10 minutes by car: a journey of exactly 10 is within, no journey is not."""
    origins = _points(["A", "B", "C"], [0, 1, 2])
    providers = _providers(
        [
            ("p1", "One", "primary", "maintained", "Good", 0),
            ("p2", "Two", "primary", "academy", "Inadequate", 0),
            ("p3", "Three", "primary", "academy", "1", 0),
            ("ind", "Fee", "primary", "independent", "Outstanding", 0),
        ]
    )
    times = {
        ("A", "p1"): 5.0,
        ("A", "p2"): 10.0,
        ("A", "p3"): 10.5,
        ("A", "ind"): 1.0,
        ("C", "p3"): 3.0,
        ("C", "ind"): 1.0,
    }
    children = pd.DataFrame({"primary": [4, 5, 6]}, index=pd.Index(["A", "B", "C"]))
    travel = Table(times)
    got = choice(
        origins, providers, children, travel, kinds=["primary"], thresholds={"car": {"primary": 10}}
    )
    assert list(got.columns) == [
        "area_id",
        "kind",
        "mode",
        "threshold",
        "providers_within",
        "good_within",
        "children",
        "no_choice",
        "one_choice",
    ]
    assert _records(got, got.columns) == [
        {"area_id": "A", "kind": "primary", "mode": "car", "threshold": 10.0,
         "providers_within": 2, "good_within": 1, "children": 4, "no_choice": False, "one_choice": False},
        {"area_id": "B", "kind": "primary", "mode": "car", "threshold": 10.0,
         "providers_within": 0, "good_within": 0, "children": 5, "no_choice": True, "one_choice": False},
        {"area_id": "C", "kind": "primary", "mode": "car", "threshold": 10.0,
         "providers_within": 1, "good_within": 1, "children": 6, "no_choice": False, "one_choice": True},
    ]  # fmt: skip
    assert travel.matrix_calls == [3]  # the independent school is not asked about
    assert got.attrs["description"] == "fixed table of times"
    assert "as set for this run" in got.attrs["threshold_source"]
    with_independent = choice(
        origins, providers, children, Table(times), kinds=["primary"], include_independent=True,
        thresholds={"car": {"primary": 10}},
    )  # fmt: skip
    assert with_independent["providers_within"].tolist() == [3, 0, 2]
    assert with_independent["good_within"].tolist() == [2, 0, 2]


def test_choice_uses_the_default_threshold_of_the_mode():
    origins = _points(["A"], [0])
    providers = _providers([("p", "P", "primary", "maintained", "Good", 0)])
    children = pd.DataFrame({"primary": [1]}, index=["A"])
    walk_limit = settings.THRESHOLDS["walk"]["primary"]
    inside = choice(origins, providers, children, Table({("A", "p"): walk_limit}, mode="walk"),
                    kinds=["primary"])  # fmt: skip
    outside = choice(origins, providers, children, Table({("A", "p"): walk_limit + 0.1}, mode="walk"),
                     kinds=["primary"])  # fmt: skip
    assert inside["threshold"].iloc[0] == walk_limit
    assert inside["providers_within"].iloc[0] == 1 and outside["providers_within"].iloc[0] == 0
    assert inside.attrs["threshold_source"] == settings.THRESHOLD_SOURCES["walk"]


def test_choice_with_no_providers_of_a_kind():
    origins = _points(["A", "B"], [0, 1])
    providers = _providers([("p", "P", "primary", "maintained", "Good", 0)])
    children = pd.DataFrame({"primary": [1, 2], "secondary": [3, 4]}, index=["A", "B"])
    travel = Table({("A", "p"): 1.0})
    got = choice(origins, providers, children, travel, kinds=["secondary"])
    assert got["no_choice"].all() and got["children"].tolist() == [3, 4]
    assert travel.matrix_calls == []


@pytest.mark.parametrize(
    ("options", "mode", "error", "match"),
    [
        ({}, "boat", InputError, "no thresholds for mode 'boat'"),
        ({"thresholds": {"car": {"primary": -1}}}, "car", InputError, "positive"),
        ({"thresholds": {"tram": {"primary": 5}}}, "car", InputError, "tram"),
        ({"kinds": ["nursery"]}, "car", InputError, "nursery"),
        ({"kinds": ["secondary"]}, "car", InputError, "age band"),
    ],
)
def test_choice_bad_inputs(options, mode, error, match):
    origins = _points(["A"], [0])
    providers = _providers([("p", "P", "primary", "maintained", "Good", 0)])
    children = pd.DataFrame({"primary": [1]}, index=["A"])
    options = {"kinds": ["primary"], **options}
    with pytest.raises(error, match=match):
        choice(origins, providers, children, Table({}, mode=mode), **options)


def test_choice_needs_ratings():
    origins = _points(["A"], [0])
    providers = _providers([("p", "P", "primary", "maintained", "Good", 0)]).drop(columns="rating")
    with pytest.raises(MissingColumnError, match="rating"):
        choice(origins, providers, pd.DataFrame({"primary": [1]}, index=["A"]), Table({}),
               kinds=["primary"])  # fmt: skip


# --------------------------------------------------------------------------- random instances against brute force


RATINGS = ["Outstanding", "Good", "Requires Improvement", "Inadequate", None, "2", "good "]


def _random_case(seed):
    rng = np.random.default_rng(seed)
    n_areas, n_providers = int(rng.integers(1, 12)), int(rng.integers(0, 15))
    areas = [f"a{i}" for i in range(n_areas)]
    rows = [
        (
            f"p{j}",
            f"Provider {j}",
            str(rng.choice(["primary", "secondary"])),
            str(rng.choice(["maintained", "academy", "independent"])),
            RATINGS[int(rng.integers(len(RATINGS)))],
            float(j),
        )
        for j in range(n_providers)
    ]
    providers = _providers(rows)
    # continuous times (no ties), a fifth of the pairs with no journey
    times = {
        (a, p[0]): float(rng.uniform(0, 60)) for a in areas for p in rows if rng.uniform() > 0.2
    }
    children = pd.DataFrame(
        {"primary": rng.integers(0, 100, n_areas), "secondary": rng.integers(0, 100, n_areas)},
        index=areas,
    )
    return _points(areas, range(n_areas)), providers, children, times, rows


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("include_independent", [False, True])
def test_choice_matches_a_brute_force_count(seed, include_independent):
    origins, providers, children, times, rows = _random_case(seed)
    limits = {"primary": 25.0, "secondary": 40.0}
    got = choice(
        origins, providers, children, Table(times), kinds=["primary", "secondary"],
        thresholds={"car": limits}, include_independent=include_independent,
    ).set_index(["area_id", "kind"])  # fmt: skip
    good_texts = {"outstanding", "good", "2"}
    for area in origins["id"]:
        for kind in ("primary", "secondary"):
            within = [
                r
                for r in rows
                if r[2] == kind
                and (include_independent or r[3] != "independent")
                and times.get((area, r[0]), math.inf) <= limits[kind]
            ]
            good = [r for r in within if r[4] is not None and r[4].strip().lower() in good_texts]
            row = got.loc[(area, kind)]
            assert row["providers_within"] == len(within)
            assert row["good_within"] == len(good)
            assert row["no_choice"] == (len(within) == 0) and row["one_choice"] == (
                len(within) == 1
            )
            assert row["children"] == children.loc[area, kind]
            assert row["threshold"] == limits[kind]


@pytest.mark.parametrize("seed", range(12))
def test_quality_access_matches_brute_force(seed):
    origins, providers, children, times, rows = _random_case(seed)
    table = quality_access(
        origins, providers, children, Table(times), kinds=["primary", "secondary"]
    ).set_index(["area_id", "kind"])
    good_texts = {"outstanding", "good", "2"}
    below_texts = {"requires improvement", "inadequate"}
    for area in origins["id"]:
        for kind in ("primary", "secondary"):
            reach = sorted(
                (times[(area, r[0])], r)
                for r in rows
                if r[2] == kind and r[3] != "independent" and (area, r[0]) in times
            )
            good = [
                (t, r) for t, r in reach if r[4] is not None and r[4].strip().lower() in good_texts
            ]
            row = table.loc[(area, kind)]
            if not reach:
                assert math.isnan(row["minutes_any"]) and pd.isna(row["provider_any_id"])
                assert not row["nearest_below_good"] and not row["nearest_unrated"]
                continue
            t_any, nearest = reach[0]
            assert row["provider_any_id"] == nearest[0] and row["minutes_any"] == t_any
            rating = None if nearest[4] is None else nearest[4].strip().lower()
            assert row["nearest_unrated"] == (rating is None)
            assert row["nearest_below_good"] == (rating in below_texts)
            assert row["children_nearest_below_good"] == (
                children.loc[area, kind] if rating in below_texts else 0
            )
            if good:
                assert row["provider_good_id"] == good[0][1][0]
                assert row["extra_minutes"] == pytest.approx(good[0][0] - t_any)
            else:
                assert math.isnan(row["minutes_good"]) and math.isnan(row["extra_minutes"])


# --------------------------------------------------------------------------- journey-time bands


def _cover():
    """Primary by car: 5 areas at 10, 30, 40, no journey and 60 minutes; secondary with no children."""
    return pd.DataFrame(
        {
            "area_id": ["a", "b", "c", "d", "e", "a", "b"],
            "kind": ["primary"] * 5 + ["secondary"] * 2,
            "mode": "car",
            "minutes": [10.0, 30.0, 40.0, math.nan, 60.0, 5.0, 20.0],
            "children": [10, 20, 25, 40, 5, 0, 0],
        }
    )


def test_share_within_bands_hand_worked():
    got = share_within_bands(_cover())
    assert list(got.columns) == [
        "kind",
        "mode",
        "minutes",
        "children",
        "children_within",
        "share_within",
    ]
    primary = got[got["kind"] == "primary"]
    assert primary["minutes"].tolist() == [15.0, 30.0, 45.0, 60.0]
    assert primary["children"].tolist() == [100] * 4
    # 15: a (10); 30: + b (20, exactly 30 counts); 45: + c (25); 60: + e (5); d never
    assert primary["children_within"].tolist() == [10, 30, 55, 60]
    assert primary["share_within"].tolist() == [0.1, 0.3, 0.55, 0.6]
    secondary = got[got["kind"] == "secondary"]
    assert secondary["children_within"].tolist() == [0, 0, 0, 0]
    assert secondary["share_within"].isna().all()
    assert got.attrs["bands_note"] == JTS_BANDS_NOTE
    assert "DfT Journey Time Statistics" in JTS_BANDS_NOTE


def test_share_within_own_bands_by_mode():
    cover = pd.concat([_cover(), _cover().assign(mode="walk", minutes=lambda f: f["minutes"] * 2)])
    got = share_within_bands(cover, bands=[50, 20])
    walk = got[(got["mode"] == "walk") & (got["kind"] == "primary")]
    assert walk["minutes"].tolist() == [20.0, 50.0]
    assert walk["children_within"].tolist() == [10, 10]
    assert got.attrs["bands_note"] == "journey-time bands as given (20, 50 minutes)"
    assert len(got) == 2 * 2 * 2


@pytest.mark.parametrize("seed", range(8))
def test_share_within_bands_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    minutes = rng.uniform(0, 90, n)
    minutes[rng.uniform(size=n) < 0.2] = math.nan
    cover = pd.DataFrame(
        {
            "kind": rng.choice(["primary", "secondary"], n),
            "mode": rng.choice(["car", "walk"], n),
            "minutes": minutes,
            "children": rng.integers(0, 50, n),
        }
    )
    got = share_within_bands(cover).set_index(["kind", "mode", "minutes"])
    for (kind, mode, band), row in got.iterrows():
        rows = [r for r in cover.itertuples() if r.kind == kind and r.mode == mode]
        total = sum(r.children for r in rows)
        within = sum(r.children for r in rows if r.minutes <= band)
        assert row["children"] == total and row["children_within"] == within
        if total:
            assert row["share_within"] == round(within / total, 3)
        else:
            assert math.isnan(row["share_within"])
    assert len(got) == 4 * len(cover.groupby(["kind", "mode"]))


@pytest.mark.parametrize("bands", [[], [0], [-5, 15], [math.nan], [math.inf]])
def test_share_within_bands_rejects_bad_bands(bands):
    with pytest.raises(InputError, match="bands"):
        share_within_bands(_cover(), bands=bands)


@pytest.mark.parametrize("column", ["kind", "mode", "minutes", "children"])
def test_share_within_bands_needs_its_columns(column):
    with pytest.raises(MissingColumnError, match=column):
        share_within_bands(_cover().drop(columns=column))


# --------------------------------------------------------------------------- shipped data


@pytest.fixture(scope="module")
def shipped_quality(shipped_inputs):
    car = default_estimate("car")
    inputs = shipped_inputs
    quality = quality_access(
        inputs.origins, inputs.providers, inputs.children, car, ratings_note=inputs.ratings_note
    )
    chosen = choice(inputs.origins, inputs.providers, inputs.children, car)
    near = nearest_by_kind(inputs.origins, inputs.providers, car)
    return quality, chosen, near


def test_shipped_quality_is_sane(shipped_inputs, shipped_quality):
    quality, _chosen, near = shipped_quality
    assert len(quality) == len(shipped_inputs.origins) * len(settings.ANALYSIS_KINDS)
    # the nearest of any rating is the gap analysis's nearest
    merged = quality.merge(near, on=["area_id", "kind", "mode"])
    assert np.allclose(merged["minutes_any"], merged["minutes"], equal_nan=True)
    extra = quality["extra_minutes"].dropna()
    assert (extra >= 0).all() and (extra > 0).any()
    assert (quality["nearest_below_good"] & quality["nearest_unrated"]).sum() == 0
    assert quality["nearest_below_good"].any()
    primary = quality[quality["kind"] == "primary"]
    assert primary["minutes_good"].notna().all()
    good_nearest = quality["extra_minutes"] == 0
    assert not (good_nearest & quality["nearest_below_good"]).any()
    assert quality.attrs["ratings_note"] == shipped_inputs.ratings_note
    assert quality.attrs["description"] == near.attrs["description"]


def test_shipped_choice_is_sane(shipped_inputs, shipped_quality):
    quality, chosen, near = shipped_quality
    primary = chosen[chosen["kind"] == "primary"]
    assert len(primary) == len(shipped_inputs.origins)
    assert (primary["threshold"] == 45).all()
    assert (primary["providers_within"] >= 1).all()
    assert (chosen["good_within"] <= chosen["providers_within"]).all()
    # some choice exactly where the nearest is within the threshold
    cover = coverage(near, shipped_inputs.children)
    merged = chosen.merge(cover, on=["area_id", "kind", "mode"])
    assert (merged["no_choice"] == merged["beyond"]).all()
    # a good provider within reach exactly where the nearest good one is
    both = chosen.merge(quality, on=["area_id", "kind", "mode"])
    assert ((both["good_within"] > 0) == (both["minutes_good"] <= both["threshold"])).all()
