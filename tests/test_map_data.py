"""GeoJSON as the maps embed it (geomap.maps._geojson) and how pages are rendered.

The features are built from coordinate arrays; the reference is what they were
built from before, and what geopandas itself gives: ``GeoDataFrame.to_json``
(``drop_id=True, na="null"``) read back with :func:`json.loads`, strings made
inert. Both are compared as the JSON text a map writes.
"""

from __future__ import annotations

import json
from typing import Any

import branca.element
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.errors import GeomapError
from geomap.maps import (
    _collector_paused,
    _deferred_templates,
    _DeferredTemplate,
    _drawn,
    _features,
    _geojson,
    _inert_json,
    _Literal,
    new_map,
    offline_html,
)


def reference(layer: gpd.GeoDataFrame, cols: list[str]) -> list[dict[str, object]]:
    """The features as geopandas writes them, read back, with strings made inert."""
    data = json.loads(layer[[*cols, "geometry"]].to_json(drop_id=True, na="null"))
    for feature in data["features"]:
        feature["properties"] = _inert_json(feature["properties"])
    features: list[dict[str, object]] = data["features"]
    return features


def text(value: object) -> str:
    return json.dumps(value)


def test_known_features() -> None:
    square = shapely.box(0, 0, 1, 1)
    holed = shapely.Polygon(
        [(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (2, 1), (2, 2), (1, 2)]]
    )
    layer = gpd.GeoDataFrame(
        {
            "name": ["a {{ x }}", None, "c", "d", "e", "f", "g"],
            "n": [1.5, np.nan, 3.0, 4.0, 5.0, 6.0, 7.0],
            "flag": [True, False, True, False, True, False, True],
        },
        geometry=[
            shapely.Point(1.25, 2.5),
            square,
            holed,
            shapely.MultiPolygon([square, shapely.box(2, 2, 3, 3)]),
            shapely.LineString([(0, 0), (1, 1)]),
            shapely.Polygon(),
            None,
        ],
        crs=settings.LONLAT_CRS,
    )
    got = _features(layer, ["name", "n", "flag"])
    assert got[0] == {
        "type": "Feature",
        "properties": {"name": "a &#123;&#123; x &#125;&#125;", "n": 1.5, "flag": True},
        "geometry": {"type": "Point", "coordinates": [1.25, 2.5]},
    }
    assert got[1]["properties"] == {"name": None, "n": None, "flag": False}
    assert got[1]["geometry"] == {
        "type": "Polygon",
        "coordinates": [[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]],
    }
    assert got[2]["geometry"]["coordinates"][1] == [
        [1.0, 1.0],
        [2.0, 1.0],
        [2.0, 2.0],
        [1.0, 2.0],
        [1.0, 1.0],
    ]
    assert got[3]["geometry"]["type"] == "MultiPolygon"
    assert len(got[3]["geometry"]["coordinates"]) == 2
    assert got[4]["geometry"] == {"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 1.0]]}
    assert got[5]["geometry"] is None and got[6]["geometry"] is None
    assert text(got) == text(reference(layer, ["name", "n", "flag"]))


def test_no_properties_and_no_rows() -> None:
    layer = gpd.GeoDataFrame(geometry=[shapely.Point(0, 1)], crs=settings.LONLAT_CRS)
    assert _features(layer, []) == [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Point", "coordinates": [0.0, 1.0]},
        }
    ]
    empty = gpd.GeoDataFrame({"a": []}, geometry=[], crs=settings.LONLAT_CRS)
    assert _features(empty, ["a"]) == []


