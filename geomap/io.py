"""Reading messy real-world files and writing outputs safely.

Readers return tables that remember where they came from
(``table.attrs["geomap_source"]``) so later validation can name the file and
the row. Row numbers follow what a user sees: in a CSV the header is row 1 and
the first record row 2, as in a spreadsheet; in a GeoJSON or GeoPackage the
first feature is row 1.

Files come from outside and may be hostile. :func:`read_table` reads what
councils have: CSV and other text tables in UTF-8, UTF-16 or Windows-1252,
separated by commas, semicolons, tabs or pipes, and Excel workbooks; it
refuses, with one message naming the file, row and column, anything it cannot
read exactly (see :mod:`geomap._reading`). Zip archives (workbooks, GTFS
feeds) are checked with :func:`check_zip` before anything in them is read.

Writers never leave a half-written file in place of a good one: each file is
written to a temporary name beside its target and renamed over it only when
complete. CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import glob
import json
import logging
import lzma
import os
import re
import shutil
import stat
import sys
import tempfile
import uuid
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import shapely.errors

from geomap import _reading
from geomap.errors import (
    ArchiveError,
    EmptyInputError,
    InputError,
    InputWarning,
    MissingColumnError,
    OutputError,
    OutputWarning,
)

logger = logging.getLogger(__name__)

#: File suffixes read as vector layers rather than tables.
GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml")
#: Excel workbooks, read with openpyxl (see :mod:`geomap._reading`).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
#: Spreadsheet files geomap does not read, and what they are.
OTHER_SPREADSHEETS = {
    ".xls": "an old binary Excel workbook (.xls)",
    ".xlsb": "a binary Excel workbook (.xlsb)",
    ".ods": "an OpenDocument spreadsheet (.ods)",
    ".numbers": "an Apple Numbers spreadsheet",
}

# --------------------------------------------------------------------------- archives

#: Largest total size (bytes) the parts of an Excel workbook may expand to: 1 GB,
#: several times what a full sheet of Excel's million rows takes. Raise it with the
#: environment variable ``GEOMAP_MAX_WORKBOOK_BYTES`` (bytes, or e.g. ``2GB``).
MAX_WORKBOOK_BYTES = 1_000_000_000
#: Largest total size (bytes) a GTFS zip may expand to: 20 GB, room for a national
#: England feed (several GB). Raise it with the environment variable
#: ``GEOMAP_MAX_GTFS_BYTES`` (bytes, or e.g. ``40GB``).
MAX_GTFS_BYTES = 20_000_000_000
#: A zip member that expands more than this many times its compressed size is
#: refused as a zip bomb (Deflate cannot pass about 1,030:1; real tables stay
#: under 100:1) ...
ZIP_MAX_RATIO = 1000.0
#: ... when it expands to more than this many bytes (tiny members of repeated
#: characters may compress that well).
ZIP_RATIO_MIN_BYTES = 4_000_000
#: Zip compression methods geomap reads (those of Python's zipfile).
ZIP_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "Deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "LZMA",
}
_OTHER_ZIP_METHODS = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    93: "Zstandard",
    95: "xz",
    98: "PPMd",
    99: "AES encryption",
}
#: What reading a damaged zip member raises: a bad CRC, a broken compressed stream,
#: a member shorter than its header says.
ZIP_READ_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    NotImplementedError,
)


def archive_limit(setting: str, default: int) -> int:
    """A size limit in bytes: the environment variable ``setting`` if set, else ``default``.

    The variable holds bytes (``40000000000``) or a size with a unit
    (``40GB``, ``500 MB``; decimal units).

    Parameters
    ----------
    setting
        Name of the environment variable (``GEOMAP_MAX_ZIP_BYTES``, say).
    default
        The limit when the variable is not set or blank.

    Returns
    -------
    int
        The limit in bytes.

    Raises
    ------
    InputError
        If the variable is set but is not a size.
    """
    value = os.environ.get(setting, "").strip()
    if not value:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?", value)
    if match is None:
        raise InputError(
            f"the environment variable {setting}='{value}' is not a size",
            fix=f"Give a number of bytes or a size such as 40GB, or unset {setting}",
        )
    scale = 1000 ** (" kmgt".index(match[2].lower() or " "))
    return int(float(match[1]) * scale)


def _size(n: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{int(n)} bytes"


def check_zip(
    path: str | Path,
    *,
    what: str,
    max_bytes: int,
    setting: str | None = None,
    remake: str | None = None,
) -> list[zipfile.ZipInfo]:
    """Check a zip archive (a GTFS feed, an Excel workbook) before anything in it is read.

    Only the archive's directory is read. Python's zipfile never returns more
    than a member's declared size (a member whose data runs on fails its CRC
    check when read), so refusing archives that declare too much keeps memory
    and time bounded; what a member holds is checked as it is read (see
    :data:`ZIP_READ_ERRORS`).

    Parameters
    ----------
    path
        The archive.
    what
        What it is meant to be, for messages ("GTFS feed").
    max_bytes
        Largest total size its members may expand to.
    setting
        The environment variable that raises ``max_bytes``, named in the message.
    remake
        How to make a sound copy of an encrypted or oddly compressed archive
        (by default: zip it again with Deflate compression).

    Returns
    -------
    list of zipfile.ZipInfo
        The archive's members.

    Raises
    ------
    ArchiveError
        If the archive is not a readable zip, or a member is encrypted, uses a
        compression method Python cannot read, has a path leading outside the
        archive (``..`` or an absolute path), or expands more than
        :data:`ZIP_MAX_RATIO` times (a zip bomb); or if the members together
        expand to more than ``max_bytes``. The message names the member.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except PermissionError as err:
        raise InputError(
            f"cannot open this {what}: permission denied",
            path=path,
            fix="Check that your account may read the file, or copy it somewhere it can",
        ) from err
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ArchiveError(
            f"this {what} is not a readable zip archive ({err})",
            path=path,
            fix="It may be damaged or incomplete: download or copy it again",
        ) from err
    total = 0
    for info in members:
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
            raise ArchiveError(
                f"member '{name}' of this {what} has a path leading outside the archive, "
                "as archives built to overwrite other files do; geomap refuses it",
                path=path,
                fix="Use the file as published by its source",
            )
        if info.flag_bits & 0x1:
            raise ArchiveError(
                f"member '{name}' of this {what} is encrypted (password-protected)",
                path=path,
                fix=remake or "Give a copy without a password",
            )
        if info.compress_type not in ZIP_METHODS:
            method = _OTHER_ZIP_METHODS.get(info.compress_type, "unknown")
            raise ArchiveError(
                f"member '{name}' of this {what} uses compression method "
                f"{info.compress_type} ({method}), which geomap cannot read",
                path=path,
                fix=remake
                or "Zip it again with ordinary Deflate compression (the usual default; in "
                "7-Zip choose Deflate, not Deflate64)",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_BYTES and ratio > ZIP_MAX_RATIO:
            raise ArchiveError(
                f"member '{name}' of this {what} would expand {ratio:,.0f} times, from "
                f"{_size(info.compress_size)} to {_size(info.file_size)}, as only zip bombs do "
                f"(geomap's limit is {ZIP_MAX_RATIO:,.0f} times)",
                path=path,
                fix="Do not open it; ask the sender for a genuine copy",
            )
        total += info.file_size
    if total > max_bytes:
        if setting:
            fix = (
                f"If the file is genuine, raise the limit with the environment variable "
                f"{setting} (for example {setting}={_round_up_gb(total)}GB)"
            )
        else:
            fix = "Give a smaller file"
        raise ArchiveError(
            f"this {what} would expand to {_size(total)} ({len(members)} file(s)), more than "
            f"geomap's limit of {_size(max_bytes)}",
            path=path,
            fix=fix,
        )
    return members


def _round_up_gb(n: int) -> int:
    return max(1, -(-n // 1_000_000_000) + 1)


# --------------------------------------------------------------------------- reading


def read_table(
    path: str | Path, *, what: str = "table", sheet: str | None = None
) -> pd.DataFrame | gpd.GeoDataFrame:
    """Read a text table or workbook as text columns, or a vector file as a GeoDataFrame.

    Text tables may be UTF-8 (with or without a byte-order mark), UTF-16 (Excel's
    "Unicode text") or Windows-1252 (Excel's "CSV" on Windows), separated by
    commas, semicolons, tabs or pipes; decimal commas are converted in files not
    separated by commas. See :mod:`geomap._reading` for how each is decided.

    Parameters
    ----------
    path
        A text table (``.csv``, ``.txt``, ``.tsv`` ...), an Excel workbook
        (``.xlsx``, ``.xlsm``), or a vector file GDAL reads (GeoJSON,
        GeoPackage, shapefile, FlatGeobuf).
    what
        What the file is meant to hold, for error messages ("provider list").
    sheet
        The worksheet of a workbook, or the layer of a GeoPackage, to read. By
        default the first visible worksheet, or the only layer.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Table and workbook columns are read as strings (blank cells as missing)
        so that every value can be validated with its row and column. ``attrs``
        carries ``geomap_source`` (the path), ``geomap_first_row`` (the row
        number of the first record) and, when blank rows were skipped,
        ``geomap_rows`` (the row number of every record); for text tables
        ``geomap_encoding`` and ``geomap_separator`` (and
        ``geomap_decimal_comma``, the columns converted), for workbooks
        ``geomap_sheet``.

    Raises
    ------
    InputError
        Naming the file (and the row and column where there is one) and what to
        do, if the file is missing, unreadable, empty, not a table, in an
        encoding or layout geomap cannot read, or has a header that does not
        fit its rows. :class:`~geomap.errors.ArchiveError` for a workbook that is
        a damaged or hostile zip archive.

    Warns
    -----
    InputWarning
        When cells held line breaks (read as spaces), when GDAL remarked on a
        vector file, or when a text table looks decoded twice or has columns
        whose commas could be decimal commas or thousands separators (see
        :func:`geomap._reading.read_text_table`).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file not found", path=path, fix="Check the path and file name")
    if path.is_dir():
        raise InputError(f"expected a {what} file but this is a folder", path=path)
    if not path.is_file():
        raise InputError(
            f"expected a {what} file but this is not a regular file (a device, pipe or socket)",
            path=path,
        )
    suffix = path.suffix.lower()
    if suffix in OTHER_SPREADSHEETS:
        raise InputError(
            f"this is {OTHER_SPREADSHEETS[suffix]}, which geomap does not read",
            path=path,
            fix="Open it and save it as an Excel workbook (.xlsx) or as 'CSV UTF-8 (Comma "
            "delimited) (*.csv)'",
        )
    head = _head(path, what=what)
    table: pd.DataFrame | gpd.GeoDataFrame
    if suffix in GEO_SUFFIXES:
        table = _read_vector(path, what=what, layer=sheet)
        table.attrs["geomap_first_row"] = 1
    elif suffix in WORKBOOK_SUFFIXES:
        table = _read_workbook(path, head, what=what, sheet=sheet)
    else:
        if sheet is not None:
            raise InputError(
                f"a sheet ('{sheet}') was named, but this {what} is a text file, which has none",
                path=path,
                fix="Leave out --sheet, or give the workbook (.xlsx) itself",
            )
        kind = _reading.binary_kind(head, path)
        if kind is not None:
            raise InputError(
                f"this is {kind}, not a text table",
                path=path,
                fix=_BINARY_FIXES.get(
                    kind, f"Give the {what} as CSV (comma-separated text) or an .xlsx workbook"
                ),
            )
        try:
            table = _reading.read_text_table(path, head, what=what)
        except OSError as err:
            raise InputError(f"cannot read this {what} ({err.strerror or err})", path=path) from err
        except (UnicodeError, pd.errors.ParserError) as err:
            raise InputError(
                f"cannot read this {what} as a text table ({err})",
                path=path,
                fix=_reading.RESAVE,
            ) from err
    table = _plain_text_cells(table, path=path, what=what)
    if len(table) == 0:
        sheet_name = table.attrs.get("geomap_sheet")
        raise EmptyInputError(
            f"the {what} file has a header but no rows"
            if sheet_name is None
            else f"sheet '{sheet_name}' of this workbook has a header but no rows",
            path=path,
            fix="Add at least one row" if sheet_name is None else _other_sheets(table),
        )
    table.attrs["geomap_source"] = str(path)
    return table


#: Characters no name, id or code holds: C0 and C1 controls (but tab and line
#: breaks) and the bidirectional overrides that can make text display reversed.
_HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: Line breaks inside a cell (Alt+Enter in Excel): read as one space.
_BREAKS = re.compile(r"[\r\n]+")


def _plain_text_cells(
    table: pd.DataFrame | gpd.GeoDataFrame, *, path: Path, what: str
) -> pd.DataFrame | gpd.GeoDataFrame:
    """Refuse cells with hidden control characters; read a line break in a cell as a space.

    A value is one line of visible text: a name with a carriage return would
    split a row in some programs, and a bidirectional override can make a name
    display as something else.
    """
    geometry = table.geometry.name if isinstance(table, gpd.GeoDataFrame) else None
    broken = 0
    for column in table.columns:
        if column == geometry:
            continue
        series = table[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        if _all_plain(series):
            continue
        text = series.astype("string")
        hidden = text.str.contains(_HIDDEN).fillna(False).to_numpy(dtype=bool)
        if hidden.any():
            pos = int(np.flatnonzero(hidden)[0])
            char = _HIDDEN.search(str(text.iloc[pos]))
            code = f"U+{ord(char.group()):04X}" if char else "a control character"
            table.attrs.setdefault("geomap_source", str(path))
            said = f"the value holds {code}, a hidden control character"

            def message(_pos: int, said: str = said) -> str:
                return said

            check_rows(
                table,
                hidden,
                message,
                column=str(column),
                fix="Remove it (it cannot be seen, and can make text display as something "
                "else), then save the file again",
                path=path,
            )
        breaks = text.str.contains(_BREAKS).fillna(False).to_numpy(dtype=bool)
        if breaks.any():
            broken += int(breaks.sum())
            table[column] = series.where(
                ~breaks, text.str.replace(_BREAKS, " ", regex=True).str.strip()
            )
    if broken:
        warnings.warn(
            f"{path}: {broken} value(s) of this {what} held line breaks, read as spaces",
            InputWarning,
            stacklevel=3,
        )
    return table


def _all_plain(series: pd.Series) -> bool:
    """Whether no value of ``series`` holds a hidden character or a line break.

    One search through the column's values joined by tabs (which both
    patterns leave alone), rather than a search per value: most columns are
    plain, and only those that are not are looked at value by value.
    """
    # blanks as empty text; the values as Python strings in one conversion
    values = series.to_numpy(dtype=object, na_value="")
    if not isinstance(series.dtype, pd.StringDtype) and not all(isinstance(v, str) for v in values):
        return False  # other objects: looked at value by value, as text
    joined = "\t".join(values)
    return _HIDDEN.search(joined) is None and _BREAKS.search(joined) is None


def _other_sheets(table: pd.DataFrame) -> str:
    """How to choose another worksheet of the workbook ``table`` was read from."""
    names = table.attrs.get("geomap_sheets") or []
    others = [n for n in names if n != table.attrs.get("geomap_sheet")]
    if not others:
        return "Add the rows to this sheet"
    listed = ", ".join(f"'{n}'" for n in others)
    return f"Name the sheet that holds them with --sheet (its other sheets: {listed})"


_BINARY_FIXES = {
    "an Excel workbook": "Give it the .xlsx suffix it should have, or save it as 'CSV UTF-8'",
    "an OpenDocument spreadsheet (.ods)": "Save it as an Excel workbook (.xlsx) or as 'CSV UTF-8'",
    "an old Excel workbook (.xls) or another Office file": (
        "Open it in Excel and save it as an Excel workbook (.xlsx) or as 'CSV UTF-8'"
    ),
    "an SQLite database (a GeoPackage?)": "If it is a GeoPackage, give it the .gpkg suffix",
}


def _head(path: Path, *, what: str) -> bytes:
    """The first bytes of a file; an error if it cannot be read or is empty."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_reading.HEAD_BYTES)
    except PermissionError as err:
        raise InputError(
            f"cannot open this {what}: permission denied",
            path=path,
            fix="Check that your account may read the file (or that another program has not "
            "locked it), or copy it somewhere it can",
        ) from err
    except OSError as err:
        raise InputError(f"cannot open this {what} ({err.strerror or err})", path=path) from err
    if not head:
        raise EmptyInputError(
            f"the {what} file is empty", path=path, fix="Give a file with a header and rows"
        )
    return head


def _read_vector(path: Path, *, what: str, layer: str | None) -> gpd.GeoDataFrame:
    vector_errors = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError)
    fix = "Give a valid GeoJSON, GeoPackage or shapefile, or a CSV"
    try:
        layers = [(str(n), g) for n, g in pyogrio.list_layers(path)]
    except vector_errors as err:
        raise InputError(
            f"cannot read this {what} as a vector file ({err})", path=path, fix=fix
        ) from err
    listed = ", ".join(f"'{n}' ({g or 'no geometry'})" for n, g in layers)
    chosen: str | None = None
    if layer is not None:
        names = [n for n, _ in layers]
        matches = [n for n in names if n == layer] or [
            n for n in names if n.casefold() == layer.strip().casefold()
        ]
        if not matches:
            raise InputError(
                f"this file has no layer '{layer}' (its layers: {listed})",
                path=path,
                fix="Give one of these names with --sheet",
            )
        chosen = matches[0]
    elif len(layers) > 1:
        spatial = [n for n, g in layers if g]
        if len(spatial) != 1:
            raise InputError(
                f"this file has {len(layers)} layers ({listed}) and geomap reads one",
                path=path,
                fix=f"Choose the layer with --sheet NAME (for example --sheet '{layers[0][0]}')",
            )
        chosen = spatial[0]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            table = gpd.read_file(path, engine="pyogrio", layer=chosen)
        except vector_errors as err:
            raise InputError(
                f"cannot read this {what} as a vector file ({err})", path=path, fix=fix
            ) from err
        except shapely.errors.ShapelyError as err:
            gdal = "; ".join(str(w.message) for w in said)
            raise InputError(
                f"a geometry in this {what} cannot be built ({err}{'; ' + gdal if gdal else ''})",
                path=path,
                column="geometry",
                fix="Repair it (QGIS 'Fix geometries'), or give the locations as points",
            ) from err
    for note in said:  # GDAL's own remarks on the file, said once with its name
        warnings.warn(f"{path}: {note.message}", InputWarning, stacklevel=3)
    if chosen is not None:
        table.attrs["geomap_sheet"] = chosen
    return table


def _read_workbook(path: Path, head: bytes, *, what: str, sheet: str | None) -> pd.DataFrame:
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            "this workbook is password-protected (Excel encrypts protected workbooks in an "
            "older container) or is an old .xls workbook renamed",
            path=path,
            fix="Remove the password (File, Info, Protect Workbook) and save it as .xlsx, or "
            "save the sheet as 'CSV UTF-8'",
        )
    if not head.startswith(b"PK"):
        raise InputError(
            f"this is not an Excel workbook (an {path.suffix} file is a zip archive and this "
            "one is not)",
            path=path,
            fix="If it is a CSV, give it the .csv suffix; otherwise save it again from Excel",
        )
    setting = "GEOMAP_MAX_WORKBOOK_BYTES"
    check_zip(
        path,
        what="workbook",
        max_bytes=archive_limit(setting, MAX_WORKBOOK_BYTES),
        setting=setting,
        remake="Open it in Excel and save it again as a workbook (.xlsx) without a password, "
        "or save the sheet as 'CSV UTF-8'",
    )
    return _reading.read_workbook(path, what=what, sheet=sheet)


