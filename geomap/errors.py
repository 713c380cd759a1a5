"""Errors raised by geomap.

Every error geomap raises on bad input derives from :class:`GeomapError`, and
the specific ones also derive from the matching built-in exception, so callers
can catch either ``GeomapError`` or, say, ``ValueError``. Messages say what was
wrong, where (file, row, column) and how to fix it; the CLI prints them as they
are, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class GeomapError(Exception):
    """Root of every error geomap raises on purpose."""


class InputError(ValueError, GeomapError):
    """An input file or table is wrong in a way the user can fix."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column
        self.fix = fix
        where = []
        if self.path is not None:
            where.append(self.path)
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        text = f"{', '.join(where)}: {message}" if where else message
        if fix:
            text = f"{text}. {fix}"
        super().__init__(text)


class EmptyInputError(InputError):
    """A file or table has no rows."""


class MissingColumnError(InputError, KeyError):
    """A required column is missing."""

    def __str__(self) -> str:
        # KeyError would quote the message; keep it readable
        return str(self.args[0])


class CoordinateError(InputError):
    """A coordinate is not a number, is outside Great Britain or is in the wrong columns."""


class PostcodeError(InputError, LookupError):
    """A postcode is not in the lookup."""


class DuplicateIdError(InputError):
    """Two rows share an id."""


class UnknownKindError(InputError):
    """A provider kind is not one geomap knows."""


class GeometryError(InputError):
    """A polygon is invalid or empty."""


class CRSError(InputError):
    """A layer has no coordinate reference system, or two layers disagree."""


class TravelTimeError(InputError):
    """Travel times cannot be computed from the given inputs."""


class OutputError(OSError, GeomapError):
    """An output cannot be written."""


class NetworkFileError(InputError):
    """A file cannot be read as a road, walking or cycling network."""


class EmptyNetworkError(NetworkFileError):
    """A network has no usable nodes or edges (for the mode asked for)."""


class NetworkDownloadError(ConnectionError, GeomapError):
    """A network could not be downloaded from OpenStreetMap (Overpass or Nominatim).

    ``url`` is the server asked and ``status`` the HTTP status code, when there was one.
    Nothing is cached when a download fails.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


class NetworkTimeoutError(NetworkDownloadError, TimeoutError):
    """The server did not answer in time."""


class TimetableError(InputError):
    """A GTFS timetable lacks a file, has a value geomap cannot read, or runs nothing on the date."""


class UnsupportedError(InputError, NotImplementedError):
    """A travel-time source was asked for something it cannot do (isochrones from a table...)."""


class MissingCapacityError(InputError):
    """No provider of a kind gives the places (capacity, pupils, students) an analysis needs."""


class StudyAreaError(InputError):
    """A study-area file is malformed, or names a file or column that is not there."""


class ArchiveError(InputError):
    """A zip archive is corrupt, encrypted, uses an unsupported compression, or expands too far."""


class YamlError(InputError):
    """A YAML file is not valid, uses a construct geomap refuses, or holds a value of the wrong type."""


# --------------------------------------------------------------------------- warnings


class GeomapWarning(UserWarning):
    """Root of every warning geomap gives: input it accepted but that a planner should look at.

    Filter them all with ``warnings.simplefilter("ignore", GeomapWarning)``, or
    one kind with its own class.
    """


class InputWarning(GeomapWarning):
    """An input was read, but some rows or values were odd (counted in the message)."""


class TravelWarning(GeomapWarning):
    """Journeys computed only approximately or not at all.

    Points far from the network, origins with no journey, stops with impossible positions.
    """


class GeometryWarning(InputWarning):
    """Polygons were repaired, overlap, or lie outside the study area."""


class OutputWarning(GeomapWarning):
    """Something left over from an earlier run could not be tidied away."""
