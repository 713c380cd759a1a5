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

Beyond the nearest provider of any kind: how much further the nearest one
rated good or outstanding is (:func:`quality_access`, :func:`summarise_quality`),
how many providers are within a reasonable journey (:func:`choice`), and the
share of children within each band of the DfT Journey Time Statistics
(:func:`share_within_bands`).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap.errors import InputError, InputWarning, MissingColumnError
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
    out["children"] = _whole_if_whole(long.reindex(keys).fillna(0).to_numpy(dtype=float))
    out["unreachable"] = out["minutes"].isna()
    out["beyond"] = out["unreachable"] | (out["minutes"] > out["threshold"])
    out["children_beyond"] = np.where(out["beyond"], out["children"], 0)
    return out


def _ratio(numerator: pd.Series, denominator: pd.Series, *, digits: int) -> pd.Series:
    """``numerator / denominator`` rounded, NaN where the denominator is 0 (a share or a mean)."""
    return (numerator / denominator.replace(0, np.nan)).round(digits)


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
    out["mean_minutes"] = _ratio(out["weighted"], out["reach_children"], digits=1)
    out["share_beyond"] = _ratio(out["children_beyond"], out["children"], digits=3)
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


# --------------------------------------------------------------------------- quality, choice, bands

#: Ofsted grade numbers, as some lists give them, and the ratings they stand for.
_GRADES = {"1": "outstanding", "2": "good", "3": "requires improvement", "4": "inadequate"}
#: Spellings of inspection judgements (after :func:`_rating_text`) and the grade they mean.
_RATING_NAMES = {
    "outstanding": "outstanding",
    "good": "good",
    "requires improvement": "requires improvement",
    # grade 3 before September 2012
    "satisfactory": "requires improvement",
    "inadequate": "inadequate",
    # the two categories of an inadequate judgement
    "serious weaknesses": "inadequate",
    "special measures": "inadequate",
}
#: Texts that say there is no graded judgement ("met"/"not met": an early-years
#: inspection with no children on roll, which is not graded).
_NOT_GRADED = frozenset(
    {
        "",
        "nan",
        "none",
        "null",
        "na",
        "n/a",
        "not rated",
        "no rating",
        "not inspected",
        "not yet inspected",
        "met",
        "not met",
    }
)
_GRADE_NUMBER = r"^([1-4])(?:\.0+)?$"

#: What counts as good or better, said beside every output that uses it.
GOOD_NOTE: str = "good or better: an Ofsted overall-effectiveness judgement of " + " or ".join(
    r.title() for r in settings.GOOD_RATINGS
)

#: Where the default journey-time bands come from, said beside the shares within them.
JTS_BANDS_NOTE: str = (
    "the journey-time bands of the DfT Journey Time Statistics ("
    + ", ".join(f"{b:g}" for b in settings.JTS_BANDS)
    + " minutes)"
)


def _rating_text(ratings: pd.Series) -> pd.Series:
    """Ratings in lower case, trimmed, with runs of spaces, ``_`` and ``-`` as one space."""
    return (
        ratings.astype("string")
        .fillna("")
        .str.replace(r"[\s_\-]+", " ", regex=True)
        .str.strip()
        .str.lower()
    )


def _good_texts() -> frozenset[str]:
    return frozenset(_rating_text(pd.Series(list(settings.GOOD_RATINGS), dtype="string")))


def _rating_grades(text: pd.Series) -> pd.Series:
    """The judgement each normalised rating stands for, or missing."""
    names = text.map(_RATING_NAMES)
    numbers = text.str.extract(_GRADE_NUMBER, expand=False).map(_GRADES)
    return names.fillna(numbers)


