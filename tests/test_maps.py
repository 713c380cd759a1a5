"""Maps rendered to HTML: layers, legend, caption, offline assets, escaping."""

from __future__ import annotations

import json
import re

import pytest
from shipped_data import shipped

from geomap.maps import offline_html, providers_map, time_bins, time_colour
from geomap.pipeline import analyse
from geomap.providers import load_providers
from geomap.report import kind_map
from geomap.travel.estimate import default_estimate

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def evil_providers(tmp_path_factory):
    path = tmp_path_factory.mktemp("evil") / "p.csv"
    path.write_text(
        "id,name,kind,rating,postcode\n"
        f'x1,"{EVIL}",primary,"<b>Good</b>",HR1 1DT\n'
        "x2,Plain School,secondary,Good,HR9 7ET\n"
    )
    return load_providers(path, postcodes=shipped("postcodes"))


def _data_blocks(page: str) -> list[dict]:
    """The GeoJSON each layer of the page adds."""
    return [
        json.loads(block) for block in re.findall(r"_add\((\{\"features\".*?\})\);", page, re.S)
    ]


def _external_resources(page: str) -> list[str]:
    return re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?:[^"]+)"', page)


def test_providers_map_is_offline_and_escaped(evil_providers):
    m = providers_map(evil_providers, title=f"Providers {EVIL}", caption=f"caption {EVIL}")
    page = offline_html(m)
    assert _external_resources(page) == []
    assert "L.map(" in page and "jQuery" in page  # Leaflet and jQuery inlined
    assert EVIL not in page  # never raw, anywhere in the page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the title
    features = [f for block in _data_blocks(page) for f in block["features"]]
    evil = next(f["properties"] for f in features if "x1" in f["properties"].get("v", []))
    assert evil["t"] == "&lt;img src=x onerror=alert(1)&gt;"  # tooltip
    assert "<b>&lt;img src=x onerror=alert(1)&gt;</b>" in evil["v"]  # popup name
    assert "&lt;b&gt;Good&lt;/b&gt;" in evil["v"]  # data text with markup shows as text
    assert "Primary (1)" in page and "Secondary (high school) (1)" in page  # one layer per kind
    assert "L.control.layers" in page


def test_access_map_has_choropleth_legend_gaps_and_caption(shipped_inputs):
    walk = default_estimate("walk")
    analysis = analyse(shipped_inputs, [walk], kinds=["primary"])
    m, caption = kind_map(shipped_inputs, analysis, kind="primary", mode="walk")
    page = offline_html(m)
    assert _external_resources(page) == []
    assert "Estimated walk travel times" in caption and "not calibrated" in caption
    assert shipped_inputs.study.attribution.split(".")[0] in caption
    assert "Study area: Herefordshire." in caption
    assert "Minutes to nearest (walk)" in page
    n_gaps = int(analysis.coverage["beyond"].sum())
    assert f"Gap areas: beyond 40.2 min ({n_gaps})" in page
    assert (
        "Minutes to nearest: primary" in page
        and "over 80 min" in page
        and "no journey found" in page
    )
    base = [b for b in _data_blocks(page) if len(b["features"]) == 8]
    assert base and {"Powys", "Herefordshire, County of"} <= {
        f["properties"]["area_name"] for f in base[0]["features"]
    }
    # every area polygon is drawn, coloured by its time
    areas = next(
        d
        for d in _data_blocks(page)
        if len(d["features"]) == 116 and "style" in d["features"][0]["properties"]
    )
    minutes = analysis.coverage.set_index("area_id")["minutes"]
    first = areas["features"][0]["properties"]
    area_id = first["v"][1]
    assert first["style"]["fillColor"] == time_colour(minutes.loc[area_id], time_bins(40.2))


def test_early_years_maps_say_school_based_only(shipped_inputs):
    car = default_estimate("car")
    analysis = analyse(shipped_inputs, [car], kinds=["early_years"])
    _m, caption = kind_map(shipped_inputs, analysis, kind="early_years", mode="car")
    assert "school-based only" in caption


def test_time_classes_put_the_threshold_on_a_break():
    bins = time_bins(40.2)
    assert 40.2 in bins
    assert time_colour(40.2, bins) != time_colour(40.3, bins)
    assert time_colour(float("nan"), bins) == "url(#gm-hatch)"  # grey, hatched
