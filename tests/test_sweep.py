"""Sweeps: reading sweep files, ranking, the variants table, and runs on a separate Dask cluster."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from geomap import sweep as sw
from geomap.cli import main
from geomap.errors import YamlError

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
BASE = EXAMPLES / "post16_routes.yml"
BROMYARD = "Bromyard - Hereford college link"
WEOBLEY = "Weobley - Hereford via Credenhill"


def _sweep(tmp_path: Path, text: str, name: str = "sweep.yml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("BASE", str(BASE)), encoding="utf-8")
    return path


def _routes(variant: sw.Variant) -> dict[str, dict]:
    return {r["name"]: r for r in yaml.safe_load(variant.scenario)["routes"]}


# --------------------------------------------------------------------------- reading sweep files


def test_the_example_route_sweep_is_the_product_of_its_values():
    plan = sw.load_route_sweep(EXAMPLES / "post16_route_sweep.yml")
    assert plan.kind == "routes" and len(plan.variants) == 3 * 2 * 2 * 2
    ids = [v.id for v in plan.variants]
    assert len(set(ids)) == 24
    # the first value of each field varies slowest, as itertools.product does
    assert ids[:3] == [
        "bromyard-0710-h20-all_stops-weobley-0730",
        "bromyard-0710-h20-all_stops-weobley-0740",
        "bromyard-0710-h20-direct-weobley-0730",
    ]
    one = next(v for v in plan.variants if v.id == "bromyard-0730-h30-direct-weobley-0740")
    assert one.values == {
        "bromyard.first_departure": "07:30",
        "bromyard.headway_minutes": "30",
        "bromyard.stops": "direct",
        "weobley.first_departure": "07:40",
    }
    routes = _routes(one)
    assert routes[BROMYARD]["first_departure"] == "07:30"
    assert routes[BROMYARD]["headway_minutes"] == "30"
    assert [s["name"] for s in routes[BROMYARD]["stops"]] == [
        "Bromyard (Old Road)",
        "Bromyard (Bramley Orchards)",
        "Burley Gate",
        "Hereford colleges (Folly Lane)",
    ]
    # what is not varied is the base scenario's
    assert routes[BROMYARD]["last_departure"] == "07:50"
    assert routes[WEOBLEY]["first_departure"] == "07:40"
    assert routes[WEOBLEY]["running_minutes"] == ["18", "14", "12"]


def test_optional_stops_give_every_combination(tmp_path):
    path = _sweep(
        tmp_path,
        f"""
scenario: BASE
vary:
  - route: {BROMYARD}
    optional_stops: [Stoke Lacy, Withington]
""",
    )
    plan = sw.load_route_sweep(path)
    stops = {v.id: [s["name"] for s in _routes(v)[BROMYARD]["stops"]] for v in plan.variants}
    full = [
        "Bromyard (Old Road)",
        "Bromyard (Bramley Orchards)",
        "Stoke Lacy",
        "Burley Gate",
        "Withington",
        "Hereford colleges (Folly Lane)",
    ]
    assert stops == {
        "base": full,
        "bromyard-no_withington": [s for s in full if s != "Withington"],
        "bromyard-no_stoke_lacy": [s for s in full if s != "Stoke Lacy"],
        "bromyard-no_stoke_lacy-no_withington": [
            s for s in full if s not in ("Stoke Lacy", "Withington")
        ],
    }


def test_a_list_sweep_names_its_variants(tmp_path):
    path = _sweep(
        tmp_path,
        f"""
sweep: two tries
scenario: BASE
combine: list
variants:
  - name: Early and frequent
    routes:
      bromyard: {{first_departure: "07:10", headway_minutes: 15}}
  - routes:
      {WEOBLEY}: {{days: [mon, wed, fri], stops: [Weobley (High Street), Hereford Sixth Form College]}}
