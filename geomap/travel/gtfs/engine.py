"""The connection-scan journey planner behind :class:`~geomap.travel.gtfs.TimetableTravelTimes`.

Journeys
--------
For every origin and destination, the journey that arrives by a deadline and
leaves home as late as possible, so that waiting at home is not counted; among
journeys leaving at the same time, the one arriving earliest (then with fewest
boardings). A journey is a walk to a stop, a wait, a ride, any number of
changes (a walk of at most ``transfer_walk_m`` between stops, taking at least
the change time, or a wait at the same stop of that long) and a walk from the
last stop. Walks are the straight-line distance times a detour factor at
walking speed, because no walking network is used, rounded to the second like
timetable times; walks to and from stops are at most ``max_walk_m`` walked.
Walking straight from origin to destination counts as a journey if it is no
longer than ``max_walk_m``. A journey may take at most ``max_journey_s`` from
leaving home to arriving.

Algorithm
---------
A reverse *profile connection scan* (Dibbelt, Pajor, Strasser and Wagner,
"Connection Scan Algorithm", ACM Journal of Experimental Algorithmics 23, 2018:
the profile variant, run backwards from a fixed arrival time), once per
destination, serving every origin at once. The day's timetable is cut into
*connections*: one vehicle going from one stop to the next (departure stop and
time, arrival stop and time, trip). Connections arriving by the deadline are
scanned in order of decreasing departure time, keeping:

* for each trip, the earliest arrival at the destination available to someone
  still on board (alight at a later stop of this trip, then walk to the
  destination, or change to a journey that stop or a nearby one offers), and
  where to get off for it;
* for each stop, a *profile* (:class:`StopProfile`): entries (the time one must
  be at the stop, the arrival at the destination, see :class:`ProfileEntry`)
  for boarding there, appended in
  decreasing time, each arriving earlier than the one before (an entry leaving
  earlier without arriving earlier is of no use, and is not kept).

For a connection from stop *u* to stop *v*: getting off at *v* at its arrival
time *a* can lead to the destination directly (if *v* is within walking
distance, arriving *a* + walk) or through a change: for each stop *w* within the
transfer walk of *v* (and *v* itself: the changes), the profile of
*w* is searched (binary search) for the best journey one can still catch at
*a* + change time. The best of these, if better than staying on, becomes the
trip's value. Then, if one may board at *u*, an entry (departure time, the
trip's value) joins *u*'s profile when it arrives earlier than everything
already there. Scanning in decreasing time makes every later journey known
before an earlier connection needs it.

An origin then takes, over the stops within walking distance, the profile entry
that lets it leave home latest while keeping the journey within the maximum
time; the next stop and entry kept with each entry give the legs. The scan is
linear in the number of connections (about 6,200 before 09:00 on the Chester
feed) times the stops within the transfer walk (about 4); 120 origins and 30
destinations on that feed take about 0.3 s. ``tests/test_gtfs.py`` checks the
journeys against a brute-force search.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from geomap.errors import TimetableError
from geomap.travel.gtfs.feed import Timetable

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Footpath(NamedTuple):
    """A walk to a stop: from a point or stop to stop ``stop``, taking ``seconds``."""

    stop: int
    seconds: float


class ProfileEntry(NamedTuple):
    """One way to reach the destination by boarding at a stop.

    ``next_stop`` is ``-1`` when the journey walks from ``alight``'s stop to
    the destination; otherwise the rider changes to entry ``next_entry`` of
    ``next_stop``'s profile.
    """

    #: time one must be at the stop (the boarding connection's departure), seconds
    time: float
    #: arrival at the destination, seconds
    arrival: float
    boardings: int
    #: the connection boarded and the connection alighted from
    board: int
    alight: int
    next_stop: int
    next_entry: int


@dataclass(slots=True)
class StopProfile:
    """A stop's profile: its :class:`ProfileEntry` items, one list per field.

    Entries are appended in decreasing time, each arriving earlier than the one
    before. The fields are kept in lists side by side rather than as one object
    per entry, because the scan reads them hundreds of thousands of times.
    """

    #: minus the entry times, so ascending, for binary search
    minus_time: list[float] = field(default_factory=list)
    arrival: list[float] = field(default_factory=list)
    boardings: list[int] = field(default_factory=list)
    board: list[int] = field(default_factory=list)
    alight: list[int] = field(default_factory=list)
    next_stop: list[int] = field(default_factory=list)
    next_entry: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.minus_time)

    def entry(self, k: int) -> ProfileEntry:
        """Entry ``k`` (0 is the latest)."""
        return ProfileEntry(
            -self.minus_time[k],
            self.arrival[k],
            self.boardings[k],
            self.board[k],
            self.alight[k],
            self.next_stop[k],
            self.next_entry[k],
        )


class Leg(NamedTuple):
    """One walk or ride of a journey (times in seconds after midnight of the service day)."""

    kind: str
    from_stop_id: str | None
    to_stop_id: str | None
    start: float
    end: float
    route: str | None
    trip_id: str | None


@dataclass(frozen=True)
class Rules:
    """What counts as a journey: the deadline, walking and changing, the longest journey."""

    #: arrive by, seconds after midnight of the service day
    deadline: float
    max_walk_m: float
    transfer_walk_m: float
    min_transfer_s: float
    max_journey_s: float
    walk_speed_kmh: float
    walk_detour: float

    def walk_seconds(self, straight_m: FloatArray | float) -> FloatArray:
        """Walking seconds for straight-line metres, to the nearest second like timetables."""
        seconds = (
            np.asarray(straight_m, dtype=float) * self.walk_detour / (self.walk_speed_kmh / 3.6)
        )
        return np.round(seconds)


@dataclass(frozen=True)
class Connections:
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
    #: for each stop, the changes from it: (stop, seconds) pairs, itself included; plain
    #: tuples, unpacked by name where used, because the scan reads them most often of all
    changes: list[list[tuple[int, float]]]
    xy: FloatArray
    #: hops timetabled to arrive before they leave, left out
    backwards: int


@dataclass(frozen=True)
class Journey:
    """The journey chosen for one origin and destination (times NaN when there is none)."""

    from_id: Any
    to_id: Any
    departure: float = math.nan
    arrival: float = math.nan
    boardings: int = 0
    legs: tuple[Leg, ...] = ()

    @property
    def found(self) -> bool:
        """Whether there is a journey."""
        return not math.isnan(self.departure)


def _walk_leg(from_stop: str | None, to_stop: str | None, start: float, end: float) -> Leg:
    return Leg("walk", from_stop, to_stop, start, end, None, None)


def connections(timetable: Timetable, rules: Rules) -> Connections:
    """Cut ``timetable`` into connections arriving by the deadline, in scan order.

    Parameters
    ----------
    timetable
        The day's timetable.
    rules
        The deadline and the walks between stops.

    Returns
    -------
    Connections
        With the changes possible at and between trusted stops.

    Raises
    ------
    TimetableError
        If the timetable has stop times at stops it does not list.
    """
    stops = timetable.stops
    index = pd.Series(np.arange(len(stops)), index=stops["stop_id"].to_numpy())
    trusted = stops["trusted"].to_numpy(dtype=bool)
    calls = timetable.stop_times.sort_values(["run", "stop_sequence"], kind="stable")
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
    keep = (arr <= rules.deadline) & (arr >= dep)
    order = np.lexsort((-seq[keep], -arr[keep], -dep[keep]))

    trusted_idx = np.flatnonzero(trusted)
    xy = stops[["x", "y"]].to_numpy(dtype=float)
    tree = cKDTree(xy[trusted_idx]) if len(trusted_idx) else None
    changes: list[list[tuple[int, float]]] = [[] for _ in range(len(stops))]
    for i in trusted_idx:
        changes[int(i)].append((int(i), rules.min_transfer_s))
    if tree is not None and rules.transfer_walk_m > 0:
        pairs = tree.query_pairs(rules.transfer_walk_m / rules.walk_detour, output_type="ndarray")
        if len(pairs):
            a = trusted_idx[pairs[:, 0]]
            b = trusted_idx[pairs[:, 1]]
            seconds = np.maximum(
                rules.walk_seconds(np.hypot(*(xy[a] - xy[b]).T)), rules.min_transfer_s
            )
            for i, j, s in zip(a.tolist(), b.tolist(), seconds.tolist(), strict=True):
                changes[i].append((j, s))
                changes[j].append((i, s))
    trips = timetable.trips.set_index("run").sort_index()
    n_runs = int(trips.index.max()) + 1 if len(trips) else 0
    route_of_run = [""] * n_runs
    trip_of_run = [""] * n_runs
    for r, route, trip in zip(trips.index, trips["route_name"], trips["trip_id"], strict=True):
        route_of_run[int(r)] = str(route)
        trip_of_run[int(r)] = str(trip)
    return Connections(
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
        changes=changes,
        xy=xy,
        backwards=int((arr < dep).sum()),
    )


def near_stops(net: Connections, xy: FloatArray, rules: Rules) -> list[list[Footpath]]:
    """For each point, the trusted stops within ``max_walk_m`` walked and the walk to each.

    Parameters
    ----------
    net
        The connections, with their stops.
    xy
        Points (EPSG:27700), one per row.
    rules
        The walking rules.

    Returns
    -------
    list of list of Footpath
        One list per point.
    """
    if net.tree is None or len(xy) == 0:
        return [[] for _ in range(len(xy))]
    hits = net.tree.query_ball_point(xy, rules.max_walk_m / rules.walk_detour)
    out = []
    for point, found in zip(xy, hits, strict=True):
        stops = net.tree_stops[np.asarray(found, dtype=np.int64)]
        seconds = rules.walk_seconds(np.hypot(*(net.xy[stops] - point).T))
        out.append([Footpath(s, w) for s, w in zip(stops.tolist(), seconds.tolist(), strict=True)])
    return out


def scan(net: Connections, egress: list[float], deadline: float) -> list[StopProfile | None]:
    """Reverse profile connection scan towards one destination.

    Parameters
    ----------
    net
        The connections.
    egress
        For each stop, the walk (seconds) from it to the destination; infinite
        where too far.
    deadline
        Arrive by, seconds.

    Returns
    -------
    list of StopProfile or None
        Each stop's profile; ``None`` where no journey boards.
    """
    # made when a first entry is added: most stops are never boarded for a destination
    profiles: list[StopProfile | None] = [None] * len(net.stop_ids)
    inf = math.inf
    # for each trip: the best arrival for someone on board, and where to get off for it
    # (the connection alighted from, -1 while there is none; then the stop and entry
    # changed to, -1 for a walk to the destination)
    trip_arrival = [inf] * net.n_runs
    trip_boardings = [0] * net.n_runs
    exit_alight = [-1] * net.n_runs
    exit_stop = [-1] * net.n_runs
    exit_entry = [-1] * net.n_runs
    changes = net.changes
    dep_stop, arr_stop, dep, arr = net.dep_stop, net.arr_stop, net.dep, net.arr
    run, pickup, dropoff = net.run, net.pickup, net.dropoff
    for i in range(len(dep)):
        r = run[i]
        if dropoff[i]:
            v = arr_stop[i]
            a = arr[i]
            best_a = trip_arrival[r]
            best_n = trip_boardings[r]
            found = False
            best_stop = best_entry = -1
            out = a + egress[v]
            if out <= deadline and (out < best_a or (out == best_a and best_n > 0)):
                best_a, best_n, found = out, 0, True
            for w, change in changes[v]:
                there = profiles[w]
                if there is None:
                    continue
                k = bisect.bisect_right(there.minus_time, -(a + change)) - 1
                if k < 0:
                    continue
                arrival_w = there.arrival[k]
                if arrival_w < best_a or (arrival_w == best_a and there.boardings[k] < best_n):
                    best_a, best_n = arrival_w, there.boardings[k]
                    found, best_stop, best_entry = True, w, k
            if found:
                trip_arrival[r] = best_a
                trip_boardings[r] = best_n
                exit_alight[r] = i
                exit_stop[r] = best_stop
                exit_entry[r] = best_entry
        if exit_alight[r] >= 0 and pickup[i]:
            here = profiles[dep_stop[i]]
            if here is None:
                here = profiles[dep_stop[i]] = StopProfile()
            arrival = trip_arrival[r]
            n = trip_boardings[r] + 1
            if (
                not here.arrival
                or arrival < here.arrival[-1]
                or (arrival == here.arrival[-1] and n < here.boardings[-1])
            ):
                here.minus_time.append(-dep[i])
                here.arrival.append(arrival)
                here.boardings.append(n)
                here.board.append(i)
                here.alight.append(exit_alight[r])
                here.next_stop.append(exit_stop[r])
                here.next_entry.append(exit_entry[r])
    return profiles


def journey_legs(
    net: Connections,
    profiles: list[StopProfile | None],
    start: Footpath,
    k: int,
    egress: list[float],
    rules: Rules,
) -> list[Leg]:
    """The legs of the journey walking ``start`` to a stop and boarding with its entry ``k``.

    Parameters
    ----------
    net
        The connections.
    profiles
        The stops' profiles from :func:`scan`.
    start
        The first stop and the walk to it.
    k
        The entry of the first stop's profile taken.
    egress
        Walks from stops to the destination, as for :func:`scan`.
    rules
        The walking rules, for walks between stops.

    Returns
    -------
    list of Leg
        In order, from the walk to the first stop to the walk to the destination.
    """
    ids = net.stop_ids
    stop = start.stop
    legs: list[Leg] = []
    while True:
        profile = profiles[stop]
        assert profile is not None  # a journey boards here
        entry = profile.entry(k)
        if not legs:
            legs.append(_walk_leg(None, ids[stop], entry.time - start.seconds, entry.time))
        off = net.arr_stop[entry.alight]
        landed = net.arr[entry.alight]
        run = net.run[entry.board]
        legs.append(
            Leg(
                "ride",
                ids[net.dep_stop[entry.board]],
                ids[off],
                net.dep[entry.board],
                landed,
                net.route_of_run[run],
                net.trip_of_run[run],
            )
        )
        if entry.next_stop < 0:
            legs.append(_walk_leg(ids[off], None, landed, landed + egress[off]))
            return legs
        stop, k = entry.next_stop, entry.next_entry
        if stop != off:
            walk = float(rules.walk_seconds(np.hypot(*(net.xy[off] - net.xy[stop]))))
            legs.append(_walk_leg(ids[off], ids[stop], landed, landed + walk))


def plan(
    net: Connections,
    rules: Rules,
    *,
    origin_ids: list[Any],
    origin_xy: FloatArray,
    destination_ids: list[Any],
    destination_xy: FloatArray,
    access: list[list[Footpath]],
    egress_walks: list[list[Footpath]],
) -> list[Journey]:
    """The chosen journey for every pair, destinations outer and origins inner.

    Parameters
    ----------
    net
        The connections.
    rules
        What counts as a journey.
    origin_ids, origin_xy, destination_ids, destination_xy
        The points' ids and coordinates (EPSG:27700).
    access, egress_walks
        The stops near each origin and each destination (:func:`near_stops`).

    Returns
    -------
    list of Journey
        One per pair; :attr:`Journey.found` is false where there is none.
    """
    max_walk_straight = rules.max_walk_m / rules.walk_detour
    max_journey = rules.max_journey_s
    deadline = rules.deadline
    results: list[Journey] = []
    for d, to_id in enumerate(destination_ids):
        egress = [math.inf] * len(net.stop_ids)
        for s, seconds in egress_walks[d]:
            egress[s] = seconds
        profiles = scan(net, egress, deadline)
        direct_m = np.hypot(*(origin_xy - destination_xy[d]).T) if len(origin_xy) else np.zeros(0)
        for o, from_id in enumerate(origin_ids):
            # (departure, -arrival, -boardings) is maximised
            best_key: tuple[float, float, int] | None = None
            best_legs: list[Leg] = []
            if direct_m[o] <= max_walk_straight:
                walk = float(rules.walk_seconds(direct_m[o]))
                if walk <= max_journey:
                    best_key = (deadline - walk, -deadline, 0)
                    best_legs = [_walk_leg(None, None, deadline - walk, deadline)]
            chosen: tuple[Footpath, int] | None = None
            for start in access[o]:
                here = profiles[start.stop]
                if here is None:
                    continue
                access_s = start.seconds
                minus_times, arrivals = here.minus_time, here.arrival
                for k, minus_time in enumerate(minus_times):
                    leave = -minus_time - access_s
                    if arrivals[k] - leave <= max_journey:
                        # entries with the same time follow, each arriving earlier
                        while k + 1 < len(minus_times) and minus_times[k + 1] == minus_time:
                            k += 1
                        key = (leave, -arrivals[k], -here.boardings[k])
                        if best_key is None or key > best_key:
                            best_key = key
                            chosen = (start, k)
                        break
            if best_key is None:
                results.append(Journey(from_id, to_id))
                continue
            if chosen is not None:
                best_legs = journey_legs(net, profiles, chosen[0], chosen[1], egress, rules)
            results.append(
                Journey(
                    from_id,
                    to_id,
                    departure=best_key[0],
                    arrival=-best_key[1],
                    boardings=-best_key[2],
                    # walks of no length (a point at the stop) are left out
                    legs=tuple(leg for leg in best_legs if leg.end - leg.start >= 0.5),
                )
            )
    return results
