"""Static charts for reports and papers, drawn with matplotlib (no browser, no display).

Each builder takes a result table and returns the finished image as bytes,
so that callers decide where it goes (a file, or inline in a page). Figures
are built on :class:`matplotlib.figure.Figure` directly, never through
``pyplot``'s global state, so building them in a server, a notebook or in
parallel does not leak windows or memory.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import textwrap
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import PIL.PngImagePlugin
import shapely
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Circle, Polygon, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.textpath import TextPath

from geomap import palettes, settings
from geomap.errors import InputError
from geomap.maps import (
    StaticLines,
    StaticMap,
    StaticPoints,
    StaticPolygons,
    Swatch,
    _collector_paused,
)

#: Bar colours by mode (:data:`geomap.palettes.MODE`): dark-to-light steps of
#: cividis, told apart by lightness alone, with hatching as well.
MODE_STYLES: dict[str, tuple[str, str]] = {
    "walk": (palettes.MODE["walk"], ""),
    "bike": (palettes.MODE["bike"], "//"),
    "car": (palettes.MODE["car"], ".."),
    "pt": (palettes.MODE["pt"], "xx"),
}

MODE_LABELS = {"walk": "Walking", "bike": "Cycling", "car": "Car", "pt": "Public transport"}


def _png(figure: Figure, *, dpi: int) -> bytes:
    """The figure as a PNG cut to what it draws, as ``savefig(bbox_inches="tight")`` cuts it.

    Saving with ``bbox_inches="tight"`` first draws the whole figure (without
    painting) to lay it out and measure it, then draws it again. Here the
    layout is made and measured without that first draw, and the figure is
    saved once with the box found: the same image.
    """
    buffer = io.BytesIO()
    canvas = FigureCanvasAgg(figure)
    engine = figure.get_layout_engine()
    original_dpi = figure.dpi
    figure.set_dpi(dpi)
    try:
        renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
        if engine is not None:
            engine.execute(figure)
        box = figure.get_tightbbox(renderer).padded(mpl.rcParams["savefig.pad_inches"])
        with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            figure.set_layout_engine(None)  # laid out above: saving does not lay it out again
        figure.savefig(
            buffer, format="png", dpi=dpi, metadata={"Software": "geomap"}, bbox_inches=box
        )
    finally:
        figure.set_layout_engine(engine)
        figure.set_dpi(original_dpi)
    return buffer.getvalue()


#: PDF metadata: no creation date, so the same figure gives the same bytes.
_PDF_METADATA = {"Creator": "geomap", "Producer": "geomap", "CreationDate": None}


def _pdf(figure: Figure, *, bbox_inches: str | None = None) -> bytes:
    """The figure as a PDF with its fonts embedded as TrueType (Type 42): text stays selectable."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    with _font_subsets_kept(), mpl.rc_context({"pdf.fonttype": 42, "pdf.compression": 1}):
        figure.savefig(buffer, format="pdf", metadata=_PDF_METADATA, bbox_inches=bbox_inches)
    return buffer.getvalue()


#: Characters every embedded font subset holds, so that figures share one subset.
_COMMON_TEXT = "".join(chr(c) for c in range(32, 127)) + "–—…‘’“”©£÷×∝→≥≤°±·•½"


