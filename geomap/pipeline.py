"""Load a study area, run the analyses, return one result.

:func:`load_inputs` reads and checks everything a study area names
(providers, areas, population, origins, summary layers, partnerships);
:func:`choose_travel` and :func:`choose_public_transport` pick a travel-time
source per mode from the study area and the caller's options; :func:`run`
joins providers to areas and computes gaps and post-16 barriers into one
:class:`Result`, with the descriptions its captions need. Nothing here
writes a file: :mod:`geomap.report` writes a result.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geomap import settings
from geomap._parallel import Background
from geomap.access import CatchmentAccess, kind_access
from geomap.areas import (
    group_lookup,
    load_areas,
    load_partnerships,
    provision_by_area,
    read_polygons,
)
from geomap.demand import children_by_band, load_population, origin_points, postcode_origins
from geomap.errors import InputError, InputWarning, MissingCapacityError
from geomap.gaps import (
    GapAnalysis,
    analyse_gaps,
    choice,
    eligible_providers,
    quality_access,
    rank_gaps,
    share_within_bands,
    summarise_coverage,
    summarise_quality,
)
from geomap.io import find_column, read_table
from geomap.locations import check_unique_ids
from geomap.post16 import (
    BarrierThresholds,
    Post16Analysis,
    Post16Competition,
    post16_barriers,
    post16_catchments,
    post16_competition,
    summarise_barriers,
    young_people,
)
from geomap.providers import load_providers, merge_provider_lists, summarise_providers
from geomap.schema import Column
from geomap.sites import SiteChoice, sites_for_kind
from geomap.study_area import StudyArea
from geomap.sufficiency import (
    NO_CAPACITY_NOTE,
    Sufficiency,
    assess_sufficiency,
    check_against_scorecard,
    early_years_places_per_100,
    provider_places,
    read_scorecard,
)
from geomap.travel import TravelTimes
from geomap.travel.base import describe_result, description_of

logger = logging.getLogger(__name__)

#: Called with a short message before each step of a long run.
Progress = Callable[[str], None]

#: Where an area's journeys start when the study area gives no point for it.
FALLBACK_ORIGINS = ("label_point", "representative_point")

_ORIGIN_WORDS = {
    "trip_point": "routing trip point (a point on a named road near the population-weighted centre)",
    "population_weighted_centroid": "population-weighted centroid",
    "label_point": "label point",
    "representative_point": "a point inside the area",
}


@dataclass
class Inputs:
    """The loaded, validated inputs of an analysis.

    Attributes
    ----------
    study
        The study area they come from.
    providers
        Open providers (closed ones counted in ``attrs``).
    areas
        Analysis areas with children per band, origin source and summary layers.
    origins
        One origin point per area, ``id`` = area id; or, with postcode
        origins (:func:`postcode_inputs`), one per postcode, ``id`` = postcode.
    children
        Children per origin and band.
    groups, lookups
        Summary layers (ward, partnership) and each origin's group in them;
        with postcode origins also ``area`` (each postcode's area).
    base
        Outlines drawn under the maps.
    sources
        One line per input file used, saying what it is, for captions.
    notes
        Sentences every output carries (provider counts, early-years coverage...).
    """

    study: StudyArea
    providers: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    children: pd.DataFrame
    groups: dict[str, gpd.GeoDataFrame]
    lookups: dict[str, pd.Series]
    base: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: sentence said beside every early-years output ("" when the list is complete)
    early_years_note: str = ""
    #: how the areas are called in outputs (``LSOA 2011``)
    area_label: str = "area"
    #: one sentence on where journeys start
    origin_note: str = ""
    #: what the origins are: ``areas`` (one per area) or ``postcodes``
    origins_of: str = "areas"
    #: people per area by single year of age, as loaded (``None`` when not kept)
    population: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        """The study area's name."""
        return self.study.name

    @property
    def ratings_note(self) -> str:
        """Where the providers' inspection ratings come from and how recent they are (a phrase)."""
        given = self.study.providers.ratings or "as given in the provider list (date not stated)"
        if self.study.early_years is not None:
            given += "; early-years settings of the added list: as that list gives them (date not stated)"
        return given

    @property
    def students_note(self) -> str:
        """Where the providers' 16–18 student numbers come from, and their year."""
        given = self.study.providers.students
        return given or "as given in the provider list (year not stated)"

    @property
    def capacity_note(self) -> str:
        """Where the providers' capacities and pupil numbers come from, or that there are none."""
        given = self.study.providers.capacity
        return given or "as given in the provider list"

    @property
    def main_level(self) -> str | None:
        """The summary level results are ranked by first (wards), or ``None`` if there is none."""
        return next(iter(self.lookups), None)


@dataclass
class Planning:
    """From gaps to plans: capacity, quality, choice, competition and new sites.

    Attributes
    ----------
    bands
        Share of children within each journey-time band, by kind and mode
        (:func:`geomap.gaps.share_within_bands`).
    quality
        Per area, kind and mode: nearest provider of any rating and nearest
        rated good or better (:func:`geomap.gaps.quality_access`).
    quality_by_group
        The same per group of every summary level (``level`` column).
    choice
        Providers within the threshold per area, kind and mode.
    access
        Capacity-aware access per ``(mode, kind)`` with places known.
    sufficiency
        Places against children per kind.
    early_years
        Early-years places per 100 children aged 0–4, per area and group.
    scorecard
        A school-level capacity list checked against the DfE scorecard
        (empty when there is none to check).
    competition
        Post-16 catchments that overlap (``None`` without post-16 kinds).
    sites
        Where new provision would help most (``None`` when not asked).
    notes
        Sentences per section (``capacity``, ``quality``, ``choice``,
        ``bands``, ``competition``, ``sites``, ``early_years``), naming
        sources, defaults and what is missing.
    """

    bands: pd.DataFrame
    quality: pd.DataFrame
    quality_by_group: pd.DataFrame
    choice: pd.DataFrame
    access: dict[tuple[str, str], CatchmentAccess]
    sufficiency: dict[str, Sufficiency]
    early_years: pd.DataFrame
    scorecard: pd.DataFrame
    competition: Post16Competition | None
    sites: SiteChoice | None
    notes: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Result:
    """Everything one run of the analysis computes, in memory.

    Attributes
    ----------
    inputs
        What was analysed.
    travel
        The travel-time source used for each mode.
    provision
        Providers of each kind per area.
    analysis
        Gaps per area, kind and mode, by summary level, ranked.
    provider_summary
        Counts of providers per kind.
    post16
        Bus-versus-car barriers to post-16 provision, if analysed.
    planning
        Capacity, quality, choice, competition and new sites, if planned
        (:func:`plan`).
    notes
        Sentences every output carries: inputs, travel sources, what was left out.
    postcodes
        With ``origins="postcodes"``: the gap analysis per postcode (its
        summaries include the level ``area``); ``analysis`` then holds it
        gathered back to areas (:func:`area_coverage`).
    pt
        The public-transport source of the post-16 analysis (``None`` without one).
    eligibility
        Home-to-school transport eligibility for every postcode, if assessed.
    origins_comparison
        With ``origins="postcodes"``: children beyond the threshold by the
        area view and by the postcode view (:func:`compare_origins`).
    post16_options
        If planned with a postcode lookup: every postcode's nearest post-16
        options by car, with public-transport and walking times
        (:func:`geomap.finder.finder_data`), for the options finder.
    post16_options_note
        Why ``post16_options`` is ``None`` when they were sought (no post-16
        providers, no postcode in the study area); ``""`` otherwise.
    """

    inputs: Inputs
    travel: list[TravelTimes]
    provision: pd.DataFrame
    analysis: GapAnalysis
    provider_summary: pd.DataFrame
    post16: Post16Analysis | None = None
    notes: list[str] = field(default_factory=list)
    include_independent: bool = False
    planning: Planning | None = None
    postcodes: GapAnalysis | None = None
    origins_comparison: pd.DataFrame | None = None
    #: the public-transport source used (``None`` without one)
    pt: TravelTimes | None = None
    eligibility: Eligibility | None = None
    #: where the gaps in ``analysis`` were measured from: ``areas`` or ``postcodes``
    origins: str = "areas"
    post16_options: dict[str, Any] | None = None
    post16_options_note: str = ""

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


def study_boundary(study: StudyArea) -> gpd.GeoDataFrame:
    """The study area's outline: its boundary polygons dissolved into one.

    Parameters
    ----------
    study
        The study area.

    Returns
    -------
    geopandas.GeoDataFrame
        One row (``name``) and the outline, in EPSG:27700.
    """
    layer = read_polygons(study.boundary, what="study-area boundary").to_crs(settings.MEASURE_CRS)
    outline = layer.geometry.union_all()
    return gpd.GeoDataFrame({"name": [study.name]}, geometry=[outline], crs=layer.crs)


def load_inputs(
    study: StudyArea, *, include_closed: bool = False, origins: str = "areas"
) -> Inputs:
    """Load and check providers, areas, population, origins and summary layers.

    Parameters
    ----------
    study
        The study area (:func:`geomap.study_area.load_study_area`).
    include_closed
        Keep closed providers.
    origins
        Where journeys start: ``areas`` (one point per area) or ``postcodes``
        (every postcode of the study area's postcode lookup, see
        :func:`postcode_inputs`).

    Returns
    -------
    Inputs
        Everything the analyses need, checked.

    Raises
    ------
    InputError
        If a file is bad (the message names file, row and column), or an area
        has no population; if ``origins`` is neither ``areas`` nor
        ``postcodes``, or is ``postcodes`` and the study area has no postcode lookup.
    """
    if origins not in ORIGIN_CHOICES:
        raise InputError(
            f"origins must be one of {', '.join(ORIGIN_CHOICES)}, not '{origins}'",
            fix="Use origins='areas' or origins='postcodes'",
        )
    inputs = _load_area_inputs(study, include_closed=include_closed)
    return postcode_inputs(inputs) if origins == "postcodes" else inputs


#: Where journeys may start: one point per area, or every postcode.
ORIGIN_CHOICES = ("areas", "postcodes")


def _load_area_inputs(study: StudyArea, *, include_closed: bool) -> Inputs:
    boundary = study_boundary(study)
    providers = load_providers(
        study.providers.path,
        include_closed=include_closed,
        postcodes=study.postcodes,
        boundary=boundary,
        sheet=study.providers.sheet,
        columns=study.providers.columns,
    )
    sources = [f"Providers: {study.providers.source or study.providers.path.name}"]
    early_years_note = study.providers.early_years_note
    if study.early_years is not None:
        if study.early_years.resolve() == study.providers.path.resolve():
            raise InputError(
                "the early-years list is the provider list itself, so every provider "
                "would be counted twice",
                path=study.early_years,
                fix="Give a further list of early-years settings, or leave it out",
            )
        extra = load_providers(
            study.early_years,
            kind="early_years",
            include_closed=include_closed,
            postcodes=study.postcodes,
            boundary=boundary,
            sheet=study.early_years_sheet,
        )
        providers = merge_provider_lists(providers, extra)
        sources.append(f"Early years: your list ({study.early_years.name})")
        early_years_note = ""
    inside = int(providers["in_county"].sum())
    notes = [
        f"{len(providers)} providers ({inside} in {study.name}, "
        f"{len(providers) - inside} across the border, kept because families cross it); "
        f"{providers.attrs.get('closed_excluded', 0)} closed establishments excluded."
    ]
    if early_years_note:
        notes.append(early_years_note)
    layer = study.areas
    areas = load_areas(
        layer.path,
        id_column=layer.code,
        name_column=layer.name,
        label=layer.label,
        study_area=boundary,
        study_name=study.name,
    )
    if not areas.intersects(boundary.geometry.iloc[0]).any():
        raise InputError(
            f"none of the {len(areas)} areas of {layer.path.name} touches the study area's boundary",
            path=study.boundary,
            fix="Check that the boundary and the areas are of the same place, and their coordinate systems",
        )
    sources.append(f"Areas: {layer.source or layer.path.name}")
    population = load_population(
        study.population.path,
        area=study.population.area,
        age=study.population.age,
        count=study.population.count,
    )
    sources.append(f"Population: {study.population.source or study.population.path.name}")
    missing = sorted(set(areas["area_id"]) - set(population.index))
    if missing:
        raise InputError(
            f"{len(missing)} area(s) have no population row, e.g. {missing[0]}",
            path=population.attrs.get("geomap_source"),
            fix=f"Give a population table with a row for every area of {layer.path.name}",
        )
    extra = sorted(set(population.index) - set(areas["area_id"]))
    if extra:
        warnings.warn(
            f"{population.attrs.get('geomap_source', study.population.path)}: {len(extra)} area(s) "
            f"of the population table are not areas of the study area and are left out "
            f"(e.g. {', '.join(extra[:3])})",
            InputWarning,
            stacklevel=2,
        )
    children = children_by_band(population)
    origins = _origins(study, areas, population)
    table = _area_table(areas, population, children, origins, study=study, sources=sources)
    groups: dict[str, gpd.GeoDataFrame] = {}
    lookups: dict[str, pd.Series] = {}
    loaded: dict[str, gpd.GeoDataFrame] = {"areas": areas}
    for name, spec in study.layers.items():
        needed = spec.summarise or study.partnership_base == name
        if not needed:
            continue
        loaded[name] = load_areas(
            spec.path,
            id_column=spec.code,
            name_column=spec.name,
            label=spec.label,
            study_area=boundary,
            study_name=study.name,
        )
        if spec.summarise:
            groups[name] = loaded[name]
            lookups[name] = group_lookup(table, loaded[name], points=origins.geometry)
            sources.append(f"{spec.label.capitalize()}s: {spec.source or spec.path.name}")
    for name, polygons in groups.items():
        table[f"{name}_id"] = table["area_id"].map(lookups[name])
        table[f"{name}_name"] = table[f"{name}_id"].map(polygons.set_index("area_id")["area_name"])
    if study.partnerships is not None:
        base_name = study.partnership_base or next(iter(groups), "areas")
        if base_name not in loaded:
            raise InputError(
                f"partnerships are defined on '{base_name}', which the study area does not have",
                path=study.partnerships,
                fix=f"Choose one of: {', '.join(loaded)}",
            )
        partnerships = load_partnerships(
            study.partnerships, base=loaded[base_name], sheet=study.partnership_sheet
        )
        groups["partnership"] = partnerships
        lookups["partnership"] = group_lookup(table, partnerships, points=origins.geometry)
        table["partnership"] = table["area_id"].map(lookups["partnership"])
        sources.append(f"Partnerships: {study.partnerships.name}")
    if study.base_map is not None:
        spec = study.base_map
        base = load_areas(spec.path, id_column=spec.code, name_column=spec.name, label=spec.label)
    else:
        base = boundary.assign(area_id=study.code or study.name, area_name=study.name)
    origin_ids = gpd.GeoDataFrame(
        {"id": table["area_id"].to_numpy(), "origin_source": origins["origin_source"].to_numpy()},
        geometry=origins.geometry.to_numpy(),
        crs=origins.crs,
    )
    return Inputs(
        study=study,
        providers=providers,
        areas=table,
        origins=origin_ids,
        children=children,
        groups=groups,
        lookups=lookups,
        base=base,
        boundary=boundary,
        sources=sources,
        notes=notes,
        early_years_note=early_years_note,
        area_label=layer.label,
        origin_note=_origin_note(origins, layer.label),
        population=population,
    )


def postcode_inputs(inputs: Inputs) -> Inputs:
    """The same inputs with journeys starting at every postcode instead of one point per area.

    Each postcode of the study area's postcode lookup inside an analysis area
    becomes an origin, with an estimated share of its area's children
    (:func:`geomap.demand.postcode_origins`); an area with no postcode keeps
    its own origin. The lookups map each origin to its ward, partnership and
    other summary groups, and to its area (level ``area``, last), so every
    summary aggregates back to them.

    Parameters
    ----------
    inputs
        Area inputs, from :func:`load_inputs`.

    Returns
    -------
    Inputs
        A copy whose ``origins`` (``id`` = folded postcode, ``area_id``,
        ``origin_source``, ``postcode``), ``children`` (fractional, indexed
        by origin id), ``lookups`` and ``groups`` (with ``area``) are per
        postcode, with ``origins_of="postcodes"``, the estimate said in
        ``origin_note`` and ``notes``. Providers, areas and the boundary are
        the same objects.

    Raises
    ------
    InputError
        If the study area has no postcode lookup, or the inputs already
        start at postcodes.
    """
    if inputs.origins_of == "postcodes":
        raise InputError(
            "these inputs already start journeys at postcodes",
            fix="Give the area inputs from load_inputs(study)",
        )
    lookup = inputs.study.postcodes
    if lookup is None:
        raise InputError(
            f"{inputs.name} has no postcode lookup, so journeys cannot start at postcodes",
            fix="Name a postcode lookup (OS Code-Point Open) under [postcodes] in the "
            "study-area file, or use origins 'areas'",
        )
    points = postcode_origins(
        lookup, inputs.areas, inputs.children, boundary=inputs.boundary, origins=inputs.origins
    )
    kinds = list(inputs.children.columns)
    children = pd.DataFrame(
        points[kinds].to_numpy(dtype=float),
        index=pd.Index(points["id"].to_numpy(), name="area_id"),
        columns=kinds,
    )
    to_area = pd.Series(points["area_id"].to_numpy(), index=points["id"].to_numpy())
    lookups = {level: to_area.map(groups) for level, groups in inputs.lookups.items()}
    lookups["area"] = to_area
    groups = {**inputs.groups, "area": inputs.areas[["area_id", "area_name", "geometry"]]}
    origins = gpd.GeoDataFrame(
        points[["id", "area_id", "origin_source", "postcode"]],
        geometry=points.geometry.to_numpy(),
        crs=points.crs,
    )
    origins.attrs.update(points.attrs)
    note = str(points.attrs["note"])
    return replace(
        inputs,
        origins=origins,
        children=children,
        lookups=lookups,
        groups=groups,
        sources=[*inputs.sources, f"Postcodes: {lookup.name}"],
        notes=[*inputs.notes, note],
        origin_note=note,
        origins_of="postcodes",
    )


def _origins(
    study: StudyArea, areas: gpd.GeoDataFrame, population: pd.DataFrame
) -> gpd.GeoDataFrame:
    """One origin per area: the study area's points in order, the label point, a point inside."""
    return origin_points(
        areas,
        points=[(spec.path, spec.code, spec.kind) for spec in study.origins],
        population=population,
    )


def _origin_note(origins: gpd.GeoDataFrame, label: str) -> str:
    counts = origins["origin_source"].value_counts()
    parts = [
        f"its {_ORIGIN_WORDS.get(str(kind), str(kind).replace('_', ' '))} ({int(n)} areas)"
        for kind, n in counts.items()
    ]
    return f"Journeys start in each area ({label}) at " + "; ".join(parts) + "."


def _area_table(
    areas: gpd.GeoDataFrame,
    population: pd.DataFrame,
    children: pd.DataFrame,
    origins: gpd.GeoDataFrame,
    *,
    study: StudyArea,
    sources: list[str],
) -> gpd.GeoDataFrame:
    out = areas[["area_id", "area_name"]].copy()
    for column in areas.columns:
        if column.lower().startswith(
            ("ruc11_class", "ruc11_urban_rural", "ruc21_class", "ruc21_urban_rural")
        ):
            out[column] = areas[column].to_numpy()
    totals = population.get("total_population")
    if totals is None:
        from geomap.demand import single_ages

        totals = single_ages(population).sum(axis=1)
    out["total_population"] = out["area_id"].map(totals)
    for kind in children.columns:
        out[kind] = out["area_id"].map(children[kind]).fillna(0).astype(int)
    out["origin_source"] = origins["origin_source"].to_numpy()
    out["origin_easting"] = origins.geometry.x.round(0).to_numpy()
    out["origin_northing"] = origins.geometry.y.round(0).to_numpy()
    if study.deprivation is not None:
        out["imd_decile"] = out["area_id"].map(_deprivation(study))
        lacking = out.loc[out["imd_decile"].isna(), "area_id"].tolist()
        if lacking:
            warnings.warn(
                f"{study.deprivation.path}: {len(lacking)} of {len(out)} areas have no deprivation "
                f"decile (e.g. {', '.join(map(str, lacking[:3]))}); their imd_decile is blank",
                InputWarning,
                stacklevel=3,
            )
        sources.append(f"Deprivation: {study.deprivation.source or study.deprivation.path.name}")
    return gpd.GeoDataFrame(out, geometry=areas.geometry.to_numpy(), crs=areas.crs)


def _deprivation(study: StudyArea) -> pd.Series:
    spec = study.deprivation
    assert spec is not None
    table = read_table(spec.path, what="deprivation table")
    area = find_column(table, (spec.area,), explicit=spec.area)
    decile = find_column(table, (spec.decile,), explicit=spec.decile)
    assert area is not None and decile is not None
    codes = pd.DataFrame({area: table[area].astype("string").str.strip()}, index=table.index)
    codes.attrs.update(table.attrs)
    check_unique_ids(codes, area, what="deprivation table")
    values = Column(
        "imd_decile",
        type="integer",
        blank=False,
        minimum=1,
        maximum=10,
        label="deprivation decile",
        fix="Give whole numbers from 1 (most deprived) to 10",
    ).convert(table, decile)
    return pd.Series(
        values.astype(int).to_numpy(), index=table[area].astype("string").str.strip().to_numpy()
    )


# --------------------------------------------------------------------------- travel


def choose_travel(
    study: StudyArea,
    modes: Iterable[str],
    *,
    networks: Iterable[str | Path] = (),
    use_cache: bool | None = None,
    boundary: gpd.GeoDataFrame | None = None,
    notes: list[str] | None = None,
) -> list[TravelTimes]:
    """One travel-time source per mode: a network given, else one cached (if allowed), else the estimate.

    Parameters
    ----------
    study
        The study area, whose own networks and cache setting are used unless
        overridden.
    modes
        Modes wanted (``car``, ``walk``, ``bike``).
    networks
        Network files given by the caller; they replace the study area's.
    use_cache
        Look in the cache of downloaded networks; the study area's setting when ``None``.
    boundary
        The study area's outline, which a cached network must cover (loaded when needed).
    notes
        If given, a sentence per mode saying which source was chosen is appended.

    Returns
    -------
    list of TravelTimes
        One per mode, in the order asked.
    """
    from geomap.travel import travel_sources

    files = list(networks) or list(study.networks.values())
    cache = study.use_network_cache if use_cache is None else use_cache
    if cache and boundary is None:
        boundary = study_boundary(study)
    return travel_sources(
        modes,
        networks=files,
        use_cache=cache,
        boundary=boundary,
        calibration=study.car_calibration,
        notes=notes,
    )


def choose_public_transport(
    study: StudyArea, *, max_site_km: float | None = None
) -> TravelTimes | None:
    """The study area's public-transport source, or ``None`` if it has none.

    Parameters
    ----------
    study
        The study area.
    max_site_km
        For a routed table: how far (km) a provider may be from a table site to
        take its times; the table's default when ``None``.

    Returns
    -------
    TravelTimes or None
        A routed table or a timetable.
    """
    from geomap.travel import TableTravelTimes, TimetableTravelTimes, load_gtfs
    from geomap.travel.tables import MAX_SITE_KM

    spec = study.public_transport
    if spec is None:
        return None
    if spec.gtfs is not None:
        assert spec.date is not None
        return TimetableTravelTimes(
            load_gtfs(spec.gtfs, date=spec.date), arrive_by=spec.arrive_by or settings.PT_ARRIVE_BY
        )
    assert spec.table is not None and spec.sites is not None
    return TableTravelTimes.from_files(
        spec.table,
        spec.sites,
        minutes_column=spec.minutes,
        site_id=spec.site_id,
        name=spec.name,
        source=spec.source or spec.table.name,
        max_site_km=MAX_SITE_KM if max_site_km is None else max_site_km,
    )


# --------------------------------------------------------------------------- analyses


def analyse(
    inputs: Inputs,
    travel: Sequence[TravelTimes],
    *,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    include_independent: bool = False,
) -> GapAnalysis:
    """Gap analysis of ``inputs`` for each travel source, summarised by every summary level.

    Parameters
    ----------
    inputs
        From :func:`load_inputs`.
    travel
        One travel-time source per mode.
    kinds
        Kinds of provision to analyse.
    thresholds
        ``{mode: {kind: minutes}}`` over the study area's and geomap's defaults.
    include_independent
        Count independent schools as provision.

    Returns
    -------
    GapAnalysis
        Coverage per area, kind and mode; summaries with a ``level`` column; ranking.

    Warns
    -----
    InputWarning
        About thresholds given for a mode or kind that is not analysed.
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if not travel:
        raise InputError("no travel-time source given", fix="Give one source per mode to analyse")
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
    merged: dict[str, dict[str, float]] = {
        mode: dict(values) for mode, values in inputs.study.thresholds.items()
    }
    for mode, values in (thresholds or {}).items():
        merged.setdefault(mode, {}).update(values)
    main = inputs.main_level
    area_names = _origin_names(inputs)
    analysis = analyse_gaps(
        inputs.origins,
        inputs.providers,
        inputs.children,
        travel,
        kinds=kinds,
        thresholds=merged,
        lookup=inputs.lookups[main] if main else None,
        group_names=inputs.groups[main].set_index("area_id")["area_name"] if main else None,
        area_names=area_names,
        include_independent=include_independent,
    )
    if inputs.origins_of == "postcodes":
        # children per postcode are fractions: count them as they are, not rounded down
        analysis.coverage = _fractional_children(analysis.coverage, inputs.children)
        analysis.ranking = rank_gaps(analysis.coverage, names=area_names)
        if main:
            analysis.by_group = summarise_coverage(
                analysis.coverage,
                inputs.lookups[main],
                names=inputs.groups[main].set_index("area_id")["area_name"],
            )
    summaries = [analysis.by_group.assign(level=main)] if main else []
    for level, lookup in inputs.lookups.items():
        if level != main:
            names = inputs.groups[level].set_index("area_id")["area_name"]
            summaries.append(
                summarise_coverage(analysis.coverage, lookup, names=names).assign(level=level)
            )
    if summaries:
        analysis.by_group = pd.concat(summaries, ignore_index=True)
    return analysis


def _origin_names(inputs: Inputs) -> pd.Series:
    """Origin id → the name of its area (a postcode is named by the area it lies in)."""
    names: pd.Series = inputs.areas.set_index("area_id")["area_name"]
    if inputs.origins_of != "postcodes":
        return names
    lookup = inputs.lookups["area"]
    return pd.Series(lookup.map(names).to_numpy(), index=lookup.index)


def _fractional_children(cover: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    """Coverage with ``children`` and ``children_beyond`` as the (fractional) counts given."""
    out = cover.copy()
    keys = pd.MultiIndex.from_arrays([out["area_id"], out["kind"]])
    out["children"] = children.stack().reindex(keys).fillna(0.0).to_numpy(dtype=float)
    out["children_beyond"] = np.where(out["beyond"], out["children"], 0.0)
    return out


#: Columns of :func:`compare_origins`.
COMPARISON_COLUMNS = (
    "kind",
    "mode",
    "threshold",
    "children",
    "children_beyond_areas",
    "children_beyond_postcodes",
    "difference",
    "share_beyond_areas",
    "share_beyond_postcodes",
)


def compare_origins(area_cover: pd.DataFrame, postcode_cover: pd.DataFrame) -> pd.DataFrame:
    """How much starting journeys at postcodes changes the children beyond the threshold.

    Parameters
    ----------
    area_cover
        Coverage with one origin per area (``GapAnalysis.coverage`` of
        :func:`analyse` on area inputs).
    postcode_cover
        Coverage of the same kinds, modes and thresholds from postcode
        origins (:func:`analyse` on :func:`postcode_inputs`).

    Returns
    -------
    pandas.DataFrame
        One row per kind and mode present in both: ``kind``, ``mode``,
        ``threshold`` (minutes), ``children`` (of the age, by the area view),
        ``children_beyond_areas`` and ``children_beyond_postcodes`` (beyond
        the threshold or with no journey, by each view; the postcode figure
        rounded to whole children, since it adds up estimated shares),
        ``difference`` (postcodes minus areas: positive where the area view
        misses children), and ``share_beyond_areas``,
        ``share_beyond_postcodes`` (of the children). ``attrs["note"]`` says
        what the two views are.

    Raises
    ------
    InputError
        If the two coverages share no kind and mode, or apply different
        thresholds to one.
    """
    keys = ["kind", "mode"]
    totals = []
    for cover in (area_cover, postcode_cover):
        totals.append(
            cover.groupby(keys, sort=True).agg(
                threshold=("threshold", "first"),
                children=("children", "sum"),
                beyond=("children_beyond", "sum"),
            )
        )
    area, postcode = totals
    both = area.merge(
        postcode, how="inner", left_index=True, right_index=True, suffixes=("_a", "_p")
    )
    if both.empty:
        raise InputError(
            "the area and postcode coverages share no kind and mode",
            fix="Analyse the same kinds and modes from both origins",
        )
    differ = both[both["threshold_a"] != both["threshold_p"]]
    if len(differ):
        kind, mode = differ.index[0]
        raise InputError(
            f"the two coverages use different thresholds for {kind} by {mode} "
            f"({differ['threshold_a'].iloc[0]:g} and {differ['threshold_p'].iloc[0]:g} min)",
            fix="Analyse both with the same thresholds",
        )
    out = pd.DataFrame(
        {
            "threshold": both["threshold_a"],
            "children": both["children_a"].round(0).astype("int64"),
            "children_beyond_areas": both["beyond_a"].round(0).astype("int64"),
            "children_beyond_postcodes": both["beyond_p"].round(0).astype("int64"),
        }
    )
    out["difference"] = out["children_beyond_postcodes"] - out["children_beyond_areas"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_beyond_areas"] = np.round(
            both["beyond_a"] / both["children_a"].replace(0, np.nan), 3
        )
        out["share_beyond_postcodes"] = np.round(
            both["beyond_p"] / both["children_p"].replace(0, np.nan), 3
        )
    out = out.reset_index()[list(COMPARISON_COLUMNS)]
    out.attrs["note"] = (
        "Children beyond the threshold (or with no journey) when journeys start at one "
        "point per area, and when they start at every postcode with the area's children "
        "shared among its postcodes (an estimate); difference = postcodes minus areas."
    )
    return out


#: Columns of :func:`area_coverage` besides those of :func:`geomap.gaps.coverage`.
AREA_COVERAGE_EXTRA = ("origins", "origins_beyond", "share_beyond", "max_minutes")


def area_coverage(postcode_cover: pd.DataFrame, lookup: pd.Series) -> pd.DataFrame:
    """Postcode coverage gathered back to areas, in the shape of area coverage (for maps).

    Parameters
    ----------
    postcode_cover
        Coverage per postcode (``GapAnalysis.coverage`` of :func:`analyse` on
        :func:`postcode_inputs`).
    lookup
        Postcode → area id (``inputs.lookups["area"]`` of the postcode inputs).

    Returns
    -------
    pandas.DataFrame
        One row per area, kind and mode, with the columns of
        :func:`geomap.gaps.coverage`: ``area_id``, ``kind``, ``mode``,
        ``method``, ``minutes`` (the children-weighted mean over postcodes
        with a journey; the plain mean where they hold no children; NaN
        where none has one), ``provider_id``, ``provider_name``,
        ``provider_in_county`` (the provider nearest for the most children),
        ``threshold``, ``children``, ``unreachable`` (no postcode has a
        journey), ``beyond`` (some of the area's children are beyond the
        threshold), ``children_beyond``; then ``origins`` (postcodes),
        ``origins_beyond``, ``share_beyond`` (of the children) and
        ``max_minutes``.
    """
    data = postcode_cover.assign(area_id=postcode_cover["area_id"].map(lookup))
    reach = data["minutes"].notna()
    data["weighted"] = np.where(reach, data["minutes"] * data["children"], 0.0)
    data["reach_children"] = np.where(reach, data["children"], 0.0)
    keys = ["area_id", "kind", "mode"]
    grouped = data.groupby(keys, sort=True)
    out = grouped.agg(
        method=("method", "first"),
        weighted=("weighted", "sum"),
        reach_children=("reach_children", "sum"),
        plain=("minutes", "mean"),
        max_minutes=("minutes", "max"),
        threshold=("threshold", "first"),
        children=("children", "sum"),
        unreachable=("unreachable", "all"),
        children_beyond=("children_beyond", "sum"),
        origins=("area_id", "size"),
        origins_beyond=("beyond", "sum"),
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = out["weighted"] / out["reach_children"].replace(0, np.nan)
        out["share_beyond"] = np.round(
            out["children_beyond"] / out["children"].replace(0, np.nan), 3
        )
    out["minutes"] = np.round(mean.fillna(out["plain"]), 1)
    out["beyond"] = out["origins_beyond"] > 0
    # the provider nearest for the most children of each area
    served = (
        data.dropna(subset=["provider_id"])
        .groupby([*keys, "provider_id"], sort=False)
        .agg(
            children=("children", "sum"),
            provider_name=("provider_name", "first"),
            provider_in_county=("provider_in_county", "first"),
        )
        .reset_index()
        .sort_values([*keys, "children"], ascending=[True, True, True, False], kind="stable")
        .drop_duplicates(keys)
        .drop(columns=["children"])
    )
    out = out.merge(served, on=keys, how="left")
    columns = [
        "area_id",
        "kind",
        "mode",
        "method",
        "minutes",
        "provider_id",
        "provider_name",
        "provider_in_county",
        "threshold",
        "children",
        "unreachable",
        "beyond",
        "children_beyond",
        *AREA_COVERAGE_EXTRA,
    ]
    return out[columns]


def gathered_to_areas(analysis: GapAnalysis, inputs: Inputs) -> GapAnalysis:
    """A postcode gap analysis in the shape of an area one, for area maps and tables.

    Parameters
    ----------
    analysis
        From :func:`analyse` on postcode inputs.
    inputs
        The postcode inputs (:func:`postcode_inputs`).

    Returns
    -------
    GapAnalysis
        ``coverage`` per area (:func:`area_coverage`), ``ranking`` of the
        areas with children beyond (:func:`geomap.gaps.rank_gaps`), and the
        summaries of every level but ``area``; captions and thresholds as
        ``analysis``.
    """
    cover = area_coverage(analysis.coverage, inputs.lookups["area"])
    names = inputs.areas.set_index("area_id")["area_name"]
    by_group = analysis.by_group
    if "level" in by_group.columns:
        by_group = by_group[by_group["level"] != "area"].reset_index(drop=True)
    return GapAnalysis(
        coverage=cover,
        by_group=by_group,
        ranking=rank_gaps(cover, names=names),
        methods=dict(analysis.methods),
        thresholds=analysis.thresholds,
        methods_by_kind=dict(analysis.methods_by_kind),
    )


def _keyed_by_area(source: TravelTimes) -> bool:
    """Whether a source's times start from area codes (a zone-to-site table), not from points."""
    return source.keyed_by_area


class _AreaTimes(TravelTimes):
    """A zone-to-site table read for postcode origins: each postcode takes its area's times."""

    def __init__(self, source: TravelTimes) -> None:
        self.source = source
        self.mode = source.mode
        self.method = source.method

    def describe(self) -> str:
        return f"{self.source.describe()} {AREA_TIMES_NOTE}"

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        zones = origins.assign(id=origins["area_id"].astype(str)).drop_duplicates("id")
        times = self.source.matrix(zones[["id", "geometry"]], destinations)
        text = description_of(times, self.source)
        pairs = pd.DataFrame(
            {"from_id": origins["id"].astype(str), "zone": origins["area_id"].astype(str)}
        )
        out = pairs.merge(times.rename(columns={"from_id": "zone"}), on="zone", how="left")
        out = out.drop(columns=["zone"]).reset_index(drop=True)
        return describe_result(out, f"{text} {AREA_TIMES_NOTE}")


#: Said beside public-transport times from a zone-to-site table read for postcodes.
AREA_TIMES_NOTE = (
    "The public-transport table gives times from each area's origin, so every postcode "
    "takes its area's public-transport times; car and walking times start at the postcode."
)


def analyse_post16(
    inputs: Inputs,
    *,
    car: TravelTimes,
    pt: TravelTimes,
    thresholds: BarrierThresholds | None = None,
    include_independent: bool = False,
) -> Post16Analysis:
    """Post-16 barriers for every area of ``inputs``, summarised by every summary level.

    Parameters
    ----------
    inputs
        From :func:`load_inputs`.
    car, pt
        Car and public-transport travel times.
    thresholds
        When public transport is a barrier.
    include_independent
        Count independent schools and colleges as provision.

    Returns
    -------
    Post16Analysis
        Per origin (area, or postcode with :func:`postcode_inputs`) and per
        group; with postcode origins the groups include each ``area``.
    """
    names = _group_names(inputs)
    if inputs.origins_of == "postcodes" and _keyed_by_area(pt):
        pt = _AreaTimes(pt)
    result = post16_barriers(
        inputs.origins,
        inputs.providers,
        young_people(inputs.children),
        car=car,
        pt=pt,
        thresholds=thresholds,
        lookups=inputs.lookups,
        group_names=names,
        include_independent=include_independent,
    )
    if inputs.origins_of == "postcodes":
        # young people per postcode are fractions: count them as they are
        table = result.areas
        table["young_people"] = (
            table["area_id"].map(young_people(inputs.children)).fillna(0.0).astype(float)
        )
        table.insert(1, "area_name", table["area_id"].map(_origin_names(inputs)))
        table.insert(2, "area", table["area_id"].map(inputs.lookups["area"]))
        result.by_group = pd.concat(
            [
                summarise_barriers(table, lookup, names=names.get(level)).assign(level=level)
                for level, lookup in inputs.lookups.items()
            ],
            ignore_index=True,
        )
    return result


def access_for(
    inputs: Inputs,
    travel: TravelTimes,
    *,
    kind: str,
    method: str = "2sfca",
    catchment: float | None = None,
    basis: str = "capacity",
    include_independent: bool = False,
    include_outside: bool = False,
) -> CatchmentAccess:
    """Capacity-aware access to one kind of provision over the study area.

    Parameters
    ----------
    inputs
        From :func:`load_inputs`.
    travel
        The travel-time source of the mode.
    kind
        The kind of provision.
    method
        ``2sfca``, ``e2sfca`` or ``gravity``.
    catchment
        Minutes; by default the study area's ``[catchments]``, else the
        longest reasonable journey for the kind and mode.
    basis
        ``capacity``, ``pupils`` or ``students``.
    include_independent
        Count independent schools as provision.
    include_outside
        Count providers outside the study area (their places shared among the
        study area's children only); left out by default.

    Returns
    -------
    CatchmentAccess
        As :func:`geomap.access.kind_access`, with ``area_name`` and each
        summary layer's group beside every area, and notes naming where the
        places come from.

    Raises
    ------
    MissingCapacityError
        If no provider of the kind gives ``basis``.
    """
    result = kind_access(
        inputs.origins,
        inputs.providers,
        inputs.children[kind] if kind in inputs.children else pd.Series(dtype=float),
        travel,
        kind=kind,
        method=method,
        catchment=catchment,
        catchments=inputs.study.catchments,
        basis=basis,
        include_independent=include_independent,
        include_outside=include_outside,
    )
    areas = result.areas
    areas.insert(1, "area_name", areas["area_id"].map(_origin_names(inputs)))
    for level, lookup in inputs.lookups.items():
        areas[level] = areas["area_id"].map(lookup)
    areas.insert(2, "kind", kind)
    areas.insert(3, "mode", travel.mode)
    areas.insert(4, "method", method)
    source = {
        "capacity": inputs.capacity_note,
        "pupils": inputs.capacity_note,
        "students": inputs.students_note,
    }.get(basis, "")
    if source:
        result.notes.append(f"Places ({basis}): {source}.")
    return result


#: Kinds whose places are compared with children by area, and what counts as places.
#: Post-16 is left out: young people travel beyond their ward or partnership to a
#: sixth form or college, so places against residents by area says little; its
#: catchments and competition (:func:`geomap.post16.post16_competition`) do.
#: Special schools are left out too: their places are for the few children with
#: an education, health and care plan naming one, not for every child of the ages.
SUFFICIENCY_BASES = {"primary": "capacity", "secondary": "capacity"}

#: New sites the report suggests: early-years places at primary schools that have
#: no nursery class, the commonest way councils add them.
REPORT_SITES_KIND = "early_years"
#: How many new sites the report suggests (maximal covering, the kind's threshold).
REPORT_SITES_ADD = 3


def home_areas(providers: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """The area each provider stands in (providers outside every area are left out).

    Parameters
    ----------
    providers
        Points with ``id``, EPSG:27700.
    areas
        Polygons with ``area_id``, EPSG:27700.

    Returns
    -------
    pandas.Series
        Provider id → area id; a provider on a shared boundary goes to the
        first area found.
    """
    joined = gpd.sjoin(
        providers[["id", "geometry"]], areas[["area_id", "geometry"]], predicate="intersects"
    )
    first = joined.drop_duplicates("id")
    return pd.Series(first["area_id"].to_numpy(), index=first["id"].astype(str).to_numpy())


def _group_names(inputs: Inputs) -> dict[str, pd.Series]:
    return {level: g.set_index("area_id")["area_name"] for level, g in inputs.groups.items()}


def plan(
    inputs: Inputs,
    travel: Sequence[TravelTimes],
    analysis: GapAnalysis,
    *,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    include_independent: bool = False,
    sites: bool = True,
) -> Planning:
    """From gaps to plans: capacity, sufficiency, quality, choice, competition and new sites.

    Nothing is guessed: a kind whose providers give no places has no
    capacity-aware access or sufficiency figures, and the notes say so.

    Parameters
    ----------
    inputs
        From :func:`load_inputs`.
    travel
        One travel-time source per mode (as given to :func:`analyse`).
    analysis
        The gap analysis of the same sources (its coverage gives the bands).
    kinds
        Kinds of provision analysed.
    thresholds
        ``{mode: {kind: minutes}}`` as given to :func:`analyse`.
    include_independent
        Count independent schools as provision.
    sites
        Whether to suggest new sites (:data:`REPORT_SITES_KIND`, :data:`REPORT_SITES_ADD`).

    Returns
    -------
    Planning
        Every table, with notes per section.
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    notes: dict[str, list[str]] = {}
    merged = {**{m: dict(v) for m, v in inputs.study.thresholds.items()}}
    for mode, values in (thresholds or {}).items():
        merged.setdefault(mode, {}).update(values)
    bands = share_within_bands(analysis.coverage)
    notes["bands"] = [
        f"Share of children within {bands.attrs.get('bands_note', 'each band')}; "
        "children with no journey count as not within."
    ]
    quality_parts, choice_parts = [], []
    quality_notes: list[str] = []
    for source in travel:
        q = quality_access(
            inputs.origins,
            inputs.providers,
            inputs.children,
            source,
            kinds=kinds,
            include_independent=include_independent,
            ratings_note=inputs.ratings_note,
        )
        unrated = q.attrs.get("unrated_providers", {})
        counts = q.attrs.get("providers", {})
        if not quality_notes:
            quality_notes.append(f"Ratings: {inputs.ratings_note}; {q.attrs.get('good_note', '')}.")
            missing = [
                f"{settings.KIND_LABELS.get(k, k).lower()} {unrated[k]} of {counts.get(k, '?')}"
                for k in kinds
                if unrated.get(k)
            ]
            if missing:
                quality_notes.append(
                    "Providers without a rating are not counted as below good or as good: "
                    + ", ".join(missing)
                    + "."
                )
        quality_parts.append(q)
        c = choice(
            inputs.origins,
            inputs.providers,
            inputs.children,
            source,
            thresholds=merged,
            kinds=kinds,
            include_independent=include_independent,
            ratings_note=inputs.ratings_note,
        )
        notes.setdefault("choice", []).append(
            f"Choice by {source.mode}: providers within the threshold "
            f"({c.attrs.get('threshold_source', '')})."
        )
        choice_parts.append(c)
    quality = pd.concat(quality_parts, ignore_index=True)
    notes["quality"] = quality_notes
    names = _group_names(inputs)
    quality_by_group = (
        pd.concat(
            [
                summarise_quality(quality, lookup, names=names[level]).assign(level=level)
                for level, lookup in inputs.lookups.items()
            ],
            ignore_index=True,
        )
        if inputs.lookups
        else pd.DataFrame()
    )
    choices = pd.concat(choice_parts, ignore_index=True)

    capacity_notes: list[str] = []
    access: dict[tuple[str, str], CatchmentAccess] = {}
    refused: set[str] = set()
    for source in travel:
        for kind in kinds:
            if kind in refused:
                continue
            try:
                access[(source.mode, kind)] = access_for(
                    inputs, source, kind=kind, include_independent=include_independent
                )
            except MissingCapacityError:
                refused.add(kind)
    if refused:
        labels = ", ".join(settings.KIND_LABELS.get(k, k).lower() for k in kinds if k in refused)
        capacity_notes.append(
            f"No capacity data for {labels}: capacity-aware access and sufficiency are not "
            "computed for them, and no number is made up."
        )
    if inputs.study.providers.capacity:
        capacity_notes.append(f"Capacity: {inputs.study.providers.capacity}.")
    if "special" in kinds:
        capacity_notes.append(
            "Special schools' places are not compared with children by area: they serve the "
            "few children with a plan naming one, not every child of the ages."
        )
    home = home_areas(inputs.providers, inputs.areas)
    sufficiencies: dict[str, Sufficiency] = {}
    for kind, basis in SUFFICIENCY_BASES.items():
        if kind not in kinds or kind not in inputs.children.columns:
            continue
        places = provider_places(
            inputs.providers, kind, basis=basis, include_independent=include_independent
        )
        if places["places"].isna().all():
            continue
        limits = inputs.study.sufficiency_limits
        result = assess_sufficiency(
            places,
            inputs.children[kind],
            home=home,
            lookups=inputs.lookups,
            group_names=names,
            surplus_share=limits.get("surplus_share", settings.SURPLUS_SHARE),
            surplus_min_places=limits.get("surplus_min_places", settings.SURPLUS_MIN_PLACES),
            margin=limits.get("margin", settings.OPERATING_MARGIN),
        )
        said = inputs.students_note if basis == "students" else inputs.capacity_note
        result.notes.append(f"Places ({basis}): {said}.")
        if kind == "secondary" and (places["kind"] == "sixth_form").any():
            result.notes.append(
                "11–18 schools count their whole capacity, sixth form included (as the DfE "
                "school capacity survey does), against children aged 11–15: spare places are "
                "overstated by their sixth-form places."
            )
        sufficiencies[kind] = result
    notes["capacity"] = capacity_notes
    early = pd.DataFrame()
    if "early_years" in kinds and "early_years" in inputs.children.columns:
        early = early_years_places_per_100(
            provider_places(
                inputs.providers, "early_years", include_independent=include_independent
            ),
            inputs.children["early_years"],
            home=home,
            lookups=inputs.lookups,
            group_names=names,
        )
        names_of = inputs.areas.set_index("area_id")["area_name"]
        at_area = early["level"] == "area"
        early.loc[at_area, "group_name"] = early.loc[at_area, "group_id"].map(names_of)
        rough = eligible_providers(inputs.providers, "early_years")
        rough = rough[rough["location_source"].astype(str).str.contains("district")]
        notes["early_years"] = [
            *early.attrs.get("notes", []),
            *([inputs.early_years_note] if inputs.early_years_note else []),
            *(
                [
                    f"{len(rough)} early-years settings are placed at the middle of their "
                    "postcode district (their list gives no fuller postcode): the area they "
                    "are counted in is approximate."
                ]
                if len(rough)
                else []
            ),
        ]
    scorecard = pd.DataFrame()
    if inputs.study.scorecard is not None:
        card = read_scorecard(inputs.study.scorecard, la_code=inputs.study.code)
        card.attrs["source"] = inputs.study.scorecard_source or "DfE school places scorecard"
        scorecard = check_against_scorecard(
            inputs.providers, card, in_area=inputs.providers["in_county"]
        )
        capacity_notes.append(str(scorecard.attrs.get("note", NO_CAPACITY_NOTE)))
    competition = None
    if "post16" in kinds:
        car = next((s for s in travel if s.mode == settings.COMPETITION_MODE), None)
        if car is None:
            car = choose_travel(
                inputs.study, [settings.COMPETITION_MODE], boundary=inputs.boundary
            )[0]
        given = inputs.study.competition
        catchments = post16_catchments(
            inputs.origins,
            inputs.providers,
            young_people(inputs.children),
            car,
            minutes=given.get("minutes", settings.COMPETITION_MINUTES),
            include_independent=include_independent,
        )
        competition = post16_competition(
            catchments,
            inputs.providers,
            overlap=given.get("overlap", settings.COMPETITION_OVERLAP),
            small=given.get("small", settings.SMALL_SIXTH_FORM),
            include_independent=include_independent,
        )
        notes["competition"] = [*competition.notes, f"Sizes: {inputs.students_note}."]
    chosen = None
    if sites and REPORT_SITES_KIND in kinds:
        chosen, notes["sites"] = _report_sites(
            inputs, travel, REPORT_SITES_KIND, include_independent, merged
        )
    return Planning(
        bands=bands,
        quality=quality,
        quality_by_group=quality_by_group,
        choice=choices,
        access=access,
        sufficiency=sufficiencies,
        early_years=early,
        scorecard=scorecard,
        competition=competition,
        sites=chosen,
        notes=notes,
    )


def _report_sites(
    inputs: Inputs,
    travel: Sequence[TravelTimes],
    kind: str,
    include_independent: bool,
    thresholds: Mapping[str, Mapping[str, float]],
) -> tuple[SiteChoice | None, list[str]]:
    providers = inputs.providers
    candidates = providers[
        (providers["kind"] == "primary")
        & ~providers["offers_early_years"].astype(bool)
        & providers["in_county"].astype(bool)
        & (providers["sector"] != "independent")
    ]
    source = next((s for s in travel if s.mode == "walk"), travel[0])
    if candidates.empty:
        return None, [
            "No new early-years sites are suggested: every primary school here already "
            "has a nursery class."
        ]
    label = settings.KIND_LABELS.get(kind, kind).lower()
    add = min(REPORT_SITES_ADD, len(candidates))
    result = sites_for_kind(
        inputs.origins,
        inputs.providers,
        inputs.children,
        source,
        thresholds=thresholds,
        kind=kind,
        add=add,
        candidates=candidates[["id", "name", "geometry"]],
        objective="coverage",
        include_independent=include_independent,
    )
    return result, [
        f"Where {add} new {label} settings would bring the most children within a reasonable "
        f"journey by {source.mode}: chosen among the {len(candidates)} primary schools "
        "here with no nursery class, exactly (an integer programme), with the greedy order "
        "beside it.",
        *result.notes,
    ]


@dataclass
class Eligibility:
    """Home-to-school transport eligibility for a list of pupils or every postcode.

    Attributes
    ----------
    table
        Per pupil (or postcode and age): :func:`geomap.eligibility.assess_eligibility`.
    counts
        Eligible children per area and age band.
    cost
        Estimated annual cost per rule.
    homes
        One shape per home with what applies there, for maps.
    note
        How it was measured, with its sources and what is estimated.
    """

    table: gpd.GeoDataFrame
    counts: pd.DataFrame
    cost: pd.DataFrame
    homes: gpd.GeoDataFrame
    note: str


def post16_options(
    inputs: Inputs,
    *,
    sources: Sequence[TravelTimes],
    pt: TravelTimes | None,
    include_independent: bool,
) -> tuple[dict[str, Any] | None, str]:
    """Every postcode's nearest post-16 options, for the options finder.

    Parameters
    ----------
    inputs
        The loaded study (its postcode lookup gives the homes).
    sources
        Travel times already chosen: the car and walking ones are used where
        given; car times are chosen for the study otherwise.
    pt
        Public-transport times, or ``None``.
    include_independent
        Whether independent providers count.

    Returns
    -------
    tuple
        The options (:func:`geomap.finder.finder_data`, by car, public
        transport and walking) or ``None``, and why there are none (no
        post-16 providers, no postcode in the study area; ``""`` when there are).
    """
    from geomap.finder import finder_data

    car = next((s for s in sources if s.mode == "car"), None)
    if car is None:
        car = choose_travel(inputs.study, ["car"], boundary=inputs.boundary)[0]
    walk = next((s for s in sources if s.mode == "walk"), None)
    try:
        options = finder_data(
            inputs, car=car, pt=pt, walk=walk, include_independent=include_independent
        )
    except InputError as err:
        return None, str(err)
    return options, ""


def _postcode_analyses(
    inputs: Inputs,
    *,
    networks: Sequence[str | Path],
    sources: Sequence[TravelTimes],
    pt: TravelTimes | None,
    include_independent: bool,
) -> tuple[Eligibility, dict[str, Any] | None, str]:
    """What :func:`run` works out for every postcode: eligibility and the post-16 options.

    Returns the eligibility (:func:`eligibility_for`) and what
    :func:`post16_options` returns.
    """
    eligibility = eligibility_for(inputs, networks=networks)
    options, note = post16_options(
        inputs, sources=sources, pt=pt, include_independent=include_independent
    )
    return eligibility, options, note


def eligibility_for(
    inputs: Inputs,
    *,
    pupils: gpd.GeoDataFrame | None = None,
    networks: Sequence[str | Path] = (),
    unsafe: gpd.GeoDataFrame | None = None,
    start: Literal["postcode", "node"] = "postcode",
    use_capacity: bool = True,
    cost_per_pupil: float = settings.TRANSPORT_COST_PER_PUPIL,
) -> Eligibility:
    """Who is entitled to free home-to-school transport: given pupils, or every postcode's children.

    Parameters
    ----------
    inputs
        From :func:`load_inputs`.
    pupils
        From :func:`geomap.eligibility.read_pupils`; by default every postcode
        of the study area with its estimated children of each school age.
    networks
        Walk and drive network files (compact ``.network.npz``, GraphML, OSM,
        PBF; GraphML is compiled once and cached); the estimates otherwise.
    unsafe
        Routes assessed as unsafe (:func:`geomap.eligibility.read_unsafe`).
    start
        ``postcode`` (measure from the home) or ``node`` (from its nearest
        network node).
    use_capacity
        Skip schools known to be full.
    cost_per_pupil
        Annual cost of transport per eligible pupil (£).

    Returns
    -------
    Eligibility
        The tables, the homes for a map and the note.

    Raises
    ------
    InputError
        Without pupils, when the study area has no postcode lookup.
    """
    from geomap.eligibility import (
        assess_eligibility,
        eligibility_counts,
        eligibility_homes,
        postcode_children,
        split_networks,
        transport_cost,
    )
    from geomap.travel.compact import load_network

    estimated = pupils is None
    if pupils is None:
        if inputs.study.postcodes is None:
            raise InputError(
                f"every postcode's children need a postcode lookup, and {inputs.name} has none",
                path=inputs.study.path,
                fix="Add a [postcodes] lookup to the study-area file, or give a pupil list",
            )
        population = inputs.population
        if population is None:
            pop = inputs.study.population
            population = load_population(pop.path, area=pop.area, age=pop.age, count=pop.count)
        pupils = postcode_children(inputs.study.postcodes, inputs.areas, population)
    walk, drive = split_networks([(p, load_network(p)) for p in networks])
    table = assess_eligibility(
        pupils,
        inputs.providers,
        walk_network=walk,
        drive_network=drive,
        unsafe=unsafe,
        start=start,
        use_capacity=use_capacity,
    )
    note = str(table.attrs.get("description", ""))
    if estimated:
        note += (
            " Children per postcode are an estimate: each area's children of an age are shared "
            "equally among its postcodes, and no family is known to be on a low income."
        )
    return Eligibility(
        table=table,
        counts=eligibility_counts(table, inputs.areas),
        cost=transport_cost(table, cost_per_pupil=cost_per_pupil),
        homes=eligibility_homes(table),
        note=note,
    )


def run(
    study: StudyArea | Inputs,
    *,
    travel: Sequence[TravelTimes] | None = None,
    pt: TravelTimes | None = None,
    kinds: Iterable[str] = settings.ANALYSIS_KINDS,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    include_independent: bool = False,
    post16_thresholds: BarrierThresholds | None = None,
    planned: bool = True,
    progress: Progress | None = None,
    origins: str = "areas",
    networks: Sequence[str | Path] | None = None,
) -> Result:
    """Run every analysis on a study area.

    Parameters
    ----------
    study
        A study area, or inputs already loaded from one.
    travel
        Travel-time sources, one per mode; car and walking from the study area
        (its networks, else the estimate) by default.
    pt
        Public-transport source for the post-16 analysis; the study area's by
        default. Without one, the post-16 analysis is left out and the notes say so.
    kinds
        Kinds of provision to analyse.
    thresholds
        ``{mode: {kind: minutes}}`` overriding the defaults.
    include_independent
        Count independent schools as provision.
    post16_thresholds
        When public transport is a barrier.
    planned
        Also plan: capacity, quality, choice, competition and new sites
        (:func:`plan`), and assess home-to-school transport eligibility for
        every postcode (:func:`eligibility_for`) when there is a postcode lookup.
    progress
        Called with a short message before each step.
    networks
        Walk and drive network files for the eligibility distances; the study
        area's own by default.
    origins
        ``areas`` (one point per area) or ``postcodes``: the gaps are also
        analysed from every postcode (:func:`postcode_inputs`), ``analysis``
        holds them gathered back to areas for the maps and tables,
        ``postcodes`` the per-postcode analysis and ``origins_comparison``
        the change from the area view. Post-16 barriers and planning stay per area.

    Returns
    -------
    Result
        Everything computed, with its descriptions.

    Raises
    ------
    InputError
        If ``origins`` is neither ``areas`` nor ``postcodes``, or is
        ``postcodes`` and the study area has no postcode lookup.
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    if origins not in ORIGIN_CHOICES:
        raise InputError(
            f"origins must be one of {', '.join(ORIGIN_CHOICES)}, not '{origins}'",
            fix="Use origins='areas' or origins='postcodes'",
        )
    if travel is not None and not travel:
        raise InputError("no travel-time source given", fix="Give one source per mode, or None")
    if isinstance(study, Inputs):
        if study.origins_of != "areas":
            raise InputError(
                "run takes area inputs; ask for postcode origins with origins='postcodes'",
                fix="Give load_inputs(study) and origins='postcodes'",
            )
        inputs = study
    else:
        _say(progress, "[1/6] loading providers, areas, population and origins")
        inputs = load_inputs(study)
    travel_notes: list[str] = []
    sources = (
        list(travel)
        if travel is not None
        else choose_travel(
            inputs.study, ["car", "walk"], boundary=inputs.boundary, notes=travel_notes
        )
    )
    pt = pt if pt is not None else choose_public_transport(inputs.study)
    by_postcode_later = None
    if planned and inputs.study.postcodes is not None:
        for source in sources:
            # a network's streets are built here once, for both processes
            source.prepare(inputs.origins, search=False)
        files = networks if networks is not None else list(inputs.study.networks.values())
        # eligibility and each postcode's post-16 options need nothing the other
        # analyses give: a second process (where one may fork) works them out
        # meanwhile, from the networks already in memory
        by_postcode_later = Background(
            lambda: _postcode_analyses(
                inputs,
                networks=files,
                sources=sources,
                pt=pt,
                include_independent=include_independent,
            ),
            what="assessing home-to-school transport eligibility and each postcode's options",
        )
    try:
        for source in sources:
            # every analysis below asks from the areas: a network searches from each once
            source.prepare(inputs.origins)
        _say(
            progress,
            f"[2/6] joining {len(inputs.providers)} providers to {len(inputs.areas)} areas",
        )
        provision = provision_by_area(
            inputs.providers,
            inputs.areas,
            origins=inputs.origins.geometry,
            include_independent=include_independent,
        )
        _say(progress, f"[3/6] travel times and gaps ({', '.join(s.method for s in sources)})")
        analysis = analyse(
            inputs,
            sources,
            kinds=kinds,
            thresholds=thresholds,
            include_independent=include_independent,
        )
        notes = [*inputs.notes, *travel_notes, *analysis.methods.values()]
        by_postcode = None
        comparison = None
        if origins == "postcodes":
            _say(progress, "[3/6] gaps from every postcode")
            at_postcodes = postcode_inputs(inputs)
            by_postcode = analyse(
                at_postcodes,
                sources,
                kinds=kinds,
                thresholds=thresholds,
                include_independent=include_independent,
            )
            comparison = compare_origins(analysis.coverage, by_postcode.coverage)
            analysis = gathered_to_areas(by_postcode, at_postcodes)
            notes.append(
                f"{at_postcodes.origin_note} Gaps are measured from every postcode and gathered "
                "back to areas; post-16 barriers and planning are measured from one point per area."
            )
        elif planned and inputs.study.postcodes is not None and inputs.origins_of == "areas":
            # the postcode view beside the area view, so the report can say what it changes
            _say(progress, "[3/6] gaps from every postcode, to compare with the areas")
            by_postcode = analyse(
                postcode_inputs(inputs),
                sources,
                kinds=kinds,
                thresholds=thresholds,
                include_independent=include_independent,
            )
            comparison = compare_origins(analysis.coverage, by_postcode.coverage)
        post16 = None
        if pt is None:
            notes.append(
                f"Post-16 transport barriers are not analysed: {inputs.name} has no public-transport "
                "times (give a routed table or a GTFS timetable in the study-area file)."
            )
        else:
            _say(progress, "[4/6] post-16 transport barriers")
            car = next((s for s in sources if s.mode == "car"), None)
            if car is None:
                car = choose_travel(inputs.study, ["car"], boundary=inputs.boundary)[0]
            post16 = analyse_post16(
                inputs,
                car=car,
                pt=pt,
                thresholds=post16_thresholds,
                include_independent=include_independent,
            )
        planning = None
        eligibility = None
        options: dict[str, Any] | None = None
        options_note = ""
        if planned:
            _say(progress, "[5/6] capacity, quality, choice, competition, new sites, eligibility")
            planning = plan(
                inputs,
                sources,
                analysis,
                kinds=kinds,
                thresholds=thresholds,
                include_independent=include_independent,
            )
            if by_postcode_later is not None:
                eligibility, options, options_note = by_postcode_later.result()
            else:
                notes.append(
                    "Home-to-school transport eligibility is not assessed: the study area has no "
                    "postcode lookup."
                )
    finally:
        if by_postcode_later is not None:
            by_postcode_later.stop()
    return Result(
        inputs=inputs,
        travel=sources,
        provision=provision,
        analysis=analysis,
        provider_summary=summarise_providers(inputs.providers),
        post16=post16,
        notes=notes,
        include_independent=include_independent,
        planning=planning,
        postcodes=by_postcode,
        origins_comparison=comparison,
        pt=pt,
        eligibility=eligibility,
        origins=origins,
        post16_options=options,
        post16_options_note=options_note,
    )
