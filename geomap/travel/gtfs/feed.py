"""Reading a GTFS feed and checking it: one day's :class:`Timetable`.

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
timetabled hops). An untrusted stop is reported (in a
:class:`~geomap.errors.TravelWarning`, in ``Timetable.stop_checks`` and in
:meth:`~geomap.travel.gtfs.TimetableTravelTimes.describe`) and nobody boards,
alights or walks there; the trips that call at it still run through their other
stops. Stops far from the rest of the feed are reported but kept if their
timetable speeds are plausible: long-distance coaches do reach Heathrow on time.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyproj import Transformer

from geomap import settings
from geomap.clock import parse_times
from geomap.errors import (
    ArchiveError,
    InputError,
    InputWarning,
    MissingColumnError,
    TimetableError,
    TravelWarning,
)
from geomap.io import MAX_GTFS_BYTES, ZIP_READ_ERRORS, archive_limit, check_rows, check_zip
from geomap.locations import GB_LAT, GB_LON, in_great_britain
from geomap.schema import parse_numbers

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

DAY_S = 86_400
# GTFS times are to the minute; a hop timetabled at 0 minutes is taken as 1 for speeds
_MIN_HOP_S = 60.0
# a stop is blamed for fast hops when at least this share of its hops are too fast
_BLAME_SHARE = 0.5
# a stop within this many degrees of a placeholder position is at the placeholder
_PLACEHOLDER_DEG = 0.001
# untrusted stops named in the warning about them
_LISTED = 5
# largest stop_sequence read (GTFS producers and consumers hold it in 32 bits)
_MAX_SEQUENCE = 2**31 - 1

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
        table.attrs["geomap_source"] = self.where(name)
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
    """Seconds after midnight from GTFS ``HH:MM:SS`` times (hours may pass 24); NaN if blank."""
    return parse_times(
        values,
        path=where,
        column=column,
        fix="GTFS times are HH:MM:SS, with hours past 24 for trips after midnight",
        error=TimetableError,
    )


def _stop_sequence(table: pd.DataFrame, *, where: str) -> IntArray:
    """``stop_sequence`` as whole numbers from 0 up (GTFS: a non-negative integer); none blank."""
    column = "stop_sequence"
    fix = "GTFS stop_sequence is a whole number from 0 up, increasing along each trip"
    numbers = parse_numbers(
        table,
        column,
        minimum=0,
        maximum=_MAX_SEQUENCE,
        whole=True,
        label="stop sequence",
        fix=fix,
        error=TimetableError,
    )
    check_rows(
        table,
        numbers.isna(),
        lambda _pos: "blank stop_sequence",
        column=column,
        fix=fix,
        error=TimetableError,
        path=where,
    )
    return numbers.to_numpy(dtype=np.int64)


def _degrees(table: pd.DataFrame, column: str, *, label: str) -> pd.Series:
    """A stop's ``stop_lat`` or ``stop_lon``: NaN where blank (no position).

    Any number is read, even one off Great Britain or off the globe: positions
    are judged (and untrusted stops reported) by :func:`check_stop_positions`.
    Only what is not a number at all (a word, ``inf``, ``nan``) is refused.
    """
    return parse_numbers(
        table,
        column,
        label=label,
        fix="GTFS positions are decimal degrees (WGS84), e.g. 52.0561 and -2.7306; leave "
        "both blank for a stop with no position",
        error=TimetableError,
    )


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
            "stop_sequence": _stop_sequence(raw, where=where),
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
        (a ``stop_sequence`` that is not a whole number from 0 up, a stop
        position that is a word, ``inf`` or ``nan``: naming file, row and
        column), or no trip runs on ``date``. A stop position that is a number
        but cannot be right is not refused: the stop is reported and not trusted.
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
            "lon": _degrees(raw_stops, "stop_lon", label="longitude"),
            "lat": _degrees(raw_stops, "stop_lat", label="latitude"),
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
        warnings.warn(
            f"{feed.where('stop_times.txt')}: {len(orphans)} trip(s) in stop_times.txt are not "
            f"in trips.txt, so their days are unknown; left out ({', '.join(sorted(orphans)[:5])})",
            InputWarning,
            stacklevel=2,
        )
    calendar, calendar_dates = _read_calendars(feed)

    unknown = sorted(set(stop_times["stop_id"]) - set(stops["stop_id"]))
    if unknown:
        warnings.warn(
            f"{feed.where('stop_times.txt')}: {len(unknown)} stop(s) in stop_times.txt are not "
            f"in stops.txt ({', '.join(unknown[:5])}); they have no position and are not trusted",
            TravelWarning,
            stacklevel=2,
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
    untrusted = checks[~checks["trusted"] & ~checks["stop_id"].isin(unknown)]
    if len(untrusted):
        listed = "; ".join(
            f"stop {row.stop_id} ({row.stop_name}) at ({row.lat}, {row.lon}) is not trusted: "
            f"{row.problem}"
            for row in untrusted.head(_LISTED).itertuples()
        )
        more = f"; and {len(untrusted) - _LISTED} more" if len(untrusted) > _LISTED else ""
        warnings.warn(
            f"{where}: {len(untrusted)} stop(s) have impossible positions, so nobody boards, "
            f"alights or walks there (their buses still run through them): {listed}{more}",
            TravelWarning,
            stacklevel=2,
        )
    stops_table = checked[["stop_id", "stop_name", "lon", "lat", "x", "y", "trusted", "problem"]]

    names = routes.get("route_short_name", pd.Series(pd.NA, index=routes.index)).fillna(
        routes.get("route_long_name", pd.Series("", index=routes.index))
    )
    route_names = dict(zip(routes["route_id"], names.fillna(routes["route_id"]), strict=True))
    today = _services_on(day, calendar, calendar_dates)
    yesterday = _services_on(day - dt.timedelta(days=1), calendar, calendar_dates)
    runs_today = trips[trips["service_id"].isin(today)].assign(day_offset=0)
    late = stop_times.groupby("trip_id")["arrival"].max()
    past_midnight = set(late.index[late >= DAY_S])
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
    shift = calls["day_offset"].to_numpy() * DAY_S
    calls["arrival"] = calls["arrival"] + shift
    calls["departure"] = calls["departure"] + shift
    calls = calls.drop(columns="day_offset").sort_values(["run", "stop_sequence"])
    n_missing = len(set(run_trips["trip_id"]) - set(stop_times["trip_id"]))
    if n_missing:
        warnings.warn(
            f"{feed.where('trips.txt')}: {n_missing} running trip(s) have no stop times; "
            "they carry nobody",
            InputWarning,
            stacklevel=2,
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
