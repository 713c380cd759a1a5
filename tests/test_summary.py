"""The summary a councillor would quote: hand-worked on a small result, checked on the shipped report."""

from __future__ import annotations

import itertools
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from geomap.post16 import BarrierThresholds
from geomap.summary import COLUMNS, about, headlines, money, percent

THRESHOLDS = {
    "walk": {"early_years": 40.2, "primary": 40.2, "special": 60.4},
    "car": {"early_years": 45.0, "primary": 45.0, "special": 75.0},
}


def _providers() -> pd.DataFrame:
    rows = [
        # id, kind, sector, in_county, offers early years, primary, secondary, post-16
        ("P1", "primary", "maintained", True, True, True, False, False),
        ("P2", "primary", "academy", True, False, True, False, False),
        ("P3", "primary", "independent", True, False, True, False, False),
        ("P4", "primary", "maintained", False, True, True, False, False),
        ("S1", "secondary", "academy", True, False, False, True, True),
        ("X1", "special", "maintained", True, False, False, False, False),
    ]
    columns = ["id", "kind", "sector", "in_county"] + [
        f"offers_{k}" for k in ("early_years", "primary", "secondary", "post16")
    ]
    return pd.DataFrame(rows, columns=columns)


def _coverage() -> pd.DataFrame:
    rows = []
    # area, kind, mode, children, beyond, unreachable
    for area, kind, mode, children, beyond, unreachable in [
        ("A", "primary", "walk", 100, False, False),
        ("B", "primary", "walk", 50, True, False),
        ("C", "primary", "walk", 30, True, True),
        ("A", "primary", "car", 100, False, False),
        ("B", "primary", "car", 50, False, False),
        ("C", "primary", "car", 30, False, False),
        ("A", "early_years", "walk", math.nan, False, False),
        ("B", "early_years", "walk", 20, True, False),
        ("C", "early_years", "walk", 10, False, False),
        ("A", "early_years", "car", math.nan, False, False),
        ("B", "early_years", "car", 20, False, False),
        ("C", "early_years", "car", 10, False, False),
        ("A", "special", "walk", 400, True, False),
        ("B", "special", "walk", 300, True, False),
        ("C", "special", "walk", 200, True, False),
        ("A", "special", "car", 400, False, False),
        ("B", "special", "car", 300, False, False),
        ("C", "special", "car", 200, False, False),
    ]:
        rows.append(
            {
                "area_id": area,
                "kind": kind,
                "mode": mode,
                "children": children,
                "beyond": beyond,
                "unreachable": unreachable,
                "children_beyond": children if beyond else 0,
            }
        )
    return pd.DataFrame(rows)


def _sufficiency(places, complete, without) -> SimpleNamespace:
    by_area = pd.DataFrame(
        {
            "area_id": ["A", "B", "C"],
            "children": [100.0, 50.0, 30.0],
            "places_complete": complete,
            "places": [p if c else math.nan for p, c in zip(places, complete, strict=True)],
            "places_known": places,
            "providers_without_places": without,
        }
    )
    return SimpleNamespace(kind="primary", basis="capacity", by_area=by_area)


def _cost() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rule": ["8 and over, over 3 miles", "all eligible"],
            "eligible": [3000.0, 4287.96],
            "check_by_route": [1000.0, 1618.72],
            "cost_per_pupil": [1526.0, 1526.0],
            "annual_cost": [4578000.0, 6543427.0],
            "source": ["NAO 2025", "£1,526 a pupil (NAO 2025)"],
        }
    )


