"""Coverage gaps: a hand-computed case, a reference implementation on the shipped data, aggregation."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.errors import InputError
from geomap.gaps import (
    analyse_gaps,
    coverage,
    eligible_providers,
    nearest_by_kind,
    parse_threshold,
    resolve_thresholds,
    summarise_coverage,
)
from geomap.travel.base import TravelTimes
from geomap.travel.estimate import StraightLineEstimate, default_estimate


def _providers(rows):
    frame = pd.DataFrame(rows, columns=["id", "name", "kind", "sector", "x", "y"])
    for phase in ("early_years", "primary", "secondary", "post16"):
        frame[f"offers_{phase}"] = False
    frame.loc[frame["kind"] == "primary", "offers_primary"] = True
    frame["in_county"] = True
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=settings.MEASURE_CRS
    )


@pytest.fixture
def toy():
    """Three areas on a line and two primary schools, one of them independent.

    Area origins at x = 0, 3 km, 10 km; schools at x = 1 km (maintained) and
    x = 9.5 km (independent). Walking is 15 min per straight-line km (4 km/h, no detour).
    """
    origins = gpd.GeoDataFrame(
        {"id": ["A", "B", "C"]},
        geometry=[shapely.Point(0, 0), shapely.Point(3000, 0), shapely.Point(10000, 0)],
        crs=settings.MEASURE_CRS,
    )
    providers = _providers(
        [
            ("s1", "One", "primary", "maintained", 1000, 0),
            ("s2", "Two", "primary", "independent", 9500, 0),
        ]
    )
    children = pd.DataFrame(
        {"primary": [100, 50, 10]}, index=pd.Index(["A", "B", "C"], name="area_id")
    )
    walk = StraightLineEstimate(mode="walk", intercept=0.0, slopes=(15.0,), basis="4 km/h")
    return origins, providers, children, walk


def test_hand_computed_gaps(toy):
    origins, providers, children, walk = toy
    near = nearest_by_kind(origins, providers, walk, kinds=["primary"]).set_index("area_id")
    # independent school not counted: everyone goes to s1 at x = 1 km
    assert near["provider_id"].tolist() == ["s1", "s1", "s1"]
    assert near["minutes"].tolist() == [15.0, 30.0, 135.0]
    cover = coverage(
        near.reset_index(), children, thresholds={"walk": {"primary": 40.0}}
    ).set_index("area_id")
    assert cover["beyond"].tolist() == [False, False, True]
    assert cover["children_beyond"].tolist() == [0, 0, 10]
    # counting the independent school brings C within 7.5 min
    near_all = nearest_by_kind(
        origins, providers, walk, kinds=["primary"], include_independent=True
    )
    assert near_all.set_index("area_id").loc["C", "minutes"] == 7.5


def test_summary_is_population_weighted(toy):
    origins, providers, children, walk = toy
    cover = coverage(
        nearest_by_kind(origins, providers, walk, kinds=["primary"]),
        children,
        thresholds={"walk": {"primary": 40.0}},
    )
    lookup = pd.Series({"A": "west", "B": "west", "C": "east"})
    summary = summarise_coverage(cover, lookup).set_index("group_id")
    # west: (100*15 + 50*30) / 150 = 20 min; nobody beyond
    assert summary.loc["west", "mean_minutes"] == 20.0
    assert summary.loc["west", "share_beyond"] == 0.0
    assert (
        summary.loc["east", "children_beyond"] == 10 and summary.loc["east", "share_beyond"] == 1.0
    )


class NoJourneys(TravelTimes):
    """A travel source where nothing can be reached (as in a disconnected network)."""

    mode = "car"
    method = "test:none"

    def describe(self) -> str:
        return "no journeys"

    def matrix(self, origins, destinations):
        return pd.DataFrame(
            {
                "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                "minutes": np.nan,
                "method": self.method,
            }
        )


def test_unreachable_areas_are_gaps_not_dropped(toy):
    origins, providers, children, _walk = toy
    result = analyse_gaps(
        origins,
        providers,
        children,
        [NoJourneys()],
        kinds=["primary"],
        lookup=pd.Series({"A": "g", "B": "g", "C": "g"}),
    )
    cover = result.coverage
    assert len(cover) == 3 and cover["unreachable"].all() and cover["beyond"].all()
    assert cover["provider_id"].isna().all()
    assert result.by_group["children_unreachable"].iloc[0] == 160
    assert len(result.ranking) == 3


def test_ranking_puts_most_children_first(toy):
    origins, providers, children, walk = toy
    result = analyse_gaps(
        origins,
        providers,
        children,
        [walk],
        kinds=["primary"],
        thresholds={"walk": {"primary": 20.0}},
    )
    ranking = result.ranking
    assert ranking["area_id"].tolist() == ["B", "C"]  # 50 children beyond, then 10
    assert ranking["rank"].tolist() == [1, 2]
    assert ranking["minutes_over"].tolist() == [10.0, 115.0]


def test_nearest_on_shipped_data_matches_a_reference_implementation(shipped_inputs):
    """Brute force over every area and every eligible provider, in plain Python."""
    car = default_estimate("car")
    providers = shipped_inputs.providers
    near = nearest_by_kind(shipped_inputs.origins, providers, car, kinds=["secondary", "post16"])
    for kind in ("secondary", "post16"):
        eligible = [
            (p.id, p.geometry.x, p.geometry.y)
            for p in providers.itertuples()
            if p.sector != "independent"
            and (p.offers_secondary if kind == "secondary" else p.offers_post16)
        ]
        got = near[near["kind"] == kind].set_index("area_id")
        for origin in shipped_inputs.origins.itertuples():
            dist, pid = min(
                (math.hypot(origin.geometry.x - x, origin.geometry.y - y), i)
                for i, x, y in eligible
            )
            assert got.loc[origin.id, "provider_id"] == pid
            assert got.loc[origin.id, "minutes"] == pytest.approx(
                car.minutes_for_km(dist / 1000)[0], abs=0.01
            )


def test_thresholds_defaults_and_overrides():
    table = resolve_thresholds()
    # 2 miles at 4.8 km/h = 3.219 km / 4.8 * 60 = 40.2 min; 3 miles = 60.4 min
    assert table["walk"]["primary"] == 40.2 and table["walk"]["secondary"] == 60.4
    assert table["car"]["primary"] == 45 and table["car"]["secondary"] == 75
    assert resolve_thresholds({"walk": {"primary": 30}})["walk"]["primary"] == 30
    assert parse_threshold("walk:primary=30") == ("walk", "primary", 30.0)
    with pytest.raises(InputError, match="MODE:KIND=MINUTES"):
        parse_threshold("walk-primary-30")
    with pytest.raises(InputError, match="positive"):
        resolve_thresholds({"walk": {"primary": 0}})


def test_eligible_providers_excludes_independent_by_default(shipped_inputs):
    providers = shipped_inputs.providers
    counted = eligible_providers(providers, "primary")
    assert (counted["sector"] != "independent").all()
    assert len(eligible_providers(providers, "primary", include_independent=True)) > len(counted)


def test_remembered_source_asks_each_question_once(toy):
    from geomap.travel.base import Remembered

    origins, providers, _children, walk = toy
    asked = []

    class Counting(StraightLineEstimate):
        def matrix(self, o, d):
            asked.append("matrix")
            return super().matrix(o, d)

    source = Remembered(Counting(mode="walk", intercept=0.0, slopes=(15.0,)))
    points = providers[["id", "geometry"]]
    first = source.matrix(origins, points)
    again = source.matrix(origins, points)
    pd.testing.assert_frame_equal(first, again)
    assert asked == ["matrix"]
    source.matrix(origins.iloc[:2], points)  # a different question is asked
    assert asked == ["matrix", "matrix"]
    assert first.equals(walk.matrix(origins, points))


class ByDestinations(NoJourneys):
    """Times of 1 minute; each result says how many destinations it was for."""

    def matrix(self, origins, destinations):
        times = super().matrix(origins, destinations).assign(minutes=1.0)
        times.attrs["description"] = f"times to {len(destinations)} providers"
        return times


def test_methods_are_the_captions_of_the_results(toy):
    origins, providers, children, walk = toy
    providers = pd.concat(
        [providers, _providers([("n1", "Nursery", "early_years", "maintained", 0, 0)])],
        ignore_index=True,
    )
    providers.loc[providers["id"] == "n1", "offers_early_years"] = True
    providers.loc[providers["kind"] == "primary", "offers_early_years"] = False
    children = children.assign(early_years=[5, 5, 5])
    result = analyse_gaps(
        origins,
        providers,
        children,
        [ByDestinations(), walk],
        kinds=["primary", "early_years"],
    )
    # one primary school counts (the other is independent) and one nursery: the same caption
    assert result.methods["car"] == "times to 1 providers"
    assert result.methods_by_kind["car"] == {
        "primary": "times to 1 providers",
        "early_years": "times to 1 providers",
    }
    assert result.methods["walk"] == walk.describe()
    counted = analyse_gaps(
        origins,
        providers,
        children,
        [ByDestinations()],
        kinds=["primary", "early_years"],
        include_independent=True,
    )
    # now two primary schools and one nursery: each kind's caption, labelled
    assert counted.methods["car"] == (
        "Primary: times to 2 providers Early years: times to 1 providers"
    )


def test_a_source_that_says_nothing_of_its_results_is_described_in_general(toy):
    origins, providers, children, _walk = toy
    result = analyse_gaps(origins, providers, children, [NoJourneys()], kinds=["primary"])
    assert result.methods == {"car": "no journeys"}