class _KeptFont:
    """A font subset kept as its bytes, standing in for fontTools' ``TTFont`` when saved."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def save(self, file: Any, reorderTables: bool = False) -> None:  # noqa: N803 (fontTools' name)
        """Write the kept bytes."""
        file.write(self.data)


_SUBSETS: dict[tuple[str, int, frozenset[int]], tuple[bytes, dict[int, int]]] = {}


@functools.cache
def _common_glyphs(path: str, face: int) -> frozenset[int]:
    font = FT2Font(path, face_index=face) if face else FT2Font(path)
    return frozenset(int(font.get_char_index(ord(c))) for c in _COMMON_TEXT) - {0}


@contextlib.contextmanager
def _font_subsets_kept() -> Iterator[None]:
    """Within the block, matplotlib's PDF font subsets are made once and reused.

    Making a TrueType subset reads the whole font with fontTools, which took
    most of the time of writing a map's PDF. Each subset here holds the
    glyphs asked for and those of :data:`_COMMON_TEXT`, so the figures of a
    report share one subset per font; the bytes and the glyph map are the
    same as a fresh subset of those glyphs gives.
    """
    # imported here: it loads fontTools, which only the PDFs need
    from matplotlib.backends import _backend_pdf_ps

    original = _backend_pdf_ps.get_glyphs_subset

    def kept(fontfile: Any, glyphs: Any) -> Any:
        path, face = os.fspath(fontfile), int(getattr(fontfile, "face_index", 0) or 0)
        wanted = frozenset(int(g) for g in glyphs) | _common_glyphs(path, face)
        key = (path, face, wanted)
        found = _SUBSETS.get(key)
        if found is None:
            with original(fontfile, set(wanted)) as subset:
                found = (
                    _backend_pdf_ps.font_as_file(subset.font).getvalue(),  # type: ignore[no-untyped-call]
                    dict(subset.glyph_index_map),
                )
            if len(_SUBSETS) >= 8:
                _SUBSETS.pop(next(iter(_SUBSETS)))
            _SUBSETS[key] = found
        return contextlib.nullcontext(
            SimpleNamespace(font=_KeptFont(found[0]), glyph_index_map=found[1])
        )

    _backend_pdf_ps.get_glyphs_subset = kept
    try:
        yield
    finally:
        _backend_pdf_ps.get_glyphs_subset = original


def bands_chart(
    bands: pd.DataFrame,
    *,
    kind: str,
    title: str,
    caption: str = "",
    dpi: int = 110,
) -> bytes:
    """A bar chart of the share of children within each journey-time band, by mode.

    Parameters
    ----------
    bands
        Long table with ``kind``, ``mode``, ``minutes`` (the band) and
        ``share_within`` (0 to 1), as :func:`geomap.gaps.share_within_bands` gives.
    kind
        The kind to draw.
    title
        Title above the chart.
    caption
        Text under the chart (source, method).
    dpi
        Resolution of the PNG.

    Returns
    -------
    bytes
        The chart as a PNG.

    Raises
    ------
    InputError
        If ``bands`` has no rows for ``kind`` or lacks a column.
    """
    with _collector_paused():
        return _png(_bands_figure(bands, kind=kind, title=title, caption=caption), dpi=dpi)


def bands_chart_files(
    bands: pd.DataFrame,
    *,
    kind: str,
    title: str,
    caption: str = "",
    dpi: int = 110,
) -> dict[str, bytes]:
    """The chart of :func:`bands_chart` as a PNG and a PDF, built once.

    Parameters
    ----------
    bands, kind, title, caption
        As for :func:`bands_chart`.
    dpi
        Resolution of the PNG (the PDF is vector).

    Returns
    -------
    dict of str to bytes
        ``png`` and ``pdf``.

    Raises
    ------
    InputError
        If ``bands`` has no rows for ``kind`` or lacks a column.
    """
    with _collector_paused():
        figure = _bands_figure(bands, kind=kind, title=title, caption=caption)
        return {"png": _png(figure, dpi=dpi), "pdf": _pdf(figure, bbox_inches="tight")}


def _bands_figure(bands: pd.DataFrame, *, kind: str, title: str, caption: str) -> Figure:
    missing = {"kind", "mode", "minutes", "share_within"} - set(bands.columns)
    if missing:
        raise InputError(f"the bands table lacks {', '.join(sorted(missing))}")
    rows = bands[bands["kind"] == kind]
    if rows.empty:
        raise InputError(f"the bands table has no rows for {kind}")
    minutes = sorted(float(m) for m in rows["minutes"].unique())
    modes = [m for m in MODE_STYLES if m in set(rows["mode"])]
    modes += sorted(set(rows["mode"]) - set(modes))
    figure = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = figure.add_subplot()
    width = 0.8 / max(len(modes), 1)
    x = np.arange(len(minutes), dtype=float)
    for i, mode in enumerate(modes):
        colour, hatch = MODE_STYLES.get(str(mode), ("#777777", "--"))
        share = (
            rows[rows["mode"] == mode]
            .set_index("minutes")["share_within"]
            .reindex(minutes)
            .to_numpy(dtype=float)
        )
        bars = ax.bar(
            x + (i - (len(modes) - 1) / 2) * width,
            np.nan_to_num(share) * 100,
            width,
            label=_literal(MODE_LABELS.get(str(mode), str(mode))),
            color=colour,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.6,
        )
        ax.bar_label(bars, labels=[_percent(v) for v in share], fontsize=7, padding=2)
    ax.set_xticks(x, [f"within {m:g} min" for m in minutes])
    ax.set_ylim(0, 110)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"Children aged {_ages(kind)} (%)")
    ax.set_title(title, fontsize=11, loc="left", parse_math=False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, ncols=len(modes), loc="upper left")
    if caption:
        figure.add_artist(
            _WrappedText(
                0.01,
                -0.02,
                caption,
                fontsize=7,
                wrap=True,
                va="top",
                ha="left",
                parse_math=False,
                transform=figure.transSubfigure,
            )
        )
    return figure


class _WrappedText(Text):
    """Text wrapped to the figure's width as ``wrap=True`` wraps it, measuring fewer lines.

    Matplotlib finds where each line breaks by measuring ever longer runs of
    its words, each from scratch, on every layout and draw: for a chart's
    150-character caption that was a third of drawing the chart. A run only
    grows wider with each word added, so halving the number of words finds
    the same break; and the widths are kept (by renderer kind, resolution
    and font) for the next layout and draw of the same text.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._widths: dict[tuple[Any, ...], int] = {}

    def _get_wrapped_text(self) -> str:
        """The text with line breaks where matplotlib's ``wrap=True`` puts them."""
        if not self.get_wrap() or self.get_usetex():
            return self.get_text()
        try:
            line_width = self._get_wrap_line_width()  # type: ignore[attr-defined]
            self._get_rendered_text_width  # type: ignore[attr-defined]  # noqa: B018
        except AttributeError:  # a matplotlib that measures otherwise: wrap as it does
            return str(super()._get_wrapped_text())  # type: ignore[misc]
        wrapped: list[str] = []
        for paragraph in self.get_text().split("\n"):
            words = paragraph.split(" ")
            while words:
                # the most words (at least one) whose run is no wider than the line
                fit, wide = 1, len(words) + 1
                while wide - fit > 1:
                    middle = (fit + wide) // 2
                    if self._width(" ".join(words[:middle])) > line_width:
                        wide = middle
                    else:
                        fit = middle
                wrapped.append(" ".join(words[:fit]))
                words = words[fit:]
        return "\n".join(wrapped)

    def _width(self, line: str) -> int:
        """Width of ``line`` in pixels, as matplotlib measures it for wrapping."""
        key = (
            type(self._renderer),  # type: ignore[attr-defined]
            self.get_figure().dpi,  # type: ignore[union-attr]
            self.get_fontproperties().copy(),
            line,
        )
        width = self._widths.get(key)
        if width is None:
            width = int(self._get_rendered_text_width(line))  # type: ignore[attr-defined]
            self._widths[key] = width
        return width


