"""The travel-time interface every source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import CRSError, InputError

#: Columns of every travel-time table.
TIME_COLUMNS = ("from_id", "to_id", "minutes", "method")

#: Travel modes geomap knows.
MODES = ("car", "walk", "bike", "pt")


def check_points(points: gpd.GeoDataFrame, *, what: str) -> None:
    """Raise unless ``points`` has unique ``id`` values and points in EPSG:27700."""
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


class TravelTimes(ABC):
    """A source of travel times from origins to destinations, in minutes.

    Subclasses implement :meth:`matrix`; :meth:`nearest` defaults to the
    minimum of the matrix and may be overridden by a faster method.
    """

    #: car, walk, bike or pt
    mode: str
    #: what the times are based on, for tables: ``estimate:car``, ``network:drive`` ...
    method: str

    @abstractmethod
    def describe(self) -> str:
        """One or two sentences for captions: what the times are based on and how wrong they can be."""

    @abstractmethod
    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Minutes from every origin to every destination, long form (``TIME_COLUMNS``)."""

    def nearest(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Minutes from each origin to its nearest destination, and which destination.

        Returns
        -------
        pandas.DataFrame
            One row per origin, in origin order: ``from_id``, ``to_id`` (missing
            when no destination can be reached), ``minutes`` (NaN then) and ``method``.
        """
        check_points(origins, what="origins")
        check_points(destinations, what="destinations")
        if len(destinations) == 0:
            return pd.DataFrame(
                {
                    "from_id": origins["id"].to_numpy(),
                    "to_id": pd.array([None] * len(origins), dtype="string"),
                    "minutes": np.full(len(origins), np.nan),
                    "method": self.method,
                }
            )
        times = self.matrix(origins, destinations)
        reachable = times.dropna(subset=["minutes"])
        best = reachable.loc[reachable.groupby("from_id", sort=False)["minutes"].idxmin()]
        best = best.set_index("from_id").reindex(origins["id"].to_numpy())
        return pd.DataFrame(
            {
                "from_id": origins["id"].to_numpy(),
                "to_id": best["to_id"].astype("string").to_numpy(),
                "minutes": best["minutes"].to_numpy(dtype=float),
                "method": self.method,
            }
        )
