"""Area layers (LSOAs, wards, MSOAs, council areas, partnerships) and joins to them.

Every area layer comes out with ``area_id`` and ``area_name`` columns and
polygons in British National Grid, whatever the file called its columns. A
partnership or locality that is a grouping of wards or LSOAs can be given as
a two-column CSV (area code → partnership name) and is dissolved into polygons.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from shapely.validation import explain_validity

from geomap import settings
from geomap.errors import CRSError, GeometryError, InputError
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
from geomap.locations import county_boundary as county_boundary  # the county is an area layer too
from geomap.providers import offers

logger = logging.getLogger(__name__)

#: Shipped layers: name → (id column, name column, description).
LAYERS = {
    "lsoa11": ("LSOA11CD", "LSOA11NM", "Lower-layer super output areas (2011)"),
    "lsoa21": ("lsoa21cd", "lsoa21nm", "Lower-layer super output areas (2021)"),
    "ward": ("wd22cd", "wd22nm", "Electoral wards (2022)"),
    "msoa11": ("MSOA11CD", "MSOA11NM", "Middle-layer super output areas (2011)"),
    "msoa21": ("msoa21cd", "msoa21nm", "Middle-layer super output areas (2021)"),
    "lad": ("lad24cd", "lad24nm", "Council areas (2024): Herefordshire and neighbours"),
}

AREA_ID_ALIASES = ("area_id", "id", "code", "area_code")
AREA_NAME_ALIASES = ("area_name", "name", "label")


def load_areas(
    layer: str | Path = "lsoa11",
    *,
    id_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Load an area layer with ``area_id``, ``area_name`` and polygons in EPSG:27700.

    Parameters
    ----------
    layer
        A shipped layer name (``lsoa11``, ``lsoa21``, ``ward``, ``msoa11``,
        ``msoa21``, ``lad``) or the path of a polygon file of your own.
    id_column, name_column
        Columns of a user file holding the id and the name; guessed from
        common names (``id``, ``code``, ``name``) when not given.

    Raises
    ------
    CRSError
        If the file has no CRS or its coordinates contradict it.
    GeometryError
        If a polygon is missing, empty, invalid or not a polygon.
    """
    id_c: str | None
    name_c: str | None
    if isinstance(layer, str) and layer in LAYERS:
        id_c, name_c, description = LAYERS[layer]
        path: Path = settings.shipped(layer)
        label = layer
    else:
        path = Path(layer)
        id_c, name_c, description, label = id_column, name_column, path.name, path.stem
        if path.suffix.lower() not in GEO_SUFFIXES:
            raise InputError(
                f"'{layer}' is neither a shipped area layer ({', '.join(LAYERS)}) "
                "nor a polygon file",
                fix="Give a layer name or a GeoJSON/GeoPackage/shapefile of polygons",
            )
    table = read_table(path, what="area layer")
    if not isinstance(table, gpd.GeoDataFrame):
        raise InputError("an area layer needs polygons", path=path)
    id_found = find_column(table, AREA_ID_ALIASES, explicit=id_c)
    if id_found is None:
        raise_missing(
            table,
            "id",
            what="for the area id",
            fix="Name it with --id-column (e.g. --id-column WD22CD)",
        )
    name_found = find_column(table, AREA_NAME_ALIASES, explicit=name_c) or id_found
    validate_polygons(table, what="area layer", id_column=id_found)
    areas = table.to_crs(settings.MEASURE_CRS)
    areas.insert(0, "area_id", areas[id_found].astype("string").str.strip())
    areas.insert(1, "area_name", areas[name_found].astype("string").str.strip())
    check_unique_ids(areas, "area_id", what="area layer")
    areas.attrs.update(table.attrs, layer=label, description=description)
    return areas


def validate_polygons(layer: gpd.GeoDataFrame, *, what: str, id_column: str | None = None) -> None:
    """Raise :class:`GeometryError` or :class:`CRSError` for an unusable polygon layer."""
    path = source_of(layer)
    check_crs_plausible(layer, what=what)
    geoms = layer.geometry
    missing = geoms.isna() | geoms.is_empty
    kinds = geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    invalid = ~missing & ~geoms.is_valid

    def where(mask: pd.Series) -> tuple[int, str]:
        pos = int(np.flatnonzero(mask.to_numpy())[0])
        ident = f" ({layer[id_column].iloc[pos]})" if id_column else ""
        return row_number(layer, pos), ident

    if missing.any():
        row, ident = where(missing)
        raise GeometryError(
            f"empty or missing polygon{ident}",
            path=path,
            row=row,
            column="geometry",
            fix="Remove the feature or draw its boundary",
        )
    if (~kinds).any():
        row, ident = where(~kinds)
        raise GeometryError(
            f"expected a polygon but found a {geoms[~kinds].iloc[0].geom_type}{ident}",
            path=path,
            row=row,
            column="geometry",
            fix="Areas must be polygons or multipolygons",
        )
    if invalid.any():
        row, ident = where(invalid)
        reason = explain_validity(geoms[invalid].iloc[0])
        raise GeometryError(
            f"invalid polygon{ident}: {reason}",
            path=path,
            row=row,
            column="geometry",
            fix="Repair it (QGIS 'Fix geometries', or shapely.make_valid) and load it again",
        )