def is_good(ratings: pd.Series) -> pd.Series:
    """Whether each rating is good or better (one of :data:`geomap.settings.GOOD_RATINGS`).

    Ratings are compared in lower case, trimmed, with ``_``, ``-`` and runs of
    spaces read as one space, so ``"Good"``, ``" good "`` and ``"GOOD"`` are
    the same. Ofsted grade numbers count as the judgements they stand for:
    1 = Outstanding, 2 = Good, 3 = Requires Improvement, 4 = Inadequate (also
    as ``"1.0"`` or the number 1.0). "Satisfactory" (grade 3 before September
    2012) counts as Requires Improvement, and "Serious Weaknesses" and "Special
    Measures" (the two categories of an inadequate judgement) as Inadequate.

    Parameters
    ----------
    ratings
        Inspection ratings, as in the ``rating`` column of
        :func:`geomap.providers.load_providers`.

    Returns
    -------
    pandas.Series
        Booleans aligned with ``ratings``; missing and unrecognised ratings
        are ``False``.
    """
    good = _good_texts()
    text = _rating_text(ratings)
    mask = _rating_grades(text).isin(good) | text.isin(good)
    return pd.Series(mask.to_numpy(dtype=bool), index=ratings.index, name=ratings.name)


def rating_known(ratings: pd.Series) -> pd.Series:
    """Whether each rating is a judgement geomap recognises (see :func:`is_good`).

    Parameters
    ----------
    ratings
        Inspection ratings, as in the ``rating`` column of
        :func:`geomap.providers.load_providers`.

    Returns
    -------
    pandas.Series
        Booleans aligned with ``ratings``: ``True`` for a graded judgement
        (Outstanding, Good, Requires Improvement, Inadequate and their other
        spellings and grade numbers), ``False`` for missing, ungraded ("Met",
        "Not met") and unrecognised ratings.
    """
    text = _rating_text(ratings)
    mask = _rating_grades(text).notna() | text.isin(_good_texts())
    return pd.Series(mask.to_numpy(dtype=bool), index=ratings.index, name=ratings.name)


def _warn_unrecognised_ratings(providers: pd.DataFrame) -> None:
    """Warn about ratings that are given but not recognised (they count as unrated)."""
    ratings = providers["rating"]
    text = _rating_text(ratings)
    odd = ~rating_known(ratings).to_numpy() & ~text.isin(_NOT_GRADED).to_numpy()
    if odd.any():
        values = list(dict.fromkeys(ratings[odd].astype(str)))
        shown = ", ".join(f"'{v}'" for v in values[:3]) + (" ..." if len(values) > 3 else "")
        warnings.warn(
            f"{int(odd.sum())} providers have a rating geomap does not recognise ({shown}); "
            "they count as unrated. Use Outstanding, Good, Requires Improvement or "
            "Inadequate, or Ofsted grades 1 to 4",
            InputWarning,
            stacklevel=3,
        )


def _check_ratings(providers: pd.DataFrame) -> None:
    if "rating" not in providers.columns:
        raise MissingColumnError(
            "providers have no 'rating' column",
            column="rating",
            fix="Load them with geomap.providers.load_providers, which adds one (empty if unknown)",
        )


def _check_children(children: pd.DataFrame, kinds: Iterable[str]) -> None:
    """Check every kind has a column of children."""
    missing = sorted(set(kinds) - set(children.columns))
    if missing:
        raise InputError(
            f"no age band for kind(s) {', '.join(missing)}",
            fix="Give children per area with one column per kind (geomap.demand.children_by_band)",
        )


def _whole_if_whole(values: np.ndarray) -> np.ndarray:
    """Counts as integers when every one is whole; shares of a child (postcode estimates) kept."""
    if np.all(values == np.round(values)):
        return values.astype(int)
    return values


def _children_of(children: pd.DataFrame, area_ids: np.ndarray, kind: str) -> np.ndarray:
    """Children of ``kind`` in each area (0 where none are given); whole numbers as integers."""
    return _whole_if_whole(children[kind].reindex(area_ids).fillna(0).to_numpy(dtype=float))


def _eligible_by_kind(
    providers: gpd.GeoDataFrame, kinds: Iterable[str], *, include_independent: bool
) -> dict[str, gpd.GeoDataFrame]:
    return {
        kind: eligible_providers(providers, kind, include_independent=include_independent)
        for kind in kinds
    }


QUALITY_COLUMNS = (
    "area_id",
    "kind",
    "mode",
    "method",
    "minutes_any",
    "provider_any_id",
    "provider_any_name",
    "provider_any_rating",
    "minutes_good",
    "provider_good_id",
    "provider_good_name",
    "extra_minutes",
    "nearest_below_good",
    "nearest_unrated",
    "children",
    "children_nearest_below_good",
)


