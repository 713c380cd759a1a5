"""Text from files never runs: not as a template (folium renders through Jinja), not as HTML.

Every kind of map geomap draws, and the index page, is built here with names,
ids and ratings that are template, markup and script payloads; each page must
show every payload as typed and evaluate none of them.
"""

from __future__ import annotations

import html
import re

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.cli import main
from geomap.maps import (
    SUFFICIENCY_STYLES,
    OfflineMap,
    access_map,
    category_map,
    competition_map,
    inert,
    isochrone_map,
    offline_html,
    post16_map,
    providers_map,
    route_map,
    sites_map,
    value_map,
)

#: Payloads, each with the text it would leave if something ran it.
PAYLOADS = {
    "zq{{ 7*7 }}qz": "zq49qz",
    "lp{% for x in 'abc' %}L{% endfor %}pl": "lpLLLpl",
    "cw{{ cycler.__init__.__globals__.os.getcwd() }}wc": None,  # the working folder
    "sy{{ ' }}ys": None,  # a template syntax error, if anything compiled it
    "cm{# not closed": None,
    "sc<script>alert('sc')</script>": "<script>alert('sc')",
    'im"><img src=x onerror=alert(1)>': "<img src=x",
    "es</script><script>alert(2)</script>": "<script>alert(2)",
    "&amp; &lt;b&gt; already escaped": "&lt;b&gt; already",  # must show as typed, not unescaped
}
TEMPLATE_ONLY = "zq{{ 7*7 }}qz"


def _shown(page: str) -> str:
    """Roughly what a reader sees: JSON string escapes and HTML references decoded."""
    decoded = (
        page.replace("\\u0026", "&")
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .replace("\\u0027", "'")
        .replace('\\"', '"')
    )
    return html.unescape(decoded)


def assert_inert(page: str, *, cwd: str, payloads: dict[str, str | None] = PAYLOADS) -> None:
    """No payload ran, and each shows as typed."""
    shown = _shown(page)
    for payload, evaluated in payloads.items():
        if evaluated is not None and payload != "&amp; &lt;b&gt; already escaped":
            assert evaluated not in page, f"{payload!r} was interpreted"
        assert payload in shown, f"{payload!r} does not show as typed"
    assert cwd not in page
    # markup from data never reaches the page raw
    assert "<script>alert" not in page and "<img src=x" not in page
    # the already-escaped text is escaped once more, so it shows with its entities
    assert "&amp;amp; &amp;lt;b&amp;gt; already escaped" in html.unescape(
        page.replace("\\u0026", "&")
    ) or "&amp;amp;" in page.replace("\\u0026", "&")


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    folder = tmp_path / "working-folder-xq"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return str(folder)


def _areas(names: list[str]) -> gpd.GeoDataFrame:
    squares = [shapely.box(350000 + i * 2000, 240000, 351900 + i * 2000, 241900) for i in range(3)]
    names = (names * 3)[:3]
    return gpd.GeoDataFrame(
        {
            "area_id": [f"E0100000{i}" for i in range(3)],
            "area_name": names,
            "minutes": [12.0, 55.0, float("nan")],
            "beyond": [False, True, True],
            "children": [10, 20, 30],
            "provider_name": names[::-1],
            "origin_source": ["trip_point", "label_point", "trip_point"],
        },
        geometry=squares,
        crs=settings.MEASURE_CRS,
    )


