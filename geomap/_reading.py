"""How :func:`geomap.io.read_table` reads text tables and Excel workbooks.

Text tables
-----------
The encoding is decided from the bytes, in this order, and never guessed from
a sample alone:

1. a byte-order mark: UTF-8, UTF-16 (little- or big-endian, as Excel's
   "Unicode text" writes it) or UTF-32;
2. NUL bytes in every other position of the first 64 KB: UTF-16 without a
   byte-order mark (NUL bytes in any other pattern mean the file is not text);
3. the whole file decodes as UTF-8 (plain ASCII is UTF-8);
4. the whole file decodes as Windows-1252 (Excel's "CSV" on Windows, and the
   national GIAS download). The bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D are not
   characters in Windows-1252, so a file holding one is neither and is refused,
   naming the row of the first such byte.

UTF-8 text in which a character reads as two or three others (``Ã©`` for
``é``, ``â€™`` for ``’``: UTF-8 opened as Windows-1252 and saved again as UTF-8)
is read as it is, with an :class:`~geomap.errors.InputWarning` naming the first
row.

The separator (comma, semicolon, tab or pipe) is the one that splits the first
non-blank row, the header, into two or more columns, quotes respected. When
several do, the one under which no row of the first thirty has more fields
than the header wins; a tie is refused as ambiguous. A header that is one
column under every separator is read as a one-column table.

In a file separated by anything but commas, a column whose every non-blank
value is a number with a decimal comma (``52,05``, ``-2,7``, ``1.234,5``, or a
whole number) is converted to decimal points, as European Excel writes them;
except, in a tab- or pipe-separated file, a column whose every comma could
be a thousands separator (``1,234``, as English Excel shows large numbers),
which is left as it is with an :class:`~geomap.errors.InputWarning`.

Headers and rows
----------------
The header is the first non-blank row; blank rows keep their numbers, as in a
spreadsheet. A row with more fields than the header is refused (a missing
header cell would otherwise shift every column), unless the extra fields are
all empty (trailing separators). A blank header cell is refused when its column
has values, except in the first column, where R and pandas leave the corner of
a matrix blank (that column is called ``column_A``); a blank column with no
values is dropped. Two columns with the same name, and a header row of numbers
only (a file with no header), are refused.

Workbooks
---------
The first visible worksheet, or the one named. Every cell is read as the text
a user sees: whole numbers without ``.0``, other numbers to 15 significant
digits as Excel shows them, dates as ISO text (``2024-09-01``, with the time
when there is one), TRUE/FALSE, formulas as their last calculated value.
Row numbers are Excel's.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import logging
import math
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from geomap.errors import ArchiveError, EmptyInputError, InputError, InputWarning

logger = logging.getLogger(__name__)

#: Bytes of the start of a file looked at for byte-order marks, UTF-16 and separators.
HEAD_BYTES = 64 * 1024
#: Bytes decoded at a time when checking a whole file's encoding.
CHUNK_BYTES = 1 << 20
#: Rows after the header used to choose the separator (the whole file is checked when read).
SNIFF_ROWS = 30

#: Separators geomap recognises, with their names for messages.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

#: Encodings geomap reads, by the name recorded in ``attrs["geomap_encoding"]``.
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with a byte-order mark",
    "utf-16-le": "UTF-16 (little-endian)",
    "utf-16-be": "UTF-16 (big-endian)",
    "utf-32-le": "UTF-32 (little-endian)",
    "utf-32-be": "UTF-32 (big-endian)",
    "cp1252": "Windows-1252",
}

#: How to turn any spreadsheet or odd text file into what geomap reads best.
SAVE_AS_UTF8 = "save it from Excel or LibreOffice as 'CSV UTF-8 (Comma delimited) (*.csv)'"
RESAVE = "Open it in Excel or LibreOffice and save it as 'CSV UTF-8 (Comma delimited) (*.csv)'"

#: (byte-order mark, codec that decodes the file, recorded encoding), longest first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)

#: Starts of files that are not text tables, and what they are.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls) or another Office file"),
    (b"SQLite format 3\x00", "an SQLite database (a GeoPackage?)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "an empty zip archive"),
)

# Mis-decoded UTF-8: a Windows-1252 character for a UTF-8 lead byte followed by
# characters for continuation bytes (0x80-0xBF).
_CONTINUATION = "".join(
    bytes([b]).decode("cp1252")
    for b in range(0x80, 0xC0)
    if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
)
_LEAD2 = bytes(range(0xC2, 0xE0)).decode("cp1252")
_LEAD3 = bytes(range(0xE0, 0xF0)).decode("cp1252")
_MOJIBAKE = re.compile(
    f"[{re.escape(_LEAD2)}][{re.escape(_CONTINUATION)}]"
    f"|[{re.escape(_LEAD3)}][{re.escape(_CONTINUATION)}]{{2}}"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")

_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+|[+-]?\d+")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Encoding:
    """How a text file is decoded."""

    codec: str
    """Python codec that decodes the whole file (byte-order mark included)."""
    name: str
    """Recorded in ``attrs["geomap_encoding"]``: a key of :data:`ENCODING_LABELS`."""

    @property
    def label(self) -> str:
        """The encoding as messages name it (``"UTF-8"``, ``"Windows-1252"``)."""
        return ENCODING_LABELS[self.name]


@dataclass
class _Scan:
    ok: bool
    byte: int | None = None
    row: int | None = None
    nul: bool = False
    mojibake: int = 0
    mojibake_row: int | None = None
    mojibake_text: str = ""


def letter(position: int) -> str:
    """Spreadsheet column letter of a 0-based column position (0 → A, 26 → AA).

    Parameters
    ----------
    position
        The column's 0-based position.

    Returns
    -------
    str
        The letters a spreadsheet heads the column with.
    """
    name = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        name = chr(65 + rest) + name
    return name


def binary_kind(head: bytes, path: Path) -> str | None:
    """What a file that is not text is (``"a PNG image"``), or ``None`` if it may be text.

    Parameters
    ----------
    head
        The first bytes of the file.
    path
        The file, opened when it starts like a zip archive to tell a workbook
        from other zips.

    Returns
    -------
    str or None
        What the file is, for a message ("an Excel workbook"); ``None`` if
        its first bytes match no known binary format.
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if magic.startswith(b"PK"):
                return _zip_kind(path) or kind
            return kind
    return None


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "an Excel workbook"
    if "content.xml" in names and "mimetype" in names:
        return "an OpenDocument spreadsheet (.ods)"
    return None


