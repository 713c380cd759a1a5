"""Journeys within a time limit (geomap.travel.reach.pairs_within), on small graphs.

A hand-worked line of streets; random graphs against a plain Floyd–Warshall
reference (points on nodes) and against ``matrix()`` filtered to the limit
(points anywhere, one-way streets, both search directions, tiny blocks).
"""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap.errors import CRSError, InputError, TravelWarning
from geomap.travel.network import CompiledNetwork, compile_arrays, matrix
from geomap.travel.reach import pairs_within

CRS = "EPSG:27700"


def points(xy: list[tuple[float, float]], prefix: str, crs: str = CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(len(xy))]},
        geometry=[shapely.Point(p) for p in xy],
        crs=crs,
    )


@pytest.fixture
def line() -> CompiledNetwork:
    # nodes 0-1-2-3 along y = 0, 1 km apart; 60 s per link both ways, except 2 → 3
    # which is one-way (3 → 2 only, 120 s)
    x = np.array([0.0, 1000.0, 2000.0, 3000.0])
    y = np.zeros(4)
    u = np.array([0, 1, 1, 2, 3])
    v = np.array([1, 0, 2, 1, 2])
    s = np.array([60.0, 60.0, 60.0, 60.0, 120.0])
    return compile_arrays(u, v, s, x, y)


def test_hand_worked_line(line: CompiledNetwork) -> None:
    # the origin sits 60 m off node 0 (access leg 60 m at 4.8 km/h = 45 s)
    origins = points([(0.0, 60.0)], "o")
    # destinations on nodes 1, 2 and 3
    destinations = points([(1000.0, 0.0), (2000.0, 0.0), (3000.0, 0.0)], "d")
    got = pairs_within(line, origins, destinations, minutes=3.0)
    # o → d0: 45 + 60 = 105 s; o → d1: 45 + 120 = 165 s; d2 cannot be reached (one-way)
    assert got["to_id"].tolist() == ["d0", "d1"]
    assert got["minutes"].to_numpy() == pytest.approx([105 / 60, 165 / 60])
    assert got.attrs["geomap_network"]["unreachable"] == 0
    # 2.5 minutes = 150 s keeps only d0; exactly 105 s keeps it too
    assert pairs_within(line, origins, destinations, minutes=2.5)["to_id"].tolist() == ["d0"]
    assert pairs_within(line, origins, destinations, minutes=1.75)["to_id"].tolist() == ["d0"]
    assert pairs_within(line, origins, destinations, minutes=1.7).empty
    # from node 3 the others are reached along the one-way street: node 1 in 120 + 60 s,
    # node 2 in 120 s, node 3 at once
    back = pairs_within(line, points([(3000.0, 0.0)], "o"), destinations, minutes=10)
    assert back["minutes"].to_numpy() == pytest.approx([3.0, 2.0, 0.0])


def test_same_street_direct(line: CompiledNetwork) -> None:
    # origin and destination on the street 0-1, 300 m apart: 18 s along it
    got = pairs_within(line, points([(100.0, 0.0)], "o"), points([(400.0, 0.0)], "d"), minutes=1)
    assert got["minutes"].to_numpy() == pytest.approx([18 / 60])


def random_network(seed: int, side: int = 7, *, rows: int | None = None) -> CompiledNetwork:
    rng = np.random.default_rng(seed)
    height = side if rows is None else rows
    n = side * height
    row, col = np.divmod(np.arange(n), side)
    x = col * 100.0 + rng.uniform(-20, 20, n)
    y = row * 100.0 + rng.uniform(-20, 20, n)
    ids = np.arange(n).reshape(height, side)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    keep = rng.random(a.shape[0]) > 0.1
    a, b = a[keep], b[keep]
    oneway = rng.random(a.shape[0]) < 0.25
    u = np.concatenate([a, b[~oneway]])
    v = np.concatenate([b, a[~oneway]])
    seconds = np.asarray(rng.uniform(5.0, 60.0, u.shape[0]), dtype=float)
    return compile_arrays(u, v, seconds, x, y)


def floyd_warshall(network: CompiledNetwork) -> np.ndarray:
    """All-pairs seconds by the textbook triple loop (vectorised over one index)."""
    n = network.n_nodes
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0.0)
    forward = network.forward.tocoo()
    for i, j, w in zip(forward.row, forward.col, forward.data, strict=True):
        dist[i, j] = min(dist[i, j], w)
    for k in range(n):
        dist = np.minimum(dist, dist[:, [k]] + dist[[k], :])
    return dist


