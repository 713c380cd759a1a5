"""Compact network files (geomap.travel.compact): the arrays, their checks, the cache, equal results.

A network read from its compact form must give exactly what the same network
read from GraphML gives: the same compiled matrices, streets, nearest times,
matrices, isochrones and eligibility, on the hand-made riverside town and on
random graphs with shapes, parallel edges, one-way streets and loops. Every
way a compact file can be wrong is refused with a message naming the file.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.cli import main
from geomap.eligibility import assess_eligibility, split_networks, without_unsafe
from geomap.errors import EmptyNetworkError, InputError, NetworkFileError, TravelWarning
from geomap.osm import add_travel_times, load_graph, save_graph
from geomap.travel import compact as compact_module
from geomap.travel.compact import (
    CompactNetwork,
    compact_from_graph,
    compact_path,
    load_network,
    read_compact,
    write_compact,
)
from geomap.travel.network import (
    CompiledNetwork,
    EdgeList,
    NetworkTravelTimes,
    _edge_coordinates,
    _group_shapes,
    _group_shapes_slowly,
    compile_network,
)
from geomap.travel.sources import road_distance, travel_sources

FIXTURES = Path(__file__).parent / "fixtures" / "network"
RIVERSIDE = FIXTURES / "riverside.osm"
STREET_FIELDS = (
    "tail",
    "head",
    "forward_s",
    "backward_s",
    "length_m",
    "segment_street",
    "x0",
    "y0",
    "x1",
    "y1",
    "start_m",
    "first",
    "last",
)


@pytest.fixture(autouse=True)
def _nothing_kept_in_memory() -> None:
    """Each test reads its files afresh (load_network keeps the last few it read)."""
    compact_module._LOADED.clear()


def assert_same_compiled(a: CompiledNetwork, b: CompiledNetwork) -> None:
    for name in ("x", "y", "node_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("forward", "backward"):
        left, right = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(left.indptr, right.indptr)
        np.testing.assert_array_equal(left.indices, right.indices)
        np.testing.assert_array_equal(left.data, right.data)
    for name in STREET_FIELDS:
        np.testing.assert_array_equal(getattr(a.streets, name), getattr(b.streets, name))
    assert a.info == {k: v for k, v in b.info.items() if k in a.info}


# --------------------------------------------------------------------------- a hand-made network


def tiny_graph() -> nx.MultiDiGraph:
    """Three nodes in British National Grid; a bent two-way street, a straight one-way one."""
    graph = nx.MultiDiGraph(crs=settings.MEASURE_CRS, geomap_mode="drive", geomap_source="hand")
    graph.add_node(7, x=0.0, y=0.0)
    graph.add_node(8, x=300.0, y=0.0)
    graph.add_node(9, x=300.0, y=400.0)
    bent = shapely.LineString([(0, 0), (0, 400), (300, 0)])  # 400 + 500 m
    graph.add_edge(
        7,
        8,
        length=900.0,
        travel_time=90.0,
        highway="residential",
        geometry=bent,
        maxspeed="20 mph",
    )
    graph.add_edge(
        8,
        7,
        length=900.0,
        travel_time=90.0,
        highway="residential",
        geometry=shapely.LineString(bent.coords[::-1]),
    )
    graph.add_edge(8, 9, length=400.0, travel_time=20.0, highway="primary")
    return graph


def test_hand_made_network_arrays() -> None:
    net = compact_from_graph(tiny_graph())
    np.testing.assert_array_equal(net.node_ids, [7, 8, 9])
    np.testing.assert_array_equal(net.x, [0, 300, 300])
    np.testing.assert_array_equal(net.y, [0, 0, 400])
    np.testing.assert_array_equal(net.u, [0, 1, 1])
    np.testing.assert_array_equal(net.v, [1, 0, 2])
    np.testing.assert_array_equal(net.length_m, [900, 900, 400])
    np.testing.assert_array_equal(net.seconds, [90, 90, 20])
    assert [net.highway_names[c] for c in net.highway_code] == ["residential"] * 2 + ["primary"]
    np.testing.assert_array_equal(net.maxspeed_code, [0, -1, -1])
    assert list(net.maxspeed_names) == ["20 mph"]
    # the bent street keeps its corner; the way back has it too; the straight street none
    np.testing.assert_array_equal(net.inner_offsets, [0, 1, 2, 2])
    np.testing.assert_array_equal(net.inner_xy, [[0, 400], [0, 400]])
    assert net.info["mode"] == "drive" and net.info["source"] == "hand"
    # routing by length: 7 -> 9 is 900 + 400 m; snapping a point at (0, 200) onto the bent street
    compiled = net.compile(weight="length")
    assert compiled.streets.length_m.tolist() == [400.0, 900.0]  # straight streets first
    source = NetworkTravelTimes(net.compile())
    origin = gpd.GeoDataFrame({"id": ["o"]}, geometry=[shapely.Point(-10, 200)], crs=27700)
    site = gpd.GeoDataFrame({"id": ["s"]}, geometry=[shapely.Point(300, 400)], crs=27700)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = source.nearest(origin, site)
    # 10 m at the access speed, 700 of 900 m of the street at 90 s, then 20 s
    expected = 10 / (settings.NETWORK_ACCESS_KMH / 3.6) + 90 * 700 / 900 + 20
    assert found["minutes"].iloc[0] == pytest.approx(expected / 60)


def test_write_and_read_back(tmp_path: Path) -> None:
    net = compact_from_graph(tiny_graph())
    path = write_compact(net, tmp_path / "tiny.network.npz", source_file="tiny.graphml")
    back = read_compact(path)
    for name in (
        "node_ids",
        "x",
        "y",
        "u",
        "v",
        "length_m",
        "seconds",
        "highway_code",
        "highway_names",
        "maxspeed_code",
        "maxspeed_names",
        "inner_xy",
        "inner_offsets",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(net, name))
    assert back.info == net.info
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
    assert manifest["nodes"] == 3 and manifest["edges"] == 3 and manifest["mode"] == "drive"
    assert manifest["crs"] == "EPSG:27700" and manifest["source_file"] == "tiny.graphml"
    assert len(manifest["content_sha256"]) == 64
    # NumPy reads it too, without pickles
    with np.load(path, allow_pickle=False) as plain:
        np.testing.assert_array_equal(plain["seconds"], [90, 90, 20])
    # and the graph made from it compiles to the same network
    assert_same_compiled(compile_network(tiny_graph()), compile_network(back.to_graph()))


def test_compact_path_and_suffix(tmp_path: Path) -> None:
    assert compact_path("a/county_drive.graphml") == Path("a/county_drive.network.npz")
    assert compact_path("x.GraphML").name == "x.network.npz"
    with pytest.raises(InputError, match=r"network\.npz"):
        write_compact(compact_from_graph(tiny_graph()), tmp_path / "tiny.npz")


# --------------------------------------------------------------------------- equal results


@pytest.fixture(scope="module", params=[("drive", False), ("drive", True), ("walk", True)])
def riverside(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    mode, simplify = request.param
    folder = tmp_path_factory.mktemp("riverside")
    graph = add_travel_times(load_graph(RIVERSIDE, mode=mode, simplify=simplify))
    graphml = save_graph(graph, folder / f"riverside_{mode}.graphml")
    compact = write_compact(graph, compact_path(graphml), source_file=graphml)
    return graphml, compact


def _points(compiled: CompiledNetwork, n: int, prefix: str, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(compiled.x.min() - 50, compiled.x.max() + 50, n)
    y = rng.uniform(compiled.y.min() - 50, compiled.y.max() + 50, n)
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(n)]},
        geometry=gpd.points_from_xy(x, y),
        crs=settings.MEASURE_CRS,
    )


def assert_same_answers(a: NetworkTravelTimes, b: NetworkTravelTimes, seed: int) -> None:
    origins = _points(a.network, 40, "o", seed)
    sites = _points(a.network, 6, "s", seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TravelWarning)
        pd.testing.assert_frame_equal(a.nearest(origins, sites), b.nearest(origins, sites))
        pd.testing.assert_frame_equal(a.matrix(origins, sites), b.matrix(origins, sites))
        left = a.isochrones(sites, minutes=(2.0, 5.0))
        right = b.isochrones(sites, minutes=(2.0, 5.0))
    pd.testing.assert_frame_equal(left.drop(columns="geometry"), right.drop(columns="geometry"))
    assert all(
        shapely.equals_exact(p, q, tolerance=0)
        for p, q in zip(left.geometry, right.geometry, strict=True)
    )


def test_riverside_compact_equals_graphml(riverside: tuple[Path, Path]) -> None:
    graphml, compact = riverside
    graph = load_graph(graphml)
    from_graph = NetworkTravelTimes(graph)
    from_compact = NetworkTravelTimes(read_compact(compact))
    assert_same_compiled(from_graph.network, from_compact.network)
    assert_same_answers(from_graph, from_compact, seed=5)
    assert from_compact.describe() == from_graph.describe()
    by_length = compile_network(graph, weight="length")
    assert_same_compiled(by_length, read_compact(compact).compile(weight="length"))
    # a second weight reuses the first's node index and streets, and equals a fresh compile
    net = read_compact(compact)
    by_time = net.compile()
    assert net.compile() is by_time
    by_time.streets  # noqa: B018 - build the streets first
    reused = net.compile(weight="length")
    assert reused.tree is by_time.tree and reused.streets.tree is by_time.streets.tree
    assert_same_compiled(by_length, reused)
    assert_same_answers(NetworkTravelTimes(by_length), NetworkTravelTimes(reused), seed=7)
    # the same unchanged file is read once per process
    assert load_network(compact) is load_network(compact)


def test_from_file_reads_graphml_once_then_the_cache(
    riverside: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graphml, compact = riverside
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path / "cache"))
    given = tmp_path / "my network.graphml"
    shutil.copy(graphml, given)
    first = NetworkTravelTimes.from_file(given)
    cached = list((tmp_path / "cache" / "networks").glob("graphml-*.network.npz"))
    assert len(cached) == 1
    assert compact_module.file_sha256(given) in cached[0].name

    def no_osmnx(*args: object, **kwargs: object) -> None:
        raise AssertionError("GraphML read again")

    monkeypatch.setattr(compact_module, "load_graph", no_osmnx)
    again = NetworkTravelTimes.from_file(given)
    assert_same_compiled(first.network, again.network)
    # the same bytes under another name: still from the cache, named by the file given
    other = tmp_path / "renamed.graphml"
    shutil.copy(given, other)
    renamed = NetworkTravelTimes.from_file(other)
    graph_info = NetworkTravelTimes(load_graph(other)).network.info
    assert renamed.network.info["source"] == graph_info["source"]
    assert renamed.network.info["query"] == graph_info["query"]
    assert_same_answers(NetworkTravelTimes(load_graph(graphml)), renamed, seed=9)
    assert_same_answers(NetworkTravelTimes.from_file(compact), renamed, seed=9)


def test_a_graphml_that_names_no_source_is_named_by_the_file_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path / "cache"))
    graph = tiny_graph()
    for key in [k for k in graph.graph if k.startswith("geomap_")]:
        del graph.graph[key]
    save_graph(graph, tmp_path / "first.graphml")
    shutil.copy(tmp_path / "first.graphml", tmp_path / "second.graphml")
    assert load_network(tmp_path / "first.graphml").info["source"] == "network file first.graphml"
    second = NetworkTravelTimes.from_file(tmp_path / "second.graphml")
    assert second.network.info["source"] == "network file second.graphml"
    assert "second.graphml" in second.describe()


def test_damaged_cache_entry_is_logged_and_rebuilt(
    riverside: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    graphml, _ = riverside
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path))
    good = load_network(graphml)
    (entry,) = (tmp_path / "networks").glob("*.network.npz")
    entry.write_bytes(entry.read_bytes()[:-100])
    compact_module._LOADED.clear()  # as in a new process
    with caplog.at_level(logging.WARNING, logger="geomap.travel.compact"):
        rebuilt = load_network(graphml)
    assert "damaged" in caplog.text and str(entry) in caplog.text
    assert_same_compiled(good.compile(), rebuilt.compile())
    read_compact(entry)  # whole again


def test_unwritable_cache_warns_and_carries_on(
    riverside: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graphml, compact = riverside
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(blocked))
    with pytest.warns(TravelWarning, match="cache folder"):
        net = load_network(graphml)
    assert_same_compiled(read_compact(compact).compile(), net.compile())


def test_mode_is_checked(riverside: tuple[Path, Path]) -> None:
    graphml, compact = riverside
    mode = read_compact(compact).mode
    other = "bike"
    with pytest.raises(NetworkFileError, match=f"built for {mode}, not {other}"):
        load_network(compact, mode=other)
    with pytest.raises(NetworkFileError, match=f"built for {mode}, not {other}"):
        load_network(graphml, mode=other)


# --------------------------------------------------------------------------- random graphs


def random_graph(seed: int) -> nx.MultiDiGraph:
    """A lon/lat network near Hereford: shapes, parallel edges alike and not, one-way, loops."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 60))
    lon = -2.72 + rng.uniform(0, 0.03, n)
    lat = 52.05 + rng.uniform(0, 0.02, n)
    graph = nx.MultiDiGraph(crs="epsg:4326", geomap_mode="drive", geomap_source=f"random {seed}")
    for i in range(n):
        graph.add_node(int(1000 + i), x=float(lon[i]), y=float(lat[i]))

    def shape(a: int, b: int) -> shapely.LineString | None:
        if rng.random() < 0.4:
            return None
        k = int(rng.integers(1, 4))
        mid = [
            (
                float(lon[a] + (lon[b] - lon[a]) * t + rng.normal(0, 0.001)),
                float(lat[a] + (lat[b] - lat[a]) * t + rng.normal(0, 0.001)),
            )
            for t in np.sort(rng.uniform(0.1, 0.9, k))
        ]
        return shapely.LineString([(lon[a], lat[a]), *mid, (lon[b], lat[b])])

    for _ in range(int(rng.integers(2 * n, 4 * n))):
        a, b = (int(v) for v in rng.integers(0, n, 2))
        if a == b and rng.random() < 0.7:
            continue
        if a == b:
            loop = shapely.LineString(
                [
                    (lon[a], lat[a]),
                    (lon[a] + 0.001, lat[a]),
                    (lon[a], lat[a] + 0.001),
                    (lon[a], lat[a]),
                ]
            )
            geom: shapely.LineString | None = loop
        else:
            geom = shape(a, b)
        length = float(rng.uniform(50, 900))
        seconds = float(rng.uniform(5, 120))
        data = {
            "length": length,
            "travel_time": seconds,
            "highway": str(rng.choice(["primary", "residential"])),
        }
        if geom is not None:
            data["geometry"] = geom
        graph.add_edge(1000 + a, 1000 + b, **data)
        if rng.random() < 0.7:  # two-way: the way back drawn alike, sometimes slower
            back = dict(data)
            if geom is not None:
                back["geometry"] = shapely.LineString(geom.coords[::-1])
            back["travel_time"] = seconds * float(rng.choice([1.0, 1.5]))
            graph.add_edge(1000 + b, 1000 + a, **back)
        if rng.random() < 0.15:  # a parallel edge: drawn alike or differently
            twin = dict(data)
            twin["travel_time"] = seconds * 0.8
            if rng.random() < 0.5:
                other = shape(a, b) if a != b else None
                if other is None:
                    twin.pop("geometry", None)
                else:
                    twin["geometry"] = other
            graph.add_edge(1000 + a, 1000 + b, **twin)
    return graph


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_route_identically(seed: int, tmp_path: Path) -> None:
    graph = random_graph(seed)
    save_graph(graph, tmp_path / "r.graphml")
    from_graphml = load_graph(tmp_path / "r.graphml")
    path = write_compact(from_graphml, tmp_path / "r.network.npz")
    compact = read_compact(path)
    assert_same_compiled(compile_network(from_graphml), compact.compile())
    assert_same_compiled(
        compile_network(from_graphml, weight="length"), compact.compile(weight="length")
    )
    assert_same_answers(NetworkTravelTimes(from_graphml), NetworkTravelTimes(compact), seed=seed)


