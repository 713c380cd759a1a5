"""The report's planning sections on the shipped data: capacity, quality, choice, competition, sites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest

from geomap import settings

pytestmark = pytest.mark.slow


def _csv(report_dir, name, **options):
    return pd.read_csv(report_dir / f"{name}.csv", encoding="utf-8-sig", **options)


def test_the_index_page_has_every_planning_section(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    for heading in (
        "How far children travel: journey-time bands",
        "Quality: is the nearest provider good?",
        "Choice: providers within a reasonable journey",
        "Capacity and sufficiency",
        "Post-16: competition between sixth forms and colleges",
        "Where to add provision",
    ):
        assert f"<h2>{heading}</h2>" in page
    # every chart is an image in the page, with its numbers as alternative text
    for kind in settings.ANALYSIS_KINDS:
        assert f'src="charts/journey_time_bands_{kind}.png"' in page
    assert page.count("% within 15 min") >= len(settings.ANALYSIS_KINDS)
    # the charts are real PNG images
    for path in (report_dir / "charts").glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_capacity_is_said_and_never_shown_as_zero(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "No capacity data for early years, primary" in page
    assert "no number is made up" in page
    assert "the scorecard check needs one" in page
    assert not (report_dir / "capacity_access.csv").exists()
    assert not list(report_dir.glob("sufficiency_*"))
    early = _csv(report_dir, "early_years_places_per_100")
    assert early["places_per_100"].isna().all()


def test_quality_uses_the_dated_ratings_and_sums_up(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "to February 2020" in page
    quality = _csv(report_dir, "quality", dtype={"area_id": str})
    assert len(quality) == 116 * 2 * len(settings.ANALYSIS_KINDS)
    good = quality["extra_minutes"].notna()
    assert (quality.loc[good, "extra_minutes"] >= 0).all()
    assert np.allclose(
        quality.loc[good, "minutes_good"] - quality.loc[good, "minutes_any"],
        quality.loc[good, "extra_minutes"],
    )
    below = quality["nearest_below_good"]
    assert (
        quality.loc[below, "children_nearest_below_good"] == quality.loc[below, "children"]
    ).all()
    assert (quality.loc[~below, "children_nearest_below_good"] == 0).all()
    # the kind's travel-time map carries the quality layer, with the ratings' date
    page = (report_dir / "maps" / "car_primary.html").read_text(encoding="utf-8")
    assert "Extra minutes to a good or outstanding provider" in page
    assert "February 2020" in page


def test_choice_agrees_with_the_gaps(report_dir):
    choice = _csv(report_dir, "choice", dtype={"area_id": str})
    access = _csv(report_dir, "access", dtype={"area_id": str})
    merged = choice.merge(access, on=["area_id", "kind", "mode"])
    assert len(merged) == len(choice) == len(access)
    # no provider within the threshold exactly where the nearest is beyond it
    assert (merged["no_choice"] == merged["beyond"]).all()
    assert (merged["providers_within"] >= merged["good_within"]).all()


def test_post16_competition_covers_every_provider_serving_the_area(report_dir):
    pairs = _csv(report_dir, "post16_competition", dtype={"provider_id": str, "other_id": str})
    assert list(pairs.columns[:3]) == ["provider_id", "other_id", "overlap_share"]
    providers = _csv(report_dir, "post16_providers", dtype={"provider_id": str})
    serving = providers[providers["catchment_areas"] > 0]
    # sixth forms and colleges across the border serve the county too
    assert (~serving["in_county"]).any() and serving["in_county"].any()
    assert set(pairs["provider_id"]) <= set(serving["provider_id"])
    shares = pairs["overlap_share"].dropna()
    assert ((shares > 0) & (shares <= 1)).all()
    # a small sixth form flagged as mostly covered names who covers it
    flagged = providers[providers["small_and_covered"] == True]  # noqa: E712
    assert len(flagged) and flagged["most_overlapping_name"].notna().all()
    assert (flagged["size"] < settings.SMALL_SIXTH_FORM).all()
    # sizes not known stay unknown (blank), never zero
    assert not (providers["size"] == 0).any()
    layers = {name for name, _geom in pyogrio.list_layers(report_dir / "geomap.gpkg")}
    assert {"post16_providers", "quality", "choice", "new_sites", "new_sites_areas"} <= layers


def test_new_sites_gain_what_they_say(report_dir):
    sites = _csv(report_dir, "new_sites", dtype={"site_id": str})
    assert list(sites["rank"]) == sorted(sites["rank"]) or set(sites["rank"]) == {1, 2, 3}
    assert len(sites) == 3
    coverage = _csv(report_dir, "new_sites_coverage").set_index("scenario")
    assert coverage.loc["after", "covered"] >= coverage.loc["before", "covered"]
    greedy = _csv(report_dir, "new_sites_greedy")
    # the optimum is at least as good as adding sites one at a time
    gained = coverage.loc["after", "covered"] - coverage.loc["before", "covered"]
    assert gained >= greedy["gain"].sum() - 1e-9
    # candidates are primary schools without a nursery class
    providers = _csv(report_dir, "providers", dtype={"id": str}).set_index("id")
    chosen = providers.loc[sites["site_id"]]
    assert (chosen["kind"] == "primary").all() and not chosen["offers_early_years"].any()


@pytest.fixture(scope="module")
def capacity_report(tmp_path_factory):
    """The report on the shipped data with a school-level capacity list for primary schools."""
    from click.testing import CliRunner

    from geomap.cli import main
    from tests.shipped_data import shipped

    folder = tmp_path_factory.mktemp("capacity")
    table = pd.read_csv(shipped("providers"), dtype=str)
    primary = table["kind"] == "primary"
    table.loc[primary, "capacity"] = "210"
    table.loc[primary, "pupils"] = "180"
    path = folder / "providers_with_capacity.csv"
    table.to_csv(path, index=False)
    out = folder / "out"
    result = CliRunner().invoke(
        main, ["report", "--providers", str(path), "--mode", "car", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_with_capacity_the_report_maps_access_and_sufficiency(capacity_report):
    out = capacity_report
    maps = {p.name for p in (out / "maps").glob("*.html")}
    assert {"capacity_car_primary.html", "sufficiency_primary.html"} <= maps
    scores = _csv(out, "capacity_access", dtype={"area_id": str})
    primary = scores[scores["kind"] == "primary"]
    assert len(primary) == 116
    # all-through schools offering primary give no primary places of their own: areas
    # that reach one are left unscored, never scored as if it had none
    assert primary["score"].notna().any()
    assert (primary.loc[~primary["complete"], "score"].isna()).all()
    groups = _csv(out, "sufficiency_primary_groups")
    wards = groups[groups["level"] == "ward"]
    assert len(wards) == 53
    known = wards[wards["flag"] != "unknown"]
    assert np.allclose(known["spare"], known["places"] - known["children"])
    # the county's school-level totals are checked against the DfE scorecard
    check = _csv(out, "scorecard_check")
    row = check[(check["phase"] == "primary") & (check["measure"] == "capacity")].iloc[0]
    assert row["scorecard_total"] == 14_672
    assert row["list_total"] == 210 * row["list_schools"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "places (capacity) against children" in page
    # the scorecard check is on the page, with the scorecard's year
    assert "The provider list against the DfE school places scorecard" in page
    assert "14,672 (2024/25)" in page
    # where a provider within reach gives no places the map shows a labelled lower bound
    capacity_map = (out / "maps" / "capacity_car_primary.html").read_text(encoding="utf-8")
    assert "a lower bound: a provider within reach gives no places" in capacity_map
    layers = {name for name, _geom in pyogrio.list_layers(out / "geomap.gpkg")}
    assert {"capacity_access", "sufficiency_primary_areas", "sufficiency_primary_ward"} <= layers
    # special schools serve children with a plan, not every child: never compared by area
    assert not (out / "sufficiency_special_areas.csv").exists()


def test_the_study_areas_planning_settings_reach_the_analyses(shipped_inputs):
    from dataclasses import replace

    from geomap.pipeline import analyse, plan
    from geomap.travel.estimate import default_estimate

    study = replace(
        shipped_inputs.study,
        competition={"minutes": 20.0, "small": 150.0, "overlap": 0.7},
        sufficiency_limits={"margin": 0.1},
    )
    inputs = replace(shipped_inputs, study=study)
    car = default_estimate("car")
    analysis = analyse(inputs, [car], kinds=["post16"])
    planned = plan(inputs, [car], analysis, kinds=["post16"], sites=False)
    notes = " ".join(planned.notes["competition"])
    assert "within 20 minutes by car" in notes and "fewer than 150" in notes
    assert "at or above 70%" in notes
    providers = planned.competition.providers
    sized = providers[providers["size"].notna()]
    assert (sized["small"] == (sized["size"] < 150)).all()
    assert planned.sites is None


def test_the_new_sites_take_the_runs_thresholds(shipped_inputs):
    from geomap.pipeline import analyse, plan
    from geomap.travel.estimate import default_estimate

    walk = default_estimate("walk")
    thresholds = {"walk": {"early_years": 20.0}}
    analysis = analyse(shipped_inputs, [walk], kinds=["early_years"], thresholds=thresholds)
    planned = plan(shipped_inputs, [walk], analysis, kinds=["early_years"], thresholds=thresholds)
    assert planned.sites is not None and planned.sites.threshold == 20.0
    assert any("Threshold 20 minutes by walk" in note for note in planned.notes["sites"])


def test_the_report_has_eligibility_and_the_options_finder(report_dir):
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "<h2>Home-to-school transport eligibility</h2>" in page
    assert '<a href="maps/eligibility.html">' in page and '<a href="finder.html">' in page
    cost = _csv(report_dir, "eligibility_cost")
    total = cost.iloc[-1]
    assert total["eligible"] > 0
    assert total["annual_cost"] == pytest.approx(total["eligible"] * total["cost_per_pupil"])
    counts = _csv(report_dir, "eligibility_counts")
    assert {"area_id", "age_band", "children", "eligible"} <= set(counts.columns)
    finder = (report_dir / "finder.html").read_text(encoding="utf-8")
    assert 'id="postcode"' in finder and 'id="results"' in finder
    assert len(finder.encode("utf-8")) < 5_000_000
    layers = {name for name, _geom in pyogrio.list_layers(report_dir / "geomap.gpkg")}
    assert "eligibility_homes" in layers