def bands_description(bands: pd.DataFrame, *, kind: str) -> str:
    """The chart's numbers in words, for its alternative text.

    Parameters
    ----------
    bands
        As for :func:`bands_chart`.
    kind
        The kind drawn.

    Returns
    -------
    str
        One sentence per mode: the share within each band.
    """
    rows = bands[bands["kind"] == kind]
    parts = []
    for mode, group in rows.groupby("mode", sort=False):
        shares = ", ".join(
            f"{_percent(s)} within {m:g} min"
            for m, s in zip(group["minutes"], group["share_within"], strict=True)
        )
        parts.append(f"{MODE_LABELS.get(str(mode), str(mode))}: {shares}.")
    return " ".join(parts)


def _percent(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value * 100:.0f}%"


def _ages(kind: str) -> str:
    low, high = settings.AGE_BANDS.get(kind, (0, 0))
    return f"{low}–{high}"


def chart_kinds(bands: pd.DataFrame, kinds: Sequence[str]) -> list[str]:
    """The kinds of ``kinds`` that ``bands`` has rows for, in that order.

    Parameters
    ----------
    bands
        As for :func:`bands_chart`.
    kinds
        Kinds in the order wanted.

    Returns
    -------
    list of str
        Those with rows.
    """
    present = set(bands["kind"])
    return [k for k in kinds if k in present]