def slow_streets(edges: EdgeList, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, list[bytes]]:
    """Reference grouping: one street per (lower node, upper node, shape drawn from the lower)."""
    xy, _, offsets = _edge_coordinates(edges, x, y)
    found: dict[tuple[int, int, bytes], int] = {}
    street = []
    for e in range(edges.u.shape[0]):
        a, b = int(edges.u[e]), int(edges.v[e])
        coords = xy[offsets[e] : offsets[e + 1]]
        backwards = coords[::-1]
        if a == b:
            oriented = min(coords, backwards, key=lambda c: tuple(c.ravel()))
        else:
            oriented = backwards if a > b else coords
        key = (min(a, b), max(a, b), oriented.tobytes() if len(coords) > 2 else b"")
        street.append(found.setdefault(key, len(found)))
    return np.array(street), [k[2] for k in found]


@pytest.mark.parametrize("seed", range(10))
def test_street_grouping_matches_a_reference(seed: int) -> None:
    compiled = compile_network(random_graph(seed))
    assert compiled.edges is not None
    streets = compiled.streets
    reference, shapes = slow_streets(compiled.edges, compiled.x, compiled.y)
    # same partition of edges into streets (numbering may differ: straight streets come first)
    edges = compiled.edges
    ours_pairs = np.column_stack([np.minimum(edges.u, edges.v), np.maximum(edges.u, edges.v)])
    assert len(set(reference.tolist())) == streets.tail.shape[0]
    xy, _, offsets = _edge_coordinates(edges, compiled.x, compiled.y)
    u, v = np.asarray(edges.u), np.asarray(edges.v)
    flip = u > v
    street = np.full(u.shape[0], -1)
    _group_shapes(xy, offsets, u, v, flip, street, 0)
    slow_flip = u > v
    slow_street = np.full(u.shape[0], -1)
    shaped = np.flatnonzero(np.diff(offsets) != 2)
    for e in shaped[u[shaped] == v[shaped]].tolist():
        coords = xy[offsets[e] : offsets[e + 1]]
        slow_flip[e] = bool(tuple(coords[::-1].ravel()) < tuple(coords.ravel()))
    fast_xy, fast_count = _group_shapes(xy, offsets, u, v, flip.copy(), street, 0)
    slow_xy, slow_count = _group_shapes_slowly(xy, offsets, shaped, u, v, slow_flip, slow_street, 0)
    np.testing.assert_array_equal(street, slow_street)
    np.testing.assert_array_equal(fast_xy, slow_xy)
    np.testing.assert_array_equal(fast_count, slow_count)
    assert ours_pairs.shape[0] == reference.shape[0]
    assert len(shapes) >= fast_count.shape[0]


