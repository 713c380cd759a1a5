"""Journeys within a time limit over a network, without a dense origins × destinations matrix.

A floating catchment (:mod:`geomap.access`) needs only the area-to-provider
journeys within its catchment. Over all of England (some 34,000 areas and
22,000 schools) the full matrix would hold some 750 million times; the
journeys within 30 minutes by car are a few per cent of them.
:func:`pairs_within` finds just those: one search per point of the smaller
side, each stopped at the time limit (``scipy.sparse.csgraph.dijkstra(...,
limit=...)``), in blocks whose node times take at most ``block_bytes`` at once,
keeping only the pairs within the limit. Sources are taken tile by tile, and
each tile's searches run over only the part of the network within the limit
times the network's top speed (no journey can leave it in time), so that a
search on a national network does not pay for millions of nodes it never reaches.

Points join the network exactly as they do for
:func:`geomap.travel.network.matrix` (the nearest point of the nearest street,
the access legs at walking pace, one-way streets only their way, a destination
further along the origin's own street reached along it), so a pair's minutes
are those of ``matrix()`` for that pair: the same journeys, only the long ones
left out.
"""

from __future__ import annotations

from dataclasses import asdict

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from geomap import settings
from geomap.errors import InputError
from geomap.travel.base import check_points
from geomap.travel.network import (
    _INDEX,
    CompiledNetwork,
    RunStats,
    Snap,
    _same_street,
    _with_sources,
    snap_points,
    warn_far,
)

#: Largest block of node times (searches × nodes, float64) held at once by :func:`pairs_within`.
REACH_BLOCK_BYTES = 128 * 2**20


def _entries(snap: Snap, *, leaving: bool) -> tuple[np.ndarray, np.ndarray]:
    """A point's street ends and the time between each and the point, access leg included."""
    nodes, seconds = snap.origin_entries() if leaving else snap.destination_entries()
    return nodes, seconds + snap.seconds[:, None]


def _top_speed(network: CompiledNetwork) -> float:
    """The fastest straight-line speed of any edge, metres per second (``inf`` for a 0 s edge).

    No journey of ``t`` seconds ends further than ``t`` times this from where
    it starts, in a straight line: each edge covers at most its straight
    length, in at least its time.
    """
    forward = network.forward
    if forward.nnz == 0:
        return 0.0
    tails = np.repeat(np.arange(network.n_nodes), np.diff(forward.indptr))
    heads = forward.indices
    length = np.hypot(network.x[tails] - network.x[heads], network.y[tails] - network.y[heads])
    seconds = np.asarray(forward.data, dtype=float)
    moving = length > 0
    if (seconds[moving] <= 0).any():
        return float(np.inf)
    return float((length[moving] / seconds[moving]).max()) if moving.any() else 0.0


def _subgraph(graph: sparse.csr_array, keep: np.ndarray) -> tuple[sparse.csr_array, np.ndarray]:
    """The nodes ``keep`` (a mask) and the edges between them; each node's new number (-1: left out)."""
    rows = np.flatnonzero(keep)
    renumber = np.full(keep.shape[0], -1, dtype=np.int64)
    renumber[rows] = np.arange(rows.shape[0])
    starts, stops = graph.indptr[rows], graph.indptr[rows + 1]
    count = (stops - starts).astype(np.int64)
    owner = np.repeat(np.arange(rows.shape[0]), count)
    first = np.cumsum(count) - count
    at = starts.astype(np.int64)[owner] + np.arange(owner.shape[0]) - first[owner]
    heads = renumber[graph.indices[at]]
    inside = heads >= 0
    owner, heads, data = owner[inside], heads[inside], graph.data[at][inside]
    indptr = np.zeros(rows.shape[0] + 1, dtype=_INDEX)
    np.cumsum(np.bincount(owner, minlength=rows.shape[0]), out=indptr[1:])
    sub = sparse.csr_array(
        (data, heads.astype(_INDEX), indptr), shape=(rows.shape[0], rows.shape[0])
    )
    return sub, renumber