def _providers(names: list[str]) -> gpd.GeoDataFrame:
    n = len(names)
    return gpd.GeoDataFrame(
        {
            "id": [f"{p[:12]}-{i}" for i, p in enumerate(names)],
            "name": names,
            "kind": ["primary", "sixth_form", "college"] * (n // 3) + ["primary"] * (n % 3),
            "sector": "maintained",
            "low_age": 4.0,
            "high_age": 11.0,
            "capacity": 100.0,
            "rating": names[::-1],
            "in_county": [i % 2 == 0 for i in range(n)],
            "la_name": names,
        },
        geometry=[shapely.Point(350500 + 700 * i, 240500 + 100 * i) for i in range(n)],
        crs=settings.MEASURE_CRS,
    )


NAMES = list(PAYLOADS)


def test_every_map_type_keeps_text_inert(cwd):
    areas = _areas(NAMES)
    providers = _providers(NAMES)
    pages = {}
    pages["providers"] = offline_html(
        providers_map(
            providers, areas=areas, base=areas, title=" ".join(NAMES), caption="\n".join(NAMES)
        )
    )
    pages["access"] = offline_html(
        access_map(
            areas,
            providers,
            kind="primary",
            mode="walk",
            threshold=40.2,
            caption="\n".join(NAMES),
            base=areas,
            other_providers=providers,
        )
    )
    flagged = areas.assign(
        pt_minutes=[20.0, 70.0, float("nan")],
        car_minutes=[10.0, 15.0, 20.0],
        pt_car_ratio=[2.0, 4.7, float("nan")],
        young_people=[5, 6, 7],
        pt_provider=NAMES[:3],
        car_provider=NAMES[3:6],
        barrier=[False, True, True],
        no_pt=[False, False, True],
        pt_over=[False, True, False],
        pt_vs_car=[False, True, False],
    )
    pages["post16"] = offline_html(
        post16_map(
            flagged,
            providers,
            pt_provider_ids=list(providers["id"][:2]),
            flags={"no_pt": "no journey", "pt_over": "over 60 min", "pt_vs_car": "over 2 × car"},
            pt_max_minutes=60,
            caption="\n".join(NAMES),
            title=" ".join(NAMES),
        )
    )
    route_areas = areas.assign(
        young_people=[5, 6, 7],
        before=[70.0, float("nan"), 30.0],
        after=[50.0, 40.0, 30.0],
        saved=[20.0, float("nan"), 0.0],
        changed=[True, True, False],
        flags_before=NAMES[:3],
        flags_after=NAMES[3:6],
    )
    stops = gpd.GeoDataFrame(
        {"name": NAMES, "departures": NAMES[::-1]},
        geometry=[shapely.Point(350200 + 500 * i, 240200) for i in range(len(NAMES))],
        crs=settings.MEASURE_CRS,
    )
    line = gpd.GeoDataFrame(
        {"name": [" ".join(NAMES)]},
        geometry=[shapely.LineString(list(stops.geometry))],
        crs=settings.MEASURE_CRS,
    )
    pages["route"] = offline_html(
        route_map(
            route_areas,
            line,
            stops,
            providers,
            pt_max_minutes=60,
            caption="\n".join(NAMES),
            title="Route scenario: " + " ".join(NAMES),
        )
    )
    bands = gpd.GeoDataFrame(
        {"minutes": [15.0, 30.0], "id": NAMES[:2], "name": NAMES[:2]},
        geometry=[shapely.Point(351000, 241000).buffer(r) for r in (1000, 2000)],
        crs=settings.MEASURE_CRS,
    )
    pages["isochrones"] = offline_html(
        isochrone_map(bands, providers, title=" ".join(NAMES), caption="\n".join(NAMES))
    )
    valued = areas.assign(score=[0.5, float("nan"), 1.5], note=NAMES[:3])
    pages["value"] = offline_html(
        value_map(
            valued,
            column="score",
            title=" ".join(NAMES),
            caption="\n".join(NAMES),
            bins=(0.25, 0.5, 1.0),
            colours=("#eff3ff", "#bdd7e7", "#6baed6", "#08519c"),
            unit=NAMES[0],
            popup_fields=[("area_name", "Area"), ("note", "Note")],
            legend_title=NAMES[1],
            no_value=NAMES[2],
            providers=providers,
        )
    )
    pages["category"] = offline_html(
        category_map(
            areas.assign(flag=["shortfall", "unknown", NAMES[0]], note=NAMES[:3]),
            column="flag",
            categories=SUFFICIENCY_STYLES,
            title=" ".join(NAMES),
            caption="\n".join(NAMES),
            legend_title=NAMES[3],
            popup_fields=[("area_name", "Area"), ("note", "Note")],
            providers=providers,
        )
    )
    competing = providers.assign(
        size=[float(i * 50) if i % 4 else float("nan") for i in range(len(providers))],
        flag=(["small_and_covered", "small", "other", "unknown"] * len(providers))[
            : len(providers)
        ],
        catchment_young_people=10,
        max_overlap_share=0.6,
        most_overlapping_name=NAMES[::-1][: len(providers)],
    )
    lines = gpd.GeoDataFrame(
        {"provider_name": NAMES[:2], "other_name": NAMES[2:4], "overlap_share": [0.7, 0.9]},
        geometry=[
            shapely.LineString([competing.geometry.iloc[0], competing.geometry.iloc[1]]),
            shapely.LineString([competing.geometry.iloc[2], competing.geometry.iloc[3]]),
        ],
        crs=settings.MEASURE_CRS,
    )
    pages["competition"] = offline_html(
        competition_map(
            competing, lines, title=" ".join(NAMES), caption="\n".join(NAMES), small=200
        )
    )
    chosen = gpd.GeoDataFrame(
        {"site_id": NAMES[:2], "name": NAMES[2:4], "rank": [1, 2], "gain": [30.0, 10.0]},
        geometry=[shapely.Point(350600, 240600), shapely.Point(352600, 240600)],
        crs=settings.MEASURE_CRS,
    )
    pages["sites"] = offline_html(
        sites_map(
            areas.assign(
                status=["covered", "newly covered", NAMES[0]],
                population=[1, 2, 3],
                minutes_before=[10.0, 50.0, float("nan")],
                minutes_after=[10.0, 20.0, float("nan")],
            ),
            providers,
            chosen,
            title=" ".join(NAMES),
            caption="\n".join(NAMES),
        )
    )
    for name, page in pages.items():
        try:
            assert_inert(page, cwd=cwd)
        except AssertionError as err:
            raise AssertionError(f"{name} map: {err}") from err


def test_a_folium_element_added_directly_is_not_rendered_twice(cwd):
    """Even text that skipped geomap's own escaping is not run as a template."""
    m = OfflineMap(tiles=None)
    folium.Marker([52.05, -2.7], tooltip=TEMPLATE_ONLY, popup="{{ 6*7 }}pp").add_to(m)
    folium.GeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"t": "cw{{ cycler.__init__.__globals__.os.getcwd() }}wc"},
                    "geometry": {"type": "Point", "coordinates": [-2.7, 52.05]},
                }
            ],
        },
        tooltip=folium.GeoJsonTooltip(["t"]),
    ).add_to(m)
    page = offline_html(m)
    assert "zq49qz" not in page and "42pp" not in page and cwd not in page
    assert TEMPLATE_ONLY in page and "{{ 6*7 }}pp" in page


