"""Area layers (LSOAs, wards, MSOAs, council areas, partnerships) and joins to them.

Every area layer comes out with ``area_id`` and ``area_name`` columns and
polygons in British National Grid, whatever the file called its columns. A
partnership or locality that is a grouping of wards or LSOAs can be given as
a two-column CSV (area code → partnership name) and is dissolved into polygons.

Polygons come from outside and are checked once, by :func:`validate_polygons`
(used for area layers and for the boundary of a network download alike).
geomap repairs a polygon only when the repair cannot change what it means, and
says so in a :class:`~geomap.errors.GeometryWarning`:

* a ring whose last point is not its first is closed (GDAL reads such rings
  from GeoJSON and GeoPackage files, but GEOS cannot build them);
* an invalid polygon that :func:`shapely.make_valid` turns into a valid one
  with the same area and no more parts (a ring that touches itself at a point,
  a spike, parts that touch along an edge) is replaced by the valid one.

Everything else is refused with a :class:`~geomap.errors.GeometryError` naming
the file, the row and the ``geometry`` column: a missing or empty geometry, a
point or line in a polygon layer, a coordinate that is not a number, a ring of
fewer than 3 distinct points, a polygon of zero area, and an invalid polygon
whose repair would change its area or split it (a self-intersecting "bow-tie",
a hole outside its shell, overlapping parts).

An area layer whose areas overlap each other by more than
:data:`OVERLAP_SHARE` of the smaller one, or whose areas lie mostly outside
the study area, is loaded with a :class:`~geomap.errors.GeometryWarning`
naming them.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy.spatial import cKDTree
from shapely.validation import explain_validity

from geomap import settings
from geomap.errors import (
    CRSError,
    GeometryError,
    GeometryWarning,
    InputError,
    InputWarning,
)
from geomap.io import (
    GEO_SUFFIXES,
    check_rows,
    find_column,
    raise_missing,
    read_table,
    row_number,
    source_of,
)
from geomap.locations import check_crs_plausible, check_unique_ids
from geomap.providers import offers

logger = logging.getLogger(__name__)

AREA_ID_ALIASES = ("area_id", "id", "code", "area_code")
AREA_NAME_ALIASES = ("area_name", "name", "label")

#: Two areas of a layer overlap when they share more than this fraction of the
#: smaller one's area. Generalised boundaries (ONS BGC/BSC) share edges that
#: differ by a few square metres, far below this.
OVERLAP_SHARE = 0.01

#: An area is "mostly outside" the study area when less than this fraction of it is inside.
INSIDE_SHARE = 0.5

#: A group holding this share of another group is a wider area drawn over it.
_CONTAINS_SHARE = 0.99

#: How many areas, rows or pairs a warning names before it just counts the rest.
_NAMED = 5

#: Relative tolerance for "the same area" when judging a repair.
_AREA_RTOL = 1e-6

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def load_areas(
    path: str | Path,
    *,
    id_column: str | None = None,
    name_column: str | None = None,
    label: str | None = None,
    study_area: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    study_name: str = "the study area",
) -> gpd.GeoDataFrame:
    """Load an area layer with ``area_id``, ``area_name`` and polygons in EPSG:27700.

    Parameters
    ----------
    path
        A polygon file (GeoJSON, GeoPackage, shapefile...).
    id_column, name_column
        Columns holding the id and the name; guessed from common names
        (``id``, ``code``, ``name``) when not given.
    label
        What the areas are called in outputs (``ward``, ``LSOA 2011``); the
        file's name by default.
    study_area
        Areas lying mostly outside this polygon are named in a warning;
        ``None`` checks nothing.
    study_name
        The study area's name, for that warning.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id``, ``area_name``, the file's own columns and the (repaired)
        polygons; ``attrs`` has ``layer`` and ``description``.

    Raises
    ------
    InputError
        If the file is not a polygon file or cannot be read, has no id column,
        or gives two areas the same id (:class:`~geomap.errors.DuplicateIdError`).
    CRSError
        If the file has no CRS or its coordinates contradict it.
    GeometryError
        If a polygon is missing, empty, not a polygon, or invalid in a way that
        cannot be repaired without guessing (see the module docstring).

    Warns
    -----
    GeometryWarning
        When polygons were repaired, areas overlap, or areas lie mostly outside
        the study area.
    """
    path = Path(path)
    if path.suffix.lower() not in GEO_SUFFIXES:
        raise InputError(
            f"'{path}' is not a polygon file",
            path=path,
            fix="Give a GeoJSON/GeoPackage/shapefile of polygons",
        )
    table = _read_polygon_file(path, what="area layer", id_column=id_column)
    id_found = find_column(table, AREA_ID_ALIASES, explicit=id_column)
    if id_found is None:
        raise_missing(
            table,
            "id",
            what="for the area id",
            fix="Name it with --id-column (e.g. --id-column WD22CD), or 'code' in the study-area file",
        )
    name_found = find_column(table, AREA_NAME_ALIASES, explicit=name_column) or id_found
    table = validate_polygons(table, what="area layer", id_column=id_found)
    areas = table.to_crs(settings.MEASURE_CRS)
    areas.insert(0, "area_id", areas[id_found].astype("string").str.strip())
    areas.insert(1, "area_name", areas[name_found].astype("string").str.strip())
    check_unique_ids(areas, "area_id", what="area layer")
    areas.attrs.update(table.attrs, layer=label or path.stem, description=label or path.name)
    _warn_overlaps(areas)
    if study_area is not None:
        _warn_outside(areas, study_area, study_name=study_name)
    return areas


def read_polygons(
    path: str | Path, *, what: str = "boundary", id_column: str | None = None
) -> gpd.GeoDataFrame:
    """Read a polygon file and check it with :func:`validate_polygons`.

    Unlike :func:`geomap.io.read_table`, this reads rings that are not closed
    (GDAL accepts them from GeoJSON and GeoPackage files; GEOS cannot build
    them), closes them and says so in the warning of :func:`validate_polygons`.

    Parameters
    ----------
    path
        A GeoJSON, GeoPackage, shapefile or other vector file of polygons.
    what
        What the polygons are, for messages ("boundary", "area layer").
    id_column
        Column naming each feature in messages; guessed (``id``, ``code``) if not given.

    Returns
    -------
    geopandas.GeoDataFrame
        The file's features with valid polygons, in the file's CRS.

    Raises
    ------
    InputError, CRSError, GeometryError
        Naming the file, the row and the column, as :func:`validate_polygons`.

    Warns
    -----
    GeometryWarning
        When polygons were repaired (rings closed, or made valid), as
        :func:`validate_polygons` says.
    """
    table = _read_polygon_file(Path(path), what=what, id_column=id_column)
    return validate_polygons(table, what=what, id_column=_guess_id(table, id_column))


def _guess_id(table: pd.DataFrame, id_column: str | None) -> str | None:
    if id_column is not None and id_column in table.columns:
        return id_column
    return find_column(table, AREA_ID_ALIASES)


def _read_polygon_file(path: Path, *, what: str, id_column: str | None) -> gpd.GeoDataFrame:
    """Read a vector file as :func:`read_table` does, but closing rings that are not closed."""
    with warnings.catch_warnings():
        # GDAL's own note about unclosed rings; geomap says what it did about them
        warnings.filterwarnings("ignore", message=".*[Nn]on closed ring", category=RuntimeWarning)
        # numpy's note on NaN coordinates; validate_polygons names the row
        warnings.filterwarnings(
            "ignore", message="invalid value encountered", category=RuntimeWarning
        )
        try:
            table = read_table(path, what=what)
        except shapely.errors.ShapelyError:
            table = _read_closing_rings(path, what=what, id_column=id_column)
        except InputError as err:
            if not isinstance(err.__cause__, shapely.errors.ShapelyError):
                raise
            table = _read_closing_rings(path, what=what, id_column=id_column)
    if not isinstance(table, gpd.GeoDataFrame):
        raise InputError(
            f"the {what} must be a polygon file, not a table",
            path=path,
            fix="Give a GeoJSON, GeoPackage or shapefile of polygons",
        )
    return table


def _read_closing_rings(path: Path, *, what: str, id_column: str | None) -> gpd.GeoDataFrame:
    """Read ``path`` closing unclosed rings; record their rows in ``attrs["geomap_closed_rings"]``.

    GDAL passes such rings on as they are, and GEOS refuses to build them, so
    the file is read twice: once closing the rings (``on_invalid="fix"``) and
    once as raw WKB to learn which rows needed it and which cannot be built at all.
    """
    try:
        layer = gpd.read_file(path, engine="pyogrio", on_invalid="fix")
        raw = pyogrio.raw.read(path, columns=[])[2]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as err:
        raise InputError(
            f"cannot read this {what} as a vector file ({err})",
            path=path,
            fix="Give a valid GeoJSON, GeoPackage or shapefile",
        ) from err
    layer.attrs["geomap_source"] = str(path)
    layer.attrs["geomap_first_row"] = 1
    wkb = np.asarray(raw, dtype=object)
    given = np.array([item is not None for item in wkb], dtype=bool)
    strict = shapely.from_wkb(wkb, on_invalid="ignore")
    built = np.asarray(layer.geometry.array, dtype=object)
    broken = given & shapely.is_missing(built)
    id_c = _guess_id(layer, id_column)

    def unbuildable(pos: int) -> str:
        try:
            shapely.from_wkb(wkb[pos])
            reason = "unknown"
        except shapely.errors.ShapelyError as err:
            reason = str(err).strip().removeprefix("IllegalArgumentException: ")
        return (
            f"the polygon{_ident(layer, pos, id_c)} cannot be built from its points "
            f"({reason}): a ring needs at least 3 distinct points and must end where it starts"
        )

    check_rows(
        layer,
        broken,
        unbuildable,
        column="geometry",
        fix="Redraw the feature, or delete it",
        error=GeometryError,
    )
    closed = given & shapely.is_missing(strict) & ~shapely.is_missing(built)
    layer.attrs["geomap_closed_rings"] = np.flatnonzero(closed).tolist()
    return layer


def validate_polygons(
    layer: gpd.GeoDataFrame, *, what: str, id_column: str | None = None
) -> gpd.GeoDataFrame:
    """Check a polygon layer; repair what can be repaired without guessing; refuse the rest.

    Parameters
    ----------
    layer
        Polygons as read by :func:`read_polygons` or :func:`geomap.io.read_table`
        (any CRS; ``attrs`` name the file for messages).
    what
        What the polygons are, for messages ("area layer", "boundary").
    id_column
        Column naming each feature in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``layer`` whose polygons are all valid: unchanged, or repaired
        as the module docstring says (each repair is named in one
        :class:`~geomap.errors.GeometryWarning`).

    Raises
    ------
    CRSError
        If the layer has no CRS, or its coordinates contradict it.
    GeometryError
        For the first row that is missing, empty, not a polygon, has a
        coordinate that is not a number, a ring of fewer than 3 distinct
        points, zero area, or is invalid in a way only a guess could repair
        (the message gives the reason and where, e.g. "Self-intersection at
        (350500.0, 240500.0)").

    Warns
    -----
    GeometryWarning
        When polygons were repaired (rings closed, or made valid with the same
        area and parts), naming the first few rows and what was done.
    """
    path = source_of(layer)
    check_crs_plausible(layer, what=what)
    geographic = bool(layer.crs is not None and layer.crs.is_geographic)
    geoms = np.asarray(layer.geometry.array, dtype=object)
    id_c = id_column if id_column is not None and id_column in layer.columns else None

    def refuse(
        mask: np.ndarray, message: str | None, fix: str, reason: dict[int, str] | None = None
    ) -> None:
        check_rows(
            layer,
            mask,
            lambda pos: (reason or {}).get(pos) or f"{message}{_ident(layer, pos, id_c)}",
            column="geometry",
            fix=fix,
            error=GeometryError,
        )

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    refuse(missing, "empty or missing polygon", "Remove the feature or draw its boundary")
    kinds = shapely.get_type_id(geoms)
    polygonal = np.isin(kinds, _POLYGONAL)
    refuse(
        ~polygonal,
        None,
        f"Every feature of the {what} must be a polygon or multipolygon: remove points and "
        "lines, or convert them (QGIS 'Polygonize' or 'Buffer')",
        reason={
            int(pos): f"expected a polygon but found a {geoms[pos].geom_type}"
            f"{_ident(layer, int(pos), id_c)}"
            for pos in np.flatnonzero(~polygonal)[:1]
        },
    )
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    not_finite = np.zeros(len(geoms), dtype=bool)
    not_finite[owner[~np.isfinite(coords).all(axis=1)]] = True
    refuse(
        not_finite,
        "a coordinate of this polygon is not a number",
        "Redraw the polygon, or fix its coordinates",
    )

    repaired = geoms.copy()
    notes: dict[int, list[str]] = {}
    for pos in layer.attrs.get("geomap_closed_rings", ()):
        notes.setdefault(int(pos), []).append("closed a ring whose last point was not its first")
    for found in np.flatnonzero(~shapely.is_valid(geoms)):
        pos = int(found)
        fixed, outcome = _repair(geoms[pos], geographic=geographic)
        if fixed is None:
            raise GeometryError(
                f"invalid polygon{_ident(layer, pos, id_c)}: {outcome}",
                path=path,
                row=row_number(layer, pos) if "geomap_first_row" in layer.attrs else pos + 1,
                column="geometry",
                fix="Repair it in QGIS ('Fix geometries', then check that the result is "
                "what was meant) or redraw it, and load it again",
            )
        repaired[pos] = fixed
        notes.setdefault(pos, []).append(outcome)

    out = layer.copy()
    if notes:
        out[out.geometry.name] = gpd.GeoSeries(repaired, index=layer.index, crs=layer.crs)
        listed = [
            f"row {_row(layer, pos)}{_ident(layer, pos, id_c)}: {' and '.join(done)}"
            for pos, done in sorted(notes.items())[:_NAMED]
        ]
        extra = len(notes) - len(listed)
        warnings.warn(
            f"{path or 'the ' + what}: repaired {len(notes)} polygon(s) of the {what}: "
            + "; ".join(listed)
            + (f"; and {extra} more" if extra > 0 else "")
            + ". Check them on a map, and fix the file to silence this warning",
            GeometryWarning,
            stacklevel=2,
        )
    out.attrs.update(layer.attrs)
    out.attrs.pop("geomap_closed_rings", None)
    return out


def _row(layer: pd.DataFrame, pos: int) -> int:
    return row_number(layer, pos) if "geomap_first_row" in layer.attrs else pos + 1


def _ident(layer: pd.DataFrame, pos: int, id_column: str | None) -> str:
    """`` (A1)``: the id of the feature at ``pos``, or ``""``."""
    if id_column is None or id_column not in layer.columns:
        return ""
    value = layer[id_column].iloc[pos]
    return "" if pd.isna(value) else f" ({str(value).strip()})"


def _repair(geom: shapely.Geometry, *, geographic: bool) -> tuple[shapely.Geometry | None, str]:
    """A valid polygon and what was done, or ``None`` and why it cannot be repaired."""
    parts = shapely.get_parts(geom)
    for number, part in enumerate(parts, start=1):
        where = f"part {number} of {len(parts)}: " if len(parts) > 1 else ""
        ring = np.asarray(part.exterior.coords)[:, :2]
        distinct = len(np.unique(ring, axis=0))
        if distinct < 3:
            return None, (
                f"{where}its outer ring has {distinct} distinct point(s); a polygon needs at least 3"
            )
        width = np.ptp(ring, axis=0).max()
        hull = shapely.convex_hull(shapely.multipoints(ring))
        if shapely.area(hull) <= 1e-9 * width * width:
            return None, f"{where}it has zero area (its points lie on one line)"
    reason = _reason(geom, geographic=geographic)
    try:
        candidate = shapely.make_valid(shapely.remove_repeated_points(geom))
    except shapely.errors.ShapelyError:
        candidate = shapely.make_valid(geom)
    pieces = shapely.get_parts(candidate)
    polygons = [p for p in pieces if shapely.get_type_id(p) in _POLYGONAL]
    result = shapely.union_all(polygons) if polygons else shapely.Polygon()
    before, after = float(shapely.area(geom)), float(shapely.area(result))
    new_parts = shapely.get_num_geometries(result)
    if new_parts > len(parts):
        return None, (
            f"{reason}; repairing it would split it into {new_parts} parts, so the shape "
            "meant cannot be told"
        )
    if abs(after - before) > _AREA_RTOL * max(before, after):
        change = (after - before) / before if before else np.inf
        return None, (
            f"{reason}; repairing it would change its area by {change:+.0%}, so the shape "
            "meant cannot be told"
        )
    if result.is_empty or not result.is_valid:
        return None, reason
    return result, f"made valid ({reason}); area and parts unchanged"


def _reason(geom: shapely.Geometry, *, geographic: bool) -> str:
    """GEOS's reason a geometry is invalid, e.g. ``Self-intersection at (350500.0, 240500.0)``."""
    text: str = explain_validity(geom)
    found = re.fullmatch(r"(.*?)\s*\[(\S+) (\S+)\]", text)
    if found is None:
        return text
    digits = 6 if geographic else 1
    x, y = float(found.group(2)), float(found.group(3))
    return f"{found.group(1)} at ({x:.{digits}f}, {y:.{digits}f})"


def overlapping_areas(areas: gpd.GeoDataFrame, *, min_share: float = OVERLAP_SHARE) -> pd.DataFrame:
    """Pairs of areas that overlap by more than ``min_share`` of the smaller one's area.

    Parameters
    ----------
    areas
        An area layer with ``area_id`` (any CRS; measured in EPSG:27700 if it
        is not projected).
    min_share
        Smallest overlap worth reporting, as a fraction of the smaller area.

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``other_id`` (positions are in layer order), ``overlap_m2``
        and ``share`` (of the smaller area), largest share first.
    """
    measured = (
        areas
        if areas.crs is not None and areas.crs.is_projected
        else areas.to_crs(settings.MEASURE_CRS)
    )
    geoms = np.asarray(measured.geometry.array, dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    share = np.divide(overlap, smaller, out=np.zeros_like(overlap), where=smaller > 0)
    chosen = share > min_share
    ids = areas["area_id"].to_numpy(dtype=object)
    table = pd.DataFrame(
        {
            "area_id": ids[left[chosen]],
            "other_id": ids[right[chosen]],
            "overlap_m2": overlap[chosen],
            "share": share[chosen],
        }
    )
    return table.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


def _label(areas: pd.DataFrame, area_id: object) -> str:
    names = dict(zip(areas["area_id"], areas.get("area_name", areas["area_id"]), strict=True))
    name = names.get(area_id)
    return (
        f"{area_id}" if name is None or pd.isna(name) or name == area_id else f"{area_id} ({name})"
    )


def _warn_overlaps(areas: gpd.GeoDataFrame) -> None:
    pairs = overlapping_areas(areas)
    if pairs.empty:
        return
    layer = areas.attrs.get("layer", "area")
    where = source_of(areas) or f"the {layer} layer"
    counts = pd.concat([pairs["area_id"], pairs["other_id"]]).value_counts()
    busy = counts[counts >= 3]
    lead = ""
    if len(busy):
        lead = (
            "; ".join(
                f"{_label(areas, a)} overlaps {n} other areas" for a, n in busy.head(3).items()
            )
            + ". "
        )
    shown = [
        f"{_label(areas, r.area_id)} and {_label(areas, r.other_id)} ({r.share:.0%} of the smaller)"
        for r in pairs.head(_NAMED).itertuples()
    ]
    extra = len(pairs) - len(shown)
    warnings.warn(
        f"{where}: {len(pairs)} pair(s) of areas overlap by more than {OVERLAP_SHARE:.0%} of the "
        f"smaller one's area. {lead}Overlapping: "
        + "; ".join(shown)
        + (f"; and {extra} more pair(s)" if extra > 0 else "")
        + ". A place in an overlap is counted in one area only; fix the layer so that areas do "
        "not overlap (e.g. remove an area drawn over the others)",
        GeometryWarning,
        stacklevel=3,
    )


def share_inside(
    areas: gpd.GeoDataFrame, study_area: gpd.GeoSeries | gpd.GeoDataFrame
) -> pd.Series:
    """Fraction of each area's area inside ``study_area``.

    Parameters
    ----------
    areas
        An area layer (polygons).
    study_area
        The study area's boundary; converted to the CRS of ``areas`` if needed.

    Returns
    -------
    pandas.Series
        ``share_inside``, from 0 (wholly outside) to 1 (wholly inside),
        indexed like ``areas``.
    """
    region = study_area.to_crs(areas.crs) if study_area.crs != areas.crs else study_area
    shape = shapely.union_all(np.asarray(region.geometry.array, dtype=object))
    shapely.prepare(shape)
    geoms = np.asarray(areas.geometry.array, dtype=object)
    share = np.zeros(len(geoms))
    within = shapely.within(geoms, shape)
    share[within] = 1.0
    partly = ~within & shapely.intersects(geoms, shape)
    if partly.any():
        area = shapely.area(geoms[partly])
        inside = shapely.area(shapely.intersection(geoms[partly], shape))
        share[partly] = np.divide(inside, area, out=np.zeros_like(area), where=area > 0)
    return pd.Series(share, index=areas.index, name="share_inside")


def _warn_outside(
    areas: gpd.GeoDataFrame, study_area: gpd.GeoSeries | gpd.GeoDataFrame, *, study_name: str
) -> None:
    share = share_inside(areas, study_area)
    outside = share < INSIDE_SHARE
    if not outside.any():
        return
    layer = areas.attrs.get("layer", "area")
    where = source_of(areas) or f"the {layer} layer"
    chosen = areas.loc[outside.to_numpy()]
    shown = [
        f"{_label(areas, a)} ({s:.0%} inside)"
        for a, s in zip(chosen["area_id"][:_NAMED], share[outside][:_NAMED], strict=True)
    ]
    extra = int(outside.sum()) - len(shown)
    warnings.warn(
        f"{where}: {int(outside.sum())} of {len(areas)} area(s) lie wholly or mostly outside "
        f"{study_name}: "
        + ", ".join(shown)
        + (f" and {extra} more" if extra > 0 else "")
        + ". They are kept; check that this is the layer meant for the study area",
        GeometryWarning,
        stacklevel=3,
    )


def check_same_crs(
    a: gpd.GeoDataFrame | gpd.GeoSeries, b: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str
) -> None:
    """Raise :class:`CRSError` naming both CRSs if ``a`` and ``b`` differ.

    Parameters
    ----------
    a, b
        The two layers about to be compared or joined.
    what
        What is being done with them, for the message ("joining providers to areas").

    Raises
    ------
    CRSError
        If either layer has no CRS, or the two CRSs differ.
    """
    if a.crs is None or b.crs is None:
        raise CRSError(f"{what}: a layer has no CRS ({a.crs} vs {b.crs})", fix="Set a CRS on both")
    if a.crs != b.crs:
        raise CRSError(
            f"{what}: layers are in different coordinate systems "
            f"({a.crs.to_string()} and {b.crs.to_string()})",
            fix="Convert one with .to_crs() so both match (geomap measures in EPSG:27700)",
        )


def assign_to_areas(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """``area_id`` of the area containing each point (missing outside every area).

    A point inside two overlapping areas is put in the smaller of them (the
    more specific one), and such points are named in a
    :class:`~geomap.errors.GeometryWarning`.

    Parameters
    ----------
    points
        Points (providers, postcodes) in the same CRS as ``areas``; named in
        warnings by their ``id`` column if they have one.
    areas
        An area layer with ``area_id``.

    Returns
    -------
    pandas.Series
        ``area_id`` per point, indexed like ``points``; missing for a point in
        no area.

    Raises
    ------
    CRSError
        If the two layers are not in the same CRS.

    Warns
    -----
    GeometryWarning
        When points lie in more than one area because the areas overlap.
    """
    check_same_crs(points, areas, what="assigning points to areas")
    geoms = np.asarray(areas.geometry.array, dtype=object)
    where, area = shapely.STRtree(geoms).query(
        np.asarray(points.geometry.array, dtype=object), predicate="within"
    )
    # for each point, the smallest area containing it comes first
    order = np.lexsort((shapely.area(geoms)[area], where))
    where, area = where[order], area[order]
    first = np.ones(len(where), dtype=bool)
    first[1:] = where[1:] != where[:-1]
    ids = areas["area_id"].to_numpy(dtype=object)
    values = np.full(len(points), pd.NA, dtype=object)
    values[where[first]] = ids[area[first]]
    hits = np.bincount(where, minlength=len(points))
    several = np.flatnonzero(hits > 1)
    if several.size:
        shown = [
            f"point {_point_label(points, int(i))} in "
            + ", ".join(str(ids[a]) for a in area[where == i])
            for i in several[:_NAMED]
        ]
        extra = several.size - len(shown)
        warnings.warn(
            f"{several.size} point(s) lie in more than one area because the areas overlap; "
            "each was put in the smallest of them (named first): "
            + "; ".join(shown)
            + (f"; and {extra} more" if extra > 0 else ""),
            GeometryWarning,
            stacklevel=2,
        )
    assigned: pd.Series = pd.Series(
        values, index=points.index, name="area_id", dtype=areas["area_id"].dtype
    )
    return assigned


def _point_label(points: pd.DataFrame, pos: int) -> str:
    if "id" in points.columns:
        return str(points["id"].iloc[pos])
    return str(points.index[pos])


def group_lookup(
    units: gpd.GeoDataFrame, groups: gpd.GeoDataFrame, *, points: gpd.GeoSeries | None = None
) -> pd.Series:
    """Map each unit (e.g. an LSOA) to the group (ward, partnership) that contains it.

    A unit belongs to the group containing ``points`` (its origin point, say),
    or its representative point. A unit whose point is in no group joins the
    group covering at least half of it, and otherwise stays in none (missing
    in the result, left out of group totals, and named in a warning).

    When groups overlap, a unit may fall in more than one of them. It is then
    put in the most specific one: a group that holds nearly all (99%) of
    another of the candidates is a wider area drawn over it (a ward covering
    the whole county, say) and is passed over; among the rest, the unit goes
    to the group holding the largest share of its area (the smaller group if
    two hold the same). Such units are named in a
    :class:`~geomap.errors.GeometryWarning`.

    Parameters
    ----------
    units
        The small areas to place, with ``area_id``.
    groups
        The larger areas they are placed in, with ``area_id`` (and
        ``area_name`` for messages), in the same CRS as ``units``.
    points
        One point per unit, aligned with ``units`` (the origin points of
        :mod:`geomap.demand`, say); each unit's representative point if not given.

    Returns
    -------
    pandas.Series
        Indexed by the units' ``area_id``, holding the group's ``area_id``.

    Raises
    ------
    CRSError
        If the two layers are not in the same CRS.

    Warns
    -----
    GeometryWarning
        When units fall in more than one group (the groups overlap), or in none.
    """
    check_same_crs(units, groups, what="grouping areas")
    anchor = points if points is not None else units.geometry.representative_point()
    unit_geoms = np.asarray(units.geometry.array, dtype=object)
    group_geoms = np.asarray(groups.geometry.array, dtype=object)
    group_area = shapely.area(group_geoms)
    tree = shapely.STRtree(group_geoms)
    n = len(units)
    chosen = np.full(n, -1)
    ambiguous: dict[int, list[tuple[int, float]]] = {}

    covers: dict[tuple[int, int], bool] = {}

    def wider(i: int, j: int) -> bool:
        """Whether group ``i`` is larger than group ``j`` and holds nearly all of it."""
        if (i, j) not in covers:
            shared = shapely.area(shapely.intersection(group_geoms[i], group_geoms[j]))
            covers[i, j] = bool(
                group_area[i] > group_area[j] and shared >= _CONTAINS_SHARE * group_area[j]
            )
        return covers[i, j]

    def pick(unit: int, candidates: np.ndarray, shares: np.ndarray) -> None:
        # a group drawn over another candidate is passed over; then the largest
        # share of the unit, then the smaller group
        container = np.array(
            [any(wider(int(i), int(j)) for j in candidates if j != i) for i in candidates]
        )
        order = np.lexsort((group_area[candidates], -np.round(shares, 6), container))
        chosen[unit] = candidates[order[0]]
        if len(candidates) > 1:
            ambiguous[unit] = [(int(candidates[i]), float(shares[i])) for i in order]

    def shares_of(u: np.ndarray, g: np.ndarray) -> np.ndarray:
        area = shapely.area(unit_geoms[u])
        inside = shapely.area(shapely.intersection(unit_geoms[u], group_geoms[g]))
        share: np.ndarray = np.divide(inside, area, out=np.zeros_like(inside), where=area > 0)
        return share

    u, g = tree.query(np.asarray(anchor.to_numpy(), dtype=object), predicate="within")
    hits = np.bincount(u, minlength=n)
    single = hits[u] == 1
    chosen[u[single]] = g[single]
    if (hits > 1).any():
        several = ~single
        su, sg = u[several], g[several]
        shares = shares_of(su, sg)
        for unit in np.unique(su):
            at = su == unit
            pick(int(unit), sg[at], shares[at])

    orphans = np.flatnonzero(hits == 0)
    if orphans.size:
        local, og = tree.query(unit_geoms[orphans], predicate="intersects")
        ou = orphans[local]
        shares = shares_of(ou, og) if ou.size else np.zeros(0)
        # a unit joins a group only if most of it lies there, never on a sliver
        most = shares >= 0.5
        ou, og, shares = ou[most], og[most], shares[most]
        for unit in np.unique(ou):
            at = ou == unit
            pick(int(unit), og[at], shares[at])

    unit_ids = units["area_id"].to_numpy(dtype=object)
    group_ids = groups["area_id"].to_numpy(dtype=object)
    values = np.full(n, pd.NA, dtype=object)
    values[chosen >= 0] = group_ids[chosen[chosen >= 0]]
    lookup = pd.Series(values, index=unit_ids, name="group_id")

    label = groups.attrs.get("layer", "group")
    if ambiguous:
        shown = []
        for unit, ranked in list(ambiguous.items())[:_NAMED]:
            best, *rest = ranked
            also = ", ".join(f"{_label(groups, group_ids[i])} {s:.0%}" for i, s in rest)
            shown.append(
                f"{unit_ids[unit]} → {_label(groups, group_ids[best[0]])} "
                f"({best[1]:.0%} of it; also {also})"
            )
        extra = len(ambiguous) - len(shown)
        warnings.warn(
            f"{len(ambiguous)} area(s) fall in more than one {label} because the {label} "
            f"areas overlap; each was put in the most specific one (a wider "
            "area drawn over another was passed over), else the one holding most of it: "
            + "; ".join(shown)
            + (f"; and {extra} more" if extra > 0 else "")
            + ". Fix the overlapping areas so that each place is in one",
            GeometryWarning,
            stacklevel=2,
        )
    left = np.flatnonzero(chosen < 0)
    if left.size:
        shown_ids = ", ".join(str(unit_ids[i]) for i in left[:_NAMED])
        extra = left.size - min(left.size, _NAMED)
        warnings.warn(
            f"{left.size} area(s) lie in no {label} (less than half inside any); left out of "
            f"{label} totals: {shown_ids}" + (f" and {extra} more" if extra > 0 else ""),
            GeometryWarning,
            stacklevel=2,
        )
    return lookup


def load_partnerships(
    path: str | Path,
    *,
    base: str | Path | gpd.GeoDataFrame,
    sheet: str | None = None,
) -> gpd.GeoDataFrame:
    """Dissolve a partnership definition (area code → partnership name) into polygons.

    Parameters
    ----------
    path
        Table (CSV or workbook) with a column of area codes (``code``,
        ``ward_code``, ``lsoa_code``, ``area_id``) and a column of partnership
        names (``partnership``, ``name``).
    base
        The areas the codes refer to: a loaded layer, or the path of a polygon file.
    sheet
        The worksheet to read, if ``path`` is a workbook (the first by default).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` and ``area_name`` (both the partnership name), ``members``
        (count of base areas) and polygons. Base areas left out of every
        partnership are counted in ``attrs["unassigned"]``.

    Raises
    ------
    InputError
        For a row with a blank code or a blank partnership name, a code that is
        not in the base layer, or a code given twice (naming the row and column).

    Warns
    -----
    InputWarning
        When base areas are in no partnership, naming the first few.
    """
    areas = base if isinstance(base, gpd.GeoDataFrame) else load_areas(base)
    table = read_table(path, what="partnership definition", sheet=sheet)
    code_c = find_column(
        table,
        (
            "code",
            "area_code",
            "area_id",
            "ward_code",
            "wd22cd",
            "wd24cd",
            "lsoa_code",
            "lsoa11cd",
            "lsoa21cd",
        ),
    )
    name_c = find_column(table, ("partnership", "partnership_name", "locality", "group", "name"))
    if code_c is None:
        raise_missing(table, "code", what="of area codes ('code')", fix="Name it 'code'")
    if name_c is None:
        raise_missing(table, "partnership", what="of partnership names ('partnership')")
    codes = table[code_c].astype("string").str.strip()
    names = table[name_c].astype("string").str.strip()
    check_rows(
        table,
        codes.fillna("").eq("").to_numpy(),
        lambda pos: "blank area code",
        column=code_c,
        fix="Give every row an area code, or delete the row",
    )
    check_rows(
        table,
        names.fillna("").eq("").to_numpy(),
        lambda pos: f"area code '{codes.iloc[pos]}' has a blank partnership name",
        column=name_c,
        fix=f"Fill in the '{name_c}' of every row; delete the rows of areas that are in no "
        "partnership (areas left out are counted and named in a warning)",
    )
    known = codes.isin(areas["area_id"])
    check_rows(
        table,
        (~known),
        lambda pos: (
            f"area code '{codes.iloc[pos]}' is not in the {areas.attrs.get('layer', 'base')} layer"
        ),
        column=code_c,
        fix="Check the code, or choose the layer the codes come from with --partnership-base",
    )
    dup = codes.duplicated(keep=False)
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[1])
        raise InputError(
            f"area code '{codes.iloc[pos]}' is assigned to more than one partnership",
            path=source_of(table),
            row=row_number(table, pos),
            column=code_c,
            fix="Give each area one partnership",
        )
    mapping = pd.Series(names.to_numpy(), index=codes.to_numpy())
    members = areas[areas["area_id"].isin(mapping.index)].copy()
    members["partnership"] = members["area_id"].map(mapping)
    dissolved = members[["partnership", "geometry"]].dissolve(by="partnership", as_index=False)
    dissolved["members"] = dissolved["partnership"].map(members["partnership"].value_counts())
    out = gpd.GeoDataFrame(
        {
            "area_id": dissolved["partnership"].astype("string"),
            "area_name": dissolved["partnership"].astype("string"),
            "members": dissolved["members"].astype(int),
        },
        geometry=dissolved.geometry.buffer(0),
        crs=areas.crs,
    )
    left_out = areas.loc[~areas["area_id"].isin(mapping.index).to_numpy(), "area_id"]
    unassigned = len(left_out)
    if unassigned:
        shown = ", ".join(_label(areas, a) for a in left_out[:_NAMED])
        extra = unassigned - min(unassigned, _NAMED)
        warnings.warn(
            f"{path}: {unassigned} of the {len(areas)} {areas.attrs.get('layer', 'base')} areas "
            f"are in no partnership and are left out of partnership totals: {shown}"
            + (f" and {extra} more" if extra > 0 else "")
            + ". Add them to the file if every area should be in one",
            InputWarning,
            stacklevel=2,
        )
    out.attrs.update(
        layer="partnership",
        description=f"Partnerships from {Path(path).name}",
        unassigned=unassigned,
    )
    return out


def provision_by_area(
    providers: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    origins: gpd.GeoSeries | None = None,
    kinds: tuple[str, ...] = settings.KINDS,
    include_independent: bool = False,
) -> pd.DataFrame:
    """Per area: providers of each kind inside it, and the nearest of each kind.

    "Nearest" is by straight-line distance from the area's origin point
    (``origins``, aligned with ``areas``; the representative point otherwise);
    travel-time nearest providers come from :mod:`geomap.gaps`. Like the gap
    analysis, independent schools are left out unless ``include_independent``.

    Parameters
    ----------
    providers
        Providers as :func:`geomap.providers.load_providers` gives them, in the
        same CRS as ``areas``.
    areas
        An area layer with ``area_id`` and ``area_name``.
    origins
        Where distances are measured from in each area, aligned with
        ``areas``; each area's representative point if not given.
    kinds
        The kinds of provision to count, each as in :func:`geomap.providers.offers`.
    include_independent
        Count independent schools too.

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``area_name``, then for each kind ``count_<kind>``,
        ``nearest_<kind>_id``, ``nearest_<kind>_name`` and ``nearest_<kind>_km``.

    Raises
    ------
    CRSError
        If providers and areas are not in the same CRS.
    UnknownKindError
        If ``kinds`` holds a kind geomap does not know.

    Warns
    -----
    GeometryWarning
        When providers lie in more than one area because the areas overlap.
    """
    check_same_crs(providers, areas, what="joining providers to areas")
    where = assign_to_areas(providers, areas)
    anchor = origins if origins is not None else areas.geometry.representative_point()
    xy = np.column_stack([anchor.x.to_numpy(), anchor.y.to_numpy()])
    table = pd.DataFrame(
        {"area_id": areas["area_id"].to_numpy(), "area_name": areas["area_name"].to_numpy()}
    )
    for kind in kinds:
        mask = offers(providers, kind).to_numpy(copy=True)
        if not include_independent:
            mask &= (providers["sector"] != "independent").to_numpy()
        counts = where[mask].value_counts()
        table[f"count_{kind}"] = table["area_id"].map(counts).fillna(0).astype(int)
        chosen = providers[mask]
        if len(chosen) == 0:
            table[f"nearest_{kind}_id"] = pd.NA
            table[f"nearest_{kind}_name"] = pd.NA
            table[f"nearest_{kind}_km"] = np.nan
            continue
        tree = cKDTree(np.column_stack([chosen.geometry.x, chosen.geometry.y]))
        dist, idx = tree.query(xy)
        table[f"nearest_{kind}_id"] = chosen["id"].to_numpy()[idx]
        table[f"nearest_{kind}_name"] = chosen["name"].to_numpy()[idx]
        table[f"nearest_{kind}_km"] = np.round(dist / 1000, 2)
    return table