def _literal(text: str) -> str:
    """Text for an artist that cannot take ``parse_math=False`` (legend labels): ``$`` escaped."""
    return text.replace("$", r"\$")


# --------------------------------------------------------------------------- static maps

#: Width of a map figure: the text width of an A4 page with 20 mm margins.
FIGURE_WIDTH_MM = 170.0
_MM = 1 / 25.4
#: Points per screen pixel of the HTML map, for line widths, dashes and markers in print.
_PT_PER_PX = 0.5
#: Scale-bar lengths tried, in km (times powers of ten).
_ROUND_STEPS = (1.0, 2.0, 5.0)


def scale_bar_km(width_m: float, *, share: float = 0.25) -> float:
    """A round scale-bar length for a map ``width_m`` metres wide.

    Parameters
    ----------
    width_m
        Width of the map's frame in metres (EPSG:27700, true on the ground to
        within 0.04% across England).
    share
        The largest share of the width the bar may take.

    Returns
    -------
    float
        The longest of 1, 2 or 5 times a power of ten kilometres that is at
        most ``share`` of the width (10 km for a 60 km wide map, 0.5 km for 3 km).

    Raises
    ------
    InputError
        If ``width_m`` is not a positive, finite number.
    """
    if not math.isfinite(width_m) or width_m <= 0:
        raise InputError(
            f"a map {width_m} m wide has no scale bar",
            fix="Give the map a frame of positive width",
        )
    most = width_m * share / 1000.0
    power = 10.0 ** math.floor(math.log10(most))
    best = power
    for step in _ROUND_STEPS:
        if step * power <= most * (1 + 1e-9):
            best = step * power
    return float(f"{best:.6g}")


def map_figure(static: StaticMap, *, dpi: int = 300) -> dict[str, bytes]:
    """A map as a figure for papers: PNG and PDF, drawn once from the map's description.

    The figure is 170 mm wide: title, the map with a scale bar and a grid-north
    arrow, the legend beside it (the HTML map's classes, colours and labels),
    then the caption and the data credits. Text is drawn as typed (no
    mathtext, no markup). The files carry no dates, so the same map gives the
    same bytes; the PDF embeds its fonts as TrueType (Type 42), so its text can
    be selected and searched.

    Parameters
    ----------
    static
        What the map draws: ``m.static`` of a map built by :mod:`geomap.maps`
        (see :func:`geomap.maps.static_map`).
    dpi
        Resolution of the PNG (the PDF is vector).

    Returns
    -------
    dict of str to bytes
        ``png`` and ``pdf``.
    """
    with _collector_paused():
        figure = _map_figure(static)
        return {"png": _png_with_plain_lines(figure, dpi=dpi), "pdf": _pdf(figure)}


def _png_rgb(figure: Figure, *, dpi: int) -> bytes:
    """The figure as an opaque RGB PNG with its resolution recorded (``pHYs``) and no date.

    Written with Pillow at a low compression level: at 300 dpi, compressing
    the image took longer than drawing it.
    """
    return _png_bytes(_rgb_image(figure, dpi=dpi), dpi=dpi)


def _rgb_image(figure: Figure, *, dpi: int) -> PIL.Image.Image:
    """The figure drawn by Agg at ``dpi``, as an RGB image."""
    figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # type: ignore[no-untyped-call]
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    return PIL.Image.fromarray(np.ascontiguousarray(rgba[..., :3]), mode="RGB")


def _png_bytes(image: PIL.Image.Image, *, dpi: int) -> bytes:
    """``image`` as PNG bytes with its resolution (``pHYs``), at a low compression level."""
    buffer = io.BytesIO()
    info = PIL.PngImagePlugin.PngInfo()
    info.add_text("Software", "geomap")
    image.save(buffer, format="png", dpi=(dpi, dpi), compress_level=1, pnginfo=info)
    return buffer.getvalue()


def _wrap(text: str, *, width_in: float, size: float) -> list[str]:
    """``text`` wrapped to lines that fit ``width_in`` inches at ``size`` points (its own newlines kept)."""
    chars = max(int(width_in * 72 / (0.56 * size)), 10)
    lines: list[str] = []
    for paragraph in text.splitlines():
        lines.extend(textwrap.wrap(paragraph, chars, break_on_hyphens=False) or [""])
    return lines


