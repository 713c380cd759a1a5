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
``pupils``                   pupils on roll (``number_of_pupils``, ``nor``)
``students_16_18``           16–18 students (``post16_students`` and the
                             year-suffixed ``post16_students_2016_17``)
``rating``                   latest Ofsted rating
``offers_*``                 phases offered (early_years, primary, secondary,
                             post16); derived from kind and ages when absent
``status``                   open or closed (``closed_date`` also marks closed)
============================ ==================================================

Any other columns are kept. A list with no ``kind`` column can be loaded with
``kind="early_years"`` (e.g. a list of nurseries with name, postcode and places).
The columns are declared once, in :data:`PROVIDER_SCHEMA` (names, the other
spellings accepted, types, bounds), and checked in one pass: the first bad cell
stops the load with one message naming the file, row and column. Locations go
through :func:`geomap.locations.points_from_table`; a row that gives only a
postcode needs the study area's postcode lookup (``postcodes``).

National registers
------------------
Two national extracts are recognised by their columns and read as they are
downloaded, without editing.

**DfE Get Information about Schools (GIAS)**, the "all establishment data" CSV
(Windows-1252, as downloaded), recognised by ``URN``, ``EstablishmentName``,
``TypeOfEstablishment (name)`` and ``EstablishmentStatus (name)``. Each
establishment's kind is decided by the first rule that applies
(:func:`classify_gias`), and recorded in ``kind_basis``:

===================================================== =============================
GIAS record                                           kind
===================================================== =============================
type group Universities, Children's centres or        left out (counted by type in
Online provider; type Higher education institutions,  an ``InputWarning``)
British schools overseas, Offshore schools, Service
children's education, Secure units, Children's centre
type naming "special" (Community special school,      ``special``
Non-maintained special school, Academy special
converter, Other independent special school, Special
post 16 institution...), or type group Special schools
Pupil referral unit, Academy alternative provision    ``special``
converter or sponsor led, Free schools alternative
provision
type group Colleges (Further education, Sixth form    ``college``
centres); phase 16 plus; statutory low age 16 or more
phase Nursery, or type Local authority nursery school ``early_years``
phase Primary or Middle deemed primary                ``primary``
phase Secondary, Middle deemed secondary or           ``sixth_form`` if
All-through                                           ``OfficialSixthForm`` is "Has
                                                      a sixth form" (or unknown and
                                                      the high age is 17 or more),
                                                      else ``secondary``
