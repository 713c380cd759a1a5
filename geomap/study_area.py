"""A study area from its TOML file: the council's boundary, areas, population, providers and sources.

A study area is data, not code. One TOML file names the files that describe
one council (paths relative to the file) and the columns to read from them;
geomap ships one (the default, in its data folder) and any council can write
its own. Only ``name``, ``boundary``, ``[areas]``, ``[population]`` and
``[providers]`` are required; each optional layer that is missing is said in
the outputs of the analyses that would use it, and the rest still run.

Example::

    name = "Shropshire"
    boundary = "boundary.geojson"
    [areas]
    path = "lsoa21.geojson"
    code = "LSOA21CD"
    name = "LSOA21NM"
    [population]
    path = "population.csv"   # long: area, age, count; or wide: one column per age
    area = "area_code"
    age = "age"
    count = "count"
    [providers]
    path = "schools.csv"

The README documents every key.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geomap import settings
from geomap._yaml import UNSHOWN
from geomap.clock import TimeOfDay, parse_time
from geomap.errors import StudyAreaError

#: Environment variable naming the default study-area file.
STUDY_AREA_ENV = "GEOMAP_STUDY_AREA"

#: Largest study-area file read (bytes): a description, not data.
MAX_STUDY_AREA_BYTES = 1_000_000


@dataclass(frozen=True)
class Layer:
    """A polygon layer: its file and the columns holding each area's code and name.

    Attributes
    ----------
    path
        The file (GeoJSON, GeoPackage, shapefile...).
    code, name
        Columns of the area code and name; guessed from common names when ``None``.
    label
        What the areas are called in outputs (``"ward"``, ``"LSOA 2011"``).
    source
        Where the layer comes from, for captions.
    summarise
        Whether results are summarised by this layer (wards, partnerships).
    """

    path: Path
    code: str | None = None
    name: str | None = None
    label: str = "area"
    source: str = ""
    summarise: bool = False


@dataclass(frozen=True)
class OriginPoints:
    """Points where an area's journeys start, keyed by area code."""

    path: Path
    code: str | None = None
    #: how the outputs name this kind of point (``trip_point``, ``population_weighted_centroid``)
    kind: str = "origin_point"


@dataclass(frozen=True)
class Population:
    """Population by area and single year of age, long or wide."""

    path: Path
    #: column of the area code
    area: str | None = None
    #: long form: columns of the age and the count (``None`` for the wide form)
    age: str | None = None
    count: str | None = None
    source: str = ""


@dataclass(frozen=True)
class Providers:
    """The provider list."""

    path: Path
    source: str = ""
    sheet: str | None = None
    #: what the list says about early years, printed beside every early-years output
    early_years_note: str = ""
    #: geomap's column name → the file's, for columns not found by their usual names
    columns: Mapping[str, str] = field(default_factory=dict)
    #: where the list's ratings come from and how recent they are, said wherever they are used
    ratings: str = ""
    #: where the list's 16–18 student numbers come from and their year
    students: str = ""
    #: where the list's capacities and pupil numbers come from and their year
    capacity: str = ""


@dataclass(frozen=True)
class Deprivation:
    """A deprivation decile per area."""

    path: Path
    area: str
    decile: str
    source: str = ""


@dataclass(frozen=True)
class PublicTransport:
    """Public-transport times: a routed table to sites, or a GTFS timetable."""

    table: Path | None = None
    minutes: str | None = None
    sites: Path | None = None
    site_id: str | None = None
    name: str = "table"
    source: str = ""
    gtfs: Path | None = None
    date: str | None = None
    arrive_by: TimeOfDay | None = None


