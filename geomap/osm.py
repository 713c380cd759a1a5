"""Road, walking and cycling networks from OpenStreetMap: download, load, time and save.

A network is an osmnx-style :class:`networkx.MultiDiGraph`: nodes carry ``x``
and ``y`` (lon/lat, ``graph.graph["crs"]`` says so), edges carry ``length`` in
metres and, once :func:`add_travel_times` has run, ``speed_kph`` and
``travel_time`` in seconds. One-way streets are single directed edges, so a
``drive`` or ``bike`` graph is directed; a ``walk`` graph has every street in
both directions.

Where a network comes from is kept on the graph (``graph.graph["geomap_source"]``,
``geomap_query``, ``geomap_date``, ``geomap_mode``; see :func:`network_info`) and
travels with it through GraphML, so a table of travel times can always say what
it was computed on.

* :func:`fetch_graph` downloads with osmnx from an Overpass server (by place
  name, polygon or bounding box) and caches the graph on disk with a JSON
  manifest, so the same call later works offline.
* :func:`load_graph` reads ``.osm``/``.osm.xml`` (osmnx), ``.osm.pbf`` (pyrosm)
  and ``.graphml`` (osmnx) files.
* :func:`add_travel_times` gives every edge a travel time: cars at the DfT
  Journey Time Statistics speed of the road class, capped by OSM ``maxspeed``;
  walking and cycling at a constant speed.
* :func:`save_graph` writes GraphML atomically.
"""

from __future__ import annotations

import ast
import bz2
import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlparse

import geopandas as gpd
import pandas as pd
import pyproj
import requests
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from geomap import settings
from geomap.areas import validate_polygons
from geomap.errors import (
    EmptyNetworkError,
    InputError,
    NetworkDownloadError,
    NetworkFileError,
    NetworkTimeoutError,
    OutputError,
)
from geomap.io import atomic_path, write_text

if TYPE_CHECKING:
    import networkx as nx

logger = logging.getLogger(__name__)


class _Osmnx:
    """The osmnx package, imported when first used.

    It takes a second or two to import (it loads scikit-learn), and most runs
    read no OpenStreetMap file and download nothing.
    """

    def __getattr__(self, name: str) -> Any:
        import osmnx

        return getattr(osmnx, name)


ox: Any = _Osmnx()


def _osmnx_errors() -> tuple[type[Exception], type[Exception]]:
    """The errors osmnx raises for an empty or refused Overpass answer (imported when needed)."""
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    return InsufficientResponseError, ResponseStatusCodeError


#: A progress callback: called with one line of text per step.
Progress = Callable[[str], None]

#: File name endings :func:`load_graph` reads, by reader.
XML_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.bz2")
PBF_SUFFIXES = (".osm.pbf", ".pbf")
GRAPHML_SUFFIXES = (".graphml",)

#: Version of the cache manifest layout.
MANIFEST_VERSION = 1

#: Way filters for OSM XML files, mirroring osmnx's Overpass filters for each
#: network type: a way is kept when it has a ``highway`` tag, is not an area, is
#: not private and none of these tags matches its pattern (a regular-expression
#: search, as Overpass's ``!~``).
WAY_EXCLUDE: dict[str, dict[str, str]] = {
    "drive": {
        "highway": "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|"
        "elevator|escalator|footway|no|path|pedestrian|planned|platform|proposed|"
        "raceway|razed|rest_area|service|services|steps|track",
        "motor_vehicle": "no",
        "motorcar": "no",
        "service": "alley|driveway|emergency_access|parking|parking_aisle|private",
    },
    "walk": {
        "highway": "abandoned|bus_guideway|construction|cycleway|motor|no|planned|"
        "platform|proposed|raceway|razed|rest_area|services",
        "foot": "no",
        "service": "private",
        "sidewalk": "separate",
        "sidewalk:both": "separate",
        "sidewalk:left": "separate",
        "sidewalk:right": "separate",
    },
    "bike": {
        "highway": "abandoned|bus_guideway|construction|corridor|elevator|escalator|"
        "footway|motor|no|planned|platform|proposed|raceway|razed|rest_area|services|"
        "steps",
        "bicycle": "no",
        "service": "private",
    },
}
_COMMON_EXCLUDE = {"area": "yes", "access": "private"}

#: pyrosm's names for the network modes.
_PYROSM_TYPES = {"drive": "driving", "walk": "walking", "bike": "cycling"}

#: Edge attributes a simplified edge keeps one value of, so it has one speed.
_EDGE_ATTRS_DIFFER = ["highway", "maxspeed"]