def source_of(table: pd.DataFrame | pd.Series) -> str | None:
    """The file a table was read from, if known.

    Parameters
    ----------
    table
        A table read by :func:`read_table`, or derived from one with its ``attrs``.

    Returns
    -------
    str or None
        The path, as given when it was read; ``None`` for a table made in code.
    """
    source = table.attrs.get("geomap_source")
    return None if source is None else str(source)


def row_number(table: pd.DataFrame | pd.Series, position: int) -> int:
    """The row number a user sees for the record at 0-based ``position``.

    Parameters
    ----------
    table
        A table read by :func:`read_table` (its ``attrs`` say where records start
        and which rows were skipped).
    position
        The record's 0-based position in ``table``.

    Returns
    -------
    int
        The row number in the file, as a spreadsheet numbers it (the header row
        of a CSV is row 1, so its first record is row 2).
    """
    rows = table.attrs.get("geomap_rows")
    if rows is not None and 0 <= position < len(rows):
        return int(rows[position])
    return int(table.attrs.get("geomap_first_row", 1)) + position


def check_rows(
    table: pd.DataFrame | pd.Series,
    bad: pd.Series | np.ndarray,
    message: Callable[[int], str],
    *,
    column: str | None,
    fix: str | None = None,
    error: type[InputError] = InputError,
    path: str | Path | None = None,
) -> None:
    """Raise ``error`` for the first row where ``bad`` is true; do nothing if none is.

    ``message`` gets the row's 0-based position and says what is wrong with it;
    the error names the table's file (or ``path``), the row as the user sees it
    and ``column``. A table not read by :func:`read_table` (a CSV inside a zip,
    say) counts rows as a spreadsheet does: the header is row 1.

    Parameters
    ----------
    table
        The table the rows belong to.
    bad
        One boolean per row of ``table``: true where the row is wrong.
    message
        Says what is wrong with the row at a 0-based position.
    column
        The column at fault, named in the error.
    fix
        How to put it right, added to the message.
    error
        The error class to raise: :class:`~geomap.errors.InputError` or one of
        its subclasses.
    path
        The file to name, when ``table`` does not know it.

    Raises
    ------
    InputError
        Of class ``error``, for the first bad row.
    """
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return
    pos = int(np.flatnonzero(mask)[0])
    row = row_number(table, pos) if "geomap_first_row" in table.attrs else pos + 2
    raise error(message(pos), path=path or source_of(table), row=row, column=column, fix=fix)


