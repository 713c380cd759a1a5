"""The ``geomap`` command line: a thin layer over the library.

Each command parses its options, calls the library, writes its outputs and
turns geomap's errors into one clear message and a non-zero exit code. Options
that travel together (the inputs, the public-transport source, the barrier
thresholds) are bundled, so every command takes them the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import inspect
import logging
import math
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from geomap import __version__, settings
from geomap.errors import GeomapError, GeomapWarning, InputError

if TYPE_CHECKING:
    from geomap.access import CatchmentAccess
    from geomap.clock import TimeOfDay
    from geomap.pipeline import Inputs
    from geomap.post16 import BarrierThresholds, Post16Analysis
    from geomap.study_area import StudyArea
    from geomap.travel.base import TravelTimes

F = TypeVar("F", bound=Callable[..., Any])

KIND_CHOICE = click.Choice([*settings.KINDS, "post16"])
MODE_CHOICE = click.Choice(["car", "walk", "bike"])
NETWORK_MODE = click.Choice(["drive", "walk", "bike"])
PATH = click.Path(dir_okay=False, path_type=Path)
FOLDER = click.Path(file_okay=False, path_type=Path)


#: Control characters a terminal would act on (escape sequences, bells); line breaks are kept.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _printable(text: str) -> str:
    """``text`` with characters a terminal would act on shown as ``<U+XXXX>``."""
    return _CONTROL.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def _friendly(func: F) -> F:
    """Turn errors into a one-line message and exit code 1, with no traceback.

    geomap's own errors say what was wrong and how to fix it; a file the
    operating system will not let geomap read or write is named with the
    reason; anything else is a fault geomap should have caught, said so in
    one line (``-vv`` shows where it happened).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeomapError as err:
            raise click.ClickException(_printable(str(err))) from err
        except GeomapWarning as err:  # a warning the caller turned into an error (-W error::...)
            raise click.ClickException(
                f"{_printable(str(err))} ({type(err).__name__}, which this run treats as an error)"
            ) from err
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.ClickException(
                "interrupted; files already written were left as they were"
            ) from None
        except OSError as err:
            name = err.filename or "a file"
            raise click.ClickException(
                f"{name}: {err.strerror or err}. Check that the path is right and that you may "
                "read (or, for outputs, write) it"
            ) from err
        except MemoryError as err:
            raise click.ClickException(
                "ran out of memory; the inputs are larger than this machine can hold"
            ) from err
        except Exception as err:
            detail = f"{type(err).__name__}: {err}"
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                detail += "\n" + "".join(traceback.format_exception(err))
            raise click.ClickException(
                f"stopped on an unexpected error ({_printable(detail)}); nothing was written. This is a fault "
                "in geomap or an input it does not check yet: run again with -vv to see where, "
                "and please report it"
            ) from err

    return wrapper  # type: ignore[return-value]


def _paths_in(value: Any) -> Iterator[Path]:
    """Files named by an option value: a path, paths in a tuple, or path fields of an option bundle."""
    if isinstance(value, Path):
        yield value
    elif isinstance(value, str) and value and os.path.exists(value):
        yield Path(value)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _paths_in(item)
    elif isinstance(value, InputChoice):
        yield from value.files()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _paths_in(getattr(value, item.name))


def _writes(
    *, files: Mapping[str, tuple[str, ...]] | None = None, folders: Sequence[str] = ()
) -> Callable[[F], F]:
    """Check a command's outputs before it does any work (put it directly above the ``def``).

    ``files`` maps the parameter of each output file to the suffixes it may
    have; ``folders`` names output-folder parameters. Every other path the
    command is given is an input, which no output may be or hold. Two outputs
    may not be the same file.
    """
    files = dict(files or {})

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from geomap.io import check_output_file, check_output_folder

            outputs = {*files, *folders}
            read = [p for k, v in kwargs.items() if k not in outputs for p in _paths_in(v)]
            seen: dict[str, str] = {}
            for name, suffixes in files.items():
                if kwargs.get(name) is not None:
                    option = "--" + name.removesuffix("_path").replace("_", "-")
                    checked = check_output_file(
                        kwargs[name], formats=suffixes, inputs=read, option=option
                    )
                    key = os.path.realpath(checked)
                    if key in seen:
                        raise InputError(
                            f"{seen[key]} and {option} name the same file ({kwargs[name]})",
                            fix="Give each output its own file name",
                        )
                    seen[key] = option
            for name in folders:
                if kwargs.get(name) is not None:
                    option = "--" + name.removesuffix("_dir").replace("_", "-")
                    check_output_folder(kwargs[name], inputs=read, option=option)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class _Finite(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A finite number above (or from) a lower bound: ``nan`` and ``inf`` are refused."""

    name = "number"

    def __init__(
        self, minimum: float = 0.0, *, inclusive: bool = False, maximum: float = math.inf
    ) -> None:
        self.minimum = minimum
        self.inclusive = inclusive
        self.maximum = maximum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The value as a float, or a usage error saying what is allowed."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"'{value}' is not a number", param, ctx)
        low = f"{self.minimum:g}"
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        if number < self.minimum or (number == self.minimum and not self.inclusive):
            self.fail(
                f"{value} is not allowed: give a number {'of at least' if self.inclusive else 'above'} {low}",
                param,
                ctx,
            )
        if number > self.maximum:
            self.fail(f"{value} is too large: give at most {self.maximum:g}", param, ctx)
        return number


#: Minutes of a journey or a limit on one: a day at most.
MINUTES = _Finite(0.0, maximum=24 * 60)


def _apply_warning_options(options: Sequence[str]) -> None:
    """Apply ``-W``/``PYTHONWARNINGS`` options that name geomap's warnings.

    Python reads ``-W error::geomap.GeomapWarning`` before the installed
    package can be imported, ignores it and says so; geomap applies such
    options itself, so the run treats its warnings as asked.
    """
    import geomap.errors

    actions = {"default", "error", "ignore", "always", "module", "once"}
    for option in options:
        parts = [p.strip() for p in option.split(":")]
        parts += [""] * (5 - len(parts))
        action, message, category, module, lineno = parts[:5]
        if not category.startswith("geomap.") or action not in actions:
            continue
        found = getattr(geomap.errors, category.rsplit(".", 1)[1], None)
        if isinstance(found, type) and issubclass(found, Warning):
            warnings.filterwarnings(
                action,  # type: ignore[arg-type]
                message,
                found,
                module,
                int(lineno) if lineno.isdigit() else 0,
            )


#: Warnings already printed in this run.
_SHOWN: set[str] = set()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Print geomap's warnings as one plain line on stderr, each once; others as Python does."""
    if issubclass(category, GeomapWarning):
        text = f"Warning: {_printable(str(message))}"
        if text not in _SHOWN:
            _SHOWN.add(text)
            click.echo(text, err=True)
    else:
        click.echo(warnings.formatwarning(message, category, filename, lineno, line), err=True)


def _bundle(
    options: Sequence[Callable[[F], F]], name: str, build: Callable[..., Any]
) -> Callable[[F], F]:
    """Add ``options`` to a command and hand it one object, ``build(**their values)``, as ``name``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {k: kwargs.pop(k) for k in inspect.signature(build).parameters if k in kwargs}
            kwargs[name] = build(**values)
            return func(*args, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _travel(
    modes: Sequence[str], networks: Sequence[Path] = (), *, study: StudyArea
) -> list[TravelTimes]:
    """A travel-time source per mode: a network given, or cached (``--network auto``), else the estimate.

    Which source each mode uses is said on stderr.
    """
    from geomap.pipeline import choose_travel

    auto = [p for p in networks if str(p) == "auto"]
    files = [p for p in networks if str(p) != "auto"]
    notes: list[str] = []
    sources = choose_travel(
        study, modes, networks=files, use_cache=True if auto else None, notes=notes
    )
    for note in notes:
        _echo_err(note)
    return sources


def _parse_arrive_by(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> TimeOfDay | None:
    from geomap.clock import parse_time

    if value is None:
        return None
    try:
        return parse_time(value, with_seconds=False)
    except InputError as err:
        raise click.BadParameter(str(err)) from err


def _parse_thresholds(
    _ctx: click.Context, _param: click.Parameter, values: Sequence[str]
) -> dict[str, dict[str, float]]:
    from geomap.gaps import parse_threshold

    table: dict[str, dict[str, float]] = {}
    for text in values:
        try:
            mode, kind, minutes = parse_threshold(text)
        except InputError as err:
            raise click.BadParameter(str(err)) from err
        table.setdefault(mode, {})[kind] = minutes
    return table


# --------------------------------------------------------------------------- option bundles


@dataclass(frozen=True)
class InputChoice:
    """The study area, and which providers, early-years list and partnerships to analyse."""

    study_area: Path | None = None
    providers_path: Path | None = None
    early_years_path: Path | None = None
    partnerships_path: Path | None = None
    partnership_base: str | None = None
    include_independent: bool = False
    sheet: str | None = None

    def study(self) -> StudyArea:
        """The study area (``--study-area``, else the default), with the user's files in place of its own."""
        from geomap.study_area import default_study_area, load_study_area

        study = (
            load_study_area(self.study_area)
            if self.study_area is not None
            else default_study_area()
        )
        paths = (self.providers_path, self.early_years_path, self.partnerships_path)
        sheets = _sheets(self.sheet, *paths)
        return study.with_inputs(
            providers=self.providers_path,
            providers_sheet=sheets[0],
            early_years=self.early_years_path,
            early_years_sheet=sheets[1],
            partnerships=self.partnerships_path,
            partnership_base=self.partnership_base,
            partnerships_sheet=sheets[2],
        )

    def files(self) -> list[Path]:
        """Every file these inputs read: the study-area file, what it names, and the options."""
        given = [
            p
            for p in (
                self.study_area,
                self.providers_path,
                self.early_years_path,
                self.partnerships_path,
            )
            if p is not None
        ]
        return [*given, *self.study().files()]

    def load(self) -> Inputs:
        """Load and check the inputs (see :func:`geomap.pipeline.load_inputs`)."""
        from geomap.pipeline import load_inputs

        return load_inputs(self.study())


def _sheets(sheet: str | None, *paths: Path | None) -> list[str | None]:
    """``--sheet`` for each input that has sheets (a workbook or GeoPackage); None for the others.

    Raises
    ------
    InputError
        If a sheet is named but no input has sheets, so the option is not
        silently ignored.
    """
    from geomap.io import WORKBOOK_SUFFIXES

    def has_sheets(path: Path | None) -> bool:
        return path is not None and path.suffix.lower() in (*WORKBOOK_SUFFIXES, ".gpkg")

    if sheet is not None and not any(has_sheets(p) for p in paths):
        raise InputError(
            f"--sheet {sheet} names a worksheet, but no input is a workbook (.xlsx) or GeoPackage",
            fix="Leave out --sheet, or give the workbook itself",
        )
    return [sheet if has_sheets(p) else None for p in paths]


sheet_option = click.option(
    "--sheet",
    metavar="NAME",
    help="Worksheet of each Excel workbook given (or layer of a GeoPackage); the first by default.",
)


study_area_option = click.option(
    "--study-area",
    type=PATH,
    help="Study-area file (TOML) describing the council's boundary, areas, population, "
    "providers and travel sources; the shipped one by default (or $GEOMAP_STUDY_AREA).",
)

input_options = _bundle(
    [
        study_area_option,
        click.option(
            "--providers",
            "providers_path",
            type=PATH,
            help="Provider list (CSV, Excel, GeoJSON, GeoPackage; a GIAS download as it comes) "
            "instead of the study area's.",
        ),
        click.option(
            "--early-years",
            "early_years_path",
            type=PATH,
            help="Further early-years list (name, postcode or coordinates, places; an Ofsted "
            "early-years register extract as it comes) added to the providers.",
        ),
        click.option(
            "--partnerships",
            "partnerships_path",
            type=PATH,
            help="CSV of area code → partnership name, dissolved into partnership areas.",
        ),
        click.option(
            "--partnership-base",
            metavar="LAYER",
            help="Layer of the study area the partnership codes refer to: 'areas' or a layer "
            "the study-area file names (e.g. ward, lsoa21, msoa11); its first summary layer by default.",
        ),
        click.option(
            "--include-independent",
            is_flag=True,
            help="Count independent (fee-paying) schools as provision.",
        ),
        sheet_option,
    ],
    "inputs",
    InputChoice,
)

threshold_option = click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="MODE:KIND=MIN",
    callback=_parse_thresholds,
    help="Override a threshold, e.g. walk:primary=30 (repeatable).",
)