def _searched_pairs(
    network: CompiledNetwork,
    sources: Snap,
    targets: Snap,
    *,
    forwards: bool,
    limit_s: float,
    block_bytes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (source, target, seconds) within ``limit_s``, one limited search per source.

    ``forwards``: the sources are origins, searched over the forward graph;
    otherwise the sources are destinations, searched over the backward graph.
    Sources are taken tile by tile, and each tile's searches run over the part
    of the network they could reach in time (the nodes within the limit times
    the network's top speed, in a straight line), which keeps each search's
    node arrays small on a national network without changing any time.
    """
    n = network.n_nodes
    k = sources.street.shape[0]
    s_nodes, s_seconds = _entries(sources, leaving=forwards)
    t_nodes, t_seconds = _entries(targets, leaving=not forwards)
    full = network.forward if forwards else network.backward
    # any node further than this from every source cannot lead to a target in time
    search_limit = limit_s - float(np.min(t_seconds, axis=1, initial=np.inf).min())
    empty = np.zeros(0, dtype=np.int64)
    if not np.isfinite(search_limit) or search_limit < 0:
        return empty, empty, np.zeros(0)
    radius = search_limit * _top_speed(network)
    sx, sy = network.x[s_nodes[:, 0]], network.y[s_nodes[:, 0]]
    if np.isfinite(radius):
        tile = max(radius / 2.0, 1.0)
        key = np.floor((sx - sx.min()) / tile) * (k + 1) + np.floor((sy - sy.min()) / tile)
        _, group = np.unique(key, return_inverse=True)
    else:
        group = np.zeros(k, dtype=np.int64)
    found_s, found_t, found_w = [empty], [empty], [np.zeros(0)]
    for members in np.split(
        np.argsort(group, kind="stable"), np.flatnonzero(np.diff(np.sort(group))) + 1
    ):
        ends = s_nodes[members].ravel()
        keep = np.ones(n, dtype=bool)
        if np.isfinite(radius):
            x0, x1 = network.x[ends].min() - radius, network.x[ends].max() + radius
            y0, y1 = network.y[ends].min() - radius, network.y[ends].max() + radius
            keep = (network.x >= x0) & (network.x <= x1) & (network.y >= y0) & (network.y <= y1)
        if keep.mean() > 0.5:
            part, renumber = full, np.arange(n, dtype=np.int64)
        else:
            part, renumber = _subgraph(full, keep)
        m = part.shape[0]
        graph = _with_sources(part, renumber[s_nodes[members]], s_seconds[members])
        t_local = renumber[t_nodes]
        t_here = t_local >= 0
        t_local = np.where(t_here, t_local, 0)
        t_extra = np.where(t_here, t_seconds, np.inf)
        block = max(1, block_bytes // (8 * (m + members.shape[0])))
        for start in range(0, members.shape[0], block):
            chunk = np.arange(start, min(start + block, members.shape[0]))
            dist = np.atleast_2d(
                dijkstra(graph, directed=True, indices=m + chunk, limit=search_limit)
            )
            best = np.minimum(
                dist[:, t_local[:, 0]] + t_extra[:, 0], dist[:, t_local[:, 1]] + t_extra[:, 1]
            )
            rows, cols = np.nonzero(best <= limit_s)
            found_s.append(members[chunk[rows]])
            found_t.append(cols.astype(np.int64))
            found_w.append(best[rows, cols])
    return np.concatenate(found_s), np.concatenate(found_t), np.concatenate(found_w)


def pairs_within(
    network: CompiledNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    minutes: float,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    max_snap_m: float = settings.NETWORK_MAX_SNAP_M,
    method: str = "network",
    block_bytes: int = REACH_BLOCK_BYTES,
) -> pd.DataFrame:
    """The origin → destination journeys of at most ``minutes`` over the network, long form.

    Searches run from whichever side has fewer points (destinations over the
    backward graph, origins over the forward one), each stopped at the limit,
    in blocks of at most ``block_bytes`` of node times: memory grows with the
    number of pairs found, never with origins × destinations.

    Parameters
    ----------
    network
        From :func:`geomap.travel.network.compile_network` or ``compile_arrays``.
    origins, destinations
        Points in EPSG:27700 with unique ``id`` values.
    minutes
        The time limit; journeys of exactly this long are kept.
    access_kmh
        Speed of the off-network legs.
    max_snap_m
        Points further than this from the network are warned about and counted.
    method
        The ``method`` column's value.
    block_bytes
        Most bytes of node times held at once (at least one search's).

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``minutes`` and ``method``, one row per pair
        within the limit, in origin then destination order (the ids and the
        method as categoricals, whose categories are every origin's and
        destination's id, so that millions of pairs stay small); pairs not listed
        have no journey within the limit (never a time of 0).
        ``attrs["geomap_network"]`` holds the :class:`~geomap.travel.network.RunStats`
        counts, ``unreachable`` counting the origins with no destination within
        the limit, and ``minutes`` the limit.

    Raises
    ------
    InputError
        If the limit is not a positive number, ``block_bytes`` is not positive,
        or the points are not points in EPSG:27700 with unique ``id`` values.

    Warns
    -----
    TravelWarning
        For points further than ``max_snap_m`` from the network.
    """
    if not (np.isfinite(minutes) and minutes > 0):
        raise InputError(
            f"the time limit must be a positive number of minutes, not {minutes}",
            fix="e.g. minutes=30",
        )
    if not block_bytes > 0:
        raise InputError(f"block_bytes must be positive, not {block_bytes}")
    check_points(origins, what="origins")
    check_points(destinations, what="destinations")
    o = snap_points(network, origins, access_kmh=access_kmh, max_snap_m=max_snap_m, what="origins")
    d = snap_points(
        network, destinations, access_kmh=access_kmh, max_snap_m=max_snap_m, what="destinations"
    )
    warn_far(
        [("origins", origins, o), ("destinations", destinations, d)],
        max_snap_m=max_snap_m,
        access_kmh=access_kmh,
    )
    limit_s = float(minutes) * 60.0
    n_o, n_d = len(origins), len(destinations)
    rows = cols = np.zeros(0, dtype=np.int64)
    seconds = np.zeros(0)
    if n_o and n_d:
        forwards = n_o <= n_d
        if forwards:
            rows, cols, seconds = _searched_pairs(
                network, o, d, forwards=True, limit_s=limit_s, block_bytes=block_bytes
            )
        else:
            cols, rows, seconds = _searched_pairs(
                network, d, o, forwards=False, limit_s=limit_s, block_bytes=block_bytes
            )
        # a destination further along the origin's own street, reached along it
        same_o, same_d, along = _same_street(o, d)
        along = o.seconds[same_o] + along + d.seconds[same_d]
        near = along <= limit_s
        rows = np.concatenate([rows, same_o[near]])
        cols = np.concatenate([cols, same_d[near]])
        seconds = np.concatenate([seconds, along[near]])
        # the quickest way of each pair, in origin then destination order
        order = np.lexsort((seconds, cols, rows))
        rows, cols, seconds = rows[order], cols[order], seconds[order]
        first = np.ones(rows.shape[0], dtype=bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, seconds = rows[first], cols[first], seconds[first]
    reached = np.zeros(n_o, dtype=bool)
    reached[rows] = True
    # ids as categoricals: millions of pairs share a few thousand ids
    result = pd.DataFrame(
        {
            "from_id": pd.Categorical.from_codes(rows, categories=pd.Index(origins["id"])),
            "to_id": pd.Categorical.from_codes(cols, categories=pd.Index(destinations["id"])),
            "minutes": seconds / 60.0,
            "method": pd.Categorical.from_codes(
                np.zeros(rows.shape[0], dtype=np.int8), pd.Index([method])
            ),
        }
    )
    stats = RunStats(
        origins=n_o,
        destinations=n_d,
        far_origins=o.n_far,
        far_destinations=d.n_far,
        unreachable=int((~reached).sum()),
        max_snap_m=float(max_snap_m),
        access_kmh=float(access_kmh),
    )
    result.attrs["geomap_network"] = asdict(stats)
    result.attrs["minutes"] = float(minutes)
    return result
