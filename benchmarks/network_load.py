"""Time loading a county-size drive network from GraphML against its compact form.

Run: ``.venv/bin/python benchmarks/network_load.py`` (about ten minutes; it
writes only to a temporary folder). It builds a synthetic road-like drive
network over the shipped county's extent: a perturbed grid of 400 × 367 =
146,800 nodes with every street two-way except about 2 % one-way, and as many
one-way diagonal links added, so that it has 585,666 directed edges, with
osmnx-style attributes (lon/lat ``x``/``y``, ``highway``, some ``maxspeed``,
``length``, a bent ``geometry`` on a third of the streets, and
``travel_time`` from :func:`geomap.osm.add_travel_times`). It saves the
network as GraphML (:func:`geomap.osm.save_graph`) and as a compact network
(:func:`geomap.travel.compact.write_compact`), then, each in its own
process so that peak memory is that of one load:

* loads it from GraphML (``load_graph`` + ``compile_network``) and from the
  compact form (``read_compact`` + ``compile``), and checks that the two
  route identically (nearest of 30 sites from 500 points, and a matrix);
* times ``geomap report --network <file> --mode car --no-figures`` with no network, with
  the GraphML (first run, an empty cache), with the GraphML again (its
  compiled form now cached), and with the compact file, and profiles the
  last to say how many seconds the network adds (load, compile, streets and
  routing).

``--compact-only [FOLDER]`` skips GraphML (whose save alone takes minutes):
it writes the compact network once into FOLDER (reused when already there;
a temporary folder by default), times its load, and times the report with
no network and with the compact network.

The reports from the GraphML and from the compact file are compared table
by table (every CSV byte for byte, every GeoPackage layer exactly):
``report_identical=<true|false>``.

Before the last line it prints ``report_compact_s=<s> report_none_s=<s>
network_adds_s=<s>`` (the report's time with the compact network, without a
network, and the difference: what the network costs). The last line is
``nodes=<n> graphml_s=<s> compact_s=<s> speedup=<x> graphml_gb=<g> compact_gb=<g>``
(``nan`` for GraphML with ``--compact-only``).
Targets (issue 11): the compact load at least 20 times faster than GraphML;
the county report with a network of this size under 10 s and 1.5 GB. The
reports run with ``--no-figures``: the report as it was when the target was
set, before it also drew every map as a figure for papers (which adds the
same seconds with or without a network; ``benchmarks/report.py`` times it).
Speed is reported here, never asserted in tests.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLUMNS = 400
ROWS = 367
ONE_WAY_SHARE = 0.02
SEED = 11
SAMPLE_ORIGINS = 500
SAMPLE_SITES = 30


def _peak_gb() -> float:
    """This process's peak resident memory (GiB).

    Read from ``/proc/self/status`` (``VmHWM``): Linux carries ``ru_maxrss``
    over ``exec`` from the forking parent, which here holds the whole graph.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def build_graph(bounds: tuple[float, float, float, float]) -> object:
    """The synthetic drive network over ``bounds`` (lon/lat), timed."""
    import networkx as nx
    import pyproj
    import shapely

    from geomap.osm import add_travel_times

    rng = np.random.default_rng(SEED)
    west, south, east, north = bounds
    dx = (east - west) / (COLUMNS - 1)
    dy = (north - south) / (ROWS - 1)
    col, row = np.meshgrid(np.arange(COLUMNS), np.arange(ROWS))
    col, row = col.ravel(), row.ravel()
    lon = west + col * dx + rng.uniform(-0.2, 0.2, col.shape) * dx
    lat = south + row * dy + rng.uniform(-0.2, 0.2, row.shape) * dy
    ids = 10_000_000 + np.arange(col.shape[0], dtype=np.int64)  # OSM-like ids
    to_grid = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    gx, gy = to_grid.transform(lon, lat)

    def node(c: np.ndarray, r: np.ndarray) -> np.ndarray:
        return r * COLUMNS + c

    east_a = node(col[col < COLUMNS - 1], row[col < COLUMNS - 1])
    north_a = node(col[row < ROWS - 1], row[row < ROWS - 1])
    a = np.concatenate([east_a, north_a])
    b = np.concatenate([east_a + 1, north_a + COLUMNS])
    horizontal = np.concatenate([np.ones(east_a.shape, bool), np.zeros(north_a.shape, bool)])
    line_index = np.where(horizontal, row[a], col[a])
    highway = np.where(
        line_index % 40 == 0,
        "primary",
        np.where(
            line_index % 10 == 0,
            "secondary",
            np.where(
                line_index % 4 == 0, "tertiary", np.where(a % 3 == 0, "unclassified", "residential")
            ),
        ),
    )
    maxspeed = np.where((highway == "secondary") & (a % 7 == 0), "30 mph", "")
    bent = rng.random(a.shape[0]) < 1 / 3
    one_way = (highway == "residential") & (rng.random(a.shape[0]) < ONE_WAY_SHARE / 0.5)
    n_one_way = int(one_way.sum())
    # as many one-way diagonal links as one-way streets, so the edge count is the grid's
    diag_from = rng.choice(
        node(
            col[(col < COLUMNS - 1) & (row < ROWS - 1)], row[(col < COLUMNS - 1) & (row < ROWS - 1)]
        ),
        n_one_way,
        replace=False,
    )
    graph = nx.MultiDiGraph(
        crs="epsg:4326",
        geomap_mode="drive",
        geomap_source="synthetic road-like grid (benchmarks/network_load.py)",
        geomap_query=f"{COLUMNS} x {ROWS} grid over the county's extent",
        geomap_date="2026-12-03",
    )
    graph.add_nodes_from(
        (int(i), {"x": float(x), "y": float(y), "street_count": 4})
        for i, x, y in zip(ids, lon, lat, strict=True)
    )
    edges = []
    for k in range(a.shape[0]):
        i, j = int(a[k]), int(b[k])
        data: dict[str, object] = {
            "osmid": 1_000_000 + k,
            "highway": str(highway[k]),
            "oneway": bool(one_way[k]),
            "reversed": False,
        }
        if maxspeed[k]:
            data["maxspeed"] = str(maxspeed[k])
        if bent[k]:
            mid_lon = (lon[i] + lon[j]) / 2 + rng.uniform(-0.15, 0.15) * dx
            mid_lat = (lat[i] + lat[j]) / 2 + rng.uniform(-0.15, 0.15) * dy
            mx, my = to_grid.transform(mid_lon, mid_lat)
            length = float(np.hypot(mx - gx[i], my - gy[i]) + np.hypot(gx[j] - mx, gy[j] - my))
            shape = shapely.LineString([(lon[i], lat[i]), (mid_lon, mid_lat), (lon[j], lat[j])])
            data["length"] = length
            edges.append((int(ids[i]), int(ids[j]), {**data, "geometry": shape}))
            if not one_way[k]:
                back = shapely.LineString(shape.coords[::-1])
                edges.append(
                    (int(ids[j]), int(ids[i]), {**data, "geometry": back, "reversed": True})
                )
        else:
            data["length"] = float(np.hypot(gx[j] - gx[i], gy[j] - gy[i]))
            edges.append((int(ids[i]), int(ids[j]), data))
            if not one_way[k]:
                edges.append((int(ids[j]), int(ids[i]), {**data, "reversed": True}))
    for k, i in enumerate(diag_from.tolist()):
        j = i + COLUMNS + 1
        edges.append(
            (
                int(ids[i]),
                int(ids[j]),
                {
                    "osmid": 3_000_000 + k,
                    "highway": "unclassified",
                    "oneway": True,
                    "reversed": False,
                    "length": float(np.hypot(gx[j] - gx[i], gy[j] - gy[i])),
                },
            )
        )
    graph.add_edges_from(edges)
    return add_travel_times(graph, mode="drive")