network_option = click.option(
    "--network",
    "networks",
    multiple=True,
    type=PATH,
    help="Network to route on (GraphML from `geomap network build/fetch`, or .osm/.osm.pbf); "
    "repeat for several modes; 'auto' uses a network cached by `geomap network fetch` that covers "
    "the study area. Default: the study area's networks, else the straight-line estimate.",
)

online_tiles_option = click.option(
    "--online-tiles", is_flag=True, help="Maps load OpenStreetMap tiles (needs internet)."
)


@dataclass(frozen=True)
class PtChoice:
    """Where public-transport times come from: a GTFS timetable, a routed table, or the study area's."""

    pt_table: Path | None = None
    pt_sites: Path | None = None
    pt_name: str = "table"
    max_site_km: float = 1.5
    gtfs: Path | None = None
    service_date: str | None = None
    arrive_by: TimeOfDay | None = None

    def source(self, study: StudyArea, *, arrive_by: TimeOfDay | None = None) -> TravelTimes:
        """The public-transport source; ``arrive_by`` is the deadline when none was given.

        Without ``--gtfs`` or ``--pt-table``, the study area's own source; an
        error if it has none.
        """
        from geomap.pipeline import choose_public_transport
        from geomap.travel.gtfs import TimetableTravelTimes, load_gtfs
        from geomap.travel.tables import TableTravelTimes

        if self.gtfs is None:
            given = [
                o for o, v in (("--date", self.service_date), ("--arrive-by", self.arrive_by)) if v
            ]
            if given:
                raise InputError(
                    f"{' and '.join(given)} only apply to a GTFS timetable, and no --gtfs was given",
                    fix="Give the timetable with --gtfs, or leave them out",
                )
        if self.pt_table is None and self.pt_sites is not None:
            raise InputError(
                "--pt-sites goes with --pt-table, and no --pt-table was given",
                fix="Give the travel-time table with --pt-table, or leave --pt-sites out",
            )
        if self.gtfs is not None:
            if self.pt_table is not None:
                raise InputError("give either --gtfs or --pt-table, not both")
            if self.service_date is None:
                raise InputError(
                    "--gtfs needs --date",
                    fix="Give the school day to plan for, e.g. --date 2026-11-25",
                )
            timetable = load_gtfs(self.gtfs, date=self.service_date)
            return TimetableTravelTimes(
                timetable,
                arrive_by=next(
                    t for t in (self.arrive_by, arrive_by, settings.PT_ARRIVE_BY) if t is not None
                ),
            )
        if self.pt_table is None:
            own = choose_public_transport(study, max_site_km=self.max_site_km)
            if own is None:
                raise InputError(
                    f"{study.name} has no public-transport times, and neither --gtfs nor "
                    "--pt-table was given",
                    path=study.path,
                    fix="Give a timetable with --gtfs and --date, or a routed table with --pt-table "
                    "and --pt-sites (or add [public_transport] to the study-area file)",
                )
            return own
        if self.pt_sites is None:
            raise InputError(
                "--pt-table needs --pt-sites", fix="Give the table's site locations (id + location)"
            )
        return TableTravelTimes.from_files(
            self.pt_table,
            self.pt_sites,
            source=self.pt_table.name,
            name=self.pt_name,
            max_site_km=self.max_site_km,
        )


pt_options = _bundle(
    [
        click.option(
            "--pt-table",
            type=PATH,
            help="Public-transport times table (long from,to,minutes or wide), e.g. from r5r, OTP or DfT JTS.",
        ),
        click.option(
            "--pt-sites",
            type=PATH,
            help="Points of the table's sites (id + location), needed with --pt-table.",
        ),
        click.option(
            "--pt-name",
            default="table",
            show_default=True,
            help="Short name of the table for outputs.",
        ),
        click.option(
            "--max-site-km",
            type=_Finite(0.0, maximum=50.0),
            default=1.5,
            show_default=True,
            help="A provider takes the time of a table site at most this far away.",
        ),
        click.option(
            "--gtfs",
            type=click.Path(path_type=Path),
            help="GTFS timetable (zip or folder) to route public transport on, instead of a table.",
        ),
        click.option(
            "--date",
            "service_date",
            help="Day to plan GTFS journeys for (YYYY-MM-DD), with --gtfs.",
        ),
        click.option(
            "--arrive-by",
            callback=_parse_arrive_by,
            help="GTFS journeys arrive by this time (HH:MM); 09:00, or the scenario's arrive_by.",
        ),
    ],
    "pt",
    PtChoice,
)


def _barriers(pt_max_minutes: float, ratio: float) -> BarrierThresholds:
    from geomap.post16 import BarrierThresholds

    for label, value in (("--pt-max-minutes", pt_max_minutes), ("--ratio", ratio)):
        if not value > 0:
            raise click.BadParameter(f"{label} must be positive, not {value:g}")
    return BarrierThresholds(pt_max_minutes=pt_max_minutes, ratio=ratio)


barrier_options = _bundle(
    [
        click.option(
            "--pt-max-minutes",
            type=MINUTES,
            default=60.0,
            show_default=True,
            help="Public transport over this many minutes is a barrier.",
        ),
        click.option(
            "--ratio",
            type=_Finite(0.0, maximum=100.0),
            default=2.0,
            show_default=True,
            help="Public transport more than this many times the car time is a barrier.",
        ),
    ],
    "barriers",
    _barriers,
)

origins_option = click.option(
    "--origins",
    type=click.Choice(["areas", "postcodes"]),
    default="areas",
    show_default=True,
    help="Where journeys start: one point per area, or every postcode of the study area "
    "(children per postcode are an estimate: the area's shared among its postcodes).",
)


def _with_origins(loaded: Inputs, origins: str) -> Inputs:
    """The inputs with journeys starting at postcodes when ``--origins postcodes`` asks."""
    from geomap.pipeline import postcode_inputs

    return postcode_inputs(loaded) if origins == "postcodes" else loaded


# --------------------------------------------------------------------------- commands


#: The garbage collector's thresholds for a command (Python's own are 700, 10, 10).
GC_THRESHOLDS = (50_000, 10, 10)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="geomap")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Where education provision is, who can reach it, and where the gaps are.

    \b
    Example:
      geomap report --out out      # the whole analysis on the shipped data
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    warnings.showwarning = _show_warning
    _SHOWN.clear()
    _apply_warning_options(sys.warnoptions)
    # a command builds many short-lived objects (tables, GeoJSON, HTML) and few
    # cycles: collecting them less often cut the report's collection time from
    # about 0.7 s to 0.2 s, with the same peak memory; a caller running commands
    # in its own process gets its own thresholds back after each
    before = gc.get_threshold()
    click.get_current_context().call_on_close(lambda: gc.set_threshold(*before))
    gc.set_threshold(*GC_THRESHOLDS)


@main.command()
@_friendly
@click.option(
    "--out", "out_dir", type=FOLDER, default=Path("out"), show_default=True, help="Output folder."
)
@input_options
@threshold_option
@click.option(
    "--mode",
    "modes",
    type=MODE_CHOICE,
    multiple=True,
    default=("car", "walk"),
    show_default=True,
    help="Travel modes to analyse (repeatable).",
)
@online_tiles_option
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@network_option
@origins_option
@click.option(
    "--figures/--no-figures",
    default=True,
    show_default=True,
    help="Also write every map as a 300 dpi PNG and a PDF for papers (figures/).",
)
@_writes(folders=("out_dir",))
def report(
    out_dir: Path,
    inputs: InputChoice,
    thresholds: dict[str, dict[str, float]],
    modes: tuple[str, ...],
    online_tiles: bool,
    quiet: bool,
    networks: tuple[Path, ...],
    origins: str,
    figures: bool,
) -> None:
    """Run the main job: maps, GeoPackage and tables into an output folder.

    Writes OUT/index.html (start here), OUT/explore.html (every map on one
    page), OUT/maps/*.html (offline maps), OUT/figures/*.png and *.pdf (the
    maps as figures for papers), OUT/geomap.gpkg (layers for QGIS) and
    OUT/*.csv (tables for Excel).

    \b
    Examples:
      geomap report --out out
      geomap report --out out --partnerships examples/high_school_localities_example.csv
      geomap report --out out --early-years my_nurseries.csv --threshold walk:primary=30
      geomap report --out out --network drive.graphml --network walk.graphml
      geomap report --study-area shropshire.toml --out out/shropshire
      geomap report --out out --origins postcodes
    """
    from geomap.pipeline import run
    from geomap.report import write_report

    progress = None if quiet else _echo_err
    if progress:
        progress("[1/6] loading providers, areas, population and origins")
    loaded = inputs.load()
    result = run(
        loaded,
        travel=_travel(modes, networks, study=loaded.study),
        thresholds=thresholds,
        include_independent=inputs.include_independent,
        progress=progress,
        origins=origins,
        networks=[p for p in networks if str(p) != "auto"] or None,
    )
    files = write_report(
        result, out_dir, online_tiles=online_tiles, progress=progress, figures=figures
    )
    click.echo(f"Wrote {len(files)} files to {out_dir}; open {out_dir / 'index.html'}")
    for note in result.notes:
        click.echo(f"- {note}")