def _result(*, post16=True, eligibility=True, planning=True, sufficiency=None):
    post16_areas = pd.DataFrame(
        {"area_id": ["A", "B", "C"], "young_people": [10, 20, 30], "barrier": [True, False, True]}
    )
    suff = {"primary": _sufficiency([120.0, 40.0, 30.0], [True, True, True], [0, 0, 0])}
    return SimpleNamespace(
        inputs=SimpleNamespace(name="Testshire", study=SimpleNamespace(postcodes=None)),
        providers=_providers(),
        areas=pd.DataFrame({"area_id": ["A", "B", "C"]}),
        include_independent=False,
        analysis=SimpleNamespace(coverage=_coverage(), thresholds=THRESHOLDS),
        post16=SimpleNamespace(areas=post16_areas, thresholds=BarrierThresholds())
        if post16
        else None,
        eligibility=SimpleNamespace(cost=_cost()) if eligibility else None,
        planning=SimpleNamespace(sufficiency=suff if sufficiency is None else sufficiency)
        if planning
        else None,
    )


def _one(table, topic, kind="", mode=""):
    rows = table[(table["topic"] == topic) & (table["kind"] == kind) & (table["mode"] == mode)]
    assert len(rows) == 1, (topic, kind, mode, rows)
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("number", "said"),
    [
        (4287.96, "about 4,300"),
        (1618.72, "about 1,600"),
        (755.51, "about 760"),
        (37.4, "about 37"),
        (0.2, "about 0"),
        (123_456.0, "about 120,000"),
        (math.nan, "not known"),
    ],
)
def test_estimates_are_said_to_two_figures(number, said):
    assert about(number) == said


@pytest.mark.parametrize(
    ("pounds", "said"),
    [
        (6_543_427.0, "£6.5 million"),
        (12_345_678.0, "£12 million"),
        (1_000_000.0, "£1 million"),
        (643_100.0, "£640,000"),
        (1526.0, "£1,500"),
        (950.0, "£950"),
        (math.nan, "not known"),
    ],
)
def test_money_is_said_as_a_councillor_would(pounds, said):
    assert money(pounds) == said


@pytest.mark.parametrize(
    ("share", "said"),
    [
        (0.0, "0%"),
        (0.004, "less than 1%"),
        (0.324, "32%"),
        (0.5, "50%"),
        (0.996, "more than 99%"),
        (1.0, "100%"),
        (math.nan, "not known"),
    ],
)
def test_shares_never_round_a_few_to_none_or_most_to_all(share, said):
    assert percent(share) == said


def test_columns_and_order():
    table = headlines(_result())
    assert list(table.columns) == list(COLUMNS)
    assert list(dict.fromkeys(table["topic"])) == [
        "providers",
        "beyond",
        "gap_areas",
        "post16_barrier",
        "eligibility",
        "eligibility_cost",
        "places",
    ]
    assert table["value"].dtype == float and table["share"].dtype == float


def test_providers_in_the_county_by_kind():
    table = headlines(_result())
    counted = table[table["topic"] == "providers"].set_index("kind")["value"]
    # independent P3 and out-of-county P4 are left out; P1 offers early years and primary;
    # S1 offers secondary and post-16 (it is not the kind 'secondary' alone that counts)
    assert counted.to_dict() == {"primary": 2.0, "early_years": 1.0, "special": 1.0}
    primary = _one(table, "providers", "primary")
    assert primary["sentence"] == (
        "Testshire has 2 primary schools, not counting independent (fee-paying) schools."
    )
    early = _one(table, "providers", "early_years")
    assert "no early-years register was loaded" in early["sentence"]
    assert early["note"] and early["note"] in early["sentence"]
    assert primary["note"] == ""


