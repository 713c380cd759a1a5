"""Education providers: load, locate, classify and validate.

A provider list is a CSV or vector file with one row per setting. geomap's
schema (all but ``id``, ``name``, ``kind`` and a location optional):

============================ ==================================================
``id``                       unique text id (URN, Ofsted URN, your own code)
``name``                     setting name
``kind``                     one of :data:`geomap.settings.KINDS` (synonyms
                             such as "nursery", "high school", "FE" accepted)
location                     ``lon``/``lat``, ``easting``/``northing`` or ``postcode``
``sector``                   maintained, academy, independent, college, unknown
``low_age``, ``high_age``    statutory age range
``capacity``                 places (``places`` is accepted)
``rating``                   latest Ofsted rating
``offers_*``                 phases offered (early_years, primary, secondary,
                             post16); derived from kind and ages when absent
``status``                   open or closed (``closed_date`` also marks closed)
============================ ==================================================

Any other columns are kept. A list with no ``kind`` column can be loaded with
``kind="early_years"`` (e.g. an Ofsted early-years register extract with name,
postcode and places).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import InputError, UnknownKindError
from geomap.io import check_rows, find_column, raise_missing, read_table, row_number, source_of
from geomap.locations import check_unique_ids, county_boundary, points_from_table

logger = logging.getLogger(__name__)

#: Kind synonyms a planner's list may use, folded to lower case.
KIND_SYNONYMS = {
    "early_years": "early_years",
    "early years": "early_years",
    "early-years": "early_years",
    "ey": "early_years",
    "nursery": "early_years",
    "nursery school": "early_years",
    "pre-school": "early_years",
    "preschool": "early_years",
    "childminder": "early_years",
    "day nursery": "early_years",
    "primary": "primary",
    "primary school": "primary",
    "infant": "primary",
    "junior": "primary",
    "first": "primary",
    "secondary": "secondary",
    "secondary school": "secondary",
    "high": "secondary",
    "high school": "secondary",
    "middle": "secondary",
    "sixth_form": "sixth_form",
    "sixth form": "sixth_form",
    "6th form": "sixth_form",
    "secondary with sixth form": "sixth_form",
    "college": "college",
    "fe": "college",
    "fe college": "college",
    "further education": "college",
    "sixth form college": "college",
    "special": "special",
    "special school": "special",
    "sen": "special",
    "pru": "special",
    "alternative provision": "special",
}

SECTORS = ("maintained", "academy", "independent", "college", "unknown")

ID_ALIASES = ("id", "urn", "provider_id", "provider_urn", "setting_id", "reference_number")
NAME_ALIASES = (
    "name",
    "establishmentname",
    "establishment_name",
    "provider_name",
    "setting_name",
    "school_name",
)
ATTRIBUTE_ALIASES = {
    "kind": ("kind", "provider_kind", "phase_kind"),
    "sector": ("sector",),
    "low_age": ("low_age", "statutory_low_age", "statutorylowage", "age_from", "min_age"),
    "high_age": ("high_age", "statutory_high_age", "statutoryhighage", "age_to", "max_age"),
    "capacity": ("capacity", "places", "schoolcapacity", "registered_places", "number_of_places"),
    "rating": ("rating", "ofsted_rating", "overall_effectiveness"),
    "status": ("status",),
    "closed_date": ("closed_date", "close_date", "closedate"),
}
PHASES = ("early_years", "primary", "secondary", "post16")

#: Columns of a loaded provider GeoDataFrame, in order (others follow).
COLUMNS = (
    "id",
    "name",
    "kind",
    "sector",
    "low_age",
    "high_age",
    "offers_early_years",
    "offers_primary",
    "offers_secondary",
    "offers_post16",
    "capacity",
    "rating",
    "postcode",
    "status",
    "closed_date",
    "in_county",
    "location_source",
)


def load_providers(
    path: str | Path | None = None,
    *,
    kind: str | None = None,
    include_closed: bool = False,
    postcodes: str | Path | None = None,
    county: gpd.GeoSeries | None = None,
) -> gpd.GeoDataFrame:
    """Load, locate, classify and validate a provider list.

    Parameters
    ----------
    path
        CSV or vector file; the shipped Herefordshire and border register by default.
    kind
        Kind for every row of a list that has no ``kind`` column (for example
        ``"early_years"`` for an Ofsted early-years register extract).
    include_closed
        Keep closed providers. By default they are dropped and counted in
        ``attrs["closed_excluded"]``.
    postcodes
        Postcode lookup for rows located by postcode (shipped Code-Point Open by default).
    county
        Polygon(s) of the planning area in EPSG:27700 for the ``in_county`` flag;
        Herefordshire by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`COLUMNS` then any others from the file, in EPSG:27700.
        ``attrs`` has ``source``, ``closed_excluded`` and ``outside_county``.
    """
    path = Path(path) if path is not None else settings.shipped("providers")
    table = read_table(path, what="provider list")
    providers = standardise_providers(table, kind=kind, postcodes=postcodes)
    closed = providers["status"] == "closed"
    n_closed = int(closed.sum())
    if not include_closed:
        providers = providers.loc[~closed].copy()
        if n_closed:
            logger.info("%s: %d closed providers excluded", path, n_closed)
    if county is None:
        county = county_boundary()
    providers["in_county"] = providers.within(county.union_all())
    providers.attrs.update(
        source=str(path),
        closed_excluded=0 if include_closed else n_closed,
        closed_total=n_closed,
        outside_county=int((~providers["in_county"]).sum()),
    )
    return providers.reset_index(drop=True)


def standardise_providers(
    table: pd.DataFrame,
    *,
    kind: str | None = None,
    postcodes: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Map a raw provider table onto geomap's schema and locate each row.

    See :func:`load_providers`; this does the same for a table already in memory
    (``table.attrs["geomap_source"]`` names the file in messages).
    """
    path = source_of(table)
    id_c = find_column(table, ID_ALIASES)
    name_c = find_column(table, NAME_ALIASES)
    if name_c is None:
        raise_missing(table, "name", what="'name'", fix="Add a name column")
    out = pd.DataFrame(index=table.index)
    out.attrs.update(table.attrs)
    if id_c is None:
        stem = Path(path).stem if path else "provider"
        out["id"] = [f"{stem}-{row_number(table, i)}" for i in range(len(table))]
        logger.warning("%s: no id column; ids made from the row numbers", path)
    else:
        out["id"] = table[id_c].astype("string").str.strip()
    out["name"] = table[name_c].astype("string").str.strip()
    for field, aliases in ATTRIBUTE_ALIASES.items():
        column = find_column(table, aliases)
        out[field] = table[column] if column is not None else pd.NA
    out["kind"] = _kinds(
        table, out["kind"], default=kind, column=find_column(table, ATTRIBUTE_ALIASES["kind"])
    )
    for field in ("low_age", "high_age", "capacity"):
        out[field] = _optional_numbers(table, out[field], field)
    out["sector"] = out["sector"].astype("string").str.strip().str.lower().fillna("unknown")
    bad_sector = ~out["sector"].isin(SECTORS)
    check_rows(
        table,
        bad_sector,
        lambda pos: f"unknown sector '{out['sector'].iloc[pos]}'",
        column="sector",
        fix=f"Use one of: {', '.join(SECTORS)}",
    )
    for phase in PHASES:
        column = find_column(table, (f"offers_{phase}",))
        if column is not None:
            out[f"offers_{phase}"] = _booleans(table, column)
        else:
            out[f"offers_{phase}"] = _derived_offer(out, phase)
    status = out["status"].astype("string").str.strip().str.lower()
    closed = status.str.startswith("closed").fillna(False) | out["closed_date"].notna()
    out["status"] = np.where(closed, "closed", "open")
    pc_c = find_column(table, ("postcode", "post_code", "postal_code"))
    out["postcode"] = table[pc_c] if pc_c is not None else pd.NA
    id_label = id_c or "id"
    check_unique_ids(out.rename(columns={"id": id_label}), id_label, what="provider list")
    located = points_from_table(table, postcodes=postcodes, what="provider list")
    extras = [
        c
        for c in table.columns
        if c not in {id_c, name_c, "geometry"}
        and c not in out.columns
        and c not in ("location_source",)
    ]
    providers = gpd.GeoDataFrame(
        pd.concat([out, table[extras]], axis=1),
        geometry=located.geometry,
        crs=settings.MEASURE_CRS,
    )
    providers["location_source"] = located["location_source"]
    providers["in_county"] = True
    ordered = [c for c in COLUMNS if c in providers.columns]
    rest = [c for c in providers.columns if c not in ordered and c != "geometry"]
    providers = providers[[*ordered, *rest, "geometry"]]
    providers.attrs.update(table.attrs)
    return providers


