"""The main job: providers → areas → demand → travel times → gaps → maps and tables.

:func:`build_report` computes everything in memory; :func:`write_report`
writes it to a folder (``index.html``, ``maps/``, ``geomap.gpkg`` and CSV
tables), each file atomically. Nothing is written until everything is computed,
so bad input never leaves partial output.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import pandas as pd

from geomap import __version__, settings
from geomap.areas import group_lookup, load_areas, load_partnerships, provision_by_area
from geomap.demand import children_by_band, load_population, origin_points
from geomap.errors import InputError, InputWarning
from geomap.gaps import GapAnalysis, analyse_gaps, eligible_providers, summarise_coverage
from geomap.io import replace_folder, write_csv, write_geopackage, write_text
from geomap.maps import access_map, offline_html, post16_map, providers_map, route_map
from geomap.post16 import FLAGS, BarrierThresholds, Post16Analysis, post16_barriers, young_people
from geomap.providers import load_providers, merge_provider_lists, offers, summarise_providers
from geomap.routes import ScenarioResult
from geomap.travel.base import TravelTimes
from geomap.travel.estimate import default_estimate
from geomap.travel.tables import shipped_pt_table

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

DATA_SOURCES = (
    "Providers: DfE school register (c. Nov 2019, closures to Jul 2022) and Welsh border schools (2022)",
    "Population: ONS mid-2020 small-area estimates by single year of age (LSOA 2011)",
    "Boundaries: ONS LSOA 2011, wards 2022, council areas 2024",
    "Deprivation: English Indices of Deprivation 2019 (MHCLG)",
)


@dataclass
class Inputs:
    """The loaded, validated inputs of an analysis."""

    #: open providers (closed ones counted in ``attrs``)
    providers: gpd.GeoDataFrame
    #: analysis areas (LSOA 2011) with children per band, origin source, ward
    areas: gpd.GeoDataFrame
    #: one origin point per area, with ``id`` = area id
    origins: gpd.GeoDataFrame
    #: children per area and band
    children: pd.DataFrame
    #: grouping layers (ward, partnership) and each area's group in them
    groups: dict[str, gpd.GeoDataFrame]
    lookups: dict[str, pd.Series]
    #: council boundaries drawn as the maps' base
    base: gpd.GeoDataFrame
    #: whether the early-years list is the shipped, school-based one
    early_years_school_only: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Everything one run of the main job produces, in memory."""

    inputs: Inputs
    provision: pd.DataFrame
    analysis: GapAnalysis
    maps: dict[str, folium.Map]
    captions: dict[str, str]
    notes: list[str] = field(default_factory=list)
    provider_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: bus-versus-car barriers to post-16 provision, if analysed
    post16: Post16Analysis | None = None

    @property
    def providers(self) -> gpd.GeoDataFrame:
        """The providers analysed."""
        return self.inputs.providers

    @property
    def areas(self) -> gpd.GeoDataFrame:
        """The analysis areas."""
        return self.inputs.areas


def _say(progress: Progress | None, message: str) -> None:
    logger.info(message)
    if progress is not None:
        progress(message)


