"""A network stored as the arrays the routing engine needs: quick to load, safe to read.

Reading a county's GraphML with osmnx takes tens of seconds and gigabytes for
a graph the engine turns into a few arrays in well under a second. A *compact
network* file (``<name>.network.npz``) keeps just those arrays:

* nodes: ``node_ids`` (the OSM ids) and ``x``, ``y`` (metres, EPSG:27700);
* edges, in the order the engine compiles them: ``u`` and ``v`` (node row
  numbers), ``length_m``, ``seconds`` (travel time for the network's mode),
  the road class (``highway_code``, an index into ``highway_names``; -1 for
  none) and the OSM ``maxspeed`` text the same way (``maxspeed_code``,
  ``maxspeed_names``), so times can be worked out again with other speeds;
* edge shapes as plain coordinates: ``inner_xy`` holds the vertices between
  each edge's end nodes, edge ``e``'s being rows ``inner_offsets[e]`` to
  ``inner_offsets[e + 1]`` (none for a straight edge);
* ``manifest.json``: the format and its version, mode, speeds, source, date,
  CRS, counts and a SHA-256 over the arrays and the rest of the manifest.

The file is a zip of uncompressed NumPy ``.npy`` members (readable with
``numpy.load(path, allow_pickle=False)``) and is read as untrusted input:
only the expected members, stored uncompressed, of the expected dtypes,
shapes and ranges are accepted, and the content hash must match, so nothing
in it can run as code or unpack into more memory than the file's size.

:func:`load_network` reads any network file as a :class:`CompactNetwork`;
GraphML is read with osmnx once and its compact form kept in the cache
folder under the SHA-256 of the file's bytes, so later runs on the same file
skip osmnx.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import struct
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import geopandas as gpd
import numpy as np
import shapely

from geomap import settings
from geomap.errors import (
    EmptyNetworkError,
    InputError,
    NetworkFileError,
    OutputError,
    TravelWarning,
)
from geomap.io import atomic_path
from geomap.osm import (
    GRAPHML_SUFFIXES,
    add_travel_times,
    load_graph,
    network_info,
    network_mode,
)
from geomap.travel.network import (
    CompiledNetwork,
    EdgeList,
    _edge_coordinates,
    compile_arrays,
    graph_arrays,
    reweighted,
)

if TYPE_CHECKING:
    import networkx as nx

logger = logging.getLogger(__name__)

#: File name ending of compact network files.
SUFFIX = ".network.npz"
#: Name of the format, in each manifest.
FORMAT = "geomap-network"
#: Version of the layout written; files of other versions are refused.
FORMAT_VERSION = 1
#: Largest manifest read (bytes).
MAX_MANIFEST_BYTES = 1 * 2**20
#: Largest compact network file read (bytes): England's drive network is well under this.
MAX_FILE_BYTES = 16 * 2**30
#: Folder under :func:`geomap.settings.cache_dir` where compiled GraphML files are kept.
CACHE_FOLDER = "networks"
#: How many networks :func:`load_network` keeps in memory for later calls on the same file.
LOADED_MOST = 4

#: Networks read in this process, by file (path, inode, size, modification time) and options.
_LOADED: dict[tuple[object, ...], CompactNetwork] = {}

_INT = ("<i4", "<i8")
#: Each array member: allowed dtypes (``"U"``: text) and number of dimensions.
_MEMBERS: dict[str, tuple[tuple[str, ...], int]] = {
    "node_ids": (("<i8", "U"), 1),
    "x": (("<f8",), 1),
    "y": (("<f8",), 1),
    "u": (_INT, 1),
    "v": (_INT, 1),
    "length_m": (("<f8",), 1),
    "seconds": (("<f8",), 1),
    "highway_code": (_INT, 1),
    "highway_names": (("U",), 1),
    "maxspeed_code": (_INT, 1),
    "maxspeed_names": (("U",), 1),
    "inner_xy": (("<f8",), 2),
    "inner_offsets": (("<i8",), 1),
}
_MANIFEST = "manifest.json"
_FIX = "Write it again with `geomap network build` (from the GraphML or OSM file)"


@dataclass(frozen=True, eq=False)
class CompactNetwork:
    """A network as arrays: nodes, directed edges, their times, classes and shapes.

    Attributes
    ----------
    node_ids
        Each node's id (OSM id).
    x, y
        Node coordinates, metres in EPSG:27700.
    u, v
        Each directed edge's start and end node (row numbers).
    length_m
        Each edge's length in metres.
    seconds
        Each edge's travel time for the network's mode.
    highway_code, highway_names
        Each edge's OSM ``highway`` class: ``highway_names[code]`` (-1: none).
    maxspeed_code, maxspeed_names
        Each edge's OSM ``maxspeed`` text the same way.
    inner_xy, inner_offsets
        Edge shapes: the vertices between each edge's end nodes, edge ``e``'s
        being rows ``inner_offsets[e]`` to ``inner_offsets[e + 1]``.
    info
        Where the network came from (keys as :func:`geomap.osm.network_info`:
        ``mode``, ``source``, ``query``, ``date``, ``speeds`` ...).
    """

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    seconds: np.ndarray
    highway_code: np.ndarray
    highway_names: np.ndarray
    maxspeed_code: np.ndarray
    maxspeed_names: np.ndarray
    inner_xy: np.ndarray
    inner_offsets: np.ndarray
    info: dict[str, str] = field(default_factory=dict)
    _compiled: dict[str, CompiledNetwork] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def mode(self) -> str:
        """``drive``, ``walk`` or ``bike``."""
        return self.info.get("mode", "drive")

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges (parallel edges each count)."""
        return int(self.u.shape[0])

    def compile(self, *, weight: str = "travel_time") -> CompiledNetwork:
        """The network ready for routing, as :func:`geomap.travel.network.compile_network` gives it.

        Compiled once per weight; a second weight shares the first's node
        index and, once built, its streets (see
        :func:`geomap.travel.network.reweighted`).

        Parameters
        ----------
        weight
            ``travel_time`` (seconds) or ``length`` (metres).

        Returns
        -------
        CompiledNetwork
            Equal to compiling the graph this network was made from.

        Raises
        ------
        InputError
            For another weight.
        EmptyNetworkError
            If the network has no edges (every one was taken out).
        """
        if weight not in ("travel_time", "length"):
            raise InputError(
                f"a compact network is compiled by travel_time or length, not '{weight}'"
            )
        if self.n_edges == 0:
            raise EmptyNetworkError(f"the network has {self.n_nodes} nodes and 0 edges")
        weights = self.seconds if weight == "travel_time" else self.length_m
        done = self._compiled.get(weight)
        if done is not None and done.info == self.info:
            return done
        other = next(
            (c for w, c in self._compiled.items() if w != weight and c.info == self.info), None
        )
        if other is not None:
            compiled = reweighted(other, weights)
        else:
            compiled = compile_arrays(
                self.u,
                self.v,
                weights,
                self.x,
                self.y,
                node_ids=self.node_ids,
                info=self.info,
                inner_xy=self.inner_xy,
                inner_offsets=self.inner_offsets,
            )
        self._compiled[weight] = compiled
        return compiled

    def lines(self) -> np.ndarray:
        """Each edge's shape as a shapely LineString in EPSG:27700, from ``u`` to ``v``.

        Returns
        -------
        numpy.ndarray
            One LineString per edge (straight edges join their two nodes).
        """
        edges = EdgeList(
            u=self.u,
            v=self.v,
            seconds=self.seconds,
            inner_xy=self.inner_xy,
            inner_offsets=self.inner_offsets,
        )
        xy, owner, _ = _edge_coordinates(edges, self.x, self.y)
        return np.asarray(shapely.linestrings(xy, indices=owner))

    def keep_edges(self, keep: np.ndarray) -> CompactNetwork:
        """The same nodes with only some of the edges.

        Parameters
        ----------
        keep
            One flag per edge: whether to keep it.

        Returns
        -------
        CompactNetwork
            A new network; this one is unchanged.
        """
        keep = np.asarray(keep, dtype=bool)
        n_inner = np.diff(self.inner_offsets)
        offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(n_inner[keep], out=offsets[1:])
        return replace(
            self,
            u=self.u[keep],
            v=self.v[keep],
            length_m=self.length_m[keep],
            seconds=self.seconds[keep],
            highway_code=self.highway_code[keep],
            maxspeed_code=self.maxspeed_code[keep],
            inner_xy=self.inner_xy[np.repeat(keep, n_inner)],
            inner_offsets=offsets,
            info=dict(self.info),
        )

    def to_graph(self) -> nx.MultiDiGraph:
        """An osmnx-style graph of this network, in EPSG:27700.

        Nodes have ``x``, ``y``; edges ``length``, ``travel_time``, ``highway``,
        ``maxspeed`` (where known) and ``geometry`` (shaped edges); the
        ``geomap_*`` graph attributes say where it came from. Compiling it
        gives the same network as :meth:`compile`.

        Returns
        -------
        networkx.MultiDiGraph
            A new graph.
        """
        import networkx as nx

        graph = nx.MultiDiGraph(
            crs=settings.MEASURE_CRS, **{f"geomap_{k}": v for k, v in self.info.items()}
        )
        ids = self.node_ids.tolist()
        graph.add_nodes_from(
            (node, {"x": float(a), "y": float(b)})
            for node, a, b in zip(ids, self.x.tolist(), self.y.tolist(), strict=True)
        )
        shaped = np.diff(self.inner_offsets) > 0
        lines = self.lines()
        highway = self.highway_names.tolist()
        maxspeed = self.maxspeed_names.tolist()
        for e, (a, b) in enumerate(zip(self.u.tolist(), self.v.tolist(), strict=True)):
            data: dict[str, Any] = {
                "length": float(self.length_m[e]),
                "travel_time": float(self.seconds[e]),
            }
            if self.highway_code[e] >= 0:
                data["highway"] = highway[self.highway_code[e]]
            if self.maxspeed_code[e] >= 0:
                data["maxspeed"] = maxspeed[self.maxspeed_code[e]]
            if shaped[e]:
                data["geometry"] = lines[e]
            graph.add_edge(ids[a], ids[b], **data)
        return graph