def quality_access(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    children: pd.DataFrame,
    travel: TravelTimes,
    *,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    include_independent: bool = False,
    ratings_note: str = "",
) -> pd.DataFrame:
    """Time to the nearest provider, and to the nearest one rated good or outstanding.

    For each kind, two nearest-provider searches from every origin: among all
    the kind's providers (:func:`eligible_providers`) and among those rated
    good or better (:func:`is_good`). When the nearest good provider is as
    near as the nearest of all (a tie), it is taken as the nearest, so that
    ``extra_minutes`` is 0 and the nearest is not flagged below good.

    Parameters
    ----------
    origins
        One point per area, with ``id`` (the area id), in EPSG:27700.
    providers
        From :func:`geomap.providers.load_providers` (with ``rating``).
    children
        Children per area and band, from :func:`geomap.demand.children_by_band`
        (one column per kind).
    travel
        Any travel-time source; its mode labels the rows.
    kinds
        Kinds to analyse (see :func:`geomap.providers.offers`).
    include_independent
        Count independent schools as provision.
    ratings_note
        Where the ratings come from and how recent they are
        (:attr:`geomap.pipeline.Inputs.ratings_note`), carried in ``attrs``.

    Returns
    -------
    pandas.DataFrame
        One row per area and kind: ``area_id``, ``kind``, ``mode``, ``method``,
        ``minutes_any`` (to the nearest provider of any rating; NaN when none
        can be reached), ``provider_any_id``, ``provider_any_name``,
        ``provider_any_rating`` (as the provider list gives it),
        ``minutes_good`` (to the nearest rated good or better; NaN when none
        can be reached), ``provider_good_id``, ``provider_good_name``,
        ``extra_minutes`` (``minutes_good - minutes_any``: 0 when the nearest
        is good, NaN when no good provider can be reached),
        ``nearest_below_good`` (the nearest has a known rating below good),
        ``nearest_unrated`` (the nearest has no rating geomap recognises; not
        counted as below good), ``children`` (of the kind's age band) and
        ``children_nearest_below_good``. ``attrs``: ``description`` (caption
        of the times, see :func:`describe_kinds`), ``descriptions`` (per
        kind), ``ratings_note``, ``good_note`` (what counts as good),
        ``providers`` and ``unrated_providers`` (kind → number of the kind's
        providers, and of those with no recognised rating).

    Raises
    ------
    InputError
        For a kind with no column in ``children``.
    MissingColumnError
        If ``providers`` has no ``rating`` column.
    UnknownKindError
        If ``kinds`` holds a kind geomap does not know.

    Warns
    -----
    InputWarning
        For ratings given but not recognised (counted as unrated).
    TravelWarning
        As the travel source's ``nearest`` does.
    """
    kinds = tuple(kinds)
    _check_ratings(providers)
    eligible = _eligible_by_kind(providers, kinds, include_independent=include_independent)
    _check_children(children, kinds)
    if eligible:
        _warn_unrecognised_ratings(pd.concat(eligible.values()).drop_duplicates("id"))
    frames = []
    texts: dict[str, str] = {}
    counts: dict[str, int] = {}
    unrated: dict[str, int] = {}
    for kind, chosen in eligible.items():
        good_mask = is_good(chosen["rating"]).to_numpy()
        known = rating_known(chosen["rating"]).to_numpy()
        counts[kind] = len(chosen)
        unrated[kind] = int((~known).sum())
        near = travel.nearest(origins, chosen[["id", "geometry"]])
        # read straight away: later pandas operations may drop attrs
        texts[kind] = description_of(near, travel)
        if good_mask.all():
            near_good = near
        else:
            near_good = travel.nearest(origins, chosen.loc[good_mask, ["id", "geometry"]])
        info = chosen.set_index("id")
        good_known = pd.Series(good_mask, index=info.index)
        rated = pd.Series(known, index=info.index)

        any_id = near["to_id"].astype("string").to_numpy()
        any_min = near["minutes"].to_numpy(dtype=float)
        good_id = near_good["to_id"].astype("string").to_numpy()
        good_min = near_good["minutes"].to_numpy(dtype=float)
        # a good provider as near as the nearest is the nearest (ties, rounding)
        with np.errstate(invalid="ignore"):
            tie = good_min <= any_min
        any_id = np.where(tie, good_id, any_id)
        any_min = np.where(tie, good_min, any_min)
        extra = good_min - any_min

        reached = ~np.isnan(any_min)
        nearest_good = good_known.reindex(any_id).fillna(False).to_numpy(dtype=bool)
        nearest_rated = rated.reindex(any_id).fillna(False).to_numpy(dtype=bool)
        below = reached & nearest_rated & ~nearest_good
        area_ids = near["from_id"].to_numpy()
        kids = _children_of(children, area_ids, kind)
        frames.append(
            pd.DataFrame(
                {
                    "area_id": area_ids,
                    "kind": kind,
                    "mode": travel.mode,
                    "method": near["method"].to_numpy(),
                    "minutes_any": any_min,
                    "provider_any_id": pd.array(any_id, dtype="string"),
                    "provider_any_name": info["name"].reindex(any_id).to_numpy(),
                    "provider_any_rating": info["rating"].reindex(any_id).to_numpy(),
                    "minutes_good": good_min,
                    "provider_good_id": pd.array(good_id, dtype="string"),
                    "provider_good_name": info["name"].reindex(good_id).to_numpy(),
                    "extra_minutes": extra,
                    "nearest_below_good": below,
                    "nearest_unrated": reached & ~nearest_rated,
                    "children": kids,
                    "children_nearest_below_good": np.where(below, kids, 0),
                }
            )
        )
    result = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({c: [] for c in QUALITY_COLUMNS})
    )
    result.attrs.update(
        descriptions=dict(texts),
        ratings_note=ratings_note or "as given in the provider list (date not stated)",
        good_note=GOOD_NOTE,
        providers=counts,
        unrated_providers=unrated,
    )
    return describe_result(result, describe_kinds(texts))