@main.command()
@_friendly
@click.argument("file", required=False, type=PATH)
@click.option(
    "--kind", help="Kind for every row of a list without a kind column (e.g. early_years)."
)
@click.option("--include-closed", is_flag=True, help="Keep closed providers.")
@click.option(
    "--postcodes",
    type=PATH,
    help="Postcode lookup CSV (postcode, easting, northing) instead of the study area's.",
)
@study_area_option
@click.option(
    "--out", "out_path", type=PATH, help="Write the normalised list (.csv, .geojson or .gpkg)."
)
@sheet_option
@_writes(files={"out_path": (".csv", ".geojson", ".json", ".gpkg")})
def providers(
    file: Path | None,
    kind: str | None,
    include_closed: bool,
    postcodes: Path | None,
    out_path: Path | None,
    sheet: str | None,
    study_area: Path | None,
) -> None:
    """Load, validate and summarise a provider list (the study area's by default).

    FILE is a table (CSV or other text in any common encoding and separator,
    or an Excel workbook), GeoJSON or GeoPackage with id, name, kind and a
    location (lon/lat, easting/northing or postcode); a GIAS establishment
    download or an Ofsted early-years register extract is read as downloaded.
    Prints counts per kind.

    \b
    Examples:
      geomap providers
      geomap providers nurseries.csv --kind early_years --out nurseries_clean.csv
      geomap providers edubasealldata20261201.csv --out open_schools.gpkg
      geomap providers settings.xlsx --sheet Nurseries --kind early_years
    """
    from geomap.io import write_csv, write_vector
    from geomap.pipeline import study_boundary
    from geomap.providers import load_providers, summarise_providers
    from geomap.report import provider_output

    study = InputChoice(study_area=study_area).study()
    loaded = load_providers(
        file if file is not None else study.providers.path,
        kind=kind,
        include_closed=include_closed,
        postcodes=postcodes if postcodes is not None else study.postcodes,
        boundary=study_boundary(study),
        sheet=_sheets(sheet, file)[0] if file is not None else study.providers.sheet,
        columns=None if file is not None else study.providers.columns,
    )
    click.echo(f"{loaded.attrs['source']}: {len(loaded)} providers")
    click.echo(summarise_providers(loaded).to_string(index=False))
    closed = loaded.attrs.get("closed_excluded", 0)
    if closed:
        click.echo(f"{closed} closed providers excluded (use --include-closed to keep them).")
    click.echo(
        f"{loaded.attrs.get('outside_county', 0)} providers lie outside {study.name}; "
        "they are kept (families cross the border) and flagged in_county=False."
    )
    note = study.providers.early_years_note
    if loaded["offers_early_years"].any() and kind is None and file is None and note:
        click.echo(note)
    if out_path is not None:
        out = provider_output(loaded)
        suffix = out_path.suffix.lower()
        if suffix == ".gpkg":
            write_vector(out, out_path)
        elif suffix in (".geojson", ".json"):
            write_vector(out.to_crs(settings.LONLAT_CRS), out_path)
        else:
            write_csv(out, out_path)
        click.echo(f"Wrote {out_path}")


@main.command()
@_friendly
@click.option(
    "--origins",
    "origins_path",
    required=True,
    type=PATH,
    help="Points with an id column (CSV or GeoJSON).",
)
@click.option(
    "--destinations",
    "destinations_path",
    required=True,
    type=PATH,
    help="Points with an id column (CSV or GeoJSON).",
)
@click.option(
    "--mode",
    type=click.Choice(["car", "walk", "bike", "pt"]),
    default="car",
    show_default=True,
    help="Travel mode; pt is public transport (the study area's, or --gtfs/--pt-table).",
)
@click.option("--nearest", is_flag=True, help="Only the nearest destination for each origin.")
@click.option(
    "--out", "out_path", required=True, type=PATH, help="Output CSV: from_id,to_id,minutes,method."
)
@network_option
@pt_options
@sheet_option
@study_area_option
@_writes(files={"out_path": (".csv",)})
def times(
    origins_path: Path,
    destinations_path: Path,
    mode: str,
    nearest: bool,
    out_path: Path,
    networks: tuple[Path, ...],
    pt: PtChoice,
    sheet: str | None,
    study_area: Path | None,
) -> None:
    """Travel times from every origin to every destination.

    Points may give lon/lat, easting/northing or a postcode, and need an id.
    Public transport (--mode pt) takes a GTFS timetable (--gtfs, --date,
    --arrive-by) or a routed table (--pt-table, --pt-sites); the study area's
    own public-transport times otherwise.

    \b
    Examples:
      geomap times --origins homes.csv --destinations schools.csv --mode car --out times.csv
      geomap times --mode pt --gtfs data/gtfs/chester-20230816-small_gtfs.zip --date 2023-08-16 \\
        --origins examples/chester_towns.csv --destinations examples/chester_colleges.csv --out pt.csv
    """
    from geomap.io import write_csv
    from geomap.locations import read_points
    from geomap.travel import description_of

    study = InputChoice(study_area=study_area).study()
    source = pt.source(study) if mode == "pt" else _travel([mode], networks, study=study)[0]
    # points may lie anywhere in Great Britain, or within the area the source covers
    extent = source.extent_lonlat()
    sheets = _sheets(sheet, origins_path, destinations_path)
    origins = read_points(
        origins_path,
        what="origins",
        postcodes=study.postcodes,
        also_within=extent,
        sheet=sheets[0],
    )
    destinations = read_points(
        destinations_path,
        what="destinations",
        postcodes=study.postcodes,
        also_within=extent,
        sheet=sheets[1],
    )
    table = (
        source.nearest(origins, destinations) if nearest else source.matrix(origins, destinations)
    )
    description = description_of(table, source)
    write_csv(table, out_path)
    click.echo(f"Wrote {len(table):,} travel times to {out_path}")
    click.echo(description)


@main.command()
@_friendly
@input_options
@threshold_option
@click.option(
    "--mode",
    "modes",
    type=MODE_CHOICE,
    multiple=True,
    default=("car", "walk"),
    show_default=True,
    help="Travel modes (repeatable).",
)
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(list(settings.ANALYSIS_KINDS)),
    multiple=True,
    help="Kinds to analyse (repeatable; all by default).",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Gap areas to print per kind and mode.",
)
@click.option("--out", "out_path", type=PATH, help="Write the full ranked list of gap areas (CSV).")
@click.option("--summary-out", type=PATH, help="Write the ward/partnership summary (CSV).")
@network_option
@origins_option
@_writes(files={"out_path": (".csv",), "summary_out": (".csv",)})
def gaps(
    inputs: InputChoice,
    thresholds: dict[str, dict[str, float]],
    modes: tuple[str, ...],
    kinds: tuple[str, ...],
    top: int,
    out_path: Path | None,
    summary_out: Path | None,
    networks: tuple[Path, ...],
    origins: str,
) -> None:
    """Rank the areas beyond a reasonable journey to each kind of provision.

    With --origins postcodes, journeys start at every postcode (the ranking
    is of postcodes, each named by its area; the summary adds each area),
    and the children beyond are compared with the area view.

    \b
    Examples:
      geomap gaps --mode walk --kind primary --top 5
      geomap gaps --out gaps.csv --summary-out wards.csv
      geomap gaps --origins postcodes --mode walk --out postcode_gaps.csv
    """
    from geomap.io import atomic_paths, write_csv
    from geomap.pipeline import analyse, compare_origins

    loaded = inputs.load()
    travel = _travel(modes, networks, study=loaded.study)
    start = _with_origins(loaded, origins)
    analysis = analyse(
        start,
        travel,
        kinds=kinds or settings.ANALYSIS_KINDS,
        thresholds=thresholds,
        include_independent=inputs.include_independent,
    )
    ranking = analysis.ranking
    word = "postcodes" if origins == "postcodes" else "areas"
    for (mode, kind), rows in analysis.coverage.groupby(["mode", "kind"], sort=False):
        here = ranking[(ranking["mode"] == mode) & (ranking["kind"] == kind)]
        threshold = analysis.thresholds[str(mode)][str(kind)]
        click.echo(
            f"\n{kind} by {mode} (threshold {threshold:g} min): {len(here)} of {len(rows)} {word} beyond, "
            f"{round(rows['children_beyond'].sum()):,} of {round(rows['children'].sum()):,} children"
        )
        if len(here):
            columns = [
                "rank",
                "area_id",
                "area_name",
                "minutes",
                "children_beyond",
                "provider_name",
            ]
            shown = here.head(top)[columns].round({"children_beyond": 1})
            click.echo(shown.to_string(index=False))
    for mode in modes:
        click.echo(f"\n{analysis.methods[mode]}")
    if origins == "postcodes":
        by_area = analyse(
            loaded,
            travel,
            kinds=kinds or settings.ANALYSIS_KINDS,
            thresholds=thresholds,
            include_independent=inputs.include_independent,
        )
        compared = compare_origins(by_area.coverage, analysis.coverage)
        click.echo(f"\n{start.origin_note}")
        click.echo(compared.attrs["note"])
        click.echo(compared.to_string(index=False))
    chosen = [(t, p) for t, p in ((ranking, out_path), (analysis.by_group, summary_out)) if p]
    with atomic_paths([p for _t, p in chosen]) as temps:
        for (table, _path), tmp in zip(chosen, temps, strict=True):
            write_csv(table, tmp)
    for _table, path in chosen:
        click.echo(f"Wrote {path}")


@main.command(name="map")
@_friendly
@input_options
@threshold_option
@click.option(
    "--kind",
    type=click.Choice(["all", *settings.ANALYSIS_KINDS]),
    default="all",
    show_default=True,
    help="'all' draws every provider; a kind draws travel time to its nearest provider.",
)
@click.option(
    "--mode", type=MODE_CHOICE, default="car", show_default=True, help="Travel mode (with --kind)."
)
@online_tiles_option
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["html", "png", "pdf"]),
    default="html",
    show_default=True,
    help="html: the interactive page; png (300 dpi) or pdf: a static figure for papers.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=PATH,
    help="Output file, ending as --format: .html (or .htm), .png or .pdf.",
)
@network_option
@_writes(files={"out_path": (".html", ".htm", ".png", ".pdf")})
def map_command(
    inputs: InputChoice,
    thresholds: dict[str, dict[str, float]],
    kind: str,
    mode: str,
    online_tiles: bool,
    out_format: str,
    out_path: Path,
    networks: tuple[Path, ...],
) -> None:
    """Draw one offline map, as an HTML page or a static figure (PNG or PDF).

    \b
    Examples:
      geomap map --out providers.html
      geomap map --kind primary --mode walk --out primary_walk.html
      geomap map --kind primary --mode car --format pdf --out primary_car.pdf
    """
    from geomap.errors import OutputError
    from geomap.io import atomic_path, write_text
    from geomap.maps import offline_html, providers_map, static_map
    from geomap.pipeline import analyse
    from geomap.report import caption_for, kind_map

    suffixes = {"html": (".html", ".htm"), "png": (".png",), "pdf": (".pdf",)}
    suffix = out_path.suffix.lower()
    if suffix not in suffixes[out_format]:
        matching = next(f for f, s in suffixes.items() if suffix in s)
        raise OutputError(
            f"--out {out_path}: a {suffix} file, but --format is {out_format}; give "
            f"--format {matching}, or a file name ending {' or '.join(suffixes[out_format])}"
        )
    loaded = inputs.load()
    independent = inputs.include_independent
    if kind == "all":
        m = providers_map(
            loaded.providers,
            areas=loaded.areas,
            base=loaded.base,
            title="Education providers",
            caption=caption_for(loaded, include_independent=independent),
            online_tiles=online_tiles,
        )
    else:
        analysis = analyse(
            loaded,
            _travel([mode], networks, study=loaded.study),
            kinds=[kind],
            thresholds=thresholds,
            include_independent=independent,
        )
        m, _caption = kind_map(
            loaded,
            analysis,
            kind=kind,
            mode=mode,
            include_independent=independent,
            online_tiles=online_tiles,
        )
    if out_format == "html":
        write_text(offline_html(m), out_path)
    else:
        from geomap.figures import map_figure

        drawn = map_figure(static_map(m))[out_format]
        with atomic_path(out_path) as tmp:
            tmp.write_bytes(drawn)
    click.echo(f"Wrote {out_path}")


