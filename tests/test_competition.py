"""Competition between post-16 providers: a hand-worked case, a brute-force reference, the shipped data."""

from __future__ import annotations

import math
import random

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.errors import DuplicateIdError, InputError, InputWarning, MissingColumnError
from geomap.gaps import eligible_providers
from geomap.post16 import (
    CATCHMENT_COLUMNS,
    COMPETITION_COLUMNS,
    PAIR_COLUMNS,
    post16_catchments,
    post16_competition,
    young_people,
)
from geomap.travel.base import TravelTimes
from geomap.travel.estimate import default_estimate


class FixedTimes(TravelTimes):
    """Times from a fixed table of (area, provider) → minutes; no journey where absent."""

    mode = "car"
    method = "test:fixed"

    def __init__(self, table: dict[tuple[str, str], float]) -> None:
        self.table = table

    def describe(self) -> str:
        return "fixed test times"

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        pairs = [(a, p) for a in origins["id"] for p in destinations["id"]]
        return pd.DataFrame(
            {
                "from_id": [a for a, _ in pairs],
                "to_id": [p for _, p in pairs],
                "minutes": [self.table.get(pair, np.nan) for pair in pairs],
                "method": self.method,
            }
        )


def _origins(ids: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ids},
        geometry=[shapely.Point(1000.0 * i, 0.0) for i in range(len(ids))],
        crs=settings.MEASURE_CRS,
    )


def _providers(rows: list[tuple[str, str, str, str, float, bool]]) -> gpd.GeoDataFrame:
    """Providers from (id, name, kind, sector, students_16_18, in_county)."""
    frame = pd.DataFrame(
        rows, columns=["id", "name", "kind", "sector", "students_16_18", "in_county"]
    )
    for phase in ("early_years", "primary", "secondary", "post16"):
        frame[f"offers_{phase}"] = False
    frame["offers_post16"] = frame["kind"].isin(["sixth_form", "college"])
    frame["students_16_18"] = frame["students_16_18"].astype("Float64")
    frame["pupils"] = pd.array([pd.NA] * len(frame), dtype="Float64")
    frame["rating"] = "Good"
    return gpd.GeoDataFrame(
        frame,
        geometry=[shapely.Point(500.0 * i, 100.0) for i in range(len(frame))],
        crs=settings.MEASURE_CRS,
    )


# Five areas; A–D have young people, E has none.
YOUNG = pd.Series({"A": 10, "B": 20, "C": 30, "D": 60, "E": 0}, name="post16")

# P1 (small sixth form, in the county) reaches A, B, C;
# P2 (large college) reaches B, C, D, E;
# P3 (sixth form of unknown size, across the border) reaches E only.
# Limit 30 min: 30.0 is in, 30.5 is out, no journey (absent) is out.
TIMES = {
    ("A", "P1"): 5.0,
    ("B", "P1"): 12.0,
    ("C", "P1"): 30.0,
    ("D", "P1"): 30.5,
    ("B", "P2"): 20.0,
    ("C", "P2"): 8.0,
    ("D", "P2"): 15.0,
    ("E", "P2"): 25.0,
    ("A", "P2"): 45.0,
    ("E", "P3"): 10.0,
    ("D", "P3"): 31.0,
    # the independent school reaches everything, but is not counted by default
    ("A", "P4"): 1.0,
    ("B", "P4"): 1.0,
    ("C", "P4"): 1.0,
    ("D", "P4"): 1.0,
}


@pytest.fixture
def hand():
    origins = _origins(list("ABCDE"))
    providers = _providers(
        [
            ("P1", "Small Sixth Form", "sixth_form", "academy", 150.0, True),
            ("P2", "Big College", "college", "college", 1000.0, True),
            ("P3", "Border School", "sixth_form", "maintained", math.nan, False),
            ("P4", "Fee School", "sixth_form", "independent", 80.0, True),
            ("S1", "A Primary", "primary", "maintained", math.nan, True),
        ]
    )
    return origins, providers, FixedTimes(TIMES)


