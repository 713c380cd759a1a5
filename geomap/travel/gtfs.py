"""Public-transport travel times from bus timetables (GTFS), for a school-day morning.

Loading
-------
:func:`load_gtfs` reads a GTFS feed (a zip or a folder) and keeps the trips that
run on one date: a trip runs if its service's ``calendar.txt`` row covers the
date and its weekday, or ``calendar_dates.txt`` adds the date (exception type 1),
and ``calendar_dates.txt`` does not remove it (type 2). Times may run past
24:00; trips of the day before that run past midnight are kept too, shifted back
by 24 hours. Stop times with no time between two timed stops are interpolated by
position.

Stop positions are checked before any are trusted (:func:`check_stop_positions`).
A stop is *not trusted* when it has no position, sits at a placeholder position
(such as (49.766, -7.556), in the sea off Cornwall, used in Bus Open Data Service
feeds), lies outside Great Britain, or makes buses to and from it impossibly fast
(over 120 km/h in a straight line between consecutive stops on most of its
timetabled hops). An untrusted stop is reported (logged, in
``Timetable.stop_checks`` and in :meth:`TimetableTravelTimes.describe`) and
nobody boards, alights or walks there; the trips that call at it still run
through their other stops. Stops far from the rest of the feed are reported but
kept if their timetable speeds are plausible: long-distance coaches do reach
Heathrow on time.

Journeys
--------
For every origin and destination, the journey that arrives by a deadline
(09:00 by default) and leaves home as late as possible, so that waiting at home
is not counted; among journeys leaving at the same time, the one arriving
earliest (then with fewest boardings). A journey is a walk to a stop, a wait,
a ride, any number of changes (a walk of at most ``transfer_walk_m`` between
stops, taking at least ``min_transfer_minutes``, or a wait at the same stop of
that long) and a walk from the last stop. Walks are the straight-line
distance times a detour factor (1.3) at walking speed (4.8 km/h), because no
walking network is used, rounded to the second like timetable times; walks to
and from stops are at most ``max_walk_m`` walked. Walking straight from origin to destination counts as a journey if it
is no longer than ``max_walk_m``. A journey may take at most
``max_journey_minutes`` from leaving home to arriving. Its minutes are arrival
minus departure; the time from arrival to the deadline (waiting at the
destination) is reported apart.

Algorithm
---------
A reverse *profile connection scan* (Dibbelt, Pajor, Strasser and Wagner,
"Connection Scan Algorithm", ACM Journal of Experimental Algorithmics 23, 2018:
the profile variant, run backwards from a fixed arrival time),
once per destination, serving every origin at once. The day's timetable is cut
into *connections*: one vehicle going from one stop to the next (departure stop
and time, arrival stop and time, trip). Connections arriving by the deadline
are scanned in order of decreasing departure time, keeping:

* for each trip, the earliest arrival at the destination available to someone
  still on board (alight at a later stop of this trip, then walk to the
  destination, or change to a journey that stop or a nearby one offers), and
  where to get off for it;
* for each stop, a *profile*: the (time one must be at the stop, arrival at the
  destination) pairs for boarding there, appended in decreasing time, each
  arriving earlier than the one before (a pair leaving earlier without arriving
  earlier is of no use, and is not kept).

For a connection from stop *u* to stop *v*: getting off at *v* at its arrival
time *a* can lead to the destination directly (if *v* is within walking
distance, arriving *a* + walk) or through a change: for each stop *w* within the
transfer walk of *v* (and *v* itself), the profile of *w* is searched (binary
search) for the best journey one can still catch at *a* + change time. The best
of these, if better than staying on, becomes the trip's value. Then, if one may
board at *u*, (departure time, the trip's value) joins *u*'s profile when it
arrives earlier than everything already there. Scanning in decreasing time
makes every later journey known before an earlier connection needs it.

An origin then takes, over the stops within walking distance, the profile entry
that lets it leave home latest while keeping the journey within the maximum
time; pointers kept with each entry give the legs. The scan is linear in the
number of connections (about 6,200 before 09:00 on the Chester feed) times the
stops within the transfer walk (about 4); 120 origins and 30 destinations on
that feed take about 0.3 s. ``tests/test_gtfs.py`` checks the journeys against
a brute-force search.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import logging
import math
import re
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from pyproj import Transformer
from scipy.spatial import cKDTree

from geomap import settings
from geomap.errors import (
    ArchiveError,
    CoordinateError,
    InputError,
    InputWarning,
    MissingColumnError,
    TimetableError,
)
from geomap.io import MAX_GTFS_BYTES, ZIP_READ_ERRORS, archive_limit, check_rows, check_zip
from geomap.locations import GB_LAT, GB_LON, in_great_britain
from geomap.travel.base import TIME_COLUMNS, TravelTimes, check_points
from geomap.travel.estimate import WALK_DETOUR

logger = logging.getLogger(__name__)

#: Columns each GTFS file must have (GTFS reference, "Dataset Files").
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id",),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: Columns of :meth:`TimetableTravelTimes.journeys`.
JOURNEY_COLUMNS = (
    *TIME_COLUMNS,
    "departure",
    "arrival",
    "early_minutes",
    "boardings",
    "first_stop_id",
    "first_stop_name",
    "last_stop_id",
    "routes",
)

#: Columns of :meth:`TimetableTravelTimes.legs`.
LEG_COLUMNS = (
    "from_id",
    "to_id",
    "leg",
    "kind",
    "from_stop_id",
    "to_stop_id",
    "start",
    "end",
    "minutes",
    "route",
    "trip_id",
)

_DAY_S = 86_400
# GTFS times are to the minute; a hop timetabled at 0 minutes is taken as 1 for speeds
_MIN_HOP_S = 60.0
# a stop is blamed for fast hops when at least this share of its hops are too fast
_BLAME_SHARE = 0.5
# a stop within this many degrees of a placeholder position is at the placeholder
_PLACEHOLDER_DEG = 0.001
_TIME_RE = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
_CLOCK_RE = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- the timetable


@dataclass(frozen=True, eq=False)
class Timetable:
    """One day's public-transport timetable, ready for journey planning.

    Attributes
    ----------
    name
        The feed's name (its file or folder name without suffix).
    date
        The day the timetable is for.
    stops
        Every stop: ``stop_id``, ``stop_name``, ``lon``, ``lat``, ``x``, ``y``
        (EPSG:27700), ``trusted`` and ``problem`` (empty when none).
    trips
        One row per trip run on ``date``: ``run`` (0, 1, ...), ``trip_id``,
        ``route_id``, ``route_name``, ``service_id``, ``day_offset`` (-1 for a
        trip of the day before running past midnight) and ``added`` (by
        :func:`add_trips`).
    stop_times
        One row per call: ``run``, ``trip_id``, ``stop_id``, ``stop_sequence``,
        ``arrival`` and ``departure`` (seconds after midnight starting ``date``),
        ``pickup`` and ``dropoff`` (whether boarding and alighting are allowed).
    stop_checks
        Stops with a doubtful position (see :func:`check_stop_positions`).
    source
        Where the feed was read from.
    """

    name: str
    date: dt.date
    stops: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    stop_checks: pd.DataFrame
    source: str

    @property
    def untrusted_stops(self) -> pd.DataFrame:
        """The stops that are not used for boarding, alighting or walking, and why."""
        return self.stop_checks[~self.stop_checks["trusted"]].reset_index(drop=True)

    def __repr__(self) -> str:
        return (
            f"Timetable({self.name!r}, {self.date.isoformat()}: {len(self.trips):,} trips, "
            f"{len(self.stops):,} stops, {len(self.untrusted_stops)} untrusted)"
        )


class _Feed:
    """The files of a GTFS feed in a zip or a folder.

    A zip is checked with :func:`geomap.io.check_zip` before anything in it is
    read (at most ``max_bytes`` expanded, by default :data:`geomap.io.MAX_GTFS_BYTES`
    or ``$GEOMAP_MAX_GTFS_BYTES``), and each file is read as a stream, so a
    damaged or hostile member ends in a :class:`~geomap.errors.ArchiveError`
    naming it, never in a traceback.
    """

    def __init__(self, path: Path, *, max_bytes: int | None = None) -> None:
        self.path = path
        if not path.exists():
            raise TimetableError(
                "GTFS feed not found", path=path, fix="Give the path of a GTFS zip or folder"
            )
        self.members: dict[str, str] = {}
        if path.is_dir():
            self.members = {p.name: str(p) for p in sorted(path.iterdir()) if p.is_file()}
            self.zipped = False
        elif _looks_zipped(path):
            setting = "GEOMAP_MAX_GTFS_BYTES"
            limit = max_bytes if max_bytes is not None else archive_limit(setting, MAX_GTFS_BYTES)
            for info in check_zip(path, what="GTFS feed", max_bytes=limit, setting=setting):
                if info.is_dir():
                    continue
                base = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
                if base and base not in self.members:
                    self.members[base] = info.filename
            self.zipped = True
        else:
            raise TimetableError(
                "not a GTFS feed: neither a zip file nor a folder",
                path=path,
                fix="Give the GTFS zip as downloaded, or the folder it unpacks to",
            )

    def where(self, name: str) -> str:
        return f"{self.path}/{name}"

    def has(self, name: str) -> bool:
        return name in self.members

    def read(self, name: str) -> pd.DataFrame:
        """Read one file as text columns, checking its required columns."""
        if name not in self.members:
            raise TimetableError(
                f"the GTFS feed has no {name}",
                path=self.path,
                fix=f"A GTFS feed needs {name}; check that this is a complete feed",
            )
        try:
            if self.zipped:
                with (
                    zipfile.ZipFile(self.path) as archive,
                    archive.open(self.members[name]) as stream,
                ):
                    table = self._parse(stream, name)
            else:
                table = self._parse(self.members[name], name)
        except PermissionError as err:
            raise TimetableError(
                f"cannot open {name}: permission denied",
                path=self.path,
                fix="Check that your account may read the feed",
            ) from err
        except ZIP_READ_ERRORS as err:
            if not self.zipped:
                raise TimetableError(f"cannot read {name} ({err})", path=self.where(name)) from err
            raise ArchiveError(
                f"the GTFS feed is damaged: member '{self.members[name]}' cannot be read "
                f"({type(err).__name__}: {err})",
                path=self.path,
                fix="Download the feed again; if it fails again, tell its publisher",
            ) from err
        table.columns = [str(c).strip() for c in table.columns]
        for column in REQUIRED_COLUMNS.get(name, ()):
            if column not in table.columns:
                raise MissingColumnError(
                    f"missing required column '{column}' (columns found: "
                    f"{', '.join(table.columns)})",
                    path=self.where(name),
                    column=column,
                    fix="GTFS requires it; check the file's header row",
                )
        for column in table.columns:
            table[column] = table[column].str.strip()
        return table

    def _parse(self, source: str | IO[bytes], name: str) -> pd.DataFrame:
        try:
            return pd.read_csv(
                source,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8-sig",
                skipinitialspace=True,
            )
        except pd.errors.EmptyDataError as err:
            raise TimetableError(
                "the file is empty", path=self.where(name), fix="Give a header row"
            ) from err
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise TimetableError(
                f"cannot read this file as CSV ({err})", path=self.where(name)
            ) from err


def _looks_zipped(path: Path) -> bool:
    """A zip archive by its first bytes (even a damaged one), or by zipfile's own test."""
    try:
        with path.open("rb") as stream:
            start = stream.read(4)
    except OSError:
        return False
    return start.startswith(b"PK") or zipfile.is_zipfile(path)


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InputError(f"'{value}' is not a date", fix="Give the date as YYYY-MM-DD")


