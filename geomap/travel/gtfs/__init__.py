"""Public-transport travel times from bus timetables (GTFS), for a school-day morning.

* :mod:`~geomap.travel.gtfs.feed` reads a feed and checks it: :func:`load_gtfs`
  keeps one day's trips in a :class:`Timetable`, and :func:`check_stop_positions`
  decides which stops' positions can be trusted;
* :mod:`~geomap.travel.gtfs.edit` changes a timetable: :func:`add_trips` adds a
  new route's trips;
* :mod:`~geomap.travel.gtfs.engine` plans journeys: a reverse profile
  connection scan, for the latest departure arriving by a deadline;
* :mod:`~geomap.travel.gtfs.source` puts them behind the travel-time interface:
  :class:`TimetableTravelTimes`, which also takes scenario trips
  (:meth:`TimetableTravelTimes.with_trips`).

Examples
--------
>>> from geomap.travel.gtfs import TimetableTravelTimes, load_gtfs
>>> timetable = load_gtfs("chester_gtfs.zip", date="2023-08-16")  # doctest: +SKIP
>>> TimetableTravelTimes(timetable, arrive_by="09:00").journeys(towns, colleges)  # doctest: +SKIP
"""

from __future__ import annotations

from geomap.travel.gtfs.edit import add_trips
from geomap.travel.gtfs.feed import REQUIRED_COLUMNS, Timetable, check_stop_positions, load_gtfs
from geomap.travel.gtfs.source import JOURNEY_COLUMNS, LEG_COLUMNS, TimetableTravelTimes

__all__ = [
    "JOURNEY_COLUMNS",
    "LEG_COLUMNS",
    "REQUIRED_COLUMNS",
    "Timetable",
    "TimetableTravelTimes",
    "add_trips",
    "check_stop_positions",
    "load_gtfs",
]