@main.command()
@_friendly
@click.option(
    "--out",
    "out_dir",
    type=FOLDER,
    default=Path("out/post16"),
    show_default=True,
    help="Output folder.",
)
@input_options
@pt_options
@barrier_options
@online_tiles_option
@network_option
@origins_option
@_writes(folders=("out_dir",))
def post16(
    out_dir: Path,
    inputs: InputChoice,
    pt: PtChoice,
    barriers: BarrierThresholds,
    online_tiles: bool,
    networks: tuple[Path, ...],
    origins: str,
) -> None:
    """Post-16 transport barriers: public transport versus car to sixth forms and colleges.

    For every area: car and public-transport time to the nearest post-16
    provider, which one, the ratio, the 16-18 population and barrier flags,
    aggregated to wards (and partnerships) and ranked by young people affected.
    Public-transport times come from the study area by default. With
    --origins postcodes, every postcode is an origin: OUT holds the table per
    postcode (post16_postcodes.csv and a point layer) and the summaries per
    area, ward and partnership, without the area map.

    \b
    Examples:
      geomap post16 --out out/post16
      geomap post16 --origins postcodes --out out/post16_postcodes
      geomap post16 --pt-max-minutes 45 --partnerships examples/high_school_localities_example.csv
      geomap post16 --pt-table r5r_times.csv --pt-sites sites.geojson --pt-name r5r-2025
      geomap post16 --gtfs england_gtfs.zip --date 2026-11-25 --arrive-by 09:00
    """
    from geomap.pipeline import analyse_post16
    from geomap.post16 import FLAGS
    from geomap.report import post16_map_for, write_post16

    loaded = _with_origins(inputs.load(), origins)
    analysis = analyse_post16(
        loaded,
        car=_travel(["car"], networks, study=loaded.study)[0],
        pt=pt.source(loaded.study),
        thresholds=barriers,
        include_independent=inputs.include_independent,
    )
    if origins == "postcodes":
        files = _write_post16_postcodes(loaded, analysis, out_dir)
        caption = f"Public transport: {analysis.methods['pt']}\n{loaded.origin_note}"
    else:
        m, caption = post16_map_for(
            loaded,
            analysis,
            include_independent=inputs.include_independent,
            online_tiles=online_tiles,
        )
        files = write_post16(loaded, analysis, m, out_dir)
    areas = analysis.areas
    word = "postcodes" if origins == "postcodes" else "areas"
    click.echo(
        f"{round(areas['young_people'].sum()):,} young people aged 16-18 in {len(areas)} {word}"
    )
    for flag, label in [*FLAGS.items(), ("barrier", "any barrier")]:
        click.echo(
            f"  {label}: {round(areas.loc[areas[flag], 'young_people'].sum()):,} young people, "
            f"{int(areas[flag].sum())} {word}"
        )
    level = loaded.main_level
    if level is not None:
        groups = analysis.by_group
        top = groups[groups["level"] == level].head(5)
        click.echo(f"{level.capitalize()}s with most young people facing a barrier:")
        click.echo(
            top[["rank", "group_name", "young_people", "young_barrier", "mean_pt_minutes"]]
            .round({"young_people": 1, "young_barrier": 1})
            .to_string(index=False)
        )
    click.echo(next(line for line in caption.split("\n") if line.startswith("Public transport")))
    if origins == "postcodes":
        click.echo(loaded.origin_note)
    click.echo(f"Wrote {len(files)} files to {out_dir}")


@main.command(name="access")
@_friendly
@input_options
@click.option(
    "--kind",
    type=click.Choice(list(settings.ANALYSIS_KINDS)),
    help="Kind of provision, on the study area (with --mode).",
)
@click.option("--mode", type=MODE_CHOICE, help="Travel mode, on the study area (with --kind).")
@click.option(
    "--places",
    "basis",
    type=click.Choice(["capacity", "pupils", "students"]),
    default="capacity",
    show_default=True,
    help="On the study area, what counts as a provider's places: capacity (registered "
    "places), pupils on roll, or 16–18 students.",
)
@click.option(
    "--include-outside",
    is_flag=True,
    help="On the study area, count providers outside it too; their places are then shared "
    "among the study area's children only, which overstates access near the border.",
)
@click.option(
    "--times",
    "times_path",
    type=PATH,
    help="Your own travel times, long from_id,to_id,minutes (area to provider), as "
    "`geomap times` writes; a missing pair has no journey.",
)
@click.option(
    "--demand",
    "demand_path",
    type=PATH,
    help="With --times: people per area, id,population.",
)
@click.option(
    "--supply",
    "supply_path",
    type=PATH,
    help="With --times: places per provider, id,capacity.",
)
@click.option(
    "--method",
    type=click.Choice(["2sfca", "e2sfca", "gravity"]),
    default="2sfca",
    show_default=True,
    help="Two-step floating catchment, enhanced (stepped decay), or gravity decay.",
)
@click.option(
    "--catchment",
    type=MINUTES,
    help="Longest journey (minutes) within a catchment; needed with --times. On the study "
    "area the kind's longest reasonable journey by the mode, unless the study area sets one.",
)
@click.option("--out", "out_path", required=True, type=PATH, help="Output CSV, one row per area.")
@click.option(
    "--providers-out", type=PATH, help="Also write each provider's people per place (CSV)."
)
@network_option
@origins_option
@_writes(files={"out_path": (".csv",), "providers_out": (".csv",)})
def access_command(
    inputs: InputChoice,
    kind: str | None,
    mode: str | None,
    basis: str,
    include_outside: bool,
    times_path: Path | None,
    demand_path: Path | None,
    supply_path: Path | None,
    method: str,
    catchment: float | None,
    out_path: Path,
    providers_out: Path | None,
    networks: tuple[Path, ...],
    origins: str,
) -> None:
    """Capacity-aware access: places per child within reach, by floating catchment.

    For each area, the sum over providers within the catchment of their places
    divided by the children within that provider's catchment (2SFCA; E2SFCA and
    gravity weight both steps by travel time). Scores are places per child,
    not rescaled; 0 where no provider is within reach. On the study area,
    a kind whose providers give no places is refused (nothing is guessed), and
    areas that can reach a provider with unknown places get no score.

    
    Examples:
      geomap access --kind primary --mode car --method 2sfca --out access.csv \\
        --providers gias_download.csv
      geomap access --kind post16 --mode car --places students --catchment 20 \\
        --method e2sfca --out post16.csv
      geomap access --times times.csv --demand children.csv --supply places.csv \\
        --method 2sfca --catchment 30 --out access.csv
    """
    from geomap.io import atomic_paths, write_csv

    own = {"--times": times_path, "--demand": demand_path, "--supply": supply_path}
    if any(v is not None for v in own.values()):
        lacking = [k for k, v in own.items() if v is None]
        if lacking:
            raise click.UsageError(
                f"{', '.join(lacking)} missing: your own matrix needs --times, --demand and --supply"
            )
        if kind is not None or mode is not None:
            raise click.UsageError(
                "--kind and --mode are for the study area; with your own --times leave them out"
            )
        if catchment is None:
            raise click.UsageError("--catchment MINUTES is needed with your own --times")
        if origins != "areas":
            raise click.UsageError(
                "--origins is for the study area; your own --times give the origins"
            )
        assert times_path is not None and demand_path is not None and supply_path is not None
        result = _access_from_files(times_path, demand_path, supply_path, method, catchment)
        subject = f"{method} with a {catchment:g}-minute catchment"
    else:
        if kind is None or mode is None:
            raise click.UsageError(
                "give --kind and --mode (on the study area), or --times, --demand and --supply "
                "(your own matrix)"
            )
        from geomap.pipeline import access_for

        loaded = inputs.load()
        result = access_for(
            _with_origins(loaded, origins),
            _travel([mode], networks, study=loaded.study)[0],
            kind=kind,
            method=method,
            catchment=catchment,
            basis=basis,
            include_independent=inputs.include_independent,
            include_outside=include_outside,
        )
        subject = f"{kind} by {mode}, {method}"
    table = result.areas
    outputs = [(table, out_path)]
    if providers_out is not None:
        outputs.append((result.providers, providers_out))
    with atomic_paths([p for _t, p in outputs]) as temps:
        for (frame, _path), tmp in zip(outputs, temps, strict=True):
            write_csv(frame, tmp)
    reached = int((table["providers"] > 0).sum())
    scored = table["score"].dropna()
    word = "postcodes" if origins == "postcodes" else "areas"
    mean = (
        f"{len(scored)} of {len(table)} {word} scored, mean {scored.mean():.4g} places per child"
        if len(scored)
        else f"no {word[:-1]} scored"
    )
    click.echo(f"{subject}: {reached} of {len(table)} {word} have a provider within reach; {mean}")
    if len(scored) < len(table) and "score_known_places" in table:
        click.echo(
            f"{len(table) - len(scored)} {word} reach a provider whose places are not given: "
            "their score is blank; score_known_places counts the known places only"
        )
    for note in result.notes:
        click.echo(note)
    for _frame, path in outputs:
        click.echo(f"Wrote {path}")


def _access_from_files(
    times_path: Path, demand_path: Path, supply_path: Path, method: str, catchment: float
) -> CatchmentAccess:
    from geomap.access import METHOD_LABELS, floating_catchment, method_weight, read_counts
    from geomap.travel.tables import check_known_ids, read_time_table

    times = read_time_table(times_path)
    demand = read_counts(
        demand_path, what="demand table", value_names=("population", "children", "people", "count")
    )
    supply = read_counts(
        supply_path, what="supply table", value_names=("capacity", "places", "supply", "pupils")
    )
    check_known_ids(
        times,
        "from_id",
        demand.index,
        what=f"the demand table ({demand_path.name})",
        fix="Give the population of every area the times start from (0 where nobody lives)",
    )
    check_known_ids(
        times,
        "to_id",
        supply.index,
        what=f"the supply table ({supply_path.name})",
        fix="Give the places of every provider the times go to (0 where it has none), or "
        "check the id's spelling",
    )
    result = floating_catchment(
        times, demand, supply, catchment=catchment, weight=method_weight(method, catchment)
    )
    result.areas = result.areas.assign(method=method, catchment_minutes=catchment)
    result.providers = result.providers.assign(method=method, catchment_minutes=catchment)
    result.notes = [f"{METHOD_LABELS[method]}, catchment {catchment:g} minutes."]
    return result