def _gtfs_seconds(values: pd.Series, *, where: str, column: str) -> FloatArray:
    """Seconds after midnight from GTFS ``H:MM:SS`` times (hours may pass 24); NaN if blank."""
    parts = values.str.extract(_TIME_RE)
    check_rows(
        values,
        values.notna() & parts[0].isna(),
        lambda pos: f"'{values.iloc[pos]}' is not a time",
        column=column,
        fix="GTFS times are HH:MM:SS, with hours past 24 for trips after midnight",
        error=TimetableError,
        path=where,
    )
    numbers = parts.astype(float)
    return (numbers[0] * 3600 + numbers[1] * 60 + numbers[2]).to_numpy(dtype=float)


def _integers(values: pd.Series, *, where: str, column: str) -> IntArray:
    numbers = pd.to_numeric(values, errors="coerce")
    check_rows(
        values,
        numbers.isna() | (numbers != numbers.round()),
        lambda pos: f"'{values.iloc[pos]}' is not a whole number",
        column=column,
        error=TimetableError,
        path=where,
    )
    return numbers.to_numpy(dtype=np.int64)


def _gtfs_dates(values: pd.Series, *, where: str, column: str) -> pd.Series:
    dates = pd.to_datetime(values, format="%Y%m%d", errors="coerce")
    check_rows(
        values,
        dates.isna(),
        lambda pos: f"'{values.iloc[pos]}' is not a date",
        column=column,
        fix="GTFS dates are YYYYMMDD",
        error=TimetableError,
        path=where,
    )
    return dates.dt.date


def _services_on(
    day: dt.date, calendar: pd.DataFrame | None, calendar_dates: pd.DataFrame | None
) -> set[str]:
    """Service ids running on ``day``: calendar rows, plus additions, less removals."""
    running: set[str] = set()
    if calendar is not None and len(calendar):
        weekday = WEEKDAYS[day.weekday()]
        runs = (
            (calendar["start_date"] <= day)
            & (calendar["end_date"] >= day)
            & (calendar[weekday] == "1")
        )
        running = set(calendar.loc[runs, "service_id"])
    if calendar_dates is not None and len(calendar_dates):
        today = calendar_dates[calendar_dates["date"] == day]
        running |= set(today.loc[today["exception_type"] == "1", "service_id"])
        running -= set(today.loc[today["exception_type"] == "2", "service_id"])
    return running


def _read_calendars(feed: _Feed) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    if not feed.has("calendar.txt") and not feed.has("calendar_dates.txt"):
        raise TimetableError(
            "the GTFS feed has neither calendar.txt nor calendar_dates.txt",
            path=feed.path,
            fix="A GTFS feed needs at least one of them to say which days trips run",
        )
    calendar = calendar_dates = None
    if feed.has("calendar.txt"):
        calendar = feed.read("calendar.txt")
        where = feed.where("calendar.txt")
        for column in ("start_date", "end_date"):
            calendar[column] = _gtfs_dates(calendar[column], where=where, column=column)
    if feed.has("calendar_dates.txt"):
        calendar_dates = feed.read("calendar_dates.txt")
        where = feed.where("calendar_dates.txt")
        calendar_dates["date"] = _gtfs_dates(calendar_dates["date"], where=where, column="date")
        kinds = calendar_dates["exception_type"]
        check_rows(
            kinds,
            ~kinds.isin(["1", "2"]),
            lambda pos: f"exception_type '{kinds.iloc[pos]}' is not 1 or 2",
            column="exception_type",
            fix="1 adds the service on the date, 2 removes it",
            error=TimetableError,
            path=where,
        )
    return calendar, calendar_dates


