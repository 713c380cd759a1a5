"""Route scenarios: what a new or changed bus route would do for post-16 access.

A scenario file (YAML) describes candidate routes::

    scenario: Market towns to Hereford's colleges
    arrive_by: "09:00"
    routes:
      - name: Bromyard - Hereford college link
        days: [mon, tue, wed, thu, fri]
        first_departure: "07:15"
        last_departure: "07:45"
        headway_minutes: 30
        speed_kmh: 40                  # or running_minutes: [12, 25]
        stops:
          - {name: Bromyard, postcode: HR7 4DP}
          - {name: Burley Gate, lon: -2.598, lat: 52.115}
          - {name: Hereford colleges, provider: "130710"}

Stops are given by ``postcode``, ``lon``/``lat``, ``easting``/``northing`` or
``provider`` (a provider id). A stop not at a provider is located and checked
as every other point is (:func:`geomap.locations.locate_point`: in Great
Britain, latitude and longitude not swapped, a postcode in the lookup given to
:func:`load_scenario`), and must lie within :data:`STOP_BUFFER_KM` of the
planning area. In-vehicle time comes from ``running_minutes``
between consecutive stops or from ``speed_kmh`` over the road distance between
stops: the route length on a road network when one is given, otherwise the
straight-line distance × :data:`ROAD_DETOUR` (an estimate, and said so).

Every value is read as the text written (:func:`geomap._yaml.load_yaml`, which
also bounds the file's size, nesting and aliases) and converted field by field:

- times are ``HH:MM`` on the 24-hour clock, 00:00 to 23:59 (a scenario is one
  school day): ``9:00``, ``09:00`` and ``"09:00"`` are the same time, read by
  :func:`geomap.clock.parse_time` into a :class:`~geomap.clock.TimeOfDay`;
- numbers are plain decimals (``30``, ``12.5``, ``-2.598``); ``yes``, ``.inf``,
  ``nan``, ``1e3``, ``0x10``, ``1_000`` or ``9:00`` where a number belongs are
  refused. Headways run from 1 minute to a day (:data:`HEADWAY_MINUTES`),
  running times up to :data:`MAX_HOP_MINUTES` per hop, speeds 5 to 120 km/h
  (:data:`SPEED_KMH`);
- ids and postcodes are the exact text: ``provider: 0130710`` is the id
  ``0130710``, not ``130710``;
- names are kept as written (without surrounding spaces), on one line and at
  most :data:`MAX_NAME_CHARS` characters; escaping them for a web page is the
  map's business;
- ``days`` is a list (``[mon, tue]``) or text (``mon, wed``), with three-letter
  or full day names, weekdays when left out.

A file has at most :data:`MAX_ROUTES` routes of at most :data:`MAX_ROUTE_STOPS`
stops. Fields geomap does not know are ignored with an
:class:`~geomap.errors.InputWarning` naming them.

A public-transport source that takes trips (a GTFS timetable, see
:attr:`~geomap.travel.base.TravelTimes.takes_trips`) gets each route's trips
and routes them with its own services. For other sources (travel-time tables,
with no timetable to add trips to), a route offers, from
every origin within walking distance of a stop to every post-16 provider within
walking distance of a later stop: walk + wait (half the headway) + ride + walk,
if some trip arrives at the alighting stop by ``arrive_by`` on a weekday (a
route with a single departure has no wait: riders time their walk to it). The
result is combined with the base public-transport times (the quicker wins) and
the post-16 barrier analysis recomputed.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geomap import settings
from geomap._yaml import YamlMap, YamlText, line_of, load_yaml, shown
from geomap.clock import TimeOfDay, parse_time
from geomap.errors import (
    DuplicateIdError,
    InputError,
    InputWarning,
    PostcodeError,
    TravelWarning,
    YamlError,
)
from geomap.gaps import eligible_providers
from geomap.locations import EASTING_ALIASES, NORTHING_ALIASES, locate_point
from geomap.post16 import FLAGS, BarrierThresholds, Post16Analysis, post16_barriers
from geomap.travel.base import FastestOf, Remembered, ScenarioTrips, TravelTimes, check_points
from geomap.travel.estimate import default_estimate

#: Road distance ÷ straight-line distance between stops when no network is given.
ROAD_DETOUR = 1.3
#: Longest walk to or from a route stop, minutes (about 1 km at 4.8 km/h with detour).
MAX_STOP_WALK_MINUTES = 15.0
#: Stops must lie within this distance (km) of the county.
STOP_BUFFER_KM = 25.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
DAYS = (*WEEKDAYS, "sat", "sun")
#: Most routes in one scenario file (each route is evaluated on its own).
MAX_ROUTES = 50
#: Most stops on one route (journeys are searched between every pair of its stops).
MAX_ROUTE_STOPS = 150
#: Shortest and longest headway, minutes: a bus a minute, or one a day.
HEADWAY_MINUTES = (1.0, 24 * 60.0)
#: Longest running time between two consecutive stops, minutes.
MAX_HOP_MINUTES = 180.0
#: Bus operating speeds accepted for ``speed_kmh``.
SPEED_KMH = (5.0, 120.0)
#: Longest scenario, route or stop name, in characters.
MAX_NAME_CHARS = 200

# plain decimal numerals only: no exponent, underscore, hex/octal, infinity or NaN
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# words YAML 1.1 would have read as true/false/null
_WORDS_NOT_NUMBERS = frozenset(
    {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "none", "~"}
)
_DAY_NAMES = {
    **{day: day for day in DAYS},
    "monday": "mon",
    "tues": "tue",
    "tuesday": "tue",
    "weds": "wed",
    "wednesday": "wed",
    "thur": "thu",
    "thurs": "thu",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
# line breaks, and the controls that make text display in another order than it is stored
_NOT_IN_NAMES = re.compile("[\n\r\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SCENARIO_FIELDS = ("scenario", "arrive_by", "routes")
_ROUTE_FIELDS = (
    "name",
    "days",
    "first_departure",
    "last_departure",
    "headway_minutes",
    "running_minutes",
    "speed_kmh",
    "stops",
)
_STOP_FIELDS = ("name", "provider", "postcode", "lon", "lat", *EASTING_ALIASES, *NORTHING_ALIASES)


@dataclass(frozen=True)
class Route:
    """A candidate bus route."""

    name: str
    #: stop names, in running order
    stop_names: tuple[str, ...]
    #: stop points (EPSG:27700), in running order
    stops: gpd.GeoSeries
    days: tuple[str, ...]
    #: first and last departure from the first stop
    first_departure: TimeOfDay
    last_departure: TimeOfDay
    headway_minutes: float
    #: minutes from the first stop to each stop (0 for the first)
    offsets: tuple[float, ...]
    #: how the running times were found
    running_basis: str

    @property
    def departures(self) -> list[TimeOfDay]:
        """Departures from the first stop, every ``headway_minutes`` from the first to the last."""
        first = self.first_departure.minutes
        span = self.last_departure.minutes - first
        count = int(np.floor(span / self.headway_minutes + 1e-9)) + 1
        return [TimeOfDay.from_minutes(first + i * self.headway_minutes) for i in range(count)]

    def trips(self) -> ScenarioTrips:
        """The route's trips, for a source that takes them (:meth:`TravelTimes.with_trips`).

        Returns
        -------
        ScenarioTrips
            Stops in lon/lat, departures in minutes after midnight, one running
            time per hop.
        """
        lonlat = self.stops.to_crs(settings.LONLAT_CRS)
        return ScenarioTrips(
            name=self.name,
            stops=tuple((float(p.x), float(p.y)) for p in lonlat),
            departures=tuple(d.minutes for d in self.departures),
            running_minutes=tuple(float(m) for m in np.diff(self.offsets)),
            days=frozenset(self.days),
        )

    def line(self) -> gpd.GeoDataFrame:
        """The route as a straight-segment line (EPSG:27700)."""
        return gpd.GeoDataFrame(
            {"name": [self.name]},
            geometry=[shapely.LineString(list(self.stops))],
            crs=settings.MEASURE_CRS,
        )

    def stop_table(self) -> gpd.GeoDataFrame:
        """Stops with their departure times as text."""
        departures = [
            ", ".join(
                TimeOfDay.from_minutes(d.minutes + offset).hhmm() for d in self.departures[:6]
            )
            + (" …" if len(self.departures) > 6 else "")
            for offset in self.offsets
        ]
        return gpd.GeoDataFrame(
            {"name": list(self.stop_names), "departures": departures},
            geometry=self.stops.to_numpy(),
            crs=settings.MEASURE_CRS,
        )

    def describe(self) -> str:
        """One line: stops, times, headway, running basis."""
        return (
            f"{self.name}: {len(self.stop_names)} stops ({self.stop_names[0]} → {self.stop_names[-1]}), "
            f"{'/'.join(self.days)}, departures {self.first_departure.hhmm()}–{self.last_departure.hhmm()} "
            f"every {self.headway_minutes:g} min, {self.offsets[-1]:.0f} min end to end ({self.running_basis})"
        )


def _scenario_time(value: object, *, where: str, path: str | Path) -> TimeOfDay:
    """A scenario's time of day: ``HH:MM`` on the 24-hour clock, 00:00 to 23:59.

    ``"07:45"`` and an unquoted ``7:45`` are the same time. A scenario is one
    school day, so trips after midnight (GTFS's ``25:30``) are not modelled.
    """
    if isinstance(value, dict | list):
        raise YamlError(
            f"a time must be one value such as 07:45, not {_kind(value)}",
            path=path,
            row=line_of(value),
            column=where,
            fix="Write times as HH:MM on the 24-hour clock, e.g. 07:45",
        )
    return parse_time(
        value,
        path=path,
        row=line_of(value),
        column=where,
        with_seconds=False,
        within_day=True,
        error=YamlError,
    )


@dataclass(frozen=True)
class Scenario:
    """A scenario file: its routes and deadline."""

    name: str
    arrive_by: TimeOfDay
    routes: tuple[Route, ...]
    path: str


def load_scenario(
    path: str | Path,
    *,
    providers: gpd.GeoDataFrame,
    county: gpd.GeoSeries,
    postcodes: str | Path | None = None,
    road_km: Callable[[shapely.Point, shapely.Point], float] | None = None,
    buffer_km: float = STOP_BUFFER_KM,
) -> Scenario:
    """Read and validate a scenario file.

    The file is read by :func:`geomap._yaml.load_yaml`: every value as the text
    written, within limits on size, nesting and aliases. Each field is then
    converted here (see the module's description for what each accepts).

    Parameters
    ----------
    path
        The YAML file.
    providers
        Providers, for stops given by ``provider`` id.
    county
        The planning area (EPSG:27700); stops must be within ``buffer_km`` of it.
    postcodes
        Postcode lookup CSV (OS Code-Point Open or ONS Postcode Directory), for
        stops given by ``postcode``; without one such a stop is a
        :class:`~geomap.errors.PostcodeError`.
    road_km
        Road distance (km) between two points, from a network; straight line ×
        :data:`ROAD_DETOUR` when not given.
    buffer_km
        How far outside the county a stop may be.

    Returns
    -------
    Scenario
        The scenario's name, arrival deadline and routes, each with located
        stops, departures and running times.

    Raises
    ------
    InputError
        The file is missing or unreadable; a value is out of range (a headway
        over a day, a speed that is not a bus's); a postcode
        (:class:`~geomap.errors.PostcodeError`) or provider id is unknown; a
        stop is outside the county or Great Britain
        (:class:`~geomap.errors.CoordinateError`); two routes share a name
        (:class:`~geomap.errors.DuplicateIdError`).
    YamlError
        The file is not valid YAML, breaks a limit of :mod:`geomap._yaml`, or
        has a value of the wrong kind (a list for a name, ``yes`` for a number,
        ``9`` for a time). Every message names the file, the line as ``row``
        and the place as ``column`` (``routes[0].stops[2].postcode``).

    Warns
    -----
    InputWarning
        Fields geomap does not know (a misspelt ``headway_mins``) are ignored,
        and stops that give more than one location use the first of provider,
        postcode, lon/lat, easting/northing; one warning lists each kind.
    """
    path = Path(path)
    data = load_yaml(path, what="scenario file")
    if not isinstance(data, dict):
        raise YamlError(
            f"a scenario file must be a mapping of scenario, arrive_by and routes, "
            f"but this one is {_kind(data)}",
            path=path,
            row=line_of(data),
            fix="Start the file with 'scenario: <a name>' and list the routes under 'routes:', "
            "as in examples/post16_routes.yml",
        )
    data = _fold_keys(data, path=path, where="")
    notes = _Notes()
    notes.unknown_fields(data, _SCENARIO_FIELDS, where="")
    if "routes" not in data:
        have = ", ".join(shown(str(k)) for k in data)
        raise YamlError(
            f"a scenario needs a list of routes under 'routes:' (the file has {have})",
            path=path,
            row=data.line,
            column="routes",
            fix="Add 'routes:' followed by the routes, each starting with '- name:'",
        )
    routes_raw = data["routes"]
    if not routes_raw or (isinstance(routes_raw, str) and not routes_raw.strip()):
        raise YamlError(
            "'routes:' is empty: a scenario needs a list of routes under 'routes:'",
            path=path,
            row=line_of(routes_raw),
            column="routes",
            fix="List the routes under 'routes:', each starting with '- name:'",
        )
    if not isinstance(routes_raw, list):
        raise YamlError(
            f"a scenario needs a list of routes under 'routes:', not {_kind(routes_raw)}",
            path=path,
            row=line_of(routes_raw),
            column="routes",
            fix="List the routes under 'routes:', each starting with '- name:'",
        )
    if len(routes_raw) > MAX_ROUTES:
        raise InputError(
            f"the scenario has {len(routes_raw)} routes, more than {MAX_ROUTES}",
            path=path,
            row=line_of(routes_raw),
            column="routes",
            fix="Split the routes over several scenario files",
        )
    arrive_by = _scenario_time(
        data.get("arrive_by", settings.PT_ARRIVE_BY), where="arrive_by", path=path
    )
    name = ""
    if "scenario" in data:
        name = _name(data["scenario"], where="scenario", path=path, what="the scenario name")
    area = county.union_all().buffer(buffer_km * 1000)
    routes = tuple(
        _route(
            raw,
            where=f"routes[{i}]",
            path=path,
            providers=providers,
            area=area,
            buffer_km=buffer_km,
            road_km=road_km,
            postcodes=postcodes,
            notes=notes,
        )
        for i, raw in enumerate(routes_raw)
    )
    seen: dict[str, int] = {}
    for i, route in enumerate(routes):
        key = route.name.casefold()
        if key in seen:
            raise DuplicateIdError(
                f"two routes are named {shown(route.name)}: routes[{seen[key]}] and routes[{i}]",
                path=path,
                row=line_of(routes_raw[i].get("name")),
                column=f"routes[{i}].name",
                fix="Give each route its own name",
            )
        seen[key] = i
    notes.warn(path)
    return Scenario(
        name=name or path.stem,
        arrive_by=arrive_by,
        routes=routes,
        path=str(path),
    )


def _fold_keys(raw: dict[str, Any], *, path: Path, where: str) -> YamlMap:
    """``raw`` with keys folded to lower case, so ``Days:`` is ``days:``; a key given twice is refused."""
    folded = YamlMap(line=line_of(raw) or 0)
    seen: dict[str, Any] = {}
    for key, value in raw.items():
        text = str(key).strip().lower()
        if text in seen:
            raise YamlError(
                f"{shown(text)} is given twice (as {shown(str(seen[text]))} on line "
                f"{line_of(seen[text])} and as {shown(str(key))})",
                path=path,
                row=line_of(key),
                column=f"{where}.{key}" if where else str(key),
                fix="Keep one of them (field names do not depend on capitals)",
            )
        seen[text] = key
        same = isinstance(key, str) and key == text
        folded[key if same else YamlText(text, line_of(key) or 0)] = value
    return folded


class _Notes:
    """Things in a scenario file that were accepted but not used, for one warning each."""

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.unused: list[str] = []
        self.located_twice: list[str] = []

    def unknown_fields(self, raw: dict[str, Any], known: Sequence[str], *, where: str) -> None:
        for key in raw:
            if str(key).strip().lower() not in known:
                place = f"{where}.{key}" if where else str(key)
                self.unknown.append(f"{place} (line {line_of(key)})")

    def warn(self, path: Path) -> None:
        if self.unknown:
            warnings.warn(
                f"{path}: {len(self.unknown)} field(s) geomap does not know were ignored: "
                f"{_listed(self.unknown)}. Check their spelling",
                InputWarning,
                stacklevel=3,
            )
        if self.unused:
            warnings.warn(
                f"{path}: {len(self.unused)} field(s) were not used: {_listed(self.unused)}",
                InputWarning,
                stacklevel=3,
            )
        if self.located_twice:
            warnings.warn(
                f"{path}: {len(self.located_twice)} stop(s) give more than one location; "
                f"each uses the first of provider, postcode, lon/lat and easting/northing: "
                f"{_listed(self.located_twice)}. Give one location per stop",
                InputWarning,
                stacklevel=3,
            )


def _listed(items: list[str], *, limit: int = 10) -> str:
    more = len(items) - limit
    return "; ".join(items[:limit]) + (f"; and {more} more" if more > 0 else "")


def _kind(value: object) -> str:
    """What a YAML value is, in words, for messages."""
    if isinstance(value, dict):
        return "a mapping (key: value lines)"
    if isinstance(value, list):
        return "a list"
    return "text"


def _text(value: object, *, where: str, path: Path, what: str, fix: str) -> str:
    """A single value's text, without surrounding spaces; a list or mapping is refused."""
    if isinstance(value, dict | list):
        raise YamlError(
            f"{what} must be a single value, not {_kind(value)}",
            path=path,
            row=line_of(value),
            column=where,
            fix=fix,
        )
    return str(value).strip()


def _name(value: object, *, where: str, path: Path, what: str) -> str:
    """A name, exactly as written but for surrounding spaces: one line, not too long."""
    text = _text(value, where=where, path=path, what=what, fix="Write the name as text on one line")
    bad = _NOT_IN_NAMES.search(text)
    if bad is not None:
        raise YamlError(
            f"{what} {shown(text)} contains U+{ord(bad.group()):04X}, "
            "a line break or a text-direction control",
            path=path,
            row=line_of(value),
            column=where,
            fix="Write the name on one line, as plain text",
        )
    if len(text) > MAX_NAME_CHARS:
        raise YamlError(
            f"{what} is {len(text)} characters long, more than {MAX_NAME_CHARS}",
            path=path,
            row=line_of(value),
            column=where,
            fix="Shorten it",
        )
    return text


def _decimal(value: object, *, where: str, path: Path, what: str, example: str) -> float:
    """A number written as plain decimal digits (``30``, ``-2.71``, ``12.5``), nothing else."""
    text = _text(
        value, where=where, path=path, what=what, fix=f"Write one number, such as {example}"
    )
    if _DECIMAL.fullmatch(text):
        return float(text)
    lowered = text.lower()
    if not text:
        found = "empty"
    elif lowered in _WORDS_NOT_NUMBERS:
        found = f"{shown(text)}, a word, not a number"
    elif ":" in text:
        found = f"{shown(text)}, which looks like a time, not a number"
    elif lowered.lstrip("+-.") in ("inf", "infinity", "nan"):
        found = f"{shown(text)}, not a finite number"
    else:
        found = f"{shown(text)}, not a plain number"
    raise YamlError(
        f"{what} is {found}",
        path=path,
        row=line_of(value),
        column=where,
        fix=f"Write digits with at most one decimal point, such as {example} "
        "(no exponents, underscores, hex or words)",
    )


def _amount(
    value: object,
    *,
    where: str,
    path: Path,
    what: str,
    unit: str,
    bounds: tuple[float, float],
    example: str,
) -> float:
    """A plain decimal number, more than 0 and within ``bounds``."""
    number = _decimal(value, where=where, path=path, what=what, example=example)
    low, high = bounds
    if number <= 0:
        problem = f"{what} must be more than 0 {unit}, not {number:g}"
    elif number < low:
        problem = f"{what} must be at least {low:g} {unit}, not {number:g}"
    elif number > high:
        problem = f"{what} must be at most {high:g} {unit}, not {number:g}"
    else:
        return number
    raise InputError(
        problem,
        path=path,
        row=line_of(value),
        column=where,
        fix=f"Give {low:g} to {high:g} {unit}" if low > 0 else f"Give up to {high:g} {unit}",
    )


def _days(value: object, *, where: str, path: Path) -> tuple[str, ...]:
    """Days a route runs: a list (``[mon, tue]``) or text (``mon, tue``); full names too."""
    items: list[tuple[str, object, str]]
    if isinstance(value, dict):
        raise YamlError(
            "days must be a list such as [mon, tue, wed, thu, fri], not a mapping",
            path=path,
            row=line_of(value),
            column=where,
            fix="Write days: [mon, tue, wed, thu, fri]",
        )
    if isinstance(value, list):
        items = []
        for k, item in enumerate(value):
            text = _text(
                item, where=f"{where}[{k}]", path=path, what="a day", fix="Write one day per item"
            )
            items.append((text, item, f"{where}[{k}]"))
    else:
        items = [(part, value, where) for part in re.split(r"[,\s]+", str(value)) if part]
    days: list[str] = []
    for text, source, place in items:
        day = _DAY_NAMES.get(text.lower())
        if day is None:
            raise YamlError(
                f"unknown day {shown(text)}",
                path=path,
                row=line_of(source),
                column=place,
                fix="Use mon, tue, wed, thu, fri, sat, sun",
            )
        if day not in days:
            days.append(day)
    if not days:
        raise YamlError(
            "no days given",
            path=path,
            row=line_of(value),
            column=where,
            fix="Write days: [mon, tue, wed, thu, fri], or leave the line out for weekdays",
        )
    return tuple(days)


def _route(
    raw: Any,
    *,
    where: str,
    path: Path,
    providers: gpd.GeoDataFrame,
    area: shapely.Geometry,
    buffer_km: float,
    road_km: Callable[[shapely.Point, shapely.Point], float] | None,
    postcodes: str | Path | None = None,
    notes: _Notes | None = None,
) -> Route:
    notes = notes or _Notes()

    def fail(
        message: str,
        field: str,
        fix: str | None = None,
        *,
        value: object = None,
        error: type[InputError] = InputError,
    ) -> InputError:
        return error(
            message,
            path=path,
            row=line_of(value) or line_of(raw),
            column=f"{where}.{field}" if field else where,
            fix=fix,
        )

    if not isinstance(raw, dict):
        raise fail(
            f"a route must be a mapping of name, stops, times…, not {_kind(raw)}",
            "",
            "Start each route with '- name:' and give its fields indented below it",
            error=YamlError,
        )
    raw = _fold_keys(raw, path=path, where=where)
    notes.unknown_fields(raw, _ROUTE_FIELDS, where=where)
    for field in ("name", "stops", "first_departure", "last_departure", "headway_minutes"):
        if field not in raw:
            raise fail(
                f"a route needs {field}", field, f"Add '{field}:' to the route", error=YamlError
            )
    name = _name(raw["name"], where=f"{where}.name", path=path, what="the route name")
    if not name:
        raise fail("a route needs a name", "name", "Give the route a name", value=raw["name"])
    stops_raw = raw["stops"]
    if not isinstance(stops_raw, list):
        raise fail(
            f"stops must be a list of stops, not {_kind(stops_raw)}",
            "stops",
            "List the stops under 'stops:', each starting with '- {name: ..., postcode: ...}'",
            value=stops_raw,
            error=YamlError,
        )
    if len(stops_raw) < 2:
        raise fail("a route needs at least two stops", "stops", value=stops_raw)
    if len(stops_raw) > MAX_ROUTE_STOPS:
        raise fail(
            f"a route may have at most {MAX_ROUTE_STOPS} stops, not {len(stops_raw)}",
            "stops",
            "Keep the stops where riders board or alight for the colleges",
            value=stops_raw,
        )
    names, points = [], []
    for j, stop in enumerate(stops_raw):
        label, point = _stop(
            stop,
            where=f"{where}.stops[{j}]",
            path=path,
            providers=providers,
            postcodes=postcodes,
            notes=notes,
        )
        if not area.contains(point):
            raise fail(
                f"stop '{label}' is more than {buffer_km:g} km outside the county",
                f"stops[{j}]",
                "Check its coordinates or postcode",
                value=stop,
            )
        names.append(label)
        points.append(point)
    days = _days(raw["days"], where=f"{where}.days", path=path) if "days" in raw else WEEKDAYS
    first = _scenario_time(raw["first_departure"], where=f"{where}.first_departure", path=path)
    last = _scenario_time(raw["last_departure"], where=f"{where}.last_departure", path=path)
    if last < first:
        raise fail(
            f"last departure {last} is before the first {first}",
            "last_departure",
            "Give the last departure at or after the first",
            value=raw["last_departure"],
        )
    headway = _amount(
        raw["headway_minutes"],
        where=f"{where}.headway_minutes",
        path=path,
        what="headway",
        unit="minutes",
        bounds=HEADWAY_MINUTES,
        example="30",
    )
    gaps: list[float]
    if "running_minutes" in raw:
        if "speed_kmh" in raw:
            notes.unused.append(
                f"{where}.speed_kmh (line {line_of(raw['speed_kmh'])}: "
                "running_minutes are given, and used)"
            )
        running = raw["running_minutes"]
        if not isinstance(running, list) or len(running) != len(points) - 1:
            raise fail(
                f"running_minutes needs {len(points) - 1} values, one per hop between stops",
                "running_minutes",
                f"Write running_minutes: [{', '.join(['10'] * (len(points) - 1))}] "
                "with the minutes between each stop and the next",
                value=running,
                error=YamlError if not isinstance(running, list) else InputError,
            )
        gaps = [
            _amount(
                v,
                where=f"{where}.running_minutes[{k}]",
                path=path,
                what="running time",
                unit="minutes",
                bounds=(0.0, MAX_HOP_MINUTES),
                example="12",
            )
            for k, v in enumerate(running)
        ]
        basis = "running times given"
    elif "speed_kmh" in raw:
        speed = _amount(
            raw["speed_kmh"],
            where=f"{where}.speed_kmh",
            path=path,
            what="speed",
            unit="km/h",
            bounds=SPEED_KMH,
            example="40",
        )
        hops = list(itertools.pairwise(points))
        if road_km is not None:
            km = [road_km(a, b) for a, b in hops]
            basis = f"{speed:g} km/h over road-network distances"
        else:
            km = [a.distance(b) / 1000 * ROAD_DETOUR for a, b in hops]
            basis = f"{speed:g} km/h over estimated road distances (straight line × {ROAD_DETOUR})"
        gaps = [k / speed * 60 for k in km]
        for j, gap in enumerate(gaps):
            if not 0 <= gap <= MAX_HOP_MINUTES:
                raise fail(
                    f"at {speed:g} km/h the {km[j]:.1f} km from stop '{names[j]}' to "
                    f"'{names[j + 1]}' takes {gap:.0f} minutes, more than {MAX_HOP_MINUTES:g}",
                    f"stops[{j + 1}]",
                    "Check the stops and the speed, or give running_minutes",
                    value=stops_raw[j + 1],
                )
    else:
        raise fail(
            "give running_minutes or speed_kmh",
            "running_minutes",
            "Add 'speed_kmh: 40', or 'running_minutes: [...]' with one value per hop",
            error=YamlError,
        )
    return Route(
        name=name,
        stop_names=tuple(names),
        stops=gpd.GeoSeries(points, crs=settings.MEASURE_CRS),
        days=days,
        first_departure=first,
        last_departure=last,
        headway_minutes=headway,
        offsets=tuple(np.concatenate([[0.0], np.cumsum(gaps)]).tolist()),
        running_basis=basis,
    )


def _stop(
    stop: Any,
    *,
    where: str,
    path: Path,
    providers: gpd.GeoDataFrame,
    postcodes: str | Path | None = None,
    notes: _Notes | None = None,
) -> tuple[str, shapely.Point]:
    """A stop's name and point (EPSG:27700): a provider's site, or a place read as any other point."""
    notes = notes or _Notes()
    if not isinstance(stop, dict):
        raise YamlError(
            "a stop must be a mapping (name, and postcode, lon/lat, easting/northing or "
            f"provider), not {_kind(stop)}",
            path=path,
            row=line_of(stop),
            column=where,
            fix="Write each stop as {name: Bromyard, postcode: HR7 4DP}",
        )
    fields: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    for key, value in stop.items():
        folded = str(key).strip().lower()
        if folded in fields:
            raise YamlError(
                f"the stop gives {shown(folded)} twice (as {shown(str(key))} and another spelling)",
                path=path,
                row=line_of(key),
                column=f"{where}.{key}",
                fix="Keep one of them",
            )
        fields[folded] = value
        keys[folded] = key
    notes.unknown_fields(stop, _STOP_FIELDS, where=where)
    label = ""
    if "name" in fields:
        label = _name(fields["name"], where=f"{where}.name", path=path, what="the stop name")
    east = next((k for k in EASTING_ALIASES if k in fields), None)
    north = next((k for k in NORTHING_ALIASES if k in fields), None)
    given = [
        kind
        for kind, present in (
            ("provider", "provider" in fields),
            ("postcode", "postcode" in fields),
            ("lon/lat", "lon" in fields or "lat" in fields),
            ("easting/northing", east is not None or north is not None),
        )
        if present
    ]
    if len(given) > 1:
        notes.located_twice.append(f"{where} ({' and '.join(given)}, line {line_of(stop)})")
    kind = given[0] if given else None
    if kind == "provider":
        pid = _text(
            fields["provider"],
            where=f"{where}.provider",
            path=path,
            what="a provider id",
            fix="Give one id from the provider list",
        )
        ids = providers["id"].astype(str)
        match = providers[ids == pid]
        if match.empty:
            hint = ""
            if pid.lstrip("0") != pid and (ids == pid.lstrip("0")).any():
                hint = f"; the provider list has '{pid.lstrip('0')}', without the leading zero"
            raise InputError(
                f"unknown provider id {shown(pid)}{hint}",
                path=path,
                row=line_of(fields["provider"]),
                column=f"{where}.provider",
                fix="Use an id from the provider list (for schools, the URN), written exactly as there",
            )
        return label or str(match["name"].iloc[0]), match.geometry.iloc[0]
    place: dict[str, object]
    if kind == "postcode":
        postcode = _text(
            fields["postcode"],
            where=f"{where}.postcode",
            path=path,
            what="a postcode",
            fix="Give one postcode, such as HR7 4DP",
        )
        if postcodes is None:
            raise PostcodeError(
                f"the stop gives only a postcode ({shown(postcode)}), and no postcode lookup "
                "was given to place it",
                path=path,
                row=line_of(fields["postcode"]),
                column=f"{where}.postcode",
                fix="Give the study area a postcode lookup, or the stop's lon/lat or "
                "easting/northing",
            )
        place, first, named = {"postcode": postcode}, fields["postcode"], postcode
    elif kind == "lon/lat":
        if "lon" not in fields or "lat" not in fields:
            missing = "lat" if "lon" in fields else "lon"
            raise YamlError(
                f"the stop gives {'lon' if missing == 'lat' else 'lat'} but not {missing}",
                path=path,
                row=line_of(stop),
                column=f"{where}.{missing}",
                fix="Give both lon and lat, in degrees (WGS84)",
            )
        lon = _decimal(fields["lon"], where=f"{where}.lon", path=path, what="lon", example="-2.598")
        lat = _decimal(fields["lat"], where=f"{where}.lat", path=path, what="lat", example="52.115")
        place, first, named = {"lon": lon, "lat": lat}, fields["lon"], f"{lat:.4f}, {lon:.4f}"
    elif kind == "easting/northing":
        if east is None or north is None:
            missing = "northing" if north is None else "easting"
            raise YamlError(
                f"the stop gives {'easting' if missing == 'northing' else 'northing'} "
                f"but not {missing}",
                path=path,
                row=line_of(stop),
                column=f"{where}.{missing}",
                fix="Give both easting and northing, in metres (British National Grid)",
            )
        x = _decimal(
            fields[east], where=f"{where}.{east}", path=path, what="easting", example="365300"
        )
        y = _decimal(
            fields[north], where=f"{where}.{north}", path=path, what="northing", example="254700"
        )
        place, first, named = {east: x, north: y}, fields[east], f"{x:.0f}, {y:.0f}"
    else:
        raise YamlError(
            "a stop needs a postcode, lon and lat, easting and northing, or a provider id",
            path=path,
            row=line_of(stop),
            column=where,
            fix="Add one of them, e.g. {name: Bromyard, postcode: HR7 4DP}",
        )
    # located and checked (Great Britain, swapped or misplaced coordinates, unknown
    # postcodes) as every other point is; the message then names the field in the file
    row = line_of(first) or line_of(stop)
    try:
        point = locate_point(place, postcodes=postcodes, what="route stop", path=path, row=row)
    except InputError as err:
        raise _in_field(err, where=where) from None
    return label or named, point


def _in_field(err: InputError, *, where: str) -> InputError:
    """``err`` (about a stop's ``lon``, ``postcode``...) again, naming the field as ``where.lon``."""
    located = [p for p in (err.path, None if err.row is None else f"row {err.row}") if p]
    if err.column is not None:
        located.append(f"column '{err.column}'")
    text = str(err)
    prefix = f"{', '.join(located)}: " if located else ""
    suffix = f". {err.fix}" if err.fix else ""
    message = text[len(prefix) :] if text.startswith(prefix) else text
    if suffix and message.endswith(suffix):
        message = message[: -len(suffix)]
    column = f"{where}.{err.column}" if err.column else where
    return type(err)(message, path=err.path, row=err.row, column=column, fix=err.fix)


class RouteTravelTimes(TravelTimes):
    """Journeys using one scenario route: walk, wait half the headway, ride, walk.

    Parameters
    ----------
    route
        The route.
    arrive_by
        Deadline at the alighting stop.
    max_walk_minutes
        Longest walk to the boarding stop and from the alighting stop.
    """

    mode = "pt"

    def __init__(
        self,
        route: Route,
        *,
        arrive_by: TimeOfDay,
        max_walk_minutes: float = MAX_STOP_WALK_MINUTES,
    ) -> None:
        self.route = route
        self.arrive_by = arrive_by
        self.max_walk_minutes = max_walk_minutes
        self.method = f"route:{route.name}"
        self._walk = default_estimate("walk")

    def describe(self) -> str:
        """The route and the journey model."""
        wait = (
            "wait half the headway"
            if len(self.route.departures) > 1
            else "catch its one trip (no wait)"
        )
        return (
            f"Scenario route {self.route.describe()}; journeys walk up to {self.max_walk_minutes:g} min to "
            f"and from stops, {wait}, and must arrive by {self.arrive_by.hhmm()} on a weekday."
        )

    def why_no_effect(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> str:
        """Why the route offers no journey to ``destinations`` (a sentence), or ``""`` if it offers some."""
        route = self.route
        if not any(day in WEEKDAYS for day in route.days):
            return "it does not run on school weekdays"
        second = TimeOfDay.from_minutes(route.first_departure.minutes + route.offsets[1])
        if second > self.arrive_by:
            return (
                f"its first trip reaches its second stop at {second.hhmm()}, "
                f"after the {self.arrive_by.hhmm()} deadline"
            )
        if not np.isfinite(self._walks(origins)).any():
            return f"no area's journey starts within {self.max_walk_minutes:g} min walk of a stop"
        if not np.isfinite(self._walks(destinations)).any():
            return (
                f"no sixth form or college is within {self.max_walk_minutes:g} min walk of a stop"
            )
        if self.matrix(origins, destinations)["minutes"].isna().all():
            return "no stop near an area's journey start comes before a stop near a sixth form or college"
        return ""

    def _walks(self, points: gpd.GeoDataFrame) -> np.ndarray:
        stops = self.route.stops
        km = (
            np.hypot(
                points.geometry.x.to_numpy()[:, None] - stops.x.to_numpy()[None, :],
                points.geometry.y.to_numpy()[:, None] - stops.y.to_numpy()[None, :],
            )
            / 1000.0
        )
        minutes = self._walk.minutes_for_km(km.ravel()).reshape(km.shape)
        return np.where(minutes <= self.max_walk_minutes, minutes, np.inf)

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Quickest use of the route for every origin and destination (NaN where it does not help)."""
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        route = self.route
        offsets = np.asarray(route.offsets)
        n = len(offsets)
        # a ride from stop i to stop j > i exists if some trip reaches j by the deadline
        ride = offsets[None, :] - offsets[:, None]
        runs = any(day in WEEKDAYS for day in route.days)
        reaches = route.first_departure.minutes + offsets <= self.arrive_by.minutes
        allowed = (
            (np.triu(np.ones((n, n), dtype=bool), k=1) & reaches[None, :])
            if runs
            else np.zeros((n, n), bool)
        )
        wait = route.headway_minutes / 2 if len(route.departures) > 1 else 0.0
        ride = np.where(allowed, ride + wait, np.inf)
        walk_in = self._walks(origins)  # origins × stops
        walk_out = self._walks(destinations)  # destinations × stops
        # best over (i, j): walk_in[o, i] + ride[i, j] + walk_out[d, j]
        via_j = np.min(
            walk_in[:, :, None] + ride[None, :, :], axis=1
        )  # origins × stops (alighting j)
        total = np.min(via_j[:, None, :] + walk_out[None, :, :], axis=2)  # origins × destinations
        total = np.where(np.isfinite(total), np.round(total, 2), np.nan)
        return pd.DataFrame(
            {
                "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                "minutes": total.ravel(),
                "method": self.method,
            }
        )


@dataclass
class RouteEffect:
    """What one route (or all routes together) changes."""

    name: str
    #: per area: before/after minutes and flags
    areas: pd.DataFrame
    #: headline numbers (see :func:`evaluate_scenario`)
    summary: dict[str, Any]
    route: Route | None


@dataclass
class ScenarioResult:
    """The base analysis, each route's effect (ranked by benefit) and all routes together."""

    scenario: Scenario
    base: Post16Analysis
    effects: list[RouteEffect]
    combined: RouteEffect

    def ranking(self) -> pd.DataFrame:
        """One row per route, most benefit first, then all routes together."""
        rows = [{"rank": i + 1, **e.summary} for i, e in enumerate(self.effects)]
        rows.append({"rank": None, **self.combined.summary})
        return pd.DataFrame(rows)


def evaluate_scenario(
    scenario: Scenario,
    *,
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    young_people: pd.Series,
    car: TravelTimes,
    pt: TravelTimes,
    thresholds: BarrierThresholds | None = None,
    include_independent: bool = False,
) -> ScenarioResult:
    """Add each route to the base public-transport times and recompute the post-16 barriers.

    For each route, and for all routes together: young people newly within the
    public-transport time limit, newly with any public-transport journey, no
    longer more than the ratio slower than by car, and no longer facing any
    barrier; minutes saved (summed over young people, and per young person who
    gains); areas whose flags change. Routes are ranked by young people no longer
    facing a barrier, then by minutes saved.

    Parameters
    ----------
    scenario
        The routes, from :func:`load_scenario`.
    origins
        Where each area's journeys start (``id`` is the area id), EPSG:27700.
    providers
        Providers; the post-16 ones are the destinations.
    young_people
        Young people of post-16 age per area id.
    car
        Car travel times.
    pt
        Public-transport travel times. A source that
        :attr:`~geomap.travel.base.TravelTimes.takes_trips` (a timetable) gets
        the routes' trips and is routed again; any other is combined with a
        :class:`RouteTravelTimes` per route (see :func:`with_routes`).
    thresholds
        The barrier thresholds; the defaults of :class:`~geomap.post16.BarrierThresholds`
        when not given.
    include_independent
        Count independent schools' sixth forms as destinations.

    Returns
    -------
    ScenarioResult
        The base analysis, each route's effect and all routes together.

    Raises
    ------
    InputError
        If a route's trips cannot be added to ``pt``.

    Warns
    -----
    TravelWarning
        Naming the routes that make no young person's journey quicker, and why
        (a route that runs after the deadline, or where nobody lives).
    """
    limits = thresholds or BarrierThresholds()

    # every run below asks the same car (and base public-transport) questions: ask once;
    # a source that takes trips is asked afresh with them
    car = Remembered(car)
    if not pt.takes_trips:
        pt = Remembered(pt)

    def run(source: TravelTimes) -> Post16Analysis:
        return post16_barriers(
            origins,
            providers,
            young_people,
            car=car,
            pt=source,
            thresholds=limits,
            include_independent=include_independent,
        )

    base = run(pt)
    post16 = eligible_providers(providers, "post16", include_independent=include_independent)[
        ["id", "geometry"]
    ]
    effects = []
    for route in scenario.routes:
        after = with_routes(pt, [route], arrive_by=scenario.arrive_by)
        effect = _effect(route.name, base, run(after), route)
        effect.summary["how"] = _how(pt, route, arrive_by=scenario.arrive_by)
        if effect.summary["young_who_gain"] == 0:
            reason = RouteTravelTimes(route, arrive_by=scenario.arrive_by).why_no_effect(
                origins, post16
            )
            effect.summary["why_no_change"] = (
                reason or "where it runs, existing journeys are as quick or quicker"
            )
        effects.append(effect)
    idle = [e for e in effects if e.summary["young_who_gain"] == 0]
    if idle:
        listed = "; ".join(f"{e.name} ({e.summary['why_no_change']})" for e in idle[:5])
        more = f"; and {len(idle) - 5} more" if len(idle) > 5 else ""
        warnings.warn(
            f"{scenario.path}: {len(idle)} of the {len(effects)} route(s) serve no one: no young "
            f"person's journey to a sixth form or college gets quicker: {listed}{more}",
            TravelWarning,
            stacklevel=2,
        )
    effects.sort(key=lambda e: (-e.summary["young_no_longer_barrier"], -e.summary["minutes_saved"]))
    together = with_routes(pt, list(scenario.routes), arrive_by=scenario.arrive_by)
    combined = _effect("all routes together", base, run(together), None)
    return ScenarioResult(scenario=scenario, base=base, effects=effects, combined=combined)


def with_routes(pt: TravelTimes, routes: Sequence[Route], *, arrive_by: TimeOfDay) -> TravelTimes:
    """Public transport with scenario routes added.

    A source that :attr:`~geomap.travel.base.TravelTimes.takes_trips` (a GTFS
    timetable) gets the routes' trips through
    :meth:`~geomap.travel.base.TravelTimes.with_trips` and is routed again, so
    the new trips also join up with existing services (a timetable adds the
    trips that run on its weekday, and keeps its own deadline). Any other source
    (a travel-time table) is combined with a :class:`RouteTravelTimes` per
    route: the quicker wins for each journey.

    Parameters
    ----------
    pt
        The base public-transport times; not changed.
    routes
        The routes to add.
    arrive_by
        The deadline for journeys on the routes, for sources that do not take trips.

    Returns
    -------
    TravelTimes
        A new source.

    Raises
    ------
    InputError
        If a route's trips cannot be added.
    """
    if pt.takes_trips:
        return pt.with_trips([route.trips() for route in routes])
    sources: list[TravelTimes] = [pt, *(RouteTravelTimes(r, arrive_by=arrive_by) for r in routes)]
    return FastestOf(sources, limits=[None] * len(sources), mode="pt")


def _how(pt: TravelTimes, route: Route, *, arrive_by: TimeOfDay) -> str:
    """How a route is added to ``pt``, in words, for captions."""
    if pt.takes_trips:
        return (
            f"The route's trips are added to the timetable ({pt.method}) and routed with its services: "
            f"{route.describe()}."
        )
    return (
        RouteTravelTimes(route, arrive_by=arrive_by).describe()
        + " The quicker of that and the base times counts."
    )


def _flags_text(table: pd.DataFrame) -> list[str]:
    return [
        ", ".join(f for f in FLAGS if row[f]) or "none" for _, row in table[list(FLAGS)].iterrows()
    ]


def _effect(
    name: str, before: Post16Analysis, after: Post16Analysis, route: Route | None
) -> RouteEffect:
    b, a = before.areas, after.areas
    young = b["young_people"].to_numpy()
    saved = (b["pt_minutes"] - a["pt_minutes"]).to_numpy(dtype=float)
    areas = pd.DataFrame(
        {
            "area_id": b["area_id"].to_numpy(),
            "young_people": young,
            "before": b["pt_minutes"].to_numpy(),
            "after": a["pt_minutes"].to_numpy(),
            "saved": np.round(saved, 2),
            "provider_before": b["pt_provider"].to_numpy(),
            "provider_after": a["pt_provider"].to_numpy(),
            "flags_before": _flags_text(b),
            "flags_after": _flags_text(a),
        }
    )
    areas["changed"] = areas["flags_before"] != areas["flags_after"]
    gained = np.nan_to_num(saved, nan=0.0) > 0
    newly = {
        "young_newly_with_pt": b["no_pt"] & ~a["no_pt"],
        "young_newly_within_limit": (b["no_pt"] | b["pt_over"]) & ~(a["no_pt"] | a["pt_over"]),
        "young_newly_within_ratio": (b["no_pt"] | b["pt_vs_car"]) & ~(a["no_pt"] | a["pt_vs_car"]),
        "young_no_longer_barrier": b["barrier"] & ~a["barrier"],
    }
    summary: dict[str, Any] = {"route": name}
    for key, mask in newly.items():
        summary[key] = int(young[mask.to_numpy()].sum())
    # minutes saved where a journey existed before; newly connected areas are counted above
    summary["minutes_saved"] = round(float(np.nansum(np.where(gained, saved, 0.0) * young)), 1)
    summary["young_who_gain"] = int(young[gained | newly["young_newly_with_pt"].to_numpy()].sum())
    # averaged over the young people who had a journey before and now save time
    young_saving = int(young[gained].sum())
    summary["mean_minutes_saved"] = (
        round(summary["minutes_saved"] / young_saving, 1) if young_saving else 0.0
    )
    summary["areas_gaining"] = int((gained | newly["young_newly_with_pt"].to_numpy()).sum())
    summary["areas_changing_flag"] = int(areas["changed"].sum())
    if route is not None:
        summary["description"] = route.describe()
    return RouteEffect(name=name, areas=areas, summary=summary, route=route)