def _map_figure(static: StaticMap) -> Figure:
    """The figure of :func:`map_figure`, before it is saved."""
    width = FIGURE_WIDTH_MM * _MM
    pad = 0.12
    title_size, text_size, small = 10.5, 6.5, 5.5
    title = _wrap(static.title, width_in=width - 2 * pad, size=title_size)
    credits = list(static.attributions)
    caption = [
        line
        for line in _wrap(
            "\n".join(line for line in static.caption.splitlines() if line.strip() not in credits),
            width_in=width - 2 * pad,
            size=text_size,
        )
        if line.strip()
    ]
    credit_lines = _wrap("\n".join(credits), width_in=width - 2 * pad, size=small)
    legend_w = 0.34 * width
    map_w = width - legend_w - 3 * pad
    minx, miny, maxx, maxy = static.frame
    span_x, span_y = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    map_h = min(max(map_w * span_y / span_x, 2.2), 1.35 * map_w)
    row_h = 1.5 * text_size / 72
    rows = [
        (_wrap(text, width_in=legend_w - (0.3 if role == "row" else 0.0), size=text_size), s, role)
        for text, s, role in _legend_rows(static)
    ]
    legend_h = sum(len(lines) for lines, _s, _r in rows) * row_h + pad
    body_h = max(map_h, legend_h)
    title_h = len(title) * 1.3 * title_size / 72 + pad
    caption_h = len(caption) * 1.35 * text_size / 72 + len(credit_lines) * 1.35 * small / 72
    height = pad + title_h + body_h + pad + caption_h + pad
    figure = Figure(figsize=(width, height))
    for i, line in enumerate(title):
        figure.text(
            pad / width,
            1 - (pad + (i + 0.8) * 1.3 * title_size / 72) / height,
            line,
            fontsize=title_size,
            ha="left",
            va="baseline",
            parse_math=False,
        )
    top = pad + title_h
    # the map: equal scale in both directions, framed on the frame's centre
    ax = figure.add_axes((pad / width, 1 - (top + map_h) / height, map_w / width, map_h / height))
    per_in = max(span_x / map_w, span_y / map_h)  # metres per inch of paper
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    ax.set_xlim(cx - per_in * map_w / 2, cx + per_in * map_w / 2)
    ax.set_ylim(cy - per_in * map_h / 2, cy + per_in * map_h / 2)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color("#777777")
    for layer in static.layers:
        if isinstance(layer, StaticPolygons):
            _draw_polygons(ax, layer)
        elif isinstance(layer, StaticLines):
            _draw_lines(ax, layer)
        else:
            _draw_points(ax, layer)
    _scale_bar(ax, width_m=per_in * map_w, size=small)
    _north_arrow(ax, size=small)
    # the legend beside the map
    legend = figure.add_axes(
        (
            (2 * pad + map_w) / width,
            1 - (top + legend_h) / height,
            legend_w / width,
            legend_h / height,
        )
    )
    legend.set_axis_off()
    legend.set_xlim(0, legend_w)
    legend.set_ylim(legend_h, 0)
    _draw_legend(legend, rows, row_h=row_h, size=text_size)
    y = top + body_h + pad
    for lines, size, colour in ((caption, text_size, "#000000"), (credit_lines, small, "#444444")):
        for line in lines:
            y += 1.35 * size / 72
            figure.text(
                pad / width,
                1 - y / height,
                line,
                fontsize=size,
                color=colour,
                va="baseline",
                parse_math=False,
                gid=_PLAIN_LINE,
            )
    return figure


#: The ``gid`` of the caption's and credits' lines: plain left-aligned text on
#: white, which the PNG gets from Pillow (see :func:`_png_with_plain_lines`).
_PLAIN_LINE = "geomap-plain-line"


