"""Home-to-school transport eligibility, home by home.

Follows the Education Act 1996 (s.444(5), s.508B, Schedule 35B) and the DfE's
statutory guidance *Travel to school for children of compulsory school age*
(2024); the limits and their sources are in :mod:`geomap.settings`
(:data:`~geomap.settings.ELIGIBILITY_SOURCE`).

The nearest suitable school
    A state-funded school (``sector`` maintained or academy; independent,
    special and post-16-only providers are left out) of the right phase for the
    child's age (primary up to 10, secondary from 11, by
    :data:`~geomap.settings.AGE_BANDS`), whose ``low_age``–``high_age`` range
    holds the age, and of the right sex: a school whose ``gender`` is ``Boys``
    or ``Girls`` is suitable only for a child of that sex, so for a child
    whose sex is not given only mixed schools count. When a school gives both
    ``capacity`` and ``pupils`` and is full, it has no place and the next
    nearest is taken (``use_capacity=False`` ignores capacity); the school a
    pupil attends always has their place.

Distances
    Walking distance is the shortest available walking route over the walk
    network when one is given (edge ``length`` in metres); from the home's
    point (``start="postcode"``: the straight leg to the nearest network node
    is added) or from that node (``start="node"``); the leg from the school's
    node to the school is always added. Without a network, the walk is the
    straight line × :data:`geomap.travel.estimate.WALK_DETOUR` and the road
    distance the straight line × :data:`geomap.settings.ROAD_DETOUR`. Their
    error is not measured: it is taken as
    :data:`geomap.settings.ESTIMATE_ERROR_SHARE` of the estimate, and a case
    whose deciding limit lies within that share of the estimated distance is
    flagged ``check_by_route``. Schools are ranked by walking distance; those
    with no walking route come after, by road distance.

The rules, in order
    1. Standard: eligible when the walk to the nearest suitable school is over
       2 miles (under 8) or 3 miles (8 and over); a walk exactly at the limit
       (to a millimetre) is not over it. No walking route at all also makes a
       child eligible ("no available walking route").
    2. Unsafe routes: lines or polygons a council has assessed as unsafe are
       removed from the walk network (every edge that touches one). When the
       child is eligible only because of that, the rule says "unsafe route".
    3. Extended rights (``low_income`` true): aged 8–10, the nearest suitable
       school over 2 miles; aged 11–16, one of the three nearest suitable
       schools over 2 miles by walking and within 6 miles by road; aged 11–16
       with a ``faith``, the nearest suitable school whose
       ``religious_character`` matches it, over 2 miles and within 15 miles
       by road.

    A pupil with a ``school_id`` is assessed for that school: the standard rule
    and the 8–10 rule need it to be the nearest suitable school (or as near);
    the 11–16 rules need it to be one of the three nearest, or the nearest of
    the family's faith. Without a ``school_id``, a child is assessed to the
    nearest suitable school, or to the school an extended right gives.
    Children outside compulsory school age (5–16) are not assessed: their
    ``eligible`` is missing, never false.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geomap import palettes, settings
from geomap.errors import InputError, InputWarning, NetworkFileError, TravelWarning
from geomap.io import check_rows, read_table, source_of
from geomap.locations import points_from_table
from geomap.osm import network_info
from geomap.schema import Column, Schema
from geomap.travel.compact import CompactNetwork, without_unsafe_edges
from geomap.travel.estimate import WALK_DETOUR
from geomap.travel.network import (
    CompiledNetwork,
    Snap,
    compile_network,
    snap_points,
    snap_time_matrix,
    warn_far,
)

if TYPE_CHECKING:
    import networkx as nx

logger = logging.getLogger(__name__)

#: Metres in a mile.
MILE_M = 1609.344
#: Distances within this many metres of a limit count as at the limit (not over it).
AT_LIMIT_M = 1e-3
#: Columns of the table :func:`assess_eligibility` returns, in order (then ``geometry``).
RESULT_COLUMNS = (
    "id",
    "age",
    "children",
    "low_income",
    "faith",
    "school_id",
    "school_name",
    "nearest_school_id",
    "walk_miles",
    "road_miles",
    "limit_miles",
    "eligible",
    "rule",
    "check_by_route",
    "walk_method",
    "road_method",
)
#: Age bands of the counts: the under-8 walking distance, primary from 8, secondary.
AGE_BAND_LABELS = {"5-7": (5, 7), "8-10": (8, 10), "11-16": (11, 16)}

#: The rules, as written in ``rule``.
RULE_UNDER_8 = "under 8, over 2 miles"
RULE_8_PLUS = "8 and over, over 3 miles"
RULE_NO_ROUTE = "no available walking route"
RULE_UNSAFE_NO_ROUTE = "unsafe route: no available walking route"
RULE_UNSAFE_LONGER = "unsafe route: available walking route over {limit:g} miles"
RULE_LOW_INCOME_8_11 = "extended: low income 8–11, over 2 miles"
RULE_LOW_INCOME_11_16 = "extended: low income 11–16, 2–6 miles"
RULE_FAITH = "extended: low income, nearest school of the family's religion or belief, 2–15 miles"
RULE_WITHIN = "within {limit:g} miles"
RULE_NOT_NEAREST = "not the nearest suitable school"
RULE_NOT_SUITABLE = (
    "not assessed: the school attended is not a suitable state-funded school for the age"
)
RULE_NO_SCHOOL = "not assessed: no suitable school in the provider list"
RULE_NOT_SCHOOL_AGE = "not assessed: not of compulsory school age (5–16)"

_SEXES = {
    "boy": "boy",
    "boys": "boy",
    "male": "boy",
    "m": "boy",
    "girl": "girl",
    "girls": "girl",
    "female": "girl",
    "f": "girl",
}

#: Columns of a pupil list (located by ``postcode``, ``lon``/``lat`` or ``easting``/``northing``).
PUPIL_SCHEMA = Schema(
    columns=(
        Column(
            "id",
            aliases=("pupil_id", "upn", "child_id", "reference"),
            required=True,
            unique=True,
            missing="Add an id column with a unique value per pupil",
        ),
        Column(
            "age",
            aliases=("age_years", "age_in_years"),
            type="integer",
            required=True,
            blank=False,
            minimum=0,
            maximum=25,
            fix="Give the child's age in whole years, e.g. 7",
            missing="Add an age column: the child's age in whole years",
        ),
        Column(
            "low_income",
            aliases=("low income", "free_school_meals", "fsm"),
            type="bool",
            label="low income",
            fix="Use yes/no or true/false (blank when not known)",
        ),
        Column("faith", aliases=("religion", "religious_character", "belief")),
        Column("school_id", aliases=("school", "school_urn", "urn")),
        Column(
            "sex",
            aliases=("gender",),
            type="choice",
            choices=_SEXES,
            fix="Use boy or girl (blank when not known)",
        ),
    )
)


# --------------------------------------------------------------------------- inputs


def read_pupils(
    path: str | Path, *, postcodes: str | Path | None = None, sheet: str | None = None
) -> gpd.GeoDataFrame:
    """Read a pupil list: ``id``, ``age``, a location and the optional columns.

    Parameters
    ----------
    path
        CSV, workbook or vector file, one row per pupil: ``id``, ``age`` (whole
        years), ``postcode`` or ``lon``/``lat`` or ``easting``/``northing``, and
        optionally ``low_income`` (yes/no, true/false), ``faith`` (as the
        providers' ``religious_character``), ``school_id`` (the school attended
        or applied for) and ``sex`` (boy/girl).
    postcodes
        Postcode lookup CSV, for pupils located by postcode.
    sheet
        The worksheet of a workbook to read.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id``, ``age``, ``low_income`` (missing where not given), ``faith``,
        ``school_id``, ``sex``, ``children`` (1 per pupil), ``location_source``
        and the home points in EPSG:27700.

    Raises
    ------
    MissingColumnError
        If there is no ``id`` or ``age`` column.
    InputError
        For a blank or non-number age, a repeated id, a ``low_income`` that is
        not yes/no, naming the file, row and column.
    PostcodeError, CoordinateError
        For a pupil that cannot be located (an unknown postcode), naming the
        file, row and column.
    """
    table = read_table(path, what="pupil list", sheet=sheet)
    valid = PUPIL_SCHEMA.validate(table, what="pupil list")
    located = points_from_table(table, postcodes=postcodes, what="pupil list")
    out = gpd.GeoDataFrame(
        {
            "id": valid["id"].astype("string"),
            "age": valid["age"].astype(int),
            "low_income": valid["low_income"],
            "faith": valid["faith"],
            "school_id": valid["school_id"],
            "sex": valid["sex"],
            "children": 1.0,
            "location_source": located["location_source"].to_numpy(),
        },
        geometry=located.geometry.to_numpy(),
        crs=settings.MEASURE_CRS,
    )
    out.attrs.update(table.attrs)
    out.attrs["geomap_columns"] = dict(valid.attrs.get("geomap_columns", {}))
    return out


def _column_name(table: pd.DataFrame, name: str) -> str:
    """The file's own name for geomap's column ``name``, for messages."""
    found = table.attrs.get("geomap_columns", {}).get(name)
    return str(found) if found else name


def read_unsafe(path: str | Path) -> gpd.GeoDataFrame:
    """Read the routes a council has assessed as unsafe to walk: lines or polygons.

    Parameters
    ----------
    path
        A vector file (GeoJSON, GeoPackage, shapefile) of lines or polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        The features in EPSG:27700.

    Raises
    ------
    InputError
        If the file is not a vector layer, has no coordinate system, is empty,
        or holds points (a point cannot block a route).
    """
    layer = read_table(path, what="unsafe routes")
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(
            "unsafe routes must be a map layer of lines or polygons",
            path=path,
            fix="Give a GeoJSON, GeoPackage or shapefile",
        )
    if layer.crs is None:
        raise InputError("the unsafe routes have no coordinate system", path=path)
    if len(layer) == 0:
        raise InputError("the unsafe-routes file has no features", path=path)
    kinds = layer.geometry.geom_type.fillna("none")
    check_rows(
        layer,
        ~kinds.isin(["LineString", "MultiLineString", "Polygon", "MultiPolygon"]).to_numpy(),
        lambda pos: f"a {kinds.iloc[pos]} cannot mark an unsafe route",
        column="geometry",
        fix="Draw unsafe routes as lines along them or polygons around them",
        path=path,
    )
    return layer.to_crs(settings.MEASURE_CRS)


def _postcode_children(
    postcodes: str | Path,
    areas: gpd.GeoDataFrame,
    ages: pd.DataFrame,
    *,
    years: Sequence[int],
) -> gpd.GeoDataFrame:
    """Every postcode in the areas, with an equal share of its area's children of each age.

    ``ages`` is indexed by ``area_id`` with one column per single year of age.
    The result has one row per postcode and age (``id`` ``"<postcode> age <n>"``),
    with ``postcode``, ``area_id``, ``age`` and ``children`` (an estimate).
    """
    lookup = pd.read_csv(postcodes, dtype={"postcode": str})
    points = gpd.GeoDataFrame(
        {"postcode": lookup["postcode"].str.strip()},
        geometry=gpd.points_from_xy(lookup["easting"], lookup["northing"]),
        crs=settings.MEASURE_CRS,
    )
    joined = gpd.sjoin(
        points, areas[["area_id", "geometry"]], how="inner", predicate="within"
    ).drop(columns="index_right")
    joined = joined[~joined.index.duplicated()]
    per_area = joined.groupby("area_id")["postcode"].transform("size")
    frames = []
    for age in years:
        counts = ages[age] if age in ages.columns else pd.Series(dtype=float)
        share = joined["area_id"].map(counts).astype(float) / per_area
        frames.append(
            gpd.GeoDataFrame(
                {
                    "id": joined["postcode"] + f" age {age}",
                    "postcode": joined["postcode"],
                    "area_id": joined["area_id"],
                    "age": age,
                    "children": share.fillna(0.0),
                },
                geometry=joined.geometry,
                crs=settings.MEASURE_CRS,
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=settings.MEASURE_CRS)


def postcode_children(
    postcodes: str | Path,
    areas: gpd.GeoDataFrame,
    population: pd.DataFrame,
    *,
    ages: Sequence[int] = tuple(range(5, 16)),
) -> gpd.GeoDataFrame:
    """Children of each age at every postcode in the study area, apportioned from its areas.

    Each area's children of an age are shared equally among its postcodes (an
    estimate: the Code-Point Open lookup gives no households per postcode).

    Parameters
    ----------
    postcodes
        The postcode lookup CSV (``postcode``, ``easting``, ``northing``).
    areas
        Areas with ``area_id`` and polygons in EPSG:27700.
    population
        Single years of age per area (:func:`geomap.demand.load_population`).
    ages
        The ages to give (compulsory school age, as at mid-year, by default).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per postcode and age: ``id`` (``"<postcode> age <n>"``),
        ``postcode``, ``area_id``, ``age``, ``children`` (estimated) and the
        postcode's point.

    Raises
    ------
    InputError
        If no postcode lies in the areas.
    """
    from geomap.demand import single_ages

    table = single_ages(population)
    out = _postcode_children(postcodes, areas, table, years=ages)
    if out.empty:
        raise InputError(
            "no postcode of the lookup lies in the study area's areas",
            path=postcodes,
            fix="Check that the postcode lookup covers the study area",
        )
    return out


# --------------------------------------------------------------------------- distances


@dataclass(frozen=True)
class _Distances:
    """Metres from each home to each school, with how they were measured."""

    walk: np.ndarray
    walk_open: np.ndarray | None
    road: np.ndarray
    walk_method: str
    road_method: str
    walk_estimated: bool
    road_estimated: bool
    road_pairs: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    road_columns: Callable[[np.ndarray], np.ndarray] | None = None
    road_measured: np.ndarray | None = None
    road_near: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def need_road(self, cols: np.ndarray) -> None:
        """Measure the road columns ``cols`` of ``road`` not measured yet.

        Over a network, ``road`` is measured a school (column) at a time, when
        first needed: the rules read the road routes to a few schools of each
        home only. Each column is the same whenever it is measured.
        """
        if self.road_columns is None or self.road_measured is None:
            return
        todo = np.unique(np.asarray(cols, dtype=np.int64).ravel())
        todo = todo[~self.road_measured[todo]]
        if todo.size:
            self.road[:, todo] = self.road_columns(todo)
            self.road_measured[todo] = True

    def exact_road(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Road metres of the pairs ``(rows[i], cols[i])``, those beyond the search limit measured in full.

        ``road`` holds ``inf`` where a route is longer than the limit the
        road network was searched to (or there is none); the rules need no
        more, but a distance reported needs its value (NaN where no route).
        """
        self.need_road(cols)
        values = np.array(self.road[rows, cols], dtype=float)
        beyond = np.isinf(values)
        if self.road_pairs is not None and beyond.any():
            values[beyond] = self.road_pairs(rows[beyond], cols[beyond])
        return values

    def reported_road(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """:meth:`exact_road` of the pairs reported, searching no further than they need.

        Schools whose road column the rules measured are read from it; for
        the others only the pairs asked are measured (:meth:`_Routes.near_pairs`),
        not the whole column to the rules' limit. The distances are the same.
        """
        if self.road_near is None or self.road_measured is None:
            return self.exact_road(rows, cols)
        values = np.full(rows.shape[0], np.nan)
        measured = self.road_measured[cols]
        values[measured] = self.exact_road(rows[measured], cols[measured])
        rest = ~measured
        if rest.any():
            values[rest] = self.road_near(rows[rest], cols[rest])
        return values


def _node_xy(graph: nx.MultiDiGraph) -> dict[object, tuple[float, float]]:
    crs = pyproj.CRS(graph.graph.get("crs") or settings.LONLAT_CRS)
    nodes = list(graph.nodes)
    x = np.array([graph.nodes[n].get("x", np.nan) for n in nodes], dtype=float)
    y = np.array([graph.nodes[n].get("y", np.nan) for n in nodes], dtype=float)
    if crs != pyproj.CRS(settings.MEASURE_CRS):
        x, y = pyproj.Transformer.from_crs(crs, settings.MEASURE_CRS, always_xy=True).transform(
            x, y
        )
    return {n: (float(a), float(b)) for n, a, b in zip(nodes, x, y, strict=True)}


#: A network as eligibility takes it: a graph, or a compact network (quicker).
Network: TypeAlias = "nx.MultiDiGraph | CompactNetwork"


def _info(network: Network) -> dict[str, str]:
    return dict(network.info) if isinstance(network, CompactNetwork) else network_info(network)


def without_unsafe(graph: Network, unsafe: gpd.GeoDataFrame) -> Network:
    """A copy of a walk network without the edges that touch an unsafe route.

    Parameters
    ----------
    graph
        A network graph with node ``x``/``y`` in ``graph.graph["crs"]``
        (lon/lat when not given; an edge's ``geometry``, when it has one, is
        in that CRS too), or a compact network
        (:func:`geomap.travel.compact.load_network`).
    unsafe
        Lines or polygons (:func:`read_unsafe`).

    Returns
    -------
    networkx.MultiDiGraph or CompactNetwork
        Of the kind given: the same nodes, and every edge that neither crosses
        nor touches an unsafe feature; ``graph.graph["geomap_unsafe_edges"]``
        (a compact network's ``info["unsafe_edges"]``) counts those removed.
    """
    if isinstance(graph, CompactNetwork):
        kept, removed = without_unsafe_edges(graph, unsafe)
        kept.info["unsafe_edges"] = str(removed)
        return kept
    crs = pyproj.CRS(graph.graph.get("crs") or settings.LONLAT_CRS)
    to_grid = (
        None
        if crs == pyproj.CRS(settings.MEASURE_CRS)
        else pyproj.Transformer.from_crs(crs, settings.MEASURE_CRS, always_xy=True)
    )
    xy = _node_xy(graph)
    keys = []
    lines = []
    for u, v, k, data in graph.edges(keys=True, data=True):
        geom = data.get("geometry")
        if isinstance(geom, shapely.LineString):
            if to_grid is not None:
                geom = shapely.transform(geom, lambda c: np.column_stack(to_grid.transform(*c.T)))
        else:
            geom = shapely.LineString([xy[u], xy[v]])
        keys.append((u, v, k))
        lines.append(geom)
    barriers = unsafe.to_crs(settings.MEASURE_CRS).geometry.to_numpy()
    tree = shapely.STRtree(np.asarray(lines, dtype=object))
    hit = np.unique(tree.query(barriers, predicate="intersects")[1])
    out = graph.copy()
    out.remove_edges_from([keys[i] for i in hit])
    out.graph["geomap_unsafe_edges"] = str(len(hit))
    return out


def _at_node(compiled: CompiledNetwork, snap: Snap) -> Snap:
    """``snap`` moved to its street end nearer along the street (the home's nearest node)."""
    nodes = snap.node
    points = gpd.GeoDataFrame(
        {"id": np.arange(len(nodes))},
        geometry=gpd.points_from_xy(compiled.x[nodes], compiled.y[nodes]),
        crs=settings.MEASURE_CRS,
    )
    return snap_points(compiled, points, what="homes")


def _school_order_key(walk: np.ndarray, road: np.ndarray) -> np.ndarray:
    """Homes x schools key to rank schools by: walking metres, then by road, then none."""
    if np.isfinite(walk).all():
        return walk
    key = np.where(np.isfinite(walk), walk, np.where(np.isnan(road), 2e12, 1e12 + road))
    return np.asarray(key, dtype=float)


def _nearest_allowed(
    key: np.ndarray, homes: np.ndarray, allowed: np.ndarray, cache: dict[bytes, np.ndarray]
) -> np.ndarray:
    """Column of each home's smallest finite key among the allowed columns (-1 if none).

    Among equal keys the lowest column wins. Results are kept in ``cache`` per
    set of allowed columns, so each home is searched once per set.
    """
    found: np.ndarray = cache.setdefault(
        allowed.tobytes(), np.full(key.shape[0], -2, dtype=np.int64)
    )
    todo = np.unique(homes[found[homes] == -2])
    if len(todo):
        cols = np.flatnonzero(allowed)
        if len(cols):
            sub = key[np.ix_(todo, cols)]
            best = np.argmin(sub, axis=1)
            finite = np.isfinite(sub[np.arange(len(todo)), best])
            found[todo] = np.where(finite, cols[best], -1)
        else:
            found[todo] = -1
    return np.asarray(found[homes], dtype=np.int64)


def _first_three(key: np.ndarray) -> np.ndarray:
    """Column order of each row's three smallest keys, nearest first, without a full sort.

    Among schools at exactly the same distance the lower column comes first, as
    a stable sort would put it (a tie at the third place may keep either).
    """
    width = key.shape[1]
    if width <= 3:
        return np.argsort(key, axis=1, kind="stable")
    part = np.argpartition(key, 2, axis=1)[:, :3]
    part.sort(axis=1)  # by column, so that the stable sort below breaks ties by column
    values = np.take_along_axis(key, part, axis=1)
    return np.take_along_axis(part, np.argsort(values, axis=1, kind="stable"), axis=1)


#: The longest road route the rules compare with a limit (15 miles, the faith rule's
#: limit, :data:`geomap.settings.EXTENDED_FAITH_ROAD_MILES`): road searches stop there.
ROAD_SEARCH_M = (
    max(settings.EXTENDED_ROAD_MILES, settings.EXTENDED_FAITH_ROAD_MILES) * MILE_M + AT_LIMIT_M
)


#: Points searched from together when each search has its own limit.
_BAND = 64

#: A road distance reported for a school the rules did not need is first
#: searched for only this many times the straight line between where home
#: and school join the roads (plus their legs and :data:`_REPORT_SLACK_M`);
#: routes longer than that are measured in full. It changes how far the
#: searches go, never a distance.
_REPORT_DETOUR = 2.0
#: Most growth of the limit within one band of searches (see :func:`_bands`).
_BAND_GROWTH = 1.25
_REPORT_SLACK_M = 2_000.0


@dataclass(frozen=True)
class _Routes:
    """Homes and schools joined to one network, to measure routes between them.

    ``starts`` is where each home's walk starts: its own snap
    (``start="postcode"``), or its nearest node snapped again (``"node"``).
    """

    compiled: CompiledNetwork
    homes: Snap
    schools: Snap
    start: str
    forwards: bool
    starts: Snap

    def metres(
        self, rows: np.ndarray, cols: np.ndarray, *, limit: float | None = None
    ) -> np.ndarray:
        """Metres from homes ``rows`` to schools ``cols`` (matrix; over ``limit``: ``inf``).

        Searches run in the direction of the whole homes x schools matrix, so
        every entry is exactly the whole matrix's, in whatever part it is measured.
        """
        if limit is not None:
            return self._metres_within(rows, cols, limit)
        home_snap, school_snap = self.homes.take(rows), self.schools.take(cols)
        along = snap_time_matrix(
            self.compiled, self.starts.take(rows), school_snap, forwards=self.forwards
        )
        if self.start == "postcode":
            # from where the home's street passes it, along the street, plus the short leg to it
            metres = along + home_snap.distance_m[:, None] + school_snap.distance_m[None, :]
        else:
            # from the network node nearest the home along its street
            metres = along + school_snap.distance_m[None, :]
        metres[~np.isfinite(metres)] = np.nan
        return np.asarray(metres, dtype=float)

    def columns_within(self, limit: float) -> Callable[[np.ndarray], np.ndarray]:
        """Metres from every home to the schools given, up to ``limit`` (``inf`` beyond)."""
        every_home = np.arange(self.homes.x.shape[0])
        return lambda cols: self.metres(every_home, cols, limit=limit)

    def _metres_within(self, rows: np.ndarray, cols: np.ndarray, limit: float) -> np.ndarray:
        """:meth:`metres` up to ``limit`` (``inf`` beyond), searching only from points that may be near.

        A route is at least its two legs to the network, so a point whose own
        leg plus the shortest leg on the other side is over the limit is not
        searched from, and each search stops at the limit less the shortest legs.
        """
        home_leg = (
            self.homes.distance_m[rows] if self.start == "postcode" else np.zeros(rows.shape[0])
        )
        school_leg = self.schools.distance_m[cols]
        out = np.full((home_leg.shape[0], school_leg.shape[0]), np.inf)
        if out.size == 0:
            return out
        keep_homes = np.flatnonzero(home_leg + school_leg.min() <= limit)
        keep_schools = np.flatnonzero(school_leg + home_leg.min() <= limit)
        if self.forwards:
            keep_schools = np.arange(school_leg.shape[0])
        else:
            keep_homes = np.arange(home_leg.shape[0])
        if keep_homes.size == 0 or keep_schools.size == 0:
            return out
        # each search from a point stops at the limit less its own leg and the
        # other side's shortest; points are searched in bands of like limits
        if self.forwards:
            searched, own, other = keep_homes, home_leg, float(school_leg[keep_schools].min())
        else:
            searched, own, other = keep_schools, school_leg, float(home_leg[keep_homes].min())
        reach = limit - own[searched] - other
        order = np.argsort(reach, kind="stable")
        # the side not searched from is the same in every band
        fixed = (
            self.schools.take(cols[keep_schools])
            if self.forwards
            else self.starts.take(rows[keep_homes])
        )
        for band in _bands(reach[order], order):
            part = searched[band]
            if self.forwards:
                at_rows, at_cols = part, keep_schools
                starts, schools = self.starts.take(rows[part]), fixed
            else:
                at_rows, at_cols = keep_homes, part
                starts, schools = fixed, self.schools.take(cols[part])
            along = snap_time_matrix(
                self.compiled,
                starts,
                schools,
                limit=max(float(reach[band].max()), 0.0),
                forwards=self.forwards,
            )
            if self.start == "postcode":
                metres = along + home_leg[at_rows][:, None] + school_leg[at_cols][None, :]
            else:
                metres = along + school_leg[at_cols][None, :]
            metres[metres > limit] = np.inf
            out[np.ix_(at_rows, at_cols)] = metres
        return out

    def near_pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """:meth:`pairs`, each school's search going only as far as its pairs are likely to need.

        A pair is first sought within :data:`_REPORT_DETOUR` times the
        straight line between where its home and school join the roads (plus
        their legs and :data:`_REPORT_SLACK_M`), searching from schools (or
        homes) in bands of like limits; a pair not found so is measured in
        full. Every value is the one :meth:`pairs` gives.
        """
        out = np.full(rows.shape[0], np.inf)
        if out.size == 0:
            return out
        home_leg = self.homes.distance_m[rows] if self.start == "postcode" else 0.0
        reach = (
            _REPORT_DETOUR
            * (
                np.hypot(
                    self.homes.x[rows] - self.schools.x[cols],
                    self.homes.y[rows] - self.schools.y[cols],
                )
                + home_leg
                + self.schools.distance_m[cols]
            )
            + _REPORT_SLACK_M
        )
        # the side searched from is grouped, each group with the farthest reach of its pairs
        side = rows if self.forwards else cols
        points, at = np.unique(side, return_inverse=True)
        at = at.ravel()
        limit = np.zeros(points.shape[0])
        np.maximum.at(limit, at, reach)
        order = np.argsort(limit, kind="stable")
        band_of = np.empty(points.shape[0], dtype=np.int64)
        bands = _bands(limit[order], order)
        for number, band in enumerate(bands):
            band_of[band] = number
        for number, band in enumerate(bands):
            mine = np.flatnonzero(band_of[at] == number)
            other = cols[mine] if self.forwards else rows[mine]
            others, other_at = np.unique(other, return_inverse=True)
            here = points[band]
            position = np.empty(points.shape[0], dtype=np.int64)
            position[band] = np.arange(band.shape[0])
            if self.forwards:
                block = self._metres_within(here, others, float(limit[band].max()))
                out[mine] = block[position[at[mine]], other_at.ravel()]
            else:
                block = self._metres_within(others, here, float(limit[band].max()))
                out[mine] = block[other_at.ravel(), position[at[mine]]]
        beyond = np.isinf(out)
        if beyond.any():
            out[beyond] = self.pairs(rows[beyond], cols[beyond])
        return out

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Metres of the pairs ``(rows[i], cols[i])`` in full (NaN where there is no route)."""
        home_rows, home_at = np.unique(rows, return_inverse=True)
        school_cols, school_at = np.unique(cols, return_inverse=True)
        block = self.metres(home_rows, school_cols)
        return np.asarray(block[home_at.ravel(), school_at.ravel()], dtype=float)


def _bands(limits: np.ndarray, order: np.ndarray) -> list[np.ndarray]:
    """``order`` cut into bands of at most :data:`_BAND` points of like limits.

    ``limits`` are the points' limits in ``order`` (ascending). A band ends
    where the next limit is over :data:`_BAND_GROWTH` times its first: a
    search's cost grows with the square of its limit, so one far point does
    not make its whole band search far.
    """
    bands: list[np.ndarray] = []
    start = 0
    for i in range(1, limits.shape[0] + 1):
        if (
            i == limits.shape[0]
            or i - start >= _BAND
            or limits[i] > _BAND_GROWTH * max(float(limits[start]), 1.0)
        ):
            bands.append(order[start:i])
            start = i
    return bands


def _routes(
    graph: Network, homes: gpd.GeoDataFrame, schools: gpd.GeoDataFrame, *, start: str
) -> _Routes | None:
    """Homes and schools snapped onto ``graph`` compiled by length (``None`` when it has no edges)."""
    n_edges: int = graph.n_edges if isinstance(graph, CompactNetwork) else graph.number_of_edges()
    if n_edges == 0:  # every street was unsafe
        return None
    compiled = (
        graph.compile(weight="length")
        if isinstance(graph, CompactNetwork)
        else compile_network(graph, weight="length")
    )
    home_snap = snap_points(compiled, homes, what="homes")
    school_snap = snap_points(compiled, schools, what="schools")
    warn_far(
        [("homes", homes, home_snap), ("schools", schools, school_snap)],
        max_snap_m=settings.NETWORK_MAX_SNAP_M,
        access_kmh=settings.NETWORK_ACCESS_KMH,
    )
    starts = home_snap if start == "postcode" else _at_node(compiled, home_snap)
    return _Routes(compiled, home_snap, school_snap, start, len(homes) <= len(schools), starts)


def _network_metres(
    graph: Network,
    homes: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    *,
    start: str,
    within_m: float | None = None,
) -> tuple[np.ndarray, _Routes | None]:
    """Shortest route (metres) from each home to each school over ``graph``, and the routes.

    NaN where there is no route; with ``within_m``, the searches stop there
    and every route longer (or missing) is ``inf``, to be measured in full
    where needed (:meth:`_Routes.pairs`).
    """
    routes = _routes(graph, homes, schools, start=start)
    if routes is None:
        return np.full((len(homes), len(schools)), np.nan), None
    every_home = np.arange(len(homes))
    every_school = np.arange(len(schools))
    return routes.metres(every_home, every_school, limit=within_m), routes


def _distances(
    homes: gpd.GeoDataFrame,
    schools: gpd.GeoDataFrame,
    *,
    walk_network: Network | None,
    drive_network: Network | None,
    unsafe: gpd.GeoDataFrame | None,
    start: str,
) -> _Distances:
    hx, hy = homes.geometry.x.to_numpy(), homes.geometry.y.to_numpy()
    sx, sy = schools.geometry.x.to_numpy(), schools.geometry.y.to_numpy()
    straight = np.hypot(hx[:, None] - sx[None, :], hy[:, None] - sy[None, :])
    walk_open: np.ndarray | None = None
    if walk_network is not None:
        if unsafe is not None:
            safe = without_unsafe(walk_network, unsafe)
            walk, _ = _network_metres(safe, homes, schools, start=start)
            walk_open, _ = _network_metres(walk_network, homes, schools, start=start)
            removed = int(_info(safe)["unsafe_edges"])
            walk_method = f"network: walk, {removed:,} edges on unsafe routes removed"
        else:
            walk, _ = _network_metres(walk_network, homes, schools, start=start)
            walk_method = "network: walk"
        walk_method += f", from the home's {'point' if start == 'postcode' else 'nearest node'}"
    else:
        if unsafe is not None:
            raise InputError(
                "unsafe routes can only be taken out of a walk network, and none was given",
                fix="Give a walk network (--network walk.graphml), or leave out the unsafe routes",
            )
        walk = straight * WALK_DETOUR
        walk_method = f"estimate: straight line x {WALK_DETOUR:g}"
    road_pairs = None
    road_columns = None
    road_measured = None
    road_near = None
    if drive_network is not None:
        # the rules compare road routes with 6 and 15 miles only: search no further,
        # from the schools whose routes are read only (when first read), and
        # measure in full only the routes reported
        routes = _routes(drive_network, homes, schools, start=start)
        road = np.full((len(homes), len(schools)), np.nan if routes is None else np.inf)
        if routes is not None:
            road_pairs = routes.pairs
            road_near = routes.near_pairs
            road_columns = routes.columns_within(ROAD_SEARCH_M)
            road_measured = np.zeros(len(schools), dtype=bool)
        road_method = "network: drive"
    else:
        road = straight * settings.ROAD_DETOUR
        road_method = f"estimate: straight line x {settings.ROAD_DETOUR:g}"
    return _Distances(
        walk=walk,
        walk_open=walk_open,
        road=road,
        walk_method=walk_method,
        road_method=road_method,
        walk_estimated=walk_network is None,
        road_estimated=drive_network is None,
        road_pairs=road_pairs,
        road_columns=road_columns,
        road_measured=road_measured,
        road_near=road_near,
    )


# --------------------------------------------------------------------------- schools


def _words(value: object) -> set[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return set()
    text = str(value).strip().casefold()
    if not text or text in {"does not apply", "none", "unknown", "not applicable"}:
        return set()
    parts = {p.strip() for p in re.split(r"/|,|;| and ", text) if p.strip()}
    return parts | {text}


def suitable_schools(providers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The providers that can be a child's nearest suitable school: state-funded, mainstream, school age.

    Parameters
    ----------
    providers
        From :func:`geomap.providers.load_providers`.

    Returns
    -------
    geopandas.GeoDataFrame
        Providers of kind primary, secondary or sixth_form whose ``sector`` is
        maintained or academy, offering primary or secondary places, with their
        index reset.
    """
    kind = providers["kind"].astype("string")
    sector = providers["sector"].astype("string")
    offers = pd.Series(False, index=providers.index)
    for column in ("offers_primary", "offers_secondary"):
        if column in providers.columns:
            offers |= providers[column].fillna(False).astype(bool)
    keep = (
        kind.isin(["primary", "secondary", "sixth_form"]).fillna(False)
        & sector.isin(["maintained", "academy"]).fillna(False)
        & offers
    )
    return providers[keep.to_numpy()].reset_index(drop=True)


def _phase_ok(schools: gpd.GeoDataFrame, age: int) -> np.ndarray:
    primary_high = settings.AGE_BANDS["primary"][1]
    column = "offers_primary" if age <= primary_high else "offers_secondary"
    ok = schools[column].fillna(False).astype(bool).to_numpy().copy()
    low = pd.to_numeric(schools["low_age"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    high = pd.to_numeric(schools["high_age"], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    ok &= ~(low > age) & ~(high < age)
    return np.asarray(ok, dtype=bool)


def _sex_ok(schools: gpd.GeoDataFrame, sex: str | None) -> np.ndarray:
    # a list without a gender column says nothing of single-sex schools: all taken as mixed
    given = schools["gender"] if "gender" in schools.columns else pd.Series(index=schools.index)
    gender = given.astype("string").str.strip().str.casefold().fillna("mixed")
    if sex == "boy":
        return np.asarray((gender != "girls").to_numpy(), dtype=bool)
    if sex == "girl":
        return np.asarray((gender != "boys").to_numpy(), dtype=bool)
    return np.asarray((~gender.isin(["boys", "girls"])).to_numpy(), dtype=bool)


def _has_place(schools: gpd.GeoDataFrame) -> np.ndarray:
    capacity = pd.to_numeric(schools["capacity"], errors="coerce")
    pupils = pd.to_numeric(schools["pupils"], errors="coerce")
    full = capacity.notna() & pupils.notna() & (pupils >= capacity)
    return np.asarray((~full).to_numpy(), dtype=bool)


# --------------------------------------------------------------------------- assessment


def _near(estimate: np.ndarray, limit: float | np.ndarray, share: float) -> np.ndarray:
    """Whether the limit lies within ``share`` of the estimated distance either way."""
    with np.errstate(invalid="ignore"):
        return np.asarray(
            np.isfinite(estimate)
            & (estimate * (1 - share) <= limit)
            & (limit <= estimate * (1 + share)),
            dtype=bool,
        )


def _over(metres: np.ndarray, miles: float | np.ndarray) -> np.ndarray:
    """Over the limit, or no route at all (NaN)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(~np.isfinite(metres) | (metres > np.asarray(miles) * MILE_M + AT_LIMIT_M))


def _within_road(metres: np.ndarray, miles: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(metres) & (metres <= miles * MILE_M + AT_LIMIT_M))


def assess_eligibility(
    pupils: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    *,
    walk_network: Network | None = None,
    drive_network: Network | None = None,
    unsafe: gpd.GeoDataFrame | None = None,
    start: Literal["postcode", "node"] = "postcode",
    use_capacity: bool = True,
    error_share: float = settings.ESTIMATE_ERROR_SHARE,
) -> gpd.GeoDataFrame:
    """Whether each child is entitled to free home-to-school transport, and by which rule.

    See the module's description for the rules and how distances are measured.

    Parameters
    ----------
    pupils
        Children at home points (EPSG:27700) with ``id`` and ``age``, and
        optionally ``children`` (how many children the row stands for; 1 by
        default), ``low_income``, ``faith``, ``school_id`` and ``sex``
        (``boy``/``girl``), as :func:`read_pupils` gives.
    providers
        From :func:`geomap.providers.load_providers` (``id``, ``name``,
        ``kind``, ``sector``, ``low_age``, ``high_age``, ``offers_primary``,
        ``offers_secondary``, ``gender``, ``religious_character``,
        ``capacity``, ``pupils``).
    walk_network
        A walk network (a graph with edge ``length`` in metres, or a compact
        network from :func:`geomap.travel.compact.load_network`); the
        straight-line estimate when not given.
    drive_network
        A drive network, for the 6- and 15-mile road limits; the straight-line
        road estimate when not given.
    unsafe
        Routes assessed as unsafe (:func:`read_unsafe`), removed from the walk
        network; needs ``walk_network``.
    start
        Where a walk starts: ``postcode`` (the home's point, with the leg to the
        network) or ``node`` (the home's nearest network node).
    use_capacity
        Skip full schools (``pupils`` at or over ``capacity``) when finding the
        nearest suitable school.
    error_share
        Share of an estimated distance by which the real route may differ; a
        case whose deciding limit lies within it is flagged ``check_by_route``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per pupil, in order, with :data:`RESULT_COLUMNS`: the school
        assessed (``school_id``, ``school_name``; the attended one when given),
        the nearest suitable school, the walk and road distances to the school
        assessed in miles (NaN where there is no route), the walking limit that
        applied, ``eligible`` (missing when not assessed), the ``rule`` in
        words, ``check_by_route``, the methods; and the home points.
        ``attrs["description"]`` says how it was measured and the sources.

    Raises
    ------
    InputError
        If a pupil lacks ``id`` or ``age``, ids repeat, a ``school_id`` is not
        a provider, ``start`` is unknown, or unsafe routes are given without a
        walk network.
    """
    if start not in ("postcode", "node"):
        raise InputError(f"unknown start '{start}'", fix="Use postcode or node")
    if not 0 <= error_share < 1:
        raise InputError(f"the estimate's error share must be from 0 to under 1, not {error_share}")
    for column in ("id", "age"):
        if column not in pupils.columns:
            raise InputError(f"the pupils have no '{column}' column")
    if pupils.crs is None or pupils.crs != settings.MEASURE_CRS:
        raise InputError(f"the pupils must be points in {settings.MEASURE_CRS}")
    if pupils["id"].duplicated().any():
        raise InputError(f"pupil id '{pupils['id'][pupils['id'].duplicated()].iloc[0]}' repeats")
    n = len(pupils)

    def optional(name: str) -> pd.Series:
        if name in pupils.columns:
            column: pd.Series = pupils[name].reset_index(drop=True)
            return column
        return pd.Series([pd.NA] * n, dtype=object)

    ages = pd.to_numeric(pupils["age"]).to_numpy(dtype=int)
    children = (
        pd.to_numeric(pupils["children"]).to_numpy(dtype=float)
        if "children" in pupils.columns
        else np.ones(n)
    )
    low_income = optional("low_income").astype("boolean")
    faith = optional("faith").astype("string").str.strip()
    attended_ids = optional("school_id").astype("string").str.strip()
    sexes = optional("sex").astype("string")

    schools = suitable_schools(providers)
    all_ids = providers["id"].astype("string").str.strip()
    school_ids = schools["id"].astype("string").str.strip().to_numpy()
    position = {s: i for i, s in enumerate(school_ids)}
    attended = np.full(n, -1, dtype=np.int64)
    attends_other = np.zeros(n, dtype=bool)
    given = attended_ids.notna() & (attended_ids != "")
    unknown = given & ~attended_ids.isin(set(all_ids.dropna()))
    check_rows(
        pupils,
        unknown.to_numpy(),
        lambda p: f"school '{attended_ids.iloc[p]}' is not in the provider list",
        column=_column_name(pupils, "school_id"),
        fix="Give the school's id (URN) as the provider list has it, or leave it blank",
        path=source_of(pupils),
    )
    for i in np.flatnonzero(given.to_numpy()):
        found = position.get(str(attended_ids.iloc[i]))
        if found is None:
            attends_other[i] = True
        else:
            attended[i] = found

    # homes: each distinct point once
    hx = pupils.geometry.x.to_numpy()
    hy = pupils.geometry.y.to_numpy()
    xy, home = np.unique(np.column_stack([hx, hy]), axis=0, return_inverse=True)
    home = home.ravel()
    homes = gpd.GeoDataFrame(
        {"id": [f"home {i}" for i in range(len(xy))]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=settings.MEASURE_CRS,
    )
    school_points = gpd.GeoDataFrame(
        {"id": school_ids}, geometry=schools.geometry.to_numpy(), crs=settings.MEASURE_CRS
    )
    if len(schools):
        dist = _distances(
            homes,
            school_points,
            walk_network=walk_network,
            drive_network=drive_network,
            unsafe=unsafe,
            start=start,
        )
    else:
        empty = np.zeros((len(homes), 0))
        dist = _Distances(empty, None, empty, "none", "none", False, False)

    place = _has_place(schools) if use_capacity and len(schools) else np.ones(len(schools), bool)
    faiths = [_words(v) for v in schools.get("religious_character", pd.Series(index=schools.index))]

    out_school = np.full(n, -1, dtype=np.int64)
    out_nearest = np.full(n, -1, dtype=np.int64)
    eligible = pd.array([pd.NA] * n, dtype="boolean")
    rule = np.array([""] * n, dtype=object)
    check = np.zeros(n, dtype=bool)
    limit = np.full(n, np.nan)
    low_age, high_age = settings.COMPULSORY_AGES
    switch = settings.STATUTORY_AGE_SWITCH
    ext_walk = settings.EXTENDED_WALK_MILES

    school_age = (ages >= low_age) & (ages <= high_age)
    rule[~school_age] = RULE_NOT_SCHOOL_AGE
    not_suitable = attends_other & school_age
    rule[not_suitable] = RULE_NOT_SUITABLE
    todo = school_age & ~attends_other
    keys = pd.DataFrame(
        {
            "age": ages,
            "sex": sexes.fillna("").to_numpy(),
            "low": low_income.fillna(False).to_numpy(dtype=bool),
            "faith": faith.fillna("").str.casefold().to_numpy(),
        }
    )
    walk_est, road_est = dist.walk_estimated, dist.road_estimated
    no_walk = ~np.isfinite(dist.walk)
    if no_walk.any():
        dist.need_road(np.flatnonzero(no_walk.any(axis=0)))
    if no_walk.any() and np.isinf(dist.road[no_walk]).any():
        # schools with no walking route are ranked by road: measure those routes in full
        pair_home, pair_school = np.nonzero(no_walk & np.isinf(dist.road))
        dist.road[pair_home, pair_school] = dist.exact_road(pair_home, pair_school)
    # by walking distance; schools with no walking route after, by road
    home_key = _school_order_key(dist.walk, dist.road)
    nearest_by_mask: dict[bytes, np.ndarray] = {}
    for (age, sex, low, belief), group in keys[todo].groupby(
        ["age", "sex", "low", "faith"], sort=False
    ):
        rows = group.index.to_numpy()
        hh = home[rows]
        age = int(age)
        suit = _phase_ok(schools, age) & _sex_ok(schools, sex or None)
        allowed_cols = suit & place
        att = attended[rows]
        has_att = att >= 0
        att0 = np.maximum(att, 0)
        bad_att = has_att & ~suit[att0] if len(schools) else has_att
        r = np.arange(len(rows))
        if len(schools):
            # the nearest allowed school of each home, each (schools allowed, home) once
            nearest = _nearest_allowed(home_key, hh, allowed_cols, nearest_by_mask)
            att_key = home_key[hh, att0]
            near_key = np.where(nearest >= 0, home_key[hh, np.maximum(nearest, 0)], np.inf)
            # an attended school outside the allowed ones competes with the nearest
            take_att = has_att & ~allowed_cols[att0] & ((att_key < near_key) | (nearest < 0))
            take_att |= has_att & ~allowed_cols[att0] & (att_key == near_key) & (att < nearest)
            nearest = np.where(take_att, att, nearest)
            reached = np.where(take_att, np.isfinite(att_key), np.isfinite(near_key))
            nearest = np.maximum(nearest, 0)
        else:
            nearest = np.zeros(len(rows), dtype=np.int64)
            reached = np.zeros(len(rows), dtype=bool)
        rule[rows[~reached]] = RULE_NO_SCHOOL
        rule[rows[reached & bad_att]] = RULE_NOT_SUITABLE
        ok = reached & ~bad_att
        if not ok.any():
            continue
        lim = settings.STATUTORY_WALK_MILES["under_8" if age < switch else "8_and_over"]
        w_near = dist.walk[hh, nearest]
        at_nearest = ~has_att | (home_key[hh, att0] <= home_key[hh, nearest] + AT_LIMIT_M)
        school = np.where(has_att, att, nearest)
        over = _over(w_near, lim)
        std = ok & at_nearest & over
        reason = np.full(len(rows), "", dtype=object)
        reason[std] = RULE_UNDER_8 if age < switch else RULE_8_PLUS
        no_route = ~np.isfinite(w_near)
        if dist.walk_open is not None:
            w_open = dist.walk_open[hh, nearest]
            unsafe_made = ~_over(w_open, lim)
            reason[std & no_route & unsafe_made] = RULE_UNSAFE_NO_ROUTE
            reason[std & ~no_route & unsafe_made] = RULE_UNSAFE_LONGER.format(limit=lim)
            reason[std & no_route & ~unsafe_made] = RULE_NO_ROUTE
        else:
            reason[std & no_route] = RULE_NO_ROUTE
        flag = walk_est & _near(w_near, lim * MILE_M, error_share)
        elig = std.copy()
        if low and age >= switch:
            # 8-10: the nearest suitable school beyond 2 miles
            if age <= settings.AGE_BANDS["primary"][1]:
                got = ok & ~elig & at_nearest & _over(w_near, ext_walk)
                reason[got] = RULE_LOW_INCOME_8_11
                flag |= walk_est & _near(w_near, ext_walk * MILE_M, error_share)
                elig |= got
            else:
                # 11-16: one of the three nearest, 2 walked to 6 by road
                walk = dist.walk[hh]
                allowed = np.broadcast_to(allowed_cols, walk.shape).copy()
                allowed[np.flatnonzero(has_att), att[has_att]] = True
                key = np.where(allowed, home_key[hh], np.inf)
                order = _first_three(key)
                three = order[:, :3]
                real = np.isfinite(np.take_along_axis(key, three, axis=1))
                # the road routes to the three nearest only are read
                dist.need_road(three[ok[:, None] & real])
                w3 = np.take_along_axis(walk, three, axis=1)
                r3 = dist.road[hh[:, None], three]
                fits = real & _over(w3, ext_walk) & _within_road(r3, settings.EXTENDED_ROAD_MILES)
                if has_att.any():
                    is_att = three == att[:, None]
                    fits_att = (fits & is_att).any(axis=1)
                else:
                    fits_att = np.zeros(len(rows), dtype=bool)
                first = np.argmax(fits, axis=1)
                any_fit = fits.any(axis=1)
                got = ok & ~elig & np.where(has_att, fits_att, any_fit)
                chosen = np.where(has_att, att, three[r, first])
                reason[got] = RULE_LOW_INCOME_11_16
                school = np.where(got & ~has_att, chosen, school)
                near3 = real & (
                    (walk_est & _near(w3, ext_walk * MILE_M, error_share))
                    | (road_est & _near(r3, settings.EXTENDED_ROAD_MILES * MILE_M, error_share))
                )
                flag |= near3.any(axis=1)
                elig |= got
                # faith: the nearest school of the family's religion or belief, 2 to 15 miles
                if belief:
                    match = np.array([belief in f for f in faiths], dtype=bool)
                    fkey = np.where(match[None, :], key, np.inf)
                    fnear = np.argmin(fkey, axis=1)
                    fexists = np.isfinite(fkey[r, fnear])
                    dist.need_road(fnear[ok & fexists])
                    fw, fr = walk[r, fnear], dist.road[hh, fnear]
                    fits_f = (
                        fexists
                        & _over(fw, ext_walk)
                        & _within_road(fr, settings.EXTENDED_FAITH_ROAD_MILES)
                    )
                    at_f = (
                        ~has_att
                        | (fnear == att)
                        | (
                            fexists
                            & (key[r, np.maximum(att, 0)] <= fkey[r, fnear] + AT_LIMIT_M)
                            & match[np.maximum(att, 0)]
                        )
                    )
                    got = ok & ~elig & fits_f & at_f
                    reason[got] = RULE_FAITH
                    school = np.where(got & ~has_att, fnear, school)
                    flag |= fexists & (
                        (walk_est & _near(fw, ext_walk * MILE_M, error_share))
                        | (
                            road_est
                            & _near(fr, settings.EXTENDED_FAITH_ROAD_MILES * MILE_M, error_share)
                        )
                    )
                    elig |= got
        reason[ok & ~elig & ~at_nearest] = RULE_NOT_NEAREST
        reason[ok & ~elig & at_nearest] = RULE_WITHIN.format(limit=lim)
        idx = rows[ok]
        eligible[idx] = elig[ok]
        rule[idx] = reason[ok]
        check[idx] = flag[ok]
        limit[idx] = lim
        out_school[idx] = school[ok]
        out_nearest[idx] = nearest[ok]
        # a school not assessed keeps no school
    has = out_school >= 0
    walk_miles = np.full(n, np.nan)
    road_miles = np.full(n, np.nan)
    walk_miles[has] = dist.walk[home[has], out_school[has]] / MILE_M
    road_miles[has] = dist.reported_road(home[has], out_school[has]) / MILE_M
    names = schools["name"].astype("string").to_numpy() if len(schools) else np.array([])
    school_out = pd.array([pd.NA] * n, dtype="string")
    name_out = pd.array([pd.NA] * n, dtype="string")
    nearest_out = pd.array([pd.NA] * n, dtype="string")
    school_out[has] = school_ids[out_school[has]]
    name_out[has] = names[out_school[has]]
    nearest_out[has] = school_ids[out_nearest[has]]
    given_np = given.to_numpy()
    school_out[given_np & ~has] = attended_ids.to_numpy()[given_np & ~has]
    result = gpd.GeoDataFrame(
        {
            "id": pupils["id"].astype("string").to_numpy(),
            "age": ages,
            "children": children,
            "low_income": low_income.to_numpy(),
            "faith": faith.to_numpy(),
            "school_id": school_out,
            "school_name": name_out,
            "nearest_school_id": nearest_out,
            "walk_miles": np.round(walk_miles, 3),
            "road_miles": np.round(road_miles, 3),
            "limit_miles": limit,
            "eligible": eligible,
            "rule": rule.astype(str),
            "check_by_route": check,
            "walk_method": dist.walk_method,
            "road_method": dist.road_method,
        },
        geometry=pupils.geometry.to_numpy(),
        crs=settings.MEASURE_CRS,
    )
    for extra in ("postcode", "area_id"):
        if extra in pupils.columns:
            result[extra] = pupils[extra].to_numpy()
    result.attrs["description"] = _describe(result, dist, start=start, use_capacity=use_capacity)
    _warn_unassessed(result)
    return result


def _describe(result: gpd.GeoDataFrame, dist: _Distances, *, start: str, use_capacity: bool) -> str:
    parts = [
        f"Eligibility for free home-to-school transport by {settings.ELIGIBILITY_SOURCE}.",
        f"Walking distance: {dist.walk_method}. Road distance: {dist.road_method}.",
    ]
    if dist.walk_estimated or dist.road_estimated:
        parts.append(
            f"Estimated distances are taken to be within ±{settings.ESTIMATE_ERROR_SHARE:.0%} of "
            "the real route (not measured); cases whose limit lies within that are flagged "
            f"check_by_route ({int(result['check_by_route'].sum()):,} rows)."
        )
    if start == "node":
        parts.append("Walks are measured from the home's nearest network node.")
    parts.append(
        "Full schools (pupils at or over capacity) are skipped."
        if use_capacity
        else "School capacity is not considered."
    )
    return " ".join(parts)


def _warn_unassessed(result: gpd.GeoDataFrame) -> None:
    missing = result["eligible"].isna()
    if not missing.any():
        return
    counts = result.loc[missing, "rule"].value_counts()
    said = "; ".join(f"{c:,} {r.removeprefix('not assessed: ')}" for r, c in counts.items())
    warnings.warn(
        f"{int(missing.sum()):,} of {len(result):,} children were not assessed ({said}); "
        "their eligibility is left blank",
        InputWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------- summaries


def _band(ages: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=ages.index, dtype="string")
    for label, (low, high) in AGE_BAND_LABELS.items():
        out[(ages >= low) & (ages <= high)] = label
    return out


def eligibility_counts(
    result: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None = None
) -> pd.DataFrame:
    """Eligible children per area and age band (5–7, 8–10, 11–16), with totals.

    Parameters
    ----------
    result
        From :func:`assess_eligibility`; its ``area_id`` is used when it has
        one, else each home is placed in ``areas``.
    areas
        Areas with ``area_id`` (and ``area_name``) in EPSG:27700.

    Returns
    -------
    pandas.DataFrame
        ``area_id``, ``area_name``, ``age_band``, ``children``, ``eligible``,
        ``not_assessed``, ``check_by_route`` (children whose case is close to a
        limit on an estimate) and ``eligible_share`` (of those assessed; NaN
        where none were), one row per area and band, then ``All areas`` per
        band and overall (``age_band`` ``all``). Homes outside every area are
        counted under ``area_id`` ``outside``.
    """
    table = pd.DataFrame(result.drop(columns="geometry"))
    if "area_id" not in table.columns or table["area_id"].isna().all():
        if areas is None:
            table["area_id"] = "all"
        else:
            joined = gpd.sjoin(
                result[["geometry"]], areas[["area_id", "geometry"]], how="left", predicate="within"
            )
            joined = joined[~joined.index.duplicated()]
            table["area_id"] = joined["area_id"].reindex(result.index).to_numpy()
    table["area_id"] = table["area_id"].astype("string").fillna("outside")
    table["age_band"] = _band(table["age"]).fillna("other ages")
    assessed = table["eligible"].notna()
    table["_eligible"] = np.where(table["eligible"].fillna(False), table["children"], 0.0)
    table["_missing"] = np.where(~assessed, table["children"], 0.0)
    table["_check"] = np.where(table["check_by_route"], table["children"], 0.0)

    def total(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        summed = frame.groupby(keys, sort=True)[
            ["children", "_eligible", "_missing", "_check"]
        ].sum()
        return summed.reset_index()

    by_area = total(table, ["area_id", "age_band"])
    by_band = total(table, ["age_band"]).assign(area_id="All areas")
    overall = total(table.assign(age_band="all"), ["age_band"]).assign(area_id="All areas")
    out = pd.concat([by_area, by_band, overall], ignore_index=True)
    out = out.rename(
        columns={"_eligible": "eligible", "_missing": "not_assessed", "_check": "check_by_route"}
    )
    assessed_children = out["children"] - out["not_assessed"]
    out["eligible_share"] = np.where(
        assessed_children > 0,
        out["eligible"] / assessed_children.where(assessed_children > 0),
        np.nan,
    )
    names = (
        areas.set_index("area_id")["area_name"]
        if areas is not None and "area_name" in areas.columns
        else pd.Series(dtype="string")
    )
    out.insert(1, "area_name", out["area_id"].map(names).astype("string"))
    for column in ("children", "eligible", "not_assessed", "check_by_route"):
        out[column] = out[column].round(2)
    out["eligible_share"] = out["eligible_share"].round(4)
    return out[
        [
            "area_id",
            "area_name",
            "age_band",
            "children",
            "eligible",
            "not_assessed",
            "check_by_route",
            "eligible_share",
        ]
    ]


def transport_cost(
    result: gpd.GeoDataFrame,
    *,
    cost_per_pupil: float = settings.TRANSPORT_COST_PER_PUPIL,
    source: str | None = None,
) -> pd.DataFrame:
    """Estimated annual cost of transporting the eligible children, by rule and in total.

    Parameters
    ----------
    result
        From :func:`assess_eligibility`.
    cost_per_pupil
        Annual cost (GBP) per eligible pupil; :data:`geomap.settings.TRANSPORT_COST_PER_PUPIL`
        by default.
    source
        Where ``cost_per_pupil`` comes from; the default's source when it is the
        default, else "as given".

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``eligible`` (children), ``cost_per_pupil``, ``annual_cost``
        (GBP) and ``source``, one row per eligible rule then ``all eligible``;
        ``check_by_route`` gives the children of each whose case is close to a
        limit on an estimate.

    Raises
    ------
    InputError
        If the cost is not a finite number, 0 or more.
    """
    if not (np.isfinite(cost_per_pupil) and cost_per_pupil >= 0):
        raise InputError(f"the cost per pupil must be 0 or more, not {cost_per_pupil}")
    if source is None:
        source = (
            settings.TRANSPORT_COST_SOURCE
            if cost_per_pupil == settings.TRANSPORT_COST_PER_PUPIL
            else "as given"
        )
    yes = result[result["eligible"].fillna(False).to_numpy(dtype=bool)]
    rows = []
    for rule, group in yes.groupby("rule", sort=True):
        rows.append(
            (
                rule,
                float(group["children"].sum()),
                float(group.loc[group["check_by_route"], "children"].sum()),
            )
        )
    rows.append(
        (
            "all eligible",
            float(yes["children"].sum()),
            float(yes.loc[yes["check_by_route"], "children"].sum()),
        )
    )
    out = pd.DataFrame(rows, columns=["rule", "eligible", "check_by_route"])
    out["eligible"] = out["eligible"].round(2)
    out["check_by_route"] = out["check_by_route"].round(2)
    out["cost_per_pupil"] = cost_per_pupil
    out["annual_cost"] = (out["eligible"] * cost_per_pupil).round(0)
    out["source"] = source
    return out[["rule", "eligible", "check_by_route", "cost_per_pupil", "annual_cost", "source"]]


#: Colours and labels of the map's categories (Okabe-Ito, colour-blind safe).
MAP_CATEGORIES = {
    "all": (palettes.ELIGIBILITY["all"], "every child here eligible"),
    "some": (palettes.ELIGIBILITY["some"], "some children here eligible (by age or family)"),
    "none": (palettes.ELIGIBILITY["none"], "no child here eligible"),
    "check": (palettes.ELIGIBILITY["check"], "close to a limit: check by route"),
    "unknown": (palettes.HATCH_FILL, "not assessed"),
}


def eligibility_homes(result: gpd.GeoDataFrame, *, radius_m: float = 60.0) -> gpd.GeoDataFrame:
    """One small shape per home, saying whether the children there are eligible and why.

    Parameters
    ----------
    result
        From :func:`assess_eligibility`.
    radius_m
        Radius of the octagon drawn around each home.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_name`` (the home: its postcode or pupil ids), ``category`` (a key
        of :data:`MAP_CATEGORIES`), ``children``, ``eligible`` (children),
        ``rules`` (the rules met there, with their ages) and an octagon in
        EPSG:27700.
    """
    table = pd.DataFrame(result.drop(columns="geometry"))
    xy = np.column_stack([result.geometry.x.to_numpy(), result.geometry.y.to_numpy()])
    _, home = np.unique(xy, axis=0, return_inverse=True)
    table["_home"] = home.ravel()
    assessed = table["eligible"].notna()
    yes = table["eligible"].fillna(False).astype(bool)
    table["_e"] = np.where(yes, table["children"], 0.0)
    table["_assessed"] = assessed
    table["_yes"] = yes & assessed
    table["_no"] = ~yes & assessed
    label = table["postcode"] if "postcode" in table.columns else table["id"]
    table["_label"] = label.astype(str)
    homes = table.groupby("_home", sort=False)
    per = pd.DataFrame(
        {
            "assessed": homes["_assessed"].any(),
            "check": homes["check_by_route"].any(),
            "all_yes": ~homes["_no"].any(),
            "any_yes": homes["_yes"].any(),
            "children": homes["children"].sum(),
            "eligible": homes["_e"].sum(),
        }
    )
    category = np.select(
        [~per["assessed"], per["check"], per["all_yes"], per["any_yes"]],
        ["unknown", "check", "all", "some"],
        default="none",
    )
    # the rules met at each home, each with the ages it applies to
    spans = table.groupby(["_home", "rule"], sort=False)["age"].agg(["min", "max"]).reset_index()
    spans["text"] = [
        f"age {int(lo)}: {rule}" if lo == hi else f"age {int(lo)}-{int(hi)}: {rule}"
        for rule, lo, hi in zip(spans["rule"], spans["min"], spans["max"], strict=True)
    ]
    texts: dict[int, list[str]] = {}
    for at, text in zip(spans["_home"].tolist(), spans["text"], strict=True):
        texts.setdefault(at, []).append(text)
    rules = pd.Series({at: "; ".join(parts) for at, parts in texts.items()}, dtype=object)
    labels = table.drop_duplicates(["_home", "_label"])
    seen: dict[int, list[str]] = {}
    for at, label in zip(labels["_home"].tolist(), labels["_label"].tolist(), strict=True):
        seen.setdefault(at, []).append(label)
    names = pd.Series(
        {at: ", ".join(v[:3]) + (" ..." if len(v) > 3 else "") for at, v in seen.items()},
        dtype=object,
    )
    order = per.index.to_numpy()
    centres = pd.DataFrame(xy, columns=["x", "y"]).groupby(home.ravel()).first().loc[order]
    return gpd.GeoDataFrame(
        {
            "area_name": names.loc[order].to_numpy(),
            "category": category,
            "children": np.round(per["children"].to_numpy(dtype=float), 2),
            "eligible": np.round(per["eligible"].to_numpy(dtype=float), 2),
            "rules": rules.reindex(order).fillna("").to_numpy(),
        },
        geometry=gpd.points_from_xy(centres["x"], centres["y"]).buffer(radius_m, quad_segs=2),
        crs=settings.MEASURE_CRS,
    )


# --------------------------------------------------------------------------- networks


def split_networks(
    graphs: Sequence[tuple[str | Path, Network]],
) -> tuple[Network | None, Network | None]:
    """The walk network and the drive network among loaded graphs, by the mode each was built for.

    Parameters
    ----------
    graphs
        ``(path, network)`` pairs: graphs as loaded by
        :func:`geomap.osm.load_graph`, or compact networks as loaded by
        :func:`geomap.travel.compact.load_network`.

    Returns
    -------
    walk, drive
        The walk and the drive network (``None`` when not given).

    Raises
    ------
    NetworkFileError
        If a network's mode is not known or is ``bike``, or two networks are of one mode.
    """
    found: dict[str, Network] = {}
    for path, graph in graphs:
        mode = _info(graph).get("mode")
        if mode not in ("walk", "drive"):
            raise NetworkFileError(
                f"eligibility needs a walk and a drive network, and this one is "
                f"{'of unknown mode' if mode is None else f'a {mode} network'}",
                path=path,
                fix="Give networks built with `geomap network build --mode walk` or `--mode drive`",
            )
        if mode in found:
            raise NetworkFileError(f"two {mode} networks were given", path=path)
        found[mode] = graph
    if "walk" not in found and found:
        warnings.warn(
            "no walk network was given; walking distances are straight-line estimates",
            TravelWarning,
            stacklevel=2,
        )
    return found.get("walk"), found.get("drive")
