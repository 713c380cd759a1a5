"""Travel times from origins to destinations, from several sources behind one interface.

Every source is a :class:`TravelTimes` and returns long-form tables
``from_id, to_id, minutes, method``; ``minutes`` is NaN where there is no
journey. Sources:

* :mod:`geomap.travel.estimate`: calibrated straight-line estimates (car, walk, bike).
"""

from __future__ import annotations

from geomap.travel.base import TravelTimes, check_points
from geomap.travel.estimate import (
    CalibrationError,
    StraightLineEstimate,
    calibrate_estimate,
    car_calibration_pairs,
    default_estimate,
)

__all__ = [
    "CalibrationError",
    "StraightLineEstimate",
    "TravelTimes",
    "calibrate_estimate",
    "car_calibration_pairs",
    "check_points",
    "default_estimate",
]
