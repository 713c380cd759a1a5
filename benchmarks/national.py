"""All of England on one machine: geomap's analysis over a national-size synthetic study area.

Makes a synthetic study area (:mod:`national_data`: 33,755 areas, 22,000
providers, a 2,000,000-node road graph by default, or ``--scale`` times the
county) and runs what geomap's pipeline runs for a real one:

1. compile the car and walk networks from arrays
   (:func:`geomap.travel.network.compile_arrays`);
2. join providers to areas, and the network's nodes to areas, in space
   (plain geopandas ``sjoin`` and partitioned dask-geopandas, both timed; the
   quicker is used);
3. nearest provider of each kind by car and on foot
   (:func:`geomap.gaps.analyse_gaps` over
   :class:`~geomap.travel.network.NetworkTravelTimes`);
4. 2SFCA of each kind with a 30-minute car catchment
   (:func:`geomap.access.floating_catchment`) over the journeys within 30
   minutes only (:func:`geomap.travel.reach.pairs_within`, searches split
   over ``--workers`` processes), never a dense areas × providers matrix;
5. the area results written as GeoPackage, Parquet and CSV.

It prints each stage's time and ends with::

    areas=<n> providers=<n> nodes=<n> wall_s=<s> peak_gb=<g>

``wall_s`` covers everything from generating the data to writing the outputs;
``peak_gb`` is the largest resident memory of the process and of any worker
it started (generator included).

Run: ``.venv/bin/python benchmarks/national.py [--scale S] [--seed N] [--workers W]``.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from national_data import SyntheticStudy, synthetic_study

from geomap import settings
from geomap.access import floating_catchment
from geomap.gaps import analyse_gaps, eligible_providers
from geomap.travel.network import CompiledNetwork, NetworkTravelTimes, compile_arrays
from geomap.travel.reach import pairs_within

CATCHMENT_MINUTES = 30.0
#: The kinds analysed, and the places of each for the 2SFCA.
KINDS = ("early_years", "primary", "secondary", "post16", "special")

_STAGES: list[tuple[str, float]] = []
_SHARED: dict[str, object] = {}


class Stage:
    """Times a stage and prints it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> Stage:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        took = time.perf_counter() - self.start
        _STAGES.append((self.name, took))
        print(f"  {self.name:<44} {took:8.1f} s  (peak {peak_gb():.2f} GB)", flush=True)


