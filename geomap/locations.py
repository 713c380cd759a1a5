"""Turn rows into points: lon/lat, British National Grid, or a postcode.

Every point geomap works with (providers, origins, route stops) comes through
:func:`points_from_table`, which checks each coordinate once, at the boundary,
and names the file, row and column of anything wrong: text where a number
should be, a point outside Great Britain, latitude and longitude swapped,
eastings and northings in lon/lat columns (or the reverse), an unknown
postcode, a vector layer with no or the wrong coordinate reference system.
Results are in British National Grid (EPSG:27700).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import (
    CoordinateError,
    CRSError,
    DuplicateIdError,
    InputError,
    PostcodeError,
)
from geomap.io import check_rows, find_column, raise_missing, read_table, row_number, source_of

logger = logging.getLogger(__name__)

LON_ALIASES = ("lon", "longitude", "lng", "long", "x_lon")
LAT_ALIASES = ("lat", "latitude", "y_lat")
EASTING_ALIASES = ("easting", "eastings", "bng_e", "os_easting", "x_bng", "grid_easting")
NORTHING_ALIASES = ("northing", "northings", "bng_n", "os_northing", "y_bng", "grid_northing")
POSTCODE_ALIASES = ("postcode", "post_code", "postal_code", "pcds", "pcd", "postcode_")

#: Great Britain, generously: lon/lat box and British National Grid box.
GB_LON = (-8.8, 1.9)
GB_LAT = (49.8, 60.95)
GB_EASTING = (0.0, 700_000.0)
GB_NORTHING = (0.0, 1_250_000.0)


def normalise_postcode(value: str) -> str:
    """Postcode folded for lookup: upper case, no spaces (``"hr1 1aa"`` → ``"HR11AA"``)."""
    return "".join(str(value).upper().split())


@functools.lru_cache(maxsize=4)
def _postcode_table(path: str) -> dict[str, tuple[float, float]]:
    table = read_table(path, what="postcode lookup")
    pc = find_column(table, POSTCODE_ALIASES)
    east = find_column(table, EASTING_ALIASES)
    north = find_column(table, NORTHING_ALIASES)
    if pc is None or east is None or north is None:
        raise InputError(
            "a postcode lookup needs postcode, easting and northing columns",
            path=path,
            fix="Use OS Code-Point Open or ONS Postcode Directory columns",
        )
    e = pd.to_numeric(table[east], errors="coerce")
    n = pd.to_numeric(table[north], errors="coerce")
    good = e.notna() & n.notna() & (e > 0) & (n > 0)
    keys = table.loc[good, pc].map(normalise_postcode)
    return dict(
        zip(keys, zip(e[good].astype(float), n[good].astype(float), strict=True), strict=True)
    )


def postcode_lookup(path: str | Path | None = None) -> dict[str, tuple[float, float]]:
    """Postcode → (easting, northing) from OS Code-Point Open (the shipped extract by default).

    The shipped extract covers HR postcodes and the neighbouring districts. Pass a
    fuller Code-Point Open or ONS Postcode Directory CSV for other areas.
    """
    return _postcode_table(str(path or settings.shipped("postcodes")))


def points_from_table(
    table: pd.DataFrame | gpd.GeoDataFrame,
    *,
    postcodes: str | Path | None = None,
    what: str = "points",
    also_within: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Locate each row of ``table`` and return a GeoDataFrame in EPSG:27700.

    A row is located, in this order of preference, by ``lon``/``lat``, by
    ``easting``/``northing`` (British National Grid), or by ``postcode`` looked
    up offline. Vector layers use their own point geometry (polygons give their
    representative point).

    Parameters
    ----------
    table
        Rows as read by :func:`geomap.io.read_table`.
    postcodes
        Postcode lookup CSV; the shipped Code-Point Open extract by default.
    what
        What the rows are, for messages ("provider list").
    also_within
        A lon/lat box ``(left, bottom, right, top)`` where points are accepted
        besides Great Britain, e.g. the extent of a network being routed on.

    Returns
    -------
    geopandas.GeoDataFrame
        The input columns plus ``location_source`` (``lonlat``, ``bng``,
        ``postcode`` or ``geometry``), in EPSG:27700.

    Raises
    ------
    CoordinateError, PostcodeError, CRSError, MissingColumnError
        Naming the file, row and column and how to fix it.
    """
    path = source_of(table)
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.notna().any():
        return _points_from_geometry(table, what=what, also_within=also_within)

    lon_c, lat_c = find_column(table, LON_ALIASES), find_column(table, LAT_ALIASES)
    east_c, north_c = find_column(table, EASTING_ALIASES), find_column(table, NORTHING_ALIASES)
    pc_c = find_column(table, POSTCODE_ALIASES)
    if (lon_c is None) != (lat_c is None):
        missing = "lat" if lat_c is None else "lon"
        raise CoordinateError(
            f"the {what} has a {'lon' if lat_c is None else 'lat'} column but no {missing} column",
            path=path,
            column=missing,
            fix="Give both lon and lat (WGS84 degrees)",
        )
    if (east_c is None) != (north_c is None):
        missing = "northing" if north_c is None else "easting"
        raise CoordinateError(
            f"the {what} has one British National Grid column but no {missing} column",
            path=path,
            column=missing,
            fix="Give both easting and northing (metres, EPSG:27700)",
        )
    if lon_c is None and east_c is None and pc_c is None:
        raise_missing(
            table,
            "lon/lat",
            what="for locations: lon and lat, easting and northing, or postcode",
            fix="Add coordinates (WGS84 lon/lat or British National Grid easting/northing) "
            "or a postcode column",
        )

    n = len(table)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    source = np.full(n, "", dtype=object)

    if lon_c is not None and lat_c is not None:
        lon = _numbers(table, lon_c, what=what)
        lat = _numbers(table, lat_c, what=what)
        have = lon.notna() & lat.notna()
        extra = pd.Series(False, index=table.index)
        if also_within is not None:
            extra = _within(lon, (also_within[0], also_within[2])) & _within(
                lat, (also_within[1], also_within[3])
            )
        _check_lonlat(table, lon, lat, have & ~extra, lon_c, lat_c)
        if have.any():
            pts = gpd.GeoSeries(
                gpd.points_from_xy(lon[have], lat[have]), crs=settings.LONLAT_CRS
            ).to_crs(settings.MEASURE_CRS)
            x[have.to_numpy()] = pts.x.to_numpy()
            y[have.to_numpy()] = pts.y.to_numpy()
            source[have.to_numpy()] = "lonlat"

    if east_c is not None and north_c is not None:
        east = _numbers(table, east_c, what=what)
        north = _numbers(table, north_c, what=what)
        todo = np.isnan(x) & east.notna().to_numpy() & north.notna().to_numpy()
        todo_s = pd.Series(todo, index=table.index)
        _check_bng(table, east, north, todo_s, east_c, north_c)
        x[todo] = east[todo_s].to_numpy(dtype=float)
        y[todo] = north[todo_s].to_numpy(dtype=float)
        source[todo] = "bng"

    if pc_c is not None:
        todo = np.isnan(x) & table[pc_c].notna().to_numpy()
        if todo.any():
            lookup = postcode_lookup(postcodes)
            for found in np.flatnonzero(todo):
                pos = int(found)
                raw = table[pc_c].iloc[pos]
                hit = lookup.get(normalise_postcode(raw))
                if hit is None:
                    raise PostcodeError(
                        f"unknown postcode '{raw}'",
                        path=path,
                        row=row_number(table, pos),
                        column=pc_c,
                        fix="Check it for typing errors; the shipped lookup covers HR "
                        "postcodes and neighbouring districts. Give easting/northing or "
                        "lon/lat instead, or a fuller lookup with --postcodes",
                    )
                x[pos], y[pos] = hit
                source[pos] = "postcode"

    unlocated = np.flatnonzero(np.isnan(x))
    if unlocated.size:
        pos = int(unlocated[0])
        cols = [c for c in (lon_c, lat_c, east_c, north_c, pc_c) if c is not None]
        raise CoordinateError(
            f"no location in this row ({unlocated.size} row(s) have none)",
            path=path,
            row=row_number(table, pos),
            column=cols[0],
            fix=f"Fill in {' or '.join(cols)} for every row",
        )
    out = gpd.GeoDataFrame(
        table.copy(),
        geometry=gpd.points_from_xy(x, y),
        crs=settings.MEASURE_CRS,
    )
    out["location_source"] = source.astype(str)
    out.attrs.update(table.attrs)
    return out