@main.group(name="sites", invoke_without_command=True)
@_friendly
@click.pass_context
@click.option(
    "--times",
    "times_path",
    type=PATH,
    help="Own matrix: travel times, long from_id,to_id,minutes, from areas to existing and "
    "candidate sites; a missing pair has no journey.",
)
@click.option(
    "--demand", "demand_path", type=PATH, help="Own matrix: children per area, id,population."
)
@click.option(
    "--existing", "existing_path", type=PATH, help="Own matrix: existing providers (an id column)."
)
@click.option(
    "--candidates",
    "candidates_arg",
    metavar="FILE|grid",
    help="Candidate sites: a file with an id column (with a location, for a study area), or "
    "'grid' for a regular grid over the populated areas (study area only).",
)
@click.option(
    "--kind",
    type=click.Choice(list(settings.ANALYSIS_KINDS)),
    help="Study area: the kind of provision to add.",
)
@click.option(
    "--mode", type=MODE_CHOICE, default="car", show_default=True, help="Study area: travel mode."
)
@click.option("--add", type=click.IntRange(min=1), help="How many sites to add (required).")
@click.option(
    "--objective",
    type=click.Choice(["coverage", "time"]),
    default="coverage",
    show_default=True,
    help="coverage: most children within the threshold; time: least children-weighted time.",
)
@click.option(
    "--threshold",
    type=MINUTES,
    help="Minutes within which a site covers an area; needed for coverage on an own matrix; "
    "the study area's threshold for the mode and kind by default.",
)
@click.option(
    "--grid-spacing",
    type=_Finite(0.0, maximum=100_000.0),
    default=2000.0,
    show_default=True,
    help="Metres between grid candidates (with --candidates grid).",
)
@click.option("--out", "out_dir", type=FOLDER, help="Output folder (required).")
@input_options
@network_option
@_writes(folders=("out_dir",))
def sites_command(
    ctx: click.Context,
    inputs: InputChoice,
    times_path: Path | None,
    demand_path: Path | None,
    existing_path: Path | None,
    candidates_arg: str | None,
    kind: str | None,
    mode: str,
    add: int | None,
    objective: str,
    threshold: float | None,
    grid_spacing: float,
    out_dir: Path | None,
    networks: tuple[Path, ...],
) -> None:
    """Where to add provision: the sites that would help the most children.

    Chooses --add candidate sites exactly (maximal covering or p-median), and
    shows the greedy order beside the optimum. Two forms: on your own matrix
    (--times, --demand, --candidates FILE, --existing), or on the study area
    (--kind, --mode; times from each area to the existing providers of the kind
    and the candidates). Writes OUT/sites.csv, OUT/coverage.csv (before and
    after) and OUT/greedy.csv, and on the study area OUT/sites_map.html.

    \b
    Examples:
      geomap sites --times times.csv --demand children.csv --candidates candidates.csv \\
        --existing nurseries.csv --add 3 --threshold 20 --objective coverage --out out/sites
      geomap sites --kind early_years --mode car --add 2 --candidates grid --out out/sites
      geomap sites --kind primary --mode walk --add 1 --candidates plots.csv --objective time \\
        --out out/sites
      geomap sites sweep examples/sites_sweep.yml --out out/sites_sweep   # many choices at once
    """
    if ctx.invoked_subcommand is not None:
        given = (times_path, demand_path, existing_path, candidates_arg, kind, add, out_dir)
        if any(v is not None for v in given) or threshold is not None:
            raise click.UsageError(
                f"the options of a single choice do not apply to 'geomap sites "
                f"{ctx.invoked_subcommand}': give its own options after "
                f"'{ctx.invoked_subcommand}'",
                ctx,
            )
        return  # `geomap sites sweep ...`: the subcommand does the work
    for option, value in (("--candidates", candidates_arg), ("--add", add), ("--out", out_dir)):
        if value is None:
            raise click.UsageError(f"Missing option '{option}'.", ctx)
    assert candidates_arg is not None and add is not None and out_dir is not None
    from geomap.io import replace_folder, write_csv, write_text
    from geomap.sites import choose_sites, read_site_ids

    page: str | None = None
    own = [o for o, v in (("--times", times_path), ("--demand", demand_path)) if v is not None]
    if own or existing_path is not None:
        if kind is not None:
            raise InputError(
                "give either an own matrix (--times, --demand) or a study-area --kind, not both"
            )
        if len(own) < 2:
            raise InputError(
                "an own matrix needs both --times and --demand",
                fix="Give both, or use --kind for the study area",
            )
        if candidates_arg == "grid":
            raise InputError(
                "--candidates grid needs a study area (--kind)",
                fix="Give a file of candidate ids with an own matrix",
            )
        if objective == "coverage" and threshold is None:
            raise InputError(
                "the coverage objective needs --threshold (minutes)",
                fix="Give --threshold, or use --objective time",
            )
        from geomap.access import read_counts
        from geomap.travel.tables import read_time_table

        assert times_path is not None and demand_path is not None
        times = read_time_table(times_path)
        demand = read_counts(
            demand_path,
            what="demand table",
            value_names=("population", "children", "people", "count"),
        )
        candidates = read_site_ids(Path(candidates_arg), what="candidate sites")
        existing: Sequence[str] = (
            list(read_site_ids(existing_path, what="existing sites")) if existing_path else []
        )
        choice = choose_sites(
            times,
            demand,
            candidates=candidates,
            existing=existing,
            add=add,
            objective=objective,  # type: ignore[arg-type]
            threshold=threshold,
        )
        read: list[Path] = [times_path, demand_path, Path(candidates_arg)]
        read += [existing_path] if existing_path else []
    else:
        if kind is None:
            raise InputError("give a study-area --kind, or an own matrix with --times and --demand")
        from geomap.locations import read_points
        from geomap.sites import grid_candidates, sites_for_kind

        loaded = inputs.load()
        if candidates_arg == "grid":
            points = grid_candidates(
                loaded.areas, spacing_m=grid_spacing, populated=loaded.children[kind]
            )
            if points.empty:
                raise InputError(
                    f"a {grid_spacing:g} m grid puts no candidate inside an area with "
                    f"children of the age for {kind}",
                    fix="Give a smaller --grid-spacing (the default is 2000 m)",
                )
        else:
            points = read_points(
                Path(candidates_arg), what="candidate sites", postcodes=loaded.study.postcodes
            )
        choice = sites_for_kind(
            loaded.origins,
            loaded.providers,
            loaded.children,
            _travel([mode], networks, study=loaded.study)[0],
            thresholds=loaded.study.thresholds,
            kind=kind,
            add=add,
            candidates=points,
            objective=objective,  # type: ignore[arg-type]
            threshold=threshold,
            include_independent=inputs.include_independent,
        )
        from geomap.maps import offline_html
        from geomap.report import sites_map_for

        drawn, _caption = sites_map_for(
            loaded, choice, kind=kind, include_independent=inputs.include_independent
        )
        page = offline_html(drawn)
        read = [*inputs.files(), *([] if candidates_arg == "grid" else [Path(candidates_arg)])]
    with replace_folder(out_dir, command="geomap sites", inputs=read) as stage:
        write_csv(choice.sites, stage / "sites.csv")
        write_csv(choice.summary, stage / "coverage.csv")
        write_csv(choice.greedy, stage / "greedy.csv")
        if page is not None:
            write_text(page, stage / "sites_map.html")
    before, after = choice.before, choice.after
    if choice.threshold is not None:
        click.echo(
            f"Children within {choice.threshold:g} minutes: {before['covered']:,.0f} before, "
            f"{after['covered']:,.0f} after, of {after['population']:,.0f}"
        )
    click.echo(
        f"Mean minutes to the nearest site: {before['mean_minutes']:.1f} before, "
        f"{after['mean_minutes']:.1f} after"
    )
    click.echo(choice.sites[["rank", "site_id", "gain", "gain_unit"]].to_string(index=False))
    for note in choice.notes:
        click.echo(f"- {note}")
    click.echo(f"Wrote sites.csv, coverage.csv and greedy.csv to {out_dir}")


@main.command(name="finder")
@_friendly
@click.option("--out", "out_path", required=True, type=PATH, help="Output HTML file.")
@input_options
@pt_options
@click.option(
    "--options",
    "options",
    type=click.IntRange(1, 50),
    default=8,
    show_default=True,
    help="Sixth forms and colleges listed per postcode.",
)
@network_option
@_writes(files={"out_path": (".html", ".htm")})
def finder_command(
    out_path: Path,
    inputs: InputChoice,
    pt: PtChoice,
    options: int,
    networks: tuple[Path, ...],
) -> None:
    """Write the post-16 options finder: one offline page to look up a postcode.

    Type a postcode of the study area and see the sixth forms and colleges
    nearest by car, with car, public-transport and (short) walking times,
    Ofsted rating, size and whether each is across the border; a map zooms
    to the postcode. Public-transport times come from the study area unless
    --gtfs or --pt-table is given (none if it has none).

    \b
    Examples:
      geomap finder --out finder.html
      geomap finder --gtfs england_gtfs.zip --date 2026-11-25 --arrive-by 09:00 --out finder.html
    """
    from geomap.finder import finder_caption, finder_data, finder_html
    from geomap.io import write_text
    from geomap.pipeline import choose_public_transport

    loaded = inputs.load()
    car, walk = _travel(["car", "walk"], networks, study=loaded.study)
    given = pt.gtfs is not None or pt.pt_table is not None
    source = pt.source(loaded.study) if given else choose_public_transport(loaded.study)
    if source is None:
        _echo_err(f"{loaded.name} has no public-transport times: the page says so")
    data = finder_data(
        loaded,
        car=car,
        pt=source,
        walk=walk,
        options=options,
        include_independent=inputs.include_independent,
    )
    page = finder_html(
        data,
        title=f"Post-16 options near you: {loaded.name}",
        caption=finder_caption(loaded),
    )
    write_text(page, out_path)
    size = len(page.encode("utf-8"))
    click.echo(
        f"Wrote {out_path} ({size / 1e6:.1f} MB): {len(data['postcodes']['key']):,} postcodes, "
        f"{len(data['providers']['id'])} sixth forms and colleges"
    )


