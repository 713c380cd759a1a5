"""Coverage gaps: who is beyond a reasonable journey to each kind of provision.

For each provider kind and travel mode: the time from each area's origin to
its nearest provider of that kind (and which one), the children of the matching
age band there, whether the time is beyond the threshold for that kind and
mode (:data:`geomap.settings.THRESHOLDS`, with their sources), the same
aggregated to wards or partnerships (population-weighted mean time, share of
children beyond), and a ranked list of gap areas.

Independent (fee-paying) schools are left out of the nearest-provider search
by default, since they are not open to every family; pass
``include_independent=True`` to count them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import InputError
from geomap.providers import offers
from geomap.travel.base import TravelTimes, describe_result, description_of

logger = logging.getLogger(__name__)


def eligible_providers(
    providers: gpd.GeoDataFrame, kind: str, *, include_independent: bool = False
) -> gpd.GeoDataFrame:
    """Providers offering ``kind`` that count for coverage.

    Parameters
    ----------
    providers
        From :func:`geomap.providers.load_providers`.
    kind
        The kind of provision (see :func:`geomap.providers.offers`).
    include_independent
        Count independent (fee-paying) schools too; left out by default, since
        they are not open to every family.

    Returns
    -------
    geopandas.GeoDataFrame
        The rows of ``providers`` that offer places of ``kind``.

    Raises
    ------
    UnknownKindError
        If ``kind`` is not one geomap knows.
    """
    mask = offers(providers, kind)
    if not include_independent:
        mask &= providers["sector"] != "independent"
    return providers[mask.to_numpy()]


def nearest_by_kind(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    travel: TravelTimes,
    *,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    include_independent: bool = False,
) -> pd.DataFrame:
    """Time from each origin to its nearest provider of each kind.

    Parameters
    ----------
    origins
        One point per area, with ``id`` (the area id), in EPSG:27700.
    providers
        From :func:`geomap.providers.load_providers`.
    travel
        Any travel-time source.
    kinds
        Kinds to analyse (see :func:`geomap.providers.offers`).
    include_independent
        Count independent schools as provision.

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``kind``, ``mode``, ``method``, ``minutes`` (NaN where no
        provider can be reached), ``provider_id``, ``provider_name``,
        ``provider_in_county``; with a network source also ``origin_snap_m``
        and ``provider_snap_m``, the distances at which each end joined the
        network. ``attrs["description"]`` is the caption of these times (see
        :func:`describe_kinds`) and ``attrs["descriptions"]`` the caption of
        each kind's.

    Raises
    ------
    UnknownKindError
        If ``kinds`` holds a kind geomap does not know.

    Warns
    -----
    TravelWarning
        As the travel source's ``nearest`` does: for origins or providers far
        from its network, or origins with no journey to any provider.
    """
    frames = []
    texts: dict[str, str] = {}
    for kind in kinds:
        chosen = eligible_providers(providers, kind, include_independent=include_independent)
        best = travel.nearest(origins, chosen[["id", "geometry"]])
        # read straight away: later pandas operations may drop attrs
        texts[kind] = description_of(best, travel)
        info = chosen.set_index("id")
        frame = pd.DataFrame(
            {
                "area_id": best["from_id"].to_numpy(),
                "kind": kind,
                "mode": travel.mode,
                "method": best["method"].to_numpy(),
                "minutes": best["minutes"].to_numpy(dtype=float),
                "provider_id": best["to_id"].to_numpy(),
                "provider_name": info["name"].reindex(best["to_id"]).to_numpy(),
                "provider_in_county": info["in_county"].reindex(best["to_id"]).to_numpy(),
            }
        )
        # network sources say where each end joined the network
        for column, name in (("from_snap_m", "origin_snap_m"), ("to_snap_m", "provider_snap_m")):
            if column in best.columns:
                frame[name] = best[column].to_numpy()
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    result.attrs["descriptions"] = dict(texts)
    return describe_result(result, describe_kinds(texts))


def describe_kinds(texts: Mapping[str, str]) -> str:
    """One caption for the times to several kinds of provider from one source.

    Parameters
    ----------
    texts
        Kind → the caption of the times to that kind's providers.

    Returns
    -------
    str
        The caption once when every kind's is the same (as for an estimate);
        otherwise each kind's, labelled.
    """
    unique = list(dict.fromkeys(texts.values()))
    if len(unique) <= 1:
        return unique[0] if unique else ""
    return " ".join(
        f"{kind.replace('_', ' ').capitalize()}: {text}" for kind, text in texts.items()
    )


def resolve_thresholds(
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Default thresholds with ``{mode: {kind: minutes}}`` overrides applied.

    Parameters
    ----------
    overrides
        Mode → kind → minutes, replacing those of
        :data:`geomap.settings.THRESHOLDS`; ``None`` keeps the defaults.

    Returns
    -------
    dict
        Mode → kind → minutes, every default with the overrides applied (a new
        table; the defaults are not changed).

    Raises
    ------
    InputError
        For a mode or kind with no default threshold, or minutes that are not positive.
    """
    table = {mode: dict(values) for mode, values in settings.THRESHOLDS.items()}
    for mode, values in (overrides or {}).items():
        if mode not in table:
            raise InputError(
                f"no thresholds for mode '{mode}'", fix=f"Use one of {', '.join(table)}"
            )
        for kind, minutes in values.items():
            if kind not in table[mode]:
                raise InputError(
                    f"no threshold for kind '{kind}'", fix=f"Use one of {', '.join(table[mode])}"
                )
            if not minutes > 0:
                raise InputError(f"threshold for {kind} by {mode} must be positive, not {minutes}")
            table[mode][kind] = float(minutes)
    return table