_MPH_KMH = 1.609344
_KNOT_KMH = 1.852
_MAXSPEED = re.compile(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?$")


def network_mode(mode: str) -> str:
    """The network mode (``drive``, ``walk``, ``bike``) for a network or travel mode.

    ``car`` is accepted for ``drive``.

    Parameters
    ----------
    mode
        A network mode, or ``car``; case and surrounding spaces are ignored.

    Returns
    -------
    str
        ``drive``, ``walk`` or ``bike``.

    Raises
    ------
    InputError
        For any other mode.
    """
    folded = str(mode).strip().lower()
    if folded == "car":
        return "drive"
    if folded not in settings.NETWORK_MODES:
        raise InputError(
            f"unknown network mode '{mode}'",
            fix=f"Use one of {', '.join(settings.NETWORK_MODES)} (or car for drive)",
        )
    return folded


def network_info(graph: nx.MultiDiGraph) -> dict[str, str]:
    """Where a network came from: the ``geomap_*`` attributes of ``graph.graph``, without the prefix.

    Keys include ``mode``, ``source``, ``query``, ``date``, ``osmnx_version`` and,
    after :func:`add_travel_times`, ``speeds``; a key is missing when unknown.

    Parameters
    ----------
    graph
        A network from :func:`fetch_graph` or :func:`load_graph`.

    Returns
    -------
    dict of str to str
        The attributes as text, for captions and manifests.
    """
    return {
        key.removeprefix("geomap_"): str(value)
        for key, value in graph.graph.items()
        if key.startswith("geomap_")
    }


# --------------------------------------------------------------------------- download


#: Widest area (degrees of longitude or latitude) a network is downloaded for:
#: Great Britain spans about 10° by 11°.
MAX_AREA_DEGREES = 12.0
#: Most metres an area to download may be widened by.
MAX_BUFFER_M = 100_000.0


def fetch_graph(
    *,
    place: str | None = None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    mode: str = "drive",
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    cache_dir: str | Path | None = None,
    buffer_m: float = settings.NETWORK_BUFFER_M,
    simplify: bool = settings.NETWORK_SIMPLIFY,
    retain_all: bool = False,
    timeout: float | None = None,
    refresh: bool = False,
    progress: Progress | None = None,
) -> nx.MultiDiGraph:
    """Download a network with osmnx, or take it from the cache if downloaded before.

    Give exactly one of ``place``, ``polygon`` or ``bbox``. The area is widened by
    ``buffer_m`` so that journeys crossing its edge are routed. The first call
    downloads from Overpass and writes ``<mode>-<key>.graphml`` and a
    ``<mode>-<key>.json`` manifest (source, query, date, mode, osmnx version) in
    ``cache_dir``; a later call with the same arguments reads them and sends
    nothing to any server. A failed download raises and caches nothing.

    Parameters
    ----------
    place
        A place name Nominatim knows, e.g. ``"Shropshire, England"``
        (geocoding needs internet access too).
    polygon
        The area in lon/lat (EPSG:4326): a shapely polygon, or a GeoSeries or
        GeoDataFrame in any CRS (its shapes are merged), e.g. a study area's
        boundary.
    bbox
        ``(left, bottom, right, top)`` in lon/lat degrees.
    mode
        ``drive``, ``walk`` or ``bike`` (osmnx network types).
    overpass_url
        Overpass API base URL, e.g. a council's own server
        (``http://host/api``); osmnx's default (overpass-api.de) otherwise.
        osmnx's setting is restored afterwards.
    nominatim_url
        Nominatim base URL for looking up ``place``; osmnx's default otherwise.
    cache_dir
        Folder of cached networks; ``networks`` in :func:`geomap.settings.cache_dir`
        by default.
    buffer_m
        Metres to widen the area by before downloading (0 for none).
    simplify
        Keep nodes only at junctions and dead ends (see
        :data:`geomap.settings.NETWORK_SIMPLIFY`).
    retain_all
        Keep every disconnected piece of network, not only the largest.
    timeout
        Seconds to wait for each server answer; osmnx's ``requests_timeout``
        (180 s) by default.
    refresh
        Download again even if the network is cached.
    progress
        Called with a line of text at each step (nothing is printed).

    Returns
    -------
    networkx.MultiDiGraph
        In lon/lat, with ``length`` on every edge and its origin in ``graph.graph``
        (see :func:`network_info`); travel times are added by
        :func:`add_travel_times`.

    Raises
    ------
    NetworkDownloadError
        The server refused (HTTP 429), failed (HTTP 5xx), could not be reached or
        answered with something that is not Overpass JSON.
    NetworkTimeoutError
        The server did not answer within ``timeout``.
    EmptyNetworkError
        The area has no network of this mode.
    InputError
        Not exactly one area was given, or it is not valid.

    Warns
    -----
    GeometryWarning
        When the polygon given was repaired before download (see
        :func:`geomap.areas.validate_polygons`).
    """
    net_mode = network_mode(mode)
    given = [
        name
        for name, v in (("place", place), ("polygon", polygon), ("bbox", bbox))
        if v is not None
    ]
    if len(given) != 1:
        raise InputError(
            "give exactly one area to download: a place, a polygon or a bbox"
            + (f" (got {', '.join(given)})" if given else ""),
        )
    if not (math.isfinite(buffer_m) and 0 <= buffer_m <= MAX_BUFFER_M):
        raise InputError(
            f"buffer_m must be 0 to {MAX_BUFFER_M:,.0f} metres, not {buffer_m:g}",
            fix="Widen the area by a few kilometres at most (the default is 5,000 m)",
        )
    url = (overpass_url or ox.settings.overpass_url).rstrip("/")
    query = _query(place=place, polygon=polygon, bbox=bbox)
    key_fields = {
        "query": query,
        "mode": net_mode,
        "buffer_m": float(buffer_m),
        "simplify": bool(simplify),
        "retain_all": bool(retain_all),
        "overpass_url": url,
    }
    key = hashlib.sha1(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else settings.cache_dir() / "networks"
    graph_path = folder / f"{net_mode}-{key}.graphml"
    manifest_path = folder / f"{net_mode}-{key}.json"

    if not refresh:
        cached = _read_cache(graph_path, manifest_path, key=key)
        if cached is not None:
            _say(progress, f"Using the {net_mode} network cached in {graph_path}")
            return cached

    area = _download_area(
        place=place,
        polygon=polygon,
        bbox=bbox,
        buffer_m=buffer_m,
        nominatim_url=nominatim_url,
        timeout=timeout,
        progress=progress,
    )
    _say(progress, f"Downloading the {net_mode} network from {url}")
    with _osmnx_download(overpass_url=url, timeout=timeout, progress=progress):
        graph = _call_osmnx(
            lambda: ox.graph_from_polygon(
                area, network_type=net_mode, simplify=False, retain_all=retain_all
            ),
            url=url,
            what=f"the {net_mode} network",
            nothing=EmptyNetworkError(
                f"OpenStreetMap has no {net_mode} network in {_describe_query(query, buffer_m)}",
                fix="Check the area (bbox and polygons are lon/lat) and the mode",
            ),
        )
    _say(progress, f"Building the graph ({len(graph):,} nodes)")
    if simplify:
        graph = ox.simplify_graph(graph, edge_attrs_differ=_EDGE_ATTRS_DIFFER)
    date = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    _stamp(
        graph,
        mode=net_mode,
        source=f"OpenStreetMap via Overpass API {url}",
        query=_describe_query(query, buffer_m),
        date=date,
    )
    _check_not_empty(
        graph, where=f"the {net_mode} network downloaded for {_describe_query(query, 0)}"
    )

    manifest = {
        "geomap_network_manifest": MANIFEST_VERSION,
        "key": key,
        **key_fields,
        "source": "OpenStreetMap via Overpass API",
        "date": date,
        "osmnx_version": _version("osmnx"),
        "area_bounds": [round(v, 7) for v in area.bounds],
        "graph_file": graph_path.name,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "licence": "© OpenStreetMap contributors, ODbL 1.0",
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"cannot create the network cache folder {folder} ({err.strerror or err}). "
            "Give another cache_dir"
        ) from err
    _say(progress, f"Caching the network in {graph_path}")
    graph.graph["geomap_cache"] = str(graph_path)
    save_graph(graph, graph_path)
    # the manifest is written last: a graph without one is never taken from the cache
    try:
        write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", manifest_path)
    except BaseException:
        graph_path.unlink(missing_ok=True)
        raise
    logger.info("downloaded and cached %s (%s nodes)", graph_path, f"{len(graph):,}")
    return graph


def _say(progress: Progress | None, message: str) -> None:
    logger.info(message)
    if progress is not None:
        progress(message)


def _version(name: str) -> str:
    try:
        return package_version(name)
    except PackageNotFoundError:  # pragma: no cover - installed with geomap
        return "unknown"


def _query(
    *,
    place: str | None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None,
    bbox: tuple[float, float, float, float] | None,
) -> dict[str, Any]:
    """The area asked for, as JSON-ready data (also the cache key)."""
    if place is not None:
        if not str(place).strip():
            raise InputError(
                "the place name is blank", fix="Give a place, e.g. 'Shropshire, England'"
            )
        return {"place": str(place).strip()}
    if bbox is not None:
        try:
            left, bottom, right, top = (float(v) for v in bbox)
        except (TypeError, ValueError) as err:
            raise InputError(
                f"bbox must be four numbers (left, bottom, right, top), not {bbox!r}"
            ) from err
        if not (-180 <= left < right <= 180 and -90 <= bottom < top <= 90):
            raise InputError(
                f"bbox {bbox!r} is not (left, bottom, right, top) in lon/lat degrees",
                fix="Give west < east longitudes and south < north latitudes",
            )
        return {"bbox": [left, bottom, right, top]}
    shape = _lonlat_polygon(polygon)
    return {"polygon": shapely.to_wkt(shape, rounding_precision=7)}


def _lonlat_polygon(
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None,
) -> BaseGeometry:
    """The area to download as one valid lon/lat (multi)polygon.

    Polygons are checked by :func:`geomap.areas.validate_polygons`, as area
    layers are: a ring that is not closed or a ring touching itself is repaired
    (with a warning); a bow-tie, a ring of fewer than 3 distinct points, zero
    area or a point or line is refused with a :class:`~geomap.errors.GeometryError`.
    """
    if isinstance(polygon, gpd.GeoDataFrame | gpd.GeoSeries):
        if polygon.crs is None:
            raise InputError(
                "the boundary has no coordinate reference system",
                fix="Set one (e.g. EPSG:27700 or EPSG:4326) on the layer",
            )
        layer = (
            polygon if isinstance(polygon, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=polygon)
        )
        if len(layer) == 0:
            raise InputError(
                "the boundary to download has no polygons", path=layer.attrs.get("geomap_source")
            )
        checked = validate_polygons(layer, what="boundary")
        shape = _merge(checked.to_crs(settings.LONLAT_CRS))
    elif isinstance(polygon, BaseGeometry):
        shape = polygon
    else:
        raise InputError(
            f"polygon must be a shapely polygon or a GeoDataFrame, not {type(polygon).__name__}"
        )
    if not isinstance(shape, Polygon | MultiPolygon) or shape.is_empty:
        raise InputError("the boundary to download must be a non-empty polygon")
    minx, miny, maxx, maxy = shape.bounds
    if not all(math.isfinite(v) for v in shape.bounds) or (
        min(minx, maxx) < -180
        or max(minx, maxx) > 180
        or min(miny, maxy) < -90
        or max(miny, maxy) > 90
    ):
        raise InputError(
            "the polygon's coordinates are not lon/lat degrees",
            fix="Give it in EPSG:4326, or as a GeoDataFrame with its CRS set",
        )
    if isinstance(polygon, BaseGeometry):
        alone = gpd.GeoDataFrame(geometry=[shape], crs=settings.LONLAT_CRS)
        shape = validate_polygons(alone, what="boundary").geometry.iloc[0]
    return shape


def _merge(layer: gpd.GeoDataFrame) -> BaseGeometry:
    """The union of a layer's (valid) polygons, still valid after reprojection."""
    geoms = [g if g.is_valid else shapely.make_valid(g) for g in layer.geometry]
    try:
        shape = shapely.union_all(geoms)
    except shapely.errors.GEOSException as err:  # pragma: no cover - valid input
        raise InputError(
            f"the boundary's polygons cannot be merged ({err})",
            path=layer.attrs.get("geomap_source"),
            fix="Dissolve them into one polygon (QGIS 'Dissolve') and try again",
        ) from err
    if isinstance(shape, shapely.GeometryCollection):
        polygons = [p for p in shape.geoms if isinstance(p, Polygon | MultiPolygon)]
        shape = shapely.union_all(polygons) if polygons else Polygon()
    return shape


def _describe_query(query: dict[str, Any], buffer_m: float) -> str:
    if "place" in query:
        text = f"place '{query['place']}'"
    elif "bbox" in query:
        text = "bbox (" + ", ".join(f"{v:g}" for v in query["bbox"]) + ")"
    else:
        shape = shapely.from_wkt(query["polygon"])
        text = "polygon with bounds (" + ", ".join(f"{v:.4f}" for v in shape.bounds) + ")"
    return f"{text} + {buffer_m:g} m" if buffer_m else text


def _download_area(
    *,
    place: str | None,
    polygon: BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame | None,
    bbox: tuple[float, float, float, float] | None,
    buffer_m: float,
    nominatim_url: str | None,
    timeout: float | None,
    progress: Progress | None,
) -> BaseGeometry:
    """The polygon to download, in lon/lat, widened by ``buffer_m``."""
    if place is not None:
        _say(progress, f"Looking up '{place}' with Nominatim")
        with _osmnx_download(nominatim_url=nominatim_url, timeout=timeout, progress=progress):
            found = _call_osmnx(
                lambda: ox.geocode_to_gdf(place),
                url=ox.settings.nominatim_url,
                what=f"the boundary of '{place}'",
                nothing=InputError(
                    f"Nominatim cannot find '{place}' as an area",
                    fix="Check the spelling, add the county or country, or give a polygon or bbox",
                ),
            )
        shape = found.union_all()
    elif bbox is not None:
        shape = box(*bbox)
    else:
        shape = _lonlat_polygon(polygon)
    left, bottom, right, top = shape.bounds
    if right - left > MAX_AREA_DEGREES or top - bottom > MAX_AREA_DEGREES:
        raise InputError(
            f"the area to download spans {right - left:.1f}° by {top - bottom:.1f}° of longitude "
            f"and latitude, more than the {MAX_AREA_DEGREES:g}° that covers Great Britain",
            fix="Give the boundary of a council or region (lon/lat), not a country or the world",
        )
    if buffer_m > 0:
        series = gpd.GeoSeries([shape], crs=settings.LONLAT_CRS)
        local = series.estimate_utm_crs()
        shape = series.to_crs(local).buffer(buffer_m).to_crs(settings.LONLAT_CRS).iloc[0]
    return shape


@contextlib.contextmanager
def _osmnx_download(
    *,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    timeout: float | None,
    progress: Progress | None,
) -> Iterator[None]:
    """Point osmnx at the servers with geomap's response checks; restore its settings after.

    osmnx's own HTTP cache is switched off (geomap caches whole graphs), and a
    ``requests`` response hook turns failed answers into geomap errors at once
    (osmnx would otherwise pause and retry HTTP 429 and 504 for ever).
    """
    hooks = dict(ox.settings.requests_kwargs.get("hooks") or {})
    previous_hooks = hooks.get("response", [])
    if callable(previous_hooks):
        previous_hooks = [previous_hooks]

    def check(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        _check_response(response, progress=progress)

    values: dict[str, Any] = {
        "use_cache": False,
        "requests_kwargs": {
            **ox.settings.requests_kwargs,
            "hooks": {**hooks, "response": [*previous_hooks, check]},
        },
    }
    if overpass_url is not None:
        values["overpass_url"] = overpass_url
    if nominatim_url is not None:
        values["nominatim_url"] = nominatim_url
    if timeout is not None:
        values["requests_timeout"] = float(timeout)
    old = {name: getattr(ox.settings, name) for name in values}
    try:
        for name, value in values.items():
            setattr(ox.settings, name, value)
        yield
    finally:
        for name, value in old.items():
            setattr(ox.settings, name, value)


def _check_response(response: requests.Response, *, progress: Progress | None) -> None:
    """Raise a geomap error for a failed server answer (a ``requests`` response hook)."""
    url = response.url
    parsed = urlparse(url)
    if parsed.path.rstrip("/").endswith("/status"):
        return  # osmnx's rate-limit check copes with its own failures
    host = parsed.netloc
    status = response.status_code
    base = url.split("?")[0]
    if status == 429:
        raise NetworkDownloadError(
            f"{host} refused the download: too many requests (HTTP 429 {response.reason}). "
            "Public OpenStreetMap servers limit how often each address may download: wait a "
            "few minutes and try again, or use another Overpass server (overpass_url / "
            "--overpass-url). Nothing was cached",
            url=base,
            status=status,
        )
    if status >= 500:
        raise NetworkDownloadError(
            f"{host} failed to answer (HTTP {status} {response.reason}). The server may be "
            "busy or down, or the area too large for it: try again later, a smaller area or "
            "another Overpass server. Nothing was cached",
            url=base,
            status=status,
        )
    if status >= 400:
        raise NetworkDownloadError(
            f"{host} rejected the request (HTTP {status} {response.reason}): "
            f"{response.text[:200].strip()}. Check the server URL. Nothing was cached",
            url=base,
            status=status,
        )
    tail = response.content[-4000:]
    if b'"remark"' in tail:
        match = re.search(rb'"remark"\s*:\s*"((?:[^"\\]|\\.)*)"', tail)
        remark = "(unreadable)"
        if match:
            with contextlib.suppress(ValueError):
                remark = json.loads(b'"' + match.group(1) + b'"')
        raise NetworkDownloadError(
            f"{host} stopped before sending all the data: '{remark}'. The answer would be "
            "incomplete, so it was not used: try a smaller area, a longer timeout or another "
            "Overpass server. Nothing was cached",
            url=base,
            status=status,
        )
    if progress is not None:
        progress(f"Received {len(response.content) / 1e6:,.1f} MB from {host}")


def _call_osmnx(call: Callable[[], Any], *, url: str, what: str, nothing: Exception) -> Any:
    """Run an osmnx download and turn its failures into geomap errors.

    ``nothing`` is raised when the server answers but has no data.
    """
    host = urlparse(url).netloc or url
    try:
        return call()
    except NetworkDownloadError:
        raise
    except requests.exceptions.Timeout as err:
        raise NetworkTimeoutError(
            f"{host} did not answer in time ({ox.settings.requests_timeout:g} s) while "
            f"downloading {what}. Try again later, a smaller area, a longer timeout or "
            "another server. Nothing was cached",
            url=url,
        ) from err
    except requests.exceptions.RequestException as err:
        raise NetworkDownloadError(
            f"cannot reach {url} to download {what} ({type(err).__name__}: {err}). Check the "
            "internet connection and the server URL, or load a network file instead. "
            "Nothing was cached",
            url=url,
        ) from err
    except _osmnx_errors() as err:
        if isinstance(err.__cause__, ValueError):  # the answer was not JSON
            raise NetworkDownloadError(
                f"{host} answered with something that is not JSON while downloading {what}; "
                "is the URL an Overpass API (ending /api)? Nothing was cached",
                url=url,
            ) from err
        raise nothing from err
    except TypeError as err:
        if "Polygon" in str(err):  # Nominatim found a point or line, not an area
            raise nothing from err
        raise NetworkDownloadError(
            f"{host} answered with JSON that is not what osmnx expects while downloading "
            f"{what} ({err}). Nothing was cached",
            url=url,
        ) from err
    except (KeyError, AttributeError) as err:
        raise NetworkDownloadError(
            f"{host} answered with JSON that is not an Overpass answer while downloading "
            f"{what} ({type(err).__name__}: {err}). Nothing was cached",
            url=url,
        ) from err


def cached_network(
    mode: str,
    *,
    covering: tuple[float, float, float, float],
    cache_dir: str | Path | None = None,
) -> Path | None:
    """The newest cached network of ``mode`` whose area covers ``covering``, if any.

    Parameters
    ----------
    mode
        ``drive``/``car``, ``walk`` or ``bike``.
    covering
        ``(left, bottom, right, top)`` in lon/lat that the network must cover
        (e.g. the county's bounds).
    cache_dir
        Folder of cached networks (as for :func:`fetch_graph`).

    Returns
    -------
    pathlib.Path or None
        The GraphML file of the newest such network (by the date in its
        manifest); ``None`` if none covers the area. Unreadable manifests are
        passed over.

    Raises
    ------
    InputError
        For an unknown mode.
    """
    net_mode = network_mode(mode)
    folder = Path(cache_dir) if cache_dir is not None else settings.cache_dir() / "networks"
    best: tuple[str, Path] | None = None
    for manifest_path in sorted(folder.glob(f"{net_mode}-*.json")) if folder.is_dir() else []:
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            left, bottom, right, top = (float(v) for v in manifest["area_bounds"])
            graph_path = folder / str(manifest["graph_file"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        inside = (
            left <= covering[0]
            and bottom <= covering[1]
            and right >= covering[2]
            and top >= covering[3]
        )
        if manifest.get("mode") == net_mode and inside and graph_path.is_file():
            date = str(manifest.get("date", ""))
            if best is None or date > best[0]:
                best = (date, graph_path)
    return None if best is None else best[1]


def _read_cache(graph_path: Path, manifest_path: Path, *, key: str) -> nx.MultiDiGraph | None:
    if not (graph_path.is_file() and manifest_path.is_file()):
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        logger.warning("ignoring unreadable cache manifest %s (%s)", manifest_path, err)
        return None
    if not isinstance(manifest, dict) or manifest.get("key") != key:
        logger.warning("ignoring cache manifest %s: it is for another query", manifest_path)
        return None
    try:
        graph = load_graph(graph_path, mode=str(manifest.get("mode")))
    except NetworkFileError as err:
        logger.warning("ignoring unreadable cached network %s (%s)", graph_path, err)
        return None
    graph.graph["geomap_cache"] = str(graph_path)
    return graph


# --------------------------------------------------------------------------- files


def load_graph(
    path: str | Path,
    *,
    mode: str | None = None,
    simplify: bool = settings.NETWORK_SIMPLIFY,
    retain_all: bool = False,
    progress: Progress | None = None,
) -> nx.MultiDiGraph:
    """Read a network from an OSM XML, OSM PBF or GraphML file.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.xml`` or ``.osm.bz2`` (read with osmnx; only the ways a
        ``mode`` network uses are kept, by osmnx's rules), ``.osm.pbf`` (read
        with pyrosm's ``driving``, ``walking`` or ``cycling`` network, which
        also honours ``oneway:bicycle``), or ``.graphml`` (as saved by
        :func:`save_graph` or osmnx).
    mode
        ``drive``, ``walk`` or ``bike``. OSM files default to ``drive``; a
        GraphML file has the mode it was built for, and asking for another
        is an error.
    simplify
        For OSM files: keep nodes only at junctions and dead ends (simplified
        edges keep one ``highway`` class and one ``maxspeed``).
    retain_all
        For OSM files: keep every disconnected piece, not only the largest.
    progress
        Called with a line of text at each step.

    Returns
    -------
    networkx.MultiDiGraph
        With its origin in ``graph.graph`` (see :func:`network_info`).

    Raises
    ------
    NetworkFileError
        The file is missing, of an unknown type, or not a network.
    EmptyNetworkError
        The file has no network of this mode.
    """
    path = Path(path)
    if not path.exists():
        raise NetworkFileError(
            "network file not found", path=path, fix="Check the path and file name"
        )
    if path.is_dir():
        raise NetworkFileError("expected a network file but this is a folder", path=path)
    name = path.name.lower()
    if name.endswith(GRAPHML_SUFFIXES):
        return _load_graphml(path, mode=mode)
    net_mode = network_mode(mode or "drive")
    if path.stat().st_size == 0:
        raise EmptyNetworkError("the network file is empty", path=path)
    if name.endswith(PBF_SUFFIXES):
        _say(progress, f"Reading the {net_mode} network from {path}")
        graph = _graph_from_pbf(path, mode=net_mode, simplify=simplify, retain_all=retain_all)
        source = f"OpenStreetMap extract {path.name} (read with pyrosm {_version('pyrosm')})"
    elif name.endswith(XML_SUFFIXES):
        _say(progress, f"Reading the {net_mode} network from {path}")
        graph = _graph_from_xml(path, mode=net_mode, simplify=simplify, retain_all=retain_all)
        source = f"OpenStreetMap extract {path.name} (read with osmnx {_version('osmnx')})"
    else:
        raise NetworkFileError(
            "unknown network file type",
            path=path,
            fix="Give an .osm, .osm.xml, .osm.pbf or .graphml file",
        )
    _check_not_empty(graph, where=f"the {net_mode} network in {path}", path=path)
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
    _stamp(
        graph,
        mode=net_mode,
        source=source,
        query=f"file {path}",
        date=f"{modified.isoformat()} (file modified)",
    )
    _say(progress, f"Read {len(graph):,} nodes and {graph.number_of_edges():,} edges")
    return graph


def _stamp(graph: nx.MultiDiGraph, *, mode: str, source: str, query: str, date: str) -> None:
    graph.graph.update(
        {
            "geomap_mode": mode,
            "geomap_source": source,
            "geomap_query": query,
            "geomap_date": date,
            "geomap_osmnx_version": _version("osmnx"),
        }
    )


def _check_not_empty(graph: nx.MultiDiGraph, *, where: str, path: Path | None = None) -> None:
    if graph.number_of_nodes() == 0 or graph.number_of_edges() == 0:
        raise EmptyNetworkError(
            f"{where} has {graph.number_of_nodes()} nodes and {graph.number_of_edges()} edges",
            path=path,
            fix="Check that the file or area covers roads of this mode",
        )


def _load_graphml(path: Path, *, mode: str | None) -> nx.MultiDiGraph:
    if path.stat().st_size == 0:
        raise EmptyNetworkError("the network file is empty", path=path)
    import networkx as nx

    try:
        graph = ox.load_graphml(path)
    except (ET.ParseError, nx.NetworkXError, ValueError, KeyError, TypeError) as err:
        raise NetworkFileError(
            f"cannot read this file as a GraphML network ({type(err).__name__}: {err})",
            path=path,
            fix="Give a .graphml written by geomap or osmnx, or an .osm/.osm.pbf file",
        ) from err
    _check_not_empty(graph, where="the network", path=path)
    missing = [n for n, d in graph.nodes(data=True) if "x" not in d or "y" not in d]
    if missing:
        raise NetworkFileError(
            f"{len(missing):,} nodes have no x/y coordinates (e.g. node {missing[0]}), so this "
            "is not a geographic network",
            path=path,
            fix="Give a network saved by geomap or osmnx",
        )
    if not graph.graph.get("crs"):
        graph.graph["crs"] = settings.LONLAT_CRS
        logger.info("%s: no CRS recorded; assuming lon/lat (EPSG:4326)", path)
    recorded = graph.graph.get("geomap_mode")
    if recorded is not None and mode is not None and network_mode(mode) != recorded:
        raise NetworkFileError(
            f"this network was built for {recorded}, not {network_mode(mode)}",
            path=path,
            fix=f"Build a {network_mode(mode)} network, or ask for {recorded}",
        )
    if recorded is None:
        graph.graph["geomap_mode"] = network_mode(mode or "drive")
        if mode is None:
            logger.info("%s: no mode recorded; assuming drive", path)
    graph.graph.setdefault("geomap_source", f"network file {path.name}")
    graph.graph.setdefault("geomap_query", f"file {path}")
    return graph


def _graph_from_pbf(path: Path, *, mode: str, simplify: bool, retain_all: bool) -> nx.MultiDiGraph:
    try:
        import pyrosm
        from pyrosm.exceptions import PBFException
    except ImportError as err:  # pragma: no cover - pyrosm is a dependency
        raise NetworkFileError(
            "reading .osm.pbf files needs pyrosm", path=path, fix="pip install pyrosm"
        ) from err
    net_type = _PYROSM_TYPES[mode]
    try:
        osm = pyrosm.OSM(str(path), progress=False)
        found = osm.get_network(network_type=net_type, nodes=True)
    except PBFException as err:
        raise NetworkFileError(
            f"cannot read this file as an OSM PBF extract ({err})",
            path=path,
            fix="Give an .osm.pbf extract, e.g. Geofabrik's shropshire-latest.osm.pbf",
        ) from err
    if found is None or len(found[1]) == 0:
        raise EmptyNetworkError(f"the extract has no {mode} network", path=path)
    nodes, edges = found
    graph = osm.to_graph(
        nodes,
        edges,
        graph_type="networkx",
        network_type=net_type,
        retain_all=retain_all,
        simplify=simplify,
        simplify_kwargs={"edge_attrs_differ": _EDGE_ATTRS_DIFFER},
        progress=False,
    )
    graph.graph.setdefault("crs", settings.LONLAT_CRS)
    return graph


def _graph_from_xml(path: Path, *, mode: str, simplify: bool, retain_all: bool) -> nx.MultiDiGraph:
    try:
        with _open_xml(path) as stream:
            root = ET.parse(stream).getroot()
    except (ET.ParseError, OSError, EOFError, UnicodeDecodeError) as err:
        raise NetworkFileError(
            f"cannot read this file as OSM XML ({err})",
            path=path,
            fix="Give an OpenStreetMap .osm file (e.g. exported from openstreetmap.org)",
        ) from err
    if root.tag != "osm":
        raise NetworkFileError(
            f"this XML file is not OpenStreetMap data (its root element is <{root.tag}>, not <osm>)",
            path=path,
        )
    kept = [way for way in root.iter("way") if _way_allowed(way, mode)]
    if not kept:
        raise EmptyNetworkError(f"the file has no ways a {mode} network uses", path=path)
    needed = {nd.get("ref") for way in kept for nd in way.iter("nd")}
    out = ET.Element("osm", root.attrib)
    for node in root.iter("node"):
        if node.get("id") in needed:
            out.append(node)
    out.extend(kept)
    with tempfile.TemporaryDirectory(prefix="geomap-osm-") as folder:
        filtered = Path(folder) / "network.osm"
        ET.ElementTree(out).write(filtered, encoding="utf-8", xml_declaration=True)
        try:
            graph = ox.graph_from_xml(
                filtered, bidirectional=mode == "walk", simplify=False, retain_all=True
            )
        except (_osmnx_errors()[0], ValueError, KeyError) as err:
            raise NetworkFileError(
                f"cannot build a network from this file ({err})", path=path
            ) from err
    if not retain_all and len(graph):
        graph = ox.truncate.largest_component(graph, strongly=False)
    if simplify and len(graph):
        graph = ox.simplify_graph(graph, edge_attrs_differ=_EDGE_ATTRS_DIFFER)
    return graph


@contextlib.contextmanager
def _open_xml(path: Path) -> Iterator[IO[bytes]]:
    if path.name.lower().endswith(".bz2"):
        with bz2.open(path, "rb") as stream:
            yield stream
    else:
        with path.open("rb") as stream:
            yield stream


def _way_allowed(way: ET.Element, mode: str) -> bool:
    tags = {tag.get("k"): tag.get("v") or "" for tag in way.iter("tag")}
    if "highway" not in tags:
        return False
    for rules in (_COMMON_EXCLUDE, WAY_EXCLUDE[mode]):
        for key, pattern in rules.items():
            if key in tags and re.search(pattern, tags[key]):
                return False
    return True


def save_graph(graph: nx.MultiDiGraph, path: str | Path) -> Path:
    """Write ``graph`` as GraphML (osmnx's layout) atomically; returns the path.

    The file is written beside ``path`` under a temporary name and renamed over
    it only when complete, so an interrupted save never leaves half a graph.

    Parameters
    ----------
    graph
        The network to save.
    path
        A file name ending ``.graphml``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        If ``path`` does not end ``.graphml``.
    OutputError
        If the file cannot be written.
    """
    target = Path(path)
    if not target.name.lower().endswith(".graphml"):
        raise InputError(
            "a network is saved as GraphML",
            path=target,
            fix="Give a file name ending .graphml",
        )
    with atomic_path(target) as tmp:
        ox.save_graphml(graph, filepath=tmp)
    return target


#: geomap's table of car speeds by road class (national DfT figures, shipped with the package).
CAR_SPEEDS = (
    Path(__file__).resolve().parent
    / "_assets"
    / "dft_jts2017_am_peak_car_speeds_by_osm_highway.csv"
)

# --------------------------------------------------------------------------- speeds


def car_speeds(path: str | Path | None = None) -> dict[str, float]:
    """Car speed (km/h) by OSM highway class from a DfT speed table.

    Parameters
    ----------
    path
        A CSV with columns ``dft_road_type``, ``osm_highway_tags`` (semicolon
        separated) and ``kmh``; geomap's own by default: DfT Journey Time
        Statistics 2017 morning-peak speeds, which are national.

    Returns
    -------
    dict of str to float
        km/h by OSM ``highway`` value.

    Raises
    ------
    InputError
        If the table lacks the ``osm_highway_tags`` or ``kmh`` column, or a
        speed is not a positive number (naming the row).
    """
    source = Path(path) if path is not None else CAR_SPEEDS
    table = pd.read_csv(source)
    need = {"osm_highway_tags", "kmh"}
    if not need <= set(table.columns):
        raise InputError(
            f"the car speed table needs columns {sorted(need)}",
            path=source,
        )
    speeds: dict[str, float] = {}
    for position, (tags, kmh) in enumerate(
        zip(table["osm_highway_tags"], table["kmh"], strict=True)
    ):
        value = float(kmh)
        if not value > 0:
            raise InputError(
                f"speed '{kmh}' is not a positive number",
                path=source,
                row=position + 2,
                column="kmh",
            )
        for tag in str(tags).split(";"):
            if tag.strip():
                speeds[tag.strip()] = value
    return speeds


def parse_maxspeed(value: object) -> float | None:
    """An OSM ``maxspeed`` value in km/h, or ``None`` when it gives no number.

    Reads ``"50"`` (km/h), ``"30 mph"``, ``"10 knots"``, Great Britain's
    ``national``/``GB:nsl_single``/``GB:nsl_dual``/``GB:motorway`` limits (see
    :data:`geomap.settings.UK_NATIONAL_LIMITS_MPH`), and several values
    (a list, or ``"30;40"``), taking the lowest. ``none``, ``walk``, ``signals``
    and anything else unreadable give ``None``.

    Parameters
    ----------
    value
        The edge's ``maxspeed`` as osmnx keeps it: text, a number, a list, or
        a list written as text (``"['30 mph', '40 mph']"``).

    Returns
    -------
    float or None
        The limit in km/h.
    """
    values = _as_list(value)
    if len(values) != 1:
        parsed = [p for p in (parse_maxspeed(v) for v in values) if p is not None]
        return min(parsed) if parsed else None
    text = str(values[0]).strip().lower()
    if ";" in text or "|" in text:
        return parse_maxspeed(re.split(r"[;|]", text))
    if text in settings.UK_NATIONAL_LIMITS_MPH:
        return settings.UK_NATIONAL_LIMITS_MPH[text] * _MPH_KMH
    match = _MAXSPEED.match(text)
    if match is None:
        return None
    number = float(match.group(1))
    if number <= 0:
        return None
    unit = match.group(2)
    if unit == "mph":
        return number * _MPH_KMH
    if unit == "knots":
        return number * _KNOT_KMH
    return number


def _as_list(value: object) -> list[Any]:
    if isinstance(value, list | tuple | set):
        return list(value)
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        with contextlib.suppress(SyntaxError, ValueError):
            parsed = ast.literal_eval(value)
            if isinstance(parsed, list):
                return parsed
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [value]


def add_travel_times(
    graph: nx.MultiDiGraph,
    *,
    mode: str | None = None,
    speeds: Mapping[str, float] | float | None = None,
    default_kmh: float = settings.CAR_DEFAULT_KMH,
    use_maxspeed: bool = True,
) -> nx.MultiDiGraph:
    """Give every edge ``speed_kph`` and ``travel_time`` (seconds); returns ``graph``, changed in place.

    Cars travel at the DfT Journey Time Statistics speed of the edge's OSM
    ``highway`` class (the shipped table, :func:`car_speeds`); ``_link`` roads
    take their parent's class (``primary_link`` as ``primary``); an edge of
    several classes takes the slowest; classes the table does not list take
    ``default_kmh``. Where OSM gives a ``maxspeed`` below the class speed, the
    car goes no faster (DfT speeds are averages with junctions and traffic, so
    they are usually below the limit). Walking and cycling go at one speed,
    :data:`geomap.settings.WALK_SPEED_KMH` and
    :data:`geomap.settings.BIKE_SPEED_KMH` by default.

    Parameters
    ----------
    graph
        A network with ``length`` (metres) on its edges, from :func:`load_graph`
        or :func:`fetch_graph`.
    mode
        ``drive`` (or ``car``), ``walk`` or ``bike``; the mode recorded on the
        graph by default.
    speeds
        For ``drive``: km/h by highway class, replacing the table's values for
        those classes. For ``walk`` and ``bike``: one speed in km/h.
    default_kmh
        Car speed for highway classes with no speed.
    use_maxspeed
        Cap car speeds by OSM ``maxspeed``.

    Returns
    -------
    networkx.MultiDiGraph
        ``graph``, with ``graph.graph["geomap_speeds"]`` describing the speeds used.

    Raises
    ------
    InputError
        For an unknown mode, a mode other than the one the network was built
        for, or a speed that is not a positive number of km/h (or a table of
        speeds for walking or cycling, or one speed for cars).
    EmptyNetworkError
        If the network has no edges.
    NetworkFileError
        If edges have no usable length (and lengths cannot be added because
        the network is not in lon/lat).
    """
    net_mode = network_mode(mode or graph.graph.get("geomap_mode") or "")
    recorded = graph.graph.get("geomap_mode")
    if recorded is not None and recorded != net_mode:
        raise InputError(f"this network was built for {recorded}, not {net_mode}")
    if graph.number_of_edges() == 0:
        raise EmptyNetworkError("the network has no edges to time")
    _ensure_lengths(graph)
    if net_mode == "drive":
        description = _add_car_times(
            graph, speeds=speeds, default_kmh=default_kmh, use_maxspeed=use_maxspeed
        )
    else:
        if isinstance(speeds, Mapping):
            raise InputError(f"{net_mode} networks take one speed (km/h), not a table of speeds")
        base = settings.WALK_SPEED_KMH if net_mode == "walk" else settings.BIKE_SPEED_KMH
        kmh = float(speeds) if speeds is not None else base
        if not kmh > 0:
            raise InputError(
                f"the {net_mode} speed must be a positive number of km/h, not {speeds}"
            )
        metres_per_second = kmh / 3.6
        for _, _, data in graph.edges(data=True):
            data["speed_kph"] = kmh
            data["travel_time"] = float(data["length"]) / metres_per_second
        description = f"{'walking' if net_mode == 'walk' else 'cycling'} at {kmh:g} km/h"
    graph.graph["geomap_mode"] = net_mode
    graph.graph["geomap_speeds"] = description
    return graph


def _ensure_lengths(graph: nx.MultiDiGraph) -> None:
    missing = [
        (u, v, k) for u, v, k, length in graph.edges(keys=True, data="length") if length is None
    ]
    if missing:
        crs = graph.graph.get("crs")
        if crs is not None and not pyproj.CRS(crs).is_geographic:
            raise NetworkFileError(
                f"{len(missing):,} edges have no length, and lengths are only added to lon/lat networks"
            )
        ox.distance.add_edge_lengths(graph, edges=missing)
    bad = [
        (u, v)
        for u, v, length in graph.edges(data="length")
        if not (isinstance(length, int | float) and math.isfinite(length) and length >= 0)
    ]
    if bad:
        raise NetworkFileError(
            f"{len(bad):,} edges have no usable length (e.g. {bad[0][0]} → {bad[0][1]})",
            fix="Rebuild the network with geomap or osmnx",
        )


def _add_car_times(
    graph: nx.MultiDiGraph,
    *,
    speeds: Mapping[str, float] | float | None,
    default_kmh: float,
    use_maxspeed: bool,
) -> str:
    if speeds is not None and not isinstance(speeds, Mapping):
        raise InputError("car speeds are given by highway class, e.g. {'primary': 50}")
    table = {**car_speeds(), **{str(k): float(v) for k, v in (speeds or {}).items()}}
    for cls, kmh in [*table.items(), ("default", default_kmh)]:
        if not (math.isfinite(kmh) and kmh > 0):
            raise InputError(
                f"the car speed for '{cls}' must be a positive number of km/h, not {kmh}"
            )
    class_speed: dict[str, float] = {}
    cap_speed: dict[str, float | None] = {}
    unknown: dict[str, int] = {}

    def speed_of(cls: object) -> float:
        name = str(cls)
        if name not in class_speed:
            class_speed[name] = table.get(name.removesuffix("_link"), default_kmh)
        if name.removesuffix("_link") not in table:
            unknown[name] = unknown.get(name, 0) + 1
        return class_speed[name]

    capped = 0
    for _, _, data in graph.edges(data=True):
        classes = _as_list(data.get("highway")) or ["(none)"]
        kmh = min(speed_of(cls) for cls in classes)
        if use_maxspeed:
            raw = data.get("maxspeed")
            cache_key = repr(raw)
            if cache_key not in cap_speed:
                cap_speed[cache_key] = parse_maxspeed(raw)
            cap = cap_speed[cache_key]
            if cap is not None and cap < kmh:
                kmh = cap
                capped += 1
        data["speed_kph"] = kmh
        data["travel_time"] = float(data["length"]) / (kmh / 3.6)
    if unknown:
        logger.info(
            "car speeds: %s edges of classes without a DfT speed (%s) at %g km/h",
            f"{sum(unknown.values()):,}",
            ", ".join(sorted(unknown)),
            default_kmh,
        )
    listed = ", ".join(
        f"{cls} {kmh:g}" for cls, kmh in sorted(table.items(), key=lambda kv: -kv[1])
    )
    text = (
        f"car speeds by OSM road class from DfT Journey Time Statistics 2017 (AM peak; km/h: "
        f"{listed}; other classes {default_kmh:g})"
    )
    if speeds:
        text += f"; given speeds for {', '.join(sorted(speeds))}"
    if use_maxspeed:
        text += f", capped by OSM maxspeed ({capped:,} edges capped)"
    return text