def _numbers(table: pd.DataFrame, column: str, *, what: str) -> pd.Series:
    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & values.isna()
    check_rows(
        table,
        bad,
        lambda pos: f"'{raw.iloc[pos]}' is not a number",
        column=column,
        fix="Coordinates must be plain numbers (decimal degrees for lon/lat, "
        "metres for easting/northing)",
        error=CoordinateError,
    )
    return values.astype(float)


def _within(values: pd.Series, bounds: tuple[float, float]) -> pd.Series:
    return (values >= bounds[0]) & (values <= bounds[1])


def _check_lonlat(
    table: pd.DataFrame,
    lon: pd.Series,
    lat: pd.Series,
    have: pd.Series,
    lon_c: str,
    lat_c: str,
) -> None:
    path = source_of(table)
    ok = _within(lon, GB_LON) & _within(lat, GB_LAT)
    bad = have & ~ok
    if not bad.any():
        return
    pos = int(np.flatnonzero(bad.to_numpy())[0])
    lo, la = float(lon.iloc[pos]), float(lat.iloc[pos])
    row = row_number(table, pos)
    if _within(pd.Series([la]), GB_LON).all() and _within(pd.Series([lo]), GB_LAT).all():
        raise CoordinateError(
            f"latitude and longitude look swapped (lon={lo:g}, lat={la:g})",
            path=path,
            row=row,
            column=lon_c,
            fix=f"In Great Britain longitude is about -8 to 2 and latitude 50 to 61; "
            f"swap the '{lon_c}' and '{lat_c}' columns",
        )
    if abs(lo) > 180 or abs(la) > 90:
        if (
            _within(pd.Series([lo]), GB_EASTING).all()
            and _within(pd.Series([la]), GB_NORTHING).all()
        ):
            raise CoordinateError(
                f"({lo:g}, {la:g}) look like British National Grid easting/northing "
                "in lon/lat columns",
                path=path,
                row=row,
                column=lon_c,
                fix="Rename the columns to 'easting' and 'northing' (metres, EPSG:27700)",
            )
        raise CoordinateError(
            f"({lo:g}, {la:g}) is not a longitude/latitude",
            path=path,
            row=row,
            column=lon_c,
            fix="Give WGS84 decimal degrees",
        )
    raise CoordinateError(
        f"({lo:g}, {la:g}) is outside Great Britain",
        path=path,
        row=row,
        column=lon_c,
        fix="Check the coordinates; geomap works with places in Great Britain",
    )


