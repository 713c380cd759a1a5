"""Static map figures for papers: what they draw, their legends, scale bar, text and files."""

from __future__ import annotations

import html
import io
import math
import os
import re
import struct
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import PIL.Image
import pytest
import shapely
from click.testing import CliRunner
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from geomap import palettes, settings
from geomap.cli import main
from geomap.errors import GeomapError, InputError
from geomap.figures import _map_figure, bands_chart_files, map_figure, scale_bar_km
from geomap.maps import (
    MORE_IS_BETTER,
    StaticMap,
    StaticPoints,
    StaticPolygons,
    access_map,
    offline_html,
    static_map,
    time_colour,
    value_colour,
    value_map,
)

HOSTILE = [
    r"$\frac{a}{b}$",
    "$$$",
    "{{ 7*7 }} {% if x %}",
    "<img src=x onerror=alert(1)> & co",
    r"50% \$ ^_^ $x^{2}$",
]


# --------------------------------------------------------------------------- small inputs


def _squares(values: list[float], *, size: float = 1000.0) -> gpd.GeoDataFrame:
    """A row of square areas ``size`` metres across, west to east, in EPSG:27700."""
    x0, y0 = 350000.0, 240000.0
    return gpd.GeoDataFrame(
        {
            "area_id": [f"A{i}" for i in range(len(values))],
            "area_name": [f"Area {i}" for i in range(len(values))],
            "minutes": values,
            "value": values,
            "children": [10] * len(values),
        },
        geometry=[
            shapely.box(x0 + i * size, y0, x0 + (i + 1) * size, y0 + size)
            for i in range(len(values))
        ],
        crs=settings.MEASURE_CRS,
    )


def _providers(kinds: list[str], *, names: list[str] | None = None) -> gpd.GeoDataFrame:
    names = names or [f"School {i}" for i in range(len(kinds))]
    return gpd.GeoDataFrame(
        {
            "id": [f"P{i}" for i in range(len(kinds))],
            "name": names,
            "kind": kinds,
            "sector": "maintained",
            "low_age": 4,
            "high_age": 11,
            "capacity": 100.0,
            "rating": "Good",
            "in_county": [i % 2 == 0 for i in range(len(kinds))],
        },
        geometry=gpd.points_from_xy(
            [350500.0 + 1000 * i for i in range(len(kinds))], [240500.0] * len(kinds)
        ),
        crs=settings.MEASURE_CRS,
    )


def _time_map(minutes: list[float], *, threshold: float = 20.0, caption: str = "Data.") -> object:
    areas = _squares(minutes)
    areas["beyond"] = areas["minutes"] > threshold
    return access_map(
        areas,
        _providers(["primary", "primary"]),
        kind="primary",
        mode="car",
        threshold=threshold,
        caption=caption,
    )


def _value_map(values: list[float], *, title: str = "Places per child") -> object:
    return value_map(
        _squares(values),
        column="value",
        title=title,
        caption="Places and children.\nContains OS data © Crown copyright and database right 2024",
        bins=[0.5, 1.0, 1.5],
        colours=MORE_IS_BETTER[:4],
        unit="places per child",
        popup_fields=[("area_name", "Area")],
        legend_title="Places per child",
        providers=_providers(["primary", "secondary"]),
    )


def _html_legend_rows(page: str) -> list[tuple[str, str]]:
    """(background, text) of each row of the page's legend box, read with regular expressions.

    Rows in a folded ``<details>`` are left out (their layer starts hidden).
    """
    box = re.search(r'<div class="gm-box gm-legend"[^>]*>(.*?)</div>\s*\n', page, re.S)
    assert box is not None
    body = re.sub(r"<details>.*?</details>", "", box.group(1), flags=re.S)
    rows = []
    for row in re.findall(r"<div>(.*?)</div>", body, re.S):
        swatch = re.match(r'<i style="([^"]*)">(.*?)</i>', row)
        background = ""
        if swatch:
            found = re.search(r"background:([^;]*)", swatch.group(1))
            background = found.group(1) if found else ""
            row = row[swatch.end() :]
        rows.append((background, html.unescape(re.sub(r"<[^>]+>", "", row)).strip()))
    return rows