def is_compact(path: str | Path) -> bool:
    """Whether a file name is that of a compact network (ends ``.network.npz``).

    Parameters
    ----------
    path
        A file name.

    Returns
    -------
    bool
        ``True`` for a compact network file name.
    """
    return Path(path).name.lower().endswith(SUFFIX)


def compact_path(path: str | Path) -> Path:
    """The compact network file beside a GraphML file: same folder and stem, ``.network.npz``.

    Parameters
    ----------
    path
        E.g. ``county_drive.graphml``.

    Returns
    -------
    pathlib.Path
        E.g. ``county_drive.network.npz``.
    """
    path = Path(path)
    name = path.name
    for suffix in (*GRAPHML_SUFFIXES, SUFFIX):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    else:
        name = path.stem
    return path.with_name(name + SUFFIX)


def _codes(values: list[object]) -> tuple[np.ndarray, np.ndarray]:
    """Category codes (-1 for none) and the table of names, in order of first appearance."""
    table: dict[str, int] = {}
    codes = np.empty(len(values), dtype=np.int32)
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            codes[i] = -1
            continue
        text = str(value)
        codes[i] = table.setdefault(text, len(table))
    names = np.array(list(table), dtype=str) if table else np.zeros(0, dtype="<U1")
    return codes, names


def compact_from_graph(graph: nx.MultiDiGraph) -> CompactNetwork:
    """The compact form of a timed network graph.

    Parameters
    ----------
    graph
        A network as :func:`geomap.osm.load_graph` or
        :func:`geomap.osm.fetch_graph` give it, with ``travel_time`` and
        ``length`` on every edge (see :func:`geomap.osm.add_travel_times`).

    Returns
    -------
    CompactNetwork
        Nodes, edges in the order :func:`~geomap.travel.network.compile_network`
        reads them, and shapes projected to EPSG:27700 exactly as it does.

    Raises
    ------
    EmptyNetworkError
        If the graph has no nodes or no edges.
    TravelTimeError
        If an edge has no ``travel_time``.
    NetworkFileError
        If an edge has no usable ``length``, or node ids are neither whole
        numbers nor text.
    """
    arrays = graph_arrays(
        graph, weight="travel_time", numbers=("length",), values=("highway", "maxspeed")
    )
    length = arrays.weights["length"]
    if not (np.isfinite(length).all() and (length >= 0).all()):
        raise NetworkFileError(
            f"{int((~(np.isfinite(length) & (length >= 0))).sum()):,} edges have no usable length",
            fix="Load the network with geomap.osm.load_graph, which adds lengths",
        )
    ids = arrays.node_ids
    if ids.dtype.kind in "iu":
        ids = ids.astype(np.int64)
    elif ids.dtype.kind != "U":
        ids = np.array([str(n) for n in ids.tolist()], dtype=str)
    shapes = None
    if arrays.geometry is not None:
        shapes = np.empty(arrays.u.shape[0], dtype=object)
        shapes[:] = arrays.geometry
    edges = EdgeList(
        u=arrays.u,
        v=arrays.v,
        seconds=arrays.weights["travel_time"],
        geometry=shapes,
        crs=arrays.crs,
    )
    xy, owner, offsets = _edge_coordinates(edges, arrays.x, arrays.y)
    count = np.diff(offsets)
    position = np.arange(owner.shape[0]) - offsets[:-1][owner]
    inner = (position > 0) & (position < count[owner] - 1)
    inner_offsets = np.zeros(count.shape[0] + 1, dtype=np.int64)
    np.cumsum(count - 2, out=inner_offsets[1:])
    highway_code, highway_names = _codes(arrays.values["highway"])
    maxspeed_code, maxspeed_names = _codes(arrays.values["maxspeed"])
    return CompactNetwork(
        node_ids=ids,
        x=arrays.x,
        y=arrays.y,
        u=arrays.u,
        v=arrays.v,
        length_m=length,
        seconds=arrays.weights["travel_time"],
        highway_code=highway_code,
        highway_names=highway_names,
        maxspeed_code=maxspeed_code,
        maxspeed_names=maxspeed_names,
        inner_xy=np.ascontiguousarray(xy[inner]),
        inner_offsets=inner_offsets,
        info=network_info(graph),
    )