def test_children_beyond_a_reasonable_journey_hand_worked():
    table = headlines(_result())
    walk = _one(table, "beyond", "primary", "walk")
    # B (50) and C (30, no journey) are beyond; A (100) is not: 80 of 180
    assert (walk["value"], walk["total"]) == (80.0, 180.0)
    assert walk["share"] == pytest.approx(80 / 180)
    assert walk["figure"] == "80 (44%)"
    assert walk["sentence"] == (
        "80 of 180 children aged 4–10 (44%) live more than 40.2 minutes' walk from the nearest "
        "primary school, in 2 of 3 areas; 30 of them have no journey at all."
    )
    car = _one(table, "beyond", "primary", "car")
    assert car["value"] == 0.0 and car["total"] == 180.0
    assert car["sentence"].startswith("None of the 180 children aged 4–10 lives more than 45")
    # early years: area A's children are not known, so it is left out of both figures
    early = _one(table, "beyond", "early_years", "walk")
    assert (early["value"], early["total"]) == (20.0, 30.0)
    assert "not known in 1 area, which is left out of both figures" in early["sentence"]
    # special schools are no headline: every child of 2-18 is not their population
    assert table[(table["topic"] == "beyond") & (table["kind"] == "special")].empty


def test_gap_areas_per_mode_leave_out_special_schools():
    table = headlines(_result())
    walk = _one(table, "gap_areas", mode="walk")
    assert (walk["value"], walk["total"], walk["figure"]) == (2.0, 3.0, "2 (67%)")
    car = _one(table, "gap_areas", mode="car")
    # special schools are beyond by car nowhere and by walk everywhere: neither counts
    assert car["value"] == 0.0
    assert car["sentence"].startswith("None of the 3 areas has a gap by car")


def test_post16_barrier_eligibility_and_cost_hand_worked():
    table = headlines(_result())
    post16 = _one(table, "post16_barrier", "post16", "pt")
    assert (post16["value"], post16["total"]) == (40.0, 60.0)
    assert post16["sentence"].startswith(
        "40 of 60 young people aged 16–18 (67%) face a public-transport barrier to the nearest "
        "sixth form or college, in 2 of 3 areas. Counted as a barrier: no public-transport"
    )
    eligible = _one(table, "eligibility")
    assert eligible["value"] == pytest.approx(4287.96)
    assert eligible["figure"] == "about 4,300"
    assert eligible["sentence"].startswith("About 4,300 pupils of compulsory school age")
    assert "about 1,600 of them live close to a distance limit" in eligible["sentence"]
    cost = _one(table, "eligibility_cost")
    assert cost["value"] == 6543427.0 and cost["unit"] == "£ a year"
    assert cost["sentence"] == (
        "That would cost about £6.5 million a year, at £1,526 a pupil (NAO 2025)."
    )


def test_places_against_children_when_every_provider_gives_them():
    table = headlines(_result())
    primary = _one(table, "places", "primary")
    assert (primary["value"], primary["total"]) == (190.0, 180.0)
    assert primary["sentence"] == (
        "190 places at primary schools (capacity) for 180 children aged 4–10: "
        "10 more places than children."
    )
    # early years has no capacity: said, never zero
    missing = _one(table, "places")
    assert math.isnan(missing["value"]) and missing["figure"] == "not known"
    assert missing["sentence"].startswith("Places against children are not known for early years")


def test_incomplete_places_are_not_known_not_a_total():
    suff = {"primary": _sufficiency([120.0, math.nan, 30.0], [True, False, True], [0, 1, 0])}
    table = headlines(_result(sufficiency=suff))
    primary = _one(table, "places", "primary")
    assert math.isnan(primary["value"]) and primary["total"] == 180.0
    assert math.isnan(primary["share"]) and primary["figure"] == "not known"
    assert primary["sentence"] == (
        "Places at primary schools against the 180 children aged 4–10 are not known: "
        "1 provider gives no figure (the others give 150 places)."
    )


@pytest.mark.parametrize(
    ("missing", "topic", "words"),
    [
        ("post16", "post16_barrier", "Testshire has no public-transport times"),
        ("eligibility", "eligibility", "the study area has no postcode lookup"),
        ("planning", "places", "capacity was not planned in this run"),
    ],
)
def test_what_was_not_computed_is_not_known_never_zero(missing, topic, words):
    table = headlines(_result(**{missing: False}))
    row = table[table["topic"] == topic].iloc[0]
    assert math.isnan(row["value"]) and row["figure"] == "not known"
    assert "not known" in row["sentence"] and words in row["sentence"]
    assert not re.search(r"(^|\D)0 (of|pupils|young)", row["sentence"])
    if missing == "eligibility":
        assert "eligibility_cost" not in set(table["topic"])