def _png_with_plain_lines(figure: Figure, *, dpi: int) -> bytes:
    """:func:`_png_rgb`, with the caption's and credits' lines drawn by Pillow.

    Drawing some 2,000 characters of caption took matplotlib about half of a
    map figure's PNG; Pillow draws the same lines, in the same font and size
    at the same baselines, in a few milliseconds. The PDF keeps matplotlib's
    text (selectable, searchable).
    """
    lines = [t for t in figure.texts if t.get_gid() == _PLAIN_LINE and t.get_text()]
    for text in lines:
        text.set_visible(False)
    try:
        image = _rgb_image(figure, dpi=dpi)
    finally:
        for text in lines:
            text.set_visible(True)
    draw = PIL.ImageDraw.Draw(image)
    width, height = image.size
    for text in lines:
        font = _pil_font(text.get_fontproperties(), size_px=float(text.get_fontsize()) * dpi / 72)
        x, y = text.get_position()
        draw.text(
            (x * width, (1 - y) * height),
            text.get_text(),
            font=font,
            fill=mpl.colors.to_hex(text.get_color()),
            anchor="ls",  # left, baseline: as matplotlib placed it
        )
    return _png_bytes(image, dpi=dpi)


@functools.cache
def _pil_font_file(properties: FontProperties) -> str:
    return str(font_manager.findfont(properties))


def _pil_font(properties: FontProperties, *, size_px: float) -> PIL.ImageFont.FreeTypeFont:
    """Pillow's font for matplotlib's font properties, at ``size_px`` pixels."""
    return _pil_font_at(_pil_font_file(properties), round(size_px * 64) / 64)


@functools.cache
def _pil_font_at(path: str, size_px: float) -> PIL.ImageFont.FreeTypeFont:
    return PIL.ImageFont.truetype(path, size=size_px)


