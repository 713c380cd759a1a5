"""Floating catchments against a hand-worked case and PySAL's access package."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from geomap.access import (
    E2SFCA_STEPS,
    floating_catchment,
    gaussian_weights,
    gravity_weights,
    method_weight,
    step_weights,
)
from geomap.errors import InputError

access = pytest.importorskip("access")


def test_a_hand_worked_two_step_case():
    # areas a (100 children) and b (300); providers X (50 places) and Y (30)
    # X reaches a (10 min) and b (20); Y reaches only b (5); a → Y takes 40 (beyond 30)
    times = pd.DataFrame(
        {
            "from_id": ["a", "b", "b", "a"],
            "to_id": ["X", "X", "Y", "Y"],
            "minutes": [10.0, 20.0, 5.0, 40.0],
        }
    )
    result = floating_catchment(times, {"a": 100, "b": 300}, {"X": 50, "Y": 30}, catchment=30)
    providers = result.providers.set_index("provider_id")
    assert providers.loc["X", "ratio"] == pytest.approx(50 / 400)
    assert providers.loc["Y", "ratio"] == pytest.approx(30 / 300)
    assert providers.loc["X", "people_per_place"] == pytest.approx(8)
    scores = result.areas.set_index("area_id")["score"]
    assert scores["a"] == pytest.approx(0.125)
    assert scores["b"] == pytest.approx(0.125 + 0.1)
    # the places are shared out exactly: population-weighted scores add up to the places reached
    assert (result.areas["score"] * result.areas["population"]).sum() == pytest.approx(80)


def test_an_area_with_no_provider_in_reach_scores_zero_and_a_provider_nobody_reaches_has_no_ratio():
    times = pd.DataFrame({"from_id": ["a"], "to_id": ["X"], "minutes": [np.nan]})
    result = floating_catchment(times, {"a": 10, "b": 5}, {"X": 20}, catchment=30)
    assert result.areas["score"].tolist() == [0.0, 0.0]
    assert result.areas["providers"].tolist() == [0, 0]
    assert np.isnan(result.providers["ratio"].iloc[0])


def _instance(seed: int, n_areas: int = 14, n_providers: int = 6):
    rng = np.random.default_rng(seed)
    areas = [f"A{i}" for i in range(n_areas)]
    providers = [f"P{j}" for j in range(n_providers)]
    rows = []
    for a in areas:
        for p in providers:
            if rng.random() < 0.2:
                continue  # no journey: the pair is missing
            rows.append((a, p, float(rng.uniform(1, 60))))  # asymmetric: each pair drawn alone
    times = pd.DataFrame(rows, columns=["from_id", "to_id", "minutes"])
    demand = pd.Series(rng.integers(0, 500, n_areas).astype(float), index=areas)
    supply = pd.Series(rng.integers(10, 300, n_providers).astype(float), index=providers)
    return times, demand, supply


def _pysal(times, demand, supply, *, catchment, weight_fn, method):
    model = access.Access(
        demand_df=demand.rename("pop").rename_axis("area").to_frame(),
        demand_value="pop",
        supply_df=supply.rename("places").rename_axis("provider").to_frame(),
        supply_value="places",
        cost_df=times,
        cost_origin="from_id",
        cost_dest="to_id",
        cost_name="minutes",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = model.enhanced_two_stage_fca if method == "e2sfca" else model.two_stage_fca
        frame = run(name=method, max_cost=catchment, weight_fn=weight_fn)
    return frame.iloc[:, 0].reindex(demand.index).fillna(0.0)


CASES = [
    ("2sfca", None, None),
    ("e2sfca", "steps", None),
    ("e2sfca", "gaussian", 12.0),
    ("gravity", "gravity", None),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("method", "decay", "sigma"), CASES)
def test_scores_agree_with_pysal_access(seed, method, decay, sigma):
    times, demand, supply = _instance(seed)
    catchment = 30.0
    if decay is None:
        ours, theirs = None, None
    elif decay == "steps":
        steps = {k * catchment: v for k, v in E2SFCA_STEPS.items()}
        ours, theirs = step_weights(steps), access.weights.step_fn(steps)
    elif decay == "gaussian":
        ours, theirs = gaussian_weights(sigma), access.weights.gaussian(sigma)
    else:
        ours = gravity_weights(catchment, 1.0, min_minutes=1.0)
        theirs = access.weights.gravity(catchment, -1.0, min_dist=1.0)
    result = floating_catchment(times, demand, supply, catchment=catchment, weight=ours)
    expected = _pysal(times, demand, supply, catchment=catchment, weight_fn=theirs, method=method)
    got = result.areas.set_index("area_id")["score"].reindex(demand.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-12)
    assert (got > 0).any()


def test_the_methods_defaults_are_the_documented_decays():
    assert method_weight("2sfca", 30) is None
    steps = method_weight("e2sfca", 30)
    assert steps is not None
    assert steps(np.array([0.0, 10.0, 10.5, 20.0, 29.0, 30.0, 31.0])).tolist() == [
        1.0,
        1.0,
        0.68,
        0.68,
        0.22,
        0.22,
        0.0,
    ]
    gravity = method_weight("gravity", 30)
    assert gravity is not None
    assert gravity(np.array([0.5, 15.0, 30.0])).tolist() == pytest.approx([30.0, 2.0, 1.0])
    with pytest.raises(InputError, match="unknown method"):
        method_weight("3sfca", 30)


@pytest.mark.parametrize(
    ("times", "demand", "supply", "message"),
    [
        (pd.DataFrame({"from_id": ["a"], "to_id": ["X"]}), {"a": 1}, {"X": 1}, "lacks minutes"),
        (
            pd.DataFrame({"from_id": ["a", "a"], "to_id": ["X", "X"], "minutes": [1, 2]}),
            {"a": 1},
            {"X": 1},
            "given twice",
        ),
        (
            pd.DataFrame({"from_id": [], "to_id": [], "minutes": []}),
            {"a": -1},
            {"X": 1},
            "not negative",
        ),
        (
            pd.DataFrame({"from_id": [], "to_id": [], "minutes": []}),
            {"a": 1},
            {"X": np.inf},
            "finite",
        ),
    ],
)
def test_bad_inputs_are_refused(times, demand, supply, message):
    with pytest.raises(InputError, match=message):
        floating_catchment(times, demand, supply, catchment=30)


def _cli(*args):
    from click.testing import CliRunner

    from geomap.cli import main

    return CliRunner().invoke(main, ["access", *args])


def test_the_access_command_on_a_users_own_matrix(write, tmp_path):
    times = write("t.csv", "from_id,to_id,minutes\na,X,10\nb,X,20\nb,Y,5\na,Y,40\n")
    demand = write("d.csv", "id,population\na,100\nb,300\n")
    supply = write("s.csv", "id,capacity\nX,50\nY,30\n")
    out, ratios = tmp_path / "access.csv", tmp_path / "ratios.csv"
    result = _cli(
        "--times",
        str(times),
        "--demand",
        str(demand),
        "--supply",
        str(supply),
        "--method",
        "2sfca",
        "--catchment",
        "30",
        "--out",
        str(out),
        "--providers-out",
        str(ratios),
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig").set_index("area_id")
    assert table.loc["a", "score"] == pytest.approx(0.125)
    assert table.loc["b", "score"] == pytest.approx(0.225)
    assert (table["method"] == "2sfca").all()
    per_place = pd.read_csv(ratios, encoding="utf-8-sig").set_index("provider_id")
    assert per_place.loc["X", "people_per_place"] == pytest.approx(8)


@pytest.mark.parametrize(
    ("demand", "message"),
    [
        ("id,population\na,100\n", "row 3, column 'from_id': 'b' is not in the demand table"),
        ("id,population\na,100\nb,lots\n", "row 3, column 'population': 'lots' is not a number"),
        ("id,population\na,100\nb,\n", "row 3, column 'population': the count is blank"),
        ("id,population\na,100\na,3\n", "'a'"),
        ("id,people_count\na,1\nb,2\n", "missing required column"),
    ],
)
def test_the_access_command_refuses_a_bad_demand_table(write, tmp_path, demand, message):
    times = write("t.csv", "from_id,to_id,minutes\na,X,10\nb,X,20\n")
    supply = write("s.csv", "id,capacity\nX,50\n")
    out = tmp_path / "access.csv"
    result = _cli(
        "--times",
        str(times),
        "--demand",
        str(write("d.csv", demand)),
        "--supply",
        str(supply),
        "--catchment",
        "30",
        "--out",
        str(out),
    )
    assert result.exit_code == 1, result.output
    assert message in result.output and "d.csv" in result.output
    assert "Traceback" not in result.output and not out.exists()


# --------------------------------------------------------------------------- on the study area


def _points(ids, xy):
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"id": ids}, geometry=[shapely.Point(x, y) for x, y in xy], crs="EPSG:27700"
    )


def _km_source():
    from geomap.travel.base import TravelTimes

    class Km(TravelTimes):
        mode = "car"
        method = "test:km"

        def describe(self) -> str:
            return "1 minute per km"

        def matrix(self, origins, destinations):
            ox, oy = origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy()
            dx, dy = destinations.geometry.x.to_numpy(), destinations.geometry.y.to_numpy()
            km = np.hypot(ox[:, None] - dx[None, :], oy[:, None] - dy[None, :]) / 1000
            return pd.DataFrame(
                {
                    "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                    "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                    "minutes": km.ravel(),
                    "method": self.method,
                }
            )

    return Km()


def _primaries(capacity):
    providers = _points(["X", "Y", "Z"], [(10_000, 0), (30_000, 0), (60_000, 0)])
    providers["name"] = ["X school", "Y school", "Z school"]
    providers["kind"] = "primary"
    providers["sector"] = "maintained"
    for phase in ("early_years", "secondary", "post16"):
        providers[f"offers_{phase}"] = False
    providers["offers_primary"] = True
    providers["low_age"], providers["high_age"] = 4.0, 11.0
    providers["capacity"] = pd.array(capacity, dtype="Float64")
    providers["pupils"] = pd.array([None] * 3, dtype="Float64")
    providers["students_16_18"] = pd.array([None] * 3, dtype="Float64")
    providers["rating"] = "Good"
    providers["in_county"] = True
    return providers


def test_kind_access_matches_the_plain_catchment_when_every_place_is_known():
    from geomap.access import kind_access

    origins = _points(["a", "b", "c"], [(0, 0), (20_000, 0), (50_000, 0)])
    children = pd.Series({"a": 100.0, "b": 300.0, "c": 50.0})
    result = kind_access(
        origins, _primaries([50, 30, 20]), children, _km_source(), kind="primary", catchment=15
    )
    # X (10 km) reaches a and b; Y (30 km) reaches b only; Z (60 km) reaches c only
    scores = result.areas.set_index("area_id")
    assert scores.loc["a", "score"] == pytest.approx(50 / 400)
    assert scores.loc["b", "score"] == pytest.approx(50 / 400 + 30 / 300)
    assert scores.loc["c", "score"] == pytest.approx(20 / 50)
    assert scores["complete"].all()
    ratios = result.providers.set_index("provider_id")
    assert ratios.loc["X", "people_per_place"] == pytest.approx(8)
    assert ratios.loc["X", "name"] == "X school"
    assert any("catchment 15 minutes (set for this run)" in n for n in result.notes)


def test_unknown_places_blank_the_scores_they_would_change_and_are_never_zero():
    from geomap.access import kind_access

    origins = _points(["a", "b", "c"], [(0, 0), (20_000, 0), (50_000, 0)])
    children = pd.Series({"a": 100.0, "b": 300.0, "c": 50.0})
    result = kind_access(
        origins, _primaries([50, None, 20]), children, _km_source(), kind="primary", catchment=15
    )
    scores = result.areas.set_index("area_id")
    # Y's places are unknown: b can reach it, so b has no score; a and c are whole
    assert np.isnan(scores.loc["b", "score"])
    assert not scores.loc["b", "complete"]
    assert scores.loc["b", "providers_without_places"] == 1
    assert scores.loc["b", "score_known_places"] == pytest.approx(50 / 400)
    assert scores.loc["a", "score"] == pytest.approx(50 / 400)
    assert scores.loc["c", "score"] == pytest.approx(20 / 50)
    ratios = result.providers.set_index("provider_id")
    assert np.isnan(ratios.loc["Y", "places"]) and np.isnan(ratios.loc["Y", "ratio"])
    assert any("1 of 3 areas" in n for n in result.notes)


def test_a_kind_without_any_places_is_refused_not_guessed():
    from geomap.access import kind_access
    from geomap.errors import MissingCapacityError

    origins = _points(["a"], [(0, 0)])
    with pytest.raises(MissingCapacityError, match="no primary provider gives its capacity"):
        kind_access(
            origins,
            _primaries([None, None, None]),
            pd.Series({"a": 10.0}),
            _km_source(),
            kind="primary",
        )


def test_the_default_catchment_is_the_reasonable_journey_and_names_its_source():
    from geomap.access import catchment_for

    minutes, source = catchment_for("car", "primary")
    assert minutes == 45.0 and "longest reasonable journey" in source
    assert catchment_for("car", "primary", catchments={"car": {"primary": 20}}) == (
        20.0,
        "set for this study area",
    )
    with pytest.raises(InputError, match="no default catchment"):
        catchment_for("boat", "primary")


def test_the_access_command_on_the_study_area_says_when_a_kind_has_no_capacity(tmp_path):
    out = tmp_path / "primary.csv"
    result = _cli("--kind", "primary", "--mode", "car", "--out", str(out))
    assert result.exit_code != 0
    assert "no primary provider gives its capacity" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_the_access_command_on_the_study_area_with_student_numbers(tmp_path):
    out, ratios = tmp_path / "post16.csv", tmp_path / "providers.csv"
    result = _cli(
        "--kind", "post16", "--mode", "car", "--places", "students", "--method", "e2sfca",
        "--catchment", "20",
        "--out", str(out), "--providers-out", str(ratios),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert len(table) == 116 and table["area_id"].is_unique
    assert {"area_id", "area_name", "score", "complete", "ward"} <= set(table.columns)
    # providers without a 2016/17 count leave the areas that reach them unscored
    assert table["score"].isna().any() and table["score"].notna().any()
    assert "16–18 students in 2016/17" in result.output
    providers = pd.read_csv(ratios, encoding="utf-8-sig")
    assert providers["places"].isna().any()
    assert (providers["places"].dropna() > 0).all()


def test_the_access_command_with_a_capacity_list(tmp_path):
    from tests.shipped_data import shipped

    table = pd.read_csv(shipped("providers"), dtype=str)
    table.loc[table["kind"] == "primary", "capacity"] = "210"
    path = tmp_path / "with_capacity.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "primary.csv"
    result = _cli(
        "--kind", "primary", "--mode", "car", "--providers", str(path), "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out, encoding="utf-8-sig")
    # only primary schools' own places count: all-through schools offering primary leave
    # a few areas unscored, the rest are scored with positive scores
    scored = scores["score"].dropna()
    assert len(scored) > 0 and (scored > 0).all()
    assert (scores["score_known_places"] > 0).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--times", "t.csv", "--out", "o.csv"], "--demand, --supply missing"),
        (["--kind", "primary", "--out", "o.csv"], "give --kind and --mode"),
        (
            ["--times", "t.csv", "--demand", "d.csv", "--supply", "s.csv", "--out", "o.csv"],
            "--catchment MINUTES is needed",
        ),
    ],
)
def test_the_access_command_says_which_form_it_needs(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("t.csv", "d.csv", "s.csv"):
        (tmp_path / name).write_text("id\n")
    result = _cli(*args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    ("times", "message"),
    [
        # a journey to a provider the supply table does not give would count for nothing
        (
            "from_id,to_id,minutes\na,X,10\na,PX,5\n",
            "row 3, column 'to_id': 'PX' is not in the supply",
        ),
        ("from_id,to_id,minutes\na,x,10\n", "row 2, column 'to_id': 'x' is not in the supply"),
        ("from_id,to_id,minutes\n,X,10\n", "row 2, column 'from_id': the origin id is blank"),
        ("from_id,to_id,minutes\na,,10\n", "row 2, column 'to_id': the site id is blank"),
        ("from_id,to_id,minutes\na,X,1e308\n", "row 2, column 'minutes'"),
        ("id,X\n,10\n", "row 2, column 'id': the origin id is blank"),
        ("id,X,PX\na,10,5\n", "row 2, column 'PX': 'PX' is not in the supply"),
    ],
)
def test_the_access_command_refuses_journeys_it_cannot_place(write, tmp_path, times, message):
    out = tmp_path / "access.csv"
    result = _cli(
        "--times", str(write("t.csv", times)),
        "--demand", str(write("d.csv", "id,population\na,100\n")),
        "--supply", str(write("s.csv", "id,capacity\nX,50\n")),
        "--catchment", "30", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert message in result.output and "t.csv" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize(
    ("table", "rows", "message"),
    [
        ("demand", "id,population\na,1e308\n", "row 2, column 'population'"),
        ("demand", "id,population\na,-5\n", "Give a count of 0 or more"),
        ("supply", "id,capacity\nX,1e12\n", "row 2, column 'capacity'"),
    ],
)
def test_counts_are_bounded(write, tmp_path, table, rows, message):
    files = {
        "demand": "id,population\na,100\n",
        "supply": "id,capacity\nX,50\n",
        table: rows,
    }
    result = _cli(
        "--times", str(write("t.csv", "from_id,to_id,minutes\na,X,10\n")),
        "--demand", str(write("d.csv", files["demand"])),
        "--supply", str(write("s.csv", files["supply"])),
        "--catchment", "30", "--out", str(tmp_path / "o.csv"),
    )  # fmt: skip
    assert result.exit_code == 1 and message in result.output, result.output
    assert "leave it blank" not in result.output


def test_a_formula_without_its_saved_result_is_refused(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["from_id", "to_id", "minutes"], ["a", "X", 10], ["a", "Y", "=20+5"]):
        sheet.append(row)
    path = tmp_path / "times.xlsx"
    book.save(path)
    demand = tmp_path / "d.csv"
    demand.write_text("id,population\na,100\n")
    supply = tmp_path / "s.csv"
    supply.write_text("id,capacity\nX,50\nY,20\n")
    result = _cli(
        "--times", str(path), "--demand", str(demand), "--supply", str(supply),
        "--catchment", "30", "--out", str(tmp_path / "o.csv"),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "row 3, column 'C': cell C3 holds a formula (=20+5) whose result was never saved" in (
        result.output
    )


def test_providers_beyond_the_border_are_left_out_unless_asked():
    from geomap.access import kind_access

    origins = _points(["a", "b", "c"], [(0, 0), (20_000, 0), (50_000, 0)])
    children = pd.Series({"a": 100.0, "b": 300.0, "c": 50.0})
    providers = _primaries([50, 30, 2000])
    providers.loc[2, "in_county"] = False  # Z, a big school across the border
    left_out = kind_access(origins, providers, children, _km_source(), kind="primary", catchment=15)
    scores = left_out.areas.set_index("area_id")
    # c reaches only Z: with Z left out it has no provider within reach
    assert scores.loc["c", "score"] == 0 and scores.loc["c", "providers"] == 0
    assert "Z" not in set(left_out.providers["provider_id"])
    assert any(
        "1 primary providers outside the study area are left out" in n for n in left_out.notes
    )
    counted = kind_access(
        origins, providers, children, _km_source(), kind="primary", catchment=15,
        include_outside=True,
    )  # fmt: skip
    # counted, Z's 2,000 places go to c's 50 children alone: 40 places each
    assert counted.areas.set_index("area_id").loc["c", "score"] == pytest.approx(40.0)
    assert any("overstate" in n for n in counted.notes)


def _plain_two_step(times, demand, supply, catchment):
    """The two steps as loops over text ids: the reference for the id handling below."""
    within = [
        (str(a), str(p), m)
        for a, p, m in zip(times["from_id"], times["to_id"], times["minutes"], strict=True)
        if m <= catchment and str(a) in demand and str(p) in supply
    ]
    reached = {p: sum(demand[a] for a, q, _ in within if q == p) for p in supply}
    ratio = {p: supply[p] / reached[p] for p in supply if reached[p] > 0}
    return {a: sum(ratio.get(p, 0.0) for b, p, _ in within if b == a) for a in demand}


@pytest.mark.parametrize("form", ["text", "categorical", "numbers", "mixed"])
def test_ids_of_any_type_are_matched_as_text(form):
    rng = np.random.default_rng(7)
    pairs = [(a, p) for a in range(12) for p in range(5) if rng.random() < 0.7]
    minutes = rng.uniform(0, 50, len(pairs))
    from_id = pd.Series([a for a, _ in pairs])
    to_id = pd.Series([p for _, p in pairs])
    if form == "text":
        from_id, to_id = from_id.astype(str), to_id.astype(str)
    elif form == "categorical":
        from_id, to_id = from_id.astype(str).astype("category"), to_id.astype("category")
    elif form == "mixed":
        from_id = pd.Series([str(a) if i % 2 else a for i, a in enumerate(from_id)], dtype=object)
    times = pd.DataFrame({"from_id": from_id, "to_id": to_id, "minutes": minutes})
    demand = {str(a): float(rng.integers(0, 50)) for a in range(12)}
    supply = {str(p): float(rng.integers(1, 40)) for p in range(5)}
    result = floating_catchment(times, demand, supply, catchment=30)
    expected = _plain_two_step(times, demand, supply, 30)
    got = result.areas.set_index("area_id")["score"]
    for area, score in expected.items():
        assert got[area] == pytest.approx(score)


def test_a_pair_given_twice_in_two_spellings_is_refused():
    times = pd.DataFrame(
        {"from_id": pd.Series([1, "1"], dtype=object), "to_id": ["X", "X"], "minutes": [1, 2]}
    )
    with pytest.raises(InputError, match="1 → X is given twice"):
        floating_catchment(times, {"1": 1}, {"X": 1}, catchment=30)