def load_inputs(
    *,
    providers_path: str | Path | None = None,
    early_years_path: str | Path | None = None,
    partnerships_path: str | Path | None = None,
    partnership_base: str = "ward",
    population_path: str | Path | None = None,
    include_closed: bool = False,
    providers_sheet: str | None = None,
    early_years_sheet: str | None = None,
    partnerships_sheet: str | None = None,
) -> Inputs:
    """Load and validate providers, areas, population, origins and groupings.

    Parameters
    ----------
    providers_path
        Provider list replacing the shipped register.
    early_years_path
        A further early-years list (name, postcode, places...) added to the providers.
    partnerships_path, partnership_base
        Partnership definition CSV and the layer its codes refer to.
    population_path
        Single-year population table (LSOA 2011 codes) replacing the shipped one.
    include_closed
        Keep closed providers.
    providers_sheet, early_years_sheet, partnerships_sheet
        The worksheet (or GeoPackage layer) to read from each input that is a
        workbook; the first by default.
    """
    providers = load_providers(providers_path, include_closed=include_closed, sheet=providers_sheet)
    if early_years_path is not None:
        extra = load_providers(
            early_years_path,
            kind="early_years",
            include_closed=include_closed,
            sheet=early_years_sheet,
        )
        providers = merge_provider_lists(providers, extra)
    notes = [
        f"{len(providers)} providers ({int(providers['in_county'].sum())} in Herefordshire, "
        f"{int((~providers['in_county']).sum())} across the border, kept because families cross it); "
        f"{providers.attrs.get('closed_excluded', 0)} closed establishments excluded."
    ]
    if early_years_path is None:
        notes.append(settings.EARLY_YEARS_NOTE)
    lsoa = load_areas("lsoa11")
    population = load_population(population_path)
    missing = sorted(set(lsoa["area_id"]) - set(population.index))
    if missing:
        raise InputError(
            f"{len(missing)} area(s) have no population row, e.g. {missing[0]}",
            path=population.attrs.get("geomap_source"),
            fix="Give a population table with a row for every LSOA (2011 codes)",
        )
    children = children_by_band(population)
    origins = origin_points(lsoa, population=population)
    areas = _area_table(lsoa, population, children, origins)
    wards = load_areas("ward")
    groups = {"ward": wards}
    lookups = {"ward": group_lookup(areas, wards, points=origins.geometry)}
    areas["ward_id"] = areas["area_id"].map(lookups["ward"])
    areas["ward_name"] = areas["ward_id"].map(wards.set_index("area_id")["area_name"])
    if partnerships_path is not None:
        partnerships = load_partnerships(
            partnerships_path, base=partnership_base, sheet=partnerships_sheet
        )
        groups["partnership"] = partnerships
        lookups["partnership"] = group_lookup(areas, partnerships, points=origins.geometry)
        areas["partnership"] = areas["area_id"].map(lookups["partnership"])
    origin_ids = gpd.GeoDataFrame(
        {"id": areas["area_id"].to_numpy(), "origin_source": origins["origin_source"].to_numpy()},
        geometry=origins.geometry.to_numpy(),
        crs=origins.crs,
    )
    return Inputs(
        providers=providers,
        areas=areas,
        origins=origin_ids,
        children=children,
        groups=groups,
        lookups=lookups,
        base=load_areas("lad"),
        early_years_school_only=early_years_path is None,
        notes=notes,
    )


def analyse(
    inputs: Inputs,
    travel: Sequence[TravelTimes],
    *,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    include_independent: bool = False,
) -> GapAnalysis:
    """Gap analysis of ``inputs`` for each travel source, summarised by every grouping.

    Warns (:class:`~geomap.errors.InputWarning`) about thresholds given for a
    mode or kind that is not analysed, which would otherwise be ignored.
    """
    kinds = tuple(kinds)
    modes = {source.mode for source in travel}
    unused = [
        f"{mode}:{kind}"
        for mode, values in (thresholds or {}).items()
        for kind in values
        if mode not in modes or kind not in kinds
    ]
    if unused:
        warnings.warn(
            f"threshold(s) {', '.join(unused)} not used: this run analyses "
            f"{', '.join(sorted(modes))} for {', '.join(kinds)}",
            InputWarning,
            stacklevel=2,
        )
    analysis = analyse_gaps(
        inputs.origins,
        inputs.providers,
        inputs.children,
        travel,
        kinds=kinds,
        thresholds=thresholds,
        lookup=inputs.lookups["ward"],
        group_names=inputs.groups["ward"].set_index("area_id")["area_name"],
        area_names=inputs.areas.set_index("area_id")["area_name"],
        include_independent=include_independent,
    )
    summaries = [analysis.by_group.assign(level="ward")]
    for level, lookup in inputs.lookups.items():
        if level != "ward":
            names = inputs.groups[level].set_index("area_id")["area_name"]
            summaries.append(
                summarise_coverage(analysis.coverage, lookup, names=names).assign(level=level)
            )
    analysis.by_group = pd.concat(summaries, ignore_index=True)
    return analysis


def kind_map(
    inputs: Inputs,
    analysis: GapAnalysis,
    *,
    kind: str,
    mode: str,
    include_independent: bool = False,
    online_tiles: bool = False,
) -> tuple[folium.Map, str]:
    """Map of travel time to the nearest provider of ``kind`` by ``mode``, and its caption."""
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
    kind_notes = (
        [settings.EARLY_YEARS_NOTE]
        if kind == "early_years" and inputs.early_years_school_only
        else []
    )
    caption = _caption(
        kind_notes,
        [
            analysis.methods[mode],
            f"Threshold: {threshold:g} min ({settings.THRESHOLD_SOURCES[mode]}).",
            _children_sentence(rows, kind),
        ],
        include_independent,
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
        online_tiles=online_tiles,
    )
    return m, caption


