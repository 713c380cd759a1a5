"""Route scenarios: loading, hand-computed journeys, evaluation on the shipped data, bad files."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.cli import main
from geomap.clock import TimeOfDay
from geomap.errors import InputError, PostcodeError, TravelWarning, UnsupportedError
from geomap.post16 import young_people
from geomap.routes import (
    ROAD_DETOUR,
    RouteTravelTimes,
    evaluate_scenario,
    load_scenario,
    with_routes,
)
from geomap.travel.base import ScenarioTrips, TravelTimes
from geomap.travel.estimate import default_estimate
from geomap.travel.tables import TableTravelTimes

EXAMPLES = settings.data_dir().parent / "examples"
POSTCODES = settings.data_path("providers", "codepoint_open_postcodes_herefordshire_and_border.csv")


@pytest.fixture(scope="module")
def county():
    """The shipped county: its 2021 LSOAs, dissolved."""
    lsoa = gpd.read_file(settings.data_path("boundaries", "lsoa21_herefordshire.geojson"))
    return gpd.GeoSeries([lsoa.to_crs(settings.MEASURE_CRS).union_all()], crs=settings.MEASURE_CRS)


def shipped_pt_table() -> TableTravelTimes:
    """The shipped r5r table, journeys towards the site (as the shipped study area gives it)."""
    return TableTravelTimes.from_files(
        settings.data_path(
            "travel", "herefordshire_lsoa11_public_transport_minutes_to_nhs_sites_walesish.csv"
        ),
        settings.data_path("travel", "nhs_sites_reached_from_herefordshire_walesish.geojson"),
        minutes_column="siteward_bound_travel_time_minutes",
        site_id="Code",
        name="r5r-2024",
        source="r5r table shipped with geomap",
    )


def _scenario(write, body: str):
    return write("scenario.yml", body)


ROUTE = """
scenario: test
arrive_by: "09:00"
routes:
  - name: Line
    days: [mon, tue, wed, thu, fri]
    first_departure: "{first}"
    last_departure: "{last}"
    headway_minutes: {headway}
    running_minutes: [10, 20]
    stops:
      - {{name: A, easting: 350000, northing: 240000}}
      - {{name: B, easting: 355000, northing: 240000}}
      - {{name: C, easting: 360000, northing: 240000}}
