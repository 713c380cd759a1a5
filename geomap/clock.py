"""Times of day: the one type geomap keeps them in, and the one way it reads them.

A :class:`TimeOfDay` is a time on a *service day*, counted in seconds from that
day's midnight. As in GTFS timetables it may pass 24:00 (``25:30`` is half
past one the next morning, on the same service day), and it may be negative
(before midnight: a bus of the evening before that runs past midnight).

Every time geomap reads, whether a GTFS ``arrival_time``, a scenario's
``first_departure``, ``--arrive-by`` or a study area's ``arrive_by``, goes
through :func:`parse_time` (or :func:`parse_times` for a column of them), so
each is written the same way (``H:MM`` or ``HH:MM``, optionally ``:SS``) and a
bad one gets the same message, naming the file, row and column when the caller
knows them::

    >>> parse_time("8:30")
    TimeOfDay('08:30')
    >>> str(parse_time("25:10:30"))
    '25:10:30'
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from geomap._yaml import shown
from geomap.errors import InputError
from geomap.io import check_rows

#: Hours, minutes and optional seconds: ``8:30``, ``08:30``, ``25:10:30`` (hours may pass 24).
_PATTERN = re.compile(r"([0-9]{1,3}):([0-9]{2})(?::([0-9]{2}))?")


@dataclass(frozen=True, order=True)
class TimeOfDay:
    """A time on a service day: seconds after its midnight.

    Compare and sort them as times; build them with :meth:`parse`,
    :meth:`from_minutes` or from seconds (``TimeOfDay(8 * 3600)``).

    Parameters
    ----------
    seconds
        Seconds after midnight of the service day; past 86,400 after midnight,
        below 0 before it.

    Raises
    ------
    ValueError
        If ``seconds`` is not a finite number.

    Examples
    --------
    >>> TimeOfDay.parse("07:45") < TimeOfDay.parse("24:10")
    True
    >>> TimeOfDay.from_minutes(465).hhmmss()
    '07:45:00'
    """

    seconds: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.seconds):
            raise ValueError(f"a time of day needs a finite number of seconds, not {self.seconds}")

    @classmethod
    def parse(
        cls,
        value: object,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        with_seconds: bool = True,
        within_day: bool = False,
        error: type[InputError] = InputError,
    ) -> TimeOfDay:
        """Read a time of day; the same as :func:`parse_time`.

        Parameters
        ----------
        value
            ``HH:MM`` or ``HH:MM:SS`` text, a ``datetime.time`` or a :class:`TimeOfDay`.
        path, row, column
            Where the value was read, for the message.
        with_seconds
            Whether ``HH:MM:SS`` is accepted.
        within_day
            Whether hours must run from 00 to 23.
        error
            The error class to raise.

        Returns
        -------
        TimeOfDay
            The time.

        Raises
        ------
        InputError
            As :func:`parse_time`.
        """
        return parse_time(
            value,
            path=path,
            row=row,
            column=column,
            with_seconds=with_seconds,
            within_day=within_day,
            error=error,
        )

    @classmethod
    def from_minutes(cls, minutes: float) -> TimeOfDay:
        """The time ``minutes`` after midnight.

        Parameters
        ----------
        minutes
            Minutes after midnight of the service day.

        Returns
        -------
        TimeOfDay
            The time.
        """
        return cls(float(minutes) * 60.0)

    @property
    def minutes(self) -> float:
        """Minutes after midnight of the service day."""
        return self.seconds / 60.0

    def hhmm(self) -> str:
        """``HH:MM``, to the nearest minute (``-`` before midnight, hours past 24 after it)."""
        total = round(self.seconds / 60.0)
        sign = "-" if total < 0 else ""
        hours, minutes = divmod(abs(total), 60)
        return f"{sign}{hours:02d}:{minutes:02d}"

    def hhmmss(self) -> str:
        """``HH:MM:SS``, to the nearest second (``-`` before midnight, hours past 24 after it)."""
        total = round(self.seconds)
        sign = "-" if total < 0 else ""
        hours, rest = divmod(abs(total), 3600)
        return f"{sign}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"

    def __str__(self) -> str:
        """``HH:MM`` for a whole minute, else ``HH:MM:SS``."""
        return self.hhmm() if round(self.seconds) % 60 == 0 else self.hhmmss()

    def __repr__(self) -> str:
        return f"TimeOfDay('{self}')"


def _problem(
    text: str, *, with_seconds: bool, within_day: bool, example: str = "08:30"
) -> tuple[str, str] | None:
    """What is wrong with ``text`` as a time, and how to write it; ``None`` if nothing is."""
    shape = "HH:MM or HH:MM:SS" if with_seconds else "HH:MM"
    fix = f"Give {shape} on the 24-hour clock, e.g. {example}"
    found = shown(text) if text else "empty"
    match = _PATTERN.fullmatch(text)
    if (
        match is None
        or (match.group(3) is not None and not with_seconds)
        or int(match.group(2)) > 59
        or (match.group(3) is not None and int(match.group(3)) > 59)
    ):
        return f"{found} is not a time of day", fix
    if within_day and int(match.group(1)) > 23:
        return (
            f"{found} is not a time of day: hours run from 00 to 23",
            "Give a time from 00:00 to 23:59 (this is one day: times after midnight are not "
            "modelled)",
        )
    return None


def parse_time(
    value: object,
    *,
    path: str | Path | None = None,
    row: int | None = None,
    column: str | None = None,
    with_seconds: bool = True,
    within_day: bool = False,
    error: type[InputError] = InputError,
) -> TimeOfDay:
    """Read one time of day.

    Parameters
    ----------
    value
        Text ``H:MM`` or ``HH:MM``, with ``:SS`` when ``with_seconds`` (hours
        may pass 24 unless ``within_day``; spaces around are ignored), a
        ``datetime.time`` or a :class:`TimeOfDay` (returned as it is).
    path, row, column
        Where the value was read (a file, its row or line, the column or
        field), named in the message.
    with_seconds
        Whether ``HH:MM:SS`` is accepted.
    within_day
        Whether hours must run from 00 to 23.
    error
        The :class:`~geomap.errors.InputError` class to raise (a
        :class:`~geomap.errors.YamlError` for a YAML file, say).

    Returns
    -------
    TimeOfDay
        The time.

    Raises
    ------
    InputError
        Of class ``error``, naming ``path``, ``row`` and ``column``: the value
        is not a time (``'25:61' is not a time of day``), or its hours pass 23
        when ``within_day``.

    Examples
    --------
    >>> parse_time("9:05").minutes
    545.0
    >>> parse_time("25:61", column="arrive_by")
    Traceback (most recent call last):
    ...
    geomap.errors.InputError: column 'arrive_by': '25:61' is not a time of day. Give HH:MM or HH:MM:SS on the 24-hour clock, e.g. 08:30
    """
    if isinstance(value, TimeOfDay):
        return value
    if isinstance(value, dt.datetime):
        value = value.time()
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return TimeOfDay(float(seconds))
    if isinstance(value, dict | list | tuple | set):
        raise error(
            f"a time must be one value such as 08:30, not {type(value).__name__}",
            path=path,
            row=row,
            column=column,
            fix="Give HH:MM on the 24-hour clock, e.g. 08:30",
        )
    text = str(value).strip()
    problem = _problem(text, with_seconds=with_seconds, within_day=within_day)
    if problem is not None:
        message, fix = problem
        raise error(message, path=path, row=row, column=column, fix=fix)
    match = _PATTERN.fullmatch(text)
    assert match is not None  # checked by _problem
    hours, minutes, seconds_text = match.groups()
    return TimeOfDay(float(int(hours) * 3600 + int(minutes) * 60 + int(seconds_text or 0)))


def parse_times(
    values: pd.Series,
    *,
    path: str | Path | None = None,
    column: str | None = None,
    fix: str = "Give HH:MM:SS, with hours past 24 for times after midnight (e.g. 25:10:00)",
    error: type[InputError] = InputError,
) -> npt.NDArray[np.float64]:
    """Read a column of times of day (``HH:MM:SS`` or ``HH:MM``), as :func:`parse_time` does.

    Parameters
    ----------
    values
        The column's text, as read; blanks are allowed.
    path, column
        Where the column was read, for the message; rows are counted as
        :func:`geomap.io.check_rows` does.
    fix
        How to write a time, for the message.
    error
        The :class:`~geomap.errors.InputError` class to raise.

    Returns
    -------
    numpy.ndarray
        Seconds after midnight of the service day, NaN where blank.

    Raises
    ------
    InputError
        Of class ``error``, for the first value that is not a time, naming the
        file, row and column.
    """
    text = values.astype("string").str.strip()
    parts = text.str.extract("^" + _PATTERN.pattern + "$")
    hours = pd.to_numeric(parts[0], errors="coerce")
    minutes = pd.to_numeric(parts[1], errors="coerce")
    seconds = pd.to_numeric(parts[2], errors="coerce").fillna(0)
    bad = text.notna() & (hours.isna() | (minutes > 59) | (seconds > 59))

    def message(pos: int) -> str:
        found = _problem(str(text.iloc[pos]), with_seconds=True, within_day=False)
        return found[0] if found else f"{shown(str(text.iloc[pos]))} is not a time of day"

    check_rows(
        values,
        bad,
        message,
        column=column,
        fix=fix,
        error=error,
        path=path,
    )
    return (hours * 3600 + minutes * 60 + seconds).to_numpy(dtype=float, na_value=np.nan)
