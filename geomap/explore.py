"""One page to explore every map of a report: ``explore.html``.

:func:`explore_page` draws the travel-time choropleths of every kind and mode,
the post-16, capacity and sufficiency layers, providers by kind, gap areas,
post-16 barrier flags and home-to-school transport eligibility on one offline
Leaflet map. The area polygons are written once, with every layer's value as a
property of each area; a small script restyles them when the reader picks
another layer in the form beside the map, so the page stays small however many
layers a report has.

Text from data is inert: names and ids travel inside a JSON block whose ``<``,
``>`` and ``&`` are written as JSON escapes (``u003c`` and so on), and the
page's script escapes them again before they reach any HTML. No template engine
ever sees the page.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geomap import palettes, settings
from geomap.eligibility import MAP_CATEGORIES
from geomap.maps import (
    FLAG_STYLES,
    GAP_OUTLINE,
    KIND_STYLE,
    SIMPLIFY_M,
    SUFFICIENCY_STYLES,
    TIME_COLOURS,
    _assets,
    _drawn,
    _inline_script,
    _shapes,
    time_bins,
)
from geomap.post16 import FLAGS

if TYPE_CHECKING:
    from geomap.pipeline import Result

#: Size budget of ``explore.html`` for the shipped county report with the
#: default modes, bytes (``tests/test_explore.py`` checks it).
SIZE_BUDGET = 5_000_000


@dataclass
class _Layer:
    """One choropleth: per-area class indices (``-1`` = no value), values and outline flags."""

    key: str
    group: str
    label: str
    title: str
    colours: list[str]
    labels: list[str]
    classes: list[int]
    values: list[float | str | None]
    none: str
    unit: str = ""
    outline: dict[str, Any] | None = None
    outline_label: str = ""
    flagged: list[int] | None = None
    note: str = ""

    def legend(self) -> str:
        """The legend of the layer, as HTML written here (labels escaped)."""
        rows = [
            f'<li><i style="background:{c}"></i>{html.escape(label)}</li>'
            for c, label in zip(self.colours, self.labels, strict=True)
        ]
        rows.append(
            f'<li><i style="background:{palettes.HATCH_CSS}"></i>'
            f"{html.escape(self.none)} (grey, hatched)</li>"
        )
        if self.outline is not None:
            style = self.outline
            line = "dashed" if style.get("dashArray") else "solid"
            rows.append(
                f'<li><i style="background:none;border:{max(int(style.get("weight", 2)), 2)}px '
                f'{line} {style["color"]}"></i>{html.escape(self.outline_label)}: '
                f"{'heavy ' if float(style.get('weight', 2)) >= 3 else ''}{line} outline "
                "(when “Outlines of the layer shown” is ticked)</li>"
            )
        note = f'<p class="gm-note">{html.escape(self.note)}</p>' if self.note else ""
        return (
            f'<h2 id="gm-legend-heading">{html.escape(self.title)}</h2>'
            f'<ul class="gm-swatches">{"".join(rows)}</ul>{note}'
        )


def _time_layer(
    key: str,
    *,
    group: str,
    label: str,
    title: str,
    minutes: np.ndarray,
    threshold: float,
    beyond: np.ndarray | None,
    note: str,
) -> _Layer:
    """A travel-time choropleth in the classes and colours of the per-map pages."""
    bins = time_bins(threshold)
    edges = [0.0, *bins]
    labels = [f"{edges[i]:g}–{edges[i + 1]:g} min" for i in range(len(bins))]
    labels.append(f"over {bins[-1]:g} min")
    known = np.isfinite(minutes)
    classes = np.where(
        known, np.searchsorted(np.asarray(bins), np.where(known, minutes, 0.0), side="left"), -1
    )
    return _Layer(
        key=key,
        group=group,
        label=label,
        title=title,
        colours=list(TIME_COLOURS),
        labels=labels,
        classes=[int(c) for c in classes],
        values=[round(float(v), 2) if np.isfinite(v) else None for v in minutes],
        none="no journey found",
        unit="min",
        outline=GAP_OUTLINE if beyond is not None else None,
        outline_label=f"gap area: beyond {threshold:g} min",
        flagged=None if beyond is None else [int(bool(b)) for b in beyond],
        note=note,
    )


def _label(kind: str) -> str:
    return str(settings.KIND_LABELS.get(kind, kind))


def _aligned(areas: pd.DataFrame, rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``rows`` (one per ``area_id``) in the order of ``areas``, missing areas as NaN."""
    return areas[["area_id"]].merge(rows[["area_id", *columns]], on="area_id", how="left")


