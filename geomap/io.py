"""Reading messy real-world files and writing outputs safely.

Readers return tables that remember where they came from
(``table.attrs["geomap_source"]``) so later validation can name the file and
the row. Row numbers follow what a user sees: in a CSV the header is row 1 and
the first record row 2, as in a spreadsheet; in a GeoJSON or GeoPackage the
first feature is row 1.

Writers never leave a half-written file in place of a good one: each file is
written to a temporary name beside its target and renamed over it only when
complete. CSV cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NoReturn

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geomap.errors import EmptyInputError, InputError, MissingColumnError, OutputError

#: File suffixes read as vector layers rather than tables.
GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".gml")

#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def read_table(path: str | Path, *, what: str = "table") -> pd.DataFrame | gpd.GeoDataFrame:
    """Read a CSV as text columns, or a vector file as a GeoDataFrame.

    Parameters
    ----------
    path
        A ``.csv`` (or ``.txt``) file, or a vector file GDAL reads (GeoJSON,
        GeoPackage, shapefile, FlatGeobuf).
    what
        What the file is meant to hold, for error messages ("provider list").

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        CSV columns are read as strings (blank cells as missing) so that every
        value can be validated with its row and column; ``attrs`` carries
        ``geomap_source`` (the path) and ``geomap_first_row`` (the row number
        of the first record).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file not found", path=path, fix="Check the path and file name")
    if path.is_dir():
        raise InputError(f"expected a {what} file but this is a folder", path=path)
    if path.stat().st_size == 0:
        raise EmptyInputError(
            f"the {what} file is empty", path=path, fix="Give a file with a header and rows"
        )
    suffix = path.suffix.lower()
    table: pd.DataFrame | gpd.GeoDataFrame
    if suffix in GEO_SUFFIXES:
        try:
            table = gpd.read_file(path, engine="pyogrio")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as err:
            raise InputError(
                f"cannot read this {what} as a vector file ({err})",
                path=path,
                fix="Give a valid GeoJSON, GeoPackage or shapefile, or a CSV",
            ) from err
        first_row = 1
    else:
        try:
            table = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
                skip_blank_lines=False,
                encoding="utf-8-sig",
            )
        except pd.errors.EmptyDataError as err:
            raise EmptyInputError(
                f"the {what} file is empty", path=path, fix="Give a file with a header and rows"
            ) from err
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise InputError(
                f"cannot read this {what} as CSV ({err})",
                path=path,
                fix="Save it as comma-separated UTF-8 text with one header row",
            ) from err
        table.columns = [str(c).strip() for c in table.columns]
        first_row = 2
        # blank lines are skipped, but rows keep the numbers a spreadsheet shows
        blank = table.isna().all(axis=1).to_numpy()
        if blank.any():
            rows = np.flatnonzero(~blank) + first_row
            table = table.loc[~blank].reset_index(drop=True)
            table.attrs["geomap_rows"] = rows.tolist()
    if len(table) == 0:
        raise EmptyInputError(
            f"the {what} file has a header but no rows",
            path=path,
            fix="Add at least one row",
        )
    table.attrs["geomap_source"] = str(path)
    table.attrs["geomap_first_row"] = first_row
    return table


def source_of(table: pd.DataFrame | pd.Series) -> str | None:
    """The file a table was read from, if known."""
    source = table.attrs.get("geomap_source")
    return None if source is None else str(source)


