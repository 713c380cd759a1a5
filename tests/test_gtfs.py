"""Timetable (GTFS) journeys: a hand-made feed with hand-worked answers, and the real Chester feed.

The tiny feed is drawn in ``tests/fixtures/gtfs/README.md``. Walks there are
straight-line distance × 1.3 at 4.8 km/h = 80 m a minute, so a point 500 m from
a stop is 650 m / 80 = 8.125 minutes' walk from it.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.clock import TimeOfDay
from geomap.errors import (
    CoordinateError,
    CRSError,
    GeomapError,
    InputError,
    InputWarning,
    MissingColumnError,
    TimetableError,
    TravelWarning,
)
from geomap.travel.base import TIME_COLUMNS, ScenarioTrips
from geomap.travel.gtfs import (
    JOURNEY_COLUMNS,
    TimetableTravelTimes,
    add_trips,
    load_gtfs,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gtfs"
TINY = FIXTURES / "tiny"
CHESTER = FIXTURES / "chester-20230816-small_gtfs.zip"
WEDNESDAY = dt.date(2024, 1, 17)
BAD_STOP = "5120WD22102"

# origins of the tiny feed, in British National Grid metres
TINY_ORIGINS = {
    "oA": (350000, 240000),  # at stop A
    "oW": (350000, 240500),  # 500 m north of stop A: 8.125 min walk
    "oD": (350000, 250000),  # at stop D
    "oE": (370000, 230000),  # at stop E
    "oG": (365000, 240000),  # at stop G
    "oY": (370000, 300000),  # at untrusted stop Y, nothing else near
    "oN": (370600, 240000),  # 600 m east of the college: 780 m walk, 9.75 min
    "oF": (300000, 200000),  # far from every stop
}


def points(coords: dict[str, tuple[float, float]], *, crs: str = settings.MEASURE_CRS):
    return gpd.GeoDataFrame(
        {"id": list(coords)}, geometry=[shapely.Point(*xy) for xy in coords.values()], crs=crs
    )


def lonlat_points(coords: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    return points(coords, crs=settings.LONLAT_CRS).to_crs(settings.MEASURE_CRS)


@pytest.fixture(scope="module")
def tiny():
    return load_gtfs(TINY, date=WEDNESDAY)


@pytest.fixture(scope="module")
def college():
    return points({"college": (370000, 240000)})  # at stop C


def one(table: pd.DataFrame, from_id: str) -> pd.Series:
    return table.set_index("from_id").loc[from_id]


# --------------------------------------------------------------------------- loading the tiny feed


def test_tiny_feed_keeps_only_the_trips_running_on_the_day(tiny):
    today = tiny.trips[tiny.trips["day_offset"] == 0]
    # t3 runs at weekends, t4's service is removed on the day by calendar_dates,
    # t14's calendar ended in 2023; t11's service exists only as a calendar_dates addition
    assert sorted(today["trip_id"]) == sorted(
        ["t1", "t2", "t5", "t9", "t6", "t8", "t12", "t11", "t13", "t15"]
    )
    # Tuesday's t15 runs past midnight into Wednesday
    assert tiny.trips.loc[tiny.trips["day_offset"] == -1, "trip_id"].tolist() == ["t15"]


def test_tiny_feed_times(tiny):
    calls = tiny.stop_times.merge(tiny.trips[["run", "day_offset"]], on="run")
    t1_b = calls[(calls["trip_id"] == "t1") & (calls["stop_id"] == "B")]
    assert t1_b["arrival"].tolist() == [7.5 * 3600]  # blank, halfway between 07:00 and 08:00
    t15_c = calls[(calls["trip_id"] == "t15") & (calls["stop_id"] == "C")]
    # 24:20 today, and Tuesday's run at 00:20
    assert sorted(t15_c["arrival"].tolist()) == [20 * 60, 24 * 3600 + 20 * 60]


def test_tiny_feed_reads_from_a_zip_too(tiny, tmp_path):
    archive = tmp_path / "tiny.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in TINY.iterdir():
            zf.write(file, f"feed/{file.name}")  # files inside a folder in the zip
    zipped = load_gtfs(archive, date="2024-01-17")
    assert zipped.name == "tiny"
    assert len(zipped.trips) == len(tiny.trips)
    assert zipped.stop_times["arrival"].sum() == tiny.stop_times["arrival"].sum()


def test_tiny_untrusted_stops(tiny):
    checks = tiny.stop_checks.set_index("stop_id")
    assert sorted(tiny.untrusted_stops["stop_id"]) == ["X", "Y"]
    assert "placeholder" in checks.loc["X", "problem"]
    # G -> Y is 60 km in 10 minutes (X is skipped), Y -> C 60 km in 20 minutes
    assert "faster than 120 km/h" in checks.loc["Y", "problem"]
    assert "(2 of 2 hops)" in checks.loc["Y", "problem"]
    assert checks.loc["Y", "trips_affected"] == 1
    text = TimetableTravelTimes(tiny).describe()
    assert "X Placeholder stop X" in text and "Y Misplaced stop Y" in text


def test_a_stop_off_great_britain_but_inside_its_box_is_not_trusted():
    from geomap.travel.gtfs import check_stop_positions

    stops = pd.DataFrame(
        {
            "stop_id": ["hereford", "belfast", "douglas"],
            "stop_name": ["Hereford", "Belfast Europa", "Douglas (Isle of Man)"],
            "lat": [52.0605, 54.5953, 54.1523],
            "lon": [-2.7130, -5.9370, -4.4861],
        }
    )
    no_times = pd.DataFrame({"trip_id": [], "stop_id": [], "arrival": [], "departure": []})
    checks = check_stop_positions(stops, no_times).set_index("stop_id")
    assert checks.loc["hereford", "trusted"]
    for stop in ("belfast", "douglas"):
        assert (
            not checks.loc[stop, "trusted"]
            and checks.loc[stop, "problem"] == "outside Great Britain"
        )


# --------------------------------------------------------------------------- hand-worked journeys


HAND = {
    # latest departure: t1 (07:00) and t2 (07:40) both reach C by 09:00; t2 leaves later.
    # t3 (weekend), t4 (removed), t14 (expired) and t5 (arrives 09:01) must not be used.
    "oA": ("07:40:00", "08:40:00", 60.0, 1, "A"),
    # the same bus, 8.125 minutes' walk earlier
    "oW": ("07:31:52", "08:40:00", 68.13, 1, "A"),
    # t6 reaches B at 08:09, one minute before t2 leaves: with 2 minutes to change it is
    # missed, so walk 300 m × 1.3 = 390 m (4.875 min) to B2 for t8 at 08:20, arriving 08:50
    "oD": ("07:30:00", "08:50:00", 80.0, 2, "D"),
    # t11 runs only because calendar_dates adds its service on the day
    "oE": ("08:00:00", "08:30:00", 30.0, 1, "E"),
    # t13 runs through untrusted X and Y and still takes people from G to C
    "oG": ("08:10:00", "08:40:00", 30.0, 1, "G"),
    # walking straight to the college (780 m) is a journey, arriving at the deadline
    "oN": ("08:50:15", "09:00:00", 9.75, 0, None),
}


def test_hand_worked_journeys(tiny, college):
    router = TimetableTravelTimes(tiny)
    table = router.journeys(points(TINY_ORIGINS), college)
    assert list(table.columns) == list(JOURNEY_COLUMNS)
    assert table["method"].eq("gtfs:tiny:2024-01-17").all()
    for origin, (leave, arrive, minutes, boardings, first) in HAND.items():
        row = one(table, origin)
        assert (row["departure"], row["arrival"]) == (leave, arrive), origin
        assert row["minutes"] == pytest.approx(minutes, abs=0.01), origin
        assert row["boardings"] == boardings, origin
        assert (row["first_stop_id"] if boardings else None) == first, origin
    # nobody boards at untrusted Y; nothing is within walking distance of oF
    for origin in ("oY", "oF"):
        row = one(table, origin)
        assert math.isnan(row["minutes"]) and pd.isna(row["boardings"]), origin
    assert table.attrs["untrusted_stops"] == ["X", "Y"]


def test_hand_worked_journey_legs(tiny, college):
    legs = TimetableTravelTimes(tiny).legs(points(TINY_ORIGINS), college)
    d_legs = legs[legs["from_id"] == "oD"]
    assert d_legs["kind"].tolist() == ["ride", "walk", "ride"]
    assert d_legs["trip_id"].tolist()[::2] == ["t6", "t8"]
    assert d_legs[["from_stop_id", "to_stop_id"]].iloc[1].tolist() == ["B", "B2"]
    assert d_legs["minutes"].iloc[1] == pytest.approx(4.875, abs=0.01)  # 292.5 s, to the second
    g_legs = legs[legs["from_id"] == "oG"]
    assert g_legs[["from_stop_id", "to_stop_id", "trip_id"]].values.tolist() == [["G", "C", "t13"]]
    used = set(legs["from_stop_id"].dropna()) | set(legs["to_stop_id"].dropna())
    assert not used & {"X", "Y"}


def test_quicker_change_catches_the_connection(tiny, college):
    # with 1 minute to change, t6 (B 08:09) catches t2 (B 08:10): same departure, earlier arrival
    row = one(
        TimetableTravelTimes(tiny, min_transfer_minutes=1).journeys(points(TINY_ORIGINS), college),
        "oD",
    )
    assert (row["departure"], row["arrival"], row["minutes"]) == ("07:30:00", "08:40:00", 70.0)
    assert row["routes"] == "2 > 1"


def test_max_journey_time(tiny, college):
    # t6 + t8 takes 80 minutes; within 75, leave at 06:50 on t9, change at B to t1
    # (07:30, interpolated) and arrive 08:00: 70 minutes
    table = TimetableTravelTimes(tiny, max_journey_minutes=75).journeys(
        points(TINY_ORIGINS), college
    )
    row = one(table, "oD")
    assert (row["departure"], row["arrival"], row["minutes"]) == ("06:50:00", "08:00:00", 70.0)
    assert one(table, "oA")["minutes"] == 60.0


@pytest.mark.parametrize(
    ("arrive_by", "expected"),
    [
        ("08:39", ("07:00:00", "08:00:00", 60.0)),  # t2 arrives 08:40: one minute late, so t1
        ("08:40", ("07:40:00", "08:40:00", 60.0)),
        ("09:00", ("07:40:00", "08:40:00", 60.0)),  # t5 arrives 09:01: too late
        ("09:01", ("08:20:00", "09:01:00", 41.0)),  # now t5 counts, and leaves latest
    ],
)
def test_deadline(tiny, college, arrive_by, expected):
    router = TimetableTravelTimes(tiny, arrive_by=arrive_by)
    row = one(router.journeys(points(TINY_ORIGINS), college), "oA")
    assert (row["departure"], row["arrival"], row["minutes"]) == expected


def test_trip_from_the_day_before_past_midnight(tiny, college):
    table = TimetableTravelTimes(tiny, arrive_by="00:30").journeys(points(TINY_ORIGINS), college)
    row = one(table, "oE")  # Tuesday's t15: E 23:50, C 00:20
    assert (row["departure"], row["arrival"], row["minutes"]) == ("-00:10:00", "00:20:00", 30.0)
    assert math.isnan(one(table, "oA")["minutes"])  # nothing that early


def test_walking_limits(tiny, college):
    # 500 m straight from A is 650 m walked: out of reach with 600 m, and oN's 780 m walk too
    table = TimetableTravelTimes(tiny, max_walk_m=600).journeys(points(TINY_ORIGINS), college)
    assert math.isnan(one(table, "oW")["minutes"])
    assert math.isnan(one(table, "oN")["minutes"])
    assert one(table, "oA")["minutes"] == 60.0
    # without changes between stops, oD must wait at B for t5, which is too late
    table = TimetableTravelTimes(tiny, transfer_walk_m=0).journeys(points(TINY_ORIGINS), college)
    row = one(table, "oD")
    assert (row["departure"], row["arrival"]) == ("06:50:00", "08:00:00")


def test_matrix_and_nearest_follow_the_interface(tiny):
    destinations = points({"college": (370000, 240000), "town": (360000, 240000)})
    router = TimetableTravelTimes(tiny)
    matrix = router.matrix(points(TINY_ORIGINS), destinations)
    assert list(matrix.columns) == list(TIME_COLUMNS)
    assert len(matrix) == len(TINY_ORIGINS) * 2
    # oA to B: t5 leaves A latest, at 08:20, and reaches B at 08:45
    assert matrix.set_index(["from_id", "to_id"]).loc[("oA", "town"), "minutes"] == 25.0
    nearest = router.nearest(points(TINY_ORIGINS), destinations)
    assert nearest.set_index("from_id").loc["oA", "to_id"] == "town"
    assert pd.isna(nearest.set_index("from_id").loc["oF", "to_id"])
    assert router.mode == "pt"


# --------------------------------------------------------------------------- extra trips


def test_add_trips_with_new_and_existing_stops(tiny, college):
    far = gpd.GeoSeries([shapely.Point(300000, 200000)], crs=settings.MEASURE_CRS).to_crs(4326)
    extra = add_trips(
        tiny,
        [(far.x[0], far.y[0]), "A", "C"],
        ["07:00", "08:05"],
        running_minutes=[50, 25],
        route_name="new",
    )
    assert len(extra.trips) == len(tiny.trips) + 2
    assert len(tiny.trips) == 11  # the original is unchanged
    table = TimetableTravelTimes(extra).journeys(points(TINY_ORIGINS), college)
    # oF now has the new route: 08:05 from its new stop, A 08:55, C 09:20 is too late,
    # so the 07:00 trip: A 07:50, C 08:15
    row = one(table, "oF")
    assert (row["departure"], row["arrival"], row["routes"]) == ("07:00:00", "08:15:00", "new")
    # oA can now leave at 07:50 rather than 07:40
    assert (one(table, "oA")["departure"], one(table, "oA")["arrival"]) == ("07:50:00", "08:15:00")
    assert "2 added trip(s)" in TimetableTravelTimes(extra).describe()


@pytest.mark.parametrize(
    ("stops", "departures", "running", "match"),
    [
        (["A"], ["08:00"], 5, "at least two stops"),
        (["A", "nowhere"], ["08:00"], 5, "not in the timetable"),
        (["A", "X"], ["08:00"], 5, "cannot be trusted"),
        (["A", (10.0, 50.0)], ["08:00"], 5, "outside Great Britain"),
        (["A", (-5.93, 54.597)], ["08:00"], 5, "outside Great Britain"),  # Belfast, in the old box
        (["A", "C"], ["eight"], 5, "'eight' is not a time of day"),
        (["A", "C"], ["08:61"], 5, "'08:61' is not a time of day"),
        (["A", "B", "C"], ["08:00"], [5], "2 running times"),
        (["A", "C"], ["08:00"], -5, "zero or more"),
    ],
)
def test_add_trips_rejects_bad_routes(tiny, stops, departures, running, match):
    with pytest.raises(InputError, match=match):
        add_trips(tiny, stops, departures, running_minutes=running)


@pytest.mark.parametrize(
    ("stop", "match"),
    [
        ((10.0, 50.0), "outside Great Britain"),
        ((-5.93, 54.597), "outside Great Britain"),  # Belfast
        ((54.597, -2.7), "latitude and longitude look swapped"),
        ({"lon": "west", "lat": 52.0}, "'west' is not a"),
        ({"lon": -2.7}, "no location"),
    ],
)
def test_add_trips_reads_new_stops_as_any_point(tiny, stop, match):
    """New stops go through the same checks as providers' and origins' positions."""
    with pytest.raises(CoordinateError, match=match) as info:
        add_trips(tiny, ["A", stop], ["08:00"], running_minutes=5, route_name="new")
    assert info.value.path == "route 'new'" and info.value.row == 2  # the route's second stop


def test_add_trips_takes_times_of_day(tiny, college):
    by_text = add_trips(tiny, ["A", "C"], ["08:05"], running_minutes=30, route_name="new")
    by_time = add_trips(
        tiny, ["A", "C"], [TimeOfDay.parse("08:05")], running_minutes=30, route_name="new"
    )
    by_clock = add_trips(tiny, ["A", "C"], [dt.time(8, 5)], running_minutes=30, route_name="new")
    for timetable in (by_text, by_time, by_clock):
        added = timetable.stop_times[timetable.stop_times["trip_id"] == "new:1"]
        assert added["departure"].tolist() == [8 * 3600 + 5 * 60, 8 * 3600 + 35 * 60]


# --------------------------------------------------------------------------- scenario trips


def trips_through_far_stop(days: frozenset[str]) -> ScenarioTrips:
    """The route of ``test_add_trips_with_new_and_existing_stops``, as a scenario gives it."""
    far = gpd.GeoSeries([shapely.Point(300000, 200000)], crs=settings.MEASURE_CRS).to_crs(4326)
    stops = points({"A": (350000, 240000), "C": (370000, 240000)}).to_crs(4326)
    return ScenarioTrips(
        name="new",
        stops=((far.x[0], far.y[0]), *((p.x, p.y) for p in stops.geometry)),
        departures=(7 * 60.0, 8 * 60.0 + 5),
        running_minutes=(50.0, 25.0),
        days=days,
    )


def test_with_trips_gives_a_new_source_with_the_same_rules(tiny, college):
    base = TimetableTravelTimes(tiny, arrive_by="08:30", max_walk_m=900, min_transfer_minutes=3)
    assert base.takes_trips
    after = base.with_trips([trips_through_far_stop(frozenset({"mon", "wed"}))])
    assert after is not base and after.timetable is not tiny
    assert len(base.timetable.trips) == len(tiny.trips) == 11  # this one is not changed
    assert int(after.timetable.trips["added"].sum()) == 2
    assert (after.arrive_by, after.max_walk_m, after.min_transfer_minutes) == (
        TimeOfDay.parse("08:30"),
        900.0,
        3.0,
    )
    table = after.journeys(points(TINY_ORIGINS), college)
    # oF now has the new route: its 07:00 trip reaches A at 07:50 and C at 08:15
    row = one(table, "oF")
    assert (row["departure"], row["arrival"], row["routes"]) == ("07:00:00", "08:15:00", "new")
    assert math.isnan(one(base.journeys(points(TINY_ORIGINS), college), "oF")["minutes"])


def test_with_trips_leaves_out_routes_not_running_on_the_day(tiny):
    base = TimetableTravelTimes(tiny)
    with pytest.warns(TravelWarning, match=r"1 route\(s\) do not run on Wednesday 2024-01-17"):
        after = base.with_trips([trips_through_far_stop(frozenset({"sat", "sun"}))])
    assert not after.timetable.trips["added"].any()


# --------------------------------------------------------------------------- bad feeds and options


def copy_tiny(tmp_path: Path) -> Path:
    folder = tmp_path / "feed"
    shutil.copytree(TINY, folder)
    return folder


def test_missing_file_is_named(tmp_path):
    folder = copy_tiny(tmp_path)
    (folder / "stop_times.txt").unlink()
    with pytest.raises(TimetableError, match=r"stop_times\.txt"):
        load_gtfs(folder, date=WEDNESDAY)


def test_missing_calendars(tmp_path):
    folder = copy_tiny(tmp_path)
    (folder / "calendar.txt").unlink()
    (folder / "calendar_dates.txt").unlink()
    with pytest.raises(TimetableError, match=r"neither calendar\.txt nor calendar_dates\.txt"):
        load_gtfs(folder, date=WEDNESDAY)


def test_missing_column_is_named(tmp_path):
    folder = copy_tiny(tmp_path)
    stops = pd.read_csv(folder / "stops.txt").drop(columns="stop_lat")
    stops.to_csv(folder / "stops.txt", index=False)
    with pytest.raises(MissingColumnError) as err:
        load_gtfs(folder, date=WEDNESDAY)
    assert err.value.column == "stop_lat"
    assert "stops.txt" in str(err.value)
    assert isinstance(err.value, KeyError) and isinstance(err.value, GeomapError)


def test_bad_time_names_row_and_column(tmp_path):
    folder = copy_tiny(tmp_path)
    text = (folder / "stop_times.txt").read_text().replace("07:40:00,07:40:00", "07:40:00,7h40")
    (folder / "stop_times.txt").write_text(text)
    with pytest.raises(TimetableError, match=r"row 5, column 'departure_time': '7h40'"):
        load_gtfs(folder, date=WEDNESDAY)


@pytest.mark.parametrize("cell", ["abc", "inf", "1e999", "-3", "1.5", ""])
def test_a_bad_stop_sequence_is_refused_with_its_row(tmp_path, cell):
    folder = copy_tiny(tmp_path)
    path = folder / "stop_times.txt"
    text = path.read_text()
    assert text.count("t1,07:00:00,07:00:00,A,1,") == 1  # row 2
    path.write_text(text.replace("t1,07:00:00,07:00:00,A,1,", f"t1,07:00:00,07:00:00,A,{cell},"))
    with pytest.raises(TimetableError) as err:
        load_gtfs(folder, date=WEDNESDAY)
    error = err.value
    assert (error.path, error.row, error.column) == (str(path), 2, "stop_sequence")
    assert (f"'{cell}'" if cell else "blank stop_sequence") in str(error)
    assert "whole number from 0 up" in str(error)


@pytest.mark.parametrize("cell", ["abc", "inf", "1e999", "nan"])
@pytest.mark.parametrize("column", ["stop_lat", "stop_lon"])
def test_a_stop_position_that_is_not_a_number_is_refused_with_its_row(tmp_path, column, cell):
    folder = copy_tiny(tmp_path)
    path = folder / "stops.txt"
    stops = pd.read_csv(path, dtype=str)
    stops.loc[stops["stop_id"] == "B", column] = cell  # row 3
    stops.to_csv(path, index=False)
    with pytest.raises(TimetableError) as err:
        load_gtfs(folder, date=WEDNESDAY)
    error = err.value
    assert (error.path, error.row, error.column) == (str(path), 3, column)
    assert f"'{cell}'" in str(error) and "decimal degrees" in str(error)


@pytest.mark.parametrize(
    ("lat", "lon", "problem"),
    [("-3", "-2.5847992", "outside Great Britain"), ("", "", "no position")],
    ids=["off Great Britain", "blank"],
)
def test_a_stop_with_an_impossible_or_no_position_is_warned_about_not_refused(
    tmp_path, lat, lon, problem
):
    folder = copy_tiny(tmp_path)
    path = folder / "stops.txt"
    stops = pd.read_csv(path, dtype=str, keep_default_na=False)
    stops.loc[stops["stop_id"] == "B", ["stop_lat", "stop_lon"]] = [lat, lon]
    stops.to_csv(path, index=False)
    with pytest.warns(TravelWarning, match=r"3 stop\(s\) have impossible positions") as caught:
        timetable = load_gtfs(folder, date=WEDNESDAY)
    assert any("stop B (Market town B)" in str(w.message) for w in caught)
    checks = timetable.stop_checks.set_index("stop_id")
    assert not checks.loc["B", "trusted"] and checks.loc["B", "problem"] == problem


def test_date_without_service(tmp_path):
    with pytest.raises(TimetableError, match="no trips run on Sunday 01 June 2025"):
        load_gtfs(TINY, date="2025-06-01")
    with pytest.raises(TimetableError, match="not found"):
        load_gtfs(tmp_path / "nothing.zip", date=WEDNESDAY)
    with pytest.raises(InputError, match="not a date"):
        load_gtfs(TINY, date="17/01/2024")


def test_bad_options_and_inputs(tiny, college):
    with pytest.raises(InputError, match="max_walk_m"):
        TimetableTravelTimes(tiny, max_walk_m=-1)
    with pytest.raises(InputError, match="not a time"):
        TimetableTravelTimes(tiny, arrive_by="9 o'clock")
    with pytest.raises(CRSError):
        TimetableTravelTimes(tiny).matrix(college.to_crs(4326), college)


# --------------------------------------------------------------------------- an independent reference


def reference_journey(
    timetable,
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    deadline: float,
    max_walk_m: float = settings.PT_MAX_WALK_M,
    transfer_walk_m: float = settings.PT_TRANSFER_WALK_M,
    change_s: float = settings.PT_MIN_TRANSFER_MINUTES * 60,
    max_journey_s: float = settings.PT_MAX_JOURNEY_MINUTES * 60,
) -> tuple[float, float] | None:
    """(departure, arrival) of the latest-departure journey, by brute force, or None.

    Tries every time one could leave home to catch a bus (latest first) and, for
    each, finds the earliest arrival by plain repeated passes over every trip
    until nothing improves. Walking: straight line × 1.3 at 4.8 km/h.
    """

    def walked(a, b):  # metres
        return math.dist(a, b) * 1.3

    def walk(a, b):  # seconds, to the nearest second
        return round(walked(a, b) / (4.8 / 3.6))

    stops = timetable.stops
    ok = dict(zip(stops["stop_id"], stops["trusted"], strict=True))
    where = {s: (x, y) for s, x, y in zip(stops["stop_id"], stops["x"], stops["y"], strict=True)}
    near_origin = {
        s: walk(origin, p) for s, p in where.items() if ok[s] and walked(origin, p) <= max_walk_m
    }
    near_destination = {
        s: walk(destination, p)
        for s, p in where.items()
        if ok[s] and walked(destination, p) <= max_walk_m
    }
    calls = timetable.stop_times.sort_values(["run", "stop_sequence"])
    trips = [
        list(
            zip(g["stop_id"], g["arrival"], g["departure"], g["pickup"], g["dropoff"], strict=True)
        )
        for _, g in calls.groupby("run")
    ]

    @functools.cache
    def changes(stop):
        return [
            (other, max(change_s, walk(where[stop], p)))
            for other, p in where.items()
            if ok[other] and (other == stop or walked(where[stop], p) <= transfer_walk_m)
        ]

    def earliest_arrival(leave):
        can_board = {s: leave + w for s, w in near_origin.items()}
        got_off: dict[str, float] = {}
        useful = [t for t in trips if t[-1][1] >= leave and t[0][2] <= deadline]
        improved = True
        while improved:
            improved = False
            for trip in useful:
                aboard = False
                for stop, arrival, departure, pickup, dropoff in trip:
                    if aboard and dropoff and ok[stop] and arrival < got_off.get(stop, math.inf):
                        got_off[stop] = arrival
                        improved = True
                    if (
                        not aboard
                        and pickup
                        and ok[stop]
                        and can_board.get(stop, math.inf) <= departure
                    ):
                        aboard = True
            for stop, arrival in list(got_off.items()):
                for other, seconds in changes(stop):
                    if arrival + seconds < can_board.get(other, math.inf):
                        can_board[other] = arrival + seconds
        return min(
            (got_off[s] + w for s, w in near_destination.items() if s in got_off), default=math.inf
        )

    best = None
    if walked(origin, destination) <= max_walk_m:
        best = (deadline - walk(origin, destination), deadline)
    leaves = sorted(
        {
            d - near_origin[s]
            for trip in trips
            for s, _, d, p, _ in trip
            if p and s in near_origin and d <= deadline
        },
        reverse=True,
    )
    for leave in leaves:
        if best is not None and leave < best[0]:
            break
        arrival = earliest_arrival(leave)
        if arrival <= deadline and arrival - leave <= max_journey_s:
            if best is None or leave > best[0] or arrival < best[1]:
                best = (leave, arrival)
            break
    return best


def seconds(clock: str) -> float:
    sign = -1 if clock.startswith("-") else 1
    h, m, s = (int(x) for x in clock.lstrip("-").split(":"))
    return sign * (h * 3600 + m * 60 + s)


def test_reference_agrees_on_the_tiny_feed(tiny, college):
    table = TimetableTravelTimes(tiny).journeys(points(TINY_ORIGINS), college)
    for origin, xy in TINY_ORIGINS.items():
        expected = reference_journey(tiny, xy, (370000, 240000), deadline=9 * 3600)
        row = one(table, origin)
        if expected is None:
            assert math.isnan(row["minutes"]), origin
        else:
            assert seconds(row["departure"]) == pytest.approx(expected[0], abs=0.5), origin
            assert seconds(row["arrival"]) == pytest.approx(expected[1], abs=0.5), origin


# --------------------------------------------------------------------------- the real Chester feed

# Town-centre points (lon, lat), read off OpenStreetMap: Corwen's square on the A5,
# Ruthin's St Peter's Square, and Mold's High Street by the bus station.
TOWNS = {
    "Corwen": (-3.3760, 52.9790),
    "Ruthin": (-3.3105, 53.1145),
    "Mold": (-3.1420, 53.1670),
}
# University of Chester, Parkgate Road campus (the main campus, CH1 4BJ), and
# Cheshire College - South & West, Chester campus on Eaton Road, Handbridge (CH4 7ER):
# the two post-16/higher education sites in Chester; positions approximate (about 100 m).
COLLEGES = {
    "uni_chester": (-2.8980, 53.2005),
    "ccsw_chester": (-2.8838, 53.1800),
}


@pytest.fixture(scope="module")
def chester():
    return load_gtfs(CHESTER, date="2023-08-16")


def test_real_feed_bad_stop_is_reported_not_trusted(chester):
    checks = chester.stop_checks.set_index("stop_id")
    assert chester.untrusted_stops["stop_id"].tolist() == [BAD_STOP]
    bad = checks.loc[BAD_STOP]
    assert bad["stop_name"] == "Sealand School"
    assert "placeholder position" in bad["problem"]
    assert bad["trips_affected"] == 3  # the three trips that jump to Cornwall and back
    assert bad["max_speed_kmh"] > 10_000
    # far-away coach stops are real: reported, but trusted
    assert checks.loc["910GHTRWCBS", "trusted"]
    assert "km from the feed's median stop" in checks.loc["910GHTRWCBS", "problem"]
    # the trips through the bad stop still run
    through = chester.stop_times.loc[chester.stop_times["stop_id"] == BAD_STOP, "run"]
    assert through.nunique() == 3
    assert BAD_STOP in TimetableTravelTimes(chester).describe()
    with pytest.warns(TravelWarning, match="1 stop\\(s\\) have impossible positions") as caught:
        load_gtfs(CHESTER, date="2023-08-16")
    [warning] = [w for w in caught if issubclass(w.category, TravelWarning)]
    assert f"stop {BAD_STOP} (Sealand School) at (49.766132, -7.555903) is not trusted" in str(
        warning.message
    )


def test_real_feed_towns_to_chester_colleges(chester):
    router = TimetableTravelTimes(chester)
    table = router.journeys(lonlat_points(TOWNS), lonlat_points(COLLEGES))
    found = table.dropna(subset=["minutes"])
    assert (found["minutes"] > 0).all() and (found["minutes"] <= 120).all()
    assert (found["arrival"] <= "09:00:00").all()
    assert (found["departure"] < found["arrival"]).all()
    # Mold has buses to both colleges by 09:00
    mold = table[table["from_id"] == "Mold"]
    assert mold["minutes"].notna().all()
    assert (mold["boardings"] >= 1).all()
    # Ruthin's and Corwen's only buses here are the T8: the first (Corwen 07:36, Ruthin 08:04)
    # reaches Chester bus interchange at 09:04, too late even before the walk (the feed's
    # day is in the summer holidays, without college buses): no journey by 09:00
    far = table[table["from_id"].isin(["Ruthin", "Corwen"])]
    assert far["minutes"].isna().all()
    # arriving by 10:00 they have one, on the T8
    later = TimetableTravelTimes(chester, arrive_by="10:00", max_journey_minutes=150)
    late = later.journeys(lonlat_points(TOWNS), lonlat_points(COLLEGES)).set_index(
        ["from_id", "to_id"]
    )
    for town in ("Ruthin", "Corwen"):
        row = late.loc[(town, "uni_chester")]
        assert 30 < row["minutes"] <= 150 and "T8" in row["routes"]
    # Corwen is further out on the same route than Ruthin
    assert (
        late.loc[("Corwen", "uni_chester"), "minutes"]
        > late.loc[("Ruthin", "uni_chester"), "minutes"]
    )
    legs = router.legs(lonlat_points(TOWNS), lonlat_points(COLLEGES))
    legs_late = later.legs(lonlat_points(TOWNS), lonlat_points(COLLEGES))
    for table_of_legs in (legs, legs_late):
        assert BAD_STOP not in set(table_of_legs["from_stop_id"]) | set(table_of_legs["to_stop_id"])


@pytest.mark.parametrize(
    ("town", "college", "arrive_by"),
    [
        ("Mold", "uni_chester", "09:00"),
        ("Ruthin", "uni_chester", "09:00"),
        ("Ruthin", "uni_chester", "10:00"),
    ],
)
def test_real_feed_matches_brute_force_reference(chester, town, college, arrive_by):
    origin = lonlat_points({town: TOWNS[town]})
    destination = lonlat_points({college: COLLEGES[college]})
    router = TimetableTravelTimes(chester, arrive_by=arrive_by)
    row = router.journeys(origin, destination).iloc[0]
    expected = reference_journey(
        chester,
        (origin.geometry.x[0], origin.geometry.y[0]),
        (destination.geometry.x[0], destination.geometry.y[0]),
        deadline=seconds(f"{arrive_by}:00"),
    )
    if expected is None:
        assert math.isnan(row["minutes"])
    else:
        assert seconds(row["departure"]) == pytest.approx(expected[0], abs=0.5)
        assert seconds(row["arrival"]) == pytest.approx(expected[1], abs=0.5)
        assert row["minutes"] == pytest.approx((expected[1] - expected[0]) / 60, abs=0.01)


def test_real_feed_trip_through_bad_stop_still_carries_people(chester):
    # on each trip calling at the bad stop, ride from the stop before it to the stop after
    calls = chester.stop_times.sort_values(["run", "stop_sequence"]).reset_index(drop=True)
    stops = chester.stops.set_index("stop_id")
    runs = calls["run"].to_numpy()
    checked = 0
    for i in np.flatnonzero(calls["stop_id"].to_numpy() == BAD_STOP):
        if i == 0 or i + 1 == len(calls) or not runs[i - 1] == runs[i] == runs[i + 1]:
            continue  # the bad stop ends its trip
        before, after = calls.iloc[i - 1], calls.iloc[i + 1]
        origin = points({"before": tuple(stops.loc[before["stop_id"], ["x", "y"]])})
        destination = points({"after": tuple(stops.loc[after["stop_id"], ["x", "y"]])})
        hh, rest = divmod(int(after["arrival"]), 3600)
        by = f"{hh:02d}:{rest // 60:02d}:{rest % 60:02d}"
        router = TimetableTravelTimes(chester, arrive_by=by, max_walk_m=50)
        row = router.journeys(origin, destination).iloc[0]
        assert row["minutes"] == pytest.approx(
            (after["arrival"] - before["departure"]) / 60, abs=0.01
        )
        legs = router.legs(origin, destination)
        assert legs["trip_id"].tolist() == [before["trip_id"]]
        checked += 1
    assert checked >= 1


def test_real_feed_many_origins_and_destinations(chester):
    stops = chester.stops[chester.stops["trusted"]]
    local = stops[(stops["lat"].between(52.9, 53.4)) & (stops["lon"].between(-3.5, -2.7))]
    sample = local.sample(150, random_state=1)
    xy = sample[["x", "y"]].to_numpy() + np.random.default_rng(0).normal(0, 500, (150, 2))
    origins = points({f"o{i}": tuple(p) for i, p in enumerate(xy[:120])})
    destinations = points({f"d{i}": tuple(p) for i, p in enumerate(xy[120:])})
    matrix = TimetableTravelTimes(chester).matrix(origins, destinations)
    assert len(matrix) == 120 * 30
    reachable = matrix["minutes"].dropna()
    assert len(reachable) > 1000
    assert reachable.between(0, 120).all()


def test_stop_missing_from_stops_txt_is_not_trusted(tmp_path, college):
    folder = copy_tiny(tmp_path)
    text = (
        (folder / "stop_times.txt")
        .read_text()
        .replace("t13,08:15:00,08:15:00,X", "t13,08:15:00,08:15:00,Z")
    )
    (folder / "stop_times.txt").write_text(text)
    with pytest.warns(
        TravelWarning, match=r"1 stop\(s\) in stop_times.txt are not in stops.txt \(Z\)"
    ):
        timetable = load_gtfs(folder, date=WEDNESDAY)
    checks = timetable.stop_checks.set_index("stop_id")
    assert checks.loc["Z", "problem"] == "not in stops.txt"
    assert not checks.loc["Z", "trusted"]
    # t13 still runs from G through Z and Y to C
    row = one(TimetableTravelTimes(timetable).journeys(points(TINY_ORIGINS), college), "oG")
    assert (row["departure"], row["arrival"]) == ("08:10:00", "08:40:00")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda folder: (folder / "stop_times.txt").write_text(
                (folder / "stop_times.txt").read_text() + "ghost,09:00:00,09:00:00,A,1\r\n"
            ),
            r"1 trip\(s\) in stop_times.txt are not in trips.txt.*left out \(ghost\)",
        ),
        (
            lambda folder: (folder / "trips.txt").write_text(
                (folder / "trips.txt").read_text() + "R1,WEEK,empty\r\n"
            ),
            r"1 running trip\(s\) have no stop times",
        ),
    ],
    ids=["trip with no days", "trip with no stop times"],
)
def test_trips_left_out_are_warned_about(tmp_path, edit, match):
    folder = copy_tiny(tmp_path)
    edit(folder)
    with pytest.warns(InputWarning, match=match):
        load_gtfs(folder, date=WEDNESDAY)