@main.command(name="eligibility")
@_friendly
@click.option(
    "--pupils",
    "pupils_path",
    type=PATH,
    help="Pupil list: id, postcode or coordinates, age; optional low_income (yes/no), faith, "
    "school_id, sex (boy/girl).",
)
@click.option(
    "--postcodes",
    "all_postcodes",
    is_flag=True,
    help="Every postcode in the study area, with children of each age apportioned from its "
    "area (an estimate), instead of a pupil list.",
)
@click.option(
    "--unsafe",
    "unsafe_path",
    type=PATH,
    help="Lines or polygons of routes assessed as unsafe to walk (needs a walk network).",
)
@click.option(
    "--cost-per-pupil",
    type=_Finite(0.0, inclusive=True, maximum=1_000_000.0),
    default=settings.TRANSPORT_COST_PER_PUPIL,
    show_default=True,
    help="Annual cost (GBP) per eligible pupil; by default the National Audit Office's 2023-24 "
    "average for mainstream home-to-school transport.",
)
@click.option(
    "--start",
    type=click.Choice(["postcode", "node"]),
    default="postcode",
    show_default=True,
    help="Measure walks from the home's point, or from its nearest network node.",
)
@click.option(
    "--ignore-capacity",
    is_flag=True,
    help="Do not skip full schools when finding the nearest suitable school.",
)
@click.option("--out", "out_dir", type=FOLDER, required=True, help="Output folder.")
@online_tiles_option
@input_options
@click.option(
    "--network",
    "networks",
    multiple=True,
    type=PATH,
    help="Walk and/or drive network (GraphML, .osm, .osm.pbf); repeat for both. Without "
    "them, distances are straight-line estimates.",
)
@_writes(folders=("out_dir",))
def eligibility_command(
    inputs: InputChoice,
    pupils_path: Path | None,
    all_postcodes: bool,
    unsafe_path: Path | None,
    cost_per_pupil: float,
    start: str,
    ignore_capacity: bool,
    out_dir: Path,
    online_tiles: bool,
    networks: tuple[Path, ...],
) -> None:
    """Who is entitled to free home-to-school transport, home by home, and why.

    Applies the statutory walking distances (2 miles under 8, 3 miles from 8)
    to the nearest suitable school, the extended rights of low-income families
    and routes assessed as unsafe. Writes OUT/eligibility.csv (one row per
    child, or per postcode and age), OUT/counts.csv (per area and age band),
    OUT/cost.csv (estimated annual cost), OUT/eligibility_homes.geojson,
    OUT/eligibility_map.html and OUT/README.txt (how it was measured).

    \b
    Examples:
      geomap eligibility --postcodes --out out/eligibility
      geomap eligibility --pupils pupils.csv --network walk.graphml \\
        --network drive.graphml --unsafe unsafe.geojson --out out/eligibility
    """
    from geomap.eligibility import read_pupils, read_unsafe
    from geomap.io import replace_folder, write_csv, write_text, write_vector
    from geomap.maps import offline_html
    from geomap.pipeline import eligibility_for
    from geomap.report import eligibility_map

    if (pupils_path is None) == (not all_postcodes):
        raise InputError("give either --pupils FILE or --postcodes, not both")
    loaded = inputs.load()
    if pupils_path is not None:
        pupils = read_pupils(pupils_path, postcodes=loaded.study.postcodes)
    else:
        if loaded.study.postcodes is None:
            raise InputError(
                f"--postcodes needs a postcode lookup, and {loaded.study.name} has none",
                path=loaded.study.path,
                fix="Add a postcode lookup to the study-area file, or give --pupils",
            )
        pupils = None
    result = eligibility_for(
        loaded,
        pupils=pupils,
        networks=networks,
        unsafe=read_unsafe(unsafe_path) if unsafe_path is not None else None,
        start="node" if start == "node" else "postcode",
        use_capacity=not ignore_capacity,
        cost_per_pupil=cost_per_pupil,
    )
    drawn = eligibility_map(loaded, result, online_tiles=online_tiles)
    read = [*inputs.files(), *(p for p in (pupils_path, unsafe_path) if p), *networks]
    with replace_folder(out_dir, command="geomap eligibility", inputs=read) as stage:
        table = result.table
        write_csv(table.drop(columns=table.geometry.name), stage / "eligibility.csv")
        write_csv(result.counts, stage / "counts.csv")
        write_csv(result.cost, stage / "cost.csv")
        write_vector(result.homes, stage / "eligibility_homes.geojson")
        write_text(offline_html(drawn), stage / "eligibility_map.html")
        write_text(result.note + "\n", stage / "README.txt")
    total = result.cost.iloc[-1]
    click.echo(result.note)
    click.echo(
        f"Eligible children: {total['eligible']:,.0f} ({total['check_by_route']:,.0f} close to a "
        f"limit: check by route); estimated annual cost £{total['annual_cost']:,.0f} at "
        f"£{cost_per_pupil:,.0f} a pupil"
    )
    click.echo(f"Wrote eligibility.csv, counts.csv, cost.csv and the map to {out_dir}")


def _write_post16_postcodes(
    inputs: Inputs, analysis: Post16Analysis, out_dir: Path
) -> dict[str, Path]:
    """Write the post-16 barriers per postcode: a CSV, a point layer and the group summaries."""
    import geopandas as gpd

    from geomap.io import replace_folder, write_csv, write_geopackage

    points = inputs.origins[["id", "geometry"]].rename(columns={"id": "area_id"})
    layer = gpd.GeoDataFrame(points.merge(analysis.areas, on="area_id"), crs=inputs.origins.crs)
    layer = layer.rename(columns={"area_id": "origin_id", "area": "area_id"})
    out = Path(out_dir)
    files: dict[str, Path] = {}
    with replace_folder(out, command="geomap post16", inputs=inputs.study.files()) as stage:
        write_geopackage({"post16_postcodes": layer}, stage / "post16.gpkg")
        files["geopackage"] = out / "post16.gpkg"
        for name, table in (("post16_postcodes", layer), ("post16_by_group", analysis.by_group)):
            write_csv(table, stage / f"{name}.csv")
            files[f"csv:{name}"] = out / f"{name}.csv"
    return files


# --------------------------------------------------------------------------- sweeps