def parse_threshold(text: str) -> tuple[str, str, float]:
    """Parse ``MODE:KIND=MINUTES`` (e.g. ``walk:primary=30``) and check it means something.

    The mode must be one geomap analyses gaps for (``car``, ``walk``, ``bike``),
    the kind one of :data:`geomap.settings.ANALYSIS_KINDS` (sixth forms and
    colleges share the ``post16`` threshold), and the minutes a finite
    positive number.

    Parameters
    ----------
    text
        The threshold as typed on the command line.

    Returns
    -------
    tuple
        The mode and the kind (both in lower case) and the minutes.

    Raises
    ------
    InputError
        If the text is not of that form, or names a mode or kind with no gap
        analysis, or minutes that are not above 0 and at most a day (1440).
    """
    try:
        key, number = text.split("=", 1)
        mode, kind = (part.strip().lower() for part in key.split(":", 1))
        minutes = float(number)
    except ValueError as err:
        raise InputError(
            f"cannot read threshold '{text}'",
            fix="Write it as MODE:KIND=MINUTES, e.g. walk:primary=30",
        ) from err
    modes = [m for m in settings.THRESHOLDS if m != "pt"]
    if mode not in modes:
        fix = (
            "Public transport has its own limit in the post-16 analysis: --pt-max-minutes"
            if mode == "pt"
            else f"Use one of {', '.join(modes)}"
        )
        raise InputError(f"threshold '{text}': no gap analysis by '{mode}'", fix=fix)
    if kind not in settings.ANALYSIS_KINDS:
        fix = (
            f"Sixth forms and colleges are analysed together as post16: write {mode}:post16={number.strip()}"
            if kind in ("sixth_form", "college")
            else f"Use one of {', '.join(settings.ANALYSIS_KINDS)}"
        )
        raise InputError(f"threshold '{text}': '{kind}' is not a kind geomap analyses", fix=fix)
    if not (math.isfinite(minutes) and 0 < minutes <= 24 * 60):
        raise InputError(
            f"threshold '{text}': {number.strip()} is not a number of minutes above 0 "
            "and at most a day (1440)",
            fix="Give a positive number of minutes, e.g. walk:primary=30",
        )
    return mode, kind, minutes