def summarise_quality(
    table: pd.DataFrame,
    lookup: pd.Series,
    *,
    names: pd.Series | None = None,
) -> pd.DataFrame:
    """Aggregate :func:`quality_access` to groups of areas (wards, partnerships).

    Parameters
    ----------
    table
        From :func:`quality_access`.
    lookup
        Area id → group id (:func:`geomap.areas.group_lookup`).
    names
        Group id → group name, added as ``group_name``.

    Returns
    -------
    pandas.DataFrame
        Per group, kind and mode: ``group_id``, (``group_name``), ``kind``,
        ``mode``, ``areas``, ``children``, ``children_nearest_below_good``,
        ``share_nearest_below_good`` (of ``children``; NaN with no children),
        ``children_nearest_unrated``, ``children_no_good`` (children from whose
        area no provider rated good or better can be reached) and
        ``mean_extra_minutes`` (weighted by children; areas with no good
        provider within reach left out, NaN when that leaves none). The
        ``attrs`` of ``table`` are kept.
    """
    data = table.assign(group_id=table["area_id"].map(lookup))
    reach = data["extra_minutes"].notna()
    data["reach_children"] = np.where(reach, data["children"], 0)
    data["weighted"] = np.where(reach, data["extra_minutes"] * data["children"], 0.0)
    data["children_nearest_unrated"] = np.where(data["nearest_unrated"], data["children"], 0)
    data["children_no_good"] = np.where(data["minutes_good"].isna(), data["children"], 0)
    out = (
        data.groupby(["group_id", "kind", "mode"], sort=True)
        .agg(
            areas=("area_id", "size"),
            children=("children", "sum"),
            children_nearest_below_good=("children_nearest_below_good", "sum"),
            children_nearest_unrated=("children_nearest_unrated", "sum"),
            children_no_good=("children_no_good", "sum"),
            weighted=("weighted", "sum"),
            reach_children=("reach_children", "sum"),
        )
        .reset_index()
    )
    out["share_nearest_below_good"] = _ratio(
        out["children_nearest_below_good"], out["children"], digits=3
    )
    out["mean_extra_minutes"] = _ratio(out["weighted"], out["reach_children"], digits=1)
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
            "children_nearest_below_good",
            "share_nearest_below_good",
            "children_nearest_unrated",
            "children_no_good",
            "mean_extra_minutes",
        )
        if c in out.columns
    ]
    result = out[columns]
    result.attrs.update(table.attrs)
    return result