def _png_dpi(data: bytes) -> tuple[float, float]:
    """Resolution (dots per inch) from a PNG's ``pHYs`` chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        assert (
            zlib.crc32(kind + body)
            == struct.unpack(">I", data[at + 8 + length : at + 12 + length])[0]
        )
        if kind == b"pHYs":
            x, y, unit = struct.unpack(">IIB", body)
            assert unit == 1  # per metre
            return x * 0.0254, y * 0.0254
        at += 12 + length
    raise AssertionError("no pHYs chunk")


def _texts(figure: object) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_text()]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- scale bar


@pytest.mark.parametrize(
    ("width_m", "km"),
    [
        (60_000, 10.0),  # a quarter is 15 km: 10 is the longest round length within it
        (3_000, 0.5),  # 0.75 km → 0.5
        (100_000, 20.0),  # 25 km → 20
        (4_000, 1.0),  # exactly 1 km
        (7_990, 1.0),  # 1.9975 km: 2 is too long
        (8_000, 2.0),
        (400, 0.1),
        (250_000, 50.0),  # 62.5 km → 50
    ],
)
def test_scale_bar_length_for_hand_worked_widths(width_m, km):
    assert scale_bar_km(width_m) == km


def test_scale_bar_matches_a_brute_force_search():
    rng = np.random.default_rng(12)
    candidates = sorted(s * 10.0**k for s in (1, 2, 5) for k in range(-4, 7))
    for width in 10 ** rng.uniform(2, 6, 300):
        expected = max(c for c in candidates if c <= width / 4 / 1000 * (1 + 1e-12))
        assert math.isclose(scale_bar_km(width), expected, rel_tol=1e-9)


@pytest.mark.parametrize("width_m", [0.0, -5.0, float("nan"), float("inf")])
def test_scale_bar_refuses_a_frame_without_width(width_m):
    with pytest.raises(InputError, match="no scale bar"):
        scale_bar_km(width_m)


@pytest.mark.parametrize("n_areas", [3, 30])
def test_scale_bar_is_true_in_national_grid_metres(n_areas):
    m = _time_map([5.0] * n_areas)
    figure = _map_figure(static_map(m))
    ax = figure.axes[0]
    x0, x1 = ax.get_xlim()
    km = scale_bar_km(x1 - x0)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 2
    assert math.isclose(sum(p.get_width() for p in bars), km * 1000, rel_tol=1e-9)
    # equal scale both ways: 1 km is as long across as up on the paper
    (ax_, ay_), (bx, _by), (_cx, cy) = ax.transData.transform(
        [(x0, 0.0), (x0 + 1000.0, 0.0), (x0, 1000.0)]
    )
    assert math.isclose(bx - ax_, cy - ay_, rel_tol=1e-6)
    labels = {t.get_text() for t in _texts(ax)}
    assert f"{km:g} km" in labels
    assert "N\ngrid north" in labels


# --------------------------------------------------------------------------- what is drawn


def test_time_map_areas_have_the_page_colours_and_hatching():
    minutes = [1.0, 6.0, 12.0, 19.0, 25.0, float("nan")]
    m = _time_map(minutes)
    static = static_map(m)
    polygons = [layer for layer in static.layers if isinstance(layer, StaticPolygons)]
    fills = next(p for p in polygons if len(p.fill) == len(minutes) and p.fill[0] is not None)
    bins = [5.0, 10.0, 15.0, 20.0, 30.0, 40.0]
    expected = [time_colour(v, bins) for v in minutes]
    assert list(fills.hatched) == [c == palettes.HATCH_FILL for c in expected]
    assert list(fills.fill[:-1]) == expected[:-1]
    assert fills.fill[-1] == palettes.NO_DATA
    # the gap outline: the one area beyond 20 min, dashed as on the page
    gap = next(p for p in polygons if p.dash == (6.0, 4.0))
    assert len(gap.geometry) == 1 and gap.fill == (None,)
    assert gap.geometry[0].equals(shapely.box(354000, 240000, 355000, 241000))
    points = [layer for layer in static.layers if isinstance(layer, StaticPoints)]
    assert [p.letter for p in points] == [("P", "P")]
    assert points[0].dashed == (False, True)  # the second lies outside the study area


def test_layers_hidden_on_the_page_are_not_drawn():
    areas = _squares([1.0, 2.0])
    areas["beyond"] = False
    quality = areas.assign(extra_minutes=[0.0, 30.0])
    m = access_map(
        areas,
        _providers(["primary"]),
        kind="primary",
        mode="car",
        threshold=20.0,
        caption="",
        quality=quality,
        other_providers=_providers(["primary"]),
    )
    static = static_map(m)
    names = {layer.name for layer in static.layers}
    assert "Extra minutes to a good or outstanding provider" not in names
    assert not any("Not counted" in n for n in names)
    # nor the legend rows folded away with the hidden layer
    labels = [r.label for block in static.legends for r in block.rows]
    assert not any("extra min" in label for label in labels)


@pytest.mark.parametrize("builder", ["time", "value"])
def test_figure_legend_rows_equal_the_page_legend(builder):
    if builder == "time":
        m = _time_map([1.0, 30.0, float("nan")])
    else:
        m = _value_map([0.2, 1.2, float("nan")])
    page_rows = _html_legend_rows(offline_html(m))
    static = static_map(m)
    assert len(static.legends) == 1
    rows = static.legends[0].rows
    assert len(page_rows) >= 8  # classes, the hatched class, and more
    assert [r.label for r in rows] == [text for _bg, text in page_rows]
    for row, (background, _text) in zip(rows, page_rows, strict=True):
        assert row.swatch is not None
        if background == palettes.HATCH_CSS:
            assert row.swatch.hatched and row.swatch.fill == palettes.NO_DATA
        elif background not in ("", "none"):
            assert row.swatch.fill == background
    # and the figure draws every row's text, in order, beside the map
    legend_ax = _map_figure(static).axes[1]
    drawn = " ".join(t.get_text() for t in legend_ax.texts if len(t.get_text()) > 1)
    expected = " ".join([static.legends[0].title, *(r.label for r in rows)])
    assert " ".join(drawn.split()) == " ".join(expected.split())


def test_value_map_fills_follow_the_classes():
    values = [0.2, 0.5, 0.7, 1.2, 2.0, float("nan")]
    static = static_map(_value_map(values))
    layer = next(
        p for p in static.layers if isinstance(p, StaticPolygons) and len(p.fill) == len(values)
    )
    expected = [value_colour(v, [0.5, 1.0, 1.5], MORE_IS_BETTER[:4]) for v in values]
    assert list(layer.fill[:-1]) == expected[:-1]
    assert layer.hatched == (False,) * 5 + (True,)
    assert static.attributions == ("Contains OS data © Crown copyright and database right 2024",)


def test_a_map_without_a_frame_is_refused():
    import folium

    with pytest.raises(GeomapError, match="new_map"):
        static_map(folium.Map())


# --------------------------------------------------------------------------- text from data


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_draws_literally(text):
    m = _value_map([0.2, 1.2], title=f"Title {text}")
    static = static_map(m)
    static = StaticMap(
        title=static.title,
        caption=f"Caption {text}\nContains {text} data © someone",
        attributions=(f"Contains {text} data © someone",),
        frame=static.frame,
        layers=static.layers,
        legends=static.legends,
    )
    figure = _map_figure(static)
    texts = _texts(figure)
    assert all(not t.get_parse_math() for t in texts)
    drawn = [t.get_text() for t in texts]
    assert f"Title {text}" in drawn
    assert f"Caption {text}" in drawn
    files = map_figure(static, dpi=50)  # drawing must not fail or parse the text
    assert files["png"].startswith(b"\x89PNG")
    assert files["pdf"].startswith(b"%PDF")


def test_hostile_legend_title_draws_literally():
    m = value_map(
        _squares([1.0]),
        column="value",
        title="t",
        caption="",
        bins=[0.5],
        colours=MORE_IS_BETTER[:2],
        unit="$x$ {{ u }}",
        popup_fields=[],
        legend_title=r"$\frac{1}{2}$ <b>{{ 7*7 }}</b>",
    )
    static = static_map(m)
    assert static.legends[0].title == r"$\frac{1}{2}$ <b>{{ 7*7 }}</b>"
    assert static.legends[0].rows[0].label == "up to 0.5 $x$ {{ u }}"
    drawn = [t.get_text() for t in _texts(_map_figure(static))]
    assert r"$\frac{1}{2}$ <b>{{ 7*7 }}</b>" in drawn


# --------------------------------------------------------------------------- files


def test_map_figure_files_are_300_dpi_png_and_type42_pdf_and_repeatable():
    static = static_map(_value_map([0.2, 1.2, float("nan")], title="Places per child"))
    files = map_figure(static)
    assert set(files) == {"png", "pdf"}
    assert _png_dpi(files["png"]) == pytest.approx((300, 300), abs=0.01)
    pdf = files["pdf"]
    assert pdf.startswith(b"%PDF")
    assert b"/CIDFontType2" in pdf and b"/FontFile2" in pdf  # TrueType (Type 42), selectable
    assert b"/Type3" not in pdf and b"/CreationDate" not in pdf
    assert map_figure(static) == files  # no dates: the same map, the same bytes


def test_pdf_text_is_findable_through_its_unicode_map():
    """The title's characters are mapped back to Unicode (ToUnicode), so a reader can find it."""
    files = map_figure(static_map(_value_map([0.2], title="Qxz title")))
    pdf = files["pdf"]
    assert b"/ToUnicode" in pdf
    # every stream, inflated: the CMap holds the title's letters as UTF-16 code points
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    text = b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")
    for letter in "Qxz":
        assert f"<{ord(letter):04X}>".encode() in text or f"<{ord(letter):04x}>".encode() in text


