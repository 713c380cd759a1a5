"""Reusing snaps and searches, and stopping searches at a limit, change no answer.

Each check compares with a fresh search (a network that keeps nothing) bit
for bit, or with a brute-force reference (networkx shortest paths between
nodes plus the streets' parts worked out by hand).
"""

from __future__ import annotations

import pickle
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.eligibility import ROAD_SEARCH_M, assess_eligibility
from geomap.errors import InputError
from geomap.travel.base import TravelTimes, describe_result
from geomap.travel.compact import compact_from_graph
from geomap.travel.network import (
    CompiledNetwork,
    NetworkTravelTimes,
    RoutingCache,
    compile_arrays,
    snap_points,
    snap_time_matrix,
)

MILE = 1609.344
X0, Y0 = 400_000.0, 250_000.0


def random_network(seed: int, *, keep: int = 512 * 2**20) -> CompiledNetwork:
    """A random road-like network: jittered 6 x 6 grid, some one-way streets, random speeds."""
    rng = np.random.default_rng(seed)
    side = 6
    col, row = np.meshgrid(np.arange(side), np.arange(side))
    x = X0 + col.ravel() * 300.0 + rng.uniform(-60, 60, side * side)
    y = Y0 + row.ravel() * 300.0 + rng.uniform(-60, 60, side * side)
    u, v = [], []
    for a in range(side * side):
        for b in (a + 1, a + side):
            if (b == a + 1 and a % side == side - 1) or b >= side * side or rng.random() < 0.1:
                continue
            u.append(a)
            v.append(b)
            if rng.random() > 0.2:  # else one-way
                u.append(b)
                v.append(a)
    u_a, v_a = np.array(u), np.array(v)
    metres = np.hypot(x[u_a] - x[v_a], y[u_a] - y[v_a])
    seconds = metres / rng.uniform(5.0, 25.0, u_a.shape[0])
    network = compile_arrays(u_a, v_a, seconds, x, y)
    network.cache.max_bytes = keep
    return network


def random_points(seed: int, n: int, prefix: str) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(
            X0 - 100 + rng.uniform(0, 1700, n), Y0 - 100 + rng.uniform(0, 1700, n)
        ),
        crs=settings.MEASURE_CRS,
    )


