"""Turn rows into points: lon/lat, British National Grid, or a postcode.

Every point geomap works with (providers, origins, route stops) comes through
:func:`points_from_table`, which checks each coordinate once, at the boundary,
and names the file, row and column of anything wrong: text where a number
should be, a point outside Great Britain, latitude and longitude swapped,
eastings and northings in lon/lat columns (or the reverse), an unknown
postcode, a vector layer with no or the wrong coordinate reference system, a
multi-part point whose parts are far apart, a polygon too large to be one site.
Results are in British National Grid (EPSG:27700). A single point given in
code or in a document (a scenario's stop: ``{"lon": ..., "lat": ...}`` or
``{"postcode": ...}``) goes through the same checks with :func:`locate_point`.
Numbers are read by :func:`geomap.schema.parse_numbers`. Postcodes are looked up
in the study area's postcode lookup, passed in as ``postcodes``; there is none
by default.

"Great Britain" is the real outline of England, Scotland and Wales and their
islands (``data/boundaries/great_britain_outline_ne10m.geojson``, built from
Natural Earth by ``build_gb_outline.py`` beside it), widened by the margin that
file records (12 km) so that coastal schools, piers and the small islands
Natural Earth leaves out pass. Northern Ireland, the Isle of Man and the
Channel Islands are outside it. A lon/lat and a grid box (``GB_LON``,
``GB_LAT``, ``GB_EASTING``, ``GB_NORTHING``) are still used to recognise
swapped latitude and longitude and grid references in lon/lat columns.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geomap import settings
from geomap.errors import (
    CoordinateError,
    CRSError,
    DuplicateIdError,
    InputError,
    InputWarning,
    PostcodeError,
)
from geomap.io import check_rows, find_column, raise_missing, read_table, row_number, source_of
from geomap.schema import parse_numbers

logger = logging.getLogger(__name__)

LON_ALIASES = ("lon", "longitude", "lng", "long", "x_lon")
LAT_ALIASES = ("lat", "latitude", "y_lat")
EASTING_ALIASES = ("easting", "eastings", "bng_e", "os_easting", "x_bng", "grid_easting")
NORTHING_ALIASES = ("northing", "northings", "bng_n", "os_northing", "y_bng", "grid_northing")
POSTCODE_ALIASES = ("postcode", "post_code", "postal_code", "pcds", "pcd", "postcode_")

#: Great Britain, generously: lon/lat box and British National Grid box. Used to
#: recognise swapped or misplaced coordinates; whether a point is in Great
#: Britain is decided by :func:`in_great_britain`.
GB_LON = (-8.8, 1.9)
GB_LAT = (49.8, 60.95)
GB_EASTING = (0.0, 700_000.0)
GB_NORTHING = (0.0, 1_250_000.0)

#: The outline of Great Britain (EPSG:27700), relative to :func:`geomap.settings.data_dir`.
GB_OUTLINE = ("boundaries", "great_britain_outline_ne10m.geojson")

#: What a point outside the outline is told is not covered.
GB_NOT_COVERED = "Northern Ireland, the Isle of Man and the Channel Islands are not covered"

#: A multi-part point feature is taken as one place (at the centre of its parts)
#: only if its parts fit in a circle this many metres across: one site drawn twice.
MULTIPOINT_SPREAD_M = 250.0

#: A polygon or line given as a location (a school site drawn as a polygon) must
#: fit in a circle this many metres across; it is located at a point inside it.
SITE_SIZE_M = 5_000.0

#: How to fix a row that gives only a postcode when there is no postcode lookup.
NEED_LOOKUP = (
    "Give the study area a postcode lookup (OS Code-Point Open or the ONS Postcode "
    "Directory), or give lon/lat or easting/northing for these rows"
)

#: Columns that may identify a feature in messages about it.
_ID_ALIASES = ("id", "urn", "provider_id", "provider_urn", "setting_id", "site_id", "code")


def normalise_postcode(value: str) -> str:
    """Postcode folded for lookup: upper case, no spaces (``"hr1 1aa"`` → ``"HR11AA"``).

    Parameters
    ----------
    value
        A postcode as typed in a file, in any case and spacing.

    Returns
    -------
    str
        The postcode as the keys of :func:`postcode_lookup` spell it.
    """
    return "".join(str(value).upper().split())


def normalise_postcodes(values: pd.Series) -> np.ndarray:
    """:func:`normalise_postcode` of every value of a column, in one pass.

    Parameters
    ----------
    values
        Postcodes as read (a missing value is folded as its text, as
        :func:`normalise_postcode` folds it).

    Returns
    -------
    numpy.ndarray
        The folded postcodes, as an object array aligned with ``values``.
    """
    # the column's values as Python objects at once: iterating a pyarrow-backed
    # column converts them one at a time
    return np.array(
        ["".join(str(value).upper().split()) for value in values.to_numpy(dtype=object)],
        dtype=object,
    )


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
    # Not parse_numbers, on purpose: a national lookup (ONSPD, Code-Point Open) has
    # millions of rows, some without a usable grid reference (blank, 0, or a stray
    # word); those postcodes are left out rather than the whole lookup refused.
    e = pd.to_numeric(table[east], errors="coerce")
    n = pd.to_numeric(table[north], errors="coerce")
    good = e.notna() & n.notna() & (e > 0) & (n > 0)
    keys = normalise_postcodes(table.loc[good, pc])
    return dict(
        zip(keys, zip(e[good].astype(float), n[good].astype(float), strict=True), strict=True)
    )


def postcode_lookup(path: str | Path) -> dict[str, tuple[float, float]]:
    """Postcode → (easting, northing) from a postcode lookup CSV.

    Parameters
    ----------
    path
        OS Code-Point Open or ONS Postcode Directory CSV, with postcode,
        easting and northing columns (the study area's postcode lookup).

    Returns
    -------
    dict
        Postcodes folded by :func:`normalise_postcode` → British National Grid
        (easting, northing) in metres. Rows without a grid reference are left out.

    Raises
    ------
    InputError
        If the file cannot be read or lacks the three columns.

    Warns
    -----
    InputWarning
        As :func:`geomap.io.read_table` does, for cells it reads past.
    """
    return _postcode_table(str(path))


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
        Postcode lookup CSV (see :func:`postcode_lookup`). Without one, a row
        that gives only a postcode is a :class:`~geomap.errors.PostcodeError`.
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

    Warns
    -----
    InputWarning
        When features of a vector layer are MultiPoints whose parts lie close
        together (one site drawn more than once); each is located at the
        centre of its parts.
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
    # rows to check against the outline of Great Britain, once all are located
    check = np.zeros(n, dtype=bool)

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
            check |= (have & ~extra).to_numpy()

    if east_c is not None and north_c is not None:
        east = _numbers(table, east_c, what=what)
        north = _numbers(table, north_c, what=what)
        todo = np.isnan(x) & east.notna().to_numpy() & north.notna().to_numpy()
        todo_s = pd.Series(todo, index=table.index)
        _check_bng(table, east, north, todo_s, east_c, north_c)
        x[todo] = east[todo_s].to_numpy(dtype=float)
        y[todo] = north[todo_s].to_numpy(dtype=float)
        source[todo] = "bng"
        check |= todo

    if pc_c is not None:
        todo = np.isnan(x) & table[pc_c].notna().to_numpy()
        if todo.any():
            if postcodes is None:
                pos = int(np.flatnonzero(todo)[0])
                raise PostcodeError(
                    f"this row gives only a postcode ('{table[pc_c].iloc[pos]}'), and no "
                    f"postcode lookup was given to place it ({int(todo.sum())} row(s) of the "
                    f"{what} need one)",
                    path=path,
                    row=row_number(table, pos),
                    column=pc_c,
                    fix=NEED_LOOKUP,
                )
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
                        fix="Check it for typing errors, and that the postcode lookup "
                        "covers this area. Give easting/northing or lon/lat instead, or a "
                        "fuller lookup with --postcodes",
                    )
                x[pos], y[pos] = hit
                source[pos] = "postcode"
                check[pos] = True

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
    _check_in_great_britain(
        table,
        x,
        y,
        check,
        source=source,
        columns={"lonlat": lon_c, "bng": east_c, "postcode": pc_c},
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
    return parse_numbers(
        table,
        column,
        finite=False,
        label="coordinate",
        fix="Coordinates must be plain numbers (decimal degrees for lon/lat, "
        "metres for easting/northing)",
        error=CoordinateError,
    )


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
    km = _km_from_great_britain(lo, la, lonlat=True)
    raise CoordinateError(
        f"({lo:g}, {la:g}) is outside Great Britain ({_how_far(km)})",
        path=path,
        row=row,
        column=lon_c,
        fix=_OUTSIDE_FIX,
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
    """One point per feature of a vector layer, checked, in EPSG:27700.

    A point is itself. A multi-part point is one place only if its parts fit in
    a circle :data:`MULTIPOINT_SPREAD_M` across (one site drawn twice): it is
    located at their centre, and such features are counted in an
    :class:`~geomap.errors.InputWarning`; wider ones are refused. A polygon or
    line (a site drawn as an area) is located at a point inside it if it fits
    in a circle :data:`SITE_SIZE_M` across, and refused otherwise.
    """
    path = source_of(layer)
    if layer.crs is None:
        raise CRSError(
            f"the {what} layer has no coordinate reference system",
            path=path,
            fix="Set one (e.g. EPSG:27700 or EPSG:4326) when saving it, or give a CSV "
            "with lon/lat or easting/northing columns",
        )
    given = np.asarray(layer.geometry.array, dtype=object)
    empty = shapely.is_missing(given) | shapely.is_empty(given)
    check_rows(
        layer,
        empty,
        lambda _pos: "this feature has no geometry",
        column="geometry",
        fix="Give every feature a point",
        error=CoordinateError,
    )
    coords, owner = shapely.get_coordinates(given, return_index=True)
    not_finite = np.zeros(len(given), dtype=bool)
    not_finite[owner[~np.isfinite(coords).all(axis=1)]] = True
    check_rows(
        layer,
        not_finite,
        lambda pos: f"this feature{_ident(layer, pos)} has a coordinate that is not a number",
        column="geometry",
        fix="Give every feature a point with numeric coordinates",
        error=CoordinateError,
    )
    check_crs_plausible(layer, what=what)
    points = layer.to_crs(settings.MEASURE_CRS)
    measured = np.asarray(points.geometry.array, dtype=object)
    kind = shapely.get_type_id(measured)
    located = measured.copy()

    multi = kind == shapely.GeometryType.MULTIPOINT
    if multi.any():
        spread = np.zeros(len(measured))
        spread[multi] = 2 * shapely.minimum_bounding_radius(measured[multi])
        parts = shapely.get_num_geometries(measured)
        check_rows(
            layer,
            multi & (spread > MULTIPOINT_SPREAD_M),
            lambda pos: (
                f"this feature{_ident(layer, pos)} is a MultiPoint of {parts[pos]} points "
                f"spread over {spread[pos] / 1000:,.1f} km, so it is not one place"
            ),
            column="geometry",
            fix=f"Give one point per provider (parts within {MULTIPOINT_SPREAD_M:g} m of each "
            "other are taken as one site): split the parts into separate rows, each with its "
            "own id, or keep the one that is right",
            error=CoordinateError,
        )
        located[multi] = shapely.centroid(measured[multi])
        several = multi & (parts > 1)
        if several.any():
            warnings.warn(
                f"{path or 'the ' + what}: {int(several.sum())} feature(s) are MultiPoints "
                f"whose parts lie within {MULTIPOINT_SPREAD_M:g} m of each other (one site "
                f"drawn more than once); each is located at the centre of its parts: "
                f"{_some_rows(layer, several)}",
                InputWarning,
                stacklevel=3,
            )

    other = ~multi & (kind != shapely.GeometryType.POINT)
    if other.any():
        shapes = measured[other]
        broken = ~shapely.is_valid(shapes)
        shapes[broken] = shapely.make_valid(shapes[broken])
        size = np.zeros(len(measured))
        size[other] = 2 * shapely.minimum_bounding_radius(shapes)
        check_rows(
            layer,
            other & (size > SITE_SIZE_M),
            lambda pos: (
                f"this feature{_ident(layer, pos)} is a {measured[pos].geom_type} "
                f"{size[pos] / 1000:,.1f} km across, too large to be the site of one provider"
            ),
            column="geometry",
            fix=f"Give each provider a point, or a site polygon less than {SITE_SIZE_M / 1000:g} km "
            "across; check that this is not an area layer given in place of a list of places",
            error=CoordinateError,
        )
        located[other] = shapely.point_on_surface(shapes)
        logger.info(
            "%s: %d polygon or line feature(s) located at a point inside each",
            path,
            int(other.sum()),
        )

    points[points.geometry.name] = gpd.GeoSeries(
        located, index=points.index, crs=settings.MEASURE_CRS
    )
    x, y = shapely.get_x(located), shapely.get_y(located)
    check = np.ones(len(located), dtype=bool)
    if also_within is not None:
        lonlat = points.geometry.to_crs(settings.LONLAT_CRS)
        check &= ~(
            _within(lonlat.x, (also_within[0], also_within[2]))
            & _within(lonlat.y, (also_within[1], also_within[3]))
        ).to_numpy()
    outside = np.zeros(len(located), dtype=bool)
    if check.any():
        outside[check] = ~in_great_britain(x[check], y[check])

    def _outside_message(pos: int) -> str:
        lon, lat = _to_lonlat(float(x[pos]), float(y[pos]))
        count = int(outside.sum())
        more = f"; {count} features are outside" if count > 1 else ""
        return (
            f"this feature{_ident(layer, pos)} at ({lon:.5f}, {lat:.5f}) is outside Great "
            f"Britain ({_how_far(km_from_great_britain(x[pos : pos + 1], y[pos : pos + 1])[0])}"
            f"{more})"
        )

    check_rows(
        layer,
        outside,
        _outside_message,
        column="geometry",
        fix="Check the layer's coordinates and coordinate reference system; "
        + _OUTSIDE_FIX[0].lower()
        + _OUTSIDE_FIX[1:],
        error=CoordinateError,
    )
    points["location_source"] = "geometry"
    points.attrs.update(layer.attrs)
    return points


def _ident(layer: pd.DataFrame, pos: int) -> str:
    """`` (id X)`` for the feature at ``pos`` when the layer has an id column, else ``""``."""
    column = find_column(layer, _ID_ALIASES)
    if column is None:
        return ""
    value = layer[column].iloc[pos]
    return "" if pd.isna(value) else f" (id {str(value).strip()})"


def _some_rows(layer: pd.DataFrame, mask: np.ndarray, *, limit: int = 5) -> str:
    """Rows where ``mask`` is true, as ``row 3 (id A), row 7 (id B) and 2 more``."""
    positions = np.flatnonzero(mask)
    shown = [f"row {row_number(layer, int(p))}{_ident(layer, int(p))}" for p in positions[:limit]]
    extra = len(positions) - len(shown)
    return ", ".join(shown) + (f" and {extra} more" if extra > 0 else "")


# --------------------------------------------------------------------------- Great Britain

_OUTSIDE_FIX = (
    "Check the coordinates for a typing slip; geomap covers Great Britain (England, "
    "Scotland and Wales and their islands), so leave out places elsewhere"
)


@functools.lru_cache(maxsize=1)
def _gb_outline() -> tuple[shapely.Geometry, float]:
    """The outline of Great Britain (prepared, EPSG:27700) and the margin it was widened by (m)."""
    path = settings.data_path(*GB_OUTLINE)
    if not path.exists():
        # a data folder of the council's own files may lack it: use the one shipped
        path = Path(__file__).resolve().parent.parent.joinpath("data", *GB_OUTLINE)
    if not path.exists():
        raise InputError(
            "the outline of Great Britain that points are checked against is missing",
            path=path,
            fix="Restore data/boundaries/great_britain_outline_ne10m.geojson from geomap, "
            "or rebuild it with data/boundaries/build_gb_outline.py",
        )
    layer = gpd.read_file(path, engine="pyogrio").to_crs(settings.MEASURE_CRS)
    shape = shapely.union_all(np.asarray(layer.geometry.array, dtype=object))
    shapely.prepare(shape)
    margin = float(layer["margin_m"].iloc[0]) if "margin_m" in layer.columns else 0.0
    return shape, margin


def in_great_britain(x: np.ndarray | pd.Series, y: np.ndarray | pd.Series) -> np.ndarray:
    """Whether each British National Grid point (metres) is in Great Britain.

    Great Britain is the outline described in the module docstring: England,
    Scotland, Wales and their islands, with a margin at sea; not Northern
    Ireland, the Isle of Man or the Channel Islands. Vectorised: 50,000 points
    take milliseconds. Missing or infinite coordinates are outside.

    Parameters
    ----------
    x, y
        Eastings and northings, in metres.

    Returns
    -------
    numpy.ndarray
        Booleans, one per point.

    Raises
    ------
    InputError
        If the outline of Great Britain shipped with geomap is missing.
    """
    shape, _margin = _gb_outline()
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    finite = np.isfinite(xs) & np.isfinite(ys)
    inside = np.zeros(xs.shape, dtype=bool)
    inside[finite] = shapely.intersects_xy(shape, xs[finite], ys[finite])
    return inside


def km_from_great_britain(x: np.ndarray | pd.Series, y: np.ndarray | pd.Series) -> np.ndarray:
    """About how far (km) each British National Grid point is from Great Britain's coast.

    0 for points inside :func:`in_great_britain`; measured to the outline and
    adding its margin, so accurate to about a kilometre. Infinite for
    coordinates that are not finite.

    Parameters
    ----------
    x, y
        Eastings and northings, in metres.

    Returns
    -------
    numpy.ndarray
        Kilometres, one per point.

    Raises
    ------
    InputError
        If the outline of Great Britain shipped with geomap is missing.
    """
    shape, margin = _gb_outline()
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    km = np.full(xs.shape, np.inf)
    finite = np.isfinite(xs) & np.isfinite(ys)
    km[finite] = (shapely.distance(shape, shapely.points(xs[finite], ys[finite])) + margin) / 1000
    km[finite & in_great_britain(xs, ys)] = 0.0
    return km


def _how_far(km: float) -> str:
    if not np.isfinite(km) or km > 1000:
        where = "far from its coast"
    else:
        where = f"about {km:,.0f} km from its coast"
    return f"{where}; {GB_NOT_COVERED}"


@functools.lru_cache(maxsize=1)
def _transformers() -> tuple[Transformer, Transformer]:
    return (
        Transformer.from_crs(settings.LONLAT_CRS, settings.MEASURE_CRS, always_xy=True),
        Transformer.from_crs(settings.MEASURE_CRS, settings.LONLAT_CRS, always_xy=True),
    )


def _to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = _transformers()[1].transform(x, y)
    return float(lon), float(lat)


def _km_from_great_britain(a: float, b: float, *, lonlat: bool) -> float:
    """Distance (km) of one point, given as lon/lat or as easting/northing."""
    x, y = _transformers()[0].transform(a, b) if lonlat else (a, b)
    return float(km_from_great_britain(np.array([x]), np.array([y]))[0])


def _check_in_great_britain(
    table: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    check: np.ndarray,
    *,
    source: np.ndarray,
    columns: dict[str, str | None],
) -> None:
    """Raise :class:`CoordinateError` for the first row in ``check`` outside Great Britain."""
    outside = np.zeros(len(x), dtype=bool)
    if check.any():
        outside[check] = ~in_great_britain(x[check], y[check])
    if not outside.any():
        return
    count = int(outside.sum())
    more = f"; {count} rows are outside" if count > 1 else ""

    def message(pos: int) -> str:
        km = km_from_great_britain(x[pos : pos + 1], y[pos : pos + 1])[0]
        kind = source[pos]
        if kind == "lonlat":
            lon, lat = _to_lonlat(float(x[pos]), float(y[pos]))
            at = f"({lon:g}, {lat:g}) is"
        elif kind == "postcode":
            raw = table[columns["postcode"]].iloc[pos]
            at = f"postcode '{raw}' is at ({x[pos]:.0f}, {y[pos]:.0f}) in the postcode lookup,"
        else:
            at = f"({x[pos]:g}, {y[pos]:g}) is"
        return f"{at} outside Great Britain ({_how_far(km)}{more})"

    first = int(np.flatnonzero(outside)[0])
    check_rows(
        table,
        outside,
        message,
        column=columns.get(str(source[first])),
        fix=_OUTSIDE_FIX,
        error=CoordinateError,
    )


def check_crs_plausible(layer: gpd.GeoDataFrame, *, what: str) -> None:
    """Raise :class:`CRSError` if the coordinates cannot be in the layer's declared CRS.

    Catches the common mistake of British National Grid metres saved in a file
    that declares WGS84 degrees (or the reverse).

    Parameters
    ----------
    layer
        A vector layer as read (``attrs`` name the file for messages).
    what
        What the layer is, for messages ("area layer", "boundary").

    Raises
    ------
    CRSError
        If the layer has no CRS, declares degrees but holds coordinates beyond
        ±180/±90, or declares metres but holds only coordinates within them.
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
    sheet: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a table (CSV, workbook) or vector file of points with an ``id`` column.

    Each row is located as :func:`points_from_table` says: by ``lon``/``lat``,
    ``easting``/``northing``, ``postcode`` or the file's own point geometry.

    Parameters
    ----------
    path
        A CSV, workbook or vector file, one row per point (sites, stops,
        proposed settings).
    id_column
        The column of ids; ``id`` by default.
    postcodes
        Postcode lookup CSV (see :func:`postcode_lookup`), needed for rows
        located by postcode.
    what
        What the points are, for messages ("candidate sites").
    also_within
        As for :func:`points_from_table`.
    sheet
        The worksheet of a workbook, or layer of a GeoPackage, to read.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's columns, ``location_source`` and the points in EPSG:27700;
        ``id`` holds unique text ids.

    Raises
    ------
    MissingColumnError
        If there is no id column (or not the one named).
    DuplicateIdError
        If an id is repeated (naming the rows); a blank id is an
        :class:`~geomap.errors.InputError`.
    CoordinateError, PostcodeError, CRSError
        For a row that cannot be located, as for :func:`points_from_table`.

    Warns
    -----
    InputWarning
        As for :func:`points_from_table`.
    """
    table = read_table(path, what=what, sheet=sheet)
    points = points_from_table(table, postcodes=postcodes, what=what, also_within=also_within)
    id_c = find_column(points, ("id",), explicit=id_column)
    if id_c is None:
        raise_missing(points, "id", what="'id'", fix="Add an id column with a unique value per row")
    points["id"] = points[id_c].astype("string").str.strip()
    check_unique_ids(points, "id", what=what)
    return points


def locate_point(
    point: Mapping[str, object],
    *,
    postcodes: str | Path | None = None,
    what: str = "point",
    path: str | Path | None = None,
    row: int | None = None,
    also_within: tuple[float, float, float, float] | None = None,
) -> shapely.Point:
    """Locate one point given in code or in a document (a scenario's stop) in EPSG:27700.

    The point is read exactly as a row of a table is by :func:`points_from_table`:
    by ``lon``/``lat``, by ``easting``/``northing``, or by ``postcode`` (keys
    matched as column names are, so ``longitude`` or ``Post code`` are found
    too), and checked to be in Great Britain.

    Parameters
    ----------
    point
        For example ``{"lon": -2.71, "lat": 52.06}`` or ``{"postcode": "HR1 1DT"}``.
    postcodes
        Postcode lookup CSV, needed for a point given by postcode.
    what
        What the point is, for messages ("route stop 'Ross bus station'").
    path, row
        The file and row (or item number) the point came from, named in messages.
    also_within
        As for :func:`points_from_table`.

    Returns
    -------
    shapely.Point
        The point in British National Grid metres.

    Raises
    ------
    CoordinateError, PostcodeError, MissingColumnError
        As for :func:`points_from_table`, naming ``path``, ``row`` and the key.

    Examples
    --------
    >>> locate_point({"lon": -2.7160, "lat": 52.0565})  # doctest: +SKIP
    """
    table = pd.DataFrame({str(k): [None if v is None else str(v)] for k, v in point.items()})
    table.attrs["geomap_source"] = None if path is None else str(path)
    table.attrs["geomap_first_row"] = 1 if row is None else int(row)
    try:
        located = points_from_table(table, postcodes=postcodes, what=what, also_within=also_within)
    except InputError as err:
        if row is not None:
            raise
        raise _without_row(err) from None
    geometry = located.geometry.iloc[0]
    assert isinstance(geometry, shapely.Point)
    return geometry


def _without_row(err: InputError) -> InputError:
    """``err`` again, not naming a row (a point given in code has none)."""
    where = [p for p in (err.path, f"row {err.row}" if err.row is not None else None) if p]
    if err.column is not None:
        where.append(f"column '{err.column}'")
    text = str(err)
    prefix = f"{', '.join(where)}: " if where else ""
    suffix = f". {err.fix}" if err.fix else ""
    message = text[len(prefix) :] if text.startswith(prefix) else text
    if suffix and message.endswith(suffix):
        message = message[: -len(suffix)]
    column = err.column
    if column is not None and column in ("lon/lat",):
        column = None
    return type(err)(message, path=err.path, column=column, fix=err.fix)


def check_unique_ids(table: pd.DataFrame, column: str, *, what: str) -> None:
    """Raise if ids are blank or repeated, naming the rows.

    Parameters
    ----------
    table
        The table as read (``attrs`` name the file and first row for messages).
    column
        The column of ids.
    what
        What the rows are, for the fix ("area layer").

    Raises
    ------
    InputError
        For the first blank id.
    DuplicateIdError
        For the first repeated id, naming every row that has it.
    """
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