def normalise_name(name: str) -> str:
    """Column name folded for matching: lower case, spaces and dashes to ``_``.

    Parameters
    ----------
    name
        A column name as a file spells it (``"Postcode "``, ``"Low-Age"``).

    Returns
    -------
    str
        The name stripped and in lower case, with runs of spaces, dashes and
        full stops as one ``_`` (``"postcode"``, ``"low_age"``).
    """
    return "_".join(str(name).strip().lower().replace("-", " ").replace(".", " ").split())


def find_column(
    table: pd.DataFrame, aliases: tuple[str, ...], *, explicit: str | None = None
) -> str | None:
    """Name of the first column matching one of ``aliases`` (folded), or ``None``.

    Parameters
    ----------
    table
        The table to look in.
    aliases
        Usual names of the column, already folded as :func:`normalise_name`
        folds them, most likely first.
    explicit
        A column the user named; it wins, matched as given or folded, and must exist.

    Returns
    -------
    str or None
        The column's name as the table spells it; ``None`` if no alias matches.

    Raises
    ------
    MissingColumnError
        If ``explicit`` is given and not in the table.
    """
    folded = {normalise_name(c): c for c in table.columns}
    if explicit is not None:
        if explicit in table.columns:
            return explicit
        if normalise_name(explicit) in folded:
            return folded[normalise_name(explicit)]
        raise_missing(
            table,
            explicit,
            what=f"'{explicit}' (named in the command or the study-area file)",
            fix=f"Check the spelling of '{explicit}' against the columns found",
        )
    for alias in aliases:
        if alias in folded:
            return folded[alias]
    return None


