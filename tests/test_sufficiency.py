"""Capacity and sufficiency: provider places, places against children, the DfE scorecard check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geomap import settings
from geomap.errors import InputError, MissingColumnError, UnknownKindError
from geomap.sufficiency import (
    PLACES_BASES,
    assess_sufficiency,
    check_against_scorecard,
    early_years_places_per_100,
    places_summary,
    provider_places,
    read_scorecard,
)
from tests.shipped_data import DATA

SCORECARD = DATA / "capacity" / "dfe_school_places_scorecard_herefordshire_884_2023_2025.csv"

PHASES = ("early_years", "primary", "secondary", "post16")


def _providers(rows):
    """A provider list with the columns load_providers gives, from short dicts."""
    out = []
    for row in rows:
        kind = row["kind"]
        low = row.get("low_age", {"primary": 4, "early_years": 0, "college": 16}.get(kind, 11))
        full = {
            "id": row["id"],
            "name": row.get("name", f"{row['id']} school"),
            "kind": kind,
            "sector": row.get("sector", "college" if kind == "college" else "maintained"),
            "low_age": float(low),
            "high_age": float(row.get("high_age", 18)),
            "offers_early_years": kind == "early_years" or (kind != "special" and low <= 3),
            "offers_primary": kind == "primary"
            or (kind in ("secondary", "sixth_form") and low <= 7),
            "offers_secondary": kind in ("secondary", "sixth_form") and low < 16,
            "offers_post16": kind in ("sixth_form", "college"),
            "capacity": row.get("capacity"),
            "pupils": row.get("pupils"),
            "students_16_18": row.get("students"),
            "in_county": row.get("in_county", True),
        }
        out.append(full)
    table = pd.DataFrame(out)
    for column in ("capacity", "pupils", "students_16_18", "low_age", "high_age"):
        table[column] = pd.array(table[column], dtype="Float64")
    table["id"] = table["id"].astype("string")
    table["name"] = table["name"].astype("string")
    table["kind"] = table["kind"].astype("string")
    table["sector"] = table["sector"].astype("string")
    return table


# --------------------------------------------------------------------------- provider places


def _places_by_id(providers, kind, **options):
    table = provider_places(providers, kind, **options)
    return table.set_index("id")


def test_a_nursery_class_in_a_primary_school_has_no_known_early_years_places():
    providers = _providers([{"id": "P", "kind": "primary", "low_age": 3, "capacity": 210}])
    early = _places_by_id(providers, "early_years")
    assert np.isnan(early.loc["P", "places"])
    assert "nursery class in a primary school" in early.loc["P", "places_note"]
    assert "not nursery places" in early.loc["P", "places_note"]
    primary = _places_by_id(providers, "primary")
    assert primary.loc["P", "places"] == 210
    assert primary.loc["P", "places_note"] == "capacity as given in the provider list"


def test_an_11_to_18_school_counts_for_secondary_and_not_for_post16_capacity():
    providers = _providers(
        [{"id": "S", "kind": "sixth_form", "capacity": 1200, "pupils": 1100, "students": 180}]
    )
    secondary = _places_by_id(providers, "secondary")
    assert secondary.loc["S", "places"] == 1200
    assert secondary.loc["S", "pupils"] == 1100
    assert "SCAP" in secondary.loc["S", "places_note"]
    post16 = _places_by_id(providers, "post16")
    assert np.isnan(post16.loc["S", "places"]) and np.isnan(post16.loc["S", "pupils"])
    assert "sixth form of an 11–18 school" in post16.loc["S", "places_note"]
    # pupils on roll are the whole school's too
    assert np.isnan(_places_by_id(providers, "post16", basis="pupils").loc["S", "places"])
    students = _places_by_id(providers, "post16", basis="students")
    assert students.loc["S", "places"] == 180
    assert students.loc["S", "basis"] == "students"
    assert "proxy for post-16 places" in students.loc["S", "places_note"]


def test_colleges_and_sixth_forms_both_give_students_and_colleges_their_capacity():
    providers = _providers(
        [
            {"id": "C", "kind": "college", "capacity": 3000, "students": 2500},
            {"id": "S", "kind": "sixth_form", "capacity": 900, "students": 150},
            {"id": "T", "kind": "sixth_form", "low_age": 16, "capacity": 600, "students": 550},
        ]
    )
    students = _places_by_id(providers, "post16", basis="students")
    assert students["places"].to_dict() == {"C": 2500, "S": 150, "T": 550}
    capacity = _places_by_id(providers, "post16")
    assert capacity.loc["C", "places"] == 3000
    # a standalone sixth form (ages 16+) counts its capacity for post-16
    assert capacity.loc["T", "places"] == 600
    assert np.isnan(capacity.loc["S", "places"])
    assert capacity.loc["C", "kind"] == "college"


def test_the_primary_phase_of_an_all_through_school_is_not_known():
    providers = _providers([{"id": "A", "kind": "sixth_form", "low_age": 4, "capacity": 1500}])
    primary = _places_by_id(providers, "primary")
    assert np.isnan(primary.loc["A", "places"])
    assert "all-through school" in primary.loc["A", "places_note"]
    assert _places_by_id(providers, "secondary").loc["A", "places"] == 1500


def test_missing_capacity_is_nan_with_a_note_never_zero():
    providers = _providers(
        [
            {"id": "X", "kind": "primary", "capacity": None},
            {"id": "Y", "kind": "primary", "capacity": 0},
        ]
    )
    places = _places_by_id(providers, "primary")
    assert np.isnan(places.loc["X", "places"])
    assert "not given" in places.loc["X", "places_note"]
    assert places.loc["Y", "places"] == 0


def test_provider_places_columns_attrs_and_independents():
    providers = _providers(
        [
            {"id": "M", "kind": "primary", "capacity": 100},
            {"id": "I", "kind": "primary", "capacity": 50, "sector": "independent"},
        ]
    )
    places = provider_places(providers, "primary")
    assert list(places.columns) == [
        "id", "name", "kind", "in_county", "places", "pupils", "basis", "places_note",
    ]  # fmt: skip
    assert places["id"].tolist() == ["M"]
    assert places.attrs["kind"] == "primary" and places.attrs["basis"] == "capacity"
    assert places.attrs["note"] == "All 1 primary providers give capacity."
    both = provider_places(providers, "primary", include_independent=True)
    assert both["id"].tolist() == ["M", "I"]


def test_places_summary_counts_known_and_unknown_providers():
    providers = _providers(
        [
            {"id": "A", "kind": "primary", "capacity": 210},
            {"id": "B", "kind": "primary", "capacity": 105},
            {"id": "C", "kind": "primary"},
            {"id": "D", "kind": "secondary", "low_age": 4, "capacity": 1000},
        ]
    )
    text = places_summary(provider_places(providers, "primary"))
    assert text == (
        "2 of 4 primary providers give capacity; the other 2 are not counted as zero: areas "
        "they serve are marked incomplete (1 of them offer primary only beside their main "
        "phase, so their primary places are not known)."
    )
    none = _providers([{"id": "A", "kind": "primary"}])
    assert places_summary(provider_places(none, "primary")).startswith(
        "None of the 1 primary providers give capacity: their places are not known, not counted "
        "as zero"
    )


def test_bases_and_bad_bases():
    assert PLACES_BASES == ("capacity", "pupils", "students")
    providers = _providers([{"id": "A", "kind": "primary", "capacity": 210, "pupils": 200}])
    assert _places_by_id(providers, "primary", basis="pupils").loc["A", "places"] == 200
    with pytest.raises(
        InputError, match=r"unknown places basis 'seats'.*capacity, pupils, students"
    ):
        provider_places(providers, "primary", basis="seats")
    with pytest.raises(InputError, match="post-16 provision only"):
        provider_places(providers, "primary", basis="students")
    with pytest.raises(UnknownKindError):
        provider_places(providers, "university")
    with pytest.raises(MissingColumnError, match="capacity"):
        provider_places(providers.drop(columns="capacity"), "primary")


# --------------------------------------------------------------------------- sufficiency


def _case():
    """Providers, children and homes whose answers are worked by hand below."""
    providers = _providers(
        [
            {"id": "P1", "kind": "primary", "capacity": 100, "pupils": 90},  # a: spare 5 = 5%
            {"id": "P2", "kind": "primary", "capacity": 100},  # b: spare 4 = 4%
            {"id": "P3", "kind": "primary", "capacity": 120, "pupils": 90},  # c: 30 = 25%
            {"id": "P4", "kind": "primary", "capacity": 116, "pupils": 87},  # d: 29 = 25%
            {"id": "P5", "kind": "primary"},  # f: unknown
            {"id": "P6", "kind": "primary", "capacity": 50, "pupils": 50},  # f
            {"id": "P7", "kind": "primary", "capacity": 40, "pupils": 45},  # g: -10
            {"id": "P8", "kind": "primary", "capacity": 20, "pupils": 19},  # h: spare 0
            {"id": "X", "kind": "primary", "capacity": 500, "in_county": False},  # outside
        ]
    )
    children = pd.Series(
        {"a": 95, "b": 96, "c": 90, "d": 87, "e": 10, "f": 30, "g": 50, "h": 20}, dtype=float
    )
    home = pd.Series(
        {"P1": "a", "P2": "b", "P3": "c", "P4": "d", "P5": "f", "P6": "f", "P7": "g", "P8": "h"}
    )
    lookups = {
        "ward": pd.Series(
            {"a": "W1", "b": "W1", "c": "W2", "d": "W2", "e": "W2", "f": "W3", "g": "W3"}
        )
    }
    names = {"ward": pd.Series({"W1": "One", "W2": "Two", "W3": "Three"})}
    return providers, children, home, lookups, names


def _run_case(**options):
    providers, children, home, lookups, names = _case()
    places = provider_places(providers, "primary")
    return assess_sufficiency(
        places, children, home=home, lookups=lookups, group_names=names, **options
    )


def test_hand_worked_areas_and_flag_boundaries():
    result = _run_case()
    areas = result.by_area.set_index("area_id")
    assert list(result.by_area.columns) == [
        "area_id", "ward", "children", "providers", "providers_without_places",
        "places_complete", "places_known", "places", "spare", "spare_share", "pupils",
        "pupils_share_of_places", "flag",
    ]  # fmt: skip
    # a: 100 places, 95 children: 5 spare, exactly the 5% margin -> not tight
    assert areas.loc["a", ["places", "spare"]].tolist() == [100, 5]
    assert areas.loc["a", "spare_share"] == pytest.approx(0.05)
    assert areas.loc["a", "flag"] == "balanced"
    assert areas.loc["a", "pupils"] == 90
    assert areas.loc["a", "pupils_share_of_places"] == pytest.approx(0.9)
    # b: 4% spare -> tight; its school's pupils are not known
    assert areas.loc["b", "flag"] == "tight"
    assert np.isnan(areas.loc["b", "pupils"]) and np.isnan(areas.loc["b", "pupils_share_of_places"])
    # c: 30 spare = exactly 25% -> surplus; d: 29 spare = 25% -> below the 30 places
    assert areas.loc["c", ["spare", "flag"]].tolist() == [30, "surplus"]
    assert areas.loc["c", "spare_share"] == pytest.approx(0.25)
    assert areas.loc["d", ["spare", "flag"]].tolist() == [29, "balanced"]
    assert areas.loc["d", "spare_share"] == pytest.approx(0.25)
    # e: no provider at all: a true zero, a shortfall of its 10 children
    assert areas.loc["e", ["providers", "places", "spare", "flag"]].tolist() == [
        0, 0, -10, "shortfall",
    ]  # fmt: skip
    assert bool(areas.loc["e", "places_complete"]) and np.isnan(areas.loc["e", "spare_share"])
    # f: one school of two without capacity -> unknown, never zero or 50
    assert areas.loc["f", ["providers", "providers_without_places"]].tolist() == [2, 1]
    assert not areas.loc["f", "places_complete"]
    assert np.isnan(areas.loc["f", "places"]) and np.isnan(areas.loc["f", "spare"])
    assert areas.loc["f", "places_known"] == 50
    assert areas.loc["f", "flag"] == "unknown"
    # g: 40 places, 50 children
    assert areas.loc["g", ["spare", "flag"]].tolist() == [-10, "shortfall"]
    assert areas.loc["g", "spare_share"] == pytest.approx(-0.25)
    # h: no spare place at all is tight (0 <= 0 < 5%); h is in no ward
    assert areas.loc["h", ["spare", "flag"]].tolist() == [0, "tight"]
    assert pd.isna(areas.loc["h", "ward"])


def test_hand_worked_groups():
    result = _run_case()
    groups = result.by_group.set_index("group_id")
    assert list(result.by_group.columns[:4]) == ["level", "group_id", "group_name", "areas"]
    assert groups.loc["W1", ["group_name", "areas", "children", "places"]].tolist() == [
        "One", 2, 191, 200,
    ]  # fmt: skip
    # W1: 9 spare of 200 = 4.5% -> tight; pupils unknown (b's school)
    assert groups.loc["W1", "flag"] == "tight" and np.isnan(groups.loc["W1", "pupils"])
    # W2: 236 places, 187 children: 49 spare = 20.8% -> balanced
    assert groups.loc["W2", ["places", "spare", "flag", "pupils"]].tolist() == [
        236, 49, "balanced", 177,
    ]  # fmt: skip
    # W3 holds f, whose places are unknown
    assert groups.loc["W3", "flag"] == "unknown" and np.isnan(groups.loc["W3", "places"])
    assert groups.loc["W3", "places_known"] == 90
    assert set(result.by_group["level"]) == {"ward"}
    assert any("1 of 8 areas are in no ward" in note for note in result.notes)


def test_per_provider_flags_compare_pupils_with_capacity():
    result = _run_case()
    table = result.providers.set_index("id")
    assert list(result.providers.columns) == [
        "id", "name", "kind", "in_county", "area_id", "places", "pupils", "spare",
        "spare_share", "flag",
    ]  # fmt: skip
    assert table.loc["P1", ["spare", "flag"]].tolist() == [10, "balanced"]
    assert table.loc["P3", ["spare", "flag"]].tolist() == [30, "surplus"]
    assert table.loc["P4", ["spare", "flag"]].tolist() == [29, "balanced"]
    assert table.loc["P7", ["spare", "flag"]].tolist() == [-5, "shortfall"]
    assert table.loc["P8", ["spare", "flag"]].tolist() == [1, "balanced"]
    # P8: 1 spare of 20 = 5%: exactly at the margin, not tight
    assert table.loc["P8", "spare_share"] == pytest.approx(0.05)
    assert table.loc["P6", "flag"] == "tight"  # full
    assert table.loc["P2", "flag"] == "unknown"  # pupils not known
    assert table.loc["P5", "flag"] == "unknown"  # capacity not known
    assert table.loc["P1", "area_id"] == "a" and pd.isna(table.loc["X", "area_id"])


def test_providers_outside_every_area_are_listed_and_counted_nowhere():
    result = _run_case()
    assert result.outside["id"].tolist() == ["X"]
    assert result.by_area["providers"].sum() == 8
    assert result.by_area["places_known"].sum() == 100 + 100 + 120 + 116 + 50 + 40 + 20
    assert any(
        "1 primary providers stand outside every area" in note and "X school" in note
        for note in result.notes
    )


def test_notes_name_the_sources_of_the_defaults_and_say_when_they_were_changed():
    notes = " ".join(_run_case().notes)
    assert settings.SURPLUS_SOURCE in notes and settings.OPERATING_MARGIN_SOURCE in notes
    assert "planning indicator" in notes
    assert "1 of 8 areas have a provider whose places are not known" in notes
    assert "8 of 9 primary providers give capacity" in notes
    changed = _run_case(margin=0.1, surplus_min_places=20)
    text = " ".join(changed.notes)
    assert settings.SURPLUS_SOURCE not in text and "set for this run" in text
    areas = changed.by_area.set_index("area_id")
    # with a 10% margin a (5%) is tight; with 20 places d (29 spare, 25%) is in surplus
    assert areas.loc["a", "flag"] == "tight" and areas.loc["d", "flag"] == "surplus"


def test_a_list_without_any_places_gives_unknown_everywhere():
    providers = _providers([{"id": "A", "kind": "primary"}, {"id": "B", "kind": "primary"}])
    places = provider_places(providers, "primary")
    children = pd.Series({"a": 10.0, "b": 20.0, "c": 5.0})
    result = assess_sufficiency(
        places,
        children,
        home=pd.Series({"A": "a", "B": "b"}),
        lookups={"w": pd.Series({"a": 1, "b": 1, "c": 2})},
    )
    for table in (result.by_area, result.by_group):
        assert (table["flag"] == "unknown").all()
        assert table["places"].isna().all() and table["spare"].isna().all()
        assert table["places_known"].isna().all()
        assert not table["places_complete"].any()
    assert any("every area's places are unknown, not zero" in note for note in result.notes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"home": pd.Series({"P1": "zz"})}, "home area.*no children count: zz"),
        (
            {"home": pd.Series(["a", "b"], index=["P1", "P1"])},
            "provider 'P1' is given two home areas",
        ),
        ({"children": pd.Series({"a": -1.0})}, "negative"),
        ({"children": pd.Series({"a": "ten"})}, "'ten', not a number"),
        ({"margin": 1.5}, "margin must be a share from 0 to 1"),
        ({"surplus_share": -0.1}, "surplus_share must be a share"),
        ({"surplus_min_places": float("nan")}, "surplus_min_places"),
    ],
)
def test_bad_sufficiency_inputs(change, message):
    providers, children, home, _lookups, _names = _case()
    arguments = {"children": children, "home": home, **change}
    places = provider_places(providers, "primary")
    with pytest.raises(InputError, match=message):
        assess_sufficiency(places, arguments.pop("children"), **arguments)


def _reference(places, children, home, lookup, *, margin, surplus_share, surplus_min):
    """A plain loop over areas and groups: the flags as the documentation states them."""

    def flag(places_, children_):
        if places_ is None or math.isnan(children_):
            return "unknown"
        spare = places_ - children_
        share = spare / places_ if places_ > 0 else math.nan
        if spare < 0:
            return "shortfall"
        if not math.isnan(share) and share < margin - 1e-12:
            return "tight"
        if not math.isnan(share) and share >= surplus_share - 1e-12 and spare >= surplus_min:
            return "surplus"
        return "balanced"

    value = dict(zip(places["id"], places["places"], strict=True))
    rows = {}
    for area, count in children.items():
        inside = [p for p, a in home.items() if a == area]
        known = [value[p] for p in inside if not math.isnan(value[p])]
        complete = len(known) == len(inside)
        total = sum(known) if complete else None
        rows[area] = (count, len(inside), total, flag(total, count))
    groups = {}
    for area, group in lookup.items():
        count, n, total, _ = rows[area]
        c0, n0, t0 = groups.get(group, (0.0, 0, 0.0))
        groups[group] = (c0 + count, n0 + n, None if t0 is None or total is None else t0 + total)
    return rows, {g: (c, n, t, flag(t, c)) for g, (c, n, t) in groups.items()}


@pytest.mark.parametrize("seed", range(6))
def test_random_cases_match_a_plain_loop_and_groups_match_a_groupby(seed):
    rng = np.random.default_rng(seed)
    n_areas, n_providers = 12, 25
    areas = [f"A{i:02d}" for i in range(n_areas)]
    capacity = rng.choice([40.0, 60.0, 90.0, 120.0, 200.0, np.nan], size=n_providers)
    providers = _providers(
        [
            {"id": f"P{i:02d}", "kind": "primary", "capacity": None if np.isnan(c) else c}
            for i, c in enumerate(capacity)
        ]
    )
    children = pd.Series(rng.integers(0, 260, size=n_areas).astype(float), index=areas)
    # some providers stand outside every area
    home = pd.Series(
        {
            f"P{i:02d}": areas[rng.integers(n_areas)]
            for i in range(n_providers)
            if rng.random() < 0.85
        }
    )
    lookup = pd.Series({a: f"G{rng.integers(4)}" for a in areas})
    options = {"margin": 0.05, "surplus_share": 0.25, "surplus_min_places": 30}
    places = provider_places(providers, "primary")
    result = assess_sufficiency(places, children, home=home, lookups={"g": lookup}, **options)
    rows, groups = _reference(
        places, children, home, lookup, margin=0.05, surplus_share=0.25, surplus_min=30
    )
    by_area = result.by_area.set_index("area_id")
    for area, (count, n, total, flag) in rows.items():
        assert by_area.loc[area, "children"] == count
        assert by_area.loc[area, "providers"] == n
        if total is None:
            assert np.isnan(by_area.loc[area, "places"])
        else:
            assert by_area.loc[area, "places"] == pytest.approx(total)
        assert by_area.loc[area, "flag"] == flag
    by_group = result.by_group.set_index("group_id")
    for group, (count, n, total, flag) in groups.items():
        assert by_group.loc[group, "children"] == count
        assert by_group.loc[group, "providers"] == n
        assert (
            np.isnan(by_group.loc[group, "places"])
            if total is None
            else by_group.loc[group, "places"] == pytest.approx(total)
        )
        assert by_group.loc[group, "flag"] == flag
    # groups are the sums of their areas (a brute-force groupby of by_area)
    frame = result.by_area
    summed = frame.groupby("g")[["children", "providers", "providers_without_places"]].sum()
    expected_places = frame.groupby("g")["places"].apply(
        lambda s: s.sum() if s.notna().all() else np.nan
    )
    pd.testing.assert_frame_equal(
        by_group[["children", "providers", "providers_without_places"]].rename_axis("g"),
        summed,
        check_dtype=False,
    )
    pd.testing.assert_series_equal(
        by_group["places"].rename_axis("g"), expected_places, check_dtype=False, check_names=False
    )
    assert result.outside["id"].tolist() == sorted(set(places["id"]) - set(home.index))


# --------------------------------------------------------------------------- early years


def test_early_years_places_per_100_hand_worked():
    providers = _providers(
        [
            {"id": "N1", "kind": "early_years", "capacity": 30},
            {"id": "N2", "kind": "early_years", "capacity": 20},
            {"id": "N3", "kind": "early_years", "capacity": 24},
            {"id": "N4", "kind": "early_years"},
            {"id": "S", "kind": "primary", "low_age": 3, "capacity": 210},  # nursery class
        ]
    )
    places = provider_places(providers, "early_years")
    children = pd.Series({"a": 100.0, "b": 40.0, "c": 80.0, "d": 0.0})
    home = pd.Series({"N1": "a", "N2": "a", "N3": "b", "N4": "c", "S": "b"})
    table = early_years_places_per_100(
        places,
        children,
        home=home,
        lookups={"ward": pd.Series({"a": "W1", "d": "W1", "b": "W2", "c": "W2"})},
        group_names={"ward": pd.Series({"W1": "One", "W2": "Two"})},
    )
    assert list(table.columns) == [
        "level", "group_id", "group_name", "children_0_4", "places", "places_known",
        "settings", "settings_without_places", "places_per_100", "complete",
        "known_places_per_100",
    ]  # fmt: skip
    rows = table.set_index(["level", "group_id"])
    assert rows.loc[("area", "a"), "places_per_100"] == pytest.approx(50.0)
    assert rows.loc[("area", "a"), "settings"] == 2
    # b holds a school nursery class: its nursery places are not known
    assert rows.loc[("area", "b"), "settings_without_places"] == 1
    assert np.isnan(rows.loc[("area", "b"), "places_per_100"])
    assert not rows.loc[("area", "b"), "complete"]
    assert rows.loc[("area", "b"), "places_known"] == 24
    # ... but the known places give a lower bound, labelled as such: 24 per 40 children
    assert rows.loc[("area", "b"), "known_places_per_100"] == pytest.approx(60.0)
    assert any("lower bound" in note for note in table.attrs["notes"])
    assert np.isnan(rows.loc[("area", "c"), "places_known"])
    # d: no children, no settings
    assert (
        np.isnan(rows.loc[("area", "d"), "places_per_100"]) and rows.loc[("area", "d"), "complete"]
    )
    assert rows.loc[("ward", "W1"), "places_per_100"] == pytest.approx(50.0)
    assert rows.loc[("ward", "W1"), "group_name"] == "One"
    assert np.isnan(rows.loc[("ward", "W2"), "places_per_100"])
    assert any("Childcare Act 2006" in note for note in table.attrs["notes"])
    with pytest.raises(InputError, match="need early-years places"):
        early_years_places_per_100(provider_places(providers, "primary"), children, home=home)


# --------------------------------------------------------------------------- DfE scorecard


def test_the_real_scorecard():
    card = read_scorecard(SCORECARD)
    assert list(card.columns) == [
        "year", "primary_pupils", "primary_capacity", "secondary_pupils", "secondary_capacity",
    ]  # fmt: skip
    assert card["year"].tolist() == ["2022/23", "2023/24", "2024/25"]
    latest = card.set_index("year").loc["2024/25"]
    assert latest.tolist() == [12603, 14672, 9237, 11632]
    # 'NA' in the file is not available, not an error and not zero
    assert np.isnan(card.set_index("year").loc["2022/23", "secondary_capacity"])
    assert card.attrs["la_code"] == "E06000019" and card.attrs["la_number"] == "884"
    for code in ("E06000019", "884", 884, "e06000019"):
        assert read_scorecard(SCORECARD, la_code=code).equals(card)
    with pytest.raises(InputError, match=r"no rows for council '885'.*E06000019"):
        read_scorecard(SCORECARD, la_code=885)


HEADER = "Year,geographic_level,LANumber,new_la_code,LA_name,PriNOR,PriCap,SecNOR,SecCap\n"


def _card(write, body, header=HEADER):
    return write("card.csv", header + body)


def test_a_scorecard_of_several_councils(write):
    path = _card(
        write,
        "2024/25,National,,,England,1,2,3,4\n"
        "2024/25,Local authority,884,E06000019,Herefordshire,10,20,z,40\n"
        "2024/25,Local authority,885,E10000034,Worcestershire,11,21,31,x\n"
        "2023/24,Local authority,884,E06000019,Herefordshire,9,19,NA,39\n",
    )
    card = read_scorecard(path, la_code="E06000019")
    assert card["year"].tolist() == ["2023/24", "2024/25"]
    assert card["primary_pupils"].tolist() == [9, 10]
    assert card["secondary_pupils"].isna().all()  # NA and z
    assert read_scorecard(path, la_code=885)["secondary_capacity"].isna().all()
    with pytest.raises(InputError, match="holds 2 councils"):
        read_scorecard(path)


@pytest.mark.parametrize(
    ("header", "body", "error", "pieces"),
    [
        (
            "Year,LANumber,new_la_code,PriNOR,PriCap,SecNOR\n",
            "2024/25,884,E06000019,1,2,3\n",
            MissingColumnError,
            ("card.csv", "column 'SecCap'"),
        ),
        (
            HEADER,
            "2024/25,Local authority,884,E06000019,H,10,20,30,40\n"
            "2023/24,Local authority,884,E06000019,H,10,twenty,30,40\n",
            InputError,
            ("card.csv", "row 3", "column 'PriCap'", "'twenty' is not a number"),
        ),
        (
            HEADER,
            "2024/25,Local authority,885,E10000034,W,oops,1,1,1\n"
            "2024/25,Local authority,884,E06000019,H,10,20,-3,40\n",
            InputError,
            ("row 3", "column 'SecNOR'", "'-3' is not a possible"),
        ),
        (
            HEADER,
            "2024/25,Local authority,884,E06000019,H,1,2,3,4\n"
            "2024/25,Local authority,884,E06000019,H,1,2,3,4\n",
            InputError,
            ("row 3", "column 'Year'", "given twice"),
        ),
    ],
)
def test_bad_scorecards(write, header, body, error, pieces):
    path = _card(write, body, header)
    with pytest.raises(error) as caught:
        read_scorecard(path, la_code="884")
    for piece in pieces:
        assert piece in str(caught.value)


def _school_list(scale=1.0):
    """3 primary and 2 secondary schools summing to Herefordshire's 2024/25 scorecard."""
    return _providers(
        [
            {"id": "P1", "kind": "primary", "capacity": 7000 * scale, "pupils": 6000},
            {"id": "P2", "kind": "primary", "capacity": 4672, "pupils": 4003},
            {"id": "P3", "kind": "primary", "capacity": 3000, "pupils": 2600},
            {"id": "S1", "kind": "secondary", "capacity": 5632, "pupils": 4237},
            {"id": "S2", "kind": "sixth_form", "capacity": 6000, "pupils": 5000},
            # not counted: independent, special, across the border
            {"id": "I", "kind": "primary", "capacity": 300, "pupils": 250, "sector": "independent"},
            {"id": "Q", "kind": "special", "capacity": 100, "pupils": 90},
            {"id": "B", "kind": "secondary", "capacity": 900, "pupils": 800, "in_county": False},
        ]
    )