def check_same_crs(
    a: gpd.GeoDataFrame | gpd.GeoSeries, b: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str
) -> None:
    """Raise :class:`CRSError` naming both CRSs if ``a`` and ``b`` differ."""
    if a.crs is None or b.crs is None:
        raise CRSError(f"{what}: a layer has no CRS ({a.crs} vs {b.crs})", fix="Set a CRS on both")
    if a.crs != b.crs:
        raise CRSError(
            f"{what}: layers are in different coordinate systems "
            f"({a.crs.to_string()} and {b.crs.to_string()})",
            fix="Convert one with .to_crs() so both match (geomap measures in EPSG:27700)",
        )


def assign_to_areas(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """``area_id`` of the area containing each point (missing outside every area)."""
    check_same_crs(points, areas, what="assigning points to areas")
    joined = gpd.sjoin(
        points[[points.geometry.name]],
        areas[["area_id", areas.geometry.name]],
        how="left",
        predicate="within",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["area_id"].reindex(points.index)


def group_lookup(
    units: gpd.GeoDataFrame, groups: gpd.GeoDataFrame, *, points: gpd.GeoSeries | None = None
) -> pd.Series:
    """Map each unit (e.g. an LSOA) to the group (ward, partnership) that contains it.

    A unit belongs to the group containing ``points`` (its origin point, say),
    or its representative point; a unit whose point is in no group joins the
    group covering at least half of it, and otherwise stays in none (missing
    in the result, left out of group totals, and logged).

    Returns
    -------
    pandas.Series
        Indexed by the units' ``area_id``, holding the group's ``area_id``.
    """
    check_same_crs(units, groups, what="grouping areas")
    anchor = points if points is not None else units.geometry.representative_point()
    pts = gpd.GeoDataFrame(
        {"area_id": units["area_id"].to_numpy()}, geometry=anchor.to_numpy(), crs=units.crs
    )
    inside = assign_to_areas(pts, groups)
    lookup = pd.Series(inside.to_numpy(), index=units["area_id"].to_numpy(), name="group_id")
    orphans = lookup.isna()
    if orphans.any():
        pieces = units.loc[orphans.to_numpy(), ["area_id", "geometry"]]
        overlay = gpd.overlay(
            pieces,
            groups[["area_id", "geometry"]].rename(columns={"area_id": "group_id"}),
            how="intersection",
            keep_geom_type=True,
        )
        overlay["share"] = overlay.area / overlay["area_id"].map(pieces.set_index("area_id").area)
        # a unit joins a group only if most of it lies there, never on a sliver
        best = overlay[overlay["share"] >= 0.5].sort_values("share")
        best = best.drop_duplicates("area_id", keep="last").set_index("area_id")
        lookup.loc[orphans] = best["group_id"].reindex(lookup.index[orphans]).to_numpy()
        left = int(lookup.isna().sum())
        if left:
            logger.warning(
                "%d area(s) lie in no group (less than half inside any); left out of group totals",
                left,
            )
    return lookup


def load_partnerships(
    path: str | Path,
    *,
    base: str | gpd.GeoDataFrame = "ward",
) -> gpd.GeoDataFrame:
    """Dissolve a partnership definition (area code → partnership name) into polygons.

    Parameters
    ----------
    path
        CSV with a column of area codes (``code``, ``ward_code``, ``lsoa_code``,
        ``area_id``) and a column of partnership names (``partnership``, ``name``).
    base
        The areas the codes refer to: a shipped layer name or a loaded layer.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` and ``area_name`` (both the partnership name), ``members``
        (count of base areas) and polygons. Base areas left out of every
        partnership are counted in ``attrs["unassigned"]`` and logged.
    """
    areas = load_areas(base) if isinstance(base, str) else base
    table = read_table(path, what="partnership definition")
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
    unassigned = int((~areas["area_id"].isin(mapping.index)).sum())
    if unassigned:
        logger.warning("%s: %d base areas are in no partnership", path, unassigned)
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

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``area_name``, then for each kind ``count_<kind>``,
        ``nearest_<kind>_id``, ``nearest_<kind>_name`` and ``nearest_<kind>_km``.
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