def raise_missing(
    table: pd.DataFrame, column: str, *, what: str, fix: str | None = None
) -> NoReturn:
    """Raise :class:`MissingColumnError` listing the columns the table has.

    Parameters
    ----------
    table
        The table that lacks the column.
    column
        The column's name, as geomap calls it.
    what
        Which column it is, completing "missing required column ..."
        (``"'id'"``, ``"of area codes"``).
    fix
        How to put it right; for a workbook with other sheets, how to choose
        one is added.

    Raises
    ------
    MissingColumnError
        Always.
    """
    have = ", ".join(str(c) for c in table.columns if c != "geometry")
    sheet = table.attrs.get("geomap_sheet")
    where = f" in sheet '{sheet}'" if sheet is not None else ""
    if sheet is not None and len(table.attrs.get("geomap_sheets") or []) > 1:
        fix = f"{fix + '. ' if fix else ''}{_other_sheets(table)}"
    raise MissingColumnError(
        f"missing required column {what}{where} (columns found: {have})",
        path=source_of(table),
        column=column,
        fix=fix,
    )


# --------------------------------------------------------------------------- writing

#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV
#: injection), with their full-width forms, which some spreadsheets also accept.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: Name of the file that marks a folder as one geomap output and lists what it wrote.
OUTPUT_MARKER = ".geomap-output.json"

