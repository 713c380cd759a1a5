"""Documented defaults: coordinate systems, provider kinds, age bands, thresholds, folders.

Each value here is a default that a function or CLI option can override; the
docstring or comment beside it says where it comes from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

#: Coordinate reference system geomap measures in: British National Grid.
MEASURE_CRS: Final = "EPSG:27700"
#: Coordinate reference system for drawing with folium and for lon/lat input.
LONLAT_CRS: Final = "EPSG:4326"

#: Provider kinds, in the order planners read them. A provider has one main
#: ``kind`` and may offer other phases too (a primary school with a nursery class
#: also counts as early-years provision; an 11-18 school is ``sixth_form`` and
#: also offers secondary places). See :func:`geomap.providers.offers`.
KINDS: Final = ("early_years", "primary", "secondary", "sixth_form", "college", "special")

#: Human labels for kinds.
KIND_LABELS: Final = {
    "early_years": "Early years",
    "primary": "Primary",
    "secondary": "Secondary (high school)",
    "sixth_form": "Sixth form",
    "college": "College (post-16)",
    "special": "Special school",
    "post16": "Post-16 (sixth forms and colleges)",
}

#: Kinds whose coverage geomap analyses by default. ``post16`` is a derived
#: group (sixth forms and colleges together) used by the post-16 analysis.
ANALYSIS_KINDS: Final = ("early_years", "primary", "secondary", "post16", "special")

#: Age band (inclusive, in completed years at mid-year) of the children who
#: need each kind of provision. 4-year-olds are in both early years and primary
#: because at mid-year they are split between nursery and reception.
AGE_BANDS: Final = {
    "early_years": (0, 4),
    "primary": (4, 10),
    "secondary": (11, 15),
    "sixth_form": (16, 18),
    "college": (16, 18),
    "post16": (16, 18),
    "special": (2, 18),
}

#: Walking speed, km/h (a common planning figure, about 3 mph).
WALK_SPEED_KMH: Final = 4.8
#: Cycling speed, km/h.
BIKE_SPEED_KMH: Final = 16.0

_MILE_KM: Final = 1.609344

#: Network modes geomap downloads and loads (osmnx ``network_type`` names), and
#: the travel mode each serves (a ``drive`` network gives ``car`` times).
NETWORK_MODES: Final = {"drive": "car", "walk": "walk", "bike": "bike"}
#: Metres added around a place, polygon or bbox before downloading its network, so
#: that journeys that leave the area and come back (a border road, a bridge just
#: over the boundary) and journeys to providers just over the border are routed.
NETWORK_BUFFER_M: Final = 5000.0
#: Whether networks are topologically simplified (osmnx's default): nodes only at
#: junctions and dead ends, which makes graphs about five times smaller and
#: quicker to load, but points snap to the nearest junction rather than the
#: nearest bend in the road. Pass ``simplify=False`` for the most exact snapping.
NETWORK_SIMPLIFY: Final = True
#: Origins and destinations further than this (metres) from their nearest network
#: node are warned about and counted; they keep their times.
NETWORK_MAX_SNAP_M: Final = 1000.0
#: Speed (km/h) of the off-network leg between a point and its nearest node: walking.
NETWORK_ACCESS_KMH: Final = WALK_SPEED_KMH
#: Car speed (km/h) for OSM highway classes not in the shipped DfT table
#: (``living_street``, ``road``, ``busway`` ...): the DfT "Local street" speed.
CAR_DEFAULT_KMH: Final = 18.3
#: Great Britain's national speed limits (mph), for OSM ``maxspeed`` values such as
#: ``national`` or ``GB:nsl_single`` (The Highway Code, rule 124).
UK_NATIONAL_LIMITS_MPH: Final = {
    "national": 60.0,
    "gb:nsl_single": 60.0,
    "uk:nsl_single": 60.0,
    "gb:nsl_dual": 70.0,
    "uk:nsl_dual": 70.0,
    "gb:motorway": 70.0,
    "uk:motorway": 70.0,
}


def _walk_minutes(miles: float) -> float:
    return round(miles * _MILE_KM / WALK_SPEED_KMH * 60, 1)


#: Longest reasonable journey, minutes, by mode and kind, with its source.
#: Walking: the statutory walking distances (Education Act 1996 s.444(5); DfE
#: "Travel to school for children of compulsory school age", 2024): 2 miles
#: under 8, 3 miles from 8, converted at ``WALK_SPEED_KMH``. Primary and early
#: years use 2 miles, older children 3 miles. Car (and any motorised mode): the
#: DfE guidance's longest reasonable journey, 45 minutes for primary and 75
#: minutes for secondary; early years take the primary figure and post-16 and
#: special the secondary one (no national figure exists for them).
THRESHOLDS: Final[dict[str, dict[str, float]]] = {
    "walk": {
        "early_years": _walk_minutes(2),
        "primary": _walk_minutes(2),
        "secondary": _walk_minutes(3),
        "sixth_form": _walk_minutes(3),
        "college": _walk_minutes(3),
        "post16": _walk_minutes(3),
        "special": _walk_minutes(3),
    },
    "car": {
        "early_years": 45.0,
        "primary": 45.0,
        "secondary": 75.0,
        "sixth_form": 75.0,
        "college": 75.0,
        "post16": 75.0,
        "special": 75.0,
    },
}
#: Bikes and public transport take the motorised figures.
THRESHOLDS["bike"] = dict(THRESHOLDS["car"])
THRESHOLDS["pt"] = dict(THRESHOLDS["car"])

THRESHOLD_SOURCES: Final = {
    "walk": (
        "statutory walking distance (Education Act 1996 s.444(5)): 2 miles under 8, "
        f"3 miles from 8, at {WALK_SPEED_KMH:g} km/h"
    ),
    "car": (
        "DfE home-to-school travel guidance: 45 min primary, 75 min secondary as the "
        "longest reasonable journey"
    ),
}
THRESHOLD_SOURCES["bike"] = THRESHOLD_SOURCES["car"]
THRESHOLD_SOURCES["pt"] = THRESHOLD_SOURCES["car"]


def data_dir() -> Path:
    """Folder of the shipped data.

    ``$GEOMAP_DATA_DIR`` if set; else ``geomap/data`` inside an installed
    package (a wheel carries the shipped data there); else ``data/`` beside
    the package in a source checkout.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    env = os.environ.get("GEOMAP_DATA_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    installed = here / "data"
    return installed if installed.is_dir() else here.parent / "data"


def cache_dir() -> Path:
    """Folder for downloaded networks: ``$GEOMAP_CACHE_DIR``, else ``geomap`` in the user cache.

    The user cache is ``$XDG_CACHE_HOME`` or ``~/.cache``. Nothing is written
    there until a network is downloaded.
    """
    env = os.environ.get("GEOMAP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "geomap"


def data_path(*parts: str) -> Path:
    """Path of a file in the shipped data folder, e.g. ``data_path("boundaries", "x.geojson")``.

    Parameters
    ----------
    *parts
        The path's parts below :func:`data_dir`.

    Returns
    -------
    pathlib.Path
        The path (which may not exist).
    """
    return data_dir().joinpath(*parts)


# --------------------------------------------------------------------------- timetables (GTFS)

#: Public-transport journeys from timetables must arrive by this time (HH:MM),
#: on the chosen school day: 09:00 is a usual start of the school and college day.
PT_ARRIVE_BY: Final = "09:00"
#: Longest walk (metres walked) from an origin to its first stop, from the last
#: stop to the destination, or straight from origin to destination. 1,200 m is
#: about 15 minutes at ``WALK_SPEED_KMH``; walks are straight-line distance times
#: the walking detour factor (1.3), as no walking network is used.
PT_MAX_WALK_M: Final = 1200.0
#: Longest walk (metres walked) between two stops to change buses.
PT_TRANSFER_WALK_M: Final = 400.0
#: Least time (minutes) allowed to change buses, even at the same stop; a change
#: between stops takes the longer of this and the walk.
PT_MIN_TRANSFER_MINUTES: Final = 2.0
#: Longest public-transport journey (minutes, leaving home to arriving): well
#: over the DfE's 75-minute longest reasonable journey, so that analyses still see
#: journeys beyond their thresholds, while leaving out journeys that start at dawn.
PT_MAX_JOURNEY_MINUTES: Final = 120.0
#: A bus faster than this between consecutive stops (straight line, km/h) shows a
#: stop in the wrong place; no bus on the feed's roads averages more.
GTFS_MAX_SPEED_KMH: Final = 120.0
#: Stops further than this (km) from the feed's median stop position are reported;
#: they are only distrusted if their timetable speeds are impossible too, because
#: long-distance coaches do reach far-away stops (Heathrow, Norwich) on time.
GTFS_FAR_KM: Final = 50.0
#: Positions (lat, lon) that feeds use as placeholders for an unknown stop
#: location; a stop within about 100 m of one is not trusted. (49.766, -7.556), in
#: the sea south-west of Cornwall, appears in Bus Open Data Service feeds.
GTFS_PLACEHOLDER_POSITIONS: Final = ((49.766, -7.556), (0.0, 0.0))


# --------------------------------------------------------------------------- capacity, quality, choice

#: Floating catchments (minutes) for capacity-aware access (:mod:`geomap.access`),
#: by mode and kind: by default the longest reasonable journeys of :data:`THRESHOLDS`,
#: so that a score counts the places within a reasonable journey. A study area's
#: ``[catchments.MODE]`` or ``--catchment`` overrides them.
CATCHMENTS: Final[dict[str, dict[str, float]]] = {m: dict(v) for m, v in THRESHOLDS.items()}
CATCHMENT_SOURCES: Final = {
    mode: f"the longest reasonable journey ({text})" for mode, text in THRESHOLD_SOURCES.items()
}

#: Spare places (share of capacity) above which a school or planning area is
#: flagged as in surplus: the level at which the DfEE, following the Audit
#: Commission, asked councils to act (schools with 25% or more surplus places and
#: at least 30 of them; written answer, HC Deb 26 February 1998 vol 307 c364W).
SURPLUS_SHARE: Final = 0.25
#: ... and the least number of spare places for that flag.
SURPLUS_MIN_PLACES: Final = 30
SURPLUS_SOURCE: Final = (
    "DfEE/Audit Commission: 25% or more surplus places and at least 30 of them "
    "(HC Deb 26 Feb 1998 vol 307 c364W)"
)
#: Spare places (share of capacity) below which an area is flagged as tight: the
#: margin of about 5% commonly held necessary for parental choice and in-year moves
#: (National Audit Office, *Capital funding for new school places*, 2013).
OPERATING_MARGIN: Final = 0.05
OPERATING_MARGIN_SOURCE: Final = (
    "a margin of about 5% spare places for parental choice and in-year moves "
    "(National Audit Office, Capital funding for new school places, 2013)"
)

#: Ratings (case-insensitive) that count as good or better.
GOOD_RATINGS: Final = ("outstanding", "good")

#: 16–18 students below which a sixth form counts as small: the DfE's
#: "expectation of around 200 students or more" for new sixth forms (*Making
#: significant changes to an existing academy*, March 2016).
SMALL_SIXTH_FORM: Final = 200
SMALL_SIXTH_FORM_SOURCE: Final = (
    "DfE: an expectation of around 200 students or more for a sixth form "
    "(Making significant changes to an existing academy, 2016)"
)
#: Share of a provider's catchment also within reach of another provider above
#: which the two are listed as overlapping (a planning choice: "mostly covered").
COMPETITION_OVERLAP: Final = 0.5
#: Mode and minutes of the post-16 catchments compared for competition: 30
#: minutes by car, the middle band of the DfT Journey Time Statistics (15, 30, 45,
#: 60 minutes) for further education; a planning choice, configurable.
COMPETITION_MODE: Final = "car"
COMPETITION_MINUTES: Final = 30.0
COMPETITION_SOURCE: Final = (
    "30 minutes by car, the middle of the DfT Journey Time Statistics bands (15/30/45/60 min); "
    "a planning choice"
)

#: Journey-time bands of the DfT Journey Time Statistics (minutes), for the share
#: of children within each of them.
JTS_BANDS: Final = (15.0, 30.0, 45.0, 60.0)


# --- home-to-school transport eligibility

#: Statutory walking distances (miles) for home-to-school transport: a child of
#: compulsory school age is eligible when the nearest suitable school is beyond
#: 2 miles (under 8) or 3 miles (8 and over) by the shortest available walking
#: route (Education Act 1996 s.444(5) and s.508B, Schedule 35B; DfE, *Travel to
#: school for children of compulsory school age*, statutory guidance, 2024).
STATUTORY_WALK_MILES: Final = {"under_8": 2.0, "8_and_over": 3.0}
#: Age from which the longer statutory walking distance applies.
STATUTORY_AGE_SWITCH: Final = 8
#: Compulsory school age (years, inclusive) the duty covers (Education Act 1996 s.8, Schedule 35B).
COMPULSORY_AGES: Final = (5, 16)
#: Extended rights for low-income families (Schedule 35B paras 9-14; DfE 2024): aged
#: 8-11, the nearest suitable school beyond 2 miles; aged 11-16, one of the three
#: nearest suitable schools beyond 2 miles and within 6 miles; the nearest school
#: preferred on grounds of religion or belief beyond 2 miles and within 15 miles.
#: The 2 miles are walked; the 6 and 15 miles are measured by road.
EXTENDED_WALK_MILES: Final = 2.0
EXTENDED_ROAD_MILES: Final = 6.0
EXTENDED_FAITH_ROAD_MILES: Final = 15.0
ELIGIBILITY_SOURCE: Final = (
    "Education Act 1996 s.444(5), s.508B and Schedule 35B; DfE, Travel to school for children "
    "of compulsory school age (statutory guidance, 2024): 2 miles under 8, 3 miles from 8 by the "
    "shortest available walking route; low-income extended rights 2 miles (8-11), 2-6 miles "
    "(11-16, one of the three nearest), 2-15 miles (nearest school of the family's religion or "
    "belief), the 6 and 15 miles by road"
)
#: Road distance estimated from the straight line when no drive network is given:
#: straight-line distance times this factor (the usual rule of thumb, as for route stops).
ROAD_DETOUR: Final = 1.3
#: Share of an estimated (straight line x detour) walking or road distance by which the
#: real route may differ. Not measured: a route is never shorter than the straight
#: line (the walking estimate, x1.3, is then 23% too long), and rural routes are
#: often 1.5-1.6 times the straight line (the estimate some 15-25% too short). Cases
#: whose limit lies within this share of the estimate are flagged "check by route".
ESTIMATE_ERROR_SHARE: Final = 0.25
#: Annual cost (GBP) per pupil given mainstream home-to-school transport: £1,526 on
#: average in England in 2023-24 (National Audit Office, *Home to school transport*,
#: 31 October 2025). Configurable (``--cost-per-pupil``); a council's own figure is better.
TRANSPORT_COST_PER_PUPIL: Final = 1526.0
TRANSPORT_COST_SOURCE: Final = (
    "£1,526 a year per pupil, the average cost of mainstream home-to-school transport in "
    "England in 2023-24 (National Audit Office, Home to school transport, October 2025)"
)