CHOICE_COLUMNS = (
    "area_id",
    "kind",
    "mode",
    "threshold",
    "providers_within",
    "good_within",
    "children",
    "no_choice",
    "one_choice",
)


def choice(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    children: pd.DataFrame,
    travel: TravelTimes,
    *,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    include_independent: bool = False,
    ratings_note: str = "",
) -> pd.DataFrame:
    """How many providers of each kind are within a reasonable journey of each area.

    One travel-time matrix per kind, from every origin to every eligible
    provider (:func:`eligible_providers`), is cut to the journeys within the
    threshold as soon as it arrives, so only those pairs are kept.

    Parameters
    ----------
    origins
        One point per area, with ``id`` (the area id), in EPSG:27700.
    providers
        From :func:`geomap.providers.load_providers` (with ``rating``).
    children
        Children per area and band (one column per kind).
    travel
        Any travel-time source; its mode picks the thresholds.
    thresholds
        ``{mode: {kind: minutes}}`` overriding the defaults (see
        :func:`resolve_thresholds`).
    kinds
        Kinds to analyse.
    include_independent
        Count independent schools as provision.
    ratings_note
        Where the ratings come from and how recent they are, carried in ``attrs``.

    Returns
    -------
    pandas.DataFrame
        One row per area and kind: ``area_id``, ``kind``, ``mode``,
        ``threshold`` (minutes), ``providers_within`` (journeys of at most the
        threshold; no journey counts as not within), ``good_within`` (of
        those, rated good or better, see :func:`is_good`), ``children`` (of
        the kind's age band), ``no_choice`` (none within) and ``one_choice``
        (exactly one within). ``attrs``: ``description``, ``descriptions``
        (per kind), ``threshold_source``, ``ratings_note`` and ``good_note``.

    Raises
    ------
    InputError
        For a mode or kind with no threshold, an unknown threshold override,
        or a kind with no column in ``children``.
    MissingColumnError
        If ``providers`` has no ``rating`` column.
    UnknownKindError
        If ``kinds`` holds a kind geomap does not know.

    Warns
    -----
    InputWarning
        For ratings given but not recognised (counted as not good).
    TravelWarning
        As the travel source's ``matrix`` does.
    """
    kinds = tuple(kinds)
    table = resolve_thresholds(thresholds)
    mode = travel.mode
    if mode not in table:
        raise InputError(
            f"no thresholds for mode '{mode}'", fix=f"Use a source of one of {', '.join(table)}"
        )
    unknown = [k for k in kinds if k not in table[mode]]
    if unknown:
        raise InputError(
            f"no threshold by {mode} for kind(s) {', '.join(unknown)}",
            fix=f"Use kinds among {', '.join(table[mode])}",
        )
    _check_ratings(providers)
    eligible = _eligible_by_kind(providers, kinds, include_independent=include_independent)
    _check_children(children, kinds)
    if eligible:
        _warn_unrecognised_ratings(pd.concat(eligible.values()).drop_duplicates("id"))
    area_ids = origins["id"].to_numpy()
    frames = []
    texts: dict[str, str] = {}
    for kind, chosen in eligible.items():
        limit = table[mode][kind]
        if len(chosen):
            # only the journeys within the threshold count: a network stops its searches there
            times = travel.within(origins, chosen[["id", "geometry"]], minutes=float(limit))
            texts[kind] = description_of(times, travel)
            # keep only the pairs within reach; the dense matrix goes at once
            within = times.loc[
                times["minutes"].to_numpy(dtype=float) <= limit, ["from_id", "to_id"]
            ]
            del times
        else:
            texts[kind] = f"{travel.describe()} There were no destinations."
            within = pd.DataFrame({"from_id": [], "to_id": []})
        good_ids = chosen.loc[is_good(chosen["rating"]).to_numpy(), "id"]
        good_pair = within["to_id"].isin(good_ids).to_numpy()
        ids = pd.Index(area_ids)
        count = within.groupby("from_id").size().reindex(ids, fill_value=0).to_numpy()
        good = within[good_pair].groupby("from_id").size().reindex(ids, fill_value=0).to_numpy()
        frames.append(
            pd.DataFrame(
                {
                    "area_id": area_ids,
                    "kind": kind,
                    "mode": mode,
                    "threshold": float(limit),
                    "providers_within": count.astype(int),
                    "good_within": good.astype(int),
                    "children": _children_of(children, area_ids, kind),
                    "no_choice": count == 0,
                    "one_choice": count == 1,
                }
            )
        )
    result = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({c: [] for c in CHOICE_COLUMNS})
    )
    source = settings.THRESHOLD_SOURCES.get(mode, "the defaults")
    given = {k for k in (thresholds or {}).get(mode, {}) if k in kinds}
    result.attrs.update(
        descriptions=dict(texts),
        threshold_source=source
        if not given
        else f"{', '.join(sorted(given))} as set for this run, otherwise {source}",
        ratings_note=ratings_note or "as given in the provider list (date not stated)",
        good_note=GOOD_NOTE,
    )
    return describe_result(result, describe_kinds(texts))