@dataclass(frozen=True)
class StudyArea:
    """One council's inputs, as a study-area file describes them.

    Attributes
    ----------
    name
        The study area's name, used in titles and captions.
    boundary
        The council's polygon(s); providers outside are "across the border".
    areas
        The small areas analysed (one origin and one population each).
    population, providers
        Children by single year of age per area; the provider list.
    path
        The study-area file (``None`` when built in code).
    code
        The council's code (e.g. an ONS code), if given.
    attribution
        Said under every map and table.
    origins
        Origin points per area, in order of preference.
    layers
        Further area layers by name: those with ``summarise`` are summary
        levels; all can be the base of partnerships.
    partnerships
        A table of base-layer code → partnership, and the name of its base layer.
    base_map
        Outlines drawn under the maps.
    postcodes
        A postcode lookup (postcode, easting, northing).
    deprivation
        A deprivation decile per area.
    early_years
        A fuller early-years list added to the providers.
    public_transport
        Public-transport times for the post-16 analysis.
    car_calibration
        A table of routed car journeys to calibrate the car estimate with;
        geomap's own calibration when ``None``.
    networks
        Network file per mode (``car``, ``walk``, ``bike``).
    use_network_cache
        Whether networks cached by ``geomap network fetch`` may be used.
    thresholds
        ``{mode: {kind: minutes}}`` overriding geomap's defaults.
    catchments
        ``{mode: {kind: minutes}}``: floating catchments for capacity-aware
        access, overriding the defaults (the thresholds).
    scorecard, scorecard_source
        DfE school places scorecard (CSV) to check school-level capacities
        against, and what it is (for captions).
    sufficiency_limits
        ``surplus_share``, ``surplus_min_places`` and ``margin`` for the
        sufficiency flags, over :mod:`geomap.settings`' defaults.
    competition
        ``minutes`` (post-16 catchments by car), ``small`` (students) and
        ``overlap`` (share) for post-16 competition, over the defaults.
    """

    name: str
    boundary: Path
    areas: Layer
    population: Population
    providers: Providers
    path: Path | None = None
    code: str | None = None
    attribution: str = ""
    origins: tuple[OriginPoints, ...] = ()
    layers: Mapping[str, Layer] = field(default_factory=dict)
    partnerships: Path | None = None
    partnership_base: str | None = None
    partnership_sheet: str | None = None
    base_map: Layer | None = None
    postcodes: Path | None = None
    deprivation: Deprivation | None = None
    early_years: Path | None = None
    early_years_sheet: str | None = None
    public_transport: PublicTransport | None = None
    car_calibration: Path | None = None
    networks: Mapping[str, Path] = field(default_factory=dict)
    use_network_cache: bool = False
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    catchments: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    scorecard: Path | None = None
    scorecard_source: str = ""
    sufficiency_limits: Mapping[str, float] = field(default_factory=dict)
    competition: Mapping[str, float] = field(default_factory=dict)

    def files(self) -> list[Path]:
        """Every file the study area reads (for checking that outputs never overwrite one).

        Returns
        -------
        list of pathlib.Path
            The study-area file and every file it names.
        """
        found: list[Path] = []

        def walk(value: object) -> None:
            if isinstance(value, Path):
                found.append(value)
            elif isinstance(value, Layer | OriginPoints | Population | Providers | Deprivation):
                walk(value.path)
            elif isinstance(value, PublicTransport):
                for part in (value.table, value.sites, value.gtfs):
                    walk(part)
            elif isinstance(value, Mapping):
                for item in value.values():
                    walk(item)
            elif isinstance(value, tuple):
                for item in value:
                    walk(item)

        for name in self.__dataclass_fields__:
            walk(getattr(self, name))
        return found

    def with_inputs(
        self,
        *,
        providers: Path | None = None,
        providers_sheet: str | None = None,
        early_years: Path | None = None,
        early_years_sheet: str | None = None,
        partnerships: Path | None = None,
        partnership_base: str | None = None,
        partnerships_sheet: str | None = None,
        population: Path | None = None,
    ) -> StudyArea:
        """The same study area with some inputs replaced by the user's own files.

        Parameters
        ----------
        providers, providers_sheet
            A provider list (and its worksheet) instead of the study area's.
        early_years, early_years_sheet
            A further early-years list added to the providers.
        partnerships, partnership_base, partnerships_sheet
            A partnership table, the layer its codes refer to, and its worksheet.
        population
            A population table (the same areas, long or wide) instead of the study area's.

        Returns
        -------
        StudyArea
            A new study area; this one is not changed.
        """
        study = self
        if providers is not None:
            study = replace(
                study,
                providers=Providers(
                    path=providers,
                    source=f"your provider list ({providers.name})",
                    sheet=providers_sheet,
                ),
            )
        if early_years is not None:
            study = replace(study, early_years=early_years, early_years_sheet=early_years_sheet)
        if partnerships is not None:
            study = replace(
                study,
                partnerships=partnerships,
                partnership_base=partnership_base or study.partnership_base,
                partnership_sheet=partnerships_sheet,
            )
        elif partnership_base is not None:
            study = replace(study, partnership_base=partnership_base)
        if population is not None:
            study = replace(
                study,
                population=Population(
                    path=population, source=f"your population table ({population.name})"
                ),
            )
        return study