def test_a_list_that_adds_up_to_the_scorecard_agrees():
    schools = _school_list()
    check = check_against_scorecard(
        schools, read_scorecard(SCORECARD), in_area=schools["in_county"]
    )
    assert list(check.columns) == [
        "phase", "measure", "list_total", "list_schools", "schools_without_value",
        "scorecard_total", "scorecard_year", "difference", "difference_share", "agrees",
    ]  # fmt: skip
    rows = check.set_index(["phase", "measure"])
    assert rows.loc[("primary", "capacity"), ["list_total", "scorecard_total"]].tolist() == [
        14672, 14672,
    ]  # fmt: skip
    assert rows.loc[("primary", "pupils"), "list_total"] == 12603
    assert rows.loc[("secondary", "capacity"), "list_total"] == 11632
    assert rows.loc[("secondary", "pupils"), "list_total"] == 9237
    assert rows["list_schools"].tolist() == [3, 3, 2, 2]
    assert (rows["difference"] == 0).all() and rows["agrees"].all()
    assert (rows["scorecard_year"] == "2024/25").all()
    assert "SCAP" in check.attrs["note"] and "5%" in check.attrs["note"]


def test_a_list_20_percent_off_disagrees():
    schools = _school_list(scale=1.0 + 0.2 * 14672 / 7000)  # primary capacity 20% over
    check = check_against_scorecard(
        schools, read_scorecard(SCORECARD), in_area=schools["in_county"]
    )
    row = check.set_index(["phase", "measure"]).loc[("primary", "capacity")]
    assert row["difference"] == pytest.approx(0.2 * 14672)
    assert row["difference_share"] == pytest.approx(0.2)
    assert not row["agrees"]
    assert check.set_index(["phase", "measure"]).loc[("secondary", "capacity"), "agrees"]