def coverage(
    nearest: pd.DataFrame,
    children: pd.DataFrame,
    *,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """Add children and threshold flags to :func:`nearest_by_kind` results.

    Parameters
    ----------
    nearest
        From :func:`nearest_by_kind` (any number of modes and kinds).
    children
        Children per area and band, from :func:`geomap.demand.children_by_band`
        (one column per kind).
    thresholds
        ``{mode: {kind: minutes}}``; see :func:`resolve_thresholds`.

    Returns
    -------
    pandas.DataFrame
        ``nearest`` plus ``threshold``, ``children``, ``unreachable`` (no
        journey at all), ``beyond`` (over the threshold or unreachable) and
        ``children_beyond``.

    Raises
    ------
    InputError
        For an unknown threshold (see :func:`resolve_thresholds`), or a kind
        of ``nearest`` with no column in ``children``.
    """
    table = resolve_thresholds(thresholds)
    out = nearest.copy()
    out["threshold"] = [table[m][k] for m, k in zip(out["mode"], out["kind"], strict=True)]
    missing = sorted(set(out["kind"]) - set(children.columns))
    if missing:
        raise InputError(f"no age band for kind(s) {', '.join(missing)}")
    long = children.stack()
    keys = pd.MultiIndex.from_arrays([out["area_id"], out["kind"]])
    out["children"] = long.reindex(keys).fillna(0).astype(int).to_numpy()
    out["unreachable"] = out["minutes"].isna()
    out["beyond"] = out["unreachable"] | (out["minutes"] > out["threshold"])
    out["children_beyond"] = np.where(out["beyond"], out["children"], 0)
    return out


def summarise_coverage(
    cover: pd.DataFrame,
    lookup: pd.Series,
    *,
    names: pd.Series | None = None,
) -> pd.DataFrame:
    """Aggregate coverage to groups of areas (wards, partnerships).

    Parameters
    ----------
    cover
        From :func:`coverage`.
    lookup
        Area id → group id (:func:`geomap.areas.group_lookup`).
    names
        Group id → group name.

    Returns
    -------
    pandas.DataFrame
        Per group, kind and mode: ``areas``, ``children``,
        ``mean_minutes`` (weighted by children; unreachable areas left out),
        ``max_minutes``, ``children_beyond``, ``share_beyond``,
        ``areas_beyond`` and ``children_unreachable``.
    """
    data = cover.assign(group_id=cover["area_id"].map(lookup))
    data["weighted"] = data["minutes"] * data["children"]
    data["reach_children"] = np.where(data["unreachable"], 0, data["children"])
    data["children_unreachable"] = np.where(data["unreachable"], data["children"], 0)
    grouped = data.groupby(["group_id", "kind", "mode"], sort=True)
    out = grouped.agg(
        areas=("area_id", "size"),
        children=("children", "sum"),
        weighted=("weighted", "sum"),
        reach_children=("reach_children", "sum"),
        max_minutes=("minutes", "max"),
        children_beyond=("children_beyond", "sum"),
        areas_beyond=("beyond", "sum"),
        children_unreachable=("children_unreachable", "sum"),
        threshold=("threshold", "first"),
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_minutes"] = np.round(
            out["weighted"] / out["reach_children"].replace(0, np.nan), 1
        )
        out["share_beyond"] = np.round(
            out["children_beyond"] / out["children"].replace(0, np.nan), 3
        )
    if names is not None:
        out.insert(1, "group_name", out["group_id"].map(names))
    columns = [
        c
        for c in (
            "group_id",
            "group_name",
            "kind",
            "mode",
            "areas",
            "children",
            "mean_minutes",
            "max_minutes",
            "threshold",
            "children_beyond",
            "share_beyond",
            "areas_beyond",
            "children_unreachable",
        )
        if c in out.columns
    ]
    return out[columns]


def rank_gaps(cover: pd.DataFrame, *, names: pd.Series | None = None) -> pd.DataFrame:
    """Areas beyond the threshold, most children affected first.

    Parameters
    ----------
    cover
        From :func:`coverage`.
    names
        Area id → area name, added as ``area_name``.

    Returns
    -------
    pandas.DataFrame
        The ``beyond`` rows of ``cover`` with ``rank`` (1 = most children beyond
        a reasonable journey) per kind and mode, and ``minutes_over`` the threshold.
    """
    gaps = cover[cover["beyond"]].copy()
    if names is not None:
        gaps.insert(1, "area_name", gaps["area_id"].map(names))
    gaps["minutes_over"] = np.round(gaps["minutes"] - gaps["threshold"], 1)
    gaps = gaps.sort_values(
        ["mode", "kind", "children_beyond", "minutes"],
        ascending=[True, True, False, False],
        na_position="first",
    )
    gaps.insert(0, "rank", gaps.groupby(["mode", "kind"]).cumcount() + 1)
    return gaps.reset_index(drop=True)


@dataclass
class GapAnalysis:
    """Everything :func:`analyse_gaps` computes."""

    #: per area, kind and mode (from :func:`coverage`)
    coverage: pd.DataFrame
    #: per group, kind and mode (from :func:`summarise_coverage`); empty if no groups
    by_group: pd.DataFrame
    #: ranked gap areas (from :func:`rank_gaps`)
    ranking: pd.DataFrame
    #: mode → caption of the times used (from the results themselves)
    methods: dict[str, str]
    #: the thresholds applied
    thresholds: dict[str, dict[str, float]]
    #: mode → kind → caption of the times to that kind's providers
    methods_by_kind: dict[str, dict[str, str]] = field(default_factory=dict)


def analyse_gaps(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    children: pd.DataFrame,
    travel: Iterable[TravelTimes],
    *,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    lookup: pd.Series | None = None,
    group_names: pd.Series | None = None,
    area_names: pd.Series | None = None,
    include_independent: bool = False,
) -> GapAnalysis:
    """Run the whole gap analysis for several travel sources (one per mode).

    See :func:`nearest_by_kind`, :func:`coverage`, :func:`summarise_coverage`
    and :func:`rank_gaps` for the parts.

    Parameters
    ----------
    origins
        One point per area, with ``id``, in EPSG:27700.
    providers
        From :func:`geomap.providers.load_providers`.
    children
        Children per area and band (one column per kind).
    travel
        One travel-time source per mode.
    kinds
        Kinds to analyse.
    thresholds
        ``{mode: {kind: minutes}}`` overriding the defaults.
    lookup
        Area id → group id, to summarise by.
    group_names, area_names
        Names of the groups and areas.
    include_independent
        Count independent schools as provision.

    Returns
    -------
    GapAnalysis
        With, per mode, the caption of the times actually used (``methods``).

    Raises
    ------
    InputError
        For an unknown threshold or a kind with no age band.

    Warns
    -----
    TravelWarning
        As :func:`nearest_by_kind` does.
    """
    kinds = tuple(kinds)
    sources = list(travel)
    parts = []
    methods: dict[str, str] = {}
    by_kind: dict[str, dict[str, str]] = {}
    for source in sources:
        part = nearest_by_kind(
            origins, providers, source, kinds=kinds, include_independent=include_independent
        )
        methods[source.mode] = description_of(part, source)
        by_kind[source.mode] = dict(part.attrs.get("descriptions", {}))
        parts.append(part)
    nearest = pd.concat(parts, ignore_index=True)
    table = resolve_thresholds(thresholds)
    cover = coverage(nearest, children, thresholds=table)
    by_group = (
        summarise_coverage(cover, lookup, names=group_names)
        if lookup is not None
        else pd.DataFrame()
    )
    return GapAnalysis(
        coverage=cover,
        by_group=by_group,
        ranking=rank_gaps(cover, names=area_names),
        methods=methods,
        thresholds=table,
        methods_by_kind=by_kind,
    )