def peak_gb() -> float:
    """Largest resident memory of this process or any worker it started, GB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 2**20


def join_measurements(
    study: SyntheticStudy, networks: dict[str, CompiledNetwork]
) -> dict[str, float]:
    """Time plain and partitioned spatial joins of providers and nodes to areas."""
    import dask_geopandas

    areas = study.areas[["area_id", "geometry"]]
    nodes = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(networks["drive"].x, networks["drive"].y), crs=areas.crs
    )
    out: dict[str, float] = {}
    for label, points in (("providers", study.providers[["id", "geometry"]]), ("nodes", nodes)):
        start = time.perf_counter()
        plain = gpd.sjoin(points, areas, how="inner", predicate="within")
        out[f"{label}_plain_s"] = time.perf_counter() - start
        start = time.perf_counter()
        parts = dask_geopandas.from_geopandas(points, npartitions=2)
        dask_joined = dask_geopandas.sjoin(parts, areas, how="inner", predicate="within").compute(
            scheduler="threads", num_workers=2
        )
        out[f"{label}_dask_s"] = time.perf_counter() - start
        if len(dask_joined) != len(plain):
            raise RuntimeError(f"the joins of {label} differ in length")
        # a point exactly on a boundary is within no area: counted, never dropped silently
        out[f"{label}_outside"] = float(len(points) - plain.index.nunique())
        # the quicker join's result is the one used
        joined = plain if out[f"{label}_plain_s"] <= out[f"{label}_dask_s"] else dask_joined
        if label == "providers":
            _SHARED["provider_area"] = joined["area_id"][~joined.index.duplicated()].reindex(
                points.index
            )
        else:
            _SHARED["nodes_per_area"] = joined.groupby("area_id").size()
    return out


def _pairs_part(bounds: tuple[int, int]) -> pd.DataFrame:
    """The 30-minute car pairs to one slice of the destinations (run in a worker)."""
    network = _SHARED["drive"]
    origins = _SHARED["origins"]
    destinations = _SHARED["destinations"]
    assert isinstance(network, CompiledNetwork)
    assert isinstance(origins, gpd.GeoDataFrame) and isinstance(destinations, gpd.GeoDataFrame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pairs_within(
            network,
            origins,
            destinations.iloc[bounds[0] : bounds[1]],
            minutes=CATCHMENT_MINUTES,
            method="network:drive",
        )


def car_pairs(
    network: CompiledNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    workers: int,
) -> pd.DataFrame:
    """Pairs within the catchment, the destinations split over ``workers`` forked processes."""
    _SHARED.update(drive=network, origins=origins, destinations=destinations)
    cuts = np.linspace(0, len(destinations), max(1, workers) * 2 + 1).astype(int)
    slices = [(int(a), int(b)) for a, b in itertools.pairwise(cuts) if b > a]
    if workers <= 1:
        parts = [_pairs_part(s) for s in slices]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_pairs_part, slices)
    # each part's destinations are a slice: join their categories, keep the ids compact
    to_id = pd.api.types.union_categoricals([part["to_id"] for part in parts])
    pairs = pd.concat([part.drop(columns="to_id") for part in parts], ignore_index=True)
    pairs.insert(1, "to_id", pd.Series(to_id))
    return pairs


def run(scale: float | None, *, seed: int, workers: int, out_dir: Path) -> str:
    """Run every stage and return the closing line."""
    wall = time.perf_counter()
    print(f"  load average at start: {os.getloadavg()[0]:.2f} (2 cores)", flush=True)
    with Stage("generate synthetic study area"):
        study = synthetic_study(scale, seed=seed)
    sizes = study.sizes
    print(
        f"  ({sizes.label}: {sizes.areas:,} areas, {sizes.providers:,} providers, "
        f"{len(study.roads.x):,} nodes, {sizes.km2:,.0f} km2)",
        flush=True,
    )
    networks: dict[str, CompiledNetwork] = {}
    with Stage("compile car and walk networks"):
        for mode, (u, v, seconds) in study.roads.edges.items():
            networks[mode] = compile_arrays(
                u,
                v,
                seconds,
                study.roads.x,
                study.roads.y,
                info={"mode": mode, "source": "synthetic road-like grid"},
            )
    with Stage("index streets for snapping"):
        for network in networks.values():
            _ = network.streets
    with Stage("spatial joins (plain and dask-geopandas)"):
        joins = join_measurements(study, networks)
    for key, value in joins.items():
        print(f"    {key} = {value:g}", flush=True)
    provider_area = _SHARED["provider_area"]
    assert isinstance(provider_area, pd.Series)
    providers = study.providers.assign(area_id=provider_area.to_numpy())
    travel = [NetworkTravelTimes(networks[m], mode=m) for m in ("drive", "walk")]
    with Stage("nearest provider by kind, car and walk"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gaps = analyse_gaps(study.origins, providers, study.children, travel, kinds=KINDS)
    chosen = providers[
        np.logical_or.reduce(
            [providers["id"].isin(eligible_providers(providers, k)["id"]) for k in KINDS]
        )
    ]
    with Stage(f"car pairs within {CATCHMENT_MINUTES:g} min ({workers} processes)"):
        pairs = car_pairs(
            networks["drive"], study.origins, chosen[["id", "geometry"]], workers=workers
        )
    print(f"    pairs = {len(pairs):,}", flush=True)
    scores = {}
    with Stage("2SFCA by kind"):
        for kind in KINDS:
            eligible = eligible_providers(providers, kind)
            places = pd.Series(
                eligible["capacity"].to_numpy(dtype=float), index=eligible["id"].astype(str)
            )
            # the pairs to this kind's providers only (the rest would be left out anyway)
            mine = pairs[pairs["to_id"].isin(places.index).to_numpy()]
            result = floating_catchment(
                mine, study.children[kind], places, catchment=CATCHMENT_MINUTES
            )
            scores[kind] = result.areas.set_index("area_id")["score"]
    with Stage("write area results (GeoPackage, Parquet, CSV)"):
        cover = gaps.coverage
        wide = cover.pivot_table(
            index="area_id", columns=["mode", "kind"], values="minutes", aggfunc="first"
        )
        wide.columns = ["_".join(map(str, column)) + "_minutes" for column in wide.columns]
        table = study.areas.set_index("area_id").join(wide)
        for kind, score in scores.items():
            table[f"car_{kind}_2sfca"] = score
        table["providers_in_area"] = (
            providers.groupby("area_id").size().reindex(table.index).fillna(0).astype(int)
        )
        table = table.reset_index()
        table.to_file(out_dir / "areas.gpkg", layer="areas", engine="pyogrio")
        table.to_parquet(out_dir / "areas.parquet")
        table.drop(columns="geometry").to_csv(out_dir / "areas.csv", index=False)
        gaps.ranking.to_csv(out_dir / "gaps.csv", index=False)
    wall_s = time.perf_counter() - wall
    print(f"  load average at end: {os.getloadavg()[0]:.2f} (2 cores)", flush=True)
    beyond = int(cover["beyond"].sum())
    print(f"    area-kind-mode rows beyond the threshold: {beyond:,} of {len(cover):,}")
    print(f"    thresholds: {settings.THRESHOLD_SOURCES['car']}")
    return (
        f"areas={len(study.areas)} providers={len(providers)} nodes={len(study.roads.x)} "
        f"wall_s={wall_s:.1f} peak_gb={peak_gb():.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        default="national",
        help="multiple of the county (1, 4, 16, 64...) or 'national' (England, the default)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes for the 2SFCA searches (default 2)"
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for the outputs")
    args = parser.parse_args()
    scale = None if args.scale == "national" else float(args.scale)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        print(run(scale, seed=args.seed, workers=args.workers, out_dir=args.out))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            print(run(scale, seed=args.seed, workers=args.workers, out_dir=Path(tmp)))


if __name__ == "__main__":
    main()
