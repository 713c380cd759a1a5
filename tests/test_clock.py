"""Times of day: one type, one parser, the same message wherever a time is read."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from geomap.clock import TimeOfDay, parse_time, parse_times
from geomap.errors import InputError, TimetableError, YamlError


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("08:30", 8 * 3600 + 30 * 60),
        ("8:30", 8 * 3600 + 30 * 60),
        ("  08:30 ", 8 * 3600 + 30 * 60),
        ("00:00", 0),
        ("23:59", 23 * 3600 + 59 * 60),
        ("08:30:15", 8 * 3600 + 30 * 60 + 15),
        ("25:10:30", 25 * 3600 + 10 * 60 + 30),  # GTFS: 01:10:30 the next morning
        ("100:00:00", 100 * 3600),
        (dt.time(8, 30, 15), 8 * 3600 + 30 * 60 + 15),
        (dt.datetime(2024, 1, 17, 8, 30), 8 * 3600 + 30 * 60),
        (TimeOfDay(123.0), 123),
    ],
)
def test_times_read(value, seconds):
    assert parse_time(value) == TimeOfDay(float(seconds))
    assert TimeOfDay.parse(value).seconds == seconds


@pytest.mark.parametrize(
    ("value", "options", "error", "words"),
    [
        ("25:61", {}, InputError, "'25:61' is not a time of day"),
        ("08:60", {}, InputError, "'08:60' is not a time of day"),
        ("08:30:60", {}, InputError, "'08:30:60' is not a time of day"),
        ("8h30", {}, InputError, "'8h30' is not a time of day"),
        ("0830", {}, InputError, "'0830' is not a time of day"),
        ("540", {}, InputError, "'540' is not a time of day"),
        ("8:3", {}, InputError, "'8:3' is not a time of day"),
        ("", {}, InputError, "empty is not a time of day"),
        ("-01:00", {}, InputError, "'-01:00' is not a time of day"),
        (["08:30"], {}, InputError, "a time must be one value"),
        ("07:00:00", {"with_seconds": False}, InputError, "'07:00:00' is not a time of day"),
        ("24:00", {"within_day": True}, InputError, "hours run from 00 to 23"),
        ("25:30", {"within_day": True, "error": YamlError}, YamlError, "hours run from 00 to 23"),
        ("nine", {"error": TimetableError}, TimetableError, "'nine' is not a time of day"),
    ],
)
def test_bad_times_name_the_place(value, options, error, words):
    with pytest.raises(InputError) as info:
        parse_time(value, path="plan.yml", row=6, column="first_departure", **options)
    err = info.value
    assert type(err) is error
    assert (err.path, err.row, err.column) == ("plan.yml", 6, "first_departure")
    assert str(err).startswith("plan.yml, row 6, column 'first_departure': ")
    assert words in str(err)
    assert err.fix is not None and ("HH:MM" in err.fix or "00:00 to 23:59" in err.fix)


def test_the_message_says_how_to_write_a_time():
    with pytest.raises(InputError) as info:
        parse_time("25:61", column="--arrive-by", with_seconds=False)
    assert str(info.value) == (
        "column '--arrive-by': '25:61' is not a time of day. "
        "Give HH:MM on the 24-hour clock, e.g. 08:30"
    )


def test_control_characters_are_shown_not_printed():
    with pytest.raises(InputError) as info:
        parse_time("08:30\x1b[2J")
    assert "\x1b" not in str(info.value) and "<U+001B>" in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "text", "hhmm", "hhmmss"),
    [
        (8 * 3600 + 30 * 60, "08:30", "08:30", "08:30:00"),
        (8 * 3600 + 30 * 60 + 15, "08:30:15", "08:30", "08:30:15"),
        (8 * 3600 + 30 * 60 + 45, "08:30:45", "08:31", "08:30:45"),
        (25 * 3600 + 10 * 60, "25:10", "25:10", "25:10:00"),
        (-10 * 60, "-00:10", "-00:10", "-00:10:00"),  # the evening before, on a GTFS day
        (0, "00:00", "00:00", "00:00:00"),
    ],
)
def test_times_written(seconds, text, hhmm, hhmmss):
    time = TimeOfDay(float(seconds))
    assert (str(time), time.hhmm(), time.hhmmss()) == (text, hhmm, hhmmss)
    assert parse_time(hhmmss.lstrip("-")).seconds == abs(seconds)


def test_times_compare_and_convert():
    early, late = TimeOfDay.parse("07:45"), TimeOfDay.parse("24:10")
    assert early < late and sorted([late, early]) == [early, late]
    assert early == TimeOfDay.from_minutes(465) and early.minutes == 465.0
    assert TimeOfDay.from_minutes(452.5).seconds == 27150.0
    assert TimeOfDay.from_minutes(452.6).hhmm() == "07:33"
    assert repr(early) == "TimeOfDay('07:45')"
    assert len({early, TimeOfDay.from_minutes(465)}) == 1
    with pytest.raises(ValueError, match="finite"):
        TimeOfDay(math.nan)


def test_a_column_of_times():
    values = pd.Series(["07:00:00", None, "25:10:30", " 8:05:00", "08:05"])
    seconds = parse_times(values, path="stop_times.txt", column="arrival_time")
    assert np.isnan(seconds[1])
    assert seconds[[0, 2, 3, 4]].tolist() == [25200.0, 90630.0, 29100.0, 29100.0]


@pytest.mark.parametrize(
    ("bad", "row", "words"),
    [
        ("7h40", 3, "'7h40' is not a time of day"),
        ("07:60:00", 3, "'07:60:00' is not a time of day"),
        ("07:40:61", 3, "'07:40:61' is not a time of day"),
    ],
)
def test_a_column_of_times_names_the_bad_row(bad, row, words):
    values = pd.Series(["07:00:00", bad, "nonsense"])
    with pytest.raises(TimetableError) as info:
        parse_times(values, path="stop_times.txt", column="arrival_time", error=TimetableError)
    err = info.value
    assert (err.path, err.row, err.column) == ("stop_times.txt", row, "arrival_time")
    assert words in str(err)