def test_scorecard_check_at_the_tolerance_counts_missing_values_and_uses_the_latest_value(write):
    path = _card(
        write,
        "2023/24,Local authority,884,E06000019,H,100,200,300,400\n"
        "2024/25,Local authority,884,E06000019,H,100,200,300,NA\n",
    )
    schools = _providers(
        [
            {"id": "P", "kind": "primary", "capacity": 210, "pupils": 100},  # +5%: agrees
            {"id": "R", "kind": "primary"},  # nothing given: counted, not zero
            {"id": "S", "kind": "secondary", "capacity": 400, "pupils": 300},
        ]
    )
    check = check_against_scorecard(schools, read_scorecard(path), in_area=schools["in_county"])
    rows = check.set_index(["phase", "measure"])
    assert rows.loc[("primary", "capacity"), "difference_share"] == pytest.approx(0.05)
    # R gives nothing: the list's total is only a lower bound, so no verdict
    assert rows.loc[("primary", "capacity"), "schools_without_value"] == 1
    assert pd.isna(rows.loc[("primary", "capacity"), "agrees"])
    assert rows.loc[("secondary", "capacity"), "scorecard_year"] == "2023/24"
    assert rows.loc[("secondary", "capacity"), "scorecard_total"] == 400
    assert rows.loc[("secondary", "capacity"), "agrees"]
    complete = schools[schools["id"] != "R"]
    check = check_against_scorecard(complete, read_scorecard(path), in_area=complete["in_county"])
    assert check.set_index(["phase", "measure"]).loc[("primary", "capacity"), "agrees"]
    tighter = check_against_scorecard(
        complete, read_scorecard(path), in_area=complete["in_county"], tolerance=0.04
    )
    assert not tighter.set_index(["phase", "measure"]).loc[("primary", "capacity"), "agrees"]
    with pytest.raises(InputError, match="in_area"):
        check_against_scorecard(schools, read_scorecard(path), in_area=pd.Series([True]))


