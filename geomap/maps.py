"""Interactive folium maps that open offline.

Builders here return :class:`folium.Map` objects; :func:`offline_html` turns
one into a single self-contained HTML page with Leaflet and jQuery inlined
(no CDN, no tile server), and the shipped council boundaries drawn as a light
base. ``online_tiles=True`` adds OpenStreetMap tiles for when a tile server
is reachable.

Text from data is inert. Every string that comes from a file (provider, area,
route and stop names, ids, ratings) is HTML-escaped before it reaches the page,
and its braces are written as character references (``&#123;``, ``&#125;``),
so neither the browser nor a template engine can read it as anything but text:
a provider named ``<img src=x onerror=alert(1)>`` or ``{{ 7*7 }}`` shows as
typed. folium builds pages with Jinja and, through branca, renders the output
of each element's template a second time; :class:`OfflineMap` keeps those
rendered pieces as literal text, so even a string that escaped the first guard
is never run as a template.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import functools
import gc
import hashlib
import html
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import branca.element
import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from folium.utilities import JsCode
from jinja2 import TemplateError

from geomap import palettes, settings
from geomap.errors import GeomapError

#: Marker colour (:data:`geomap.palettes.KIND`, Okabe-Ito) and letter per kind.
_KIND_LETTERS = {
    "early_years": "E",
    "primary": "P",
    "secondary": "S",
    "sixth_form": "6",
    "college": "C",
    "special": "X",
    "stop": "B",
}
KIND_STYLE = {kind: (palettes.KIND[kind], letter) for kind, letter in _KIND_LETTERS.items()}

#: Choropleth classes as fractions of the threshold, and their colours
#: (:data:`geomap.palettes.TRAVEL_TIME`: cividis, light for short journeys, dark for long).
TIME_CLASSES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
TIME_COLOURS = palettes.TRAVEL_TIME
#: Fill of areas with no journey: grey, hatched (an SVG pattern each page defines).
NO_JOURNEY_COLOUR = palettes.HATCH_FILL
GAP_OUTLINE: dict[str, Any] = palettes.GAP_OUTLINE

#: Simplification tolerance for drawn polygons, metres.
SIMPLIFY_M = 40.0

_PROVIDER_POINT = JsCode(
    """function(feature, latlng) {
        var p = feature.properties, k = GM_KIND[p.k] || ['#444444', '?'];
        var html = '<div class="gm-k-' + p.k + (p.b ? ' gm-border' : '') + '" style="background:'
                   + k[0] + '">' + k[1] + '</div>';
        return L.marker(latlng, {
            icon: L.divIcon({className: 'gm-marker', html: html, iconSize: [22, 22],
                             iconAnchor: [11, 11], popupAnchor: [0, -10]}),
            riseOnHover: true
        });
    }"""
)

#: Row labels of provider popups, in the order of :func:`_provider_values`.
PROVIDER_LABELS = ("Name", "Kind", "Ages", "Places", "Rating", "Sector", "Id", "Where")


def _bind_popup(labels: Sequence[str]) -> JsCode:
    """JS that gives each feature a popup table (``labels`` × ``properties.v``) and a tooltip."""
    safe = json.dumps([_esc(label) for label in labels])
    return JsCode(
        f"""function(feature, layer) {{
        layer.bindPopup(gmTable({safe}, feature.properties.v), {{maxWidth: 340}});
        layer.bindTooltip(feature.properties.t, {{sticky: true}});
    }}"""
    )


#: Globals the layers use: marker styles per kind and the popup table builder.
_GLOBAL_JS = """
var GM_KIND = %s;
function gmTable(labels, values) {
    var h = '<table class="gm-popup">';
    for (var i = 0; i < labels.length; i++) {
        if (values[i] !== null && values[i] !== '') {
            h += '<tr><th>' + labels[i] + '</th><td>' + values[i] + '</td></tr>';
        }
    }
    return h + '</table>';
}
"""

_CSS = """
.gm-marker div {width: 20px; height: 20px; border-radius: 50%; border: 2px solid #fff;
  box-shadow: 0 0 2px #000; color: #fff; font: bold 12px/20px sans-serif; text-align: center;}
.gm-marker div.gm-border {border-style: dashed; border-color: #222;}
.gm-box {position: fixed; z-index: 1000; background: rgba(255,255,255,0.93); padding: 6px 10px;
  border-radius: 4px; box-shadow: 0 0 4px rgba(0,0,0,0.4); font: 12px/1.35 sans-serif;}
.gm-title {top: 10px; left: 54px; max-width: calc(100% - 400px); font-size: 15px; font-weight: bold;
  margin: 0;}
.gm-caption {bottom: 10px; left: 10px; max-width: 38%; max-height: 32%; overflow: auto; font-size: 10.5px;}
.gm-caption summary {cursor: pointer; font-weight: 600;}
.gm-legend {bottom: 24px; right: 10px; max-width: 260px;}
.gm-legend i {display: inline-block; width: 16px; height: 12px; margin-right: 6px; vertical-align: middle;
  border: 1px solid #555;}
.gm-legend h2 {font-size: 12px; font-weight: bold; margin: 0 0 2px;}
.gm-legend ul {list-style: none; margin: 0; padding: 0;}
.gm-popup th {text-align: left; padding-right: 8px; vertical-align: top; font-weight: 600;}
"""


# --------------------------------------------------------------------------- inert text

#: Braces as HTML character references: a string holding no brace cannot open a
#: Jinja ``{{ }}``, ``{% %}`` or ``{# #}``, and the browser shows the braces as typed.
_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def inert(text: str) -> str:
    """``text`` with its braces as character references, so no template engine can read it.

    Use on strings that are already HTML (escaped data, labels); :func:`_esc`
    escapes and neutralises in one step.

    Parameters
    ----------
    text
        HTML that is safe to show (already escaped, or written by geomap).

    Returns
    -------
    str
        ``text`` with every ``{`` and ``}`` written as ``&#123;`` and ``&#125;``.
    """
    return text.translate(_BRACES) if "{" in text or "}" in text else text


def _esc(value: object) -> str:
    """Data as inert HTML text: escaped, braces as references; blank for missing values."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return inert(html.escape(str(value)))


def _inert_json(value: Any) -> Any:
    """Every string in a JSON-like value made inert (see :func:`inert`)."""
    if isinstance(value, str):
        return inert(value)
    if isinstance(value, list):
        return [_inert_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _inert_json(v) for k, v in value.items()}
    return value


class _Literal(Element):
    """A piece of the page kept as the text it is: never compiled or rendered as a template."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Literal"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """The text, as it is."""
        return self.text


class _LiteralSection(Element):
    """A part of the page (head, body or script) whose pieces stay literal text.

    branca renders each element's template and hands the result to the page as
    a new template (``Element(text)``), which would render any braces in it a
    second time; this section unwraps such pieces into :class:`_Literal`.
    Elements with templates of their own (links to scripts, say) are kept.
    """

    def add_child(
        self, child: Element, name: str | None = None, index: int | None = None
    ) -> Element:
        """Add ``child``, keeping a plain rendered piece as literal text."""
        text = getattr(child, "_template_str", None)
        if type(child) is Element and text is not None:
            child = _Literal(text)
        return super().add_child(child, name=name, index=index)


def _literal_sections(figure: Figure) -> None:
    """Give ``figure`` head, body and script sections that keep rendered pieces literal."""
    for part in ("header", "html", "script"):
        old = getattr(figure, part)
        section = _LiteralSection()
        section._parent = figure
        for name, child in old._children.items():
            section.add_child(child, name=name)
        setattr(figure, part, section)


# --------------------------------------------------------------------------- offline assets


@functools.lru_cache(maxsize=1)
def _assets() -> dict[str, str]:
    folder = resources.files("geomap") / "_assets"

    def text(name: str) -> str:
        return (folder / name).read_text(encoding="utf-8")

    def data_uri(name: str) -> str:
        return "data:image/png;base64," + base64.b64encode((folder / name).read_bytes()).decode()

    css = text("leaflet.css")
    css = css.replace("url(images/layers.png)", f"url({data_uri('layers.png')})")
    css = css.replace("url(images/layers-2x.png)", f"url({data_uri('layers-2x.png')})")
    return {
        "leaflet_js": text("leaflet.js"),
        "jquery_js": text("jquery.min.js"),
        "leaflet_css": css,
    }


def _inline_script(code: str) -> str:
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose Leaflet and jQuery are inlined, not fetched from CDNs."""

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 (folium's own class attribute)
    default_css: list[tuple[str, str]] = []  # noqa: RUF012

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        assets = _assets()
        root = self.get_root()
        assert isinstance(root, Figure)
        _literal_sections(root)
        header = root.header
        # literal pieces: never compiled as templates (Leaflet alone is 150 kB of text)
        header.add_child(_Literal(f"<style>{assets['leaflet_css']}</style>"), name="leaflet_css")
        header.add_child(_Literal(_inline_script(assets["leaflet_js"])), name="leaflet")
        header.add_child(_Literal(_inline_script(assets["jquery_js"])), name="jquery")
        header.add_child(_Literal(f"<style>{_CSS}</style>"), name="geomap_css")
        header.add_child(
            _Literal(
                _inline_script(_GLOBAL_JS % json.dumps({k: list(v) for k, v in KIND_STYLE.items()}))
            ),
            name="geomap_js",
        )
        # the page in English, titled (new_map sets the title), and the hatch pattern
        root._template = _PAGE_TEMPLATE
        root.html.add_child(_Literal(palettes.hatch_svg()), name="geomap_hatch")
        # what new_map sets, for static figures (static_map)
        self.static_title = ""
        self.static_caption = ""
        self.static_frame: tuple[float, float, float, float] | None = None

    @property
    def static(self) -> StaticMap:
        """What the map draws, for a static figure (see :func:`static_map`)."""
        return static_map(self)


#: The page around a map: branca's, with its language and title.
_PAGE_TEMPLATE = jinja2.Template(
    "<!DOCTYPE html>\n"
    '<html lang="en">\n'
    "<head>\n"
    "{% if this.title %}<title>{{ this.title }}</title>{% endif %}\n"
    "{{ this.header.render(**kwargs) }}\n"
    "</head>\n"
    "<body>\n"
    "{{ this.html.render(**kwargs) }}\n"
    "</body>\n"
    "<script>\n"
    "{{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    "</html>\n"
)

#: folium's viewport forbids zooming the page (WCAG 1.4.4); :func:`offline_html` removes that.
_ZOOM_LOCK = re.compile(r",\s*maximum-scale=1\.0, user-scalable=no")


class _DeferredTemplate:
    """A Jinja template compiled only when it is first used.

    While a page renders, branca wraps every rendered piece (a layer's script
    with all its data, say) in ``Element(text)``, which compiles the text as a
    new template at once; the page's sections then keep the piece as literal
    text (:class:`_LiteralSection`), so that compile is wasted work, and on
    large GeoJSON the slowest step of drawing a map.
    """

    def __init__(self, source: str) -> None:
        self._source = source
        self._compiled: Any = None

    def _template(self) -> Any:
        if self._compiled is None:
            self._compiled = _COMPILED_TEMPLATE(self._source)
        return self._compiled

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Render the template, compiling it first if need be."""
        return str(self._template().render(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._template(), name)


_COMPILED_TEMPLATE = jinja2.Template  # what branca's Element compiles its text with


@contextlib.contextmanager
def _deferred_templates() -> Iterator[None]:
    """Within the block, branca compiles an element's template only if it is rendered.

    Swaps the template class branca's ``Element`` makes from a text; the same
    Jinja template results whenever one is used, so pages are unchanged.
    Rendering is single-threaded, and the class is put back however the block ends.
    """
    saved = getattr(branca.element, "Template")  # noqa: B009 (not in branca's stubs)
    setattr(branca.element, "Template", _DeferredTemplate)  # noqa: B010
    try:
        yield
    finally:
        setattr(branca.element, "Template", saved)  # noqa: B010


def offline_html(m: folium.Map) -> str:
    """The map as one self-contained HTML page (UTF-8 text).

    Parameters
    ----------
    m
        A map made by one of the builders here (they start from :func:`new_map`).

    Returns
    -------
    str
        The whole page, with Leaflet, jQuery, styles and data inlined, so it
        opens from a file without a network connection.

    Raises
    ------
    GeomapError
        If a template fails to render (text from data never reaches one; this
        guards against a map built without :func:`new_map`).
    """
    try:
        with _deferred_templates():
            page = m.get_root().render()
        return _ZOOM_LOCK.sub("", page, count=1)
    except TemplateError as err:
        raise GeomapError(
            f"the map could not be drawn: a template failed ({err}). "
            "Draw maps with geomap.maps.new_map, which keeps text from data inert"
        ) from err


# --------------------------------------------------------------------------- pieces


class _Box(MacroElement):
    """A fixed box of HTML over the map (title, caption, legend).

    The title is the page's one ``h1``. A legend (``css_class="gm-legend"``,
    its body starting with its title in ``<b>``) is a region named by that
    title as an ``h2``, so that screen readers announce it and read its classes
    as text.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <{{ this.tag }} class="gm-box {{ this.css_class }}" id="{{ this.get_name() }}"{{ this.attrs }}>{{ this.body }}</{{ this.tag }}>
        {% endmacro %}
        """
    )

    def __init__(self, body: str, *, css_class: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca: unannotated
        self._name = "GeomapBox"
        self.css_class = css_class
        self.tag = "h1" if css_class == "gm-title" else "div"
        self.attrs = ""
        if css_class == "gm-legend" and body.startswith("<b>") and "</b>" in body:
            end = body.index("</b>")
            heading = f"{self.get_name()}_heading"
            body = f'<h2 id="{heading}">{body[3:end]}</h2>{body[end + 4 :]}'
            self.attrs = f' role="region" aria-labelledby="{heading}"'
        self.body = body


def new_map(
    *,
    title: str,
    caption: str,
    bounds: Sequence[float],
    base: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """An empty offline map framed on ``bounds`` with a title, caption and base layer.

    Parameters
    ----------
    title, caption
        Plain text (escaped here); the caption names data, method and attributions.
    bounds
        ``(minx, miny, maxx, maxy)`` in EPSG:27700.
    base
        Polygons drawn as a light, non-interactive base (council boundaries).
    online_tiles
        Add OpenStreetMap tiles (needs a reachable tile server).

    Returns
    -------
    folium.Map
        The framed map, ready for layers; end with :func:`finish`.
    """
    m = OfflineMap(tiles=None, control_scale=True, zoom_snap=0.25)
    root = m.get_root()
    assert isinstance(root, Figure)
    root.title = _esc(title) or "Map"
    frame = shapely.box(*bounds)
    if min(bounds[2] - bounds[0], bounds[3] - bounds[1]) < 1:
        frame = frame.buffer(2000)  # a single point still gets a frame a few km across
    m.static_title = title
    m.static_caption = caption
    m.static_frame = tuple(float(b) for b in frame.bounds)  # type: ignore[assignment]
    box = gpd.GeoSeries([frame], crs=settings.MEASURE_CRS).to_crs(settings.LONLAT_CRS)
    minx, miny, maxx, maxy = box.total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    if online_tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap tiles", control=True).add_to(m)
    if base is not None:
        data = _geojson(base, ["area_name"], simplify=200.0)
        folium.GeoJson(
            data,
            name="Council boundaries (base)",
            style_function=lambda _f: {
                "color": "#777777",
                "weight": 1,
                "fillColor": palettes.BASE,
                "fillOpacity": 0.6,
                "interactive": False,
            },
            control=False,
        ).add_to(m)
    _Box(_esc(title), css_class="gm-title").add_to(m)
    body = f"<details open><summary>About this map</summary>{_esc(caption).replace(chr(10), '<br>')}</details>"
    _Box(body, css_class="gm-caption").add_to(m)
    return m


def _geojson(
    layer: gpd.GeoDataFrame, columns: Iterable[str], *, simplify: float | None = SIMPLIFY_M
) -> dict[str, Any]:
    """GeoJSON (lon/lat, 5 decimals) of ``layer`` with only ``columns`` as properties.

    The geometries are worked out once per set of shapes (see :func:`_drawn_shapes`)
    and shared by the collections of every map that draws them; the properties
    are built column by column (see :func:`_properties`).
    """
    cols = [c for c in columns if c in layer.columns]
    geometry = layer.geometry
    plain = (
        layer.columns.is_unique
        and len(set(cols)) == len(cols)
        and all(type(c) is str for c in cols)
        and geometry.name not in cols
        and "geometry" not in cols
    )
    rows = _properties(layer, cols) if plain else None
    if rows is None:
        return _geojson_framed(layer, cols, simplify=simplify)
    measured, shapes = _drawn_shapes(geometry, simplify=simplify)
    with _collector_paused():
        features = [
            {"type": "Feature", "properties": props, "geometry": shape}
            for props, shape in zip(rows, shapes, strict=True)
        ]
    return _Collection({"type": "FeatureCollection", "features": features}, measured=measured)


def _geojson_framed(
    layer: gpd.GeoDataFrame, cols: list[str], *, simplify: float | None
) -> dict[str, Any]:
    """:func:`_geojson` through a frame of the drawn shapes, for layers it cannot take apart.

    Layers with repeated or non-text column names, or whose properties include
    a value JSON does not take as it is (which then fails here as it always did).
    """
    measured, lonlat = _drawn_both(layer.geometry, simplify=simplify)
    out = gpd.GeoDataFrame(layer[cols].copy(), geometry=lonlat, crs=settings.LONLAT_CRS)
    for column in cols:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return _Collection(
        {"type": "FeatureCollection", "features": _features(out, cols)}, measured=measured
    )


class _NotPlainError(Exception):
    """A value that :func:`_plain_inert` leaves to the JSON round trip."""


def _plain_inert(value: Any) -> Any:
    """``_inert_json(json.loads(json.dumps(value)))`` for plain values, without the text.

    Plain values are ``None``, ``bool``, ``int``, ``float`` and ``str``, and
    lists, tuples and dicts with text keys of them (exact types, not
    subclasses): for these the round trip only copies (tuples become lists).

    Raises
    ------
    _NotPlainError
        For any other value.
    """
    kind = type(value)
    if kind is str:
        return inert(value)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if kind is list or kind is tuple:
        return [_plain_inert(v) for v in value]
    if kind is dict and all(type(k) is str for k in value):
        return {k: _plain_inert(v) for k, v in value.items()}
    raise _NotPlainError


def _properties(layer: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]] | None:
    """Each row's ``cols`` as :func:`_features` gives them, built a column at a time.

    Missing values are ``None``; strings are made inert; anything but plain
    values (see :func:`_plain_inert`) takes the JSON round trip. None when a
    value cannot be written as JSON, so that the caller fails as before.
    """
    columns = []
    for col in cols:
        series = layer[col]
        values = series.astype(object).to_numpy().copy()
        values[pd.isna(series).to_numpy()] = None
        listed = values.tolist()
        try:
            with _collector_paused():
                columns.append([_plain_inert(v) for v in listed])
            continue
        except (_NotPlainError, RecursionError):
            pass
        try:
            columns.append([_inert_json(v) for v in json.loads(json.dumps(listed))])
        except (TypeError, ValueError, RecursionError):
            return None
    if not columns:
        return [{} for _ in range(len(layer))]
    with _collector_paused():
        return [dict(zip(cols, row, strict=True)) for row in zip(*columns, strict=True)]


class _Collection(dict[str, Any]):
    """A GeoJSON feature collection that also keeps its shapes as drawn in EPSG:27700.

    Static figures (:func:`static_map`) draw these shapes, so they match the
    page's without a round trip through longitude and latitude.
    """

    def __init__(self, data: dict[str, Any], *, measured: np.ndarray) -> None:
        super().__init__(data)
        self.measured = measured


def _features(layer: gpd.GeoDataFrame, cols: list[str]) -> list[dict[str, Any]]:
    """GeoJSON features as ``GeoDataFrame.to_json`` (``drop_id``, ``na="null"``) and back give them.

    Geometries are built from coordinate arrays (:func:`_shapes`) rather than
    one coordinate at a time; properties take the JSON round trip as before,
    with their strings made inert.
    """
    with _collector_paused():
        shapes = _shapes(layer.geometry.to_numpy())
        if cols:
            values = layer[cols].astype(object)
            values[pd.isna(layer[cols]).to_numpy()] = None
            records = [dict(zip(cols, row, strict=True)) for row in values.values]
            rows = json.loads(json.dumps(records))
        else:
            rows = [{} for _ in shapes]
        return [
            {"type": "Feature", "properties": _inert_json(props), "geometry": shape}
            for props, shape in zip(rows, shapes, strict=True)
        ]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small lists.

    Building GeoJSON makes hundreds of thousands of lists that hold no cycles;
    the collector would otherwise scan every live object many times over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_POINT, _POLYGON, _MULTIPOLYGON = 0, 3, 6  # GEOS geometry type ids


def _shapes(geoms: np.ndarray) -> list[Any]:
    """GeoJSON geometry objects (lists, not tuples), ``None`` for missing or empty geometries.

    Points, polygons and multipolygons in 2D, the shapes maps draw most, are
    assembled from one coordinate array; any other shape is written by GEOS
    (:func:`shapely.to_geojson`) and read back.
    """
    shapes: list[Any] = [None] * len(geoms)
    types = shapely.get_type_id(geoms)
    drawn = (types >= 0) & ~shapely.is_empty(geoms)
    flat2d = drawn & ~shapely.has_z(geoms)
    points = np.flatnonzero(flat2d & (types == _POINT))
    for at, xy in zip(
        points.tolist(), shapely.get_coordinates(geoms[points]).tolist(), strict=True
    ):
        shapes[at] = {"type": "Point", "coordinates": xy}
    areal = np.flatnonzero(flat2d & np.isin(types, [_POLYGON, _MULTIPOLYGON]))
    parts, part_of = shapely.get_parts(geoms[areal], return_index=True)
    hollow = np.unique(part_of[shapely.is_empty(parts)])
    if len(hollow):  # a multipolygon with an empty part: left to GEOS
        keep = ~np.isin(part_of, hollow)
        parts, part_of = parts[keep], part_of[keep]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords = shapely.get_coordinates(rings).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(rings)).tolist()
    polygons: list[list[Any]] = [[] for _ in parts]
    for part, start, end in zip(ring_of.tolist(), [0, *ends][:-1], ends, strict=True):
        polygons[part].append(coords[start:end])
    grouped: list[list[Any]] = [[] for _ in areal]
    left = set(hollow.tolist())
    for shape, polygon in zip(part_of.tolist(), polygons, strict=True):
        grouped[shape].append(polygon)
    for k, at in enumerate(areal.tolist()):
        if types[at] == _POLYGON and grouped[k]:
            shapes[at] = {"type": "Polygon", "coordinates": grouped[k][0]}
        elif types[at] == _MULTIPOLYGON and k not in left:
            shapes[at] = {"type": "MultiPolygon", "coordinates": grouped[k]}
    rest = [at for at in np.flatnonzero(drawn).tolist() if shapes[at] is None]
    if rest:
        text = ",".join(shapely.to_geojson(geoms[rest]).tolist())
        for at, shape in zip(rest, json.loads(f"[{text}]"), strict=True):
            shapes[at] = shape
    return shapes


class _Drawn:
    """A set of shapes as drawn: in EPSG:27700, in lon/lat, and as GeoJSON geometries."""

    __slots__ = ("lonlat", "measured", "shapes")

    def __init__(self, measured: np.ndarray, lonlat: np.ndarray) -> None:
        self.measured = measured
        self.lonlat = lonlat
        self.shapes: list[Any] | None = None


_DRAWN: dict[tuple[bytes, float | None, str], _Drawn] = {}


def _drawn(geoms: gpd.GeoSeries, *, simplify: float | None) -> np.ndarray:
    """Geometries as drawn: simplified (polygons), in lon/lat, rounded to 5 decimals."""
    return _drawn_both(geoms, simplify=simplify)[1]


def _drawn_entry(geoms: gpd.GeoSeries, *, simplify: float | None) -> _Drawn:
    """The remembered drawing of ``geoms`` (see :func:`_drawn_both`), made if need be."""
    values = geoms.to_numpy()
    key = (
        hashlib.blake2b(b"".join(shapely.to_wkb(values)), digest_size=16).digest(),
        simplify,
        str(geoms.crs),
    )
    found = _DRAWN.get(key)
    if found is None:
        if simplify and (geoms.geom_type != "Point").any():
            values = shapely.coverage_simplify(values, simplify)
        series = gpd.GeoSeries(values, crs=geoms.crs)
        measured = series.to_crs(settings.MEASURE_CRS).to_numpy() if geoms.crs else values
        lonlat = series.to_crs(settings.LONLAT_CRS)
        found = _Drawn(measured, shapely.transform(lonlat.to_numpy(), lambda xy: np.round(xy, 5)))
        if len(_DRAWN) >= 16:
            _DRAWN.pop(next(iter(_DRAWN)))
        _DRAWN[key] = found
    return found


def _drawn_both(geoms: gpd.GeoSeries, *, simplify: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Geometries as drawn (simplified polygons) in EPSG:27700, and in lon/lat to 5 decimals.

    The same areas are drawn on many maps of one report; they are worked out
    once and remembered by their exact shapes (a few recent sets are kept).
    """
    found = _drawn_entry(geoms, simplify=simplify)
    return found.measured.copy(), found.lonlat.copy()


def _drawn_shapes(geoms: gpd.GeoSeries, *, simplify: float | None) -> tuple[np.ndarray, list[Any]]:
    """Geometries as drawn in EPSG:27700, and as GeoJSON geometry objects (:func:`_shapes`).

    The GeoJSON geometries are remembered with the drawing and shared by every
    collection made of the same shapes: they are only ever read (written out
    as JSON, or read back for static figures), never changed.
    """
    found = _drawn_entry(geoms, simplify=simplify)
    if found.shapes is None:
        with _collector_paused():
            found.shapes = _shapes(found.lonlat)
    return found.measured.copy(), found.shapes


def _ages(low: Any, high: Any) -> str:
    """Age range as a popup shows it: ``4–11``, ``16+``, ``?–11`` or "not recorded"."""

    def whole(value: Any) -> int | None:
        if value is None or pd.isna(value):
            return None
        number = float(value)
        return int(number) if np.isfinite(number) else None

    lo, hi = whole(low), whole(high)
    if lo is None and hi is None:
        return "not recorded"
    if hi is not None and hi >= 25:
        return f"{lo}+" if lo is not None else "adults too"
    return f"{'?' if lo is None else lo}–{'?' if hi is None else hi}"


def add_providers(
    m: folium.Map,
    providers: gpd.GeoDataFrame,
    *,
    kinds: Iterable[str] = settings.KINDS,
    name: str | None = None,
    show: bool = True,
) -> None:
    """Add provider markers, one layer per kind (or one layer called ``name``).

    Markers are coloured circles with a letter per kind (:data:`KIND_STYLE`);
    providers outside the county have a dashed ring. Popups give name, kind,
    ages, places, rating, sector, id and whether the provider is in the county;
    tooltips the name.

    Parameters
    ----------
    m
        The map to add to.
    providers
        Providers as :func:`geomap.providers.load_providers` gives them: ``id``,
        ``name``, ``kind``, ``low_age``, ``high_age``, ``rating``, ``sector`` and
        ``in_county`` (``capacity`` and ``la_name`` are shown when present).
    kinds
        The kinds to draw, one layer each in this order; providers of other
        kinds are left off. Not used when ``name`` is given.
    name
        Draw all of ``providers`` as a single layer with this name instead.
    show
        Whether the layers start visible.
    """
    # only the columns drawn: a filter then copies a few columns, not the whole list
    drawn = [c for c in _PROVIDER_COLUMNS if c in providers.columns]
    providers = providers[[*drawn, providers.geometry.name]]
    groups = [(kind, providers[providers["kind"] == kind]) for kind in kinds]
    if name is not None:
        groups = [("", providers)]
    for kind, sub in groups:
        if len(sub) == 0:
            continue
        props = pd.DataFrame(index=sub.index)
        props["k"] = sub["kind"].astype(str).to_numpy()
        props["b"] = (~sub["in_county"].astype(bool)).astype(int).to_numpy()
        props["t"] = sub["name"].map(_esc).to_numpy()
        props["v"] = [_provider_values(row) for row in _itertuples(sub)]
        layer = gpd.GeoDataFrame(props, geometry=sub.geometry, crs=sub.crs)
        label = name or f"{settings.KIND_LABELS[kind]} ({len(sub)})"
        folium.GeoJson(
            _geojson(layer, props.columns, simplify=None),
            name=_esc(label),
            show=show,
            point_to_layer=_PROVIDER_POINT,
            on_each_feature=_bind_popup(PROVIDER_LABELS),
        ).add_to(m)


def _itertuples(frame: pd.DataFrame) -> Iterator[Any]:
    """``frame.itertuples(index=False)``, the same rows, reading each column as a list at once.

    Iterating a column of Arrow-backed text takes each value out of Arrow one at
    a time; ``Series.tolist`` gives the same values in one step. Other columns
    are read as iterating them reads them.
    """
    if frame.shape[1] == 0:  # one empty row per row, which zip alone cannot give
        return iter(frame.itertuples(index=False))
    row = collections.namedtuple("Pandas", list(frame.columns), rename=True)  # type: ignore[misc]
    columns = []
    for k in range(frame.shape[1]):
        column = frame.iloc[:, k]
        text = isinstance(column.dtype, pd.StringDtype)
        columns.append(column.tolist() if text else list(column))
    return map(row._make, zip(*columns, strict=True))


#: The provider columns a map's layer and popups use (see :func:`_provider_values`).
_PROVIDER_COLUMNS = (
    "id",
    "name",
    "kind",
    "sector",
    "low_age",
    "high_age",
    "capacity",
    "rating",
    "in_county",
    "la_name",
)


def _provider_values(row: object) -> list[str]:
    """Escaped popup values of a provider, in :data:`PROVIDER_LABELS` order."""
    get = row.__getattribute__
    council = getattr(row, "la_name", None)
    council = "" if council is None or pd.isna(council) or not str(council).strip() else council
    where = (
        "in the study area"
        if get("in_county")
        else "outside the study area" + (f" ({_esc(council)})" if council else "")
    )
    capacity = getattr(row, "capacity", None)
    number = np.nan if capacity is None or pd.isna(capacity) else float(capacity)
    places = f"{int(number):,}" if np.isfinite(number) else ""
    return [
        f"<b>{_esc(get('name'))}</b>",
        _esc(settings.KIND_LABELS.get(str(get("kind")), get("kind"))),
        _esc(_ages(get("low_age"), get("high_age"))),
        places,
        _esc(get("rating")) or "not recorded",
        _esc(get("sector")),
        _esc(get("id")),
        where,
    ]


def time_bins(threshold: float) -> list[float]:
    """Class breaks (minutes) for a choropleth around ``threshold``; the threshold itself is one.

    Parameters
    ----------
    threshold
        Minutes beyond which a journey counts as too long.

    Returns
    -------
    list of float
        The upper edge of each class: ``threshold`` times :data:`TIME_CLASSES`,
        rounded to whole minutes except the threshold itself.
    """
    return [threshold if f == 1.0 else float(round(threshold * f)) for f in TIME_CLASSES]


def time_colour(minutes: float, bins: Sequence[float]) -> str:
    """Colour of a travel time for the given class breaks.

    Parameters
    ----------
    minutes
        The travel time; NaN (or None) when there is no journey.
    bins
        Class breaks from :func:`time_bins`.

    Returns
    -------
    str
        A colour from :data:`TIME_COLOURS` (a time equal to a break is in the
        class that ends there), or :data:`NO_JOURNEY_COLOUR` when there is no journey.
    """
    if minutes is None or np.isnan(minutes):
        return NO_JOURNEY_COLOUR
    return TIME_COLOURS[int(np.searchsorted(np.asarray(bins), minutes, side="left"))]


def add_time_layer(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    name: str,
    threshold: float,
    popup_fields: Sequence[tuple[str, str]],
    show: bool = True,
    outline: bool = True,
) -> None:
    """Choropleth of ``areas['minutes']`` and an outline layer of the areas beyond ``threshold``.

    Parameters
    ----------
    m
        The map to add to.
    areas
        Polygons with ``minutes`` and ``beyond`` and the ``popup_fields`` columns.
    name
        Layer name in the layer control.
    threshold
        Minutes beyond which an area is a gap (outlined).
    popup_fields
        (column, label) pairs shown in each area's popup.
    show
        Whether the layers start visible.
    outline
        Whether to add the outline layer of areas where ``areas['beyond']`` is true.
    """
    bins = time_bins(threshold)
    props = pd.DataFrame(index=areas.index)
    props["style"] = pd.Series(
        index=areas.index,
        dtype=object,
        data=[
            {
                "fillColor": time_colour(v, bins),
                "color": "#555555",
                "weight": 0.6,
                "fillOpacity": 0.75,
            }
            for v in areas["minutes"].to_numpy(dtype=float)
        ],
    )
    props["t"] = [
        f"{_esc(n)}: {'no journey' if np.isnan(v) else f'{v:.0f} min'}"
        for n, v in zip(areas["area_name"], areas["minutes"].to_numpy(dtype=float), strict=True)
    ]
    columns = [col for col, _label in popup_fields]
    props["v"] = [[_format(v) for v in row] for row in _itertuples(areas[columns])]
    layer = gpd.GeoDataFrame(props, geometry=areas.geometry, crs=areas.crs)
    folium.GeoJson(
        _geojson(layer, props.columns),
        name=_esc(name),
        show=show,
        on_each_feature=_bind_popup([label for _col, label in popup_fields]),
    ).add_to(m)
    if outline:
        gaps = areas[areas["beyond"].astype(bool)]
        add_outline_layer(
            m,
            gaps,
            name=f"Gap areas: beyond {threshold:g} min ({len(gaps)})",
            style=GAP_OUTLINE,
            show=show,
        )


def add_outline_layer(
    m: folium.Map, areas: gpd.GeoDataFrame, *, name: str, style: dict[str, Any], show: bool = True
) -> None:
    """Outline ``areas`` (no fill, not clickable) as a layer of its own; nothing if there are none.

    Parameters
    ----------
    m
        The map to add to.
    areas
        Polygons with ``area_name``.
    name
        Layer name in the layer control.
    style
        Leaflet path options for the outline (``color``, ``weight``, ``dashArray``).
    show
        Whether the layer starts visible.
    """
    if len(areas) == 0:
        return
    folium.GeoJson(
        _geojson(areas[["area_name", "geometry"]], ["area_name"]),
        name=_esc(name),
        show=show,
        style_function=lambda _f: dict(style, fill=False, interactive=False),
    ).add_to(m)


def _format(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return "—" if np.isnan(value) else f"{value:,.1f}".rstrip("0").rstrip(".")
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    return _esc(value) or "—"


def add_time_legend(
    m: folium.Map,
    *,
    title: str,
    threshold: float,
    kinds: Iterable[str] = (),
    outlines: Sequence[tuple[dict[str, Any], str]] | None = None,
    extra: Sequence[str] = (),
) -> None:
    """Legend: time classes in minutes, no-journey grey, outlines, marker kinds and extra rows.

    Parameters
    ----------
    m
        The map to add to.
    title
        Heading of the legend (plain text).
    threshold
        Minutes beyond which a journey counts as too long, as given to
        :func:`add_time_layer`.
    kinds
        Provider kinds whose markers are explained.
    outlines
        (style, label) pairs for outline layers; by default the gap outline
        "beyond ``threshold`` min".
    extra
        Further rows, as trusted HTML (written by geomap, never from data).
    """
    bins = time_bins(threshold)
    edges = [0, *bins]
    rows = []
    for i, colour in enumerate(TIME_COLOURS):
        label = f"{edges[i]:g}–{edges[i + 1]:g} min" if i < len(bins) else f"over {bins[-1]:g} min"
        rows.append(f'<div><i style="background:{colour}"></i>{label}</div>')
    rows.append(
        f'<div><i style="background:{palettes.swatch_css(NO_JOURNEY_COLOUR)}"></i>'
        "no journey found (grey, hatched)</div>"
    )
    for style, label in (
        outlines if outlines is not None else [(GAP_OUTLINE, f"beyond {threshold:g} min (gap)")]
    ):
        border = f"{max(int(style.get('weight', 2)), 2)}px {'dashed' if style.get('dashArray') else 'solid'} {style['color']}"
        rows.append(
            f'<div><i style="background:none;border:{border}"></i>{_esc(label)}'
            f": {_outline_words(style)}</div>"
        )
    rows.extend(extra)
    rows.extend(_kind_rows(kinds))
    body = f"<b>{_esc(title)}</b>" + "".join(rows)
    _Box(body, css_class="gm-legend").add_to(m)


def _outline_words(style: dict[str, Any]) -> str:
    """An outline style in words, for legends (``heavy dashed outline``)."""
    weight = float(style.get("weight", 2))
    dash = str(style.get("dashArray") or "")
    line = "solid" if not dash else ("dotted" if dash.split()[0] in {"1", "2"} else "dashed")
    return f"{'heavy ' if weight >= 3 else ''}{line} outline"


def _kind_rows(kinds: Iterable[str]) -> list[str]:
    rows = []
    for kind in kinds:
        colour, letter = KIND_STYLE[kind]
        rows.append(
            f'<div><i style="background:{colour};border-radius:50%;color:#fff;text-align:center;'
            f'font:bold 9px/12px sans-serif">{letter}</i>{_esc(settings.KIND_LABELS[kind])}</div>'
        )
    if rows:
        rows.append(
            '<div><i style="border:2px dashed #222;border-radius:50%"></i>outside the study area</div>'
        )
    return rows


def add_kind_legend(m: folium.Map, *, title: str, kinds: Iterable[str] = settings.KINDS) -> None:
    """Legend of marker kinds only.

    Parameters
    ----------
    m
        The map to add to.
    title
        Heading of the legend (plain text).
    kinds
        Provider kinds whose markers are explained.
    """
    _Box(f"<b>{_esc(title)}</b>" + "".join(_kind_rows(kinds)), css_class="gm-legend").add_to(m)


def finish(m: folium.Map) -> folium.Map:
    """Add the layer control (call last).

    Parameters
    ----------
    m
        The map, with all its layers added.

    Returns
    -------
    folium.Map
        The same map, for chaining.
    """
    folium.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- whole maps


def providers_map(
    providers: gpd.GeoDataFrame,
    *,
    areas: gpd.GeoDataFrame | None = None,
    base: gpd.GeoDataFrame | None = None,
    title: str = "Education providers",
    caption: str = "",
    online_tiles: bool = False,
) -> folium.Map:
    """Providers by kind over area outlines.

    Parameters
    ----------
    providers
        Providers as :func:`geomap.providers.load_providers` gives them; one
        layer per kind present.
    areas
        Area polygons with ``area_name`` and ``area_id``, drawn as outlines
        with a popup each; the map is framed on them when given.
    base
        Council boundaries drawn as the base.
    title
        Title shown at the top of the map.
    caption
        Data, method and attribution text.
    online_tiles
        Add OpenStreetMap tiles.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    frame = areas if areas is not None else providers
    m = new_map(
        title=title,
        caption=caption,
        bounds=frame.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    if areas is not None:
        outline = gpd.GeoDataFrame(
            {
                "t": areas["area_name"].map(_esc).to_numpy(),
                "v": [
                    [_esc(n), _esc(i)]
                    for n, i in zip(areas["area_name"], areas["area_id"], strict=True)
                ],
            },
            geometry=areas.geometry.to_numpy(),
            crs=areas.crs,
        )
        folium.GeoJson(
            _geojson(outline, ["t", "v"]),
            name=f"Areas ({len(areas)})",
            style_function=lambda _f: {"color": "#555555", "weight": 0.8, "fillOpacity": 0.05},
            on_each_feature=_bind_popup(["Area", "Code"]),
        ).add_to(m)
    kinds = [k for k in settings.KINDS if (providers["kind"] == k).any()]
    add_providers(m, providers, kinds=kinds)
    add_kind_legend(m, title="Providers", kinds=kinds)
    return finish(m)


def access_map(
    areas: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    *,
    kind: str,
    mode: str,
    threshold: float,
    caption: str,
    base: gpd.GeoDataFrame | None = None,
    other_providers: gpd.GeoDataFrame | None = None,
    quality: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """Travel time to the nearest provider of ``kind`` by ``mode``, with gap areas outlined.

    Parameters
    ----------
    areas
        Area polygons joined to coverage rows for this kind and mode: ``minutes``,
        ``beyond``, ``children``, ``provider_name``, ``threshold``.
    providers
        The providers counted for this kind (drawn as markers).
    kind, mode
        What the times are to, and by.
    threshold
        Minutes beyond which an area is a gap.
    caption
        Data, method and attribution text.
    base
        Council boundaries drawn as the base.
    other_providers
        Providers of this kind not counted (e.g. independent schools), drawn in a
        layer that starts hidden.
    quality
        Area polygons with ``extra_minutes`` (to the nearest provider rated good
        or outstanding, over the nearest of any rating) and the popup columns
        ``nearest``, ``minutes_any``, ``provider_good_name``, ``minutes_good``:
        drawn as a layer that starts hidden, with its own legend.
    online_tiles
        Add OpenStreetMap tiles.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    label = settings.KIND_LABELS[kind]
    title = f"{label}: {mode} time to the nearest provider"
    m = new_map(
        title=title,
        caption=caption,
        bounds=areas.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    fields = [
        ("area_name", "Area"),
        ("area_id", "Code"),
        ("minutes", f"Minutes by {mode}"),
        ("provider_name", "Nearest provider"),
        ("children", "Children of the age"),
        ("beyond", f"Beyond {threshold:g} min"),
        ("origin_source", "Journey starts at"),
    ]
    add_time_layer(
        m,
        areas,
        name=f"Minutes to nearest ({mode})",
        threshold=threshold,
        popup_fields=[f for f in fields if f[0] in areas.columns],
    )
    add_providers(m, providers, name=f"Providers counted ({len(providers)})")
    if other_providers is not None and len(other_providers):
        add_providers(
            m,
            other_providers,
            name=f"Not counted: independent ({len(other_providers)})",
            show=False,
        )
    kinds = [k for k in settings.KINDS if (providers["kind"] == k).any()]
    name = "Extra minutes to a good or outstanding provider"
    # one legend box: the quality layer's classes below the minutes (two boxes overlap)
    extra: list[str] = []
    if quality is not None:
        # folded, so that the legend covers no more of the map than before
        rows = _value_rows(
            QUALITY_BINS,
            MORE_IS_WORSE,
            unit="extra min",
            no_value="no good or outstanding provider within reach",
            labels=QUALITY_LABELS,
        )
        extra = [
            f"<details><summary>{_esc(name)} (a layer, off at first)</summary>"
            + "".join(rows)
            + "</details>"
        ]
    add_time_legend(
        m,
        title=f"Minutes to nearest: {label.lower()}",
        threshold=threshold,
        kinds=kinds,
        extra=extra,
    )
    if quality is not None:
        add_value_layer(
            m,
            quality,
            column="extra_minutes",
            name=name,
            bins=QUALITY_BINS,
            colours=MORE_IS_WORSE,
            unit="extra min",
            popup_fields=[
                f
                for f in (
                    ("area_name", "Area"),
                    ("nearest", "Nearest (rating)"),
                    ("minutes_any", f"Minutes by {mode}"),
                    ("provider_good_name", "Nearest good or outstanding"),
                    ("minutes_good", "… minutes"),
                    ("extra_minutes", "Extra minutes"),
                )
                if f[0] in quality.columns
            ],
            no_value="no good or outstanding provider within reach",
            show=False,
        )
    return finish(m)


#: Classes of extra minutes to a good or outstanding provider (0 = the nearest is good).
QUALITY_BINS = (0.0, 5.0, 10.0, 20.0)
QUALITY_LABELS = (
    "none: the nearest is good or outstanding",
    "up to 5 extra min",
    "5–10 extra min",
    "10–20 extra min",
    "over 20 extra min",
)


#: Outline styles of the post-16 barrier flags.
FLAG_STYLES: dict[str, dict[str, Any]] = {
    "no_pt": {"color": palettes.FLAG_OUTLINE["no_pt"], "weight": 3, "dashArray": "6 4"},
    "pt_over": {"color": palettes.FLAG_OUTLINE["pt_over"], "weight": 3},
    "pt_vs_car": {"color": palettes.FLAG_OUTLINE["pt_vs_car"], "weight": 2, "dashArray": "2 4"},
}


def post16_map(
    areas: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    *,
    pt_provider_ids: Iterable[str],
    flags: dict[str, str],
    pt_max_minutes: float,
    caption: str,
    title: str = "Post-16: public-transport time to the nearest sixth form or college",
    base: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """Public-transport time choropleth with a layer per barrier flag and the post-16 providers.

    Parameters
    ----------
    areas
        Polygons with ``area_name``, ``area_id``, ``pt_minutes``, ``car_minutes``,
        ``pt_car_ratio``, ``young_people``, ``pt_provider``, ``car_provider``,
        ``barrier`` and one boolean column per flag.
    providers
        Post-16 providers counted.
    pt_provider_ids
        Providers the public-transport source has times for.
    flags
        Flag column → label.
    pt_max_minutes
        The public-transport time limit (the choropleth's threshold).
    caption, title, base, online_tiles
        As for :func:`new_map`.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    m = new_map(
        title=title,
        caption=caption,
        bounds=areas.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    layer = areas.assign(minutes=areas["pt_minutes"], beyond=areas["barrier"])
    fields = [
        ("area_name", "Area"),
        ("area_id", "Code"),
        ("young_people", "Young people 16–18"),
        ("pt_minutes", "Public transport, min"),
        ("pt_provider", "… to"),
        ("car_minutes", "Car, min"),
        ("car_provider", "… to"),
        ("pt_car_ratio", "Bus ÷ car"),
        ("barrier_text", "Barrier"),
    ]
    layer["barrier_text"] = [
        ", ".join(label for flag, label in flags.items() if row[flag]) or "none"
        for _, row in layer.iterrows()
    ]
    add_time_layer(
        m,
        layer,
        name="Public-transport minutes",
        threshold=pt_max_minutes,
        popup_fields=fields,
        outline=False,
    )
    for flag, label in flags.items():
        flagged = layer[layer[flag].astype(bool)]
        add_outline_layer(
            m, flagged, name=f"{label} ({len(flagged)})", style=FLAG_STYLES.get(flag, GAP_OUTLINE)
        )
    ids = set(pt_provider_ids)
    with_pt = providers[providers["id"].isin(ids)]
    add_providers(m, with_pt, name=f"Post-16 with public-transport times ({len(with_pt)})")
    add_providers(
        m,
        providers[~providers["id"].isin(ids)],
        name=f"Post-16 without public-transport times ({len(providers) - len(with_pt)})",
    )
    add_time_legend(
        m,
        title="Public-transport minutes to the nearest post-16 provider",
        threshold=pt_max_minutes,
        kinds=[k for k in ("sixth_form", "college") if (providers["kind"] == k).any()],
        outlines=[(FLAG_STYLES.get(flag, GAP_OUTLINE), label) for flag, label in flags.items()],
    )
    return finish(m)


def route_map(
    areas: gpd.GeoDataFrame,
    route: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    *,
    pt_max_minutes: float,
    caption: str,
    title: str,
    base: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """Before and after a route scenario: public-transport time, the route, its stops and the change.

    Parameters
    ----------
    areas
        Polygons with ``area_name``, ``area_id``, ``young_people``, ``before``,
        ``after`` (minutes), ``saved`` and ``changed`` (flags differ).
    route
        The route as a line (EPSG:27700) with ``name``.
    stops
        Route stops (points) with ``name`` and ``departures`` (shown in the popup).
    providers
        Post-16 providers.
    pt_max_minutes, caption, title, base, online_tiles
        As for :func:`post16_map`.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    m = new_map(
        title=title,
        caption=caption,
        bounds=areas.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    fields = [
        ("area_name", "Area"),
        ("young_people", "Young people 16–18"),
        ("before", "Before, min"),
        ("after", "After, min"),
        ("saved", "Minutes saved"),
        ("flags_before", "Barrier before"),
        ("flags_after", "Barrier after"),
    ]
    add_time_layer(
        m,
        areas.assign(minutes=areas["before"], beyond=False),
        name="Before: public-transport minutes",
        threshold=pt_max_minutes,
        popup_fields=fields,
        show=False,
        outline=False,
    )
    add_time_layer(
        m,
        areas.assign(minutes=areas["after"], beyond=False),
        name="After: public-transport minutes",
        threshold=pt_max_minutes,
        popup_fields=fields,
        outline=False,
    )
    gain = areas[areas["saved"].fillna(0).gt(0) | areas["changed"].astype(bool)]
    change_style = {"color": palettes.ROUTE, "weight": 4}
    add_outline_layer(m, gain, name=f"Areas that gain ({len(gain)})", style=change_style)
    line = route.to_crs(settings.LONLAT_CRS)
    for geom in line.geometry:
        folium.PolyLine(
            [(y, x) for x, y in geom.coords],
            color=palettes.ROUTE,
            weight=5,
            opacity=0.9,
            tooltip=_esc(route["name"].iloc[0]),
        ).add_to(m)
    stop_props = gpd.GeoDataFrame(
        {
            "k": "stop",
            "b": 0,
            "t": stops["name"].map(_esc).to_numpy(),
            "v": [
                [f"<b>{_esc(n)}</b>", _esc(d)]
                for n, d in zip(stops["name"], stops["departures"], strict=True)
            ],
        },
        geometry=stops.geometry.to_numpy(),
        crs=stops.crs,
    )
    folium.GeoJson(
        _geojson(stop_props, ["k", "b", "t", "v"], simplify=None),
        name=f"Route stops ({len(stops)})",
        point_to_layer=_PROVIDER_POINT,
        on_each_feature=_bind_popup(["Stop", "Departures"]),
    ).add_to(m)
    add_providers(m, providers, name=f"Post-16 providers ({len(providers)})")
    add_time_legend(
        m,
        title="Public-transport minutes to the nearest post-16 provider",
        threshold=pt_max_minutes,
        kinds=[k for k in ("sixth_form", "college") if (providers["kind"] == k).any()],
        outlines=[(change_style, "area that gains from the route")],
        extra=[
            f'<div><i style="background:{palettes.ROUTE};height:4px;border:none"></i>the route</div>',
            f'<div><i style="background:{palettes.ROUTE};border-radius:50%;color:#fff;text-align:center;'
            'font:bold 9px/12px sans-serif">B</i>a stop</div>',
        ],
    )
    return finish(m)


#: Colours of isochrone bands, nearest first (:data:`geomap.palettes.REACH_BANDS`).
BAND_COLOURS = palettes.REACH_BANDS


def isochrone_map(
    bands: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    *,
    title: str,
    caption: str,
    base: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """Areas within each number of minutes of the providers, one layer per limit.

    Parameters
    ----------
    bands
        Polygons with ``minutes`` (EPSG:27700); one per provider and limit, or
        already merged per limit.
    providers
        The providers they are drawn around.
    title, caption, base, online_tiles
        As for :func:`new_map`.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    frame = bands[~bands.geometry.is_empty] if len(bands) else providers
    m = new_map(
        title=title,
        caption=caption,
        bounds=frame.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    limits = sorted(bands["minutes"].unique())
    rows: list[str] = []
    for i, limit in reversed(list(enumerate(limits))):
        colour = BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)]
        merged = bands[bands["minutes"] == limit].geometry.union_all()
        layer = gpd.GeoDataFrame(
            {"area_name": [f"within {limit:g} min"]}, geometry=[merged], crs=bands.crs
        )
        folium.GeoJson(
            _geojson(layer, ["area_name"], simplify=None),
            name=f"Within {limit:g} min",
            style_function=lambda _f, c=colour: {
                "color": c,
                "weight": 1,
                "fillColor": c,
                "fillOpacity": 0.45,
            },
        ).add_to(m)
        rows.insert(0, f'<div><i style="background:{colour}"></i>within {limit:g} min</div>')
    add_providers(m, providers, name=f"Providers ({len(providers)})")
    kinds = [k for k in settings.KINDS if (providers["kind"] == k).any()]
    _Box(
        "<b>Reachable within</b>" + "".join(rows) + "".join(_kind_rows(kinds)),
        css_class="gm-legend",
    ).add_to(m)
    return finish(m)


# --------------------------------------------------------------------------- value maps

#: Sequential classes for values that are better when higher (places per child,
#: choice): :data:`geomap.palettes.MORE_IS_BETTER` (ColorBrewer "Blues").
MORE_IS_BETTER = palettes.MORE_IS_BETTER
#: Sequential classes for values that are worse when higher (extra minutes):
#: :data:`geomap.palettes.MORE_IS_WORSE` (ColorBrewer "Purples").
MORE_IS_WORSE = palettes.MORE_IS_WORSE
#: Fill of areas with no value (not known, or nothing to measure): grey, hatched,
#: and outlined dotted.
NO_VALUE_COLOUR = palettes.HATCH_FILL
UNKNOWN_OUTLINE: dict[str, Any] = palettes.UNKNOWN_OUTLINE
#: Outline of areas whose value is only partly known (a lower bound).
PARTIAL_OUTLINE: dict[str, Any] = {"color": palettes.PARTIAL, "weight": 2.5, "dashArray": "6 4"}


def value_colour(value: float, bins: Sequence[float], colours: Sequence[str]) -> str:
    """Colour of ``value`` among classes with upper edges ``bins`` (the last class open).

    Parameters
    ----------
    value
        The value; NaN when there is none.
    bins
        Upper edges of all classes but the last, increasing.
    colours
        One more colour than ``bins``.

    Returns
    -------
    str
        The class colour, or :data:`NO_VALUE_COLOUR` for NaN.
    """
    if value is None or not np.isfinite(value):
        return NO_VALUE_COLOUR
    return colours[int(np.searchsorted(np.asarray(bins), value, side="left"))]


def add_value_layer(
    m: folium.Map,
    areas: gpd.GeoDataFrame,
    *,
    column: str,
    name: str,
    bins: Sequence[float],
    colours: Sequence[str],
    unit: str,
    popup_fields: Sequence[tuple[str, str]],
    no_value: str = "not known",
    show: bool = True,
) -> None:
    """Classed choropleth of ``areas[column]``; areas with no value grey and outlined dotted.

    Parameters
    ----------
    m
        The map to add to.
    areas
        Polygons with ``area_name``, ``column`` and the ``popup_fields`` columns.
    column
        The numeric column drawn.
    name
        Layer name in the layer control.
    bins, colours
        Class edges and colours (see :func:`value_colour`).
    unit
        Unit shown in tooltips (``places per child``).
    popup_fields
        (column, label) pairs shown in each area's popup.
    no_value
        What a missing value means, for tooltips and the outline layer's name.
    show
        Whether the layer starts visible.
    """
    values = pd.to_numeric(areas[column], errors="coerce").to_numpy(dtype=float)
    props = pd.DataFrame(index=areas.index)
    props["style"] = pd.Series(
        index=areas.index,
        dtype=object,
        data=[
            {
                "fillColor": value_colour(v, bins, colours),
                "color": "#555555",
                "weight": 0.6,
                "fillOpacity": 0.8,
            }
            for v in values
        ],
    )
    props["t"] = [
        f"{_esc(n)}: {no_value if not np.isfinite(v) else f'{_format(float(v))} {unit}'}"
        for n, v in zip(areas["area_name"], values, strict=True)
    ]
    columns = [col for col, _label in popup_fields]
    props["v"] = [[_format(v) for v in row] for row in _itertuples(areas[columns])]
    layer = gpd.GeoDataFrame(props, geometry=areas.geometry, crs=areas.crs)
    folium.GeoJson(
        _geojson(layer, props.columns),
        name=_esc(name),
        show=show,
        on_each_feature=_bind_popup([label for _col, label in popup_fields]),
    ).add_to(m)
    missing = areas[~np.isfinite(values)]
    add_outline_layer(
        m,
        missing,
        name=f"{no_value.capitalize()} ({len(missing)})",
        style=UNKNOWN_OUTLINE,
        show=show,
    )


def add_value_legend(
    m: folium.Map,
    *,
    title: str,
    bins: Sequence[float],
    colours: Sequence[str],
    unit: str,
    no_value: str = "not known",
    kinds: Iterable[str] = (),
    extra: Sequence[str] = (),
    labels: Sequence[str] | None = None,
) -> None:
    """Legend of a value layer: each class, the no-value class (grey, dotted outline), kinds.

    Parameters
    ----------
    m
        The map to add to.
    title
        Heading of the legend (plain text).
    bins, colours
        As given to :func:`add_value_layer`.
    unit
        Unit of the classes.
    no_value
        What grey means.
    kinds
        Provider kinds whose markers are explained.
    extra
        Further rows, as trusted HTML (written by geomap, never from data).
    labels
        One label per class instead of the edges and unit.
    """
    rows = _value_rows(bins, colours, unit=unit, no_value=no_value, labels=labels)
    rows.extend(extra)
    rows.extend(_kind_rows(kinds))
    _Box(f"<b>{_esc(title)}</b>" + "".join(rows), css_class="gm-legend").add_to(m)


def _value_rows(
    bins: Sequence[float],
    colours: Sequence[str],
    *,
    unit: str,
    no_value: str,
    labels: Sequence[str] | None = None,
) -> list[str]:
    """Legend rows of a value layer's classes and its no-value class (trusted HTML)."""
    edges = [_format(float(b)) for b in bins]
    rows = []
    for i, colour in enumerate(colours):
        if labels is not None:
            label = _esc(labels[i])
        elif i == 0:
            label = f"up to {edges[0]} {_esc(unit)}"
        elif i < len(bins):
            label = f"{edges[i - 1]}–{edges[i]} {_esc(unit)}"
        else:
            label = f"over {edges[-1]} {_esc(unit)}"
        rows.append(f'<div><i style="background:{colour}"></i>{label}</div>')
    border = f"2px dotted {UNKNOWN_OUTLINE['color']}"
    rows.append(
        f'<div><i style="background:{palettes.swatch_css(NO_VALUE_COLOUR)};border:{border}"></i>'
        f"{_esc(no_value)} (grey, hatched, dotted outline)</div>"
    )
    return rows


def value_map(
    areas: gpd.GeoDataFrame,
    *,
    column: str,
    title: str,
    caption: str,
    bins: Sequence[float],
    colours: Sequence[str] = MORE_IS_BETTER,
    unit: str,
    popup_fields: Sequence[tuple[str, str]],
    legend_title: str,
    no_value: str = "not known",
    labels: Sequence[str] | None = None,
    providers: gpd.GeoDataFrame | None = None,
    providers_name: str | None = None,
    partial: str | None = None,
    partial_label: str = "a lower bound",
    base: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """A whole map of one value per area (access scores, extra minutes, choice), with providers.

    Parameters
    ----------
    areas
        Polygons with ``area_name`` and the columns drawn and shown.
    column
        The value drawn.
    title, caption
        As for :func:`new_map`.
    bins, colours, unit, popup_fields, no_value
        As for :func:`add_value_layer`.
    legend_title
        Heading of the legend.
    labels
        One legend label per class instead of the edges and unit.
    providers
        Providers drawn as markers (one layer per kind, or one named
        ``providers_name``).
    providers_name
        Name of the single provider layer.
    partial
        A boolean column: areas where it is true are outlined dashed, their
        value being only ``partial_label``.
    partial_label
        What an outlined value is, for the legend and layer name.
    base, online_tiles
        As for :func:`new_map`.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    m = new_map(
        title=title,
        caption=caption,
        bounds=areas.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    extra: list[str] = []
    if partial is not None:
        marked = areas[areas[partial].fillna(False).astype(bool).to_numpy()]
        add_outline_layer(
            m, marked, name=f"{partial_label.capitalize()} ({len(marked)})", style=PARTIAL_OUTLINE
        )
        extra.append(
            f'<div><i style="background:none;border:2px dashed {PARTIAL_OUTLINE["color"]}"></i>'
            f"{_esc(partial_label)} (dashed outline)</div>"
        )
    add_value_layer(
        m,
        areas,
        column=column,
        name=_esc(legend_title),
        bins=bins,
        colours=colours,
        unit=unit,
        popup_fields=[f for f in popup_fields if f[0] in areas.columns],
        no_value=no_value,
    )
    kinds: list[str] = []
    if providers is not None and len(providers):
        kinds = [k for k in settings.KINDS if (providers["kind"] == k).any()]
        add_providers(m, providers, kinds=kinds, name=providers_name)
    add_value_legend(
        m,
        title=legend_title,
        bins=bins,
        colours=colours,
        unit=unit,
        no_value=no_value,
        kinds=kinds,
        labels=labels,
        extra=extra,
    )
    return finish(m)


# --------------------------------------------------------------------------- competition and sites

#: Colours of the post-16 competition flags (Okabe-Ito, colour-blind safe), with
#: the marker outline that tells them apart without colour.
COMPETITION_STYLES: dict[str, tuple[str, str, str]] = {
    "small_and_covered": (
        palettes.COMPETITION["small_and_covered"],
        "6 3",
        "small, catchment mostly shared",
    ),
    "small": (palettes.COMPETITION["small"], "", "small"),
    "other": (palettes.COMPETITION["other"], "", "not small"),
    "unknown": (palettes.COMPETITION["unknown"], "2 3", "size not known"),
}


def competition_map(
    providers: gpd.GeoDataFrame,
    overlaps: gpd.GeoDataFrame,
    *,
    title: str,
    caption: str,
    small: float,
    base: gpd.GeoDataFrame | None = None,
    bounds: Sequence[float] | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """Post-16 providers sized by students, flagged, with lines between overlapping catchments.

    Parameters
    ----------
    providers
        Points with ``name``, ``size`` (NaN when not known), ``flag`` (a key of
        :data:`COMPETITION_STYLES`), ``catchment_young_people``,
        ``max_overlap_share`` and ``most_overlapping_name``.
    overlaps
        Lines from each small, mostly covered provider to the provider whose
        catchment covers most of its own: ``provider_name``, ``other_name``,
        ``overlap_share``.
    title, caption
        As for :func:`new_map`.
    small
        Size below which a sixth form is small (for the legend).
    base, online_tiles
        As for :func:`new_map`.
    bounds
        Frame of the map (EPSG:27700); the providers' extent by default.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    frame = bounds if bounds is not None else providers.total_bounds
    m = new_map(title=title, caption=caption, bounds=frame, base=base, online_tiles=online_tiles)
    if len(overlaps):
        lines = gpd.GeoDataFrame(
            {
                "t": [
                    f"{_esc(a)} → {_esc(b)}: {_format(float(s) * 100)}% shared"
                    for a, b, s in zip(
                        overlaps["provider_name"],
                        overlaps["other_name"],
                        overlaps["overlap_share"],
                        strict=True,
                    )
                ]
            },
            geometry=overlaps.geometry.to_numpy(),
            crs=overlaps.crs,
        )
        folium.GeoJson(
            _geojson(lines, ["t"], simplify=None),
            name=f"Small and mostly covered: by whom ({len(overlaps)})",
            style_function=lambda _f: {"color": "#555555", "weight": 1.5, "opacity": 0.7},
            tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False),
        ).add_to(m)
    for flag, (colour, dash, label) in COMPETITION_STYLES.items():
        sub = providers[providers["flag"] == flag]
        if not len(sub):
            continue
        group = folium.FeatureGroup(name=f"Post-16: {label} ({len(sub)})")
        points = sub.to_crs(settings.LONLAT_CRS)
        for row, point in zip(_itertuples(sub), points.geometry, strict=True):
            size = float(row.size) if pd.notna(row.size) else np.nan
            radius = 5.0 if not np.isfinite(size) else float(np.clip(np.sqrt(size) / 2, 4, 22))
            text = (
                f"<b>{_esc(row.name)}</b><br>16–18 students: "
                f"{'not known' if not np.isfinite(size) else f'{size:,.0f}'}<br>"
                f"Young people in catchment: {_format(row.catchment_young_people)}<br>"
                f"Most shared with: {_esc(row.most_overlapping_name) or '—'} "
                f"({_format(float(row.max_overlap_share) * 100) if pd.notna(row.max_overlap_share) else '—'}%)"
            )
            folium.CircleMarker(
                location=[point.y, point.x],
                radius=radius,
                color="#222222",
                weight=2 if dash else 1,
                dash_array=dash or None,
                fill=True,
                fill_color=colour,
                fill_opacity=0.85,
                popup=folium.Popup(text, max_width=320),
                tooltip=_esc(row.name),
            ).add_to(group)
        group.add_to(m)
    rows = []
    for colour, dash, label in COMPETITION_STYLES.values():
        border = f"2px {'dashed' if dash else 'solid'} #222"
        rows.append(
            f'<div><i style="background:{colour};border:{border};border-radius:50%"></i>'
            f"{_esc(label)}</div>"
        )
    rows.append(
        f"<div>circle area ∝ 16–18 students; small: under {small:g}</div>"
        '<div><i style="background:none;border-top:2px solid #555;height:0;margin-top:8px"></i>'
        "the provider covering most of a small one's catchment</div>"
    )
    _Box("<b>Post-16 competition</b>" + "".join(rows), css_class="gm-legend").add_to(m)
    return finish(m)


#: Fill of areas by coverage before and after new sites (:data:`geomap.palettes.SITE_STATUS`).
SITE_STATUS_COLOURS = palettes.SITE_STATUS


def sites_map(
    areas: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame,
    chosen: gpd.GeoDataFrame,
    *,
    title: str,
    caption: str,
    base: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """Where new provision would help: areas by coverage before and after, and the chosen sites.

    Parameters
    ----------
    areas
        Polygons with ``area_name``, ``status`` (a key of
        :data:`SITE_STATUS_COLOURS`), ``population`` and ``minutes_before``,
        ``minutes_after``.
    existing
        Existing providers of the kind (markers by kind).
    chosen
        Chosen sites as points with ``site_id``, ``name``, ``rank`` and ``gain``.
    title, caption, base, online_tiles
        As for :func:`new_map`.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    m = new_map(
        title=title,
        caption=caption,
        bounds=areas.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    props = pd.DataFrame(index=areas.index)
    props["style"] = pd.Series(
        index=areas.index,
        dtype=object,
        data=[
            {
                "fillColor": SITE_STATUS_COLOURS.get(str(s), NO_VALUE_COLOUR),
                "color": "#555555",
                "weight": 0.6,
                "fillOpacity": 0.75,
            }
            for s in areas["status"]
        ],
    )
    props["t"] = [
        f"{_esc(n)}: {_esc(s)}" for n, s in zip(areas["area_name"], areas["status"], strict=True)
    ]
    fields = [
        ("area_name", "Area"),
        ("status", "Coverage"),
        ("population", "Children"),
        ("minutes_before", "Minutes now"),
        ("minutes_after", "Minutes with new sites"),
    ]
    fields = [f for f in fields if f[0] in areas.columns]
    props["v"] = [[_format(v) for v in row] for row in _itertuples(areas[[c for c, _ in fields]])]
    folium.GeoJson(
        _geojson(gpd.GeoDataFrame(props, geometry=areas.geometry, crs=areas.crs), props.columns),
        name="Coverage before and after",
        on_each_feature=_bind_popup([label for _c, label in fields]),
    ).add_to(m)
    newly = areas[areas["status"] == "newly covered"]
    add_outline_layer(
        m, newly, name=f"Newly covered ({len(newly)})", style={"color": "#000000", "weight": 2.5}
    )
    kinds = [k for k in settings.KINDS if (existing["kind"] == k).any()] if len(existing) else []
    if len(existing):
        add_providers(m, existing, name=f"Existing providers ({len(existing)})")
    group = folium.FeatureGroup(name=f"New sites ({len(chosen)})")
    points = chosen.to_crs(settings.LONLAT_CRS)
    for row, point in zip(_itertuples(chosen), points.geometry, strict=True):
        label = f"{int(row.rank)}"
        text = f"<b>New site {label}: {_esc(row.name)}</b><br>Gain: {_format(row.gain)}"
        folium.Marker(
            location=[point.y, point.x],
            icon=folium.DivIcon(
                html=(
                    '<div style="background:#000;color:#fff;border:2px solid #fff;'
                    "border-radius:4px;width:22px;height:22px;text-align:center;"
                    f'font:bold 13px/22px sans-serif">{label}</div>'
                ),
                icon_size=(22, 22),
                icon_anchor=(11, 11),
            ),
            popup=folium.Popup(text, max_width=300),
            tooltip=f"New site {label}",
        ).add_to(group)
    group.add_to(m)
    rows = [
        f'<div><i style="background:{colour}"></i>{_esc(status)}'
        f"{' (heavy black outline)' if status == 'newly covered' else ''}</div>"
        for status, colour in SITE_STATUS_COLOURS.items()
    ]
    rows.append(
        '<div><i style="background:#000;border:2px solid #fff;outline:1px solid #000"></i>'
        "new site (number = order of value)</div>"
    )
    _Box(
        "<b>Coverage with new sites</b>" + "".join(rows) + "".join(_kind_rows(kinds)),
        css_class="gm-legend",
    ).add_to(m)
    return finish(m)


#: Sufficiency flags: fill and legend label (ColorBrewer PuOr, colour-blind safe;
#: "not known" grey with a dotted outline as well).
SUFFICIENCY_STYLES: dict[str, tuple[str, str]] = {
    "shortfall": (palettes.SUFFICIENCY["shortfall"], "shortfall: fewer places than children"),
    "tight": (palettes.SUFFICIENCY["tight"], "tight: spare places under the operating margin"),
    "balanced": (palettes.SUFFICIENCY["balanced"], "balanced"),
    "surplus": (palettes.SUFFICIENCY["surplus"], "surplus: many spare places"),
    "unknown": (NO_VALUE_COLOUR, "not known: some places not given"),
}


def category_map(
    areas: gpd.GeoDataFrame,
    *,
    column: str,
    categories: dict[str, tuple[str, str]],
    title: str,
    caption: str,
    legend_title: str,
    popup_fields: Sequence[tuple[str, str]],
    unknown: str = "unknown",
    providers: gpd.GeoDataFrame | None = None,
    base: gpd.GeoDataFrame | None = None,
    online_tiles: bool = False,
) -> folium.Map:
    """Areas filled by a category (sufficiency flags), the unknown one also outlined.

    Parameters
    ----------
    areas
        Polygons with ``area_name``, ``column`` and the ``popup_fields`` columns.
    column
        The category column.
    categories
        Category → (fill colour, legend label), in legend order.
    title, caption
        As for :func:`new_map`.
    legend_title
        Heading of the legend.
    popup_fields
        (column, label) pairs shown in each area's popup.
    unknown
        The category meaning "not known", outlined dotted as well as grey.
    providers
        Providers drawn as markers, one layer per kind.
    base, online_tiles
        As for :func:`new_map`.

    Returns
    -------
    folium.Map
        The finished map; write it with :func:`offline_html`.
    """
    m = new_map(
        title=title,
        caption=caption,
        bounds=areas.total_bounds,
        base=base,
        online_tiles=online_tiles,
    )
    values = areas[column].astype(str).to_numpy()
    props = pd.DataFrame(index=areas.index)
    props["style"] = pd.Series(
        index=areas.index,
        dtype=object,
        data=[
            {
                "fillColor": categories.get(v, (NO_VALUE_COLOUR, ""))[0],
                "color": "#555555",
                "weight": 0.6,
                "fillOpacity": 0.8,
            }
            for v in values
        ],
    )
    props["t"] = [
        f"{_esc(n)}: {_esc(categories.get(v, ('', v))[1])}"
        for n, v in zip(areas["area_name"], values, strict=True)
    ]
    fields = [f for f in popup_fields if f[0] in areas.columns]
    props["v"] = [[_format(v) for v in row] for row in _itertuples(areas[[c for c, _ in fields]])]
    folium.GeoJson(
        _geojson(gpd.GeoDataFrame(props, geometry=areas.geometry, crs=areas.crs), props.columns),
        name=_esc(legend_title),
        on_each_feature=_bind_popup([label for _c, label in fields]),
    ).add_to(m)
    add_outline_layer(
        m,
        areas[values == unknown],
        name=f"{categories.get(unknown, (None, unknown))[1]} ({int((values == unknown).sum())})",
        style=UNKNOWN_OUTLINE,
    )
    kinds: list[str] = []
    if providers is not None and len(providers):
        kinds = [k for k in settings.KINDS if (providers["kind"] == k).any()]
        add_providers(m, providers, kinds=kinds)
    rows = []
    for value, (colour, label) in categories.items():
        border = f";border:2px dotted {UNKNOWN_OUTLINE['color']}" if value == unknown else ""
        words = " (grey, hatched, dotted outline)" if value == unknown else ""
        rows.append(
            f'<div><i style="background:{palettes.swatch_css(colour)}{border}"></i>'
            f"{_esc(label)}{words}</div>"
        )
    rows.extend(_kind_rows(kinds))
    _Box(f"<b>{_esc(legend_title)}</b>" + "".join(rows), css_class="gm-legend").add_to(m)
    return finish(m)


# --------------------------------------------------------------------------- static description


@dataclass(frozen=True)
class StaticPolygons:
    """Areas drawn alike but for their fill, as a static figure shows them.

    Attributes
    ----------
    geometry
        Shapely polygons in EPSG:27700, simplified as the page draws them.
    fill
        Fill colour of each area (a hex colour), or None for no fill.
    hatched
        Whether each area is hatched (no journey, no value), as on the page.
    fill_opacity
        Opacity of the fills.
    edge
        Outline colour, or None for no outline.
    width
        Outline width in screen pixels, as on the page.
    dash
        Dash pattern in pixels (``(6, 4)``), empty for a solid outline.
    name
        The layer's name on the page.
    """

    geometry: np.ndarray
    fill: tuple[str | None, ...]
    hatched: tuple[bool, ...]
    fill_opacity: float
    edge: str | None
    width: float
    dash: tuple[float, ...]
    name: str


@dataclass(frozen=True)
class StaticLines:
    """Lines (a route, links between providers) in EPSG:27700, drawn alike.

    Attributes
    ----------
    geometry
        Shapely lines in EPSG:27700.
    colour, width, dash, opacity
        Line style, with the width and dash pattern in screen pixels.
    name
        The layer's name on the page.
    """

    geometry: np.ndarray
    colour: str
    width: float
    dash: tuple[float, ...]
    opacity: float
    name: str


@dataclass(frozen=True)
class StaticPoints:
    """Markers in EPSG:27700: a coloured circle (or square) with a letter each.

    Attributes
    ----------
    xy
        Coordinates, one row per marker (EPSG:27700 metres).
    colour
        Fill colour of each marker.
    letter
        Text on each marker (a kind's letter, a site's rank), or "".
    dashed
        Whether each marker has a dashed ring (outside the study area, say).
    radius
        Radius of each marker in screen pixels.
    square
        Whether the markers are squares (new sites) rather than circles.
    name
        The layer's name on the page.
    """

    xy: np.ndarray
    colour: tuple[str, ...]
    letter: tuple[str, ...]
    dashed: tuple[bool, ...]
    radius: tuple[float, ...]
    square: bool
    name: str


@dataclass(frozen=True)
class Swatch:
    """How a legend row's sample looks.

    Attributes
    ----------
    fill
        Fill colour, or None.
    hatched
        Hatched grey, the pattern of missing data.
    edge, edge_width, edge_style
        Outline colour (None for none), width in pixels and ``solid``,
        ``dashed`` or ``dotted``.
    shape
        ``box``, ``circle`` or ``line``.
    letter
        Text on the sample (a kind's letter), or "".
    """

    fill: str | None
    hatched: bool
    edge: str | None
    edge_width: float
    edge_style: str
    shape: str
    letter: str


@dataclass(frozen=True)
class LegendRow:
    """One row of a legend: a sample (None for a note or a heading) and its text.

    Attributes
    ----------
    label
        The row's text as the page shows it (plain text).
    swatch
        The sample, or None.
    heading
        Whether the row heads a group of rows.
    """

    label: str
    swatch: Swatch | None
    heading: bool = False


@dataclass(frozen=True)
class LegendBlock:
    """A legend: its title and rows, as the page's legend box has them.

    Attributes
    ----------
    title
        Heading of the legend (plain text).
    rows
        Its rows in order.
    """

    title: str
    rows: tuple[LegendRow, ...]


@dataclass(frozen=True)
class StaticMap:
    """A neutral description of what a map draws, for a static figure.

    Built from the map itself (:func:`static_map`), so the figure shows exactly
    the layers, classes, colours and legend text of the HTML page. Layers
    that start hidden on the page are left out, and so are legend rows folded
    away with them.

    Attributes
    ----------
    title
        The map's title (plain text, from data: never markup).
    caption
        Data and method, as under the page's map (plain text, lines split on newlines).
    attributions
        The lines of the caption that credit data (``©``, licences).
    frame
        ``(minx, miny, maxx, maxy)`` in EPSG:27700.
    layers
        What is drawn, bottom first.
    legends
        The legend boxes.
    """

    title: str
    caption: str
    attributions: tuple[str, ...]
    frame: tuple[float, float, float, float]
    layers: tuple[StaticPolygons | StaticLines | StaticPoints, ...]
    legends: tuple[LegendBlock, ...]


#: Words that mark a caption line as a data credit.
_CREDIT = re.compile(r"©|copyright|licen[cs]e|contains .* data|openstreetmap", re.IGNORECASE)


def static_map(m: folium.Map) -> StaticMap:
    """Describe what a map built here draws, for :func:`geomap.figures.map_figure`.

    Parameters
    ----------
    m
        A map from one of the builders here (started with :func:`new_map`).

    Returns
    -------
    StaticMap
        Title, caption, attributions, frame, the visible layers in EPSG:27700
        with their styles, and the legends.

    Raises
    ------
    GeomapError
        If ``m`` was not started with :func:`new_map`.
    """
    frame = getattr(m, "static_frame", None)
    if frame is None:
        raise GeomapError(
            "the map has no frame to draw a figure of. Draw maps with geomap.maps.new_map"
        )
    layers: list[StaticPolygons | StaticLines | StaticPoints] = []
    legends: list[LegendBlock] = []
    _collect(m, layers, legends)
    caption = str(getattr(m, "static_caption", ""))
    lines = [line.strip() for line in caption.splitlines() if line.strip()]
    return StaticMap(
        title=str(getattr(m, "static_title", "")),
        caption=caption,
        attributions=tuple(line for line in lines if _CREDIT.search(line)),
        frame=frame,
        layers=tuple(layers),
        legends=tuple(legends),
    )


def _collect(
    parent: Element,
    layers: list[StaticPolygons | StaticLines | StaticPoints],
    legends: list[LegendBlock],
) -> None:
    """Add the visible layers and the legends among ``parent``'s children, in order."""
    for child in parent._children.values():
        if getattr(child, "show", True) is False:
            continue
        if isinstance(child, folium.GeoJson):
            layers.extend(_static_geojson(child))
        elif isinstance(child, folium.FeatureGroup):
            _collect(child, layers, legends)
        elif isinstance(child, folium.PolyLine):
            layers.append(_static_polyline(child))
        elif isinstance(child, folium.CircleMarker | folium.Marker):
            layers.append(_static_marker(child))
        elif isinstance(child, _Box) and child.css_class == "gm-legend":
            legends.append(_legend_block(child.body))


def _to_measured(lonlat: np.ndarray) -> np.ndarray:
    """Lon/lat coordinates (n × 2) in EPSG:27700."""
    points = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=settings.LONLAT_CRS)
    return np.asarray(shapely.get_coordinates(points.to_crs(settings.MEASURE_CRS).to_numpy()))


def _dash(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in str(value or "").replace(",", " ").split())


def _static_geojson(layer: folium.GeoJson) -> list[StaticPolygons | StaticLines | StaticPoints]:
    """A GeoJSON layer's features, grouped by how they are drawn."""
    data = layer.data
    features = data.get("features", [])
    if not features:
        return []
    measured = getattr(data, "measured", None)
    if measured is None:  # data not made by _geojson: back from lon/lat
        measured = np.array(
            [
                None if f.get("geometry") is None else shapely.geometry.shape(f["geometry"])
                for f in features
            ],
            dtype=object,
        )
        fine = ~shapely.is_missing(measured)
        measured[fine] = shapely.transform(measured[fine], _to_measured)
    name = str(layer.layer_name or "")
    point_to_layer = layer.options.get("point_to_layer")
    if point_to_layer is not None:
        keep = [i for i, g in enumerate(measured) if g is not None and not g.is_empty]
        kinds = [str(features[i]["properties"].get("k", "")) for i in keep]
        return [
            StaticPoints(
                xy=np.asarray(shapely.get_coordinates(measured[keep])).reshape(-1, 2),
                colour=tuple(KIND_STYLE.get(k, ("#444444", "?"))[0] for k in kinds),
                letter=tuple(KIND_STYLE.get(k, ("#444444", "?"))[1] for k in kinds),
                dashed=tuple(bool(features[i]["properties"].get("b")) for i in keep),
                radius=tuple(10.0 for _ in keep),
                square=False,
                name=name,
            )
        ]
    styled = getattr(layer, "style_function", None) if layer.style else None
    groups: dict[tuple[Any, ...], list[tuple[int, str | None, bool]]] = {}
    lines: dict[tuple[Any, ...], list[int]] = {}
    for i, feature in enumerate(features):
        geom = measured[i]
        if geom is None or geom.is_empty:
            continue
        style = styled(feature) if styled else feature.get("properties", {}).get("style", {})
        edge = (
            str(style.get("color", palettes.LEAFLET_DEFAULT)) if style.get("stroke", True) else None
        )
        width = float(style.get("weight", 3))
        dash = _dash(style.get("dashArray"))
        if geom.geom_type in {"LineString", "MultiLineString"}:
            key = (edge or palettes.LEAFLET_DEFAULT, width, dash, float(style.get("opacity", 1.0)))
            lines.setdefault(key, []).append(i)
            continue
        filled = style.get("fill", True) is not False
        colour = str(style.get("fillColor", edge or palettes.LEAFLET_DEFAULT)) if filled else None
        opacity = float(style.get("fillOpacity", 0.2)) if filled else 0.0
        hatched = colour == palettes.HATCH_FILL
        fill = palettes.NO_DATA if hatched else colour
        groups.setdefault((edge, width, dash, opacity), []).append((i, fill, hatched))
    out: list[StaticPolygons | StaticLines | StaticPoints] = []
    for (edge, width, dash, opacity), members in groups.items():
        out.append(
            StaticPolygons(
                geometry=measured[[i for i, _f, _h in members]],
                fill=tuple(f for _i, f, _h in members),
                hatched=tuple(h for _i, _f, h in members),
                fill_opacity=opacity,
                edge=edge,
                width=width,
                dash=dash,
                name=name,
            )
        )
    for (colour, width, dash, opacity), indices in lines.items():
        out.append(
            StaticLines(
                geometry=measured[indices],
                colour=colour,
                width=width,
                dash=dash,
                opacity=opacity,
                name=name,
            )
        )
    return out


def _static_polyline(line: folium.PolyLine) -> StaticLines:
    options = line.options
    lonlat = np.asarray([[x, y] for y, x in line.locations], dtype=float)
    return StaticLines(
        geometry=np.array([shapely.LineString(_to_measured(lonlat))], dtype=object),
        colour=str(options.get("color", palettes.LEAFLET_DEFAULT)),
        width=float(options.get("weight", 3)),
        dash=_dash(options.get("dashArray")),
        opacity=float(options.get("opacity", 1.0)),
        name="",
    )


def _static_marker(marker: folium.Marker) -> StaticPoints:
    lat, lon = marker.location or (np.nan, np.nan)
    xy = _to_measured(np.asarray([[lon, lat]], dtype=float))
    options = marker.options
    if isinstance(marker, folium.CircleMarker):
        return StaticPoints(
            xy=xy,
            colour=(str(options.get("fillColor", options.get("color", palettes.LEAFLET_DEFAULT))),),
            letter=("",),
            dashed=(bool(options.get("dashArray")),),
            radius=(float(str(options.get("radius", 10))),),
            square=False,
            name="",
        )
    icon = next((c for c in marker._children.values() if isinstance(c, folium.DivIcon)), None)
    text = _Text.of(str(icon.options.get("html", ""))) if icon is not None else ""
    return StaticPoints(
        xy=xy,
        colour=("#000000",),
        letter=(text,),
        dashed=(False,),
        radius=(11.0,),
        square=True,
        name="",
    )


class _Text(HTMLParser):
    """The text of a piece of HTML (character references read)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    def of(cls, markup: str) -> str:
        reader = cls()
        reader.feed(markup)
        reader.close()
        return " ".join("".join(reader.parts).split())


class _LegendReader(HTMLParser):
    """Rows of a legend box's HTML: ``<b>`` title, ``<div>`` rows with an ``<i>`` sample each.

    Rows inside a folded ``<details>`` (a layer that starts hidden) are left out.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.rows: list[LegendRow] = []
        self._where: list[str] = []
        self._folded = 0
        self._label: list[str] | None = None
        self._letter: list[str] = []
        self._style: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._where.append(tag)
        if tag == "details" and "open" not in dict(attrs):
            self._folded += 1
        elif tag in {"div", "summary"}:
            self._label, self._letter, self._style = [], [], None
        elif tag == "i":
            self._style = dict(attrs).get("style") or ""

    def handle_endtag(self, tag: str) -> None:
        if self._where and self._where[-1] == tag:
            self._where.pop()
        if tag == "details" and self._folded:
            self._folded -= 1
        elif tag in {"div", "summary"} and self._label is not None:
            label = " ".join("".join(self._label).split())
            if not self._folded and label:
                swatch = None if self._style is None else _swatch(self._style, self._letter)
                self.rows.append(LegendRow(label, swatch, heading=tag == "summary"))
            self._label = None

    def handle_data(self, data: str) -> None:
        if "i" in self._where:
            self._letter.append(data)
        elif self._label is not None:
            self._label.append(data)
        elif "b" in self._where and not self.rows:
            self.title.append(data)


def _swatch(style: str, letter: list[str]) -> Swatch:
    """A legend sample from its CSS (``background``, ``border``, ``border-radius``...)."""
    css = {}
    for part in style.split(";"):
        key, _, value = part.partition(":")
        if key.strip():
            css[key.strip().lower()] = value.strip()
    background = css.get("background", "")
    hatched = background == palettes.HATCH_CSS
    fill = palettes.NO_DATA if hatched else (None if background in {"", "none"} else background)
    border = css.get("border", "")
    shape = "circle" if css.get("border-radius") == "50%" else "box"
    if "border-top" in css or css.get("height") in {"0", "4px"}:
        shape, border = "line", css.get("border-top", "")
        if not border and fill:
            border, fill = f"4px solid {fill}", None
    words = border.split()
    width = float(words[0].removesuffix("px")) if words and words[0] != "none" else 1.0
    edge_style = words[1] if len(words) > 2 else "solid"
    edge = (
        words[2] if len(words) > 2 else ("#555555" if shape == "box" and border != "none" else None)
    )
    return Swatch(
        fill=fill,
        hatched=hatched,
        edge=edge,
        edge_width=width,
        edge_style=edge_style,
        shape=shape,
        letter="".join(letter).strip(),
    )


def _legend_block(body: str) -> LegendBlock:
    """A legend box's HTML (as :class:`_Box` keeps it) as a :class:`LegendBlock`."""
    reader = _LegendReader()
    reader.feed(body.replace("<h2", "<b").replace("</h2>", "</b>"))
    reader.close()
    return LegendBlock(title=" ".join("".join(reader.title).split()), rows=tuple(reader.rows))
