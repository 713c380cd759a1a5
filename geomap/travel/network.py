"""Travel times over an OpenStreetMap network, with a fast multi-source engine.

A network (:mod:`geomap.osm`) is compiled once into two sparse matrices of
edge travel times in seconds, ``forward[u, v]`` and its transpose, built
straight from the edge arrays and keeping the quickest of parallel edges, plus
node coordinates in British National Grid and a k-d tree to snap points to
their nearest node.

How a journey is timed
    An origin joins the network at its nearest node and a destination leaves it
    at its nearest node; each off-network leg (the straight line between the
    point and its node, the *snap distance*) is added at
    :data:`geomap.settings.NETWORK_ACCESS_KMH` (walking pace). Points further
    than ``max_snap_m`` from any node keep their times, are counted in the
    result's description and are warned about (a
    :class:`~geomap.errors.TravelWarning`, once per call). Edges are directed, so one-way streets are driven
    only their way, and every time is for the journey origin → destination.

The nearest destination, in one pass
    :func:`nearest` runs one multi-source Dijkstra
    (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``) over the
    *transposed* matrix, which gives journeys *to* the destinations. Each
    destination gets a virtual node joined to its snapped node by its own
    off-network leg, and the search starts from the virtual nodes, so the
    destination's leg counts exactly when choosing the nearest; the search's
    ``sources`` say which destination won. Origins that cannot reach any
    destination (an island, the wrong end of a one-way street) get NaN and are
    counted and warned about, never dropped.

Also
    :func:`matrix` for every origin × destination pair, and :func:`isochrones`,
    the area from which each destination is reachable within N minutes.
    :class:`NetworkTravelTimes` puts all of this behind the
    :class:`~geomap.travel.base.TravelTimes` interface, with
    ``method = "network:<drive|walk|bike>"``; every table it returns carries
    the caption of that result (with its own snapping counts) in
    ``attrs["description"]``. A graph given to it is never changed.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import ndimage, sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geomap import settings
from geomap.errors import EmptyNetworkError, InputError, TravelTimeError, TravelWarning
from geomap.osm import add_travel_times, load_graph, network_info, network_mode
from geomap.travel.base import TravelTimes, check_points, describe_result

logger = logging.getLogger(__name__)

#: Largest block of node times (sources × nodes, float64) computed at once by :func:`matrix`.
MATRIX_BLOCK_BYTES = 256 * 2**20
#: Half-width (metres) of the band drawn around reachable streets in :func:`isochrones`.
ISOCHRONE_BUFFER_M = 100.0

_INDEX = np.int32


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """A network ready for routing.

    Attributes
    ----------
    forward
        ``forward[i, j]``: seconds of the quickest edge from node ``i`` to node
        ``j`` (CSR; explicit zeros are edges).
    backward
        The transpose of ``forward``: searching it from a node gives the times
        of journeys *to* that node.
    x, y
        Node coordinates, metres in EPSG:27700.
    node_ids
        The graph's id of each node (row).
    tree
        k-d tree over the node coordinates, for snapping.
    info
        Where the network came from (:func:`geomap.osm.network_info`).
    """

    forward: sparse.csr_array
    backward: sparse.csr_array
    x: np.ndarray
    y: np.ndarray
    node_ids: np.ndarray
    tree: cKDTree
    info: dict[str, str] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.shape[0])

    def extent_lonlat(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` of the nodes in lon/lat.

        Returns
        -------
        tuple of float
            West, south, east, north.
        """
        lon, lat = pyproj.Transformer.from_crs(
            settings.MEASURE_CRS, settings.LONLAT_CRS, always_xy=True
        ).transform(self.x, self.y)
        return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))

    @property
    def n_edges(self) -> int:
        """Number of directed node pairs joined by an edge (parallel edges count once)."""
        return int(self.forward.nnz)