def build_report(
    inputs: Inputs | None = None,
    *,
    travel: Sequence[TravelTimes] | None = None,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    include_independent: bool = False,
    online_tiles: bool = False,
    pt: TravelTimes | None = None,
    post16_thresholds: BarrierThresholds | None = None,
    progress: Progress | None = None,
) -> Report:
    """Run the whole analysis on the shipped data (or the inputs given).

    Parameters
    ----------
    inputs
        From :func:`load_inputs`; the shipped data by default.
    travel
        Travel-time sources, one per mode; car and walking estimates by default.
    kinds
        Kinds to analyse.
    thresholds
        ``{mode: {kind: minutes}}`` overriding :data:`geomap.settings.THRESHOLDS`.
    include_independent
        Count independent schools as provision.
    online_tiles
        Maps load OpenStreetMap tiles (needs internet).
    pt, post16_thresholds
        Public-transport source (the shipped r5r table by default) and barrier
        thresholds for the post-16 analysis.
    progress
        Called with a short message before each step.
    """
    kinds = tuple(kinds)
    steps = 6
    if inputs is None:
        _say(progress, f"[1/{steps}] loading providers, areas, population and origins")
        inputs = load_inputs()
    sources = (
        list(travel) if travel is not None else [default_estimate("car"), default_estimate("walk")]
    )
    _say(
        progress,
        f"[2/{steps}] joining {len(inputs.providers)} providers to {len(inputs.areas)} areas",
    )
    provision = provision_by_area(
        inputs.providers,
        inputs.areas,
        origins=inputs.origins.geometry,
        include_independent=include_independent,
    )
    _say(progress, f"[3/{steps}] travel times and gaps ({', '.join(s.method for s in sources)})")
    analysis = analyse(
        inputs, sources, kinds=kinds, thresholds=thresholds, include_independent=include_independent
    )
    _say(progress, f"[4/{steps}] drawing {1 + len(sources) * len(kinds)} maps")
    captions = {"providers": caption_for(inputs, include_independent=include_independent)}
    maps = {
        "providers": providers_map(
            inputs.providers,
            areas=inputs.areas,
            base=inputs.base,
            title="Education providers in and around Herefordshire",
            caption=captions["providers"],
            online_tiles=online_tiles,
        )
    }
    for source in sources:
        for kind in kinds:
            key = f"{source.mode}_{kind}"
            maps[key], captions[key] = kind_map(
                inputs,
                analysis,
                kind=kind,
                mode=source.mode,
                include_independent=include_independent,
                online_tiles=online_tiles,
            )
    _say(progress, f"[5/{steps}] post-16 transport barriers")
    car = next((s for s in sources if s.mode == "car"), default_estimate("car"))
    post16 = analyse_post16(
        inputs,
        car=car,
        pt=pt if pt is not None else shipped_pt_table(),
        thresholds=post16_thresholds,
        include_independent=include_independent,
    )
    maps["post16"], captions["post16"] = post16_map_for(
        inputs, post16, include_independent=include_independent, online_tiles=online_tiles
    )
    return Report(
        inputs=inputs,
        provision=provision,
        analysis=analysis,
        maps=maps,
        captions=captions,
        notes=[*inputs.notes, *(s.describe() for s in sources)],
        provider_summary=summarise_providers(inputs.providers),
        post16=post16,
    )


def analyse_post16(
    inputs: Inputs,
    *,
    car: TravelTimes,
    pt: TravelTimes,
    thresholds: BarrierThresholds | None = None,
    include_independent: bool = False,
) -> Post16Analysis:
    """Post-16 barriers for every area of ``inputs``, summarised by every grouping."""
    return post16_barriers(
        inputs.origins,
        inputs.providers,
        young_people(inputs.children),
        car=car,
        pt=pt,
        thresholds=thresholds,
        lookups=inputs.lookups,
        group_names={
            level: g.set_index("area_id")["area_name"] for level, g in inputs.groups.items()
        },
        include_independent=include_independent,
    )


def post16_layer(inputs: Inputs, analysis: Post16Analysis) -> gpd.GeoDataFrame:
    """Area polygons with the post-16 barrier columns."""
    cols = ["area_id", "area_name", "ward_name", "geometry"]
    if "partnership" in inputs.areas.columns:
        cols.insert(3, "partnership")
    return inputs.areas[cols].merge(analysis.areas, on="area_id")


