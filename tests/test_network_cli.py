"""Networks through the CLI and the main job: build from a real .osm.pbf, route, report; the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geomap.cli import main
from geomap.osm import cached_network

pyrosm = pytest.importorskip("pyrosm")
PBF = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("net") / "g.graphml"
    result = CliRunner().invoke(
        main, ["network", "build", str(PBF), "--mode", "drive", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_build_then_times_on_the_network(graph_file, tmp_path):
    # the pyrosm test extract is in Finland: points within the network are accepted
    homes = tmp_path / "o.csv"
    homes.write_text("id,lon,lat\na,26.935,60.525\nb,26.96,60.535\n")
    schools = tmp_path / "d.csv"
    schools.write_text("id,lon,lat\nx,26.95,60.53\n")
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        main,
        [
            "times",
            "--network",
            str(graph_file),
            "--origins",
            str(homes),
            "--destinations",
            str(schools),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "OpenStreetMap network" in result.output and "test.osm.pbf" in result.output
    table = pd.read_csv(out)
    assert set(table["method"]) == {"network:drive"} and (table["minutes"] > 0).all()
    # without the network, the same points are outside Great Britain
    bad = CliRunner().invoke(
        main, ["times", "--origins", str(homes), "--destinations", str(schools), "--out", str(out)]
    )
    assert bad.exit_code == 1 and "outside Great Britain" in bad.output


@pytest.mark.slow
def test_report_says_it_used_the_network(graph_file, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["report", "--network", str(graph_file), "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    access = pd.read_csv(out / "access.csv")
    assert set(access.loc[access["mode"] == "car", "method"]) == {"network:drive"}
    assert set(access.loc[access["mode"] == "walk", "method"]) == {"estimate:walk"}
    index = (out / "index.html").read_text()
    assert "Shortest car travel times over the OpenStreetMap network" in index
    # the network is in Finland: every Herefordshire origin is far from it, and the caption says so
    assert "116 origins" in index and "more than 1,000 m from the network" in index
    assert "over the OpenStreetMap network" in (out / "maps" / "car_primary.html").read_text()


def test_cached_network_is_found_when_it_covers_the_area(tmp_path):
    folder = tmp_path / "networks"
    folder.mkdir()
    for name, bounds, date in [
        ("drive-small", [-2.8, 52.0, -2.7, 52.1], "2026-01-01"),
        ("drive-big-old", [-3.2, 51.8, -2.3, 52.5], "2025-01-01"),
        ("drive-big-new", [-3.2, 51.8, -2.3, 52.5], "2026-06-01"),
        ("walk-big", [-3.2, 51.8, -2.3, 52.5], "2026-07-01"),
    ]:
        (folder / f"{name}.graphml").write_text("<graphml/>")
        manifest = {
            "mode": name.split("-")[0],
            "area_bounds": bounds,
            "date": date,
            "graph_file": f"{name}.graphml",
        }
        (folder / f"{name}.json").write_text(json.dumps(manifest))
    county = (-3.14, 51.83, -2.34, 52.40)
    assert (
        cached_network("car", covering=county, cache_dir=folder) == folder / "drive-big-new.graphml"
    )
    assert cached_network("walk", covering=county, cache_dir=folder) == folder / "walk-big.graphml"
    assert cached_network("bike", covering=county, cache_dir=folder) is None
    assert cached_network("drive", covering=(-5, 50, 0, 55), cache_dir=folder) is None


def test_isochrones_from_the_estimate_are_circles_of_the_right_size(tmp_path):
    import geopandas as gpd

    from geomap.travel.estimate import default_estimate

    out = tmp_path / "iso.gpkg"
    result = CliRunner().invoke(
        main,
        [
            "isochrones",
            "--kind",
            "college",
            "--mode",
            "walk",
            "--minutes",
            "15",
            "--in-county",
            "--out",
            str(out),
            "--map",
            str(tmp_path / "m.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    bands = gpd.read_file(out)
    assert set(bands["method"]) == {"estimate:walk"} and set(bands["minutes"]) == {15.0}
    # walking 15 min = 15 / 60 × 4.8 km/h ÷ 1.3 detour = 0.923 km straight line
    radius_km = 15 / 60 * 4.8 / 1.3
    assert default_estimate("walk").minutes_for_km(radius_km)[0] == pytest.approx(15)
    assert bands.to_crs("EPSG:27700").area.iloc[0] == pytest.approx(
        3.14159 * (radius_km * 1000) ** 2, rel=0.01
    )
    assert "Within 15 min" in (tmp_path / "m.html").read_text()


def test_isochrones_over_a_network(tmp_path):
    import geopandas as gpd

    fixture = Path(__file__).parent / "fixtures" / "network" / "riverside.osm"
    graph = tmp_path / "riverside.graphml"
    built = CliRunner().invoke(
        main, ["network", "build", str(fixture), "--mode", "drive", "--out", str(graph)]
    )
    assert built.exit_code == 0, built.output
    providers = tmp_path / "p.csv"
    providers.write_text("id,name,kind,lon,lat\ns,Riverside school,secondary,-2.72,52.056\n")
    out = tmp_path / "iso.gpkg"
    result = CliRunner().invoke(
        main,
        [
            "isochrones",
            "--providers",
            str(providers),
            "--kind",
            "secondary",
            "--minutes",
            "2",
            "--minutes",
            "5",
            "--network",
            str(graph),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    bands = gpd.read_file(out).set_index("minutes")
    assert set(bands["method"]) == {"network:drive"}
    # a longer limit reaches at least as far
    assert bands.loc[5.0].geometry.area >= bands.loc[2.0].geometry.area > 0


def test_route_running_times_follow_the_road_network(tmp_path):
    """Road distance between two stops over the network, against networkx on the same graph."""
    import geopandas as gpd
    import networkx as nx
    import shapely

    from geomap.osm import load_graph
    from geomap.travel.sources import road_distance

    fixture = Path(__file__).parent / "fixtures" / "network" / "riverside.osm"
    graph_file = tmp_path / "riverside.graphml"
    assert (
        CliRunner()
        .invoke(main, ["network", "build", str(fixture), "--out", str(graph_file)])
        .exit_code
        == 0
    )
    km = road_distance([graph_file])
    assert km is not None
    graph = load_graph(graph_file)
    nodes = list(graph.nodes)
    a_id, b_id = nodes[0], nodes[-1]
    pts = gpd.GeoSeries(
        [shapely.Point(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (a_id, b_id)],
        crs="EPSG:4326",
    ).to_crs("EPSG:27700")
    expected = nx.shortest_path_length(graph, a_id, b_id, weight="length") / 1000
    assert km(pts.iloc[0], pts.iloc[1]) == pytest.approx(expected, abs=0.005)