# --------------------------------------------------------------------------- writing


def _arrays_of(network: CompactNetwork) -> dict[str, np.ndarray]:
    out = {name: getattr(network, name) for name in _MEMBERS}
    for name in ("x", "y", "length_m", "seconds", "inner_xy"):
        out[name] = np.ascontiguousarray(out[name], dtype="<f8")
    for name in ("u", "v", "inner_offsets"):
        out[name] = np.ascontiguousarray(out[name], dtype="<i8")
    for name in ("highway_code", "maxspeed_code"):
        out[name] = np.ascontiguousarray(out[name], dtype="<i4")
    out["inner_xy"] = out["inner_xy"].reshape(-1, 2)
    if out["node_ids"].dtype.kind in "iu":
        out["node_ids"] = np.ascontiguousarray(out["node_ids"], dtype="<i8")
    return out


def _content_hash(arrays: Mapping[str, np.ndarray], manifest: Mapping[str, Any]) -> str:
    """SHA-256 over every array (name, dtype, shape, bytes) and the manifest without its hash."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{list(array.shape)}|".encode())
        digest.update(array.tobytes())
    rest = {k: v for k, v in manifest.items() if k != "content_sha256"}
    digest.update(json.dumps(rest, sort_keys=True, ensure_ascii=True).encode())
    return digest.hexdigest()


def write_compact(
    network: CompactNetwork | nx.MultiDiGraph,
    path: str | Path,
    *,
    source_file: str | Path | None = None,
) -> Path:
    """Write a network as a compact network file, atomically.

    Parameters
    ----------
    network
        A compact network, or a timed graph (see :func:`compact_from_graph`).
    path
        A file name ending ``.network.npz``.
    source_file
        The file the network was read from, named in the manifest.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        If ``path`` does not end ``.network.npz``.
    OutputError
        If the file cannot be written.
    """
    target = Path(path)
    if not is_compact(target):
        raise InputError(
            "a compact network is saved as a .network.npz file",
            path=target,
            fix=f"Give a file name ending {SUFFIX}",
        )
    if not isinstance(network, CompactNetwork):  # an osmnx graph
        network = compact_from_graph(network)
    arrays = _arrays_of(network)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mode": network.mode,
        "crs": settings.MEASURE_CRS,
        "nodes": network.n_nodes,
        "edges": network.n_edges,
        "inner_vertices": int(arrays["inner_xy"].shape[0]),
        "written": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "source_file": None if source_file is None else str(source_file),
        "info": {str(k): str(v) for k, v in network.info.items()},
        "units": {"x": "m", "y": "m", "length_m": "m", "seconds": "s", "inner_xy": "m"},
    }
    manifest["content_sha256"] = _content_hash(arrays, manifest)
    with atomic_path(target) as tmp:
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                zf.writestr(_MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
                for name, array in arrays.items():
                    with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
        except OSError as err:
            raise OutputError(f"cannot write {target} ({err.strerror or err})") from err
    return target


# --------------------------------------------------------------------------- reading


def _bad(path: Path, message: str) -> NetworkFileError:
    return NetworkFileError(message, path=path, fix=_FIX)


def _data_start(handle: BinaryIO, info: zipfile.ZipInfo, path: Path) -> int:
    """Where a stored member's bytes begin (after its local header)."""
    handle.seek(info.header_offset)
    local = handle.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise _bad(path, f"member {info.filename} has no valid local header")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    return int(info.header_offset) + 30 + int(name_length) + int(extra_length)


