"""A brute-force reference for travel times between points joined to a network's streets.

Independent of :mod:`geomap.travel.network`: each point is joined to the nearest
street by measuring its distance to every edge's shape with shapely; the
street's edges (both ways of a two-way street: every edge drawn along the same
line) are split there by a new node, and networkx finds the shortest paths
from each origin on that graph.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import shapely

from geomap import settings


@dataclass(frozen=True)
class Join:
    """Where a point joins the network: the edges split, how far along each, the leg."""

    edges: list[tuple[object, object, int]]
    along: list[float]
    leg_m: float


def measured(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """``graph`` with nodes and shapes in EPSG:27700 (a copy when it is in another system)."""
    crs = pyproj.CRS(graph.graph.get("crs") or settings.LONLAT_CRS)
    if crs == pyproj.CRS(settings.MEASURE_CRS):
        return graph
    move = pyproj.Transformer.from_crs(crs, settings.MEASURE_CRS, always_xy=True)
    out = nx.MultiDiGraph(crs=settings.MEASURE_CRS)
    for node, data in graph.nodes(data=True):
        x, y = move.transform(data["x"], data["y"])
        out.add_node(node, x=x, y=y)
    for u, v, k, data in graph.edges(keys=True, data=True):
        copy = dict(data)
        if copy.get("geometry") is not None:
            copy["geometry"] = shapely.transform(
                copy["geometry"], lambda xy: np.column_stack(move.transform(xy[:, 0], xy[:, 1]))
            )
        out.add_edge(u, v, k, **copy)
    return out


def edge_line(graph: nx.MultiDiGraph, u: object, v: object, k: int) -> shapely.LineString:
    """The edge's shape, with its ends on its nodes; the straight line when it has none."""
    data = graph.edges[u, v, k]
    a, b = graph.nodes[u], graph.nodes[v]
    if data.get("geometry") is not None:
        inner = shapely.get_coordinates(data["geometry"])[1:-1]
        return shapely.LineString([(a["x"], a["y"]), *inner, (b["x"], b["y"])])
    return shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])


def join(
    graph: nx.MultiDiGraph,
    point: shapely.Point,
    edges: list[tuple[object, object, int]],
    lines: np.ndarray,
) -> Join:
    """The nearest edge by brute force, and every edge drawn along the same line."""
    gaps = shapely.distance(lines, point)
    best = int(np.argmin(gaps))
    u0, v0, _ = edges[best]
    same = [
        i
        for i, (u, v, _) in enumerate(edges)
        if {u, v} == {u0, v0} and lines[i].equals(lines[best])
    ]
    return Join(
        edges=[edges[i] for i in same],
        along=[lines[i].project(point) for i in same],
        leg_m=float(gaps[best]),
    )


def reference_matrix(
    graph: nx.MultiDiGraph,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    access_kmh: float = settings.NETWORK_ACCESS_KMH,
    weight: str = "travel_time",
) -> np.ndarray:
    """Seconds from every origin to every destination (``inf`` where there is no journey).

    Every point is joined to the graph at once: each edge is cut at every point
    joining it, in order along it, and a plain Dijkstra runs from each origin.
    An origin's node has only a way out and a destination's only a way in, so
    no journey passes through another point.
    """
    graph = measured(graph)
    speed = access_kmh / 3.6
    edges = [(u, v, k) for u, v, k in graph.edges(keys=True) if edge_line(graph, u, v, k).length]
    lines = np.array([edge_line(graph, *e) for e in edges], dtype=object)
    position = {edge: i for i, edge in enumerate(edges)}
    split = nx.MultiDiGraph(graph)
    cuts: dict[tuple[object, object, int], list[tuple[float, str]]] = {}
    names = [("origin", i, p) for i, p in enumerate(origins.geometry)]
    names += [("destination", j, p) for j, p in enumerate(destinations.geometry)]
    for kind, i, point in names:
        where = join(graph, point, edges, lines)
        joins = f"{kind} {i} joins"
        for edge, along in zip(where.edges, where.along, strict=True):
            cuts.setdefault(edge, []).append((along, joins))
        leg = {weight: where.leg_m / speed}
        if kind == "origin":
            split.add_edge(f"origin {i}", joins, **leg)
        else:
            split.add_edge(joins, f"destination {i}", **leg)
    for (u, v, k), marks in cuts.items():
        length = lines[position[(u, v, k)]].length
        seconds = graph.edges[u, v, k][weight]
        chain = [(0.0, u), *sorted(marks), (length, v)]
        for (a_at, a), (b_at, b) in itertools.pairwise(chain):
            split.add_edge(a, b, **{weight: seconds * (b_at - a_at) / length})
            if a_at == b_at:
                # the same place (two points, or a point and a node): either way, at once
                split.add_edge(b, a, **{weight: 0.0})
    out = np.full((len(origins), len(destinations)), math.inf)
    for i in range(len(origins)):
        reached = nx.single_source_dijkstra_path_length(split, f"origin {i}", weight=weight)
        for j in range(len(destinations)):
            out[i, j] = reached.get(f"destination {j}", math.inf)
    return out
