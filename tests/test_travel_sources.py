"""Travel sources behind one interface: what each can do, captions from results, choosing sources."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.errors import CRSError, InputError, TravelWarning, UnsupportedError
from geomap.osm import add_travel_times, load_graph, save_graph
from geomap.travel import travel_sources
from geomap.travel.base import (
    FastestOf,
    Remembered,
    ScenarioTrips,
    TravelTimes,
    describe_result,
    description_of,
)
from geomap.travel.estimate import StraightLineEstimate, default_estimate
from geomap.travel.network import NetworkTravelTimes
from geomap.travel.tables import TableTravelTimes

RIVERSIDE = Path(__file__).parent / "fixtures" / "network" / "riverside.osm"
# a box inside the riverside network's extent, in lon/lat
RIVERSIDE_BOX = shapely.box(-2.719, 52.057, -2.712, 52.063)


def _points(ids: Sequence[str], xy: Sequence[tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(ids)},
        geometry=[shapely.Point(x, y) for x, y in xy],
        crs=settings.MEASURE_CRS,
    )


class Plain(TravelTimes):
    """A source that says nothing about its results: 1 minute per km, as the crow flies."""

    mode = "car"
    method = "test:plain"

    def describe(self) -> str:
        return "plain times"

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
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


class Counted(Plain):
    """Plain times whose results say how many origins they are for."""

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        return describe_result(super().matrix(origins, destinations), f"{len(origins)} origins")


class Tripper(Plain):
    """A source that takes trips (each added trip takes a minute off every journey)."""

    takes_trips = True

    def __init__(self, added: int = 0) -> None:
        self.added = added

    def extent_lonlat(self) -> tuple[float, float, float, float]:
        return (-3.0, 51.0, -2.0, 53.0)

    def with_trips(self, trips: Sequence[ScenarioTrips]) -> Tripper:
        return Tripper(self.added + len(trips))

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        times = super().matrix(origins, destinations)
        return times.assign(minutes=times["minutes"] - self.added)


HOMES = _points(["a", "b"], [(0, 0), (10000, 0)])
SCHOOLS = _points(["s", "t"], [(3000, 0), (10000, 4000)])
TRIP = ScenarioTrips(
    name="X1",
    stops=((-2.7, 52.0), (-2.6, 52.1)),
    departures=(480.0,),
    running_minutes=(20.0,),
    days=frozenset({"mon"}),
)


# --------------------------------------------------------------------------- capabilities


def test_estimates_and_networks_draw_isochrones_tables_do_not() -> None:
    walk = default_estimate("walk")
    assert walk.draws_isochrones and not walk.takes_trips
    assert walk.extent_lonlat() is None  # an estimate covers anywhere
    rings = walk.isochrones(SCHOOLS, minutes=[16.25])
    # 16.25 min of walking is 1 km straight line (× 1.3 detour at 4.8 km/h)
    assert rings.geometry.iloc[0].area == pytest.approx(np.pi * 1000**2, rel=1e-3)
    network = NetworkTravelTimes(load_graph(RIVERSIDE, mode="drive", simplify=False))
    assert network.draws_isochrones and not network.takes_trips
    table = TableTravelTimes(
        times=pd.DataFrame({"from_id": ["a"], "to_id": ["S"], "minutes": [5.0]}),
        sites=_points(["S"], [(3000, 0)]),
        source="toy",
    )
    assert not table.draws_isochrones and not table.takes_trips
    with pytest.raises(UnsupportedError, match="cannot draw isochrones"):
        table.isochrones(SCHOOLS, minutes=[10])
    with pytest.raises(UnsupportedError, match="cannot take new trips"):
        walk.with_trips([TRIP])


def test_a_table_covers_its_sites_and_the_walk_from_them() -> None:
    sites = _points(["S", "T"], [(350000, 240000), (360000, 250000)])
    table = TableTravelTimes(
        times=pd.DataFrame({"from_id": ["a"], "to_id": ["S"], "minutes": [5.0]}),
        sites=sites,
        source="toy",
        max_site_km=2.0,
    )
    west, south, east, north = table.extent_lonlat()
    box = gpd.GeoSeries([shapely.box(west, south, east, north)], crs=settings.LONLAT_CRS)
    inside = box.to_crs(settings.MEASURE_CRS).iloc[0]
    # both sites and points up to 2 km beyond them, but not much more
    for x, y in [(348100, 238100), (361900, 251900), (350000, 240000)]:
        assert inside.contains(shapely.Point(x, y))
    assert not inside.contains(shapely.Point(345000, 240000))


def test_fastest_of_draws_no_isochrones_and_covers_what_all_cover() -> None:
    both = FastestOf([Tripper(), Tripper()], limits=[None, 30.0], mode="pt")
    assert not both.draws_isochrones and not both.takes_trips
    assert both.extent_lonlat() == (-3.0, 51.0, -2.0, 53.0)
    anywhere = FastestOf([Tripper(), default_estimate("walk")], limits=[None, 30.0], mode="pt")
    assert anywhere.extent_lonlat() is None
    with pytest.raises(UnsupportedError):
        both.isochrones(SCHOOLS, minutes=[10])


def test_remembered_forwards_what_its_source_can_do() -> None:
    walk = Remembered(default_estimate("walk"))
    assert walk.draws_isochrones and not walk.takes_trips
    rings = walk.isochrones(SCHOOLS, minutes=[10.0])
    pd.testing.assert_frame_equal(
        pd.DataFrame(rings.drop(columns="geometry")),
        pd.DataFrame(
            default_estimate("walk").isochrones(SCHOOLS, minutes=[10.0]).drop(columns="geometry")
        ),
    )
    bus = Remembered(Tripper())
    assert bus.takes_trips and not bus.draws_isochrones
    assert bus.extent_lonlat() == (-3.0, 51.0, -2.0, 53.0)
    before = bus.matrix(HOMES, SCHOOLS)
    more = bus.with_trips([TRIP, TRIP])
    assert isinstance(more, Remembered) and more is not bus
    # the new source has the trips; the old one (and its remembered answers) does not
    np.testing.assert_allclose(
        more.matrix(HOMES, SCHOOLS)["minutes"], before["minutes"].to_numpy() - 2
    )
    pd.testing.assert_frame_equal(bus.matrix(HOMES, SCHOOLS), before)


# --------------------------------------------------------------------------- captions from results


def test_every_result_carries_its_caption() -> None:
    car = default_estimate("car")
    for result in (car.matrix(HOMES, SCHOOLS), car.nearest(HOMES, SCHOOLS)):
        assert result.attrs["description"] == car.describe()
    # the default nearest (from the matrix) keeps the matrix's caption
    counted = Counted()
    assert counted.nearest(HOMES, SCHOOLS).attrs["description"] == "2 origins"
    assert counted.nearest(HOMES.iloc[:1], SCHOOLS).attrs["description"] == "1 origins"
    # a source that says nothing about its results: its general description
    assert description_of(Plain().matrix(HOMES, SCHOOLS), Plain()) == "plain times"
    assert Plain().nearest(HOMES, SCHOOLS).attrs["description"] == "plain times"


def test_remembered_answers_keep_their_captions() -> None:
    source = Remembered(Counted())
    first = source.nearest(HOMES, SCHOOLS)
    again = source.nearest(HOMES, SCHOOLS)
    assert first.attrs["description"] == again.attrs["description"] == "2 origins"
    # the copies handed out are not the remembered answer itself
    again.attrs["description"] = "changed"
    assert source.nearest(HOMES, SCHOOLS).attrs["description"] == "2 origins"
    plain = Remembered(Plain())
    assert plain.matrix(HOMES, SCHOOLS).attrs["description"] == "plain times"


def test_fastest_of_joins_the_captions_of_its_results() -> None:
    both = FastestOf([Counted(), default_estimate("walk")], limits=[None, 30.0], mode="pt")
    text = both.matrix(HOMES.iloc[:1], SCHOOLS).attrs["description"]
    assert text.startswith("Quickest of: 1 origins | Estimated walk travel times")
    assert text.endswith("(used for journeys up to 30 min)")


def test_a_table_result_says_how_much_of_it_the_table_covers() -> None:
    table = TableTravelTimes(
        times=pd.DataFrame({"from_id": ["a", "b"], "to_id": ["S", "S"], "minutes": [12.0, 80.0]}),
        sites=_points(["S"], [(3000, 0)]),
        source="toy",
    )
    homes = _points(["a", "b", "c"], [(0, 0), (10000, 0), (20000, 0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # two of three origins known: nothing odd to warn about
        result = table.matrix(homes, SCHOOLS)
    text = result.attrs["description"]
    assert text.startswith(table.describe())
    assert (
        "Here 2 of 3 origins have rows in the table; 1 of 2 destinations are within 1.5 km of "
        "a site; 1 origins have no journey to any of them." in text
    )
    assert "Here" not in table.describe()


def test_table_from_files_names_everything_the_caller_gives(write) -> None:
    times = write("times.csv", "zone,HUB\na,12\nb,80\n")
    sites = write("sites.csv", "Code,easting,northing\nHUB,350000,240000\n")
    table = TableTravelTimes.from_files(times, sites, site_id="Code", source="a toy router")
    assert table.method == "table:times"
    assert "a toy router" in table.describe()
    named = TableTravelTimes.from_files(
        times, sites, site_id="Code", name="toy-2025", source="a toy router", max_site_km=0.5
    )
    assert named.method == "table:toy-2025" and named.max_site_km == 0.5
    with pytest.raises(InputError, match="positive number of km") as caught:
        TableTravelTimes.from_files(times, sites, site_id="Code", source="x", max_site_km=0)
    assert "times.csv" in str(caught.value)


# --------------------------------------------------------------------------- choosing sources


@pytest.fixture
def cached_riverside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A drive network of the riverside fixture in an empty cache, with its manifest."""
    folder = tmp_path / "cache" / "networks"
    folder.mkdir(parents=True)
    graph = add_travel_times(load_graph(RIVERSIDE, mode="drive", simplify=False))
    path = save_graph(graph, folder / "drive-riverside.graphml")
    manifest = {
        "mode": "drive",
        "area_bounds": [-2.725, 52.05, -2.70, 52.07],
        "date": "2026-01-01",
        "graph_file": path.name,
    }
    (folder / "drive-riverside.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path / "cache"))
    return path


def test_the_cache_is_looked_in_only_when_asked(cached_riverside: Path) -> None:
    notes: list[str] = []
    (car,) = travel_sources(["car"], notes=notes)
    assert car.method == "estimate:car"
    assert notes == [
        "No car network given: car times are the straight-line estimate (estimate:car)."
    ]
    boundary = gpd.GeoDataFrame(geometry=[RIVERSIDE_BOX], crs=settings.LONLAT_CRS)
    notes = []
    (car, walk) = travel_sources(
        ["car", "walk"], use_cache=True, boundary=boundary.to_crs(settings.MEASURE_CRS), notes=notes
    )
    assert car.method == "network:drive"
    assert walk.method == "estimate:walk"
    assert notes[0] == (
        f"car times are from the OpenStreetMap network {cached_riverside} (network:drive)."
    )
    assert notes[1].startswith("No walk network given or cached")


def test_a_cached_network_must_cover_the_study_area(cached_riverside: Path) -> None:
    far = gpd.GeoSeries([shapely.box(-3.5, 51.5, -3.4, 51.6)], crs=settings.LONLAT_CRS)
    (car,) = travel_sources(["car"], use_cache=True, boundary=far)
    assert car.method == "estimate:car"


@pytest.mark.parametrize(
    ("boundary", "error", "words"),
    [
        (None, InputError, "boundary"),
        (gpd.GeoSeries([RIVERSIDE_BOX]), CRSError, "no coordinate reference system"),
        (gpd.GeoSeries([], crs=settings.LONLAT_CRS), InputError, "empty"),
    ],
)
def test_the_cache_needs_a_study_area(
    boundary: gpd.GeoSeries | None, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        travel_sources(["car"], use_cache=True, boundary=boundary)


def test_a_given_network_is_named_in_the_note(tmp_path: Path) -> None:
    graph = add_travel_times(load_graph(RIVERSIDE, mode="walk", simplify=False))
    path = save_graph(graph, tmp_path / "walk.graphml")
    notes: list[str] = []
    (walk,) = travel_sources(["walk"], networks=[path], notes=notes)
    assert walk.method == "network:walk"
    assert notes == [f"walk times are from the OpenStreetMap network {path} (network:walk)."]
    with pytest.warns(TravelWarning, match="walk given but not used"):
        travel_sources(["car"], networks=[path])


def test_a_study_area_can_calibrate_the_car_estimate(write) -> None:
    rows = ["origin_id,site_id,origin_x,origin_y,site_x,site_y,minutes"]
    for i in range(6):
        for j in range(4):
            ox, sy = 400000 + 3000 * i, 205000 + 7000 * j
            km = np.hypot(ox - 400000, 200000 - sy) / 1000
            rows.append(f"o{i},s{j},{ox},200000,400000,{sy},{2 + 1.5 * km}")
    path = write("pairs.csv", "\n".join(rows) + "\n")
    notes: list[str] = []
    (car, walk) = travel_sources(["car", "walk"], calibration=path, notes=notes)
    assert isinstance(car, StraightLineEstimate)
    assert car != default_estimate("car")
    assert car.minutes_for_km(10.0)[0] == pytest.approx(17.0, abs=1e-6)
    assert "pairs.csv" in car.describe() and str(path) in notes[0]
    assert walk == default_estimate("walk")  # walking is not calibrated by car journeys