def post16_caption(inputs: Inputs, analysis: Post16Analysis, *, include_independent: bool) -> str:
    """Caption: public-transport source and date, car method, thresholds, coverage, data."""
    names = ", ".join(analysis.pt_providers["name"].astype(str)) or "none"
    areas = analysis.areas
    elsewhere = ~areas["nearest_has_pt_data"]
    young = int(areas["young_people"].sum())
    facing = int(areas.loc[areas["barrier"], "young_people"].sum())
    return _caption(
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
    """The post-16 barrier map and its caption."""
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
    """GeoPackage layers and CSV tables of a post-16 analysis."""
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

    ``sources`` are the files the run read, which ``out_dir`` may not hold (see
    :func:`geomap.io.replace_folder`).
    """
    layers, tables = post16_outputs(inputs, analysis)
    layers["post16_providers"] = provider_output(
        inputs.providers[offers(inputs.providers, "post16")]
    )
    out = Path(out_dir)
    files: dict[str, Path] = {}
    with replace_folder(out, command="geomap post16", inputs=sources) as stage:
        write_text(offline_html(m), stage / "post16_map.html")
        files["map:post16"] = out / "post16_map.html"
        write_geopackage(layers, stage / "post16.gpkg")
        files["geopackage"] = out / "post16.gpkg"
        for name, table in tables.items():
            write_csv(table, stage / f"{name}.csv")
            files[f"csv:{name}"] = out / f"{name}.csv"
    return files


def _area_table(
    areas: gpd.GeoDataFrame,
    population: pd.DataFrame,
    children: pd.DataFrame,
    origins: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    out = areas[["area_id", "area_name"]].copy()
    for column in ("ruc11_class", "ruc11_urban_rural"):
        if column in areas.columns:
            out[column] = areas[column].to_numpy()
    out["total_population"] = out["area_id"].map(
        population.get("total_population", pd.Series(dtype=float))
    )
    for kind in children.columns:
        out[kind] = out["area_id"].map(children[kind]).fillna(0).astype(int)
    out["origin_source"] = origins["origin_source"].to_numpy()
    out["origin_easting"] = origins.geometry.x.round(0).to_numpy()
    out["origin_northing"] = origins.geometry.y.round(0).to_numpy()
    imd_path = settings.shipped("deprivation")
    if imd_path.exists():
        imd = pd.read_csv(imd_path)
        decile = imd.set_index("LSOA code (2011)").iloc[:, 4]
        out["imd_decile"] = out["area_id"].map(decile)
    return gpd.GeoDataFrame(out, geometry=areas.geometry.to_numpy(), crs=areas.crs)


def caption_for(inputs: Inputs, *, include_independent: bool = False) -> str:
    """Caption of a providers map: data, notes and attributions."""
    return _caption(inputs.notes, [], include_independent)


def _children_sentence(rows: pd.DataFrame, kind: str) -> str:
    low, high = settings.AGE_BANDS[kind]
    beyond = int(rows["children_beyond"].sum())
    total = int(rows["children"].sum())
    share = beyond / total if total else 0.0
    who = f"children aged {low}–{high}"
    if kind == "special":
        who += " (all children of those ages: special schools serve the few with special needs among them)"
    return f"{beyond:,} of {total:,} {who} ({share:.0%}) live in areas beyond the threshold; {int(rows['beyond'].sum())} of {len(rows)} areas."


def _caption(notes: Iterable[str], method: Iterable[str], include_independent: bool) -> str:
    parts = [
        "Data: " + "; ".join(DATA_SOURCES) + ".",
        *method,
        (
            "Independent schools are counted as provision."
            if include_independent
            else "Independent (fee-paying) schools are not counted as provision."
        ),
        "Journeys start at each LSOA's routing trip point (or label point where none exists).",
        *notes,
        settings.ATTRIBUTION,
    ]
    return "\n".join(p for p in parts if p)


# --------------------------------------------------------------------------- writing


def write_report(
    report: Report,
    out_dir: str | Path,
    *,
    sources: Iterable[str | Path] = (),
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Write a report's maps, GeoPackage and CSV tables; return name → path.

    Everything is written to a staging folder beside ``out_dir``, which then
    replaces ``out_dir`` as a whole (see :func:`geomap.io.replace_folder`): a
    failure or an interrupted run leaves the folder's earlier files exactly as
    they were, and files of an earlier run that this one does not write are
    gone. ``sources`` are the files the run read, which ``out_dir`` may not hold.
    """
    _say(progress, f"[6/6] writing {len(report.maps)} maps, GeoPackage and tables to {out_dir}")
    providers = provider_output(report.providers)
    cover = report.analysis.coverage
    layers = {
        "providers": providers,
        "areas": report.areas.merge(report.provision.drop(columns=["area_name"]), on="area_id"),
        "access": report.areas[["area_id", "area_name", "geometry"]].merge(cover, on="area_id"),
        "gap_areas": report.areas[["area_id", "geometry"]].merge(
            report.analysis.ranking, on="area_id"
        ),
        **_group_layers(report.inputs, report.analysis.by_group, prefix=""),
    }
    tables = {
        "providers": providers,
        "provider_summary": report.provider_summary,
        "areas": layers["areas"],
        "access": cover,
        "gaps_ranked": report.analysis.ranking,
        "group_summary": report.analysis.by_group,
        "thresholds": _threshold_table(report.analysis.thresholds),
    }
    if report.post16 is not None:
        extra_layers, extra_tables = post16_outputs(report.inputs, report.post16)
        layers.update(extra_layers)
        tables.update(extra_tables)
    out = Path(out_dir)
    files: dict[str, Path] = {}
    with replace_folder(out, command="geomap report", inputs=sources) as stage:
        (stage / "maps").mkdir()
        for name, m in report.maps.items():
            write_text(offline_html(m), stage / "maps" / f"{name}.html")
            files[f"map:{name}"] = out / "maps" / f"{name}.html"
        write_geopackage(layers, stage / "geomap.gpkg")
        files["geopackage"] = out / "geomap.gpkg"
        for name, table in tables.items():
            write_csv(table, stage / f"{name}.csv")
            files[f"csv:{name}"] = out / f"{name}.csv"
        files["index"] = out / "index.html"
        write_text(index_html(report, files, out), stage / "index.html")
    return files


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
    """Providers with easting/northing and lon/lat columns added, for tables."""
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
    with replace_folder(out, command="geomap routes evaluate", inputs=sources) as stage:
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


def _post16_section(report: Report) -> str:
    analysis = report.post16
    if analysis is None:
        return ""
    esc = html.escape
    areas = analysis.areas
    young = int(areas["young_people"].sum())
    rows = "".join(
        f"<tr><td>{esc(str(label))}</td><td>{int(areas.loc[areas[flag], 'young_people'].sum()):,}</td>"
        f"<td>{int(areas[flag].sum())}</td></tr>"
        for flag, label in [*FLAGS.items(), ("barrier", "any barrier")]
    )
    wards = analysis.by_group[analysis.by_group["level"] == "ward"].head(8)
    ward_rows = "".join(
        f"<tr><td>{int(r['rank'])}</td><td>{esc(str(r['group_name']))}</td><td>{int(r['young_people']):,}</td>"
        f"<td>{int(r['young_barrier']):,}</td><td>{'—' if pd.isna(r['mean_pt_minutes']) else r['mean_pt_minutes']}</td></tr>"
        for _, r in wards.iterrows()
    )
    return f"""<h2>Post-16: the transport barrier</h2>
<p><a href="maps/post16.html">Post-16 barrier map</a>: public transport versus car to the nearest sixth form
or college, for {young:,} young people aged 16–18. {esc(analysis.thresholds.describe())}.</p>
<div class="method">{esc(report.captions.get("post16", "")).replace(chr(10), "<br>")}</div>
<table><tr><th>flag</th><th>young people</th><th>areas</th></tr>{rows}</table>
<p>Wards with most young people facing a barrier (all: <a href="post16_by_group.csv">post16_by_group.csv</a>;
per area: <a href="post16_areas.csv">post16_areas.csv</a>):</p>
<table><tr><th>rank</th><th>ward</th><th>young people</th><th>facing a barrier</th><th>mean bus minutes</th></tr>{ward_rows}</table>
"""


def _threshold_table(thresholds: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "mode": mode,
                "kind": kind,
                "minutes": minutes,
                "source": settings.THRESHOLD_SOURCES[mode],
            }
            for mode, values in thresholds.items()
            for kind, minutes in values.items()
        ]
    )