def _sweep_options(func: F) -> F:
    """The options every sweep takes: where to write, where to run, how many maps, resuming."""
    options = [
        click.option("--out", "out_dir", type=FOLDER, required=True, help="Output folder."),
        click.option(
            "--workers",
            type=click.IntRange(min=1, max=256),
            help="Worker processes of a local Dask cluster (1 thread each) [default: 2].",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run on an existing Dask cluster: its scheduler's address (tcp://host:port), "
            "from `dask scheduler` or a cluster manager.",
        ),
        click.option(
            "--best",
            type=click.IntRange(min=0, max=50),
            default=3,
            show_default=True,
            help="Write the maps and tables of this many best variants.",
        ),
        click.option(
            "--resume",
            is_flag=True,
            help="Keep the variants already done in OUT (variants_done.csv) and run only the rest.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _check_cluster(workers: int | None, scheduler: str | None) -> None:
    """Refuse --workers with --scheduler, and an address that is not tcp://host:port."""
    from geomap.sweep import check_scheduler_address

    if workers is not None and scheduler is not None:
        raise InputError(
            "give either --workers (a local cluster) or --scheduler (an existing cluster), not both"
        )
    if scheduler is not None:
        check_scheduler_address(scheduler)


def _sweep_files(sweep_path: Path, plan: Any, inputs: InputChoice) -> list[Path]:
    """Every file a sweep reads: the sweep file, its base scenario or candidate files, the inputs."""
    read = [sweep_path, *inputs.files()]
    if plan.scenario_path is not None:
        read.append(Path(plan.scenario_path))
    read += [Path(s["file"]) for s in plan.candidate_sets.values() if "file" in s]
    return read


#: Options of a sweep that do not change its results (where and how it runs).
_SWEEP_RUN_OPTIONS = frozenset({"sweep_file", "out_dir", "workers", "scheduler", "best", "resume"})


def _sweep_about(plan: Any, read: Sequence[Path]) -> dict[str, Any]:
    """What OUT/sweep.json records of a sweep, to know on --resume that it is the same sweep.

    Besides the sweep itself: the options that change its results, and the
    SHA-256 of every input file it reads but the sweep file (whose variants
    carry their own hashes), so that a resumed sweep never mixes results of
    other inputs or options with its own.
    """
    from geomap.travel.compact import file_sha256

    params = click.get_current_context().params
    options = {
        name: repr(value)
        for name, value in sorted(params.items())
        if name not in _SWEEP_RUN_OPTIONS
    }
    files = {
        str(path): file_sha256(path)
        for path in read
        if Path(path).is_file() and Path(path).resolve() != Path(plan.path).resolve()
    }
    return {
        "sweep": plan.name,
        "file": str(plan.path),
        "kind": plan.kind,
        "variants": len(plan.variants),
        "columns": plan.columns,
        "options": options,
        "inputs": files,
    }


def _sweep_changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between a sweep's recorded options and inputs and this run's, in words."""
    changed = []
    for key, words in (("options", "option"), ("inputs", "input file")):
        was, is_ = before.get(key), now[key]
        if not isinstance(was, dict):
            return ["the sweep was begun by an earlier geomap, which did not record them"]
        for name in sorted(set(was) | set(is_)):
            if was.get(name) != is_.get(name):
                label = f"--{name.replace('_', '-')}" if key == "options" else name
                changed.append(f"{words} {label}")
    return changed


def _begin_sweep(
    load: Callable[[Path], Any],
    sweep_file: Path,
    inputs: InputChoice,
    out_dir: Path,
    *,
    resume: bool,
    workers: int | None,
    scheduler: str | None,
) -> tuple[Any, list[Path], set[str], dict[str, Any]]:
    """Check the cluster options, read the sweep file and start (or resume) OUT.

    Returns the sweep, the files it reads, the variants a resumed sweep has
    done and what OUT/sweep.json records (:func:`_start_sweep`).
    """
    _check_cluster(workers, scheduler)
    plan = load(sweep_file)
    read = _sweep_files(sweep_file, plan, inputs)
    done, about = _start_sweep(plan, out_dir, resume=resume, read=read)
    return plan, read, done, about


def _start_sweep(
    plan: Any, out_dir: Path, *, resume: bool, read: Sequence[Path]
) -> tuple[set[str], dict[str, Any]]:
    """Start OUT (the variants table, each variant's scenario), or find what a resumed sweep has done.

    Done before any work, so a folder that may not be written stops the run at
    once. Returns the variants already done and what OUT/sweep.json records
    (the input files are hashed once, here).
    """
    import json

    from geomap.io import replace_folder, write_text
    from geomap.sweep import read_done, scenario_file_name, start_table

    journal = out_dir / "variants_done.csv"
    about = _sweep_about(plan, read)
    if resume and journal.is_file():
        try:
            before = json.loads((out_dir / "sweep.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            before = {}
        if before.get("kind") != plan.kind or before.get("columns") != about["columns"]:
            raise InputError(
                f"{out_dir} holds the output of another sweep (or of this one before its file "
                "changed), so there is nothing to resume",
                fix="Run without --resume to start again, or give another --out",
            )
        changed = _sweep_changes(before, about)
        if changed:
            raise InputError(
                f"{out_dir} holds a sweep run with other options or inputs ({'; '.join(changed)}); "
                "resuming would mix its results with this run's",
                fix="Resume with the same options and files, or run without --resume to start "
                "again, or give another --out",
            )
        hashes = {v.id: v.task_hash for v in plan.variants}
        table = read_done(journal)
        done = {
            str(r["variant_id"])
            for _, r in table.iterrows()
            if r["status"] == "done" and hashes.get(str(r["variant_id"])) == r["task_hash"]
        }
        _echo_err(f"Resuming: {len(done)} of {len(plan.variants)} variants already done")
        return done, about
    if resume:
        _echo_err(f"Nothing to resume in {out_dir}; starting from the beginning")
    with replace_folder(out_dir, command=f"geomap {plan.kind} sweep", inputs=read) as stage:
        write_text(json.dumps(about, indent=1) + "\n", stage / "sweep.json")
        start_table(stage / "variants_done.csv", columns=plan.columns)
        if plan.kind == "routes":
            (stage / "scenarios").mkdir()
            for variant in plan.variants:
                write_text(variant.scenario, stage / scenario_file_name(variant))
    return set(), about


def _run_sweep_command(
    plan: Any,
    shared: Any,
    out_dir: Path,
    *,
    done: set[str],
    workers: int | None,
    scheduler: str | None,
    best: int,
    read: Sequence[Path],
    about: Mapping[str, Any],
    write_best: Callable[[Any, Path], None],
) -> None:
    """Run a sweep's remaining variants, each row appended as it finishes; then rank and map."""
    import json
    import shutil

    from geomap.io import OUTPUT_MARKER, replace_folder, write_csv, write_text
    from geomap.sweep import append_row, rank_variants, read_done, run_sweep, sweep_client

    command = f"geomap {plan.kind} sweep"
    journal = out_dir / "variants_done.csv"
    columns = plan.columns
    hashes = {v.id: v.task_hash for v in plan.variants}
    where = f"the Dask cluster at {scheduler}" if scheduler else f"{workers or 2} local workers"
    todo = len(plan.variants) - len(done)
    _echo_err(f"Sweep '{plan.name}': {todo} variant(s) to run on {where}")

    def progress(row: Mapping[str, Any], n: int, total: int) -> None:
        append_row(row, journal, columns=columns)
        state = "done" if row["status"] == "done" else f"FAILED: {row['error']}"
        _echo_err(f"[{n}/{total}] {row['variant_id']}: {_printable(state)}")

    if todo:
        with sweep_client(workers=workers or 2, scheduler=scheduler) as client:
            run_sweep(plan, shared, client=client, skip=done, progress=progress)
    rows = read_done(journal)
    current = rows["task_hash"] == rows["variant_id"].map(hashes)
    rows = rows[current].drop_duplicates("variant_id", keep="last")
    ranked = rank_variants(rows, kind=plan.kind, order=list(hashes))
    chosen = ranked[ranked["status"] == "done"].head(best)
    variants = {v.id: v for v in plan.variants}
    with replace_folder(out_dir, command=command, inputs=read) as stage:
        write_text(json.dumps(about, indent=1) + "\n", stage / "sweep.json")
        shutil.copy2(journal, stage / "variants_done.csv")
        if (out_dir / "scenarios").is_dir():
            shutil.copytree(out_dir / "scenarios", stage / "scenarios")
        write_csv(ranked, stage / "sweep_ranked.csv")
        for place, (_, row) in enumerate(chosen.iterrows(), start=1):
            target = stage / "best" / f"{place:02d}_{row['variant_id']}"
            write_best(variants[str(row["variant_id"])], target)
            for marker in target.rglob(OUTPUT_MARKER):
                marker.unlink()
    failed = ranked[ranked["status"] != "done"]
    if not chosen.empty:
        click.echo(f"Best of {len(ranked) - len(failed)} variant(s):")
        shown = [c for c in ranked.columns if c in ("rank", "variant_id", "objective")]
        measures = (
            ["young_no_longer_barrier", "young_who_gain", "minutes_saved"]
            if plan.kind == "routes"
            else ["gain", "newly_covered", "mean_minutes_after"]
        )
        click.echo(_printable(chosen[shown + measures].to_string(index=False)))
    if len(failed):
        click.echo(f"{len(failed)} variant(s) failed (their errors are in sweep_ranked.csv):")
        for _, row in failed.head(5).iterrows():
            click.echo(f"- {row['variant_id']}: {_printable(str(row['error']))}")
    click.echo(f"Wrote sweep_ranked.csv, variants_done.csv and the best {len(chosen)} to {out_dir}")


@click.command(name="sweep")
@_friendly
@click.argument("sweep_file", type=PATH)
@_sweep_options
@input_options
@pt_options
@barrier_options
@online_tiles_option
@network_option
@_writes(folders=("out_dir",))
def routes_sweep(
    sweep_file: Path,
    out_dir: Path,
    workers: int | None,
    scheduler: str | None,
    best: int,
    resume: bool,
    inputs: InputChoice,
    pt: PtChoice,
    barriers: BarrierThresholds,
    online_tiles: bool,
    networks: tuple[Path, ...],
) -> None:
    """Evaluate every variant of a route sweep file, on a Dask cluster.

    Each variant is the base scenario with the sweep's values put in, evaluated
    exactly as `geomap routes evaluate` would evaluate it (its scenario file is
    written to OUT/scenarios). Variants run as tasks on a local cluster
    (--workers, 2 by default) or an existing one (--scheduler); the inputs go to
    each worker once. Each finished variant is added to OUT/variants_done.csv
    at once, so an interrupted sweep keeps what it has (--resume runs the
    rest); at the end OUT/sweep_ranked.csv ranks all variants (young people no
    longer facing a barrier, then minutes saved) and OUT/best/ holds the maps
    and tables of the best --best.

    \b
    Examples:
      geomap routes sweep examples/post16_route_sweep.yml --out out/sweep
      geomap routes sweep examples/post16_route_sweep.yml --out out/sweep --workers 4 --resume
      geomap routes sweep my_sweep.yml --scheduler tcp://10.0.0.5:8786 --out out/sweep
    """
    import shutil
    import tempfile

    from geomap.clock import parse_time
    from geomap.report import write_scenario
    from geomap.routes import evaluate_scenario, load_scenario
    from geomap.sweep import load_route_sweep, route_sweep_inputs, scenario_file_name
    from geomap.travel.sources import road_distance

    plan, read, done, about = _begin_sweep(
        load_route_sweep,
        sweep_file,
        inputs,
        out_dir,
        resume=resume,
        workers=workers,
        scheduler=scheduler,
    )
    loaded = inputs.load()
    road_km = road_distance(networks)
    if plan.scenario_path is not None:
        # the base scenario is checked first: its faults would fail every variant
        load_scenario(
            plan.scenario_path,
            providers=loaded.providers,
            county=loaded.boundary.geometry,
            postcodes=loaded.study.postcodes,
            road_km=road_km,
        )
    arrive_by = parse_time(
        plan.arrive_by,
        path=plan.scenario_path or plan.path,
        column="arrive_by",
        with_seconds=False,
        within_day=True,
    )
    car = _travel(["car"], networks, study=loaded.study)[0]
    public = pt.source(loaded.study, arrive_by=arrive_by)
    shared = route_sweep_inputs(
        loaded,
        car=car,
        pt=public,
        thresholds=barriers,
        include_independent=inputs.include_independent,
        road_km=road_km,
    )

    def write_best(variant: Any, target: Path) -> None:
        scenario = load_scenario(
            out_dir / scenario_file_name(variant),
            providers=loaded.providers,
            county=loaded.boundary.geometry,
            postcodes=loaded.study.postcodes,
            road_km=road_km,
        )
        result = evaluate_scenario(
            scenario,
            origins=loaded.origins,
            providers=loaded.providers,
            young_people=shared.young_people,
            car=car,
            pt=public,
            thresholds=barriers,
            include_independent=inputs.include_independent,
        )
        with tempfile.TemporaryDirectory(prefix="geomap-best-") as tmp:
            write_scenario(
                loaded,
                result,
                Path(tmp) / "out",
                include_independent=inputs.include_independent,
                online_tiles=online_tiles,
            )
            shutil.copytree(Path(tmp) / "out", target)

    _run_sweep_command(
        plan,
        shared,
        out_dir,
        done=done,
        workers=workers,
        scheduler=scheduler,
        best=best,
        read=read,
        about=about,
        write_best=write_best,
    )


@click.command(name="sweep")
@_friendly
@click.argument("sweep_file", type=PATH)
@_sweep_options
@input_options
@network_option
@_writes(folders=("out_dir",))
def sites_sweep(
    sweep_file: Path,
    out_dir: Path,
    workers: int | None,
    scheduler: str | None,
    best: int,
    resume: bool,
    inputs: InputChoice,
    networks: tuple[Path, ...],
) -> None:
    """Choose sites for every variant of a site sweep file, on a Dask cluster.

    Each variant (kind, mode, number of sites, threshold, objective, candidate
    set) is chosen exactly as `geomap sites` would choose it. Variants run as
    tasks on a local cluster (--workers, 2 by default) or an existing one
    (--scheduler); the inputs and travel sources go to each worker once. Each
    finished variant is added to OUT/variants_done.csv at once (--resume runs
    the rest); at the end OUT/sweep_ranked.csv ranks the variants within each
    objective (children newly covered, or newly given a journey) and OUT/best/
    holds the tables and maps of the best --best.

    \b
    Examples:
      geomap sites sweep examples/sites_sweep.yml --out out/sites_sweep
      geomap sites sweep my_sites.yml --scheduler tcp://10.0.0.5:8786 --out out/sites_sweep
    """
    from geomap.io import write_csv, write_text
    from geomap.maps import offline_html
    from geomap.report import sites_map_for
    from geomap.sweep import load_site_sweep, run_site_choice, site_sweep_inputs

    plan, read, done, about = _begin_sweep(
        load_site_sweep,
        sweep_file,
        inputs,
        out_dir,
        resume=resume,
        workers=workers,
        scheduler=scheduler,
    )
    loaded = inputs.load()
    modes = sorted({v.options["mode"] for v in plan.variants})
    travel = dict(zip(modes, _travel(modes, networks, study=loaded.study), strict=True))
    shared = site_sweep_inputs(
        loaded, plan, travel=travel, include_independent=inputs.include_independent
    )

    def write_best(variant: Any, target: Path) -> None:
        choice = run_site_choice(shared, variant)
        drawn, _caption = sites_map_for(
            loaded,
            choice,
            kind=variant.options["kind"],
            include_independent=inputs.include_independent,
        )
        target.mkdir(parents=True)
        write_csv(choice.sites, target / "sites.csv")
        write_csv(choice.summary, target / "coverage.csv")
        write_csv(choice.greedy, target / "greedy.csv")
        write_text(offline_html(drawn), target / "sites_map.html")

    _run_sweep_command(
        plan,
        shared,
        out_dir,
        done=done,
        workers=workers,
        scheduler=scheduler,
        best=best,
        read=read,
        about=about,
        write_best=write_best,
    )


sites_command.add_command(sites_sweep)


@main.group()
def routes() -> None:
    """Route scenarios for the transport working party.

    \b
    Example:
      geomap routes evaluate examples/post16_routes.yml --out out/routes
      geomap routes sweep examples/post16_route_sweep.yml --out out/sweep
    """


routes.add_command(routes_sweep)


@routes.command()
@_friendly
@click.argument("scenario", type=PATH)
@click.option(
    "--out",
    "out_dir",
    type=FOLDER,
    default=Path("out/routes"),
    show_default=True,
    help="Output folder.",
)
@input_options
@pt_options
@barrier_options
@online_tiles_option
@network_option
@_writes(folders=("out_dir",))
def evaluate(
    scenario: Path,
    out_dir: Path,
    inputs: InputChoice,
    pt: PtChoice,
    barriers: BarrierThresholds,
    online_tiles: bool,
    networks: tuple[Path, ...],
) -> None:
    """Add a scenario's routes to public transport and recompute the post-16 barriers.

    Reports, for each route (ranked by benefit) and for all routes together:
    young people newly within the time limit, newly with a journey, no longer
    facing a barrier, minutes saved and areas that change flag; writes a
    before/after map per route. With a drive network, in-vehicle times at an
    operating speed follow the roads.

    \b
    Examples:
      geomap routes evaluate examples/post16_routes.yml --out out/routes
      geomap routes evaluate examples/route_serving_nobody.yml
    """
    from geomap.post16 import young_people
    from geomap.report import write_scenario
    from geomap.routes import evaluate_scenario, load_scenario
    from geomap.travel.sources import road_distance

    loaded = inputs.load()
    plan = load_scenario(
        scenario,
        providers=loaded.providers,
        county=loaded.boundary.geometry,
        postcodes=loaded.study.postcodes,
        road_km=road_distance(networks),
    )
    result = evaluate_scenario(
        plan,
        origins=loaded.origins,
        providers=loaded.providers,
        young_people=young_people(loaded.children),
        car=_travel(["car"], networks, study=loaded.study)[0],
        pt=pt.source(loaded.study, arrive_by=plan.arrive_by),
        thresholds=barriers,
        include_independent=inputs.include_independent,
    )
    files = write_scenario(
        loaded,
        result,
        out_dir,
        include_independent=inputs.include_independent,
        online_tiles=online_tiles,
    )
    click.echo(f"Scenario: {plan.name} ({len(plan.routes)} route(s), arriving by {plan.arrive_by})")
    for effect in [*result.effects, result.combined]:
        s = effect.summary
        if s["young_who_gain"] == 0:
            why = s.get("why_no_change", "")
            click.echo(
                f"- {s['route']}: no change: no young person's journey to a sixth form or college gets "
                f"quicker{': ' + why if why else ''}."
            )
            continue
        click.echo(
            f"- {s['route']}: {s['young_who_gain']:,} young people in {s['areas_gaining']} areas gain "
            f"(those with a journey before save {s['mean_minutes_saved']:g} min on average, "
            f"{s['minutes_saved']:,.0f} min in all); "
            f"{s['young_newly_within_limit']:,} newly within {barriers.pt_max_minutes:g} min, "
            f"{s['young_newly_with_pt']:,} newly with a journey, {s['young_no_longer_barrier']:,} no longer "
            f"facing any barrier; {s['areas_changing_flag']} areas change flag."
        )
    click.echo(f"Wrote {len(files)} files to {out_dir}")


@main.command()
@_friendly
@click.option(
    "--kind",
    type=KIND_CHOICE,
    default="post16",
    show_default=True,
    help="Providers to draw isochrones around.",
)
@click.option(
    "--minutes",
    type=MINUTES,
    multiple=True,
    default=(15.0, 30.0, 45.0),
    show_default=True,
    help="Time limits (repeatable).",
)
@click.option("--mode", type=MODE_CHOICE, default="car", show_default=True, help="Travel mode.")
@input_options
@click.option(
    "--in-county", "in_county_only", is_flag=True, help="Only providers inside the study area."
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=PATH,
    help="GeoPackage (or GeoJSON) of the areas reachable within each limit of each provider.",
)
@click.option("--map", "map_path", type=PATH, help="Also draw an offline map.")
@network_option
@_writes(files={"out_path": (".gpkg", ".geojson", ".json"), "map_path": (".html", ".htm")})
def isochrones(
    kind: str,
    minutes: tuple[float, ...],
    mode: str,
    inputs: InputChoice,
    in_county_only: bool,
    out_path: Path,
    map_path: Path | None,
    networks: tuple[Path, ...],
) -> None:
    """Areas from which each provider of a kind is reachable within N minutes.

    Over a network, the areas are the streets reachable in time (with a narrow
    band either side); without one, circles from the straight-line estimate,
    and said so.

    \b
    Examples:
      geomap isochrones --kind post16 --minutes 15 --minutes 30 --network drive.graphml --out iso.gpkg
      geomap isochrones --kind secondary --mode walk --in-county --out walk_iso.gpkg --map walk_iso.html
    """
    from geomap.gaps import eligible_providers
    from geomap.io import atomic_paths, write_text, write_vector
    from geomap.maps import isochrone_map, offline_html
    from geomap.travel import description_of

    loaded = inputs.load()
    chosen = eligible_providers(
        loaded.providers, kind, include_independent=inputs.include_independent
    )
    if in_county_only:
        chosen = chosen[chosen["in_county"]]
    if chosen.empty:
        raise InputError(
            f"no {kind} providers to draw around", fix="Check --kind, --providers and --in-county"
        )
    source = _travel([mode], networks, study=loaded.study)[0]
    bands = source.isochrones(chosen[["id", "geometry"]], minutes=list(minutes))
    description = description_of(bands, source)
    bands = bands.merge(chosen[["id", "name", "kind"]], on="id").assign(method=source.method)
    empty = bands.geometry.is_empty
    if empty.all():
        raise InputError(
            f"nothing is reachable within {max(minutes):g} min by {source.method}",
            fix="Give longer limits with --minutes",
        )
    if empty.any():
        _echo_err(f"{int(empty.sum())} provider/limit pairs reach nowhere in time and are left out")
        bands = bands[~empty]
    limits = sorted(set(minutes))
    page = None
    if map_path is not None:
        caption = "\n".join(
            [
                description,
                "Areas from which the provider can be reached within each limit.",
                loaded.study.attribution,
            ]
        )
        m = isochrone_map(
            bands,
            chosen,
            title=f"{settings.KIND_LABELS[kind]}: reachable within {', '.join(f'{v:g}' for v in limits)} min by {mode}",
            caption=caption,
            base=loaded.base,
        )
        page = offline_html(m)
    # the layer and its map are written together, or neither
    with atomic_paths([out_path, *([map_path] if map_path is not None else [])]) as temps:
        write_vector(bands, temps[0], name=out_path.stem)
        if page is not None:
            write_text(page, temps[1])
    click.echo(
        f"Wrote {len(bands)} areas ({len(chosen)} providers × {len(limits)} limits) to {out_path}"
    )
    if map_path is not None:
        click.echo(f"Wrote {map_path}")


@main.group()
def network() -> None:
    """Get OpenStreetMap road, walking and cycling networks for routing.

    Fetch once with internet access (or build from a Geofabrik extract), then
    give the file to any analysis with --network, or let geomap find the cached
    copy.

    \b
    Examples:
      geomap network fetch --boundary study --mode drive --out county_drive.graphml
      geomap network build county-latest.osm.pbf --mode walk --out county_walk.graphml
    """


@network.command()
@_friendly
@click.option("--place", help="Place name for Nominatim, e.g. 'Ludlow, England'.")
@click.option(
    "--boundary",
    help="'study' (the study area's boundary) or a polygon file (GeoJSON, GeoPackage...).",
)
@study_area_option
@click.option("--bbox", help="left,bottom,right,top in lon/lat degrees.")
@click.option("--mode", type=NETWORK_MODE, default="drive", show_default=True, help="Network type.")
@click.option(
    "--overpass-url", help="Overpass API base URL, e.g. a council's own server (http://host/api)."
)
@click.option(
    "--buffer-m",
    type=_Finite(0.0, inclusive=True, maximum=100_000.0),
    default=settings.NETWORK_BUFFER_M,
    show_default=True,
    help="Metres to widen the area by, so border journeys are routed.",
)
@click.option("--refresh", is_flag=True, help="Download again even if cached.")
@click.option("--out", "out_path", required=True, type=PATH, help="Graph file to write (GraphML).")
@_writes(files={"out_path": (".graphml",)})
def fetch(
    place: str | None,
    boundary: str | None,
    bbox: str | None,
    mode: str,
    overpass_url: str | None,
    buffer_m: float,
    refresh: bool,
    out_path: Path,
    study_area: Path | None,
) -> None:
    """Download a network from OpenStreetMap (Overpass) and cache it for offline use.

    The download is cached (with a manifest of source, query, date, mode and
    osmnx version); later runs, and analyses without --network, use the cache.

    \b
    Examples:
      geomap network fetch --boundary study --mode drive --out county_drive.graphml
      geomap network fetch --bbox -2.80,52.00,-2.65,52.10 --mode walk --out hereford_walk.graphml
      geomap network fetch --place "Leominster, England" --overpass-url http://overpass.example.gov.uk/api --out l.graphml
    """
    from geomap.areas import read_polygons
    from geomap.osm import add_travel_times, fetch_graph, save_graph
    from geomap.pipeline import study_boundary
    from geomap.travel.compact import compact_path, write_compact

    polygon = None
    box = None
    if boundary is not None:
        if boundary.strip().lower() == "study":
            polygon = study_boundary(InputChoice(study_area=study_area).study())
        else:
            polygon = read_polygons(boundary, what="boundary")
    if bbox is not None:
        try:
            left, bottom, right, top = (float(v) for v in bbox.split(","))
        except ValueError as err:
            raise InputError(
                f"cannot read --bbox '{bbox}'", fix="Give left,bottom,right,top in lon/lat"
            ) from err
        box = (left, bottom, right, top)
    graph = fetch_graph(
        place=place,
        polygon=polygon,
        bbox=box,
        mode=mode,
        overpass_url=overpass_url,
        buffer_m=buffer_m,
        refresh=refresh,
        progress=_echo_err,
    )
    add_travel_times(graph, mode=mode)
    save_graph(graph, out_path)
    compact = write_compact(graph, compact_path(out_path), source_file=out_path)
    click.echo(
        f"Wrote {out_path} (GraphML, for QGIS and osmnx) and {compact} (compact, quick to load): "
        f"{graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges ({mode})"
    )


@network.command()
@_friendly
@click.argument("file", type=PATH)
@click.option("--mode", type=NETWORK_MODE, default="drive", show_default=True, help="Network type.")
@click.option("--out", "out_path", required=True, type=PATH, help="Graph file to write (GraphML).")
@_writes(files={"out_path": (".graphml",)})
def build(file: Path, mode: str, out_path: Path) -> None:
    """Build a network from a local OpenStreetMap file (.osm.pbf, .osm, .osm.xml) or GraphML.

    Writes the GraphML (for QGIS and osmnx) and, beside it with the same
    name, a compact .network.npz that analyses load in seconds; give either
    to --network.

    \b
    Examples:
      geomap network build county-latest.osm.pbf --mode drive --out county_drive.graphml
      geomap network build town.osm --mode walk --out town_walk.graphml
      geomap network build old_drive.graphml --out county_drive.graphml
    """
    from geomap.osm import add_travel_times, load_graph, save_graph
    from geomap.travel.compact import compact_path, write_compact

    graph = load_graph(file, mode=mode, progress=_echo_err)
    add_travel_times(graph, mode=mode)
    save_graph(graph, out_path)
    compact = write_compact(graph, compact_path(out_path), source_file=file)
    click.echo(
        f"Wrote {out_path} (GraphML, for QGIS and osmnx) and {compact} (compact, quick to load): "
        f"{graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges ({mode})"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
