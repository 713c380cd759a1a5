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
``provider`` (a provider id). In-vehicle time comes from ``running_minutes``
between consecutive stops or from ``speed_kmh`` over the road distance between
stops: the route length on a road network when one is given, otherwise the
straight-line distance × :data:`ROAD_DETOUR` (an estimate, and said so).

For travel-time tables (no timetable to add trips to), a route offers, from
every origin within walking distance of a stop to every post-16 provider within
walking distance of a later stop: walk + wait (half the headway) + ride + walk,
if some trip arrives at the alighting stop by ``arrive_by`` on a weekday (a
route with a single departure has no wait: riders time their walk to it). The
result is combined with the base public-transport times (the quicker wins) and
the post-16 barrier analysis recomputed.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from geomap import settings
from geomap.errors import InputError
from geomap.gaps import eligible_providers
from geomap.locations import (
    EASTING_ALIASES,
    GB_EASTING,
    GB_NORTHING,
    normalise_postcode,
    postcode_lookup,
)
from geomap.post16 import FLAGS, BarrierThresholds, Post16Analysis, post16_barriers
from geomap.travel.base import FastestOf, Remembered, TravelTimes, check_points
from geomap.travel.estimate import default_estimate
from geomap.travel.gtfs import TimetableTravelTimes, add_trips

logger = logging.getLogger(__name__)

#: Road distance ÷ straight-line distance between stops when no network is given.
ROAD_DETOUR = 1.3
#: Longest walk to or from a route stop, minutes (about 1 km at 4.8 km/h with detour).
MAX_STOP_WALK_MINUTES = 15.0
#: Stops must lie within this distance (km) of the county.
STOP_BUFFER_KM = 25.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
DAYS = (*WEEKDAYS, "sat", "sun")


@dataclass(frozen=True)
class Route:
    """A candidate bus route."""

    name: str
    #: stop names, in running order
    stop_names: tuple[str, ...]
    #: stop points (EPSG:27700), in running order
    stops: gpd.GeoSeries
    days: tuple[str, ...]
    #: first and last departure from the first stop, minutes after midnight
    first_departure: float
    last_departure: float
    headway_minutes: float
    #: minutes from the first stop to each stop (0 for the first)
    offsets: tuple[float, ...]
    #: how the running times were found
    running_basis: str

    @property
    def departures(self) -> list[float]:
        """Departure times from the first stop, minutes after midnight."""
        count = (
            int(
                np.floor((self.last_departure - self.first_departure) / self.headway_minutes + 1e-9)
            )
            + 1
        )
        return [self.first_departure + i * self.headway_minutes for i in range(count)]

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
            ", ".join(clock(d + offset) for d in self.departures[:6])
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
            f"{'/'.join(self.days)}, departures {clock(self.first_departure)}–{clock(self.last_departure)} "
            f"every {self.headway_minutes:g} min, {self.offsets[-1]:.0f} min end to end ({self.running_basis})"
        )


