"""Static charts: real PNG images of the numbers given, with their numbers in words."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from geomap.errors import InputError
from geomap.figures import bands_chart, bands_description, chart_kinds


def _bands():
    rows = []
    for mode, shares in (("walk", [0.1, 0.3, 0.55, 0.6]), ("car", [0.8, 1.0, 1.0, 1.0])):
        for minutes, share in zip((15.0, 30.0, 45.0, 60.0), shares, strict=True):
            rows.append(
                {"kind": "primary", "mode": mode, "minutes": minutes, "share_within": share}
            )
    return pd.DataFrame(rows)


def test_the_chart_is_a_png_of_the_size_asked():
    from PIL import Image

    image = bands_chart(_bands(), kind="primary", title="Primary", caption="Source: test", dpi=100)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = Image.open(io.BytesIO(image)).size
    # 7 × 4.2 inches at 100 dpi, plus the caption below
    assert 600 <= width <= 760 and 400 <= height <= 520
    sharper = bands_chart(_bands(), kind="primary", title="Primary", dpi=200)
    assert Image.open(io.BytesIO(sharper)).size[0] > 1.8 * width


def test_the_bars_are_as_tall_as_the_shares():
    """Read the chart back: a taller share draws more dark (walking) pixels."""
    from PIL import Image

    low = _bands().assign(share_within=lambda t: np.where(t["mode"] == "walk", 0.1, 1.0))
    high = _bands().assign(share_within=lambda t: np.where(t["mode"] == "walk", 0.9, 1.0))

    def dark(table):
        image = Image.open(io.BytesIO(bands_chart(table, kind="primary", title="t", dpi=60)))
        pixels = np.asarray(image.convert("RGB")).astype(int)
        # the walking bars' colour, #00224e
        return int((np.abs(pixels - np.array([0, 34, 78])).sum(axis=2) < 30).sum())

    assert dark(high) > 5 * dark(low) > 0


def test_the_description_says_every_number():
    text = bands_description(_bands(), kind="primary")
    assert text == (
        "Walking: 10% within 15 min, 30% within 30 min, 55% within 45 min, 60% within 60 min. "
        "Car: 80% within 15 min, 100% within 30 min, 100% within 45 min, 100% within 60 min."
    )


def test_no_share_is_said_as_such():
    table = _bands()
    table.loc[0, "share_within"] = np.nan
    assert "n/a within 15 min" in bands_description(table, kind="primary")
    assert bands_chart(table, kind="primary", title="t")[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (_bands().drop(columns=["share_within"]), "lacks share_within"),
        (_bands(), "no rows for secondary"),
    ],
)
def test_bad_tables_are_refused(table, message):
    kind = "secondary" if "share_within" in table else "primary"
    with pytest.raises(InputError, match=message):
        bands_chart(table, kind=kind, title="t")


def test_chart_kinds_keep_the_order_asked():
    table = pd.concat([_bands(), _bands().assign(kind="special")])
    assert chart_kinds(table, ["special", "secondary", "primary"]) == ["special", "primary"]
