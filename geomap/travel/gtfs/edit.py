"""Editing a timetable: :func:`add_trips` adds a new route's trips to a day's :class:`Timetable`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geomap.clock import TimeOfDay, parse_time
from geomap.errors import InputError
from geomap.locations import locate_point
from geomap.travel.gtfs.feed import Timetable


def add_trips(
    timetable: Timetable,
    stops: Sequence[str | tuple[float, float] | Mapping[str, Any]],
    departures: Sequence[str | dt.time | TimeOfDay],
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
        Departure times from the first stop, one trip each: ``HH:MM`` (hours
        may pass 24), ``datetime.time`` or :class:`~geomap.clock.TimeOfDay`.
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
        If a stop id is unknown or untrusted, a time cannot be read, running
        times are negative or of the wrong number, or a trip id would repeat.
    CoordinateError
        If a new stop's position is not numbers, or is outside Great Britain
        (read and checked by :func:`geomap.locations.locate_point`, naming the
        route as the path and the stop's number as the row).

    Examples
    --------
    >>> extra = add_trips(timetable, ["A", (-2.60, 52.11)], ["07:30"], running_minutes=20)  # doctest: +SKIP
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
        # read and checked as any other point: numbers, in Great Britain; stops count as rows
        point = locate_point(
            {"lon": stop.get("lon"), "lat": stop.get("lat")},
            what=f"stop of route '{route_name}'",
            path=f"route '{route_name}'",
            row=number,
        )
        lon, lat = float(str(stop["lon"])), float(str(stop["lat"]))
        stop_id = str(stop.get("stop_id") or f"{route_name}:stop{number}")
        if stop_id in known.index or stop_id in stop_ids:
            raise InputError(f"route '{route_name}' stop {number}: stop_id '{stop_id}' exists")
        new_rows.append(
            {
                "stop_id": stop_id,
                "stop_name": str(stop.get("stop_name") or f"{route_name} stop {number}"),
                "lon": lon,
                "lat": lat,
                "x": point.x,
                "y": point.y,
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
        start = parse_time(departure, column=f"route '{route_name}' departures[{k}]").seconds
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