@pytest.mark.parametrize("seed", range(6))
def test_random_layers_match_geopandas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shapes = []
    for _ in range(60):
        x, y = rng.uniform(-3, 3), rng.uniform(50, 54)
        pick = rng.integers(0, 6)
        if pick == 0:
            shapes.append(shapely.Point(round(x, 5), round(y, 5)))
        elif pick == 1:
            shapes.append(shapely.Point(x, y).buffer(rng.uniform(0.01, 0.2), quad_segs=3))
        elif pick == 2:
            outer = shapely.Point(x, y).buffer(0.3, quad_segs=4)
            shapes.append(outer.difference(shapely.Point(x, y).buffer(0.1, quad_segs=2)))
        elif pick == 3:
            shapes.append(
                shapely.MultiPolygon(
                    [shapely.Point(x + 2 * i, y).buffer(0.2, quad_segs=2) for i in range(3)]
                )
            )
        elif pick == 4:
            shapes.append(shapely.MultiPoint([(x, y), (x + 1, y)]))
        else:
            shapes.append(None)
    n = len(shapes)
    layer = gpd.GeoDataFrame(
        {
            "label": [f"{{{i}}}" if i % 3 else f"row {i}" for i in range(n)],
            "value": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "count": rng.integers(0, 100, n),
            "text": pd.array([None if i % 5 == 0 else f"t{i}" for i in range(n)], dtype="string"),
        },
        geometry=shapes,
        crs=settings.LONLAT_CRS,
    )
    cols = ["label", "value", "count", "text"]
    got = _features(layer, cols)
    assert text(got) == text(reference(layer, cols))


def test_geojson_matches_geopandas_for_areas() -> None:
    """Whole collections, simplified and projected, as the maps draw them."""
    rng = np.random.default_rng(7)
    cells = [shapely.box(x, y, x + 1000, y + 1000) for x in range(0, 5000, 1000) for y in (0, 1000)]
    layer = gpd.GeoDataFrame(
        {"area_name": [f"area {i}" for i in range(len(cells))], "v": rng.normal(size=len(cells))},
        geometry=gpd.GeoSeries(cells, crs=settings.MEASURE_CRS).translate(400_000, 250_000),
        crs=settings.MEASURE_CRS,
    )
    got = _geojson(layer, ["area_name", "v"], simplify=100.0)
    assert got["type"] == "FeatureCollection"
    assert len(got["features"]) == len(cells)
    drawn = gpd.GeoDataFrame(
        layer[["area_name", "v"]], geometry=_drawn(layer.geometry, simplify=100.0), crs=4326
    )
    assert text(got["features"]) == text(reference(drawn, ["area_name", "v"]))


def test_collector_paused_and_restored() -> None:
    import gc

    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


# --------------------------------------------------------------------------- rendering


def template_class() -> Any:
    """The class branca's ``Element`` compiles its text with."""
    return vars(branca.element)["Template"]


def test_deferred_template_renders_as_compiled() -> None:
    source = "{% for i in range(3) %}{{ i }}-{{ this }}{% endfor %}"
    deferred = _DeferredTemplate(source)
    assert deferred._compiled is None
    assert deferred.render(this="x") == template_class()(source).render(this="x")
    assert deferred._compiled is not None


def test_template_class_restored_after_render() -> None:
    original = template_class()
    m = new_map(title="t", caption="c", bounds=(400_000, 250_000, 401_000, 251_000))
    with _deferred_templates():
        assert template_class() is _DeferredTemplate
    assert template_class() is original
    page = offline_html(m)
    assert template_class() is original
    assert "Leaflet" in page and "<b>t</b>" not in page


def test_template_error_still_reported_and_class_restored() -> None:
    original = template_class()
    m = new_map(title="t", caption="c", bounds=(400_000, 250_000, 401_000, 251_000))
    # made while templates are deferred: the broken text is found only when rendered
    with _deferred_templates():
        broken = branca.element.Element("{{ broken")
    m.add_child(broken)
    with pytest.raises(GeomapError, match="template failed"):
        offline_html(m)
    assert template_class() is original


def test_assets_are_literal_and_data_braces_stay_inert() -> None:
    m = new_map(
        title="{{ 7 * 7 }}",
        caption="{% raw %}x",
        bounds=(400_000, 250_000, 401_000, 251_000),
    )
    header = m.get_root().header  # type: ignore[attr-defined]
    assert isinstance(header._children["leaflet"], _Literal)
    page = offline_html(m)
    assert "49" not in page.split("gm-title")[1][:200]
    assert "&#123;&#123; 7 * 7 &#125;&#125;" in page