def share_within_bands(
    cover: pd.DataFrame, *, bands: Iterable[float] = settings.JTS_BANDS
) -> pd.DataFrame:
    """Share of children within each journey-time band, per kind and mode.

    The DfT Journey Time Statistics indicators: of all the children of a
    kind's age band, the share whose nearest provider is at most so many
    minutes away. Children with no journey at all count as not within.

    Parameters
    ----------
    cover
        From :func:`coverage` (``kind``, ``mode``, ``minutes`` and ``children``
        are used; any number of kinds and modes).
    bands
        Band limits, minutes (positive); by default :data:`geomap.settings.JTS_BANDS`.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per kind, mode and band (kinds and modes in the
        order they first appear, bands ascending): ``kind``, ``mode``,
        ``minutes`` (the band), ``children`` (all of the kind's),
        ``children_within`` and ``share_within`` (NaN with no children).
        ``attrs["bands_note"]`` says where the bands come from.

    Raises
    ------
    InputError
        For bands that are not positive finite numbers, or none at all.
    MissingColumnError
        If ``cover`` lacks a column it needs.
    """
    given = list(bands)
    limits = sorted({float(b) for b in given})
    if not limits or not all(math.isfinite(b) and b > 0 for b in limits):
        raise InputError(
            f"journey-time bands must be positive numbers of minutes, not {given}",
            fix="Give bands such as 15, 30, 45, 60",
        )
    for column in ("kind", "mode", "minutes", "children"):
        if column not in cover.columns:
            raise MissingColumnError(
                f"coverage table has no '{column}' column",
                column=column,
                fix="Pass the table geomap.gaps.coverage returns",
            )
    rows = []
    for (kind, mode), part in cover.groupby(["kind", "mode"], sort=False):
        minutes = part["minutes"].to_numpy(dtype=float)
        kids = part["children"].to_numpy(dtype=float)
        total = kids.sum()
        for band in limits:
            with np.errstate(invalid="ignore"):
                within = kids[minutes <= band].sum()
            rows.append((kind, mode, band, total, within))
    out = pd.DataFrame(rows, columns=["kind", "mode", "minutes", "children", "children_within"])
    whole = bool(np.all(np.mod(out[["children", "children_within"]].to_numpy(), 1) == 0))
    if whole:
        out[["children", "children_within"]] = out[["children", "children_within"]].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_within"] = np.round(
            out["children_within"] / out["children"].replace(0, np.nan), 3
        )
    out.attrs["bands_note"] = (
        JTS_BANDS_NOTE
        if limits == sorted(settings.JTS_BANDS)
        else "journey-time bands as given (" + ", ".join(f"{b:g}" for b in limits) + " minutes)"
    )
    return out