def test_catchments_by_hand(hand):
    origins, providers, travel = hand
    catch = post16_catchments(origins, providers, YOUNG, travel)
    assert list(catch.columns) == list(CATCHMENT_COLUMNS)
    got = {(p, a): (m, y) for p, a, m, y in catch.itertuples(index=False)}
    assert got == {
        ("P1", "A"): (5.0, 10),
        ("P1", "B"): (12.0, 20),
        ("P1", "C"): (30.0, 30),  # at the limit: in
        ("P2", "C"): (8.0, 30),
        ("P2", "D"): (15.0, 60),
        ("P2", "B"): (20.0, 20),
        ("P2", "E"): (25.0, 0),
        ("P3", "E"): (10.0, 0),
    }
    assert catch.attrs["minutes"] == settings.COMPETITION_MINUTES
    assert catch.attrs["mode"] == "car"
    # a shorter limit drops C from P1, and B and E from P2
    short = post16_catchments(origins, providers, YOUNG, travel, minutes=15)
    assert set(zip(short["provider_id"], short["area_id"], strict=True)) == {
        ("P1", "A"),
        ("P1", "B"),
        ("P2", "C"),
        ("P2", "D"),
        ("P3", "E"),
    }


def test_independent_schools_only_when_asked(hand):
    origins, providers, travel = hand
    default = post16_catchments(origins, providers, YOUNG, travel)
    assert "P4" not in set(default["provider_id"])
    assert "P4" not in set(post16_competition(default, providers).providers["provider_id"])
    everyone = post16_catchments(origins, providers, YOUNG, travel, include_independent=True)
    assert set(everyone.loc[everyone["provider_id"] == "P4", "area_id"]) == set("ABCD")
    table = post16_competition(everyone, providers).providers.set_index("provider_id")
    assert "P4" in table.index  # a provider with a catchment is never left out
    listed = post16_competition(default, providers, include_independent=True).providers
    assert "P4" in set(listed["provider_id"])
    # P4 reaches A–D: 10 + 20 + 30 + 60 = 120 young people; it covers all of P1's
    assert table.loc["P4", "catchment_young_people"] == 120
    assert table.loc["P1", "max_overlap_share"] == 1.0
    assert table.loc["P1", "most_overlapping_id"] == "P4"


def test_pairs_by_hand_are_asymmetric(hand):
    origins, providers, travel = hand
    result = post16_competition(post16_catchments(origins, providers, YOUNG, travel), providers)
    pairs = result.pairs
    assert list(pairs.columns[:3]) == ["provider_id", "other_id", "overlap_share"]
    assert list(pairs.columns) == list(PAIR_COLUMNS)
    by_pair = pairs.set_index(["provider_id", "other_id"])
    # P1 and P3 share no area: no row either way
    assert set(by_pair.index) == {("P1", "P2"), ("P2", "P1"), ("P2", "P3"), ("P3", "P2")}
    # P1's catchment A, B, C = 60; shared with P2: B, C = 50 → 50/60
    row = by_pair.loc[("P1", "P2")]
    assert row["catchment_young_people"] == 60 and row["shared_young_people"] == 50
    assert row["shared_areas"] == 2
    assert row["overlap_share"] == pytest.approx(50 / 60)
    assert row["overlapping"] is True or bool(row["overlapping"]) is True
    assert row["provider_name"] == "Small Sixth Form" and row["other_name"] == "Big College"
    # P2's catchment B, C, D, E = 110; shared with P1: 50 → 50/110 < 0.5
    row = by_pair.loc[("P2", "P1")]
    assert row["catchment_young_people"] == 110 and row["shared_young_people"] == 50
    assert row["overlap_share"] == pytest.approx(50 / 110)
    assert bool(row["overlapping"]) is False
    # P2 and P3 share E, where nobody lives
    row = by_pair.loc[("P2", "P3")]
    assert row["shared_young_people"] == 0 and row["overlap_share"] == 0.0
    assert bool(row["overlapping"]) is False
    # P3's catchment has no young people: its share is unknown, not zero
    row = by_pair.loc[("P3", "P2")]
    assert row["catchment_young_people"] == 0 and math.isnan(row["overlap_share"])
    assert row["overlapping"] is pd.NA
    # largest shares first
    assert pairs["provider_id"].iloc[0] == "P1"


