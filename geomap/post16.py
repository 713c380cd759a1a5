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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

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
            "young_people": origins["id"].map(young_people).fillna(0).astype(int).to_numpy(),
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
