"""Postcode-level origins: children shared among postcodes, gaps from every postcode."""

from __future__ import annotations

import dataclasses
import warnings
from fractions import Fraction

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.cli import main
from geomap.demand import SHARE_UNIT, postcode_origins
from geomap.errors import InputError
from geomap.pipeline import (
    COMPARISON_COLUMNS,
    Inputs,
    analyse,
    analyse_post16,
    area_coverage,
    choose_public_transport,
    choose_travel,
    compare_origins,
    load_inputs,
    postcode_inputs,
)
from geomap.travel.estimate import StraightLineEstimate

CRS = settings.MEASURE_CRS


def _areas(*boxes: tuple[str, float, float, float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": [b[0] for b in boxes], "area_name": [f"Area {b[0]}" for b in boxes]},
        geometry=[shapely.box(*b[1:]) for b in boxes],
        crs=CRS,
    )


def _lookup(rows, **extra) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["postcode", "easting", "northing"])
    for name, values in extra.items():
        table[name] = values
    return table


def _children(**kinds) -> pd.DataFrame:
    first = next(iter(kinds.values()))
    return pd.DataFrame(kinds, index=pd.Index(list(first), name="area_id")).rename(
        index=dict(zip(first, first, strict=True))
    )


def _counts(table: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Area → kind → children, as children_by_band gives them."""
    frame = pd.DataFrame(table).T
    frame.index.name = "area_id"
    return frame


# --------------------------------------------------------------------------- apportioning


def test_equal_shares_add_up_exactly_to_each_areas_children():
    # A: 0..1000 × 0..1000 with three postcodes; B: 1000..2000 with two
    areas = _areas(("A", 0, 0, 1000, 1000), ("B", 1000, 0, 2000, 1000))
    lookup = _lookup(
        [
            ("HR1 1AA", 100, 100),
            ("hr1 1ab", 200, 500),
            ("HR1  1AD", 900, 900),
            ("HR2 2AA", 1500, 500),
            ("HR2 2AB", 1900, 100),
        ]
    )
    children = _counts({"A": {"primary": 10, "post16": 1}, "B": {"primary": 7, "post16": 0}})
    out = postcode_origins(lookup, areas, children)
    assert list(out["id"]) == ["HR11AA", "HR11AB", "HR11AD", "HR22AA", "HR22AB"]
    assert list(out["area_id"]) == ["A", "A", "A", "B", "B"]
    sums = out.groupby("area_id")[["primary", "post16"]].sum()
    # exactly, not approximately: the shares are whole multiples of 2**-16
    assert (sums == children.astype(float)).all().all()
    # 10 children among three postcodes: 10/3 each, to within one unit
    a = out[out["area_id"] == "A"]
    assert np.abs(a["primary"] - 10 / 3).max() <= SHARE_UNIT
    assert list(out.loc[out["area_id"] == "B", "primary"]) == [3.5, 3.5]
    assert np.allclose(a["share"], 1 / 3)
    assert (out["origin_source"] == "postcode").all()
    assert out.crs == CRS
    assert out.attrs["note"].startswith("Journeys start at 5 postcodes")
    assert "shared equally among its N postcodes" in out.attrs["note"]
    assert out.attrs["note"].rstrip().endswith("an estimate.")
    assert out.attrs["weight_column"] is None


def test_a_weight_column_shares_children_in_proportion():
    areas = _areas(("A", 0, 0, 1000, 1000))
    lookup = _lookup([("X1 1AA", 100, 100), ("X1 1AB", 800, 800)], households=["1", "3"])
    out = postcode_origins(lookup, areas, _counts({"A": {"primary": 8}}))
    assert list(out["primary"]) == [2.0, 6.0]
    assert list(out["share"]) == [0.25, 0.75]
    assert out.attrs["weight_column"] == "households"
    assert "in proportion to their households" in out.attrs["note"]


@pytest.mark.parametrize("seed", range(5))
def test_shares_agree_with_exact_fractions_on_random_instances(seed):
    rng = np.random.default_rng(seed)
    n_areas = 6
    areas = _areas(*((f"L{i}", i * 1000, 0, (i + 1) * 1000, 1000) for i in range(n_areas)))
    n = int(rng.integers(5, 60))
    xs = rng.uniform(1, n_areas * 1000 - 1, n)
    ys = rng.uniform(1, 999, n)
    weights = rng.integers(0, 9, n)
    lookup = _lookup(
        [(f"Z{i} {i:03d}", x, y) for i, (x, y) in enumerate(zip(xs, ys, strict=True))],
        households=weights.astype(str),
    )
    children = _counts({f"L{i}": {"primary": int(rng.integers(0, 500))} for i in range(n_areas)})
    out = postcode_origins(lookup, areas, children)
    # reference: exact fractions, area by area
    for code, rows in out.groupby("area_id"):
        total = int(children.loc[code, "primary"])
        if rows["postcode"].eq("").all():
            assert list(rows["primary"]) == [float(total)]
            continue
        ws = [int(weights[int(pc.split()[0][1:])]) for pc in rows["postcode"]]
        if sum(ws) == 0:
            ws = [1] * len(ws)
        exact = [Fraction(total * w, sum(ws)) for w in ws]
        got = [Fraction(v) for v in rows["primary"]]
        assert sum(got) == total
        assert all(abs(g - e) < Fraction(SHARE_UNIT) for g, e in zip(got, exact, strict=True))


# --------------------------------------------------------------------------- left out, kept whole


def test_postcodes_outside_every_area_or_the_boundary_or_unlocated_are_left_out_and_counted():
    areas = _areas(("A", 0, 0, 1000, 1000), ("B", 2000, 0, 3000, 1000))
    lookup = _lookup(
        [
            ("IN1 1AA", 500, 500),
            ("GAP1 1AA", 1500, 500),  # between the areas
            ("FAR1 1AA", 9000, 9000),  # outside the boundary
            ("NOX1 1AA", 0, 0),  # Code-Point Open: no coordinates
            ("NOX1 1AB", 2500, 500),  # quality 90: not located
            ("IN2 2AA", 2500, 500),
        ],
        positional_quality=["10", "10", "10", "90", "90", "50"],
    )
    boundary = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 3000, 1000)], crs=CRS)
    children = _counts({"A": {"primary": 4}, "B": {"primary": 6}})
    out = postcode_origins(lookup, areas, children, boundary=boundary)
    assert list(out["id"]) == ["IN11AA", "IN22AA"]
    assert out.attrs["unlocated"] == 2
    assert out.attrs["outside_boundary"] == 1
    assert out.attrs["outside_areas"] == 1
    assert out.attrs["postcodes_in_lookup"] == 6
    assert out.attrs["postcodes_used"] == 2
    assert "2 postcode(s) of the lookup have no coordinates" in out.attrs["note"]
    assert "2 of the lookup's 6 postcodes lie outside the areas" in out.attrs["note"]
    assert list(out["primary"]) == [4.0, 6.0]


def test_an_area_with_no_postcode_keeps_its_area_origin_and_all_its_children():
    areas = _areas(("A", 0, 0, 1000, 1000), ("B", 1000, 0, 2000, 1000), ("C", 2000, 0, 3000, 1000))
    lookup = _lookup([("A1 1AA", 100, 100), ("A1 1AB", 200, 200)])
    children = _counts({"A": {"primary": 2}, "B": {"primary": 9}, "C": {"primary": 5}})
    origins = gpd.GeoDataFrame(
        {"id": ["A", "B"], "origin_source": ["trip_point", "trip_point"]},
        geometry=[shapely.Point(500, 500), shapely.Point(1234, 567)],
        crs=CRS,
    )
    out = postcode_origins(lookup, areas, children, origins=origins)
    kept = out.set_index("id").loc[["B", "C"]]
    assert list(kept["area_id"]) == ["B", "C"]
    assert list(kept["postcode"]) == ["", ""]
    assert list(kept["primary"]) == [9.0, 5.0]
    # B keeps its own trip point; C, which has none given, a point inside it
    assert kept.loc["B", "origin_source"] == "trip_point"
    assert (kept.loc["B", "geometry"].x, kept.loc["B", "geometry"].y) == (1234, 567)
    assert kept.loc["C", "origin_source"] == "representative_point"
    assert areas.geometry.iloc[2].contains(kept.loc["C", "geometry"])
    assert out.attrs["areas_without_postcodes"] == ["B", "C"]
    assert "2 of 3 areas have no postcode inside and keep their area origin" in out.attrs["note"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda lk, ar, ch: (lk.drop(columns=["easting"]), ar, ch),
            "postcode, easting and northing",
        ),
        (lambda lk, ar, ch: (lk, ar.to_crs("EPSG:4326"), ch), "EPSG:4326"),
        (lambda lk, ar, ch: (lk, ar, ch.drop(index="A")), "no children counted, e.g. A"),
    ],
)
def test_bad_inputs_are_refused(change, message):
    areas = _areas(("A", 0, 0, 1000, 1000))
    lookup = _lookup([("A1 1AA", 100, 100)])
    children = _counts({"A": {"primary": 2}})
    with pytest.raises(InputError, match=message):
        postcode_origins(*change(lookup, areas, children))


def test_a_repeated_postcode_is_used_once_with_a_warning():
    areas = _areas(("A", 0, 0, 1000, 1000))
    lookup = _lookup([("A1 1AA", 100, 100), ("a11aa", 900, 900)])
    with pytest.warns(UserWarning, match="1 postcode\\(s\\) appear more than once \\(A11AA\\)"):
        out = postcode_origins(lookup, areas, _counts({"A": {"primary": 3}}))
    assert list(out["id"]) == ["A11AA"]
    assert out.geometry.iloc[0].x == 100
    assert out.attrs["repeated"] == 1


# --------------------------------------------------------------------------- gaps from postcodes


@pytest.fixture
def long_area(herefordshire, tmp_path):
    """One long area (10 km × 1 km), its origin near a school at its west end.

    School at x = 0; the area's origin at x = 500 m; three postcodes at x = 300,
    700 and 9,500 m. Walking is 15 min per straight-line km, the threshold 30 min:
    the area's origin is 7.5 min away (within), the far postcode 142.5 min (beyond).
    """
    areas = _areas(("A", 0, 0, 10000, 1000))
    lookup = tmp_path / "postcodes.csv"
    lookup.write_text(
        "postcode,positional_quality,easting,northing\n"
        "AA1 1AA,10,300,500\nAA1 1AB,10,700,500\nAA1 1AC,10,9500,500\n",
        encoding="utf-8",
    )
    study = dataclasses.replace(herefordshire, postcodes=lookup)
    providers = gpd.GeoDataFrame(
        {
            "id": ["s1"],
            "name": ["West School"],
            "kind": ["primary"],
            "sector": ["maintained"],
            "in_county": [True],
            "offers_early_years": [False],
            "offers_primary": [True],
            "offers_secondary": [False],
            "offers_post16": [False],
        },
        geometry=[shapely.Point(0, 500)],
        crs=CRS,
    )
    origins = gpd.GeoDataFrame(
        {"id": ["A"], "origin_source": ["trip_point"]},
        geometry=[shapely.Point(500, 500)],
        crs=CRS,
    )
    wards = gpd.GeoDataFrame(
        {"area_id": ["W"], "area_name": ["Ward W"]}, geometry=[areas.geometry.iloc[0]], crs=CRS
    )
    boundary = gpd.GeoDataFrame({"name": ["Long"]}, geometry=[areas.geometry.iloc[0]], crs=CRS)
    inputs = Inputs(
        study=study,
        providers=providers,
        areas=areas,
        origins=origins,
        children=_counts({"A": {"primary": 10}}),
        groups={"ward": wards},
        lookups={"ward": pd.Series({"A": "W"})},
        base=boundary,
        boundary=boundary,
    )
    walk = StraightLineEstimate(mode="walk", intercept=0.0, slopes=(15.0,), basis="4 km/h")
    return inputs, walk


def test_the_postcode_view_counts_children_of_a_far_postcode_the_area_view_misses(long_area):
    inputs, walk = long_area
    limits = {"walk": {"primary": 30.0}}
    by_area = analyse(inputs, [walk], kinds=("primary",), thresholds=limits)
    assert by_area.coverage["minutes"].tolist() == [7.5]
    assert by_area.coverage["children_beyond"].tolist() == [0]

    at_postcodes = postcode_inputs(inputs)
    assert at_postcodes.origins_of == "postcodes"
    assert list(at_postcodes.lookups) == ["ward", "area"]
    by_postcode = analyse(at_postcodes, [walk], kinds=("primary",), thresholds=limits)
    cover = by_postcode.coverage.set_index("area_id")
    assert cover["minutes"].round(2).to_dict() == {"AA11AA": 4.5, "AA11AB": 10.5, "AA11AC": 142.5}
    assert cover["beyond"].to_dict() == {"AA11AA": False, "AA11AB": False, "AA11AC": True}
    # a third of the area's ten children, not rounded down to 3
    assert cover.loc["AA11AC", "children_beyond"] == pytest.approx(10 / 3, abs=SHARE_UNIT)
    assert cover["children"].sum() == 10
    # the ranking names each postcode by its area; summaries per ward and per area
    assert by_postcode.ranking["area_name"].tolist() == ["Area A"]
    summary = by_postcode.by_group.set_index("level")
    assert summary.loc["ward", "group_id"] == "W"
    assert summary.loc["area", "group_id"] == "A"
    assert summary.loc["area", "children_beyond"] == pytest.approx(10 / 3, abs=SHARE_UNIT)
    assert summary.loc["area", "areas"] == 3

    compared = compare_origins(by_area.coverage, by_postcode.coverage)
    assert tuple(compared.columns) == COMPARISON_COLUMNS
    row = compared.iloc[0]
    assert (row["kind"], row["mode"], row["threshold"], row["children"]) == (
        "primary",
        "walk",
        30.0,
        10,
    )
    assert (row["children_beyond_areas"], row["children_beyond_postcodes"]) == (0, 3)
    assert row["difference"] == 3
    assert (row["share_beyond_areas"], row["share_beyond_postcodes"]) == (0.0, 0.333)

    gathered = area_coverage(by_postcode.coverage, at_postcodes.lookups["area"])
    one = gathered.iloc[0]
    assert one["area_id"] == "A"
    # children-weighted mean of 4.5, 10.5 and 142.5 with equal shares
    assert one["minutes"] == pytest.approx(round((4.5 + 10.5 + 142.5) / 3, 1))
    assert one["max_minutes"] == 142.5
    assert (one["origins"], one["origins_beyond"], bool(one["beyond"])) == (3, 1, True)
    assert one["children"] == 10
    assert one["provider_name"] == "West School"


def test_postcode_inputs_need_a_lookup_and_area_inputs(long_area):
    inputs, _walk = long_area
    with pytest.raises(InputError, match="no postcode lookup"):
        postcode_inputs(
            dataclasses.replace(inputs, study=dataclasses.replace(inputs.study, postcodes=None))
        )
    with pytest.raises(InputError, match="already start journeys at postcodes"):
        postcode_inputs(postcode_inputs(inputs))


def test_compare_origins_refuses_different_thresholds(long_area):
    inputs, walk = long_area
    a = analyse(inputs, [walk], kinds=("primary",), thresholds={"walk": {"primary": 30.0}})
    b = analyse(inputs, [walk], kinds=("primary",), thresholds={"walk": {"primary": 20.0}})
    with pytest.raises(InputError, match="different thresholds for primary by walk"):
        compare_origins(a.coverage, b.coverage)


def test_load_inputs_refuses_unknown_origins(herefordshire):
    with pytest.raises(InputError, match="origins must be one of areas, postcodes"):
        load_inputs(herefordshire, origins="zones")


# --------------------------------------------------------------------------- the shipped county


@pytest.fixture(scope="module")
def county(shipped_inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return postcode_inputs(shipped_inputs)


def test_gaps_from_every_postcode_of_the_shipped_county(shipped_inputs, county):
    lookup = county.origins.attrs
    # 27,861 postcodes of Herefordshire and its neighbours; the county's are a few thousand
    assert lookup["postcodes_in_lookup"] == 27861
    assert 4000 <= lookup["postcodes_used"] <= 12000
    assert lookup["areas_without_postcodes"] == []
    assert county.origins["id"].is_unique
    assert set(county.lookups["area"]) == set(shipped_inputs.areas["area_id"])
    sums = county.children.groupby(county.lookups["area"]).sum()
    assert (sums == shipped_inputs.children.loc[sums.index].astype(float)).all().all()

    car, walk = choose_travel(county.study, ["car", "walk"])
    analysis = analyse(county, [car, walk], kinds=("primary", "secondary"))
    cover = analysis.coverage
    assert len(cover) == len(county.origins) * 2 * 2
    per_area = analysis.by_group[analysis.by_group["level"] == "area"]
    wards = analysis.by_group[analysis.by_group["level"] == county.main_level]
    # every child is counted once at each level
    for level in (per_area, wards):
        totals = level.groupby(["kind", "mode"])["children"].sum()
        assert np.allclose(
            totals.xs("primary", level="kind"), shipped_inputs.children["primary"].sum()
        )
    by_area = analyse(shipped_inputs, [car, walk], kinds=("primary", "secondary"))
    compared = compare_origins(by_area.coverage, cover)
    assert len(compared) == 4
    assert (compared["children"] == compared["kind"].map(shipped_inputs.children.sum())).all()


def test_post16_from_every_postcode_keeps_the_young_people(shipped_inputs, county):
    pt = choose_public_transport(county.study)
    if pt is None:
        pytest.skip("the shipped study area has no public-transport times")
    car = choose_travel(county.study, ["car"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyse_post16(county, car=car, pt=pt)
    table = result.areas
    assert len(table) == len(county.origins)
    assert table["young_people"].sum() == shipped_inputs.children["post16"].sum()
    per_area = result.by_group[result.by_group["level"] == "area"].set_index("group_id")
    assert (per_area["young_people"] == shipped_inputs.children["post16"].loc[per_area.index]).all()
    assert "every postcode takes its area's public-transport times" in result.methods["pt"]


def test_the_gaps_command_with_postcode_origins(tmp_path):
    out = tmp_path / "gaps.csv"
    summary = tmp_path / "summary.csv"
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "gaps",
            "--origins",
            "postcodes",
            "--mode",
            "walk",
            "--kind",
            "primary",
            "--top",
            "2",
            "--out",
            str(out),
            "--summary-out",
            str(summary),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "postcodes beyond" in result.output
    assert "children_beyond_postcodes" in result.output
    assert "shared equally among its N postcodes" in result.output
    ranked = pd.read_csv(out, encoding="utf-8-sig")
    # postcodes, folded, not area codes
    assert ranked["area_id"].str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}").all()
    levels = set(pd.read_csv(summary, encoding="utf-8-sig")["level"])
    assert "area" in levels


def test_the_gaps_command_help_shows_the_postcode_example():
    result = CliRunner().invoke(main, ["gaps", "--help"])
    assert "--origins [areas|postcodes]" in result.output
    assert "geomap gaps --origins postcodes" in result.output
