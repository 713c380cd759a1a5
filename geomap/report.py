"""Writing a result: maps, GeoPackage, CSV tables and the index page.

:func:`geomap.pipeline.run` computes a :class:`~geomap.pipeline.Result`;
:func:`write_report` draws its maps and writes everything to a folder
(``index.html``, ``maps/``, ``geomap.gpkg`` and CSV tables), replacing the
folder as a whole, so bad input or an interrupted run never leaves partial
output. Titles, captions and attributions are built from the inputs the
result was computed from: the study area's name, and each input as it was
given (a user's provider list is named as such).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geomap import __version__, settings
from geomap._parallel import Background as _Background
from geomap._parallel import can_fork as _can_fork
from geomap.access import CatchmentAccess
from geomap.eligibility import MAP_CATEGORIES, suitable_schools
from geomap.errors import InputError
from geomap.explore import explore_page
from geomap.figures import (
    bands_chart,
    bands_chart_files,
    bands_description,
    chart_kinds,
    map_figure,
    prepare_figures,
)
from geomap.finder import finder_caption, finder_html
from geomap.gaps import GapAnalysis, eligible_providers
from geomap.io import replace_folder, write_csv, write_geopackage, write_text
from geomap.maps import (
    MORE_IS_BETTER,
    SUFFICIENCY_STYLES,
    access_map,
    category_map,
    competition_map,
    offline_html,
    post16_map,
    providers_map,
    route_map,
    sites_map,
    static_map,
    value_map,
)
from geomap.pipeline import (
    REPORT_SITES_KIND,
    Eligibility,
    Inputs,
    Planning,
    Result,
    post16_options,
)
from geomap.post16 import FLAGS, Post16Analysis
from geomap.providers import offers
from geomap.routes import ScenarioResult
from geomap.sites import SiteChoice, sites_map_layers
from geomap.sufficiency import Sufficiency
from geomap.summary import headlines

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: Said under every map: geomap's own method and the OpenStreetMap data its sources may use.
GEOMAP_ATTRIBUTION = (
    "Map outlines and travel-time networks © OpenStreetMap contributors (ODbL 1.0) where used."
)


def _say(progress: Progress | None, message: str) -> None:
    logger.info(message)
    if progress is not None:
        progress(message)


def kind_map(
    inputs: Inputs,
    analysis: GapAnalysis,
    *,
    kind: str,
    mode: str,
    include_independent: bool = False,
    quality: pd.DataFrame | None = None,
    quality_notes: Iterable[str] = (),
    online_tiles: bool = False,
) -> tuple[folium.Map, str]:
    """Map of travel time to the nearest provider of ``kind`` by ``mode``, and its caption.

    Parameters
    ----------
    inputs
        What was analysed.
    analysis
        The gap analysis with results for ``kind`` and ``mode``.
    kind, mode
        Which results to draw.
    include_independent
        Whether independent schools were counted as provision.
    quality
        Quality rows (:func:`geomap.gaps.quality_access`); those of this kind
        and mode are drawn as a layer of extra minutes to a provider rated good
        or outstanding.
    quality_notes
        What the ratings are and how recent, for the caption.
    online_tiles
        Whether the map loads OpenStreetMap tiles (needs internet).

    Returns
    -------
    tuple of folium.Map and str
        The map and its caption.

    Raises
    ------
    InputError
        If the analysis has no results for that kind and mode.
    """
    cover = analysis.coverage
    rows = cover[(cover["mode"] == mode) & (cover["kind"] == kind)]
    if rows.empty:
        raise InputError(f"no results for {kind} by {mode}", fix="Analyse that kind and mode first")
    layer = inputs.areas.drop(columns=[kind]).merge(rows, on="area_id", how="left")
    threshold = analysis.thresholds[mode][kind]
    providers = inputs.providers
    counted = eligible_providers(providers, kind, include_independent=include_independent)
    others = providers[
        offers(providers, kind).to_numpy() & ~providers["id"].isin(counted["id"]).to_numpy()
    ]
    kind_notes = [inputs.early_years_note] if kind == "early_years" else []
    caption = _caption(
        inputs,
        kind_notes,
        [
            analysis.methods_by_kind.get(mode, {}).get(kind, analysis.methods[mode]),
            f"Threshold: {threshold:g} min ({threshold_source(mode, kind, threshold)}).",
            _children_sentence(rows, kind),
        ],
        include_independent,
    )
    quality_layer = None
    if quality is not None:
        chosen = quality[(quality["mode"] == mode) & (quality["kind"] == kind)]
        if len(chosen):
            quality_layer = _quality_layer(inputs, chosen)
            caption += "\n" + "\n".join(
                [description_of_quality(chosen, mode, kind), *quality_notes]
            )
    m = access_map(
        layer,
        counted,
        kind=kind,
        mode=mode,
        threshold=threshold,
        caption=caption,
        base=inputs.base,
        other_providers=others,
        quality=quality_layer,
        online_tiles=online_tiles,
    )
    return m, caption


def _quality_layer(inputs: Inputs, rows: pd.DataFrame) -> gpd.GeoDataFrame:
    """Area polygons with one kind and mode's quality rows, and the nearest named with its rating."""
    layer = inputs.areas[["area_id", "area_name", "geometry"]].merge(rows, on="area_id")
    layer["nearest"] = [
        (f"{n} ({r if isinstance(r, str) and r.strip() else 'not rated'})")
        if isinstance(n, str)
        else "no journey"
        for n, r in zip(layer["provider_any_name"], layer["provider_any_rating"], strict=True)
    ]
    return layer


def post16_layer(inputs: Inputs, analysis: Post16Analysis) -> gpd.GeoDataFrame:
    """Area polygons with the post-16 barrier columns.

    Parameters
    ----------
    inputs
        What was analysed.
    analysis
        The post-16 barriers.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area: id, name, summary-layer names, barrier columns, polygon.
    """
    cols = ["area_id", "area_name"]
    cols += [f"{level}_name" for level in inputs.groups if level != "partnership"]
    if "partnership" in inputs.areas.columns:
        cols.append("partnership")
    cols.append("geometry")
    return inputs.areas[cols].merge(analysis.areas, on="area_id")


def post16_caption(inputs: Inputs, analysis: Post16Analysis, *, include_independent: bool) -> str:
    """Caption: public-transport source and date, car method, thresholds, coverage, data.

    Parameters
    ----------
    inputs
        What was analysed.
    analysis
        The post-16 barriers.
    include_independent
        Whether independent schools and colleges were counted as provision.

    Returns
    -------
    str
        The caption, a sentence or list per line.
    """
    names = ", ".join(analysis.pt_providers["name"].astype(str)) or "none"
    areas = analysis.areas
    elsewhere = ~areas["nearest_has_pt_data"]
    young = int(areas["young_people"].sum())
    facing = int(areas.loc[areas["barrier"], "young_people"].sum())
    return _caption(
        inputs,
        [],
        [
            f"Public transport: {analysis.methods['pt']}",
            f"Car: {analysis.methods['car']}",
            f"Bus and car are compared over the same providers: the {len(analysis.pt_providers)} with "
            f"public-transport times ({names}) and any within a walk. In {int(elsewhere.sum())} areas "
            f"({int(areas.loc[elsewhere, 'young_people'].sum()):,} young people) the nearest sixth form or "
            "college by car has no public-transport data, so their comparison is with those providers "
            "instead: the source cannot say whether a bus reaches the nearer one.",
            f"Barriers ({analysis.thresholds.describe()}): {facing:,} of {young:,} young people aged 16–18, "
            "in reaching the providers compared.",
        ],
        include_independent,
    )