def _read_stop_times(feed: _Feed) -> pd.DataFrame:
    """Stop times in trip and sequence order, with every time filled in."""
    raw = feed.read("stop_times.txt")
    where = feed.where("stop_times.txt")
    arrival = _gtfs_seconds(raw["arrival_time"], where=where, column="arrival_time")
    departure = _gtfs_seconds(raw["departure_time"], where=where, column="departure_time")
    table = pd.DataFrame(
        {
            "trip_id": raw["trip_id"],
            "stop_id": raw["stop_id"],
            "stop_sequence": _integers(raw["stop_sequence"], where=where, column="stop_sequence"),
            "arrival": np.where(np.isnan(arrival), departure, arrival),
            "departure": np.where(np.isnan(departure), arrival, departure),
            "pickup": raw.get("pickup_type", pd.Series("0", index=raw.index)).fillna("0") != "1",
            "dropoff": raw.get("drop_off_type", pd.Series("0", index=raw.index)).fillna("0") != "1",
            "row": np.arange(len(raw)) + 2,
        }
    )
    for column in ("trip_id", "stop_id"):

        def blank(_pos: int, column: str = column) -> str:
            return f"blank {column}"

        check_rows(
            table,
            table[column].isna(),
            blank,
            column=column,
            error=TimetableError,
            path=where,
        )
    table = table.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    first = ~table["trip_id"].duplicated(keep="first")
    last = ~table["trip_id"].duplicated(keep="last")
    untimed_end = (first | last) & table["arrival"].isna()
    if untimed_end.any():
        pos = int(np.flatnonzero(untimed_end.to_numpy())[0])
        raise TimetableError(
            f"trip '{table['trip_id'].iloc[pos]}' has no time at its first or last stop",
            path=where,
            row=int(table["row"].iloc[pos]),
            column="arrival_time",
            fix="GTFS requires times at the first and last stop of every trip",
        )
    if table["arrival"].isna().any():
        n = int(table["arrival"].isna().sum())
        logger.info("%s: %d stop times without a time, interpolated by position", where, n)
        # first and last stops of every trip are timed, so interpolation stays inside trips
        table["arrival"] = table["arrival"].interpolate(limit_area="inside")
        table["departure"] = table["departure"].fillna(table["arrival"])
    return table.drop(columns="row")


@functools.lru_cache(maxsize=1)
def _to_bng() -> Transformer:
    return Transformer.from_crs(settings.LONLAT_CRS, settings.MEASURE_CRS, always_xy=True)


