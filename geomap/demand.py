"""Demand: children by age band per small area, and one origin point per area.

The shipped table is ONS's mid-2020 small-area population estimates by single
year of age for Herefordshire's 116 LSOAs (2011 boundaries). Each area's
journeys start from one origin point, chosen in this order and recorded in
``origin_source``:

1. ``trip_point``: the routing trip point (a point on a named road near the
   population-weighted centroid) that the shipped routed travel times used;
2. ``population_weighted_centroid``: ONS's population-weighted centroid;
3. ``label_point``: ONS's label point, which is not population-weighted;
4. ``representative_point``: a point inside the polygon, as a last resort.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import InputError
from geomap.io import check_rows, find_column, raise_missing, read_table
from geomap.locations import check_unique_ids

ORIGIN_SOURCES = (
    "trip_point",
    "population_weighted_centroid",
    "label_point",
    "representative_point",
)


def load_population(path: str | Path | None = None) -> pd.DataFrame:
    """Read a single-year-of-age population table.

    Parameters
    ----------
    path
        CSV with an area code column (``lsoa11_code``, ``area_id``, ``code``)
        and columns ``age_0`` … ``age_90+``; the shipped ONS mid-2020 table by default.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``area_id``; columns ``age_0`` … (integers), plus
        ``total_population`` and the ONS label point where the file has them.
    """
    path = Path(path) if path is not None else settings.shipped("population")
    table = read_table(path, what="population table")
    id_c = find_column(
        table, ("area_id", "lsoa11_code", "lsoa21_code", "lsoa11cd", "lsoa21cd", "code")
    )
    if id_c is None:
        raise_missing(table, "area_id", what="of area codes ('area_id')")
    ages = [c for c in table.columns if c.startswith("age_") and c[4:].rstrip("+").isdigit()]
    if not ages:
        raise_missing(table, "age_0", what="of single years of age ('age_0', 'age_1', ...)")
    out = pd.DataFrame({"area_id": table[id_c].astype("string").str.strip()})
    out.attrs.update(table.attrs)
    check_unique_ids(out, "area_id", what="population table")
    for column in ages:
        raw = table[column]
        values = pd.to_numeric(raw.str.replace(",", ""), errors="coerce")

        def not_a_count(pos: int, raw: pd.Series = raw) -> str:
            return f"'{raw.iloc[pos]}' is not a count of people"

        check_rows(
            table,
            values.isna() | (values < 0),
            not_a_count,
            column=column,
            fix="Give whole numbers, 0 where there is nobody",
        )
        out[column] = values.astype(int)
    for extra in ("total_population", "label_pt_easting", "label_pt_northing"):
        if extra in table.columns:
            out[extra] = pd.to_numeric(table[extra], errors="coerce")
    out = out.set_index("area_id")
    out.attrs.update(table.attrs)
    return out


def single_ages(population: pd.DataFrame) -> pd.DataFrame:
    """The single-year columns as a frame with integer column labels (90+ as 90)."""
    ages = [c for c in population.columns if c.startswith("age_") and c[4:].rstrip("+").isdigit()]
    frame = population[ages].copy()
    frame.columns = [int(c[4:].rstrip("+")) for c in ages]
    return frame


def children_by_band(
    population: pd.DataFrame,
    *,
    bands: dict[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Sum single years into age bands.

    Parameters
    ----------
    population
        From :func:`load_population`.
    bands
        Name → (first age, last age), inclusive; :data:`geomap.settings.AGE_BANDS`
        by default (one band per provider kind).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``area_id``; one column per band.
    """
    bands = dict(settings.AGE_BANDS) if bands is None else bands
    ages = single_ages(population)
    out = pd.DataFrame(index=population.index)
    for name, (low, high) in bands.items():
        if low > high:
            raise InputError(
                f"age band {name} runs from {low} to {high}", fix="Give first age <= last age"
            )
        cols = [a for a in ages.columns if low <= int(a) <= high]
        out[name] = ages[cols].sum(axis=1).astype(int)
    return out


def origin_points(
    areas: gpd.GeoDataFrame,
    *,
    trip_points: str | Path | None = None,
    centroids: str | Path | None = None,
    population: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """One origin point per area, and where it came from.

    Parameters
    ----------
    areas
        Areas with ``area_id`` (EPSG:27700).
    trip_points, centroids
        Point files keyed by area code (shipped LSOA 2011 files by default).
    population
        Population table with ONS label points (``label_pt_easting``/``northing``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id``, ``origin_source`` and the point, aligned with ``areas``.
    """
    ids = areas["area_id"].to_numpy()
    x = np.full(len(ids), np.nan)
    y = np.full(len(ids), np.nan)
    source = np.full(len(ids), "", dtype=object)

    def fill(points: pd.DataFrame, label: str) -> None:
        todo = np.isnan(x)
        hit = pd.Index(points.index).get_indexer(ids)
        use = todo & (hit >= 0)
        x[use] = points["x"].to_numpy()[hit[use]]
        y[use] = points["y"].to_numpy()[hit[use]]
        source[use] = label

    for path, label in (
        (trip_points or settings.shipped("trip_points11"), "trip_point"),
        (centroids or settings.shipped("pwc11"), "population_weighted_centroid"),
    ):
        fill(points_by_code(path), label)
    if population is not None and {"label_pt_easting", "label_pt_northing"} <= set(
        population.columns
    ):
        label_pts = pd.DataFrame(
            {"x": population["label_pt_easting"], "y": population["label_pt_northing"]}
        ).dropna()
        fill(label_pts, "label_point")
    rest = np.isnan(x)
    if rest.any():
        rep = areas.geometry.representative_point()
        x[rest] = rep.x.to_numpy()[rest]
        y[rest] = rep.y.to_numpy()[rest]
        source[rest] = "representative_point"
    return gpd.GeoDataFrame(
        {"area_id": ids, "origin_source": source.astype(str)},
        geometry=gpd.points_from_xy(x, y),
        crs=settings.MEASURE_CRS,
        index=areas.index,
    )


def points_by_code(path: str | Path) -> pd.DataFrame:
    """Read a point file keyed by area code into a frame of ``x``, ``y`` (EPSG:27700) indexed by code."""
    layer = read_table(path, what="origin points")
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError("origin points must be a point layer", path=path)
    code = find_column(layer, ("lsoa11cd", "lsoa21cd", "area_id", "code", "id"))
    if code is None:
        raise_missing(layer, "area_id", what="of area codes")
    pts = layer.to_crs(settings.MEASURE_CRS)
    return pd.DataFrame(
        {"x": pts.geometry.x.to_numpy(), "y": pts.geometry.y.to_numpy()},
        index=pts[code].astype("string").to_numpy(),
    )