def post16_map_for(
    inputs: Inputs,
    analysis: Post16Analysis,
    *,
    include_independent: bool = False,
    online_tiles: bool = False,
) -> tuple[folium.Map, str]:
    """The post-16 barrier map and its caption.

    Parameters
    ----------
    inputs
        What was analysed.
    analysis
        The post-16 barriers.
    include_independent
        Whether independent schools and colleges were counted as provision.
    online_tiles
        Whether the map loads OpenStreetMap tiles (needs internet).

    Returns
    -------
    tuple of folium.Map and str
        The map and its caption.
    """
    caption = post16_caption(inputs, analysis, include_independent=include_independent)
    m = post16_map(
        post16_layer(inputs, analysis),
        eligible_providers(inputs.providers, "post16", include_independent=include_independent),
        pt_provider_ids=analysis.pt_providers["id"],
        flags=FLAGS,
        pt_max_minutes=analysis.thresholds.pt_max_minutes,
        caption=caption,
        base=inputs.base,
        online_tiles=online_tiles,
    )
    return m, caption


def post16_outputs(
    inputs: Inputs, analysis: Post16Analysis
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, pd.DataFrame]]:
    """GeoPackage layers and CSV tables of a post-16 analysis.

    Parameters
    ----------
    inputs
        What was analysed.
    analysis
        The post-16 barriers.

    Returns
    -------
    tuple of dict
        Layers by name (polygons per area and per summary level) and tables by name.
    """
    layer = post16_layer(inputs, analysis)
    layers = {"post16_areas": layer, **_group_layers(inputs, analysis.by_group, prefix="post16_")}
    tables = {"post16_areas": layer, "post16_by_group": analysis.by_group}
    return layers, tables


def write_post16(
    inputs: Inputs,
    analysis: Post16Analysis,
    m: folium.Map,
    out_dir: str | Path,
    *,
    sources: Iterable[str | Path] = (),
) -> dict[str, Path]:
    """Write the post-16 map, GeoPackage and tables into ``out_dir``, replacing it whole.

    Parameters
    ----------
    inputs
        What was analysed.
    analysis
        The post-16 barriers.
    m
        The barrier map (:func:`post16_map_for`).
    out_dir
        The output folder.
    sources
        The files the run read, which ``out_dir`` may not hold (see
        :func:`geomap.io.replace_folder`).

    Returns
    -------
    dict of str to pathlib.Path
        What was written: ``map:post16``, ``geopackage``, ``csv:<name>``.
    """
    layers, tables = post16_outputs(inputs, analysis)
    layers["post16_providers"] = provider_output(
        inputs.providers[offers(inputs.providers, "post16")]
    )
    out = Path(out_dir)
    files: dict[str, Path] = {}
    read = [*sources, *inputs.study.files()]
    with replace_folder(out, command="geomap post16", inputs=read) as stage:
        write_text(offline_html(m), stage / "post16_map.html")
        files["map:post16"] = out / "post16_map.html"
        write_geopackage(layers, stage / "post16.gpkg")
        files["geopackage"] = out / "post16.gpkg"
        for name, table in tables.items():
            write_csv(table, stage / f"{name}.csv")
            files[f"csv:{name}"] = out / f"{name}.csv"
    return files


def caption_for(inputs: Inputs, *, include_independent: bool = False) -> str:
    """Caption of a providers map: data, notes and attributions.

    Parameters
    ----------
    inputs
        What the map draws.
    include_independent
        Whether independent schools are counted as provision.

    Returns
    -------
    str
        The caption, one sentence or list per line.
    """
    return _caption(inputs, inputs.notes, [], include_independent)


def threshold_source(mode: str, kind: str, minutes: float) -> str:
    """Where a threshold comes from: geomap's documented default, or this run's own figure.

    Parameters
    ----------
    mode, kind
        The threshold's mode and kind.
    minutes
        The threshold used.

    Returns
    -------
    str
        The source, for captions and the thresholds table.
    """
    default = settings.THRESHOLDS.get(mode, {}).get(kind)
    if default is not None and abs(default - minutes) < 1e-9:
        return settings.THRESHOLD_SOURCES[mode]
    return "set for this run (the study-area file or --threshold)" + (
        f"; the default is {default:g} min" if default is not None else ""
    )


def _children_sentence(rows: pd.DataFrame, kind: str) -> str:
    low, high = settings.AGE_BANDS[kind]
    beyond = int(rows["children_beyond"].sum())
    total = int(rows["children"].sum())
    share = beyond / total if total else 0.0
    who = f"children aged {low}–{high}"
    if kind == "special":
        who += " (all children of those ages: special schools serve the few with special needs among them)"
    return f"{beyond:,} of {total:,} {who} ({share:.0%}) live in areas beyond the threshold; {int(rows['beyond'].sum())} of {len(rows)} areas."


def _caption(
    inputs: Inputs, notes: Iterable[str], method: Iterable[str], include_independent: bool
) -> str:
    parts = [
        f"Study area: {inputs.name}.",
        "Data: " + "; ".join(inputs.sources) + ".",
        *method,
        (
            "Independent schools are counted as provision."
            if include_independent
            else "Independent (fee-paying) schools are not counted as provision."
        ),
        inputs.origin_note,
        *notes,
        inputs.study.attribution,
    ]
    return "\n".join(p for p in parts if p)


# --------------------------------------------------------------------------- writing


def report_map_names(result: Result) -> list[str]:
    """The names of the maps of :func:`report_maps`, in order.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run`.

    Returns
    -------
    list of str
        ``providers``, ``<mode>_<kind>`` for each analysed pair, and
        ``post16`` when it was analysed.
    """
    cover = result.analysis.coverage
    pairs = cover[["mode", "kind"]].drop_duplicates().itertuples(index=False)
    names = ["providers", *(f"{mode}_{kind}" for mode, kind in pairs)]
    return [*names, *(["post16"] if result.post16 is not None else [])]


def _report_map(result: Result, name: str, *, online_tiles: bool) -> tuple[folium.Map, str]:
    """One map of :func:`report_maps` (or the eligibility map), and its caption."""
    inputs = result.inputs
    independent = result.include_independent
    if name == "providers":
        caption = caption_for(inputs, include_independent=independent)
        m = providers_map(
            inputs.providers,
            areas=inputs.areas,
            base=inputs.base,
            title=f"Education providers in and around {inputs.name}",
            caption=caption,
            online_tiles=online_tiles,
        )
        return m, caption
    if name == "post16" and result.post16 is not None:
        return post16_map_for(
            inputs, result.post16, include_independent=independent, online_tiles=online_tiles
        )
    if name == "eligibility" and result.eligibility is not None:
        return eligibility_map(inputs, result.eligibility, online_tiles=online_tiles), ""
    mode, _, kind = name.partition("_")
    planning = result.planning
    return kind_map(
        inputs,
        result.analysis,
        kind=kind,
        mode=mode,
        include_independent=independent,
        quality=planning.quality if planning is not None else None,
        quality_notes=planning.notes.get("quality", []) if planning is not None else (),
        online_tiles=online_tiles,
    )


def report_maps(
    result: Result, *, online_tiles: bool = False
) -> tuple[dict[str, folium.Map], dict[str, str]]:
    """Every map of a result, and its caption, by name.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run`.
    online_tiles
        Whether the maps load OpenStreetMap tiles (needs internet).

    Returns
    -------
    tuple of dict
        ``providers``, ``<mode>_<kind>`` for each analysed pair, and ``post16``
        when it was analysed (:func:`report_map_names`): maps, and captions
        under the same names.
    """
    maps: dict[str, folium.Map] = {}
    captions: dict[str, str] = {}
    for name in report_map_names(result):
        maps[name], captions[name] = _report_map(result, name, online_tiles=online_tiles)
    return maps, captions