def _read_member(handle: BinaryIO, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    name = info.filename.removesuffix(".npy")
    dtypes, ndim = _MEMBERS[name]
    start = _data_start(handle, info, path)
    handle.seek(start)
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except ValueError as err:
        raise _bad(path, f"member {info.filename} is not a NumPy array ({err})") from err
    kind_ok = dtype.str in dtypes or ("U" in dtypes and dtype.kind == "U" and dtype.str[0] != ">")
    if not kind_ok or dtype.hasobject:
        raise _bad(
            path,
            f"member {info.filename} has dtype {dtype.str}, not one of {', '.join(dtypes)}",
        )
    if fortran or len(shape) != ndim or any(not isinstance(s, int) or s < 0 for s in shape):
        raise _bad(
            path,
            f"member {info.filename} has shape {shape}{' (Fortran order)' if fortran else ''}; "
            f"a {ndim}-dimensional C-order array was expected",
        )
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    header = handle.tell() - start
    if header + count * dtype.itemsize != info.file_size:
        raise _bad(
            path,
            f"member {info.filename} holds {info.file_size - header:,} bytes of data, but its "
            f"header says {count * dtype.itemsize:,}",
        )
    array = np.fromfile(handle, dtype=dtype, count=count)
    if array.shape[0] != count:
        raise _bad(path, f"member {info.filename} is cut short")
    return array.reshape(shape)


def _check_manifest(manifest: object, path: Path) -> dict[str, Any]:
    if not isinstance(manifest, dict):
        raise _bad(path, "manifest.json is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise _bad(path, f"manifest.json does not say format '{FORMAT}'")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise NetworkFileError(
            f"this compact network is format version {manifest.get('format_version')!r}; "
            f"this geomap reads version {FORMAT_VERSION}",
            path=path,
            fix=_FIX,
        )
    for key, kind in (
        ("mode", str),
        ("crs", str),
        ("nodes", int),
        ("edges", int),
        ("info", dict),
        ("content_sha256", str),
    ):
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise _bad(path, f"manifest.json has no valid '{key}' ({kind.__name__})")
    if manifest["mode"] not in settings.NETWORK_MODES:
        raise _bad(path, f"manifest.json names mode '{manifest['mode']}'")
    if manifest["crs"] != settings.MEASURE_CRS:
        raise _bad(path, f"manifest.json gives CRS {manifest['crs']}, not {settings.MEASURE_CRS}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in manifest["info"].items()):
        raise _bad(path, "manifest.json's 'info' is not an object of texts")
    return manifest


def _check_arrays(arrays: dict[str, np.ndarray], manifest: dict[str, Any], path: Path) -> None:
    n = arrays["x"].shape[0]
    m = arrays["u"].shape[0]
    if n == 0 or m == 0:
        raise EmptyNetworkError(f"the network has {n} nodes and {m} edges", path=path)
    if (n, m) != (manifest["nodes"], manifest["edges"]):
        raise _bad(
            path,
            f"the arrays hold {n:,} nodes and {m:,} edges, but the manifest says "
            f"{manifest['nodes']:,} and {manifest['edges']:,}",
        )
    for name in ("node_ids", "y"):
        if arrays[name].shape[0] != n:
            raise _bad(path, f"{name} has {arrays[name].shape[0]:,} values for {n:,} nodes")
    for name in ("v", "length_m", "seconds", "highway_code", "maxspeed_code"):
        if arrays[name].shape[0] != m:
            raise _bad(path, f"{name} has {arrays[name].shape[0]:,} values for {m:,} edges")
    if arrays["inner_offsets"].shape[0] != m + 1:
        raise _bad(
            path, f"inner_offsets has {arrays['inner_offsets'].shape[0]:,} values, not {m + 1:,}"
        )
    if arrays["inner_xy"].shape[1] != 2:
        raise _bad(path, "inner_xy must have two columns (x, y)")
    for name in ("x", "y", "inner_xy"):
        if not np.isfinite(arrays[name]).all():
            raise _bad(path, f"{name} has coordinates that are not finite numbers")
    for name in ("u", "v"):
        ends = arrays[name]
        if ends.min() < 0 or ends.max() >= n:
            raise _bad(path, f"edge ends in {name} must be node rows 0 to {n - 1}")
    for name, unit in (("length_m", "metres"), ("seconds", "seconds")):
        values = arrays[name]
        ok = np.isfinite(values) & (values >= 0)
        if not ok.all():
            bad = int(np.flatnonzero(~ok)[0])
            raise _bad(
                path, f"edge {bad} has {name} {values[bad]}; {unit} must be finite, 0 or more"
            )
    offsets = arrays["inner_offsets"]
    if (
        offsets[0] != 0
        or offsets[-1] != arrays["inner_xy"].shape[0]
        or (np.diff(offsets) < 0).any()
    ):
        raise _bad(
            path,
            "inner_offsets must rise from 0 to the number of rows of inner_xy "
            f"({arrays['inner_xy'].shape[0]:,})",
        )
    for name in ("highway", "maxspeed"):
        codes = arrays[f"{name}_code"]
        size = arrays[f"{name}_names"].shape[0]
        if codes.min() < -1 or codes.max() >= size:
            raise _bad(
                path, f"{name}_code must be -1 (none) or a row of {name}_names (0 to {size - 1})"
            )


def read_compact(path: str | Path) -> CompactNetwork:
    """Read a compact network file, checking everything in it.

    Parameters
    ----------
    path
        A ``.network.npz`` file written by :func:`write_compact`.

    Returns
    -------
    CompactNetwork
        With ``info`` from the manifest.

    Raises
    ------
    NetworkFileError
        If the file is missing or is not a zip; has other members than
        expected, compressed members or members larger than the file; if a
        member has the wrong dtype, shape or length; if edge ends are not node
        rows, times or lengths are not finite and 0 or more, coordinates not
        finite, shape offsets not rising, road-class codes out of range; if the
        manifest is not the expected JSON object or the content hash does not
        match.
    EmptyNetworkError
        If the network has no nodes or no edges.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkFileError(
            "network file not found" if not path.exists() else "this is not a file",
            path=path,
            fix="Check the path and file name",
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _bad(path, f"the file is {size / 2**30:,.1f} GiB, more than geomap reads")
    expected = {f"{name}.npy" for name in _MEMBERS} | {_MANIFEST}
    try:
        with path.open("rb") as handle, zipfile.ZipFile(handle) as zf:
            infos = zf.infolist()
            names = [info.filename for info in infos]
            if len(names) != len(set(names)) or set(names) != expected:
                odd = sorted(set(names) ^ expected)
                raise _bad(
                    path,
                    "the file's members are not those of a compact network "
                    f"(unexpected or missing: {', '.join(odd[:5]) or 'repeated names'})",
                )
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                    raise _bad(
                        path,
                        f"member {info.filename} is compressed; compact networks store "
                        "members uncompressed",
                    )
                if info.header_offset + info.file_size > size or info.flag_bits & 0x1:
                    raise _bad(path, f"member {info.filename} does not fit in the file")
            by_name = {info.filename: info for info in infos}
            manifest_info = by_name[_MANIFEST]
            if manifest_info.file_size > MAX_MANIFEST_BYTES:
                raise _bad(path, "manifest.json is larger than 1 MiB")
            try:
                manifest = json.loads(zf.read(_MANIFEST).decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as err:
                raise _bad(path, f"manifest.json is not JSON ({err})") from err
            manifest = _check_manifest(manifest, path)
            arrays = {name: _read_member(handle, by_name[f"{name}.npy"], path) for name in _MEMBERS}
    except zipfile.BadZipFile as err:
        raise NetworkFileError(
            f"cannot read this file as a compact network ({err})", path=path, fix=_FIX
        ) from err
    except OSError as err:
        raise NetworkFileError(f"cannot read this file ({err.strerror or err})", path=path) from err
    if _content_hash(arrays, manifest) != manifest["content_sha256"]:
        raise _bad(path, "the content hash does not match: the file was changed or damaged")
    _check_arrays(arrays, manifest, path)
    about = {str(k): str(v) for k, v in manifest["info"].items()}
    about["mode"] = manifest["mode"]
    return CompactNetwork(
        node_ids=arrays["node_ids"],
        x=arrays["x"],
        y=arrays["y"],
        u=arrays["u"].astype(np.int64, copy=False),
        v=arrays["v"].astype(np.int64, copy=False),
        length_m=arrays["length_m"],
        seconds=arrays["seconds"],
        highway_code=arrays["highway_code"],
        highway_names=arrays["highway_names"],
        maxspeed_code=arrays["maxspeed_code"],
        maxspeed_names=arrays["maxspeed_names"],
        inner_xy=arrays["inner_xy"],
        inner_offsets=arrays["inner_offsets"],
        info=about,
    )


# --------------------------------------------------------------------------- loading any file


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks.

    Parameters
    ----------
    path
        Any file.

    Returns
    -------
    str
        The hex digest.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(4 * 2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _timed(graph: nx.MultiDiGraph, mode: str | None) -> nx.MultiDiGraph:
    if any(w is None for _, _, w in graph.edges(data="travel_time")):
        add_travel_times(graph, mode=mode)
    return graph


def _cached_graphml(path: Path, *, mode: str | None, cache_dir: Path | None) -> CompactNetwork:
    """A GraphML file's compact form from the cache, compiled and cached first if needed."""
    folder = (cache_dir if cache_dir is not None else settings.cache_dir()) / CACHE_FOLDER
    if path.stat().st_size == 0:
        raise EmptyNetworkError("the network file is empty", path=path)
    digest = file_sha256(path)
    asked = None if mode is None else network_mode(mode)
    # one entry per mode asked for: a GraphML without a recorded mode is timed for the mode asked
    cached = folder / f"graphml-{digest}-{asked or 'own'}{SUFFIX}"
    network: CompactNetwork | None = None
    if cached.is_file():
        try:
            network = read_compact(cached)
        except NetworkFileError as err:
            logger.warning(
                "ignoring the damaged cached network %s (%s); rebuilding it", cached, err
            )
        if network is not None and network.info.get("graphml_sha256") != digest:
            logger.warning("ignoring the cached network %s: it is of another file", cached)
            network = None
    if network is None:
        graph = _timed(load_graph(path, mode=mode), asked)
        compact = compact_from_graph(graph)
        network = replace(
            compact, info={**compact.info, "graphml_sha256": digest, "graphml_file": str(path)}
        )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_compact(network, cached, source_file=path)
            logger.info("cached the compiled network of %s in %s", path, cached)
        except (OSError, OutputError) as err:
            warnings.warn(
                f"cannot keep the compiled network of {path} in the cache folder {folder} "
                f"({err}); it will be read from GraphML again next time. Set GEOMAP_CACHE_DIR "
                "to a folder that can be written to",
                TravelWarning,
                stacklevel=3,
            )
    else:
        logger.info("using the cached compiled network %s for %s", cached, path)
    info = dict(network.info)
    # a GraphML that does not say where it came from is named by the file given, wherever
    # the same bytes were first read from
    first = Path(info.get("graphml_file", str(path)))
    if info.get("source") == f"network file {first.name}":
        info["source"] = f"network file {path.name}"
    if info.get("query") == f"file {first}":
        info["query"] = f"file {path}"
    info["graphml_file"] = str(path)
    return replace(network, info=info)


def load_network(
    path: str | Path,
    *,
    mode: str | None = None,
    use_cache: bool = True,
    cache_dir: str | Path | None = None,
) -> CompactNetwork:
    """Read any network file as a compact network, timed for its mode.

    ``.network.npz`` files are read directly (:func:`read_compact`). GraphML
    is read with osmnx the first time and its compact form kept in the cache
    (``networks/graphml-<sha256 of the file>.network.npz`` in
    :func:`geomap.settings.cache_dir`); later calls on a file with the same
    bytes read that instead. A damaged cache entry is logged and rebuilt; a
    cache folder that cannot be written to gives a warning and the network is
    still returned. ``.osm``/``.osm.pbf`` files are read with
    :func:`geomap.osm.load_graph` each time. Edges without travel times get
    the mode's default speeds (:func:`geomap.osm.add_travel_times`).

    The last few compact and GraphML networks read are kept in memory (see
    :data:`LOADED_MOST`): a later call for the same unchanged file (same
    inode, size and modification time) returns the same object, with the
    routing engine's compiled form already built (e.g. a report's travel
    times and its eligibility share one load).

    Parameters
    ----------
    path
        A ``.network.npz``, ``.graphml``, ``.osm``, ``.osm.xml``, ``.osm.bz2`` or
        ``.osm.pbf`` file.
    mode
        ``drive``/``car``, ``walk`` or ``bike``: the mode to build an OSM file
        for, and the mode a GraphML or compact file must have been built for;
        the file's own (drive for OSM files) by default.
    use_cache
        Keep and reuse GraphML files' compact forms.
    cache_dir
        The cache folder (its ``networks`` subfolder is used);
        :func:`geomap.settings.cache_dir` by default.

    Returns
    -------
    CompactNetwork
        With ``info`` naming the file given (``source``, ``query``) and, for
        cached GraphML, the cache entry (``cache``).

    Raises
    ------
    NetworkFileError
        If the file is missing, of an unknown type, not a network, or built
        for another mode than ``mode``.
    EmptyNetworkError
        If it has no network of this mode.

    Warns
    -----
    TravelWarning
        If the cache folder cannot be written to.
    """
    path = Path(path)
    key: tuple[object, ...] | None = None
    graphml = path.name.lower().endswith(GRAPHML_SUFFIXES)
    if (is_compact(path) or graphml) and path.is_file():
        stat = path.stat()
        key = (
            str(path.resolve()),
            stat.st_ino,
            stat.st_size,
            stat.st_mtime_ns,
            None if mode is None else network_mode(mode),
            use_cache,
            str(Path(cache_dir) if cache_dir is not None else settings.cache_dir()),
        )
        if key in _LOADED:
            return _LOADED[key]
    network = _load_network(path, mode=mode, use_cache=use_cache, cache_dir=cache_dir)
    if key is not None:
        _LOADED[key] = network
        while len(_LOADED) > LOADED_MOST:
            del _LOADED[next(iter(_LOADED))]
    return network


def _load_network(
    path: Path, *, mode: str | None, use_cache: bool, cache_dir: str | Path | None
) -> CompactNetwork:
    if is_compact(path):
        network = read_compact(path)
        if mode is not None and network.mode != network_mode(mode):
            raise NetworkFileError(
                f"this network was built for {network.mode}, not {network_mode(mode)}",
                path=path,
                fix=f"Build a {network_mode(mode)} network, or ask for {network.mode}",
            )
        return network
    if use_cache and path.name.lower().endswith(GRAPHML_SUFFIXES) and path.is_file():
        return _cached_graphml(
            path, mode=mode, cache_dir=None if cache_dir is None else Path(cache_dir)
        )
    graph = load_graph(path, mode=mode)
    return compact_from_graph(_timed(graph, mode))


def without_unsafe_edges(
    network: CompactNetwork, unsafe: gpd.GeoDataFrame
) -> tuple[CompactNetwork, int]:
    """The network without the edges that cross or touch an unsafe route.

    Parameters
    ----------
    network
        A compact network.
    unsafe
        Lines or polygons in any CRS (see :func:`geomap.eligibility.read_unsafe`).

    Returns
    -------
    network, removed
        The same nodes with the other edges, and how many edges were removed.
    """
    lines = network.lines()
    barriers = unsafe.to_crs(settings.MEASURE_CRS).geometry.to_numpy()
    hit = np.unique(shapely.STRtree(lines).query(barriers, predicate="intersects")[1])
    keep = np.ones(network.n_edges, dtype=bool)
    keep[hit] = False
    return network.keep_edges(keep), int(hit.shape[0])


__all__ = [
    "CACHE_FOLDER",
    "FORMAT_VERSION",
    "SUFFIX",
    "CompactNetwork",
    "compact_from_graph",
    "compact_path",
    "file_sha256",
    "is_compact",
    "load_network",
    "read_compact",
    "without_unsafe_edges",
    "write_compact",
]