phase Not applicable or blank (most independent       by statutory ages: to 5
schools, Welsh and other types), with ages            ``early_years``; to 13
                                                      ``primary``; to 17 or more
                                                      ``sixth_form`` (unless "Does
                                                      not have a sixth form");
                                                      else ``secondary``
phase Not applicable or blank, no high age            left out (counted)
===================================================== =============================

The sector comes from the type group (Academies and Free Schools: academy;
Local authority maintained schools: maintained; Independent schools:
independent; Colleges: college); in Special schools, community and foundation
special schools are maintained, academy and free special schools academies,
non-maintained special schools independent. Any type naming an academy is an
academy. Other groups are ``unknown``.

An establishment is closed when its status is Closed or its ``CloseDate`` is
past; closed ones are left out and counted as for any list (a future close
date is kept in ``planned_close_date``). ``NurseryProvision (name)`` sets
``offers_early_years`` (for mainstream schools). ``SchoolCapacity`` becomes
``capacity`` and ``NumberOfPupils`` ``pupils``; religious character, gender,
local authority, phase, type and type group are kept (``religious_character``,
``gender``, ``la_name``, ``phase``, ``establishment_type``, ``type_group``).
An ``Easting``/``Northing`` of 0 or blank falls back to the postcode.

**Ofsted early-years register** extracts (the "childcare providers and
inspections" data), recognised by ``Provider URN`` and ``Provider type``: the
id is the URN, ``capacity`` the registered places, the name the provider's
(or, where Ofsted withholds it, as for childminders, the type and URN:
"Childminder EY123456"). Only providers on the Early Years Register (``EYR``
in the register combinations column) are kept, the rest counted in an
``InputWarning``; providers whose status is not Active are closed. A
postcode given only as a district ("HR4", as Ofsted publishes for
childminders) is placed at the mean position of that district's postcodes in
the lookup, with ``location_source`` ``postcode_district``, and counted in an
``InputWarning``: such a position can be kilometres out.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import CRSError, InputError, InputWarning, PostcodeError, UnknownKindError
from geomap.io import find_column, normalise_name, read_table, row_number, source_of
from geomap.locations import NEED_LOOKUP, normalise_postcode, points_from_table, postcode_lookup
from geomap.schema import Column, Rule, Schema

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
    "pupils": (
        "pupils",
        "numberofpupils",
        "number_of_pupils",
        "pupils_on_roll",
        "number_on_roll",
        "nor",
    ),
    "students_16_18": (
        "students_16_18",
        "post16_students",
        "post16_students_2016_17",
        "students_1618",
        "number_of_16_18_students",
    ),
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
    "pupils",
    "students_16_18",
    "rating",
    "postcode",
    "status",
    "closed_date",
    "in_county",
    "location_source",
)


def _provider_schema() -> Schema:
    kinds = ", ".join(settings.KINDS)
    return Schema(
        columns=(
            Column("id", ID_ALIASES[1:], unique=True),
            Column("name", NAME_ALIASES[1:], required=True, missing="Add a name column"),
            Column(
                "kind",
                ATTRIBUTE_ALIASES["kind"][1:],
                type="choice",
                required=True,
                blank=False,
                choices=KIND_SYNONYMS,
                fix=f"Use one of: {kinds}",
                missing=f"Add a kind column ({kinds}) or, for a list of one kind, pass "
                "--kind (for example --kind early_years)",
                error=UnknownKindError,
            ),
            Column(
                "sector",
                type="choice",
                choices={s: s for s in SECTORS},
                fix=f"Use one of: {', '.join(SECTORS)}",
            ),
            Column(
                "low_age",
                ATTRIBUTE_ALIASES["low_age"][1:],
                type="number",
                minimum=0,
                maximum=MAX_AGE,
                label="low age",
            ),
            Column(
                "high_age",
                ATTRIBUTE_ALIASES["high_age"][1:],
                type="number",
                minimum=0,
                maximum=MAX_AGE,
                label="high age",
            ),
            *(Column(f"offers_{phase}", type="bool") for phase in PHASES),
            Column(
                "capacity",
                ATTRIBUTE_ALIASES["capacity"][1:],
                type="number",
                minimum=0,
                maximum=MAX_PLACES,
            ),
            Column(
                "pupils",
                ATTRIBUTE_ALIASES["pupils"][1:],
                type="number",
                minimum=0,
                maximum=MAX_PLACES,
                label="pupils on roll",
            ),
            Column(
                "students_16_18",
                ATTRIBUTE_ALIASES["students_16_18"][1:],
                type="number",
                minimum=0,
                maximum=MAX_PLACES,
                label="16–18 students",
            ),
            Column("rating", ATTRIBUTE_ALIASES["rating"][1:]),
            Column("postcode", ("post_code", "postal_code")),
            Column("status"),
            Column(
                "closed_date",
                ATTRIBUTE_ALIASES["closed_date"][1:],
                type="date",
                label="closing date",
            ),
        ),
        rules=(
            Rule(
                bad=lambda t: (t["low_age"] > t["high_age"]).fillna(False),
                message=lambda t, pos: (
                    f"the lowest age {t['low_age'].iloc[pos]:g} is above the highest "
                    f"{t['high_age'].iloc[pos]:g}"
                ),
                column="low_age",
                fix="Check the two ages; they may be the wrong way round",
            ),
        ),
    )


#: Oldest age a provider's age range may give, and most places it may offer.
MAX_AGE = 150
MAX_PLACES = 1_000_000

#: The columns of a provider list, declared once (see the module docstring).
PROVIDER_SCHEMA = _provider_schema()

#: Location and size columns a provider list may have besides :data:`PROVIDER_SCHEMA`'s.
LOCATION_NAMES = ("lon", "lat", "easting", "northing", "places")


def load_providers(
    path: str | Path,
    *,
    postcodes: str | Path | None = None,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    kind: str | None = None,
    include_closed: bool = False,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Load, locate, classify and validate a provider list.

    Parameters
    ----------
    path
        CSV, Excel workbook or vector file. A GIAS establishment extract or an
        Ofsted early-years register extract is recognised and read as
        downloaded (see the module docstring).
    postcodes
        Postcode lookup (OS Code-Point Open or ONS Postcode Directory CSV) for
        rows located by postcode. Without one, a row that gives only a
        postcode is an error.
    boundary
        The study area's polygon(s), in EPSG:27700. Providers outside it are
        kept (families cross the border), flagged ``in_county=False``, counted
        in ``attrs["outside_county"]`` and in one
        :class:`~geomap.errors.InputWarning`. Without a boundary nothing can
        be called outside: every provider has ``in_county=True``.
    kind
        Kind for every row of a list that has no ``kind`` column, and for blank
        kinds (for example ``"early_years"`` for a list of nurseries).
    include_closed
        Keep closed providers. By default they are dropped and counted in
        ``attrs["closed_excluded"]``.
    sheet
        The worksheet (of a workbook) or layer (of a GeoPackage) to read.
    columns
        geomap's name → the file's name, for columns geomap would not find by
        their usual names (``{"id": "school_id", "kind": "type"}``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`COLUMNS` then any others from the file, in EPSG:27700.
        ``attrs`` has ``source``, ``closed_excluded``, ``closed_total`` and
        ``outside_county`` (and, for a national register, ``register`` and
        ``not_providers_excluded``).

    Raises
    ------
    InputError
        For the first bad cell (naming the file, row and column), a missing
        column, a repeated id, a location that cannot be placed, or a row that
        gives only a postcode when no postcode lookup was given.

    Warns
    -----
    InputWarning
        When providers lie outside ``boundary`` (kept and flagged), when the
        list has no id column (ids are made from row numbers), when a national
        register holds establishments geomap leaves out, or places providers
        only by their postcode district.

    Examples
    --------
    >>> load_providers("council_providers.csv", postcodes="codepoint.csv",
    ...                boundary=county)  # doctest: +SKIP
    """
    path = Path(path)
    table = read_table(path, what="provider list", sheet=sheet)
    if columns:
        table = rename_columns(table, columns, what="provider list")
    table, closed_before = _from_register(table, include_closed=include_closed, postcodes=postcodes)
    providers = standardise_providers(table, kind=kind, postcodes=postcodes)
    closed = providers["status"] == "closed"
    n_closed = int(closed.sum()) + closed_before
    if not include_closed:
        providers = providers.loc[~closed].copy()
        if n_closed:
            logger.info("%s: %d closed providers excluded", path, n_closed)
    providers["in_county"] = flag_inside(providers, boundary=boundary)
    providers.attrs.update(
        source=str(path),
        closed_excluded=0 if include_closed else n_closed,
        closed_total=n_closed,
        outside_county=int((~providers["in_county"]).sum()),
    )
    if table.attrs.get("geomap_register"):
        providers.attrs["register"] = table.attrs["geomap_register"]
    return providers.reset_index(drop=True)


def rename_columns(table: pd.DataFrame, columns: Mapping[str, str], *, what: str) -> pd.DataFrame:
    """Give a table's columns geomap's names, as a caller (a study-area file) says.

    Parameters
    ----------
    table
        The table as read.
    columns
        geomap's name → the table's name.
    what
        What the table is, for messages.

    Returns
    -------
    pandas.DataFrame
        The table with those columns renamed; a column that already had one
        of geomap's names keeps its values under ``<name>_in_file``.

    Raises
    ------
    MissingColumnError
        If a named column is not in the table (the message lists those it has).
    """
    known = (*(c.name for c in PROVIDER_SCHEMA.columns), *LOCATION_NAMES)
    for ours in columns:
        if ours not in known:
            raise InputError(
                f"'{ours}' is not a column geomap reads from a {what} (it reads: "
                f"{', '.join(dict.fromkeys(known))})",
                path=source_of(table),
                fix="Check the names on the left of [providers.columns] in the study-area file",
            )
    twice = [t for t in dict.fromkeys(columns.values()) if list(columns.values()).count(t) > 1]
    if twice:
        keys = [k for k, v in columns.items() if v == twice[0]]
        raise InputError(
            f"column '{twice[0]}' is named for both {' and '.join(keys)}",
            path=source_of(table),
            fix="Name each of the file's columns for one of geomap's only",
        )
    renames: dict[str, str] = {}
    for ours, theirs in columns.items():
        found = find_column(table, (theirs,), explicit=theirs)
        assert found is not None
        if found != ours:
            renames[found] = ours
    clashes = {
        c: f"{c}_in_file" for c in table.columns if c in renames.values() and c not in renames
    }
    out = table.rename(columns={**clashes, **renames})
    out.attrs.update(table.attrs)
    return out


def flag_inside(
    providers: gpd.GeoDataFrame, *, boundary: gpd.GeoDataFrame | gpd.GeoSeries | None
) -> pd.Series:
    """Whether each provider lies in the study area; warn once, counting those outside.

    Parameters
    ----------
    providers
        Located providers (EPSG:27700).
    boundary
        The study area's polygon(s) in EPSG:27700, or ``None`` (every provider
        is then inside).

    Returns
    -------
    pandas.Series
        Booleans aligned with ``providers`` (the ``in_county`` column).

    Raises
    ------
    CRSError
        If ``boundary`` is not in EPSG:27700.

    Warns
    -----
    InputWarning
        When providers lie outside the boundary, counting them and naming the first three.
    """
    if boundary is None:
        return pd.Series(True, index=providers.index, dtype=bool)
    if boundary.crs is None or not boundary.crs.equals(providers.crs):
        raise CRSError(
            f"the study area boundary is in {boundary.crs}, the providers in {providers.crs}",
            fix="Give the boundary in British National Grid (EPSG:27700)",
        )
    inside = providers.within(boundary.union_all())
    outside = ~inside.to_numpy(dtype=bool)
    if outside.any():
        names = providers["name"].to_numpy(dtype=object)[outside][:3]
        shown = ", ".join(str(n) for n in names) + (" ..." if outside.sum() > 3 else "")
        warnings.warn(
            f"{source_of(providers) or 'provider list'}: {int(outside.sum())} providers lie "
            "outside the study area; kept, because families cross the border, and flagged "
            f"in_county=False ({shown})",
            InputWarning,
            stacklevel=3,
        )
    return pd.Series(inside.to_numpy(dtype=bool), index=providers.index)


def standardise_providers(
    table: pd.DataFrame,
    *,
    kind: str | None = None,
    postcodes: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Map a raw provider table onto geomap's schema and locate each row.

    Parameters
    ----------
    table
        As read by :func:`geomap.io.read_table` (``attrs["geomap_source"]``
        names the file in messages).
    kind, postcodes
        As for :func:`load_providers`.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`load_providers` returns, closed providers included, every
        ``in_county`` True.

    Raises
    ------
    InputError
        As for :func:`load_providers`.

    Warns
    -----
    InputWarning
        As for :func:`load_providers` (all but the warning about providers
        outside the study area).
    """
    table, _ = _from_register(table, include_closed=True, postcodes=postcodes)
    path = source_of(table)
    fill = {"kind": normalise_kind(kind)} if kind is not None else None
    clean = PROVIDER_SCHEMA.validate(table, what="provider list", fill=fill)
    found: dict[str, str | None] = clean.attrs["geomap_columns"]
    id_c, name_c = found["id"], found["name"]
    out = pd.DataFrame(index=table.index)
    out.attrs.update(table.attrs)
    if id_c is None:
        stem = Path(path).stem if path else "provider"
        out["id"] = [f"{stem}-{row_number(table, i)}" for i in range(len(table))]
        warnings.warn(
            f"{path or 'provider list'}: no id column; ids made from the row numbers "
            f"({out['id'].iloc[0]}, ...)",
            InputWarning,
            stacklevel=3,
        )
    else:
        out["id"] = clean["id"]
    out["name"] = clean["name"]
    out["kind"] = clean["kind"]
    out["sector"] = clean["sector"].fillna("unknown")
    for field in ("low_age", "high_age"):
        out[field] = clean[field]
    for phase in PHASES:
        given = clean[f"offers_{phase}"]
        if found[f"offers_{phase}"] is not None:
            out[f"offers_{phase}"] = given.fillna(False).astype(bool)
        else:
            out[f"offers_{phase}"] = _derived_offer(out, phase)
    for field in ("capacity", "pupils", "students_16_18"):
        out[field] = clean[field]
    out["rating"] = table[found["rating"]] if found["rating"] else pd.NA
    out["postcode"] = table[found["postcode"]] if found["postcode"] else pd.NA
    status = clean["status"].str.lower()
    closed = status.str.startswith("closed").fillna(False) | clean["closed_date"].notna()
    out["status"] = np.where(closed, "closed", "open")
    out["closed_date"] = (
        table[found["closed_date"]].where(clean["closed_date"].notna())
        if found["closed_date"]
        else pd.NA
    )
    located = points_from_table(table, postcodes=postcodes, what="provider list")
    extras = [
        c
        for c in table.columns
        if c not in {id_c, name_c, "geometry", found["pupils"], found["students_16_18"]}
        and c not in out.columns
        and c not in ("location_source", LOCATION_MARKER)
    ]
    providers = gpd.GeoDataFrame(
        pd.concat([out, table[extras]], axis=1),
        geometry=located.geometry,
        crs=settings.MEASURE_CRS,
    )
    providers["location_source"] = located["location_source"]
    if LOCATION_MARKER in table.columns:
        marked = table[LOCATION_MARKER].notna().to_numpy()
        providers.loc[marked, "location_source"] = table.loc[marked, LOCATION_MARKER]
    providers["in_county"] = True
    ordered = [c for c in COLUMNS if c in providers.columns]
    rest = [c for c in providers.columns if c not in ordered and c != "geometry"]
    providers = providers[[*ordered, *rest, "geometry"]]
    providers.attrs.update(table.attrs)
    return providers


def normalise_kind(value: str) -> str:
    """Canonical kind for a kind name or synonym.

    Parameters
    ----------
    value
        A kind as a file or a caller spells it ("Nursery", "high school", "FE").

    Returns
    -------
    str
        One of :data:`geomap.settings.KINDS`.

    Raises
    ------
    UnknownKindError
        If ``value`` is not a kind or a known synonym of one.
    """
    kind = KIND_SYNONYMS.get(str(value).strip().lower())
    if kind is None:
        raise UnknownKindError(
            f"unknown kind '{value}'", fix=f"Use one of: {', '.join(settings.KINDS)}"
        )
    return kind


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

    Parameters
    ----------
    providers
        Providers as :func:`load_providers` gives them.
    kind
        A kind of :data:`geomap.settings.KINDS`, or ``post16``.

    Returns
    -------
    pandas.Series
        Booleans aligned with ``providers``.

    Raises
    ------
    UnknownKindError
        If ``kind`` is none of those.
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

    Parameters
    ----------
    providers
        Providers as :func:`load_providers` gives them.

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

    Parameters
    ----------
    base
        Providers as :func:`load_providers` gives them.
    extra
        A further list, loaded the same way and in the same CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows of ``base`` then those of ``extra``. ``attrs`` are those of
        ``base``, with ``closed_excluded`` summed over both lists,
        ``outside_county`` recounted, and ``source`` naming both.

    Raises
    ------
    InputError
        If an id is in both lists (naming the first and counting the rest).
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


# --------------------------------------------------------------------------- national registers

#: Columns (folded by :func:`geomap.io.normalise_name`) that mark a DfE Get
#: Information about Schools (GIAS) establishment extract.
GIAS_SIGNATURE = (
    "urn",
    "establishmentname",
    "typeofestablishment_(name)",
    "establishmentstatus_(name)",
)
#: Columns that mark an Ofsted early-years register extract.
OFSTED_SIGNATURE = ("provider_urn", "provider_type")

#: GIAS type groups whose establishments are not providers of geomap's kinds.
GIAS_EXCLUDED_GROUPS = frozenset({"universities", "children's centres", "online provider"})
#: GIAS types whose establishments are not providers of geomap's kinds, or whose
#: places are not open to local children (secure units, schools abroad).
GIAS_EXCLUDED_TYPES = frozenset(
    {
        "higher education institutions",
        "children's centre",
        "children's centre linked site",
        "online provider",
        "british schools overseas",
        "offshore schools",
        "service children's education",
        "secure units",
    }
)
#: GIAS types of alternative provision (pupil referral units and AP academies):
#: geomap counts them as ``special``.
GIAS_ALTERNATIVE_PROVISION = frozenset(
    {
        "pupil referral unit",
        "academy alternative provision converter",
        "academy alternative provision sponsor led",
        "free schools alternative provision",
    }
)
#: GIAS type groups mapped to a sector (the types inside "Special schools" and
#: any type naming an academy or free school decide it otherwise; see
#: :func:`gias_sector`).
GIAS_SECTORS = {
    "academies": "academy",
    "free schools": "academy",
    "local authority maintained schools": "maintained",
    "independent schools": "independent",
    "colleges": "college",
}
GIAS_SOURCE = "DfE Get Information about Schools"
OFSTED_SOURCE = "Ofsted early years register"

#: Provider statuses in an Ofsted extract that mean the provider is running.
OFSTED_ACTIVE = frozenset({"active", "open", "registered"})
_OUTWARD_CODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?")


def classify_gias(
    *,
    type_: str | None,
    group: str | None,
    phase: str | None,
    low: float | None,
    high: float | None,
    sixth_form: str | None,
) -> tuple[str | None, str]:
    """Kind of one GIAS establishment and how it was decided (the module docstring has the table).

    Parameters
    ----------
    type_, group, phase
        ``TypeOfEstablishment (name)``, ``EstablishmentTypeGroup (name)`` and
        ``PhaseOfEducation (name)`` as GIAS spells them (``None`` if blank).
    low, high
        Statutory low and high age (``None`` if blank).
    sixth_form
        ``OfficialSixthForm (name)``.

    Returns
    -------
    tuple
        The kind, or ``None`` for an establishment geomap leaves out, and the
        basis (``"GIAS phase 'Primary'"``) or the reason it was left out.
    """
    t = (type_ or "").strip().casefold()
    g = (group or "").strip().casefold()
    p = (phase or "").strip().casefold()
    if g in GIAS_EXCLUDED_GROUPS or t in GIAS_EXCLUDED_TYPES:
        return None, type_ or group or "unknown type"
    if "special" in t or g == "special schools":
        return "special", f"GIAS type '{type_ or group}'"
    if t in GIAS_ALTERNATIVE_PROVISION or "alternative provision" in t:
        return "special", f"GIAS type '{type_}' (alternative provision)"
    if g == "colleges" or t in ("further education", "sixth form centres"):
        return "college", f"GIAS type '{type_ or group}'"
    if p == "16 plus":
        return "college", "GIAS phase '16 plus'"
    if low is not None and low >= 16:
        return "college", f"GIAS statutory low age {low:g}"
    if p == "nursery" or t == "local authority nursery school":
        return "early_years", f"GIAS phase '{phase}'" if p else f"GIAS type '{type_}'"
    if p in ("primary", "middle deemed primary"):
        return "primary", f"GIAS phase '{phase}'"
    has_sixth = (sixth_form or "").strip().casefold()
    if p in ("secondary", "middle deemed secondary", "all-through"):
        if has_sixth == "has a sixth form":
            return "sixth_form", f"GIAS phase '{phase}' with a sixth form"
        if has_sixth in ("", "unknown", "not applicable") and high is not None and high >= 17:
            return "sixth_form", f"GIAS phase '{phase}', ages to {high:g}"
        return "secondary", f"GIAS phase '{phase}'"
    if high is None:
        return None, f"{type_ or group or 'unknown type'} (no phase or ages)"
    ages = f"ages {'?' if low is None else f'{low:g}'}-{high:g}"
    if high <= 5:
        return "early_years", f"GIAS {ages}"
    if high <= 13:
        return "primary", f"GIAS {ages}"
    if high >= 17 and has_sixth != "does not have a sixth form":
        return "sixth_form", f"GIAS {ages}"
    return "secondary", f"GIAS {ages}"


def gias_sector(type_: str | None, group: str | None) -> str:
    """Sector of a GIAS establishment from its type and type group.

    Parameters
    ----------
    type_, group
        ``TypeOfEstablishment (name)`` and ``EstablishmentTypeGroup (name)``
        as GIAS spells them (``None`` if blank).

    Returns
    -------
    str
        ``academy``, ``maintained``, ``independent``, ``college`` or ``unknown``.
    """
    t = (type_ or "").strip().casefold()
    g = (group or "").strip().casefold()
    if "academy" in t or t.startswith("free school") or g in ("academies", "free schools"):
        return "academy"
    if g == "special schools":
        if t.startswith(("community", "foundation")):
            return "maintained"
        if t.startswith("non-maintained") or "independent" in t:
            return "independent"
        return "unknown"
    if "independent" in t:
        return "independent"
    return GIAS_SECTORS.get(g, "unknown")


def _register_kind(table: pd.DataFrame) -> str | None:
    folded = {normalise_name(c) for c in table.columns}
    if all(c in folded for c in GIAS_SIGNATURE):
        return "gias"
    if all(c in folded for c in OFSTED_SIGNATURE):
        return "ofsted_early_years"
    return None


def _from_register(
    table: pd.DataFrame,
    *,
    include_closed: bool,
    postcodes: str | Path | None,
) -> tuple[pd.DataFrame, int]:
    """A GIAS or Ofsted extract in geomap's schema (other tables as they are).

    Returns the table and the number of closed providers already left out
    (when ``include_closed`` is false: they are dropped before being located,
    since national registers hold many closed records with no usable location).
    """
    register = _register_kind(table)
    if register == "gias":
        return _from_gias(table, include_closed=include_closed)
    if register == "ofsted_early_years":
        return _from_ofsted(table, include_closed=include_closed, postcodes=postcodes)
    return table, 0


def _text(table: pd.DataFrame, *names: str) -> pd.Series:
    """The first of columns ``names`` (matched folded) as stripped text, or all missing."""
    column = find_column(table, names)
    if column is None:
        return pd.Series(pd.NA, index=table.index, dtype="string")
    text = table[column].astype("string").str.strip()
    return text.mask(text == "")


def _floats(values: pd.Series) -> pd.Series:
    """A validated number column as plain floats (NaN where blank)."""
    return pd.Series(values.to_numpy(dtype=float, na_value=np.nan), index=values.index)


def _register_number(name: str, label: str) -> Column:
    return Column(
        name, type="number", label=label, fix=f"Give the {label} as a number or leave it blank"
    )


#: The columns of a GIAS extract that geomap converts (the others are read as text).
GIAS_SCHEMA = Schema(
    columns=(
        Column("urn", unique=True),
        _register_number("statutorylowage", "statutory low age"),
        _register_number("statutoryhighage", "statutory high age"),
        _register_number("schoolcapacity", "school capacity"),
        _register_number("numberofpupils", "number of pupils"),
        _register_number("easting", "easting"),
        _register_number("northing", "northing"),
        Column(
            "closedate",
            type="date",
            label="closing date",
            fix="Give dates as DD-MM-YYYY (as GIAS does) or YYYY-MM-DD",
        ),
    )
)
#: The columns of an Ofsted early-years register extract that geomap converts.
OFSTED_SCHEMA = Schema(
    columns=(
        Column("provider_urn", unique=True),
        Column(
            "registered_places",
            ("places",),
            type="number",
            minimum=0,
            maximum=MAX_PLACES,
            label="registered places",
            fix="Give registered places as a number or leave it blank",
        ),
    )
)


def _keep_rows(table: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """Rows of ``table`` where ``keep`` is true, keeping the row numbers a user sees."""
    rows = [row_number(table, int(i)) for i in np.flatnonzero(keep)]
    out = table.loc[keep].reset_index(drop=True)
    out.attrs = dict(table.attrs)
    out.attrs["geomap_rows"] = rows
    return out


def _from_gias(table: pd.DataFrame, *, include_closed: bool) -> tuple[pd.DataFrame, int]:
    path = source_of(table)
    urn_c = find_column(table, ("urn",))
    assert urn_c is not None  # recognised by its columns
    clean = GIAS_SCHEMA.validate(table, what="establishment list")
    type_ = _text(table, "typeofestablishment_(name)")
    group = _text(table, "establishmenttypegroup_(name)")
    phase = _text(table, "phaseofeducation_(name)")
    sixth = _text(table, "officialsixthform_(name)")
    nursery = _text(table, "nurseryprovision_(name)")
    status = _text(table, "establishmentstatus_(name)")
    low, high, capacity, pupils, east, north = (
        _floats(clean[name])
        for name in (
            "statutorylowage",
            "statutoryhighage",
            "schoolcapacity",
            "numberofpupils",
            "easting",
            "northing",
        )
    )
    close = clean["closedate"]
    today = pd.Timestamp(dt.date.today())

    decided = [
        classify_gias(
            type_=_or_none(t),
            group=_or_none(g),
            phase=_or_none(p),
            low=_or_none(lo),
            high=_or_none(hi),
            sixth_form=_or_none(s),
        )
        for t, g, p, lo, hi, s in zip(type_, group, phase, low, high, sixth, strict=True)
    ]
    kind = pd.Series([k for k, _ in decided], index=table.index, dtype="string")
    basis = pd.Series([b for _, b in decided], index=table.index, dtype="string")
    closed = status.str.casefold().str.startswith("closed").fillna(False).to_numpy(dtype=bool) | (
        close <= today
    ).to_numpy(dtype=bool)
    kinds = kind.fillna("").to_numpy(dtype=object)
    mainstream = kinds != "special"
    is_ey = kinds == "early_years"
    says = nursery.str.casefold().fillna("").to_numpy(dtype=object)
    derived = is_ey | (mainstream & (low.to_numpy() <= 3))
    offers_ey = np.where(
        says == "has nursery classes", True, np.where(says == "no nursery classes", False, derived)
    ).astype(bool)
    offers_ey = (offers_ey & mainstream) | is_ey
    location_zero = ((east == 0) | (north == 0)).to_numpy()
    out = pd.DataFrame(
        {
            "id": table[urn_c].astype("string").str.strip(),
            "name": _text(table, "establishmentname"),
            "kind": kind,
            "sector": [
                gias_sector(_or_none(t), _or_none(g)) for t, g in zip(type_, group, strict=True)
            ],
            "low_age": low,
            "high_age": high,
            "offers_early_years": np.where(offers_ey, "True", "False"),
            "capacity": capacity,
            "pupils": pupils,
            "rating": _text(table, "ofstedrating_(name)"),
            "postcode": _text(table, "postcode"),
            "easting": east.mask(location_zero),
            "northing": north.mask(location_zero),
            "status": np.where(closed, "closed", "open"),
            "closed_date": close.where(closed).dt.strftime("%Y-%m-%d"),
            "planned_close_date": close.where(~closed).dt.strftime("%Y-%m-%d"),
            "kind_basis": basis,
            "phase": phase,
            "establishment_type": type_,
            "type_group": group,
            "establishment_status": status,
            "nursery_provision": nursery,
            "official_sixth_form": sixth,
            "religious_character": _text(table, "religiouscharacter_(name)"),
            "gender": _text(table, "gender_(name)"),
            "la_name": _text(table, "la_(name)"),
            "source": GIAS_SOURCE,
        },
        index=table.index,
    )
    out.attrs = dict(table.attrs)
    out.attrs["geomap_register"] = "gias"
    n_closed = 0
    keep = np.ones(len(out), dtype=bool)
    if not include_closed:
        keep &= ~closed
        n_closed = int(closed.sum())
    excluded = kind.isna().to_numpy() & keep
    if excluded.any():
        counts = pd.Series(basis[excluded]).value_counts()
        listed = ", ".join(f"{n} {reason}" for reason, n in counts.items())
        warnings.warn(
            f"{path}: {int(excluded.sum())} establishment(s) are not schools, colleges or "
            f"nurseries of the kinds geomap analyses and were left out: {listed}",
            InputWarning,
            stacklevel=4,
        )
        keep &= ~excluded
    out.attrs["not_providers_excluded"] = int(excluded.sum())
    if location_zero.any():
        logger.info(
            "%s: %d establishment(s) with easting/northing 0 located by postcode",
            path,
            int(location_zero.sum()),
        )
    if not keep.all():
        out = _keep_rows(out, keep)
    return out, n_closed


def _or_none(value: Any) -> Any:
    return None if value is None or pd.isna(value) else value


def _from_ofsted(
    table: pd.DataFrame,
    *,
    include_closed: bool,
    postcodes: str | Path | None,
) -> tuple[pd.DataFrame, int]:
    path = source_of(table)
    urn_c = find_column(table, ("provider_urn",))
    assert urn_c is not None  # recognised by its columns
    clean = OFSTED_SCHEMA.validate(table, what="early-years register")
    urn = clean["provider_urn"]
    provider_type = _text(table, "provider_type")
    name = _text(table, "provider_name")
    withheld = name.str.casefold().isin(["redacted", "withheld", "not published"]).fillna(False)
    made = name.isna() | withheld
    name = name.mask(made, provider_type.fillna("Early years provider") + " " + urn)
    status = _text(table, "provider_status")
    active = status.isna() | status.str.casefold().isin(OFSTED_ACTIVE).fillna(False)
    register_c = find_column(
        table,
        (
            "individual_register_combinations",
            "register_combinations",
            "registers",
            "register",
            "provider_registers",
        ),
    )
    if register_c is None:
        on_eyr = pd.Series(True, index=table.index)
        logger.info(
            "%s: no register column; every provider taken as on the Early Years Register", path
        )
    else:
        registers = table[register_c].astype("string")
        on_eyr = (
            registers.str.contains(r"\bEYR\b", regex=True)
            | registers.str.casefold().str.contains("early years register", regex=False)
        ).fillna(False)
    postcode_names = ("provider_postcode", "postcode", "post_code")
    pc_c = find_column(table, postcode_names)
    out = pd.DataFrame(
        {
            "id": urn,
            "name": name,
            "kind": "early_years",
            "sector": "unknown",
            "capacity": _floats(clean["registered_places"]),
            "rating": _text(
                table, "most_recent_full:_overall_effectiveness", "overall_effectiveness"
            ),
            "postcode": _text(table, *postcode_names),
            "status": np.where(active.to_numpy(dtype=bool), "open", "closed"),
            "kind_basis": OFSTED_SOURCE,
            "provider_type": provider_type,
            "provider_status": status,
            "registers": table[register_c].astype("string") if register_c else pd.NA,
            "la_name": _text(table, "provider_local_authority"),
            "source": OFSTED_SOURCE,
        },
        index=table.index,
    )
    out.attrs = dict(table.attrs)
    out.attrs["geomap_register"] = "ofsted_early_years"
    keep = np.ones(len(out), dtype=bool)
    n_closed = 0
    closed = ~active.to_numpy(dtype=bool)
    if not include_closed:
        keep &= ~closed
        n_closed = int(closed.sum())
    not_eyr = ~on_eyr.to_numpy(dtype=bool) & keep
    if not_eyr.any():
        warnings.warn(
            f"{path}: {int(not_eyr.sum())} provider(s) are not on the Early Years Register "
            "(only the Childcare Register: care for children over five) and were left out",
            InputWarning,
            stacklevel=4,
        )
        keep &= ~not_eyr
    out.attrs["not_providers_excluded"] = int(not_eyr.sum())
    if int(made[keep].sum()):
        logger.info(
            "%s: %d provider(s) without a published name named by type and URN",
            path,
            int(made[keep].sum()),
        )
    if not keep.all():
        out = _keep_rows(out, keep)
    return _locate_districts(out, postcodes=postcodes, column=pc_c or "postcode"), n_closed


def _locate_districts(
    table: pd.DataFrame, *, postcodes: str | Path | None, column: str
) -> pd.DataFrame:
    """Place rows whose postcode is only a district ("HR4") at the district's mean position.

    Ofsted publishes only the postcode district of childminders. Such rows get
    ``easting``/``northing`` at the mean of the district's postcodes in the
    lookup and ``location_source`` ``postcode_district``; they are counted in an
    :class:`~geomap.errors.InputWarning`, since the position can be several
    kilometres out.
    """
    folded = table["postcode"].map(normalise_postcode, na_action="ignore")
    district = folded.str.fullmatch(_OUTWARD_CODE).fillna(False).to_numpy(dtype=bool)
    if not district.any():
        return table
    if postcodes is None:
        first = int(np.flatnonzero(district)[0])
        raise PostcodeError(
            f"postcode district '{table['postcode'].iloc[first]}' needs a postcode lookup to be "
            f"placed ({int(district.sum())} provider(s) give only a district)",
            path=source_of(table),
            row=row_number(table, first),
            column=column,
            fix=NEED_LOOKUP,
        )
    lookup = postcode_lookup(postcodes)
    sums: dict[str, list[float]] = {}
    for key, (e, n) in lookup.items():
        acc = sums.setdefault(key[:-3], [0.0, 0.0, 0.0])
        acc[0] += e
        acc[1] += n
        acc[2] += 1
    east = np.full(len(table), np.nan)
    north = np.full(len(table), np.nan)
    for pos in np.flatnonzero(district):
        found = sums.get(str(folded.iloc[pos]))
        if found is None:
            raise PostcodeError(
                f"postcode district '{table['postcode'].iloc[pos]}' is not in the postcode lookup",
                path=source_of(table),
                row=row_number(table, int(pos)),
                column=column,
                fix="Give the full postcode or coordinates, or a fuller lookup with --postcodes",
            )
        east[pos], north[pos] = found[0] / found[2], found[1] / found[2]
    out = table.copy()
    out["easting"] = east.round()
    out["northing"] = north.round()
    out[LOCATION_MARKER] = pd.array(
        ["postcode_district" if d else None for d in district], dtype="string"
    )
    first = int(np.flatnonzero(district)[0])
    warnings.warn(
        f"{source_of(table)}: {int(district.sum())} provider(s) have only a postcode district "
        f"(first '{table['postcode'].iloc[first]}' in row {row_number(table, first)}), as Ofsted "
        "publishes for childminders; they are placed at the mean position of the district's "
        "postcodes (location_source 'postcode_district'), which can be kilometres out. Give "
        "full postcodes or coordinates for exact travel times",
        InputWarning,
        stacklevel=5,
    )
    return out


#: Column a recognised register uses to say how a row was located, when not by
#: its coordinates or postcode.
LOCATION_MARKER = "geomap_location_source"