def write_report(
    result: Result,
    out_dir: str | Path,
    *,
    sources: Iterable[str | Path] = (),
    online_tiles: bool = False,
    progress: Progress | None = None,
    figures: bool = True,
) -> dict[str, Path]:
    """Write a result's maps, figures, GeoPackage, CSV tables and index pages into a folder.

    Everything is written to a staging folder beside ``out_dir``, which then
    replaces ``out_dir`` as a whole (see :func:`geomap.io.replace_folder`): a
    failure or an interrupted run leaves the folder's earlier files exactly as
    they were, and files of an earlier run that this one does not write are
    gone. On Linux with two cores or more, the maps of :func:`report_maps`,
    the eligibility map and the finder are drawn and written by a second
    (forked) process while this one writes the rest; the files are the same as when written by one
    process, and an error in either is raised here, once, with nothing
    written.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run`.
    out_dir
        The output folder.
    sources
        Further files the run read, which ``out_dir`` may not hold (the study
        area's own files are never overwritten either).
    online_tiles
        Whether the maps load OpenStreetMap tiles (needs internet).
    progress
        Called with a short message before each step.
    figures
        Also write each map as a figure for papers (``figures/<name>.png``
        at 300 dpi and ``figures/<name>.pdf``, :func:`geomap.figures.map_figure`)
        and each chart as a PDF; about half the report's time.

    Returns
    -------
    dict of str to pathlib.Path
        What was written: ``map:<name>``, ``explore`` (every map on one
        page), ``figure:<name>.png`` and ``figure:<name>.pdf`` (with
        ``figures``), ``geopackage``, ``csv:<name>`` (``csv:headlines``: the
        summary's numbers), ``chart:<name>`` (PNG charts; ``chart:<stem>.pdf``
        with ``figures``), ``index``.
    """
    _say(progress, "[6/6] drawing the maps and writing them, the GeoPackage and tables")
    providers = provider_output(result.providers)
    cover = result.analysis.coverage
    layers = {
        "providers": providers,
        "areas": result.areas.merge(result.provision.drop(columns=["area_name"]), on="area_id"),
        "access": result.areas[["area_id", "area_name", "geometry"]].merge(cover, on="area_id"),
        "gap_areas": result.areas[["area_id", "geometry"]].merge(
            result.analysis.ranking, on="area_id"
        ),
        **_group_layers(result.inputs, result.analysis.by_group, prefix=""),
    }
    tables = {
        "providers": providers,
        "provider_summary": result.provider_summary,
        "areas": layers["areas"],
        "access": cover,
        "gaps_ranked": result.analysis.ranking,
        "group_summary": result.analysis.by_group,
        "thresholds": _threshold_table(result.analysis.thresholds),
    }
    if result.post16 is not None:
        extra_layers, extra_tables = post16_outputs(result.inputs, result.post16)
        layers.update(extra_layers)
        tables.update(extra_tables)
    planned, charts = _planning_outputs(result, online_tiles=online_tiles)
    comparison_rows = []
    if result.origins_comparison is not None:
        tables["origins_comparison"] = result.origins_comparison
        for _, r in result.origins_comparison.iterrows():
            comparison_rows.append(
                {
                    "kind": settings.KIND_LABELS.get(str(r["kind"]), str(r["kind"])),
                    "mode": str(r["mode"]),
                    "threshold": f"{r['threshold']:g}",
                    "areas": f"{r['children_beyond_areas']:,.0f}",
                    "postcodes": f"{r['children_beyond_postcodes']:,.0f}",
                    "difference": f"{r['difference']:+,.0f}",
                }
            )
    if result.postcodes is not None and result.origins == "postcodes":
        # measured from every postcode: the per-postcode rows too (the comparison alone otherwise)
        tables["access_postcodes"] = result.postcodes.coverage
    eligible = result.eligibility
    if eligible is not None:
        layers["eligibility_homes"] = eligible.homes
        tables["eligibility_counts"] = eligible.counts
        tables["eligibility_cost"] = eligible.cost
    layers.update(planned.layers)
    tables.update(planned.tables)
    tables["headlines"] = headlines(result)
    out = Path(out_dir)
    read = [*sources, *result.inputs.study.files()]
    shared = _can_fork()
    if figures:
        prepare_figures()  # fonts loaded once, before the fork, for both processes
    jobs = _Jobs(
        [
            # the costliest first: the eligibility map draws every home
            *(["eligibility"] if eligible is not None else []),
            *report_map_names(result),
            *planned.maps,
        ],
        charts=charts,
        figures=figures,
        shared=shared,
    )
    with replace_folder(out, command="geomap report", inputs=read) as stage:
        # A second process writes the finder while this one writes the GeoPackage,
        # the tables and explore.html; then both draw and write the maps (each page
        # with its figures) and the charts, each taking the next from a shared
        # counter: the two write different files and end at about the same time.
        (stage / "maps").mkdir()
        if figures:
            (stage / "figures").mkdir()
        if charts:
            (stage / "charts").mkdir()
        background = _Background(
            lambda: _write_maps(
                result, stage, online_tiles=online_tiles, jobs=jobs, planned=planned.maps
            ),
            what="writing the report's maps, figures and finder",
            fork=shared,
        )
        try:
            _write_files(stage, layers=layers, tables=tables)
            write_text(explore_page(result, online_tiles=online_tiles), stage / "explore.html")
            mine = (
                jobs.run(result, stage, built=planned.maps, online_tiles=online_tiles)
                if background.forked
                else {}
            )
            theirs, finder_note = background.result()
        finally:
            background.stop()
        drawn = {**mine, **theirs}
        captions = {name: drawn[name] for name in report_map_names(result)}
        # maps in the order report_maps, eligibility, planning
        names = [*captions, *(["eligibility"] if eligible is not None else []), *planned.maps]
        files = {f"map:{name}": out / "maps" / f"{name}.html" for name in names}
        files["explore"] = out / "explore.html"
        if figures:
            files.update(
                {
                    f"figure:{name}.{suffix}": out / "figures" / f"{name}.{suffix}"
                    for name in names
                    for suffix in ("png", "pdf")
                }
            )
        captions.update(planned.captions)
        files["geopackage"] = out / "geomap.gpkg"
        files.update({f"csv:{name}": out / f"{name}.csv" for name in tables})
        if finder_note is None:
            files["finder"] = out / "finder.html"
        files.update({f"chart:{name}": out / "charts" / name for name in charts})
        if figures:
            files.update(
                {
                    f"chart:{Path(name).stem}.pdf": out / "charts" / f"{Path(name).stem}.pdf"
                    for name in charts
                }
            )
        files["index"] = out / "index.html"
        write_text(
            index_html(
                result,
                files,
                out,
                captions=captions,
                planning={
                    **planned.context,
                    "finder": finder_note is None,
                    "finder_note": finder_note or "",
                    "eligibility": _eligibility_context(eligible),
                    "comparison": comparison_rows,
                    "comparison_note": ""
                    if result.origins_comparison is None
                    else str(result.origins_comparison.attrs.get("note", "")),
                },
            ),
            stage / "index.html",
        )
    return files


def _write_maps(
    result: Result,
    stage: Path,
    *,
    online_tiles: bool,
    jobs: _Jobs,
    planned: Mapping[str, folium.Map],
) -> tuple[dict[str, str], str | None]:
    """Write the finder into ``stage``, then maps and charts of ``jobs`` until none is left.

    Returns the captions of the maps this process drew (by name), and why
    there is no finder page (None when it was written).
    """
    finder, finder_note = _finder(result)
    if finder is not None:
        write_text(finder, stage / "finder.html")
    captions = jobs.run(result, stage, built=planned, online_tiles=online_tiles)
    return captions, None if finder is not None else finder_note


