"""Capacity-aware access: two-step floating catchments (2SFCA, E2SFCA) and gravity scores.

A floating catchment asks whether the providers within reach have room, not
only whether one is near. In two steps (Luo and Wang 2003):

1. each provider's ratio of places to the people (children of the kind's age)
   within its catchment: ``R_j = S_j / sum_i P_i W(t_ij)``;
2. each area's score, the sum of the ratios of the providers within its
   catchment: ``A_i = sum_j R_j W(t_ij)``.

``W`` is 1 within the catchment for the plain 2SFCA, a stepped or Gaussian
decay for the enhanced 2SFCA (Luo and Qi 2009), and a power decay for the
gravity score. Journeys longer than the catchment, and pairs with no journey
(missing from the times table), count for nothing. Scores are places per
person and are not rescaled. The method is cross-checked against PySAL's
``access`` package in the tests.

Times come in long form, ``from_id, to_id, minutes`` (area to provider), as
:meth:`geomap.travel.TravelTimes.matrix` and ``geomap times`` give them, so
only pairs within the catchment need be held: nothing here builds a dense
areas × providers matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geomap import settings
from geomap.errors import InputError, MissingCapacityError
from geomap.io import check_rows, find_column, raise_missing, read_table
from geomap.locations import check_unique_ids
from geomap.schema import parse_numbers
from geomap.sufficiency import places_summary, provider_places
from geomap.travel.base import TravelTimes, describe_result, description_of

#: A decay: weights (0 to 1, or any non-negative number for gravity) for an array of minutes.
Weight = Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]

#: The enhanced 2SFCA's default steps, as shares of the catchment → weight: the
#: catchment in three equal zones weighted 1, 0.68 and 0.22, the Gaussian-derived
#: weights of Luo and Qi (2009) for 10/20/30-minute zones.
E2SFCA_STEPS: dict[float, float] = {1 / 3: 1.0, 2 / 3: 0.68, 1.0: 0.22}

#: The gravity score's default distance-decay power (weights ``(t / catchment) ** -beta``).
GRAVITY_BETA = 1.0

#: Shortest journey (minutes) the gravity decay is computed for, so that a provider
#: next door does not get an unbounded weight.
GRAVITY_MIN_MINUTES = 1.0

METHODS = ("2sfca", "e2sfca", "gravity")

#: Largest count of people or places a demand or supply table may give: far more
#: than any area or provider has, small enough that sums stay exact.
MAX_COUNT = 100_000_000.0

#: What each method is, for captions.
METHOD_LABELS = {
    "2sfca": "two-step floating catchment (2SFCA, Luo and Wang 2003)",
    "e2sfca": (
        "enhanced two-step floating catchment (E2SFCA, Luo and Qi 2009: the catchment in "
        "three equal zones weighted 1, 0.68 and 0.22)"
    ),
    "gravity": (
        f"gravity score (weights (minutes / catchment)^-{GRAVITY_BETA:g}, journeys under "
        f"{GRAVITY_MIN_MINUTES:g} min taken as {GRAVITY_MIN_MINUTES:g})"
    ),
}


def step_weights(steps: Mapping[float, float]) -> Weight:
    """A stepped decay: the weight of the first step at or above each time, 0 beyond the last.

    Parameters
    ----------
    steps
        Upper limit (minutes) → weight.

    Returns
    -------
    Weight
        The decay, for arrays of minutes.

    Raises
    ------
    InputError
        If there are no steps or a weight is negative.
    """
    if not steps or any(w < 0 for w in steps.values()):
        raise InputError("steps must be upper limits with non-negative weights")
    limits = np.array(sorted(steps), dtype=float)
    weights = np.array([steps[k] for k in sorted(steps)], dtype=float)

    def weight(minutes: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        where = np.searchsorted(limits, minutes, side="left")
        return np.where(where < len(limits), weights[np.minimum(where, len(limits) - 1)], 0.0)

    return weight


def gaussian_weights(sigma: float) -> Weight:
    """A Gaussian decay, 1 at no time: ``exp(-t² / 2σ²)``.

    Parameters
    ----------
    sigma
        Width, minutes.

    Returns
    -------
    Weight
        The decay.

    Raises
    ------
    InputError
        If ``sigma`` is not positive.
    """
    if not sigma > 0:
        raise InputError(f"the Gaussian width must be positive, not {sigma}")
    return lambda minutes: np.exp(-(minutes**2) / (2 * sigma**2))


def gravity_weights(
    scale: float, beta: float = GRAVITY_BETA, *, min_minutes: float = 0.0
) -> Weight:
    """A power decay: ``(max(t, min_minutes) / scale) ** -beta``.

    Parameters
    ----------
    scale
        Minutes at which the weight is 1.
    beta
        Decay power (positive: weights fall with time).
    min_minutes
        Times below this count as this.

    Returns
    -------
    Weight
        The decay.
    """
    return lambda minutes: np.power(np.maximum(minutes, min_minutes) / scale, -beta)


def method_weight(method: str, catchment: float) -> Weight | None:
    """The decay geomap uses for a method: none (2SFCA), steps (E2SFCA) or power (gravity).

    Parameters
    ----------
    method
        ``2sfca``, ``e2sfca`` or ``gravity``.
    catchment
        The catchment, minutes.

    Returns
    -------
    Weight or None
        ``None`` for the plain 2SFCA (weight 1 within the catchment).

    Raises
    ------
    InputError
        For an unknown method.
    """
    if method == "2sfca":
        return None
    if method == "e2sfca":
        return step_weights({share * catchment: w for share, w in E2SFCA_STEPS.items()})
    if method == "gravity":
        return gravity_weights(catchment, GRAVITY_BETA, min_minutes=GRAVITY_MIN_MINUTES)
    raise InputError(f"unknown method '{method}'", fix=f"Use one of: {', '.join(METHODS)}")


@dataclass
class CatchmentAccess:
    """A floating-catchment result.

    Attributes
    ----------
    areas
        One row per area: ``area_id``, ``population``, ``providers`` (within the
        catchment) and ``score`` (places per person; 0 where no provider is
        within reach).
    providers
        One row per provider: ``provider_id``, ``places``, ``catchment_population``
        (weighted), ``ratio`` (places per person in the catchment; NaN where
        nobody is within reach) and ``people_per_place``.
    """

    areas: pd.DataFrame
    providers: pd.DataFrame
    #: what was computed and from what, one sentence each (catchment, method, places)
    notes: list[str] = field(default_factory=list)


def _series(values: pd.Series | Mapping[str, float], *, what: str) -> pd.Series:
    series = pd.Series(values, dtype=float)
    series.index = series.index.astype(str)
    if not series.index.is_unique:
        raise InputError(
            f"{what} ids must be unique; '{series.index[series.index.duplicated()][0]}' repeats"
        )
    bad = ~np.isfinite(series.to_numpy()) | (series.to_numpy() < 0)
    if bad.any():
        raise InputError(
            f"{what} must be finite and not negative; '{series.index[bad][0]}' has {series[bad].iloc[0]}",
            fix=f"Give every {what} a count of 0 or more",
        )
    return series


def _text_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each value's position among the distinct values read as text, and those texts."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    texts = pd.Index(uniques).astype(str)
    text_codes, distinct = pd.factorize(texts)
    return np.asarray(text_codes, dtype=np.int64)[codes], pd.Index(distinct)


def floating_catchment(
    times: pd.DataFrame,
    demand: pd.Series | Mapping[str, float],
    supply: pd.Series | Mapping[str, float],
    *,
    catchment: float,
    weight: Weight | None = None,
) -> CatchmentAccess:
    """Two-step floating catchment scores of areas, and each provider's ratio.

    Parameters
    ----------
    times
        Long table ``from_id`` (area), ``to_id`` (provider), ``minutes``; a
        pair missing, or with NaN minutes, has no journey.
    demand
        People (children of the kind's age) per area id.
    supply
        Places per provider id.
    catchment
        Longest journey (minutes) within a catchment.
    weight
        Decay applied within the catchment in both steps; none (1) for the
        plain 2SFCA. See :func:`method_weight`.

    Returns
    -------
    CatchmentAccess
        Scores per area (every area of ``demand``) and ratios per provider
        (every provider of ``supply``).

    Raises
    ------
    InputError
        If a column is missing, an id repeats, a count is negative or not
        finite, a pair is given twice, or the catchment is not positive.
    """
    if not catchment > 0:
        raise InputError(f"the catchment must be a positive number of minutes, not {catchment}")
    missing = {"from_id", "to_id", "minutes"} - set(times.columns)
    if missing:
        raise InputError(
            f"the times table lacks {', '.join(sorted(missing))}",
            fix="Give a long table from_id,to_id,minutes",
        )
    people = _series(demand, what="demand")
    places = _series(supply, what="supply")
    # ids are compared as text; each distinct id is converted once, so that tables
    # of millions of pairs (a whole country's) take seconds
    area_key, area_texts = _text_codes(times["from_id"])
    provider_key, provider_texts = _text_codes(times["to_id"])
    pair_key = area_key * np.int64(max(len(provider_texts), 1)) + provider_key
    twice = pd.Index(pair_key).duplicated()
    if twice.any():
        at = int(np.flatnonzero(twice)[0])
        raise InputError(
            f"the journey {area_texts[area_key[at]]} → {provider_texts[provider_key[at]]} "
            "is given twice",
            fix="Give each area and provider pair once",
        )
    area_pos = people.index.get_indexer(area_texts)[area_key]
    provider_pos = places.index.get_indexer(provider_texts)[provider_key]
    minutes = pd.to_numeric(times["minutes"], errors="coerce").to_numpy(dtype=float)
    kept = (minutes <= catchment) & (area_pos >= 0) & (provider_pos >= 0)
    minutes, area_pos, provider_pos = minutes[kept], area_pos[kept], provider_pos[kept]
    w = np.ones(minutes.shape[0]) if weight is None else np.asarray(weight(minutes), dtype=float)
    # step 1: the (weighted) people within each provider's catchment
    reached = np.bincount(
        provider_pos, weights=people.to_numpy()[area_pos] * w, minlength=len(places)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(reached > 0, places.to_numpy() / reached, np.nan)
    # step 2: each area sums the (weighted) ratios of the providers in its catchment
    contribution = np.nan_to_num(ratio[provider_pos]) * w
    score = np.bincount(area_pos, weights=contribution, minlength=len(people))
    count = np.bincount(area_pos, weights=(w > 0).astype(float), minlength=len(people))
    areas = pd.DataFrame(
        {
            "area_id": people.index.to_numpy(),
            "population": people.to_numpy(),
            "providers": count.astype(int),
            "score": score,
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        per_place = np.where(places.to_numpy() > 0, reached / places.to_numpy(), np.nan)
    providers = pd.DataFrame(
        {
            "provider_id": places.index.to_numpy(),
            "places": places.to_numpy(),
            "catchment_population": reached,
            "ratio": ratio,
            "people_per_place": per_place,
        }
    )
    return CatchmentAccess(areas=areas, providers=providers)


def read_counts(
    path: str | Path, *, what: str, value_names: tuple[str, ...], sheet: str | None = None
) -> pd.Series:
    """Read a table of ids and counts: people per area, or places per provider.

    Parameters
    ----------
    path
        CSV or workbook with an ``id`` column and a count column.
    what
        What the table is, for messages (``demand table``).
    value_names
        Names the count column may have, in order of preference
        (``population``, ``children``...).
    sheet
        Worksheet of a workbook.

    Returns
    -------
    pandas.Series
        Counts (float) by id.

    Raises
    ------
    InputError
        For a missing column, a blank or repeated id, or a count that is not a
        number of 0 or more (naming file, row and column).
    """
    table = read_table(path, what=what, sheet=sheet)
    id_c = find_column(table, ("id", "area_id", "provider_id", "from_id", "to_id", "code", "urn"))
    if id_c is None:
        raise_missing(table, "id", what=f"of ids ({what})")
    value_c = find_column(table, value_names)
    if value_c is None:
        raise_missing(table, value_names[0], what=f"of counts ({', '.join(value_names)})")
    ids = pd.DataFrame({id_c: table[id_c].astype("string").str.strip()}, index=table.index)
    ids.attrs.update(table.attrs)
    check_unique_ids(ids, id_c, what=what)
    values = parse_numbers(
        table,
        value_c,
        minimum=0,
        maximum=MAX_COUNT,
        label=value_c,
        fix="Give a count of 0 or more (0 where there is nobody, or no place)",
    )
    check_rows(
        table,
        values.isna().to_numpy(),
        lambda _pos: "the count is blank",
        column=value_c,
        fix="Give 0 where there is nobody (or no place)",
    )
    return pd.Series(
        values.to_numpy(dtype=float), index=ids[id_c].to_numpy(dtype=str), name=value_c
    )


def catchment_for(
    mode: str, kind: str, *, catchments: Mapping[str, Mapping[str, float]] | None = None
) -> tuple[float, str]:
    """The floating catchment (minutes) for a mode and kind, and where it comes from.

    Parameters
    ----------
    mode, kind
        The travel mode (``car``, ``walk``...) and kind of provision.
    catchments
        ``{mode: {kind: minutes}}`` set for this run (a study area's
        ``[catchments]``), over :data:`geomap.settings.CATCHMENTS`.

    Returns
    -------
    tuple of (float, str)
        The minutes, and a phrase naming their source.

    Raises
    ------
    InputError
        For a mode or kind with no default catchment.
    """
    given = (catchments or {}).get(mode, {})
    if kind in given:
        return float(given[kind]), "set for this study area"
    try:
        return settings.CATCHMENTS[mode][kind], settings.CATCHMENT_SOURCES[mode]
    except KeyError:
        raise InputError(
            f"no default catchment for {kind} by {mode}",
            fix=f"Give one with --catchment or [catchments.{mode}] {kind} = MINUTES",
        ) from None


def kind_access(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    children: pd.Series,
    travel: TravelTimes,
    *,
    kind: str,
    method: str = "2sfca",
    catchment: float | None = None,
    catchments: Mapping[str, Mapping[str, float]] | None = None,
    basis: str = "capacity",
    include_independent: bool = False,
    include_outside: bool = False,
) -> CatchmentAccess:
    """Capacity-aware access to one kind of provision, from areas' origins by one mode.

    Providers whose places are not known are never counted as having none:
    an area with such a provider within its catchment gets no ``score`` (NaN,
    ``complete`` false) and, in ``score_known_places``, the score over the
    providers whose places are known (a lower bound).

    Providers outside the study area (``in_county`` false) are left out by
    default: the children beyond the border who share their places are not in
    the data, so counting their places would share them among the study area's
    children alone and overstate access near the border (a college of 3,000
    places reached by a few hundred of the county's young people would give
    each of them several places). Left out, scores near the border understate
    the places within reach; the notes say which way and how many.

    Parameters
    ----------
    origins
        One point per area, ``id`` = area id, EPSG:27700.
    providers
        From :func:`geomap.providers.load_providers`.
    children
        Area id → children of the kind's age band.
    travel
        The travel-time source (its ``mode`` picks the default catchment).
    kind
        The kind of provision.
    method
        ``2sfca``, ``e2sfca`` or ``gravity`` (:data:`METHODS`).
    catchment
        Minutes; by default from ``catchments``, else the mode and kind's
        longest reasonable journey (:func:`catchment_for`).
    catchments
        ``{mode: {kind: minutes}}`` set for the study area.
    basis
        What counts as places: ``capacity``, ``pupils`` (pupils on roll) or
        ``students`` (16–18 students); see
        :func:`geomap.sufficiency.provider_places`.
    include_independent
        Count independent schools as provision.
    include_outside
        Count providers outside the study area too (see above).

    Returns
    -------
    CatchmentAccess
        ``areas``: ``area_id``, ``population`` (children), ``providers``
        (within the catchment), ``providers_without_places``, ``complete``,
        ``score`` (NaN where incomplete), ``score_known_places``; ``providers``:
        ``provider_id``, ``name``, ``in_county``, ``places`` (NaN where not
        known), ``catchment_population``, ``ratio``, ``people_per_place``;
        ``notes`` saying the method, catchment and places used.
        ``attrs["description"]`` of both tables is the caption of the times.

    Raises
    ------
    MissingCapacityError
        If no provider of the kind gives ``basis``: there is nothing to score,
        and no number is made up.
    InputError
        For an unknown method, basis or kind.
    """
    if catchment is None:
        catchment, source = catchment_for(travel.mode, kind, catchments=catchments)
    else:
        source = "set for this run"
    weight = method_weight(method, catchment)
    places = provider_places(providers, kind, basis=basis, include_independent=include_independent)
    outside = ~places["in_county"].astype(bool).to_numpy()
    outside_count = int(outside.sum())
    if not include_outside:
        kept = places[~outside]
        kept.attrs.update(places.attrs)
        places = kept
    known = places["places"].notna().to_numpy()
    label = settings.KIND_LABELS.get(kind, kind).lower()
    if not known.any():
        raise MissingCapacityError(
            f"no {label} provider gives its {basis} ({len(places)} providers, none with a value): "
            "capacity-aware access needs places, and geomap does not guess them",
            fix="Load a provider list with capacity (e.g. DfE Get Information about Schools, "
            "SchoolCapacity), or ask for another basis (pupils on roll, 16–18 students)",
        )
    chosen = providers[providers["id"].isin(places["id"])]
    # only the journeys within the catchment count: a network stops its searches there
    times = travel.within(origins, chosen[["id", "geometry"]], minutes=float(catchment))
    text = description_of(times, travel)
    minutes = pd.to_numeric(times["minutes"], errors="coerce")
    times = times.loc[minutes.le(catchment).to_numpy(), ["from_id", "to_id", "minutes"]]
    ids = places["id"].astype(str).to_numpy()
    supply = pd.Series(places["places"].to_numpy(dtype=float), index=ids)
    demand = pd.Series(children, dtype=float)
    demand.index = demand.index.astype(str)
    area_ids = origins["id"].astype(str)
    if len(demand) and not demand.index.isin(area_ids).any():
        raise InputError(
            f"none of the {len(demand)} areas the children are counted for is an origin "
            f"(children for '{demand.index[0]}', origins such as '{area_ids.iloc[0]}')",
            fix="Give children per area under the same ids as the origins",
        )
    demand = demand.reindex(area_ids).fillna(0.0)
    result = floating_catchment(times, demand, supply[known], catchment=catchment, weight=weight)
    unknown_ids = set(ids[~known])
    unknown_pairs = times[times["to_id"].astype(str).isin(unknown_ids)]
    if weight is not None:
        w = np.asarray(weight(unknown_pairs["minutes"].to_numpy(dtype=float)))
        unknown_pairs = unknown_pairs[w > 0]
    without = unknown_pairs.groupby(unknown_pairs["from_id"].astype(str)).size()
    areas = result.areas.rename(columns={"score": "score_known_places"})
    areas["providers_without_places"] = (
        areas["area_id"].map(without).fillna(0).astype(int).to_numpy()
    )
    areas["providers"] = areas["providers"] + areas["providers_without_places"]
    areas["complete"] = areas["providers_without_places"] == 0
    areas["score"] = areas["score_known_places"].where(areas["complete"])
    areas = areas[
        [
            "area_id",
            "population",
            "providers",
            "providers_without_places",
            "complete",
            "score",
            "score_known_places",
        ]
    ]
    info = places.set_index(places["id"].astype(str))
    step1 = floating_catchment(
        times, demand, supply.fillna(0.0), catchment=catchment, weight=weight
    )
    table = step1.providers.set_index("provider_id")
    out = pd.DataFrame(
        {
            "provider_id": ids,
            "name": info["name"].reindex(ids).to_numpy(),
            "in_county": info["in_county"].reindex(ids).to_numpy(),
            "places": supply.to_numpy(),
            "catchment_population": table["catchment_population"].reindex(ids).to_numpy(),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        reached = out["catchment_population"].to_numpy(dtype=float)
        held = out["places"].to_numpy(dtype=float)
        out["ratio"] = np.where(reached > 0, held / reached, np.nan)
        out["people_per_place"] = np.where(held > 0, reached / held, np.nan)
    basis_note = places_summary(places)
    notes = [
        f"Capacity-aware access to {label} provision by {travel.mode}: "
        f"{METHOD_LABELS.get(method, method)}, catchment {catchment:g} minutes ({source}). "
        "Scores are places per child within reach, not rescaled.",
        basis_note,
    ]
    if outside_count and not include_outside:
        notes.append(
            f"{outside_count} {label} providers outside the study area are left out: the "
            "children beyond the border who share their places are not in the data. Scores "
            "near the border understate the places within reach."
        )
    elif outside_count:
        notes.append(
            f"{outside_count} {label} providers outside the study area are counted, their places "
            "shared among the study area's children only (those beyond the border are not in "
            "the data): scores near the border overstate the places within reach."
        )
    incomplete = int((~areas["complete"]).sum())
    if incomplete:
        notes.append(
            f"{incomplete} of {len(areas)} areas have a provider within reach whose places are "
            "not known: their score is left blank (score_known_places counts the known ones only)."
        )
    return CatchmentAccess(
        areas=describe_result(areas, text),
        providers=describe_result(out, text),
        notes=notes,
    )
