"""Demand: children by age band per small area, and one origin point per area.

A population table gives children by single year of age per small area (for
example ONS's small-area population estimates for LSOAs), wide or long (see
:func:`load_population`). Each area's journeys start from one origin point,
chosen in this order and recorded in ``origin_source``:

1. ``trip_point``: a routing trip point (a point on a named road near the
   population-weighted centroid), as routed travel-time tables use;
2. ``population_weighted_centroid``: ONS's population-weighted centroid;
3. ``label_point``: ONS's label point, which is not population-weighted;
4. ``representative_point``: a point inside the polygon, as a last resort.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import DuplicateIdError, InputError, InputWarning
from geomap.io import (
    check_rows,
    find_column,
    normalise_name,
    raise_missing,
    read_table,
    row_number,
    source_of,
)
from geomap.schema import Column, Schema

ORIGIN_SOURCES = (
    "trip_point",
    "population_weighted_centroid",
    "label_point",
    "representative_point",
)


#: Spellings of the area code column of a population table, folded.
AREA_ALIASES = (
    "area_id",
    "area_code",
    "lsoa11_code",
    "lsoa21_code",
    "lsoa11cd",
    "lsoa21cd",
    "lsoa_code",
    "code",
)
#: Spellings of the single year of age column of a long population table.
AGE_ALIASES = ("age", "single_year_of_age", "age_years", "year_of_age")
#: Spellings of the head count column of a long population table.
COUNT_ALIASES = ("count", "population", "persons", "people", "value", "obs_value")

_WIDE_AGE = re.compile(r"(?:age_?)?(\d{1,3})(\+?)")
_COUNT_FIX = "Give whole numbers, 0 where there is nobody"
_AGE_FIX = "Give single years of age: 0, 1, 2 ... and, for the oldest, for example 90+"


def _area_column() -> Column:
    return Column(
        "area_id",
        AREA_ALIASES[1:],
        required=True,
        blank=False,
        label="area code",
        missing="Add a column of area codes, or name it",
    )


def _count_column(name: str, *, label: str = "count of people") -> Column:
    return Column(
        name,
        type="integer",
        required=True,
        blank=False,
        minimum=0,
        label=label,
        fix=_COUNT_FIX,
    )


#: The columns of a population table in long form: one row per area and single year of age.
LONG_POPULATION_SCHEMA = Schema(
    columns=(
        _area_column(),
        Column(
            "age",
            AGE_ALIASES[1:],
            required=True,
            blank=False,
            fix=_AGE_FIX,
            missing="Add a column of single years of age, or name it",
        ),
        dataclasses.replace(
            _count_column("count"),
            aliases=COUNT_ALIASES[1:],
            missing="Add a column of head counts, or name it",
        ),
    )
)


def load_population(
    path: str | Path,
    *,
    area: str | None = None,
    age: str | None = None,
    count: str | None = None,
) -> pd.DataFrame:
    """Read a single-year-of-age population table, wide or long.

    Two layouts are read:

    * **wide**: one row per area, one column per single year of age, headed
      ``age_0``, ``age_1`` ... ``age_90+`` or ``0``, ``1`` ... ``90+``;
    * **long**: one row per area and single year of age, with an age column
      (``age``; ages such as ``90+`` allowed) and a head count column
      (``count``, ``population``, ``persons``, ``value``). An area missing
      some ages counts nobody at them, and such areas are counted in an
      :class:`~geomap.errors.InputWarning`.

    A table is read as long when ``age`` or ``count`` is given, or when it has
    no age columns but an age column and a count column.

    Parameters
    ----------
    path
        CSV, workbook or other table :func:`geomap.io.read_table` reads.
    area
        The column of area codes; found by its usual names (``area_id``,
        ``area_code``, ``lsoa11_code``, ``lsoa11cd`` ...) by default.
    age, count
        The age and head count columns of a long table.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``area_id`` (in the table's order); columns ``age_0`` …
        (whole numbers, the oldest possibly ``age_90+``), then
        ``total_population`` (the file's own where it has one, else the sum
        of the ages) and the ONS label point (``label_pt_easting``,
        ``label_pt_northing``) where a wide file has it.

    Raises
    ------
    MissingColumnError
        If there is no area code column, no age columns, or a named column is absent.
    InputError
        For the first bad cell: a count that is blank, not a whole number or
        negative, an age that is not one; a repeated area (naming both rows),
        or in a long table a repeated area and age (naming both rows).

    Warns
    -----
    InputWarning
        When areas of a long table lack a row for some ages (nobody is counted
        at those ages), naming the first three.

    Examples
    --------
    >>> load_population("lsoa11_population_mid2020_syoa.csv",
    ...                 area="lsoa11_code")  # doctest: +SKIP
    """
    table = read_table(path, what="population table")
    wide = _wide_age_columns(table)
    age_c = find_column(table, AGE_ALIASES, explicit=age)
    count_c = find_column(table, COUNT_ALIASES, explicit=count)
    if age is not None or count is not None or (not wide and age_c and count_c):
        out = _from_long(table, area=area, age=age, count=count)
    else:
        out = _from_wide(table, wide, area=area)
    out.attrs.update(table.attrs)
    return out


#: Oldest single year of age a population table may give.
MAX_AGE = 120


def _wide_age_columns(table: pd.DataFrame) -> dict[str, str]:
    """Columns of single years of age (``age_5``, ``5``, ``90+``) → geomap's name (``age_5``)."""
    found: dict[str, str] = {}
    for column in table.columns:
        match = _WIDE_AGE.fullmatch(normalise_name(str(column)))
        if match is not None:
            found[str(column)] = f"age_{int(match[1])}{match[2]}"
    return found


def _from_wide(table: pd.DataFrame, ages: dict[str, str], *, area: str | None) -> pd.DataFrame:
    if not ages:
        raise_missing(
            table,
            "age_0",
            what="of single years of age ('age_0', 'age_1', ...), or an age and a count "
            "column for a table with one row per area and age",
        )
    seen: dict[str, str] = {}
    for column, name in ages.items():
        if name in seen:
            raise InputError(
                f"columns '{seen[name]}' and '{column}' both count people aged {name[4:]}",
                path=source_of(table),
                column=column,
                fix="Keep one column per single year of age",
            )
        seen[name] = column
    years = sorted(int(n[4:].rstrip("+")) for n in ages.values())
    if years[-1] > MAX_AGE:
        column = next(c for c, n in ages.items() if int(n[4:].rstrip("+")) == years[-1])
        raise InputError(
            f"column '{column}' is for age {years[-1]}, over {MAX_AGE}",
            path=source_of(table),
            column=column,
            fix="Give single years of age from 0, with the oldest as e.g. '90+'",
        )
    missing = sorted(set(range(years[0], years[-1] + 1)) - set(years))
    if missing:
        warnings.warn(
            f"{source_of(table)}: no column for age(s) {', '.join(map(str, missing[:5]))}"
            f"{' …' if len(missing) > 5 else ''} between {years[0]} and {years[-1]}; "
            "nobody is counted at those ages",
            InputWarning,
            stacklevel=3,
        )
    schema = Schema(
        columns=(
            dataclasses.replace(_area_column(), unique=True),
            *(_count_column(column) for column in ages),
            Column("total_population", type="number", minimum=0, label="total population"),
            Column("label_pt_easting", type="number"),
            Column("label_pt_northing", type="number"),
        )
    )
    clean = schema.validate(
        table,
        what="population table",
        named={"area_id": area, **{column: column for column in ages}},
    )
    # the counts as one block: no blanks are left, so they are all whole numbers
    counts = clean[list(ages)].to_numpy(dtype="int64")
    out = pd.DataFrame(
        {
            "area_id": clean["area_id"].array,
            **{name: counts[:, i] for i, name in enumerate(ages.values())},
        },
        index=clean.index,
    )
    found = clean.attrs["geomap_columns"]
    _add_total(out, given=clean["total_population"] if found["total_population"] else None)
    for extra in ("label_pt_easting", "label_pt_northing"):
        if found[extra] is not None:
            out[extra] = _plain(clean[extra])
    return out.set_index("area_id")


def _plain(values: pd.Series) -> pd.Series:
    """Whole numbers as int64, others as float64 (NaN where blank)."""
    floats = values.to_numpy(dtype=float, na_value=np.nan)
    if np.isfinite(floats).all() and (floats == np.round(floats)).all():
        return pd.Series(floats.astype("int64"), index=values.index)
    return pd.Series(floats, index=values.index)


def _add_total(out: pd.DataFrame, *, given: pd.Series | None) -> None:
    ages = [c for c in out.columns if c.startswith("age_")]
    if given is None or given.isna().any():
        out["total_population"] = out[ages].sum(axis=1).astype("int64")
    else:
        out["total_population"] = _plain(given)


def _from_long(
    table: pd.DataFrame, *, area: str | None, age: str | None, count: str | None
) -> pd.DataFrame:
    clean = LONG_POPULATION_SCHEMA.validate(
        table, what="population table", named={"area_id": area, "age": age, "count": count}
    )
    found = clean.attrs["geomap_columns"]
    text = clean["age"]
    parsed = text.str.fullmatch(r"(\d{1,3})\s*(\+?)", flags=0)
    match = text.str.extract(r"^(\d{1,3})\s*(\+?)$")
    bad = ~parsed.fillna(False).to_numpy(dtype=bool)
    bad |= pd.to_numeric(match[0], errors="coerce").fillna(0).to_numpy() > MAX_AGE
    check_rows(
        table,
        bad,
        lambda pos: f"'{text.iloc[pos]}' is not a single year of age (0 to {MAX_AGE})",
        column=found["age"],
        fix=_AGE_FIX,
    )
    names = "age_" + match[0].astype(int).astype(str) + match[1]
    keys = pd.DataFrame({"area_id": clean["area_id"], "age": names})
    twice = keys.duplicated(keep=False).to_numpy(dtype=bool)
    if twice.any():
        first = int(np.flatnonzero(twice)[0])
        same = np.flatnonzero(
            (keys["area_id"] == keys["area_id"].iloc[first]).to_numpy(dtype=bool)
            & (keys["age"] == keys["age"].iloc[first]).to_numpy(dtype=bool)
        )
        rows = [row_number(table, int(p)) for p in same]
        raise DuplicateIdError(
            f"area '{keys['area_id'].iloc[first]}' has age {text.iloc[first]} in rows "
            f"{', '.join(map(str, rows))}",
            path=source_of(table),
            row=rows[1],
            column=found["age"],
            fix="Give each area and age once: remove the repeated row, or add the counts up",
        )
    counts = pd.DataFrame(
        {"area_id": keys["area_id"], "age": keys["age"], "count": clean["count"].astype("int64")}
    )
    wide = counts.pivot(index="area_id", columns="age", values="count")
    order = sorted(wide.columns, key=lambda c: (int(c[4:].rstrip("+")), c.endswith("+")))
    areas = list(dict.fromkeys(keys["area_id"]))
    wide = wide.loc[areas, order]
    gaps = wide.isna().any(axis=1)
    if gaps.any():
        shown = ", ".join(str(a) for a in wide.index[gaps.to_numpy()][:3])
        warnings.warn(
            f"{source_of(table)}: {int(gaps.sum())} area(s) lack a row for some ages "
            f"({shown}{' ...' if gaps.sum() > 3 else ''}); nobody is counted at those ages",
            InputWarning,
            stacklevel=4,
        )
    out = wide.fillna(0).astype("int64").reset_index()
    out.columns = [str(c) for c in out.columns]
    out["area_id"] = out["area_id"].astype("string")
    _add_total(out, given=None)
    return out.set_index("area_id")


def single_ages(population: pd.DataFrame) -> pd.DataFrame:
    """The single-year columns as a frame with integer column labels (90+ as 90).

    Parameters
    ----------
    population
        From :func:`load_population`.

    Returns
    -------
    pandas.DataFrame
        Head counts indexed like ``population``, one column per age (``0``,
        ``1`` ... ``90``; the oldest column may count everyone of that age or over).
    """
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

    Raises
    ------
    InputError
        If a band's first age is after its last.
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


#: An origin point further than this (metres) outside its own area is not trusted:
#: trip points on a road just over the area's edge are fine, a point in another
#: town is a wrong code or coordinate.
ORIGIN_MAX_OUTSIDE_M = 2000.0


def origin_points(
    areas: gpd.GeoDataFrame,
    *,
    points: Sequence[tuple[str | Path, str | None, str]] = (),
    trip_points: str | Path | None = None,
    centroids: str | Path | None = None,
    population: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """One origin point per area, and where it came from.

    Each area takes the first point it has among ``points`` (in order), then
    ``trip_points``, ``centroids``, the population table's label point, and
    last a point inside its polygon.

    Parameters
    ----------
    areas
        Areas with ``area_id`` (EPSG:27700).
    points
        Point files keyed by area code, in order of preference, each as
        ``(path, code column or None, kind)``; ``kind`` is what outputs call
        the points (``trip_point``).
    trip_points, centroids
        Shorthands for ``points``: routing trip points, and population-weighted
        centroids (the code column is found by its usual names).
    population
        Population table with ONS label points (``label_pt_easting``/``northing``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id``, ``origin_source`` and the point, aligned with ``areas``.

    Raises
    ------
    InputError
        If a point file cannot be read, is not a point layer, has no area code
        column, or gives an area two points.

    Warns
    -----
    InputWarning
        For points more than :data:`ORIGIN_MAX_OUTSIDE_M` outside their own
        area (they are not used), and as :func:`geomap.io.read_table` does.
    """
    layers = list(points)
    if trip_points is not None:
        layers.append((trip_points, None, "trip_point"))
    if centroids is not None:
        layers.append((centroids, None, "population_weighted_centroid"))
    ids = areas["area_id"].to_numpy()
    x = np.full(len(ids), np.nan)
    y = np.full(len(ids), np.nan)
    source = np.full(len(ids), "", dtype=object)
    polygons = areas.geometry.reset_index(drop=True)

    def fill(found: pd.DataFrame, label: str, *, where: str | Path | None = None) -> None:
        hit = pd.Index(found.index).get_indexer(ids)
        use = np.isnan(x) & (hit >= 0)
        px = found["x"].to_numpy()[hit[use]]
        py = found["y"].to_numpy()[hit[use]]
        if where is not None and use.any():
            near = gpd.GeoSeries(gpd.points_from_xy(px, py), crs=settings.MEASURE_CRS)
            gap = polygons[use].distance(near, align=False)
            far = gap.to_numpy() > ORIGIN_MAX_OUTSIDE_M
            if far.any():
                chosen = np.flatnonzero(use)[far]
                shown = ", ".join(
                    f"{ids[i]} ({g / 1000:.1f} km)"
                    for i, g in zip(chosen[:5], gap.to_numpy()[far][:5], strict=False)
                )
                warnings.warn(
                    f"{where}: {int(far.sum())} origin point(s) lie more than "
                    f"{ORIGIN_MAX_OUTSIDE_M / 1000:g} km outside their own area: {shown}; "
                    "they are not used",
                    InputWarning,
                    stacklevel=3,
                )
                keep = ~far
                use[chosen] = False
                px, py = px[keep], py[keep]
        x[use] = px
        y[use] = py
        source[use] = label

    for path, code, label in layers:
        fill(points_by_code(path, code=code), label, where=path)
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


def points_by_code(path: str | Path, *, code: str | None = None) -> pd.DataFrame:
    """Read a point file keyed by area code.

    Parameters
    ----------
    path
        A point layer (GeoJSON, GeoPackage ...) with one point per area.
    code
        The column of area codes; by default the first of ``lsoa11cd``,
        ``lsoa21cd``, ``area_id``, ``code``, ``id``.

    Returns
    -------
    pandas.DataFrame
        ``x``, ``y`` (EPSG:27700) indexed by area code.

    Raises
    ------
    InputError
        If the file is not a point layer, or has no area code column (or not
        the one named).

    Warns
    -----
    InputWarning
        As :func:`geomap.io.read_table` does (GDAL's remarks on the file, say).
    """
    layer = read_table(path, what="origin points")
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(
            "origin points must be a point layer",
            path=path,
            fix="Give a GeoJSON or GeoPackage of points",
        )
    column = find_column(layer, ("lsoa11cd", "lsoa21cd", "area_id", "code", "id"), explicit=code)
    if column is None:
        raise_missing(layer, "area_id", what="of area codes")
    kinds = layer.geometry.geom_type.to_numpy()
    present = layer.geometry.notna().to_numpy() & ~layer.geometry.is_empty.to_numpy()
    bad = present & (kinds != "Point")
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"origin points must be points, but row {row_number(layer, pos)} is a {kinds[pos]}"
            f" ({int(bad.sum())} feature(s) are not points)",
            path=path,
            row=row_number(layer, pos),
            column="geometry",
            fix="Give one point per area (a population-weighted centroid, say), not its polygon",
        )
    codes = layer[column].astype("string").str.strip()
    usable = codes.notna().to_numpy() & present
    repeated = codes.duplicated(keep=False).to_numpy() & usable
    if repeated.any():
        first = codes[repeated].iloc[0]
        rows = [
            row_number(layer, int(i))
            for i in np.flatnonzero((codes == first).fillna(False).to_numpy() & usable)
        ]
        raise DuplicateIdError(
            f"area code '{first}' has more than one origin point (rows {', '.join(map(str, rows))})",
            path=path,
            row=rows[1],
            column=column,
            fix="Give one point per area",
        )
    pts = layer.loc[usable].to_crs(settings.MEASURE_CRS)
    return pd.DataFrame(
        {"x": pts.geometry.x.to_numpy(), "y": pts.geometry.y.to_numpy()},
        index=codes[usable].to_numpy(),
    )


# --------------------------------------------------------------------------- postcode origins

#: Spellings of a lookup's column of each postcode's positional quality (Code-Point Open's PQI).
QUALITY_ALIASES = ("positional_quality", "positional_quality_indicator", "pqi", "quality")
#: Code-Point Open's positional quality meaning the postcode has no coordinates.
UNLOCATED_QUALITY = 90
#: Columns of a postcode lookup that weight a postcode's share of its area's
#: children, in order of preference (Code-Point Open has none of them).
WEIGHT_ALIASES = ("households", "addresses", "delivery_points", "residential_addresses")
#: Children are shared out in whole units of this fraction of a child (2**-16), so
#: that each area's shares add up to its children exactly, in any order of summing.
SHARE_UNIT = 1.0 / 65536

_POSTCODE_ORIGIN_COLUMNS = ("id", "postcode", "area_id", "origin_source", "weight", "share")


def postcode_origins(
    postcodes: str | Path | pd.DataFrame,
    areas: gpd.GeoDataFrame,
    children: pd.DataFrame,
    *,
    boundary: gpd.GeoDataFrame | None = None,
    origins: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """One origin per postcode of the analysis areas, with an estimate of its children.

    Every postcode of the lookup that lies inside an analysis area becomes an
    origin, and its area's children of each kind are shared among the area's
    postcodes: equally, unless the lookup has a column that weights them
    (``households``, ``addresses``, ``delivery_points``; OS Code-Point Open
    has none). The shares are an estimate, and ``attrs["note"]`` says so.
    Each area's shares add up to its children exactly: they are whole
    multiples of :data:`SHARE_UNIT` of a child, given out by the largest
    remainder, so an equal share is exact to within 1/65,536 of a child.

    Left out, and counted in the note: postcodes with no coordinates
    (positional quality :data:`UNLOCATED_QUALITY`, or a blank or zero grid
    reference), postcodes outside ``boundary``, and postcodes inside no
    area. An area with no postcode inside keeps its area origin (from
    ``origins``, else a point inside its polygon) and all its children.

    Parameters
    ----------
    postcodes
        A postcode lookup (OS Code-Point Open or ONS Postcode Directory CSV,
        with postcode, easting and northing columns, and optionally
        ``positional_quality`` and a weight column), or such a table already
        read by :func:`geomap.io.read_table`.
    areas
        Analysis areas with ``area_id`` (polygons, EPSG:27700).
    children
        Children per area (index ``area_id``) and kind (one column per kind),
        from :func:`children_by_band`.
    boundary
        The study area's outline; postcodes outside it are left out.
    origins
        The areas' own origin points (``id`` = area id, optional
        ``origin_source``), used for areas with no postcode.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per origin, in EPSG:27700: ``id`` (the postcode folded by
        :func:`geomap.locations.normalise_postcode`, or the area id for an
        area kept whole), ``postcode`` (as the lookup writes it; blank for an
        area kept whole), ``area_id``, ``origin_source`` (``postcode``, or the
        area origin's source), ``weight`` (1 for an equal share),
        ``share`` (the fraction of the area's children), then one column of
        children per kind (fractional), and the point. ``attrs`` holds
        ``note`` (one sentence for outputs), ``weight_column`` (``None`` for
        equal shares), and the counts ``postcodes_in_lookup``,
        ``postcodes_used``, ``unlocated``, ``outside_boundary``,
        ``outside_areas``, ``repeated`` and ``areas_without_postcodes`` (a
        list of area ids).

    Raises
    ------
    InputError
        If the lookup cannot be read or lacks postcode, easting or northing
        columns, if ``areas`` or ``origins`` are not in EPSG:27700, or if
        ``children`` has no row for some area.

    Warns
    -----
    InputWarning
        When a postcode is repeated in the lookup (the first row is used), or
        a weight is blank or negative (counted as 0).
    """
    from geomap.locations import (
        EASTING_ALIASES,
        NORTHING_ALIASES,
        POSTCODE_ALIASES,
        normalise_postcodes,
    )

    table = (
        postcodes
        if isinstance(postcodes, pd.DataFrame)
        else read_table(postcodes, what="postcode lookup")
    )
    where = source_of(table) if isinstance(postcodes, pd.DataFrame) else postcodes
    for layer, what in ((areas, "areas"), (origins, "area origins"), (boundary, "boundary")):
        if layer is not None and (layer.crs is None or not layer.crs.equals(settings.MEASURE_CRS)):
            raise InputError(
                f"the {what} are in {layer.crs}, not {settings.MEASURE_CRS}",
                fix=f"Reproject them with .to_crs('{settings.MEASURE_CRS}')",
            )
    missing = sorted(set(areas["area_id"]) - set(children.index))
    if missing:
        raise InputError(
            f"{len(missing)} area(s) have no children counted, e.g. {missing[0]}",
            fix="Give children for every area (geomap.demand.children_by_band)",
        )
    pc = find_column(table, POSTCODE_ALIASES)
    east = find_column(table, EASTING_ALIASES)
    north = find_column(table, NORTHING_ALIASES)
    if pc is None or east is None or north is None:
        raise InputError(
            "a postcode lookup needs postcode, easting and northing columns",
            path=where,
            fix="Use OS Code-Point Open or ONS Postcode Directory columns",
        )
    total = len(table)
    raw = table[pc].astype("string").str.strip()
    keys = normalise_postcodes(raw.fillna(""))
    e = pd.to_numeric(table[east], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(table[north], errors="coerce").to_numpy(dtype=float)
    located = np.isfinite(e) & np.isfinite(n) & (e > 0) & (n > 0) & (keys != "")
    quality_c = find_column(table, QUALITY_ALIASES)
    if quality_c is not None:
        quality = pd.to_numeric(table[quality_c], errors="coerce").to_numpy(dtype=float)
        located &= quality != UNLOCATED_QUALITY
    unlocated = int((~located).sum())
    weight_c = find_column(table, WEIGHT_ALIASES)
    weights = np.ones(total, dtype=np.int64)
    if weight_c is not None:
        given = pd.to_numeric(table[weight_c], errors="coerce").to_numpy(dtype=float)
        bad = located & ~(np.isfinite(given) & (given >= 0))
        if bad.any():
            shown = ", ".join(str(raw.iloc[int(i)]) for i in np.flatnonzero(bad)[:3])
            warnings.warn(
                f"{where}: {int(bad.sum())} postcode(s) have a blank or negative {weight_c} "
                f"({shown}{' …' if bad.sum() > 3 else ''}); they are given no children",
                InputWarning,
                stacklevel=2,
            )
        weights = np.where(bad, 0, np.round(np.nan_to_num(given, nan=0.0))).astype(np.int64)
    repeated_mask = located & pd.Series(keys).duplicated().to_numpy()
    repeated = int(repeated_mask.sum())
    if repeated:
        shown = ", ".join(str(k) for k in keys[repeated_mask][:3])
        warnings.warn(
            f"{where}: {repeated} postcode(s) appear more than once ({shown}"
            f"{' …' if repeated > 3 else ''}); the first row of each is used",
            InputWarning,
            stacklevel=2,
        )
    use = located & ~repeated_mask
    pos = np.flatnonzero(use)
    points = gpd.GeoDataFrame(
        {"row": pos},
        geometry=gpd.points_from_xy(e[pos], n[pos]),
        crs=settings.MEASURE_CRS,
    )
    outside_boundary = 0
    if boundary is not None:
        inside = points.intersects(boundary.geometry.union_all()).to_numpy()
        outside_boundary = int((~inside).sum())
        points = points[inside]
    joined = gpd.sjoin(
        points, areas[["area_id", "geometry"]], how="inner", predicate="intersects"
    ).drop_duplicates("row")
    outside_areas = len(points) - len(joined)
    rows = joined["row"].to_numpy()
    found = pd.DataFrame(
        {
            "id": keys[rows].astype(str),
            "postcode": raw.to_numpy()[rows],
            "area_id": joined["area_id"].astype(str).to_numpy(),
            "origin_source": "postcode",
            "weight": weights[rows],
            "x": e[rows],
            "y": n[rows],
        }
    )
    area_ids = areas["area_id"].astype(str)
    present = set(found["area_id"].tolist())
    empty = [area for area in area_ids.tolist() if area not in present]
    kept = _area_origins(areas, empty, origins)
    table_out = pd.concat([found, kept], ignore_index=True)
    table_out = _share_children(table_out, children)
    out = gpd.GeoDataFrame(
        table_out.drop(columns=["x", "y"]),
        geometry=gpd.points_from_xy(table_out["x"], table_out["y"]),
        crs=settings.MEASURE_CRS,
    )
    out.attrs.update(
        {
            "postcodes_in_lookup": total,
            "postcodes_used": len(found),
            "unlocated": unlocated,
            "outside_boundary": outside_boundary,
            "outside_areas": int(outside_areas),
            "repeated": repeated,
            "areas_without_postcodes": empty,
            "weight_column": weight_c,
            "note": _postcode_note(
                found,
                areas=len(area_ids),
                weight=weight_c,
                unlocated=unlocated,
                outside=outside_boundary + int(outside_areas),
                empty=empty,
                total=total,
            ),
        }
    )
    return out


def _area_origins(
    areas: gpd.GeoDataFrame, empty: list[str], origins: gpd.GeoDataFrame | None
) -> pd.DataFrame:
    """Rows for the areas with no postcode: their own origin, else a point inside them."""
    chosen = areas[areas["area_id"].astype(str).isin(empty)]
    inside = chosen.geometry.representative_point()
    x = np.array(inside.x, dtype=float)
    y = np.array(inside.y, dtype=float)
    source = np.full(len(chosen), "representative_point", dtype=object)
    if origins is not None and len(chosen):
        at = origins.assign(id=origins["id"].astype(str)).set_index("id")
        hit = pd.Index(at.index).get_indexer(chosen["area_id"].astype(str))
        have = hit >= 0
        x[have] = at.geometry.x.to_numpy()[hit[have]]
        y[have] = at.geometry.y.to_numpy()[hit[have]]
        if "origin_source" in at.columns:
            source[have] = at["origin_source"].astype(str).to_numpy()[hit[have]]
    return pd.DataFrame(
        {
            "id": chosen["area_id"].astype(str).to_numpy(),
            "postcode": "",
            "area_id": chosen["area_id"].astype(str).to_numpy(),
            "origin_source": source.astype(str),
            "weight": np.ones(len(chosen), dtype=np.int64),
            "x": x,
            "y": y,
        }
    )


def _share_children(table: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    """Share each area's children among its rows by weight, in whole units of :data:`SHARE_UNIT`.

    The largest-remainder method in integers: each row gets the whole units
    its weight earns, and the units left over go to the rows with the largest
    remainders (ties to the first row). An area whose weights are all 0 is
    shared equally.
    """
    out = table.reset_index(drop=True)
    area = out["area_id"].to_numpy()
    codes, first = np.unique(area, return_inverse=True)
    weight = out["weight"].to_numpy(dtype=np.int64)
    sums = np.bincount(first, weights=weight, minlength=len(codes)).astype(np.int64)
    # an area whose weights are all 0: every postcode counts the same
    flat = sums[first] == 0
    weight = np.where(flat, 1, weight)
    out["weight"] = weight
    sums = np.bincount(first, weights=weight, minlength=len(codes)).astype(np.int64)
    units_per_child = round(1 / SHARE_UNIT)
    order = np.arange(len(out))
    for kind in children.columns:
        whole = children[kind].reindex(codes).to_numpy(dtype=float)
        units = np.round(whole * units_per_child).astype(np.int64)
        numer = units[first] * weight
        base = numer // sums[first]
        rest = numer % sums[first]
        left = units - np.bincount(first, weights=base, minlength=len(codes)).astype(np.int64)
        # rank rows within their area by remainder, largest first
        ranked = np.lexsort((order, -rest, first))
        start = np.searchsorted(first[ranked], np.arange(len(codes)))
        rank = np.empty(len(out), dtype=np.int64)
        rank[ranked] = np.arange(len(out)) - start[first[ranked]]
        given = base + (rank < left[first])
        out[kind] = given * SHARE_UNIT
    shares = weight / sums[first]
    out.insert(list(out.columns).index("weight") + 1, "share", shares)
    return out


def _postcode_note(
    found: pd.DataFrame,
    *,
    areas: int,
    weight: str | None,
    unlocated: int,
    outside: int,
    empty: list[str],
    total: int,
) -> str:
    per_area = found.groupby("area_id").size()
    spread = (
        f" (N from {int(per_area.min())} to {int(per_area.max())}, a median of "
        f"{per_area.median():g})"
        if len(per_area)
        else ""
    )
    how = (
        f"shared among its N postcodes in proportion to their {weight}{spread}"
        if weight
        else f"shared equally among its N postcodes{spread}"
    )
    parts = [
        f"Journeys start at {len(found):,} postcodes; children per postcode are the area's "
        f"children {how}: an estimate."
    ]
    if unlocated:
        parts.append(
            f"{unlocated:,} postcode(s) of the lookup have no coordinates and are left out."
        )
    if outside:
        parts.append(f"{outside:,} of the lookup's {total:,} postcodes lie outside the areas.")
    if empty:
        shown = ", ".join(empty[:3])
        parts.append(
            f"{len(empty)} of {areas} areas have no postcode inside and keep their area origin "
            f"({shown}{' …' if len(empty) > 3 else ''})."
        )
    return " ".join(parts)