def test_providers_by_hand(hand):
    origins, providers, travel = hand
    result = post16_competition(post16_catchments(origins, providers, YOUNG, travel), providers)
    table = result.providers
    assert list(table.columns) == list(COMPETITION_COLUMNS)
    assert set(table["provider_id"]) == {"P1", "P2", "P3"}
    t = table.set_index("provider_id")
    p1, p2, p3 = t.loc["P1"], t.loc["P2"], t.loc["P3"]
    assert (p1["catchment_areas"], p1["catchment_young_people"], p1["competitors"]) == (3, 60, 1)
    assert (p2["catchment_areas"], p2["catchment_young_people"], p2["competitors"]) == (4, 110, 1)
    # P3 shares area E with P2, but no young people: not a competitor
    assert (p3["catchment_areas"], p3["catchment_young_people"], p3["competitors"]) == (1, 0, 0)
    assert p1["max_overlap_share"] == pytest.approx(50 / 60)
    assert p2["max_overlap_share"] == pytest.approx(50 / 110)
    assert math.isnan(p3["max_overlap_share"])
    assert p1["most_overlapping_id"] == "P2" and p1["most_overlapping_name"] == "Big College"
    assert p2["most_overlapping_id"] == "P1"
    assert pd.isna(p3["most_overlapping_id"])
    # sizes: 150 < 200 is small; 1000 is not; unknown stays unknown (never zero)
    assert p1["size"] == 150 and p2["size"] == 1000 and math.isnan(p3["size"])
    assert p1["size_source"] == "16–18 students (students_16_18)"
    assert pd.isna(p3["size_source"])
    assert p1["small"] is True or bool(p1["small"]) is True
    assert bool(p2["small"]) is False
    assert p3["small"] is pd.NA
    # small and mostly covered: only P1
    assert bool(p1["small_and_covered"]) is True
    assert bool(p2["small_and_covered"]) is False
    assert p3["small_and_covered"] is pd.NA
    assert table["provider_id"].iloc[0] == "P1"
    assert bool(p3["in_county"]) is False and p1["kind"] == "sixth_form"
    assert p1["rating"] == "Good"
    # notes name the sources and the unknown size
    text = " ".join(result.notes)
    assert settings.COMPETITION_SOURCE in text
    assert settings.SMALL_SIXTH_FORM_SOURCE in text
    assert "1 of 3 providers have no known size (Border School)" in text
    assert "50%" in text and "not symmetric" in text


@pytest.mark.parametrize(
    ("size_p1", "overlap", "small_p1", "small_and_covered_p1"),
    [
        (150.0, 0.5, True, True),  # small, covered 50/60 ≥ 0.5
        (150.0, 0.9, True, False),  # small, but 50/60 < 0.9
        (200.0, 0.5, False, False),  # covered, but 200 is not under 200
        (math.nan, 0.5, pd.NA, pd.NA),  # covered, size unknown: unknown
        (math.nan, 0.9, pd.NA, False),  # not covered: not small-and-covered, whatever the size
    ],
)
def test_small_and_covered_only_when_both(hand, size_p1, overlap, small_p1, small_and_covered_p1):
    origins, providers, travel = hand
    providers = providers.copy()
    providers.loc[providers["id"] == "P1", "students_16_18"] = (
        pd.NA if math.isnan(size_p1) else size_p1
    )
    catch = post16_catchments(origins, providers, YOUNG, travel)
    p1 = (
        post16_competition(catch, providers, overlap=overlap)
        .providers.set_index("provider_id")
        .loc["P1"]
    )
    for got, want in ((p1["small"], small_p1), (p1["small_and_covered"], small_and_covered_p1)):
        if want is pd.NA:
            assert got is pd.NA
        else:
            assert bool(got) is want