def _sample(bounds: tuple[float, float, float, float]) -> tuple[object, object]:
    import geopandas as gpd

    rng = np.random.default_rng(SEED + 1)
    west, south, east, north = bounds
    inner = (west + 0.02, south + 0.02, east - 0.02, north - 0.02)

    def points(n: int, prefix: str) -> gpd.GeoDataFrame:
        lon = rng.uniform(inner[0], inner[2], n)
        lat = rng.uniform(inner[1], inner[3], n)
        return gpd.GeoDataFrame(
            {"id": [f"{prefix}{i}" for i in range(n)]},
            geometry=gpd.points_from_xy(lon, lat),
            crs="EPSG:4326",
        ).to_crs("EPSG:27700")

    return points(SAMPLE_ORIGINS, "o"), points(SAMPLE_SITES, "s")


def child_load(kind: str, path: str, bounds_text: str, out: str) -> None:
    """In a fresh process: load and compile, then route the sample points; write what was found."""
    from geomap.osm import load_graph
    from geomap.travel.compact import read_compact
    from geomap.travel.network import NetworkTravelTimes, compile_network

    bounds = tuple(float(v) for v in bounds_text.split(","))
    origins, sites = _sample(bounds)  # type: ignore[arg-type]
    start = time.perf_counter()
    if kind == "graphml":
        compiled = compile_network(load_graph(path))
    else:
        compiled = read_compact(path).compile()
    load_s = time.perf_counter() - start
    load_gb = _peak_gb()
    start = time.perf_counter()
    source = NetworkTravelTimes(compiled)
    found = source.nearest(origins, sites)
    table = source.matrix(origins.iloc[:50], sites)
    route_s = time.perf_counter() - start
    np.savez(
        out,
        nearest_minutes=found["minutes"].to_numpy(dtype=float),
        nearest_to=found["to_id"].astype(str).to_numpy(dtype=str),
        matrix_minutes=table["minutes"].to_numpy(dtype=float),
        forward=compiled.forward.data,
    )
    print(json.dumps({"load_s": load_s, "load_gb": load_gb, "route_s": route_s}))