def reference(network: CompiledNetwork, origins: object, destinations: object) -> np.ndarray:
    """Brute force: node-to-node shortest paths (networkx) plus each street's parts by hand."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(network.n_nodes))
    forward = network.forward.tocoo()
    for a, b, w in zip(forward.row, forward.col, forward.data, strict=True):
        graph.add_edge(int(a), int(b), weight=float(w))
    between = dict(nx.all_pairs_dijkstra_path_length(graph))
    o = origins
    d = destinations
    out = np.full((o.tail.shape[0], d.tail.shape[0]), np.inf)  # type: ignore[attr-defined]
    for i in range(out.shape[0]):
        # leaving the origin's street: to its tail against the street, to its head along it
        leave = {
            int(o.tail[i]): 0.0 if o.share[i] == 0 else o.share[i] * o.backward_s[i],  # type: ignore[attr-defined]
            int(o.head[i]): 0.0 if o.share[i] == 1 else (1 - o.share[i]) * o.forward_s[i],  # type: ignore[attr-defined]
        }
        for j in range(out.shape[1]):
            join = {
                int(d.tail[j]): 0.0 if d.share[j] == 0 else d.share[j] * d.forward_s[j],  # type: ignore[attr-defined]
                int(d.head[j]): 0.0 if d.share[j] == 1 else (1 - d.share[j]) * d.backward_s[j],  # type: ignore[attr-defined]
            }
            best = np.inf
            for a, ta in leave.items():
                for b, tb in join.items():
                    if b in between[a]:
                        best = min(best, ta + between[a][b] + tb)
            if o.street[i] == d.street[j] and o.street[i] >= 0:  # type: ignore[attr-defined]
                ahead = d.share[j] - o.share[i]  # type: ignore[attr-defined]
                if ahead == 0:
                    best = 0.0
                elif ahead > 0:
                    best = min(best, ahead * o.forward_s[i])  # type: ignore[attr-defined]
                else:
                    best = min(best, -ahead * o.backward_s[i])  # type: ignore[attr-defined]
            out[i, j] = best
    return out


# --------------------------------------------------------------------------- hand-worked


def test_a_street_of_three_nodes_by_hand() -> None:
    # 0 --100 s--> 1 --50 s--> 2, two-way; a point halfway along each street
    network = compile_arrays(
        np.array([0, 1, 1, 2]),
        np.array([1, 0, 2, 1]),
        np.array([100.0, 100.0, 50.0, 50.0]),
        np.array([X0, X0 + 1000, X0 + 2000]),
        np.array([Y0, Y0, Y0]),
    )
    points = gpd.GeoDataFrame(
        {"id": ["a", "b"]},
        geometry=[shapely.Point(X0 + 500, Y0), shapely.Point(X0 + 1500, Y0)],
        crs=settings.MEASURE_CRS,
    )
    snap = snap_points(network, points)
    first = snap_time_matrix(network, snap, snap)
    # a to b: 50 s to node 1, 25 s on to b
    np.testing.assert_array_equal(first, [[0.0, 75.0], [75.0, 0.0]])
    searched = network.cache.searches
    again = snap_time_matrix(network, snap, snap)
    np.testing.assert_array_equal(again, first)
    assert network.cache.searches == searched  # nothing searched the second time
    assert network.cache.reused >= 2
    within = snap_time_matrix(network, snap, snap, limit=60.0)
    np.testing.assert_array_equal(within, [[0.0, np.inf], [np.inf, 0.0]])


# --------------------------------------------------------------------------- random graphs


@pytest.mark.parametrize("seed", range(6))
def test_reused_searches_equal_fresh_ones_and_the_reference(seed: int) -> None:
    kept = random_network(seed)
    fresh = random_network(seed, keep=0)
    origins = random_points(seed + 100, 7, "o")
    everywhere = random_points(seed + 200, 12, "d")
    o_kept, o_fresh = snap_points(kept, origins), snap_points(fresh, origins)
    # the same origins against several destination sets, as a report asks them
    for part in (slice(0, 12), slice(3, 9), slice(0, 4), slice(2, 12, 2)):
        d_kept = snap_points(kept, everywhere.iloc[part])
        d_fresh = snap_points(fresh, everywhere.iloc[part])
        got = snap_time_matrix(kept, o_kept, d_kept)
        want = snap_time_matrix(fresh, o_fresh, d_fresh)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(got, reference(fresh, o_fresh, d_fresh), rtol=1e-12)
        # and searching backwards from the destinations
        back = snap_time_matrix(kept, o_kept, d_kept, forwards=False)
        np.testing.assert_allclose(back, want, rtol=1e-12)
    assert kept.cache.reused > 0
    assert fresh.cache.reused == 0 and fresh.cache.nbytes == 0


@pytest.mark.parametrize("seed", range(6))
def test_limited_searches_keep_every_journey_within_the_limit(seed: int) -> None:
    network = random_network(seed, keep=0)
    origins = snap_points(network, random_points(seed + 300, 9, "o"))
    destinations = snap_points(network, random_points(seed + 400, 11, "d"))
    whole = snap_time_matrix(network, origins, destinations)
    finite = whole[np.isfinite(whole)]
    for limit in (float(np.median(finite)), float(finite.max()), float(finite.min()) + 1e-3):
        got = snap_time_matrix(network, origins, destinations, limit=limit)
        inside = whole <= limit
        np.testing.assert_array_equal(got[inside], whole[inside])
        # a journey over the limit is reported as beyond it (inf), never as a shorter time
        assert np.isinf(got[~inside]).all()


@pytest.mark.parametrize("keep", [0, 512 * 2**20])  # searches stopped at the limit, or kept whole
@pytest.mark.parametrize("seed", range(4))
def test_within_equals_the_matrix_cut_to_the_limit(seed: int, keep: int) -> None:
    source = NetworkTravelTimes(random_network(seed), mode="drive", max_snap_m=50.0)
    fresh = NetworkTravelTimes(random_network(seed, keep=keep), mode="drive", max_snap_m=50.0)
    origins = random_points(seed + 500, 8, "o")
    destinations = random_points(seed + 600, 10, "d")
    with pytest.warns(Warning):
        full = source.matrix(origins, destinations)
    minutes = float(np.nanmedian(full["minutes"]))
    with pytest.warns(Warning):
        got = fresh.within(origins, destinations, minutes=minutes)
    want = full[full["minutes"] <= minutes].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs["description"] == full.attrs["description"]
    # every pair left out is longer than the limit or has no journey: never 0
    left = full[~full.index.isin(full.index[full["minutes"] <= minutes])]
    assert (left["minutes"].isna() | (left["minutes"] > minutes)).all()


class Straight(TravelTimes):
    """Minutes = metres / 100, for the default :meth:`TravelTimes.within`."""

    mode = "car"
    method = "straight"

    def describe(self) -> str:
        return "straight"

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        ox, oy = origins.geometry.x.to_numpy(), origins.geometry.y.to_numpy()
        dx, dy = destinations.geometry.x.to_numpy(), destinations.geometry.y.to_numpy()
        minutes = np.hypot(ox[:, None] - dx[None, :], oy[:, None] - dy[None, :]) / 100.0
        table = pd.DataFrame(
            {
                "from_id": np.repeat(origins["id"].to_numpy(), len(destinations)),
                "to_id": np.tile(destinations["id"].to_numpy(), len(origins)),
                "minutes": minutes.ravel(),
                "method": self.method,
            }
        )
        return describe_result(table, "straight, 100 m a minute")


def test_default_within_keeps_the_journeys_up_to_the_limit_by_hand() -> None:
    points = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"]},
        geometry=[
            shapely.Point(X0, Y0),
            shapely.Point(X0 + 1000, Y0),
            shapely.Point(X0 + 3000, Y0),
        ],
        crs=settings.MEASURE_CRS,
    )
    got = Straight().within(points.iloc[:1], points, minutes=10.0)
    # a→a 0 min, a→b exactly 10 min (kept), a→c 30 min (left out)
    assert got["to_id"].tolist() == ["a", "b"]
    assert got["minutes"].tolist() == [0.0, 10.0]
    assert got.attrs["description"] == "straight, 100 m a minute"


@pytest.mark.parametrize("minutes", [0, -5, float("nan"), float("inf")])
def test_within_refuses_a_limit_that_is_not_a_positive_number(minutes: float) -> None:
    points = random_points(1, 3, "p")
    with pytest.raises(InputError, match="positive number of minutes"):
        Straight().within(points, points, minutes=minutes)
    source = NetworkTravelTimes(random_network(1), mode="drive")
    with pytest.raises(InputError, match="positive number of minutes"):
        source.within(points, points, minutes=minutes)


# --------------------------------------------------------------------------- the cache itself


def test_the_cache_stays_within_its_limit_and_is_not_pickled() -> None:
    network = random_network(3, keep=3 * 8 * 36)  # room for three searches' node times
    snap = snap_points(network, random_points(7, 10, "p"))
    snap_time_matrix(network, snap, snap)
    assert 0 < network.cache.nbytes <= 3 * 8 * 36
    copy = pickle.loads(pickle.dumps(network))
    assert copy.cache.nbytes == 0 and copy.cache.max_bytes == network.cache.max_bytes
    np.testing.assert_array_equal(
        snap_time_matrix(copy, snap, snap), snap_time_matrix(network, snap, snap)
    )


def test_snapping_again_gives_the_same_snaps_read_only() -> None:
    network = random_network(4)
    points = random_points(9, 5, "p")
    first = snap_points(network, points)
    assert snap_points(network, points) is first
    assert not first.share.flags.writeable
    # other settings, other snaps
    assert snap_points(network, points, access_kmh=3.0) is not first
    fresh = snap_points(random_network(4, keep=0), points)
    np.testing.assert_array_equal(fresh.share, first.share)


def test_cache_settings_are_kept_apart() -> None:
    cache = RoutingCache(max_bytes=16, max_snaps=0)
    cache.keep_field(b"a", np.zeros(3))  # 24 bytes: over the limit, not kept
    assert cache.field(b"a") is None and cache.nbytes == 0
    cache.keep_field(b"b", np.ones(2))
    assert cache.field(b"b") is not None and cache.nbytes == 16
    cache.clear()
    assert cache.nbytes == 0 and cache.field(b"b") is None


def test_a_network_on_other_weights_shares_the_streets_index() -> None:
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS, geomap_mode="drive")
    for i in range(4):
        graph.add_node(i, x=X0 + 100.0 * i, y=Y0)
    for i in range(3):
        graph.add_edge(i, i + 1, length=100.0, travel_time=10.0)
        graph.add_edge(i + 1, i, length=100.0, travel_time=12.0)
    compact = compact_from_graph(graph)
    by_length = compact.compile(weight="length")
    by_time = compact.compile(weight="travel_time")
    # built once, from whichever is asked first, and timed by each network's own weights
    assert by_length.streets.tree is by_time.streets.tree
    assert by_length.streets.forward_s.tolist() == [100.0] * 3
    assert sorted(by_time.streets.backward_s.tolist()) == [12.0] * 3


# --------------------------------------------------------------------------- eligibility


def _line(miles: list[float]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS, geomap_mode="drive")
    xs = sorted({0.0, *miles})
    for i, m in enumerate(xs):
        graph.add_node(i, x=X0 + m * MILE, y=Y0)
    for i in range(len(xs) - 1):
        length = (xs[i + 1] - xs[i]) * MILE
        graph.add_edge(i, i + 1, length=length)
        graph.add_edge(i + 1, i, length=length)
    return graph


def test_eligibility_road_miles_beyond_the_search_limit_are_measured_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # secondaries at 5, 14 (Roman Catholic) and 30 miles along one road; homes at 0 and 31 miles
    stops = [5.0, 14.0, 30.0, 31.0]
    rows = []
    for ident, _miles, faith in (
        ("S5", 5.0, None),
        ("RC", 14.0, "Roman Catholic"),
        ("F", 30.0, None),
    ):
        rows.append(
            {
                "id": ident,
                "name": f"School {ident}",
                "kind": "secondary",
                "sector": "academy",
                "low_age": 11,
                "high_age": 16,
                "offers_primary": False,
                "offers_secondary": True,
                "gender": "Mixed",
                "religious_character": faith or "Does not apply",
                "capacity": np.nan,
                "pupils": np.nan,
            }
        )
    schools = gpd.GeoDataFrame(
        rows,
        geometry=[shapely.Point(X0 + m * MILE, Y0) for m in (5.0, 14.0, 30.0)],
        crs=settings.MEASURE_CRS,
    )
    kids = gpd.GeoDataFrame(
        {
            "id": ["near", "far_school", "faith"],
            "age": [12, 12, 12],
            "school_id": [None, "F", None],
            "low_income": [False, False, True],
            "faith": [None, None, "Roman Catholic"],
        },
        geometry=[shapely.Point(X0, Y0)] * 3,
        crs=settings.MEASURE_CRS,
    )
    limited = assess_eligibility(kids, schools, drive_network=_line(stops))
    monkeypatch.setattr("geomap.eligibility.ROAD_SEARCH_M", np.inf)
    whole = assess_eligibility(kids, schools, drive_network=_line(stops))
    pd.testing.assert_frame_equal(
        pd.DataFrame(limited.drop(columns="geometry")), pd.DataFrame(whole.drop(columns="geometry"))
    )
    # the attended school 30 miles away by road, beyond the 15-mile search: measured, not missing
    far = limited.set_index("id").loc["far_school"]
    assert 30 * MILE > ROAD_SEARCH_M
    assert far["road_miles"] == pytest.approx(30.0)
    assert limited.set_index("id").loc["near", "road_miles"] == pytest.approx(5.0)


@pytest.mark.parametrize("seed", range(3))
def test_eligibility_on_a_random_county_equals_searching_in_full(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a 7 x 7 road grid 6 km apart (36 km across: beyond the 15-mile search), random schools
    rng = np.random.default_rng(seed)
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS, geomap_mode="drive")
    side = 7
    for i in range(side * side):
        graph.add_node(
            i,
            x=X0 + (i % side) * 6000.0 + rng.uniform(-500, 500),
            y=Y0 + (i // side) * 6000.0 + rng.uniform(-500, 500),
        )
    for i in range(side * side):
        for j in (i + 1, i + side):
            if (j == i + 1 and i % side == side - 1) or j >= side * side:
                continue
            a, b = graph.nodes[i], graph.nodes[j]
            length = float(np.hypot(a["x"] - b["x"], a["y"] - b["y"])) * rng.uniform(1.0, 1.3)
            graph.add_edge(i, j, length=length, travel_time=length / 15.0)
            graph.add_edge(j, i, length=length, travel_time=length / 15.0)
    compact = compact_from_graph(graph)
    n_schools = 12
    rows = [
        {
            "id": f"S{k}",
            "name": f"School {k}",
            "kind": "secondary",
            "sector": "academy",
            "low_age": 11,
            "high_age": 16,
            "offers_primary": False,
            "offers_secondary": True,
            "gender": "Mixed",
            "religious_character": "Roman Catholic" if k % 4 == 0 else "Does not apply",
            "capacity": np.nan,
            "pupils": np.nan,
        }
        for k in range(n_schools)
    ]
    # some schools well off the network, as schools over a county's border are
    sx = X0 + rng.uniform(-12_000, 48_000, n_schools)
    sy = Y0 + rng.uniform(-3_000, 39_000, n_schools)
    schools = gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy(sx, sy), crs=settings.MEASURE_CRS)
    n_kids = 40
    kids = gpd.GeoDataFrame(
        {
            "id": [f"k{i}" for i in range(n_kids)],
            "age": rng.integers(11, 16, n_kids),
            "low_income": rng.random(n_kids) < 0.5,
            "faith": np.where(rng.random(n_kids) < 0.3, "Roman Catholic", None),
            "school_id": np.where(
                rng.random(n_kids) < 0.4, [f"S{k}" for k in rng.integers(0, 12, n_kids)], None
            ),
        },
        geometry=gpd.points_from_xy(
            X0 + rng.uniform(0, 36_000, n_kids), Y0 + rng.uniform(0, 36_000, n_kids)
        ),
        crs=settings.MEASURE_CRS,
    )
    monkeypatch.setattr("geomap.eligibility._BAND", 3)  # several bands of searches
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        limited = assess_eligibility(kids, schools, drive_network=compact)
        for_node = assess_eligibility(kids, schools, drive_network=compact, start="node")
        # reported distances first sought no further than the straight line: most in full after
        monkeypatch.setattr("geomap.eligibility._REPORT_DETOUR", 1.0)
        monkeypatch.setattr("geomap.eligibility._REPORT_SLACK_M", 0.0)
        tight = assess_eligibility(kids, schools, drive_network=compact)
        # the reference: every road column searched in full, every reported pair measured in full
        monkeypatch.setattr("geomap.eligibility.ROAD_SEARCH_M", np.inf)
        monkeypatch.setattr("geomap.eligibility._REPORT_DETOUR", 0.0)
        whole = assess_eligibility(kids, schools, drive_network=compact_from_graph(graph))
        whole_node = assess_eligibility(
            kids, schools, drive_network=compact_from_graph(graph), start="node"
        )
    pd.testing.assert_frame_equal(
        pd.DataFrame(limited.drop(columns="geometry")), pd.DataFrame(whole.drop(columns="geometry"))
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(tight.drop(columns="geometry")), pd.DataFrame(whole.drop(columns="geometry"))
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(for_node.drop(columns="geometry")),
        pd.DataFrame(whole_node.drop(columns="geometry")),
    )
    # some reported road distances lie beyond the search limit, and are numbers all the same
    beyond = limited["road_miles"].to_numpy(dtype=float) * MILE > ROAD_SEARCH_M
    assert beyond.any() and limited["road_miles"].notna().all()