def _polygon_paths(geoms: np.ndarray) -> tuple[list[Path], np.ndarray]:
    """One compound path per polygon or multipolygon (rings closed), and which geometries drew."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    areal = np.isin(shapely.get_type_id(parts), [3]) & ~shapely.is_empty(parts)
    parts, part_of = parts[areal], part_of[areal]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    counts = shapely.get_num_coordinates(rings)
    vertices = shapely.get_coordinates(rings)
    codes = np.full(len(vertices), Path.LINETO, dtype=Path.code_type)
    ends = np.cumsum(counts)
    starts = ends - counts
    codes[starts] = Path.MOVETO
    codes[ends - 1] = Path.CLOSEPOLY
    owner = part_of[ring_of]  # the geometry of each ring, in order
    drawn = np.unique(owner)
    first = np.searchsorted(owner, drawn, side="left")
    last = np.searchsorted(owner, drawn, side="right")
    paths = [
        Path(vertices[starts[a] : ends[b - 1]], codes[starts[a] : ends[b - 1]])
        for a, b in zip(first.tolist(), last.tolist(), strict=True)
    ]
    return paths, drawn


def _linestyle(dash: Sequence[float], width_px: float) -> Any:
    """A matplotlib dash pattern (scaled by line width) for a Leaflet ``dashArray``."""
    if not dash:
        return "solid"
    pattern = [d / max(width_px, 0.1) for d in dash]
    if len(pattern) % 2:
        pattern = pattern * 2
    return (0, tuple(pattern))


def _draw_polygons(ax: Axes, layer: StaticPolygons) -> None:
    paths, drawn = _polygon_paths(layer.geometry)
    if not paths:
        return
    fills = [layer.fill[i] for i in drawn]
    hatched = np.asarray([layer.hatched[i] for i in drawn], dtype=bool)
    alpha = layer.fill_opacity
    plain = [p for p, h, f in zip(paths, hatched, fills, strict=True) if not h and f is not None]
    if plain:
        colours = [f for h, f in zip(hatched, fills, strict=True) if not h and f is not None]
        ax.add_collection(
            PathCollection(plain, facecolors=colours, edgecolors="none", alpha=alpha, zorder=1),
            autolim=False,
        )
    if hatched.any():
        ax.add_collection(
            PathCollection(
                [p for p, h in zip(paths, hatched, strict=True) if h],
                facecolors=palettes.NO_DATA,
                edgecolors=palettes.HATCH_INK,
                linewidths=0,
                hatch="////",
                zorder=1,
            ),
            autolim=False,
        )
    if layer.edge is not None and layer.width > 0:
        ax.add_collection(
            PathCollection(
                paths,
                facecolors="none",
                edgecolors=layer.edge,
                linewidths=layer.width * _PT_PER_PX,
                linestyles=[_linestyle(layer.dash, layer.width)],
                zorder=2,
            ),
            autolim=False,
        )


def _draw_lines(ax: Axes, layer: StaticLines) -> None:
    parts = shapely.get_parts(layer.geometry)
    paths = [Path(np.asarray(shapely.get_coordinates(p))) for p in parts if not p.is_empty]
    if paths:
        ax.add_collection(
            PathCollection(
                paths,
                facecolors="none",
                edgecolors=layer.colour,
                linewidths=layer.width * _PT_PER_PX,
                linestyles=[_linestyle(layer.dash, layer.width)],
                alpha=layer.opacity,
                zorder=3,
            ),
            autolim=False,
        )


_LETTERS: dict[str, Path] = {}


def _letter_marker(letter: str) -> MarkerStyle:
    """A marker drawn as ``letter`` (bold sans-serif; never read as mathtext)."""
    path = _LETTERS.get(letter)
    if path is None:
        text = TextPath((0, 0), letter, size=1, prop=FontProperties(weight="bold"), usetex=False)
        box = text.get_extents()
        shift = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
        path = Path(text.vertices - shift, text.codes)
        _LETTERS[letter] = path
    return MarkerStyle(path)


def _draw_points(ax: Axes, layer: StaticPoints) -> None:
    if not len(layer.xy):
        return
    xy = np.asarray(layer.xy, dtype=float)
    size = (2 * np.asarray(layer.radius) * _PT_PER_PX * 0.8) ** 2
    dashed = np.asarray(layer.dashed, dtype=bool)
    for ring, edge, style in ((False, "white", "solid"), (True, "#222222", (0, (2, 1)))):
        pick = dashed == ring
        if pick.any():
            ax.scatter(
                xy[pick, 0],
                xy[pick, 1],
                s=size[pick],
                c=[layer.colour[i] for i in np.flatnonzero(pick)],
                marker="s" if layer.square else "o",
                edgecolors=edge,
                linewidths=0.6,
                linestyles=style,
                zorder=4,
            )
    letters = np.asarray(layer.letter, dtype=object)
    for letter in sorted(set(layer.letter) - {""}):
        pick = letters == letter
        ax.scatter(
            xy[pick, 0],
            xy[pick, 1],
            s=size[pick] * (0.22 if len(letter) == 1 else 0.35),
            c="white",
            marker=_letter_marker(letter),
            linewidths=0,
            zorder=5,
        )


def _scale_bar(ax: Axes, *, width_m: float, size: float) -> None:
    """A scale bar in the lower left, its length true in EPSG:27700 metres."""
    km = scale_bar_km(width_m)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    left, base = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    tall = 0.012 * (y1 - y0)
    half = km * 500.0
    for i, colour in enumerate(("#000000", "#ffffff")):
        ax.add_patch(
            Rectangle(
                (left + i * half, base),
                half,
                tall,
                facecolor=colour,
                edgecolor="#000000",
                linewidth=0.5,
                zorder=6,
            )
        )
    label = f"{km:g} km"
    for x, text in ((left, "0"), (left + 2 * half, label)):
        ax.text(
            x,
            base + 1.6 * tall,
            text,
            fontsize=size,
            ha="center",
            va="bottom",
            zorder=6,
            parse_math=False,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5},
        )


def _north_arrow(ax: Axes, *, size: float) -> None:
    """An arrow to grid north (British National Grid) in the upper right."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    dx, dy = x1 - x0, y1 - y0
    unit = 0.03 * min(dx, dy)
    tip_x, tip_y = x1 - 0.06 * dx, y1 - 0.05 * dy
    ax.add_patch(
        Polygon(
            [
                (tip_x, tip_y),
                (tip_x - unit * 0.6, tip_y - 2 * unit),
                (tip_x, tip_y - 1.5 * unit),
                (tip_x + unit * 0.6, tip_y - 2 * unit),
            ],
            closed=True,
            facecolor="#000000",
            edgecolor="#000000",
            linewidth=0.4,
            zorder=6,
        )
    )
    ax.text(
        tip_x,
        tip_y - 2.2 * unit,
        "N\ngrid north",
        fontsize=size,
        ha="center",
        va="top",
        linespacing=1.0,
        zorder=6,
        parse_math=False,
    )


