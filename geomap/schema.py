"""Table schemas: each table's columns declared once, and checked in one pass.

A :class:`Schema` lists a table's columns (:class:`Column`: its name, the other
spellings it is found by, its type, whether it must be there, its bounds or
choices) and the rules that tie columns together (:class:`Rule`: a lowest age
not above the highest). :meth:`Schema.validate` reads every declared column
once and converts it; the first bad cell, in reading order, raises one
:class:`~geomap.errors.InputError` naming the file, the row as the user counts
it, the column as the file spells it, what was wrong and how to fix it.

:func:`parse_numbers` is the one reader of numbers written as text that every
table uses: it accepts thousands separators (``1,050``) and blanks, and refuses
words, ``inf`` and ``nan`` (unless asked to allow them) and values out of bounds.

Examples
--------
>>> schema = Schema((Column("id", required=True, unique=True),
...                  Column("places", ("capacity",), type="number", minimum=0)))
>>> clean = schema.validate(table, what="provider list")  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from geomap.errors import DuplicateIdError, InputError
from geomap.io import find_column, normalise_name, raise_missing, row_number, source_of

ColumnType = Literal["text", "integer", "number", "date", "bool", "choice"]

#: Spellings of true and false in a yes/no column, folded to lower case.
TRUE_WORDS = frozenset({"true", "1", "yes", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "n"})
#: Date layouts read, in order: GIAS's ``dd-mm-yyyy``, ``dd/mm/yyyy``, ISO.
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d")

_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_NON_FINITE = frozenset({"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


def _first_row(table: pd.DataFrame | pd.Series, position: int) -> int:
    """The row a user sees for ``position`` (header is row 1 in tables not read from a file)."""
    if "geomap_first_row" in table.attrs or "geomap_rows" in table.attrs:
        return row_number(table, position)
    return position + 2


@dataclass(frozen=True)
class _Problem:
    """The first bad cell of one column: where it is and the error to raise."""

    position: int
    order: int
    error: InputError


class _BadCellError(Exception):
    """Carries a :class:`_Problem` out of a converter."""

    def __init__(self, position: int, error: InputError) -> None:
        super().__init__(str(error))
        self.position = position
        self.error = error


def _problem(
    table: pd.DataFrame,
    bad: np.ndarray | pd.Series,
    message: Callable[[int], str],
    *,
    column: str | None,
    fix: str | None,
    error: type[InputError],
) -> None:
    mask = np.asarray(bad, dtype=bool)
    if mask.any():
        pos = int(np.flatnonzero(mask)[0])
        raise _BadCellError(
            pos,
            error(
                message(pos),
                path=source_of(table),
                row=_first_row(table, pos),
                column=column,
                fix=fix,
            ),
        )


def _text(raw: pd.Series) -> pd.Series:
    """Cells as stripped text, blanks as missing."""
    text = raw.astype("string").str.strip()
    return text.mask(text == "")


#: A column of whole numbers written plainly: cells of ASCII digits (at most 15,
#: so exact as floats) or empty, joined by NUL characters.
_PLAIN_DIGITS = re.compile(r"(?:[0-9]{1,15})?(?:\x00(?:[0-9]{1,15})?)*")


def _plain_numbers(
    cells: pd.Series, *, minimum: float | None, maximum: float | None
) -> np.ndarray | None:
    """Floats of a column whose every cell is blank or plain digits within bounds, else ``None``.

    Most numeric columns hold nothing but digits: they are read with one
    pattern match over the whole column instead of the cell-by-cell reading of
    :func:`_parse_numbers`, which reads (and reports on) every other column.
    """
    text = cells.to_numpy(dtype=object, na_value="")
    try:
        joined = "\x00".join(text)
    except TypeError:
        return None  # values that are not text: read one by one
    if joined.count("\x00") != len(text) - 1 or _PLAIN_DIGITS.fullmatch(joined) is None:
        return None
    given = text != ""
    values = np.full(len(text), np.nan)
    values[given] = text[given].astype(float)
    numbers = values[given]
    if (minimum is not None and (numbers < minimum).any()) or (
        maximum is not None and (numbers > maximum).any()
    ):
        return None  # out of bounds: the full reading names the first bad cell
    return values


def _parse_numbers(
    table: pd.DataFrame,
    column: str,
    *,
    minimum: float | None,
    maximum: float | None,
    whole: bool,
    finite: bool,
    label: str | None,
    fix: str | None,
    error: type[InputError],
) -> pd.Series:
    plain = _plain_numbers(table[column], minimum=minimum, maximum=maximum)
    if plain is not None:
        return pd.Series(plain, index=table.index)
    raw = _text(table[column])
    spaced = raw
    commas = raw.str.contains(",", regex=False).fillna(False).to_numpy(dtype=bool)
    if commas.any():  # only cells with a comma can hold a thousands separator
        spaced = raw.copy()
        spaced[commas] = raw[commas].str.replace(
            _THOUSANDS, lambda m: m.group().replace(",", ""), regex=True
        )
    values = pd.Series(
        pd.to_numeric(spaced, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        index=table.index,
    )
    shown = label or column
    bounds = (f" from {minimum:,g}" if minimum is not None else "") + (
        f" to {maximum:,g}" if maximum is not None else ""
    )
    range_fix = (
        fix or f"Give {shown} as a {'whole ' if whole else ''}number{bounds}, or leave it blank"
    )
    words = raw.str.casefold().isin(list(_NON_FINITE)).fillna(False).to_numpy(dtype=bool)
    not_number = raw.notna().to_numpy(dtype=bool) & np.isnan(values.to_numpy()) & ~words
    _problem(
        table,
        not_number,
        lambda pos: f"'{raw.iloc[pos]}' is not a number",
        column=column,
        fix=fix or f"Give {shown} as a number, or leave it blank",
        error=error,
    )
    v = values.to_numpy()
    allowed = (words | np.isinf(v)) if not finite else np.zeros(len(v), dtype=bool)
    given = raw.notna().to_numpy(dtype=bool) & ~allowed
    out_of_range = given & ~np.isfinite(v)
    with np.errstate(invalid="ignore"):
        if minimum is not None:
            out_of_range |= given & (v < minimum)
        if maximum is not None:
            out_of_range |= given & (v > maximum)
        if whole:
            out_of_range |= given & np.isfinite(v) & (v != np.round(v))
    if words.any() and not finite:
        folded = raw[words].str.casefold().str.lstrip("+")
        values[words] = [
            np.nan if w == "nan" else -np.inf if w.startswith("-") else np.inf for w in folded
        ]
    _problem(
        table,
        out_of_range,
        lambda pos: f"'{raw.iloc[pos]}' is not a possible {shown.replace('_', ' ')}",
        column=column,
        fix=range_fix,
        error=error,
    )
    return values.astype(float)


def parse_numbers(
    table: pd.DataFrame,
    column: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    whole: bool = False,
    finite: bool = True,
    label: str | None = None,
    fix: str | None = None,
    error: type[InputError] = InputError,
) -> pd.Series:
    """Column ``column`` of ``table``, numbers written as text, as floats (NaN where blank).

    Surrounding spaces are ignored and thousands separators accepted
    (``"1,050"`` is 1050; decimal commas are converted when the file is read,
    see :func:`geomap.io.read_table`).

    Parameters
    ----------
    table
        The table, as read by :func:`geomap.io.read_table` (its ``attrs`` name
        the file and number the rows in messages).
    column
        The column to read, as the table spells it.
    minimum, maximum
        Smallest and largest value allowed (inclusive).
    whole
        Refuse values with a fractional part.
    finite
        Refuse ``inf``, ``nan`` and numbers too large to hold (the default);
        when false they are read as infinities and NaN.
    label
        What the values are, for messages ("capacity"); the column name by default.
    fix
        How to fix a bad value, replacing the message's usual advice.
    error
        The error class to raise (:class:`~geomap.errors.CoordinateError`...).

    Returns
    -------
    pandas.Series
        Floats aligned with ``table``.

    Raises
    ------
    InputError
        ``error``, for the first value that is not a number ("'six' is not a
        number") or is out of bounds or not finite ("'inf' is not a possible
        capacity"), naming the file, row and column.
    """
    try:
        return _parse_numbers(
            table,
            column,
            minimum=minimum,
            maximum=maximum,
            whole=whole,
            finite=finite,
            label=label,
            fix=fix,
            error=error,
        )
    except _BadCellError as bad:
        raise bad.error from None


@dataclass(frozen=True)
class Column:
    """One column of a table: how it is found, its type and what values it may hold.

    Parameters
    ----------
    name
        geomap's name for it (the column of the validated frame).
    aliases
        Other spellings it is found by, folded as :func:`geomap.io.normalise_name`
        folds them (``"statutorylowage"``, ``"places"``); ``name`` is tried first.
    type
        ``text`` (stripped, blank as missing), ``integer`` and ``number`` (see
        :func:`parse_numbers`), ``date`` (:data:`DATE_FORMATS`), ``bool``
        (:data:`TRUE_WORDS`, :data:`FALSE_WORDS`) or ``choice`` (a value of
        ``choices``).
    required
        The column must be in the table.
    blank
        Blank cells are allowed.
    unique
        Values must be unique (and, then, not blank).
    minimum, maximum
        Bounds of a number.
    choices
        For ``choice``: each accepted spelling, folded to lower case, and the
        value it stands for.
    label
        What the values are, for messages ("low age"); ``name`` by default.
    fix
        How to fix a bad value.
    missing
        How to fix the column's absence.
    error
        The error class raised for a bad value.
    """

    name: str
    aliases: tuple[str, ...] = ()
    type: ColumnType = "text"
    required: bool = False
    blank: bool = True
    unique: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: Mapping[str, str] | None = None
    label: str | None = None
    fix: str | None = None
    missing: str | None = None
    error: builtins.type[InputError] = InputError

    def find(self, table: pd.DataFrame) -> str | None:
        """The table's column for this one (by name, then aliases), or ``None``.

        Parameters
        ----------
        table
            The table as read.

        Returns
        -------
        str or None
            The column's name as the table spells it; ``None`` if it has none of them.
        """
        return find_column(table, (self.name, *self.aliases))

    def convert(self, table: pd.DataFrame, source: str) -> pd.Series:
        """Column ``source`` of ``table`` converted to this column's type.

        Parameters
        ----------
        table
            The table as read (``attrs`` name the file and rows for messages).
        source
            The table's name for the column (see :meth:`find`).

        Returns
        -------
        pandas.Series
            The values, blank cells missing: text as strings, ``integer`` as
            ``Int64``, ``number`` as ``Float64``, ``date`` as datetimes,
            ``bool`` as ``boolean`` and ``choice`` as the value each spelling
            stands for.

        Raises
        ------
        InputError
            ``error`` (a :class:`DuplicateIdError` for a repeated value), for
            the first bad cell.
        """
        try:
            return self._convert(table, source, fill=None)
        except _BadCellError as bad:
            raise bad.error from None

    def _convert(self, table: pd.DataFrame, source: str, *, fill: object) -> pd.Series:
        label = self.label or self.name.replace("_", " ")
        values: pd.Series
        if self.type in ("integer", "number"):
            # the text is read again there; only a filled column needs it here
            values = _parse_numbers(
                table.assign(**{source: _text(table[source]).fillna(str(fill))})
                if fill is not None
                else table,
                source,
                minimum=self.minimum,
                maximum=self.maximum,
                whole=self.type == "integer",
                finite=True,
                label=label,
                fix=self.fix,
                error=self.error,
            )
            values = values.astype("Int64" if self.type == "integer" else "Float64")
            return self._check(table, source, values, label=label)
        raw = _text(table[source])
        if fill is not None:
            raw = raw.fillna(str(fill))
        if self.type == "date":
            values = pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]")
            for fmt in DATE_FORMATS:
                todo = raw.notna() & values.isna()
                if not todo.any():
                    break
                values[todo] = pd.to_datetime(raw[todo], format=fmt, errors="coerce")
            _problem(
                table,
                raw.notna() & values.isna(),
                lambda pos: f"'{raw.iloc[pos]}' is not a date",
                column=source,
                fix=self.fix or "Give dates as DD-MM-YYYY or YYYY-MM-DD",
                error=self.error,
            )
        elif self.type == "bool":
            folded = raw.str.casefold()
            values = folded.map(
                lambda v: True if v in TRUE_WORDS else False if v in FALSE_WORDS else None,
                na_action="ignore",
            ).astype("boolean")
            _problem(
                table,
                raw.notna() & values.isna(),
                lambda pos: f"'{raw.iloc[pos]}' is not true or false",
                column=source,
                fix=self.fix or "Use True/False, yes/no or 1/0",
                error=self.error,
            )
        elif self.type == "choice":
            choices = self.choices or {}
            values = raw.str.casefold().map(dict(choices)).astype("string")
            _problem(
                table,
                raw.notna() & values.isna(),
                lambda pos: f"unknown {label} '{raw.iloc[pos]}'",
                column=source,
                fix=self.fix or f"Use one of: {', '.join(dict.fromkeys(choices.values()))}",
                error=self.error,
            )
        else:
            values = raw
        return self._check(table, source, values, label=label)

    def _check(
        self, table: pd.DataFrame, source: str, values: pd.Series, *, label: str
    ) -> pd.Series:
        """``values`` once neither blank where not allowed nor repeated where unique."""
        if not self.blank or self.unique:
            _problem(
                table,
                values.isna(),
                lambda pos: f"blank {label}" if self.type != "choice" else f"missing {label}",
                column=source,
                fix=self.fix if self.type == "choice" else f"Give every row {_a(label)}",
                error=self.error,
            )
        if self.unique:
            _unique(table, values, column=source)
        return values


def _a(label: str) -> str:
    return f"{'an' if label[:1].lower() in 'aeiou' else 'a'} {label}"


def _unique(table: pd.DataFrame, values: pd.Series, *, column: str) -> None:
    dup = values.duplicated(keep=False).to_numpy(dtype=bool)
    if not dup.any():
        return
    positions = np.flatnonzero(dup)
    first = values.iloc[int(positions[0])]
    same = [int(p) for p in positions if values.iloc[int(p)] == first]
    rows = [_first_row(table, p) for p in same]
    raise _BadCellError(
        same[1],
        DuplicateIdError(
            f"id '{first}' appears in rows {', '.join(map(str, rows))}",
            path=source_of(table),
            row=rows[1],
            column=column,
            fix="Ids must be unique: remove the repeated row or give it its own id",
        ),
    )


@dataclass(frozen=True)
class Rule:
    """A check across columns of a validated frame.

    Parameters
    ----------
    bad
        Given the validated frame, a mask of the rows that break the rule.
    message
        Given the validated frame and a row's position, what is wrong.
    column
        geomap's name of the column the error names (as the file spells it).
    fix
        How to fix it.
    """

    bad: Callable[[pd.DataFrame], np.ndarray | pd.Series]
    message: Callable[[pd.DataFrame, int], str]
    column: str
    fix: str | None = None


@dataclass(frozen=True)
class Schema:
    """A table's columns, in order, and the rules across them.

    Parameters
    ----------
    columns
        The declared columns.
    rules
        Checks across columns, run once every column is valid.
    """

    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = field(default=())

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def validate(
        self,
        table: pd.DataFrame,
        *,
        what: str,
        fill: Mapping[str, object] | None = None,
        named: Mapping[str, str | None] | None = None,
    ) -> pd.DataFrame:
        """Read every declared column of ``table`` once, converted; raise for the first bad cell.

        Parameters
        ----------
        table
            As read by :func:`geomap.io.read_table` (its ``attrs`` name the file
            and number the rows).
        what
            What the table is, for messages ("provider list").
        fill
            Values for columns (by geomap's name) that are absent or blank:
            such a column is not required, and its blank cells take the value.
        named
            Columns the user named, by geomap's name (``{"area_id": "LSOA code"}``):
            they are used instead of the aliases, and must exist.

        Returns
        -------
        pandas.DataFrame
            One column per declared column, by geomap's name, aligned with
            ``table``; absent optional columns are all missing. ``attrs`` are
            the table's plus ``geomap_columns``: geomap's name → the table's
            column (``None`` where absent).

        Raises
        ------
        MissingColumnError
            If a required column, or a column named in ``named``, is absent
            (listing the columns found).
        InputError
            For the first bad cell in reading order (the class the column
            declares), or the first row breaking a rule.
        """
        fill = dict(fill or {})
        chosen = {k: v for k, v in (named or {}).items() if v is not None}
        found = _find_columns(table, self.columns, chosen)
        for column in self.columns:
            if column.required and found[column.name] is None and column.name not in fill:
                raise_missing(
                    table, column.name, what=f"'{column.name}' ({what})", fix=column.missing
                )
        converted: dict[str, pd.Series] = {}
        problems: list[_Problem] = []
        for order, column in enumerate(self.columns):
            source = found[column.name]
            if source is None:
                value = fill.get(column.name)
                empty = pd.NaT if column.type == "date" else pd.NA
                converted[column.name] = pd.Series(
                    empty if value is None else value, index=table.index, dtype=_DTYPES[column.type]
                )
                continue
            try:
                converted[column.name] = column._convert(table, source, fill=fill.get(column.name))
            except _BadCellError as bad:
                problems.append(_Problem(bad.position, order, bad.error))
        if problems:
            raise min(problems, key=lambda p: (p.position, p.order)).error
        # one frame built at once (inserting a column at a time copies the frame each time)
        out = pd.DataFrame(
            {name: values.array for name, values in converted.items()}, index=table.index
        )
        out.attrs.update(table.attrs)
        out.attrs["geomap_columns"] = found
        for rule in self.rules:
            source = found.get(rule.column) or rule.column
            mask = np.asarray(pd.Series(rule.bad(out)).fillna(False), dtype=bool)
            message = functools.partial(rule.message, out)
            try:
                _problem(
                    table,
                    mask,
                    message,
                    column=source,
                    fix=rule.fix,
                    error=InputError,
                )
            except _BadCellError as bad:
                raise bad.error from None
        return out


def _find_columns(
    table: pd.DataFrame, columns: tuple[Column, ...], chosen: Mapping[str, str]
) -> dict[str, str | None]:
    """The table's column for each declared one (``None`` where it has none).

    Found as :meth:`Column.find` and :func:`~geomap.io.find_column` find them
    (a column in ``chosen`` by its given name), the table's names folded once.
    """
    folded = {normalise_name(c): c for c in table.columns}
    found: dict[str, str | None] = {}
    for column in columns:
        explicit = chosen.get(column.name)
        if explicit is None:
            found[column.name] = next(
                (folded[alias] for alias in (column.name, *column.aliases) if alias in folded),
                None,
            )
        elif explicit in table.columns:
            found[column.name] = explicit
        elif normalise_name(explicit) in folded:
            found[column.name] = folded[normalise_name(explicit)]
        else:
            found[column.name] = find_column(table, (), explicit=explicit)  # raises
    return found


_DTYPES: dict[str, str] = {
    "text": "string",
    "choice": "string",
    "integer": "Int64",
    "number": "Float64",
    "date": "datetime64[ns]",
    "bool": "boolean",
}