def test_size_from_pupils_and_notes_for_chosen_limits(hand):
    origins, providers, travel = hand
    providers = providers.copy()
    providers["pupils"] = pd.array([900, 3000, 40, 300, 200], dtype="Float64")
    catch = post16_catchments(origins, providers, YOUNG, travel, minutes=20)
    result = post16_competition(catch, providers, size_column="pupils", small=1000, overlap=0.75)
    t = result.providers.set_index("provider_id")
    assert t.loc["P1", "size"] == 900 and t.loc["P3", "size"] == 40
    assert t.loc["P1", "size_source"] == "pupils on roll (pupils)"
    assert bool(t.loc["P3", "small"]) is True and bool(t.loc["P2", "small"]) is False
    text = " ".join(result.notes)
    assert "pupils on roll from the 'pupils' column" in text
    assert "fewer than 1000 (chosen for this run" in text
    assert "within 20 minutes by car" in text and "chosen for this run" in text
    assert "All 3 providers have a known size" in text


def test_areas_without_a_count_are_named(hand):
    origins, providers, travel = hand
    with pytest.warns(InputWarning, match=r"1 area\(s\).*\(D\)"):
        catch = post16_catchments(origins, providers, YOUNG.drop("D"), travel)
    assert catch.loc[catch["area_id"] == "D", "young_people"].tolist() == [0]


def test_provider_across_the_border_is_included(hand):
    origins, providers, _travel = hand
    providers = providers.copy()
    providers.loc[providers["id"] == "P3", "students_16_18"] = 120
    times = dict(TIMES) | {("D", "P3"): 29.0}
    result = post16_competition(
        post16_catchments(origins, providers, YOUNG, FixedTimes(times)), providers
    )
    p3 = result.providers.set_index("provider_id").loc["P3"]
    # P3 (not in the county) reaches D and E: 60 young people, all within P2's reach
    assert bool(p3["in_county"]) is False
    assert (p3["catchment_areas"], p3["catchment_young_people"]) == (2, 60)
    assert p3["max_overlap_share"] == 1.0 and p3["most_overlapping_id"] == "P2"
    assert bool(p3["small_and_covered"]) is True


def test_provider_with_no_catchment_is_listed(hand):
    origins, providers, _travel = hand
    times = {k: v for k, v in TIMES.items() if k[1] != "P3"}
    result = post16_competition(
        post16_catchments(origins, providers, YOUNG, FixedTimes(times)), providers
    )
    p3 = result.providers.set_index("provider_id").loc["P3"]
    assert (p3["catchment_areas"], p3["catchment_young_people"], p3["competitors"]) == (0, 0, 0)
    assert math.isnan(p3["max_overlap_share"]) and p3["small_and_covered"] is pd.NA
    assert "P3" not in set(result.pairs["provider_id"]) | set(result.pairs["other_id"])
    assert any("1 providers have no area" in note for note in result.notes)


def test_provider_alone_is_not_covered(hand):
    origins, providers, _travel = hand
    times = {k: v for k, v in TIMES.items() if k[1] == "P1"}
    result = post16_competition(
        post16_catchments(origins, providers, YOUNG, FixedTimes(times)), providers
    )
    assert result.pairs.empty and list(result.pairs.columns) == list(PAIR_COLUMNS)
    p1 = result.providers.set_index("provider_id").loc["P1"]
    # 60 young people, none shared: nothing of the catchment is covered (0, not unknown)
    assert p1["max_overlap_share"] == 0.0 and p1["competitors"] == 0
    assert pd.isna(p1["most_overlapping_id"])
    assert bool(p1["small"]) is True and bool(p1["small_and_covered"]) is False


def test_no_post16_providers_gives_empty_tables(hand):
    origins, providers, travel = hand
    primaries = providers[providers["kind"] == "primary"]
    catch = post16_catchments(origins, primaries, YOUNG, travel)
    assert catch.empty and list(catch.columns) == list(CATCHMENT_COLUMNS)
    result = post16_competition(catch, primaries)
    assert result.pairs.empty and result.providers.empty
    assert list(result.providers.columns) == list(COMPETITION_COLUMNS)