# --------------------------------------------------------------------------- reading the file


class _Table:
    """A TOML table being read: takes keys off one by one and refuses what is left."""

    def __init__(self, values: Mapping[str, Any], *, path: Path, where: str) -> None:
        self.values = dict(values)
        self.path = path
        self.where = where

    def _fail(self, key: str, message: str, fix: str) -> StudyAreaError:
        at = f"{self.where}.{key}" if self.where else key
        return StudyAreaError(f"'{at}' {message}", path=self.path, fix=fix)

    def text(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        if key not in self.values:
            if required:
                raise self._fail(key, "is missing", f'Add {key} = "..."')
            return default
        value = self.values.pop(key)
        if isinstance(value, dt.date | dt.time):  # TOML's own dates and times, written unquoted
            value = value.isoformat()
        if not isinstance(value, str) or not value.strip():
            shown = type(value).__name__ if not isinstance(value, str) else "blank"
            raise self._fail(key, f"must be text, not {shown}", f'Write {key} = "..."')
        hidden = UNSHOWN.search(value)
        if hidden is not None:
            raise self._fail(
                key,
                f"holds a hidden control character (U+{ord(hidden.group()):04X})",
                "Write it as one line of visible text",
            )
        return value.strip()

    def required_text(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def flag(self, key: str, *, default: bool) -> bool:
        if key not in self.values:
            return default
        value = self.values.pop(key)
        if not isinstance(value, bool):
            raise self._fail(key, f"must be true or false, not {value!r}", f"Write {key} = true")
        return value

    def number(self, key: str, *, low: float, high: float) -> float | None:
        if key not in self.values:
            return None
        value = self.values.pop(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise self._fail(
                key,
                f"must be a number from {low:g} to {high:g}, not {value!r}",
                f"Write {key} = {(low + high) / 2:g}, say",
            )
        return float(value)

    def file(self, key: str, *, required: bool = False) -> Path | None:
        value = self.text(key, required=required)
        if value is None:
            return None
        path = Path(value)
        if not path.is_absolute():
            path = self.path.parent / path
        if not path.exists():
            raise self._fail(
                key,
                f"names {value}, which is not there (looked for {path})",
                "Give a path relative to the study-area file, or an absolute path",
            )
        return path

    def required_file(self, key: str) -> Path:
        value = self.file(key, required=True)
        assert value is not None
        return value

    def table(self, key: str) -> _Table | None:
        if key not in self.values:
            return None
        value = self.values.pop(key)
        if not isinstance(value, dict):
            where = f"{self.where}.{key}" if self.where else key
            raise self._fail(key, "must be a table", f"Write it as [{where}] with its keys below")
        where = f"{self.where}.{key}" if self.where else key
        return _Table(value, path=self.path, where=where)

    def tables(self, key: str) -> list[_Table]:
        if key not in self.values:
            return []
        value = self.values.pop(key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self._fail(key, "must be a list of tables", f"Write each as [[{key}]]")
        return [_Table(v, path=self.path, where=f"{key}[{i}]") for i, v in enumerate(value)]

    def done(self) -> None:
        if self.values:
            key = sorted(self.values)[0]
            raise self._fail(
                key,
                "is not a key geomap knows here",
                "Check its spelling against the README's list of study-area keys",
            )


def _date(table: _Table, key: str) -> str | None:
    text = table.text(key)
    if text is None:
        return None
    try:
        dt.date.fromisoformat(text)
    except ValueError as err:
        raise table._fail(
            key, f"is '{text}', which is not a date", 'Write it as date = "YYYY-MM-DD"'
        ) from err
    return text


def _time(table: _Table, key: str) -> TimeOfDay | None:
    text = table.text(key)
    if text is None:
        return None
    return parse_time(
        text,
        path=table.path,
        column=f"{table.where}.{key}",
        with_seconds=False,
        error=StudyAreaError,
    )


def _layer(table: _Table, *, label: str, summarise: bool = False) -> Layer:
    layer = Layer(
        path=table.required_file("path"),
        code=table.text("code"),
        name=table.text("name"),
        label=table.text("label", default=label) or label,
        source=table.text("source", default="") or "",
        summarise=table.flag("summarise", default=summarise),
    )
    table.done()
    return layer


def _thresholds(table: _Table) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for mode in list(table.values):
        if mode not in settings.THRESHOLDS:
            raise table._fail(
                mode, f"is not a mode ({', '.join(settings.THRESHOLDS)})", "Use a mode geomap knows"
            )
        values = table.table(mode)
        assert values is not None
        for kind in list(values.values):
            minutes = values.values.pop(kind)
            if kind not in settings.KIND_LABELS:
                raise values._fail(
                    kind,
                    f"is not a kind ({', '.join(settings.KIND_LABELS)})",
                    "Use a kind geomap knows",
                )
            if (
                isinstance(minutes, bool)
                or not isinstance(minutes, int | float)
                or not 0 < minutes <= 1440
            ):
                raise values._fail(
                    kind,
                    f"must be minutes between 0 and 1440, not {minutes!r}",
                    f"Write {kind} = 30",
                )
            out.setdefault(mode, {})[kind] = float(minutes)
    return out


def load_study_area(path: str | Path) -> StudyArea:
    """Read a study-area file.

    Parameters
    ----------
    path
        The TOML file. Paths in it are relative to it.

    Returns
    -------
    StudyArea
        The study area, with every path resolved and checked to exist.

    Raises
    ------
    StudyAreaError
        If the file is not valid TOML, lacks a required key, has a key geomap
        does not know, a value of the wrong type, or names a file that is not
        there; the message names the file and the key.
    """
    path = Path(path)
    if not path.is_file():
        raise StudyAreaError(
            "the study-area file is not there" if not path.exists() else "is not a file",
            path=path,
            fix="Give the path of a study-area .toml file",
        )
    if path.stat().st_size > MAX_STUDY_AREA_BYTES:
        raise StudyAreaError(
            f"the study-area file is larger than {MAX_STUDY_AREA_BYTES:,} bytes",
            path=path,
            fix="A study-area file names data files; it does not hold the data",
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as err:
        raise StudyAreaError(
            "the study-area file is not UTF-8 text", path=path, fix="Save it as UTF-8"
        ) from err
    except tomllib.TOMLDecodeError as err:
        raise StudyAreaError(
            f"the study-area file is not valid TOML: {err}",
            path=path,
            fix="Check the line named (quotes around text, [table] headers, key = value)",
        ) from err
    top = _Table(raw, path=path.resolve(), where="")
    name = top.required_text("name")
    code = top.text("code")
    boundary = top.required_file("boundary")
    attribution = top.text("attribution", default="") or ""
    areas_table = top.table("areas")
    if areas_table is None:
        raise top._fail("areas", "is missing", "Add an [areas] table with path, code and name")
    areas = _layer(areas_table, label="area")
    origins = []
    for item in top.tables("origins"):
        origins.append(
            OriginPoints(
                path=item.required_file("path"),
                code=item.text("code"),
                kind=item.text("kind", default="origin_point") or "origin_point",
            )
        )
        item.done()
    pop_table = top.table("population")
    if pop_table is None:
        raise top._fail("population", "is missing", "Add a [population] table with its path")
    population = Population(
        path=pop_table.required_file("path"),
        area=pop_table.text("area"),
        age=pop_table.text("age"),
        count=pop_table.text("count"),
        source=pop_table.text("source", default="") or "",
    )
    pop_table.done()
    if (population.age is None) != (population.count is None):
        raise StudyAreaError(
            "[population] gives one of 'age' and 'count' without the other",
            path=path,
            fix="A long table needs both age and count columns; a wide one neither",
        )
    prov_table = top.table("providers")
    if prov_table is None:
        raise top._fail("providers", "is missing", "Add a [providers] table with its path")
    columns: dict[str, str] = {}
    named = prov_table.table("columns")
    if named is not None:
        for key in list(named.values):
            columns[key] = named.required_text(key)
    providers = Providers(
        path=prov_table.required_file("path"),
        source=prov_table.text("source", default="") or "",
        sheet=prov_table.text("sheet"),
        early_years_note=prov_table.text("early_years_note", default="") or "",
        columns=columns,
        ratings=prov_table.text("ratings", default="") or "",
        students=prov_table.text("students", default="") or "",
        capacity=prov_table.text("capacity", default="") or "",
    )
    prov_table.done()
    postcodes = None
    opt = top.table("postcodes")
    if opt is not None:
        postcodes = opt.required_file("path")
        opt.text("source")
        opt.done()
    deprivation = None
    opt = top.table("deprivation")
    if opt is not None:
        deprivation = Deprivation(
            path=opt.required_file("path"),
            area=opt.required_text("area"),
            decile=opt.required_text("decile"),
            source=opt.text("source", default="") or "",
        )
        opt.done()
    layers: dict[str, Layer] = {}
    opt = top.table("layers")
    if opt is not None:
        for key in list(opt.values):
            sub = opt.table(key)
            assert sub is not None
            layers[key] = _layer(sub, label=key)
        opt.done()
    partnerships = partnership_base = partnership_sheet = None
    opt = top.table("partnerships")
    if opt is not None:
        partnerships = opt.required_file("path")
        partnership_base = opt.text("base")
        partnership_sheet = opt.text("sheet")
        opt.done()
        if partnership_base is not None and partnership_base not in (*layers, "areas"):
            raise StudyAreaError(
                f"partnerships.base '{partnership_base}' is not a layer of the study area",
                path=path,
                fix="Use one of: " + ", ".join(["areas", *layers]),
            )
    base_map = None
    opt = top.table("base_map")
    if opt is not None:
        base_map = _layer(opt, label="council")
    early_years = early_years_sheet = None
    opt = top.table("early_years")
    if opt is not None:
        early_years = opt.required_file("path")
        early_years_sheet = opt.text("sheet")
        opt.done()
    public_transport = None
    opt = top.table("public_transport")
    if opt is not None:
        public_transport = PublicTransport(
            table=opt.file("table"),
            minutes=opt.text("minutes"),
            sites=opt.file("sites"),
            site_id=opt.text("site_id"),
            name=opt.text("name", default="table") or "table",
            source=opt.text("source", default="") or "",
            gtfs=opt.file("gtfs"),
            date=_date(opt, "date"),
            arrive_by=_time(opt, "arrive_by"),
        )
        opt.done()
        if public_transport.gtfs is not None and public_transport.table is not None:
            raise StudyAreaError(
                "[public_transport] gives both a table and a gtfs feed",
                path=path,
                fix="Keep one: the routed table (table, sites) or the timetable (gtfs, date)",
            )
        if public_transport.gtfs is None and public_transport.table is None:
            raise StudyAreaError(
                "[public_transport] names neither a table nor a gtfs feed",
                path=path,
                fix="Give table and sites, or gtfs and date",
            )
        if public_transport.table is not None and public_transport.sites is None:
            raise StudyAreaError(
                "[public_transport] gives a table without its sites",
                path=path,
                fix="Give sites = the file of the table's site locations",
            )
        if public_transport.gtfs is not None and public_transport.date is None:
            raise StudyAreaError(
                "[public_transport] gives a gtfs feed without a date",
                path=path,
                fix='Give date = "YYYY-MM-DD", a school day the feed covers',
            )
    car_calibration = None
    opt = top.table("car_estimate")
    if opt is not None:
        car_calibration = opt.required_file("calibration")
        opt.done()
    networks: dict[str, Path] = {}
    use_cache = False
    opt = top.table("networks")
    if opt is not None:
        use_cache = opt.flag("cache", default=False)
        for mode in ("car", "walk", "bike"):
            found = opt.file(mode)
            if found is not None:
                networks[mode] = found
        opt.done()
    thresholds: dict[str, dict[str, float]] = {}
    opt = top.table("thresholds")
    if opt is not None:
        thresholds = _thresholds(opt)
    catchments: dict[str, dict[str, float]] = {}
    opt = top.table("catchments")
    if opt is not None:
        catchments = _thresholds(opt)
    scorecard = None
    scorecard_source = ""
    limits: dict[str, float] = {}
    opt = top.table("capacity")
    if opt is not None:
        scorecard = opt.file("scorecard")
        scorecard_source = opt.text("source", default="") or ""
        for key, low, high in (
            ("surplus_share", 0.0, 1.0),
            ("surplus_min_places", 0.0, 1e6),
            ("margin", 0.0, 1.0),
        ):
            number = opt.number(key, low=low, high=high)
            if number is not None:
                limits[key] = number
        opt.done()
    competition: dict[str, float] = {}
    opt = top.table("competition")
    if opt is not None:
        for key, low, high in (
            ("minutes", 1.0, 240.0),
            ("small", 0.0, 1e6),
            ("overlap", 0.01, 1.0),
        ):
            number = opt.number(key, low=low, high=high)
            if number is not None:
                competition[key] = number
        opt.done()
    top.done()
    return StudyArea(
        name=name,
        code=code,
        path=path.resolve(),
        boundary=boundary,
        attribution=attribution,
        areas=areas,
        origins=tuple(origins),
        population=population,
        providers=providers,
        postcodes=postcodes,
        deprivation=deprivation,
        layers=layers,
        partnerships=partnerships,
        partnership_base=partnership_base,
        partnership_sheet=partnership_sheet,
        base_map=base_map,
        early_years=early_years,
        early_years_sheet=early_years_sheet,
        public_transport=public_transport,
        car_calibration=car_calibration,
        networks=networks,
        use_network_cache=use_cache,
        thresholds=thresholds,
        catchments=catchments,
        scorecard=scorecard,
        scorecard_source=scorecard_source,
        sufficiency_limits=limits,
        competition=competition,
    )


def default_study_area_path() -> Path:
    """The study-area file used when none is given.

    ``$GEOMAP_STUDY_AREA`` if set; otherwise the study-area file shipped in
    geomap's data folder (the only ``.toml`` file there).

    Returns
    -------
    pathlib.Path
        The file.

    Raises
    ------
    StudyAreaError
        If there is no shipped study area, or more than one.
    """
    env = os.environ.get(STUDY_AREA_ENV)
    if env:
        return Path(env)
    folder = settings.data_dir()
    found = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if len(found) != 1:
        raise StudyAreaError(
            f"no single default study area in {folder} ({len(found)} .toml files)",
            path=folder,
            fix=f"Give one with --study-area FILE.toml, or set {STUDY_AREA_ENV}",
        )
    return found[0]


def default_study_area() -> StudyArea:
    """The study area used when none is given (see :func:`default_study_area_path`).

    Returns
    -------
    StudyArea
        The loaded study area.
    """
    return load_study_area(default_study_area_path())