def as_dict(table: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {
        (str(a), str(b)): float(m)
        for a, b, m in zip(table["from_id"], table["to_id"], table["minutes"], strict=True)
    }


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("limit", [0.5, 1.5, 4.0])
def test_points_on_nodes_match_floyd_warshall(seed: int, limit: float) -> None:
    network = random_network(seed)
    rng = np.random.default_rng(100 + seed)
    o_nodes = rng.choice(network.n_nodes, 9, replace=False)
    d_nodes = rng.choice(network.n_nodes, 6, replace=False)
    origins = points([(network.x[i], network.y[i]) for i in o_nodes], "o")
    destinations = points([(network.x[i], network.y[i]) for i in d_nodes], "d")
    dist = floyd_warshall(network)
    expected = {
        (f"o{a}", f"d{b}"): dist[i, j] / 60.0
        for a, i in enumerate(o_nodes)
        for b, j in enumerate(d_nodes)
        if dist[i, j] <= limit * 60.0
    }
    got = as_dict(pairs_within(network, origins, destinations, minutes=limit))
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_origins,n_destinations", [(12, 5), (5, 12)])
@pytest.mark.parametrize("block_bytes", [1, 2**20])
def test_matches_matrix_filtered_to_the_limit(
    seed: int, n_origins: int, n_destinations: int, block_bytes: int
) -> None:
    network = random_network(seed)
    rng = np.random.default_rng(200 + seed)
    origins = points([tuple(p) for p in rng.uniform(-50, 650, (n_origins, 2))], "o")
    destinations = points([tuple(p) for p in rng.uniform(-50, 650, (n_destinations, 2))], "d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TravelWarning)
        full = matrix(network, origins, destinations)
    limit = float(np.nanquantile(full["minutes"], 0.4))
    expected = full[full["minutes"] <= limit]
    got = pairs_within(network, origins, destinations, minutes=limit, block_bytes=block_bytes)
    assert list(got.columns) == ["from_id", "to_id", "minutes", "method"]
    assert as_dict(got).keys() == as_dict(expected).keys()
    for key, value in as_dict(expected).items():
        assert as_dict(got)[key] == pytest.approx(value, abs=1e-9)
    reached = set(got["from_id"])
    assert got.attrs["geomap_network"]["unreachable"] == n_origins - len(reached)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("n_origins,n_destinations", [(30, 8), (8, 30)])
def test_searches_over_part_of_a_long_network_match_matrix(
    seed: int, n_origins: int, n_destinations: int
) -> None:
    # a strip 6 km long: a short limit searches only the part of it within reach
    network = random_network(seed, side=60, rows=4)
    rng = np.random.default_rng(300 + seed)

    def spread(n: int, prefix: str) -> gpd.GeoDataFrame:
        xy = np.column_stack([rng.uniform(0, 5900, n), rng.uniform(-30, 330, n)])
        return points([tuple(p) for p in xy], prefix)

    origins, destinations = spread(n_origins, "o"), spread(n_destinations, "d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TravelWarning)
        full = matrix(network, origins, destinations)
    for limit in (1.0, 3.0):
        expected = full[full["minutes"] <= limit]
        got = pairs_within(network, origins, destinations, minutes=limit, block_bytes=4096)
        assert as_dict(got).keys() == as_dict(expected).keys()
        for key, value in as_dict(expected).items():
            assert as_dict(got)[key] == pytest.approx(value, abs=1e-9)


def test_an_instant_edge_searches_the_whole_network(line: CompiledNetwork) -> None:
    # a 0-second edge 1 km long: no distance bounds a journey, so nothing is cut off
    network = compile_arrays(
        np.array([0, 1, 2]),
        np.array([1, 2, 3]),
        np.array([0.0, 60.0, 0.0]),
        np.array([0.0, 1000.0, 2000.0, 3000.0]),
        np.zeros(4),
    )
    got = pairs_within(network, points([(0.0, 0.0)], "o"), points([(3000.0, 0.0)], "d"), minutes=1)
    assert got["minutes"].to_numpy() == pytest.approx([1.0])


def test_far_points_are_warned_and_kept(line: CompiledNetwork) -> None:
    origins = points([(0.0, 5000.0), (0.0, 10.0)], "o")
    destinations = points([(1000.0, 0.0)], "d")
    with pytest.warns(TravelWarning, match="1 of 2 origins"):
        got = pairs_within(line, origins, destinations, minutes=120)
    assert set(got["from_id"]) == {"o0", "o1"}
    assert got.attrs["geomap_network"]["far_origins"] == 1


def test_empty_sides(line: CompiledNetwork) -> None:
    none = points([], "x")
    some = points([(0.0, 0.0)], "o")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pairs_within(line, none, some, minutes=5).empty
        got = pairs_within(line, some, none, minutes=5)
    assert got.empty
    assert got.attrs["geomap_network"]["unreachable"] == 1


@pytest.mark.parametrize(
    "kwargs,origins,error",
    [
        ({"minutes": 0}, points([(0.0, 0.0)], "o"), InputError),
        ({"minutes": -5}, points([(0.0, 0.0)], "o"), InputError),
        ({"minutes": float("nan")}, points([(0.0, 0.0)], "o"), InputError),
        ({"minutes": 5, "block_bytes": 0}, points([(0.0, 0.0)], "o"), InputError),
        ({"minutes": 5}, points([(0.0, 0.0), (1.0, 0.0)], "o").assign(id="same"), InputError),
        ({"minutes": 5}, points([(0.0, 0.0)], "o").drop(columns="id"), InputError),
        ({"minutes": 5}, points([(0.0, 0.0)], "o", crs="EPSG:4326"), CRSError),
    ],
)
def test_bad_inputs(
    line: CompiledNetwork, kwargs: dict[str, Any], origins: gpd.GeoDataFrame, error: type
) -> None:
    with pytest.raises(error):
        pairs_within(line, origins, points([(1000.0, 0.0)], "d"), **kwargs)
