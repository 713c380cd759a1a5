"""Where to add provision: hand-worked cases, brute force and spopt as references, the CLI."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from geomap.errors import DuplicateIdError, InputError, InputWarning, MissingColumnError
from geomap.sites import choose_sites, grid_candidates, read_site_ids

FIXTURE = "sites"


def _fixture(fixtures, name):
    return fixtures / FIXTURE / name


def _times(rows):
    return pd.DataFrame(rows, columns=["from_id", "to_id", "minutes"])


# --------------------------------------------------------------------------- hand-worked


def test_maximal_covering_on_the_hand_worked_instance(fixtures):
    from geomap.travel.tables import read_time_table

    times = read_time_table(_fixture(fixtures, "times.csv"))
    demand = {"a": 100, "b": 80, "c": 60, "d": 50, "e": 40, "f": 30}
    choice = choose_sites(
        times,
        demand,
        candidates=["C1", "C2", "C3", "C4"],
        existing=["E"],
        add=2,
        objective="coverage",
        threshold=20,
    )
    # E covers a (100); C1 adds b (80), C2 b+c (140), C3 d+e (90), C4 c+f (90):
    # the best pair is C2 and C3, 230 more children, 330 of 360 in all
    assert sorted(choice.sites["site_id"]) == ["C2", "C3"]
    assert choice.optimal
    assert choice.before["covered"] == 100
    assert choice.after["covered"] == 330
    assert choice.after["covered_share"] == pytest.approx(330 / 360)
    sites = choice.sites.set_index("site_id")
    assert sites.loc["C2", "rank"] == 1 and sites.loc["C3", "rank"] == 2
    assert sites.loc["C2", "gain"] == 140 and sites.loc["C3", "gain"] == 90
    assert (sites["gain_unit"] == "children").all()
    # greedy takes C2 (140) then C3 (90)
    assert choice.greedy["site_id"].tolist() == ["C2", "C3"]
    assert choice.greedy["gain"].tolist() == [140, 90]
    assert choice.greedy["cumulative"].tolist() == [140, 230]
    areas = choice.areas.set_index("area_id")
    assert areas["covered_before"].tolist() == [True, False, False, False, False, False]
    assert areas["covered_after"].tolist() == [True, True, True, True, True, False]
    assert areas.loc["c", "nearest_after"] == "C2" and areas.loc["c", "minutes_after"] == 20
    summary = choice.summary
    assert summary["scenario"].tolist() == ["before", "after"]
    assert summary["covered"].tolist() == [100, 330]


def test_the_greedy_order_can_fall_short_of_the_optimum():
    # X covers u1+u2 (6), Y u1+u3 (5), Z u2+u4 (5): greedy takes X then 2 more; Y+Z covers all 10
    times = _times(
        [
            ("u1", "X", 1),
            ("u2", "X", 1),
            ("u1", "Y", 1),
            ("u3", "Y", 1),
            ("u2", "Z", 1),
            ("u4", "Z", 1),
        ]
    )
    demand = {"u1": 3, "u2": 3, "u3": 2, "u4": 2}
    choice = choose_sites(
        times, demand, candidates=["X", "Y", "Z"], add=2, objective="coverage", threshold=5
    )
    assert sorted(choice.sites["site_id"]) == ["Y", "Z"]
    assert choice.after["covered"] == 10
    assert choice.greedy["site_id"].iloc[0] == "X"
    assert choice.greedy["cumulative"].iloc[-1] == 8
    assert choice.before["covered"] == 0 and choice.before["sites"] == 0


def test_p_median_on_the_hand_worked_instance(fixtures):
    from geomap.travel.tables import read_time_table

    times = read_time_table(_fixture(fixtures, "times.csv"))
    demand = {"a": 100, "b": 80, "c": 60, "d": 50, "e": 40, "f": 30}
    choice = choose_sites(
        times, demand, candidates=["C1", "C2", "C3", "C4"], existing=["E"], add=2, objective="time"
    )
    # e reaches only C3 and f only C4 or C2: first give them a journey, then least time:
    # C3+C4: 100*10 + 80*35 + 60*8 + 50*5 + 40*19 + 30*14 = 5710 (C3+C2 gives 5850)
    assert sorted(choice.sites["site_id"]) == ["C3", "C4"]
    assert choice.after["reached"] == 360 and choice.after["unreached"] == 0
    assert choice.after["mean_minutes"] == pytest.approx(5710 / 360)
    # before: only a, b, c, d reach E: 100*10 + 80*35 + 60*50 + 50*60 over 290 children
    assert choice.before["reached"] == 290
    assert choice.before["mean_minutes"] == pytest.approx(9800 / 290)
    assert np.isnan(choice.after["covered"])  # no threshold given
    assert choice.areas["covered_after"].isna().all()
    assert (choice.sites["gain_unit"] == "child-minutes").all()


def test_p_median_gives_a_journey_first_then_saves_time_and_reports_the_stranded():
    # a (100) and b (50) reach E; c (10) reaches only C2; d (20) reaches nothing at all
    times = _times(
        [
            ("a", "E", 10),
            ("b", "E", 30),
            ("a", "C1", 5),
            ("b", "C1", 5),
            ("c", "C2", 20),
            ("b", "C2", 40),
            ("b", "C3", 15),
            ("d", "C3", np.nan),
        ]
    )
    demand = {"a": 100, "b": 50, "c": 10, "d": 20}
    with pytest.warns(InputWarning, match=r"1 area\(s\) with 20 children have no journey"):
        one = choose_sites(
            times, demand, candidates=["C1", "C2", "C3"], existing=["E"], add=1, objective="time"
        )
    # C1 would save most time (1750 child-minutes), but only C2 gives c a journey
    assert one.sites["site_id"].tolist() == ["C2"]
    with pytest.warns(InputWarning):
        two = choose_sites(
            times, demand, candidates=["C1", "C2", "C3"], existing=["E"], add=2, objective="time"
        )
    assert sorted(two.sites["site_id"]) == ["C1", "C2"]
    assert two.after["reached"] == 160 and two.after["unreached"] == 20
    assert two.after["mean_minutes"] == pytest.approx((100 * 5 + 50 * 5 + 10 * 20) / 160)
    assert two.before["mean_minutes"] == pytest.approx((100 * 10 + 50 * 30) / 150)
    assert any("no journey" in note for note in two.notes)
    sites = two.sites.set_index("site_id")
    # removing C2 strands c (10 children); removing C1 costs 100*5 + 50*25 child-minutes
    assert sites.loc["C2", "rank"] == 1 and sites.loc["C2", "reached_only_here"] == 10
    assert sites.loc["C1", "gain"] == 1750 and sites.loc["C1", "reached_only_here"] == 0
    # greedy: C2 first (a first journey for c), then C1 (1750 child-minutes saved)
    assert two.greedy["site_id"].tolist() == ["C2", "C1"]
    assert two.greedy["newly_reached"].tolist() == [10, 0]
    assert two.greedy["gain"].tolist() == [0, 1750]
    areas = two.areas.set_index("area_id")
    assert np.isnan(areas.loc["d", "minutes_after"]) and pd.isna(areas.loc["d", "nearest_after"])


# --------------------------------------------------------------------------- references


def _instance(
    seed, *, n_areas=12, n_candidates=7, n_existing=2, missing=0.35, every_existing=False
):
    rng = np.random.default_rng(seed)
    areas = [f"A{i}" for i in range(n_areas)]
    candidates = [f"C{j}" for j in range(n_candidates)]
    existing = [f"E{j}" for j in range(n_existing)]
    rows = []
    for a in areas:
        for s in existing + candidates:
            if every_existing and s in existing:
                rows.append((a, s, float(rng.uniform(20, 90))))
            elif rng.random() > missing:
                rows.append((a, s, float(np.round(rng.uniform(0, 60), 2))))
            elif rng.random() < 0.3:
                rows.append((a, s, np.nan))  # a pair given with no journey
    demand = {a: float(rng.integers(0, 200)) + (0.5 if rng.random() < 0.3 else 0.0) for a in areas}
    return _times(rows), demand, candidates, existing


def _brute(times, demand, candidates, existing, add, *, objective, threshold=None):
    """The best value over every choice: covered children, or (reached, -child-minutes)."""
    w = pd.Series(demand, dtype=float)
    t = times.dropna().pivot(index="from_id", columns="to_id", values="minutes")
    t = t.reindex(index=w.index, columns=existing + candidates)
    best = None
    for combo in itertools.combinations(candidates, add):
        nearest = t[existing + list(combo)].min(axis=1)
        if objective == "coverage":
            value = (float(w[nearest <= threshold].sum()), 0.0)
        else:
            reached = nearest.notna()
            value = (float(w[reached].sum()), -float((w[reached] * nearest[reached]).sum()))
        if best is None or value > best:
            best = value
    return best


def _value(choice):
    if choice.objective == "coverage":
        return choice.after["covered"], 0.0
    return choice.after["reached"], -choice.after["mean_minutes"] * choice.after["reached"]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("objective", ["coverage", "time"])
@pytest.mark.parametrize("add", [1, 3])
def test_the_optimum_equals_brute_force(seed, objective, add):
    times, demand, candidates, existing = _instance(seed, n_existing=seed % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        choice = choose_sites(
            times,
            demand,
            candidates=candidates,
            existing=existing,
            add=add,
            objective=objective,
            threshold=25.0,
        )
    assert choice.optimal
    expected = _brute(times, demand, candidates, existing, add, objective=objective, threshold=25.0)
    got = _value(choice)
    assert got[0] == pytest.approx(expected[0], rel=1e-9, abs=1e-9)
    if objective == "time":
        # the time is least among the choices that reach the most children
        assert got[1] == pytest.approx(expected[1], rel=1e-9, abs=1e-9)
    # the greedy order never beats the optimum
    greedy = list(choice.greedy["site_id"])
    greedy_value = _brute(times, demand, greedy, existing, add, objective=objective, threshold=25.0)
    assert greedy_value <= (got[0] + 1e-9, got[1] + 1e-6)
    assert len(choice.sites) == add and choice.sites["rank"].tolist() == list(range(1, add + 1))


def _matrix(times, demand, sites, *, fill):
    t = times.dropna().pivot(index="from_id", columns="to_id", values="minutes")
    t = t.reindex(index=list(demand), columns=sites)
    return t.fillna(fill).to_numpy(dtype=float)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("seed", [1, 5, 11])
def test_maximal_covering_agrees_with_spopt(seed):
    spopt = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    times, demand, candidates, existing = _instance(seed, n_areas=15, n_candidates=8)
    sites = existing + candidates
    cost = _matrix(times, demand, sites, fill=np.inf)
    weights = np.array(list(demand.values()))
    predefined = np.array([1] * len(existing) + [0] * len(candidates))
    model = spopt.MCLP.from_cost_matrix(
        cost,
        weights,
        service_radius=25.0,
        p_facilities=len(existing) + 3,
        predefined_facilities_arr=predefined,
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    expected = pulp.value(model.problem.objective)
    choice = choose_sites(
        times,
        demand,
        candidates=candidates,
        existing=existing,
        add=3,
        objective="coverage",
        threshold=25.0,
    )
    assert choice.after["covered"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("seed", [2, 7])
def test_p_median_agrees_with_spopt(seed):
    spopt = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    # every area reaches an existing site, so spopt's finite matrix needs no made-up time
    # except for pairs that are never worth using (far beyond any existing site)
    times, demand, candidates, existing = _instance(
        seed, n_areas=15, n_candidates=8, n_existing=2, every_existing=True
    )
    sites = existing + candidates
    cost = _matrix(times, demand, sites, fill=10_000.0)
    weights = np.array(list(demand.values()))
    predefined = np.array([1] * len(existing) + [0] * len(candidates))
    model = spopt.PMedian.from_cost_matrix(
        cost, weights, p_facilities=len(existing) + 3, predefined_facilities_arr=predefined
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    expected = pulp.value(model.problem.objective)
    choice = choose_sites(
        times, demand, candidates=candidates, existing=existing, add=3, objective="time"
    )
    total = choice.after["mean_minutes"] * choice.after["reached"]
    assert total == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------- bad inputs

_GOOD = _times([("a", "E", 5), ("a", "C1", 3), ("b", "C1", 4), ("b", "C2", 9)])


@pytest.mark.parametrize(
    ("times", "demand", "options", "message"),
    [
        (_GOOD.drop(columns="minutes"), {"a": 1, "b": 1}, {}, "lacks minutes"),
        (_GOOD, {"a": 1}, {}, "'b' is not among the demand"),
        (_GOOD, {"a": 1, "b": 1}, {"candidates": ["C1"]}, "'C2' is not among the existing"),
        (_GOOD, {"a": 1, "b": -2}, {}, "not a number of 0 or more"),
        (_GOOD, {"a": 1, "b": 1}, {"add": 3}, "cannot add 3 sites from 2"),
        (_GOOD, {"a": 1, "b": 1}, {"add": 0}, "whole number from 1"),
        (_GOOD, {"a": 1, "b": 1}, {"existing": ["E", "C1"]}, "also existing sites"),
        (_GOOD, {"a": 1, "b": 1}, {"threshold": None}, "needs a threshold"),
        (_GOOD, {"a": 1, "b": 1}, {"threshold": -5.0}, "positive number of minutes"),
        (_GOOD, {"a": 1, "b": 1}, {"objective": "cost"}, "unknown objective"),
        (_GOOD, {"a": 1, "b": 1}, {"capacity": {"C1": 10}}, "not supported"),
        (
            pd.concat([_GOOD, _GOOD.iloc[:1]]),
            {"a": 1, "b": 1},
            {},
            "the journey a → E is given twice",
        ),
        (
            _times([("a", "E", -1), ("a", "C1", 3), ("b", "C2", 4)]),
            {"a": 1, "b": 1},
            {},
            "cannot be negative",
        ),
    ],
)
def test_bad_inputs_are_refused(times, demand, options, message):
    kwargs = {
        "candidates": ["C1", "C2"],
        "existing": ["E"],
        "add": 1,
        "objective": "coverage",
        "threshold": 10.0,
        **options,
    }
    with pytest.raises(InputError, match=message):
        choose_sites(times, demand, **kwargs)


def test_an_unknown_id_in_a_times_file_is_named_with_its_row_and_column(write):
    from geomap.travel.tables import read_time_table

    path = write("t.csv", "from_id,to_id,minutes\na,E,5\nb,X9,\na,C1,3\nb,X9,4\n")
    times = read_time_table(path)
    with pytest.raises(InputError) as caught:
        choose_sites(
            times, {"a": 1, "b": 1}, candidates=["C1"], existing=["E"], add=1, threshold=10.0
        )
    assert caught.value.path == str(path)
    # row 3 gives no time (no journey): row 5 is the first journey to X9
    assert caught.value.row == 5 and caught.value.column == "to_id"
    assert "'X9' is not among the existing or candidate sites" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("code_name\nC1\n", MissingColumnError, "missing required column"),
        ("id\nC1\nC1\n", DuplicateIdError, "rows 2, 3"),
        ("id,name\nC1,x\n,y\n", InputError, "row 3, column 'id': blank id"),
    ],
)
def test_bad_site_lists_are_refused(write, text, error, message):
    with pytest.raises(error, match=message):
        read_site_ids(write("c.csv", text), what="candidate sites")


# --------------------------------------------------------------------------- grid


def test_grid_candidates_lie_on_the_national_grid_inside_populated_areas():
    import geopandas as gpd
    from shapely.geometry import box

    areas = gpd.GeoDataFrame(
        {"id": ["p", "q", "r"]},
        geometry=[box(0, 0, 4000, 2000), box(4000, 0, 8000, 2000), box(0, 2000, 8000, 4000)],
        crs="EPSG:27700",
    )
    grid = grid_candidates(areas, spacing_m=2000, populated={"p": 10, "q": 0, "r": 5})
    # 2 km squares centred at 1000, 3000 ...: p holds 2 points, r 4, q (nobody) none
    assert sorted(grid["id"]) == sorted(
        ["grid-1000-1000", "grid-3000-1000"] + [f"grid-{x}-3000" for x in (1000, 3000, 5000, 7000)]
    )
    assert set(grid["area_id"]) == {"p", "r"}
    assert grid.crs == "EPSG:27700"
    assert (grid.geometry.x == grid["easting"]).all()
    with pytest.raises(InputError, match="positive number of metres"):
        grid_candidates(areas, spacing_m=0)
    with pytest.raises(InputError, match="wider spacing"):
        grid_candidates(areas, spacing_m=1)


# --------------------------------------------------------------------------- command line


def _cli(*args):
    from click.testing import CliRunner

    from geomap.cli import main

    return CliRunner().invoke(main, ["sites", *args])


def _own(fixtures, out, **files):
    paths = {
        "times": _fixture(fixtures, "times.csv"),
        "demand": _fixture(fixtures, "demand.csv"),
        "candidates": _fixture(fixtures, "candidates.csv"),
        "existing": _fixture(fixtures, "existing.csv"),
        **files,
    }
    args = []
    for option, path in paths.items():
        args += [f"--{option}", str(path)]
    return [*args, "--add", "2", "--threshold", "20", "--out", str(out)]


@pytest.mark.parametrize("objective", ["coverage", "time"])
def test_the_sites_command_on_a_users_own_matrix(fixtures, tmp_path, objective):
    out = tmp_path / "out"
    result = _cli(*_own(fixtures, out), "--objective", objective)
    assert result.exit_code == 0, result.output
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    expected = ["C2", "C3"] if objective == "coverage" else ["C3", "C4"]
    assert sorted(sites["site_id"]) == expected
    assert {"site_id", "rank", "gain"} <= set(sites.columns)
    coverage = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig").set_index("scenario")
    assert coverage.loc["before", "covered"] == 100
    if objective == "coverage":
        assert coverage.loc["after", "covered"] == 330
        assert coverage.loc["after", "covered_share"] == pytest.approx(330 / 360)
    else:
        assert coverage.loc["after", "mean_minutes"] == pytest.approx(5710 / 360)
    greedy = pd.read_csv(out / "greedy.csv", encoding="utf-8-sig")
    assert greedy.columns.tolist()[:4] == ["step", "site_id", "gain", "cumulative"]
    assert "Wrote" in result.output


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("times", "from_id,to_id\na,E\n", "missing required column"),
        (
            "times",
            "from_id,to_id,minutes\na,E,10\nb,C9,12\n",
            "row 3, column 'to_id': 'C9' is not among the existing or candidate sites",
        ),
        (
            "times",
            "from_id,to_id,minutes\na,E,10\nz,C1,12\n",
            "row 3, column 'from_id': 'z' is not among the demand",
        ),
        ("times", "from_id,to_id,minutes\na,E,10\nb,C1,soon\n", "row 3, column 'minutes'"),
        ("demand", "id,people_count\na,1\n", "missing required column"),
        ("demand", "id,population\na,100\nb,lots\n", "row 3, column 'population'"),
        ("candidates", "name\nC1\n", "missing required column"),
        ("candidates", "id\nC1\n", "cannot add 2 sites from 1 candidate"),
        ("existing", "id\nC1\n", "also existing sites"),
    ],
)
def test_the_sites_command_refuses_bad_files(fixtures, write, tmp_path, name, text, message):
    bad = write(f"bad_{name}.csv", text)
    out = tmp_path / "out"
    result = _cli(*_own(fixtures, out, **{name: bad}), "--objective", "coverage")
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    if "also existing" not in message and "cannot add" not in message:
        assert f"bad_{name}.csv" in result.output
    assert not out.exists()


def test_the_sites_command_needs_a_threshold_for_coverage(fixtures, tmp_path):
    out = tmp_path / "out"
    args = [a for a in _own(fixtures, out) if a != "20"]
    args.remove("--threshold")
    result = _cli(*args, "--objective", "coverage")
    assert result.exit_code != 0 and "threshold" in result.output
    assert not out.exists()


def test_the_sites_command_help_has_an_example():
    result = _cli("--help")
    assert result.exit_code == 0
    assert "geomap sites" in result.output and "--candidates grid" in result.output


def test_the_sites_command_on_the_shipped_study_area_with_a_grid(tmp_path):
    out = tmp_path / "out"
    result = _cli(
        "--kind",
        "early_years",
        "--mode",
        "car",
        "--add",
        "2",
        "--candidates",
        "grid",
        "--grid-spacing",
        "4000",
        "--objective",
        "coverage",
        "--threshold",
        "10",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert len(sites) == 2 and sites["site_id"].str.startswith("grid-").all()
    assert {"name", "easting", "northing", "rank", "gain"} <= set(sites.columns)
    coverage = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig").set_index("scenario")
    assert coverage.loc["after", "covered"] >= coverage.loc["before", "covered"]
    assert coverage.loc["after", "threshold_minutes"] == 10
    assert (out / "greedy.csv").exists()
    page = (out / "sites_map.html").read_text(encoding="utf-8")
    assert "where 2 new settings would help most" in page
    assert "New sites (2)" in page


def test_primary_schools_without_a_nursery_class_as_candidate_nursery_sites(shipped_inputs):
    from geomap.gaps import eligible_providers
    from geomap.sites import sites_for_kind, sites_map_layers
    from geomap.travel.estimate import default_estimate

    primaries = eligible_providers(shipped_inputs.providers, "primary")
    candidates = primaries[~primaries["offers_early_years"].astype(bool)][
        ["id", "name", "geometry"]
    ]
    choice = sites_for_kind(
        shipped_inputs.origins,
        shipped_inputs.providers,
        shipped_inputs.children,
        default_estimate("car"),
        kind="early_years",
        add=2,
        candidates=candidates,
        objective="coverage",
        threshold=8,
    )
    assert set(choice.sites["site_id"]) <= set(candidates["id"])
    assert choice.sites["name"].isin(candidates["name"]).all()
    assert choice.after["covered"] >= choice.before["covered"]
    assert any("Threshold 8 minutes by car (given)" in note for note in choice.notes)
    layers = sites_map_layers(choice, shipped_inputs.areas)
    assert len(layers["chosen"]) == 2 and {"rank", "gain"} <= set(layers["chosen"].columns)
    assert {"covered_before", "covered_after", "newly_covered"} <= set(layers["areas"].columns)
    assert len(layers["areas"]) == len(shipped_inputs.areas)
    newly = layers["areas"]["newly_covered"].astype(bool)
    assert layers["areas"].loc[newly, "population"].sum() == pytest.approx(
        choice.after["covered"] - choice.before["covered"]
    )
    # an existing nursery cannot be a candidate for nurseries
    nurseries = eligible_providers(shipped_inputs.providers, "early_years")
    with pytest.raises(InputError, match="ids of existing early_years providers"):
        sites_for_kind(
            shipped_inputs.origins,
            shipped_inputs.providers,
            shipped_inputs.children,
            default_estimate("car"),
            kind="early_years",
            add=1,
            candidates=nurseries[["id", "name", "geometry"]].head(3),
        )


def test_a_grid_too_coarse_for_any_populated_area_is_said(tmp_path):
    out = tmp_path / "out"
    result = _cli(
        "--kind", "primary", "--mode", "walk", "--candidates", "grid",
        "--grid-spacing", "50000", "--add", "2", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "a 50000 m grid puts no candidate inside an area" in result.output
    assert not out.exists()