class _Jobs:
    """The report's map pages (each with its figures) and charts, done by whichever process is free.

    Each process takes the next job's number from a counter both share (made
    before the fork), builds that map (unless built already), writes its
    page and, with ``figures``, its figure for papers, or draws that chart,
    and takes the next, until none is left: the two processes end at about
    the same time whatever each had to do before. The costliest go first, so
    that none is left to one process at the end. Where the report writes with
    one process, that one does them all.
    """

    def __init__(
        self, maps: list[str], *, charts: Mapping[str, _Chart], figures: bool, shared: bool
    ) -> None:
        self.names = [*(f"map:{name}" for name in maps), *(f"chart:{name}" for name in charts)]
        self.charts = dict(charts)
        self.figures = figures
        self._taken = 0
        self._counter: Any = None
        if shared:
            import multiprocessing

            self._counter = multiprocessing.get_context("fork").Value("l", 0)

    def _take(self) -> int:
        if self._counter is None:
            self._taken += 1
            return self._taken - 1
        with self._counter.get_lock():
            taken = int(self._counter.value)
            self._counter.value = taken + 1
        return taken

    def run(
        self,
        result: Result,
        stage: Path,
        *,
        built: Mapping[str, folium.Map],
        online_tiles: bool,
    ) -> dict[str, str]:
        """Do jobs until every one is taken; the captions of the maps built here, by name."""
        captions: dict[str, str] = {}
        while (taken := self._take()) < len(self.names):
            what, _, name = self.names[taken].partition(":")
            if what == "chart":
                chart = self.charts[name]
                if self.figures:
                    drawn = _draw_chart_files(chart)
                    (stage / "charts" / name).write_bytes(drawn["png"])
                    (stage / "charts" / f"{Path(name).stem}.pdf").write_bytes(drawn["pdf"])
                else:
                    (stage / "charts" / name).write_bytes(_draw_chart(chart))
                continue
            m = built.get(name)
            if m is None:
                m, captions[name] = _report_map(result, name, online_tiles=online_tiles)
            write_text(offline_html(m), stage / "maps" / f"{name}.html")
            if self.figures:
                _write_figures({name: m}, stage)
        return captions


def _write_files(
    stage: Path,
    *,
    layers: Mapping[str, gpd.GeoDataFrame],
    tables: Mapping[str, pd.DataFrame],
) -> None:
    """Write the GeoPackage and the tables into ``stage``."""
    with _sqlite_unsynced():
        write_geopackage(dict(layers), stage / "geomap.gpkg")
    for name, table in tables.items():
        write_csv(table, stage / f"{name}.csv")


def _write_figures(maps: Mapping[str, folium.Map], stage: Path) -> None:
    """Write ``figures/<name>.png`` (300 dpi) and ``figures/<name>.pdf`` of each map into ``stage``."""
    if not maps:
        return
    (stage / "figures").mkdir(exist_ok=True)
    for name, m in maps.items():
        drawn = map_figure(static_map(m))
        for suffix, data in drawn.items():
            (stage / "figures" / f"{name}.{suffix}").write_bytes(data)


@contextlib.contextmanager
def _sqlite_unsynced() -> Iterator[None]:
    """Within the block, GDAL's SQLite (GeoPackage) writes skip waiting for the disk.

    SQLite otherwise flushes to disk after every layer's transaction, which
    took most of the time of writing the report's GeoPackage. The file is
    written in the staging folder and only moved into place once complete, like
    every other output, so a failure still leaves no partial file behind.
    """
    saved = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": saved})


def eligibility_map(
    inputs: Inputs, eligibility: Eligibility, *, online_tiles: bool = False
) -> folium.Map:
    """Map of where children are entitled to free home-to-school transport, and why.

    Parameters
    ----------
    inputs
        What was analysed.
    eligibility
        From :func:`geomap.pipeline.eligibility_for`.
    online_tiles
        Whether the map loads OpenStreetMap tiles (needs internet).

    Returns
    -------
    folium.Map
        The map, one shape per home, the suitable schools as markers.
    """
    return category_map(
        eligibility.homes,
        column="category",
        categories=MAP_CATEGORIES,
        title=f"Home-to-school transport eligibility: {inputs.name}",
        caption=_plan_caption(inputs, [eligibility.note], False),
        legend_title="Free home-to-school transport",
        popup_fields=[("children", "Children"), ("eligible", "Eligible"), ("rules", "Rules")],
        providers=suitable_schools(inputs.providers),
        online_tiles=online_tiles,
        base=inputs.base,
    )


def _eligibility_context(eligible: Eligibility | None) -> dict[str, Any] | None:
    if eligible is None:
        return None
    cost = eligible.cost
    total = cost.iloc[-1]
    return {
        "note": eligible.note,
        "eligible": f"{total['eligible']:,.0f}",
        "check": f"{total['check_by_route']:,.0f}",
        "cost": f"£{total['annual_cost']:,.0f}",
        "per_pupil": f"£{total['cost_per_pupil']:,.0f}",
        "source": str(total.get("source", "")),
        "rules": [
            {"rule": str(r["rule"]), "eligible": f"{r['eligible']:,.0f}"}
            for _, r in cost.iloc[:-1].iterrows()
        ],
    }


def _finder(result: Result) -> tuple[str | None, str]:
    """The post-16 options finder page, or why there is none."""
    inputs = result.inputs
    if inputs.study.postcodes is None:
        return None, "No post-16 options finder: the study area has no postcode lookup."
    data, why = result.post16_options, result.post16_options_note
    if data is None and not why:
        # a run without planning: the options are worked out here
        data, why = post16_options(
            inputs,
            sources=result.travel,
            pt=result.pt,
            include_independent=result.include_independent,
        )
    if data is None:
        return None, f"No post-16 options finder: {why}"
    page = finder_html(
        data,
        title=f"Post-16 options near you: {inputs.name}",
        caption=finder_caption(inputs),
    )
    return page, ""


def _group_layers(
    inputs: Inputs, by_group: pd.DataFrame, *, prefix: str
) -> dict[str, gpd.GeoDataFrame]:
    """One polygon layer per grouping level (ward, partnership) with its summary rows."""
    layers = {}
    for level, polygons in inputs.groups.items():
        summary = by_group[by_group["level"] == level].drop(columns=["group_name"], errors="ignore")
        name = f"{prefix}{level}" if prefix else f"{level}_summary"
        layers[name] = polygons[["area_id", "area_name", "geometry"]].merge(
            summary, left_on="area_id", right_on="group_id"
        )
    return layers