def _kinds(
    table: pd.DataFrame, raw: pd.Series, *, default: str | None, column: str | None
) -> pd.Series:
    path = source_of(table)
    if default is not None:
        default = normalise_kind(default)
    if column is None:
        if default is None:
            raise_missing(
                table,
                "kind",
                what="'kind'",
                fix=f"Add a kind column ({', '.join(settings.KINDS)}) or, for a list of one "
                "kind, pass --kind (for example --kind early_years)",
            )
        return pd.Series(default, index=table.index, dtype="string")
    folded = raw.astype("string").str.strip().str.lower()
    kinds = folded.map(KIND_SYNONYMS)
    if default is not None:
        kinds = kinds.where(folded.notna(), default)
    unknown = kinds.isna()
    if unknown.any():
        pos = int(np.flatnonzero(unknown.to_numpy())[0])
        value = raw.iloc[pos]
        raise UnknownKindError(
            "missing kind" if pd.isna(value) else f"unknown kind '{value}'",
            path=path,
            row=row_number(table, pos),
            column=column,
            fix=f"Use one of: {', '.join(settings.KINDS)}",
        )
    return kinds.astype("string")


def normalise_kind(value: str) -> str:
    """Canonical kind for a kind name or synonym; raises :class:`UnknownKindError`."""
    kind = KIND_SYNONYMS.get(str(value).strip().lower())
    if kind is None:
        raise UnknownKindError(
            f"unknown kind '{value}'", fix=f"Use one of: {', '.join(settings.KINDS)}"
        )
    return kind