"""


def _points(ids, xy):
    return gpd.GeoDataFrame(
        {"id": ids}, geometry=[shapely.Point(x, y) for x, y in xy], crs=settings.MEASURE_CRS
    )


def test_journey_by_hand(write, shipped_inputs, county):
    scenario = load_scenario(
        _scenario(write, ROUTE.format(first="07:00", last="08:00", headway=20)),
        providers=shipped_inputs.providers,
        county=county,
    )
    route = scenario.routes[0]
    assert route.offsets == (0.0, 10.0, 30.0)
    assert [d.minutes for d in route.departures] == [420.0, 440.0, 460.0, 480.0]
    assert [str(d) for d in route.departures] == ["07:00", "07:20", "07:40", "08:00"]
    source = RouteTravelTimes(route, arrive_by=scenario.arrive_by)
    # origin 400 m from A, destination 200 m from C (straight line; walking × 1.3 at 4.8 km/h)
    origins = _points(["o"], [(350000, 240400)])
    dests = _points(["d", "far"], [(360200, 240000), (380000, 240000)])
    times = source.matrix(origins, dests).set_index("to_id")["minutes"]
    walk = 0.4 * 1.3 / 4.8 * 60 + 0.2 * 1.3 / 4.8 * 60
    assert times["d"] == pytest.approx(
        walk + 20 / 2 + 30, abs=0.01
    )  # walks + half the headway + ride
    assert pd.isna(times["far"])  # 20 km from any stop


def test_deadline_and_single_trip(write, shipped_inputs, county):
    late = load_scenario(
        _scenario(write, ROUTE.format(first="08:40", last="09:30", headway=10)),
        providers=shipped_inputs.providers,
        county=county,
    )
    source = RouteTravelTimes(late.routes[0], arrive_by=late.arrive_by)
    origins = _points(["o"], [(350000, 240000)])
    dests = _points(["b", "c"], [(355000, 240000), (360000, 240000)])
    times = source.matrix(origins, dests).set_index("to_id")["minutes"]
    # 08:40 + 10 reaches B at 08:50 (allowed); C at 09:10 (too late)
    assert times["b"] == pytest.approx(10 / 2 + 10) and pd.isna(times["c"])
    single = load_scenario(
        _scenario(write, ROUTE.format(first="08:00", last="08:00", headway=60)),
        providers=shipped_inputs.providers,
        county=county,
    )
    one_trip = RouteTravelTimes(single.routes[0], arrive_by=single.arrive_by)
    assert one_trip.matrix(origins, dests).set_index("to_id")["minutes"]["c"] == pytest.approx(30.0)


def test_speed_gives_running_times_from_estimated_road_distance(write, shipped_inputs, county):
    body = ROUTE.format(first="07:00", last="07:00", headway=30).replace(
        "running_minutes: [10, 20]", "speed_kmh: 30"
    )
    route = load_scenario(
        _scenario(write, body), providers=shipped_inputs.providers, county=county
    ).routes[0]
    # 5 km straight line × 1.3 at 30 km/h = 13 min per hop
    assert route.offsets == pytest.approx(
        (0.0, 5 * ROAD_DETOUR / 30 * 60, 10 * ROAD_DETOUR / 30 * 60)
    )
    assert "straight line" in route.running_basis


def test_example_scenario_shows_an_explained_change(shipped_inputs, county):
    scenario = load_scenario(
        EXAMPLES / "post16_routes.yml",
        providers=shipped_inputs.providers,
        county=county,
        postcodes=POSTCODES,
    )
    result = evaluate_scenario(
        scenario,
        origins=shipped_inputs.origins,
        providers=shipped_inputs.providers,
        young_people=young_people(shipped_inputs.children),
        car=default_estimate("car"),
        pt=shipped_pt_table(),
    )
    ranking = result.ranking()
    assert len(ranking) == 3 and ranking["route"].iloc[-1] == "all routes together"
    for effect in result.effects:
        s = effect.summary
        assert s["young_who_gain"] > 0 and s["minutes_saved"] > 0 and s["areas_changing_flag"] > 0
        gained = effect.areas[effect.areas["saved"] > 0]
        assert (gained["after"] < gained["before"]).all()
        # nothing gets slower when a route is added
        both = effect.areas.dropna(subset=["before", "after"])
        assert (both["after"] <= both["before"] + 1e-9).all()
    # ranked by young people no longer facing a barrier
    no_longer = [e.summary["young_no_longer_barrier"] for e in result.effects]
    assert no_longer == sorted(no_longer, reverse=True)
    # together at least as good as the best single route
    assert result.combined.summary["young_who_gain"] >= max(
        e.summary["young_who_gain"] for e in result.effects
    )
    # the Bromyard route helps the Bromyard LSOAs: 131-134 min before, under an hour after
    bromyard = next(e for e in result.effects if e.name.startswith("Bromyard")).areas.set_index(
        "area_id"
    )
    assert bromyard.loc["E01014003", "before"] > 130 and bromyard.loc["E01014003", "after"] < 60
    # the figures `geomap routes evaluate` has always reported for this file
    by_name = {e.name: e.summary for e in result.effects}
    gains = {
        name: (s["young_who_gain"], s["young_no_longer_barrier"]) for name, s in by_name.items()
    }
    assert gains == {
        "Bromyard - Hereford college link": (190, 166),
        "Weobley - Hereford via Credenhill": (176, 136),
    }
    assert (
        result.combined.summary["young_who_gain"],
        result.combined.summary["young_no_longer_barrier"],
    ) == (366, 302)


def test_route_serving_nobody_changes_nothing(shipped_inputs, county):
    scenario = load_scenario(
        EXAMPLES / "route_serving_nobody.yml",
        providers=shipped_inputs.providers,
        county=county,
        postcodes=POSTCODES,
    )
    with pytest.warns(TravelWarning, match="1 of the 1 route") as caught:
        result = evaluate_scenario(
            scenario,
            origins=shipped_inputs.origins,
            providers=shipped_inputs.providers,
            young_people=young_people(shipped_inputs.children),
            car=default_estimate("car"),
            pt=shipped_pt_table(),
        )
    [warning] = [w for w in caught if issubclass(w.category, TravelWarning)]
    assert "Ledbury afternoon shopper (its first trip reaches its second stop at 14:12" in str(
        warning.message
    )
    effect = result.effects[0]
    assert effect.summary["young_who_gain"] == 0 and effect.summary["areas_changing_flag"] == 0
    assert "after the 09:00 deadline" in effect.summary["why_no_change"]
    assert (effect.areas["saved"].fillna(0) == 0).all()


BAD = [
    (
        "unknown postcode",
        '      - {name: A, postcode: "ZZ9 9ZZ"}',
        "routes[0].stops[0].postcode",
        "unknown postcode 'ZZ9 9ZZ'",
    ),
    (
        "stop outside the county's buffer",
        "      - {name: A, lon: -1.25, lat: 51.75}",
        "routes[0].stops[0]",
        "outside the county",
    ),
]


@pytest.mark.parametrize(("case", "stop", "where", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_stops(write, shipped_inputs, county, case, stop, where, words):
    body = ROUTE.format(first="07:00", last="08:00", headway=20).replace(
        "      - {name: A, easting: 350000, northing: 240000}", stop
    )
    path = _scenario(write, body)
    with pytest.raises(InputError) as info:
        load_scenario(path, providers=shipped_inputs.providers, county=county, postcodes=POSTCODES)
    assert str(path) in str(info.value) and where in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(
    ("first", "last", "headway", "where", "words"),
    [
        ("07:00", "08:00", 0, "headway_minutes", "headway must be more than 0"),
        ("07:00", "08:00", -5, "headway_minutes", "headway must be more than 0"),
        ("08:00", "07:00", 20, "last_departure", "last departure 07:00 is before the first 08:00"),
        ("7 o'clock", "08:00", 20, "first_departure", "is not a time of day"),
    ],
)
def test_bad_times(write, shipped_inputs, county, first, last, headway, where, words):
    path = _scenario(write, ROUTE.format(first=first, last=last, headway=headway))
    with pytest.raises(InputError) as info:
        load_scenario(path, providers=shipped_inputs.providers, county=county)
    assert f"routes[0].{where}" in str(info.value) and words in str(info.value)


def test_bad_scenario_through_the_cli(write, tmp_path):
    path = _scenario(write, ROUTE.format(first="07:00", last="08:00", headway=0))
    out = tmp_path / "routes_out"
    result = CliRunner().invoke(main, ["routes", "evaluate", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert "headway must be more than 0" in result.output and "Traceback" not in result.output
    assert not (out / "ranking.csv").exists()


def test_not_yaml(write, shipped_inputs, county):
    path = write("s.yml", "routes: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_scenario(path, providers=shipped_inputs.providers, county=county)


def test_routes_command_writes_ranking_and_maps(tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(
        main, ["routes", "evaluate", str(EXAMPLES / "post16_routes.yml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "young people in" in result.output and "no longer facing any barrier" in result.output
    ranking = pd.read_csv(out / "ranking.csv")
    assert ranking["young_who_gain"].iloc[0] > 0
    maps = sorted(p.name for p in (out / "maps").glob("*.html"))
    assert len(maps) == 2
    page = (out / "maps" / maps[0]).read_text()
    assert "Before: public-transport minutes" in page and "After: public-transport minutes" in page
    assert "Route stops" in page
    nobody = CliRunner().invoke(
        main,
        [
            "routes",
            "evaluate",
            str(EXAMPLES / "route_serving_nobody.yml"),
            "--out",
            str(tmp_path / "n"),
        ],
    )
    assert nobody.exit_code == 0 and "no change" in nobody.output and "deadline" in nobody.output


def test_a_route_added_to_a_real_timetable(tmp_path):
    """On the Chester feed no bus gets Ruthin to Chester by 09:00; a scenario route does."""
    from geomap.locations import read_points
    from geomap.travel.gtfs import TimetableTravelTimes, load_gtfs

    towns = read_points(EXAMPLES / "chester_towns.csv", what="towns")
    colleges = read_points(EXAMPLES / "chester_colleges.csv", what="colleges")
    providers = colleges.assign(
        kind="college", sector="college", offers_post16=True, in_county=True
    )
    pt = TimetableTravelTimes(
        load_gtfs(settings.data_path("gtfs", "chester-20230816-small_gtfs.zip"), date="2023-08-16")
    )
    scenario_file = tmp_path / "ruthin.yml"
    scenario_file.write_text(
        """
