"""Points join the network where they are: on the nearest point of the nearest street.

Hand-built simplified networks (long edges carrying their shapes, as osmnx
gives them) with times worked out by hand, and random small grids checked
against a brute-force reference that splits the edges with networkx
(``tests/edge_reference.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import nullcontext

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from edge_reference import reference_matrix

from geomap import settings
from geomap.errors import TravelWarning
from geomap.travel.network import (
    NetworkTravelTimes,
    compile_arrays,
    compile_network,
    matrix,
    nearest,
    node_time_matrix,
    snap_points,
    snap_time_matrix,
)

WALK = 4.8 / 3.6  # metres per second, the access speed too
CAR = 30.0 / 3.6


def street_graph(
    nodes: dict[str, tuple[float, float]],
    streets: Sequence[tuple[str, str, Sequence[tuple[float, float]], float, bool]],
) -> nx.MultiDiGraph:
    """A simplified network in EPSG:27700: ``(u, v, inner vertices, m/s, two_way)`` per street.

    Every edge has ``length`` and ``travel_time`` (seconds), and a ``geometry``
    when it bends; the reverse edge of a two-way street has the shape reversed.
    """
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS)
    for name, (x, y) in nodes.items():
        graph.add_node(name, x=x, y=y)
    for u, v, inner, speed, two_way in streets:
        line = shapely.LineString([nodes[u], *inner, nodes[v]])
        pairs = [(u, v, line)] + ([(v, u, line.reverse())] if two_way else [])
        for a, b, shape in pairs:
            data: dict[str, object] = {"length": shape.length, "travel_time": shape.length / speed}
            if inner:
                data["geometry"] = shape
            graph.add_edge(a, b, **data)
    return graph


def at(spec: dict[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(spec)},
        geometry=gpd.points_from_xy([x for x, _ in spec.values()], [y for _, y in spec.values()]),
        crs=settings.MEASURE_CRS,
    )


def seconds_of(table: pd.DataFrame, origin: str, dest: str) -> float:
    row = table[(table["from_id"] == origin) & (table["to_id"] == dest)]
    assert len(row) == 1
    return float(row["minutes"].iloc[0]) * 60


# --------------------------------------------------------------------------- two parallel streets

# Two straight lanes 300 m apart, joined at their south ends by a 300 m link, each
# simplified to its two ends (the vertices in between are only its shape):
#   lane A from A0 (0, 0) to A1 (0, 2000); lane B from B0 (300, 0) to B1 (300, 12500).
# The home is on lane A 1.5 km from A0, nearer A1 (500 m) than A0. School "near" is on
# lane B 1 km from B0, school "far" 10 km from B0. Walking at 4.8 km/h (80 m a minute):
#   home -> near: 1500 + 300 + 1000 = 2800 m = 35.0 minutes
#   home -> far:  1500 + 300 + 10000 = 11800 m = 147.5 minutes
# Joining at the nearest node instead walks 500 m to A1, all of lane A back (2000 m), the
# link (300 m) and then 1000 m off the network to "near" (47.5 minutes), or, to "far",
# snapped to B1 2.5 km away, 500 + 2000 + 300 + 12500 + 2500 m (222.5 minutes).
LANES = street_graph(
    {"A0": (0.0, 0.0), "A1": (0.0, 2000.0), "B0": (300.0, 0.0), "B1": (300.0, 12500.0)},
    [
        ("A0", "A1", [(0.0, 700.0), (0.0, 1200.0)], WALK, True),
        ("B0", "B1", [(300.0, 5000.0), (300.0, 9000.0)], WALK, True),
        ("A0", "B0", [], WALK, True),
    ],
)


def test_two_parallel_streets_are_walked_along_the_street() -> None:
    network = compile_network(LANES)
    home = at({"home": (0.0, 1500.0)})
    schools = at({"near": (300.0, 1000.0), "far": (300.0, 10000.0)})
    times = matrix(network, home, schools)
    assert seconds_of(times, "home", "near") / 60 == pytest.approx(35.0, abs=1e-9)
    assert seconds_of(times, "home", "far") / 60 == pytest.approx(147.5, abs=1e-9)
    best = nearest(network, home, schools)
    assert best["to_id"].tolist() == ["near"]
    assert best["minutes"].iloc[0] == pytest.approx(35.0, abs=1e-9)
    # every point lies on its lane: no access leg
    assert best["from_snap_m"].iloc[0] == 0.0 and best["to_snap_m"].iloc[0] == 0.0
    # and the journey back is the same length
    back = matrix(network, schools, home)
    assert seconds_of(back, "far", "home") / 60 == pytest.approx(147.5, abs=1e-9)


def test_a_car_covers_only_the_access_leg_on_foot() -> None:
    # the same lanes by car at 30 km/h (500 m a minute); the home is now 40 m west of
    # lane A, 1.5 km along it: 40 m on foot (0.5 minutes), then 2800 m by car (5.6 minutes)
    by_car = street_graph(
        {"A0": (0.0, 0.0), "A1": (0.0, 2000.0), "B0": (300.0, 0.0), "B1": (300.0, 12500.0)},
        [
            ("A0", "A1", [(0.0, 700.0)], CAR, True),
            ("B0", "B1", [(300.0, 5000.0)], CAR, True),
            ("A0", "B0", [], CAR, True),
        ],
    )
    source = NetworkTravelTimes(by_car, mode="drive")
    result = source.nearest(at({"home": (-40.0, 1500.0)}), at({"near": (300.0, 1000.0)}))
    assert result["minutes"].iloc[0] == pytest.approx(0.5 + 5.6, abs=1e-9)
    assert result["from_snap_m"].iloc[0] == 40.0
    assert "nearest point of the nearest street" in result.attrs["description"]


def test_points_along_a_bent_street_get_the_distance_along_it() -> None:
    # a lane from P (0, 0) north to a bend at (0, 1000), then east to Q (1000, 1000),
    # simplified to P and Q; a spur from Q east to R (1500, 1000)
    graph = street_graph(
        {"P": (0.0, 0.0), "Q": (1000.0, 1000.0), "R": (1500.0, 1000.0)},
        [("P", "Q", [(0.0, 1000.0)], WALK, True), ("Q", "R", [], WALK, True)],
    )
    network = compile_network(graph)
    # "a" is 30 m east of the lane, 400 m from P; "b" is 12 m south of the lane, 250 m
    # past the bend (1,250 m from P); "r" is at R
    pts = at({"a": (30.0, 400.0), "b": (250.0, 988.0), "r": (1500.0, 1000.0)})
    snap = snap_points(network, pts)
    np.testing.assert_allclose(snap.distance_m, [30.0, 12.0, 0.0], atol=1e-12)
    times = matrix(network, pts, pts)
    # a -> b: 30 m + 850 m along the lane + 12 m; a -> r: 30 + 1600 + 500 m
    assert seconds_of(times, "a", "b") == pytest.approx((30 + 850 + 12) / WALK, abs=1e-9)
    assert seconds_of(times, "a", "r") == pytest.approx((30 + 1600 + 500) / WALK, abs=1e-9)
    assert seconds_of(times, "b", "r") == pytest.approx((12 + 750 + 500) / WALK, abs=1e-9)
    assert seconds_of(times, "r", "a") == pytest.approx((500 + 1600 + 30) / WALK, abs=1e-9)
    # measured in metres (a network compiled on length), without the legs
    metres = compile_network(graph, weight="length")
    along = snap_time_matrix(metres, snap_points(metres, pts), snap_points(metres, pts))
    np.testing.assert_allclose(along[0], [0.0, 850.0, 2100.0], atol=1e-9)


def test_a_lane_drawn_in_lon_lat_is_projected() -> None:
    # the lanes of LANES with every coordinate in lon/lat: the same times, to the
    # precision of a round trip through the projection (millimetres)
    forward = pyproj.Transformer.from_crs(settings.MEASURE_CRS, settings.LONLAT_CRS, always_xy=True)
    placed = nx.MultiDiGraph(crs=settings.LONLAT_CRS)
    offset = (350_000.0, 240_000.0)  # near Hereford
    for node, data in LANES.nodes(data=True):
        lon, lat = forward.transform(data["x"] + offset[0], data["y"] + offset[1])
        placed.add_node(node, x=lon, y=lat)
    for u, v, data in LANES.edges(data=True):
        copy = dict(data)
        if "geometry" in copy:
            copy["geometry"] = shapely.transform(
                copy["geometry"],
                lambda xy: np.column_stack(
                    forward.transform(xy[:, 0] + offset[0], xy[:, 1] + offset[1])
                ),
            )
        placed.add_edge(u, v, **copy)
    network = compile_network(placed)
    home = at({"home": (offset[0], offset[1] + 1500.0)})
    school = at({"far": (offset[0] + 300.0, offset[1] + 10000.0)})
    assert seconds_of(matrix(network, home, school), "home", "far") / 60 == pytest.approx(
        147.5, abs=1e-4
    )


# --------------------------------------------------------------------------- directions


def one_way_triangle() -> nx.MultiDiGraph:
    # X (0, 0) -> Y (1000, 0) one-way east; Y -> Z (1000, 1000) and Z -> X two-way.
    # Round the triangle against the one-way street: Y -> Z -> X is 1000 + 1414.2 m.
    return street_graph(
        {"X": (0.0, 0.0), "Y": (1000.0, 0.0), "Z": (1000.0, 1000.0)},
        [
            ("X", "Y", [(500.0, 0.0)], WALK, False),
            ("Y", "Z", [], WALK, True),
            ("Z", "X", [], WALK, True),
        ],
    )


def test_an_origin_on_a_one_way_street_can_only_go_forward() -> None:
    network = compile_network(one_way_triangle())
    diagonal = math.hypot(1000.0, 1000.0)
    pts = at({"p": (300.0, 0.0), "x": (0.0, 0.0), "y": (1000.0, 0.0)})
    times = matrix(network, pts, pts)
    # p -> y goes on east: 700 m; p -> x cannot turn back: 700 + 1000 + diagonal
    assert seconds_of(times, "p", "y") == pytest.approx(700 / WALK, abs=1e-9)
    assert seconds_of(times, "p", "x") == pytest.approx((700 + 1000 + diagonal) / WALK, abs=1e-9)
    # a destination on it is reached from X only: x -> p is 300 m, y -> p all the way round
    assert seconds_of(times, "x", "p") == pytest.approx(300 / WALK, abs=1e-9)
    assert seconds_of(times, "y", "p") == pytest.approx((1000 + diagonal + 300) / WALK, abs=1e-9)


def test_two_points_on_the_same_street() -> None:
    network = compile_network(one_way_triangle())
    diagonal = math.hypot(1000.0, 1000.0)
    pts = at({"west": (200.0, 5.0), "east": (650.0, -10.0)})
    times = matrix(network, pts, pts)
    # with the one-way street: 5 + 450 + 10 m; against it, round the triangle
    assert seconds_of(times, "west", "east") == pytest.approx((5 + 450 + 10) / WALK, abs=1e-9)
    assert seconds_of(times, "east", "west") == pytest.approx(
        (10 + 350 + 1000 + diagonal + 200 + 5) / WALK, abs=1e-9
    )
    assert seconds_of(times, "west", "west") == pytest.approx(10 / WALK, abs=1e-9)
    # the nearest destination from "west" is "east", further along its own street
    found = nearest(network, pts.iloc[:1], pts.iloc[1:])
    assert found["to_id"].tolist() == ["east"]
    assert found["minutes"].iloc[0] * 60 == pytest.approx((5 + 450 + 10) / WALK, abs=1e-9)
    # on a two-way street the direct way is taken both ways
    two_way = compile_network(LANES)
    lane = at({"s": (0.0, 100.0), "n": (0.0, 1900.0)})
    both = matrix(two_way, lane, lane)
    assert seconds_of(both, "n", "s") == pytest.approx(1800 / WALK, abs=1e-9)
    assert seconds_of(both, "s", "n") == pytest.approx(1800 / WALK, abs=1e-9)


def test_parallel_edges_the_quicker_is_taken() -> None:
    # two edges along the same straight line E -> F (1000 m), at 4.8 and 9.6 km/h, and a
    # slow bent one beside them (via (500, 400)); F -> G (500 m) at 4.8 km/h
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS)
    graph.add_node("E", x=0.0, y=0.0)
    graph.add_node("F", x=1000.0, y=0.0)
    graph.add_node("G", x=1500.0, y=0.0)
    graph.add_edge("E", "F", length=1000.0, travel_time=1000.0 / WALK)
    graph.add_edge("E", "F", length=1000.0, travel_time=1000.0 / (2 * WALK))
    bent = shapely.LineString([(0, 0), (500, 400), (1000, 0)])
    graph.add_edge(
        "E", "F", length=bent.length, travel_time=bent.length / (WALK / 4), geometry=bent
    )
    graph.add_edge("F", "G", length=500.0, travel_time=500.0 / WALK)
    network = compile_network(graph)
    pts = at({"e": (0.0, 0.0), "mid": (400.0, 0.0), "hill": (500.0, 410.0), "g": (1500.0, 0.0)})
    times = matrix(network, pts, pts)
    # e -> g: 1000 m at 9.6 km/h + 500 m at 4.8
    assert seconds_of(times, "e", "g") == pytest.approx(500 / WALK + 500 / WALK, abs=1e-9)
    # mid, on the straight pair, takes the quicker: 600 m at 9.6 km/h + 500 m
    assert seconds_of(times, "mid", "g") == pytest.approx(300 / WALK + 500 / WALK, abs=1e-9)
    # hill is 10 m from the bent edge: it must stay on that slow edge to F
    half = bent.length / 2
    assert seconds_of(times, "hill", "g") == pytest.approx(
        10 / WALK + half / (WALK / 4) + 500 / WALK, abs=1e-9
    )


# --------------------------------------------------------------------------- on the nodes


def grid_graph(side: int, *, seed: int) -> nx.MultiDiGraph:
    """A jittered side × side grid, 200 m apart: bent and straight, one- and two-way,
    parallel (alike and not) edges, speeds differing each way."""
    rng = np.random.default_rng(seed)
    nodes = {
        (i, j): (j * 200.0 + rng.uniform(-40, 40), i * 200.0 + rng.uniform(-40, 40))
        for i in range(side)
        for j in range(side)
    }
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS)
    for node, (x, y) in nodes.items():
        graph.add_node(node, x=x, y=y)
    links = [((i, j), (i, j + 1)) for i in range(side) for j in range(side - 1)]
    links += [((i, j), (i + 1, j)) for i in range(side - 1) for j in range(side)]
    for u, v in links:
        if rng.random() < 0.1:
            continue
        (ax, ay), (bx, by) = nodes[u], nodes[v]
        inner: list[tuple[float, float]] = []
        if rng.random() < 0.6:
            for share in sorted(rng.uniform(0.1, 0.9, int(rng.integers(1, 4)))):
                inner.append(
                    (
                        ax + share * (bx - ax) + rng.uniform(-50, 50),
                        ay + share * (by - ay) + rng.uniform(-50, 50),
                    )
                )
        line = shapely.LineString([nodes[u], *inner, nodes[v]])
        kind = rng.random()
        ways = [(u, v, line)]
        if kind < 0.15:
            ways = [(v, u, line.reverse())]
        elif kind >= 0.3:
            ways.append((v, u, line.reverse()))
        for a, b, shape in ways:
            seconds = shape.length / rng.uniform(3, 15)
            data: dict[str, object] = {"length": shape.length, "travel_time": seconds}
            if inner:
                data["geometry"] = shape
            graph.add_edge(a, b, **data)
            if rng.random() < 0.05:
                # a parallel edge along the same line, slower or quicker
                graph.add_edge(
                    a,
                    b,
                    **{**data, "travel_time": seconds * rng.uniform(0.5, 1.5)},
                )
        if rng.random() < 0.05:
            # a parallel edge along another line
            mid = ((ax + bx) / 2 + rng.uniform(-80, 80), (ay + by) / 2 + rng.uniform(-80, 80))
            other = shapely.LineString([nodes[u], mid, nodes[v]])
            graph.add_edge(
                u, v, length=other.length, travel_time=other.length / 6.0, geometry=other
            )
    return graph


def scatter(graph: nx.MultiDiGraph, n: int, *, prefix: str, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xs = [x for _, x in graph.nodes(data="x")]
    ys = [y for _, y in graph.nodes(data="y")]
    return at(
        {
            f"{prefix}{i}": (
                float(rng.uniform(min(xs) - 50, max(xs) + 50)),
                float(rng.uniform(min(ys) - 50, max(ys) + 50)),
            )
            for i in range(n)
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_points_on_nodes_match_the_node_engine(seed: int) -> None:
    graph = grid_graph(5, seed=seed)
    network = compile_network(graph)
    rng = np.random.default_rng(seed)
    rows = rng.choice(network.n_nodes, size=8, replace=False)
    pts = at({f"n{r}": (float(network.x[r]), float(network.y[r])) for r in rows})
    snap = snap_points(network, pts)
    assert (snap.distance_m == 0).all()
    assert np.isin(rows, np.column_stack([snap.tail, snap.head])).all()
    got = snap_time_matrix(network, snap, snap)
    want = node_time_matrix(network, rows, rows)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    with pytest.warns(TravelWarning) if np.isinf(want).all(axis=1).any() else nullcontext():
        near = nearest(network, pts, pts.iloc[:3])
    best = np.min(want[:, :3], axis=1)
    np.testing.assert_allclose(
        near["minutes"].to_numpy() * 60, np.where(np.isinf(best), np.nan, best), atol=1e-9
    )


# --------------------------------------------------------------------------- the reference


@pytest.mark.filterwarnings("ignore::geomap.errors.TravelWarning")
@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15])
def test_random_grids_match_splitting_the_edges(seed: int) -> None:
    graph = grid_graph(4, seed=seed)
    network = compile_network(graph)
    origins = scatter(graph, 7, prefix="o", seed=seed + 100)
    destinations = scatter(graph, 5, prefix="d", seed=seed + 200)
    # a few destinations on the origins' own streets
    snap = snap_points(network, origins.iloc[:3])
    destinations = pd.concat(
        [
            destinations,
            at(
                {
                    f"s{i}": (float(x) + 1.0, float(y) - 2.0)
                    for i, (x, y) in enumerate(zip(snap.x, snap.y, strict=True))
                }
            ),
        ],
        ignore_index=True,
    )
    want = reference_matrix(graph, origins, destinations)
    got = matrix(network, origins, destinations)["minutes"].to_numpy().reshape(want.shape) * 60
    np.testing.assert_array_equal(np.isnan(got), np.isinf(want))
    np.testing.assert_allclose(got, np.where(np.isinf(want), np.nan, want), rtol=0, atol=1e-9)
    # the other way round searches from the other side
    back = matrix(network, destinations, origins)["minutes"].to_numpy().reshape(want.T.shape) * 60
    want_back = reference_matrix(graph, destinations, origins)
    np.testing.assert_allclose(
        back, np.where(np.isinf(want_back), np.nan, want_back), rtol=0, atol=1e-9
    )
    # the nearest destination of each origin, in one pass
    near = nearest(network, origins, destinations)
    best = want.min(axis=1)
    np.testing.assert_allclose(
        near["minutes"].to_numpy() * 60, np.where(np.isinf(best), np.nan, best), rtol=0, atol=1e-9
    )
    for i, to_id in enumerate(near["to_id"]):
        if not pd.isna(to_id):
            j = destinations["id"].tolist().index(to_id)
            assert want[i, j] == pytest.approx(best[i], abs=1e-9)


# --------------------------------------------------------------------------- odds and ends


def test_far_points_are_still_warned_about() -> None:
    network = compile_network(LANES)
    home = at({"home": (-1500.0, 1500.0)})
    school = at({"near": (300.0, 1000.0)})
    with pytest.warns(TravelWarning, match=r"1 of 1 origins \(e.g. home\) .*furthest 1,500 m"):
        result = nearest(network, home, school)
    assert result["from_snap_m"].iloc[0] == 1500.0
    assert result["minutes"].iloc[0] == pytest.approx((1500 + 2800) / 80, abs=1e-9)


def test_compiled_from_arrays_with_shapes() -> None:
    # a two-way edge 0 <-> 1 bent through (0, 100), given as arrays
    shape = shapely.LineString([(0, 0), (0, 100), (100, 100)])
    network = compile_arrays(
        np.array([0, 1]),
        np.array([1, 0]),
        np.array([200.0, 400.0]),
        np.array([0.0, 100.0]),
        np.array([0.0, 100.0]),
        geometry=[shape, shape.reverse()],
    )
    pts = at({"p": (-5.0, 50.0)})
    snap = snap_points(network, pts)
    assert snap.share[0] == pytest.approx(0.25)
    assert snap.distance_m[0] == pytest.approx(5.0)
    nodes, seconds = snap.origin_entries()
    assert sorted(zip(nodes[0].tolist(), seconds[0].tolist(), strict=True)) == [
        (0, 100.0),
        (1, 150.0),
    ]
    nodes, seconds = snap.destination_entries()
    assert sorted(zip(nodes[0].tolist(), seconds[0].tolist(), strict=True)) == [
        (0, 50.0),
        (1, 300.0),
    ]
    assert snap.take([0, 0]).share.tolist() == [0.25, 0.25]
    # without shapes the edge is the straight line: the point joins it at its start
    straight = compile_arrays(
        np.array([0, 1]),
        np.array([1, 0]),
        np.array([200.0, 400.0]),
        np.array([0.0, 100.0]),
        np.array([0.0, 100.0]),
    )
    assert snap_points(straight, at({"q": (-10.0, -5.0)})).share[0] == 0.0


def _same_snap(a: object, b: object) -> None:
    for name in ("node", "distance_m", "seconds", "far", "tail", "head", "share", "street"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.x, b.x)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(a.y, b.y)  # type: ignore[attr-defined]


@pytest.mark.parametrize("cap", [1_000_000, 5])
def test_points_snapped_again_reuse_their_street_piece_and_snap_the_same(cap: int) -> None:
    import pickle

    graph = grid_graph(6, seed=4)
    first = scatter(graph, 40, prefix="a", seed=5)
    # a second set: some points of the first (under other ids, one twice), some new
    again = first.iloc[[3, 7, 7, 11, 20]].assign(id=["r3", "r7", "r7b", "r11", "r20"])
    second = pd.concat([again, scatter(graph, 15, prefix="b", seed=6)], ignore_index=True)
    second = gpd.GeoDataFrame(second, geometry="geometry", crs=first.crs)

    remembering = compile_network(graph)
    remembering.streets.known.max_points = cap
    snap_points(remembering, first)
    kept = len(remembering.streets.known)
    assert kept == min(cap, 40)
    reused = snap_points(remembering, second)
    # a fresh network, with nothing remembered, snaps the second set alike
    fresh = compile_network(graph)
    _same_snap(reused, snap_points(fresh, second))
    assert len(remembering.streets.known) == min(cap, 55)
    # nothing remembered survives pickling (as when a network goes to Dask workers)
    copied = pickle.loads(pickle.dumps(remembering.streets.known))
    assert len(copied) == 0 and copied.max_points == cap