def child_report(network: str, out: str, profile: str) -> None:
    """In a fresh process: run ``geomap report`` (optionally profiled); print its time and memory."""
    from geomap.cli import main as cli

    args = ["report", "--quiet", "--mode", "car", "--no-figures", "--out", out]
    if network != "-":
        args += ["--network", network]
    profiler = cProfile.Profile() if profile != "-" else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    try:
        cli.main(args, standalone_mode=False)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    wall = time.perf_counter() - start
    print(json.dumps({"wall_s": wall, "peak_gb": _peak_gb()}))


def _run(args: list[str], env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _network_seconds(stats_path: Path) -> dict[str, float]:
    """Cumulative seconds of the network steps in a profile of the report (all calls)."""
    from geomap.travel import compact, network

    steps = {
        "load": compact.load_network,
        "compile": compact.CompactNetwork.compile,
        "streets": network._build_streets,
        "nearest": network.nearest,
        "matrix": network.matrix,
        "isochrones": network.isochrones,
    }
    where = {
        (f.__code__.co_filename, f.__code__.co_firstlineno, f.__code__.co_name): step
        for step, f in steps.items()
    }
    out = dict.fromkeys(steps, 0.0)
    stats = pstats.Stats(str(stats_path))
    for key, row in stats.stats.items():  # type: ignore[attr-defined]
        if key in where:
            out[where[key]] += float(row[3])
    return out


def _print_reports(
    reports: dict[str, dict[str, float]], folder: Path, compact: Path, env: dict[str, str]
) -> None:
    stats_path = folder / "report.prof"
    _run(["--child-report", str(compact), str(folder / "out-prof"), str(stats_path)], env)
    parts = _network_seconds(stats_path)
    print(
        f"report_none_s={reports['none']['wall_s']:.1f} "
        f"report_none_gb={reports['none']['peak_gb']:.2f} "
        f"report_graphml_s={reports['graphml']['wall_s']:.1f} "
        f"report_graphml_gb={reports['graphml']['peak_gb']:.2f} "
        f"report_graphml_cached_s={reports['graphml_cached']['wall_s']:.1f} "
        f"report_compact_s={reports['compact']['wall_s']:.1f} "
        f"report_compact_gb={reports['compact']['peak_gb']:.2f}"
    )
    routing = parts["nearest"] + parts["matrix"] + parts["isochrones"]
    print(
        f"profile_load_s={parts['load']:.2f} profile_compile_s={parts['compile']:.2f} "
        f"profile_streets_s={parts['streets']:.2f} profile_routing_s={routing:.2f} "
        f"network_part_s={parts['load'] + parts['compile'] + routing:.2f} "
        f"network_adds_s={reports['compact']['wall_s'] - reports['none']['wall_s']:.1f}"
    )


def _same_reports(first: Path, second: Path) -> list[str]:
    """The tables (CSV) and GeoPackage layers that differ between two report folders.

    Every CSV is compared byte for byte, every layer of ``geomap.gpkg`` as a
    table (its attributes and its geometries exactly); an empty list means
    the two reports give the same results.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    differ = sorted({p.name for p in first.glob("*.csv")} ^ {p.name for p in second.glob("*.csv")})
    for path in sorted(first.glob("*.csv")):
        other = second / path.name
        if other.is_file() and path.read_bytes() != other.read_bytes():
            differ.append(path.name)
    layers = [str(row[0]) for row in pyogrio.list_layers(first / "geomap.gpkg")]
    if layers != [str(row[0]) for row in pyogrio.list_layers(second / "geomap.gpkg")]:
        return [*differ, "geomap.gpkg (layers)"]
    for layer in layers:
        a = gpd.read_file(first / "geomap.gpkg", layer=layer)
        b = gpd.read_file(second / "geomap.gpkg", layer=layer)
        try:
            pd.testing.assert_frame_equal(
                pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
            )
            same_shapes = bool(a.geometry.geom_equals_exact(b.geometry, 0).all())
        except AssertionError:
            same_shapes = False
        if not same_shapes:
            differ.append(f"geomap.gpkg:{layer}")
    return differ


def _report_lines(runs: dict[str, dict[str, float]]) -> None:
    compact_s, none_s = runs["compact"]["wall_s"], runs["none"]["wall_s"]
    print(
        f"report_compact_s={compact_s:.1f} report_none_s={none_s:.1f} "
        f"network_adds_s={compact_s - none_s:.1f} "
        f"report_compact_gb={runs['compact']['peak_gb']:.2f} "
        f"report_none_gb={runs['none']['peak_gb']:.2f}"
    )


def main_compact_only(folder_text: str | None) -> None:
    """Write (or reuse) the compact network only, time its load and the report with and without it."""
    from geomap.pipeline import study_boundary
    from geomap.study_area import default_study_area
    from geomap.travel.compact import read_compact, write_compact

    bounds = tuple(
        float(v) for v in study_boundary(default_study_area()).to_crs("EPSG:4326").total_bounds
    )
    bounds_text = ",".join(f"{v:.6f}" for v in bounds)
    with tempfile.TemporaryDirectory(prefix="geomap-network-load-") as tmp:
        folder = Path(folder_text) if folder_text else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        compact = folder / "county_drive.network.npz"
        if not compact.is_file():
            start = time.perf_counter()
            graph = build_graph(bounds)
            build_s = time.perf_counter() - start
            write_compact(graph, compact)  # type: ignore[arg-type]
            del graph
            print(f"build_s={build_s:.1f} compact_mb={compact.stat().st_size / 1e6:.1f}")
        n_nodes = read_compact(compact).n_nodes
        env = {**os.environ, "GEOMAP_CACHE_DIR": str(Path(tmp) / "cache")}
        by_compact = _run(
            ["--child-load", "compact", str(compact), bounds_text, str(Path(tmp) / "c.npz")], env
        )
        runs = {
            name: _run(["--child-report", network, str(Path(tmp) / f"out-{name}"), "-"], env)
            for name, network in (("none", "-"), ("compact", str(compact)))
        }
        _report_lines(runs)
    print(
        f"nodes={n_nodes} graphml_s=nan compact_s={by_compact['load_s']:.3f} speedup=nan "
        f"graphml_gb=nan compact_gb={by_compact['load_gb']:.2f}"
    )


def main(*, reports: bool = True) -> None:
    from geomap.osm import save_graph
    from geomap.pipeline import study_boundary
    from geomap.study_area import default_study_area
    from geomap.travel.compact import write_compact

    west, south, east, north = (
        float(v) for v in study_boundary(default_study_area()).to_crs("EPSG:4326").total_bounds
    )
    bounds = (west, south, east, north)
    bounds_text = ",".join(f"{v:.6f}" for v in bounds)
    with tempfile.TemporaryDirectory(prefix="geomap-network-load-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        graph = build_graph(bounds)
        build_s = time.perf_counter() - start
        graphml = folder / "county_drive.graphml"
        compact = folder / "county_drive.network.npz"
        start = time.perf_counter()
        save_graph(graph, graphml)  # type: ignore[arg-type]
        save_s = time.perf_counter() - start
        start = time.perf_counter()
        write_compact(graph, compact)  # type: ignore[arg-type]
        write_s = time.perf_counter() - start
        n_nodes = graph.number_of_nodes()  # type: ignore[attr-defined]
        n_edges = graph.number_of_edges()  # type: ignore[attr-defined]
        del graph
        print(
            f"edges={n_edges} build_s={build_s:.1f} save_graphml_s={save_s:.1f} write_compact_s={write_s:.2f}"
        )
        print(
            f"graphml_mb={graphml.stat().st_size / 1e6:.1f} compact_mb={compact.stat().st_size / 1e6:.1f}"
        )

        env = {**os.environ, "GEOMAP_CACHE_DIR": str(folder / "cache")}
        by_graphml = _run(
            ["--child-load", "graphml", str(graphml), bounds_text, str(folder / "g.npz")], env
        )
        by_compact = _run(
            ["--child-load", "compact", str(compact), bounds_text, str(folder / "c.npz")], env
        )
        g = np.load(folder / "g.npz")
        c = np.load(folder / "c.npz")
        identical = all(np.array_equal(g[k], c[k], equal_nan=k != "nearest_to") for k in g.files)
        print(
            f"route_identical={str(identical).lower()} graphml_route_s={by_graphml['route_s']:.2f} "
            f"compact_route_s={by_compact['route_s']:.2f}"
        )

        runs: dict[str, dict[str, float]] = {}
        for name, network, cache in (
            ()
            if not reports
            else (
                ("none", "-", "cache-none"),
                ("graphml", str(graphml), "cache-graphml"),
                ("graphml_cached", str(graphml), "cache-graphml"),
                ("compact", str(compact), "cache-compact"),
            )
        ):
            run_env = {**os.environ, "GEOMAP_CACHE_DIR": str(folder / cache)}
            runs[name] = _run(
                ["--child-report", network, str(folder / f"out-{name}"), "-"], run_env
            )
        if reports:
            _print_reports(runs, folder, compact, env)
            differ = _same_reports(folder / "out-graphml", folder / "out-compact")
            if differ:
                print(f"report results that differ between GraphML and compact: {differ}")
            print(f"report_identical={str(not differ).lower()}")
            _report_lines(runs)
    graphml_s = by_graphml["load_s"]
    compact_s = by_compact["load_s"]
    print(
        f"nodes={n_nodes} graphml_s={graphml_s:.2f} compact_s={compact_s:.3f} "
        f"speedup={graphml_s / compact_s:.1f} graphml_gb={by_graphml['load_gb']:.2f} "
        f"compact_gb={by_compact['load_gb']:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-load":
        child_load(*sys.argv[2:6])
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-report":
        child_report(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "--compact-only":
        main_compact_only(sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        main(reports="--no-report" not in sys.argv)
