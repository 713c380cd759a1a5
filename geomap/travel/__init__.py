"""Travel times from origins to destinations, from several sources behind one interface.

Every source is a :class:`TravelTimes` and returns long-form tables
``from_id, to_id, minutes, method``; ``minutes`` is NaN where there is no
journey. Sources:

* :mod:`geomap.travel.estimate`: calibrated straight-line estimates (car, walk, bike);
* :mod:`geomap.travel.network`: shortest paths over OpenStreetMap networks;
* :mod:`geomap.travel.compact`: networks stored as the arrays the engine needs
  (``.network.npz``), quick to load; GraphML compiled once and cached;
* :mod:`geomap.travel.tables`: zone-to-site tables from r5r, OpenTripPlanner or DfT;
* :mod:`geomap.travel.gtfs`: timetable routing on GTFS feeds.

:func:`travel_sources` picks, per mode, a network given or (when allowed) cached,
else the estimate. Every source says what it can do (:attr:`TravelTimes.draws_isochrones`,
:attr:`TravelTimes.takes_trips`, :meth:`TravelTimes.extent_lonlat`), and every table
it returns carries the caption of that result in ``attrs["description"]``.
"""

from __future__ import annotations

from geomap.travel.base import (
    FastestOf,
    Remembered,
    ScenarioTrips,
    TravelTimes,
    check_points,
    describe_result,
    description_of,
    fastest,
    nearest_from_matrix,
)
from geomap.travel.compact import (
    CompactNetwork,
    compact_from_graph,
    load_network,
    read_compact,
    write_compact,
)
from geomap.travel.estimate import (
    CalibrationError,
    StraightLineEstimate,
    calibrate_estimate,
    car_calibration_note,
    default_estimate,
    estimate_from_pairs,
    read_calibration_pairs,
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
from geomap.travel.tables import TableTravelTimes, read_sites, read_time_table

__all__ = [
    "CalibrationError",
    "CompactNetwork",
    "FastestOf",
    "NetworkTravelTimes",
    "Remembered",
    "ScenarioTrips",
    "StraightLineEstimate",
    "TableTravelTimes",
    "Timetable",
    "TimetableTravelTimes",
    "TravelTimes",
    "add_trips",
    "calibrate_estimate",
    "car_calibration_note",
    "check_points",
    "check_stop_positions",
    "compact_from_graph",
    "compile_network",
    "default_estimate",
    "describe_result",
    "description_of",
    "estimate_from_pairs",
    "fastest",
    "isochrones",
    "load_gtfs",
    "load_network",
    "nearest_from_matrix",
    "read_calibration_pairs",
    "read_compact",
    "read_sites",
    "read_time_table",
    "travel_sources",
    "write_compact",
]
