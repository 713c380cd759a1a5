"""Travel times from origins to destinations, from several sources behind one interface.

Every source is a :class:`TravelTimes` and returns long-form tables
``from_id, to_id, minutes, method``; ``minutes`` is NaN where there is no
journey. Sources:

* :mod:`geomap.travel.estimate`: calibrated straight-line estimates (car, walk, bike);
* :mod:`geomap.travel.network`: shortest paths over OpenStreetMap networks;
* :mod:`geomap.travel.tables`: zone-to-site tables from r5r, OpenTripPlanner or DfT;
* :mod:`geomap.travel.gtfs`: timetable routing on GTFS feeds.

:func:`travel_sources` picks, per mode, a network given or cached, else the estimate.
"""

from __future__ import annotations

from geomap.travel.base import FastestOf, TravelTimes, check_points, fastest, nearest_from_matrix
from geomap.travel.estimate import (
    CalibrationError,
    StraightLineEstimate,
    calibrate_estimate,
    car_calibration_pairs,
    default_estimate,
)
from geomap.travel.gtfs import (
    Timetable,
    TimetableTravelTimes,
    add_trips,
    check_stop_positions,
    load_gtfs,
)
from geomap.travel.network import NetworkTravelTimes, compile_network, isochrones
from geomap.travel.sources import travel_sources
from geomap.travel.tables import TableTravelTimes, read_sites, read_time_table, shipped_pt_table

__all__ = [
    "CalibrationError",
    "FastestOf",
    "NetworkTravelTimes",
    "StraightLineEstimate",
    "TableTravelTimes",
    "Timetable",
    "TimetableTravelTimes",
    "TravelTimes",
    "add_trips",
    "calibrate_estimate",
    "car_calibration_pairs",
    "check_points",
    "check_stop_positions",
    "compile_network",
    "default_estimate",
    "fastest",
    "isochrones",
    "load_gtfs",
    "nearest_from_matrix",
    "read_sites",
    "read_time_table",
    "shipped_pt_table",
    "travel_sources",
]
