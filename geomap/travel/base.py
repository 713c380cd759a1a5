"""The travel-time interface every source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import CRSError, InputError, UnsupportedError

#: Columns of every travel-time table.
TIME_COLUMNS = ("from_id", "to_id", "minutes", "method")

#: Travel modes geomap knows.
MODES = ("car", "walk", "bike", "pt")


#: Key of ``DataFrame.attrs`` holding the caption of one result.
DESCRIPTION = "description"


def check_points(points: gpd.GeoDataFrame, *, what: str) -> None:
    """Raise unless ``points`` has unique ``id`` values and points in EPSG:27700.

    Parameters
    ----------
    points
        The points to check.
    what
        What they are (``"origins"``), for messages.

    Raises
    ------
    InputError
        If there is no ``id`` column or an id repeats.
    CRSError
        If the points are not in EPSG:27700.
    """
    if "id" not in points.columns:
        raise InputError(f"{what} need an 'id' column", column="id")
    if points.crs is None or points.crs != settings.MEASURE_CRS:
        raise CRSError(
            f"{what} are in {points.crs.to_string() if points.crs else 'no CRS'}, "
            f"but travel times are measured in {settings.MEASURE_CRS}",
            fix=f"Convert with .to_crs('{settings.MEASURE_CRS}')",
        )
    if not points["id"].is_unique:
        dup = points["id"][points["id"].duplicated()].iloc[0]
        raise InputError(f"{what} ids must be unique; '{dup}' repeats", column="id")


def describe_result(table: pd.DataFrame, text: str) -> pd.DataFrame:
    """Attach the caption of one result to it (``attrs["description"]``) and return it.

    Parameters
    ----------
    table
        A result of :meth:`TravelTimes.matrix` or :meth:`TravelTimes.nearest`.
    text
        What the times are based on and how wrong they can be, for *this* result.

    Returns
    -------
    pandas.DataFrame
        ``table`` itself.
    """
    table.attrs[DESCRIPTION] = text
    return table


def description_of(table: pd.DataFrame, source: TravelTimes) -> str:
    """The caption of one result: its own, else its source's general description.

    Read it straight after the call that made the table: pandas operations
    (merges, concatenations) may drop ``attrs``.

    Parameters
    ----------
    table
        A result of ``source``.
    source
        The source that made it.

    Returns
    -------
    str
        The caption.
    """
    text = table.attrs.get(DESCRIPTION)
    return text if isinstance(text, str) and text else source.describe()


@dataclass(frozen=True)
class ScenarioTrips:
    """Extra trips along one new route, to add to a source that can take them.

    Parameters
    ----------
    name
        The route's name, used in new trip and stop ids and in journey legs.
    stops
        The stops in order, at least two, as (lon, lat) in EPSG:4326.
    departures
        Departure times from the first stop, minutes after midnight of the
        service day (may pass 24 hours).
    running_minutes
        Minutes between consecutive stops, one per hop.
    days
        Weekdays the route runs (``mon`` ... ``sun``).
    """

    name: str
    stops: tuple[tuple[float, float], ...]
    departures: tuple[float, ...]
    running_minutes: tuple[float, ...]
    days: frozenset[str]


class TravelTimes(ABC):
    """A source of travel times from origins to destinations, in minutes.

    Subclasses implement :meth:`matrix` and :meth:`describe`; :meth:`nearest`
    defaults to the minimum of the matrix and may be overridden by a faster
    method. What else a source can do it declares: :attr:`draws_isochrones`
    with :meth:`isochrones`, :attr:`takes_trips` with :meth:`with_trips`, and
    :meth:`extent_lonlat` for the area it covers. Callers ask these, never the
    source's type.

    Every table :meth:`matrix` and :meth:`nearest` return carries, in
    ``attrs["description"]``, the description of *that* result (with, e.g., the
    snapping distances of its own points), which captions use; :meth:`describe`
    is the source's description in general.
    """

    #: car, walk, bike or pt
    mode: str
    #: what the times are based on, for tables: ``estimate:car``, ``network:drive`` ...
    method: str
    #: whether :meth:`isochrones` can draw the areas reachable within a time
    draws_isochrones: bool = False
    #: whether :meth:`with_trips` can add scenario trips and route them with existing services
    takes_trips: bool = False
    #: whether journeys start from area codes (a zone-to-site table) rather than from points
    keyed_by_area: bool = False
    #: whether :meth:`journeys` gives each journey's departure, arrival and changes (timetables)
    gives_journeys: bool = False

    def isochrones(self, sites: gpd.GeoDataFrame, *, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        """Areas from which each site is reachable within each limit.

        Parameters
        ----------
        sites
            Points with unique ``id`` in EPSG:27700.
        minutes
            Time limits.

        Returns
        -------
        geopandas.GeoDataFrame
            ``id``, ``minutes`` and the area, one row per site and limit.

        Raises
        ------
        UnsupportedError
            Unless :attr:`draws_isochrones`.
        """
        raise UnsupportedError(
            f"{self.method} cannot draw isochrones",
            fix="Use a network (--network) or the straight-line estimate",
        )

    def with_trips(self, trips: Sequence[ScenarioTrips]) -> TravelTimes:
        """A new source with scenario trips added; this one is not changed.

        Parameters
        ----------
        trips
            Routes to add.

        Returns
        -------
        TravelTimes
            The source with the trips.

        Raises
        ------
        UnsupportedError
            Unless :attr:`takes_trips`.
        """
        raise UnsupportedError(
            f"{self.method} cannot take new trips",
            fix="Give a GTFS timetable (--gtfs) to route new trips with existing services",
        )

    def journeys(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Each journey's departure, arrival and changes, for sources that route timetables.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            One row per pair: ``from_id``, ``to_id``, ``minutes``, ``method``,
            ``departure``, ``arrival`` (``HH:MM:SS``) and ``boardings``.

        Raises
        ------
        UnsupportedError
            Unless :attr:`gives_journeys`.
        """
        raise UnsupportedError(
            f"{self.describe()} gives journey times only, not departures and changes",
            fix="Use a GTFS timetable for journeys",
        )

    def extent_lonlat(self) -> tuple[float, float, float, float] | None:
        """Bounds (west, south, east, north) of the area the source covers, if it has one.

        Returns
        -------
        tuple of float or None
            ``None`` when the source covers anywhere (an estimate).
        """
        return None

    @abstractmethod
    def describe(self) -> str:
        """One or two sentences for captions: what the times are based on and how wrong they can be.

        Returns
        -------
        str
            The source's description in general; each result carries its own
            in ``attrs["description"]``.
        """

    @abstractmethod
    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Minutes from every origin to every destination, long form (``TIME_COLUMNS``).

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            One row per origin and destination: ``from_id``, ``to_id``,
            ``minutes`` (NaN where there is no journey) and ``method``;
            ``attrs["description"]`` is the caption of this result.

        Raises
        ------
        InputError
            If the points have no unique ``id`` (a source may also raise
            :class:`~geomap.errors.CRSError` for points not in EPSG:27700).

        Warns
        -----
        TravelWarning
            From sources that snap points onto a network, for points far from it.
        """

    def prepare(self, origins: gpd.GeoDataFrame, *, search: bool = True) -> None:
        """Get ready to be asked many times for journeys from ``origins``.

        An analysis that asks from the same points for each kind of provider
        (a report asks from every area for five kinds, then for post-16
        places, choice and quality) calls this first. Nothing is needed by
        default; a network places the points on its streets (building the
        streets' index) and searches once from each origin now, on every core
        available, and keeps what it found, so that the questions that follow
        search no more. Answers are the same with or without it.

        Parameters
        ----------
        origins
            Points with unique ``id`` in EPSG:27700.
        search
            Also search from each origin; with ``False`` only what every later
            question needs is built (a network's streets), for example before
            forking processes that then share it.
        """
        del origins, search

    def within(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, minutes: float
    ) -> pd.DataFrame:
        """The journeys of at most ``minutes``, long form, as :meth:`matrix` times them.

        By default :meth:`matrix` cut to the journeys within the limit; a
        source that can stop its searches at the limit does so instead
        (a network), with the same minutes for every journey kept.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.
        minutes
            The limit; journeys of exactly this long are kept.

        Returns
        -------
        pandas.DataFrame
            ``from_id``, ``to_id``, ``minutes`` and ``method``, one row per
            journey within the limit, in origin then destination order; a pair
            not listed has no journey within the limit (longer, or none at all:
            never a time of 0). ``attrs["description"]`` is the caption of
            :meth:`matrix`'s result for the same points.

        Raises
        ------
        InputError
            If the limit is not a positive number of minutes, or as :meth:`matrix`.

        Warns
        -----
        TravelWarning
            As :meth:`matrix` does.
        """
        _check_limit(minutes)
        times = self.matrix(origins, destinations)
        text = description_of(times, self)
        kept = times[times["minutes"].to_numpy(dtype=float) <= minutes]
        kept = kept[["from_id", "to_id", "minutes", "method"]].reset_index(drop=True)
        return describe_result(kept, text)

    def nearest(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Minutes from each origin to its nearest destination, and which destination.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            One row per origin, in origin order: ``from_id``, ``to_id`` (missing
            when no destination can be reached), ``minutes`` (NaN then) and
            ``method``; ``attrs["description"]`` is the caption of this result.

        Raises
        ------
        InputError
            If the points have no unique ``id`` or are not in EPSG:27700.

        Warns
        -----
        TravelWarning
            As :meth:`matrix` does.
        """
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        if len(destinations) == 0:
            empty = pd.DataFrame(
                {
                    "from_id": origins["id"].to_numpy(),
                    "to_id": pd.array([None] * len(origins), dtype="string"),
                    "minutes": np.full(len(origins), np.nan),
                    "method": self.method,
                }
            )
            return describe_result(empty, f"{self.describe()} There were no destinations.")
        times = self.matrix(origins, destinations)
        text = description_of(times, self)
        return describe_result(nearest_from_matrix(times, origins, method=self.method), text)


def _check_limit(minutes: float) -> None:
    """Raise unless ``minutes`` is a positive, finite number."""
    if not (isinstance(minutes, (int, float, np.number)) and np.isfinite(minutes) and minutes > 0):
        raise InputError(
            f"the time limit must be a positive number of minutes, not {minutes}",
            fix="e.g. minutes=30",
        )


def nearest_from_matrix(
    times: pd.DataFrame, origins: gpd.GeoDataFrame, *, method: str
) -> pd.DataFrame:
    """Quickest destination per origin from a long-form matrix (one row per origin, in origin order).

    Parameters
    ----------
    times
        Long form: ``from_id``, ``to_id``, ``minutes`` (NaN for no journey), ``method``.
    origins
        The origins, with ``id``: one row each in the result, none dropped.
    method
        Labels origins with no journey at all.

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id`` (missing where no journey), ``minutes``, ``method``.
    """
    reachable = times.dropna(subset=["minutes"])
    best = reachable.loc[reachable.groupby("from_id", sort=False)["minutes"].idxmin()]
    best = best.set_index("from_id").reindex(origins["id"].to_numpy())
    return pd.DataFrame(
        {
            "from_id": origins["id"].to_numpy(),
            "to_id": best["to_id"].astype("string").to_numpy(),
            "minutes": best["minutes"].to_numpy(dtype=float),
            "method": best["method"].fillna(method).to_numpy(),
        }
    )


def fastest(
    matrices: list[pd.DataFrame], *, limits: list[float | None] | None = None
) -> pd.DataFrame:
    """Element-wise quickest of aligned long-form matrices (same origins and destinations, same order).

    Parameters
    ----------
    matrices
        Long-form tables listing the same journeys in the same order.
    limits
        Per matrix, the longest journey (minutes) it may contribute (``None``
        for no limit).

    Returns
    -------
    pandas.DataFrame
        The first matrix's journeys with the quickest ``minutes``; ``method``
        names the winning source.

    Raises
    ------
    ValueError
        If there are no matrices or they do not list the same journeys.
    """
    limits = limits or [None] * len(matrices)
    best: pd.DataFrame | None = None
    for times, limit in zip(matrices, limits, strict=True):
        minutes = times["minutes"].to_numpy(dtype=float)
        if limit is not None:
            minutes = np.where(minutes <= limit, minutes, np.nan)
        if best is None:
            best = times.assign(minutes=minutes)
            continue
        if not (
            np.array_equal(best["from_id"].to_numpy(), times["from_id"].to_numpy())
            and np.array_equal(best["to_id"].to_numpy(), times["to_id"].to_numpy())
        ):
            raise ValueError("matrices must list the same journeys in the same order")
        current = best["minutes"].to_numpy(dtype=float)
        better = np.nan_to_num(minutes, nan=np.inf) < np.nan_to_num(current, nan=np.inf)
        best = best.assign(
            minutes=np.where(better, minutes, current),
            method=np.where(better, times["method"].to_numpy(), best["method"].to_numpy()),
        )
    if best is None:
        raise ValueError("no matrices to combine")
    return best


class FastestOf(TravelTimes):
    """The quickest of several sources for each journey (e.g. a bus table or, when near, a walk).

    Parameters
    ----------
    sources
        Travel-time sources.
    limits
        For each source, the longest journey (minutes) it may contribute, or
        ``None`` for no limit (e.g. walk-only journeys up to 30 minutes).
    mode
        The mode the combination stands for.
    """

    def __init__(
        self, sources: list[TravelTimes], *, limits: list[float | None], mode: str
    ) -> None:
        if len(sources) != len(limits):
            raise ValueError("give one limit per source")
        self.sources = sources
        self.limits = limits
        self.mode = mode
        self.method = "+".join(s.method for s in sources)

    def _caption(self, texts: Sequence[str]) -> str:
        parts = [
            text if limit is None else f"{text} (used for journeys up to {limit:g} min)"
            for text, limit in zip(texts, self.limits, strict=True)
        ]
        return "Quickest of: " + " | ".join(parts)

    def prepare(self, origins: gpd.GeoDataFrame, *, search: bool = True) -> None:
        """Get each source ready for journeys from ``origins`` (see :meth:`TravelTimes.prepare`).

        Parameters
        ----------
        origins
            Points with unique ``id`` in EPSG:27700.
        search
            Also search from each origin (see :meth:`TravelTimes.prepare`).
        """
        for source in self.sources:
            source.prepare(origins, search=search)

    def describe(self) -> str:
        """Each source's caption, with its limit.

        Returns
        -------
        str
            The captions joined.
        """
        return self._caption([source.describe() for source in self.sources])

    def extent_lonlat(self) -> tuple[float, float, float, float] | None:
        """Bounds covering every source's area; ``None`` if one of them covers anywhere.

        Returns
        -------
        tuple of float or None
            ``(west, south, east, north)``.
        """
        extents = [source.extent_lonlat() for source in self.sources]
        known = [e for e in extents if e is not None]
        if not known or len(known) < len(extents):
            return None
        return (
            min(e[0] for e in known),
            min(e[1] for e in known),
            max(e[2] for e in known),
            max(e[3] for e in known),
        )

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Element-wise minimum of the sources' matrices, limits applied; ``method`` names the winner.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            Long form; ``attrs["description"]`` joins the captions of each
            source's own result.

        Raises
        ------
        InputError
            As the sources' ``matrix`` does, for points without unique ids or
            not in EPSG:27700.

        Warns
        -----
        TravelWarning
            As the sources' ``matrix`` does.
        """
        tables = []
        texts = []
        for source in self.sources:
            table = source.matrix(origins, destinations)
            texts.append(description_of(table, source))
            tables.append(table)
        combined = fastest(tables, limits=self.limits)
        return describe_result(combined, self._caption(texts))


class Remembered(TravelTimes):
    """A source that keeps its answers, so asking it the same question again costs nothing.

    Used where one analysis is repeated with one part changed (a route scenario
    re-runs the post-16 analysis once per route, with the same car times).
    """

    def __init__(self, source: TravelTimes) -> None:
        self.source = source
        self.mode = source.mode
        self.method = source.method
        self.draws_isochrones = source.draws_isochrones
        self.takes_trips = source.takes_trips
        self.keyed_by_area = source.keyed_by_area
        self.gives_journeys = source.gives_journeys
        self._answers: dict[tuple[object, ...], pd.DataFrame] = {}

    def prepare(self, origins: gpd.GeoDataFrame, *, search: bool = True) -> None:
        """Get the source ready for journeys from ``origins`` (see :meth:`TravelTimes.prepare`).

        Parameters
        ----------
        origins
            Points with unique ``id`` in EPSG:27700.
        search
            Also search from each origin (see :meth:`TravelTimes.prepare`).
        """
        self.source.prepare(origins, search=search)

    def describe(self) -> str:
        """The source's own caption.

        Returns
        -------
        str
            What the source says.
        """
        return self.source.describe()

    def extent_lonlat(self) -> tuple[float, float, float, float] | None:
        """The source's extent.

        Returns
        -------
        tuple of float or None
            What the source says.
        """
        return self.source.extent_lonlat()

    def isochrones(self, sites: gpd.GeoDataFrame, *, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        """The source's isochrones (not remembered: they are drawn once per map).

        Parameters
        ----------
        sites
            Points with unique ``id`` in EPSG:27700.
        minutes
            Time limits.

        Returns
        -------
        geopandas.GeoDataFrame
            What the source draws.

        Raises
        ------
        UnsupportedError
            Unless the source :attr:`draws_isochrones`.
        """
        return self.source.isochrones(sites, minutes=minutes)

    def journeys(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """The source's journeys (not remembered: each is asked once).

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            What the source gives.
        """
        return self.source.journeys(origins, destinations)

    def with_trips(self, trips: Sequence[ScenarioTrips]) -> Remembered:
        """The source with the trips added, remembering its own answers afresh.

        Parameters
        ----------
        trips
            Routes to add.

        Returns
        -------
        Remembered
            A new source; this one is not changed.

        Raises
        ------
        UnsupportedError
            Unless the source :attr:`takes_trips`.
        """
        return Remembered(self.source.with_trips(trips))

    def _ask(
        self,
        question: str,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame,
        *,
        minutes: float | None = None,
    ) -> pd.DataFrame:
        key = tuple(
            [question, minutes]
            + [
                part
                for points in (origins, destinations)
                for part in (
                    tuple(points["id"]),
                    points.geometry.x.to_numpy().tobytes(),
                    points.geometry.y.to_numpy().tobytes(),
                )
            ]
        )
        if key not in self._answers:
            if question == "within" and minutes is not None:
                answer = self.source.within(origins, destinations, minutes=minutes)
            else:
                ask = self.source.matrix if question == "matrix" else self.source.nearest
                answer = ask(origins, destinations)
            describe_result(answer, description_of(answer, self.source))
            self._answers[key] = answer
        answer = self._answers[key]
        copy = answer.copy()
        copy.attrs = dict(answer.attrs)
        return copy

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """The source's matrix, computed once per set of origins and destinations.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            A copy of the source's answer, with its ``attrs``.
        """
        return self._ask("matrix", origins, destinations)

    def nearest(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """The source's nearest, computed once per set of origins and destinations.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            A copy of the source's answer, with its ``attrs``.
        """
        return self._ask("nearest", origins, destinations)

    def within(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, minutes: float
    ) -> pd.DataFrame:
        """The source's journeys within ``minutes``, computed once per points and limit.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.
        minutes
            The limit.

        Returns
        -------
        pandas.DataFrame
            A copy of the source's answer, with its ``attrs``.

        Raises
        ------
        InputError
            If the limit is not a positive number of minutes.
        """
        _check_limit(minutes)
        return self._ask("within", origins, destinations, minutes=float(minutes))
