"""Palettes anyone can read: adjacent classes stay apart under simulated colour blindness.

Colour differences are measured with ``colorspacious`` (an established
implementation of CAM02-UCS and of the Machado et al. 2009 simulation of
colour-vision deficiencies), and the maps are checked to draw their data
classes from :mod:`geomap.palettes` alone.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from colorspacious import cspace_convert
from matplotlib.colors import to_rgb
from shapely.geometry import box
from shipped_data import shipped

from geomap import palettes
from geomap.maps import (
    SUFFICIENCY_STYLES,
    access_map,
    category_map,
    offline_html,
    time_bins,
    time_colour,
    value_colour,
    value_map,
)
from geomap.providers import load_providers

SOURCES = Path(__file__).parents[1] / "geomap"
VISIONS = [None, *palettes.SIMULATED_DEFICIENCIES]


def _ucs(colours: list[str], cvd: str | None) -> np.ndarray:
    rgb = np.array([to_rgb(c) for c in colours])
    if cvd is not None:
        space = {"name": "sRGB1+CVD", "cvd_type": cvd, "severity": 100}
        rgb = np.clip(cspace_convert(rgb, space, "sRGB1"), 0, 1)
    return np.asarray(cspace_convert(rgb, "sRGB1", "CAM02-UCS"))


def adjacent_differences(colours: list[str], cvd: str | None) -> list[float]:
    """CAM02-UCS Euclidean difference between each pair of neighbouring colours."""
    ucs = _ucs(colours, cvd)
    return [float(np.linalg.norm(a - b)) for a, b in itertools.pairwise(ucs)]


@pytest.mark.parametrize("cvd", VISIONS, ids=lambda c: c or "normal")
@pytest.mark.parametrize("name", sorted(palettes.LEGENDS))
def test_adjacent_legend_classes_stay_apart(name, cvd):
    colours = list(palettes.LEGENDS[name])
    differences = adjacent_differences(colours, cvd)
    close = [
        (colours[i], colours[i + 1], round(d, 1))
        for i, d in enumerate(differences)
        if d <= palettes.MIN_DELTA_E
    ]
    assert close == [], f"{name} under {cvd}: classes too alike (ΔE ≤ {palettes.MIN_DELTA_E})"


def test_the_check_catches_a_green_to_red_ramp():
    """The old travel-time ramp (ColorBrewer RdYlGn) fails under protanopia: the test can fail."""
    old = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f0000"]
    assert min(adjacent_differences(old, "protanomaly")) < palettes.MIN_DELTA_E
    # a green and a red of like lightness are far apart to normal vision, close without red cones
    assert adjacent_differences(["#1a9850", "#d73027"], None)[0] > 30
    assert adjacent_differences(["#1a9850", "#d73027"], "deuteranomaly")[0] < 15


def test_difference_matches_a_hand_worked_case():
    # black to white is J' = 0 to 100 in CAM02-UCS with no chroma: ΔE = 100
    assert adjacent_differences(["#000000", "#ffffff"], None)[0] == pytest.approx(100, abs=0.5)
    assert adjacent_differences(["#777777", "#777777"], "protanomaly")[0] == pytest.approx(0)


@pytest.mark.parametrize(
    ("ramp", "darker_is_more"),
    [
        (palettes.TRAVEL_TIME, True),
        (palettes.MORE_IS_BETTER, True),
        (palettes.MORE_IS_WORSE, True),
        (palettes.REACH_BANDS, False),
    ],
)
@pytest.mark.parametrize("cvd", VISIONS, ids=lambda c: c or "normal")
def test_sequential_ramps_change_lightness_one_way(ramp, darker_is_more, cvd):
    lightness = _ucs(list(ramp), cvd)[:, 0]
    steps = np.diff(lightness)
    assert (steps < 0).all() if darker_is_more else (steps > 0).all()


def test_hatch_pattern_and_swatch():
    svg = palettes.hatch_svg()
    assert f'id="{palettes.HATCH_ID}"' in svg and 'aria-hidden="true"' in svg
    assert f"url(#{palettes.HATCH_ID})" == palettes.HATCH_FILL
    assert palettes.swatch_css(palettes.HATCH_FILL).startswith("repeating-linear-gradient")
    assert palettes.swatch_css("#123456") == "#123456"


# --------------------------------------------------------------------------- the maps use them

#: a hex colour, not a character reference such as ``&#123;``
_HEX = re.compile(r"(?<!&)#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def _is_grey(colour: str) -> bool:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return digits[0:2].lower() == digits[2:4].lower() == digits[4:6].lower()


@pytest.mark.parametrize("module", ["maps.py", "figures.py", "report.py", "finder.py"])
def test_no_stray_colours_outside_the_palette_module(module):
    """Only neutral greys (outlines, text, shadows) may be written outside geomap.palettes."""
    text = (SOURCES / module).read_text(encoding="utf-8")
    stray = sorted({c for c in _HEX.findall(text) if not _is_grey(c)})
    assert stray == [], f"{module} has colours of its own: {stray}; add them to geomap/palettes.py"


def test_the_stray_colour_check_sees_a_colour():
    assert _HEX.findall('x = "#1a9850"; y = "#fff"; z = "&#123;"') == ["#1a9850", "#fff"]
    assert not _is_grey("#1a9850") and _is_grey("#fff") and _is_grey("#555555")


def test_time_and_value_colours_come_from_the_palettes():
    bins = time_bins(20)  # 5, 10, 15, 20, 30, 40
    got = [time_colour(m, bins) for m in (0, 5, 5.1, 12, 20, 25, 40, 41, np.nan)]
    t = palettes.TRAVEL_TIME
    assert got == [t[0], t[0], t[1], t[2], t[3], t[4], t[5], t[6], palettes.HATCH_FILL]
    b = palettes.MORE_IS_BETTER
    assert [value_colour(v, [1, 2, 3, 4], b) for v in (0.5, 1, 2.5, 9, np.nan)] == [
        b[0],
        b[0],
        b[2],
        b[4],
        palettes.HATCH_FILL,
    ]


def _fills(page: str) -> set[str]:
    return set(re.findall(r'"fillColor":\s*"([^"]+)"', page))


@pytest.fixture(scope="module")
def little_county(tmp_path_factory):
    source = tmp_path_factory.mktemp("p") / "p.csv"
    source.write_text("id,name,kind,postcode\np1,Primary One,primary,HR1 1DT\n")
    providers = load_providers(source, postcodes=shipped("postcodes"))
    x, y = providers.geometry.iloc[0].x, providers.geometry.iloc[0].y
    minutes = [1.0, 7.0, 12.0, 18.0, 25.0, 35.0, 50.0, np.nan]
    areas = gpd.GeoDataFrame(
        {
            "area_id": [f"a{i}" for i in range(len(minutes))],
            "area_name": [f"Area {i}" for i in range(len(minutes))],
            "minutes": minutes,
            "beyond": [m > 20 or np.isnan(m) for m in minutes],
            "children": 10,
            "provider_name": "Primary One",
            "places": [0.1, 0.6, 1.1, 1.6, 3.0, np.nan, 0.2, 0.4],
            "flag": ["shortfall", "tight", "balanced", "surplus", "unknown", "tight", "x", "x"],
        },
        geometry=[box(x + 500 * i, y, x + 500 * (i + 1), y + 500) for i in range(len(minutes))],
        crs=27700,
    )
    return areas, providers


def test_access_map_draws_every_class_from_the_palette(little_county):
    areas, providers = little_county
    page = offline_html(
        access_map(areas, providers, kind="primary", mode="walk", threshold=20, caption="c")
    )
    assert _fills(page) == {*palettes.TRAVEL_TIME, palettes.HATCH_FILL}
    assert palettes.hatch_svg() in page
    # the legend names what the pattern-only classes mean
    assert "no journey found (grey, hatched)" in page
    assert "beyond 20 min (gap): heavy dashed outline" in page
    blocks = re.findall(r"_add\((\{\"features\".*?\})\);", page, re.S)
    outlines = [json.loads(b) for b in blocks if '"fillColor"' not in b]
    assert any(len(b["features"]) == 4 for b in outlines)  # the four gap areas, outlined


def test_value_and_category_maps_draw_from_the_palette(little_county):
    areas, _providers = little_county
    page = offline_html(
        value_map(
            areas,
            column="places",
            title="t",
            caption="c",
            bins=[0.5, 1.0, 1.5, 2.0],
            unit="places per child",
            popup_fields=[("area_name", "Area")],
            legend_title="Places",
        )
    )
    b = palettes.MORE_IS_BETTER
    assert _fills(page) == {b[0], b[1], b[2], b[3], b[4], palettes.HATCH_FILL}
    assert "not known (grey, hatched, dotted outline)" in page
    page = offline_html(
        category_map(
            areas,
            column="flag",
            categories=SUFFICIENCY_STYLES,
            title="t",
            caption="c",
            legend_title="Sufficiency",
            popup_fields=[("area_name", "Area")],
        )
    )
    assert _fills(page) == {*palettes.SUFFICIENCY.values(), palettes.HATCH_FILL}
    assert "(grey, hatched, dotted outline)" in page


def test_charts_use_the_mode_palette():
    from geomap.figures import MODE_STYLES

    assert {mode: colour for mode, (colour, _hatch) in MODE_STYLES.items()} == palettes.MODE
    hatches = [hatch for _colour, hatch in MODE_STYLES.values()]
    assert len(set(hatches)) == len(hatches)  # told apart by pattern too
