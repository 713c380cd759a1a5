"""Every HTML page geomap writes passes axe-core's WCAG 2.0/2.1/2.2 A and AA rules in Chromium.

axe-core is vendored in ``tests/fixtures/axe/`` (see its README); it is never
fetched. Each output is generated once per session or module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "fixtures" / "axe" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
EXAMPLES = Path(__file__).parents[1] / "examples"

_RUN_AXE = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
        targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
    }));
}"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: run `make test` or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def route_maps(tmp_path_factory) -> list[Path]:
    """``geomap routes evaluate examples/post16_routes.yml``, once."""
    from click.testing import CliRunner

    from geomap.cli import main

    out = tmp_path_factory.mktemp("routes") / "out"
    result = CliRunner().invoke(
        main, ["routes", "evaluate", str(EXAMPLES / "post16_routes.yml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    pages = sorted((out / "maps").glob("*.html"))
    assert pages, "routes evaluate wrote no map"
    return pages


def _violations(browser, path: Path) -> list[dict[str, object]]:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        found: list[dict[str, object]] = page.evaluate(_RUN_AXE, TAGS)
    finally:
        page.close()
    return found


def _assert_clean(browser, paths: list[Path]) -> None:
    report = {}
    for path in paths:
        found = _violations(browser, path)
        if found:
            report[str(path.name)] = [
                f"{v['id']} ({v['impact']}, {v['count']} nodes): {v['help']}; e.g. {v['targets']}"
                for v in found
            ]
    assert report == {}, "axe-core found WCAG violations:\n" + json.dumps(report, indent=1)


def test_axe_is_the_vendored_version():
    head = AXE.read_text(encoding="utf-8")[:200]
    assert head.startswith("/*! axe v4.14.1")
    readme = (AXE.parent / "README.md").read_text(encoding="utf-8")
    assert "4.14.1" in readme and (AXE.parent / "LICENSE").exists()


def test_index_page_passes_axe(browser, report_dir):
    _assert_clean(browser, [report_dir / "index.html"])


def test_finder_page_passes_axe(browser, report_dir):
    _assert_clean(browser, [report_dir / "finder.html"])


def test_explore_page_passes_axe(browser, report_dir):
    _assert_clean(browser, [report_dir / "explore.html"])


def test_every_report_map_passes_axe(browser, report_dir):
    maps = sorted((report_dir / "maps").glob("*.html"))
    names = {p.stem for p in maps}
    # the report's maps: providers, every kind by every mode, post-16, planning maps
    assert {"providers", "walk_primary", "car_secondary", "post16", "new_sites"} <= names
    assert len(maps) >= 15
    _assert_clean(browser, maps)


def test_route_evaluation_maps_pass_axe(browser, route_maps):
    _assert_clean(browser, route_maps)


def test_isochrone_map_passes_axe(browser, tmp_path):
    from click.testing import CliRunner

    from geomap.cli import main

    page = tmp_path / "iso.html"
    limits = ["--minutes", "15", "--minutes", "30"]
    files = ["--out", str(tmp_path / "iso.gpkg"), "--map", str(page)]
    result = CliRunner().invoke(main, ["isochrones", "--kind", "post16", *limits, *files])
    assert result.exit_code == 0, result.output
    _assert_clean(browser, [page])


def test_a_failing_page_is_reported(browser, tmp_path):
    """The check itself: a page with known faults gives those violations."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, '
        'maximum-scale=1.0, user-scalable=no"></head><body><img src="x.png"></body></html>'
    )
    ids = {v["id"] for v in _violations(browser, bad)}
    assert {"document-title", "html-has-lang", "meta-viewport", "image-alt"} <= ids


def test_map_page_head_and_legend(browser, report_dir):
    path = report_dir / "maps" / "walk_primary.html"
    text = path.read_text(encoding="utf-8")
    assert re.search(r'<html lang="en">', text)
    assert "user-scalable=no" not in text and "maximum-scale" not in text
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(path.as_uri(), wait_until="load")
    title = page.title()
    assert title == page.locator("h1.gm-title").inner_text()
    assert title.startswith("Primary") and "walk time" in title
    legend = page.get_by_role("region", name=re.compile("^Minutes to nearest"))
    assert legend.count() == 1
    words = legend.inner_text()
    assert "no journey found (grey, hatched)" in words
    assert "(gap): heavy dashed outline" in words and "0–" in words
    assert page.locator("h1").count() == 1
    page.close()


def test_missing_journeys_are_hatched_in_the_browser(browser, tmp_path):
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import box
    from shipped_data import shipped

    from geomap import palettes
    from geomap.maps import access_map, offline_html
    from geomap.providers import load_providers

    source = tmp_path / "p.csv"
    source.write_text("id,name,kind,postcode\np1,Primary One,primary,HR1 1DT\n")
    providers = load_providers(source, postcodes=shipped("postcodes"))
    x, y = providers.geometry.iloc[0].x, providers.geometry.iloc[0].y
    areas = gpd.GeoDataFrame(
        {
            "area_id": ["a", "b"],
            "area_name": ["A", "B"],
            "minutes": [5.0, np.nan],
            "beyond": [False, True],
            "children": [10, 20],
            "provider_name": ["Primary One", None],
        },
        geometry=[box(x - 1000, y - 500, x, y + 500), box(x, y - 500, x + 1000, y + 500)],
        crs=27700,
    )
    m = access_map(areas, providers, kind="primary", mode="walk", threshold=20, caption="c")
    path = tmp_path / "hatched.html"
    path.write_text(offline_html(m), encoding="utf-8")
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.goto(path.as_uri(), wait_until="load")
    fills = page.evaluate(
        "() => [...document.querySelectorAll('path.leaflet-interactive')].map(p => p.getAttribute('fill'))"
    )
    assert palettes.HATCH_FILL in fills and palettes.TRAVEL_TIME[0] in fills
    # the pattern the hatched fill refers to is in the page
    assert page.locator(f"pattern#{palettes.HATCH_ID}").count() == 1
    page.close()
    _assert_clean(browser, [path])