def test_chart_files_are_png_and_pdf():
    import pandas as pd

    bands = pd.DataFrame(
        {
            "kind": "primary",
            "mode": ["car", "walk"],
            "minutes": [15.0, 15.0],
            "share_within": [0.9, np.nan],
        }
    )
    files = bands_chart_files(bands, kind="primary", title="$$$ {{ x }}", caption="$\\frac{a}{b}$")
    assert files["png"].startswith(b"\x89PNG") and files["pdf"].startswith(b"%PDF")


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("png", "map.html"), ("pdf", "map.png"), ("html", "map.pdf"), ("png", "map.pdf")],
)
def test_map_command_refuses_a_suffix_that_is_not_the_format(tmp_path, fmt, name):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["map", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 1
    assert f"--format is {fmt}" in result.output
    assert result.output.count("Error:") == 1
    assert not out.exists()


def test_map_command_refuses_a_suffix_of_no_format(tmp_path):
    result = CliRunner().invoke(main, ["map", "--format", "png", "--out", str(tmp_path / "m.csv")])
    assert result.exit_code == 1
    assert "is not a format this command writes" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_map_command_writes_a_figure(tmp_path, fmt):
    out = tmp_path / f"providers.{fmt}"
    result = CliRunner().invoke(main, ["map", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    if fmt == "png":
        assert _png_dpi(data) == pytest.approx((300, 300), abs=0.01)
    else:
        assert data.startswith(b"%PDF")


@pytest.mark.slow
def test_report_writes_a_figure_for_every_map_and_a_pdf_for_every_chart(report_dir: Path):
    maps = sorted(p.stem for p in (report_dir / "maps").glob("*.html"))
    assert maps
    for name in maps:
        png = (report_dir / "figures" / f"{name}.png").read_bytes()
        assert _png_dpi(png) == pytest.approx((300, 300), abs=0.01)
        assert (report_dir / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.stem for p in (report_dir / "figures").iterdir()) == sorted(maps * 2)
    charts = sorted(p.stem for p in (report_dir / "charts").glob("*.png"))
    assert charts
    assert sorted(p.stem for p in (report_dir / "charts").glob("*.pdf")) == charts


@pytest.mark.slow
def test_report_without_figures_writes_none_and_links_none(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["report", "--quiet", "--mode", "car", "--no-figures", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert not (out / "figures").exists()
    assert sorted(p.suffix for p in (out / "charts").iterdir()) == [".png"] * len(
        list((out / "charts").iterdir())
    )
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "figures/" not in index and ".pdf" not in index
    assert (out / "explore.html").exists() and (out / "headlines.csv").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_figures_are_shared_between_the_two_writers_without_repeats():
    """Two processes taking jobs from one counter take each exactly once."""
    from geomap import report

    names = [f"m{i}" for i in range(200)]
    drawing = report._Jobs(names, charts={}, figures=True, shared=True)
    assert drawing.names[:2] == ["map:m0", "map:m1"]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the other writer: take until none is left, and say which
        mine = []
        while (taken := drawing._take()) < len(names):
            mine.append(taken)
        os.write(write, ",".join(map(str, mine)).encode())
        os._exit(0)
    os.close(write)
    here = []
    while (taken := drawing._take()) < len(names):
        here.append(taken)
    with os.fdopen(read) as pipe:
        there = [int(t) for t in pipe.read().split(",") if t]
    os.waitpid(pid, 0)
    assert sorted(here + there) == list(range(len(names)))


def test_the_png_caption_drawn_by_pillow_matches_matplotlib_s():
    """The caption's lines in the PNG come from Pillow: the same lines, in the same place."""
    from geomap.figures import _png_rgb, _png_with_plain_lines

    caption = "\n".join(f"Line {i}: data from somewhere, method and its error." for i in range(6))
    static = static_map(_time_map([1.0, 6.0, 12.0], caption=caption))
    figure = _map_figure(static)
    lines = [t for t in figure.texts if t.get_gid() == "geomap-plain-line"]
    assert [t.get_text() for t in lines][:6] == caption.split("\n")
    ours = np.asarray(PIL.Image.open(io.BytesIO(_png_with_plain_lines(figure, dpi=300))))
    theirs = np.asarray(PIL.Image.open(io.BytesIO(_png_rgb(figure, dpi=300))))
    assert all(t.get_visible() for t in lines)  # shown again for the PDF
    assert ours.shape == theirs.shape
    ink_ours, ink_theirs = ours.min(axis=2) < 128, theirs.min(axis=2) < 128
    rows_ours, rows_theirs = (
        np.flatnonzero(ink_ours.any(axis=1)),
        np.flatnonzero(ink_theirs.any(axis=1)),
    )
    # the same text rows (baselines within two pixels), and about as much ink
    assert abs(rows_ours.max() - rows_theirs.max()) <= 2
    assert abs(int(ink_ours.sum()) - int(ink_theirs.sum())) < 0.15 * int(ink_theirs.sum())