def test_random_coverage_against_a_plain_loop():
    rng = np.random.default_rng(12)
    for _ in range(20):
        areas = [f"E{i}" for i in range(int(rng.integers(1, 30)))]
        rows = []
        for area in areas:
            for kind in ("early_years", "primary", "special"):
                for mode in ("walk", "car"):
                    children = float(rng.integers(0, 500))
                    beyond = bool(rng.random() < 0.3)
                    rows.append(
                        {
                            "area_id": area,
                            "kind": kind,
                            "mode": mode,
                            "children": children,
                            "beyond": beyond,
                            "unreachable": beyond and bool(rng.random() < 0.3),
                            "children_beyond": children if beyond else 0.0,
                        }
                    )
        result = _result()
        result.areas = pd.DataFrame({"area_id": areas})
        result.analysis.coverage = pd.DataFrame(rows)
        table = headlines(result)
        for kind in ("early_years", "primary"):
            for mode in ("walk", "car"):
                mine = [r for r in rows if r["kind"] == kind and r["mode"] == mode]
                got = _one(table, "beyond", kind, mode)
                assert got["value"] == sum(r["children"] for r in mine if r["beyond"])
                assert got["total"] == sum(r["children"] for r in mine)
        for mode in ("walk", "car"):
            gaps = {
                r["area_id"]
                for r in rows
                if r["mode"] == mode and r["beyond"] and r["kind"] != "special"
            }
            got = _one(table, "gap_areas", mode=mode)
            assert (got["value"], got["total"]) == (len(gaps), len(areas))


# ----------------------------------------------------------------- the shipped report


def _csv(report_dir, name):
    return pd.read_csv(report_dir / f"{name}.csv", encoding="utf-8-sig", dtype={"area_id": str})


@pytest.mark.slow
def test_index_summary_has_the_shipped_reports_numbers(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    summary = page[page.index('<h2 id="summary">') : page.index('<nav class="contents"')]
    access = _csv(report_dir, "access")
    for (kind, mode), rows in access.groupby(["kind", "mode"]):
        if kind == "special":
            continue
        beyond = int(rows.loc[rows["beyond"], "children_beyond"].sum())
        share = beyond / rows["children"].sum()
        assert f"{beyond:,} ({percent(share)})" in summary, (kind, mode)
    post16 = _csv(report_dir, "post16_areas")
    barrier = int(post16.loc[post16["barrier"], "young_people"].sum())
    young = int(post16["young_people"].sum())
    assert f"{barrier:,} of {young:,} young people aged 16–18" in summary
    cost = _csv(report_dir, "eligibility_cost").iloc[-1]
    assert f"{about(cost['eligible']).capitalize()} pupils" in summary
    assert f"about {money(cost['annual_cost'])} a year" in summary
    providers = pd.read_csv(report_dir / "providers.csv", encoding="utf-8-sig")
    counted = providers[providers["in_county"] & (providers["sector"] != "independent")]
    assert f'<td class="figure">{int(counted["offers_primary"].sum())}</td>' in summary
    # the shipped data has no capacity: places are not known, never zero
    assert "Places against children are not known" in summary


@pytest.mark.slow
def test_index_makes_no_external_requests_and_prints(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    for link in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page):
        assert not re.match(r"(?i)([a-z][a-z0-9+.-]*:|//)", link), link
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style and "@import" not in style
    assert "@media print" in style
    printed = style[style.index("@media print") :]
    assert "break-inside: avoid" in printed and "header.band" in printed
    assert 'content: " (" attr(href) ")"' in printed
    # a skip link first, one h1, and headings that never skip a level
    assert page.index('class="skip"') < page.index("<main")
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", page)]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