def _csr(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n: int) -> sparse.csr_array:
    """CSR matrix of ``weights`` keeping the smallest weight of repeated (row, col) pairs."""
    key = rows.astype(np.int64) * n + cols
    order = np.argsort(key)
    key = key[order]
    first = np.ones(key.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    weights = np.minimum.reduceat(weights[order], starts) if starts.size else weights[:0]
    key = key[starts]
    row = (key // n).astype(_INDEX)
    col = (key % n).astype(_INDEX)
    indptr = np.zeros(n + 1, dtype=_INDEX)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    return sparse.csr_array((weights, col, indptr), shape=(n, n))


def _transpose(matrix: sparse.csr_array) -> sparse.csr_array:
    """The transpose as CSR, keeping explicit zeros (a CSC matrix read as CSR)."""
    csc = matrix.tocsc()
    return sparse.csr_array(
        (csc.data, csc.indices.astype(_INDEX), csc.indptr.astype(_INDEX)), shape=matrix.shape
    )


def compile_arrays(
    u: np.ndarray,
    v: np.ndarray,
    seconds: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    node_ids: np.ndarray | None = None,
    info: dict[str, str] | None = None,
) -> CompiledNetwork:
    """Compile a network from edge arrays.

    Parameters
    ----------
    u, v
        Each directed edge's start and end node, as row numbers ``0 .. n-1``.
    seconds
        Each edge's travel time (finite, 0 or more). Of parallel edges the
        quickest is kept; self-loops are dropped.
    x, y
        Node coordinates in metres (EPSG:27700), one per node.
    node_ids
        The nodes' ids (row numbers by default).
    info
        Where the network came from.

    Returns
    -------
    CompiledNetwork
        The edges as forward and backward sparse matrices of seconds, the
        node positions and a tree for snapping points to them.

    Raises
    ------
    EmptyNetworkError
        If there are no nodes, or ``x`` and ``y`` differ in length.
    InputError
        If the edge arrays differ in length, an edge end is not a node
        number, or a node has no finite coordinates.
    TravelTimeError
        If an edge's time is not finite or is negative.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    if n == 0 or y.shape[0] != n:
        raise EmptyNetworkError("a network needs nodes, each with an x and a y")
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    seconds = np.asarray(seconds, dtype=float)
    if not (u.shape == v.shape == seconds.shape):
        raise InputError("edge arrays u, v and seconds must have the same length")
    if u.size and (min(u.min(), v.min()) < 0 or max(u.max(), v.max()) >= n):
        raise InputError(f"edge ends must be node numbers 0 to {n - 1}")
    if not (np.isfinite(seconds).all() and (seconds >= 0).all()):
        bad = int(np.flatnonzero(~(np.isfinite(seconds) & (seconds >= 0)))[0])
        raise TravelTimeError(
            f"edge {bad} has travel time {seconds[bad]}; times must be finite seconds, 0 or more"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("some nodes have no finite coordinates")
    keep = u != v
    u, v, seconds = u[keep], v[keep], seconds[keep]
    forward = _csr(u, v, seconds, n)
    backward = _transpose(forward)
    return CompiledNetwork(
        forward=forward,
        backward=backward,
        x=x,
        y=y,
        node_ids=np.arange(n) if node_ids is None else np.asarray(node_ids),
        tree=cKDTree(np.column_stack([x, y])),
        info=dict(info or {}),
    )


def compile_network(graph: nx.MultiDiGraph, *, weight: str = "travel_time") -> CompiledNetwork:
    """Compile a network graph for routing (node coordinates projected to EPSG:27700).

    The graph is only read, never changed.

    Parameters
    ----------
    graph
        A network whose edges have ``weight`` in seconds (see
        :func:`geomap.osm.add_travel_times`) and whose nodes have ``x`` and
        ``y`` in ``graph.graph["crs"]`` (lon/lat when not given).
    weight
        The edge attribute holding travel time in seconds.

    Returns
    -------
    CompiledNetwork
        Its edge times, node positions and where it came from.

    Raises
    ------
    EmptyNetworkError
        If the graph has no nodes or no edges.
    InputError
        If a node has no coordinates.
    TravelTimeError
        If an edge has no ``weight``.
    """
    if graph.number_of_nodes() == 0 or graph.number_of_edges() == 0:
        raise EmptyNetworkError(
            f"the network has {graph.number_of_nodes()} nodes and {graph.number_of_edges()} edges"
        )
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    x = np.fromiter(
        (v for _, v in graph.nodes(data="x", default=np.nan)), dtype=float, count=len(nodes)
    )
    y = np.fromiter(
        (v for _, v in graph.nodes(data="y", default=np.nan)), dtype=float, count=len(nodes)
    )
    if np.isnan(x).any() or np.isnan(y).any():
        raise InputError(
            "every network node needs x and y coordinates", fix="Load the network with geomap"
        )
    # straight from the adjacency dicts: several times quicker than edge views
    tails: list[int] = []
    heads: list[int] = []
    times: list[float] = []
    missing = 0
    for a, neighbours in graph.adjacency():
        i = index[a]
        for b, parallel in neighbours.items():
            j = index[b]
            for data in parallel.values():
                w = data.get(weight)
                if w is None:
                    missing += 1
                    continue
                tails.append(i)
                heads.append(j)
                times.append(w)
    if missing:
        raise TravelTimeError(
            f"{missing:,} network edges have no '{weight}'",
            fix="Add travel times with geomap.osm.add_travel_times",
        )
    u = np.array(tails, dtype=np.int64)
    v = np.array(heads, dtype=np.int64)
    seconds = np.array(times, dtype=float)
    crs = pyproj.CRS(graph.graph.get("crs") or settings.LONLAT_CRS)
    target = pyproj.CRS(settings.MEASURE_CRS)
    if crs != target:
        transformer = pyproj.Transformer.from_crs(crs, target, always_xy=True)
        x, y = transformer.transform(x, y)
    return compile_arrays(u, v, seconds, x, y, node_ids=np.asarray(nodes), info=network_info(graph))


# --------------------------------------------------------------------------- snapping


@dataclass(frozen=True)
class Snap:
    """Where points join the network.

    Attributes
    ----------
    node
        Row number of each point's nearest node.
    distance_m
        Straight-line distance from the point to that node.
    seconds
        The off-network leg: ``distance_m`` at the access speed.
    far
        Whether the point is further than the snapping limit.
    """

    node: np.ndarray
    distance_m: np.ndarray
    seconds: np.ndarray
    far: np.ndarray

    @property
    def n_far(self) -> int:
        """Number of points further than the snapping limit."""
        return int(self.far.sum())


def snap_points(
    network: CompiledNetwork,
    points: gpd.GeoDataFrame,
    *,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    what: str = "points",
) -> Snap:
    """Snap points (EPSG:27700) to their nearest network node.

    Points further than ``max_snap_m`` are flagged in ``far``, never dropped;
    the callers warn about them (see :func:`warn_far`).

    Parameters
    ----------
    network
        From :func:`compile_network`.
    points
        Points in EPSG:27700.
    access_kmh
        Speed of the off-network leg.
    max_snap_m
        Distance beyond which a point is flagged as far.
    what
        What the points are, for messages.

    Returns
    -------
    Snap
        Node, distance, seconds and the far flag of each point.

    Raises
    ------
    InputError
        If the speed is not positive, or the points are not points in EPSG:27700.
    """
    if not access_kmh > 0:
        raise InputError(f"the access speed must be a positive number of km/h, not {access_kmh}")
    if points.crs is None or points.crs != settings.MEASURE_CRS:
        raise InputError(f"{what} must be in {settings.MEASURE_CRS} to be snapped to a network")
    if len(points) == 0:
        empty = np.zeros(0)
        return Snap(empty.astype(np.int64), empty, empty, empty.astype(bool))
    geoms = points.geometry
    if not (geoms.geom_type == "Point").all():
        raise InputError(f"{what} must be points", fix="Use .representative_point() for areas")
    xy = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])
    distance, node = network.tree.query(xy)
    far = distance > max_snap_m
    return Snap(
        node=node.astype(np.int64),
        distance_m=distance,
        seconds=distance / (access_kmh / 3.6),
        far=far,
    )


def _examples(ids: np.ndarray, *, most: int = 5) -> str:
    shown = ", ".join(str(i) for i in ids[:most])
    return shown + (f" and {len(ids) - most:,} more" if len(ids) > most else "")


def _outside() -> int:
    """``stacklevel`` of the first caller outside this module, for warnings raised in it."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
        level += 1
    return level


def warn_far(
    groups: Sequence[tuple[str, gpd.GeoDataFrame, Snap]],
    *,
    max_snap_m: float,
    access_kmh: float,
) -> None:
    """One :class:`~geomap.errors.TravelWarning` for all the points far from the network.

    Parameters
    ----------
    groups
        ``(what, points, snap)`` for each set of points of one call
        (``"origins"``, ``"destinations"``).
    max_snap_m
        The snapping limit the points were checked against.
    access_kmh
        Speed of the off-network legs, for the message.

    Warns
    -----
    TravelWarning
        When any point is further than ``max_snap_m`` from the network,
        counting them per set, naming a few and giving the furthest distance.
    """
    parts = []
    worst = 0.0
    for what, points, snap in groups:
        if not snap.n_far:
            continue
        ids = (
            points["id"].to_numpy()[snap.far]
            if "id" in points.columns
            else np.flatnonzero(snap.far)
        )
        parts.append(f"{snap.n_far:,} of {len(points):,} {what} (e.g. {_examples(ids)})")
        worst = max(worst, float(snap.distance_m[snap.far].max()))
    if parts:
        warnings.warn(
            f"{' and '.join(parts)} are more than {max_snap_m:,.0f} m from the network "
            f"(furthest {worst:,.0f} m); their times include that distance at {access_kmh:g} km/h",
            TravelWarning,
            stacklevel=_outside(),
        )


def _warn_unreachable(
    origins: gpd.GeoDataFrame, stranded: np.ndarray, *, destinations: int
) -> None:
    ids = origins["id"].to_numpy()[stranded]
    warnings.warn(
        f"{len(ids):,} of {len(origins):,} origins cannot reach any of the {destinations:,} "
        f"destinations over the network (e.g. {_examples(ids)}); they have no time",
        TravelWarning,
        stacklevel=_outside(),
    )


# --------------------------------------------------------------------------- node-level engine


def nearest_node_times(
    network: CompiledNetwork,
    targets: np.ndarray | Sequence[int],
    *,
    target_seconds: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from every node to its nearest target, and which target, in one pass.

    Parameters
    ----------
    network
        The compiled network.
    targets
        Row numbers of the target nodes (repeats allowed).
    target_seconds
        Seconds added at each target (its off-network leg); zeros by default.

    Returns
    -------
    seconds, which
        Per node: the least time of a journey from it to a target plus that
        target's extra seconds (``inf`` when none is reachable), and the
        position in ``targets`` of the target reached (``-1`` when none).

    Raises
    ------
    InputError
        If a target is not a node number, or ``target_seconds`` is not one
        finite number of seconds, 0 or more, per target.
    """
    targets = np.asarray(targets, dtype=np.int64)
    k = targets.shape[0]
    n = network.n_nodes
    if k == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    if targets.min() < 0 or targets.max() >= n:
        raise InputError(f"target nodes must be row numbers 0 to {n - 1}")
    extra = np.zeros(k) if target_seconds is None else np.asarray(target_seconds, dtype=float)
    if extra.shape != (k,) or not (np.isfinite(extra) & (extra >= 0)).all():
        raise InputError("give one finite number of seconds, 0 or more, per target")
    back = network.backward
    # one virtual node per target, with one edge to the target's node weighted by its leg
    indptr = np.concatenate([back.indptr, back.indptr[-1] + np.arange(1, k + 1, dtype=_INDEX)])
    indices = np.concatenate([back.indices, targets.astype(_INDEX)])
    data = np.concatenate([back.data, extra])
    augmented = sparse.csr_array((data, indices, indptr), shape=(n + k, n + k))
    dist, _, sources = dijkstra(
        augmented,
        directed=True,
        indices=np.arange(n, n + k),
        min_only=True,
        return_predecessors=True,
    )
    seconds = dist[:n]
    which = sources[:n].astype(np.int64) - n
    which[~np.isfinite(seconds)] = -1
    return seconds, which


def node_time_matrix(
    network: CompiledNetwork,
    from_nodes: np.ndarray | Sequence[int],
    to_nodes: np.ndarray | Sequence[int],
) -> np.ndarray:
    """Seconds from each of ``from_nodes`` to each of ``to_nodes`` (``inf`` where unreachable).

    Searches from whichever side has fewer distinct nodes, in blocks of at most
    :data:`MATRIX_BLOCK_BYTES`.

    Parameters
    ----------
    network
        The compiled network.
    from_nodes, to_nodes
        Row numbers of the start and end nodes (repeats allowed).

    Returns
    -------
    numpy.ndarray
        Seconds, one row per start node and one column per end node.
    """
    from_nodes = np.asarray(from_nodes, dtype=np.int64)
    to_nodes = np.asarray(to_nodes, dtype=np.int64)
    out = np.full((from_nodes.shape[0], to_nodes.shape[0]), np.inf)
    if out.size == 0:
        return out
    from_unique, from_pos = np.unique(from_nodes, return_inverse=True)
    to_unique, to_pos = np.unique(to_nodes, return_inverse=True)
    forwards = from_unique.shape[0] <= to_unique.shape[0]
    sources = from_unique if forwards else to_unique
    graph = network.forward if forwards else network.backward
    block = max(1, MATRIX_BLOCK_BYTES // (8 * network.n_nodes))
    for start in range(0, sources.shape[0], block):
        chunk = sources[start : start + block]
        dist = np.atleast_2d(dijkstra(graph, directed=True, indices=chunk))
        if forwards:
            rows = np.flatnonzero((from_pos >= start) & (from_pos < start + chunk.shape[0]))
            out[rows, :] = dist[from_pos[rows] - start][:, to_nodes]
        else:
            cols = np.flatnonzero((to_pos >= start) & (to_pos < start + chunk.shape[0]))
            out[:, cols] = dist[to_pos[cols] - start][:, from_nodes].T
    return out


# --------------------------------------------------------------------------- point-level


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class RunStats:
    """What happened to the points in one run (also in a result's ``attrs["geomap_network"]``)."""

    origins: int
    destinations: int
    far_origins: int
    far_destinations: int
    unreachable: int
    max_snap_m: float
    access_kmh: float

    def sentence(self) -> str:
        """The counts in words, for captions.

        Returns
        -------
        str
            E.g. "12 of 116 origins and 0 of 30 destinations are more than 1,000 m
            from the network".
        """
        parts = []
        if self.far_origins or self.far_destinations:
            parts.append(
                f"{self.far_origins:,} of {_count(self.origins, 'origin')} and "
                f"{self.far_destinations:,} of {_count(self.destinations, 'destination')} "
                f"{'is' if self.far_origins + self.far_destinations == 1 else 'are'} more than "
                f"{self.max_snap_m:,.0f} m from the network"
            )
        if self.unreachable:
            parts.append(
                f"{self.unreachable:,} of {_count(self.origins, 'origin')} cannot reach any "
                "destination (no time)"
            )
        return "; ".join(parts) if parts else "every point is near the network and has a time"


def nearest(
    network: CompiledNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    method: str = "network",
) -> pd.DataFrame:
    """Minutes from each origin to its nearest destination over the network, and which.

    Parameters
    ----------
    network
        From :func:`compile_network`.
    origins, destinations
        Points in EPSG:27700 with unique ``id`` values.
    access_kmh
        Speed of the off-network legs.
    max_snap_m
        Points further than this from the network are warned about and counted.
    method
        The ``method`` column's value.

    Returns
    -------
    pandas.DataFrame
        One row per origin, in origin order: ``from_id``, ``to_id`` (missing when
        no destination can be reached), ``minutes`` (NaN then) and ``method``.
        ``attrs["geomap_network"]`` holds the :class:`RunStats` counts.

    Raises
    ------
    InputError
        If the points have no unique ``id``, are not points, or are not in
        EPSG:27700, or ``access_kmh`` is not positive.

    Warns
    -----
    TravelWarning
        For points further than ``max_snap_m`` from the network, and for
        origins that reach no destination.
    """
    check_points(origins, what="origins")
    check_points(destinations, what="destinations")
    o = snap_points(network, origins, access_kmh=access_kmh, max_snap_m=max_snap_m, what="origins")
    d = snap_points(
        network, destinations, access_kmh=access_kmh, max_snap_m=max_snap_m, what="destinations"
    )
    node_seconds, which = nearest_node_times(network, d.node, target_seconds=d.seconds)
    seconds = o.seconds + node_seconds[o.node]
    chosen = which[o.node]
    reached = np.isfinite(seconds) & (chosen >= 0)
    dest_ids = destinations["id"].astype("string").to_numpy()
    to_id = pd.array([None] * len(origins), dtype="string")
    if reached.any():
        to_id[reached] = dest_ids[chosen[reached]]
    unreachable = int((~reached).sum()) if len(destinations) else len(origins)
    warn_far(
        [("origins", origins, o), ("destinations", destinations, d)],
        max_snap_m=max_snap_m,
        access_kmh=access_kmh,
    )
    if unreachable and len(destinations):
        _warn_unreachable(origins, ~reached, destinations=len(destinations))
    result = pd.DataFrame(
        {
            "from_id": origins["id"].to_numpy(),
            "to_id": to_id,
            "minutes": np.where(reached, seconds / 60.0, np.nan),
            "method": method,
            # where each end joined the network: the snap distance, metres
            "from_snap_m": np.round(o.distance_m, 1),
            "to_snap_m": np.where(reached, np.round(d.distance_m[np.maximum(chosen, 0)], 1), np.nan)
            if len(destinations)
            else np.nan,
        }
    )
    stats = RunStats(
        origins=len(origins),
        destinations=len(destinations),
        far_origins=o.n_far,
        far_destinations=d.n_far,
        unreachable=unreachable,
        max_snap_m=float(max_snap_m),
        access_kmh=float(access_kmh),
    )
    result.attrs["geomap_network"] = asdict(stats)
    return result


def matrix(
    network: CompiledNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    method: str = "network",
) -> pd.DataFrame:
    """Minutes from every origin to every destination over the network, long form.

    Parameters
    ----------
    network
        From :func:`compile_network`.
    origins, destinations
        Points in EPSG:27700 with unique ``id`` values.
    access_kmh
        Speed of the off-network legs.
    max_snap_m
        Points further than this from the network are warned about and counted.
    method
        The ``method`` column's value.

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``minutes`` (NaN where there is no journey) and
        ``method``, origin by origin; ``attrs["geomap_network"]`` counts far
        points and origins that reach none of the destinations.

    Raises
    ------
    InputError
        As for :func:`nearest`.

    Warns
    -----
    TravelWarning
        As for :func:`nearest`.
    """
    check_points(origins, what="origins")
    check_points(destinations, what="destinations")
    o = snap_points(network, origins, access_kmh=access_kmh, max_snap_m=max_snap_m, what="origins")
    d = snap_points(
        network, destinations, access_kmh=access_kmh, max_snap_m=max_snap_m, what="destinations"
    )
    seconds = node_time_matrix(network, o.node, d.node)
    seconds += o.seconds[:, None] + d.seconds[None, :]
    finite = np.isfinite(seconds)
    none_reached = ~finite.any(axis=1) if len(destinations) else np.ones(len(origins), dtype=bool)
    unreachable = int(none_reached.sum())
    warn_far(
        [("origins", origins, o), ("destinations", destinations, d)],
        max_snap_m=max_snap_m,
        access_kmh=access_kmh,
    )
    if unreachable and len(destinations):
        _warn_unreachable(origins, none_reached, destinations=len(destinations))
    if (~finite).any():
        logger.info("%s origin-destination pairs have no journey", f"{int((~finite).sum()):,}")
    result = pd.DataFrame(
        {
            "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
            "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
            "minutes": np.where(finite, seconds / 60.0, np.nan).ravel(),
            "method": method,
        }
    )
    result.attrs["geomap_network"] = asdict(
        RunStats(
            origins=len(origins),
            destinations=len(destinations),
            far_origins=o.n_far,
            far_destinations=d.n_far,
            unreachable=unreachable,
            max_snap_m=float(max_snap_m),
            access_kmh=float(access_kmh),
        )
    )
    return result


def isochrones(
    network: CompiledNetwork,
    destinations: gpd.GeoDataFrame,
    *,
    minutes: Sequence[float] = (15.0, 30.0, 45.0),
    direction: str = "to",
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    buffer_m: float = ISOCHRONE_BUFFER_M,
) -> gpd.GeoDataFrame:
    """Areas from which each destination is reachable within each number of minutes.

    The area is the set of street stretches within the time (a partly reached
    edge counts up to the point the time runs out), widened by ``buffer_m`` on
    each side: an honest shape that does not jump rivers or fill the fields
    between roads. The destination's off-network leg counts; the origin's
    (somewhere in the band) does not. The band is traced on a grid of cells
    ``buffer_m / 2`` wide (coarser for areas over 16 million cells), so its
    edge is within about a cell of the exact band.

    Parameters
    ----------
    network
        From :func:`compile_network`.
    destinations
        Points in EPSG:27700 with unique ``id`` values.
    minutes
        Time limits, in minutes.
    direction
        ``"to"``: journeys to the destination (its catchment, the default);
        ``"from"``: journeys from it.
    access_kmh, max_snap_m
        As for :func:`nearest`.
    buffer_m
        Half-width of the band around reachable streets, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per destination and limit: ``id``, ``minutes`` and a polygon
        (empty when even the off-network leg takes longer), in EPSG:27700.

    Raises
    ------
    InputError
        If the destinations are not points in EPSG:27700 with unique ids, the
        direction is neither ``"to"`` nor ``"from"``, or a limit or
        ``buffer_m`` is not positive.

    Warns
    -----
    TravelWarning
        For destinations further than ``max_snap_m`` from the network.
    """
    check_points(destinations, what="destinations")
    if direction not in ("to", "from"):
        raise InputError(f"direction must be 'to' or 'from', not '{direction}'")
    limits = sorted({float(m) for m in minutes})
    if not limits or limits[0] <= 0:
        raise InputError("isochrone minutes must be positive numbers", fix="e.g. minutes=[15, 30]")
    if not buffer_m > 0:
        raise InputError(f"buffer_m must be positive, not {buffer_m}")
    d = snap_points(
        network, destinations, access_kmh=access_kmh, max_snap_m=max_snap_m, what="destinations"
    )
    warn_far([("destinations", destinations, d)], max_snap_m=max_snap_m, access_kmh=access_kmh)
    forward = network.forward
    tails = np.repeat(np.arange(network.n_nodes), np.diff(forward.indptr))
    heads = forward.indices.astype(np.int64)
    weights = forward.data
    # "to": a point on edge tail→head reaches the destination through the head;
    # "from": the destination reaches a point on the edge through the tail
    known, other = (heads, tails) if direction == "to" else (tails, heads)
    graph = network.backward if direction == "to" else network.forward
    xy = np.column_stack([network.x, network.y])
    ids, mins, geoms = [], [], []
    for j, dest_id in enumerate(destinations["id"].to_numpy()):
        start = float(d.seconds[j])
        budget = limits[-1] * 60.0 - start
        dist = np.full(network.n_nodes, np.inf)
        if budget >= 0:
            dist = dijkstra(graph, directed=True, indices=int(d.node[j]), limit=budget) + start
        point = destinations.geometry.iloc[j]
        for limit in limits:
            ids.append(dest_id)
            mins.append(limit)
            geoms.append(
                _reached_area(
                    dist=dist,
                    seconds=limit * 60.0,
                    known=known,
                    other=other,
                    weights=weights,
                    xy=xy,
                    point=(point.x, point.y),
                    node=int(d.node[j]),
                    start=start,
                    buffer_m=buffer_m,
                )
            )
    result = gpd.GeoDataFrame(
        {"id": ids, "minutes": mins}, geometry=geoms, crs=settings.MEASURE_CRS
    )
    result.attrs["geomap_network"] = {
        "direction": direction,
        "buffer_m": float(buffer_m),
        "far_destinations": d.n_far,
    }
    return result


def _reached_area(
    *,
    dist: np.ndarray,
    seconds: float,
    known: np.ndarray,
    other: np.ndarray,
    weights: np.ndarray,
    xy: np.ndarray,
    point: tuple[float, float],
    node: int,
    start: float,
    buffer_m: float,
) -> BaseGeometry:
    if start > seconds:
        return shapely.Polygon()
    t_known = dist[known]
    live = t_known <= seconds
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(weights[live] > 0, (seconds - t_known[live]) / weights[live], 1.0)
    share = np.clip(share, 0.0, 1.0)
    a = xy[known[live]]
    b = a + share[:, None] * (xy[other[live]] - a)
    # the destination's own leg, as far along it as time allows
    here = np.array(point, dtype=float)
    leg = 1.0 if start == 0 else min(1.0, seconds / start)
    a = np.vstack([a, here])
    b = np.vstack([b, here + leg * (xy[node] - here)])
    return _band(a, b, buffer_m)


#: Most cells of the grid :func:`_band` draws on; wider areas get coarser cells.
_BAND_MAX_CELLS = 16_000_000


def _band(a: np.ndarray, b: np.ndarray, width_m: float) -> BaseGeometry:
    """The area within ``width_m`` of the segments ``a[i]``-``b[i]``, drawn on a grid.

    Exact buffering and union of tens of thousands of street segments takes
    GEOS seconds per polygon; drawing the segments on a grid of cells half the
    width, widening them by ``width_m`` and tracing the cells is about a
    hundred times faster and within a cell of the exact band.
    """
    lo = np.minimum(a.min(axis=0), b.min(axis=0)) - 2 * width_m
    hi = np.maximum(a.max(axis=0), b.max(axis=0)) + 2 * width_m
    extent = hi - lo
    cell = max(width_m / 2.0, float(np.sqrt(extent[0] * extent[1] / _BAND_MAX_CELLS)))
    # points along each segment, no more than a cell apart
    step = b - a
    count = np.ceil(np.hypot(step[:, 0], step[:, 1]) / cell).astype(np.int64) + 1
    owner = np.repeat(np.arange(a.shape[0]), count)
    first = np.cumsum(count) - count
    along = (np.arange(owner.shape[0]) - first[owner]) / np.maximum(count[owner] - 1, 1)
    pts = a[owner] + along[:, None] * step[owner]
    shape = (int(np.ceil(extent[1] / cell)) + 1, int(np.ceil(extent[0] * 1.0 / cell)) + 1)
    grid = np.zeros(shape, dtype=bool)
    grid[
        ((pts[:, 1] - lo[1]) // cell).astype(np.int64),
        ((pts[:, 0] - lo[0]) // cell).astype(np.int64),
    ] = True
    reach = int(np.ceil(width_m / cell))
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    disc = (dx * cell) ** 2 + (dy * cell) ** 2 <= width_m**2
    grid = ndimage.binary_dilation(grid, structure=disc)
    # one rectangle per run of cells in a row, merged
    edges = np.diff(np.pad(grid.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    boxes = shapely.box(
        lo[0] + starts * cell, lo[1] + rows * cell, lo[0] + ends * cell, lo[1] + (rows + 1) * cell
    )
    return shapely.simplify(shapely.union_all(boxes), cell)


# --------------------------------------------------------------------------- the interface


class NetworkTravelTimes(TravelTimes):
    """Travel times over an OpenStreetMap network: car (``drive``), walking or cycling.

    Parameters
    ----------
    network
        A network graph (travel times are added with the default speeds, to a
        copy, if its edges have none: the graph given is never changed) or an
        already compiled network.
    mode
        ``drive``/``car``, ``walk`` or ``bike``; the mode recorded on the
        network by default.
    access_kmh
        Speed of the off-network legs between points and their nearest node.
    max_snap_m
        Points further than this from the network are warned about and counted.

    Attributes
    ----------
    mode
        ``car``, ``walk`` or ``bike``.
    method
        ``network:drive``, ``network:walk`` or ``network:bike``.
    network
        The compiled network.

    Raises
    ------
    InputError
        If the network was built for another mode.
    EmptyNetworkError
        If it has no nodes or edges.
    """

    #: bands along the streets reachable within each time
    draws_isochrones = True

    def __init__(
        self,
        network: nx.MultiDiGraph | CompiledNetwork,
        *,
        mode: str | None = None,
        access_kmh: float = settings.NETWORK_ACCESS_KMH,
        max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    ) -> None:
        if isinstance(network, CompiledNetwork):
            compiled = network
        else:
            if any(w is None for _, _, w in network.edges(data="travel_time")):
                # time a copy: the caller's graph stays as it was
                network = add_travel_times(network.copy(), mode=mode)
            compiled = compile_network(network)
        recorded = compiled.info.get("mode")
        self.network_mode = network_mode(mode or recorded or "drive")
        if recorded is not None and recorded != self.network_mode:
            raise InputError(f"this network was built for {recorded}, not {self.network_mode}")
        self.mode = settings.NETWORK_MODES[self.network_mode]
        self.method = f"network:{self.network_mode}"
        self.network = compiled
        self.access_kmh = float(access_kmh)
        self.max_snap_m = float(max_snap_m)

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        mode: str | None = None,
        speeds: Mapping[str, float] | float | None = None,
        access_kmh: float = settings.NETWORK_ACCESS_KMH,
        max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    ) -> NetworkTravelTimes:
        """Load a network file (see :func:`geomap.osm.load_graph`) and time its edges.

        Edges keep the travel times saved with them unless ``speeds`` is given
        or they have none.

        Parameters
        ----------
        path
            GraphML, ``.osm`` or ``.osm.pbf``.
        mode
            ``drive``/``car``, ``walk`` or ``bike``; the file's own by default.
        speeds
            Speeds replacing the defaults (see :func:`geomap.osm.add_travel_times`).
        access_kmh, max_snap_m
            As for the class.

        Returns
        -------
        NetworkTravelTimes
            The source.

        Raises
        ------
        InputError
            Naming the file, if it cannot be read as a network of that mode.
        """
        graph = load_graph(path, mode=mode)
        if speeds is not None or any(w is None for _, _, w in graph.edges(data="travel_time")):
            add_travel_times(graph, mode=mode, speeds=speeds)
        return cls(graph, mode=mode, access_kmh=access_kmh, max_snap_m=max_snap_m)

    def _caption(self, run: RunStats | None) -> str:
        info = self.network.info
        what = {"drive": "car", "walk": "walking", "bike": "cycling"}[self.network_mode]
        origin = info.get("source", "an OpenStreetMap network")
        if info.get("date"):
            origin += f", {info['date']}"
        text = (
            f"Shortest {what} travel times over the OpenStreetMap network ({origin}; "
            f"{self.network.n_nodes:,} nodes)"
        )
        if info.get("speeds"):
            text += f", with {info['speeds']}"
        text += (
            f". Each point joins the network at its nearest node and the gap is covered at "
            f"{self.access_kmh:g} km/h"
        )
        if run is not None:
            text += f"; {run.sentence()}"
        return f"{text}. Map data © OpenStreetMap contributors (ODbL 1.0)."

    def describe(self) -> str:
        """Caption text: OSM network times, where the network came from, speeds and snapping.

        Returns
        -------
        str
            The general description; each result's own (with its snapping
            counts) is in its ``attrs["description"]``.
        """
        return self._caption(None)

    def extent_lonlat(self) -> tuple[float, float, float, float]:
        """Bounds of the network's nodes.

        Returns
        -------
        tuple of float
            ``(west, south, east, north)`` in lon/lat.
        """
        return self.network.extent_lonlat()

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Minutes from every origin to every destination over the network (see :func:`matrix`).

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            Long form; ``attrs["description"]`` is the caption with this
            result's snapping counts.

        Raises
        ------
        InputError
            As for :func:`nearest`.

        Warns
        -----
        TravelWarning
            As for :func:`nearest`.
        """
        result = matrix(
            self.network,
            origins,
            destinations,
            access_kmh=self.access_kmh,
            max_snap_m=self.max_snap_m,
            method=self.method,
        )
        return describe_result(result, self._caption(RunStats(**result.attrs["geomap_network"])))

    def nearest(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Nearest destination by network time, in one multi-source pass (see :func:`nearest`).

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            One row per origin; ``attrs["description"]`` is the caption with this
            result's snapping counts.

        Raises
        ------
        InputError
            As for :func:`nearest`.

        Warns
        -----
        TravelWarning
            As for :func:`nearest`.
        """
        result = nearest(
            self.network,
            origins,
            destinations,
            access_kmh=self.access_kmh,
            max_snap_m=self.max_snap_m,
            method=self.method,
        )
        return describe_result(result, self._caption(RunStats(**result.attrs["geomap_network"])))

    def isochrones(
        self,
        sites: gpd.GeoDataFrame,
        *,
        minutes: Sequence[float] = (15.0, 30.0, 45.0),
        direction: str = "to",
        buffer_m: float = ISOCHRONE_BUFFER_M,
    ) -> gpd.GeoDataFrame:
        """Areas reachable within each number of minutes of each site (see :func:`isochrones`).

        Parameters
        ----------
        sites
            Points with unique ``id`` in EPSG:27700.
        minutes
            Time limits.
        direction
            ``"to"`` the site (its catchment) or ``"from"`` it.
        buffer_m
            Half-width of the band around reachable streets, metres.

        Returns
        -------
        geopandas.GeoDataFrame
            ``id``, ``minutes`` and the area, one row per site and limit;
            ``attrs["description"]`` is the caption.

        Raises
        ------
        InputError
            As for :func:`isochrones`.

        Warns
        -----
        TravelWarning
            For sites far from the network.
        """
        result = isochrones(
            self.network,
            sites,
            minutes=minutes,
            direction=direction,
            access_kmh=self.access_kmh,
            max_snap_m=self.max_snap_m,
            buffer_m=buffer_m,
        )
        result.attrs["description"] = self.describe()
        return result