# --------------------------------------------------------------------------- encodings


def detect_encoding(path: Path, head: bytes, *, what: str) -> Encoding:
    """Decide how the text file at ``path`` is encoded (see the module docstring).

    Parameters
    ----------
    path
        The text file; read through to check that all of it decodes.
    head
        The first bytes of the file.
    what
        What the file is meant to hold, for messages ("provider list").

    Returns
    -------
    Encoding
        The codec that decodes the whole file, and its name.

    Raises
    ------
    InputError
        If the file is not text, or is neither UTF-8, UTF-16 nor Windows-1252,
        naming the row of the first byte that cannot be decoded.

    Warns
    -----
    InputWarning
        When UTF-8 text looks decoded twice (a file opened as Windows-1252 and
        saved again as UTF-8), naming the first place.
    """
    for bom, codec, name in _BOMS:
        if head.startswith(bom):
            encoding = Encoding(codec, name)
            scan = _scan(path, codec, check_mojibake=False)
            if not scan.ok:
                _refuse_bytes(path, what, scan, tried=encoding.label, declared=True)
            return encoding
    if b"\x00" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is None:
            row = head[: head.index(b"\x00")].count(b"\n") + 1
            raise InputError(
                "this is not a text table: it holds binary data (NUL bytes, the first in this row)",
                path=path,
                row=row,
                fix=f"Give the {what} as CSV (comma-separated text) or an .xlsx workbook",
            )
        encoding = Encoding(utf16, utf16)
        scan = _scan(path, utf16, check_mojibake=False)
        if not scan.ok:
            _refuse_bytes(path, what, scan, tried=encoding.label, declared=False)
        return encoding
    utf8 = _scan(path, "utf-8", check_mojibake=True)
    if utf8.ok:
        if utf8.mojibake:
            warnings.warn(
                f"{path}: {utf8.mojibake} place(s) look like text decoded twice, first in row "
                f"{utf8.mojibake_row} ('{utf8.mojibake_text}' for "
                f"'{utf8.mojibake_text.encode('cp1252').decode('utf-8')}'): the file was "
                "probably opened as Windows-1252 and saved again as UTF-8. The text was read "
                "as it is; correct it in the source file to show the names properly",
                InputWarning,
                stacklevel=4,
            )
        return Encoding("utf-8", "utf-8")
    if utf8.nul:
        _refuse_bytes(path, what, utf8, tried="UTF-8", declared=False)
    cp1252 = _scan(path, "cp1252", check_mojibake=False)
    if cp1252.ok:
        logger.info(
            "%s: not UTF-8 (byte 0x%02X in row %s), read as Windows-1252",
            path,
            utf8.byte or 0,
            utf8.row,
        )
        return Encoding("cp1252", "cp1252")
    if cp1252.nul:
        _refuse_bytes(path, what, cp1252, tried="Windows-1252", declared=False)
    raise InputError(
        f"cannot tell how this text is encoded: byte 0x{cp1252.byte or 0:02X} in this row is "
        "neither UTF-8 nor Windows-1252 (tried UTF-8, UTF-16 and Windows-1252)",
        path=path,
        row=cp1252.row,
        fix=RESAVE,
    )


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    share_even = even.count(0) / len(even)
    share_odd = odd.count(0) / len(odd)
    if share_odd > 0.3 and share_even < 0.05:
        return "utf-16-le"
    if share_even > 0.3 and share_odd < 0.05:
        return "utf-16-be"
    return None


