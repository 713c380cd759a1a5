"""Downloading networks against a fake Overpass server on 127.0.0.1 (no internet).

The server answers like Overpass: ``GET /api/status`` in the layout osmnx
parses, ``POST /api/interpreter`` with Overpass JSON (or a failure), and
Nominatim's ``GET /search``. It counts the requests it gets, so the tests can
show that a cached network is read without contacting it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest
import shapely

from geomap.errors import (
    EmptyNetworkError,
    GeomapError,
    InputError,
    NetworkDownloadError,
    NetworkTimeoutError,
)
from geomap.osm import add_travel_times, fetch_graph, load_graph, network_info
from geomap.travel.network import NetworkTravelTimes

FIXTURES = Path(__file__).parent / "fixtures" / "network"
ANSWER = (FIXTURES / "riverside_drive_overpass.json").read_bytes()
#: The area of riverside.osm: (left, bottom, right, top)
BBOX = (-2.7310, 52.0490, -2.6980, 52.0660)

STATUS = (
    "Connected as: 2130706433\n"
    "Current time: 2026-01-01T00:00:00Z\n"
    "Announced endpoint: none\n"
    "Rate limit: 2\n"
    "2 slots available now.\n"
    "Currently running queries (pid, space limit, time limit, start time):\n"
)
NOMINATIM = [
    {
        "place_id": 1,
        "osm_type": "relation",
        "osm_id": 1,
        "boundingbox": ["52.0490", "52.0660", "-2.7310", "-2.6980"],
        "lat": "52.06",
        "lon": "-2.72",
        "display_name": "Riverside, Testshire, England",
        "class": "boundary",
        "type": "administrative",
        "importance": 0.6,
        "geojson": {
            "type": "Polygon",
            "coordinates": [
                [
                    [-2.731, 52.049],
                    [-2.698, 52.049],
                    [-2.698, 52.066],
                    [-2.731, 52.066],
                    [-2.731, 52.049],
                ]
            ],
        },
    }
]


class FakeOverpass:
    """A tiny Overpass (and Nominatim) server in a thread; ``behaviour`` says how it answers."""

    def __init__(self) -> None:
        self.behaviour = "ok"
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path.split("?")[0]))
                if self.path.startswith("/api/status"):
                    self._send(200, STATUS.encode(), "text/plain")
                elif self.path.startswith("/search"):
                    self._send(200, json.dumps(NOMINATIM).encode())
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                fake.requests.append(("POST", self.path))
                if not self.path.startswith("/api/interpreter"):
                    self._send(404, b"not found", "text/plain")
                    return
                behaviour = fake.behaviour
                if behaviour == "ok":
                    self._send(200, ANSWER)
                elif behaviour == "429":
                    self._send(429, b"<html>Too Many Requests</html>", "text/html")
                elif behaviour == "500":
                    self._send(500, b"<html>Internal Server Error</html>", "text/html")
                elif behaviour == "504":
                    self._send(504, b"<html>Gateway Timeout</html>", "text/html")
                elif behaviour == "slow":
                    time.sleep(2.0)
                    self._send(200, ANSWER)
                elif behaviour == "malformed":
                    self._send(200, b'{"version": 0.6, "elements": [{"type": "node", "id": 1, "la')
                elif behaviour == "not overpass":
                    self._send(200, b'{"hello": "world"}')
                elif behaviour == "remark":
                    body = {
                        "version": 0.6,
                        "elements": [],
                        "remark": 'runtime error: Query timed out in "query" at line 1 after 26 seconds.',
                    }
                    self._send(200, json.dumps(body).encode())
                elif behaviour == "empty":
                    self._send(200, json.dumps({"version": 0.6, "elements": []}).encode())
                else:  # pragma: no cover
                    raise AssertionError(behaviour)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        self.thread = threading.Thread(
            target=lambda: self.server.serve_forever(poll_interval=0.05), daemon=True
        )

    def interpreter_calls(self) -> int:
        return sum(1 for method, path in self.requests if path.startswith("/api/interpreter"))


@pytest.fixture
def overpass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeOverpass]:
    fake = FakeOverpass()
    fake.thread.start()
    # tests only: no polite pauses, short timeouts; osmnx's own HTTP cache is pointed
    # at tmp_path and left on, to show that geomap does not use it
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr(ox.settings, "requests_timeout", 5)
    monkeypatch.setattr(ox.settings, "use_cache", True)
    monkeypatch.setattr(ox.settings, "cache_folder", str(tmp_path / "osmnx-cache"))
    monkeypatch.setattr(ox.settings, "nominatim_url", fake.url.removesuffix("/api"))
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_builds_and_caches_then_works_offline(
    overpass: FakeOverpass, tmp_path: Path
) -> None:
    cache = tmp_path / "networks"
    default_url = ox.settings.overpass_url
    steps: list[str] = []
    graph = fetch_graph(
        bbox=BBOX,
        mode="drive",
        overpass_url=overpass.url,
        cache_dir=cache,
        simplify=False,
        progress=steps.append,
    )
    assert overpass.interpreter_calls() == 1
    assert ox.settings.overpass_url == default_url  # restored
    # the same network as reading the OSM file
    from_file = load_graph(FIXTURES / "riverside.osm", mode="drive", simplify=False)
    assert sorted(graph.nodes) == sorted(from_file.nodes)
    assert sorted(graph.edges()) == sorted(from_file.edges())
    info = network_info(graph)
    assert info["mode"] == "drive"
    assert overpass.url in info["source"]
    assert "bbox" in info["query"]
    assert any("Downloading" in s for s in steps) and any("Caching" in s for s in steps)
    # a graph file and its manifest, nothing else; osmnx's HTTP cache untouched
    names = files_in(cache)
    assert len(names) == 2 and names[0].endswith(".graphml") and names[1].endswith(".json")
    manifest = json.loads((cache / names[1]).read_text())
    for field in ("source", "query", "date", "mode", "osmnx_version"):
        assert manifest[field]
    assert manifest["mode"] == "drive"
    assert manifest["query"] == {"bbox": list(BBOX)}
    assert manifest["osmnx_version"] == ox.__version__
    assert manifest["overpass_url"] == overpass.url
    assert files_in(tmp_path / "osmnx-cache") == []

    # a second identical call never contacts the server
    before = len(overpass.requests)
    steps.clear()
    again = fetch_graph(
        bbox=BBOX,
        mode="drive",
        overpass_url=overpass.url,
        cache_dir=cache,
        simplify=False,
        progress=steps.append,
    )
    assert len(overpass.requests) == before
    assert any("cached" in s for s in steps)
    assert sorted(again.nodes) == sorted(graph.nodes)
    assert network_info(again)["date"] == info["date"]

    # and it times journeys like the file does
    home = [shapely.Point(-2.7170, 52.0610)]  # node 14
    import geopandas as gpd

    pts = gpd.GeoDataFrame({"id": ["h"]}, geometry=home, crs="EPSG:4326").to_crs("EPSG:27700")
    school = gpd.GeoDataFrame(
        {"id": ["s"]}, geometry=[shapely.Point(-2.72, 52.056)], crs="EPSG:4326"
    ).to_crs("EPSG:27700")
    a = NetworkTravelTimes(add_travel_times(again)).nearest(pts, school)
    b = NetworkTravelTimes(add_travel_times(from_file)).nearest(pts, school)
    assert a["minutes"].iloc[0] == pytest.approx(b["minutes"].iloc[0], abs=1e-9)

    # a different query downloads again
    fetch_graph(bbox=BBOX, mode="drive", overpass_url=overpass.url, cache_dir=cache, simplify=True)
    assert overpass.interpreter_calls() == 2
    # refresh downloads again too
    fetch_graph(
        bbox=BBOX,
        mode="drive",
        overpass_url=overpass.url,
        cache_dir=cache,
        simplify=False,
        refresh=True,
    )
    assert overpass.interpreter_calls() == 3


def test_download_with_rate_limit_reads_status(
    overpass: FakeOverpass, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", True)
    graph = fetch_graph(bbox=BBOX, overpass_url=overpass.url, cache_dir=tmp_path / "c", buffer_m=0)
    assert ("GET", "/api/status") in overpass.requests
    assert overpass.interpreter_calls() == 1
    assert graph.number_of_edges() > 0


def test_download_by_polygon_and_place(overpass: FakeOverpass, tmp_path: Path) -> None:
    polygon = shapely.box(*BBOX)
    graph = fetch_graph(polygon=polygon, overpass_url=overpass.url, cache_dir=tmp_path / "c")
    assert graph.number_of_edges() > 0
    assert "polygon" in network_info(graph)["query"]
    placed = fetch_graph(
        place="Riverside, Testshire", overpass_url=overpass.url, cache_dir=tmp_path / "c"
    )
    assert ("GET", "/search") in overpass.requests
    assert "Riverside, Testshire" in network_info(placed)["query"]
    # cached by place name: no second look-up
    before = len(overpass.requests)
    fetch_graph(place="Riverside, Testshire", overpass_url=overpass.url, cache_dir=tmp_path / "c")
    assert len(overpass.requests) == before


def test_download_by_the_shipped_county_boundary(overpass: FakeOverpass, tmp_path: Path) -> None:
    from shipped_data import boundary

    # Herefordshire plus 5 km is larger than osmnx's largest query, so it is asked for
    # in pieces; the fake answers each with the riverside streets (which are in Hereford)
    graph = fetch_graph(polygon=boundary().geometry, overpass_url=overpass.url, cache_dir=tmp_path)
    assert overpass.interpreter_calls() >= 2
    assert {1, 8, 14, 22} <= set(graph.nodes)  # junctions and dead ends (simplified)
    info = network_info(graph)
    assert "polygon" in info["query"] and "+ 5000 m" in info["query"]
    manifest = json.loads(next(tmp_path.glob("*.json")).read_text())
    west, south, east, north = manifest["area_bounds"]
    # the buffered county reaches beyond its own bounds (-3.141, 51.826, -2.338, 52.395)
    assert west < -3.141 and south < 51.826 and east > -2.338 and north > 52.395


@pytest.mark.parametrize(
    ("behaviour", "error", "status", "message"),
    [
        ("429", NetworkDownloadError, 429, "too many requests"),
        ("500", NetworkDownloadError, 500, "HTTP 500"),
        ("504", NetworkDownloadError, 504, "HTTP 504"),
        ("malformed", NetworkDownloadError, None, "not JSON"),
        ("not overpass", NetworkDownloadError, None, "not an Overpass answer"),
        ("remark", NetworkDownloadError, 200, "Query timed out"),
        ("slow", NetworkTimeoutError, None, "did not answer in time"),
        ("empty", EmptyNetworkError, None, "no drive network"),
    ],
)
def test_failed_downloads_raise_one_clear_error_and_cache_nothing(
    overpass: FakeOverpass,
    tmp_path: Path,
    behaviour: str,
    error: type[Exception],
    status: int | None,
    message: str,
) -> None:
    overpass.behaviour = behaviour
    cache = tmp_path / "networks"
    with pytest.raises(error, match=message) as err:
        fetch_graph(bbox=BBOX, overpass_url=overpass.url, cache_dir=cache, timeout=0.5)
    assert isinstance(err.value, GeomapError)
    if isinstance(err.value, NetworkDownloadError):
        assert err.value.status == status
        assert "Nothing was cached" in str(err.value)
        assert isinstance(err.value, ConnectionError)
    # asked once, no retry loop (osmnx alone would wait 55 s and retry 429 and 504)
    assert overpass.interpreter_calls() == 1
    assert files_in(cache) == []
    assert files_in(tmp_path / "osmnx-cache") == []
    assert ox.settings.requests_timeout == 5  # restored
    # once the server recovers the same call works
    overpass.behaviour = "ok"
    graph = fetch_graph(bbox=BBOX, overpass_url=overpass.url, cache_dir=cache, timeout=5)
    assert isinstance(graph, nx.MultiDiGraph)
    assert len(files_in(cache)) == 2


def test_timeout_is_also_a_timeout_error(overpass: FakeOverpass, tmp_path: Path) -> None:
    overpass.behaviour = "slow"
    with pytest.raises(TimeoutError):
        fetch_graph(bbox=BBOX, overpass_url=overpass.url, cache_dir=tmp_path, timeout=0.3)


def test_unreachable_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    # a port nobody listens on
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NetworkDownloadError, match="cannot reach"):
        fetch_graph(
            bbox=BBOX, overpass_url=f"http://127.0.0.1:{port}/api", cache_dir=tmp_path, timeout=2
        )
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one area"),
        ({"bbox": BBOX, "place": "Hereford"}, "exactly one area"),
        ({"bbox": (1, 2, 3)}, "four numbers"),
        ({"bbox": (-2.6, 52.0, -2.7, 52.1)}, "left, bottom, right, top"),
        ({"bbox": (350000, 240000, 360000, 250000)}, "lon/lat"),
        ({"polygon": shapely.box(350000, 240000, 360000, 250000)}, "not lon/lat"),
        ({"polygon": shapely.Point(-2.7, 52.0)}, "polygon"),
        ({"place": "  "}, "blank"),
        ({"bbox": BBOX, "mode": "boat"}, "unknown network mode"),
        ({"bbox": BBOX, "buffer_m": -5}, "buffer_m"),
    ],
)
def test_bad_areas_fail_before_any_download(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        fetch_graph(overpass_url="http://127.0.0.1:9/api", cache_dir=tmp_path, **kwargs)  # type: ignore[arg-type]
    assert files_in(tmp_path) == []


# --------------------------------------------------------------------------- through the CLI


def test_cli_fetch_from_a_local_overpass_then_route_on_it(
    overpass: FakeOverpass, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from geomap.cli import main

    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "riverside.graphml"
    bbox = ",".join(str(v) for v in BBOX)
    args = [
        "network",
        "fetch",
        "--bbox",
        bbox,
        "--mode",
        "drive",
        "--overpass-url",
        overpass.url,
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.exists() and "Wrote" in result.output
    assert overpass.interpreter_calls() == 1
    # again: from the cache, no request to the server
    before = len(overpass.requests)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and len(overpass.requests) == before
    assert "cached" in again.output
    # route on it: points in Hereford, on the fixture's streets
    homes = tmp_path / "homes.csv"
    homes.write_text("id,lon,lat\nh,-2.7170,52.0610\n")
    schools = tmp_path / "schools.csv"
    schools.write_text("id,lon,lat\ns,-2.72,52.056\n")
    times = tmp_path / "t.csv"
    routed = CliRunner().invoke(
        main,
        [
            "times",
            "--network",
            str(out),
            "--origins",
            str(homes),
            "--destinations",
            str(schools),
            "--out",
            str(times),
        ],
    )
    assert routed.exit_code == 0, routed.output
    assert "OpenStreetMap network" in routed.output
    assert times.read_text().splitlines()[1].endswith("network:drive")


def test_cli_fetch_failure_is_one_clear_error(
    overpass: FakeOverpass, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from geomap.cli import main

    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path / "cache"))
    overpass.behaviour = "429"
    out = tmp_path / "g.graphml"
    bbox = ",".join(str(v) for v in BBOX)
    result = CliRunner().invoke(
        main,
        ["network", "fetch", "--bbox", bbox, "--overpass-url", overpass.url, "--out", str(out)],
    )
    assert result.exit_code == 1
    assert "429" in result.output and "Traceback" not in result.output
    assert not out.exists() and files_in(tmp_path / "cache") == []
