"""Calibrated straight-line travel-time estimates, for when no network is at hand.

Minutes are a piecewise-linear function of the straight-line distance in
British National Grid: a fixed overhead (getting to and from the car, junctions
at either end) plus minutes per km that change at a few distance knots, so short
town journeys and long trunk-road journeys are both fitted. For cars the
function is fitted by least squares on real routed car times: geomap's own
calibration table (a package asset, whose provenance the caption gives), or a
study area's own table of routed journeys (:func:`estimate_from_pairs`). Its
error is measured by leave-one-area-out cross-validation, overall and for
journeys under 30 km (school journeys are short). Walking and cycling use the
distance times a detour factor at a constant speed, and are not calibrated:
no routed walking or cycling times ship with geomap.

Every table these estimates produce says ``method=estimate:<mode>``, and
carries its caption in ``attrs["description"]``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geomap import settings
from geomap.errors import InputError
from geomap.io import check_rows, find_column, raise_missing, read_table
from geomap.schema import parse_numbers
from geomap.travel.base import TravelTimes, check_points, describe_result

#: Distance knots (km) where the car estimate's minutes per km may change.
CAR_KNOTS_KM = (5.0, 20.0, 60.0)
#: Straight-line to route distance factor assumed for walking and cycling.
WALK_DETOUR = 1.3
#: Journeys shorter than this (straight line, km) are reported separately.
SHORT_KM = 30.0
#: Columns of a table of routed journeys that calibrates an estimate (:func:`read_calibration_pairs`).
PAIR_COLUMNS = ("origin_id", "site_id", "origin_x", "origin_y", "site_x", "site_y", "minutes")
#: Name of geomap's own car calibration (a CSV table and a JSON note of its provenance).
CAR_CALIBRATION_ASSET = "car_estimate_calibration"

_GRID_FIX = "Give eastings and northings in metres, EPSG:27700 (not longitude and latitude)"


@dataclass(frozen=True)
class CalibrationError:
    """How far an estimate is from real routed times (minutes, absolute).

    Parameters
    ----------
    n
        Number of routed journeys compared.
    mae, p90
        Mean and 90th percentile of the absolute error, minutes.
    n_short, mae_short, p90_short
        The same for journeys under :data:`SHORT_KM` of straight line.
    basis
        What the routed journeys were (router, network, area), for captions.
    """

    n: int
    mae: float
    p90: float
    n_short: int
    mae_short: float
    p90_short: float
    basis: str

    def sentence(self) -> str:
        """The error in words, for captions and the README.

        Returns
        -------
        str
            The number of journeys compared, the basis, and the mean and 90th
            percentile error, overall and for journeys under :data:`SHORT_KM`.
        """
        return (
            f"error against {self.n:,} real routed journeys ({self.basis}): mean "
            f"{self.mae:.1f} min, 90th percentile {self.p90:.1f} min; for journeys under "
            f"{SHORT_KM:g} km ({self.n_short:,}): mean {self.mae_short:.1f} min, 90th "
            f"percentile {self.p90_short:.1f} min"
        )


def _design(km: np.ndarray, knots: tuple[float, ...]) -> np.ndarray:
    return np.column_stack([np.ones_like(km), km, *[np.maximum(km - k, 0.0) for k in knots]])


@dataclass(frozen=True)
class StraightLineEstimate(TravelTimes):
    """Minutes = ``intercept`` + piecewise-linear minutes per km of straight-line distance.

    Parameters
    ----------
    mode
        ``car``, ``walk`` or ``bike``.
    intercept
        Minutes at zero distance (the fixed overhead of a journey).
    slopes
        Minutes per km from 0 km, then the change in minutes per km at each knot.
    knots_km
        Distances (km) where minutes per km change.
    basis
        How the estimate was made, for captions.
    error
        Its error against real routed times, when calibrated.
    """

    mode: str
    intercept: float
    slopes: tuple[float, ...]
    knots_km: tuple[float, ...] = ()
    basis: str = ""
    error: CalibrationError | None = None

    #: circles whose radius the estimate takes the time limit to cover
    draws_isochrones = True

    @property
    def method(self) -> str:  # type: ignore[override]
        """``estimate:<mode>``."""
        return f"estimate:{self.mode}"

    def minutes_for_km(self, km: np.ndarray | float | Sequence[float]) -> np.ndarray:
        """Estimated minutes for straight-line distances in km.

        Parameters
        ----------
        km
            Straight-line distances, km.

        Returns
        -------
        numpy.ndarray
            Minutes, one per distance.
        """
        distance = np.atleast_1d(np.asarray(km, dtype=float))
        coef = np.array([self.intercept, *self.slopes])
        minutes: np.ndarray = _design(distance, self.knots_km) @ coef
        return minutes

    def describe(self) -> str:
        """Caption text: estimated times, how they were made and their error.

        Returns
        -------
        str
            One or two sentences.
        """
        text = f"Estimated {self.mode} travel times from straight-line distance ({self.basis})"
        if self.error is None:
            return f"{text}; not calibrated against routed times, so their error is unknown."
        return f"{text}; {self.error.sentence()}."

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Estimated minutes from every origin to every destination.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            ``from_id``, ``to_id``, ``minutes``, ``method``, origin by origin;
            ``attrs["description"]`` is the caption.

        Raises
        ------
        InputError
            If the points have no unique ``id`` or are not in EPSG:27700.
        """
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        ox, oy = origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy()
        dx, dy = destinations.geometry.x.to_numpy(), destinations.geometry.y.to_numpy()
        km = np.hypot(ox[:, None] - dx[None, :], oy[:, None] - dy[None, :]) / 1000.0
        minutes = self.minutes_for_km(km.ravel())
        result = pd.DataFrame(
            {
                "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                "minutes": np.round(minutes, 2),
                "method": self.method,
            }
        )
        return describe_result(result, self.describe())

    def nearest(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Nearest destination by estimated time; the estimate grows with distance, so a k-d tree finds it.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            One row per origin, in origin order: ``from_id``, ``to_id``,
            ``minutes``, ``method``; ``attrs["description"]`` is the caption.

        Raises
        ------
        InputError
            If the points have no unique ``id`` or are not in EPSG:27700.
        """
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        if len(destinations) == 0:
            return super().nearest(origins, destinations)
        tree = cKDTree(np.column_stack([destinations.geometry.x, destinations.geometry.y]))
        dist, idx = tree.query(np.column_stack([origins.geometry.x, origins.geometry.y]))
        result = pd.DataFrame(
            {
                "from_id": origins["id"].to_numpy(),
                "to_id": destinations["id"].to_numpy()[idx],
                "minutes": np.round(self.minutes_for_km(dist / 1000.0), 2),
                "method": self.method,
            }
        )
        return describe_result(result, self.describe())

    def isochrones(
        self,
        sites: gpd.GeoDataFrame,
        *,
        minutes: Sequence[float] = (15.0, 30.0, 45.0),
    ) -> gpd.GeoDataFrame:
        """Estimated areas within each number of minutes of each site: circles.

        The radius is the straight-line distance the estimate takes that long to
        cover; with no network, that is all an estimate can say.

        Parameters
        ----------
        sites
            Points with unique ``id`` in EPSG:27700.
        minutes
            Time limits.

        Returns
        -------
        geopandas.GeoDataFrame
            ``id``, ``minutes`` and a circle (empty when even the overhead takes
            longer), one row per site and limit, in EPSG:27700;
            ``attrs["description"]`` is the caption.

        Raises
        ------
        InputError
            If the limits are not positive numbers, or the sites have no unique
            ``id`` or are not in EPSG:27700.
        """
        check_points(sites, what="destinations")
        limits = sorted({float(m) for m in minutes})
        if not limits or limits[0] <= 0:
            raise InputError("isochrone minutes must be positive numbers", fix="e.g. 15 and 30")
        km = np.linspace(0.0, 300.0, 30001)
        curve = self.minutes_for_km(km)
        rows = []
        for limit in limits:
            radius_km = float(np.interp(limit, curve, km)) if limit >= curve[0] else 0.0
            for ident, point in zip(sites["id"], sites.geometry, strict=True):
                shape = point.buffer(radius_km * 1000, 64) if radius_km > 0 else shapely.Polygon()
                rows.append({"id": ident, "minutes": limit, "geometry": shape})
        result = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.MEASURE_CRS)
        result.attrs["description"] = self.describe()
        return result


def calibrate_estimate(
    pairs: pd.DataFrame,
    *,
    mode: str = "car",
    knots_km: tuple[float, ...] = CAR_KNOTS_KM,
    basis: str = "",
) -> StraightLineEstimate:
    """Fit a piecewise-linear estimate to routed times and measure its error.

    Parameters
    ----------
    pairs
        One row per routed journey: ``km`` (straight-line), ``minutes`` (routed)
        and ``group`` (the origin; held out together in cross-validation).
    mode
        The mode the routed times are for.
    knots_km
        Distances where minutes per km may change.
    basis
        Where the routed times come from, for captions.

    Returns
    -------
    StraightLineEstimate
        With ``error`` from leave-one-group-out cross-validation.

    Raises
    ------
    InputError
        If a column is missing, the journeys are too few for the knots, or the
        fit would make some longer journeys quicker than shorter ones.
    """
    need = {"km", "minutes", "group"}
    if not need <= set(pairs.columns):
        raise InputError(f"calibration pairs need columns {sorted(need)}")
    data = pairs.dropna(subset=["km", "minutes"])
    if len(data) < len(knots_km) + 3:
        raise InputError(
            f"{len(data)} calibration journeys are too few to fit {len(knots_km)} knots"
        )
    km = data["km"].to_numpy(dtype=float)
    minutes = data["minutes"].to_numpy(dtype=float)
    design = _design(km, knots_km)
    coef = np.linalg.lstsq(design, minutes, rcond=None)[0]
    cumulative = np.cumsum(coef[1:])
    if (cumulative <= 0).any():
        raise InputError(
            "the fitted estimate would make some longer journeys quicker than shorter ones",
            fix="Use fewer distance knots or more calibration journeys",
        )
    residual = np.empty_like(minutes)
    groups = data["group"].to_numpy()
    for group in pd.unique(groups):
        held = groups == group
        fit = np.linalg.lstsq(design[~held], minutes[~held], rcond=None)[0]
        residual[held] = minutes[held] - design[held] @ fit
    absolute = np.abs(residual)
    short = km < SHORT_KM
    error = CalibrationError(
        n=len(data),
        mae=float(absolute.mean()),
        p90=float(np.percentile(absolute, 90)),
        n_short=int(short.sum()),
        mae_short=float(absolute[short].mean()) if short.any() else float("nan"),
        p90_short=float(np.percentile(absolute[short], 90)) if short.any() else float("nan"),
        basis="leave-one-area-out",
    )
    return StraightLineEstimate(
        mode=mode,
        intercept=float(coef[0]),
        slopes=tuple(float(c) for c in coef[1:]),
        knots_km=tuple(knots_km),
        basis=basis,
        error=error,
    )


def read_calibration_pairs(path: str | Path) -> pd.DataFrame:
    """Read a table of routed journeys that calibrates a straight-line estimate.

    The table has one row per routed journey and the columns
    ``origin_id`` (the origin: journeys from one origin are held out together
    when the error is measured), ``site_id`` (the destination), ``origin_x``,
    ``origin_y``, ``site_x``, ``site_y`` (both ends in metres, British National
    Grid, EPSG:27700) and ``minutes`` (the routed time; blank where the router
    found no journey). Any text table geomap reads will do (CSV, Excel ...).

    Parameters
    ----------
    path
        The table.

    Returns
    -------
    pandas.DataFrame
        ``group`` (the origin), ``site``, ``km`` (straight-line distance) and
        ``minutes`` (NaN where blank), in the table's order, ready for
        :func:`calibrate_estimate`.

    Raises
    ------
    InputError
        Naming the file, row and column, if a column is missing, an id is
        blank, a coordinate is not a number in British National Grid, or a time
        is not a number of minutes from 0 up.

    Warns
    -----
    InputWarning
        As :func:`geomap.io.read_table` does, for cells it reads past (line
        breaks, text decoded twice, ambiguous decimal commas).
    """
    table = read_table(path, what="car calibration table")
    found: dict[str, str] = {}
    for name in PAIR_COLUMNS:
        column = find_column(table, (name,))
        if column is None:
            raise_missing(
                table,
                name,
                what=f"'{name}'",
                fix="A calibration table has the columns " + ", ".join(PAIR_COLUMNS),
            )
        found[name] = column
    for name in ("origin_id", "site_id"):
        column = found[name]
        ids = table[column].astype("string").str.strip()

        def no_id(pos: int, name: str = name) -> str:
            return f"the journey has no {name}"

        check_rows(
            table,
            (ids.isna() | (ids == "")).to_numpy(),
            no_id,
            column=column,
            fix="Give every journey the id of its origin and of its site",
        )
    numbers: dict[str, np.ndarray] = {}
    for name in ("origin_x", "origin_y", "site_x", "site_y"):
        column = found[name]
        axis = "easting" if name.endswith("_x") else "northing"
        values = parse_numbers(
            table,
            column,
            minimum=0,
            maximum=700_000 if axis == "easting" else 1_300_000,
            label=f"British National Grid {axis} (metres)",
            fix=_GRID_FIX,
        )

        def no_position(pos: int, name: str = name, axis: str = axis) -> str:
            return f"the journey has no {name} (a British National Grid {axis}, in metres)"

        check_rows(table, values.isna().to_numpy(), no_position, column=column, fix=_GRID_FIX)
        numbers[name] = values.to_numpy(dtype=float)
    numbers["minutes"] = parse_numbers(
        table,
        found["minutes"],
        minimum=0,
        label="number of minutes",
        fix="Give routed minutes as numbers from 0 up; leave the cell blank where there is no "
        "journey",
    ).to_numpy(dtype=float)
    km = (
        np.hypot(numbers["origin_x"] - numbers["site_x"], numbers["origin_y"] - numbers["site_y"])
        / 1000.0
    )
    return pd.DataFrame(
        {
            "group": table[found["origin_id"]].astype("string").str.strip().to_numpy(),
            "site": table[found["site_id"]].astype("string").str.strip().to_numpy(),
            "km": km,
            "minutes": numbers["minutes"],
        }
    )


def estimate_from_pairs(
    path: str | Path,
    *,
    mode: str = "car",
    knots_km: tuple[float, ...] = CAR_KNOTS_KM,
    origins: str | None = None,
    source: str | None = None,
) -> StraightLineEstimate:
    """Fit a straight-line estimate to a table of routed journeys, with its error.

    Parameters
    ----------
    path
        A table of routed journeys (columns in :func:`read_calibration_pairs`).
    mode
        The mode the routed times are for.
    knots_km
        Distances where minutes per km may change.
    origins
        What the origins are, for captions (e.g. ``"55 LSOAs of the county"``);
        by default their number.
    source
        Where the routed times come from, for captions; the file's name by default.

    Returns
    -------
    StraightLineEstimate
        Whose caption says how many journeys it was fitted to, from where, and
        its cross-validated error.

    Raises
    ------
    InputError
        Naming the file (and row and column), if the table is wrong, or if its
        journeys are too few or give an estimate in which a longer journey is
        quicker.

    Warns
    -----
    InputWarning
        As :func:`geomap.io.read_table` does, for cells it reads past (line
        breaks, text decoded twice, ambiguous decimal commas).
    """
    pairs = read_calibration_pairs(path)
    usable = pairs.dropna(subset=["km", "minutes"])
    where = origins or f"{usable['group'].nunique():,} origins"
    basis = (
        f"piecewise-linear, calibrated on {len(usable):,} routed {mode} journeys from {where} "
        f"({source or Path(path).name})"
    )
    try:
        return calibrate_estimate(pairs, mode=mode, knots_km=knots_km, basis=basis)
    except InputError as err:
        if err.path is not None:
            raise
        raise InputError(str(err), path=path) from err


def _car_calibration() -> tuple[Path, dict[str, object]]:
    """Path of geomap's own car calibration table and its provenance."""
    folder = resources.files("geomap") / "_assets"
    table = Path(str(folder / f"{CAR_CALIBRATION_ASSET}.csv"))
    note = json.loads((folder / f"{CAR_CALIBRATION_ASSET}.json").read_text(encoding="utf-8"))
    return table, note


def car_calibration_note() -> str:
    """Where geomap's own car calibration comes from, and its licence.

    Returns
    -------
    str
        The provenance of the routed journeys the default car estimate is fitted to.
    """
    _, note = _car_calibration()
    return f"{note['description']} {note['licence']}"


@functools.lru_cache(maxsize=8)
def default_estimate(mode: str) -> StraightLineEstimate:
    """The built-in estimate for ``car``, ``walk`` or ``bike``.

    Car is calibrated on geomap's own table of routed car journeys (a package
    asset; :func:`car_calibration_note` says where it comes from), so it works
    for any study area; a study area with routed journeys of its own uses
    :func:`estimate_from_pairs`. Walking and cycling are distance ×
    :data:`WALK_DETOUR` at :data:`geomap.settings.WALK_SPEED_KMH` or
    :data:`geomap.settings.BIKE_SPEED_KMH`.

    Parameters
    ----------
    mode
        ``car``, ``walk`` or ``bike``.

    Returns
    -------
    StraightLineEstimate
        The same object for every call with the same mode.

    Raises
    ------
    InputError
        For any other mode.
    """
    if mode == "car":
        table, note = _car_calibration()
        return estimate_from_pairs(
            table, mode="car", origins=str(note["origins"]), source=str(note["source"])
        )
    speeds = {"walk": settings.WALK_SPEED_KMH, "bike": settings.BIKE_SPEED_KMH}
    if mode not in speeds:
        raise InputError(
            f"no straight-line estimate for mode '{mode}'",
            fix="Use car, walk or bike, or give a network or public-transport source",
        )
    speed = speeds[mode]
    return StraightLineEstimate(
        mode=mode,
        intercept=0.0,
        slopes=(60.0 * WALK_DETOUR / speed,),
        basis=f"distance × {WALK_DETOUR} detour at {speed:g} km/h",
    )