def clock(minutes: float) -> str:
    """Minutes after midnight as ``HH:MM``."""
    minutes = round(minutes)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parseclock(value: object, *, where: str, path: str | Path) -> float:
    """``"07:45"`` → 465.0 (minutes after midnight)."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(2)) > 59:
        raise InputError(
            f"'{text}' is not a time of day",
            path=path,
            column=where,
            fix="Write times as HH:MM, e.g. 07:45",
        )
    return int(match.group(1)) * 60 + int(match.group(2))


@dataclass(frozen=True)
class Scenario:
    """A scenario file: its routes and deadline."""

    name: str
    arrive_by: float
    routes: tuple[Route, ...]
    path: str


def load_scenario(
    path: str | Path,
    *,
    providers: gpd.GeoDataFrame,
    county: gpd.GeoSeries,
    road_km: Callable[[shapely.Point, shapely.Point], float] | None = None,
    buffer_km: float = STOP_BUFFER_KM,
) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path
        The YAML file.
    providers
        Providers, for stops given by ``provider`` id.
    county
        The planning area (EPSG:27700); stops must be within ``buffer_km`` of it.
    road_km
        Road distance (km) between two points, from a network; straight line ×
        :data:`ROAD_DETOUR` when not given.
    buffer_km
        How far outside the county a stop may be.

    Raises
    ------
    InputError
        Naming the file and the place in it (``routes[0].stops[2].postcode``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("scenario file not found", path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InputError(
            f"not valid YAML ({err})", path=path, fix="Check indentation and quoting"
        ) from err
    except UnicodeDecodeError as err:
        raise InputError(
            "not UTF-8 text", path=path, fix="Save the scenario file as UTF-8"
        ) from err
    if not isinstance(data, dict) or not isinstance(data.get("routes"), list) or not data["routes"]:
        raise InputError(
            "a scenario needs a list of routes under 'routes:'", path=path, column="routes"
        )
    arrive_by = parseclock(
        data.get("arrive_by", settings.PT_ARRIVE_BY), where="arrive_by", path=path
    )
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
        )
        for i, raw in enumerate(data["routes"])
    )
    names = [r.name for r in routes]
    if len(set(names)) != len(names):
        raise InputError(
            "two routes have the same name",
            path=path,
            column="routes",
            fix="Give each route its own name",
        )
    return Scenario(
        name=str(data.get("scenario", path.stem)),
        arrive_by=arrive_by,
        routes=routes,
        path=str(path),
    )


def _route(
    raw: Any,
    *,
    where: str,
    path: Path,
    providers: gpd.GeoDataFrame,
    area: shapely.Geometry,
    buffer_km: float,
    road_km: Callable[[shapely.Point, shapely.Point], float] | None,
) -> Route:
    def fail(message: str, field: str, fix: str | None = None) -> InputError:
        return InputError(
            message, path=path, column=f"{where}.{field}" if field else where, fix=fix
        )

    if not isinstance(raw, dict):
        raise fail("a route must be a mapping of name, stops, times…", "")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise fail("a route needs a name", "name")
    stops_raw = raw.get("stops")
    if not isinstance(stops_raw, list) or len(stops_raw) < 2:
        raise fail("a route needs at least two stops", "stops")
    names, points = [], []
    for j, stop in enumerate(stops_raw):
        label, point = _stop(stop, where=f"{where}.stops[{j}]", path=path, providers=providers)
        if not area.contains(point):
            raise fail(
                f"stop '{label}' is more than {buffer_km:g} km outside the county",
                f"stops[{j}]",
                "Check its coordinates or postcode",
            )
        names.append(label)
        points.append(point)
    days = tuple(str(d).strip().lower()[:3] for d in raw.get("days", WEEKDAYS))
    unknown_days = [d for d in days if d not in DAYS]
    if unknown_days:
        raise fail(
            f"unknown day '{unknown_days[0]}'", "days", "Use mon, tue, wed, thu, fri, sat, sun"
        )
    for field in ("first_departure", "last_departure", "headway_minutes"):
        if field not in raw:
            raise fail(f"missing {field}", field)
    first = parseclock(raw["first_departure"], where=f"{where}.first_departure", path=path)
    last = parseclock(raw["last_departure"], where=f"{where}.last_departure", path=path)
    if last < first:
        raise fail(
            f"last departure {clock(last)} is before the first {clock(first)}",
            "last_departure",
            "Give the last departure at or after the first",
        )
    try:
        headway = float(raw["headway_minutes"])
    except (TypeError, ValueError) as err:
        raise fail(
            f"headway '{raw['headway_minutes']}' is not a number", "headway_minutes"
        ) from err
    if not headway > 0:
        raise fail(f"headway must be more than 0 minutes, not {headway:g}", "headway_minutes")
    gaps: list[float]
    if "running_minutes" in raw:
        running = raw["running_minutes"]
        if not isinstance(running, list) or len(running) != len(points) - 1:
            raise fail(
                f"running_minutes needs {len(points) - 1} values, one per hop between stops",
                "running_minutes",
            )
        try:
            gaps = [float(v) for v in running]
        except (TypeError, ValueError) as err:
            raise fail("running_minutes must be numbers", "running_minutes") from err
        if any(not g > 0 for g in gaps):
            raise fail("running minutes must be more than 0", "running_minutes")
        basis = "running times given"
    elif "speed_kmh" in raw:
        try:
            speed = float(raw["speed_kmh"])
        except (TypeError, ValueError) as err:
            raise fail(f"speed '{raw['speed_kmh']}' is not a number", "speed_kmh") from err
        if not 0 < speed <= 120:
            raise fail(
                f"speed {speed:g} km/h is not a bus speed", "speed_kmh", "Give 5 to 120 km/h"
            )
        hops = list(itertools.pairwise(points))
        if road_km is not None:
            km = [road_km(a, b) for a, b in hops]
            basis = f"{speed:g} km/h over road-network distances"
        else:
            km = [a.distance(b) / 1000 * ROAD_DETOUR for a, b in hops]
            basis = f"{speed:g} km/h over estimated road distances (straight line × {ROAD_DETOUR})"
        gaps = [k / speed * 60 for k in km]
    else:
        raise fail("give running_minutes or speed_kmh", "running_minutes")
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
    stop: Any, *, where: str, path: Path, providers: gpd.GeoDataFrame
) -> tuple[str, shapely.Point]:
    if not isinstance(stop, dict):
        raise InputError(
            "a stop must be a mapping (name, and postcode, lon/lat or provider)",
            path=path,
            column=where,
        )
    label = str(stop.get("name") or "").strip()
    if "provider" in stop:
        pid = str(stop["provider"]).strip()
        match = providers[providers["id"] == pid]
        if match.empty:
            raise InputError(f"unknown provider id '{pid}'", path=path, column=f"{where}.provider")
        return label or str(match["name"].iloc[0]), match.geometry.iloc[0]
    if "postcode" in stop:
        hit = postcode_lookup().get(normalise_postcode(stop["postcode"]))
        if hit is None:
            raise InputError(
                f"unknown postcode '{stop['postcode']}'",
                path=path,
                column=f"{where}.postcode",
                fix="Check it, or give lon/lat instead",
            )
        return label or str(stop["postcode"]), shapely.Point(hit)
    if "lon" in stop and "lat" in stop:
        try:
            lon, lat = float(stop["lon"]), float(stop["lat"])
        except (TypeError, ValueError) as err:
            raise InputError("lon/lat must be numbers", path=path, column=f"{where}.lon") from err
        point = (
            gpd.GeoSeries([shapely.Point(lon, lat)], crs=settings.LONLAT_CRS)
            .to_crs(settings.MEASURE_CRS)
            .iloc[0]
        )
        return label or f"{lat:.4f}, {lon:.4f}", point
    keys = {str(k).lower(): k for k in stop}
    east = next((keys[k] for k in EASTING_ALIASES if k in keys), None)
    if east is not None and "northing" in keys:
        try:
            x, y = float(stop[east]), float(stop[keys["northing"]])
        except (TypeError, ValueError) as err:
            raise InputError(
                "easting/northing must be numbers", path=path, column=f"{where}.easting"
            ) from err
        if not (GB_EASTING[0] <= x <= GB_EASTING[1] and GB_NORTHING[0] <= y <= GB_NORTHING[1]):
            raise InputError(
                "easting/northing outside Great Britain", path=path, column=f"{where}.easting"
            )
        return label or f"{x:.0f}, {y:.0f}", shapely.Point(x, y)
    raise InputError(
        "a stop needs a postcode, lon and lat, easting and northing, or a provider id",
        path=path,
        column=where,
    )


class RouteTravelTimes(TravelTimes):
    """Journeys using one scenario route: walk, wait half the headway, ride, walk.

    Parameters
    ----------
    route
        The route.
    arrive_by
        Deadline at the alighting stop, minutes after midnight.
    max_walk_minutes
        Longest walk to the boarding stop and from the alighting stop.
    """

    mode = "pt"

    def __init__(
        self, route: Route, *, arrive_by: float, max_walk_minutes: float = MAX_STOP_WALK_MINUTES
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
            f"and from stops, {wait}, and must arrive by {clock(self.arrive_by)} on a weekday."
        )

    def why_no_effect(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> str:
        """Why the route offers no journey to ``destinations`` (a sentence), or ``""`` if it offers some."""
        route = self.route
        if not any(day in WEEKDAYS for day in route.days):
            return "it does not run on school weekdays"
        offsets = np.asarray(route.offsets)
        if route.first_departure + offsets[1] > self.arrive_by:
            return (
                f"its first trip reaches its second stop at {clock(route.first_departure + offsets[1])}, "
                f"after the {clock(self.arrive_by)} deadline"
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
        reaches = route.first_departure + offsets <= self.arrive_by
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
    """
    limits = thresholds or BarrierThresholds()

    # every run below asks the same car (and base public-transport) questions: ask once
    car = Remembered(car)
    if not isinstance(pt, TimetableTravelTimes):  # a timetable is re-routed with the new trips
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
    effects.sort(key=lambda e: (-e.summary["young_no_longer_barrier"], -e.summary["minutes_saved"]))
    together = with_routes(pt, list(scenario.routes), arrive_by=scenario.arrive_by)
    combined = _effect("all routes together", base, run(together), None)
    return ScenarioResult(scenario=scenario, base=base, effects=effects, combined=combined)