def _check_bng(
    table: pd.DataFrame,
    east: pd.Series,
    north: pd.Series,
    have: pd.Series,
    east_c: str,
    north_c: str,
) -> None:
    ok = _within(east, GB_EASTING) & _within(north, GB_NORTHING)
    bad = have & ~ok
    # eastings and northings below 1,000 m are lon/lat in the wrong columns
    looks_degrees = have & (east.abs() <= 180) & (north.abs() <= 90)
    check_rows(
        table,
        looks_degrees,
        lambda pos: (
            f"({east.iloc[pos]:g}, {north.iloc[pos]:g}) look like longitude/latitude in "
            "easting/northing columns"
        ),
        column=east_c,
        fix="Rename the columns to 'lon' and 'lat' (WGS84 degrees)",
        error=CoordinateError,
    )
    for column, wrong in ((east_c, have & ~_within(east, GB_EASTING)), (north_c, bad)):
        check_rows(
            table,
            wrong,
            lambda pos: f"({east.iloc[pos]:g}, {north.iloc[pos]:g}) is outside Great Britain",
            column=column,
            fix="British National Grid eastings run 0-700,000 m and northings "
            "0-1,250,000 m; check for missing or extra digits",
            error=CoordinateError,
        )


def _points_from_geometry(
    layer: gpd.GeoDataFrame,
    *,
    what: str,
    also_within: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    path = source_of(layer)
    if layer.crs is None:
        raise CRSError(
            f"the {what} layer has no coordinate reference system",
            path=path,
            fix="Set one (e.g. EPSG:27700 or EPSG:4326) when saving it, or give a CSV "
            "with lon/lat or easting/northing columns",
        )
    empty = layer.geometry.isna() | layer.geometry.is_empty
    check_rows(
        layer,
        empty,
        lambda _pos: "this feature has no geometry",
        column="geometry",
        fix="Give every feature a point",
        error=CoordinateError,
    )
    check_crs_plausible(layer, what=what)
    points = layer.copy()
    if not (points.geom_type == "Point").all():
        points.geometry = points.geometry.representative_point()
        logger.info("%s: non-point features located at their representative point", path)
    points = points.to_crs(settings.MEASURE_CRS)
    x, y = points.geometry.x, points.geometry.y
    bad = ~(_within(x, GB_EASTING) & _within(y, GB_NORTHING))
    if also_within is not None:
        lonlat = points.geometry.to_crs(settings.LONLAT_CRS)
        bad &= ~(
            _within(lonlat.x, (also_within[0], also_within[2]))
            & _within(lonlat.y, (also_within[1], also_within[3]))
        )
    check_rows(
        layer,
        bad,
        lambda _pos: "this feature is outside Great Britain",
        column="geometry",
        fix="Check the layer's coordinates and coordinate reference system",
        error=CoordinateError,
    )
    points["location_source"] = "geometry"
    points.attrs.update(layer.attrs)
    return points


def check_crs_plausible(layer: gpd.GeoDataFrame, *, what: str) -> None:
    """Raise :class:`CRSError` if the coordinates cannot be in the layer's declared CRS.

    Catches the common mistake of British National Grid metres saved in a file
    that declares WGS84 degrees (or the reverse).
    """
    path = source_of(layer)
    if layer.crs is None:
        raise CRSError(
            f"the {what} layer has no coordinate reference system",
            path=path,
            fix="Set one (e.g. EPSG:27700 or EPSG:4326) when saving it",
        )
    minx, miny, maxx, maxy = layer.total_bounds
    if layer.crs.is_geographic and (
        max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90
    ):
        raise CRSError(
            f"the {what} layer declares {layer.crs.to_string()} (degrees) but its "
            f"coordinates reach ({maxx:.0f}, {maxy:.0f}), which look like metres",
            path=path,
            fix="Re-save it with its true CRS (British National Grid is EPSG:27700)",
        )
    if (
        layer.crs.is_projected
        and max(abs(minx), abs(maxx)) <= 180
        and max(abs(miny), abs(maxy)) <= 90
    ):
        raise CRSError(
            f"the {what} layer declares {layer.crs.to_string()} (metres) but its "
            f"coordinates stay within ({maxx:g}, {maxy:g}), which look like degrees",
            path=path,
            fix="Re-save it with its true CRS (WGS84 lon/lat is EPSG:4326)",
        )


def read_points(
    path: str | Path,
    *,
    id_column: str | None = None,
    postcodes: str | Path | None = None,
    what: str = "points",
    also_within: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Read a CSV or vector file of points with an ``id`` column.

    Returns a GeoDataFrame in EPSG:27700 whose ``id`` column holds unique text ids.
    ``also_within`` is as for :func:`points_from_table`.
    """
    table = read_table(path, what=what)
    points = points_from_table(table, postcodes=postcodes, what=what, also_within=also_within)
    id_c = find_column(points, ("id",), explicit=id_column)
    if id_c is None:
        raise_missing(points, "id", what="'id'", fix="Add an id column with a unique value per row")
    points["id"] = points[id_c].astype("string").str.strip()
    check_unique_ids(points, "id", what=what)
    return points


def check_unique_ids(table: pd.DataFrame, column: str, *, what: str) -> None:
    """Raise if ids are blank or repeated, naming the rows."""
    ids = table[column]
    blank = ids.isna() | (ids.astype("string").str.strip() == "")
    check_rows(
        table,
        blank,
        lambda pos: "blank id",
        column=column,
        fix=f"Give every row of the {what} an id",
    )
    dup = ids.duplicated(keep=False)
    if dup.any():
        positions = np.flatnonzero(dup.to_numpy())
        first = ids.iloc[int(positions[0])]
        rows = [row_number(table, int(p)) for p in positions if ids.iloc[int(p)] == first]
        raise DuplicateIdError(
            f"id '{first}' appears in rows {', '.join(map(str, rows))}",
            path=source_of(table),
            row=rows[1],
            column=column,
            fix="Ids must be unique: remove the repeated row or give it its own id",
        )


@functools.lru_cache(maxsize=1)
def _county() -> gpd.GeoSeries:
    lsoa = gpd.read_file(settings.shipped("lsoa21"), engine="pyogrio").to_crs(settings.MEASURE_CRS)
    return gpd.GeoSeries([lsoa.union_all()], crs=settings.MEASURE_CRS)


def county_boundary() -> gpd.GeoSeries:
    """Herefordshire's boundary (the shipped 2021 LSOAs, dissolved) in EPSG:27700."""
    return _county().copy()