def test_plain_folium_would_have_run_it():
    """The guard above is needed: a plain folium map renders the same text as a template."""
    m = folium.Map(tiles=None)
    folium.Marker([52.05, -2.7], tooltip=TEMPLATE_ONLY).add_to(m)
    assert "zq49qz" in m.get_root().render()


def test_inert_leaves_no_template_delimiter():
    for payload in PAYLOADS:
        text = inert(html.escape(payload))
        assert not re.search(r"\{[{%#]", text)
        assert html.unescape(text) == payload


def _hostile_register(path) -> None:
    rows = ["id,name,kind,postcode,rating"]
    postcodes = ["HR1 1DT", "HR9 7ET", "HR6 8JT", "HR4 8SE", "HR8 2JD", "HR2 6HE"]
    for i, payload in enumerate(NAMES):
        quoted = '"' + payload.replace('"', '""') + '"'
        kind = ["primary", "secondary", "sixth_form"][i % 3]
        rows.append(f"h{i},{quoted},{kind},{postcodes[i % len(postcodes)]},{quoted}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_report_maps_and_index_keep_hostile_names_inert(tmp_path, cwd):
    source = tmp_path / "hostile.csv"
    _hostile_register(source)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["report", "--quiet", "--mode", "walk", "--providers", str(source), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for page_path in [out / "index.html", *sorted((out / "maps").glob("*.html"))]:
        page = page_path.read_text(encoding="utf-8")
        assert "zq49qz" not in page and "lpLLLpl" not in page and cwd not in page, page_path
        assert "<script>alert" not in page and "<img src=x" not in page, page_path
    index = (out / "index.html").read_text(encoding="utf-8")
    assert TEMPLATE_ONLY in html.unescape(index)
    providers_page = (out / "maps" / "providers.html").read_text(encoding="utf-8")
    assert_inert(providers_page, cwd=cwd)
    table = pd.read_csv(out / "providers.csv", dtype=str, keep_default_na=False)
    assert set(NAMES) <= set(table["name"])  # tables keep the text exactly


def test_map_command_with_a_template_name(tmp_path, cwd):
    source = tmp_path / "p.csv"
    source.write_text('id,name,kind,lon,lat\nS1,"{{ 6*7 }}zq school",primary,-2.716,52.056\n')
    out = tmp_path / "m.html"
    result = CliRunner().invoke(
        main, ["map", "--providers", str(source), "--kind", "primary", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "42zq" not in page and "{{ 6*7 }}zq school" in _shown(page)
