"""Travel times over an OpenStreetMap network, with a fast multi-source engine.

A network (:mod:`geomap.osm`) is compiled once into two sparse matrices of
edge travel times in seconds, ``forward[u, v]`` and its transpose, built
straight from the edge arrays and keeping the quickest of parallel edges, plus
node coordinates in British National Grid and the edges themselves, with
their shapes, for snapping points onto streets.

How a point joins the network
    Each point joins the network at the nearest point of the nearest *street*,
    not at the nearest node: osmnx simplifies a network to its junctions, and a
    rural lane can run a kilometre or two between them, so a home halfway
    along it would otherwise be walked to a junction far away. A street is an
    edge's shape (osmnx's simplified edges carry a ``geometry`` LineString;
    edges without one are the straight line between their nodes), kept once
    for the edges drawn along it: the two directions of a two-way street, or
    parallel edges drawn alike (the quickest each way is kept). Parallel edges
    with different shapes are different streets. A :class:`shapely.STRtree`
    over the streets' straight pieces, built the first time points are
    snapped, finds each point's nearest piece, and the foot of the
    perpendicular on it is found exactly (:func:`snap_points`).

How a journey is timed
    From where it joins its street, an origin reaches the street's two end
    nodes in the street's time each way scaled by the share of the street's
    length on that side, but only the ways the street may be travelled: on a
    one-way street tail → head an origin can only go on to the head, and a
    destination on it can only be reached from the tail. An origin and a
    destination on the same street also have the direct way along it, when
    the street's direction allows. The straight *access leg* between each
    point and where it joins its street (the *snap distance*, in the results
    as ``from_snap_m`` and ``to_snap_m``) is added at
    :data:`geomap.settings.NETWORK_ACCESS_KMH` (walking pace). A point exactly
    on a node joins there, with the same time as joining at that node. Points
    further than ``max_snap_m`` from any street keep their times, are counted
    in the result's description and are warned about (a
    :class:`~geomap.errors.TravelWarning`, once per call). Edges are directed,
    so one-way streets are driven only their way, and every time is for the
    journey origin → destination.

The nearest destination, in one pass
    :func:`nearest` runs one multi-source Dijkstra
    (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True``) over the
    *transposed* matrix, which gives journeys *to* the destinations. Each
    destination gets a virtual node joined to the ends of its street by the
    time along the street plus its own access leg, and the search starts from
    the virtual nodes, so the destination's place on its street and its leg
    count exactly when choosing the nearest; the search's ``sources`` say
    which destination won. Each origin then takes the quicker of its street's
    ends (or a destination further along its own street). Origins that cannot reach any
    destination (an island, the wrong end of a one-way street) get NaN and are
    counted and warned about, never dropped.

Also
    :func:`matrix` for every origin × destination pair (a virtual source per
    point on the side with fewer points, joined to its street's ends, one
    search each: as many searches as points, see :func:`snap_time_matrix`),
    and :func:`isochrones`,
    the area from which each destination is reachable within N minutes.
    :class:`NetworkTravelTimes` puts all of this behind the
    :class:`~geomap.travel.base.TravelTimes` interface, with
    ``method = "network:<drive|walk|bike>"``; every table it returns carries
    the caption of that result (with its own snapping counts) in
    ``attrs["description"]``. A graph given to it is never changed.

Asking again costs little
    A compiled network keeps (:class:`RoutingCache`, at most
    :data:`ROUTING_CACHE_BYTES` of node times) the points it has snapped and
    the node times of the searches from single points, so a report that asks
    the same areas against each kind's providers, sites and post-16 places
    snaps and searches each point once; what is kept is exactly what a fresh
    search gives. The streets keep the nearest piece of every point snapped
    (:class:`KnownPieces`), so a point met again in another set of points is
    not looked up in the index again. :meth:`NetworkTravelTimes.within` (:func:`matrix_within`)
    gives only the journeys within a time limit, stopping each search there
    (or reusing whole searches kept), with the same minutes as :func:`matrix`.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import ndimage, sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geomap import settings
from geomap._parallel import fill_rows
from geomap.errors import EmptyNetworkError, InputError, TravelTimeError, TravelWarning
from geomap.osm import add_travel_times, network_info, network_mode
from geomap.travel.base import TravelTimes, check_points, describe_result

if TYPE_CHECKING:
    import networkx as nx

    from geomap.travel.compact import CompactNetwork

logger = logging.getLogger(__name__)

#: Largest block of node times (sources × nodes, float64) computed at once by :func:`matrix`.
MATRIX_BLOCK_BYTES = 256 * 2**20
#: Half-width (metres) of the band drawn around reachable streets in :func:`isochrones`.
ISOCHRONE_BUFFER_M = 100.0

#: Most bytes of node times kept for reuse per compiled network (see :class:`RoutingCache`):
#: 512 MiB holds some 450 searches' node times on a 150,000-node county network.
ROUTING_CACHE_BYTES = 512 * 2**20
#: Most sets of snapped points kept per compiled network (see :class:`RoutingCache`).
SNAP_CACHE_SETS = 64
#: Most points whose nearest street piece is kept for reuse (see :class:`KnownPieces`).
KNOWN_PIECES_MAX = 1_000_000

_INDEX = np.int32


class RoutingCache:
    """What a compiled network keeps between calls, so that asking again costs little.

    Two things, both exactly what a fresh computation gives:

    * snapped point sets (:func:`snap_points`), keyed by the points'
      coordinates, the access speed and the snapping limit, at most
      ``max_snaps`` of them;
    * node times of searches from single points (a virtual source joined to
      its street's ends, see :func:`snap_time_matrix`), keyed by the direction
      of the search and the point's entry nodes and seconds, at most
      ``max_bytes`` of them (float64, one per node each), the least recently
      used dropped first.

    A report asks the same origins (areas, postcodes) against many sets of
    destinations (each kind's providers, sites, post-16 places): each point is
    then snapped and searched once. The cache is the network's own (a network
    compiled on other weights has its own) and is never pickled (a copy sent
    to another process starts empty).

    Parameters
    ----------
    max_bytes
        Most bytes of node times kept (0 keeps none).
    max_snaps
        Most snapped point sets kept (0 keeps none).
    """

    def __init__(
        self, *, max_bytes: int = ROUTING_CACHE_BYTES, max_snaps: int = SNAP_CACHE_SETS
    ) -> None:
        self.max_bytes = int(max_bytes)
        self.max_snaps = int(max_snaps)
        self._fields: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._snaps: OrderedDict[bytes, Snap] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.searches = 0
        self.reused = 0

    def __reduce__(self) -> tuple[type[RoutingCache], tuple[()], dict[str, int]]:
        return (RoutingCache, (), {"max_bytes": self.max_bytes, "max_snaps": self.max_snaps})

    def __setstate__(self, state: dict[str, int]) -> None:
        self.max_bytes = state["max_bytes"]
        self.max_snaps = state["max_snaps"]

    @property
    def nbytes(self) -> int:
        """Bytes of node times held now."""
        return self._bytes

    def clear(self) -> None:
        """Forget everything kept."""
        with self._lock:
            self._fields.clear()
            self._snaps.clear()
            self._bytes = 0

    def field(self, key: bytes) -> np.ndarray | None:
        """The node times kept under ``key``, or ``None``.

        Parameters
        ----------
        key
            From :func:`_field_keys`.

        Returns
        -------
        numpy.ndarray or None
            Read-only node times.
        """
        with self._lock:
            found = self._fields.get(key)
            if found is not None:
                self._fields.move_to_end(key)
            return found

    def keep_field(self, key: bytes, values: np.ndarray, *, copy: bool = True) -> None:
        """Keep node times under ``key``, dropping the least recently used over the limit.

        Parameters
        ----------
        key
            From :func:`_field_keys`.
        values
            Node times of one search.
        copy
            Keep a copy; with ``False`` a read-only view of ``values`` is kept
            (for node times that nothing else will change: a search's own
            result, which then stays in memory while any of its rows is kept).
        """
        size = int(values.nbytes)
        if size > self.max_bytes:
            return
        if copy or values.dtype != np.float64:
            kept = np.array(values, dtype=float, copy=True)
        else:
            kept = values.view()
        kept.flags.writeable = False
        with self._lock:
            old = self._fields.pop(key, None)
            if old is not None:
                self._bytes -= int(old.nbytes)
            self._fields[key] = kept
            self._bytes += size
            while self._bytes > self.max_bytes and self._fields:
                _, dropped = self._fields.popitem(last=False)
                self._bytes -= int(dropped.nbytes)

    def snap(self, key: bytes) -> Snap | None:
        """The snapped points kept under ``key``, or ``None``.

        Parameters
        ----------
        key
            Coordinates and settings, as :func:`snap_points` makes it.

        Returns
        -------
        Snap or None
            Read-only snaps.
        """
        with self._lock:
            found = self._snaps.get(key)
            if found is not None:
                self._snaps.move_to_end(key)
            return found

    def keep_snap(self, key: bytes, snap: Snap) -> None:
        """Keep snapped points under ``key``, dropping the oldest over the limit.

        Parameters
        ----------
        key
            Coordinates and settings, as :func:`snap_points` makes it.
        snap
            The snaps (their arrays are made read-only).
        """
        if self.max_snaps <= 0:
            return
        for values in _fields(snap).values():
            values.flags.writeable = False
        with self._lock:
            self._snaps[key] = snap
            self._snaps.move_to_end(key)
            while len(self._snaps) > self.max_snaps:
                self._snaps.popitem(last=False)


class KnownPieces:
    """The nearest street piece of each point already snapped, by its exact coordinates.

    A report snaps the same points (areas, postcodes) in many sets; the
    nearest piece of a point depends only on the streets' shapes, so it is
    looked up once and shared by every network timed on those shapes. Points
    are matched by the bytes of their coordinates, so what is reused is
    exactly what a fresh look-up gives. Never pickled (a copy starts empty).

    Parameters
    ----------
    max_points
        Most points kept (no more are added once it is reached).
    """

    def __init__(self, *, max_points: int = KNOWN_PIECES_MAX) -> None:
        self.max_points = int(max_points)
        self._keys = np.zeros(0, dtype=_POINT_KEY)
        self._pieces = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[KnownPieces], tuple[()], dict[str, int]]:
        return (KnownPieces, (), {"max_points": self.max_points})

    def __setstate__(self, state: dict[str, int]) -> None:
        self.max_points = state["max_points"]

    def __len__(self) -> int:
        return int(self._keys.shape[0])

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Each point's kept piece, or -1 where none is kept.

        Parameters
        ----------
        keys
            The points' coordinates, from :func:`_point_keys`.

        Returns
        -------
        numpy.ndarray
            Piece numbers (int64), -1 for points not seen before.
        """
        with self._lock:
            known, pieces = self._keys, self._pieces
        found = np.full(keys.shape[0], -1, dtype=np.int64)
        if known.shape[0] == 0 or keys.shape[0] == 0:
            return found
        at = np.minimum(np.searchsorted(known, keys), known.shape[0] - 1)
        hit = known[at] == keys
        found[hit] = pieces[at[hit]]
        return found

    def keep(self, keys: np.ndarray, pieces: np.ndarray) -> None:
        """Keep the pieces found for some points, while there is room.

        Parameters
        ----------
        keys
            The points' coordinates, from :func:`_point_keys`.
        pieces
            Each point's nearest piece.
        """
        with self._lock:
            room = self.max_points - self._keys.shape[0]
            if room <= 0 or keys.shape[0] == 0:
                return
            new_keys, first = np.unique(keys, return_index=True)
            new_keys, new_pieces = new_keys[:room], pieces[first][:room]
            merged = np.concatenate([self._keys, new_keys])
            order = np.argsort(merged, kind="stable")
            merged = merged[order]
            fresh = np.ones(merged.shape[0], dtype=bool)
            fresh[1:] = merged[1:] != merged[:-1]
            self._keys = merged[fresh]
            self._pieces = np.concatenate([self._pieces, new_pieces])[order][fresh]


#: One point's coordinates as 16 raw bytes (x then y, float64).
_POINT_KEY = np.dtype((np.void, 16))


def _point_keys(xy: np.ndarray) -> np.ndarray:
    """Each row ``(x, y)`` of ``xy`` (float64) as one 16-byte key, for exact matching."""
    return np.ascontiguousarray(xy, dtype=float).view(_POINT_KEY).reshape(-1)


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
        k-d tree over the node coordinates.
    info
        Where the network came from (:func:`geomap.osm.network_info`).
    edges
        Every directed edge with its own time and shape, for snapping points
        onto streets (``None``: the edges of ``forward``, drawn straight).
    cache
        Snapped points and node times kept for reuse (:class:`RoutingCache`).
    """

    forward: sparse.csr_array
    backward: sparse.csr_array
    x: np.ndarray
    y: np.ndarray
    node_ids: np.ndarray
    tree: cKDTree
    info: dict[str, str] = field(default_factory=dict)
    edges: EdgeList | None = None
    cache: RoutingCache = field(default_factory=RoutingCache, repr=False, compare=False)
    shapes: dict[str, Streets] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def streets(self) -> Streets:
        """The streets points are snapped onto, with their spatial index (built on first use).

        Networks that differ only in their weights (:func:`reweighted`) share
        one build of the streets' shapes and index (in ``shapes``); each
        times the streets by its own edges.
        """
        edges = self.edges
        if edges is None:
            forward = self.forward
            edges = EdgeList(
                u=np.repeat(np.arange(self.n_nodes), np.diff(forward.indptr)),
                v=forward.indices.astype(np.int64),
                seconds=np.asarray(forward.data, dtype=float),
            )
            return _build_streets(edges, self.x, self.y)
        built = self.shapes.get("streets")
        if built is None or built.edge_street is None or built.edge_flip is None:
            built = _build_streets(edges, self.x, self.y)
            self.shapes["streets"] = built
            return built
        forward_s, backward_s = _street_times(
            built.tail.shape[0],
            built.edge_street,
            built.edge_flip,
            np.asarray(edges.seconds, float),
        )
        return replace(built, forward_s=forward_s, backward_s=backward_s)

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


@dataclass(frozen=True, eq=False)
class EdgeList:
    """The directed edges of a network as compiled, parallel edges and all.

    Attributes
    ----------
    u, v
        Each edge's start and end node (row numbers).
    seconds
        Each edge's travel time.
    geometry
        Each edge's shape from ``u`` to ``v`` (a shapely LineString in
        ``crs``), or ``None`` where the edge is the straight line between its
        nodes; ``None`` for all.
    crs
        The coordinate system of ``geometry``.
    inner_xy, inner_offsets
        The shapes as arrays instead of ``geometry`` (which is then ``None``):
        the vertices between each edge's end nodes, metres in EPSG:27700,
        edge ``e``'s being ``inner_xy[inner_offsets[e]:inner_offsets[e + 1]]``
        (none for a straight edge); ``None`` when not given.
    """

    u: np.ndarray
    v: np.ndarray
    seconds: np.ndarray
    geometry: np.ndarray | None = None
    crs: str = settings.MEASURE_CRS
    inner_xy: np.ndarray | None = None
    inner_offsets: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Streets:
    """Streets (the two directions of a way between two nodes, kept once) and their index.

    A street runs from node ``tail`` to node ``head`` along its shape; the
    edges that share that shape (one each way on a two-way street, or several
    parallel edges drawn alike) give its time each way, the quickest kept.

    Attributes
    ----------
    tail, head
        End nodes (row numbers); the shape runs tail → head.
    forward_s, backward_s
        Seconds tail → head and head → tail (``inf`` where that way is not allowed).
    length_m
        Length of the shape, metres.
    segment_street, x0, y0, x1, y1, start_m
        Each straight piece of each shape: its street, its ends and how far
        along its street it starts.
    first, last
        Whether the piece is its street's first or last.
    tree
        A :class:`shapely.STRtree` over the pieces (``None`` when there are none).
    edge_street, edge_flip
        Each edge's street, and whether the edge runs head → tail (``None``
        when not known), so that the streets can be timed again by other weights.
    known
        The nearest piece of the points snapped so far (:class:`KnownPieces`),
        shared by the streets timed again by other weights.
    """

    tail: np.ndarray
    head: np.ndarray
    forward_s: np.ndarray
    backward_s: np.ndarray
    length_m: np.ndarray
    segment_street: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    start_m: np.ndarray
    first: np.ndarray
    last: np.ndarray
    tree: shapely.STRtree | None
    edge_street: np.ndarray | None = None
    edge_flip: np.ndarray | None = None
    known: KnownPieces = field(default_factory=KnownPieces, repr=False, compare=False)


def _edge_coordinates(
    edges: EdgeList, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each edge's shape in EPSG:27700 as flat coordinates: ``xy``, owner edge and offsets.

    Straight edges get their two nodes; shaped edges their vertices, projected,
    with the ends set exactly on their nodes.
    """
    m = edges.u.shape[0]
    count = np.full(m, 2, dtype=np.int64)
    shaped = np.zeros(m, dtype=bool)
    inner_xy = np.zeros((0, 2))
    inner_owner = np.zeros(0, dtype=np.int64)
    if edges.inner_offsets is not None and edges.inner_xy is not None:
        n_inner: np.ndarray = np.diff(np.asarray(edges.inner_offsets, dtype=np.int64))
        count = count + n_inner
        inner_xy = np.asarray(edges.inner_xy, dtype=float).reshape(-1, 2)
        inner_owner = np.repeat(np.arange(m, dtype=np.int64), n_inner)
    elif edges.geometry is not None and m:
        geoms = np.asarray(edges.geometry, dtype=object)
        is_line = np.fromiter(
            (isinstance(g, shapely.LineString) for g in geoms), dtype=bool, count=m
        )
        rows = np.flatnonzero(is_line)
        if rows.size:
            lines = geoms[rows]
            n_coords = shapely.get_num_coordinates(lines)
            bent = n_coords > 2
            rows, lines, n_coords = rows[bent], lines[bent], n_coords[bent]
            if rows.size:
                coords, owner = shapely.get_coordinates(lines, return_index=True)
                if pyproj.CRS(edges.crs) != pyproj.CRS(settings.MEASURE_CRS):
                    transformer = pyproj.Transformer.from_crs(
                        edges.crs, settings.MEASURE_CRS, always_xy=True
                    )
                    cx, cy = transformer.transform(coords[:, 0], coords[:, 1])
                    coords = np.column_stack([cx, cy])
                # the vertices between the ends; the ends are the nodes themselves
                starts = np.cumsum(n_coords) - n_coords
                position = np.arange(owner.shape[0]) - starts[owner]
                inner = (position > 0) & (position < n_coords[owner] - 1)
                inner_xy = coords[inner]
                inner_owner = rows[owner[inner]]
                shaped[rows] = True
                count[rows] = n_coords
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    xy = np.empty((int(offsets[-1]), 2))
    xy[offsets[:-1], 0] = x[edges.u]
    xy[offsets[:-1], 1] = y[edges.u]
    xy[offsets[1:] - 1, 0] = x[edges.v]
    xy[offsets[1:] - 1, 1] = y[edges.v]
    if inner_owner.size:
        # inner vertices are in edge order, so each fills its edge's middle in turn
        if inner_owner.shape[0] > 1 and bool((inner_owner[1:] < inner_owner[:-1]).any()):
            order = np.argsort(inner_owner, kind="stable")
            inner_owner, inner_xy = inner_owner[order], inner_xy[order]
        first_inner = np.searchsorted(inner_owner, inner_owner, side="left")
        slot = offsets[inner_owner] + 1 + (np.arange(inner_owner.shape[0]) - first_inner)
        xy[slot] = inner_xy
    owner_of = np.repeat(np.arange(m), count)
    return xy, owner_of, offsets


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions ``starts[i] .. starts[i] + counts[i] - 1`` of every ``i``, one after another."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    step = np.ones(total, dtype=np.int64)
    nonempty = counts > 0
    first = (ends - counts)[nonempty]
    step[0] = starts[nonempty][0]
    step[first[1:]] = starts[nonempty][1:] - (starts[nonempty][:-1] + counts[nonempty][:-1] - 1)
    return np.cumsum(step)


