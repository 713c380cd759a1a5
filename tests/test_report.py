"""The main job on the shipped data, end to end through the CLI."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest

from geomap import settings

pytestmark = pytest.mark.slow


def test_report_writes_everything(report_dir):
    assert (report_dir / "index.html").exists()
    maps = sorted(p.name for p in (report_dir / "maps").glob("*.html"))
    pairs = [f"{m}_{k}" for m in ("car", "walk") for k in settings.ANALYSIS_KINDS]
    expected = [
        "providers.html",
        "post16.html",
        "post16_competition.html",
        "new_sites.html",
        "eligibility.html",
        *(f"{p}.html" for p in pairs),
    ]
    assert maps == sorted(expected)
    charts = sorted(p.name for p in (report_dir / "charts").glob("*.png"))
    assert charts == sorted(f"journey_time_bands_{k}.png" for k in settings.ANALYSIS_KINDS)
    layers = {name for name, _geom in pyogrio.list_layers(report_dir / "geomap.gpkg")}
    assert {
        "providers",
        "areas",
        "access",
        "gap_areas",
        "ward_summary",
        "post16_areas",
        "post16_ward",
    } <= layers
    for name in (
        "providers",
        "provider_summary",
        "areas",
        "access",
        "gaps_ranked",
        "group_summary",
        "thresholds",
        "post16_areas",
        "post16_by_group",
    ):
        assert (report_dir / f"{name}.csv").exists()
    assert not list(report_dir.rglob("*.tmp*"))


def test_report_covers_every_lsoa_and_establishment(report_dir):
    access = pd.read_csv(report_dir / "access.csv", dtype={"area_id": str})
    lsoa = pd.read_csv(
        settings.data_path("population", "lsoa11_herefordshire_population_mid2020_syoa.csv")
    )["lsoa11_code"]
    for (_mode, _kind), rows in access.groupby(["mode", "kind"]):
        assert sorted(rows["area_id"]) == sorted(lsoa)
        assert rows["minutes"].notna().all()
    providers = pd.read_csv(report_dir / "providers.csv", dtype={"id": str})
    dfe = pd.read_csv(
        settings.data_path(
            "providers", "raw", "establishments_herefordshire_and_border_spine2019.csv"
        )
    )
    open_here = dfe[(dfe["la_code"] == 884) & dfe["rtt_close_date_2022"].isna()]["urn"].astype(str)
    assert set(open_here) <= set(providers["id"])
    closed_here = dfe[(dfe["la_code"] == 884) & dfe["rtt_close_date_2022"].notna()]["urn"].astype(
        str
    )
    assert not set(closed_here) & set(providers["id"])
    areas = pd.read_csv(report_dir / "areas.csv")
    assert len(areas) == 116 and areas["total_population"].sum() == 193_615


def test_report_says_what_times_are_based_on(report_dir):
    index = (report_dir / "index.html").read_text()
    assert "Estimated car travel times" in index and "90th percentile" in index
    assert "Estimated walk travel times" in index
    assert "82 closed establishments excluded" in index
    assert "school-based only" in index
    assert "Open Government Licence" in index
    assert "walk: early_years 40.2 min, primary 40.2 min" in index
    assert "built-in method" not in index and "&lt;" not in index
    access = pd.read_csv(report_dir / "access.csv")
    assert set(access["method"]) == {"estimate:car", "estimate:walk"}
    ranked = pd.read_csv(report_dir / "gaps_ranked.csv")
    walk_primary = ranked[(ranked["mode"] == "walk") & (ranked["kind"] == "primary")]
    assert (walk_primary["minutes"] > 40.2).all()
    assert walk_primary["children_beyond"].is_monotonic_decreasing
