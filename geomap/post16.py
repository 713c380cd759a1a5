"""Post-16 transport barriers: bus versus car to sixth forms and colleges.

For every area: the car time and the public-transport time to the nearest
post-16 provider (school sixth forms and colleges, including those across the
county and national border), which provider each is, the ratio of the two, and
the young people aged 16–18 who live there. Flags, with configurable thresholds
(:class:`BarrierThresholds`):

* ``no_pt``: no public-transport journey to any post-16 provider;
* ``pt_over``: public transport takes longer than ``pt_max_minutes`` (60 by
  default: most 16–18 learners in England travel under an hour, and the DfE's
  75-minute longest reasonable journey applies to younger pupils);
* ``pt_vs_car``: public transport takes more than ``ratio`` (2) times as long
  as the car.

Bus and car are compared over the same providers: those the public-transport
source has times for (all of them with a national GTFS feed; with a routed
table to a few sites, the providers near those sites), plus any within a walk. Where the
nearest provider by car is not among them (``nearest_has_pt_data`` false), the
comparison is with the providers that are, and the tables say so: the source
cannot tell whether a bus reaches the nearer one.

Competition between post-16 providers (:func:`post16_catchments`,
:func:`post16_competition`): each provider's catchment is the set of areas
within a journey time of it (30 minutes by car by default,
:data:`geomap.settings.COMPETITION_MINUTES`); for every ordered pair of
providers whose catchments meet, the share of the first one's young people who
also live within reach of the second. The share is not symmetric: a small sixth
form next to a large college can be almost wholly covered by the college while
covering little of it. Small providers (under
:data:`geomap.settings.SMALL_SIXTH_FORM` students) mostly covered by another are
the overlaps a planner would examine first.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from geomap import settings
from geomap.errors import DuplicateIdError, InputError, InputWarning, MissingColumnError
from geomap.gaps import eligible_providers
from geomap.travel.base import TravelTimes, description_of, fastest, nearest_from_matrix
from geomap.travel.estimate import default_estimate

#: Flags, in order of severity, with their labels.
#: Barrier flags of :func:`flag_barriers` (columns of the per-area table) and their labels.
FLAGS = {
    "no_pt": "no public-transport journey",
    "pt_over": "public transport over the time limit",
    "pt_vs_car": "public transport much slower than car",
}

#: The barrier flags, under the name the front door (:mod:`geomap`) exports.
POST16_FLAGS = FLAGS


@dataclass(frozen=True)
class BarrierThresholds:
    """When a journey by public transport counts as a barrier."""

    #: longest reasonable public-transport journey, minutes
    pt_max_minutes: float = 60.0
    #: public transport slower than this many times the car is a barrier ...
    ratio: float = 2.0
    #: ... when the public-transport journey is at least this long (minutes): a
    #: 20-minute bus ride is no barrier even where the car takes 8
    ratio_from_minutes: float = 30.0
    #: a walk of up to this many minutes counts as a public-transport journey
    #: (routers such as R5 return walk-only journeys too): 30 min is about 2.4 km
    walk_minutes: float = 30.0

    def describe(self) -> str:
        """The thresholds in words.

        Returns
        -------
        str
            One line for captions and reports.
        """
        return (
            f"barrier: no public-transport journey, over {self.pt_max_minutes:g} min by public "
            f"transport, or more than {self.ratio:g}× the car time (for journeys of "
            f"{self.ratio_from_minutes:g} min or more); walks up to {self.walk_minutes:g} min count"
        )


@dataclass
class Post16Analysis:
    """Everything :func:`post16_barriers` computes."""

    #: one row per area
    areas: pd.DataFrame
    #: one row per group (ward, partnership), ranked by young people facing a barrier
    by_group: pd.DataFrame
    thresholds: BarrierThresholds
    #: caption of the times used for each mode (from the results themselves)
    methods: dict[str, str] = field(default_factory=dict)
    #: post-16 providers with any public-transport time from this source
    pt_providers: pd.DataFrame = field(default_factory=pd.DataFrame)


def post16_barriers(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    young_people: pd.Series,
    *,
    car: TravelTimes,
    pt: TravelTimes,
    thresholds: BarrierThresholds | None = None,
    lookups: Mapping[str, pd.Series] | None = None,
    group_names: Mapping[str, pd.Series] | None = None,
    include_independent: bool = False,
) -> Post16Analysis:
    """Bus-versus-car barriers to post-16 provision for every area.

    Parameters
    ----------
    origins
        One point per area with ``id`` (the area id), EPSG:27700.
    providers
        All providers; the post-16 ones (sixth forms, colleges) are used.
    young_people
        Area id → people aged 16–18.
    car, pt
        Travel-time sources for the car and for public transport.
    thresholds
        When public transport counts as a barrier.
    lookups, group_names
        Level (``ward``, ``partnership``) → area id → group id, and group id → name.
    include_independent
        Count independent schools' sixth forms.

    Returns
    -------
    Post16Analysis
        Per area: the quickest public-transport journey (or a walk, when
        quicker and within :attr:`BarrierThresholds.walk_minutes`) and the
        quickest car journey to the post-16 providers the public-transport
        source has times for, the barrier flags of :func:`flag_barriers`, and
        the same per group; with the caption of the times used per mode.

    Raises
    ------
    InputError
        If the origins or providers have no unique ``id`` or are not in EPSG:27700.

    Warns
    -----
    TravelWarning
        As the travel sources' ``matrix`` does, for points far from their network.
    """
    limits = thresholds or BarrierThresholds()
    post16 = eligible_providers(providers, "post16", include_independent=include_independent)
    names = post16.set_index("id")["name"]
    points = post16[["id", "geometry"]]
    pt_times = pt.matrix(origins, points)
    pt_text = description_of(pt_times, pt)
    walk_times = default_estimate("walk").matrix(origins, points)
    combined = fastest([pt_times, walk_times], limits=[None, limits.walk_minutes])
    by_pt = nearest_from_matrix(combined, origins, method=pt.method)
    covered = set(pt_times.dropna(subset=["minutes"])["to_id"])
    # bus and car are compared over the same providers: those the public-transport
    # source has times for, and any within a walk; a provider the source knows
    # nothing about says nothing about the bus
    car_times = car.matrix(origins, points)
    car_text = description_of(car_times, car)
    comparable = (
        car_times["to_id"].isin(covered).to_numpy() | combined["minutes"].notna().to_numpy()
    )
    by_car = nearest_from_matrix(car_times[comparable], origins, method=car.method)
    nearest_any = car.nearest(origins, points)
    table = pd.DataFrame(
        {
            "area_id": origins["id"].to_numpy(),
            "young_people": _counts(origins["id"].map(young_people).fillna(0)),
            "car_minutes": by_car["minutes"].to_numpy(dtype=float),
            "car_provider_id": by_car["to_id"].to_numpy(),
            "car_provider": names.reindex(by_car["to_id"]).to_numpy(),
            "pt_minutes": by_pt["minutes"].to_numpy(dtype=float),
            "pt_provider_id": by_pt["to_id"].to_numpy(),
            "pt_provider": names.reindex(by_pt["to_id"]).to_numpy(),
            "nearest_by_car_minutes": nearest_any["minutes"].to_numpy(dtype=float),
            "nearest_by_car": names.reindex(nearest_any["to_id"]).to_numpy(),
            "car_method": car.method,
            "pt_method": by_pt["method"].to_numpy(),
        }
    )
    # is the nearest provider by car one the public-transport source can speak about?
    reachable_on_foot = combined.dropna(subset=["minutes"])
    on_foot = set(zip(reachable_on_foot["from_id"], reachable_on_foot["to_id"], strict=True))
    table["nearest_has_pt_data"] = [
        pid in covered or (area, pid) in on_foot
        for area, pid in zip(table["area_id"], nearest_any["to_id"], strict=True)
    ]
    table = flag_barriers(table, limits)
    groups = []
    for level, lookup in (lookups or {}).items():
        level_names = (group_names or {}).get(level)
        groups.append(summarise_barriers(table, lookup, names=level_names).assign(level=level))
    reached = sorted(covered)
    return Post16Analysis(
        areas=table,
        by_group=pd.concat(groups, ignore_index=True) if groups else pd.DataFrame(),
        thresholds=limits,
        methods={"car": car_text, "pt": pt_text},
        pt_providers=post16[post16["id"].isin(reached)][
            ["id", "name", "kind", "in_county"]
        ].reset_index(drop=True),
    )


def flag_barriers(table: pd.DataFrame, limits: BarrierThresholds) -> pd.DataFrame:
    """Add the ratio and barrier flags to a table with ``car_minutes`` and ``pt_minutes``.

    Parameters
    ----------
    table
        One row per area, with ``car_minutes`` and ``pt_minutes`` (NaN where
        there is no journey).
    limits
        When public transport counts as a barrier.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with ``pt_car_ratio``, one boolean column per flag
        of :data:`FLAGS`, ``barrier`` (any flag) and ``worst_flag`` (the first
        flag raised, in the order of :data:`FLAGS`; blank for none).
    """
    out = table.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pt_car_ratio"] = np.round(out["pt_minutes"] / out["car_minutes"], 2)
    out["no_pt"] = out["pt_minutes"].isna()
    out["pt_over"] = ~out["no_pt"] & (out["pt_minutes"] > limits.pt_max_minutes)
    out["pt_vs_car"] = (
        ~out["no_pt"]
        & (out["pt_car_ratio"] > limits.ratio)
        & (out["pt_minutes"] >= limits.ratio_from_minutes)
    )
    out["barrier"] = out[list(FLAGS)].any(axis=1)
    out["worst_flag"] = np.select([out[f] for f in FLAGS], list(FLAGS), default="")
    return out


def summarise_barriers(
    table: pd.DataFrame, lookup: pd.Series, *, names: pd.Series | None = None
) -> pd.DataFrame:
    """Young people facing each barrier, per group, ranked by young people facing any.

    Parameters
    ----------
    table
        From :func:`flag_barriers`, with ``area_id`` and ``young_people``.
    lookup
        Area id → group id (:func:`geomap.areas.group_lookup`).
    names
        Group id → group name, added as ``group_name``.

    Returns
    -------
    pandas.DataFrame
        Per group: ``rank``, ``group_id``, ``areas``, ``young_people``,
        ``young_<flag>`` for each flag and for any barrier, ``max_pt_minutes``,
        ``mean_pt_minutes`` (weighted by young people; areas without a journey
        left out) and ``share_barrier``.
    """
    data = table.assign(group_id=table["area_id"].map(lookup))
    for flag in (*FLAGS, "barrier"):
        data[f"young_{flag}"] = np.where(data[flag], data["young_people"], 0)
    data["pt_weighted"] = data["pt_minutes"] * data["young_people"]
    data["pt_young"] = np.where(data["no_pt"], 0, data["young_people"])
    out = (
        data.groupby("group_id")
        .agg(
            areas=("area_id", "size"),
            young_people=("young_people", "sum"),
            young_barrier=("young_barrier", "sum"),
            young_no_pt=("young_no_pt", "sum"),
            young_pt_over=("young_pt_over", "sum"),
            young_pt_vs_car=("young_pt_vs_car", "sum"),
            pt_weighted=("pt_weighted", "sum"),
            pt_young=("pt_young", "sum"),
            max_pt_minutes=("pt_minutes", "max"),
        )
        .reset_index()
    )
    out["mean_pt_minutes"] = np.round(out["pt_weighted"] / out["pt_young"].replace(0, np.nan), 1)
    out["share_barrier"] = np.round(
        out["young_barrier"] / out["young_people"].replace(0, np.nan), 3
    )
    out = out.drop(columns=["pt_weighted", "pt_young"])
    if names is not None:
        out.insert(1, "group_name", out["group_id"].map(names))
    out = out.sort_values(["young_barrier", "share_barrier"], ascending=False).reset_index(
        drop=True
    )
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _counts(values: pd.Series) -> np.ndarray:
    """People as integers when all are whole; shares of a person (postcode estimates) kept."""
    array = values.to_numpy(dtype=float)
    return array.astype(int) if np.all(array == np.round(array)) else array


def young_people(children: pd.DataFrame) -> pd.Series:
    """People of post-16 age (16–18 by default) per area, from :func:`geomap.demand.children_by_band`.

    Parameters
    ----------
    children
        Children per area and band, with a ``post16`` band.

    Returns
    -------
    pandas.Series
        The ``post16`` column, indexed by ``area_id``.
    """
    return children["post16"]


#: Columns of :func:`post16_catchments`.
CATCHMENT_COLUMNS = ("provider_id", "area_id", "minutes", "young_people")

#: Columns of :attr:`Post16Competition.pairs`; the first three are what a CSV needs.
PAIR_COLUMNS = (
    "provider_id",
    "other_id",
    "overlap_share",
    "provider_name",
    "other_name",
    "catchment_young_people",
    "shared_young_people",
    "shared_areas",
    "overlapping",
)

#: Columns of :attr:`Post16Competition.providers`.
COMPETITION_COLUMNS = (
    "provider_id",
    "name",
    "kind",
    "sector",
    "in_county",
    "size",
    "size_source",
    "catchment_areas",
    "catchment_young_people",
    "competitors",
    "max_overlap_share",
    "most_overlapping_id",
    "most_overlapping_name",
    "small",
    "small_and_covered",
    "rating",
)

#: What each provider column a size can come from counts.
SIZE_LABELS = {
    "students_16_18": "16–18 students",
    "pupils": "pupils on roll",
    "capacity": "places (capacity)",
}


@dataclass
class Post16Competition:
    """Everything :func:`post16_competition` computes."""

    #: one row per ordered pair of providers whose catchments share an area
    pairs: pd.DataFrame
    #: one row per post-16 provider
    providers: pd.DataFrame
    #: sentences on the sources of the defaults and on what is unknown
    notes: list[str] = field(default_factory=list)


def post16_catchments(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    young_people: pd.Series,
    travel: TravelTimes,
    *,
    minutes: float = settings.COMPETITION_MINUTES,
    include_independent: bool = False,
) -> pd.DataFrame:
    """The areas within reach of every post-16 provider: its catchment.

    Every sixth form and college of ``providers`` counts, including those across
    the county and national border, since they serve the study area too.

    Parameters
    ----------
    origins
        One point per area with ``id`` (the area id), EPSG:27700.
    providers
        All providers; the post-16 ones (sixth forms, colleges) are used.
    young_people
        Area id → people aged 16–18 (:func:`young_people`).
    travel
        The travel-time source (by default the comparison is by car:
        :data:`geomap.settings.COMPETITION_MODE`).
    minutes
        An area is in a provider's catchment when the journey takes at most
        this long (default: :data:`geomap.settings.COMPETITION_SOURCE`).
    include_independent
        Count independent schools' sixth forms.

    Returns
    -------
    pandas.DataFrame
        One row per provider and area within reach (:data:`CATCHMENT_COLUMNS`):
        ``provider_id``, ``area_id``, ``minutes``, ``young_people``; areas out of
        reach or with no journey are not listed. ``attrs`` records ``minutes``,
        ``mode``, ``method`` and ``description`` (the caption of the times),
        which :func:`post16_competition` reads for its notes.

    Raises
    ------
    InputError
        If ``minutes`` is not a positive number, or the origins or providers
        have no unique ``id`` or are not in EPSG:27700.

    Warns
    -----
    InputWarning
        For areas with no count of young people (counted as none, and named).
    TravelWarning
        As the travel source's ``matrix`` does, for points far from its network.
    """
    limit = _positive(minutes, "minutes")
    post16 = eligible_providers(providers, "post16", include_independent=include_independent)
    if post16.empty:
        out = pd.DataFrame({name: pd.Series(dtype=object) for name in CATCHMENT_COLUMNS})
        out["minutes"] = out["minutes"].astype(float)
        out["young_people"] = out["young_people"].astype(float)
        description = "no post-16 providers"
    else:
        times = travel.matrix(origins, post16[["id", "geometry"]])
        description = description_of(times, travel)
        # keep only the pairs within reach at once: the full matrix can be large
        within = times["minutes"].to_numpy(dtype=float) <= limit  # NaN compares False
        out = pd.DataFrame(
            {
                "provider_id": times["to_id"].to_numpy()[within],
                "area_id": times["from_id"].to_numpy()[within],
                "minutes": times["minutes"].to_numpy(dtype=float)[within],
            }
        )
        del times
        out["young_people"] = _young_people_of(out["area_id"], young_people)
        out = out.sort_values(["provider_id", "minutes", "area_id"], kind="stable").reset_index(
            drop=True
        )
    out.attrs.update(
        {
            "minutes": limit,
            "mode": travel.mode,
            "method": travel.method,
            "description": description,
        }
    )
    return out


def post16_competition(
    catchments: pd.DataFrame,
    providers: gpd.GeoDataFrame,
    *,
    overlap: float = settings.COMPETITION_OVERLAP,
    small: float = settings.SMALL_SIXTH_FORM,
    size_column: str = "students_16_18",
    include_independent: bool = False,
) -> Post16Competition:
    """How far the catchments of post-16 providers overlap, and which small providers are covered.

    For an ordered pair of providers (A, B), the overlap share is the share of
    the young people in A's catchment who live in areas within reach of B too.
    It is not symmetric: a small sixth form beside a large college can be almost
    wholly covered by the college while covering little of the college's catchment.

    Parameters
    ----------
    catchments
        From :func:`post16_catchments`: ``provider_id``, ``area_id``,
        ``minutes``, ``young_people``.
    providers
        All providers (:func:`geomap.providers.load_providers`). The table
        covers every post-16 provider of it (independent schools as
        ``include_independent`` says), and any other provider with a catchment
        in ``catchments``.
    overlap
        Overlap share at or above which a pair counts as overlapping (default:
        :data:`geomap.settings.COMPETITION_OVERLAP`, "mostly covered").
    small
        Size below which a provider counts as small (default:
        :data:`geomap.settings.SMALL_SIXTH_FORM` students, with its source).
    size_column
        Column of ``providers`` giving each provider's size: ``students_16_18``
        (16–18 students) or ``pupils`` (pupils on roll), for instance. Missing
        values stay unknown; they are never taken as zero.
    include_independent
        List independent schools' sixth forms even where they have no
        catchment (pass what was passed to :func:`post16_catchments`).

    Returns
    -------
    Post16Competition
        ``pairs`` (:data:`PAIR_COLUMNS`): one row per ordered pair whose
        catchments share at least one area, with ``catchment_young_people`` (in
        the provider's catchment), ``shared_young_people`` and ``shared_areas``
        (in both catchments), ``overlap_share`` (shared / catchment; NaN when
        the catchment has no young people) and ``overlapping`` (share at or
        above ``overlap``; unknown where the share is), largest shares first.
        ``providers`` (:data:`COMPETITION_COLUMNS`): one row per provider, with
        ``size`` (NaN when unknown) and ``size_source``, its catchment,
        ``competitors`` (others sharing any young people), the largest share
        of its catchment covered by another and which one, ``small`` (size
        below ``small``; unknown, not false, when the size is) and
        ``small_and_covered`` (small and at least ``overlap`` of the catchment
        covered by one other provider: the overlaps a planner would examine
        first), those first. ``notes``: the sources of the defaults, what the
        overlap means, and how many providers have no known size.

    Raises
    ------
    MissingColumnError
        If ``catchments`` lacks a column of :data:`CATCHMENT_COLUMNS` or
        ``providers`` lacks ``size_column``.
    DuplicateIdError
        If a provider and area appear together twice in ``catchments``.
    InputError
        If ``overlap`` is not in (0, 1], ``small`` is not a non-negative number,
        a provider of ``catchments`` is not in ``providers``, an area has two
        different counts of young people, or a count is missing or negative.
    """
    share_limit = _share(overlap)
    small_limit = _non_negative(small, "small")
    table = _checked_catchments(catchments)
    for column in ("id", "name", size_column):
        if column not in providers.columns:
            raise MissingColumnError(
                f"providers have no '{column}' column (columns found: "
                f"{', '.join(map(str, providers.columns))})",
                column=column,
                fix="Give providers as load_providers returns them"
                if column != size_column
                else "Name a column of sizes with size_column (students_16_18 or pupils)",
            )
    by_id = providers.drop_duplicates("id").set_index("id")
    unknown = pd.Index(table["provider_id"].unique()).difference(by_id.index)
    if len(unknown):
        raise InputError(
            f"{len(unknown)} provider(s) in the catchments are not among the providers "
            f"({', '.join(map(str, unknown[:5]))})",
            column="provider_id",
            fix="Build the catchments and the competition table from the same providers",
        )
    chosen = eligible_providers(providers, "post16", include_independent=include_independent)["id"]
    ids = pd.Index(chosen.drop_duplicates()).append(
        pd.Index(table["provider_id"].unique()).difference(chosen)
    )
    names = by_id["name"]

    pairs, per_provider = _overlaps(table)
    pairs.insert(3, "provider_name", names.reindex(pairs["provider_id"]).to_numpy())
    pairs.insert(4, "other_name", names.reindex(pairs["other_id"]).to_numpy())
    pairs["overlapping"] = _at_least(pairs["overlap_share"], share_limit)
    pairs = pairs.sort_values(
        ["overlap_share", "shared_young_people", "provider_id", "other_id"],
        ascending=[False, False, True, True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    pairs = pairs[list(PAIR_COLUMNS)]

    chosen_rows = by_id.loc[ids]
    size = pd.to_numeric(chosen_rows[size_column], errors="coerce").astype(float)
    label = SIZE_LABELS.get(size_column, f"'{size_column}'")
    out = pd.DataFrame(
        {
            "provider_id": ids.to_numpy(),
            "name": chosen_rows["name"].to_numpy(),
            "kind": _column_or_na(chosen_rows, "kind"),
            "sector": _column_or_na(chosen_rows, "sector"),
            "in_county": _column_or_na(chosen_rows, "in_county"),
            "size": size.to_numpy(),
            "size_source": size.notna()
            .map({True: f"{label} ({size_column})", False: None})
            .to_numpy(),
            "rating": _column_or_na(chosen_rows, "rating"),
        }
    )
    out = out.merge(per_provider, on="provider_id", how="left")
    out["catchment_areas"] = out["catchment_areas"].fillna(0).astype(int)
    out["catchment_young_people"] = out["catchment_young_people"].fillna(0)
    out = _integral(out, ["catchment_young_people"])
    out["competitors"] = out["competitors"].fillna(0).astype(int)
    # with young people in its catchment and no other provider sharing them, none is covered
    alone = out["max_overlap_share"].isna() & (out["catchment_young_people"] > 0)
    out.loc[alone, "max_overlap_share"] = 0.0
    out["most_overlapping_name"] = names.reindex(out["most_overlapping_id"]).to_numpy()
    # unknown size: unknown whether small; unknown share: unknown whether covered
    out["small"] = ~_at_least(out["size"], small_limit)
    covered = _at_least(out["max_overlap_share"], share_limit)
    out["small_and_covered"] = out["small"] & covered
    out = out[list(COMPETITION_COLUMNS)]
    order = np.lexsort(
        (
            out["name"].astype(str).to_numpy(),
            -out["max_overlap_share"].fillna(-1.0).to_numpy(),
            ~out["small_and_covered"].fillna(False).to_numpy(dtype=bool),
        )
    )
    out = out.iloc[order].reset_index(drop=True)
    notes = _competition_notes(
        catchments.attrs,
        out,
        overlap=share_limit,
        small=small_limit,
        size_column=size_column,
        label=label,
    )
    return Post16Competition(pairs=pairs, providers=out, notes=notes)


def _overlaps(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shared young people and areas for every ordered pair, and per-provider totals.

    A providers × areas incidence matrix ``M`` and the young people per area
    ``y`` give the shared areas ``M Mᵀ`` and shared young people ``M diag(y) Mᵀ``
    without listing every provider pair of every area.
    """
    provider_codes, provider_ids = pd.factorize(table["provider_id"])
    area_codes, area_ids = pd.factorize(table["area_id"])
    per_area = (
        table.drop_duplicates("area_id").set_index("area_id")["young_people"].reindex(area_ids)
    )
    young = per_area.to_numpy(dtype=float)
    shape = (len(provider_ids), len(area_ids))
    incidence = sparse.csr_matrix(
        (np.ones(len(table)), (provider_codes, area_codes)), shape=shape, dtype=float
    )
    weighted = sparse.csr_matrix(
        (young[area_codes], (provider_codes, area_codes)), shape=shape, dtype=float
    )
    shared_areas = (incidence @ incidence.T).tocoo()
    shared_young = (weighted @ incidence.T).tocsr()
    catchment_young = np.asarray(weighted.sum(axis=1)).ravel()
    catchment_areas = np.asarray(incidence.sum(axis=1)).ravel()
    rows, cols = shared_areas.row, shared_areas.col
    off_diagonal = rows != cols
    rows, cols = rows[off_diagonal], cols[off_diagonal]
    shared = np.asarray(shared_young[rows, cols]).ravel() if len(rows) else np.zeros(0)
    own = catchment_young[rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(own > 0, shared / np.where(own > 0, own, 1.0), np.nan)
    pairs = pd.DataFrame(
        {
            "provider_id": provider_ids.to_numpy()[rows],
            "other_id": provider_ids.to_numpy()[cols],
            "overlap_share": share,
            "catchment_young_people": own,
            "shared_young_people": shared,
            "shared_areas": shared_areas.data[off_diagonal].astype(int),
        }
    )
    pairs = _integral(pairs, ["catchment_young_people", "shared_young_people"])
    totals = pd.DataFrame(
        {
            "provider_id": provider_ids.to_numpy(),
            "catchment_areas": catchment_areas.astype(int),
            "catchment_young_people": catchment_young,
        }
    )
    totals = _integral(totals, ["catchment_young_people"])
    competitors = (
        pairs[pairs["shared_young_people"] > 0].groupby("provider_id").size().rename("competitors")
    )
    # the most overlapping other: largest share, then most shared young people, then id
    ranked = pairs[pairs["overlap_share"] > 0].sort_values(
        ["provider_id", "overlap_share", "shared_young_people", "other_id"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    top = ranked.drop_duplicates("provider_id").set_index("provider_id")
    best = pairs.groupby("provider_id")["overlap_share"].max()
    totals["competitors"] = totals["provider_id"].map(competitors).fillna(0).astype(int)
    totals["max_overlap_share"] = totals["provider_id"].map(best).astype(float)
    totals["most_overlapping_id"] = totals["provider_id"].map(top["other_id"])
    return pairs, totals


def _competition_notes(
    attrs: Mapping[object, object],
    table: pd.DataFrame,
    *,
    overlap: float,
    small: float,
    size_column: str,
    label: str,
) -> list[str]:
    """The notes of :func:`post16_competition`."""
    minutes, mode = attrs.get("minutes"), attrs.get("mode")
    if minutes is None or mode is None:
        catchment = (
            "Catchments: the areas within reach of each provider (the time limit was not "
            f"recorded with them; the default is {settings.COMPETITION_SOURCE})."
        )
    elif float(str(minutes)) == settings.COMPETITION_MINUTES and mode == settings.COMPETITION_MODE:
        catchment = (
            f"Catchments: the areas within {float(str(minutes)):g} minutes by {mode} of each "
            f"provider: {settings.COMPETITION_SOURCE}."
        )
    else:
        catchment = (
            f"Catchments: the areas within {float(str(minutes)):g} minutes by {mode} of each "
            f"provider, as chosen for this run (the default is {settings.COMPETITION_SOURCE})."
        )
    description = attrs.get("description")
    if isinstance(description, str) and description:
        catchment = f"{catchment} Times: {description}"
    default_overlap = overlap == settings.COMPETITION_OVERLAP
    notes = [
        catchment,
        (
            "Overlap share: of the young people aged 16–18 in a provider's catchment, the share "
            "who live within reach of the other provider too; it is not symmetric (a small sixth "
            "form can be mostly covered by a large college that it hardly covers). Pairs at or "
            f"above {overlap:.0%} are listed as overlapping ("
            + ("a planning choice: 'mostly covered'" if default_overlap else "chosen for this run")
            + ")."
        ),
        (
            f"Size: {label} from the '{size_column}' column; small means fewer than {small:g} ("
            + (
                settings.SMALL_SIXTH_FORM_SOURCE
                if small == settings.SMALL_SIXTH_FORM
                else f"chosen for this run; the default is {settings.SMALL_SIXTH_FORM_SOURCE}"
            )
            + "); colleges are measured against the same figure."
        ),
    ]
    unknown = table[table["size"].isna()]
    if len(unknown):
        names = ", ".join(map(str, unknown["name"].head(3)))
        more = " ..." if len(unknown) > 3 else ""
        notes.append(
            f"{len(unknown)} of {len(table)} providers have no known size ({names}{more}): "
            "whether they are small is left unknown, not taken as no."
        )
    else:
        notes.append(f"All {len(table)} providers have a known size.")
    reached = table["catchment_areas"] > 0
    if "in_county" in table.columns:
        outside = int((reached & ~table["in_county"].fillna(True).astype(bool)).sum())
        if outside:
            notes.append(
                f"Catchments hold the study area's areas only: for the {outside} providers "
                "outside it that reach into it, sizes of catchment and overlap shares are of "
                "the study area's young people within their reach, not of all they serve."
            )
    empty = int((~reached).sum())
    if empty:
        notes.append(f"{empty} providers have no area of the study area within reach.")
    return notes


def _checked_catchments(catchments: pd.DataFrame) -> pd.DataFrame:
    """The catchments table, checked: columns, no repeated pair, one count per area."""
    for column in CATCHMENT_COLUMNS:
        if column not in catchments.columns:
            raise MissingColumnError(
                f"catchments have no '{column}' column (columns found: "
                f"{', '.join(map(str, catchments.columns))})",
                column=column,
                fix="Build them with post16_catchments",
            )
    table = catchments[list(CATCHMENT_COLUMNS)].reset_index(drop=True)
    repeated = table.duplicated(["provider_id", "area_id"])
    if repeated.any():
        first = table[repeated].iloc[0]
        raise DuplicateIdError(
            f"provider '{first['provider_id']}' and area '{first['area_id']}' appear together "
            f"{int(repeated.sum()) + 1} or more times",
            row=int(np.flatnonzero(repeated.to_numpy())[0]),
            column="area_id",
            fix="List each area once per provider",
        )
    young = pd.to_numeric(table["young_people"], errors="coerce")
    bad = young.isna() | (young < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{int(bad.sum())} catchment row(s) have no count of young people, or a negative "
            f"one (first: area '{table['area_id'].iloc[row]}', "
            f"'{table['young_people'].iloc[row]}')",
            row=row,
            column="young_people",
            fix="Give a number of young people (0 or more) for every area",
        )
    table["young_people"] = young
    counts = table.groupby("area_id")["young_people"].nunique()
    if (counts > 1).any():
        area = counts[counts > 1].index[0]
        raise InputError(
            f"area '{area}' has different counts of young people in different catchments",
            column="young_people",
            fix="Take every area's count from one table",
        )
    return table


def _young_people_of(areas: pd.Series, young_people: pd.Series) -> np.ndarray:
    """Young people per area, with areas missing from the counts taken as none (and named)."""
    counts = areas.map(young_people)
    missing = counts.isna()
    if missing.any():
        absent = pd.unique(areas[missing])
        warnings.warn(
            f"{len(absent)} area(s) within reach of a post-16 provider have no count of young "
            f"people ({', '.join(map(str, absent[:5]))}{' ...' if len(absent) > 5 else ''}); "
            "counted as none",
            InputWarning,
            stacklevel=3,
        )
    values = counts.fillna(0).to_numpy(dtype=float)
    if len(values) and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


def _at_least(values: pd.Series, limit: float) -> pd.Series:
    """Whether each value is at least ``limit``: nullable booleans, missing where the value is."""
    numbers = values.to_numpy(dtype=float)
    flags = pd.array(numbers >= limit, dtype="boolean")
    flags[np.isnan(numbers)] = pd.NA
    return pd.Series(flags, index=values.index)


def _integral(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` as integers when every value is a whole number."""
    for column in columns:
        values = table[column].to_numpy(dtype=float)
        if np.all(values == np.round(values)):
            table[column] = values.astype(np.int64)
    return table


def _column_or_na(table: pd.DataFrame, column: str) -> np.ndarray:
    """A column's values, or missing values when the table has no such column."""
    if column in table.columns:
        return table[column].to_numpy()
    return np.full(len(table), None, dtype=object)


def _positive(value: float, name: str) -> float:
    """``value`` as a float, checked to be a finite positive number."""
    number = _number(value, name)
    if number <= 0:
        raise InputError(f"{name} must be more than 0, not {value!r}", fix=f"Give {name} > 0")
    return number


def _non_negative(value: float, name: str) -> float:
    """``value`` as a float, checked to be a finite number of 0 or more."""
    number = _number(value, name)
    if number < 0:
        raise InputError(f"{name} must be 0 or more, not {value!r}", fix=f"Give {name} >= 0")
    return number


def _share(value: float) -> float:
    """An overlap share, checked to be in (0, 1]."""
    number = _number(value, "overlap")
    if not 0 < number <= 1:
        raise InputError(
            f"overlap is a share of young people, between 0 and 1, not {value!r}",
            fix="Give a share such as 0.5 (half of a catchment covered)",
        )
    return number


def _number(value: float, name: str) -> float:
    """``value`` as a finite float."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, not {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise InputError(f"{name} must be a finite number, not {value!r}")
    return number
