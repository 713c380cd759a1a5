"""Capacity and sufficiency: places against children, by planning area.

Three questions a school-place planner asks of a provider list:

- how many places each provider has for a kind of provision, and for which
  providers that is not known (:func:`provider_places`, :func:`places_summary`);
- whether the places standing in each area (and ward or partnership) cover the
  children living there, with a margin for choice and without a large surplus
  (:func:`assess_sufficiency`); for early years, registered places per 100 children
  aged 0–4, the measure behind the Childcare Act 2006 s.6 sufficiency duty
  (:func:`early_years_places_per_100`);
- whether the provider list adds up to the council's own totals in the DfE
  school places scorecard (:func:`read_scorecard`, :func:`check_against_scorecard`).

Setting the places that stand in an area against the children who live there
is a planning indicator, not a count of the places each child can take:
children cross area lines to school, so the comparison is meaningful for
planning areas (wards, school partnerships), much less for small areas such
as LSOAs, where a school's area may hold few of its pupils. Capacity-aware
access (:mod:`geomap.access`) is the measure that follows journeys.

Missing places are never counted as zero, nor guessed: a provider whose
places are not known makes the places of its area (and of every group the
area is in) unknown, and such areas are flagged ``unknown``. When a list gives
no places at all for a kind (the shipped list has no capacity
or pupil numbers), every area is ``unknown`` and the notes say why.

Thresholds are the documented defaults of :mod:`geomap.settings`
(:data:`~geomap.settings.SURPLUS_SHARE`, :data:`~geomap.settings.SURPLUS_MIN_PLACES`,
:data:`~geomap.settings.OPERATING_MARGIN`); each result's notes name their
sources, or say that they were set for the run.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import InputError
from geomap.gaps import eligible_providers
from geomap.io import check_rows, find_column, raise_missing, read_table, row_number
from geomap.schema import parse_numbers

logger = logging.getLogger(__name__)

#: What can count as a provider's places: its ``capacity`` (school capacity or
#: registered places), its ``pupils`` on roll, or its 16–18 ``students`` (a
#: proxy for post-16 places).
PLACES_BASES: Final = ("capacity", "pupils", "students")

#: The provider-list column each basis reads.
BASIS_COLUMNS: Final = {"capacity": "capacity", "pupils": "pupils", "students": "students_16_18"}

#: How each basis is named in sentences.
BASIS_LABELS: Final = {
    "capacity": "capacity",
    "pupils": "pupils on roll",
    "students": "16–18 students",
}

#: Flags of an area, a group or a provider, in the order they are decided.
FLAGS: Final = ("unknown", "shortfall", "tight", "surplus", "balanced")

#: Largest difference (share of the scorecard total) at which a provider list
#: counts as agreeing with the DfE scorecard: a planning choice, allowing for
#: schools that opened, closed or changed capacity between the two dates.
SCORECARD_TOLERANCE: Final = 0.05

#: Scorecard cells that mean "not available" rather than a number: ``NA`` as
#: the published CSV writes it, and the symbols of DfE's statistics (``z`` not
#: applicable, ``x`` not available, ``c`` confidential, ``:`` not available).
SCORECARD_MISSING: Final = frozenset({"na", "n/a", "z", "x", "c", ":"})

_KIND_WORDS: Final = {
    "early_years": "early-years",
    "primary": "primary",
    "secondary": "secondary",
    "post16": "post-16",
    "sixth_form": "sixth-form",
    "college": "college",
    "special": "special",
}

#: The phase of provision each main kind's own capacity is for (an 11–18
#: school's counts for secondary, as in the DfE SCAP survey; a standalone
#: sixth form's, one whose lowest age is 16 or more, for post-16).
_MAIN_PHASE: Final = {
    "early_years": "early_years",
    "primary": "primary",
    "secondary": "secondary",
    "sixth_form": "secondary",
    "college": "post16",
    "special": "special",
}
_POST16_KINDS: Final = ("post16", "sixth_form", "college")

_AREA_COLUMNS: Final = (
    "children",
    "providers",
    "providers_without_places",
    "places_complete",
    "places_known",
    "places",
    "spare",
    "spare_share",
    "pupils",
    "pupils_share_of_places",
    "flag",
)

#: Whole-number tolerance for the flag boundaries, so that a share computed as
#: 0.049999999999 from whole places is read as the 5% it is.
_DIGITS: Final = 9


def _word(kind: str) -> str:
    return _KIND_WORDS.get(kind, kind.replace("_", " "))


def _phase_of(kind: str) -> str:
    return "post16" if kind in _POST16_KINDS else kind


# --------------------------------------------------------------------------- places per provider


def _main_phases(providers: pd.DataFrame) -> pd.Series:
    kind = providers["kind"].astype("string")
    phase = kind.map(_MAIN_PHASE).astype("string")
    if "low_age" in providers.columns:
        low = pd.to_numeric(providers["low_age"], errors="coerce")
        standalone = (kind == "sixth_form").fillna(False) & (low >= 16).fillna(False)
        phase = phase.mask(standalone.to_numpy(dtype=bool), "post16")
    return phase


def _numbers(providers: pd.DataFrame, column: str) -> np.ndarray:
    if column not in providers.columns:
        return np.full(len(providers), np.nan)
    return np.asarray(
        pd.to_numeric(providers[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    )


def _second_phase_note(kind: str, main: str, basis: str, *, own_kind: str) -> str:
    """Why a provider that offers ``kind`` beside its main phase has no places for it."""
    what = BASIS_LABELS[basis]
    what = f"{what} are" if basis == "pupils" else f"{what} is"
    if kind == "early_years" and own_kind == "primary":
        return (
            f"nursery class in a primary school: its {what} for reception to year 6, "
            "not nursery places; not known"
        )
    if kind == "early_years":
        return (
            f"nursery in a school: its {what} for school-age pupils, not nursery places; not known"
        )
    if kind == "primary" and main == "secondary":
        return (
            f"primary phase of an all-through school: its {what} for the whole school, "
            "counted for secondary as in the DfE SCAP survey; primary places not known"
        )
    if _phase_of(kind) == "post16" and own_kind == "sixth_form":
        return (
            f"sixth form of an 11–18 school: its {what} for the whole school, counted for "
            "secondary as in the DfE SCAP survey; sixth-form places not known (ask for basis "
            "'students' for its 16–18 students)"
        )
    return (
        f"offers {_word(kind)} places beside its main phase ({_word(main)}): its {what} is "
        f"for that phase; {_word(kind)} places not known"
    )


def provider_places(
    providers: pd.DataFrame,
    kind: str,
    *,
    basis: str = "capacity",
    include_independent: bool = False,
) -> pd.DataFrame:
    """Places of each provider of one kind, NaN where they are not known.

    Phase rule: a provider's capacity (or pupils on roll) counts for its main
    kind only. Where a provider offers the kind only beside its main phase, its
    places for that kind are not known (NaN, with a note saying why), never zero
    and never the whole school's figure:

    - a nursery class in a primary school counts as early-years provision, but
      the school's capacity is for reception to year 6, not nursery places;
    - the primary phase of an all-through school has no separate capacity;
    - the sixth form of an 11–18 school, for post-16 with basis ``capacity`` or
      ``pupils``: the school's capacity is for years 7 to 13.

    An 11–18 school (kind ``sixth_form``) counts its whole capacity for
    secondary, sixth-form places included, as the DfE School Capacity (SCAP)
    survey does; a standalone sixth form (lowest age 16 or more) counts for
    post-16. With basis ``students`` (post-16 kinds only), sixth forms and
    colleges alike give their 16–18 students (``students_16_18``), a proxy for
    post-16 places.

    Parameters
    ----------
    providers
        From :func:`geomap.providers.load_providers`.
    kind
        The kind of provision: ``early_years``, ``primary``, ``secondary``,
        ``post16``, ``special`` (or ``sixth_form``, ``college``).
    basis
        What counts as places (:data:`PLACES_BASES`): ``capacity`` (the
        ``capacity`` column: school capacity or registered places), ``pupils``
        (pupils on roll) or ``students`` (``students_16_18``, for post-16 kinds).
    include_independent
        Count independent (fee-paying) schools too (see
        :func:`geomap.gaps.eligible_providers`).

    Returns
    -------
    pandas.DataFrame
        One row per provider offering ``kind``: ``id``, ``name``, ``kind`` (the
        provider's main kind, which may differ from the kind asked for),
        ``in_county``, ``places`` (float, NaN where not known), ``pupils`` (pupils
        on roll for the kind under the same phase rule; the 16–18 students with
        basis ``students``), ``basis`` and ``places_note`` (where the places come
        from, or why they are not known). ``attrs`` holds ``kind``, ``basis`` and
        ``note`` (:func:`places_summary`).

    Raises
    ------
    InputError
        For an unknown basis (naming the choices), or basis ``students`` for a
        kind that is not post-16.
    UnknownKindError
        If ``kind`` is not one geomap knows.
    MissingColumnError
        If ``providers`` lacks ``id``, ``name``, ``kind`` or the basis's column.
    """
    if basis not in PLACES_BASES:
        raise InputError(
            f"unknown places basis '{basis}'", fix=f"Use one of: {', '.join(PLACES_BASES)}"
        )
    target = _phase_of(kind)
    if basis == "students" and target != "post16" and kind in settings.AGE_BANDS:
        raise InputError(
            f"16–18 students are places of post-16 provision only, not of {_word(kind)} provision",
            fix="Use basis 'capacity' or 'pupils' for this kind",
        )
    for column in ("id", "name", "kind", BASIS_COLUMNS[basis]):
        if column not in providers.columns:
            raise_missing(providers, column, what=f"'{column}' in the provider list")
    chosen = eligible_providers(providers, kind, include_independent=include_independent)
    own_kind = chosen["kind"].astype("string").fillna("").to_numpy(dtype=object)
    main = _main_phases(chosen).fillna("").to_numpy(dtype=object)
    value = _numbers(chosen, BASIS_COLUMNS[basis])
    pupils = _numbers(chosen, "pupils")
    if basis == "students":
        own = np.ones(len(chosen), dtype=bool)
    else:
        own = np.array([m == target for m in main], dtype=bool)
    places = np.where(own, value, np.nan)
    # pupils of the kind: on roll where places are capacity, else the places themselves
    held = np.where(own, pupils, np.nan) if basis == "capacity" else places.copy()
    what = BASIS_LABELS[basis]
    notes = []
    for i in range(len(chosen)):
        if not own[i]:
            notes.append(_second_phase_note(kind, str(main[i]), basis, own_kind=str(own_kind[i])))
        elif np.isnan(value[i]):
            notes.append(f"{what} not given in the provider list; not known")
        elif basis == "students":
            notes.append("16–18 students, a proxy for post-16 places")
        elif own_kind[i] == "sixth_form" and target == "secondary":
            notes.append(
                f"{what} of an 11–18 school, counted for secondary with its sixth-form places "
                "as in the DfE SCAP survey"
            )
        else:
            notes.append(f"{what} as given in the provider list")
    in_county = (
        chosen["in_county"].astype(bool).to_numpy()
        if "in_county" in chosen.columns
        else np.ones(len(chosen), dtype=bool)
    )
    out = pd.DataFrame(
        {
            "id": chosen["id"].astype(str).to_numpy(),
            "name": chosen["name"].astype("string").to_numpy(),
            "kind": chosen["kind"].astype("string").to_numpy(),
            "in_county": in_county,
            "places": places.astype(float),
            "pupils": held.astype(float),
            "basis": basis,
            "places_note": notes,
        }
    )
    out.attrs["kind"] = kind
    out.attrs["basis"] = basis
    out.attrs["note"] = places_summary(out)
    return out


def places_summary(places: pd.DataFrame) -> str:
    """One sentence on how many providers give their places and what happens to the rest.

    Parameters
    ----------
    places
        From :func:`provider_places`.

    Returns
    -------
    str
        For example "312 of 562 primary providers give capacity; the other 250
        are not counted as zero: areas they serve are marked incomplete (19 of
        them offer primary only beside their main phase, so their primary places
        are not known)."
    """
    kind = str(places.attrs.get("kind", ""))
    basis = str(places.attrs.get("basis", places["basis"].iloc[0] if len(places) else "capacity"))
    what = BASIS_LABELS.get(basis, basis)
    if basis == "students":
        what = f"{what} (a proxy for post-16 places)"
    label = f"{_word(kind)} providers" if kind else "providers"
    total = len(places)
    known = int(places["places"].notna().sum())
    missing = total - known
    second = 0
    if "places_note" in places.columns:
        unknown = places["places"].isna().to_numpy(dtype=bool)
        given = places["places_note"].astype(str).str.contains("not given").to_numpy(dtype=bool)
        second = int((unknown & ~given).sum())
    why = (
        f" ({second} of them offer {_word(kind)} only beside their main phase, so their "
        f"{_word(kind)} places are not known)"
        if second and kind
        else ""
    )
    if total == 0:
        return f"No {label}: no places to count."
    if missing == 0:
        return f"All {total} {label} give {what}."
    if known == 0 and second == missing and kind:
        return (
            f"None of the {total} {label} has known {_word(kind)} places: all offer "
            f"{_word(kind)} only beside their main phase, and a school's capacity is not a count "
            f"of its {_word(kind)} places; they are not counted as zero, and every area is marked "
            "incomplete."
        )
    if known == 0:
        return (
            f"None of the {total} {label} give {what}: their places are not known, not counted "
            f"as zero, and every area is marked incomplete{why}."
        )
    return (
        f"{known} of {total} {label} give {what}; the other {missing} "
        f"{'is' if missing == 1 else 'are'} not counted as zero: areas they serve are marked "
        f"incomplete{why}."
    )


# --------------------------------------------------------------------------- sufficiency


@dataclass
class Sufficiency:
    """Places against children, per area, per group and per provider.

    Attributes
    ----------
    kind
        The kind of provision.
    basis
        What counted as places (:data:`PLACES_BASES`).
    by_area
        One row per area: ``area_id``, one column per summary level (the area's
        group), ``children``, ``providers``, ``providers_without_places``,
        ``places_complete``, ``places_known`` (places of the providers whose
        places are known: a lower bound where incomplete; NaN where none of the
        area's providers gives them), ``places`` (NaN
        where incomplete), ``spare`` (places − children; NaN where incomplete),
        ``spare_share`` (spare / places), ``pupils`` (NaN unless every provider's
        is known), ``pupils_share_of_places``, ``flag``.
    by_group
        The same per group of each summary level, long: ``level``, ``group_id``,
        ``group_name``, ``areas`` (areas in the group), then the columns above
        from ``children`` on.
    providers
        One row per provider: ``id``, ``name``, ``kind``, ``in_county``,
        ``area_id`` (missing for providers outside every area), ``places``,
        ``pupils``, ``spare`` (places − pupils), ``spare_share``, ``flag`` (on the
        provider's own pupils against its capacity; ``unknown`` unless both are
        known and places are capacity).
    outside
        Providers standing outside every area (across the border, say):
        ``id``, ``name``, ``kind``, ``in_county``, ``places``, ``places_note``.
        They are counted in no area.
    notes
        Sentences every output of it carries: where places come from, what the
        flags mean and the sources of their thresholds, what is unknown.
    """

    kind: str
    basis: str
    by_area: pd.DataFrame
    by_group: pd.DataFrame
    providers: pd.DataFrame
    outside: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _check_share(value: float, name: str) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
        raise InputError(
            f"{name} must be a share from 0 to 1, not {value!r}", fix="Give, e.g., 0.05 for 5%"
        )


def _children(children: pd.Series, *, what: str) -> pd.Series:
    if not isinstance(children, pd.Series):
        raise InputError(f"{what} must be a Series of area id → children")
    values = pd.to_numeric(children, errors="coerce")
    text = children.astype("string")
    bad = values.isna() & children.notna() & (text.str.strip() != "").fillna(False)
    if bad.any():
        first = children.index[np.flatnonzero(bad.to_numpy(dtype=bool))[0]]
        raise InputError(
            f"{what} of area '{first}' is '{children[first]}', not a number",
            fix="Give a count of children for every area (0 where there are none)",
        )
    out = pd.Series(values.to_numpy(dtype=float, na_value=np.nan), index=children.index.astype(str))
    if not out.index.is_unique:
        dup = out.index[out.index.duplicated()][0]
        raise InputError(f"area '{dup}' appears twice in the {what}", fix="Give one row per area")
    if (out < 0).any():
        first = out.index[(out < 0).to_numpy()][0]
        raise InputError(
            f"{what} of area '{first}' is negative ({out[first]:g})",
            fix="Give a count of children, 0 or more",
        )
    return out


def _homes(places: pd.DataFrame, home: pd.Series, areas: pd.Index) -> pd.Series:
    """Each provider's area (missing outside every area), aligned with ``places``."""
    if not isinstance(home, pd.Series):
        raise InputError("home must be a Series of provider id → area id")
    index = home.index.astype(str)
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise InputError(
            f"provider '{dup}' is given two home areas (overlapping areas?)",
            fix="Give each provider one area, e.g. home[~home.index.duplicated()]",
        )
    homes = pd.Series(home.to_numpy(dtype=object), index=index)
    homes = homes.where(homes.notna(), None)
    homes = homes.map(lambda v: None if v is None else str(v))
    found = homes.reindex(places["id"].astype(str).to_numpy())
    strange = sorted({v for v in found.dropna() if v not in areas})
    if strange:
        raise InputError(
            f"{len(strange)} home area(s) have no children count: {', '.join(strange[:5])}",
            fix="Give children for every area providers stand in (0 where there are none), "
            "and compute home from the same areas",
        )
    return pd.Series(found.to_numpy(dtype=object), index=places.index)


def _area_sums(places: pd.DataFrame, where: pd.Series, areas: pd.Index) -> pd.DataFrame:
    """Providers, providers without places, known places and pupils per area."""
    inside = where.notna().to_numpy()
    frame = pd.DataFrame(
        {
            "area": where[inside].astype(str).to_numpy(),
            "places": places["places"].to_numpy(dtype=float)[inside],
            "pupils": places["pupils"].to_numpy(dtype=float)[inside]
            if "pupils" in places.columns
            else np.nan,
        }
    )
    frame["unknown"] = frame["places"].isna().astype(int)
    frame["pupils_unknown"] = frame["pupils"].isna().astype(int)
    groups = frame.groupby("area")
    out = pd.DataFrame(index=areas)
    out["providers"] = groups.size().reindex(areas, fill_value=0).astype(int)
    out["providers_without_places"] = groups["unknown"].sum().reindex(areas, fill_value=0)
    out["places_known"] = groups["places"].sum().reindex(areas, fill_value=0.0).astype(float)
    out["pupils"] = groups["pupils"].sum().reindex(areas, fill_value=0.0).astype(float)
    pupils_unknown = groups["pupils_unknown"].sum().reindex(areas, fill_value=0)
    out["pupils"] = out["pupils"].mask(pupils_unknown > 0)
    return out


def _flags(
    spare: np.ndarray,
    share: np.ndarray,
    *,
    margin: float,
    surplus_share: float,
    surplus_min_places: float,
) -> np.ndarray:
    """Flag per row: unknown, shortfall, tight, surplus or balanced."""
    spare = np.round(spare, _DIGITS)
    share = np.round(share, _DIGITS)
    with np.errstate(invalid="ignore"):
        unknown = np.isnan(spare)
        shortfall = ~unknown & (spare < 0)
        tight = ~unknown & ~shortfall & (share < margin)
        surplus = (
            ~unknown
            & ~shortfall
            & ~tight
            & (share >= surplus_share)
            & (spare >= surplus_min_places)
        )
    return np.select(
        [unknown, shortfall, tight, surplus],
        ["unknown", "shortfall", "tight", "surplus"],
        default="balanced",
    )


def _known_places(table: pd.DataFrame, *, any_known: bool) -> pd.Series:
    """Sum of the known places, NaN where no provider of the row gives them.

    A row whose providers all lack places, or any row when the list gives no
    places at all, has no known places rather than zero of them.
    """
    providers = table["providers"]
    none_known = (providers > 0) & (table["providers_without_places"] == providers)
    return table["places_known"].astype(float).mask(none_known | (not any_known))


def _derive(
    table: pd.DataFrame,
    *,
    any_known: bool,
    margin: float,
    surplus_share: float,
    surplus_min_places: float,
) -> pd.DataFrame:
    """Add completeness, places, spare places, shares and flags to summed columns."""
    complete = (table["providers_without_places"] == 0) & any_known
    places = table["places_known"].where(complete).astype(float)
    children = table["children"].astype(float)
    spare = places - children
    held = places.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(held > 0, spare.to_numpy(dtype=float) / held, np.nan)
        pupils = table["pupils"].to_numpy(dtype=float)
        pupils_share = np.where(held > 0, pupils / held, np.nan)
    out = table.copy()
    out["places_known"] = _known_places(table, any_known=any_known)
    out["places_complete"] = complete.astype(bool)
    out["places"] = places
    out["spare"] = spare
    out["spare_share"] = share
    out["pupils_share_of_places"] = pupils_share
    out["flag"] = _flags(
        spare.to_numpy(dtype=float),
        share,
        margin=margin,
        surplus_share=surplus_share,
        surplus_min_places=surplus_min_places,
    )
    return out


def _group_sums(
    areas: pd.DataFrame, groups: pd.Series, columns: tuple[str, ...], *, keep_nan: tuple[str, ...]
) -> pd.DataFrame:
    """Sums of ``columns`` over the areas of each group; NaN in ``keep_nan`` stays NaN."""
    inside = groups.notna().to_numpy()
    frame = areas.loc[inside, list(columns)].copy()
    key = groups[inside].astype(str).to_numpy()
    sums = frame.groupby(key).sum()
    sums.insert(0, "areas", frame.groupby(key).size())
    for column in keep_nan:
        missing = frame[column].isna().groupby(key).any()
        sums[column] = sums[column].mask(missing)
    return sums.sort_index()


def _by_group(
    areas: pd.DataFrame,
    lookups: Mapping[str, pd.Series],
    group_names: Mapping[str, pd.Series] | None,
    *,
    columns: tuple[str, ...],
    keep_nan: tuple[str, ...],
    notes: list[str],
) -> list[tuple[str, pd.DataFrame]]:
    out = []
    for level, lookup in lookups.items():
        series = pd.Series(lookup.to_numpy(dtype=object), index=lookup.index.astype(str))
        groups = series.reindex(areas.index)
        loose = int(groups.isna().sum())
        if loose:
            notes.append(
                f"{loose} of {len(areas)} areas are in no {level}: left out of the {level} totals "
                f"({', '.join(map(str, areas.index[groups.isna().to_numpy()][:3]))}"
                f"{' ...' if loose > 3 else ''})."
            )
        sums = _group_sums(areas, groups, columns, keep_nan=keep_nan)
        names = (group_names or {}).get(level)
        if names is not None:
            named = pd.Series(names.to_numpy(dtype=object), index=names.index.astype(str))
            name_values = named.reindex(sums.index).to_numpy(dtype=object)
        else:
            name_values = np.full(len(sums), None, dtype=object)
        sums.insert(0, "group_name", name_values)
        sums.insert(0, "group_id", sums.index.to_numpy(dtype=object))
        sums.insert(0, "level", level)
        out.append((level, sums.reset_index(drop=True)))
    return out


def _source(value: float, default: float, source: str) -> str:
    return source if value == default else "set for this run"


def assess_sufficiency(
    places: pd.DataFrame,
    children: pd.Series,
    *,
    home: pd.Series,
    lookups: Mapping[str, pd.Series] | None = None,
    group_names: Mapping[str, pd.Series] | None = None,
    surplus_share: float = settings.SURPLUS_SHARE,
    surplus_min_places: float = settings.SURPLUS_MIN_PLACES,
    margin: float = settings.OPERATING_MARGIN,
) -> Sufficiency:
    """Places against children of the kind's age band, per area and per group.

    Each provider's places count in the area it stands in (and in that area's
    groups). Providers outside every area (across the border, say) are listed
    in ``outside`` and counted in no area. An area's places are complete when
    every provider standing in it gives its places; an area with no provider
    has none (a true zero), unless the list gives no places at all for the
    kind, when every area is unknown.

    Flags, decided in this order: ``unknown`` (places not complete, or children
    not known); ``shortfall`` (spare < 0: fewer places than children); ``tight``
    (0 ≤ spare / places < ``margin``); ``surplus`` (spare / places ≥
    ``surplus_share`` and spare ≥ ``surplus_min_places``); else ``balanced``. An
    area with neither places nor children is balanced.

    Comparing places with resident children by small area is a planning
    indicator (children cross area lines); read it for planning areas.

    Parameters
    ----------
    places
        From :func:`provider_places`.
    children
        Area id → children of the kind's age band; its index is the list of areas.
    home
        Provider id → the id of the area it stands in (from a spatial join);
        providers missing from it, or with a missing area, are outside every area.
    lookups
        Summary level → Series area id → group id (``inputs.lookups``).
    group_names
        Summary level → Series group id → group name.
    surplus_share
        Share of places spare at or above which (with ``surplus_min_places``) an
        area is in surplus (:data:`geomap.settings.SURPLUS_SHARE`).
    surplus_min_places
        Least spare places for the surplus flag
        (:data:`geomap.settings.SURPLUS_MIN_PLACES`).
    margin
        Share of places spare below which an area is tight
        (:data:`geomap.settings.OPERATING_MARGIN`).

    Returns
    -------
    Sufficiency
        Per area, per group, per provider, the providers outside every area,
        and notes naming the sources of the thresholds.

    Raises
    ------
    InputError
        If a threshold is out of range, children are not numbers or negative,
        a provider has two home areas, or a home area has no children count.
    """
    _check_share(surplus_share, "surplus_share")
    _check_share(margin, "margin")
    if not (
        isinstance(surplus_min_places, int | float)
        and math.isfinite(surplus_min_places)
        and surplus_min_places >= 0
    ):
        raise InputError(
            f"surplus_min_places must be a number of places, 0 or more, not {surplus_min_places!r}"
        )
    kind = str(places.attrs.get("kind", ""))
    basis = str(places.attrs.get("basis", places["basis"].iloc[0] if len(places) else ""))
    counts = _children(children, what="children")
    areas = counts.index
    where = _homes(places, home, areas)
    any_known = bool(places["places"].notna().any())
    thresholds = {
        "margin": margin,
        "surplus_share": surplus_share,
        "surplus_min_places": surplus_min_places,
    }
    sums = _area_sums(places, where, areas)
    sums.insert(0, "children", counts.to_numpy())
    by_area = _derive(sums, any_known=any_known, **thresholds)
    notes = [places.attrs.get("note") or places_summary(places)]
    totals = ("children", "providers", "providers_without_places", "places_known", "pupils")
    groups = _by_group(
        sums,
        lookups or {},
        group_names,
        columns=totals,
        keep_nan=("children", "pupils"),
        notes=notes,
    )
    frames = [_derive(g, any_known=any_known, **thresholds) for _, g in groups]
    group_columns = ["level", "group_id", "group_name", "areas", *_AREA_COLUMNS]
    by_group = (
        pd.concat([f[group_columns] for f in frames], ignore_index=True)
        if frames
        else pd.DataFrame(columns=group_columns)
    )
    by_area = by_area[list(_AREA_COLUMNS)]
    for level, lookup in reversed(list((lookups or {}).items())):
        series = pd.Series(lookup.to_numpy(dtype=object), index=lookup.index.astype(str))
        ids = series.reindex(areas)
        by_area.insert(0, level, ids.where(ids.isna(), ids.astype(str)).to_numpy(dtype=object))
    by_area.insert(0, "area_id", areas.to_numpy(dtype=object))
    by_area = by_area.reset_index(drop=True)

    table = _provider_flags(places, where, basis=basis, **thresholds)
    outside_mask = where.isna().to_numpy()
    outside = places.loc[
        outside_mask, ["id", "name", "kind", "in_county", "places", "places_note"]
    ].reset_index(drop=True)

    label = _word(kind)
    notes.append(
        f"Places are set against the children of the {label} age band living in each area, "
        "each provider counting in the area it stands in. Children cross area lines, so this "
        "is a planning indicator, meaningful for planning areas (wards, partnerships) rather "
        "than small areas."
    )
    notes.append(
        "Flags: shortfall where places are fewer than children; tight where spare places are "
        f"under {margin:.0%} of places ({_source(margin, settings.OPERATING_MARGIN, settings.OPERATING_MARGIN_SOURCE)}); "
        f"surplus where they are {surplus_share:.0%} of places or more and at least "
        f"{surplus_min_places:g} ("
        + (
            settings.SURPLUS_SOURCE
            if surplus_share == settings.SURPLUS_SHARE
            and surplus_min_places == settings.SURPLUS_MIN_PLACES
            else "set for this run"
        )
        + "); unknown where places are not all known."
    )
    if not any_known:
        notes.append(
            f"No {label} provider gives its {BASIS_LABELS.get(basis, basis)}: every area's places "
            "are unknown, not zero, and nothing is flagged."
        )
    else:
        incomplete = int((~by_area["places_complete"]).sum())
        if incomplete:
            notes.append(
                f"{incomplete} of {len(by_area)} areas have a provider whose places are not "
                "known: their places, spare places and flag are left unknown, never zero "
                "(places_known counts the known ones only)."
            )
    if outside_mask.any():
        names = outside["name"].astype(str).tolist()
        notes.append(
            f"{len(outside)} {label} providers stand outside every area (across the border, say): "
            f"listed separately, counted in no area ({', '.join(names[:3])}"
            f"{' ...' if len(names) > 3 else ''})."
        )
    if basis == "students":
        notes.append(
            "16–18 students stand in for post-16 places, so providers' own spare places are "
            "not known."
        )
    elif basis == "pupils":
        notes.append(
            "Places are pupils on roll: areas' spare places are pupils against resident "
            "children, and providers' own spare places are not known."
        )
    else:
        notes.append(
            "Each provider's flag compares its pupils on roll with its capacity, where both "
            "are known."
        )
    return Sufficiency(
        kind=kind,
        basis=basis,
        by_area=by_area,
        by_group=by_group,
        providers=table,
        outside=outside,
        notes=[str(n) for n in notes],
    )


def _provider_flags(
    places: pd.DataFrame,
    where: pd.Series,
    *,
    basis: str,
    margin: float,
    surplus_share: float,
    surplus_min_places: float,
) -> pd.DataFrame:
    held = places["places"].to_numpy(dtype=float)
    pupils = (
        places["pupils"].to_numpy(dtype=float)
        if "pupils" in places.columns
        else np.full(len(places), np.nan)
    )
    # only capacity against pupils on roll says how much room a provider has
    spare = held - pupils if basis == "capacity" else np.full(len(places), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(held > 0, spare / held, np.nan)
    return pd.DataFrame(
        {
            "id": places["id"].to_numpy(),
            "name": places["name"].to_numpy(),
            "kind": places["kind"].to_numpy(),
            "in_county": places["in_county"].to_numpy(),
            "area_id": where.to_numpy(dtype=object),
            "places": held,
            "pupils": pupils,
            "spare": spare,
            "spare_share": share,
            "flag": _flags(
                spare,
                share,
                margin=margin,
                surplus_share=surplus_share,
                surplus_min_places=surplus_min_places,
            ),
        }
    )


# --------------------------------------------------------------------------- early years


def early_years_places_per_100(
    places: pd.DataFrame,
    children_0_4: pd.Series,
    *,
    home: pd.Series,
    lookups: Mapping[str, pd.Series] | None = None,
    group_names: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Registered early-years places per 100 children aged 0–4, per area and per group.

    Under the Childcare Act 2006 s.6, councils must secure sufficient childcare;
    places per 100 children under five is the usual first measure of it. Each
    setting's places count in the area it stands in; settings outside every area
    are counted in none. Where any setting's places are not known, the area's
    (and its groups') rate is unknown, never computed from the known ones.

    On the shipped data every rate is unknown: its early-years
    provision is school-based only (schools with nursery classes; no register of
    private, voluntary and independent nurseries or childminders), and a school's
    capacity is not a count of nursery places (see :func:`provider_places`), so
    no setting has registered places. Load the Ofsted early years register (with
    its registered places) to compute them.

    Parameters
    ----------
    places
        From :func:`provider_places` for ``early_years``.
    children_0_4
        Area id → children aged 0–4.
    home
        Provider id → the id of the area it stands in.
    lookups
        Summary level → Series area id → group id.
    group_names
        Summary level → Series group id → group name.

    Returns
    -------
    pandas.DataFrame
        Long, areas first (``level`` = ``area``) then each summary level:
        ``level``, ``group_id``, ``group_name``, ``children_0_4``, ``places``
        (NaN where incomplete), ``places_known`` (over the settings that give
        them; NaN where none does), ``settings``,
        ``settings_without_places``, ``places_per_100`` (NaN when incomplete or
        with no children), ``complete``, ``known_places_per_100`` (the places
        that are known, per 100 children: a lower bound where incomplete, as
        where school nursery classes, which are not on the early years register,
        stand beside registered settings). ``attrs["notes"]`` says where places
        come from and what is unknown.

    Raises
    ------
    InputError
        If ``places`` are for another kind, children are not numbers, or as
        :func:`assess_sufficiency` for ``home``.
    """
    kind = places.attrs.get("kind")
    if kind not in (None, "early_years"):
        raise InputError(
            f"places per 100 children aged 0–4 need early-years places, not {_word(str(kind))}",
            fix="Give provider_places(providers, 'early_years')",
        )
    counts = _children(children_0_4, what="children aged 0–4")
    areas = counts.index
    where = _homes(places, home, areas)
    any_known = bool(places["places"].notna().any())
    sums = _area_sums(places, where, areas)
    sums.insert(0, "children", counts.to_numpy())
    notes = [str(places.attrs.get("note") or places_summary(places))]
    area_rows = sums.copy()
    area_rows.insert(0, "group_name", None)
    area_rows.insert(0, "group_id", areas.to_numpy(dtype=object))
    area_rows.insert(0, "level", "area")
    frames = [area_rows.reset_index(drop=True)]
    for _, table in _by_group(
        sums,
        lookups or {},
        group_names,
        columns=("children", "providers", "providers_without_places", "places_known", "pupils"),
        keep_nan=("children",),
        notes=notes,
    ):
        frames.append(table.drop(columns="areas"))
    table = pd.concat(frames, ignore_index=True)
    complete = (table["providers_without_places"] == 0) & any_known
    children = table["children"].astype(float)
    known_places = table["places_known"].where(complete).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(complete & (children > 0), known_places / children * 100, np.nan).astype(
            float
        )
    out = pd.DataFrame(
        {
            "level": table["level"].to_numpy(),
            "group_id": table["group_id"].to_numpy(dtype=object),
            "group_name": table["group_name"].to_numpy(dtype=object),
            "children_0_4": children.to_numpy(),
            "places": known_places.to_numpy(),
            "places_known": _known_places(table, any_known=any_known).to_numpy(dtype=float),
            "settings": table["providers"].to_numpy(dtype=int),
            "settings_without_places": table["providers_without_places"].to_numpy(dtype=int),
            "places_per_100": rate,
            "complete": complete.to_numpy(dtype=bool),
        }
    )
    # a lower bound, labelled as one: school nursery classes are not on the register,
    # so a fuller list still leaves them without registered places
    with np.errstate(divide="ignore", invalid="ignore"):
        out["known_places_per_100"] = np.where(
            children > 0, out["places_known"].to_numpy(dtype=float) / children * 100, np.nan
        )
    if not any_known:
        notes.append(
            "No early-years setting gives registered places: places per 100 children aged 0–4 "
            "are unknown, not zero (a school's capacity is not a count of its nursery places; "
            "load the Ofsted early years register for registered places)."
        )
    elif not bool(out["complete"].all()):
        notes.append(
            "Where some settings give no places (school nursery classes are not on the early "
            "years register), places per 100 are left blank; known_places_per_100 counts the "
            "known places only, a lower bound."
        )
    outside = int(where.isna().sum())
    if outside:
        notes.append(f"{outside} early-years settings stand outside every area: counted in none.")
    notes.append(
        "Registered places per 100 children aged 0–4 measure the childcare sufficiency duty "
        "(Childcare Act 2006 s.6) against resident children; families use settings across area "
        "lines, so read it for planning areas."
    )
    out.attrs["notes"] = notes
    return out


# --------------------------------------------------------------------------- DfE scorecard

_SCORECARD_WHAT = "DfE school places scorecard"
_SCORECARD_MEASURES: Final = {
    "primary_pupils": ("PriNOR", "primary pupils on roll"),
    "primary_capacity": ("PriCap", "primary capacity"),
    "secondary_pupils": ("SecNOR", "secondary pupils on roll"),
    "secondary_capacity": ("SecCap", "secondary capacity"),
}
_ONS_CODE = re.compile(r"[EWSN]\d{8}")


def _column(table: pd.DataFrame, name: str, what: str) -> str:
    found = find_column(table, (name.lower(),))
    if found is None:
        raise_missing(
            table,
            name,
            what=f"'{name}' ({what})",
            fix="Give the scorecard CSV as DfE publishes it (la-school-places-scorecards)",
        )
    return found


def read_scorecard(path: str | Path, *, la_code: str | int | None = None) -> pd.DataFrame:
    """One council's places and pupils per year from a DfE school places scorecard CSV.

    The scorecards (DfE, from the School Capacity survey and the school census)
    give each council's primary and secondary pupils on roll (``PriNOR``,
    ``SecNOR``) and school capacity (``PriCap``, ``SecCap``), sixth-form places
    included and nursery places and special schools left out. Cells ``NA`` and
    DfE's symbols (``z``, ``x``, ``c``, ``:``; :data:`SCORECARD_MISSING`) are
    read as not available.

    Parameters
    ----------
    path
        The scorecard CSV (one council's rows, or many councils').
    la_code
        The council: its ONS code (``new_la_code``, e.g. ``E06000001``) or its
        DfE number (``LANumber``, e.g. ``884``). Needed when the file holds more
        than one council.

    Returns
    -------
    pandas.DataFrame
        One row per year, oldest first: ``year`` (as written, ``2024/25``),
        ``primary_pupils``, ``primary_capacity``, ``secondary_pupils``,
        ``secondary_capacity`` (floats, NaN where not available). ``attrs`` holds
        ``source`` (the path), ``la_code``, ``la_number`` and ``la_name`` where
        the file gives them.

    Raises
    ------
    InputError
        Naming the file, row and column: a missing column (``MissingColumnError``),
        a cell that is neither a number nor a not-available symbol, a negative
        number, a year given twice; or no rows for the council, or several
        councils and no ``la_code``.
    """
    table = read_table(path, what=_SCORECARD_WHAT)
    year_col = _column(table, "Year", "the academic year, e.g. 2024/25")
    measures = {
        out: _column(table, name, label) for out, (name, label) in _SCORECARD_MEASURES.items()
    }
    level_col = find_column(table, ("geographic_level",))
    code_col = find_column(table, ("new_la_code",))
    number_col = find_column(table, ("lanumber",))
    name_col = find_column(table, ("la_name",))

    def text(column: str | None) -> pd.Series:
        if column is None:
            return pd.Series(pd.NA, index=table.index, dtype="string")
        return table[column].astype("string").str.strip()

    keep = np.ones(len(table), dtype=bool)
    if level_col is not None:
        keep &= (text(level_col).str.casefold() == "local authority").fillna(False).to_numpy()
        if not keep.any():
            raise InputError(
                "no local-authority rows (geographic_level 'Local authority')",
                path=path,
                column=level_col,
                fix="Give the scorecard rows of a council",
            )
    codes, numbers = text(code_col), text(number_col)
    key = codes.fillna(numbers)
    if la_code is not None:
        wanted = str(la_code).strip()
        if _ONS_CODE.fullmatch(wanted.upper()):
            if code_col is None:
                raise_missing(table, "new_la_code", what="'new_la_code' (the council's ONS code)")
            match = (codes.str.upper() == wanted.upper()).fillna(False).to_numpy()
        else:
            if number_col is None:
                raise_missing(table, "LANumber", what="'LANumber' (the council's DfE number)")
            match = (
                (numbers.str.lstrip("0") == wanted.lstrip("0")).fillna(False).to_numpy(dtype=bool)
            )
        if not (keep & match).any():
            found = sorted(set(key[keep].dropna()))
            raise InputError(
                f"no rows for council '{wanted}' (councils in the file: "
                f"{', '.join(found[:8])}{' ...' if len(found) > 8 else ''})",
                path=path,
                column=code_col if _ONS_CODE.fullmatch(wanted.upper()) else number_col,
                fix="Give the council's ONS code (new_la_code) or DfE number (LANumber)",
            )
        keep &= match
    else:
        found = sorted(set(key[keep].dropna()))
        if len(found) > 1:
            raise InputError(
                f"the file holds {len(found)} councils ({', '.join(found[:8])}"
                f"{' ...' if len(found) > 8 else ''})",
                path=path,
                fix="Say which with la_code (its ONS code or DfE number)",
            )
    positions = np.flatnonzero(keep)
    chosen = table.iloc[positions].reset_index(drop=True)
    chosen.attrs = dict(table.attrs)
    chosen.attrs["geomap_rows"] = [row_number(table, int(p)) for p in positions]
    years = chosen[year_col].astype("string").str.strip()
    check_rows(
        chosen,
        years.isna().to_numpy(),
        lambda _pos: "blank year",
        column=year_col,
        fix="Give every row its year, e.g. 2024/25",
        path=path,
    )
    check_rows(
        chosen,
        years.duplicated().to_numpy(),
        lambda pos: f"year '{years.iloc[pos]}' is given twice for this council",
        column=year_col,
        fix="Keep one row per year" + ("" if la_code is not None else " (or give la_code)"),
        path=path,
    )
    out = pd.DataFrame({"year": years.to_numpy(dtype=object)})
    for name, column in measures.items():
        cells = chosen[column].astype("string").str.strip()
        blanked = cells.mask(cells.str.casefold().isin(list(SCORECARD_MISSING)).fillna(False))
        parsed = chosen.assign(**{column: blanked})
        parsed.attrs = dict(chosen.attrs)
        out[name] = parse_numbers(
            parsed,
            column,
            minimum=0,
            label=_SCORECARD_MEASURES[name][1],
            fix="Give a number, or NA where it is not available",
        ).to_numpy(dtype=float)
    out = out.sort_values("year", kind="stable").reset_index(drop=True)
    out.attrs["source"] = str(path)
    for attr, values in (("la_code", codes), ("la_number", numbers), ("la_name", text(name_col))):
        given = values[keep].dropna()
        if len(given):
            out.attrs[attr] = str(given.iloc[0])
    return out


_CHECK_COLUMNS: Final = (
    "phase",
    "measure",
    "list_total",
    "list_schools",
    "schools_without_value",
    "scorecard_total",
    "scorecard_year",
    "difference",
    "difference_share",
    "agrees",
)

#: Sentence a report says when the provider list has no capacity to check.
NO_CAPACITY_NOTE: Final = (
    "No school-level capacity loaded: the scorecard check needs one (DfE Get Information "
    "about Schools, SchoolCapacity and NumberOfPupils)."
)


def check_against_scorecard(
    providers: pd.DataFrame,
    scorecard: pd.DataFrame,
    *,
    in_area: pd.Series,
    tolerance: float = SCORECARD_TOLERANCE,
) -> pd.DataFrame:
    """Compare a school-level list's capacity and pupils with the council's scorecard totals.

    Sums, over the state-funded schools in the council (``in_area``; independent
    and special schools left out, as in the School Capacity survey), the
    capacity and pupils on roll of primary schools (main kind ``primary``) and
    of secondary schools (main kinds ``secondary`` and ``sixth_form``: an 11–18
    school's capacity includes its sixth-form places, as in SCAP), and sets
    them against the scorecard's latest year with a value. Schools whose value
    is not given are counted, not taken as zero: the list total is then the
    sum over the others. Pupil totals may differ for reasons of definition too
    (a school's roll can include nursery and sixth-form pupils).

    Parameters
    ----------
    providers
        A school-level list (:func:`geomap.providers.load_providers`) with
        ``kind``, ``sector``, ``capacity`` and ``pupils``.
    scorecard
        From :func:`read_scorecard`.
    in_area
        Booleans by ``providers``' index: the schools in the council
        (typically ``providers["in_county"]``).
    tolerance
        Largest ``|difference_share|`` that agrees; 5% by default
        (:data:`SCORECARD_TOLERANCE`, a planning choice).

    Returns
    -------
    pandas.DataFrame
        One row per phase (``primary``, ``secondary``) and measure (``capacity``,
        ``pupils``): ``phase``, ``measure``, ``list_total``, ``list_schools``,
        ``schools_without_value``, ``scorecard_total``, ``scorecard_year``,
        ``difference`` (list − scorecard), ``difference_share`` (of the
        scorecard total), ``agrees`` (boolean; missing where the scorecard has
        no value, or where some schools give none, as the list's total is then
        only a lower bound). Empty, with these columns and ``attrs["note"]`` =
        :data:`NO_CAPACITY_NOTE`, when no school in the council gives a capacity.

    Raises
    ------
    InputError
        If ``in_area`` is not aligned with ``providers``, or ``tolerance`` is not
        a share from 0 to 1.
    """
    _check_share(tolerance, "tolerance")
    if not isinstance(in_area, pd.Series) or not in_area.index.equals(providers.index):
        raise InputError(
            "in_area must be a Series of booleans with the providers' index",
            fix="Give e.g. providers['in_county']",
        )
    inside = in_area.fillna(False).astype(bool).to_numpy()
    kind = providers["kind"].astype("string").fillna("")
    sector = (
        providers["sector"].astype("string").fillna("")
        if "sector" in providers.columns
        else pd.Series("", index=providers.index)
    )
    state = (sector != "independent").to_numpy(dtype=bool)
    phases = {
        "primary": inside & state & (kind == "primary").to_numpy(dtype=bool),
        "secondary": inside & state & kind.isin(["secondary", "sixth_form"]).to_numpy(dtype=bool),
    }
    capacity = _numbers(providers, "capacity")
    pupils = _numbers(providers, "pupils")
    empty = pd.DataFrame({c: [] for c in _CHECK_COLUMNS})
    if not any(np.isfinite(capacity[mask]).any() for mask in phases.values()):
        empty.attrs["note"] = NO_CAPACITY_NOTE
        return empty
    card = scorecard.sort_values("year", kind="stable")
    rows = []
    for phase, mask in phases.items():
        for measure, values in (("capacity", capacity), ("pupils", pupils)):
            chosen = values[mask]
            column = f"{phase}_{measure}"
            given = card[card[column].notna()]
            total = float(given[column].iloc[-1]) if len(given) else math.nan
            year = str(given["year"].iloc[-1]) if len(given) else None
            listed = float(np.nansum(chosen))
            difference = listed - total
            share = difference / total if total > 0 else math.nan
            rows.append(
                {
                    "phase": phase,
                    "measure": measure,
                    "list_total": listed,
                    "list_schools": int(mask.sum()),
                    "schools_without_value": int(np.isnan(chosen).sum()),
                    "scorecard_total": total,
                    "scorecard_year": year,
                    "difference": difference,
                    "difference_share": share,
                    # a list missing some schools' values gives a lower bound: no verdict
                    "agrees": pd.NA
                    if math.isnan(share) or np.isnan(chosen).any()
                    else bool(round(abs(share), _DIGITS) <= tolerance),
                }
            )
    out = pd.DataFrame(rows, columns=list(_CHECK_COLUMNS))
    out["agrees"] = out["agrees"].astype("boolean")
    out.attrs["note"] = (
        f"School-level totals against the DfE school places scorecard"
        f"{' (' + str(scorecard.attrs['source']) + ')' if 'source' in scorecard.attrs else ''}: "
        f"they agree within {tolerance:.0%} of the scorecard total (a planning choice). "
        "Secondary includes 11–18 schools' sixth-form places, as in the DfE SCAP survey; "
        "independent and special schools are left out. Where some schools give no value, "
        "the list's total is a lower bound and no verdict is given."
    )
    return out