def _refuse_bytes(path: Path, what: str, scan: _Scan, *, tried: str, declared: bool) -> None:
    if scan.nul:
        raise InputError(
            "this is not a text table: it holds binary data (a NUL byte in this row)",
            path=path,
            row=scan.row,
            fix=f"Give the {what} as CSV (comma-separated text) or an .xlsx workbook",
        )
    start = "the file starts with a byte-order mark for" if declared else "the file looks like"
    raise InputError(
        f"{start} {tried}, but byte 0x{scan.byte or 0:02X} in this row is not valid {tried}",
        path=path,
        row=scan.row,
        fix=RESAVE,
    )


def _scan(path: Path, codec: str, *, check_mojibake: bool) -> _Scan:
    """Decode the whole file in chunks, noting the first byte that fails (and its row)."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    ascii_compatible = codec in ("utf-8", "utf-8-sig", "cp1252")
    rows = 0  # line breaks before the current chunk
    result = _Scan(ok=True)
    with path.open("rb") as stream:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            final = not chunk
            if ascii_compatible and chunk and chunk.isascii() and not decoder.getstate()[0]:
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    return _Scan(ok=False, nul=True, row=rows + chunk.count(b"\n", 0, nul) + 1)
                rows += chunk.count(b"\n")
                continue
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as err:
                data = bytes(err.object)
                before = data[: err.start].decode(codec, errors="replace")
                return _Scan(ok=False, byte=data[err.start], row=rows + before.count("\n") + 1)
            nul = text.find("\x00")
            if nul >= 0:
                return _Scan(ok=False, nul=True, row=rows + text.count("\n", 0, nul) + 1)
            if check_mojibake:
                for match in _MOJIBAKE.finditer(text):
                    try:
                        match.group().encode("cp1252").decode("utf-8")
                    except UnicodeError:
                        continue
                    if not result.mojibake:
                        result.mojibake_row = rows + text.count("\n", 0, match.start()) + 1
                        result.mojibake_text = match.group()
                    result.mojibake += 1
            rows += text.count("\n")
            if final:
                return result


# --------------------------------------------------------------------------- separators


def sniff_separator(sample: str, *, truncated: bool, path: Path, what: str) -> str:
    """The separator of a text table, from its header and first rows (see the module docstring).

    Parameters
    ----------
    sample
        The start of the file, decoded.
    truncated
        Whether ``sample`` is the start of a longer file (its last row may be cut).
    path
        The file, for messages.
    what
        What the file is meant to hold, for messages.

    Returns
    -------
    str
        One of :data:`SEPARATORS`; a comma when no separator splits the header
        into two or more columns.

    Raises
    ------
    InputError
        If no separator splits the rows into the header's columns, or two
        separators do so equally well.
    """
    end = -1
    for _ in range(SNIFF_ROWS + 20):
        end = sample.find("\n", end + 1)
        if end < 0:
            break
    else:
        sample, truncated = sample[: end + 1], True
    found: dict[str, tuple[int, int, int | None, int | None]] = {}
    for sep in SEPARATORS:
        try:
            reader = csv.reader(io.StringIO(sample), delimiter=sep, skipinitialspace=True)
            records = list(itertools.islice(reader, SNIFF_ROWS + 50))
        except csv.Error:
            continue
        if truncated and records:
            records = records[:-1]
        numbered = [(i + 1, r) for i, r in enumerate(records) if any(f.strip() for f in r)]
        if not numbered:
            continue
        header = numbered[0][1]
        width = _filled_width(header)
        longest_row = None
        longest = None
        for row, record in numbered[1 : SNIFF_ROWS + 1]:
            n = _filled_width(record)
            if n > len(header) and (longest is None or n > longest):
                longest, longest_row = n, row
        found[sep] = (width, len(header), longest, longest_row)
    candidates = {sep: v for sep, v in found.items() if v[0] >= 2}
    if not candidates:
        return ","
    if len(candidates) == 1:
        return next(iter(candidates))
    consistent = {sep: v for sep, v in candidates.items() if v[2] is None}
    pool = consistent or candidates
    if not consistent:
        described = "; ".join(
            f"{SEPARATORS[sep]}: {v[1]} header columns but {v[2]} fields in row {v[3]}"
            for sep, v in candidates.items()
        )
        raise InputError(
            f"the rows do not split into the header's columns with any separator ({described})",
            path=path,
            fix="Check that every row has as many separators as the header (a header cell may be "
            f"missing), or {SAVE_AS_UTF8}",
        )
    widest = max(v[0] for v in pool.values())
    best = [sep for sep, v in pool.items() if v[0] == widest]
    if len(best) == 1:
        return best[0]
    described = ", ".join(f"{SEPARATORS[sep]} gives {pool[sep][0]} columns" for sep in best)
    raise InputError(
        f"cannot tell which separator this {what} uses: {described} on every row read",
        path=path,
        row=1,
        fix=f"Put quotes around header names that contain a separator, or {SAVE_AS_UTF8}",
    )


def _filled_width(record: list[str]) -> int:
    """Number of fields up to the last non-empty one."""
    for i in range(len(record) - 1, -1, -1):
        if record[i].strip():
            return i + 1
    return 0


# --------------------------------------------------------------------------- text tables


def read_text_table(path: Path, head: bytes, *, what: str) -> pd.DataFrame:
    """Read a delimited text file as string columns (see the module docstring).

    Parameters
    ----------
    path
        The text file.
    head
        Its first bytes, as :func:`geomap.io.read_table` read them.
    what
        What the file is meant to hold, for messages.

    Returns
    -------
    pandas.DataFrame
        String columns (blank cells missing), with the row numbers, encoding,
        separator and columns whose decimal commas were converted in ``attrs``.

    Raises
    ------
    InputError
        If the file is not text, its encoding or separator cannot be told, or
        its header does not fit its rows (see :func:`frame_from_rows`).

    Warns
    -----
    InputWarning
        When text looks decoded twice (see :func:`detect_encoding`), or when
        every comma of a column could be a decimal comma or a thousands
        separator (the values are left as they are).
    """
    encoding = detect_encoding(path, head, what=what)
    sample_bytes = head if len(head) < HEAD_BYTES else head[: head.rfind(b"\n") + 1] or head
    sample = sample_bytes.decode(encoding.codec, errors="replace")
    if _looks_binary(sample):
        raise InputError(
            f"this is not a text table: it holds control characters that text does not "
            f"(read as {encoding.label})",
            path=path,
            fix=f"Give the {what} as CSV (comma-separated text) or an .xlsx workbook",
        )
    sep = sniff_separator(sample, truncated=len(head) >= HEAD_BYTES, path=path, what=what)
    raw = _parse(path, encoding=encoding, sep=sep, what=what)
    table = frame_from_rows(raw, path=path, what=what)
    converted: list[str] = []
    if sep != ",":
        converted = _decimal_commas(table, sep=sep, path=path)
    table.attrs.update(
        geomap_encoding=encoding.name,
        geomap_separator=sep,
    )
    if converted:
        table.attrs["geomap_decimal_comma"] = converted
    logger.info(
        "%s: read as %s text separated by %s%s",
        path,
        encoding.label,
        SEPARATORS[sep],
        f"; decimal commas converted in {', '.join(converted)}" if converted else "",
    )
    return table


def _looks_binary(sample: str) -> bool:
    if not sample:
        return False
    controls = len(_CONTROL.findall(sample[:HEAD_BYTES]))
    return controls > max(2, len(sample) // 100)


def _parse(path: Path, *, encoding: Encoding, sep: str, what: str) -> pd.DataFrame:
    """Every record as a row of text (or missing), the header included, by the fast C parser.

    Files it cannot read as they are (a row with more fields than the first, a
    leading blank line, a stray quote) are read again by :func:`_parse_strictly`,
    which names the row at fault.
    """
    try:
        raw = pd.read_csv(
            path,
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            skip_blank_lines=False,
            encoding=encoding.codec,
            quotechar='"',
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error):
        return _parse_strictly(path, encoding=encoding, sep=sep, what=what)
    raw.columns = pd.RangeIndex(raw.shape[1])
    return raw


def _parse_strictly(path: Path, *, encoding: Encoding, sep: str, what: str) -> pd.DataFrame:
    name = SEPARATORS[sep]
    records: list[list[str]] = []
    width: int | None = None
    with path.open(encoding=encoding.codec, newline="") as stream:
        reader = csv.reader(stream, delimiter=sep, skipinitialspace=True, strict=True)
        try:
            for record in reader:
                row = len(records) + 1
                if width is None and any(f.strip() for f in record):
                    width = len(record)
                elif width is not None and len(record) > width:
                    extra = [f for f in record[width:] if f.strip()]
                    if extra:
                        first = width + next(i for i, f in enumerate(record[width:]) if f.strip())
                        raise InputError(
                            f"this row has {_filled_width(record)} fields but the header has "
                            f"{width} column{'s' if width > 1 else ''}: the value "
                            f"'{extra[0][:40]}' in column "
                            f"{letter(first)} has no column name ({encoding.label}, {name}-separated)",
                            path=path,
                            row=row,
                            fix="A header cell is probably missing, which would shift every "
                            "column: add the missing column name to the header, or, if a value "
                            f"contains a {name}, put quotes around that value",
                        )
                    record = record[:width]
                records.append(record)
        except csv.Error as err:
            row = len(records) + 1
            problem = (
                "a quoted value starting here is never closed"
                if "end of data" in str(err) or "EOF" in str(err)
                else f"this row cannot be read ({err})"
            )
            raise InputError(
                f"{problem} (read as {encoding.label}, {name}-separated)",
                path=path,
                row=row,
                fix='Check the quotes in this row: a value in quotes must end with a quote ("), '
                "and a quote inside a value is written twice",
            ) from err
    if width is None:
        raise EmptyInputError(
            f"the {what} file has only blank lines",
            path=path,
            fix="Give a file with a header and rows",
        )
    padded = [r + [""] * (width - len(r)) for r in records]
    return pd.DataFrame(
        {
            j: pd.array([v if v.strip() else None for v in column], dtype="str")
            for j, column in enumerate(zip(*padded, strict=True))
        }
    )


def frame_from_rows(raw: pd.DataFrame, *, path: Path, what: str) -> pd.DataFrame:
    """Turn every row of a sheet (row ``i`` is spreadsheet row ``i + 1``) into a table.

    Checks the header (see the module docstring), drops blank rows and records
    the row numbers a user sees in ``attrs``.

    Parameters
    ----------
    raw
        Every row of the sheet as text (or missing), the header included.
    path
        The file, for messages.
    what
        What the file is meant to hold, for messages.

    Returns
    -------
    pandas.DataFrame
        The rows under the header, named by it; ``attrs["geomap_first_row"]``
        and, when blank rows were dropped, ``attrs["geomap_rows"]``.

    Raises
    ------
    EmptyInputError
        If every row is blank.
    InputError
        If a column with values has no name, two columns share a name, or the
        first row holds only numbers (no header).
    """
    if len(raw) and raw.iloc[0].notna().any():
        h = 0
    else:
        nonblank = raw.notna().any(axis=1).to_numpy()
        if not nonblank.any():
            raise EmptyInputError(
                f"the {what} file has only blank rows",
                path=path,
                fix="Give a header row and rows",
            )
        h = int(np.argmax(nonblank))
    header_row = h + 1
    header = [None if pd.isna(v) else str(v).strip() or None for v in raw.iloc[h].tolist()]
    body = raw.iloc[h + 1 :]
    keep: list[int] = []
    names: list[str] = []
    for j, name in enumerate(header):
        if name is None:
            filled = body[raw.columns[j]].notna().to_numpy()
            if not filled.any():
                continue
            if j == 0:
                name = "column_A"
            else:
                first = int(np.argmax(filled)) + header_row + 1
                raise InputError(
                    f"column {letter(j)} has no name in the header row (row {header_row}) but "
                    f"has values under it, first in row {first}",
                    path=path,
                    row=header_row,
                    fix="Give every column a name in the header row, or delete the column. If "
                    "the header is not the first row, delete the rows above it",
                )
        keep.append(j)
        names.append(name)
    seen: dict[str, int] = {}
    for j, name in zip(keep, names, strict=True):
        if name in seen:
            raise InputError(
                f"two columns are called '{name}' (columns {letter(seen[name])} and {letter(j)})",
                path=path,
                row=header_row,
                column=name,
                fix="Give each column its own name",
            )
        seen[name] = j
    if names and all(_NUMBER.fullmatch(n) for n in names):
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        raise InputError(
            f"the first row ({shown}) holds only numbers, so this file seems to have no header row",
            path=path,
            row=header_row,
            fix="Add a header row naming the columns (for example id,name,kind,postcode)",
        )
    table = body if len(keep) == raw.shape[1] else body.iloc[:, keep]
    table.columns = pd.Index(names)
    rows = np.arange(h + 1, len(raw)) + 1
    blank = table.isna().all(axis=1).to_numpy()
    if blank.any():
        table = table.iloc[np.flatnonzero(~blank)]
        rows = rows[~blank]
    table = table.reset_index(drop=True)
    table.attrs["geomap_first_row"] = header_row + 1
    if len(rows) and (rows[0] != header_row + 1 or rows[-1] - rows[0] != len(rows) - 1):
        table.attrs["geomap_rows"] = rows.tolist()
    return table


def _decimal_commas(table: pd.DataFrame, *, sep: str, path: Path) -> list[str]:
    """Convert columns of decimal-comma numbers to decimal points; return their names.

    In a tab- or pipe-separated file a column whose every comma could be a
    thousands separator (``1,234``, as English Excel shows large numbers) is
    ambiguous: it is left as it is, with a warning. Semicolon files come from
    European Excel, where ``1,234`` means 1.234, never 1234.
    """
    converted = []
    ambiguous = []
    for column in table.columns:
        values = table[column]
        present = values.dropna()
        if present.empty:
            continue
        text = present.astype(str).str.strip()
        has_comma = text.str.contains(",", regex=False)
        if not has_comma.any():
            continue
        if not text.str.fullmatch(_DECIMAL_COMMA).all():
            continue
        if sep != ";" and text[has_comma].str.fullmatch(_THOUSANDS).all():
            ambiguous.append(str(column))
            continue
        fixed = (
            values.str.strip().str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        )
        table[column] = fixed
        converted.append(str(column))
    if ambiguous:
        example = table[ambiguous[0]].dropna().astype(str)
        shown = example[example.str.contains(",", regex=False)].iloc[0]
        warnings.warn(
            f"{path}: in {', '.join(repr(c) for c in ambiguous)} every comma could be a decimal "
            f"comma or a thousands separator (e.g. '{shown.strip()}'); the values were left as "
            "they are. Save the file with plain numbers (no thousands separators) or as "
            "'CSV UTF-8'",
            InputWarning,
            stacklevel=4,
        )
    return converted


# --------------------------------------------------------------------------- workbooks


def read_workbook(path: Path, *, what: str, sheet: str | None) -> pd.DataFrame:
    """Read one worksheet of an ``.xlsx``/``.xlsm`` workbook as text (see the module docstring).

    The archive must have been checked with :func:`geomap.io.check_zip` first.

    Parameters
    ----------
    path
        The workbook.
    what
        What the file is meant to hold, for messages.
    sheet
        The worksheet to read; the first visible one by default.

    Returns
    -------
    pandas.DataFrame
        As :func:`frame_from_rows` returns, with ``attrs["geomap_sheet"]``
        and ``attrs["geomap_sheets"]`` (the names of all worksheets).

    Raises
    ------
    InputError
        If defusedxml is missing, the workbook cannot be read, the sheet is
        not there (or none is visible), or its header does not fit its rows.
    ArchiveError
        If the workbook is damaged, or its XML declares entities or a document type.
    EmptyInputError
        If the sheet is empty or holds only blank rows.
    """
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        raise InputError(
            "reading Excel workbooks needs the defusedxml package, which protects against "
            "XML attacks (and OPENPYXL_DEFUSEDXML must not be set to False)",
            path=path,
            fix="Install it with 'pip install defusedxml', or save the sheet as CSV UTF-8",
        )
    workbook, handle = _load_workbook(path, data_only=True)
    try:
        worksheet, name = _choose_sheet(workbook, path=path, sheet=sheet)
        sheet_names = [ws.title for ws in workbook.worksheets]
        worksheet.reset_dimensions()  # do not trust the size the file declares
        grid: list[list[str | None]] = []
        # cells with no value at all (not even an empty text): a formula's unsaved result
        unset: list[set[int]] = []
        for cells in worksheet.iter_rows():
            unset.append({j for j, cell in enumerate(cells) if cell.value is None})
            values = [_cell_text(cell) for cell in cells]
            while values and values[-1] is None:
                values.pop()
            grid.append(values)
    except InputError:
        raise
    except Exception as err:  # as above: cells are parsed as they are read
        _refuse_workbook(path, err)
    finally:
        workbook.close()
        handle.close()
    if any(unset):
        _refuse_unsaved_formulas(path, name, unset)
    if not any(grid):
        raise EmptyInputError(
            f"sheet '{name}' of this workbook is empty",
            path=path,
            fix="Give the sheet with the data with --sheet, or add a header row and rows",
        )
    width = max(len(r) for r in grid)
    raw = pd.DataFrame(
        {
            j: pd.array([r[j] if j < len(r) else None for r in grid], dtype="str")
            for j in range(width)
        }
    )
    table = frame_from_rows(raw, path=path, what=what)
    table.attrs["geomap_sheet"] = name
    table.attrs["geomap_sheets"] = sheet_names
    logger.info("%s: read sheet '%s'", path, name)
    return table


def _refuse_unsaved_formulas(path: Path, sheet: str, unset: list[set[int]]) -> None:
    """Refuse a formula whose result was never saved: it would read as a blank cell.

    Workbooks written by programs (not Excel) often hold formulas without the
    value Excel saves beside each; read for values only, such a cell is empty,
    and a journey or a count would silently go missing.
    """
    from openpyxl.utils import get_column_letter

    # the first read succeeded; a failure now is the same damage
    workbook, handle = _load_workbook(path, data_only=False)
    try:
        worksheet = workbook[sheet]
        worksheet.reset_dimensions()
        for i, cells in enumerate(worksheet.iter_rows()):
            for j, cell in enumerate(cells):
                value = cell.value
                formula = getattr(value, "text", value)  # array formulas keep their text inside
                if not (isinstance(formula, str) and formula.startswith("=")):
                    continue
                if i >= len(unset) or j in unset[i]:
                    letter = get_column_letter(j + 1)
                    raise InputError(
                        f"cell {letter}{getattr(cell, 'row', i + 1)} holds a formula "
                        f"({formula[:40]}) whose result was never saved, so it would read as "
                        "blank",
                        path=path,
                        row=getattr(cell, "row", i + 1),
                        column=letter,
                        fix="Open the workbook in Excel (or LibreOffice) and save it, so each "
                        "formula's result is stored, or paste the values in",
                    )
    except InputError:
        raise
    except Exception as err:
        _refuse_workbook(path, err)
    finally:
        workbook.close()
        handle.close()


def _load_workbook(path: Path, *, data_only: bool) -> tuple[Any, BinaryIO]:
    """The workbook at ``path`` opened read-only, with the open file it reads.

    The file is opened here, not by openpyxl: a damaged workbook makes
    openpyxl raise before it closes a file it opened itself, while a file
    given to it is ours to close. The caller closes the workbook, then the
    file; on a damaged workbook the file is closed here and the damage
    refused (:func:`_refuse_workbook`).
    """
    import openpyxl

    handle = path.open("rb")
    try:
        return openpyxl.load_workbook(handle, read_only=True, data_only=data_only), handle
    except InputError:
        handle.close()
        raise
    except Exception as err:  # openpyxl raises many kinds on a damaged workbook
        handle.close()
        _refuse_workbook(path, err)
        raise  # not reached: _refuse_workbook always raises


def _refuse_workbook(path: Path, err: Exception) -> None:
    from defusedxml import DefusedXmlException

    causes: list[BaseException] = []
    cause: BaseException | None = err
    while cause is not None and cause not in causes:  # openpyxl wraps what went wrong
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, DefusedXmlException) for c in causes):
        raise ArchiveError(
            f"this workbook's XML declares entities or a document type ({err}), which Excel "
            "never writes and which can be used to attack the reader; geomap refuses it",
            path=path,
            fix="Open it in Excel and save it again, or save the sheet as CSV UTF-8",
        ) from err
    damaged = [c for c in causes if isinstance(c, zipfile.BadZipFile | EOFError | zlib.error)]
    if damaged:
        raise ArchiveError(
            f"this workbook is damaged: {damaged[-1]}",
            path=path,
            fix="Download or copy it again, or open it in Excel and save it again",
        ) from err
    raise InputError(
        f"cannot read this workbook ({type(err).__name__}: {err})",
        path=path,
        fix="Open it in Excel and save it again as .xlsx, or save the sheet as CSV UTF-8",
    ) from err


def _choose_sheet(workbook: Any, *, path: Path, sheet: str | None) -> tuple[Any, str]:
    sheets = list(workbook.worksheets)
    names = [ws.title for ws in sheets]
    listed = ", ".join(f"'{n}'" for n in names)
    if sheet is not None:
        for ws in sheets:
            if ws.title == sheet:
                return ws, ws.title
        folded = sheet.strip().casefold()
        for ws in sheets:
            if ws.title.strip().casefold() == folded:
                return ws, ws.title
        raise InputError(
            f"this workbook has no sheet '{sheet}' (its sheets: {listed})",
            path=path,
            fix="Give one of these names with --sheet",
        )
    visible = [ws for ws in sheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if not visible:
        raise InputError(
            f"this workbook has no visible worksheet (its sheets: {listed or 'none'})",
            path=path,
            fix="Name the sheet to read with --sheet, or save the sheet as CSV UTF-8",
        )
    if len(sheets) > 1:
        logger.info("%s: reading the first sheet, '%s', of %s", path, visible[0].title, listed)
    return visible[0], visible[0].title


def _cell_text(cell: Any) -> str | None:
    """A cell's value as the text Excel shows (see the module docstring)."""
    value = cell.value
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return _zero_padded(str(value), cell)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return _zero_padded(str(int(value)), cell)
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    text = str(value)
    return text if text.strip() else None


def _zero_padded(text: str, cell: Any) -> str:
    """Whole numbers formatted with leading zeros (``00000``) as Excel shows them."""
    fmt = getattr(cell, "number_format", None)
    if isinstance(fmt, str) and len(fmt) > 1 and set(fmt) == {"0"} and not text.startswith("-"):
        return text.zfill(len(fmt))
    return text