def with_routes(pt: TravelTimes, routes: Sequence[Route], *, arrive_by: float) -> TravelTimes:
    """Public transport with scenario routes added.

    A timetable (GTFS) gets the routes' trips on the timetable's day, if they
    run on its weekday, and is routed again (so the new trips also join up with
    existing services). Any other source (a travel-time table) is combined with
    a :class:`RouteTravelTimes` per route: the quicker wins for each journey.
    """
    if isinstance(pt, TimetableTravelTimes):
        timetable = pt.timetable
        weekday = DAYS[timetable.date.weekday()]
        for route in routes:
            if weekday not in route.days:
                logger.info("%s does not run on %s (%s)", route.name, timetable.date, weekday)
                continue
            lonlat = route.stops.to_crs(settings.LONLAT_CRS)
            timetable = add_trips(
                timetable,
                [(float(p.x), float(p.y)) for p in lonlat],
                [clock(d) for d in route.departures],
                running_minutes=list(np.diff(route.offsets)),
                route_name=route.name,
            )
        return TimetableTravelTimes(
            timetable,
            arrive_by=clock(pt.deadline / 60),
            max_walk_m=pt.max_walk_m,
            transfer_walk_m=pt.transfer_walk_m,
            min_transfer_minutes=pt.min_transfer_minutes,
            max_journey_minutes=pt.max_journey_minutes,
            walk_speed_kmh=pt.walk_speed_kmh,
            walk_detour=pt.walk_detour,
        )
    sources: list[TravelTimes] = [pt, *(RouteTravelTimes(r, arrive_by=arrive_by) for r in routes)]
    return FastestOf(sources, limits=[None] * len(sources), mode="pt")


def _how(pt: TravelTimes, route: Route, *, arrive_by: float) -> str:
    """How a route is added to ``pt``, in words, for captions."""
    if isinstance(pt, TimetableTravelTimes):
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