""",
    )
    plan = sw.load_route_sweep(path)
    assert plan.name == "two tries"
    assert [v.id for v in plan.variants] == ["early-and-frequent", "weobley-mon_wed_fri-stops"]
    assert plan.variants[0].name == "Early and frequent"
    first, second = (_routes(v) for v in plan.variants)
    assert first[BROMYARD]["headway_minutes"] == "15" and first[WEOBLEY]["headway_minutes"] == "60"
    assert second[WEOBLEY]["days"] == ["mon", "wed", "fri"]
    assert [s["name"] for s in second[WEOBLEY]["stops"]] == [
        "Weobley (High Street)",
        "Hereford Sixth Form College",
    ]


def test_an_inline_base_scenario(tmp_path):
    base = BASE.read_text(encoding="utf-8")
    inline = "\n".join("  " + line for line in base.splitlines())
    path = _sweep(
        tmp_path,
        f"scenario:\n{inline}\nvary:\n  - route: {WEOBLEY}\n    headway_minutes: [30, 60]\n",
    )
    plan = sw.load_route_sweep(path)
    assert [v.id for v in plan.variants] == ["weobley-h30", "weobley-h60"]
    assert plan.scenario_path is None and plan.arrive_by == "09:00"


def test_too_many_variants_are_refused_with_the_count(tmp_path):
    times = (
        ", ".join(f'"06:{m:02d}"' for m in range(50))
        + ", "
        + ", ".join(f'"08:{m:02d}"' for m in range(51))
    )
    headways = ", ".join(str(h) for h in range(1, 101))
    path = _sweep(
        tmp_path,
        f"scenario: BASE\nvary:\n  - route: {BROMYARD}\n    first_departure: [{times}]\n"
        f"    headway_minutes: [{headways}]\n",
    )
    with pytest.raises(
        YamlError, match=r"asks for 10,100 variants \(101 × 100\), more than 10,000"
    ):
        sw.load_route_sweep(path)


BAD_ROUTE_SWEEPS = [
    (
        "vary:\n  - route: Nowhere\n    headway_minutes: [10]\n",
        "no route named 'Nowhere'",
        "vary[0].route",
    ),
    (
        "vary:\n  - route: R\n    headway_mins: [10]\n",
        "unknown field 'headway_mins'",
        "vary[0].headway_mins",
    ),
    (
        "vary:\n  - route: R\n    stops: {a: [Bromyard (Old Road), Nowhere]}\n",
        "no stop named 'Nowhere'",
        "vary[0].stops.a[1]",
    ),
    (
        "vary:\n  - route: R\n    stops: {a: [Stoke Lacy, Withington]}\n    optional_stops: [Stoke Lacy]\n",
        "not both",
        "vary[0]",
    ),
    (
        'vary:\n  - route: R\n    first_departure: ["07:20", "7:20"]\n',
        "would both be 'bromyard-0720'",
        "product",
    ),
    ("combine: sideways\nvary:\n  - route: R\n", "combine is 'sideways'", "combine"),
    ("vary: []\n", "needs a list of routes and values under 'vary:'", "vary"),
    (
        "combine: list\nvariants:\n  - routes: {bromyard: {headway_minutes: [10, 20]}}\n",
        "sets one value per field",
        "variants[0].routes.bromyard",
    ),
    ("vary:\n  - route: R\n    headway_minutes: []\n", "has no values", "vary[0].headway_minutes"),
]


@pytest.mark.parametrize(("text", "message", "column"), BAD_ROUTE_SWEEPS)
def test_bad_route_sweeps_are_refused_naming_the_field(tmp_path, text, message, column):
    path = _sweep(tmp_path, "scenario: BASE\n" + text.replace("route: R", f"route: {BROMYARD}"))
    with pytest.raises(YamlError) as caught:
        sw.load_route_sweep(path)
    err = caught.value
    assert message in str(err)
    assert err.path == str(path) and err.column == column and err.row is not None
    assert err.fix


def test_a_sweep_without_its_scenario_is_refused(tmp_path):
    path = _sweep(tmp_path, "scenario: missing.yml\nvary: []\n")
    with pytest.raises(YamlError, match=r"the base scenario 'missing\.yml' is not a file"):
        sw.load_route_sweep(path)


def test_the_example_site_sweep():
    plan = sw.load_site_sweep(EXAMPLES / "sites_sweep.yml")
    assert plan.kind == "sites" and len(plan.variants) == 12
    first = plan.variants[0]
    assert first.id == "early_years-car-add1-tdefault-coverage-grid_2km"
    assert first.options == {
        "kind": "early_years",
        "mode": "car",
        "add": 1,
        "objective": "coverage",
        "threshold": None,
        "candidates": "grid_2km",
        "candidate_set": {"grid": 2000.0},
    }
    assert plan.variants[1].options["candidate_set"] == {"providers": "primary"}
    assert plan.candidate_sets == {
        "grid_2km": {"grid": 2000.0},
        "primaries": {"providers": "primary"},
    }


SITES = "candidates: {g: {grid: 2000}}\n"
BAD_SITE_SWEEPS = [
    ("kind: [nursery]\nadd: 1\n" + SITES, "kind 'nursery' is not one geomap knows", "kind[0]"),
    ("kind: early_years\nadd: [0]\n" + SITES, "not a whole number of sites", "add[0]"),
    ("kind: early_years\nadd: 1\nthreshold: [abc]\n" + SITES, "threshold 'abc'", "threshold[0]"),
    (
        "kind: early_years\nadd: 1\ncandidates: {g: {grid: 0}}\n",
        "grid spacing '0'",
        "candidates.g.grid",
    ),
    ("kind: early_years\nadd: 1\n", "needs its candidate sets", "candidates"),
    ("add: 1\n" + SITES, "needs 'kind:'", "kind"),
    (
        "combine: list\nvariants:\n  - {kind: early_years, add: 1, candidates: h}\n" + SITES,
        "no candidate set is named 'h'",
        "variants[0].candidates",
    ),
]


@pytest.mark.parametrize(("text", "message", "column"), BAD_SITE_SWEEPS)
def test_bad_site_sweeps_are_refused_naming_the_field(tmp_path, text, message, column):
    path = _sweep(tmp_path, text)
    with pytest.raises(YamlError) as caught:
        sw.load_site_sweep(path)
    assert message in str(caught.value)
    assert caught.value.column == column and caught.value.path == str(path)


# --------------------------------------------------------------------------- ranking and the table


def test_route_variants_rank_by_barriers_lifted_then_minutes_saved():
    rows = [
        {"variant_id": "a", "status": "done", "young_no_longer_barrier": 10, "minutes_saved": 5.0},
        {"variant_id": "b", "status": "failed", "error": "boom"},
        {"variant_id": "c", "status": "done", "young_no_longer_barrier": 12, "minutes_saved": 1.0},
        {"variant_id": "d", "status": "done", "young_no_longer_barrier": 10, "minutes_saved": 9.0},
        {"variant_id": "e", "status": "done", "young_no_longer_barrier": 10, "minutes_saved": 9.0},
    ]
    # e finished before d, but d comes first in the sweep file: ties keep the file's order
    ranked = sw.rank_variants(
        [rows[i] for i in (0, 1, 2, 4, 3)], kind="routes", order=["a", "b", "c", "d", "e"]
    )
    assert ranked["variant_id"].tolist() == ["c", "d", "e", "a", "b"]
    assert ranked["rank"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(ranked["rank"].iloc[4])


def test_site_variants_rank_within_their_objective():
    rows = [
        {"variant_id": "c1", "status": "done", "objective": "coverage", "newly_covered": 5,
         "newly_reached": 0, "mean_minutes_after": 9.0},
        {"variant_id": "t1", "status": "done", "objective": "time", "newly_covered": 99,
         "newly_reached": 1, "mean_minutes_after": 7.0},
        {"variant_id": "c2", "status": "done", "objective": "coverage", "newly_covered": 8,
         "newly_reached": 0, "mean_minutes_after": 9.5},
        {"variant_id": "t2", "status": "done", "objective": "time", "newly_covered": 0,
         "newly_reached": 1, "mean_minutes_after": 6.0},
    ]  # fmt: skip
    ranked = sw.rank_variants(rows, kind="sites")
    assert list(zip(ranked["variant_id"], ranked["rank"], strict=True)) == [
        ("c2", 1), ("c1", 2), ("t2", 1), ("t1", 2)
    ]  # fmt: skip


def test_the_variants_table_appends_safe_rows_and_survives_a_cut_line(tmp_path):
    path = tmp_path / "variants_done.csv"
    columns = ["variant_id", "variant", "status", "error", "task_hash", "minutes_saved"]
    sw.start_table(path, columns=columns)
    sw.append_row(
        {"variant_id": "a", "variant": "a", "status": "done", "error": "", "task_hash": "h",
         "minutes_saved": 12.5},
        path,
        columns=columns,
    )  # fmt: skip
    sw.append_row(
        {"variant_id": "b", "variant": "=HYPERLINK(\"x\")", "status": "failed",
         "error": "stop, 'Nowhere'\nnot found", "task_hash": "h", "minutes_saved": None},
        path,
        columns=columns,
    )  # fmt: skip
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("c,c,do")  # a run killed while writing a row
    table = sw.read_done(path)
    assert table["variant_id"].tolist() == ["a", "b"]
    assert table["minutes_saved"].iloc[0] == 12.5 and pd.isna(table["minutes_saved"].iloc[1])
    assert table["variant"].iloc[1] == '\'=HYPERLINK("x")'  # inert in a spreadsheet
    assert table["error"].iloc[1] == "stop, 'Nowhere'\nnot found"


# --------------------------------------------------------------------------- on a separate cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def scheduler():
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, as a cluster would run."""
    from distributed import Client

    dask = Path(sys.executable).parent / "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    [str(dask), "worker", address, "--nthreads", "1", "--no-dashboard"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=120)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in reversed(started):
            process.kill()
        for process in started:
            process.wait(timeout=30)


