"""explore.html: every layer of a report on one offline, accessible map."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from geomap import palettes
from geomap.explore import SIZE_BUDGET, _contrasting_ink, _script_json, explore_data, explore_page
from geomap.maps import TIME_COLOURS, time_bins, time_colour

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
AXE = Path(__file__).parent / "fixtures" / "axe" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
HOSTILE_PROVIDER = "</script><script>alert(1)</script>"
HOSTILE_AREA = "{{ 7*7 }} <img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def result(shipped_inputs):
    """The shipped county analysed with the default modes (as ``geomap report`` does)."""
    from geomap.pipeline import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run(shipped_inputs)


@pytest.fixture(scope="module")
def page_path(result, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("explore") / "explore.html"
    path.write_text(explore_page(result), encoding="utf-8")
    return path


def _data(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="gm-data">(.*?)</script>', text, re.S)
    assert found is not None
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


def _open(browser, path: Path):
    """Open ``path``; every request not to a file is aborted and recorded."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    seen = {"remote": [], "errors": [], "dialogs": []}

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            seen["remote"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector("path.leaflet-interactive")
    return page, seen


# --------------------------------------------------------------------------- the data


def test_every_kind_and_mode_layer_matches_the_coverage(result, page_path):
    data = _data(page_path.read_text(encoding="utf-8"))
    layers = {layer["key"]: i for i, layer in enumerate(data["layers"])}
    cover = result.analysis.coverage
    pairs = cover[["mode", "kind"]].drop_duplicates().itertuples(index=False)
    features = data["areas"]["features"]
    ids = [f["properties"]["id"] for f in features]
    assert ids == result.inputs.areas["area_id"].astype(str).tolist()
    checked = 0
    for mode, kind in pairs:
        at = layers[f"{mode}_{kind}"]
        layer = data["layers"][at]
        threshold = result.analysis.thresholds[mode][kind]
        rows = cover[(cover["mode"] == mode) & (cover["kind"] == kind)].set_index("area_id")
        for feature in features:
            props = feature["properties"]
            minutes = float(rows.loc[props["id"], "minutes"])
            colour = time_colour(minutes, time_bins(threshold))
            if np.isnan(minutes):
                assert props["v"][at] is None and props["c"][at] is None
                assert colour == palettes.HATCH_FILL
            else:
                assert props["v"][at] == pytest.approx(minutes, abs=0.0051)
                assert layer["colours"][props["c"][at]] == colour
            assert props["g"][at] == int(bool(rows.loc[props["id"], "beyond"]))
            checked += 1
        assert layer["colours"] == list(TIME_COLOURS)
        assert f"Threshold {threshold:g} min" in layer["legend"]
    assert checked == len(features) * cover[["mode", "kind"]].drop_duplicates().shape[0]
    assert {"car", "walk"} <= set(cover["mode"])
    # the post-16 public-transport layer and its flags
    assert "post16_pt" in layers
    assert [f["key"] for f in data["flags"]] == ["no_pt", "pt_over", "pt_vs_car"]
    flagged = result.post16.areas.set_index("area_id")
    for feature in features:
        props = feature["properties"]
        expected = [
            int(bool(flagged.loc[props["id"], k])) for k in ("no_pt", "pt_over", "pt_vs_car")
        ]
        assert props["f"] == expected


def test_geometry_is_written_once(result, page_path):
    text = page_path.read_text(encoding="utf-8")
    data = _data(text)
    assert len(data["areas"]["features"]) == len(result.inputs.areas)
    # one geometry per area in the whole page, whatever the number of layers
    # (and the council boundaries under them, once)
    assert len(data["base"]["features"]) == len(result.inputs.base)
    assert text.count('"coordinates"') == len(result.inputs.areas) + len(result.inputs.base)
    assert len(data["layers"]) > 10
    # rounded to about a metre: five decimals of a degree
    first = data["areas"]["features"][0]["geometry"]["coordinates"]
    while isinstance(first[0], list):
        first = first[0]
    assert all(round(x, 5) == x for x in first)


def test_page_is_within_its_size_budget(page_path):
    assert SIZE_BUDGET == 5_000_000
    assert page_path.stat().st_size < SIZE_BUDGET


def test_page_has_lang_title_viewport_heading_and_skip_link(page_path):
    text = page_path.read_text(encoding="utf-8")
    assert '<html lang="en">' in text
    assert "<title>Explore the maps: Herefordshire</title>" in text
    assert "user-scalable=no" not in text and "maximum-scale" not in text
    assert '<a class="gm-skip" href="#gm-map">' in text
    assert "<h1>" in text and 'aria-live="polite"' in text
    assert "<fieldset>" in text and 'type="radio"' in text and 'type="checkbox"' in text


def test_planning_layers_hand_worked(result):
    """Capacity and sufficiency layers, on values whose classes are worked by hand."""
    ids = result.inputs.areas["area_id"].tolist()
    n = len(ids)
    # scores 0, 1, 2, ... : the 80th percentile sets the breaks (as on the capacity map)
    score = np.arange(n, dtype=float)
    score[1] = np.nan
    complete = np.ones(n, dtype=bool)
    complete[2] = False
    known = score.copy()
    known[2] = 0.5
    access = pd.DataFrame(
        {"area_id": ids, "score": score, "complete": complete, "score_known_places": known}
    )
    flags = ["shortfall", "tight", "balanced", "surplus", "unknown"] * (n // 5 + 1)
    suff = pd.DataFrame({"area_id": ids, "flag": flags[:n]})
    planning = dataclasses.replace(
        result.planning,
        access={("car", "primary"): SimpleNamespace(areas=access)},
        sufficiency={"primary": SimpleNamespace(by_area=suff, notes=["places: capacity"])},
    )
    data = explore_data(dataclasses.replace(result, planning=planning))
    keys = [layer["key"] for layer in data["layers"]]
    cap = keys.index("capacity_car_primary")
    suf = keys.index("sufficiency_primary")
    props = [f["properties"] for f in data["areas"]["features"]]
    finite = score.copy()
    finite[2] = 0.5
    top = float(np.quantile(finite[np.isfinite(finite)], 0.8))
    bins = [round(top * f, 3) for f in (0.25, 0.5, 0.75, 1.0)]
    for i, p in enumerate(props):
        value = finite[i]
        if np.isnan(value):
            assert p["c"][cap] is None and p["v"][cap] is None
        else:
            assert p["c"][cap] == sum(value > b for b in bins)
            assert p["v"][cap] == pytest.approx(value, abs=1e-3)
        assert p["g"][cap] == int(i == 2)  # the lower bound is outlined
        flag = flags[i]
        assert p["c"][suf] == (None if flag == "unknown" else flags.index(flag))
    assert props[0]["c"][cap] == 0 and props[0]["v"][cap] == 0.0  # zero places is a value
    assert data["layers"][suf]["colours"] == [
        palettes.SUFFICIENCY[k] for k in ("shortfall", "tight", "balanced", "surplus")
    ]


@pytest.mark.parametrize(
    "text",
    [HOSTILE_PROVIDER, HOSTILE_AREA, "a & b", "\u2028line", "'quoted' \"double\""],
)
def test_script_json_keeps_text_and_cannot_close_the_script(text):
    encoded = _script_json({"name": text})
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert json.loads(encoded) == {"name": text}


@pytest.mark.parametrize(
    ("colour", "ink"),
    [
        ("#ffffff", "#000000"),
        ("#000000", "#ffffff"),
        ("#E69F00", "#000000"),
        ("#0072B2", "#ffffff"),
    ],
)
def test_marker_letters_take_the_ink_with_more_contrast(colour, ink):
    assert _contrasting_ink(colour) == ink


# --------------------------------------------------------------------------- in a browser


@pytest.mark.browser
def test_switching_restyles_the_shared_areas_and_the_legend(browser, page_path, result):
    data = _data(page_path.read_text(encoding="utf-8"))
    page, seen = _open(browser, page_path)
    try:
        paths = page.evaluate("document.querySelectorAll('path.leaflet-interactive').length")
        assert paths == len(result.inputs.areas)  # one path per area, never one per layer
        legends = set()
        for i, layer in enumerate(data["layers"]):
            page.locator(f"#gm-layer-{i}").check()
            expected = [
                palettes.HATCH_FILL
                if f["properties"]["c"][i] is None
                else layer["colours"][f["properties"]["c"][i]]
                for f in data["areas"]["features"]
            ]
            fills = page.evaluate(
                "gmExplore.areas.getLayers().map(l => l.getElement().getAttribute('fill'))"
            )
            assert fills == expected
            assert page.evaluate("gmExplore.current()") == i
            assert page.locator(f"#gm-layer-{i}").is_checked()
            assert page.locator("input[name=gm-layer]:checked").count() == 1
            heading = page.locator("#gm-legend h2").inner_text()
            legends.add(heading)
            gaps = page.evaluate(
                "Array.from(document.querySelectorAll('path:not(.leaflet-interactive)'))"
                ".filter(p => p.getAttribute('stroke-opacity') === '1').length"
            )
            flagged = sum(f["properties"]["g"][i] for f in data["areas"]["features"])
            # the council boundaries under the areas are drawn in full too
            assert gaps == len(result.inputs.base) + (flagged if layer["outline"] else 0)
        assert len(legends) == len(data["layers"])
        # keyboard: arrow keys move the choice like any radio group
        page.locator("#gm-layer-0").focus()
        page.keyboard.press("ArrowDown")
        assert page.evaluate("gmExplore.current()") == 1
        assert seen == {"remote": [], "errors": [], "dialogs": []}
    finally:
        page.close()


@pytest.mark.browser
def test_overlays_toggle(browser, page_path, result):
    providers = result.inputs.providers
    page, seen = _open(browser, page_path)
    try:
        for kind in ("primary", "secondary"):
            count = int((providers["kind"] == kind).sum())
            page.locator(f"#gm-overlay-kind-{kind}").check()
            assert page.locator(f".gm-k-{kind}").count() == count
            page.locator(f"#gm-overlay-kind-{kind}").uncheck()
            assert page.locator(f".gm-k-{kind}").count() == 0
        before = page.locator("path").count()
        page.locator("#gm-overlay-flag-no_pt").check()
        flagged = int(result.post16.areas["no_pt"].sum())
        assert page.locator("path").count() == before + flagged
        page.locator("#gm-overlay-flag-no_pt").uncheck()
        assert page.locator("path").count() == before
        homes = len(result.eligibility.homes)
        page.locator("#gm-overlay-eligibility").check()
        assert page.locator("path").count() == before + homes
        page.locator("#gm-overlay-outline").uncheck()
        assert page.locator("path").count() == before + homes - len(result.inputs.areas)
        assert seen == {"remote": [], "errors": [], "dialogs": []}
    finally:
        page.close()


@pytest.mark.browser
def test_page_passes_axe(browser, page_path):
    page, seen = _open(browser, page_path)
    try:
        page.locator("#gm-overlay-kind-primary").check()
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        found = page.evaluate(
            """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
                .violations.map(v => [v.id, v.help, v.nodes.slice(0, 3).map(n => n.target.join(' '))])""",
            TAGS,
        )
        assert found == []
        assert seen["remote"] == []
    finally:
        page.close()


@pytest.mark.browser
def test_hostile_names_show_as_typed(browser, result, tmp_path):
    inputs = result.inputs
    providers = inputs.providers.copy()
    first = providers.index[providers["kind"] == "primary"][0]
    providers.loc[first, "name"] = HOSTILE_PROVIDER
    areas = inputs.areas.copy()
    areas.loc[areas.index[0], "area_name"] = HOSTILE_AREA
    hostile = dataclasses.replace(
        result, inputs=dataclasses.replace(inputs, providers=providers, areas=areas)
    )
    path = tmp_path / "explore.html"
    text = explore_page(hostile)
    assert HOSTILE_PROVIDER not in text and "<img src=x" not in text
    path.write_text(text, encoding="utf-8")
    page, seen = _open(browser, path)
    try:
        page.locator("#gm-overlay-kind-primary").check()
        at = providers.loc[first]
        marker = page.locator(f'.gm-k-primary[title="{HOSTILE_PROVIDER}"]')
        assert marker.count() == 1, at["id"]
        marker.focus()
        page.keyboard.press("Enter")  # markers open from the keyboard too
        # a popup replaced by another fades out first: wait until one is left
        page.wait_for_function("document.querySelectorAll('.leaflet-popup-content').length == 1")
        assert HOSTILE_PROVIDER in page.locator(".leaflet-popup-content").inner_text()
        page.evaluate("() => { gmExplore.areas.getLayers()[0].openPopup(); }")
        page.wait_for_function("document.querySelectorAll('.leaflet-popup-content').length == 1")
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert HOSTILE_AREA in popup and "49" not in popup.split("\n")[0]
        assert page.locator("img[src=x]").count() == 0
        assert seen == {"remote": [], "errors": [], "dialogs": []}
    finally:
        page.close()


@pytest.mark.browser
def test_online_tiles_are_the_only_requests(browser, result, tmp_path):
    path = tmp_path / "explore.html"
    path.write_text(explore_page(result, online_tiles=True), encoding="utf-8")
    page, seen = _open(browser, path)
    try:
        page.wait_for_timeout(200)
        assert seen["remote"] and all(
            u.startswith("https://tile.openstreetmap.org/") for u in seen["remote"]
        )
    finally:
        page.close()