def provider_output(providers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Providers with easting/northing and lon/lat columns added, for tables.

    Parameters
    ----------
    providers
        Providers in EPSG:27700.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``easting``, ``northing`` (metres) and ``lon``, ``lat`` (degrees).
    """
    out = providers.copy()
    lonlat = out.geometry.to_crs(settings.LONLAT_CRS)
    out["easting"] = out.geometry.x.round(0)
    out["northing"] = out.geometry.y.round(0)
    out["lon"] = lonlat.x.round(6)
    out["lat"] = lonlat.y.round(6)
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")[:50] or "route"


def write_scenario(
    inputs: Inputs,
    result: ScenarioResult,
    out_dir: str | Path,
    *,
    include_independent: bool = False,
    online_tiles: bool = False,
    sources: Iterable[str | Path] = (),
) -> dict[str, Path]:
    """Write a scenario's ranking, per-area changes, GeoPackage and a before/after map per route.

    Maps are named by rank and route (``01_<route>.html``), so two routes never
    share a file; ``out_dir`` is replaced as a whole (see
    :func:`geomap.io.replace_folder`), and may not hold ``sources``, the files
    the run read.

    Parameters
    ----------
    inputs
        What was analysed.
    result
        The scenario's effects (:func:`geomap.routes.evaluate_scenario`).
    out_dir
        The output folder.
    include_independent
        Whether independent schools and colleges were counted as provision.
    online_tiles
        Whether the maps load OpenStreetMap tiles (needs internet).
    sources
        The files the run read.

    Returns
    -------
    dict of str to pathlib.Path
        What was written: ``map:<name>``, ``csv:ranking``, ``csv:changes``, ``geopackage``.
    """
    providers = eligible_providers(
        inputs.providers, "post16", include_independent=include_independent
    )
    names = inputs.areas.set_index("area_id")["area_name"]
    limit = result.base.thresholds.pt_max_minutes
    maps: dict[str, folium.Map] = {}
    for rank, effect in enumerate(result.effects, start=1):
        route = effect.route
        assert route is not None
        areas = inputs.areas[["area_id", "area_name", "geometry"]].merge(effect.areas, on="area_id")
        caption = _caption(
            inputs,
            [],
            [
                f"Scenario '{result.scenario.name}' ({result.scenario.path}).",
                f"Before: {result.base.methods['pt']}",
                f"After: {effect.summary['how']}",
                f"{effect.summary['young_who_gain']:,} young people aged 16–18 gain; "
                f"{effect.summary['young_no_longer_barrier']:,} no longer face a barrier.",
            ],
            include_independent,
        )
        maps[f"{rank:02d}_{_slug(route.name)}.html"] = route_map(
            areas,
            route.line(),
            route.stop_table(),
            providers,
            pt_max_minutes=limit,
            caption=caption,
            title=f"Route scenario: {route.name}",
            base=inputs.base,
            online_tiles=online_tiles,
        )
    changes = [
        e.areas.assign(route=e.name, area_name=e.areas["area_id"].map(names))
        for e in [*result.effects, result.combined]
    ]
    change_table = pd.concat(changes, ignore_index=True)
    first = ["route", "area_id", "area_name"]
    change_table = change_table[first + [c for c in change_table.columns if c not in first]]
    routes = [e.route for e in result.effects if e.route is not None]
    layers = {
        "routes": gpd.GeoDataFrame(
            pd.concat([r.line() for r in routes], ignore_index=True), crs=settings.MEASURE_CRS
        ),
        "stops": gpd.GeoDataFrame(
            pd.concat([r.stop_table().assign(route=r.name) for r in routes], ignore_index=True),
            crs=settings.MEASURE_CRS,
        ),
        "changes": inputs.areas[["area_id", "geometry"]].merge(change_table, on="area_id"),
    }
    out = Path(out_dir)
    files: dict[str, Path] = {}
    read = [*sources, *inputs.study.files()]
    with replace_folder(out, command="geomap routes evaluate", inputs=read) as stage:
        (stage / "maps").mkdir()
        for name, m in maps.items():
            write_text(offline_html(m), stage / "maps" / name)
            files[f"map:{name}"] = out / "maps" / name
        write_csv(result.ranking(), stage / "ranking.csv")
        write_csv(change_table, stage / "changes.csv")
        write_geopackage(layers, stage / "routes.gpkg")
        files.update(
            {
                "csv:ranking": out / "ranking.csv",
                "csv:changes": out / "changes.csv",
                "geopackage": out / "routes.gpkg",
            }
        )
    return files


def _threshold_table(thresholds: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "mode": mode,
                "kind": kind,
                "minutes": minutes,
                "source": threshold_source(mode, kind, minutes),
            }
            for mode, values in thresholds.items()
            for kind, minutes in values.items()
        ]
    )


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("geomap", "_assets"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def index_html(
    result: Result,
    files: Mapping[str, Path],
    out: Path,
    *,
    captions: Mapping[str, str],
    planning: Mapping[str, Any] | None = None,
) -> str:
    """The report's front page: what was done, on what, how wrong it can be, and links.

    Rendered from the package's ``index.html.j2`` template with autoescaping:
    every value from the inputs reaches the page as text, never as markup.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run`.
    files
        What was written (from :func:`write_report`), for the list of files.
    out
        The output folder, which links are relative to.
    captions
        Captions by map name (from :func:`report_maps`).
    planning
        The planning sections (``PlanningOutputs.context`` of
        :func:`planning_outputs`); left out when ``None``.

    Returns
    -------
    str
        The page.
    """
    analysis = result.analysis
    cover = analysis.coverage
    modes = list(dict.fromkeys(cover["mode"]))
    kinds = list(dict.fromkeys(cover["kind"]))

    def link(key: str) -> str:
        # a written file's link relative to the page; empty when it was not written
        return files[key].relative_to(out).as_posix() if key in files else ""

    def map_label(name: str) -> str:
        mode, _, kind = name.partition("_")
        if kind in settings.KIND_LABELS and mode in analysis.thresholds:
            return f"{settings.KIND_LABELS[kind]}, {mode}"
        for prefix, what in (("capacity_", "Places within reach"), ("sufficiency_", "Places")):
            if name.startswith(prefix):
                rest = name.removeprefix(prefix).split("_", 1)
                kind = rest[-1]
                how = f", {rest[0]}" if len(rest) > 1 else ""
                return f"{what}: {settings.KIND_LABELS.get(kind, kind)}{how}"
        named = {
            "providers": "All providers by kind",
            "post16": "Post-16: public transport against car",
            "post16_competition": "Post-16: competition between providers",
            "eligibility": "Home-to-school transport eligibility",
            "new_sites": "Where to add provision",
        }
        return named.get(name, name.replace("_", " ").capitalize())

    said = headlines(result)
    # the summary: a table of providers and children beyond a reasonable journey by kind
    # and mode, then the other headlines as sentences
    summary_kinds = []
    for kind in kinds:
        mine = said[said["kind"] == kind]
        counted = mine[mine["topic"] == "providers"]
        beyond = mine[mine["topic"] == "beyond"].set_index("mode")
        summary_kinds.append(
            {
                "label": settings.KIND_LABELS.get(kind, kind),
                "providers": str(counted["figure"].iloc[0]) if len(counted) else "—",
                "cells": [
                    {
                        "figure": str(beyond.loc[mode, "figure"]),
                        "limit": f"beyond {analysis.thresholds[mode][kind]:g} min",
                    }
                    if mode in beyond.index
                    else {"figure": "—", "limit": "not counted (see below)"}
                    for mode in modes
                ],
            }
        )
    summary_points = [
        str(r["sentence"]) for _, r in said.iterrows() if r["topic"] not in ("providers", "beyond")
    ]
    summary_notes = [str(n) for n in dict.fromkeys(said["note"]) if str(n)]
    if "special" in kinds:
        summary_notes.append(
            "Special schools serve the children whose plan names one, not every child of the "
            "ages, so children beyond one are not counted here; the maps show the journey times."
        )
    maps = [
        {
            "label": map_label(key.removeprefix("map:")),
            "html": link(key),
            "png": link(f"figure:{key.removeprefix('map:')}.png"),
            "pdf": link(f"figure:{key.removeprefix('map:')}.pdf"),
        }
        for key in files
        if key.startswith("map:")
    ]
    charts = [
        {**chart, "pdf": link(f"chart:{Path(str(chart['src'])).stem}.pdf")}
        for chart in (planning or {}).get("charts", [])
    ]
    grid = []
    for kind in kinds:
        low, high = settings.AGE_BANDS[kind]
        cells = []
        for mode in modes:
            rows = cover[(cover["kind"] == kind) & (cover["mode"] == mode)]
            cells.append(
                {
                    "href": f"maps/{mode}_{kind}.html",
                    "mode": mode,
                    "beyond": int(rows["children_beyond"].sum()),
                    "total": int(rows["children"].sum()),
                    "threshold": analysis.thresholds[mode][kind],
                    "areas": int(rows["beyond"].sum()),
                    "png": link(f"figure:{mode}_{kind}.png"),
                    "pdf": link(f"figure:{mode}_{kind}.pdf"),
                }
            )
        grid.append(
            {
                "label": settings.KIND_LABELS[kind],
                "ages": f"ages {low}–{high}"
                + (", all children (not pupils with special needs)" if kind == "special" else ""),
                "cells": cells,
            }
        )
    top = analysis.ranking.groupby(["mode", "kind"]).head(5)
    gaps = [
        {
            "mode": str(r["mode"]),
            "kind": settings.KIND_LABELS[str(r["kind"])],
            "rank": int(r["rank"]),
            "area": f"{r['area_name']} ({r['area_id']})",
            "minutes": "no journey" if pd.isna(r["minutes"]) else f"{r['minutes']:.0f}",
            "threshold": r["threshold"],
            "children_beyond": int(r["children_beyond"]),
            "provider": str(r["provider_name"]),
        }
        for _, r in top.iterrows()
    ]
    thresholds = [
        {
            "mode": mode,
            "limits": ", ".join(
                f"{k} {v:g} min" for k, v in analysis.thresholds[mode].items() if k in kinds
            ),
            "source": "; ".join(
                dict.fromkeys(
                    threshold_source(mode, k, v)
                    for k, v in analysis.thresholds[mode].items()
                    if k in kinds
                )
            ),
        }
        for mode in modes
    ]
    summary = result.provider_summary
    page = _templates().get_template("index.html.j2")
    return page.render(
        name=result.inputs.name,
        version=__version__,
        when=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        n_areas=len(result.areas),
        area_label=result.inputs.area_label,
        n_providers=len(result.providers),
        methods=[analysis.methods[m] for m in modes],
        thresholds=thresholds,
        modes=modes,
        grid=grid,
        gaps=gaps,
        main_level=result.inputs.main_level,
        post16=_post16_context(result, captions.get("post16", "")),
        planning=planning or None,
        summary_kinds=summary_kinds,
        summary_points=summary_points,
        summary_notes=summary_notes,
        headlines_csv=link("csv:headlines"),
        explore=link("explore"),
        maps=maps,
        charts=charts,
        summary_columns=[str(c) for c in summary.columns],
        summary_rows=[[str(v) for v in row] for row in summary.itertuples(index=False)],
        notes=result.notes,
        sources=result.inputs.sources,
        attribution=result.inputs.study.attribution,
        links=[
            path.relative_to(out).as_posix()
            for name, path in files.items()
            if not name.startswith(("map:", "chart:", "figure:"))
        ],
    )


def _post16_context(result: Result, caption: str) -> dict[str, Any] | None:
    analysis = result.post16
    if analysis is None:
        return None
    areas = analysis.areas
    level = result.inputs.main_level
    groups = analysis.by_group
    top = groups[groups["level"] == level].head(8) if level is not None else groups.head(0)
    return {
        "young": int(areas["young_people"].sum()),
        "thresholds": analysis.thresholds.describe(),
        "caption": caption.split("\n"),
        "flags": [
            {
                "label": str(label),
                "young": int(areas.loc[areas[flag], "young_people"].sum()),
                "areas": int(areas[flag].sum()),
            }
            for flag, label in [*FLAGS.items(), ("barrier", "any barrier")]
        ],
        "level": level,
        "groups": [
            {
                "rank": int(r["rank"]),
                "name": str(r["group_name"]),
                "young": int(r["young_people"]),
                "barrier": int(r["young_barrier"]),
                "minutes": "—" if pd.isna(r["mean_pt_minutes"]) else r["mean_pt_minutes"],
            }
            for _, r in top.iterrows()
        ],
    }


# --------------------------------------------------------------------------- planning


@dataclass
class PlanningOutputs:
    """What :func:`planning_outputs` draws and tabulates, ready to write."""

    maps: dict[str, folium.Map] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: PNG images by file name (``charts/<name>.png``) with their alternative text
    charts: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


def _label(kind: str) -> str:
    return settings.KIND_LABELS.get(kind, kind)


def _plan_caption(inputs: Inputs, notes: Iterable[str], include_independent: bool) -> str:
    return _caption(inputs, notes, [], include_independent)


def description_of_quality(rows: pd.DataFrame, mode: str, kind: str) -> str:
    """Sentences on the children whose nearest provider is rated below good, or not rated.

    Parameters
    ----------
    rows
        Quality rows of one kind and mode (:func:`geomap.gaps.quality_access`).
    mode, kind
        Which.

    Returns
    -------
    str
        The sentences: how many children, how much further a good or
        outstanding provider is for them, and how many have an unrated nearest.
    """
    total = int(rows["children"].sum())
    below = rows[rows["nearest_below_good"].astype(bool)]
    children = int(below["children"].sum())
    share = children / total if total else 0.0
    text = (
        f"{children:,} of {total:,} children ({share:.0%}) live where the nearest "
        f"{_label(kind).lower()} provider by {mode} is rated below good"
    )
    extra = below["extra_minutes"].to_numpy(dtype=float)
    weights = below["children"].to_numpy(dtype=float)
    known = np.isfinite(extra) & (weights > 0)
    if known.any():
        mean = float((extra[known] * weights[known]).sum() / weights[known].sum())
        text += f"; for them a good or outstanding one is {mean:.1f} minutes further on average"
    none = int(below.loc[below["minutes_good"].isna(), "children"].sum())
    if none:
        text += f"; {none:,} of them have none within reach"
    unrated = int(rows.loc[rows["nearest_unrated"].astype(bool), "children"].sum())
    if unrated:
        text += f". The nearest provider of {unrated:,} children has no rating"
    return text + "."


def _access_map(
    inputs: Inputs,
    result: CatchmentAccess,
    mode: str,
    kind: str,
    *,
    independent: bool,
    tiles: bool,
) -> tuple[folium.Map, str]:
    layer = inputs.areas[["area_id", "area_name", "geometry"]].merge(
        result.areas.drop(columns=["area_name"], errors="ignore"), on="area_id"
    )
    caption = _plan_caption(
        inputs, [str(result.areas.attrs.get("description", "")), *result.notes], independent
    )
    # where a provider within reach gives no places, draw the known places as a lower bound
    layer["partial"] = ~layer["complete"].astype(bool)
    layer["places_per_child"] = layer["score"].where(layer["complete"], layer["score_known_places"])
    layer["what"] = [
        "all places within reach known" if whole else "lower bound: some places not given"
        for whole in layer["complete"]
    ]
    scores = layer["places_per_child"].dropna()
    top = float(scores.quantile(0.8)) if len(scores) else 1.0
    bins = tuple(round(top * f, 3) for f in (0.25, 0.5, 0.75, 1.0))
    providers = eligible_providers(inputs.providers, kind, include_independent=independent)
    m = value_map(
        layer,
        column="places_per_child",
        title=f"{_label(kind)}: places per child within reach by {mode}",
        caption=caption,
        bins=bins,
        colours=MORE_IS_BETTER,
        unit="places per child",
        no_value="no provider with places given within reach",
        legend_title="Places per child within reach",
        popup_fields=[
            ("area_name", "Area"),
            ("area_id", "Code"),
            ("places_per_child", "Places per child"),
            ("what", "Which places"),
            ("providers", "Providers within reach"),
            ("providers_without_places", "… without places given"),
            ("population", "Children of the age"),
        ],
        # the score counts providers in the study area only (see the caption)
        providers=providers[providers["in_county"].astype(bool).to_numpy()],
        partial="partial",
        partial_label="a lower bound: a provider within reach gives no places",
        base=inputs.base,
        online_tiles=tiles,
    )
    return m, caption


def _sufficiency_map(
    inputs: Inputs, result: Sufficiency, *, independent: bool, tiles: bool
) -> tuple[folium.Map, str] | None:
    level = inputs.main_level
    if level is None:
        groups, table = inputs.areas, result.by_area.rename(columns={"area_id": "group_id"})
        groups = groups.rename(columns={"area_id": "group_id"})
    else:
        groups = inputs.groups[level].rename(columns={"area_id": "group_id"})
        table = result.by_group[result.by_group["level"] == level].drop(
            columns=["group_name"], errors="ignore"
        )
    layer = groups[["group_id", "area_name", "geometry"]].merge(table, on="group_id")
    layer["spare_text"] = [
        "—" if pd.isna(v) else f"{v:.0%} of places" for v in layer["spare_share"]
    ]
    layer["flag_text"] = [SUFFICIENCY_STYLES.get(str(f), ("", str(f)))[1] for f in layer["flag"]]
    caption = _plan_caption(inputs, result.notes, independent)
    m = category_map(
        layer,
        column="flag",
        categories=SUFFICIENCY_STYLES,
        title=f"{_label(result.kind)}: places against children by {level or 'area'}",
        caption=caption,
        legend_title="Places against children",
        popup_fields=[
            ("area_name", (level or "area").capitalize()),
            ("flag_text", "Places against children"),
            ("children", "Children of the age"),
            ("places", "Places"),
            ("places_known", "Places known (where some are not)"),
            ("spare", "Spare places"),
            ("spare_text", "Spare share"),
            ("providers_without_places", "Providers without places"),
        ],
        providers=eligible_providers(
            inputs.providers, result.kind, include_independent=independent
        ),
        base=inputs.base,
        online_tiles=tiles,
    )
    return m, caption


def _competition_map(
    inputs: Inputs, planning: Planning, *, independent: bool, tiles: bool
) -> tuple[folium.Map, str, gpd.GeoDataFrame]:
    assert planning.competition is not None
    competition = planning.competition
    where = inputs.providers.drop_duplicates("id").set_index("id").geometry
    table = competition.providers
    points = gpd.GeoDataFrame(
        table.assign(
            flag=[
                "unknown"
                if pd.isna(small)
                else "small_and_covered"
                if not pd.isna(covered) and bool(covered)
                else "small"
                if small
                else "other"
                for small, covered in zip(table["small"], table["small_and_covered"], strict=True)
            ]
        ),
        geometry=where.reindex(table["provider_id"]).to_numpy(),
        crs=settings.MEASURE_CRS,
    )
    served = points[points["catchment_areas"] > 0]
    # a line from each small, mostly covered provider to the one covering most of it
    pairs = competition.pairs.astype({"provider_id": str, "other_id": str})
    flagged = points.loc[
        points["flag"] == "small_and_covered", ["provider_id", "most_overlapping_id"]
    ].astype(str)
    shown = pairs.merge(
        flagged,
        left_on=["provider_id", "other_id"],
        right_on=["provider_id", "most_overlapping_id"],
    )
    lines = gpd.GeoDataFrame(
        shown[["provider_name", "other_name", "overlap_share"]],
        geometry=[
            shapely.LineString([where[a], where[b]])
            for a, b in zip(shown["provider_id"], shown["other_id"], strict=True)
        ],
        crs=settings.MEASURE_CRS,
    )
    caption = _plan_caption(inputs, planning.notes.get("competition", []), independent)
    m = competition_map(
        served,
        lines,
        title="Post-16: sixth forms and colleges whose catchments overlap",
        caption=caption,
        small=settings.SMALL_SIXTH_FORM,
        base=inputs.base,
        bounds=inputs.areas.total_bounds,
        online_tiles=tiles,
    )
    return m, caption, points


def sites_map_for(
    inputs: Inputs,
    choice: SiteChoice,
    *,
    kind: str,
    notes: Iterable[str] | None = None,
    include_independent: bool = False,
    online_tiles: bool = False,
) -> tuple[folium.Map, str]:
    """Map of where new provision would help: coverage before and after, and the chosen sites.

    Parameters
    ----------
    inputs
        What was analysed.
    choice
        From :func:`geomap.sites.sites_for_kind`.
    kind
        The kind of provision added.
    notes
        Sentences for the caption; the choice's own notes by default.
    include_independent
        Whether independent schools were counted as existing provision.
    online_tiles
        Whether the map loads OpenStreetMap tiles (needs internet).

    Returns
    -------
    tuple of folium.Map and str
        The map and its caption.
    """
    layers = _site_layers(inputs, choice)
    caption = _plan_caption(
        inputs, list(notes) if notes is not None else choice.notes, include_independent
    )
    m = sites_map(
        layers["new_sites_areas"],
        eligible_providers(inputs.providers, kind, include_independent=include_independent),
        layers["new_sites"],
        title=f"{_label(kind)}: where {len(layers['new_sites'])} new settings would help most",
        caption=caption,
        base=inputs.base,
        online_tiles=online_tiles,
    )
    return m, caption


def _site_layers(inputs: Inputs, choice: SiteChoice) -> dict[str, gpd.GeoDataFrame]:
    layers = sites_map_layers(choice, inputs.areas)
    areas = layers["areas"].merge(inputs.areas[["area_id", "area_name"]], on="area_id")
    areas["status"] = [
        "newly covered" if new else "covered" if before else "not covered"
        for new, before in zip(
            areas["newly_covered"].fillna(False), areas["covered_before"].fillna(False), strict=True
        )
    ]
    return {"new_sites": layers["chosen"], "new_sites_areas": areas}


def planning_outputs(result: Result, *, online_tiles: bool = False) -> PlanningOutputs:
    """Maps, tables, GeoPackage layers, charts and index sections of a result's planning.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run` with ``planned`` (``result.planning``).
    online_tiles
        Whether the maps load OpenStreetMap tiles (needs internet).

    Returns
    -------
    PlanningOutputs
        Empty when the result was not planned.
    """
    out, charts = _planning_outputs(result, online_tiles=online_tiles)
    for name, chart in charts.items():
        out.charts[name] = (_draw_chart(chart), out.charts[name][1])
    return out


@dataclass(frozen=True)
class _Chart:
    """What one chart of the report shows, to draw later (perhaps in another process)."""

    bands: pd.DataFrame
    kind: str
    title: str
    caption: str


def _draw_chart(chart: _Chart) -> bytes:
    return bands_chart(chart.bands, kind=chart.kind, title=chart.title, caption=chart.caption)


def _draw_chart_files(chart: _Chart) -> dict[str, bytes]:
    """The chart as a PNG and a PDF (``png``, ``pdf``), drawn once."""
    return bands_chart_files(chart.bands, kind=chart.kind, title=chart.title, caption=chart.caption)


def _planning_outputs(
    result: Result, *, online_tiles: bool
) -> tuple[PlanningOutputs, dict[str, _Chart]]:
    """:func:`planning_outputs` with the charts not yet drawn (their images empty)."""
    out = PlanningOutputs()
    planning = result.planning
    to_draw: dict[str, _Chart] = {}
    if planning is None:
        return out, to_draw
    inputs = result.inputs
    independent = result.include_independent
    tiles = online_tiles
    shapes = inputs.areas[["area_id", "area_name", "geometry"]]
    # journey-time bands: a chart per kind
    bands = planning.bands
    out.tables["journey_time_bands"] = bands
    charts = []
    for kind in chart_kinds(bands, list(dict.fromkeys(result.analysis.coverage["kind"]))):
        name = f"journey_time_bands_{kind}.png"
        text = bands_description(bands, kind=kind)
        to_draw[name] = _Chart(
            bands,
            kind=kind,
            title=f"{_label(kind)}: children within 15, 30, 45 and 60 minutes of the nearest",
            caption=" ".join(planning.notes.get("bands", [])),
        )
        out.charts[name] = (b"", text)
        charts.append(
            {"src": f"charts/{name}", "alt": f"{_label(kind)}. {text}", "label": _label(kind)}
        )
    # quality: a map per kind and mode
    quality = planning.quality
    out.tables["quality"] = quality
    if not planning.quality_by_group.empty:
        out.tables["quality_by_group"] = planning.quality_by_group
    out.layers["quality"] = gpd.GeoDataFrame(shapes.merge(quality, on="area_id"), crs=shapes.crs)
    quality_rows = []
    for mode, kind in quality[["mode", "kind"]].drop_duplicates().itertuples(index=False):
        rows = quality[(quality["mode"] == mode) & (quality["kind"] == kind)]
        quality_rows.append(
            {
                # the kind's travel-time map carries the quality layer
                "href": f"maps/{mode}_{kind}.html",
                "kind": _label(str(kind)),
                "mode": str(mode),
                "text": description_of_quality(rows, str(mode), str(kind)),
            }
        )
    # choice
    choices = planning.choice
    out.tables["choice"] = choices
    out.layers["choice"] = gpd.GeoDataFrame(shapes.merge(choices, on="area_id"), crs=shapes.crs)
    choice_rows = []
    for (choice_mode, choice_kind), rows in choices.groupby(["mode", "kind"], sort=False):
        total = int(rows["children"].sum())
        choice_rows.append(
            {
                "kind": _label(str(choice_kind)),
                "mode": str(choice_mode),
                "threshold": float(rows["threshold"].iloc[0]),
                "none": int(rows.loc[rows["no_choice"], "children"].sum()),
                "one": int(rows.loc[rows["one_choice"], "children"].sum()),
                "total": total,
                "median": float(rows["providers_within"].median()),
            }
        )
    # capacity-aware access and sufficiency
    access_rows = []
    if planning.access:
        frames = []
        for (mode, kind), access in planning.access.items():
            frames.append(access.areas.assign(mode=mode, kind=kind))
            key = f"capacity_{mode}_{kind}"
            out.maps[key], out.captions[key] = _access_map(
                inputs, access, mode, kind, independent=independent, tiles=tiles
            )
            access_rows.append({"href": f"maps/{key}.html", "kind": _label(kind), "mode": mode})
        out.tables["capacity_access"] = pd.concat(frames, ignore_index=True)
        out.tables["capacity_access_providers"] = pd.concat(
            [a.providers.assign(mode=m, kind=k) for (m, k), a in planning.access.items()],
            ignore_index=True,
        )
    sufficiency_rows = []
    for kind, suff in planning.sufficiency.items():
        out.tables[f"sufficiency_{kind}_areas"] = suff.by_area
        if not suff.by_group.empty:
            out.tables[f"sufficiency_{kind}_groups"] = suff.by_group
        out.tables[f"sufficiency_{kind}_providers"] = suff.providers
        drawn = _sufficiency_map(inputs, suff, independent=independent, tiles=tiles)
        if drawn is not None:
            key = f"sufficiency_{kind}"
            out.maps[key], out.captions[key] = drawn
        counts = [
            f"{level}s: "
            + ", ".join(
                f"{flag} {n}"
                for flag, n in suff.by_group.loc[suff.by_group["level"] == level, "flag"]
                .value_counts()
                .items()
            )
            for level in inputs.lookups
            if not suff.by_group.empty
        ]
        counts.append(
            f"{inputs.area_label} areas: "
            + ", ".join(f"{flag} {n}" for flag, n in suff.by_area["flag"].value_counts().items())
        )
        sufficiency_rows.append(
            {
                "href": f"maps/sufficiency_{kind}.html",
                "kind": _label(kind),
                "basis": suff.basis,
                "counts": counts,
                "notes": suff.notes,
            }
        )
        out.layers[f"sufficiency_{kind}_areas"] = gpd.GeoDataFrame(
            shapes.merge(suff.by_area, on="area_id"), crs=shapes.crs
        )
        for level, groups in inputs.groups.items():
            rows = suff.by_group[suff.by_group["level"] == level].drop(
                columns=["group_name"], errors="ignore"
            )
            polygons = groups[["area_id", "area_name", "geometry"]].rename(
                columns={"area_id": "group_id", "area_name": "group_name"}
            )
            out.layers[f"sufficiency_{kind}_{level}"] = gpd.GeoDataFrame(
                polygons.merge(rows, on="group_id"), crs=groups.crs
            )
    if not planning.early_years.empty:
        early = planning.early_years
        out.tables["early_years_places_per_100"] = early
        at_areas = early[early["level"] == "area"].drop(columns=["group_name"])
        out.layers["early_years_places_per_100"] = gpd.GeoDataFrame(
            shapes.merge(at_areas, left_on="area_id", right_on="group_id"), crs=shapes.crs
        )
    scorecard_rows = []
    if not planning.scorecard.empty:
        out.tables["scorecard_check"] = planning.scorecard
        for _, r in planning.scorecard.iterrows():
            agrees = r["agrees"]
            scorecard_rows.append(
                {
                    "phase": str(r["phase"]),
                    "measure": str(r["measure"]),
                    "list": f"{r['list_total']:,.0f} ({int(r['list_schools'])} schools"
                    + (
                        f", {int(r['schools_without_value'])} without a value)"
                        if r["schools_without_value"]
                        else ")"
                    ),
                    "card": "—"
                    if pd.isna(r["scorecard_total"])
                    else f"{r['scorecard_total']:,.0f} ({r['scorecard_year']})",
                    "difference": "—"
                    if pd.isna(r["difference_share"])
                    else f"{r['difference_share']:+.0%}",
                    "agrees": "no verdict" if pd.isna(agrees) else ("yes" if agrees else "no"),
                }
            )
    if planning.access:
        out.layers["capacity_access"] = gpd.GeoDataFrame(
            shapes.merge(
                out.tables["capacity_access"].drop(columns=["area_name"], errors="ignore"),
                on="area_id",
            ),
            crs=shapes.crs,
        )
    # competition
    competition = None
    if planning.competition is not None:
        out.tables["post16_competition"] = planning.competition.pairs
        out.tables["post16_providers"] = planning.competition.providers
        m, caption, points = _competition_map(
            inputs, planning, independent=independent, tiles=tiles
        )
        out.maps["post16_competition"], out.captions["post16_competition"] = m, caption
        out.layers["post16_providers"] = points
        table = planning.competition.providers
        flagged = table[table["small_and_covered"].fillna(False).astype(bool)]
        flagged = flagged.sort_values(
            ["in_county", "max_overlap_share"], ascending=[False, False], kind="stable"
        )
        competition = {
            "notes": planning.notes.get("competition", []),
            "providers": int((table["catchment_areas"] > 0).sum()),
            "rows": [
                {
                    "name": str(r["name"]),
                    "where": "in the study area"
                    if r["in_county"]
                    else "outside: share of the study area's young people within its reach only",
                    "size": "not known" if pd.isna(r["size"]) else f"{r['size']:,.0f}",
                    "share": f"{r['max_overlap_share']:.0%}",
                    "other": str(r["most_overlapping_name"]),
                }
                for _, r in flagged.iterrows()
            ],
        }
    # new sites
    sites = None
    if planning.sites is not None:
        choice = planning.sites
        out.tables["new_sites"] = choice.sites
        out.tables["new_sites_coverage"] = choice.summary
        greedy = choice.greedy
        if choice.locations is not None:
            names = choice.locations.set_index("id")["name"]
            greedy = greedy.assign(name=greedy["site_id"].astype(str).map(names))
        out.tables["new_sites_greedy"] = greedy
        out.maps["new_sites"], out.captions["new_sites"] = sites_map_for(
            inputs,
            choice,
            kind=REPORT_SITES_KIND,
            notes=planning.notes.get("sites", []),
            include_independent=independent,
            online_tiles=tiles,
        )
        out.layers.update(_site_layers(inputs, choice))
        sites = {
            "notes": planning.notes.get("sites", []),
            "before": int(choice.before["covered"]),
            "after": int(choice.after["covered"]),
            "total": int(choice.before["population"]),
            "rows": [
                {
                    "rank": int(r["rank"]),
                    "name": str(r.get("name", r["site_id"])),
                    "gain": f"{r['gain']:,.0f}",
                }
                for _, r in choice.sites.sort_values("rank").iterrows()
            ],
        }
    out.context = {
        "charts": charts,
        "bands_notes": planning.notes.get("bands", []),
        "quality": quality_rows,
        "quality_notes": planning.notes.get("quality", []),
        "choice": choice_rows,
        "choice_notes": planning.notes.get("choice", []),
        "access": access_rows,
        "capacity_notes": planning.notes.get("capacity", []),
        "scorecard": scorecard_rows,
        "sufficiency": sufficiency_rows,
        "early_years_notes": planning.notes.get("early_years", []),
        "competition": competition,
        "sites": sites,
    }
    return out, to_draw