# --------------------------------------------------------------------------- eligibility and sources


def test_eligibility_equal_on_graphml_and_compact(tmp_path: Path) -> None:
    walk_graph = add_travel_times(load_graph(RIVERSIDE, mode="walk"))
    drive_graph = add_travel_times(load_graph(RIVERSIDE, mode="drive"))
    walk = read_compact(write_compact(walk_graph, tmp_path / "w.network.npz"))
    drive = read_compact(write_compact(drive_graph, tmp_path / "d.network.npz"))
    compiled = compile_network(walk_graph)
    homes = _points(compiled, 30, "h", 3)
    homes["age"] = np.resize([5, 7, 9, 12, 14], len(homes))
    homes["low_income"] = np.resize([False, True], len(homes))
    sites = _points(compiled, 4, "s", 4)
    sites["kind"] = ["primary", "primary", "secondary", "secondary"]
    sites["sector"] = "maintained"
    sites["low_age"] = [4, 4, 11, 11]
    sites["high_age"] = [11, 11, 16, 16]
    sites["offers_primary"] = [True, True, False, False]
    sites["offers_secondary"] = [False, False, True, True]
    sites["gender"] = "Mixed"
    sites["religious_character"] = "Does not apply"
    sites["capacity"] = np.nan
    sites["pupils"] = np.nan
    sites["name"] = sites["id"]
    # a crossing on the middle of one street
    a, b = compiled.streets.tail[3], compiled.streets.head[3]
    middle = shapely.Point((compiled.x[a] + compiled.x[b]) / 2, (compiled.y[a] + compiled.y[b]) / 2)
    unsafe = gpd.GeoDataFrame(geometry=[middle.buffer(5)], crs=settings.MEASURE_CRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in ("postcode", "node"):
            by_graph = assess_eligibility(
                homes,
                sites,
                walk_network=walk_graph,
                drive_network=drive_graph,
                unsafe=unsafe,
                start=start,  # type: ignore[arg-type]
            )
            by_compact = assess_eligibility(
                homes,
                sites,
                walk_network=walk,
                drive_network=drive,
                unsafe=unsafe,
                start=start,  # type: ignore[arg-type]
            )
            pd.testing.assert_frame_equal(by_graph, by_compact)
            assert by_graph.attrs.get("description") == by_compact.attrs.get("description")
    safe_graph = without_unsafe(walk_graph, unsafe)
    safe_compact = without_unsafe(walk, unsafe)
    assert isinstance(safe_compact, CompactNetwork)
    removed = int(safe_graph.graph["geomap_unsafe_edges"])
    assert removed > 0 and safe_compact.info["unsafe_edges"] == str(removed)
    assert safe_compact.n_edges == walk.n_edges - removed
    assert split_networks([("w", walk), ("d", drive)]) == (walk, drive)
    with pytest.raises(NetworkFileError, match="two walk networks"):
        split_networks([("w", walk), ("w2", walk)])


def test_sources_read_compact_files(riverside: tuple[Path, Path]) -> None:
    graphml, compact = riverside
    mode = read_compact(compact).mode
    travel = {"drive": "car", "walk": "walk"}[mode]
    notes: list[str] = []
    (source,) = travel_sources([travel], networks=[compact], notes=notes)
    assert isinstance(source, NetworkTravelTimes) and source.method == f"network:{mode}"
    assert str(compact) in notes[0]
    km = road_distance([compact])
    if mode == "drive":
        assert km is not None
        graph_km = road_distance([graphml])
        assert graph_km is not None
        a = shapely.Point(source.network.x[0], source.network.y[0])
        b = shapely.Point(source.network.x[-1], source.network.y[-1])
        assert km(a, b) == graph_km(a, b)
        assert km(a, a) == 0.0  # a node to itself
    else:
        assert km is None


def test_network_build_writes_both_forms(tmp_path: Path) -> None:
    out = tmp_path / "town_walk.graphml"
    result = CliRunner().invoke(
        main, ["network", "build", str(RIVERSIDE), "--mode", "walk", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    compact = tmp_path / "town_walk.network.npz"
    assert str(out) in result.output and str(compact) in result.output
    net = read_compact(compact)
    assert net.mode == "walk" and "riverside.osm" in net.info["source"]
    assert_same_compiled(compile_network(load_graph(out)), net.compile())
    # a GraphML given to build is compiled into both forms too
    again = tmp_path / "again.graphml"
    result = CliRunner().invoke(
        main, ["network", "build", str(out), "--mode", "walk", "--out", str(again)]
    )
    assert result.exit_code == 0, result.output
    assert read_compact(tmp_path / "again.network.npz").n_edges == net.n_edges


# --------------------------------------------------------------------------- refused files


def _members(path: Path) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != "manifest.json"}
    return arrays, manifest


def _rewrite(
    path: Path,
    arrays: dict[str, np.ndarray],
    manifest: object,
    *,
    rehash: bool = True,
    compression: int = zipfile.ZIP_STORED,
    extra: str | None = None,
    manifest_text: str | None = None,
) -> None:
    if rehash and isinstance(manifest, dict):
        manifest["content_sha256"] = compact_module._content_hash(arrays, manifest)
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("manifest.json", manifest_text or json.dumps(manifest))
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array, allow_pickle=True)
        if extra:
            zf.writestr(extra, "print('hello')")


def _change(name: str, value: object):
    def change(arrays: dict[str, np.ndarray], manifest: dict[str, object]) -> None:
        arrays[name] = np.asarray(value)

    return change


def _manifest(key: str, value: object):
    def change(arrays: dict[str, np.ndarray], manifest: dict[str, object]) -> None:
        manifest[key] = value

    return change


BAD = [
    ("ends out of range", _change("v", [1, 0, 3]), "edge ends in v must be node rows 0 to 2"),
    ("negative time", _change("seconds", [90.0, -1.0, 20.0]), "edge 1 has seconds -1.0"),
    ("nan length", _change("length_m", [900.0, np.nan, 400.0]), "edge 1 has length_m nan"),
    ("wrong dtype", _change("x", np.array([0, 300, 300], dtype="<f4")), "has dtype <f4"),
    ("object array", _change("node_ids", np.array([7, "8", 9], dtype=object)), "has dtype |O"),
    ("short y", _change("y", [0.0, 0.0]), "y has 2 values for 3 nodes"),
    ("long seconds", _change("seconds", [1.0, 2.0, 3.0, 4.0]), "seconds has 4 values for 3 edges"),
    ("2-d u", _change("u", [[0, 1, 1]]), "member u.npy has shape (1, 3)"),
    ("falling offsets", _change("inner_offsets", [0, 2, 1, 2]), "inner_offsets must rise"),
    ("offsets past the end", _change("inner_offsets", [0, 1, 2, 3]), "inner_offsets must rise"),
    ("class code", _change("highway_code", [0, 0, 5]), "highway_code must be -1"),
    ("infinite x", _change("x", [0.0, np.inf, 300.0]), "x has coordinates that are not finite"),
    ("no edges", _change("u", np.zeros(0, dtype="<i8")), "u has 0 values"),
    ("manifest count", _manifest("edges", 4), "the manifest says 3 and 4"),
    ("manifest version", _manifest("format_version", 2), "format version 2"),
    ("manifest format", _manifest("format", "other"), "does not say format"),
    ("manifest mode", _manifest("mode", "boat"), "names mode 'boat'"),
    ("manifest crs", _manifest("crs", "EPSG:4326"), "gives CRS EPSG:4326"),
    ("manifest info", _manifest("info", {"mode": 3}), "'info' is not an object of texts"),
]


@pytest.mark.parametrize(("what", "change", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_arrays_and_manifests_are_refused(
    tmp_path: Path, what: str, change, message: str
) -> None:
    path = write_compact(compact_from_graph(tiny_graph()), tmp_path / "bad.network.npz")
    arrays, manifest = _members(path)
    change(arrays, manifest)
    if what == "no edges":
        for name in ("v", "length_m", "seconds", "highway_code", "maxspeed_code"):
            arrays[name] = arrays[name][:0]
        arrays["inner_offsets"] = np.zeros(1, dtype="<i8")
        arrays["inner_xy"] = np.zeros((0, 2))
        manifest["edges"] = 0
        manifest["inner_vertices"] = 0
        message = "has 3 nodes and 0 edges"
    _rewrite(path, arrays, manifest)
    with pytest.raises(NetworkFileError) as caught:
        read_compact(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    if what == "no edges":
        assert isinstance(caught.value, EmptyNetworkError)


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("hash", "content hash does not match"),
        ("compressed", "is compressed"),
        ("extra member", "unexpected or missing: run.py"),
        ("missing member", "unexpected or missing: seconds.npy"),
        ("manifest list", "manifest.json is not a JSON object"),
        ("manifest text", "manifest.json is not JSON"),
        ("not a zip", "cannot read this file as a compact network"),
        ("truncated", "cannot read this file as a compact network"),
        ("missing file", "network file not found"),
    ],
)
def test_damaged_files_are_refused(tmp_path: Path, what: str, message: str) -> None:
    path = write_compact(compact_from_graph(tiny_graph()), tmp_path / "bad.network.npz")
    arrays, manifest = _members(path)
    if what == "hash":
        arrays["seconds"] = np.array([90.0, 90.0, 21.0])
        _rewrite(path, arrays, manifest, rehash=False)
    elif what == "compressed":
        _rewrite(path, arrays, manifest, compression=zipfile.ZIP_DEFLATED)
    elif what == "extra member":
        _rewrite(path, arrays, manifest, extra="run.py")
    elif what == "missing member":
        del arrays["seconds"]
        _rewrite(path, arrays, manifest, rehash=False)
    elif what == "manifest list":
        _rewrite(path, arrays, [manifest], rehash=False)
    elif what == "manifest text":
        _rewrite(path, arrays, manifest, manifest_text="{not json")
    elif what == "not a zip":
        path.write_text("node_ids,x,y\n1,2,3\n")
    elif what == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif what == "missing file":
        path.unlink()
    with pytest.raises(NetworkFileError) as caught:
        read_compact(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_member_claiming_more_bytes_than_it_holds_is_refused(tmp_path: Path) -> None:
    path = write_compact(compact_from_graph(tiny_graph()), tmp_path / "big.network.npz")
    arrays, manifest = _members(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w") as member:
                if name == "x":
                    # a header promising 10**9 values over three values' bytes
                    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9,)}
                    np.lib.format.write_array_header_1_0(member, header)
                    member.write(array.tobytes())
                else:
                    np.lib.format.write_array(member, array)
    with pytest.raises(NetworkFileError, match="header says 8,000,000,000"):
        read_compact(path)