def index_html(report: Report, files: Mapping[str, Path], out: Path) -> str:
    """The report's front page: what was done, on what, how wrong it can be, and links."""
    esc = html.escape
    cover = report.analysis.coverage
    modes = list(dict.fromkeys(cover["mode"]))
    kinds = list(dict.fromkeys(cover["kind"]))
    map_rows = []
    for kind in kinds:
        cells = []
        for mode in modes:
            rows = cover[(cover["kind"] == kind) & (cover["mode"] == mode)]
            threshold = report.analysis.thresholds[mode][kind]
            beyond = int(rows["children_beyond"].sum())
            total = int(rows["children"].sum())
            cells.append(
                f'<td><a href="maps/{esc(mode)}_{esc(kind)}.html">{esc(mode)} map</a><br>'
                f"{beyond:,} of {total:,} children beyond {threshold:g} min; "
                f"{int(rows['beyond'].sum())} areas</td>"
            )
        label = settings.KIND_LABELS[kind]
        low, high = settings.AGE_BANDS[kind]
        ages = f"ages {low}–{high}" + (
            ", all children (not pupils with special needs)" if kind == "special" else ""
        )
        map_rows.append(
            f"<tr><th>{esc(label)}<br><small>{esc(ages)}</small></th>{''.join(cells)}</tr>"
        )
    top = report.analysis.ranking.groupby(["mode", "kind"]).head(5)
    gap_rows = "".join(
        f"<tr><td>{esc(str(r.mode))}</td><td>{esc(settings.KIND_LABELS[str(r.kind)])}</td><td>{int(r.rank)}</td>"
        f"<td>{esc(str(r.area_name))} ({esc(str(r.area_id))})</td>"
        f"<td>{'no journey' if pd.isna(r.minutes) else f'{r.minutes:.0f}'}</td><td>{r.threshold:g}</td>"
        f"<td>{int(r.children_beyond):,}</td><td>{esc(str(r.provider_name))}</td></tr>"
        for r in cast(Iterable[Any], top.itertuples())
    )
    summary = report.provider_summary
    summary_rows = "".join(
        "<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>"
        for row in summary.itertuples(index=False)
    )
    links = "".join(
        f'<li><a href="{esc(path.relative_to(out).as_posix())}">{esc(path.relative_to(out).as_posix())}</a></li>'
        for name, path in files.items()
        if not name.startswith("map:")
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    sources = "".join(f"<li>{esc(s)}</li>" for s in DATA_SOURCES)
    thresholds = "".join(
        f"<li>{esc(mode)}: "
        + ", ".join(
            f"{esc(k)} {v:g} min" for k, v in report.analysis.thresholds[mode].items() if k in kinds
        )
        + f" <small>({esc(settings.THRESHOLD_SOURCES[mode])})</small></li>"
        for mode in modes
    )
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>geomap report: education provision and gaps in Herefordshire</title>
<style>
body {{font: 14px/1.45 sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #222;}}
table {{border-collapse: collapse; margin: 0.5em 0 1.5em;}}
td, th {{border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top;}}
th {{background: #f4f4f4;}} small {{color: #555;}} .method {{background: #fff8e1; padding: 0.6em 1em;}}
</style></head><body>
<h1>Education provision and coverage gaps: Herefordshire</h1>
<p><small>geomap {esc(__version__)}, run {esc(when)}. {len(report.areas)} areas (LSOA 2011),
{len(report.providers)} providers.</small></p>
<h2>How these travel times were made</h2>
<div class="method"><ul>{"".join(f"<li>{esc(report.analysis.methods[m])}</li>" for m in modes)}</ul></div>
<p>Thresholds for a reasonable journey:</p><ul>{thresholds}</ul>
<h2>Maps</h2>
<p><a href="maps/providers.html">All providers by kind</a></p>
<table><tr><th>Provision</th>{"".join(f"<th>{esc(m)}</th>" for m in modes)}</tr>{"".join(map_rows)}</table>
<h2>Largest gaps (top 5 areas per kind and mode)</h2>
<table><tr><th>mode</th><th>kind</th><th>rank</th><th>area</th><th>minutes</th><th>threshold</th>
<th>children beyond</th><th>nearest provider</th></tr>{gap_rows}</table>
<p>Full ranking: <a href="gaps_ranked.csv">gaps_ranked.csv</a>; by ward (and partnership):
<a href="group_summary.csv">group_summary.csv</a>.</p>
{_post16_section(report)}
<h2>Providers</h2>
<table><tr>{"".join(f"<th>{esc(str(c))}</th>" for c in summary.columns)}</tr>{summary_rows}</table>
<h2>Notes</h2><ul>{notes}</ul>
<h2>Data</h2><ul>{sources}</ul>
<p><small>{esc(settings.ATTRIBUTION)}</small></p>
<h2>Files</h2><ul>{links}</ul>
</body></html>
"""