def row_number(table: pd.DataFrame | pd.Series, position: int) -> int:
    """The row number a user sees for the record at 0-based ``position``."""
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
    """
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return
    pos = int(np.flatnonzero(mask)[0])
    row = row_number(table, pos) if "geomap_first_row" in table.attrs else pos + 2
    raise error(message(pos), path=path or source_of(table), row=row, column=column, fix=fix)


def normalise_name(name: str) -> str:
    """Column name folded for matching: lower case, spaces and dashes to ``_``."""
    return "_".join(str(name).strip().lower().replace("-", " ").replace(".", " ").split())


def find_column(
    table: pd.DataFrame, aliases: tuple[str, ...], *, explicit: str | None = None
) -> str | None:
    """Name of the first column matching one of ``aliases`` (folded), or ``None``.

    ``explicit`` (a column the user named) wins and must exist.
    """
    folded = {normalise_name(c): c for c in table.columns}
    if explicit is not None:
        if explicit in table.columns:
            return explicit
        if normalise_name(explicit) in folded:
            return folded[normalise_name(explicit)]
        raise_missing(table, explicit, what=f"the column '{explicit}' you named")
    for alias in aliases:
        if alias in folded:
            return folded[alias]
    return None


def raise_missing(
    table: pd.DataFrame, column: str, *, what: str, fix: str | None = None
) -> NoReturn:
    """Raise :class:`MissingColumnError` listing the columns the table has."""
    have = ", ".join(str(c) for c in table.columns if c != "geometry")
    raise MissingColumnError(
        f"missing required column {what} (columns found: {have})",
        path=source_of(table),
        column=column,
        fix=fix,
    )


# --------------------------------------------------------------------------- writing


def ensure_output_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check that files can be written in it.

    Raises
    ------
    OutputError
        If the folder cannot be created or written to.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".geomap-write-test-"):
            pass
    except OSError as err:
        raise OutputError(
            f"output folder {path} is not writable ({err.strerror or err}). "
            "Choose another folder with --out, or fix its permissions"
        ) from err
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    If the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    if not target.parent.exists():
        raise OutputError(
            f"cannot write {target}: folder {target.parent} does not exist. "
            "Create it or choose another output path"
        )
    tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as err:
        _remove(tmp)
        if isinstance(err, OutputError):
            raise
        raise OutputError(f"cannot write {target} ({err.strerror or err})") from err
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def write_text(text: str, path: str | Path) -> Path:
    """Write text (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``table`` whose text cells cannot run as spreadsheet formulas.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
    gets a leading apostrophe, which spreadsheets show as text. Numbers (in
    numeric columns, or written as text such as ``-2.71``) are left alone.
    """
    out = table.copy()
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        text = series.astype("string")
        is_number = pd.to_numeric(text, errors="coerce").notna().to_numpy()
        risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool) & ~is_number
        if risky.any():
            out[column] = series.where(~risky, "'" + text)
    return out


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV atomically, without geometry and with formulas neutralised."""
    if isinstance(table, gpd.GeoDataFrame):
        table = pd.DataFrame(table.drop(columns=table.geometry.name))
    safe = neutralise_formulas(table)
    with atomic_path(path) as tmp:
        safe.to_csv(tmp, index=False, encoding="utf-8")
    return Path(path)


def write_vector(layer: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write one layer to GeoJSON or GeoPackage (by suffix) atomically."""
    path = Path(path)
    driver = "GPKG" if path.suffix.lower() == ".gpkg" else "GeoJSON"
    with atomic_path(path) as tmp:
        _write_layer(layer, tmp, driver=driver, name=path.stem)
    return path


def write_geopackage(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write several named layers into one GeoPackage atomically."""
    with atomic_path(path) as tmp:
        for name, layer in layers.items():
            _write_layer(layer, tmp, driver="GPKG", name=name)
    return Path(path)


def _write_layer(layer: gpd.GeoDataFrame, path: Path, *, driver: str, name: str) -> None:
    data = layer.copy()
    for column in data.columns:
        if column != data.geometry.name and pd.api.types.is_bool_dtype(data[column]):
            data[column] = data[column].astype("int8")
    data = data.rename(columns=_safe_field_names(data, geometry=data.geometry.name))
    try:
        pyogrio.write_dataframe(data, path, driver=driver, layer=name)
    except (
        pyogrio.errors.FieldError,
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
    ) as err:
        raise OutputError(f"cannot write layer '{name}' to {path.name} ({err})") from err


def _safe_field_names(table: pd.DataFrame, *, geometry: str) -> dict[str, str]:
    """Renames that make columns valid GeoPackage fields: no ``fid``, no names equal but for case."""
    seen: set[str] = {"fid", geometry.lower()}
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


@contextlib.contextmanager
def staged_output(folder: str | Path) -> Iterator[Path]:
    """Yield a staging folder inside ``folder``; move everything in it into ``folder`` on success.

    Files are written into the staging folder first; only when the whole block
    succeeds are they moved into place (each with an atomic rename), so a
    failure part-way leaves ``folder`` exactly as it was.
    """
    out = ensure_output_dir(folder)
    stage = Path(tempfile.mkdtemp(prefix=".geomap-staging-", dir=out))
    try:
        yield stage
        for item in sorted(stage.rglob("*")):
            if item.is_file():
                target = out / item.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, target)
    except OSError as err:
        if isinstance(err, OutputError):
            raise
        raise OutputError(f"cannot write into {out} ({err.strerror or err})") from err
    finally:
        shutil.rmtree(stage, ignore_errors=True)
