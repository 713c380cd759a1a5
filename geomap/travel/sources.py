"""Choosing a travel-time source for each mode: a network if there is one, else the estimate.

For each mode asked for, geomap uses, in this order: a network file given by
the user (``--network``), a network cached by ``geomap network fetch`` whose
area covers the county, or the straight-line estimate (calibrated for cars). The choice is
logged, and every output names it (``method`` and captions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geomap import settings
from geomap.errors import InputError
from geomap.locations import county_boundary
from geomap.osm import cached_network, load_graph, network_info
from geomap.travel.base import TravelTimes
from geomap.travel.estimate import default_estimate
from geomap.travel.network import (
    CompiledNetwork,
    NetworkTravelTimes,
    compile_network,
    node_time_matrix,
    snap_points,
)

logger = logging.getLogger(__name__)

GRAPH_SUFFIXES = (".graphml",)


def travel_sources(
    modes: Iterable[str],
    *,
    networks: Iterable[str | Path] = (),
    use_cache: bool = True,
    notes: list[str] | None = None,
) -> list[TravelTimes]:
    """One travel-time source per mode (``car``, ``walk``, ``bike``).

    Parameters
    ----------
    modes
        Modes wanted.
    networks
        Network files (GraphML from ``geomap network build``/``fetch``, or
        ``.osm``/``.osm.pbf``, which are loaded for each mode wanted).
    use_cache
        Look for a cached network covering the county when no file is given.
    notes
        If given, a sentence per mode saying which source was chosen is appended.
    """
    modes = list(dict.fromkeys(modes))
    by_mode: dict[str, TravelTimes] = {}
    for path in networks:
        path = Path(path)
        if path.name.lower().endswith(GRAPH_SUFFIXES):
            graph = load_graph(path)
            source = NetworkTravelTimes(graph, mode=network_info(graph).get("mode"))
            if source.mode in by_mode:
                raise InputError(
                    f"two networks given for {source.mode}", path=path, fix="Give one per mode"
                )
            by_mode[source.mode] = source
        else:
            for mode in modes:
                if mode in settings.NETWORK_MODES.values() and mode not in by_mode:
                    by_mode[mode] = NetworkTravelTimes.from_file(path, mode=mode)
    covering: tuple[float, float, float, float] | None = None
    sources: list[TravelTimes] = []
    for mode in modes:
        chosen = by_mode.get(mode)
        if chosen is None and use_cache:
            if covering is None:
                bounds = county_boundary().to_crs(settings.LONLAT_CRS).total_bounds
                covering = (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
            cached = cached_network(mode, covering=covering)
            if cached is not None:
                logger.info("using the cached %s network %s", mode, cached)
                chosen = NetworkTravelTimes.from_file(cached)
        if chosen is None:
            chosen = default_estimate(mode)
            text = f"No {mode} network given or cached: {mode} times are the straight-line estimate ({chosen.method})."
        else:
            text = f"{mode} times are from the OpenStreetMap network ({chosen.method})."
        logger.info(text)
        if notes is not None:
            notes.append(text)
        sources.append(chosen)
    unused = set(by_mode) - set(modes)
    if unused:
        logger.warning(
            "network(s) for %s given but not used: no such mode asked for",
            ", ".join(sorted(unused)),
        )
    return sources


def road_distance(
    networks: Iterable[str | Path],
) -> Callable[[shapely.Point, shapely.Point], float] | None:
    """Road distance (km) between two points over the first drive network given, or ``None``.

    Points join the network at their nearest node; the gaps are added in a straight line.
    Pairs the network cannot connect fall back to the straight line × 1.3, with a warning.
    """
    for path in networks:
        path = Path(path)
        try:
            graph = (
                load_graph(path, mode="drive")
                if not path.name.lower().endswith(GRAPH_SUFFIXES)
                else load_graph(path)
            )
        except InputError:
            continue
        if network_info(graph).get("mode", "drive") != "drive":
            continue
        compiled = compile_network(graph, weight="length")

        def km(a: shapely.Point, b: shapely.Point, compiled: CompiledNetwork = compiled) -> float:
            points = gpd.GeoDataFrame(geometry=[a, b], crs=settings.MEASURE_CRS)
            snap = snap_points(compiled, points, what="route stops")
            metres = node_time_matrix(compiled, snap.node[:1], snap.node[1:])[0, 0]
            if not np.isfinite(metres):
                logger.warning("no road between two route stops; using the straight line × 1.3")
                return a.distance(b) * 1.3 / 1000
            return float(metres + snap.distance_m.sum()) / 1000

        return km
    return None