def _time_layers(result: Result) -> list[_Layer]:
    from geomap.report import threshold_source  # the report imports this module

    areas = result.inputs.areas
    cover = result.analysis.coverage
    layers = []
    for mode, kind in cover[["mode", "kind"]].drop_duplicates().itertuples(index=False):
        mode, kind = str(mode), str(kind)
        rows = cover[(cover["mode"] == mode) & (cover["kind"] == kind)]
        joined = _aligned(areas, rows, ["minutes", "beyond"])
        threshold = float(result.analysis.thresholds[mode][kind])
        beyond = joined["beyond"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        layers.append(
            _time_layer(
                f"{mode}_{kind}",
                group=f"Travel time to the nearest provider by {mode}",
                label=_label(kind),
                title=f"{_label(kind)}: minutes by {mode} to the nearest provider",
                minutes=joined["minutes"].to_numpy(dtype=float),
                threshold=threshold,
                beyond=beyond,
                note=f"Threshold {threshold:g} min ({threshold_source(mode, kind, threshold)}).",
            )
        )
    post16 = result.post16
    if post16 is not None:
        joined = _aligned(areas, post16.areas, ["pt_minutes"])
        limit = float(post16.thresholds.pt_max_minutes)
        layers.append(
            _time_layer(
                "post16_pt",
                group="Post-16 by public transport",
                label="Public-transport minutes to the nearest sixth form or college",
                title="Post-16: public-transport minutes to the nearest sixth form or college",
                minutes=joined["pt_minutes"].to_numpy(dtype=float),
                threshold=limit,
                beyond=None,
                note=f"Barriers: {post16.thresholds.describe()}.",
            )
        )
    return layers


def _planning_layers(result: Result) -> list[_Layer]:
    planning = result.planning
    if planning is None:
        return []
    areas = result.inputs.areas
    layers = []
    for (mode, kind), access in planning.access.items():
        joined = _aligned(areas, access.areas, ["score", "complete", "score_known_places"])
        complete = joined["complete"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        known = joined["area_id"].isin(access.areas["area_id"]).to_numpy()
        score = np.where(
            complete,
            joined["score"].to_numpy(dtype=float),
            joined["score_known_places"].to_numpy(dtype=float),
        )
        finite = score[np.isfinite(score)]
        top = float(np.quantile(finite, 0.8)) if len(finite) else 1.0
        bins = [round(top * f, 3) for f in (0.25, 0.5, 0.75, 1.0)]
        edges = [0.0, *bins]
        labels = [f"{edges[i]:g}–{edges[i + 1]:g}" for i in range(len(bins))]
        labels.append(f"over {bins[-1]:g}")
        ok = np.isfinite(score)
        classes = np.where(
            ok, np.searchsorted(np.asarray(bins), np.where(ok, score, 0.0), side="left"), -1
        )
        layers.append(
            _Layer(
                key=f"capacity_{mode}_{kind}",
                group="Places within reach",
                label=f"{_label(kind)} by {mode}",
                title=f"{_label(kind)}: places per child within reach by {mode}",
                colours=list(palettes.MORE_IS_BETTER),
                labels=labels,
                classes=[int(c) for c in classes],
                values=[round(float(v), 3) if np.isfinite(v) else None for v in score],
                none="no provider with places given within reach",
                unit="places per child",
                outline={"color": palettes.PARTIAL, "weight": 2, "dashArray": "4 3"},
                outline_label="a lower bound: a provider within reach gives no places",
                flagged=[int(k and not c) for k, c in zip(known, complete, strict=True)],
                note=str(access.areas.attrs.get("description", "")),
            )
        )
    flags = list(SUFFICIENCY_STYLES)
    for kind, suff in planning.sufficiency.items():
        joined = _aligned(areas, suff.by_area, ["flag"])
        found = [str(f) if isinstance(f, str) else "unknown" for f in joined["flag"]]
        picked = [flags.index(f) if f in flags and f != "unknown" else -1 for f in found]
        shown = [f for f in flags if f != "unknown"]
        layers.append(
            _Layer(
                key=f"sufficiency_{kind}",
                group="Places against children",
                label=_label(kind),
                title=f"{_label(kind)}: places against children by area",
                colours=[SUFFICIENCY_STYLES[f][0] for f in shown],
                labels=[SUFFICIENCY_STYLES[f][1] for f in shown],
                classes=picked,
                values=[None if c < 0 else found[i] for i, c in enumerate(picked)],
                none=SUFFICIENCY_STYLES["unknown"][1],
                note=" ".join(str(n) for n in suff.notes),
            )
        )
    return layers


def _contrasting_ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (WCAG relative luminance)."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    lum = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def _lonlat(points: gpd.GeoSeries) -> np.ndarray:
    """(lat, lon) rows of points (or of the centroids of shapes), rounded to about 1 m."""
    if (points.geom_type != "Point").any():
        points = points.centroid
    lonlat = points.to_crs(settings.LONLAT_CRS)
    xy = shapely.get_coordinates(lonlat.to_numpy())
    rounded: np.ndarray = np.round(xy[:, ::-1], 5)
    return rounded


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def _providers(result: Result) -> dict[str, list[list[Any]]]:
    providers = result.inputs.providers
    out: dict[str, list[list[Any]]] = {}
    for kind in settings.KINDS:
        sub = providers[providers["kind"] == kind]
        if sub.empty:
            continue
        where = _lonlat(sub.geometry)
        rows = []
        for (lat, lon), row in zip(where.tolist(), sub.itertuples(index=False), strict=True):
            capacity = getattr(row, "capacity", None)
            places = (
                f"{int(capacity):,}"
                if capacity is not None and not pd.isna(capacity) and np.isfinite(capacity)
                else None
            )
            rows.append(
                [
                    lat,
                    lon,
                    _text(row.name),
                    _text(row.id),
                    int(bool(row.in_county)),
                    _text(row.sector),
                    _text(getattr(row, "rating", None)) or "not recorded",
                    places,
                ]
            )
        out[kind] = rows
    return out


def _eligibility(result: Result) -> dict[str, Any] | None:
    eligible = result.eligibility
    if eligible is None or eligible.homes.empty:
        return None
    homes = eligible.homes
    names = list(MAP_CATEGORIES)
    where = _lonlat(homes.geometry)
    cats = [names.index(c) if c in names else names.index("unknown") for c in homes["category"]]
    return {
        "colours": [colour for colour, _ in MAP_CATEGORIES.values()],
        "labels": [label for _, label in MAP_CATEGORIES.values()],
        "homes": [
            [lat, lon, c, _text(n), _number(k), _number(e)]
            for (lat, lon), c, n, k, e in zip(
                where.tolist(),
                cats,
                homes["area_name"],
                homes["children"],
                homes["eligible"],
                strict=True,
            )
        ],
    }


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round(number, 1) if np.isfinite(number) else None


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` as JSON escapes."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def explore_data(result: Result) -> dict[str, Any]:
    """Everything :func:`explore_page` draws, as JSON-ready data.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run`.

    Returns
    -------
    dict
        ``areas`` (a GeoJSON FeatureCollection in lon/lat, one feature per area,
        each with ``n`` (name), ``id``, and per layer ``c`` (class index, ``null``
        for no value), ``v`` (value) and ``g`` (1 where the layer outlines the
        area), plus ``f``, one 0/1 per post-16 flag), ``layers`` (per choropleth:
        ``key``, ``group``, ``label``, ``colours``, ``labels``, ``none``,
        ``unit``, ``outline``, ``legend``), ``flags``, ``providers`` (per kind,
        rows of lat, lon, name, id, in study area, sector, rating, places),
        ``kinds`` (marker colour, letter and ink per kind), ``eligibility`` (or
        ``None``), ``base`` (the council boundaries drawn under everything, a
        FeatureCollection without properties), ``bounds`` (lon/lat) and
        ``hatch``. Text is raw: the page escapes it.
    """
    areas = result.inputs.areas
    layers = [*_time_layers(result), *_planning_layers(result)]
    flag_rows: list[list[int]] = [[] for _ in range(len(areas))]
    flags: list[dict[str, Any]] = []
    if result.post16 is not None:
        joined = _aligned(areas, result.post16.areas, list(FLAGS))
        for flag, label in FLAGS.items():
            marks = joined[flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
            for i, mark in enumerate(marks):
                flag_rows[i].append(int(mark))
            style = FLAG_STYLES.get(flag, GAP_OUTLINE)
            flags.append(
                {
                    "key": flag,
                    "label": f"Post-16: {label} ({int(marks.sum())})",
                    "style": {k: style[k] for k in ("color", "weight", "dashArray") if k in style},
                }
            )
    shapes = _shapes(_drawn(areas.geometry, simplify=SIMPLIFY_M))
    features = []
    for i, (shape, name, code) in enumerate(
        zip(shapes, areas["area_name"], areas["area_id"], strict=True)
    ):
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "n": _text(name),
                    "id": _text(code),
                    "c": [None if layer.classes[i] < 0 else layer.classes[i] for layer in layers],
                    "v": [layer.values[i] for layer in layers],
                    "g": [layer.flagged[i] if layer.flagged else 0 for layer in layers],
                    "f": flag_rows[i],
                },
                "geometry": shape,
            }
        )
    base = result.inputs.base
    base_shapes = (
        [] if base is None or base.empty else _shapes(_drawn(base.geometry, simplify=200.0))
    )
    minx, miny, maxx, maxy = areas.geometry.to_crs(settings.LONLAT_CRS).total_bounds
    return {
        "areas": {"type": "FeatureCollection", "features": features},
        "base": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {}, "geometry": shape}
                for shape in base_shapes
                if shape is not None
            ],
        },
        "layers": [
            {
                "key": layer.key,
                "group": layer.group,
                "label": layer.label,
                "colours": layer.colours,
                "labels": layer.labels,
                "none": layer.none,
                "unit": layer.unit,
                "outline": None
                if layer.outline is None
                else {k: layer.outline[k] for k in ("color", "weight", "dashArray")},
                "legend": layer.legend(),
            }
            for layer in layers
        ],
        "flags": flags,
        "providers": _providers(result),
        "kinds": {
            kind: [colour, letter, _contrasting_ink(colour)]
            for kind, (colour, letter) in KIND_STYLE.items()
        },
        "eligibility": _eligibility(result),
        "bounds": [round(float(v), 5) for v in (minx, miny, maxx, maxy)],
        "hatch": palettes.HATCH_FILL,
        "paper": palettes.BASE,
    }


_CSS = """
html, body {height: 100%; margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1a1a1a;}
.gm-skip {position: absolute; left: -9999px; top: 0; background: #fff; color: #00437a; padding: 6px;
  z-index: 2000;}
.gm-skip:focus {left: 8px; top: 8px;}
.gm-page {display: flex; height: 100%;}
.gm-panel {width: 340px; flex: none; overflow: auto; padding: 10px 14px; box-sizing: border-box;
  border-right: 1px solid #888;}
.gm-panel h1 {font-size: 18px; margin: 0 0 8px;}
.gm-panel h2 {font-size: 15px; margin: 12px 0 4px;}
#gm-map {flex: 1; min-height: 320px;}
fieldset {border: 1px solid #767676; margin: 0 0 10px; padding: 4px 8px 8px;}
fieldset fieldset {border: none; margin: 0; padding: 2px 0 2px 6px;}
legend {font-weight: 600; padding: 0 4px;}
fieldset fieldset legend {font-weight: 500; font-style: italic; padding: 0;}
label {display: block; padding: 2px 0; cursor: pointer;}
input:focus-visible, a:focus-visible {outline: 3px solid #00437a; outline-offset: 2px;}
a {color: #00437a;}
.gm-swatches {list-style: none; margin: 0; padding: 0;}
.gm-swatches i {display: inline-block; width: 18px; height: 12px; margin-right: 6px;
  vertical-align: middle; border: 1px solid #555;}
.gm-note, .gm-about {font-size: 12.5px;}
.gm-marker div {width: 20px; height: 20px; border-radius: 50%; border: 2px solid #fff;
  box-shadow: 0 0 2px #000; font: bold 12px/20px sans-serif; text-align: center;}
.gm-marker div.gm-out {border-style: dashed; border-color: #222;}
.gm-popup th {text-align: left; padding-right: 8px; vertical-align: top;}
.leaflet-control-attribution {line-height: 24px;}
.leaflet-control-attribution a {display: inline-block; min-width: 24px; min-height: 24px;}
@media (max-width: 760px) {
  .gm-page {flex-direction: column; height: auto;}
  .gm-panel {width: 100%; border-right: none;}
  #gm-map {height: 75vh;}
}
"""

_JS = r"""
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('gm-data').textContent);
  var ENT = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
  function esc(s) {
    return s === null || s === undefined ? '' : String(s).replace(/[&<>"']/g, function (c) { return ENT[c]; });
  }
  function table(rows) {
    var h = '<table class="gm-popup">';
    rows.forEach(function (r) {
      if (r[1] !== null && r[1] !== undefined && r[1] !== '') {
        h += '<tr><th>' + esc(r[0]) + '</th><td>' + esc(r[1]) + '</td></tr>';
      }
    });
    return h + '</table>';
  }
  var map = L.map('gm-map', {zoomSnap: 0.25});
  var b = D.bounds;
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  if (D.tiles) {
    L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png',
      {maxZoom: 19, attribution: '&copy; OpenStreetMap contributors'}).addTo(map);
  }
  L.control.scale().addTo(map);
  L.geoJSON(D.base, {interactive: false, style: function () {
    return {color: '#777777', weight: 1, fillColor: D.paper, fillOpacity: 0.6};
  }}).addTo(map);
  var current = 0;
  function describe(p, i) {
    var layer = D.layers[i], c = p.c[i];
    if (c === null) { return layer.none; }
    return layer.unit ? p.v[i] + ' ' + layer.unit : layer.labels[c];
  }
  function areaStyle(f) {
    var c = f.properties.c[current];
    return {fillColor: c === null ? D.hatch : D.layers[current].colours[c],
            fillOpacity: 0.75, color: '#555555', weight: 0.6, opacity: 1};
  }
  function outlineStyle(f) {
    var o = D.layers[current].outline;
    if (!o || !f.properties.g[current]) { return {opacity: 0, weight: 0, fill: false, dashArray: null}; }
    return {color: o.color, weight: o.weight, dashArray: o.dashArray || null, opacity: 1, fill: false};
  }
  var areas = L.geoJSON(D.areas, {
    style: areaStyle,
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        return '<b>' + esc(f.properties.n) + '</b>: ' + esc(describe(f.properties, current));
      }, {sticky: true});
      layer.bindPopup(function () {
        var rows = [['Area', f.properties.n], ['Code', f.properties.id]];
        D.layers.forEach(function (l, i) {
          rows.push([l.group + ': ' + l.label, describe(f.properties, i)]);
        });
        return table(rows);
      }, {maxWidth: 420, maxHeight: 320});
    }
  }).addTo(map);
  // the same features again, outlined: gap areas (or the layer's own flag) on top
  var outline = L.geoJSON(D.areas, {style: outlineStyle, interactive: false});
  var overlays = {outline: function () { return outline; }};
  D.flags.forEach(function (flag, i) {
    overlays['flag-' + flag.key] = function () {
      var s = flag.style;
      return L.geoJSON(D.areas, {
        filter: function (f) { return f.properties.f[i] === 1; }, interactive: false,
        style: function () { return {color: s.color, weight: s.weight, dashArray: s.dashArray || null, fill: false}; }
      });
    };
  });
  Object.keys(D.providers).forEach(function (kind) {
    overlays['kind-' + kind] = function () {
      var k = D.kinds[kind] || ['#444444', '?', '#ffffff'];
      var group = L.layerGroup();
      D.providers[kind].forEach(function (p) {
        var icon = L.divIcon({className: 'gm-marker gm-k-' + kind, iconSize: [22, 22], iconAnchor: [11, 11],
          html: '<div class="' + (p[4] ? '' : 'gm-out') + '" style="background:' + k[0] + ';color:' + k[2] + '">' + k[1] + '</div>'});
        var marker = L.marker([p[0], p[1]], {icon: icon, title: p[2] === null ? '' : String(p[2]), riseOnHover: true});
        marker.bindPopup(function () {
          return '<b>' + esc(p[2]) + '</b>' + table([['Id', p[3]], ['Sector', p[5]], ['Rating', p[6]], ['Places', p[7]],
            ['Where', p[4] ? 'in the study area' : 'outside the study area']]);
        });
        group.addLayer(marker);
      });
      return group;
    };
  });
  if (D.eligibility) {
    overlays.eligibility = function () {
      var e = D.eligibility, group = L.layerGroup();
      e.homes.forEach(function (h) {
        var dot = L.circleMarker([h[0], h[1]], {radius: 4, weight: 1, color: '#333333', fillOpacity: 0.9,
          fillColor: e.colours[h[2]]});
        dot.bindTooltip(function () {
          return esc(h[3]) + ': ' + esc(e.labels[h[2]]) + (h[4] === null ? '' : ' (' + esc(h[5] === null ? '?' : h[5]) + ' of ' + esc(h[4]) + ' children eligible)');
        });
        group.addLayer(dot);
      });
      return group;
    };
  }
  var made = {};
  function toggle(box) {
    var key = box.getAttribute('data-overlay');
    if (!made[key]) { made[key] = overlays[key](); }
    if (box.checked) { made[key].addTo(map); } else { map.removeLayer(made[key]); }
    if (key !== 'outline' && made.outline && map.hasLayer(made.outline)) { made.outline.bringToFront(); }
  }
  var legend = document.getElementById('gm-legend');
  function show(i) {
    current = i;
    areas.setStyle(areaStyle);
    outline.setStyle(outlineStyle);
    legend.innerHTML = D.layers[i].legend;
    document.getElementById('gm-map').setAttribute('data-layer', D.layers[i].key);
  }
  var form = document.getElementById('gm-controls');
  form.addEventListener('submit', function (ev) { ev.preventDefault(); });
  Array.prototype.forEach.call(form.querySelectorAll('input[name="gm-layer"]'), function (radio) {
    radio.addEventListener('change', function () { if (radio.checked) { show(parseInt(radio.value, 10)); } });
  });
  Array.prototype.forEach.call(form.querySelectorAll('input[data-overlay]'), function (box) {
    box.addEventListener('change', function () { toggle(box); });
    if (box.checked) { toggle(box); }
  });
  var first = form.querySelector('input[name="gm-layer"]:checked');
  if (first) { show(parseInt(first.value, 10)); }
  window.gmExplore = {map: map, areas: areas, current: function () { return current; }};
})();
"""


def _controls(data: dict[str, Any]) -> str:
    """The form: a radio per choropleth (grouped), a checkbox per overlay."""
    groups: dict[str, list[str]] = {}
    for i, layer in enumerate(data["layers"]):
        checked = " checked" if i == 0 else ""
        groups.setdefault(layer["group"], []).append(
            f'<label><input type="radio" name="gm-layer" id="gm-layer-{i}" value="{i}"{checked}> '
            f"{html.escape(layer['label'])}</label>"
        )
    radios = "".join(
        f"<fieldset><legend>{html.escape(group)}</legend>{''.join(rows)}</fieldset>"
        for group, rows in groups.items()
    )
    boxes = [
        '<label><input type="checkbox" data-overlay="outline" id="gm-overlay-outline" checked> '
        "Outlines of the layer shown (gap areas)</label>"
    ]
    for kind, rows in data["providers"].items():
        colour, letter, ink = data["kinds"].get(kind, ("#444444", "?", "#ffffff"))
        boxes.append(
            f'<label><input type="checkbox" data-overlay="kind-{kind}" id="gm-overlay-kind-{kind}"> '
            f'<i class="gm-dot" style="display:inline-block;width:16px;height:16px;border-radius:50%;'
            f'background:{colour};color:{ink};font:bold 10px/16px sans-serif;text-align:center;font-style:normal" '
            f'aria-hidden="true">{letter}</i> {html.escape(_label(kind))} ({len(rows)})</label>'
        )
    for flag in data["flags"]:
        style = flag["style"]
        line = "dashed" if style.get("dashArray") else "solid"
        boxes.append(
            f'<label><input type="checkbox" data-overlay="flag-{flag["key"]}" '
            f'id="gm-overlay-flag-{flag["key"]}"> <i style="display:inline-block;width:16px;height:10px;'
            f'border:2px {line} {style["color"]}" aria-hidden="true"></i> '
            f"{html.escape(flag['label'])}</label>"
        )
    eligibility = data["eligibility"]
    if eligibility is not None:
        boxes.append(
            '<label><input type="checkbox" data-overlay="eligibility" id="gm-overlay-eligibility"> '
            f"Home-to-school transport eligibility ({len(eligibility['homes']):,} homes)</label>"
        )
    return (
        '<form id="gm-controls" aria-label="Map layers">'
        f"<fieldset><legend>Areas coloured by (one at a time)</legend>{radios}</fieldset>"
        f"<fieldset><legend>Also show</legend>{''.join(boxes)}</fieldset>"
        "</form>"
    )


def _overlay_key(data: dict[str, Any]) -> str:
    """The key to markers, flags and eligibility, which do not change with the layer."""
    rows = []
    for kind in data["providers"]:
        colour, letter, ink = data["kinds"].get(kind, ("#444444", "?", "#ffffff"))
        rows.append(
            f'<li><i style="background:{colour};color:{ink};border-radius:50%;text-align:center;'
            f'font:bold 9px/12px sans-serif" aria-hidden="true">{letter}</i>'
            f"{html.escape(_label(kind))} (letter {letter})</li>"
        )
    if rows:
        rows.append(
            '<li><i style="border:2px dashed #222;border-radius:50%"></i>'
            "provider outside the study area (dashed ring)</li>"
        )
    eligibility = data["eligibility"]
    if eligibility is not None:
        rows.extend(
            f'<li><i style="background:{palettes.swatch_css(colour)}"></i>'
            f"home: {html.escape(label)}</li>"
            for colour, label in zip(eligibility["colours"], eligibility["labels"], strict=True)
        )
    return f'<h2 id="gm-key-heading">Markers</h2><ul class="gm-swatches">{"".join(rows)}</ul>'


def explore_page(result: Result, *, online_tiles: bool = False) -> str:
    """One offline page to explore every layer of a result on a single map.

    The areas are drawn once; a form beside the map picks the choropleth
    shown (travel time to the nearest provider for every kind and mode, post-16
    by public transport, places per child within reach, places against
    children) and the overlays (providers by kind, outlines of gap areas,
    post-16 barrier flags, home-to-school transport eligibility). The legend of
    the choropleth shown is read out by screen readers when it changes.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run`: its ``inputs`` (areas, providers,
        name, notes), ``analysis`` (coverage and thresholds), ``post16``,
        ``planning`` (capacity access and sufficiency) and ``eligibility``
        are drawn when present.
    online_tiles
        Add OpenStreetMap tiles (the page then requests them from
        tile.openstreetmap.org); without, the page makes no request at all.

    Returns
    -------
    str
        The whole page (UTF-8 text), with Leaflet, styles and data inlined.
    """
    data = explore_data(result)
    data["tiles"] = bool(online_tiles)
    assets = _assets()
    name = html.escape(str(result.inputs.name))
    title = f"Explore the maps: {name}"
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in result.notes)
    about = (
        '<details class="gm-about"><summary>About this map</summary>'
        "<p>Each area is coloured by the layer chosen above; hover over or select an area "
        "for its value under every layer. Times are to the nearest provider counted "
        f"({'independent schools included' if result.include_independent else 'independent schools not counted'}); "
        "the provider markers show every provider of the kind. Areas with no journey or no "
        "value are grey and hatched, never shown as zero.</p>"
        f"<ul>{notes}</ul>"
        "<p>Map: Leaflet (BSD-2-Clause). Boundaries: Office for National Statistics, "
        "Ordnance Survey, Crown copyright and database right."
        f"{' Tiles: © OpenStreetMap contributors.' if online_tiles else ''}</p></details>"
    )
    first = data["layers"][0]["legend"] if data["layers"] else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        f"<style>{assets['leaflet_css']}</style>\n<style>{_CSS}</style>\n"
        f"{_inline_script(assets['leaflet_js'])}\n"
        "</head>\n<body>\n"
        '<a class="gm-skip" href="#gm-map">Skip to the map</a>\n'
        f"{palettes.hatch_svg()}\n"
        '<div class="gm-page">\n'
        '<div class="gm-panel">\n'
        f"<header><h1>{title}</h1></header>\n"
        f'<nav aria-label="Layers">{_controls(data)}</nav>\n'
        f'<section id="gm-legend" aria-live="polite" aria-labelledby="gm-legend-heading">{first}</section>\n'
        f'<section aria-labelledby="gm-key-heading">{_overlay_key(data)}</section>\n'
        f"{about}\n"
        "</div>\n"
        '<main id="gm-map" aria-label="Map of the areas" tabindex="0"></main>\n'
        "</div>\n"
        f'<script type="application/json" id="gm-data">{_script_json(data)}</script>\n'
        f"{_inline_script(_JS)}\n"
        "</body>\n</html>\n"
    )