# --------------------------------------------------------------------------- shipped data


@pytest.fixture(scope="module")
def shipped_home(shipped_inputs):
    import geopandas as gpd

    joined = gpd.sjoin(
        shipped_inputs.providers[["id", "geometry"]],
        shipped_inputs.areas[["area_id", "geometry"]],
        predicate="within",
    )
    return joined.set_index("id")["area_id"]


def test_the_shipped_data_gives_unknown_not_zero(shipped_inputs, shipped_home):
    inputs = shipped_inputs
    names = {level: g.set_index("area_id")["area_name"] for level, g in inputs.groups.items()}
    for kind in ("primary", "secondary"):
        places = provider_places(inputs.providers, kind)
        assert places["places"].isna().all()
        result = assess_sufficiency(
            places,
            inputs.children[kind],
            home=shipped_home,
            lookups=inputs.lookups,
            group_names=names,
        )
        assert len(result.by_area) == len(inputs.children)
        for table in (result.by_area, result.by_group):
            assert (table["flag"] == "unknown").all()
            assert table["places"].isna().all() and table["places_known"].isna().all()
        assert result.by_group["group_name"].notna().all()
        assert len(result.outside) > 0
        assert any("unknown, not zero" in note for note in result.notes)
    early = early_years_places_per_100(
        provider_places(inputs.providers, "early_years"),
        inputs.children["early_years"],
        home=shipped_home,
        lookups=inputs.lookups,
    )
    assert early["places_per_100"].isna().all() and not early["complete"].any()
    assert any("unknown, not zero" in note for note in early.attrs["notes"])
    check = check_against_scorecard(
        inputs.providers, read_scorecard(SCORECARD), in_area=inputs.providers["in_county"]
    )
    assert check.empty and "no school-level capacity loaded" in check.attrs["note"].lower()


def test_the_shipped_post16_students_count_where_given(shipped_inputs, shipped_home):
    places = provider_places(shipped_inputs.providers, "post16", basis="students")
    given = places["places"].notna()
    assert given.any() and (~given).any()
    result = assess_sufficiency(
        places, shipped_inputs.children["post16"], home=shipped_home, lookups=shipped_inputs.lookups
    )
    unknown = result.by_area["flag"] == "unknown"
    assert (unknown == ~result.by_area["places_complete"]).all()
    assert result.by_area.loc[~unknown, "places"].notna().all()