#: Files that file browsers leave in any folder they show; never "user files".
CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".directory"})

#: Names of a run's lock file and of what a killed run leaves beside its output folder.
_LEFTOVER = re.compile(r"\.(.+)\.geomap(?:-(?:staging|old)-[0-9A-Za-z_]+|\.lock)")

#: What each output format is called, by file suffix (for messages).
FORMATS = {
    ".csv": "CSV",
    ".html": "HTML",
    ".htm": "HTML",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".graphml": "GraphML",
    ".png": "PNG image",
    ".pdf": "PDF",
}


def check_output_file(
    path: str | Path,
    *,
    formats: Iterable[str],
    inputs: Iterable[str | Path] = (),
    option: str = "--out",
) -> Path:
    """Check that ``path`` may be written as an output file, before any work is done.

    Parameters
    ----------
    path
        The file to write.
    formats
        Suffixes the caller writes (``".csv"``...); another suffix is refused,
        since the file would not be what its name promises.
    inputs
        Files this run reads: the output may not be one of them.
    option
        The option that named ``path``, for messages.

    Returns
    -------
    pathlib.Path
        The path to write: a symbolic link is followed to the file it names.

    Raises
    ------
    OutputError
        If ``path`` is an input, a folder, a device or other non-regular file,
        lies below a file, or has a suffix of another format.
    """
    target = Path(path)
    allowed = tuple(s.lower() for s in formats)
    suffix = target.suffix.lower()
    if suffix not in allowed:
        names = ", ".join(f"{s} ({FORMATS.get(s, s)})" for s in allowed)
        found = f"'{suffix}'" if suffix else "no suffix"
        what = f" ({FORMATS[suffix]})" if suffix in FORMATS else ""
        raise OutputError(
            f"{option} {target}: {found}{what} is not a format this command writes; "
            f"give a file name ending {names}"
        )
    if target.is_symlink():
        target = _follow_link(target, option=option)
    _check_not_below_a_file(target, option=option)
    if os.path.lexists(target) and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file (a device, pipe or socket)"
        raise OutputError(
            f"{option} {target} is {kind}; geomap writes only regular files. "
            "Give the name of a new or existing file"
        )
    _check_not_an_input(target, inputs, option=option)
    return target


def _follow_link(link: Path, *, option: str) -> Path:
    """The file a symbolic link names, which must exist and be a regular file."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError) as err:
        raise OutputError(
            f"{option} {link} is a symbolic link to a file that does not exist, or a loop of "
            "links; geomap will not create files where a link points. Give a plain file name"
        ) from err
    if target.suffix.lower() != link.suffix.lower():
        raise OutputError(
            f"{option} {link} is a symbolic link to {target}, a file of another kind. "
            "Give a plain file name"
        )
    return target


def check_output_folder(
    path: str | Path, *, inputs: Iterable[str | Path] = (), option: str = "--out"
) -> Path:
    """Check that ``path`` may be (re)written as an output folder, before any work is done.

    The folder is replaced as a whole when the run succeeds (see
    :func:`replace_folder`), so it may not hold an input of the run, be the
    current folder or one above it, be a file, lie below a file, or be
    read-only.

    Parameters
    ----------
    path
        The output folder; it need not exist yet.
    inputs
        Files this run reads: the folder may not be or hold one of them.
    option
        The option that named ``path``, for messages.

    Returns
    -------
    pathlib.Path
        ``path``, as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputError
        Naming the folder and what to do instead.
    """
    target = Path(path)
    absolute = Path(os.path.abspath(target))
    _check_not_below_a_file(absolute, option=option, folder=True)
    if absolute.exists() and not absolute.is_dir():
        raise OutputError(
            f"output folder {target} is not writable: it is a file, not a folder. "
            f"Choose another folder with {option}"
        )
    here = Path(os.path.realpath(Path.cwd()))
    real = Path(os.path.realpath(absolute))
    if real == here or real in here.parents:
        raise OutputError(
            f"{option} {target} is the current folder or one above it; geomap replaces its "
            f"output folder as a whole. Give a folder of its own, e.g. {option} out"
        )
    if absolute.is_dir() and not os.access(absolute, os.W_OK | os.X_OK):
        raise OutputError(
            f"output folder {target} is not writable (permission denied). "
            f"Choose another folder with {option}, or fix its permissions"
        )
    _check_not_an_input(absolute, inputs, option=option, folder=True)
    return target


def _check_not_below_a_file(path: Path, *, option: str, folder: bool = False) -> None:
    for parent in Path(os.path.abspath(path)).parents:
        if parent.exists():
            if not parent.is_dir():
                what = "output folder" if folder else "output file"
                raise OutputError(
                    f"{what} {path} is not writable: {parent} is a file, not a folder. "
                    f"Choose another {'folder' if folder else 'path'} with {option}"
                )
            return


def _check_not_an_input(
    target: Path, inputs: Iterable[str | Path], *, option: str, folder: bool = False
) -> None:
    real = Path(os.path.realpath(target))
    for item in inputs:
        source = Path(os.path.realpath(item))
        if source == real or (folder and real in source.parents):
            where = "is" if source == real else "holds"
            raise OutputError(
                f"{option} {target} {where} an input of this run ({item}); writing it would "
                f"overwrite what is being read. Give {option} a new name"
            )


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    If the block raises, the temporary file is removed and ``path`` is left as
    it was. An existing ``path`` that is not a regular file (a folder, a
    device such as ``/dev/null``) is never replaced.

    Parameters
    ----------
    path
        The file to write (a symbolic link is followed to the file it names).

    Yields
    ------
    pathlib.Path
        The temporary file to write to, in the same folder as ``path``.

    Raises
    ------
    OutputError
        As for :func:`atomic_paths`.
    """
    with atomic_paths([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | Path]) -> Iterator[tuple[Path, ...]]:
    """Yield a temporary path beside each of ``paths``; rename them all into place on success.

    Several files that belong together (a table and its summary, a graph and
    its manifest) are all written before any is renamed, so a failure while
    writing leaves every one of them as it was.

    Parameters
    ----------
    paths
        The files to write.

    Yields
    ------
    tuple of pathlib.Path
        One temporary file per path, in the same order.

    Raises
    ------
    OutputError
        If a path exists but is not a regular file, lies below a file or in a
        folder that does not exist, or cannot be written (the disk is full, say).
    """
    targets = [
        _follow_link(Path(p), option="output") if Path(p).is_symlink() else Path(p) for p in paths
    ]
    for target in targets:
        _check_not_below_a_file(target, option="--out")
        if os.path.lexists(target) and not target.is_file():
            raise OutputError(
                f"cannot write {target}: it exists and is not a regular file (a folder or device)"
            )
        if not target.parent.is_dir():
            raise OutputError(
                f"cannot write {target}: folder {target.parent} does not exist. "
                "Create it or choose another output path"
            )
    for target in targets:
        _remove_stale_temps(target)
    temps = tuple(t.with_name(f".{t.stem}.{uuid.uuid4().hex[:8]}.tmp{t.suffix}") for t in targets)
    try:
        yield temps
        for tmp, target in zip(temps, targets, strict=True):
            os.replace(tmp, target)
    except OSError as err:
        for tmp in temps:
            _remove(tmp)
        if isinstance(err, OutputError):
            raise
        name = getattr(err, "filename", None) or targets[0]
        raise OutputError(f"cannot write {name} ({err.strerror or err})") from err
    except BaseException:
        for tmp in temps:
            _remove(tmp)
        raise


