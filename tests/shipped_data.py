"""Paths of the shipped Herefordshire files, for tests that read one directly.

The library names no shipped file; the study-area file does. Tests that need
one file of it take its path from here.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"

FILES = {
    "providers": ("providers", "herefordshire_providers.csv"),
    "postcodes": ("providers", "codepoint_open_postcodes_herefordshire_and_border.csv"),
    "population": ("population", "lsoa11_herefordshire_population_mid2020_syoa.csv"),
    "deprivation": ("deprivation", "imd2019_lsoa11_herefordshire.csv"),
    "lsoa11": ("boundaries", "lsoa11_herefordshire_bgc.geojson"),
    "lsoa21": ("boundaries", "lsoa21_herefordshire.geojson"),
    "ward": ("boundaries", "wards22_herefordshire_bsc.geojson"),
    "msoa11": ("boundaries", "msoa11_herefordshire_bgc.geojson"),
    "msoa21": ("boundaries", "msoa21_herefordshire_bsc.geojson"),
    "lad": ("boundaries", "lad24_herefordshire_and_neighbours_buc.geojson"),
    "trip_points11": ("travel", "herefordshire_lsoa11_nearest_road_points_walesish.geojson"),
    "pwc11": ("travel", "herefordshire_lsoa11_centroids_walesish.geojson"),
    "car_calibration": ("travel", "herefordshire_lsoa11_car_minutes_to_hospitals_calibration.csv"),
    "calibration_sites": ("travel", "hospital_postcode_coords.csv"),
    "pt_table": (
        "travel",
        "herefordshire_lsoa11_public_transport_minutes_to_nhs_sites_walesish.csv",
    ),
    "pt_sites": ("travel", "nhs_sites_reached_from_herefordshire_walesish.geojson"),
    "study_area": ("herefordshire.toml",),
}


def shipped(name: str) -> Path:
    """Path of a shipped file by its short name."""
    return DATA.joinpath(*FILES[name])


def study():
    """The shipped study area."""
    from geomap.study_area import load_study_area

    return load_study_area(shipped("study_area"))


def boundary():
    """The shipped study area's outline (EPSG:27700)."""
    from geomap.pipeline import study_boundary

    return study_boundary(study())


def layer(name: str, **options):
    """A shipped area layer, read as the shipped study area describes it.

    ``name`` is ``areas`` (LSOA 2011), ``lad`` (the base map), or a layer of
    the study-area file (``ward``, ``lsoa21``, ``msoa11``, ``msoa21``).
    ``lsoa11`` is the same as ``areas``.
    """
    from geomap.areas import load_areas

    here = study()
    spec = {"areas": here.areas, "lsoa11": here.areas, "lad": here.base_map}.get(name)
    spec = spec or here.layers[name]
    return load_areas(
        spec.path, id_column=spec.code, name_column=spec.name, label=spec.label, **options
    )
