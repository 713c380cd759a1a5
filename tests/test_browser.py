"""The generated offline map in a real browser: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shipped_data import shipped

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


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("GEOMAP_SKIP_BROWSER"):
            pytest.skip("GEOMAP_SKIP_BROWSER is set and /usr/bin/chromium is missing")
        pytest.fail(
            "Debian's chromium is missing: run `make test` (it installs it) or apt-get install chromium"
        )
    from playwright.sync_api import sync_playwright

    # Playwright gives the browser a new, empty profile of its own
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    remote: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "request",
        lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-marker-icon")
    return page, problems, remote, dialogs


def test_offline_map_draws_markers_polygons_legend_and_popups(browser, report_dir):
    page, problems, remote, _dialogs = _open(browser, report_dir / "maps" / "walk_primary.html")
    assert problems == [] and remote == []
    assert page.locator(".leaflet-marker-icon").count() > 100
    assert page.locator("path.leaflet-interactive").count() >= 116
    legend = page.locator(".gm-legend")
    assert legend.is_visible() and "min" in legend.inner_text()
    assert "Estimated walk travel times" in page.locator(".gm-caption").inner_text()
    assert page.locator(".leaflet-control-layers").is_visible()
    # a marker no legend or caption box covers
    index = page.evaluate(
        """() => [...document.querySelectorAll('.leaflet-marker-icon')].findIndex(m => {
            const r = m.getBoundingClientRect();
            const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return r.width > 0 && m.contains(top);
        })"""
    )
    assert index >= 0
    marker = page.locator(".leaflet-marker-icon").nth(index)
    marker.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "Name" in text and "Kind" in text and "Ages" in text and "Sector" in text
    page.close()


def test_area_popup_opens_on_click(browser, report_dir):
    page, problems, _remote, _dialogs = _open(browser, report_dir / "maps" / "car_secondary.html")
    # hide markers so the click lands on an area polygon
    page.evaluate(
        "document.querySelectorAll('.leaflet-marker-pane, .leaflet-shadow-pane').forEach(e => e.style.display='none')"
    )
    box = page.locator("path.leaflet-interactive").nth(3).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Minutes by car" in popup.inner_text() and "Nearest provider" in popup.inner_text()
    assert problems == []
    page.close()


def test_a_provider_named_like_markup_shows_as_text(browser, tmp_path):
    from geomap.maps import offline_html, providers_map
    from geomap.providers import load_providers

    evil = "<img src=x onerror=alert(1)>"
    source = tmp_path / "p.csv"
    source.write_text(f'id,name,kind,postcode\nx1,"{evil}",primary,HR1 1DT\n')
    page_path = tmp_path / "evil.html"
    page_path.write_text(
        offline_html(
            providers_map(
                load_providers(source, postcodes=shipped("postcodes")), title="t", caption="c"
            )
        )
    )
    page, problems, remote, dialogs = _open(browser, page_path)
    page.locator(".leaflet-marker-icon").first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert evil in popup.inner_text()
    assert popup.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == [] and problems == [] and remote == []
    page.close()


def test_a_template_in_a_name_shows_as_typed(browser, tmp_path):
    from geomap.maps import offline_html, providers_map
    from geomap.providers import load_providers

    typed = "zq{{ 7*7 }}qz {% if 1 %}x{% endif %}"
    source = tmp_path / "p.csv"
    source.write_text(f'id,name,kind,postcode\nx1,"{typed}",primary,HR1 1DT\n')
    page_path = tmp_path / "template.html"
    page_path.write_text(
        offline_html(
            providers_map(
                load_providers(source, postcodes=shipped("postcodes")), title=typed, caption=typed
            )
        ),
        encoding="utf-8",
    )
    page, problems, remote, dialogs = _open(browser, page_path)
    assert page.locator(".gm-title").inner_text() == typed
    page.locator(".leaflet-marker-icon").first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert typed in popup.inner_text() and "zq49qz" not in popup.inner_text()
    assert dialogs == [] and problems == [] and remote == []
    page.close()