#: Age (seconds) after which a temporary file beside an output is a killed run's leftover.
STALE_TEMP_SECONDS = 24 * 3600


def _remove_stale_temps(target: Path) -> None:
    """Remove temporary files a killed run left beside ``target`` (a day old or more)."""
    pattern = f".{glob.escape(target.stem)}.????????.tmp{glob.escape(target.suffix)}"
    now = dt.datetime.now().timestamp()
    for stale in target.parent.glob(pattern):
        with contextlib.suppress(OSError):
            if now - stale.lstat().st_mtime > STALE_TEMP_SECONDS and stale.is_file():
                stale.unlink()


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def write_text(text: str, path: str | Path) -> Path:
    """Write text (UTF-8) atomically.

    Parameters
    ----------
    text
        What to write.
    path
        The file to write; replaced only once the text is fully written.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        If the file cannot be written (see :func:`atomic_paths`).
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula.

    True when the first character that is not a space is one of
    :data:`FORMULA_PREFIXES` and the text is not simply a number (``-2.71``,
    ``+1``, ``1e-3`` are numbers, and stay as they are).

    Parameters
    ----------
    text
        A cell's text or a column name.

    Returns
    -------
    bool
        Whether it needs neutralising before it is written to a CSV.
    """
    head = text.lstrip(" ")
    if not head.startswith(FORMULA_PREFIXES) and not text.startswith(FORMULA_PREFIXES):
        return False
    try:
        float(text)
    except ValueError:
        return True
    # "nan", "inf" and friends are words to a spreadsheet; signed digits are numbers
    return not any(c.isdigit() for c in text)


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``table`` whose text cells and column names cannot run as spreadsheet formulas.

    A text cell or column name that :func:`is_formula` flags gets a leading
    apostrophe, which spreadsheets show as text. Numbers (in numeric columns,
    or written as text such as ``-2.71``) are left alone.

    Parameters
    ----------
    table
        The table about to be written.

    Returns
    -------
    pandas.DataFrame
        A copy; ``table`` is not changed.
    """
    out = table.copy()
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        if isinstance(series, pd.Series) and not _may_hold_formula(series):
            continue
        text = series.astype("string")
        # a cheap vectorised first pass; is_formula only on the few candidates
        starts = text.str.startswith(FORMULA_PREFIXES) | text.str.lstrip(" ").str.startswith(
            FORMULA_PREFIXES
        )
        candidate = starts.fillna(False).astype(bool).to_numpy()
        if not candidate.any():
            continue
        risky = np.zeros(len(text), dtype=bool)
        risky[candidate] = [is_formula(str(v)) for v in text[candidate]]
        if risky.any():
            out[column] = series.where(~risky, "'" + text)
    out.columns = ["'" + str(c) if is_formula(str(c)) else c for c in out.columns]
    return out


#: Where a cell could start a formula, in a column's cells joined by NUL characters.
_FORMULA_START = re.compile("(?:^|\x00) *[" + re.escape("".join(FORMULA_PREFIXES)) + "]")


def _may_hold_formula(series: pd.Series) -> bool:
    """Whether a cell of ``series`` might be a formula: ``False`` means none is.

    One search through the cells joined by NUL characters, rather than a look
    at every cell: a cell :func:`is_formula` could flag starts the joined text
    or follows a NUL (a NUL inside a cell can only add false alarms).
    """
    cells = series.to_numpy(dtype=object, na_value="")
    if not isinstance(series.dtype, pd.StringDtype) and not all(isinstance(v, str) for v in cells):
        return True  # other objects: looked at as text, cell by cell
    return _FORMULA_START.search("\x00".join(cells)) is not None


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV atomically: geometry dropped, formulas neutralised, every risky cell quoted.

    The file is UTF-8 with a byte-order mark (so Excel reads accents and
    symbols correctly) and CRLF line ends (RFC 4180); any cell holding a comma,
    a quote, a carriage return or a line feed is quoted, so it stays one cell
    when read back.

    Parameters
    ----------
    table
        The table to write; a GeoDataFrame loses its geometry column.
    path
        The CSV file to write.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        If the file cannot be written (see :func:`atomic_paths`).
    """
    if isinstance(table, gpd.GeoDataFrame):
        table = pd.DataFrame(table.drop(columns=table.geometry.name))
    safe = neutralise_formulas(table)
    with atomic_path(path) as tmp:
        safe.to_csv(
            tmp,
            index=False,
            encoding="utf-8-sig",
            errors="replace",
            lineterminator="\r\n",
            quoting=csv.QUOTE_MINIMAL,
        )
    return Path(path)