# --- a brute-force reference on random instances --------------------------------------


def _reference(times: dict[tuple[str, str], float], young: dict[str, int], limit: float):
    """Pairs by plain set arithmetic: {(p, q): (catchment, shared, share)}."""
    catchment: dict[str, set[str]] = {}
    for (area, provider), minutes in times.items():
        if not math.isnan(minutes) and minutes <= limit:
            catchment.setdefault(provider, set()).add(area)
    out = {}
    for p, areas in catchment.items():
        total = sum(young[a] for a in areas)
        for q, others in catchment.items():
            if p == q or not areas & others:
                continue
            shared = sum(young[a] for a in areas & others)
            out[(p, q)] = (total, shared, shared / total if total else math.nan)
    return catchment, out


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force(seed):
    rng = random.Random(seed)
    n_areas, n_providers = rng.randint(3, 25), rng.randint(2, 9)
    areas = [f"a{i}" for i in range(n_areas)]
    ids = [f"p{i}" for i in range(n_providers)]
    young = {a: rng.choice([0, 0, rng.randint(1, 400)]) for a in areas}
    times = {
        (a, p): (math.nan if rng.random() < 0.15 else rng.uniform(0, 60))
        for a in areas
        for p in ids
    }
    limit = rng.choice([15.0, 30.0, 45.0])
    providers = _providers(
        [(p, f"Provider {p}", "sixth_form", "academy", rng.uniform(0, 500), True) for p in ids]
    )
    catch = post16_catchments(
        _origins(areas), providers, pd.Series(young), FixedTimes(times), minutes=limit
    )
    result = post16_competition(catch, providers)
    sets, want = _reference(times, young, limit)
    got = result.pairs.set_index(["provider_id", "other_id"])
    assert set(got.index) == set(want)
    for key, (total, shared, share) in want.items():
        assert got.loc[key, "catchment_young_people"] == total
        assert got.loc[key, "shared_young_people"] == shared
        if math.isnan(share):
            assert math.isnan(got.loc[key, "overlap_share"])
        else:
            assert got.loc[key, "overlap_share"] == pytest.approx(share, rel=1e-12)
            assert bool(got.loc[key, "overlapping"]) is (share >= settings.COMPETITION_OVERLAP)
    table = result.providers.set_index("provider_id")
    assert set(table.index) == set(ids)
    for p in ids:
        areas_p = sets.get(p, set())
        assert table.loc[p, "catchment_areas"] == len(areas_p)
        assert table.loc[p, "catchment_young_people"] == sum(young[a] for a in areas_p)
        rivals = [q for (pp, q), v in want.items() if pp == p and v[1] > 0]
        assert table.loc[p, "competitors"] == len(rivals)
        shares = [v[2] for (pp, _q), v in want.items() if pp == p]
        if sum(young[a] for a in areas_p) == 0:
            assert math.isnan(table.loc[p, "max_overlap_share"])
        else:
            assert table.loc[p, "max_overlap_share"] == pytest.approx(max(shares, default=0.0))


# --- bad inputs ------------------------------------------------------------------------


def _good_catchments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": ["P1", "P1", "P2"],
            "area_id": ["A", "B", "B"],
            "minutes": [5.0, 10.0, 12.0],
            "young_people": [10, 20, 20],
        }
    )


