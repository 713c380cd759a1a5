"""Polygons and points from outside: validated, repaired only when unambiguous, in Great Britain.

Every fixture is a tiny file written by the test, read back through GDAL as a
user's file would be.
"""

from __future__ import annotations

import importlib.util
import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shipped_data import boundary, layer, shipped

from geomap import errors, settings
from geomap.areas import (
    assign_to_areas,
    group_lookup,
    load_areas,
    load_partnerships,
    overlapping_areas,
    read_polygons,
    validate_polygons,
)
from geomap.io import read_table
from geomap.locations import (
    GB_OUTLINE,
    in_great_britain,
    km_from_great_britain,
    points_from_table,
    postcode_lookup,
    read_points,
)
from geomap.osm import fetch_graph
from geomap.providers import load_providers

ROOT = Path(__file__).parent.parent
NOT_COVERED = "Northern Ireland, the Isle of Man and the Channel Islands are not covered"

# a 0.1 degree square in Hereford, as lon/lat rings
SQUARE = [[-2.8, 52.0], [-2.7, 52.0], [-2.7, 52.1], [-2.8, 52.1], [-2.8, 52.0]]


def feature_collection(geometries: list[dict | None], *, ids: list[str] | None = None) -> str:
    ids = ids or [f"W{i}" for i in range(len(geometries))]
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"id": ident, "name": f"Ward {ident}"},
                    "geometry": geometry,
                }
                for ident, geometry in zip(ids, geometries, strict=True)
            ],
        }
    )


def polygon(*rings: list) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


@pytest.fixture
def geojson(write: Callable[[str, str], Path]) -> Callable[..., Path]:
    def _write(name: str, *geometries: dict | None) -> Path:
        return write(name, feature_collection(list(geometries)))

    return _write


def geometry_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, errors.GeometryWarning)]


# --------------------------------------------------------------------------- 1. polygon files