def write_vector(layer: gpd.GeoDataFrame, path: str | Path, *, name: str | None = None) -> Path:
    """Write one layer to GeoJSON or GeoPackage (by suffix) atomically.

    Parameters
    ----------
    layer
        The layer to write. Boolean columns are stored as 0/1, and columns
        renamed where GeoPackage needs it (``fid``, names equal but for case).
    path
        A ``.gpkg`` file, or a GeoJSON file (any other suffix).
    name
        The layer's name in the file; the file's stem by default.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        If the file or a column cannot be written.
    """
    path = Path(path)
    driver = "GPKG" if path.suffix.lower() == ".gpkg" else "GeoJSON"
    with atomic_path(path) as tmp:
        _write_layer(layer, tmp, driver=driver, name=name or path.stem, shown=path)
    return path


def write_geopackage(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write several named layers into one GeoPackage atomically.

    Parameters
    ----------
    layers
        Layer name → layer, written in this order (columns adjusted as by
        :func:`write_vector`).
    path
        The ``.gpkg`` file to write; replaced only once every layer is written.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        If the file or a column cannot be written.
    """
    with atomic_path(path) as tmp:
        for name, layer in layers.items():
            _write_layer(layer, tmp, driver="GPKG", name=name, shown=Path(path))
    return Path(path)


def _write_layer(
    layer: gpd.GeoDataFrame, path: Path, *, driver: str, name: str, shown: Path
) -> None:
    # a shallow copy: columns are replaced below, never changed in place
    data = layer.copy(deep=False)
    geometry = data.geometry.name
    for column in data.columns:
        if column != geometry and pd.api.types.is_bool_dtype(data[column]):
            # a nullable boolean keeps its missing values (not known) as nulls
            data[column] = data[column].astype("Int8" if data[column].hasnans else "int8")
    renames = _safe_field_names(data, geometry=geometry)
    if renames:
        data = data.rename(columns=renames)
    try:
        pyogrio.write_dataframe(data, path, driver=driver, layer=name)
    except (
        pyogrio.errors.FieldError,
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
    ) as err:
        raise OutputError(
            f"cannot write layer '{name}' to {shown.name} ({err}). If the disk is full, free "
            "some space; otherwise this is a column geomap cannot store in a GeoPackage"
        ) from err


def _safe_field_names(table: pd.DataFrame, *, geometry: str) -> dict[str, str]:
    """Renames that make columns valid GeoPackage fields: no ``fid``, no names equal but for case."""
    seen: set[str] = {"fid", "geom", geometry.lower()}
    renames: dict[str, str] = {}
    for column in table.columns:
        if column == geometry:
            continue
        name, n = str(column), 1
        while name.lower() in seen:
            n += 1
            name = f"{column}_{n}"
        seen.add(name.lower())
        if name != column:
            renames[column] = name
    return renames


# --------------------------------------------------------------------------- output folders


@contextlib.contextmanager
def replace_folder(
    folder: str | Path, *, command: str = "geomap", inputs: Iterable[str | Path] = ()
) -> Iterator[Path]:
    """Yield an empty staging folder that replaces ``folder`` as a whole when the block succeeds.

    The new output is written into a hidden sibling folder; only when all of it
    is written is the old folder renamed aside and the new one renamed into its
    place, so ``folder`` always holds one complete run's files: the old run's
    if anything fails (the old folder is put back), the new run's otherwise.
    Files of the old run that the new one does not write (maps of a mode no
    longer analysed) are not carried over.

    Safeguards:

    * a lock beside the folder stops a second run writing into it at the same
      time (with a clear message), and is released when the run ends, even by
      ``kill -9``;
    * leftovers of a run that was killed (staging folders, an old folder moved
      aside) are tidied away, or put back, by the next run;
    * files in ``folder`` that geomap did not write are never deleted: the run
      stops and names them instead;
    * other geomap outputs nested inside ``folder`` (``out/post16`` inside
      ``out``, each with its own marker) are carried into the new folder.

    Parameters
    ----------
    folder
        The output folder.
    command
        What is writing it, recorded in the folder's marker file.
    inputs
        Files the run reads; see :func:`check_output_folder`.

    Yields
    ------
    pathlib.Path
        The empty staging folder to write the run's files into.

    Raises
    ------
    OutputError
        If the folder is locked by another run, holds files geomap did not
        write, or cannot be written; ``folder`` is then as it was.

    Warns
    -----
    OutputWarning
        When a leftover of an interrupted run, or the previous output moved
        aside, could not be removed (it is named, to delete by hand).
    """
    check_output_folder(folder, inputs=inputs)
    target = Path(os.path.realpath(folder))
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"output folder {folder} is not writable: cannot create {parent} "
            f"({err.strerror or err}). Choose another folder with --out"
        ) from err
    with _folder_lock(target):
        try:
            _tidy_leftovers(target)
            stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.geomap-staging-", dir=parent))
            _copy_permissions(stage, like=target)
        except OSError as err:
            raise OutputError(
                f"output folder {folder} is not writable ({err.strerror or err}). "
                "Choose another folder with --out, or fix its permissions"
            ) from err
        try:
            yield stage
            _write_marker(stage, command=command)
            _swap_in(stage, target)
        except OSError as err:
            if isinstance(err, OutputError):
                raise
            name = getattr(err, "filename", None) or folder
            raise OutputError(
                f"cannot write into {folder}: {name} ({err.strerror or err})"
            ) from err
        finally:
            shutil.rmtree(stage, ignore_errors=True)


def _copy_permissions(folder: Path, *, like: Path) -> None:
    """Give a staging folder the permissions (and group) of the folder it will replace.

    ``tempfile.mkdtemp`` makes folders only their owner can open; a new output
    folder gets the usual permissions instead (everyone may read, as the umask
    allows), so colleagues can open a shared output.
    """
    try:
        if like.is_dir():
            info = like.stat()
            os.chmod(folder, stat.S_IMODE(info.st_mode))
            if hasattr(os, "chown"):
                with contextlib.suppress(OSError):
                    os.chown(folder, -1, info.st_gid)
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(folder, 0o777 & ~mask)
    except OSError as err:  # pragma: no cover - permissions are a courtesy, not a need
        logger.info("could not set the permissions of %s (%s)", folder, err)


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.geomap.lock"


@contextlib.contextmanager
def _folder_lock(target: Path) -> Iterator[None]:
    """Hold the lock of output folder ``target`` for the block (never waits)."""
    path = _lock_path(target)
    for _attempt in range(10):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise OutputError(
                f"output folder {target} is not writable: cannot create its lock file {path} "
                f"({err.strerror or err}). Choose another folder with --out"
            ) from err
        if not _try_lock(fd):
            holder = os.read(fd, 200).decode("utf-8", "replace").strip()
            os.close(fd)
            raise OutputError(
                f"another geomap run is writing to {target}"
                + (f" ({holder})" if holder else "")
                + "; wait for it to finish, or choose another folder with --out"
            )
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the lock file was replaced while we waited for it: take the new one
    else:  # pragma: no cover - only under a storm of concurrent runs
        raise OutputError(f"could not lock output folder {target}; try again")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, started {dt.datetime.now():%Y-%m-%d %H:%M:%S}".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; False if another process holds it."""
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _leftovers(target: Path, what: str) -> list[Path]:
    return sorted(target.parent.glob(f".{glob.escape(target.name)}.geomap-{what}-*"))


def _tidy_leftovers(target: Path) -> None:
    """Put back or remove what a killed run left beside ``target`` (call holding its lock)."""
    olds = _leftovers(target, "old")
    if not target.exists() and olds:
        # killed between moving the old folder aside and moving the new one in
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        os.rename(newest, target)
        logger.warning("%s: restored the previous output, left aside by an interrupted run", target)
        olds.remove(newest)
    for stage in _leftovers(target, "staging"):
        # nested outputs carried into a staging folder go back where they were
        for item in _nested_outputs(stage):
            if not (target / item.name).exists() and target.is_dir():
                os.rename(item, target / item.name)
    for leftover in [*olds, *_leftovers(target, "staging")]:
        shutil.rmtree(leftover, ignore_errors=True)
        if leftover.exists():
            warnings.warn(
                f"could not remove {leftover}, left by an interrupted run; delete it by hand",
                OutputWarning,
                stacklevel=3,
            )
    if target.is_dir():
        # staging folders that older geomap versions made inside the output folder
        for stale in target.glob(".geomap-staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        # leftovers of a killed run of an output nested in this one (out/post16 in out)
        nested = {m.group(1) for p in target.iterdir() if (m := _LEFTOVER.fullmatch(p.name))}
        for name in sorted(nested):
            # a run writing there now keeps its files
            with contextlib.suppress(OutputError), _folder_lock(target / name):
                _tidy_leftovers(target / name)


def _nested_outputs(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` that are geomap outputs of their own (they have a marker)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / OUTPUT_MARKER).is_file())


def _write_marker(stage: Path, *, command: str) -> None:
    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    marker = {
        "written_by": f"geomap {_version()}",
        "command": command,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "files": files,
    }
    (stage / OUTPUT_MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


def _version() -> str:
    from geomap import __version__

    return __version__


def _recorded_files(folder: Path) -> set[str] | None:
    """Files (relative paths) a geomap output folder's marker says it wrote; None without a marker."""
    try:
        marker = json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8"))
        return {str(f) for f in marker.get("files", [])}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError):
        return set()


def _clutter(name: str) -> bool:
    """Files that file browsers leave in folders, and geomap's own marker and leftovers."""
    return (
        name in CLUTTER
        or name == OUTPUT_MARKER
        or name.startswith(("._", ".geomap-staging-", ".geomap-write-test-"))
        or _LEFTOVER.fullmatch(name) is not None
    )


def _strangers(target: Path, nested: Sequence[Path]) -> list[str]:
    """Files in ``target`` (at any depth) that no geomap run recorded writing there."""
    recorded = _recorded_files(target) or set()
    skip = {p.resolve() for p in nested}
    found: list[str] = []
    for root, folders, files in os.walk(target):
        here = Path(root)
        folders[:] = [f for f in folders if (here / f).resolve() not in skip and not _clutter(f)]
        for name in files:
            relative = (here / name).relative_to(target).as_posix()
            if relative not in recorded and not _clutter(name):
                found.append(relative)
    return sorted(found)


def _swap_in(stage: Path, target: Path) -> None:
    """Replace ``target`` by ``stage`` with two renames, carrying nested outputs; undo on failure."""
    if not target.exists():
        os.rename(stage, target)
        return
    new_names = {p.name for p in stage.iterdir()}
    nested = _nested_outputs(target)
    clash = [p.name for p in nested if p.name in new_names]
    if clash:
        raise OutputError(
            f"{target / clash[0]} is the output of another geomap command, and this run would "
            f"write its own '{clash[0]}' there. Give this run, or that one, another --out"
        )
    strangers = _strangers(target, nested)
    if strangers:
        shown = ", ".join(strangers[:5]) + (
            f" and {len(strangers) - 5} more" if len(strangers) > 5 else ""
        )
        why = (
            "; it has no geomap marker, so it was not written by this version of geomap"
            if _recorded_files(target) is None
            else ""
        )
        raise OutputError(
            f"output folder {target} holds files geomap did not write ({shown}){why}. geomap "
            "replaces its output folder as a whole, so it stops rather than delete them. Move "
            "them (or close them, if a program has them open), or choose another folder with --out"
        )
    carried: list[Path] = []
    with contextlib.ExitStack() as locks:
        for item in nested:
            locks.enter_context(_folder_lock(item))
        old = target.parent / f".{target.name}.geomap-old-{uuid.uuid4().hex[:8]}"
        try:
            for item in nested:
                os.rename(item, stage / item.name)
                carried.append(item)
            os.rename(target, old)
        except OSError:
            for item in carried:
                os.rename(stage / item.name, item)
            raise
        try:
            os.rename(stage, target)
        except OSError:
            os.rename(old, target)
            for item in carried:
                os.rename(stage / item.name, item)
            raise
    shutil.rmtree(old, ignore_errors=True)
    if old.exists():
        warnings.warn(
            f"could not remove the previous output, moved aside to {old}; the next run will "
            "try again, or delete it by hand",
            OutputWarning,
            stacklevel=4,
        )