@pytest.mark.parametrize(
    ("change", "options", "error", "match"),
    [
        (lambda c: c.drop(columns="young_people"), {}, MissingColumnError, "young_people"),
        (lambda c: c.drop(columns="area_id"), {}, MissingColumnError, "area_id"),
        (lambda c: pd.concat([c, c.iloc[[0]]]), {}, DuplicateIdError, "'P1' and area 'A'"),
        (lambda c: c.assign(provider_id=["P1", "P1", "X9"]), {}, InputError, "X9"),
        (lambda c: c.assign(young_people=[10, 20, 25]), {}, InputError, "area 'B'"),
        (lambda c: c.assign(young_people=[10, -1, -1]), {}, InputError, "negative"),
        (lambda c: c.assign(young_people=[10, None, 20]), {}, InputError, "young people"),
        (lambda c: c, {"overlap": 0}, InputError, "between 0 and 1"),
        (lambda c: c, {"overlap": 1.5}, InputError, "between 0 and 1"),
        (lambda c: c, {"overlap": math.nan}, InputError, "finite"),
        (lambda c: c, {"small": -5}, InputError, "0 or more"),
        (lambda c: c, {"small": "many"}, InputError, "a number"),
        (lambda c: c, {"size_column": "roll"}, MissingColumnError, "'roll'"),
    ],
)
def test_bad_inputs(hand, change, options, error, match):
    providers = hand[1]
    with pytest.raises(error, match=match):
        post16_competition(change(_good_catchments()), providers, **options)


@pytest.mark.parametrize("minutes", [0, -10, math.nan, math.inf, "soon"])
def test_bad_time_limit(hand, minutes):
    origins, providers, travel = hand
    with pytest.raises(InputError, match="minutes"):
        post16_catchments(origins, providers, YOUNG, travel, minutes=minutes)


# --- the shipped data ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped_competition(shipped_inputs):
    car = default_estimate("car")
    catch = post16_catchments(
        shipped_inputs.origins, shipped_inputs.providers, young_people(shipped_inputs.children), car
    )
    return catch, post16_competition(catch, shipped_inputs.providers)


def test_shipped_every_provider_within_reach_appears(shipped_inputs, shipped_competition):
    catch, result = shipped_competition
    post16 = eligible_providers(shipped_inputs.providers, "post16")
    times = default_estimate("car").matrix(shipped_inputs.origins, post16[["id", "geometry"]])
    quickest = times.groupby("to_id")["minutes"].min()
    within = set(quickest.index[quickest <= settings.COMPETITION_MINUTES])
    assert within == set(catch["provider_id"])
    table = result.providers.set_index("provider_id")
    assert set(table.index) == set(post16["id"])
    assert set(table.index[table["catchment_areas"] > 0]) == within
    # providers across the border serve the study area too
    assert (~table.loc[sorted(within), "in_county"].astype(bool)).sum() > 0
    # catchment sizes agree with the areas listed
    counts = catch.groupby("provider_id").size()
    assert (table.loc[counts.index, "catchment_areas"] == counts).all()


def test_shipped_small_sixth_forms_are_flagged(shipped_competition, shipped_inputs):
    _catch, result = shipped_competition
    table = result.providers.set_index("provider_id")
    # 2016/17 sizes: Earl Mortimer College 32, Lady Hawkins' School 32, John Masefield 90
    for school in ("116941", "137608", "136803"):
        assert bool(table.loc[school, "small"]) is True
    # Herefordshire, Ludlow and North Shropshire College: 1,685 students
    assert bool(table.loc["130710", "small"]) is False
    # Hereford Sixth Form College has no 2016/17 figure: unknown, not "not small"
    assert math.isnan(table.loc["143929", "size"]) and table.loc["143929", "small"] is pd.NA
    assert table["small_and_covered"].eq(True).sum() > 0
    unknown = int(table["size"].isna().sum())
    assert any(f"{unknown} of {len(table)} providers have no known size" in n for n in result.notes)


def test_shipped_with_independent_schools_has_every_sixth_form_and_college(shipped_inputs):
    car = default_estimate("car")
    catch = post16_catchments(
        shipped_inputs.origins,
        shipped_inputs.providers,
        young_people(shipped_inputs.children),
        car,
        include_independent=True,
    )
    result = post16_competition(catch, shipped_inputs.providers, include_independent=True)
    kinds = result.providers["kind"].value_counts()
    assert kinds["sixth_form"] == 86 and kinds["college"] == 8
