"""geomap: where education provision is, who can reach it, and where the gaps are.

The front door. Everything an analyst needs is importable from here::

    import geomap

    study = geomap.default_study_area()  # or geomap.load_study_area("my_council.toml")
    result = geomap.run(study)
    geomap.write_report(result, "out")

Names are imported when first used, so ``import geomap`` stays quick and the
command line starts fast.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("geomap")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

#: Public name → the module that defines it.
_PUBLIC = {
    # study areas and the pipeline
    "StudyArea": "geomap.study_area",
    "load_study_area": "geomap.study_area",
    "default_study_area": "geomap.study_area",
    "Inputs": "geomap.pipeline",
    "Result": "geomap.pipeline",
    "load_inputs": "geomap.pipeline",
    "run": "geomap.pipeline",
    "analyse": "geomap.pipeline",
    "analyse_post16": "geomap.pipeline",
    "choose_travel": "geomap.pipeline",
    "choose_public_transport": "geomap.pipeline",
    "study_boundary": "geomap.pipeline",
    # providers, areas, demand
    "load_providers": "geomap.providers",
    "summarise_providers": "geomap.providers",
    "offers": "geomap.providers",
    "load_areas": "geomap.areas",
    "load_partnerships": "geomap.areas",
    "provision_by_area": "geomap.areas",
    "load_population": "geomap.demand",
    "children_by_band": "geomap.demand",
    "read_points": "geomap.locations",
    # travel
    "TravelTimes": "geomap.travel",
    "ScenarioTrips": "geomap.travel.base",
    "StraightLineEstimate": "geomap.travel",
    "NetworkTravelTimes": "geomap.travel",
    "TableTravelTimes": "geomap.travel",
    "TimetableTravelTimes": "geomap.travel",
    "FastestOf": "geomap.travel",
    "default_estimate": "geomap.travel",
    "load_gtfs": "geomap.travel",
    "travel_sources": "geomap.travel",
    # analyses
    "analyse_gaps": "geomap.gaps",
    "floating_catchment": "geomap.access",
    "method_weight": "geomap.access",
    "eligible_providers": "geomap.gaps",
    "GapAnalysis": "geomap.gaps",
    "BarrierThresholds": "geomap.post16",
    "Post16Analysis": "geomap.post16",
    "post16_barriers": "geomap.post16",
    "young_people": "geomap.post16",
    "POST16_FLAGS": "geomap.post16",
    "TimeOfDay": "geomap.clock",
    "parse_time": "geomap.clock",
    "load_scenario": "geomap.routes",
    "evaluate_scenario": "geomap.routes",
    # maps and writing
    "providers_map": "geomap.maps",
    "access_map": "geomap.maps",
    "post16_map": "geomap.maps",
    "route_map": "geomap.maps",
    "isochrone_map": "geomap.maps",
    "offline_html": "geomap.maps",
    "report_maps": "geomap.report",
    "kind_map": "geomap.report",
    "post16_map_for": "geomap.report",
    "write_report": "geomap.report",
    "write_post16": "geomap.report",
    "write_scenario": "geomap.report",
    # from gaps to plans
    "Planning": "geomap.pipeline",
    "plan": "geomap.pipeline",
    "access_for": "geomap.pipeline",
    "CatchmentAccess": "geomap.access",
    "kind_access": "geomap.access",
    "Sufficiency": "geomap.sufficiency",
    "provider_places": "geomap.sufficiency",
    "assess_sufficiency": "geomap.sufficiency",
    "early_years_places_per_100": "geomap.sufficiency",
    "read_scorecard": "geomap.sufficiency",
    "check_against_scorecard": "geomap.sufficiency",
    "quality_access": "geomap.gaps",
    "choice": "geomap.gaps",
    "share_within_bands": "geomap.gaps",
    "Post16Competition": "geomap.post16",
    "post16_catchments": "geomap.post16",
    "post16_competition": "geomap.post16",
    "SiteChoice": "geomap.sites",
    "choose_sites": "geomap.sites",
    "sites_for_kind": "geomap.sites",
    "grid_candidates": "geomap.sites",
    "MissingCapacityError": "geomap.errors",
    "bands_chart": "geomap.figures",
    "value_map": "geomap.maps",
    "category_map": "geomap.maps",
    "competition_map": "geomap.maps",
    "sites_map": "geomap.maps",
    "sites_map_for": "geomap.report",
    "planning_outputs": "geomap.report",
    # scale: compact networks, journeys within a limit, sweeps on Dask
    "CompactNetwork": "geomap.travel.compact",
    "load_network": "geomap.travel.compact",
    "write_compact": "geomap.travel.compact",
    "pairs_within": "geomap.travel.reach",
    "load_route_sweep": "geomap.sweep",
    "load_site_sweep": "geomap.sweep",
    "run_sweep": "geomap.sweep",
    "sweep_client": "geomap.sweep",
    "rank_variants": "geomap.sweep",
    # outputs to publish: figures for papers, one map to explore, the summary
    "map_figure": "geomap.figures",
    "static_map": "geomap.maps",
    "explore_page": "geomap.explore",
    "headlines": "geomap.summary",
    # errors and warnings
    "GeomapError": "geomap.errors",
    "InputError": "geomap.errors",
    "StudyAreaError": "geomap.errors",
    "UnsupportedError": "geomap.errors",
    "OutputError": "geomap.errors",
    "GeomapWarning": "geomap.errors",
    "InputWarning": "geomap.errors",
    "GeometryWarning": "geomap.errors",
    "TravelWarning": "geomap.errors",
    "OutputWarning": "geomap.errors",
}

__all__ = [
    "POST16_FLAGS",
    "BarrierThresholds",
    "CatchmentAccess",
    "CompactNetwork",
    "FastestOf",
    "GapAnalysis",
    "GeomapError",
    "GeomapWarning",
    "GeometryWarning",
    "InputError",
    "InputWarning",
    "Inputs",
    "MissingCapacityError",
    "NetworkTravelTimes",
    "OutputError",
    "OutputWarning",
    "Planning",
    "Post16Analysis",
    "Post16Competition",
    "Result",
    "ScenarioTrips",
    "SiteChoice",
    "StraightLineEstimate",
    "StudyArea",
    "StudyAreaError",
    "Sufficiency",
    "TableTravelTimes",
    "TimeOfDay",
    "TimetableTravelTimes",
    "TravelTimes",
    "TravelWarning",
    "UnsupportedError",
    "__version__",
    "access_for",
    "access_map",
    "analyse",
    "analyse_gaps",
    "analyse_post16",
    "assess_sufficiency",
    "bands_chart",
    "category_map",
    "check_against_scorecard",
    "children_by_band",
    "choice",
    "choose_public_transport",
    "choose_sites",
    "choose_travel",
    "competition_map",
    "default_estimate",
    "default_study_area",
    "early_years_places_per_100",
    "eligible_providers",
    "evaluate_scenario",
    "explore_page",
    "floating_catchment",
    "grid_candidates",
    "headlines",
    "isochrone_map",
    "kind_access",
    "kind_map",
    "load_areas",
    "load_gtfs",
    "load_inputs",
    "load_network",
    "load_partnerships",
    "load_population",
    "load_providers",
    "load_route_sweep",
    "load_scenario",
    "load_site_sweep",
    "load_study_area",
    "map_figure",
    "method_weight",
    "offers",
    "offline_html",
    "pairs_within",
    "parse_time",
    "plan",
    "planning_outputs",
    "post16_barriers",
    "post16_catchments",
    "post16_competition",
    "post16_map",
    "post16_map_for",
    "provider_places",
    "providers_map",
    "provision_by_area",
    "quality_access",
    "rank_variants",
    "read_points",
    "read_scorecard",
    "report_maps",
    "route_map",
    "run",
    "run_sweep",
    "share_within_bands",
    "sites_for_kind",
    "sites_map",
    "sites_map_for",
    "static_map",
    "study_boundary",
    "summarise_providers",
    "sweep_client",
    "travel_sources",
    "value_map",
    "write_compact",
    "write_post16",
    "write_report",
    "write_scenario",
    "young_people",
]

if TYPE_CHECKING:
    from geomap.access import CatchmentAccess, floating_catchment, kind_access, method_weight
    from geomap.areas import load_areas, load_partnerships, provision_by_area
    from geomap.clock import TimeOfDay, parse_time
    from geomap.demand import children_by_band, load_population
    from geomap.errors import (
        GeomapError,
        GeomapWarning,
        GeometryWarning,
        InputError,
        InputWarning,
        MissingCapacityError,
        OutputError,
        OutputWarning,
        StudyAreaError,
        TravelWarning,
        UnsupportedError,
    )
    from geomap.explore import explore_page
    from geomap.figures import bands_chart, map_figure
    from geomap.gaps import (
        GapAnalysis,
        analyse_gaps,
        choice,
        eligible_providers,
        quality_access,
        share_within_bands,
    )
    from geomap.locations import read_points
    from geomap.maps import (
        access_map,
        category_map,
        competition_map,
        isochrone_map,
        offline_html,
        post16_map,
        providers_map,
        route_map,
        sites_map,
        static_map,
        value_map,
    )
    from geomap.pipeline import (
        Inputs,
        Planning,
        Result,
        access_for,
        analyse,
        analyse_post16,
        choose_public_transport,
        choose_travel,
        load_inputs,
        plan,
        run,
        study_boundary,
    )
    from geomap.post16 import (
        POST16_FLAGS,
        BarrierThresholds,
        Post16Analysis,
        Post16Competition,
        post16_barriers,
        post16_catchments,
        post16_competition,
        young_people,
    )
    from geomap.providers import load_providers, offers, summarise_providers
    from geomap.report import (
        kind_map,
        planning_outputs,
        post16_map_for,
        report_maps,
        sites_map_for,
        write_post16,
        write_report,
        write_scenario,
    )
    from geomap.routes import evaluate_scenario, load_scenario
    from geomap.sites import SiteChoice, choose_sites, grid_candidates, sites_for_kind
    from geomap.study_area import StudyArea, default_study_area, load_study_area
    from geomap.sufficiency import (
        Sufficiency,
        assess_sufficiency,
        check_against_scorecard,
        early_years_places_per_100,
        provider_places,
        read_scorecard,
    )
    from geomap.summary import headlines
    from geomap.sweep import (
        load_route_sweep,
        load_site_sweep,
        rank_variants,
        run_sweep,
        sweep_client,
    )
    from geomap.travel import (
        FastestOf,
        NetworkTravelTimes,
        StraightLineEstimate,
        TableTravelTimes,
        TimetableTravelTimes,
        TravelTimes,
        default_estimate,
        load_gtfs,
        travel_sources,
    )
    from geomap.travel.base import ScenarioTrips
    from geomap.travel.compact import CompactNetwork, load_network, write_compact
    from geomap.travel.reach import pairs_within


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'geomap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, for tab completion."""
    return sorted({*globals(), *_PUBLIC})