scenario: Ruthin college bus
arrive_by: "09:00"
routes:
  - name: Ruthin - Chester college express
    days: [mon, tue, wed, thu, fri]
    first_departure: "07:30"
    last_departure: "07:30"
    headway_minutes: 60
    running_minutes: [55]
    stops:
      - {name: Ruthin, lon: -3.3105, lat: 53.1145}
      - {name: Cheshire College Chester, lon: -2.8838, lat: 53.1800}
"""
    )
    area = gpd.GeoSeries([shapely.box(*towns.total_bounds).buffer(20000)], crs=settings.MEASURE_CRS)
    scenario = load_scenario(scenario_file, providers=providers, county=area)
    young = pd.Series({"corwen": 10, "ruthin": 20, "mold": 30})
    result = evaluate_scenario(
        scenario,
        origins=towns,
        providers=providers,
        young_people=young,
        car=default_estimate("car"),
        pt=pt,
    )
    before = result.base.areas.set_index("area_id")
    assert pd.isna(before.loc["ruthin", "pt_minutes"]) and before.loc["mold", "pt_minutes"] > 60
    effect = result.effects[0].areas.set_index("area_id")
    # leave Ruthin 07:30 (at the stop: no walk), 55 min ride, no wait (a single trip): 55 min
    assert effect.loc["ruthin", "after"] == pytest.approx(55.0, abs=0.5)
    assert effect.loc["mold", "after"] == pytest.approx(
        effect.loc["mold", "before"]
    )  # not on the route
    assert result.effects[0].summary["young_newly_with_pt"] == 20
    # the feed's own buses are still there: Mold keeps its 09:00 journey
    assert effect.loc["mold", "after"] < 120


# --------------------------------------------------------------------------- through the interface


class TripTaker(TravelTimes):
    """A source that takes trips: 100 minutes everywhere, 30 once any trip is added."""

    mode = "pt"
    method = "trip-taker"
    takes_trips = True

    def __init__(self, added: tuple[ScenarioTrips, ...] = ()) -> None:
        self.added = added

    def describe(self) -> str:
        return f"{len(self.added)} trips added"

    def with_trips(self, trips):
        return TripTaker((*self.added, *trips))

    def matrix(self, origins, destinations):
        pairs = [(o, d) for o in origins["id"] for d in destinations["id"]]
        return pd.DataFrame(
            {
                "from_id": [o for o, _ in pairs],
                "to_id": [d for _, d in pairs],
                "minutes": 30.0 if self.added else 100.0,
                "method": self.method,
            }
        )


def test_a_source_that_takes_trips_gets_the_routes_trips(write, shipped_inputs, county):
    scenario = load_scenario(
        _scenario(write, ROUTE.format(first="07:00", last="08:00", headway=20)),
        providers=shipped_inputs.providers,
        county=county,
    )
    base = TripTaker()
    after = with_routes(base, scenario.routes, arrive_by=scenario.arrive_by)
    assert isinstance(after, TripTaker) and base.added == ()  # a new source; the base unchanged
    [trips] = after.added
    assert trips.name == "Line"
    assert trips.departures == (420.0, 440.0, 460.0, 480.0)
    assert trips.running_minutes == (10.0, 20.0)
    assert trips.days == frozenset({"mon", "tue", "wed", "thu", "fri"})
    # stops in lon/lat: back in British National Grid they are the stops given
    xy = gpd.GeoSeries([shapely.Point(p) for p in trips.stops], crs=settings.LONLAT_CRS).to_crs(
        settings.MEASURE_CRS
    )
    assert [(round(p.x), round(p.y)) for p in xy] == [
        (350000, 240000),
        (355000, 240000),
        (360000, 240000),
    ]


def test_evaluation_asks_the_source_what_it_can_do(write, county):
    """A source that takes trips is given them; one that does not is combined with the route."""
    providers = gpd.GeoDataFrame(
        {
            "id": ["college"],
            "name": ["College"],
            "kind": ["college"],
            "sector": ["college"],
            "offers_post16": [True],
            "in_county": [True],
        },
        geometry=[shapely.Point(360000, 240000)],
        crs=settings.MEASURE_CRS,
    )
    origins = _points(["home"], [(350000, 240000)])
    scenario = load_scenario(
        _scenario(write, ROUTE.format(first="07:00", last="08:00", headway=20)),
        providers=providers,
        county=county,
    )
    young = pd.Series({"home": 10})
    taken = evaluate_scenario(
        scenario,
        origins=origins,
        providers=providers,
        young_people=young,
        car=default_estimate("car"),
        pt=TripTaker(),
    )
    effect = taken.effects[0].areas.set_index("area_id")
    assert (effect.loc["home", "before"], effect.loc["home", "after"]) == (100.0, 30.0)
    assert "added to the timetable (trip-taker)" in taken.effects[0].summary["how"]

    class NoTrips(TripTaker):
        takes_trips = False

        def with_trips(self, trips):
            raise AssertionError("a source that does not take trips is never given them")

    combined = evaluate_scenario(
        scenario,
        origins=origins,
        providers=providers,
        young_people=young,
        car=default_estimate("car"),
        pt=NoTrips(),
    )
    after = combined.effects[0].areas.set_index("area_id").loc["home", "after"]
    # at the first stop, the college at the last: half the 20-minute headway + 30 min ride
    assert after == pytest.approx(40.0)
    assert "The quicker of that and the base times counts" in combined.effects[0].summary["how"]


def test_base_sources_refuse_trips():
    with pytest.raises(UnsupportedError, match="cannot take new trips"):
        default_estimate("car").with_trips([])


def test_scenario_times_are_times_of_day(write, shipped_inputs, county):
    scenario = load_scenario(
        _scenario(write, ROUTE.format(first="7:05", last="08:00", headway=20)),
        providers=shipped_inputs.providers,
        county=county,
    )
    assert scenario.arrive_by == TimeOfDay.parse("09:00")
    route = scenario.routes[0]
    assert route.first_departure == TimeOfDay(7 * 3600 + 5 * 60)
    assert "departures 07:05–08:00" in route.describe()
    assert [str(d) for d in route.departures] == ["07:05", "07:25", "07:45"]
    assert route.stop_table()["departures"].tolist()[1] == "07:15, 07:35, 07:55"


def test_stop_by_postcode_needs_a_lookup(write, shipped_inputs, county):
    body = ROUTE.format(first="07:00", last="08:00", headway=20).replace(
        "      - {name: A, easting: 350000, northing: 240000}",
        "      - {name: A, postcode: HR7 4DP}",
    )
    path = _scenario(write, body)
    with pytest.raises(PostcodeError) as info:
        load_scenario(path, providers=shipped_inputs.providers, county=county)
    assert info.value.column == "routes[0].stops[0].postcode" and info.value.row == 12
    assert "no postcode lookup" in str(info.value)
    # with one, the stop is where Code-Point Open puts the postcode
    route = load_scenario(
        path, providers=shipped_inputs.providers, county=county, postcodes=POSTCODES
    ).routes[0]
    assert route.stop_names[0] == "A"
    lookup = pd.read_csv(POSTCODES, dtype=str).set_index("postcode")
    expected = (float(lookup.loc["HR7 4DP", "easting"]), float(lookup.loc["HR7 4DP", "northing"]))
    assert (route.stops.iloc[0].x, route.stops.iloc[0].y) == expected
