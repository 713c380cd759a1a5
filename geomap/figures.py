"""Static charts for reports and papers, drawn with matplotlib (no browser, no display).

Each builder takes a result table and returns the finished image as bytes,
so that callers decide where it goes (a file, or inline in a page). Figures
are built on :class:`matplotlib.figure.Figure` directly, never through
``pyplot``'s global state, so building them in a server, a notebook or in
parallel does not leak windows or memory.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from geomap import palettes, settings
from geomap.errors import InputError

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
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(
        buffer, format="png", dpi=dpi, metadata={"Software": "geomap"}, bbox_inches="tight"
    )
    return buffer.getvalue()


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
            label=MODE_LABELS.get(str(mode), str(mode)),
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
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=8, ncols=len(modes), loc="upper left")
    if caption:
        figure.text(0.01, -0.02, caption, fontsize=7, wrap=True, va="top", ha="left")
    return _png(figure, dpi=dpi)


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
