"""Public-transport minutes from a timetable: :class:`TimetableTravelTimes`."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.clock import TimeOfDay, parse_time
from geomap.errors import InputError, InputWarning, TravelWarning
from geomap.travel.base import TIME_COLUMNS, ScenarioTrips, TravelTimes, check_points
from geomap.travel.estimate import WALK_DETOUR
from geomap.travel.gtfs.edit import add_trips
from geomap.travel.gtfs.engine import Connections, Journey, Rules, connections, near_stops, plan
from geomap.travel.gtfs.feed import Timetable

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

#: Weekdays of :class:`~geomap.travel.base.ScenarioTrips` ``days``, Monday first.
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(seconds: float) -> str:
    """``HH:MM:SS`` (hours past 24 after midnight; a minus sign before midnight)."""
    return TimeOfDay(seconds).hhmmss()


class TimetableTravelTimes(TravelTimes):
    """Public-transport minutes from a timetable, for journeys arriving by a deadline.

    For every origin and destination, the journey that arrives by ``arrive_by``
    and leaves home as late as possible (see :mod:`geomap.travel.gtfs.engine`
    for what counts as a journey and how it is found).

    Parameters
    ----------
    timetable
        One day's timetable, from :func:`~geomap.travel.gtfs.load_gtfs` (and
        :func:`~geomap.travel.gtfs.add_trips`).
    arrive_by
        Journeys must arrive by this time: ``HH:MM`` text, a
        ``datetime.time`` or a :class:`~geomap.clock.TimeOfDay`.
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

    Raises
    ------
    InputError
        If ``arrive_by`` is not a time of day, or an option is out of range.

    Examples
    --------
    >>> timetable = load_gtfs("chester_gtfs.zip", date="2023-08-16")  # doctest: +SKIP
    >>> TimetableTravelTimes(timetable, arrive_by="09:00").matrix(homes, colleges)  # doctest: +SKIP
    """

    mode = "pt"
    takes_trips = True
    gives_journeys = True

    def __init__(
        self,
        timetable: Timetable,
        *,
        arrive_by: str | dt.time | TimeOfDay = settings.PT_ARRIVE_BY,
        max_walk_m: float = settings.PT_MAX_WALK_M,
        transfer_walk_m: float = settings.PT_TRANSFER_WALK_M,
        min_transfer_minutes: float = settings.PT_MIN_TRANSFER_MINUTES,
        max_journey_minutes: float = settings.PT_MAX_JOURNEY_MINUTES,
        walk_speed_kmh: float = settings.WALK_SPEED_KMH,
        walk_detour: float = WALK_DETOUR,
    ) -> None:
        self.timetable = timetable
        self.arrive_by = parse_time(arrive_by, column="arrive_by")
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
        self._rules = Rules(
            deadline=self.arrive_by.seconds,
            max_walk_m=self.max_walk_m,
            transfer_walk_m=self.transfer_walk_m,
            min_transfer_s=self.min_transfer_minutes * 60.0,
            max_journey_s=self.max_journey_minutes * 60.0,
            walk_speed_kmh=self.walk_speed_kmh,
            walk_detour=self.walk_detour,
        )
        self._prepared: Connections | None = None

    @property
    def deadline(self) -> float:
        """The deadline, seconds after midnight of the timetable's day."""
        return self.arrive_by.seconds

    @property
    def method(self) -> str:  # type: ignore[override]
        """``gtfs:<feed name>:<date>``."""
        return f"gtfs:{self.timetable.name}:{self.timetable.date.isoformat()}"

    def describe(self) -> str:
        """Caption text: the feed, date and deadline, the walking assumptions and untrusted stops.

        Returns
        -------
        str
            A few sentences.
        """
        tt = self.timetable
        added = int(tt.trips["added"].sum())
        text = (
            f"Public-transport times from the timetables in GTFS feed {tt.name} for "
            f"{tt.date:%A} {tt.date.day} {tt.date:%B %Y}, for journeys arriving by "
            f"{self.arrive_by.hhmm()} and leaving as late as possible (waiting at home is "
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

    def with_trips(self, trips: Sequence[ScenarioTrips]) -> TimetableTravelTimes:
        """A new source whose timetable has the trips that run on its weekday; this one is not changed.

        The new trips are routed with the timetable's own services, so riders
        may change between them.

        Parameters
        ----------
        trips
            Routes to add; those that do not run on the timetable's weekday are
            left out, with a :class:`~geomap.errors.TravelWarning` naming them.

        Returns
        -------
        TimetableTravelTimes
            With the same deadline and walking rules.

        Raises
        ------
        InputError
            If a route cannot be added (see :func:`~geomap.travel.gtfs.add_trips`).
        """
        timetable = self.timetable
        weekday = _DAYS[timetable.date.weekday()]
        idle = [route.name for route in trips if weekday not in route.days]
        if idle:
            warnings.warn(
                f"{len(idle)} route(s) do not run on {timetable.date:%A} {timetable.date.isoformat()}, "
                f"the timetable's day, so they carry nobody: {'; '.join(idle[:5])}"
                + (f"; and {len(idle) - 5} more" if len(idle) > 5 else ""),
                TravelWarning,
                stacklevel=2,
            )
        for route in trips:
            if weekday not in route.days:
                continue
            timetable = add_trips(
                timetable,
                list(route.stops),
                [TimeOfDay.from_minutes(minutes) for minutes in route.departures],
                running_minutes=list(route.running_minutes),
                route_name=route.name,
            )
        return TimetableTravelTimes(
            timetable,
            arrive_by=self.arrive_by,
            max_walk_m=self.max_walk_m,
            transfer_walk_m=self.transfer_walk_m,
            min_transfer_minutes=self.min_transfer_minutes,
            max_journey_minutes=self.max_journey_minutes,
            walk_speed_kmh=self.walk_speed_kmh,
            walk_detour=self.walk_detour,
        )

    # ------------------------------------------------------------------ planning

    def _connections(self) -> Connections:
        if self._prepared is None:
            self._prepared = connections(self.timetable, self._rules)
            if self._prepared.backwards:
                warnings.warn(
                    f"{self.timetable.name}: {self._prepared.backwards} hop(s) arrive before "
                    "they leave; ignored",
                    TravelWarning,
                    stacklevel=4,
                )
        return self._prepared

    def _plan(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> list[Journey]:
        """The chosen journey for every pair, destinations outer and origins inner."""
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        net = self._connections()
        oxy = np.column_stack([origins.geometry.x, origins.geometry.y]).astype(float)
        dxy = np.column_stack([destinations.geometry.x, destinations.geometry.y]).astype(float)
        access = near_stops(net, oxy, self._rules)
        egress = near_stops(net, dxy, self._rules)
        for points, near, what in ((oxy, access, "origins"), (dxy, egress, "destinations")):
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
        return plan(
            net,
            self._rules,
            origin_ids=origins["id"].tolist(),
            origin_xy=oxy,
            destination_ids=destinations["id"].tolist(),
            destination_xy=dxy,
            access=access,
            egress_walks=egress,
        )

    # ------------------------------------------------------------------ public tables

    def journeys(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """The latest-departure journey from every origin to every destination.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

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

        Raises
        ------
        InputError
            If the points lack unique ids; :class:`~geomap.errors.CRSError` if
            they are not in EPSG:27700.
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
                    rides = [leg for leg in journey.legs if leg.kind == "ride"]
                    first = rides[0].from_stop_id if rides else None
                    row |= {
                        "minutes": round((journey.arrival - journey.departure) / 60.0, 2),
                        "departure": _clock(journey.departure),
                        "arrival": _clock(journey.arrival),
                        "early_minutes": round((self.deadline - journey.arrival) / 60.0, 2),
                        "boardings": journey.boardings,
                        "first_stop_id": first,
                        "first_stop_name": names.get(first) if first else None,
                        "last_stop_id": rides[-1].to_stop_id if rides else None,
                        "routes": " > ".join(str(leg.route) for leg in rides) if rides else None,
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

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            ``from_id``, ``to_id``, ``leg`` (1, 2, ...), ``kind`` (``walk`` or
            ``ride``), ``from_stop_id`` and ``to_stop_id`` (missing at the
            origin and destination), ``start`` and ``end`` (``HH:MM:SS``),
            ``minutes``, ``route`` and ``trip_id`` (rides only). Pairs with no
            journey have no rows; walks of no length are left out.

        Raises
        ------
        InputError
            As :meth:`journeys`.
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
                            **leg._asdict(),
                            "start": _clock(leg.start),
                            "end": _clock(leg.end),
                            "minutes": round((leg.end - leg.start) / 60.0, 2),
                        }
                    )
        return pd.DataFrame(rows, columns=list(LEG_COLUMNS))

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Minutes from every origin to every destination (``from_id, to_id, minutes, method``).

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            Long form, NaN where there is no journey.

        Raises
        ------
        InputError
            As :meth:`journeys`.
        """
        return self.journeys(origins, destinations)[list(TIME_COLUMNS)]