def _legend_rows(static: StaticMap) -> list[tuple[str, Swatch | None, str]]:
    """The legends' lines: (text, sample, role) with role ``title``, ``heading`` or ``row``."""
    rows: list[tuple[str, Swatch | None, str]] = []
    for block in static.legends:
        if block.title:
            rows.append((block.title, None, "title"))
        for row in block.rows:
            rows.append((row.label, row.swatch, "heading" if row.heading else "row"))
    return rows


def _draw_legend(
    ax: Axes, rows: list[tuple[list[str], Swatch | None, str]], *, row_h: float, size: float
) -> None:
    """Legend rows (each its wrapped lines), in inches from the legend's top left corner."""
    box_w, box_h = 0.22, 0.8 * row_h
    top = 0.0
    for lines, swatch, role in rows:
        if swatch is not None:
            _draw_swatch(ax, swatch, x=0.0, y=top + 0.5 * row_h, w=box_w, h=box_h)
        for i, line in enumerate(lines):
            ax.text(
                box_w + 0.06 if role == "row" else 0.0,
                top + (i + 0.5) * row_h,
                line,
                fontsize=size,
                va="center",
                ha="left",
                parse_math=False,
            )
        top += len(lines) * row_h


def _draw_swatch(ax: Axes, swatch: Swatch, *, x: float, y: float, w: float, h: float) -> None:
    edge_width = swatch.edge_width * _PT_PER_PX
    dashes: dict[str, tuple[float, Sequence[float]]] = {
        "dashed": (0.0, (3.0, 1.5)),
        "dotted": (0.0, (0.8, 1.2)),
    }
    style = dashes.get(swatch.edge_style, (0.0, ()))
    if swatch.shape == "line":
        ax.add_line(
            Line2D(
                [x, x + w],
                [y, y],
                color=swatch.edge or "#555555",
                linewidth=edge_width,
                linestyle=style if style[1] else "solid",
            )
        )
        return
    face = swatch.fill if swatch.fill is not None else "none"
    patch: Circle | Rectangle
    if swatch.shape == "circle":
        patch = Circle((x + w / 2, y), h / 2)
    else:
        patch = Rectangle((x, y - h / 2), w, h)
    patch.set_facecolor(face)
    patch.set_edgecolor(swatch.edge or "none")
    patch.set_linewidth(edge_width if swatch.edge else 0)
    patch.set_linestyle(style if style[1] else "solid")
    if swatch.hatched:
        patch.set_hatch("////")
        patch.set_hatch_linewidth(0.6)
    ax.add_patch(patch)
    if swatch.letter:
        ax.text(
            x + w / 2,
            y,
            swatch.letter,
            fontsize=0.8 * h * 72,
            fontweight="normal",
            color="white",
            ha="center",
            va="center",
            parse_math=False,
        )


def prepare_figures() -> None:
    """Load the fonts and make the PDF font subsets figures use, once per process.

    The first figure a process draws loads fonts, builds the markers' letters
    and makes a TrueType subset for the PDF, which costs more than drawing a
    figure. Call this before forking worker processes, so that all of them
    share that work; figures are the same whether it was called or not.
    A second call does nothing.
    """
    if _PREPARED:
        return
    frame = (0.0, 0.0, 1000.0, 1000.0)
    points = StaticPoints(
        xy=np.array([[500.0, 500.0]]),
        colour=("#000000",),
        letter=("P",),
        dashed=(False,),
        radius=(10.0,),
        square=False,
        name="",
    )
    letters = [
        StaticPoints(
            xy=np.array([[500.0, 500.0]]),
            colour=("#000000",),
            letter=(letter,),
            dashed=(False,),
            radius=(10.0,),
            square=False,
            name="",
        )
        for letter in "EPS6CXB123456789"
    ]
    static = StaticMap(
        title=_COMMON_TEXT,
        caption=_COMMON_TEXT,
        attributions=(),
        frame=frame,
        layers=(points, *letters),
        legends=(),
    )
    map_figure(static, dpi=20)
    _PREPARED.append(True)


_PREPARED: list[bool] = []