def test_gdal_reads_an_unclosed_ring_but_geos_cannot_build_it(geojson):
    # what really happens, and why geomap reads such files itself
    path = geojson("unclosed.geojson", polygon(SQUARE[:-1]))
    with (
        warnings.catch_warnings(),
        pytest.raises(shapely.errors.GEOSException, match="closed linestring"),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's own note
        gpd.read_file(path, engine="pyogrio")


@pytest.mark.parametrize("reader", ["read_polygons", "load_areas"])
def test_an_unclosed_ring_is_closed_with_a_warning(geojson, reader):
    path = geojson(
        "wards.geojson", polygon(SQUARE), polygon([[x + 0.1, y] for x, y in SQUARE[:-1]])
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        layer = read_polygons(path) if reader == "read_polygons" else load_areas(path)
    messages = geometry_warnings(record)
    assert len(messages) == 1
    assert str(path) in messages[0]
    assert "row 2 (W1): closed a ring whose last point was not its first" in messages[0]
    assert "row 1" not in messages[0]
    assert not [w for w in record if issubclass(w.category, RuntimeWarning)]  # GDAL's note hidden
    closed = layer.geometry.iloc[1]
    assert closed.is_valid and closed.exterior.is_closed
    meant = gpd.GeoSeries([shapely.Polygon([[x + 0.1, y] for x, y in SQUARE])], crs=4326)
    assert closed.area == pytest.approx(meant.to_crs(layer.crs).iloc[0].area, rel=1e-9)


# (case, rings or geometry, row, words the message must contain)
REFUSED = [
    (
        "two-point ring, not closed",
        polygon([[-2.8, 52.0], [-2.7, 52.0]]),
        ["2 distinct point(s)", "at least 3"],
    ),
    (
        "two-point ring, closed",
        polygon([[-2.8, 52.0], [-2.7, 52.0], [-2.8, 52.0]]),
        ["2 distinct point(s)"],
    ),
    (
        "one-point ring",
        polygon([[-2.8, 52.0]]),
        ["cannot be built from its points", "at least 3 distinct points"],
    ),
    (
        "bow-tie",
        polygon([[-2.8, 52.0], [-2.7, 52.1], [-2.7, 52.0], [-2.8, 52.1], [-2.8, 52.0]]),
        ["Self-intersection at (-2.750000, 52.050000)", "split it into 2 parts", "Fix geometries"],
    ),
    (
        "zero area",
        polygon([[-2.8, 52.0], [-2.75, 52.0], [-2.7, 52.0], [-2.8, 52.0]]),
        ["zero area"],
    ),
    (
        "hole outside its shell",
        polygon(SQUARE, [[-2.6, 52.0], [-2.5, 52.0], [-2.5, 52.1], [-2.6, 52.0]]),
        ["Hole lies outside shell at (-2.600000, 52.000000)"],
    ),
    (
        "overlapping parts",
        {
            "type": "MultiPolygon",
            "coordinates": [[SQUARE], [[[x + 0.05, y + 0.05] for x, y in SQUARE]]],
        },
        ["Self-intersection", "change its area by -25%"],
    ),
    (
        "a point in a polygon layer",
        {"type": "Point", "coordinates": [-2.7, 52.0]},
        ["found a Point"],
    ),
    (
        "a line in a polygon layer",
        {"type": "LineString", "coordinates": SQUARE},
        ["found a LineString"],
    ),
    ("no geometry", None, ["empty or missing polygon"]),
    ("empty polygon", polygon(), ["empty or missing polygon"]),
]


@pytest.mark.parametrize(
    ("geometry", "words"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
@pytest.mark.parametrize("reader", ["read_polygons", "load_areas"])
def test_polygons_that_cannot_be_repaired_are_refused(geojson, reader, geometry, words):
    path = geojson("bad.geojson", polygon(SQUARE), geometry)
    with pytest.raises(errors.GeometryError) as info:
        read_polygons(path) if reader == "read_polygons" else load_areas(path)
    err = info.value
    message = str(err)
    assert message.startswith(f"{path}, row 2, column 'geometry': ")
    assert (err.row, err.column) == (2, "geometry")
    assert "(W1)" in message
    for word in words:
        assert word in message
    assert err.fix


def test_a_coordinate_that_is_not_a_number(tmp_path):
    with np.errstate(invalid="ignore"):
        bad = shapely.Polygon(
            [(350000, 240000), (351000, 240000), (np.nan, 241000), (350000, 240000)]
        )
    layer = gpd.GeoDataFrame(
        {"id": ["A", "B"]}, geometry=[shapely.box(350000, 240000, 351000, 241000), bad], crs=27700
    )
    path = tmp_path / "nan.gpkg"
    layer.to_file(path, driver="GPKG")
    with pytest.raises(errors.GeometryError, match=r"row 2, column 'geometry'.*not a number"):
        load_areas(path)


# (case, polygon, what the warning says)
REPAIRED = [
    (
        "ring touching itself",
        shapely.Polygon(
            [
                (0, 0),
                (1000, 0),
                (1000, 1000),
                (500, 1000),
                (700, 500),
                (300, 500),
                (500, 1000),
                (0, 1000),
            ]
        ),
        "made valid (Ring Self-intersection at (350500.0, 241000.0)); area and parts unchanged",
    ),
    (
        "spike",
        shapely.Polygon(
            [(0, 0), (1000, 0), (1000, 1000), (500, 1000), (500, 2000), (500, 1000), (0, 1000)]
        ),
        "made valid (Self-intersection at (350500.0, 242000.0))",
    ),
    (
        "parts touching along an edge",
        shapely.MultiPolygon([shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)]),
        "made valid",
    ),
]


@pytest.mark.parametrize(("shape", "said"), [c[1:] for c in REPAIRED], ids=[c[0] for c in REPAIRED])
def test_invalid_polygons_with_one_meaning_are_repaired(tmp_path, shape, said):
    moved = shapely.affinity.translate(shape, 350000, 240000)
    assert not moved.is_valid
    layer = gpd.GeoDataFrame(
        {"id": ["A", "B"]}, geometry=[shapely.box(355000, 245000, 356000, 246000), moved], crs=27700
    )
    path = tmp_path / "areas.gpkg"
    layer.to_file(path, driver="GPKG")
    with pytest.warns(errors.GeometryWarning) as record:
        areas = load_areas(path)
    message = next(str(w.message) for w in record if "repaired" in str(w.message))
    assert str(path) in message and "row 2 (B): " in message and said in message
    fixed = areas.geometry.iloc[1]
    assert fixed.is_valid and fixed.area == pytest.approx(moved.area)
    assert areas.geometry.iloc[0].equals(layer.geometry.iloc[0])  # the valid one is untouched


def test_valid_polygons_pass_silently_and_unchanged():
    wards = gpd.read_file(shipped("ward"))
    wards.attrs["geomap_source"] = "wards.geojson"
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        checked = validate_polygons(wards, what="area layer", id_column="wd22cd")
    assert checked.geometry.geom_equals(wards.geometry).all()
    assert checked.attrs["geomap_source"] == "wards.geojson"


def test_a_layer_without_crs_is_refused(tmp_path):
    layer = gpd.GeoDataFrame({"id": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=None)
    with pytest.raises(errors.CRSError, match="no coordinate reference system"):
        validate_polygons(layer, what="boundary")


# the boundary of a network download


@pytest.mark.parametrize(
    ("geometry", "words"),
    [c[1:] for c in REFUSED if c[0] in ("bow-tie", "two-point ring, closed", "zero area")],
    ids=["bow-tie", "two-point ring", "zero area"],
)
def test_a_bad_boundary_is_refused_before_any_download(geojson, tmp_path, geometry, words):
    path = geojson("boundary.geojson", geometry)
    cache = tmp_path / "cache"
    # a layer read as a table (not yet checked) is checked by fetch_graph itself
    layer = read_table(path, what="boundary")
    with pytest.raises(errors.GeometryError) as info:
        fetch_graph(polygon=layer, overpass_url="http://127.0.0.1:9/api", cache_dir=cache)
    assert f"{path}, row 1, column 'geometry'" in str(info.value)
    for word in words:
        assert word in str(info.value)
    with pytest.raises(errors.GeometryError, match=re.escape(f"{path}, row 1, column")):
        read_polygons(path)
    assert not cache.exists()


def test_a_bad_shapely_boundary_is_refused(tmp_path):
    bowtie = shapely.Polygon([(-2.8, 52.0), (-2.7, 52.1), (-2.7, 52.0), (-2.8, 52.1)])
    with pytest.raises(errors.GeometryError, match="Self-intersection"):
        fetch_graph(polygon=bowtie, overpass_url="http://127.0.0.1:9/api", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_unclosed_boundary_is_closed_and_asked_for(geojson):
    from geomap.osm import _query

    path = geojson("boundary.geojson", polygon(SQUARE[:-1]))
    with pytest.warns(errors.GeometryWarning, match="closed a ring"):
        layer = read_polygons(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)  # repaired once, not twice
        query = _query(place=None, bbox=None, polygon=layer)
    asked = shapely.from_wkt(query["polygon"])
    assert asked.equals(shapely.Polygon(SQUARE))


@pytest.mark.parametrize(
    "geometry",
    [
        polygon([[-2.8, 52.0], [-2.7, 52.1], [-2.7, 52.0], [-2.8, 52.1], [-2.8, 52.0]]),
        polygon([[-2.8, 52.0], [-2.7, 52.0], [-2.8, 52.0]]),
        {"type": "Point", "coordinates": [-2.7, 52.0]},
    ],
    ids=["bow-tie", "two-point ring", "point"],
)
def test_cli_fetch_with_a_bad_boundary_fails_cleanly(geojson, tmp_path, monkeypatch, geometry):
    from geomap.cli import main

    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path / "cache"))
    path = geojson("boundary.geojson", geometry)
    out = tmp_path / "net.graphml"
    result = CliRunner().invoke(
        main,
        [
            "network",
            "fetch",
            "--boundary",
            str(path),
            "--overpass-url",
            "http://127.0.0.1:9/api",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{path}, row 1, column 'geometry'" in result.output
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_cli_fetch_closes_an_unclosed_boundary_then_asks_for_it(geojson, tmp_path, monkeypatch):
    import geomap.osm as network
    from geomap.cli import main
    from geomap.errors import NetworkDownloadError

    asked = []

    def fetch_graph(*, polygon, **_kwargs):
        asked.append(polygon)
        raise NetworkDownloadError("cannot reach the server (simulated)")

    monkeypatch.setattr(network, "fetch_graph", fetch_graph)
    monkeypatch.setenv("GEOMAP_CACHE_DIR", str(tmp_path / "cache"))
    path = geojson("boundary.geojson", polygon(SQUARE[:-1]))
    out = tmp_path / "net.graphml"
    result = CliRunner().invoke(
        main,
        [
            "network",
            "fetch",
            "--boundary",
            str(path),
            "--overpass-url",
            "http://127.0.0.1:9/api",
            "--out",
            str(out),
        ],
    )
    # the ring is closed (and said so), and the closed polygon is what is asked for
    assert "closed" in result.output and "row 1" in result.output
    assert result.exit_code == 1 and "simulated" in result.output
    assert "Traceback" not in result.output and "unexpected error" not in result.output
    (asked_for,) = asked
    assert asked_for.geometry.is_valid.all() and len(asked_for) == 1
    assert not out.exists()


# --------------------------------------------------------------------------- 2. overlaps


def boxes_layer(tmp_path: Path, boxes: dict[str, tuple[float, float, float, float]]) -> Path:
    layer = gpd.GeoDataFrame(
        {"code": list(boxes), "name": [f"Area {k}" for k in boxes]},
        geometry=[shapely.box(*b) for b in boxes.values()],
        crs=27700,
    )
    path = tmp_path / "areas.gpkg"
    layer.to_file(path, driver="GPKG")
    return path


# four 2 km wards in Hereford, as a 2 x 2 grid
GRID = {
    "A": (350000, 238000, 352000, 240000),
    "B": (352000, 238000, 354000, 240000),
    "C": (350000, 240000, 352000, 242000),
    "D": (352000, 240000, 354000, 242000),
}


@pytest.mark.parametrize("name", ["lsoa11", "lsoa21", "ward", "msoa11", "msoa21", "lad"])
def test_shipped_layers_give_no_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        areas = layer(name, study_area=None if name == "lad" else boundary())
    assert overlapping_areas(areas).empty


def test_overlapping_areas_are_named(tmp_path):
    path = boxes_layer(tmp_path, {**GRID, "E": (351000, 238000, 353000, 240000)})
    with pytest.warns(errors.GeometryWarning) as record:
        areas = load_areas(path)
    message = " ".join(geometry_warnings(record))
    assert str(path) in message
    assert "2 pair(s) of areas overlap by more than 1%" in message
    assert "A (Area A) and E (Area E) (50% of the smaller)" in message
    assert "B (Area B) and E (Area E) (50% of the smaller)" in message
    pairs = overlapping_areas(areas)
    assert sorted(map(sorted, pairs[["area_id", "other_id"]].to_numpy().tolist())) == [
        ["A", "E"],
        ["B", "E"],
    ]


def test_slivers_between_neighbours_are_not_overlaps(tmp_path):
    # each box reaches 5 m into its neighbour: 0.25% of its area
    slivers = {k: (x0 - 5, y0, x1 + 5, y1) for k, (x0, y0, x1, y1) in GRID.items()}
    path = boxes_layer(tmp_path, slivers)
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        load_areas(path)


def test_an_area_drawn_over_the_others(tmp_path):
    path = boxes_layer(tmp_path, {**GRID, "ALL": (349000, 237000, 355000, 243000)})
    with pytest.warns(errors.GeometryWarning, match=r"ALL \(Area ALL\) overlaps 4 other areas"):
        load_areas(path)


def test_grouping_ignores_an_area_drawn_over_the_others():
    # the break-tester's case: the shipped wards plus one "ward" covering the county
    lsoa = layer("lsoa11")
    wards = layer("ward")
    blanket = gpd.GeoDataFrame(
        {"area_id": ["E99999999"], "area_name": ["Whole county"]},
        geometry=[wards.union_all()],
        crs=wards.crs,
    )
    overlapping = gpd.GeoDataFrame(
        pd.concat([blanket, wards[["area_id", "area_name", "geometry"]]]), crs=wards.crs
    ).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        expected = group_lookup(lsoa, wards)
    with pytest.warns(errors.GeometryWarning) as record:
        lookup = group_lookup(lsoa, overlapping)
    assert lookup.equals(expected)
    assert "E99999999" not in set(lookup)
    message = geometry_warnings(record)[0]
    assert message.startswith("116 area(s) fall in more than one")
    assert "also E99999999 (Whole county) 100%" in message


def test_grouping_between_two_partly_overlapping_groups():
    crs = settings.MEASURE_CRS
    units = gpd.GeoDataFrame({"area_id": ["u"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=crs)
    groups = gpd.GeoDataFrame(
        {"area_id": ["east", "west"], "area_name": ["East", "West"]},
        # neither holds the other; the unit's centre is in both; west holds 80% of it
        geometry=[shapely.box(40, -50, 200, 150), shapely.box(-10, -50, 80, 150)],
        crs=crs,
    )
    centre = gpd.GeoSeries([shapely.Point(50, 50)], crs=crs)
    with pytest.warns(
        errors.GeometryWarning, match=r"u → west \(West\) \(80% of it; also east \(East\) 60%\)"
    ):
        lookup = group_lookup(units, groups, points=centre)
    assert lookup["u"] == "west"


def test_points_in_overlapping_areas_go_to_the_smaller():
    crs = settings.MEASURE_CRS
    areas = gpd.GeoDataFrame(
        {"area_id": ["county", "ward"]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(0, 0, 100, 100)],
        crs=crs,
    )
    points = gpd.GeoDataFrame(
        {"id": ["p1", "p2", "p3"]},
        geometry=[shapely.Point(50, 50), shapely.Point(500, 500), shapely.Point(5000, 5000)],
        crs=crs,
    )
    with pytest.warns(errors.GeometryWarning, match="1 point.*point p1 in ward, county"):
        where = assign_to_areas(points, areas)
    assert where.tolist()[:2] == ["ward", "county"] and pd.isna(where.iloc[2])


def test_areas_outside_the_study_area_are_named(tmp_path):
    path = boxes_layer(
        tmp_path,
        {
            "HEREFORD": (350000, 238000, 352000, 240000),
            "LONDON": (530000, 180000, 532000, 182000),
        },
    )
    with pytest.warns(errors.GeometryWarning) as record:
        load_areas(path, study_area=boundary(), study_name="Herefordshire")
    message = " ".join(geometry_warnings(record))
    assert (
        "1 of 2 area(s) lie wholly or mostly outside Herefordshire: LONDON (Area LONDON) (0% inside)"
        in message
    )
    assert "HEREFORD" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        load_areas(path, study_area=None)


# --------------------------------------------------------------------------- 3. partnerships


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [
        (
            "code,partnership\nE05009438,North\nE05009439,\n",
            3,
            "partnership",
            ["'E05009439' has a blank partnership name"],
        ),
        (
            "code,partnership\nE05009438,North\nE05009439,   \n",
            3,
            "partnership",
            ["blank partnership name"],
        ),
        ("code,partnership\nE05009438,North\n,South\n", 3, "code", ["blank area code"]),
    ],
    ids=["blank name", "spaces for a name", "blank code"],
)
def test_partnership_rows_with_blanks_are_refused(write, text, row, column, words):
    path = write("p.csv", text)
    with pytest.raises(errors.InputError) as info:
        load_partnerships(path, base=layer("ward"))
    assert (info.value.row, info.value.column) == (row, column)
    message = str(info.value)
    assert message.startswith(f"{path}, row {row}, column '{column}': ")
    for word in words:
        assert word in message
    assert "Fill in" in message or "Give every row" in message


def test_areas_in_no_partnership_are_named(write):
    path = write("p.csv", "code,partnership\nE05009438,North\nE05009439,North\n")
    with pytest.warns(errors.InputWarning) as record:
        parts = load_partnerships(path, base=layer("ward"))
    message = next(str(w.message) for w in record if "no partnership" in str(w.message))
    assert f"{path}: 51 of the 53 ward areas are in no partnership" in message
    assert "and 46 more" in message
    assert parts.attrs["unassigned"] == 51


def test_a_partnership_file_covering_every_area_gives_no_warning(write):
    wards = layer("ward")
    text = "code,partnership\n" + "".join(f"{c},P{i % 3}\n" for i, c in enumerate(wards["area_id"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", errors.GeomapWarning)
        parts = load_partnerships(write("p.csv", text), base=wards)
    assert parts["members"].sum() == 53


# --------------------------------------------------------------------------- 4. provider geometries


def provider_layer(write, geometries: list[dict]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"P{i}", "name": f"School {i}", "kind": "primary"},
            "geometry": geometry,
        }
        for i, geometry in enumerate(geometries)
    ]
    return write(
        "providers.geojson", json.dumps({"type": "FeatureCollection", "features": features})
    )


HEREFORD = {"type": "Point", "coordinates": [-2.716, 52.056]}


def test_a_multipoint_spread_over_90_km_is_refused(write):
    # Hereford and Oxford, 106 km apart
    path = provider_layer(
        write,
        [HEREFORD, {"type": "MultiPoint", "coordinates": [[-2.716, 52.056], [-1.258, 51.752]]}],
    )
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(path)
    err = info.value
    assert (err.row, err.column) == (2, "geometry")
    message = str(err)
    assert f"{path}, row 2, column 'geometry'" in message
    assert "(id P1) is a MultiPoint of 2 points spread over 105.9 km" in message
    assert "one point per provider" in message


def test_a_site_drawn_twice_is_located_at_its_centre(write):
    near = {"type": "MultiPoint", "coordinates": [[-2.7160, 52.0560], [-2.7170, 52.0565]]}
    single = {"type": "MultiPoint", "coordinates": [[-2.70, 52.05]]}
    path = provider_layer(write, [HEREFORD, near, single])
    with pytest.warns(errors.InputWarning) as record:
        providers = load_providers(path)
    message = next(str(w.message) for w in record if "MultiPoint" in str(w.message))
    assert "1 feature(s) are MultiPoints whose parts lie within 250 m" in message
    assert "row 2 (id P1)" in message and "row 3" not in message
    expected = (
        gpd.GeoSeries([shapely.MultiPoint(near["coordinates"])], crs=4326).to_crs(27700).centroid
    )
    assert providers.geometry.iloc[1].distance(expected.iloc[0]) < 0.01


def test_a_site_polygon_is_located_inside_it_and_a_county_sized_one_refused(write):
    site = polygon(
        [[-2.717, 52.055], [-2.715, 52.055], [-2.715, 52.057], [-2.717, 52.057], [-2.717, 52.055]]
    )
    path = provider_layer(write, [HEREFORD, site])
    providers = load_providers(path)
    shape = gpd.GeoSeries([shapely.geometry.shape(site)], crs=4326).to_crs(27700).iloc[0]
    assert shape.contains(providers.geometry.iloc[1])
    huge = provider_layer(write, [HEREFORD, polygon(SQUARE)])
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(huge)
    assert info.value.row == 2 and "(id P1) is a Polygon" in str(info.value)
    assert "too large to be the site of one provider" in str(info.value)


# --------------------------------------------------------------------------- 5. Great Britain

OUTSIDE = {
    "Belfast": (-5.930, 54.597),
    "Douglas, Isle of Man": (-4.482, 54.150),
    "St Helier, Jersey": (-2.105, 49.187),
    "Dublin": (-6.260, 53.350),
    "Paris": (2.352, 48.857),
}
INSIDE = {
    "Lerwick, Shetland": (-1.145, 60.155),
    "Stornoway": (-6.388, 58.209),
    "St Mary's, Scilly": (-6.315, 49.914),
    "Newport, Isle of Wight": (-1.291, 50.701),
    "Holyhead": (-4.632, 53.309),
    "Berwick-upon-Tweed": (-2.005, 55.771),
    "Land's End": (-5.715, 50.066),
    "Dover": (1.313, 51.126),
    "St Agnes, Scilly (an island Natural Earth leaves out)": (-6.345, 49.892),
    "Eigg (another)": (-6.150, 56.880),
}


def one_row(lon: float, lat: float) -> pd.DataFrame:
    table = pd.DataFrame({"id": ["a", "b"], "lon": ["-2.7", str(lon)], "lat": ["52.05", str(lat)]})
    table.attrs.update(geomap_source="places.csv", geomap_first_row=2)
    return table


@pytest.mark.parametrize("place", list(OUTSIDE))
def test_places_outside_great_britain_are_refused(place):
    lon, lat = OUTSIDE[place]
    with pytest.raises(errors.CoordinateError) as info:
        points_from_table(one_row(lon, lat))
    message = str(info.value)
    assert message.startswith("places.csv, row 3, column 'lon': ")
    assert f"({lon:g}, {lat:g}) is outside Great Britain (about " in message
    assert f"km from its coast; {NOT_COVERED})" in message


@pytest.mark.parametrize("place", list(INSIDE))
def test_places_in_great_britain_pass(place):
    points = points_from_table(one_row(*INSIDE[place]))
    assert len(points) == 2


def test_belfast_is_about_as_far_from_great_britain_as_it_is():
    # Belfast to the Rhins of Galloway is about 55 km across the North Channel
    table = one_row(*OUTSIDE["Belfast"])
    with pytest.raises(errors.CoordinateError, match=r"about (5\d|6\d) km from its coast"):
        points_from_table(table)


def test_grid_references_outside_great_britain(write):
    # Belfast City Hall in British National Grid terms (inside the old box)
    x, y = (
        gpd.GeoSeries(gpd.points_from_xy([-5.930], [54.597]), crs=4326)
        .to_crs(27700)
        .iloc[0]
        .coords[0]
    )
    path = write(
        "p.csv",
        f"id,name,kind,easting,northing\n1,A,primary,351841,241166\n2,B,primary,{x:.0f},{y:.0f}\n",
    )
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(path)
    assert (info.value.row, info.value.column) == (3, "easting")
    assert "outside Great Britain" in str(info.value) and NOT_COVERED in str(info.value)


def test_a_postcode_placed_outside_great_britain(write):
    lookup = write(
        "lookup.csv", "postcode,easting,northing\nHR1 1AA,351000,240000\nBT1 1AA,146000,529000\n"
    )
    path = write("p.csv", "id,name,kind,postcode\n1,A,primary,HR1 1AA\n2,B,primary,BT1 1AA\n")
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(path, postcodes=lookup)
    assert (info.value.row, info.value.column) == (3, "postcode")
    assert "postcode 'BT1 1AA' is at (146000, 529000) in the postcode lookup" in str(info.value)


def test_a_vector_point_outside_great_britain(write):
    path = provider_layer(write, [HEREFORD, {"type": "Point", "coordinates": [-4.482, 54.150]}])
    with pytest.raises(errors.CoordinateError) as info:
        load_providers(path)
    assert (info.value.row, info.value.column) == (2, "geometry")
    assert "(id P1) at (-4.48200, 54.15000) is outside Great Britain" in str(info.value)


def test_points_inside_a_network_being_routed_on_are_accepted(write):
    belfast = OUTSIDE["Belfast"]
    extent = (belfast[0] - 0.1, belfast[1] - 0.1, belfast[0] + 0.1, belfast[1] + 0.1)
    csv = write("o.csv", f"id,lon,lat\na,{belfast[0]},{belfast[1]}\n")
    assert len(read_points(csv, also_within=extent)) == 1
    layer = provider_layer(write, [{"type": "Point", "coordinates": list(belfast)}])
    assert len(read_points(layer, also_within=extent)) == 1
    with pytest.raises(errors.CoordinateError):
        read_points(csv)


def test_swapped_and_grid_in_degree_columns_keep_their_own_messages():
    with pytest.raises(errors.CoordinateError, match="look swapped"):
        points_from_table(one_row(52.05, -2.7))
    with pytest.raises(errors.CoordinateError, match="look like British National Grid"):
        points_from_table(one_row(351841, 241166))


def test_every_shipped_point_is_in_great_britain():
    providers = points_from_table(read_table(shipped("providers")))  # closed ones too
    assert len(providers) == 838
    lookup = np.array(list(postcode_lookup(shipped("postcodes")).values()))
    assert in_great_britain(lookup[:, 0], lookup[:, 1]).all()
    for name in ("trip_points11", "pwc11", "pt_sites"):
        points = points_from_table(read_table(shipped(name)))
        assert len(points) > 0
    sites = points_from_table(read_table(shipped("calibration_sites")))
    assert len(sites) == 29
    for path in sorted((ROOT / "data" / "travel").glob("*.geojson")):
        layer = gpd.read_file(path).to_crs(27700)
        assert in_great_britain(layer.geometry.x, layer.geometry.y).all(), path.name


def test_welsh_border_schools_pass():
    raw = read_table(
        ROOT / "data" / "providers" / "raw" / "welsh_border_establishments_rtt2022.csv"
    )
    points = points_from_table(raw)
    assert len(points) == 104 and in_great_britain(points.geometry.x, points.geometry.y).all()


def test_the_check_is_vectorised_and_handles_missing_values():
    x = np.array([351000.0, np.nan, np.inf, 146000.0])
    y = np.array([240000.0, 240000.0, 240000.0, 529000.0])
    assert in_great_britain(x, y).tolist() == [True, False, False, False]
    km = km_from_great_britain(x, y)
    assert km[0] == 0 and np.isinf(km[1]) and 40 < km[3] < 80
    many = np.full(50_000, 351000.0)
    assert in_great_britain(many, np.full(50_000, 240000.0)).all()


def test_the_outline_file_is_small_documented_and_in_the_measuring_crs():
    path = settings.data_path(*GB_OUTLINE)
    assert path.stat().st_size < 1_000_000
    layer = gpd.read_file(path)
    assert layer.crs == settings.MEASURE_CRS and len(layer) == 1
    assert layer.geometry.iloc[0].is_valid
    assert layer["margin_m"].iloc[0] == 12_000
    assert "Natural Earth" in layer["source"].iloc[0] and "public domain" in layer["source"].iloc[0]
    readme = (ROOT / "data" / "README.md").read_text()
    assert "great_britain_outline_ne10m.geojson" in readme and "build_gb_outline.py" in readme


def test_the_build_script_leaves_out_northern_ireland():
    spec = importlib.util.spec_from_file_location(
        "build_gb_outline", ROOT / "data" / "boundaries" / "build_gb_outline.py"
    )
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    # a toy Natural Earth: Britain, a Northern Ireland touching Ireland, and an
    # island 5 km off it (Rathlin); the Isle of Man is a country of its own
    uk = shapely.MultiPolygon(
        [
            shapely.box(-5.0, 50.0, 1.0, 58.0),  # Britain
            shapely.box(-7.5, 54.2, -5.6, 55.1),  # Northern Ireland
            shapely.box(-6.3, 55.15, -6.1, 55.3),  # Rathlin, 5 km off it
        ]
    )
    countries = gpd.GeoDataFrame(
        {"ADMIN": ["United Kingdom", "Ireland", "Isle of Man"], "ADM0_A3": ["GBR", "IRL", "IMN"]},
        geometry=[uk, shapely.box(-10.0, 51.5, -7.5, 55.3), shapely.box(-4.8, 54.05, -4.3, 54.4)],
        crs=4326,
    )
    gb, ni = build.great_britain_parts(countries, ireland_gap_m=10_000)
    assert len(gb) == 1 and len(ni) == 2
    assert gb.to_crs(4326).total_bounds == pytest.approx([-5.0, 50.0, 1.0, 58.0], abs=1e-6)
    assert ni.to_crs(4326).total_bounds == pytest.approx([-7.5, 54.2, -5.6, 55.3], abs=1e-6)