def _project(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x, y = _to_bng().transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _hops(
    stop_times: pd.DataFrame, stop_index: IntArray, usable: BoolArray
) -> tuple[IntArray, IntArray, FloatArray, npt.NDArray[Any]]:
    """Consecutive calls at usable stops on each trip: (from, to, seconds, trip id)."""
    keep = usable[stop_index]
    idx = stop_index[keep]
    trips = stop_times["trip_id"].to_numpy()[keep]
    dep = stop_times["departure"].to_numpy(dtype=float)[keep]
    arr = stop_times["arrival"].to_numpy(dtype=float)[keep]
    same = trips[1:] == trips[:-1]
    return idx[:-1][same], idx[1:][same], arr[1:][same] - dep[:-1][same], trips[:-1][same]


def check_stop_positions(
    stops: pd.DataFrame,
    stop_times: pd.DataFrame,
    *,
    max_speed_kmh: float = settings.GTFS_MAX_SPEED_KMH,
    far_km: float = settings.GTFS_FAR_KM,
    placeholders: Sequence[tuple[float, float]] = settings.GTFS_PLACEHOLDER_POSITIONS,
) -> pd.DataFrame:
    """Find stops whose positions cannot be right, and decide which to trust.

    A stop is not trusted if it has no position, lies within about 100 m of a
    placeholder position, lies outside Great Britain, or is blamed for
    impossibly fast hops: buses between consecutive stops faster than
    ``max_speed_kmh`` in a straight line (a hop timetabled at 0 minutes counts
    as 1 minute). Blame goes, one stop at a time, to the stop with the largest
    share of fast hops (at least half of its hops), and the hops are measured
    again without it, until no fast hop is left or none can be blamed. Stops
    further than ``far_km`` from the median stop position are reported but kept
    unless they fail another check.

    Parameters
    ----------
    stops
        ``stop_id``, ``stop_name``, ``lon``, ``lat`` (NaN where missing).
    stop_times
        ``trip_id``, ``stop_id``, ``arrival``, ``departure`` (seconds), in trip
        and sequence order.
    max_speed_kmh
        Fastest plausible straight-line bus speed between consecutive stops.
    far_km
        Distance from the median stop position beyond which stops are reported.
    placeholders
        (lat, lon) positions that mean "position unknown".

    Returns
    -------
    pandas.DataFrame
        ``stops`` plus ``x``, ``y`` (EPSG:27700), ``km_from_median``,
        ``fast_hops`` (timetabled hops to or from the stop above the speed
        limit, measured with the stop's own position), ``max_speed_kmh``
        (fastest of them), ``trips_affected``, ``trusted`` and ``problem``
        (empty when none).
    """
    out = stops.reset_index(drop=True).copy()
    lon = out["lon"].to_numpy(dtype=float)
    lat = out["lat"].to_numpy(dtype=float)
    problem = np.full(len(out), "", dtype=object)
    trusted = np.ones(len(out), dtype=bool)

    missing = np.isnan(lon) | np.isnan(lat)
    problem[missing] = "no position"
    for p_lat, p_lon in placeholders:
        at = (
            ~missing
            & (np.abs(lat - p_lat) <= _PLACEHOLDER_DEG)
            & (np.abs(lon - p_lon) <= _PLACEHOLDER_DEG)
        )
        problem[at] = f"placeholder position ({p_lat:g}, {p_lon:g})"
        trusted &= ~at
    outside = ~missing & ~(
        (lon >= GB_LON[0]) & (lon <= GB_LON[1]) & (lat >= GB_LAT[0]) & (lat <= GB_LAT[1])
    )
    problem[outside & (problem == "")] = "outside Great Britain"
    trusted &= ~missing & ~outside

    x = np.full(len(out), np.nan)
    y = np.full(len(out), np.nan)
    if (~missing).any():
        x[~missing], y[~missing] = _project(lon[~missing], lat[~missing])
    # inside the box but off Great Britain's real outline (Northern Ireland, Man, the sea)
    beyond = ~missing & ~outside & ~in_great_britain(x, y)
    problem[beyond & (problem == "")] = "outside Great Britain"
    trusted &= ~beyond
    out["x"], out["y"] = x, y
    km_from_median = np.full(len(out), np.nan)
    if trusted.any():
        mx, my = np.median(x[trusted]), np.median(y[trusted])
        km_from_median = np.hypot(x - mx, y - my) / 1000.0
    out["km_from_median"] = np.round(km_from_median, 1)

    position = pd.Series(np.arange(len(out)), index=out["stop_id"].to_numpy())
    stop_index = position.reindex(stop_times["stop_id"].to_numpy()).to_numpy()
    known = ~np.isnan(stop_index)
    st = stop_times[known].reset_index(drop=True)
    stop_index = stop_index[known].astype(np.int64)
    limit_ms = max_speed_kmh / 3.6
    unexplained = np.zeros(len(out), dtype=np.int64)  # fast hops left when none can be blamed
    for _ in range(len(out)):
        a, b, seconds, _ = _hops(st, stop_index, trusted)
        speed = np.hypot(x[a] - x[b], y[a] - y[b]) / np.maximum(seconds, _MIN_HOP_S)
        fast = speed > limit_ms
        if not fast.any():
            break
        hops = np.bincount(a, minlength=len(out)) + np.bincount(b, minlength=len(out))
        n_fast = np.bincount(a[fast], minlength=len(out)) + np.bincount(b[fast], minlength=len(out))
        share = np.divide(n_fast, hops, out=np.zeros(len(out)), where=hops > 0)
        blameable = (share >= _BLAME_SHARE) & trusted
        if not blameable.any():
            unexplained = n_fast
            break
        order = np.lexsort((n_fast, share))  # last = largest share, then most fast hops
        worst = int([i for i in order if blameable[i]][-1])
        trusted[worst] = False
        problem[worst] = (
            f"buses to and from it would be faster than {max_speed_kmh:g} km/h "
            f"({n_fast[worst]} of {hops[worst]} hops)"
        )

    # describe every stop's fast hops with its own position, trusted or not
    a, b, seconds, trip_of_hop = _hops(st, stop_index, ~missing)
    speed_kmh = np.hypot(x[a] - x[b], y[a] - y[b]) / np.maximum(seconds, _MIN_HOP_S) * 3.6
    fast = speed_kmh > max_speed_kmh
    fast_hops = np.bincount(a[fast], minlength=len(out)) + np.bincount(b[fast], minlength=len(out))
    top = np.zeros(len(out))
    np.maximum.at(top, a[fast], speed_kmh[fast])
    np.maximum.at(top, b[fast], speed_kmh[fast])
    hop_trips = pd.DataFrame(
        {"stop": np.concatenate([a[fast], b[fast]]), "trip": np.tile(trip_of_hop[fast], 2)}
    )
    trips_affected = (
        hop_trips.groupby("stop")["trip"].nunique().reindex(range(len(out)), fill_value=0)
    )
    out["fast_hops"] = fast_hops
    out["max_speed_kmh"] = np.where(fast_hops > 0, np.round(top), np.nan)
    out["trips_affected"] = trips_affected.to_numpy()

    for i in np.flatnonzero((unexplained > 0) & trusted & (problem == "")):
        problem[i] = (
            f"{unexplained[i]} hop(s) faster than {max_speed_kmh:g} km/h, but most of its "
            "hops are plausible: kept"
        )
    far = trusted & (km_from_median > far_km) & (problem == "")
    for i in np.flatnonzero(far):
        problem[i] = (
            f"{km_from_median[i]:.0f} km from the feed's median stop; timetable speeds "
            "plausible: kept"
        )
    out["trusted"] = trusted
    out["problem"] = problem.astype(str)
    return out


def load_gtfs(
    path: str | Path,
    *,
    date: dt.date | str,
    name: str | None = None,
    max_speed_kmh: float = settings.GTFS_MAX_SPEED_KMH,
    far_km: float = settings.GTFS_FAR_KM,
) -> Timetable:
    """Read a GTFS feed and keep the trips that run on ``date``.

    Parameters
    ----------
    path
        A GTFS zip, or the folder it unpacks to.
    date
        The day to plan journeys for (``datetime.date`` or ``YYYY-MM-DD``).
    name
        The feed's name in captions; its file or folder name by default.
    max_speed_kmh, far_km
        Stop-position checks, see :func:`check_stop_positions`.

    Returns
    -------
    Timetable
        With the stops that cannot be trusted listed in ``stop_checks``.

    Raises
    ------
    TimetableError
        If a required file is missing, a time, date or number cannot be read
        (naming file, row and column), or no trip runs on ``date``.
    MissingColumnError
        If a required column is missing, naming the file and column.
    """
    path = Path(path)
    day = _as_date(date)
    feed = _Feed(path)
    feed_name = name or (path.stem if path.is_file() else path.name)

    raw_stops = feed.read("stops.txt")
    where = feed.where("stops.txt")
    check_rows(
        raw_stops,
        raw_stops["stop_id"].duplicated(),
        lambda pos: f"stop_id '{raw_stops['stop_id'].iloc[pos]}' appears twice",
        column="stop_id",
        error=TimetableError,
        path=where,
    )
    stops = pd.DataFrame(
        {
            "stop_id": raw_stops["stop_id"],
            "stop_name": raw_stops.get("stop_name", raw_stops["stop_id"]).fillna(""),
            "lon": pd.to_numeric(raw_stops["stop_lon"], errors="coerce"),
            "lat": pd.to_numeric(raw_stops["stop_lat"], errors="coerce"),
        }
    )
    routes = feed.read("routes.txt")
    trips = feed.read("trips.txt")
    check_rows(
        trips,
        trips["trip_id"].duplicated(),
        lambda pos: f"trip_id '{trips['trip_id'].iloc[pos]}' appears twice",
        column="trip_id",
        error=TimetableError,
        path=feed.where("trips.txt"),
    )
    stop_times = _read_stop_times(feed)
    orphans = set(stop_times["trip_id"]) - set(trips["trip_id"])
    if orphans:
        logger.warning(
            "%s: %d trip(s) in stop_times.txt are not in trips.txt, so their days are "
            "unknown; left out (%s)",
            feed.where("stop_times.txt"),
            len(orphans),
            ", ".join(sorted(orphans)[:5]),
        )
    calendar, calendar_dates = _read_calendars(feed)

    unknown = sorted(set(stop_times["stop_id"]) - set(stops["stop_id"]))
    if unknown:
        logger.warning(
            "%s: %d stop(s) in stop_times.txt are not in stops.txt (%s); they have no "
            "position and are not trusted",
            feed.where("stop_times.txt"),
            len(unknown),
            ", ".join(unknown[:5]),
        )
        stops = pd.concat(
            [
                stops,
                pd.DataFrame({"stop_id": unknown, "stop_name": "", "lon": np.nan, "lat": np.nan}),
            ],
            ignore_index=True,
        )
    checked = check_stop_positions(stops, stop_times, max_speed_kmh=max_speed_kmh, far_km=far_km)
    checked.loc[checked["stop_id"].isin(unknown), "problem"] = "not in stops.txt"
    checks = checked[checked["problem"] != ""].reset_index(drop=True)
    for row in checks.itertuples():
        if not row.trusted:
            logger.warning(
                "%s: stop %s (%s) at (%s, %s) is not trusted: %s", where, row.stop_id,
                row.stop_name, row.lat, row.lon, row.problem,
            )  # fmt: skip
    stops_table = checked[["stop_id", "stop_name", "lon", "lat", "x", "y", "trusted", "problem"]]

    names = routes.get("route_short_name", pd.Series(pd.NA, index=routes.index)).fillna(
        routes.get("route_long_name", pd.Series("", index=routes.index))
    )
    route_names = dict(zip(routes["route_id"], names.fillna(routes["route_id"]), strict=True))
    today = _services_on(day, calendar, calendar_dates)
    yesterday = _services_on(day - dt.timedelta(days=1), calendar, calendar_dates)
    runs_today = trips[trips["service_id"].isin(today)].assign(day_offset=0)
    late = stop_times.groupby("trip_id")["arrival"].max()
    past_midnight = set(late.index[late >= _DAY_S])
    runs_before = trips[
        trips["service_id"].isin(yesterday) & trips["trip_id"].isin(past_midnight)
    ].assign(day_offset=-1)
    if len(runs_today) == 0:
        span = ""
        if calendar is not None and len(calendar):
            span = (
                f"; its calendar runs from {min(calendar['start_date'])} to "
                f"{max(calendar['end_date'])}"
            )
        raise TimetableError(
            f"no trips run on {day:%A %d %B %Y} in this GTFS feed",
            path=path,
            fix=f"Choose a day the feed covers{span}",
        )
    run_trips = pd.concat([runs_today, runs_before], ignore_index=True)
    run_table = pd.DataFrame(
        {
            "run": np.arange(len(run_trips)),
            "trip_id": run_trips["trip_id"].to_numpy(),
            "route_id": run_trips["route_id"].to_numpy(),
            "route_name": run_trips["route_id"].map(route_names).fillna("").to_numpy(),
            "service_id": run_trips["service_id"].to_numpy(),
            "day_offset": run_trips["day_offset"].to_numpy(dtype=np.int64),
            "added": False,
        }
    )
    calls = run_table[["run", "trip_id", "day_offset"]].merge(stop_times, on="trip_id")
    shift = calls["day_offset"].to_numpy() * _DAY_S
    calls["arrival"] = calls["arrival"] + shift
    calls["departure"] = calls["departure"] + shift
    calls = calls.drop(columns="day_offset").sort_values(["run", "stop_sequence"])
    n_missing = len(set(run_trips["trip_id"]) - set(stop_times["trip_id"]))
    if n_missing:
        logger.warning(
            "%s: %d running trip(s) have no stop times", feed.where("trips.txt"), n_missing
        )
    logger.info(
        "%s: %d trips run on %s (%d more from the day before run past midnight)",
        path,
        len(runs_today),
        day.isoformat(),
        len(runs_before),
    )
    return Timetable(
        name=feed_name,
        date=day,
        stops=stops_table.reset_index(drop=True),
        trips=run_table,
        stop_times=calls.reset_index(drop=True),
        stop_checks=checks[
            [
                "stop_id",
                "stop_name",
                "lon",
                "lat",
                "km_from_median",
                "fast_hops",
                "max_speed_kmh",
                "trips_affected",
                "trusted",
                "problem",
            ]
        ],
        source=str(path),
    )


# --------------------------------------------------------------------------- extra trips


def _clock_seconds(value: str | dt.time, *, what: str) -> float:
    """Seconds after midnight from ``HH:MM[:SS]`` (hours may pass 24) or a ``datetime.time``."""
    if isinstance(value, dt.time):
        return value.hour * 3600.0 + value.minute * 60.0 + value.second
    match = _CLOCK_RE.match(str(value).strip())
    if match is None:
        raise InputError(f"{what} '{value}' is not a time", fix="Give it as HH:MM, e.g. 08:30")
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600.0 + int(minutes) * 60.0 + int(seconds or 0)


def add_trips(
    timetable: Timetable,
    stops: Sequence[str | tuple[float, float] | Mapping[str, Any]],
    departures: Sequence[str | dt.time],
    *,
    running_minutes: float | Sequence[float],
    route_name: str = "scenario",
) -> Timetable:
    """A copy of ``timetable`` with extra trips along one route.

    Parameters
    ----------
    timetable
        The timetable to add to; it is not changed.
    stops
        The route's stops in order, at least two: an existing ``stop_id``, a new
        stop as ``(lon, lat)``, or a mapping with ``lon``, ``lat`` and optional
        ``stop_id`` and ``stop_name``.
    departures
        Departure times from the first stop (``HH:MM``, hours may pass 24, or
        ``datetime.time``), one trip each.
    running_minutes
        Minutes between consecutive stops: one figure for every hop, or one per
        hop. Buses call at each stop without waiting and let people on and off
        everywhere.
    route_name
        Name of the route, used in trip and new stop ids and in journey legs.

    Returns
    -------
    Timetable
        With the new trips (``added`` true) and stops (trusted).

    Raises
    ------
    InputError
        If a stop id is unknown or untrusted, a position is outside Great
        Britain, a time cannot be read, running times are negative or of the
        wrong number, or a trip id would repeat.
    """
    if len(stops) < 2:
        raise InputError(f"route '{route_name}' needs at least two stops")
    if len(departures) == 0:
        raise InputError(f"route '{route_name}' needs at least one departure time")
    hops = len(stops) - 1
    if isinstance(running_minutes, int | float):
        running = np.full(hops, float(running_minutes))
    else:
        running = np.asarray(list(running_minutes), dtype=float)
        if len(running) != hops:
            raise InputError(
                f"route '{route_name}' has {len(stops)} stops, so {hops} running times, "
                f"not {len(running)}"
            )
    if not np.isfinite(running).all() or (running < 0).any() or running.sum() <= 0:
        raise InputError(
            f"route '{route_name}': running minutes must be zero or more, and more than zero in all"
        )
    known = timetable.stops.set_index("stop_id")
    stop_ids: list[str] = []
    new_rows: list[dict[str, Any]] = []
    for number, stop in enumerate(stops, start=1):
        if isinstance(stop, str):
            stop = {"stop_id": stop}
        elif not isinstance(stop, Mapping):
            lon, lat = stop
            stop = {"lon": lon, "lat": lat}
        if "lon" not in stop and "lat" not in stop:
            stop_id = str(stop.get("stop_id", ""))
            if stop_id not in known.index:
                raise InputError(
                    f"route '{route_name}' stop {number}: stop_id '{stop_id}' is not in the "
                    "timetable",
                    fix="Give an existing stop_id, or the new stop's lon and lat",
                )
            if not bool(known.loc[stop_id, "trusted"]):
                why = str(known.loc[stop_id, "problem"])
                raise InputError(
                    f"route '{route_name}' stop {number}: stop '{stop_id}' has a position "
                    f"that cannot be trusted ({why})",
                    fix="Give the stop's lon and lat instead",
                )
            stop_ids.append(stop_id)
            continue
        try:
            lon, lat = float(stop["lon"]), float(stop["lat"])
        except (KeyError, TypeError, ValueError) as err:
            raise CoordinateError(
                f"route '{route_name}' stop {number}: needs numeric lon and lat ({err})"
            ) from err
        x, y = _project(np.array([lon]), np.array([lat]))
        in_box = GB_LON[0] <= lon <= GB_LON[1] and GB_LAT[0] <= lat <= GB_LAT[1]
        if not (in_box and in_great_britain(x, y).all()):
            raise CoordinateError(
                f"route '{route_name}' stop {number}: ({lon:g}, {lat:g}) is outside Great Britain",
                fix="Give WGS84 longitude and latitude, in that order",
            )
        stop_id = str(stop.get("stop_id") or f"{route_name}:stop{number}")
        if stop_id in known.index or stop_id in stop_ids:
            raise InputError(f"route '{route_name}' stop {number}: stop_id '{stop_id}' exists")
        new_rows.append(
            {
                "stop_id": stop_id,
                "stop_name": str(stop.get("stop_name") or f"{route_name} stop {number}"),
                "lon": lon,
                "lat": lat,
                "x": float(x[0]),
                "y": float(y[0]),
                "trusted": True,
                "problem": "",
            }
        )
        stop_ids.append(stop_id)

    offsets = np.concatenate([[0.0], np.cumsum(running) * 60.0])
    first_run = int(timetable.trips["run"].max()) + 1 if len(timetable.trips) else 0
    trip_rows = []
    call_rows = []
    for k, departure in enumerate(departures):
        start = _clock_seconds(departure, what=f"route '{route_name}' departure")
        trip_id = f"{route_name}:{k + 1}"
        if trip_id in set(timetable.trips["trip_id"]):
            raise InputError(
                f"trip id '{trip_id}' is already in the timetable", fix="Rename the route"
            )
        run = first_run + k
        trip_rows.append(
            {
                "run": run,
                "trip_id": trip_id,
                "route_id": route_name,
                "route_name": route_name,
                "service_id": "added",
                "day_offset": 0,
                "added": True,
            }
        )
        for seq, (stop_id, offset) in enumerate(zip(stop_ids, offsets, strict=True)):
            call_rows.append(
                {
                    "run": run,
                    "trip_id": trip_id,
                    "stop_id": stop_id,
                    "stop_sequence": seq,
                    "arrival": start + offset,
                    "departure": start + offset,
                    "pickup": True,
                    "dropoff": True,
                }
            )
    new_stops = pd.DataFrame(new_rows, columns=timetable.stops.columns)
    new_calls = pd.DataFrame(call_rows).astype(timetable.stop_times.dtypes.to_dict())
    new_trips = pd.DataFrame(trip_rows).astype(timetable.trips.dtypes.to_dict())
    return dataclasses.replace(
        timetable,
        stops=pd.concat([timetable.stops, new_stops], ignore_index=True)
        if len(new_stops)
        else timetable.stops,
        trips=pd.concat([timetable.trips, new_trips], ignore_index=True),
        stop_times=pd.concat([timetable.stop_times, new_calls], ignore_index=True),
    )


# --------------------------------------------------------------------------- journeys


@dataclass(frozen=True)
class _Connections:
    """The day's connections in scan order (latest departure first), and walking links."""

    dep_stop: list[int]
    arr_stop: list[int]
    dep: list[float]
    arr: list[float]
    run: list[int]
    pickup: list[bool]
    dropoff: list[bool]
    n_runs: int
    stop_ids: list[str]
    route_of_run: list[str]
    trip_of_run: list[str]
    tree: Any
    tree_stops: IntArray
    footpaths: list[list[tuple[int, float]]]
    xy: FloatArray


@dataclass(frozen=True)
class _Journey:
    """The journey chosen for one origin and destination (times NaN when there is none)."""

    from_id: Any
    to_id: Any
    departure: float = math.nan
    arrival: float = math.nan
    boardings: int = 0
    legs: tuple[dict[str, Any], ...] = ()

    @property
    def found(self) -> bool:
        return not math.isnan(self.departure)


def _walk_leg(
    from_stop: str | None, to_stop: str | None, start: float, end: float
) -> dict[str, Any]:
    return {
        "kind": "walk",
        "from_stop_id": from_stop,
        "to_stop_id": to_stop,
        "start": start,
        "end": end,
        "route": None,
        "trip_id": None,
    }


# a profile entry: (time to be at the stop, arrival at destination, boardings,
# boarding connection, alighting connection, next stop or -1, entry index there)
_Entry = tuple[float, float, int, int, int, int, int]


def _clock(seconds: float) -> str:
    """``HH:MM:SS`` (hours past 24 after midnight; a minus sign before midnight)."""
    total = round(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


class TimetableTravelTimes(TravelTimes):
    """Public-transport minutes from a timetable, for journeys arriving by a deadline.

    Parameters
    ----------
    timetable
        One day's timetable, from :func:`load_gtfs` (and :func:`add_trips`).
    arrive_by
        Journeys must arrive by this time (``HH:MM``).
    max_walk_m
        Longest walk (metres walked) to the first stop, from the last stop, or
        straight from origin to destination.
    transfer_walk_m
        Longest walk (metres walked) between stops to change.
    min_transfer_minutes
        Least time to change, even at the same stop.
    max_journey_minutes
        Longest journey, leaving home to arriving.
    walk_speed_kmh
        Walking speed.
    walk_detour
        Walked distance over straight-line distance.

    Notes
    -----
    See the module documentation for what counts as a journey and how the
    latest-departure journeys are found.
    """

    mode = "pt"

    def __init__(
        self,
        timetable: Timetable,
        *,
        arrive_by: str | dt.time = settings.PT_ARRIVE_BY,
        max_walk_m: float = settings.PT_MAX_WALK_M,
        transfer_walk_m: float = settings.PT_TRANSFER_WALK_M,
        min_transfer_minutes: float = settings.PT_MIN_TRANSFER_MINUTES,
        max_journey_minutes: float = settings.PT_MAX_JOURNEY_MINUTES,
        walk_speed_kmh: float = settings.WALK_SPEED_KMH,
        walk_detour: float = WALK_DETOUR,
    ) -> None:
        self.timetable = timetable
        self.deadline = _clock_seconds(arrive_by, what="arrive_by")
        checks = {
            "max_walk_m": max_walk_m,
            "transfer_walk_m": transfer_walk_m,
            "min_transfer_minutes": min_transfer_minutes,
        }
        for label, value in checks.items():
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{label} must be zero or more, not {value}")
        for label, value in {
            "max_journey_minutes": max_journey_minutes,
            "walk_speed_kmh": walk_speed_kmh,
        }.items():
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"{label} must be more than zero, not {value}")
        if not (math.isfinite(walk_detour) and walk_detour >= 1):
            raise InputError(f"walk_detour must be at least 1, not {walk_detour}")
        self.max_walk_m = float(max_walk_m)
        self.transfer_walk_m = float(transfer_walk_m)
        self.min_transfer_minutes = float(min_transfer_minutes)
        self.max_journey_minutes = float(max_journey_minutes)
        self.walk_speed_kmh = float(walk_speed_kmh)
        self.walk_detour = float(walk_detour)
        self._prepared: _Connections | None = None

    @property
    def method(self) -> str:  # type: ignore[override]
        """``gtfs:<feed name>:<date>``."""
        return f"gtfs:{self.timetable.name}:{self.timetable.date.isoformat()}"

    def describe(self) -> str:
        """Caption text: the feed, date and deadline, the walking assumptions and untrusted stops."""
        tt = self.timetable
        added = int(tt.trips["added"].sum())
        text = (
            f"Public-transport times from the timetables in GTFS feed {tt.name} for "
            f"{tt.date:%A} {tt.date.day} {tt.date:%B %Y}, for journeys arriving by "
            f"{_clock(self.deadline)[:5]} and leaving as late as possible (waiting at home is "
            f"not counted), at most {self.max_journey_minutes:g} min from leaving home"
        )
        if added:
            text += f", with {added} added trip(s)"
        text += (
            f". Walks are straight-line distance × {self.walk_detour:g} at "
            f"{self.walk_speed_kmh:g} km/h (no walking network): at most {self.max_walk_m:,.0f} m "
            f"to or from a stop (or straight to the destination), at most "
            f"{self.transfer_walk_m:,.0f} m between stops, and at least "
            f"{self.min_transfer_minutes:g} min to change."
        )
        bad = tt.untrusted_stops
        if len(bad):
            listed = "; ".join(
                f"{r.stop_id} {r.stop_name} ({r.problem})" for r in bad.head(5).itertuples()
            )
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            text += (
                f" {len(bad)} stop(s) with impossible positions are not used for boarding, "
                f"alighting or walking (their buses still run through them): {listed}{more}."
            )
        return text

    # ------------------------------------------------------------------ preparation

    def _walk_seconds(self, straight_m: FloatArray | float) -> FloatArray:
        """Walking seconds for straight-line metres, to the nearest second like timetables."""
        seconds = (
            np.asarray(straight_m, dtype=float) * self.walk_detour / (self.walk_speed_kmh / 3.6)
        )
        return np.round(seconds)

    def _prepare(self) -> _Connections:
        if self._prepared is not None:
            return self._prepared
        tt = self.timetable
        stops = tt.stops
        index = pd.Series(np.arange(len(stops)), index=stops["stop_id"].to_numpy())
        trusted = stops["trusted"].to_numpy(dtype=bool)
        calls = tt.stop_times.sort_values(["run", "stop_sequence"], kind="stable")
        stop_idx = index.reindex(calls["stop_id"].to_numpy()).to_numpy()
        if np.isnan(stop_idx).any():
            raise TimetableError("the timetable has stop times at stops it does not list")
        stop_idx = stop_idx.astype(np.int64)
        runs = calls["run"].to_numpy(dtype=np.int64)
        same = runs[1:] == runs[:-1]
        dep_stop = stop_idx[:-1][same]
        arr_stop = stop_idx[1:][same]
        dep = calls["departure"].to_numpy(dtype=float)[:-1][same]
        arr = calls["arrival"].to_numpy(dtype=float)[1:][same]
        run = runs[:-1][same]
        seq = np.arange(len(calls) - 1)[same]
        pickup = calls["pickup"].to_numpy(dtype=bool)[:-1][same] & trusted[dep_stop]
        dropoff = calls["dropoff"].to_numpy(dtype=bool)[1:][same] & trusted[arr_stop]
        keep = (arr <= self.deadline) & (arr >= dep)
        order = np.lexsort((-seq[keep], -arr[keep], -dep[keep]))
        n_bad = int((arr < dep).sum())
        if n_bad:
            logger.warning("%s: %d hop(s) arrive before they leave; ignored", tt.name, n_bad)

        trusted_idx = np.flatnonzero(trusted)
        xy = stops[["x", "y"]].to_numpy(dtype=float)
        tree = cKDTree(xy[trusted_idx]) if len(trusted_idx) else None
        min_transfer = self.min_transfer_minutes * 60.0
        footpaths: list[list[tuple[int, float]]] = [[] for _ in range(len(stops))]
        for i in trusted_idx:
            footpaths[int(i)].append((int(i), min_transfer))
        if tree is not None and self.transfer_walk_m > 0:
            pairs = tree.query_pairs(self.transfer_walk_m / self.walk_detour, output_type="ndarray")
            if len(pairs):
                a = trusted_idx[pairs[:, 0]]
                b = trusted_idx[pairs[:, 1]]
                seconds = np.maximum(self._walk_seconds(np.hypot(*(xy[a] - xy[b]).T)), min_transfer)
                for i, j, s in zip(a.tolist(), b.tolist(), seconds.tolist(), strict=True):
                    footpaths[i].append((j, s))
                    footpaths[j].append((i, s))
        trips = tt.trips.set_index("run").sort_index()
        n_runs = int(trips.index.max()) + 1 if len(trips) else 0
        route_of_run = [""] * n_runs
        trip_of_run = [""] * n_runs
        for r, route, trip in zip(trips.index, trips["route_name"], trips["trip_id"], strict=True):
            route_of_run[int(r)] = str(route)
            trip_of_run[int(r)] = str(trip)
        self._prepared = _Connections(
            dep_stop=dep_stop[keep][order].tolist(),
            arr_stop=arr_stop[keep][order].tolist(),
            dep=dep[keep][order].tolist(),
            arr=arr[keep][order].tolist(),
            run=run[keep][order].tolist(),
            pickup=pickup[keep][order].tolist(),
            dropoff=dropoff[keep][order].tolist(),
            n_runs=n_runs,
            stop_ids=stops["stop_id"].astype(str).tolist(),
            route_of_run=route_of_run,
            trip_of_run=trip_of_run,
            tree=tree,
            tree_stops=trusted_idx,
            footpaths=footpaths,
            xy=xy,
        )
        return self._prepared

    def _near(self, net: _Connections, xy: FloatArray) -> list[list[tuple[int, float]]]:
        """For each point, the trusted stops within ``max_walk_m`` walked and the walk (s)."""
        if net.tree is None or len(xy) == 0:
            return [[] for _ in range(len(xy))]
        hits = net.tree.query_ball_point(xy, self.max_walk_m / self.walk_detour)
        out = []
        for point, found in zip(xy, hits, strict=True):
            stops = net.tree_stops[np.asarray(found, dtype=np.int64)]
            xy_stops = np.column_stack(
                [
                    self.timetable.stops["x"].to_numpy()[stops],
                    self.timetable.stops["y"].to_numpy()[stops],
                ]
            )
            seconds = self._walk_seconds(np.hypot(*(xy_stops - point).T))
            out.append(list(zip(stops.tolist(), seconds.tolist(), strict=True)))
        return out

    # ------------------------------------------------------------------ the scan

    def _scan(self, net: _Connections, egress: list[float]) -> list[list[_Entry]]:
        """Reverse profile connection scan towards one destination; the stops' profiles."""
        deadline = self.deadline
        n_stops = len(net.stop_ids)
        entries: list[list[_Entry]] = [[] for _ in range(n_stops)]
        keys: list[list[float]] = [[] for _ in range(n_stops)]  # minus entry times, ascending
        inf = math.inf
        trip_arrival = [inf] * net.n_runs
        trip_boardings = [0] * net.n_runs
        trip_exit: list[tuple[int, int, int] | None] = [None] * net.n_runs
        footpaths = net.footpaths
        dep_stop, arr_stop, dep, arr = net.dep_stop, net.arr_stop, net.dep, net.arr
        run, pickup, dropoff = net.run, net.pickup, net.dropoff
        for i in range(len(dep)):
            r = run[i]
            if dropoff[i]:
                v = arr_stop[i]
                a = arr[i]
                best_a = trip_arrival[r]
                best_n = trip_boardings[r]
                best: tuple[int, int, int] | None = None
                out = a + egress[v]
                if out <= deadline and (out < best_a or (out == best_a and best_n > 0)):
                    best_a, best_n, best = out, 0, (i, -1, -1)
                for w, change in footpaths[v]:
                    key = keys[w]
                    if not key:
                        continue
                    k = bisect.bisect_right(key, -(a + change)) - 1
                    if k < 0:
                        continue
                    entry = entries[w][k]
                    if entry[1] < best_a or (entry[1] == best_a and entry[2] < best_n):
                        best_a, best_n, best = entry[1], entry[2], (i, w, k)
                if best is not None:
                    trip_arrival[r] = best_a
                    trip_boardings[r] = best_n
                    trip_exit[r] = best
            exit_ = trip_exit[r]
            if exit_ is not None and pickup[i]:
                u = dep_stop[i]
                here = entries[u]
                arrival = trip_arrival[r]
                n = trip_boardings[r] + 1
                if (
                    not here
                    or arrival < here[-1][1]
                    or (arrival == here[-1][1] and n < here[-1][2])
                ):
                    here.append((dep[i], arrival, n, i, exit_[0], exit_[1], exit_[2]))
                    keys[u].append(-dep[i])
        return entries

    def _legs(
        self,
        net: _Connections,
        entries: list[list[_Entry]],
        stop: int,
        k: int,
        access_s: float,
        egress: list[float],
    ) -> list[dict[str, Any]]:
        """The legs of the journey boarding at ``stop`` with its profile entry ``k``."""
        ids = net.stop_ids
        legs = [_walk_leg(None, ids[stop], entries[stop][k][0] - access_s, entries[stop][k][0])]
        while True:
            entry = entries[stop][k]
            board, alight = entry[3], entry[4]
            off = net.arr_stop[alight]
            legs.append(
                {
                    "kind": "ride",
                    "from_stop_id": ids[net.dep_stop[board]],
                    "to_stop_id": ids[off],
                    "start": net.dep[board],
                    "end": net.arr[alight],
                    "route": net.route_of_run[net.run[board]],
                    "trip_id": net.trip_of_run[net.run[board]],
                }
            )
            if entry[5] < 0:
                legs.append(
                    _walk_leg(ids[off], None, net.arr[alight], net.arr[alight] + egress[off])
                )
                return legs
            stop, k = entry[5], entry[6]
            if stop != off:
                walk = float(self._walk_seconds(np.hypot(*(net.xy[off] - net.xy[stop]))))
                legs.append(_walk_leg(ids[off], ids[stop], net.arr[alight], net.arr[alight] + walk))

    def _plan(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> list[_Journey]:
        """The chosen journey for every pair, destinations outer and origins inner."""
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        net = self._prepare()
        oxy = np.column_stack([origins.geometry.x, origins.geometry.y]).astype(float)
        dxy = np.column_stack([destinations.geometry.x, destinations.geometry.y]).astype(float)
        access = self._near(net, oxy)
        egress_lists = self._near(net, dxy)
        for points, near, what in ((oxy, access, "origins"), (dxy, egress_lists, "destinations")):
            served = sum(1 for stops in near if stops)
            if len(points) and served < len(points) / 2:
                warnings.warn(
                    f"{self.timetable.name}: only {served} of the {len(points)} {what} are "
                    f"within {self.max_walk_m:g} m walked of a stop of the timetable; the others "
                    "can have no public-transport journey. Check that the feed covers the study "
                    "area",
                    InputWarning,
                    stacklevel=3,
                )
        max_journey = self.max_journey_minutes * 60.0
        max_walk_straight = self.max_walk_m / self.walk_detour
        deadline = self.deadline
        results: list[_Journey] = []
        origin_ids = origins["id"].tolist()
        for d, to_id in enumerate(destinations["id"].tolist()):
            egress = [math.inf] * len(net.stop_ids)
            for s, seconds in egress_lists[d]:
                egress[s] = seconds
            entries = self._scan(net, egress)
            direct_m = np.hypot(*(oxy - dxy[d]).T) if len(oxy) else np.zeros(0)
            for o, from_id in enumerate(origin_ids):
                # (departure, -arrival, -boardings) is maximised
                best_key: tuple[float, float, int] | None = None
                best_legs: list[dict[str, Any]] = []
                if direct_m[o] <= max_walk_straight:
                    walk = float(self._walk_seconds(direct_m[o]))
                    if walk <= max_journey:
                        best_key = (deadline - walk, -deadline, 0)
                        best_legs = [_walk_leg(None, None, deadline - walk, deadline)]
                chosen: tuple[int, int, float] | None = None
                for stop, access_s in access[o]:
                    here = entries[stop]
                    for k, entry in enumerate(here):
                        leave = entry[0] - access_s
                        if entry[1] - leave <= max_journey:
                            # entries with the same time follow, each arriving earlier
                            while k + 1 < len(here) and here[k + 1][0] == entry[0]:
                                k += 1
                                entry = here[k]
                            key = (leave, -entry[1], -entry[2])
                            if best_key is None or key > best_key:
                                best_key = key
                                chosen = (stop, k, access_s)
                            break
                if best_key is None:
                    results.append(_Journey(from_id, to_id))
                    continue
                if chosen is not None:
                    best_legs = self._legs(net, entries, chosen[0], chosen[1], chosen[2], egress)
                results.append(
                    _Journey(
                        from_id,
                        to_id,
                        departure=best_key[0],
                        arrival=-best_key[1],
                        boardings=-best_key[2],
                        # walks of no length (a point at the stop) are left out
                        legs=tuple(leg for leg in best_legs if leg["end"] - leg["start"] >= 0.5),
                    )
                )
        return results

    # ------------------------------------------------------------------ public tables

    def journeys(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """The latest-departure journey from every origin to every destination.

        Returns
        -------
        pandas.DataFrame
            One row per pair, origins outer and destinations inner:
            ``from_id``, ``to_id``, ``minutes`` (arrival minus departure, NaN
            where no journey), ``method``, ``departure`` and ``arrival``
            (``HH:MM:SS``), ``early_minutes`` (from arrival to the deadline),
            ``boardings`` (0 for a walk), ``first_stop_id``,
            ``first_stop_name``, ``last_stop_id`` and ``routes`` (route names
            in order, ``" > "`` between). ``attrs["untrusted_stops"]`` lists
            the stops not used.
        """
        rows = []
        names = dict(
            zip(self.timetable.stops["stop_id"], self.timetable.stops["stop_name"], strict=True)
        )
        by_pair = {(j.from_id, j.to_id): j for j in self._plan(origins, destinations)}
        for from_id in origins["id"].tolist():
            for to_id in destinations["id"].tolist():
                journey = by_pair[(from_id, to_id)]
                row: dict[str, Any] = {
                    "from_id": from_id,
                    "to_id": to_id,
                    "minutes": np.nan,
                    "method": self.method,
                }
                if journey.found:
                    rides = [leg for leg in journey.legs if leg["kind"] == "ride"]
                    first = rides[0]["from_stop_id"] if rides else None
                    row |= {
                        "minutes": round((journey.arrival - journey.departure) / 60.0, 2),
                        "departure": _clock(journey.departure),
                        "arrival": _clock(journey.arrival),
                        "early_minutes": round((self.deadline - journey.arrival) / 60.0, 2),
                        "boardings": journey.boardings,
                        "first_stop_id": first,
                        "first_stop_name": names.get(first) if first else None,
                        "last_stop_id": rides[-1]["to_stop_id"] if rides else None,
                        "routes": " > ".join(str(leg["route"]) for leg in rides) if rides else None,
                    }
                rows.append(row)
        table = pd.DataFrame(rows, columns=list(JOURNEY_COLUMNS))
        table["minutes"] = table["minutes"].astype(float)
        table["early_minutes"] = table["early_minutes"].astype(float)
        table["boardings"] = table["boardings"].astype("Int64")
        table.attrs["untrusted_stops"] = self.timetable.untrusted_stops["stop_id"].tolist()
        return table

    def legs(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Every leg of every journey in :meth:`journeys`, for checking and explaining them.

        Returns
        -------
        pandas.DataFrame
            ``from_id``, ``to_id``, ``leg`` (1, 2, ...), ``kind`` (``walk`` or
            ``ride``), ``from_stop_id`` and ``to_stop_id`` (missing at the
            origin and destination), ``start`` and ``end`` (``HH:MM:SS``),
            ``minutes``, ``route`` and ``trip_id`` (rides only). Pairs with no
            journey have no rows; walks of no length are left out.
        """
        rows = []
        by_pair = {(j.from_id, j.to_id): j for j in self._plan(origins, destinations)}
        for from_id in origins["id"].tolist():
            for to_id in destinations["id"].tolist():
                for number, leg in enumerate(by_pair[(from_id, to_id)].legs, start=1):
                    rows.append(
                        {
                            "from_id": from_id,
                            "to_id": to_id,
                            "leg": number,
                            **leg,
                            "start": _clock(leg["start"]),
                            "end": _clock(leg["end"]),
                            "minutes": round((leg["end"] - leg["start"]) / 60.0, 2),
                        }
                    )
        return pd.DataFrame(rows, columns=list(LEG_COLUMNS))

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Minutes from every origin to every destination (``from_id, to_id, minutes, method``)."""
        return self.journeys(origins, destinations)[list(TIME_COLUMNS)]