SMALL_SWEEP = f"""
sweep: small
scenario: BASE
vary:
  - route: {WEOBLEY}
    first_departure: ["07:20", "07:40"]
    stops:
      all: [Weobley (High Street), Credenhill, Hereford bus station, Hereford Sixth Form College]
      lost:
        - Weobley (High Street)
        - {{name: Nowhere, postcode: HR9 9ZZ}}
        - Hereford bus station
        - Hereford Sixth Form College
"""
BROKEN = {"weobley-0720-lost", "weobley-0740-lost"}


@pytest.fixture(scope="module")
def route_shared(shipped_inputs):
    from geomap.pipeline import choose_public_transport, choose_travel
    from geomap.post16 import BarrierThresholds

    return sw.route_sweep_inputs(
        shipped_inputs,
        car=choose_travel(shipped_inputs.study, ["car"])[0],
        pt=choose_public_transport(shipped_inputs.study),
        thresholds=BarrierThresholds(),
    )


def _numbers(row: pd.Series | dict) -> dict:
    return {k: float(row[k]) for k in sw.ROUTE_MEASURES}


def test_a_route_sweep_on_a_separate_scheduler_equals_each_variant_run_alone(
    scheduler, route_shared, tmp_path
):
    path = _sweep(tmp_path, SMALL_SWEEP)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["routes", "sweep", str(path), "--scheduler", scheduler, "--out", str(out), "--best", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "[4/4]" in result.output and "2 variant(s) failed" in result.output
    done = pd.read_csv(out / "variants_done.csv", encoding="utf-8-sig", dtype={"error": str})
    assert sorted(done["variant_id"]) == sorted(v.id for v in sw.load_route_sweep(path).variants)
    plan = sw.load_route_sweep(path)
    for variant in plan.variants:
        row = done.set_index("variant_id").loc[variant.id]
        if variant.id in BROKEN:
            # the variant that cannot be built is reported with its own error
            assert row["status"] == "failed"
            assert f"scenarios/{variant.id}.yml" in row["error"]
            assert "HR9 9ZZ" in row["error"]
            continue
        alone = sw.run_variant(route_shared, variant)
        assert row["status"] == "done"
        assert _numbers(row) == _numbers(alone)
    ranked = pd.read_csv(out / "sweep_ranked.csv", encoding="utf-8-sig")
    assert ranked["variant_id"].tolist()[:2] == ["weobley-0720-all", "weobley-0740-all"]
    assert ranked["rank"].tolist()[:2] == [1, 2] and ranked["rank"].iloc[2:].isna().all()
    best = out / "best" / "01_weobley-0720-all"
    assert (best / "ranking.csv").is_file() and list((best / "maps").glob("*.html"))
    # the same as `geomap routes evaluate` on the variant's scenario file
    alone_out = tmp_path / "alone"
    evaluated = CliRunner().invoke(
        main,
        [
            "routes",
            "evaluate",
            str(out / "scenarios" / "weobley-0720-all.yml"),
            "--out",
            str(alone_out),
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    ranking = pd.read_csv(alone_out / "ranking.csv", encoding="utf-8-sig")
    together = ranking.iloc[-1]
    idle = float((ranking.iloc[:-1]["young_who_gain"] == 0).sum())
    assert _numbers(done.set_index("variant_id").loc["weobley-0720-all"]) == {
        k: float(together[k]) for k in sw.ROUTE_MEASURES if k != "routes_serving_no_one"
    } | {"routes_serving_no_one": idle}
    assert (best / "ranking.csv").read_bytes() == (alone_out / "ranking.csv").read_bytes()


def test_an_interrupted_sweep_keeps_what_finished_and_resume_runs_the_rest(
    scheduler, tmp_path, monkeypatch
):
    path = _sweep(tmp_path, SMALL_SWEEP)
    out = tmp_path / "out"
    real = sw.run_sweep

    def interrupted(*args, progress, **kwargs):
        def stop_after_two(row, n, total):
            progress(row, n, total)
            if n == 2:
                raise KeyboardInterrupt

        return real(*args, progress=stop_after_two, **kwargs)

    monkeypatch.setattr(sw, "run_sweep", interrupted)
    args = ["routes", "sweep", str(path), "--scheduler", scheduler, "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "interrupted" in result.output
    kept = sw.read_done(out / "variants_done.csv")
    assert len(kept) == 2
    assert not (out / "sweep_ranked.csv").exists()
    monkeypatch.setattr(sw, "run_sweep", real)
    resumed = CliRunner().invoke(main, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    skipped = int((kept["status"] == "done").sum())
    assert f"Resuming: {skipped} of 4 variants already done" in resumed.output
    assert f"[{4 - skipped}/{4 - skipped}]" in resumed.output
    assert f"[{5 - skipped}/" not in resumed.output
    ranked = pd.read_csv(out / "sweep_ranked.csv", encoding="utf-8-sig")
    assert sorted(ranked["variant_id"]) == sorted(v.id for v in sw.load_route_sweep(path).variants)
    # done variants were not run again
    final = sw.read_done(out / "variants_done.csv")
    assert final[final["status"] == "done"]["variant_id"].is_unique


def test_a_sweep_does_not_overwrite_files_it_did_not_write(tmp_path):
    path = _sweep(tmp_path, SMALL_SWEEP)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["routes", "sweep", str(path), "--out", str(out)])
    assert result.exit_code == 1 and "notes.txt" in result.output
    assert (out / "notes.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_a_site_sweep_on_a_separate_scheduler_equals_the_sites_command(scheduler, tmp_path):
    path = _sweep(
        tmp_path,
        "kind: early_years\nmode: car\nadd: [1, 2]\nthreshold: [10]\n"
        "candidates: {grid_3km: {grid: 3000}}\n",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["sites", "sweep", str(path), "--scheduler", scheduler, "--out", str(out), "--best", "2"],
    )
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(out / "sweep_ranked.csv", encoding="utf-8-sig")
    assert set(ranked["variant_id"]) == {
        "early_years-car-add1-t10-coverage-grid_3km",
        "early_years-car-add2-t10-coverage-grid_3km",
    }
    alone = tmp_path / "alone"
    single = CliRunner().invoke(
        main,
        ["sites", "--kind", "early_years", "--mode", "car", "--add", "2", "--threshold", "10",
         "--candidates", "grid", "--grid-spacing", "3000", "--out", str(alone)],
    )  # fmt: skip
    assert single.exit_code == 0, single.output
    best = next((out / "best").glob("*_early_years-car-add2-*"))
    for name in ("sites.csv", "coverage.csv", "greedy.csv"):
        assert (best / name).read_bytes() == (alone / name).read_bytes()
    row = ranked.set_index("variant_id").loc["early_years-car-add2-t10-coverage-grid_3km"]
    coverage = pd.read_csv(alone / "coverage.csv", encoding="utf-8-sig").set_index("scenario")
    assert (
        row["newly_covered"] == coverage.loc["after", "covered"] - coverage.loc["before", "covered"]
    )
    assert row["gain"] == row["newly_covered"]
    sites = pd.read_csv(alone / "sites.csv", encoding="utf-8-sig", dtype={"site_id": str})
    assert row["site_ids"] == "; ".join(sites["site_id"])


def test_sweep_help_and_bad_cluster_options(tmp_path):
    for group in ("routes", "sites"):
        shown = CliRunner().invoke(main, [group, "sweep", "--help"])
        assert shown.exit_code == 0 and f"geomap {group} sweep" in shown.output
        assert "--scheduler" in shown.output and "--resume" in shown.output
    assert "sweep" in CliRunner().invoke(main, ["sites", "--help"]).output
    path = _sweep(tmp_path, SMALL_SWEEP)
    both = CliRunner().invoke(
        main,
        ["routes", "sweep", str(path), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1",
         "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert both.exit_code == 1 and "not both" in both.output
    bad = CliRunner().invoke(
        main,
        ["routes", "sweep", str(path), "--scheduler", "127.0.0.1", "--out", str(tmp_path / "o")],
    )
    assert bad.exit_code == 1 and "is not a scheduler address" in bad.output


def test_resume_refuses_other_options_or_inputs_and_keeps_the_folder(scheduler, tmp_path):
    from geomap import settings

    shipped = settings.data_path("providers", "herefordshire_providers.csv").read_bytes()
    path = _sweep(tmp_path, SMALL_SWEEP)
    providers = tmp_path / "providers.csv"
    providers.write_bytes(shipped)
    out = tmp_path / "out"
    args = ["routes", "sweep", str(path), "--scheduler", scheduler, "--out", str(out)]
    args += ["--providers", str(providers)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output

    def folder() -> dict[str, bytes]:
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    before = folder()
    other_option = CliRunner().invoke(main, [*args, "--ratio", "3", "--resume"])
    assert other_option.exit_code == 1
    assert "other options or inputs (option --ratio)" in other_option.output
    assert "Traceback" not in other_option.output
    with providers.open("a", encoding="utf-8") as file:
        file.write("\n")  # the same providers, but not the same file
    other_file = CliRunner().invoke(main, [*args, "--resume"])
    assert other_file.exit_code == 1
    assert f"input file {providers}" in other_file.output
    assert folder() == before
    providers.write_bytes(shipped)
    same = CliRunner().invoke(main, [*args, "--resume"])
    assert same.exit_code == 0, same.output
    assert "Resuming: 2 of 4 variants already done" in same.output