def _optional_numbers(table: pd.DataFrame, raw: pd.Series, field: str) -> pd.Series:
    values = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & values.isna()
    check_rows(
        table,
        bad,
        lambda pos: f"'{raw.iloc[pos]}' is not a number",
        column=field,
        fix=f"Give {field} as a whole number or leave it blank",
    )
    return values.astype("Float64")


def _booleans(table: pd.DataFrame, column: str) -> pd.Series:
    folded = table[column].astype("string").str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "y": True, "false": False, "0": False}
    mapping.update({"no": False, "n": False})
    values = folded.map(mapping)
    bad = folded.notna() & values.isna()
    check_rows(
        table,
        bad,
        lambda pos: f"'{table[column].iloc[pos]}' is not true or false",
        column=column,
        fix="Use True/False, yes/no or 1/0",
    )
    return values.fillna(False).astype(bool)


def _derived_offer(out: pd.DataFrame, phase: str) -> pd.Series:
    kind = out["kind"]
    low = out["low_age"]
    mainstream = kind != "special"
    if phase == "early_years":
        derived = (kind == "early_years") | (mainstream & (low <= 3).fillna(False))
    elif phase == "primary":
        derived = (kind == "primary") | (
            kind.isin(["secondary", "sixth_form"]) & (low <= 7).fillna(False)
        )
    elif phase == "secondary":
        derived = kind.isin(["secondary", "sixth_form"])
    else:
        derived = kind.isin(["sixth_form", "college"])
    return derived.fillna(False).astype(bool)


def offers(providers: pd.DataFrame, kind: str) -> pd.Series:
    """Mask of providers that offer places of ``kind``.

    ``early_years``, ``primary``, ``secondary`` and ``post16`` use the
    ``offers_*`` flags (a primary school with a nursery class is early-years
    provision too); ``sixth_form``, ``college`` and ``special`` use the main kind.
    """
    if kind in ("early_years", "primary", "secondary", "post16"):
        return providers[f"offers_{kind}"].astype(bool)
    if kind in ("sixth_form", "college", "special"):
        return providers["kind"] == kind
    raise UnknownKindError(
        f"unknown kind '{kind}'",
        fix=f"Use one of: {', '.join((*settings.KINDS, 'post16'))}",
    )


def summarise_providers(providers: gpd.GeoDataFrame) -> pd.DataFrame:
    """Counts per kind: all, offering places of the kind, in the county, across the border, by sector.

    Returns
    -------
    pandas.DataFrame
        One row per kind (in :data:`geomap.settings.KINDS` order) plus a total.
        ``providers`` counts the main kind; ``offering`` counts every provider
        with places of that kind (a primary school with a nursery class offers
        early years), so it does not add up.
    """
    rows = []
    for kind in settings.KINDS:
        sub = providers[providers["kind"] == kind]
        rows.append(
            {
                "kind": kind,
                "providers": len(sub),
                "offering": int(offers(providers, kind).sum()),
                "in_county": int(sub["in_county"].sum()),
                "outside_county": int((~sub["in_county"]).sum()),
                **{s: int((sub["sector"] == s).sum()) for s in SECTORS},
            }
        )
    table = pd.DataFrame(rows)
    total = table.drop(columns="kind").sum().to_dict()
    total["offering"] = len(providers)
    table.loc[len(table)] = {"kind": "total", **total}
    return table


def merge_provider_lists(base: gpd.GeoDataFrame, extra: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add a further list (e.g. a full early-years register) to ``base``.

    Ids are prefixed by nothing; an id present in both lists is an error,
    since the same setting would otherwise be counted twice.
    """
    clash = set(base["id"]) & set(extra["id"])
    if clash:
        first = sorted(clash)[0]
        raise InputError(
            f"id '{first}' is in both provider lists ({len(clash)} shared id(s))",
            path=source_of(extra),
            column="id",
            fix="Give the second list's settings their own ids",
        )
    merged = pd.concat([base, extra], ignore_index=True)
    out = gpd.GeoDataFrame(merged, geometry="geometry", crs=base.crs)
    out.attrs.update(base.attrs)
    out.attrs["closed_excluded"] = base.attrs.get("closed_excluded", 0) + extra.attrs.get(
        "closed_excluded", 0
    )
    out.attrs["outside_county"] = int((~out["in_county"]).sum())
    out.attrs["source"] = f"{base.attrs.get('source')} + {extra.attrs.get('source')}"
    return out
