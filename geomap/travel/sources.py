"""Choosing a travel-time source for each mode: a network if there is one, else the estimate.

For each mode asked for, geomap uses, in this order: a network file given by
the caller (``--network``, or a study area's ``[networks]``), a network cached
by ``geomap network fetch`` whose area covers the study area (only when the
caller allows the cache), or the straight-line estimate (calibrated for cars,
on a study area's own routed journeys when it gives some). The choice is
logged and said in a note naming the file used, and every output names it
(``method`` and captions).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geomap import settings
from geomap.errors import CRSError, InputError, TravelWarning
from geomap.osm import cached_network
from geomap.travel.base import TravelTimes
from geomap.travel.compact import SUFFIX, load_network
from geomap.travel.estimate import StraightLineEstimate, default_estimate, estimate_from_pairs
from geomap.travel.network import (
    CompiledNetwork,
    NetworkTravelTimes,
    snap_points,
    snap_time_matrix,
    warn_far,
)

logger = logging.getLogger(__name__)

#: Network files that say their own mode (read once whatever the modes asked for).
GRAPH_SUFFIXES = (".graphml", SUFFIX)


def _covering(boundary: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[float, float, float, float]:
    """Lon/lat bounds of the study area a cached network must cover."""
    if boundary.crs is None:
        raise CRSError(
            "the study area's boundary has no coordinate reference system",
            fix="Set its CRS (e.g. .set_crs('EPSG:27700')) before looking for a cached network",
        )
    if len(boundary) == 0 or boundary.is_empty.all():
        raise InputError(
            "the study area's boundary is empty, so no cached network can be said to cover it",
            fix="Give the study area's polygons",
        )
    west, south, east, north = boundary.to_crs(settings.LONLAT_CRS).total_bounds
    return float(west), float(south), float(east), float(north)


def travel_sources(
    modes: Iterable[str],
    *,
    networks: Iterable[str | Path] = (),
    use_cache: bool = False,
    boundary: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    calibration: str | Path | None = None,
    notes: list[str] | None = None,
) -> list[TravelTimes]:
    """One travel-time source per mode (``car``, ``walk``, ``bike``).

    Parameters
    ----------
    modes
        Modes wanted.
    networks
        Network files: compact networks (``.network.npz``) or GraphML from
        ``geomap network build``/``fetch`` (GraphML is compiled once and
        cached, see :func:`geomap.travel.compact.load_network`), or
        ``.osm``/``.osm.pbf``, which are loaded for each mode wanted.
    use_cache
        Look in the cache of downloaded networks for one covering ``boundary``,
        for modes no file is given for. Off unless asked for: a cached network
        from another study or another day never changes results silently.
    boundary
        The study area (polygons in any CRS); required with ``use_cache``.
    calibration
        A table of routed car journeys (see
        :func:`geomap.travel.estimate.read_calibration_pairs`) to fit the car
        estimate to; geomap's own calibration by default.
    notes
        If given, a sentence per mode saying which source was chosen (the
        network file, or the estimate) is appended.

    Returns
    -------
    list of TravelTimes
        One per mode, in the order asked.

    Raises
    ------
    InputError
        Naming the file, if a network cannot be read, two are given for one
        mode, or the calibration table is wrong; if ``use_cache`` is given
        without a boundary; or for a mode with no source.

    Warns
    -----
    TravelWarning
        For a network given for a mode not asked for.
    """
    modes = list(dict.fromkeys(modes))
    if use_cache and boundary is None:
        raise InputError(
            "looking for a cached network needs the study area's boundary, which it must cover",
            fix="Pass boundary= (the study area's polygons), or use_cache=False",
        )
    by_mode: dict[str, TravelTimes] = {}
    files: dict[str, Path] = {}
    for path in networks:
        path = Path(path)
        if path.name.lower().endswith(GRAPH_SUFFIXES):
            network = load_network(path)
            source = NetworkTravelTimes(network, mode=network.mode)
            if source.mode in by_mode:
                raise InputError(
                    f"two networks given for {source.mode}", path=path, fix="Give one per mode"
                )
            by_mode[source.mode] = source
            files[source.mode] = path
        else:
            for mode in modes:
                if mode in settings.NETWORK_MODES.values() and mode not in by_mode:
                    by_mode[mode] = NetworkTravelTimes.from_file(path, mode=mode)
                    files[mode] = path
    covering: tuple[float, float, float, float] | None = None
    sources: list[TravelTimes] = []
    for mode in modes:
        chosen = by_mode.get(mode)
        if chosen is None and use_cache and mode in settings.NETWORK_MODES.values():
            if covering is None:
                assert boundary is not None
                covering = _covering(boundary)
            cached = cached_network(mode, covering=covering)
            if cached is not None:
                logger.info("using the cached %s network %s", mode, cached)
                chosen = NetworkTravelTimes.from_file(cached)
                files[mode] = cached
        if chosen is None:
            estimate: StraightLineEstimate
            if mode == "car" and calibration is not None:
                estimate = estimate_from_pairs(calibration, mode="car")
                fitted = f", fitted to the routed journeys in {calibration}"
            else:
                estimate = default_estimate(mode)
                fitted = ""
            chosen = estimate
            where = " or cached" if use_cache else ""
            text = (
                f"No {mode} network given{where}: {mode} times are the straight-line estimate "
                f"({chosen.method}{fitted})."
            )
        else:
            text = (
                f"{mode} times are from the OpenStreetMap network {files[mode]} ({chosen.method})."
            )
        logger.info(text)
        if notes is not None:
            notes.append(text)
        sources.append(chosen)
    unused = set(by_mode) - set(modes)
    if unused:
        warnings.warn(
            f"network(s) for {', '.join(sorted(unused))} given but not used: no such mode asked "
            f"for ({', '.join(str(files[m]) for m in sorted(unused))})",
            TravelWarning,
            stacklevel=2,
        )
    return sources


def road_distance(
    networks: Iterable[str | Path],
) -> Callable[[shapely.Point, shapely.Point], float] | None:
    """Road distance (km) between two points over the first drive network given, or ``None``.

    Points join the network at their nearest node; the gaps are added in a straight line.
    Pairs the network cannot connect fall back to the straight line × 1.3, with a
    :class:`~geomap.errors.TravelWarning`.

    Parameters
    ----------
    networks
        Network files (as for :func:`travel_sources`); the first that loads
        as a drive network is used.

    Returns
    -------
    callable or None
        ``km(a, b)`` for two points in EPSG:27700, or ``None`` when no drive
        network is among the files. ``km`` gives a
        :class:`~geomap.errors.TravelWarning` for points far from the network
        and for pairs no road joins.
    """
    for path in networks:
        path = Path(path)
        try:
            network = (
                load_network(path, mode="drive")
                if not path.name.lower().endswith(GRAPH_SUFFIXES)
                else load_network(path)
            )
        except InputError:
            continue
        if network.mode != "drive":
            continue
        compiled = network.compile(weight="length")

        def km(a: shapely.Point, b: shapely.Point, compiled: CompiledNetwork = compiled) -> float:
            points = gpd.GeoDataFrame(
                {"id": [f"({p.x:.0f}, {p.y:.0f})" for p in (a, b)]},
                geometry=[a, b],
                crs=settings.MEASURE_CRS,
            )
            snap = snap_points(compiled, points, what="route stops")
            warn_far(
                [("route stops", points, snap)],
                max_snap_m=settings.NETWORK_MAX_SNAP_M,
                access_kmh=settings.NETWORK_ACCESS_KMH,
            )
            metres = snap_time_matrix(compiled, snap.take([0]), snap.take([1]))[0, 0]
            if not np.isfinite(metres):
                warnings.warn(
                    f"no road joins the route stops at ({a.x:.0f}, {a.y:.0f}) and "
                    f"({b.x:.0f}, {b.y:.0f}) on the network; their distance is the straight "
                    "line × 1.3",
                    TravelWarning,
                    stacklevel=2,
                )
                return float(a.distance(b)) * 1.3 / 1000
            return float(metres + snap.distance_m.sum()) / 1000

        return km
    return None