def _shape_keys(oriented: np.ndarray, owner: np.ndarray, first: np.ndarray) -> np.ndarray:
    """A 64-bit summary of each shape's vertices (equal shapes, equal keys; checked after)."""
    bits = np.ascontiguousarray(oriented).view(np.uint64).reshape(-1, 2)
    position = (np.arange(owner.shape[0], dtype=np.int64) - first[owner]).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = (
            bits[:, 0] * np.uint64(0x9E3779B97F4A7C15)
            + bits[:, 1] * np.uint64(0xC2B2AE3D27D4EB4F)
            + (position + np.uint64(1)) * np.uint64(0x165667B19E3779F9)
        )
        mixed ^= mixed >> np.uint64(31)
        mixed *= np.uint64(0xFF51AFD7ED558CCD)
    if first.size and owner.size and bool((np.diff(first) > 0).all()) and first[-1] < owner.size:
        # each shape's vertices run together (as :func:`_group_shapes` has them): sum by runs
        return np.add.reduceat(mixed, first)
    out = np.zeros(first.shape[0], dtype=np.uint64)
    np.add.at(out, owner, mixed)
    return out


def _group_shapes(
    xy: np.ndarray,
    offsets: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    flip: np.ndarray,
    street: np.ndarray,
    n_straight: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Give each shaped edge its street: one per end pair and shape drawn from the lower node.

    Sets ``flip`` (loops: drawn from the smaller vertex list) and ``street`` (numbered
    from ``n_straight``, in order of each street's first edge) of the shaped
    edges; returns the streets' vertices, one street after another, and their counts.
    """
    count = np.diff(offsets)
    shaped = np.flatnonzero(count != 2)
    if shaped.size == 0:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    for e in shaped[u[shaped] == v[shaped]].tolist():
        coords = xy[offsets[e] : offsets[e + 1]]
        flip[e] = bool(tuple(coords[::-1].ravel()) < tuple(coords.ravel()))
    n_coords = count[shaped]
    first = np.cumsum(n_coords) - n_coords
    owner = np.repeat(np.arange(shaped.shape[0], dtype=np.int64), n_coords)
    position = np.arange(owner.shape[0], dtype=np.int64) - first[owner]
    backwards = flip[shaped][owner]
    source = offsets[shaped][owner] + np.where(backwards, n_coords[owner] - 1 - position, position)
    oriented = xy[source]
    low = np.minimum(u[shaped], v[shaped])
    high = np.maximum(u[shaped], v[shaped])
    # one 64-bit key per end pair, vertex count and shape: equal streets, equal keys
    with np.errstate(over="ignore"):
        summary = _shape_keys(oriented, owner, first) ^ (
            low.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93)
            + high.astype(np.uint64) * np.uint64(0xA0761D6478BD642F)
            + n_coords.astype(np.uint64) * np.uint64(0xE7037ED1A0B428DB)
        )
    order = np.argsort(summary, kind="stable")
    sorted_summary = summary[order]
    new_group = np.ones(order.shape[0], dtype=bool)
    new_group[1:] = sorted_summary[1:] != sorted_summary[:-1]
    group_sorted = np.cumsum(new_group) - 1
    group = np.empty(shaped.shape[0], dtype=np.int64)
    group[order] = group_sorted
    leader = order[new_group]  # each group's first edge (the sort keeps edge order within groups)
    # every street must equal its group leader's exactly (ends, vertices), else group one by one
    lead = leader[group]
    if not (
        np.array_equal(low[lead], low)
        and np.array_equal(high[lead], high)
        and np.array_equal(n_coords[lead], n_coords)
        and np.array_equal(oriented[first[lead][owner] + position], oriented)
    ):  # pragma: no cover - a 64-bit key clash
        return _group_shapes_slowly(xy, offsets, shaped, u, v, flip, street, n_straight)
    rank = np.empty(leader.shape[0], dtype=np.int64)
    rank[np.argsort(leader, kind="stable")] = np.arange(leader.shape[0])
    street[shaped] = n_straight + rank[group]
    by_rank = np.sort(leader)
    rows = _ranges(first[by_rank], n_coords[by_rank])
    return oriented[rows], n_coords[by_rank].astype(np.int64)


def _group_shapes_slowly(
    xy: np.ndarray,
    offsets: np.ndarray,
    shaped: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    flip: np.ndarray,
    street: np.ndarray,
    n_straight: int,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - only after a 64-bit summary clash
    """:func:`_group_shapes` one edge at a time, comparing whole vertex lists."""
    shapes: dict[tuple[int, int, bytes], int] = {}
    shape_of: list[np.ndarray] = []
    for e in shaped.tolist():
        coords = xy[offsets[e] : offsets[e + 1]]
        oriented = coords[::-1] if flip[e] else coords
        k = (int(min(u[e], v[e])), int(max(u[e], v[e])), np.ascontiguousarray(oriented).tobytes())
        if k not in shapes:
            shapes[k] = n_straight + len(shape_of)
            shape_of.append(oriented)
        street[e] = shapes[k]
    return np.concatenate(shape_of), np.array([len(c) for c in shape_of], dtype=np.int64)


def _build_streets(edges: EdgeList, x: np.ndarray, y: np.ndarray) -> Streets:
    """Group directed edges into streets and index the streets' straight pieces."""
    xy, _, offsets = _edge_coordinates(edges, x, y)
    u = np.asarray(edges.u, dtype=np.int64)
    v = np.asarray(edges.v, dtype=np.int64)
    m = u.shape[0]
    count = np.diff(offsets)
    # a street's shape runs from its lower-numbered node; a loop's from its smaller vertex list
    flip = u > v
    street = np.empty(m, dtype=np.int64)
    straight = count == 2
    key = np.minimum(u, v) * np.int64(x.shape[0]) + np.maximum(u, v)
    keys, inverse = np.unique(key[straight], return_inverse=True)
    street[straight] = inverse
    n_straight = int(keys.shape[0])
    shaped_xy, shaped_count = _group_shapes(xy, offsets, u, v, flip, street, n_straight)
    n_streets = n_straight + int(shaped_count.shape[0])
    tail = np.empty(n_streets, dtype=np.int64)
    head = np.empty(n_streets, dtype=np.int64)
    tail[street] = np.where(flip, v, u)
    head[street] = np.where(flip, u, v)
    seconds = np.asarray(edges.seconds, dtype=float)
    forward_s, backward_s = _street_times(n_streets, street, flip, seconds)
    # straight pieces, one street after another (straight streets first): a
    # straight street is its one piece, a shaped street's pieces join its
    # consecutive vertices
    a, b, seg_street = _street_pieces(x, y, tail, head, n_straight, shaped_xy, shaped_count)
    piece = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    length_m = np.bincount(seg_street, weights=piece, minlength=n_streets)
    # how far along its street each piece starts
    starts = np.ones(seg_street.shape[0], dtype=bool)
    starts[1:] = seg_street[1:] != seg_street[:-1]
    before = np.cumsum(piece) - piece
    start_m = before - before[starts][np.cumsum(starts) - 1] if piece.size else piece
    # pieces of no length (repeated vertices, loops drawn straight) cannot be snapped to
    keep = piece > 0
    if not keep.all():
        seg_street, a, b, start_m = seg_street[keep], a[keep], b[keep], start_m[keep]
    first_piece = np.ones(seg_street.shape[0], dtype=bool)
    first_piece[1:] = seg_street[1:] != seg_street[:-1]
    last_piece = np.ones(seg_street.shape[0], dtype=bool)
    last_piece[:-1] = seg_street[1:] != seg_street[:-1]
    tree = _piece_tree(a, b) if keep.any() else None
    return Streets(
        tail=tail,
        head=head,
        forward_s=forward_s,
        backward_s=backward_s,
        length_m=length_m,
        segment_street=seg_street,
        x0=a[:, 0],
        y0=a[:, 1],
        x1=b[:, 0],
        y1=b[:, 1],
        start_m=start_m,
        first=first_piece,
        last=last_piece,
        tree=tree,
        edge_street=street,
        edge_flip=flip,
    )


def _street_pieces(
    x: np.ndarray,
    y: np.ndarray,
    tail: np.ndarray,
    head: np.ndarray,
    n_straight: int,
    shaped_xy: np.ndarray,
    shaped_count: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every straight piece of every street: its start ``a``, end ``b`` and street, in street order."""
    n_streets = tail.shape[0]
    straight_a = np.empty((n_straight, 2))
    straight_a[:, 0] = x[tail[:n_straight]]
    straight_a[:, 1] = y[tail[:n_straight]]
    straight_b = np.empty((n_straight, 2))
    straight_b[:, 0] = x[head[:n_straight]]
    straight_b[:, 1] = y[head[:n_straight]]
    straight_street = np.arange(n_straight, dtype=np.int64)
    if shaped_count.size == 0:
        return straight_a, straight_b, straight_street
    owner = np.repeat(np.arange(n_straight, n_streets, dtype=np.int64), shaped_count)
    # a street's pieces start at each of its vertices but its last
    inner = np.ones(owner.shape[0], dtype=bool)
    inner[np.cumsum(shaped_count) - 1] = False
    starts = np.flatnonzero(inner)
    return (
        np.concatenate([straight_a, shaped_xy[starts]]),
        np.concatenate([straight_b, shaped_xy[starts + 1]]),
        np.concatenate([straight_street, owner[starts]]),
    )


def _piece_tree(a: np.ndarray, b: np.ndarray) -> shapely.STRtree:
    """A :class:`shapely.STRtree` over the straight pieces ``a[i]``-``b[i]``."""
    return shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))


def _street_times(
    n_streets: int, street: np.ndarray, flip: np.ndarray, seconds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each street's quickest time tail → head and head → tail (``inf`` where no edge goes so)."""
    forward_s = np.full(n_streets, np.inf)
    backward_s = np.full(n_streets, np.inf)
    np.minimum.at(forward_s, street[~flip], seconds[~flip])
    np.minimum.at(backward_s, street[flip], seconds[flip])
    return forward_s, backward_s


def reweighted(network: CompiledNetwork, seconds: np.ndarray) -> CompiledNetwork:
    """The same network with other edge weights (e.g. metres instead of seconds).

    The node positions, their k-d tree and, once built, the streets' shapes and
    spatial index are shared, so this costs only the new sparse matrices.

    Parameters
    ----------
    network
        A network compiled with its edges (:func:`compile_arrays`).
    seconds
        One new weight per edge of ``network.edges`` (finite, 0 or more).

    Returns
    -------
    CompiledNetwork
        Equal to compiling the same edges with these weights.

    Raises
    ------
    InputError
        If the network has no edge list or the weights do not match it.
    TravelTimeError
        If a weight is not finite or is negative.
    """
    edges = network.edges
    seconds = np.asarray(seconds, dtype=float)
    if edges is None or seconds.shape != edges.u.shape:
        raise InputError("new weights need the network's edge list, one weight per edge")
    if not (np.isfinite(seconds).all() and (seconds >= 0).all()):
        bad = int(np.flatnonzero(~(np.isfinite(seconds) & (seconds >= 0)))[0])
        raise TravelTimeError(
            f"edge {bad} has travel time {seconds[bad]}; times must be finite seconds, 0 or more"
        )
    keep = edges.u != edges.v
    forward = _csr(edges.u[keep], edges.v[keep], seconds[keep], network.n_nodes)
    out = replace(
        network,
        forward=forward,
        backward=_transpose(forward),
        edges=replace(edges, seconds=seconds),
        cache=RoutingCache(max_bytes=network.cache.max_bytes, max_snaps=network.cache.max_snaps),
    )
    built = network.__dict__.get("streets")
    if isinstance(built, Streets) and built.edge_street is not None and built.edge_flip is not None:
        forward_s, backward_s = _street_times(
            built.tail.shape[0], built.edge_street, built.edge_flip, seconds
        )
        # a cached_property's value lives in the instance's __dict__
        out.__dict__["streets"] = replace(built, forward_s=forward_s, backward_s=backward_s)
    return out


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
    geometry: np.ndarray | Sequence[BaseGeometry | None] | None = None,
    geometry_crs: str = settings.MEASURE_CRS,
    inner_xy: np.ndarray | None = None,
    inner_offsets: np.ndarray | None = None,
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
    geometry
        Each edge's shape from ``u`` to ``v`` (a LineString, or ``None`` for
        the straight line between its nodes); all straight when not given.
        Points are snapped onto these shapes.
    geometry_crs
        The coordinate system of ``geometry``.
    inner_xy, inner_offsets
        The edges' shapes as arrays, instead of ``geometry``: the vertices
        between each edge's end nodes (metres, EPSG:27700, shape ``(k, 2)``),
        edge ``e``'s being rows ``inner_offsets[e]`` to ``inner_offsets[e + 1]``
        (``m + 1`` offsets from 0; none for a straight edge).

    Returns
    -------
    CompiledNetwork
        The edges as forward and backward sparse matrices of seconds, the
        node positions, and the edges themselves for snapping points onto.

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
    if (inner_xy is None) != (inner_offsets is None) or (
        inner_xy is not None and geometry is not None
    ):
        raise InputError("give edge shapes as geometry, or as inner_xy with inner_offsets")
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
    shapes = None
    if geometry is not None:
        shapes = np.empty(u.shape[0], dtype=object)
        shapes[:] = list(geometry)
    if inner_offsets is not None and inner_xy is not None:
        inner_offsets = np.asarray(inner_offsets, dtype=np.int64)
        inner_xy = np.asarray(inner_xy, dtype=float).reshape(-1, 2)
        if (
            inner_offsets.shape != (u.shape[0] + 1,)
            or inner_offsets[0] != 0
            or inner_offsets[-1] != inner_xy.shape[0]
            or (np.diff(inner_offsets) < 0).any()
        ):
            raise InputError(
                "inner_offsets must rise from 0 to the number of inner vertices, one per edge + 1"
            )
    edges = EdgeList(
        u=u,
        v=v,
        seconds=seconds,
        geometry=shapes,
        crs=geometry_crs,
        inner_xy=inner_xy,
        inner_offsets=inner_offsets,
    )
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
        edges=edges,
    )


def compile_network(graph: nx.MultiDiGraph, *, weight: str = "travel_time") -> CompiledNetwork:
    """Compile a network graph for routing (node coordinates projected to EPSG:27700).

    The graph is only read, never changed.

    Parameters
    ----------
    graph
        A network whose edges have ``weight`` in seconds (see
        :func:`geomap.osm.add_travel_times`) and whose nodes have ``x`` and
        ``y`` in ``graph.graph["crs"]`` (lon/lat when not given). An edge's
        ``geometry`` (a LineString from its start to its end, as osmnx gives
        simplified edges, in the same coordinate system) is the street points
        are snapped onto; edges without one are straight.
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
    arrays = graph_arrays(graph, weight=weight)
    return compile_arrays(
        arrays.u,
        arrays.v,
        arrays.weights[weight],
        arrays.x,
        arrays.y,
        node_ids=arrays.node_ids,
        info=network_info(graph),
        geometry=arrays.geometry,
        geometry_crs=arrays.crs,
    )


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """A network graph's nodes and edges as arrays, edges in the graph's adjacency order.

    Attributes
    ----------
    u, v
        Each edge's start and end node (row numbers).
    weights
        Each edge attribute asked for, by name: floats (NaN where an edge has none).
    x, y
        Node coordinates, metres in EPSG:27700.
    node_ids
        The graph's id of each node (row).
    geometry
        Each edge's shape (a LineString in ``crs``, or ``None``); ``None`` when no edge has one.
    crs
        The graph's coordinate system (of ``geometry``).
    values
        Other edge attributes asked for, by name, as they are on the edges
        (``None`` where an edge has none).
    """

    u: np.ndarray
    v: np.ndarray
    weights: dict[str, np.ndarray]
    x: np.ndarray
    y: np.ndarray
    node_ids: np.ndarray
    geometry: list[BaseGeometry | None] | None
    crs: str
    values: dict[str, list[object]]


def graph_arrays(
    graph: nx.MultiDiGraph,
    *,
    weight: str = "travel_time",
    numbers: Sequence[str] = (),
    values: Sequence[str] = (),
) -> GraphArrays:
    """A network graph as arrays, as :func:`compile_network` reads it.

    Parameters
    ----------
    graph
        As for :func:`compile_network`.
    weight
        An edge attribute every edge must have (seconds, or metres).
    numbers
        Further numeric edge attributes to read (NaN where an edge has none).
    values
        Edge attributes to read as they are (``None`` where an edge has none).

    Returns
    -------
    GraphArrays
        Nodes (projected to EPSG:27700) and edges in the graph's order.

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
    shapes: list[BaseGeometry | None] = []
    extra_numbers: dict[str, list[float]] = {name: [] for name in numbers if name != weight}
    extra_values: dict[str, list[object]] = {name: [] for name in values}
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
                shapes.append(data.get("geometry"))
                for name, numbers_of in extra_numbers.items():
                    got = data.get(name)
                    numbers_of.append(np.nan if got is None else got)
                for name, values_of in extra_values.items():
                    values_of.append(data.get(name))
    if missing:
        raise TravelTimeError(
            f"{missing:,} network edges have no '{weight}'",
            fix="Add travel times with geomap.osm.add_travel_times",
        )
    crs = pyproj.CRS(graph.graph.get("crs") or settings.LONLAT_CRS)
    target = pyproj.CRS(settings.MEASURE_CRS)
    if crs != target:
        transformer = pyproj.Transformer.from_crs(crs, target, always_xy=True)
        x, y = transformer.transform(x, y)
    weights = {weight: np.array(times, dtype=float)}
    for name, numbers_of in extra_numbers.items():
        weights[name] = np.array(numbers_of, dtype=float)
    return GraphArrays(
        u=np.array(tails, dtype=np.int64),
        v=np.array(heads, dtype=np.int64),
        weights=weights,
        x=np.asarray(x, dtype=float),
        y=np.asarray(y, dtype=float),
        node_ids=np.asarray(nodes),
        geometry=shapes if any(g is not None for g in shapes) else None,
        crs=crs.to_string(),
        values=extra_values,
    )


# --------------------------------------------------------------------------- snapping


@dataclass(frozen=True)
class Snap:
    """Where points join the network: the nearest point of the nearest street.

    Attributes
    ----------
    node
        Row number of the end of that street nearer along it (the node a point
        lying on a node joins at).
    distance_m
        Straight-line distance from the point to where it joins its street
        (the access leg, the *snap distance*).
    seconds
        The access leg: ``distance_m`` at the access speed.
    far
        Whether the point is further than the snapping limit.
    tail, head
        Row numbers of the street's ends; the street is drawn tail → head.
    share
        How far along the street, tail → head, the point joins it (0 to 1, by length).
    forward_s, backward_s
        The street's whole time tail → head and head → tail (``inf`` where that
        way is not allowed, as on a one-way street).
    street
        The street's number (points with the same number are on the same street).
    x, y
        Where the point joins its street, metres in EPSG:27700.
    """

    node: np.ndarray
    distance_m: np.ndarray
    seconds: np.ndarray
    far: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    share: np.ndarray
    forward_s: np.ndarray
    backward_s: np.ndarray
    street: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def n_far(self) -> int:
        """Number of points further than the snapping limit."""
        return int(self.far.sum())

    def take(self, rows: np.ndarray | Sequence[int] | slice) -> Snap:
        """The snaps of some of the points.

        Parameters
        ----------
        rows
            Positions of the points, or a slice.

        Returns
        -------
        Snap
            Those points' snaps, in that order.
        """
        return replace(self, **{name: value[rows] for name, value in _fields(self).items()})

    def origin_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """The nodes a journey *from* each point enters the network at, and the time to each.

        Returns
        -------
        nodes, seconds
            Two columns per point: the street's tail and head, and the time
            along the street from the point to each (``inf`` where the street
            cannot be travelled that way). The access leg is not included.
        """
        nodes = np.column_stack([self.tail, self.head])
        seconds = np.column_stack(
            [_part(self.share, self.backward_s), _part(1.0 - self.share, self.forward_s)]
        )
        return nodes, seconds

    def destination_entries(self) -> tuple[np.ndarray, np.ndarray]:
        """The nodes a journey *to* each point leaves the network from, and the time from each.

        Returns
        -------
        nodes, seconds
            Two columns per point: the street's tail and head, and the time
            along the street from each to the point (``inf`` where the street
            cannot be travelled that way). The access leg is not included.
        """
        nodes = np.column_stack([self.tail, self.head])
        seconds = np.column_stack(
            [_part(self.share, self.forward_s), _part(1.0 - self.share, self.backward_s)]
        )
        return nodes, seconds


def _fields(snap: Snap) -> dict[str, np.ndarray]:
    return {name: getattr(snap, name) for name in snap.__dataclass_fields__}


def _part(share: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """``share`` of a street's time; nothing at all for no share, even on a street one cannot take."""
    with np.errstate(invalid="ignore"):
        return np.where(share == 0, 0.0, share * seconds)


def snap_points(
    network: CompiledNetwork,
    points: gpd.GeoDataFrame,
    *,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    what: str = "points",
) -> Snap:
    """Snap points (EPSG:27700) to the nearest point of the nearest street.

    Streets follow the edges' shapes where the network has them (osmnx's
    simplified edges do), else the straight line between their nodes. Points
    further than ``max_snap_m`` are flagged in ``far``, never dropped; the
    callers warn about them (see :func:`warn_far`).

    Parameters
    ----------
    network
        From :func:`compile_network`.
    points
        Points in EPSG:27700.
    access_kmh
        Speed of the access leg.
    max_snap_m
        Distance beyond which a point is flagged as far.
    what
        What the points are, for messages.

    Returns
    -------
    Snap
        Each point's street, where along it, the access leg and the far flag.

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
        return _snap_xy(network, np.zeros((0, 2)), access_kmh=access_kmh, max_snap_m=max_snap_m)
    geoms = points.geometry
    if not (geoms.geom_type == "Point").all():
        raise InputError(f"{what} must be points", fix="Use .representative_point() for areas")
    xy = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()]).astype(float)
    # the same points, snapped again, join the network where they did before
    key = (
        np.array([access_kmh, max_snap_m], dtype=float).tobytes()
        + np.ascontiguousarray(xy).tobytes()
    )
    kept = network.cache.snap(key)
    if kept is not None:
        return kept
    snap = _snap_xy(network, xy, access_kmh=access_kmh, max_snap_m=max_snap_m)
    network.cache.keep_snap(key, snap)
    return snap


def _snap_xy(
    network: CompiledNetwork, xy: np.ndarray, *, access_kmh: float, max_snap_m: float
) -> Snap:
    streets = network.streets
    n = xy.shape[0]
    if streets.tree is None or n == 0:
        # no street has any length: join at the nearest node
        distance, node = network.tree.query(xy) if n else (np.zeros(0), np.zeros(0, dtype=int))
        node = np.asarray(node, dtype=np.int64)
        inf = np.full(n, np.inf)
        return Snap(
            node=node,
            distance_m=np.asarray(distance, dtype=float),
            seconds=np.asarray(distance, dtype=float) / (access_kmh / 3.6),
            far=np.asarray(distance > max_snap_m, dtype=bool),
            tail=node,
            head=node,
            share=np.zeros(n),
            forward_s=inf,
            backward_s=inf.copy(),
            street=np.full(n, -1, dtype=np.int64),
            x=network.x[node],
            y=network.y[node],
        )
    # points snapped before keep their piece; the rest ask the tree, once each
    keys = _point_keys(xy)
    piece = streets.known.find(keys)
    asked = np.flatnonzero(piece < 0)
    if asked.size:
        unique, first, back = np.unique(keys[asked], return_index=True, return_inverse=True)
        hits = streets.tree.query_nearest(shapely.points(xy[asked[first]]), all_matches=False)
        found = np.empty(unique.shape[0], dtype=np.int64)
        found[hits[0]] = hits[1]
        piece[asked] = found[back.reshape(-1)]
        streets.known.keep(unique[hits[0]], hits[1])
    # the exact foot of the perpendicular on that straight piece
    x0, y0 = streets.x0[piece], streets.y0[piece]
    dx, dy = streets.x1[piece] - x0, streets.y1[piece] - y0
    t = ((xy[:, 0] - x0) * dx + (xy[:, 1] - y0) * dy) / (dx * dx + dy * dy)
    t = np.clip(t, 0.0, 1.0)
    fx = np.where(t == 1.0, streets.x1[piece], x0 + t * dx)
    fy = np.where(t == 1.0, streets.y1[piece], y0 + t * dy)
    distance = np.hypot(xy[:, 0] - fx, xy[:, 1] - fy)
    street = streets.segment_street[piece]
    length = streets.length_m[street]
    share = np.clip((streets.start_m[piece] + t * np.hypot(dx, dy)) / length, 0.0, 1.0)
    # exactly at a street's end is exactly at its node
    share = np.where(streets.first[piece] & (t == 0.0), 0.0, share)
    share = np.where(streets.last[piece] & (t == 1.0), 1.0, share)
    tail, head = streets.tail[street], streets.head[street]
    return Snap(
        node=np.where(share <= 0.5, tail, head),
        distance_m=distance,
        seconds=distance / (access_kmh / 3.6),
        far=distance > max_snap_m,
        tail=tail,
        head=head,
        share=share,
        forward_s=streets.forward_s[street],
        backward_s=streets.backward_s[street],
        street=street,
        x=fx,
        y=fy,
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
    return _nearest_entries(network, targets[:, None], extra[:, None])


def _with_sources(
    graph: sparse.csr_array, nodes: np.ndarray, seconds: np.ndarray
) -> sparse.csr_array:
    """``graph`` with one virtual node per row of ``nodes`` appended, joined to those nodes.

    Virtual node ``n + i`` has an edge to each ``nodes[i, j]`` weighted
    ``seconds[i, j]`` (none where that is ``inf``); nothing leads into it, so a
    search from it starts at its nodes with those times already spent.
    """
    n = graph.shape[0]
    k = nodes.shape[0]
    usable = np.isfinite(seconds)
    per_row = usable.sum(axis=1)
    indptr = np.concatenate(
        [graph.indptr, graph.indptr[-1] + np.cumsum(per_row, dtype=np.int64).astype(_INDEX)]
    ).astype(_INDEX)
    indices = np.concatenate([graph.indices, nodes[usable].astype(_INDEX)])
    data = np.concatenate([graph.data, seconds[usable]])
    return sparse.csr_array((data, indices, indptr), shape=(n + k, n + k))


def _nearest_entries(
    network: CompiledNetwork, nodes: np.ndarray, seconds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from every node to the nearest target, each target reached from ``nodes[i]``.

    Target ``i`` is reached from node ``nodes[i, j]`` after ``seconds[i, j]``
    more; returns, per node, the least time and the target's position (``-1``
    when none is reachable).
    """
    n = network.n_nodes
    k = nodes.shape[0]
    if k == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    augmented = _with_sources(network.backward, nodes, seconds)
    dist, _, sources = dijkstra(
        augmented,
        directed=True,
        indices=np.arange(n, n + k),
        min_only=True,
        return_predecessors=True,
    )
    times = dist[:n]
    which = sources[:n].astype(np.int64) - n
    which[~np.isfinite(times)] = -1
    return times, which


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


def _same_street(origins: Snap, destinations: Snap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of an origin and a destination on the same street, and the time between them along it.

    Returns
    -------
    rows, cols, seconds
        Origin and destination positions of each pair and the time along
        the street (``inf`` where the street's direction does not allow it).
    """
    empty = np.zeros(0, dtype=np.int64)
    on = origins.street >= 0
    if not on.any() or not (destinations.street >= 0).any():
        return empty, empty, np.zeros(0)
    order = np.argsort(destinations.street, kind="stable")
    sorted_streets = destinations.street[order]
    lo = np.searchsorted(sorted_streets, origins.street, side="left")
    hi = np.searchsorted(sorted_streets, origins.street, side="right")
    count = np.where(on, hi - lo, 0)
    rows = np.repeat(np.arange(origins.street.shape[0]), count)
    first = np.cumsum(count) - count
    cols = order[lo[rows] + np.arange(rows.shape[0]) - first[rows]]
    ahead = destinations.share[cols] - origins.share[rows]
    with np.errstate(invalid="ignore"):
        seconds = np.where(
            ahead == 0,
            0.0,
            np.where(
                ahead > 0,
                ahead * origins.forward_s[rows],
                -ahead * origins.backward_s[rows],
            ),
        )
    return rows, cols, seconds


def _field_keys(nodes: np.ndarray, seconds: np.ndarray, *, forwards: bool) -> list[bytes]:
    """One cache key per point: the search's direction and the point's entry nodes and seconds."""
    prefix = b"f" if forwards else b"b"
    rows = np.ascontiguousarray(
        np.column_stack([nodes.astype(np.int64).view(np.float64), seconds.astype(float)])
    )
    return [prefix + row.tobytes() for row in rows]


def point_fields(
    network: CompiledNetwork,
    nodes: np.ndarray,
    seconds: np.ndarray,
    *,
    forwards: bool,
    limit: float | None = None,
    reuse: bool = False,
    block_bytes: int | None = None,
    columns: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Node times of a search from each point, block by block, reusing those kept.

    A point is a virtual source joined to ``nodes[i]`` after ``seconds[i]``
    (two columns: its street's ends); searching from it over the forward
    graph gives the times of journeys from the point to every node, over the
    backward graph the times of journeys from every node to the point. Node
    times already kept in ``network.cache`` are taken from it (they are what
    a fresh search gives, bit for bit); the others are searched for, in
    blocks of at most ``block_bytes``, and kept.

    Parameters
    ----------
    network
        The compiled network.
    nodes, seconds
        Each point's entry nodes and the time to (or from) each, shape ``(k, 2)``.
    forwards
        Search the forward graph (journeys from the points), else the backward one.
    limit
        Stop each search at this time (nodes further away get ``inf``; those
        within it get exactly what an unlimited search gives); no limit by
        default. Whole searches kept serve limited ones; limited ones are not kept.
    reuse
        With a limit: search in full after all, and keep the node times, when
        those missing fit in half the cache (the same points are likely to be
        asked again, as in a report); else stop at the limit.
    block_bytes
        Most bytes of node times held at once; :data:`MATRIX_BLOCK_BYTES` by default.
    columns
        The nodes whose times are wanted (row numbers); every node by default.
        Searches still run (and are kept) in full.

    Yields
    ------
    rows, times, which
        Positions of a block of points, the node times of the distinct
        points among them (one row each), and which row is each point's.
    """
    n = network.n_nodes
    k = nodes.shape[0]
    if k == 0:
        return
    cache = network.cache
    keys = _field_keys(nodes, seconds, forwards=forwards)
    # points joining the network the same way are searched from once
    distinct: dict[bytes, int] = {}
    owner = np.array([distinct.setdefault(key, len(distinct)) for key in keys], dtype=np.int64)
    leader = np.full(len(distinct), -1, dtype=np.int64)
    leader[owner[::-1]] = np.arange(k)[::-1]  # each distinct point's first position
    order = np.argsort(owner, kind="stable")
    most = MATRIX_BLOCK_BYTES if block_bytes is None else block_bytes
    if limit is not None:
        # a little over the limit, so that journeys of exactly the limit stay
        limit = float(limit) * (1 + 1e-9) + 1e-9
    # the searches' own node times and the block assembled from them and the cache
    block = max(1, most // (16 * (n + k)))
    if limit is not None and reuse:
        missing = sum(cache.field(keys[i]) is None for i in leader.tolist())
        if missing * n * 8 <= cache.max_bytes // 2:
            limit = None  # search in full once, and keep the node times for the next call
    graph: sparse.csr_array | None = None
    for start in range(0, len(distinct), block):
        group = np.arange(start, min(start + block, len(distinct)))
        times = np.empty((group.shape[0], n if columns is None else columns.shape[0]))
        todo: list[int] = []
        for j, g in enumerate(group.tolist()):
            # a whole search serves a limited one too (its times within the limit are the same)
            kept = cache.field(keys[leader[g]])
            if kept is not None:
                times[j] = kept if columns is None else kept[columns]
                cache.reused += 1
            else:
                todo.append(j)
        if todo:
            if graph is None:
                base = network.forward if forwards else network.backward
                graph = _with_sources(base, nodes, seconds)
            sources = leader[group[todo]]
            found = _search(graph, n + sources, limit=limit)
            cache.searches += len(todo)
            for j, i, values in zip(todo, sources.tolist(), found[:, :n], strict=True):
                times[j] = values if columns is None else values[columns]
                if limit is None:  # a limited search is cheap, and serves only its own limit
                    cache.keep_field(keys[i], values, copy=False)  # ``found`` is not reused
        lo, hi = np.searchsorted(owner[order], [group[0], group[-1] + 1])
        rows = order[lo:hi]
        yield rows, times, owner[rows] - start


#: Edges searched (sources × edges) above which searches are shared among the
#: cores by forked processes (:mod:`geomap._parallel`): about a quarter of a
#: second of searching, well over the few milliseconds a fork takes.
PARALLEL_MIN_WORK = 5_000_000


def _search(graph: sparse.csr_array, sources: np.ndarray, *, limit: float | None) -> np.ndarray:
    """Node times of a search from each of ``sources`` (one row each), on every core available.

    Each row is exactly what ``dijkstra(graph, indices=source)`` gives, whichever
    process searched it (:func:`geomap._parallel.fill_rows`).
    """
    bound = np.inf if limit is None else limit

    def rows(start: int, stop: int) -> np.ndarray:
        return np.atleast_2d(
            dijkstra(graph, directed=True, indices=sources[start:stop], limit=bound)
        )

    worth = sources.shape[0] * graph.nnz >= PARALLEL_MIN_WORK
    return fill_rows(rows, sources.shape[0], graph.shape[0], worth=worth)


def _missing_fields(
    network: CompiledNetwork, nodes: np.ndarray, seconds: np.ndarray, *, forwards: bool
) -> int:
    """How many distinct points' node times are not kept in ``network.cache``."""
    keys = set(_field_keys(nodes, seconds, forwards=forwards))
    return sum(network.cache.field(key) is None for key in keys)


def prepare_origins(
    network: CompiledNetwork,
    origins: gpd.GeoDataFrame,
    *,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    search: bool = True,
) -> int:
    """Search once from each origin, on every core available, and keep the node times.

    Later tables of journeys from the same points (:func:`matrix`,
    :func:`matrix_within`) then search from them no more, whatever the
    destinations, and are the same as without this. Nothing is searched when
    the node times would take more than half of ``network.cache``.

    Parameters
    ----------
    network
        The compiled network.
    origins
        Points in EPSG:27700 with unique ``id`` values.
    access_kmh
        Speed of the off-network legs.
    max_snap_m
        Distance over which a point counts as far from the network (the tables
        of journeys warn about such points; this does not).
    search
        Search; with ``False`` the origins are only snapped (building the
        streets' index once, for example before processes are forked that
        will share it), and 0 is returned.

    Returns
    -------
    int
        How many searches were run (0 when all were kept already, or there is
        no room to keep them).

    Raises
    ------
    InputError
        If the origins have no unique ``id`` or are not in EPSG:27700.
    """
    check_points(origins, what="origins")
    o = snap_points(network, origins, access_kmh=access_kmh, max_snap_m=max_snap_m, what="origins")
    if not search:
        return 0
    nodes, seconds = o.origin_entries()
    missing = _missing_fields(network, nodes, seconds, forwards=True)
    if missing == 0 or missing * network.n_nodes * 8 > network.cache.max_bytes // 2:
        return 0
    for _ in point_fields(network, nodes, seconds, forwards=True, columns=np.zeros(0, np.int64)):
        pass
    return missing


def _from_kept(network: CompiledNetwork, origins: Snap, destinations: Snap) -> np.ndarray | None:
    """:func:`snap_time_matrix` forwards when every origin's node times are kept, else None."""
    nodes, seconds = origins.origin_entries()
    if nodes.shape[0] == 0 or _missing_fields(network, nodes, seconds, forwards=True):
        return None
    return snap_time_matrix(network, origins, destinations, forwards=True)


def snap_time_matrix(
    network: CompiledNetwork,
    origins: Snap,
    destinations: Snap,
    *,
    limit: float | None = None,
    forwards: bool | None = None,
    reuse: bool = False,
) -> np.ndarray:
    """Time over the network between snapped points, without their access legs.

    Each journey leaves the origin's street at either end the street's
    direction allows (or stays on the street when the destination is ahead on
    it) and joins the destination's street the same way. Searches run from
    whichever side has fewer points, each point a virtual source joined to its
    street's ends, in blocks of at most :data:`MATRIX_BLOCK_BYTES`; a point
    searched before from the same side is not searched again
    (:func:`point_fields`).

    Parameters
    ----------
    network
        The compiled network.
    origins, destinations
        From :func:`snap_points`.
    limit
        Only journeys of at most this long are wanted: each search stops
        there, and every entry over it is ``inf`` (longer than the limit, or
        no journey at all: the two are not told apart). Entries within it are
        exactly those of the search without a limit. No limit by default.
    forwards
        Search from the origins (``True``) or from the destinations
        (``False``); from the side with fewer points by default. A pair's
        time can differ in its last bits between the two, so a caller that
        completes a matrix in parts keeps the direction of the whole.
    reuse
        With a limit, search in full and keep the node times when they fit in
        the cache (see :func:`point_fields`); the result is the same.

    Returns
    -------
    numpy.ndarray
        Time in the network's edge units (seconds, or metres for a network
        compiled on length), one row per origin and one column per destination,
        ``inf`` where there is no journey (or, with ``limit``, none within it).
    """
    n_o = origins.street.shape[0]
    n_d = destinations.street.shape[0]
    out = np.full((n_o, n_d), np.inf)
    if out.size == 0:
        return out
    o_nodes, o_seconds = origins.origin_entries()
    d_nodes, d_seconds = destinations.destination_entries()
    if forwards is None:
        # from the side needing fewer new searches: the node times of points
        # searched from before (the same areas, for another kind) serve again
        need_o = _missing_fields(network, o_nodes, o_seconds, forwards=True)
        need_d = _missing_fields(network, d_nodes, d_seconds, forwards=False)
        forwards = need_o < need_d or (need_o == need_d and n_o <= n_d)
    if forwards:
        s_nodes, s_seconds, ends, end_seconds = o_nodes, o_seconds, d_nodes, d_seconds
    else:
        s_nodes, s_seconds, ends, end_seconds = d_nodes, d_seconds, o_nodes, o_seconds
    # only the times at the far points' street ends are wanted from each search
    columns, at = np.unique(ends, return_inverse=True)
    at = at.reshape(ends.shape)
    for rows, dist, which in point_fields(
        network, s_nodes, s_seconds, forwards=forwards, limit=limit, reuse=reuse, columns=columns
    ):
        best = np.minimum(
            dist[np.ix_(which, at[:, 0])] + end_seconds[:, 0],
            dist[np.ix_(which, at[:, 1])] + end_seconds[:, 1],
        )
        if forwards:
            out[rows, :] = best
        else:
            out[:, rows] = best.T
    rows, cols, along = _same_street(origins, destinations)
    np.minimum.at(out, (rows, cols), along)
    if limit is not None:
        # over the limit, a street end the search did not reach may have been the quicker
        out[out > limit] = np.inf
    return out


def _pair_stats(
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    o: Snap,
    d: Snap,
    unreachable: int,
    *,
    max_snap_m: float,
    access_kmh: float,
) -> dict[str, object]:
    """The run counts of a table of journeys, as kept in its ``attrs["geomap_network"]``."""
    return asdict(
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
    kept = _from_kept(network, o, d)
    rows = np.arange(len(origins))
    if kept is not None:
        # every origin was searched from before (prepare_origins): no search at all
        full = kept + d.seconds[None, :]
        chosen = np.argmin(full, axis=1) if full.shape[1] else np.full(len(origins), -1)
        seconds = full[rows, chosen] if full.shape[1] else np.full(len(origins), np.inf)
        chosen = np.where(np.isfinite(seconds), chosen, -1)
        pair_o = np.zeros(0, dtype=np.int64)
    else:
        d_nodes, d_seconds = d.destination_entries()
        node_seconds, which = _nearest_entries(network, d_nodes, d_seconds + d.seconds[:, None])
        o_nodes, o_seconds = o.origin_entries()
        via = o_seconds + node_seconds[o_nodes]
        side = np.argmin(via, axis=1)
        seconds = via[rows, side]
        chosen = which[o_nodes[rows, side]]
        # a destination further along the origin's own street may be quicker still
        pair_o, pair_d, along = _same_street(o, d)
    if pair_o.size:
        along = along + d.seconds[pair_d]
        better = along < seconds[pair_o]
        pair_o, pair_d, along = pair_o[better], pair_d[better], along[better]
        # the quickest pair of each origin
        order = np.lexsort((along, pair_o))
        pair_o, pair_d, along = pair_o[order], pair_d[order], along[order]
        firsts = np.ones(pair_o.shape[0], dtype=bool)
        firsts[1:] = pair_o[1:] != pair_o[:-1]
        seconds[pair_o[firsts]] = along[firsts]
        chosen[pair_o[firsts]] = pair_d[firsts]
    seconds = o.seconds + seconds
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
    seconds = snap_time_matrix(network, o, d)
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
    result.attrs["geomap_network"] = _pair_stats(
        origins, destinations, o, d, unreachable, max_snap_m=max_snap_m, access_kmh=access_kmh
    )
    return result


def _reaching_none(network: CompiledNetwork, origins: Snap, destinations: Snap) -> np.ndarray:
    """Whether each origin can reach none of the destinations at all (one search for all)."""
    if destinations.street.shape[0] == 0:
        return np.ones(origins.street.shape[0], dtype=bool)
    kept = _from_kept(network, origins, destinations)
    if kept is not None:
        return np.asarray(~np.isfinite(kept).any(axis=1), dtype=bool)
    d_nodes, d_seconds = destinations.destination_entries()
    node_seconds, _ = _nearest_entries(network, d_nodes, d_seconds)
    o_nodes, o_seconds = origins.origin_entries()
    reached = np.isfinite(o_seconds + node_seconds[o_nodes]).any(axis=1)
    pair_o, _, along = _same_street(origins, destinations)
    reached[pair_o[np.isfinite(along)]] = True
    return np.asarray(~reached, dtype=bool)


def matrix_within(
    network: CompiledNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    minutes: float,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    method: str = "network",
) -> pd.DataFrame:
    """The rows of :func:`matrix` with at most ``minutes``, each search stopped at the limit.

    Every time kept is exactly :func:`matrix`'s (the same searches, stopped
    early, or the same node times reused from ``network.cache``), and so are
    the warnings and the counts in ``attrs["geomap_network"]`` (origins that
    cannot reach any destination at all are found by one more search).

    Parameters
    ----------
    network
        From :func:`compile_network`.
    origins, destinations
        Points in EPSG:27700 with unique ``id`` values.
    minutes
        The limit; journeys of exactly this long are kept.
    access_kmh
        Speed of the off-network legs.
    max_snap_m
        Points further than this from the network are warned about and counted.
    method
        The ``method`` column's value.

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``minutes`` and ``method``, one row per pair
        within the limit, origin by origin; a pair not listed has no journey
        within the limit (longer, or none at all).

    Raises
    ------
    InputError
        If the limit is not a positive number of minutes, or as for :func:`nearest`.

    Warns
    -----
    TravelWarning
        As for :func:`nearest`.
    """
    if not (np.isfinite(minutes) and minutes > 0):
        raise InputError(
            f"the time limit must be a positive number of minutes, not {minutes}",
            fix="e.g. minutes=30",
        )
    check_points(origins, what="origins")
    check_points(destinations, what="destinations")
    o = snap_points(network, origins, access_kmh=access_kmh, max_snap_m=max_snap_m, what="origins")
    d = snap_points(
        network, destinations, access_kmh=access_kmh, max_snap_m=max_snap_m, what="destinations"
    )
    # the legs are never negative, so no journey within the limit is longer on the network
    seconds = snap_time_matrix(network, o, d, limit=float(minutes) * 60.0, reuse=True)
    seconds += o.seconds[:, None] + d.seconds[None, :]
    none_reached = _reaching_none(network, o, d)
    unreachable = int(none_reached.sum())
    warn_far(
        [("origins", origins, o), ("destinations", destinations, d)],
        max_snap_m=max_snap_m,
        access_kmh=access_kmh,
    )
    if unreachable and len(destinations):
        _warn_unreachable(origins, none_reached, destinations=len(destinations))
    with np.errstate(invalid="ignore"):
        all_minutes = seconds / 60.0
    rows, cols = np.nonzero(all_minutes <= minutes)
    result = pd.DataFrame(
        {
            "from_id": origins["id"].to_numpy()[rows],
            "to_id": destinations["id"].to_numpy()[cols],
            "minutes": all_minutes[rows, cols],
            "method": method,
        }
    )
    result.attrs["geomap_network"] = _pair_stats(
        origins, destinations, o, d, unreachable, max_snap_m=max_snap_m, access_kmh=access_kmh
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
    n = network.n_nodes
    tails = np.repeat(np.arange(n), np.diff(forward.indptr))
    heads = forward.indices.astype(np.int64)
    weights = forward.data
    # "to": a point on edge tail→head reaches the destination through the head;
    # "from": the destination reaches a point on the edge through the tail
    known, other = (heads, tails) if direction == "to" else (tails, heads)
    # each destination a virtual source joined to the ends of its street
    ends, along = d.destination_entries() if direction == "to" else d.origin_entries()
    graph = _with_sources(network.backward if direction == "to" else network.forward, ends, along)
    xy = np.column_stack([network.x, network.y])
    ids, mins, geoms = [], [], []
    for j, dest_id in enumerate(destinations["id"].to_numpy()):
        start = float(d.seconds[j])
        budget = limits[-1] * 60.0 - start
        dist = np.full(n, np.inf)
        if budget >= 0:
            dist = dijkstra(graph, directed=True, indices=n + j, limit=budget)[:n] + start
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
                    joins=(float(d.x[j]), float(d.y[j])),
                    ends=ends[j],
                    along=along[j],
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
    joins: tuple[float, float],
    ends: np.ndarray,
    along: np.ndarray,
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
    # the access leg, as far along it as time allows, then the street towards its ends
    here = np.array(point, dtype=float)
    foot = np.array(joins, dtype=float)
    leg = 1.0 if start == 0 else min(1.0, seconds / start)
    left = seconds - start
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(along > 0, np.clip(left / along, 0.0, 1.0), 1.0)
    reach = np.where(np.isfinite(along), reach, 0.0)
    a = np.vstack([a, here, foot, foot])
    b = np.vstack(
        [
            b,
            here + leg * (foot - here),
            foot + reach[0] * (xy[ends[0]] - foot),
            foot + reach[1] * (xy[ends[1]] - foot),
        ]
    )
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
        copy, if its edges have none: the graph given is never changed), a
        compact network (:class:`geomap.travel.compact.CompactNetwork`) or an
        already compiled network.
    mode
        ``drive``/``car``, ``walk`` or ``bike``; the mode recorded on the
        network by default.
    access_kmh
        Speed of the access legs between points and where they join their street.
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
        network: nx.MultiDiGraph | CompactNetwork | CompiledNetwork,
        *,
        mode: str | None = None,
        access_kmh: float = settings.NETWORK_ACCESS_KMH,
        max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    ) -> None:
        from geomap.travel.compact import CompactNetwork

        if isinstance(network, CompiledNetwork):
            compiled = network
        elif isinstance(network, CompactNetwork):
            compiled = network.compile()
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
        """Load a network file (see :func:`geomap.travel.compact.load_network`) and time its edges.

        Edges keep the travel times saved with them unless ``speeds`` is given
        or they have none. GraphML is compiled once and cached by the SHA-256
        of its bytes; compact network files are read directly.

        Parameters
        ----------
        path
            A compact network (``.network.npz``), GraphML, ``.osm`` or ``.osm.pbf``.
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
        from geomap.travel.compact import load_network

        network = load_network(path, mode=mode)
        if speeds is not None:
            graph = add_travel_times(network.to_graph(), mode=mode, speeds=speeds)
            return cls(graph, mode=mode, access_kmh=access_kmh, max_snap_m=max_snap_m)
        return cls(network, mode=mode, access_kmh=access_kmh, max_snap_m=max_snap_m)

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
            f". Each point joins the network at the nearest point of the nearest street, and the "
            f"straight gap to it is covered at "
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

    def within(
        self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame, *, minutes: float
    ) -> pd.DataFrame:
        """The journeys of at most ``minutes``, each search stopped there (see :func:`matrix_within`).

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.
        minutes
            The limit; journeys of exactly this long are kept.

        Returns
        -------
        pandas.DataFrame
            The rows of :meth:`matrix` within the limit, with the same
            ``attrs["description"]``.

        Raises
        ------
        InputError
            If the limit is not a positive number of minutes, or as for :func:`nearest`.

        Warns
        -----
        TravelWarning
            As for :func:`nearest`.
        """
        result = matrix_within(
            self.network,
            origins,
            destinations,
            minutes=minutes,
            access_kmh=self.access_kmh,
            max_snap_m=self.max_snap_m,
            method=self.method,
        )
        return describe_result(result, self._caption(RunStats(**result.attrs["geomap_network"])))

    def prepare(self, origins: gpd.GeoDataFrame, *, search: bool = True) -> None:
        """Search once from each origin now and keep the node times (see :func:`prepare_origins`).

        Parameters
        ----------
        origins
            Points with unique ``id`` in EPSG:27700.
        search
            Also search; with ``False`` the origins are only placed on the
            streets (whose index is built then).
        """
        prepare_origins(
            self.network,
            origins,
            access_kmh=self.access_kmh,
            max_snap_m=self.max_snap_m,
            search=search,
        )

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
