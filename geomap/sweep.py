"""Sweeps: many variants of a route scenario or of a site choice, run as tasks on Dask.

A **route sweep** file (YAML, read by :func:`geomap._yaml.load_yaml`) names a
base scenario and what to vary on its routes::

    sweep: Bromyard link, times and headways
    scenario: post16_routes.yml        # a path relative to this file, or the scenario inline
    combine: product                   # every combination (default), or: list
    vary:
      - route: Bromyard - Hereford college link
        key: bromyard                  # short name in variant ids (from the route name by default)
        first_departure: ["07:10", "07:20"]
        last_departure: ["07:50"]
        headway_minutes: [20, 30]
        days: [[mon, tue, wed, thu, fri], [mon, wed, fri]]
        stops:                         # named alternative stop lists: stop names of the
          full: [Bromyard (Old Road), Stoke Lacy, Hereford colleges (Folly Lane)]
          direct: [Bromyard (Old Road), Hereford colleges (Folly Lane)]
        optional_stops: [Stoke Lacy]   # each on or off (not with ``stops``)

A stop in an alternative list is the name of a stop of the base route, or a new
stop written as in a scenario file (``{name: ..., postcode: ...}``). With
``combine: list``, ``variants:`` lists the variants one by one instead::

    variants:
      - name: early and frequent       # optional
        routes:
          bromyard: {first_departure: "07:10", headway_minutes: 20}

Each variant is the base scenario with those values put in: a scenario file of
its own (:attr:`Variant.scenario`), evaluated exactly as ``geomap routes
evaluate`` evaluates a file. Its id is built from the values that vary
(``bromyard-0720-h30-mon_wed_fri``), so it stays the same from run to run.

A **site sweep** file varies the options of ``geomap sites``::

    sweep: Nursery sites
    combine: product
    kind: [early_years]
    mode: [car, walk]
    add: [1, 2, 3]
    objective: [coverage]
    threshold: [default, 15]           # default: the study area's threshold
    candidates:                        # named candidate sets
      grid_2km: {grid: 2000}           # a grid with this spacing (metres)
      plots: {file: plots.csv}         # a file of candidate sites, relative to this file
      primaries: {providers: primary}  # providers of a kind that do not offer the kind added

or, with ``combine: list``, ``variants:`` each giving ``kind``, ``mode``,
``add``, ``objective``, ``threshold`` and ``candidates`` (one value each).

A sweep has at most :data:`MAX_VARIANTS` variants. :func:`run_sweep` runs them
on a :mod:`dask.distributed` cluster (:func:`sweep_client`), with the heavy
inputs (providers, origins, children, the travel sources) sent to every worker
once, or in this process when no client is given; each variant's result is the
same either way. A variant that fails is reported with its error, and the
others still run.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

from geomap import settings
from geomap._yaml import YamlMap, line_of, load_yaml, shown
from geomap.errors import GeomapError, GeomapWarning, InputError, YamlError
from geomap.io import neutralise_formulas, write_csv

if TYPE_CHECKING:
    import shapely
    from distributed import Client

    from geomap.pipeline import Inputs
    from geomap.post16 import BarrierThresholds
    from geomap.travel.base import TravelTimes

#: Most variants one sweep file may ask for.
MAX_VARIANTS = 10_000
#: Longest variant id, in characters.
MAX_ID_CHARS = 120

SweepKind = Literal["routes", "sites"]

#: What a route sweep may vary on a route.
ROUTE_FIELDS = ("first_departure", "last_departure", "headway_minutes", "days", "stops")
#: What a site sweep may vary.
SITE_FIELDS = ("kind", "mode", "add", "objective", "threshold", "candidates")
#: Benefit measures of a route variant (the scenario's routes all together, as in
#: the last row of ``geomap routes evaluate``'s ``ranking.csv``).
ROUTE_MEASURES = (
    "young_no_longer_barrier",
    "young_newly_within_limit",
    "young_newly_with_pt",
    "young_newly_within_ratio",
    "young_who_gain",
    "minutes_saved",
    "mean_minutes_saved",
    "areas_gaining",
    "areas_changing_flag",
    "routes_serving_no_one",
)
#: Measures of a site variant (from ``coverage.csv`` of ``geomap sites``).
SITE_MEASURES = (
    "threshold_minutes",
    "gain",
    "gain_unit",
    "covered_before",
    "covered_after",
    "newly_covered",
    "reached_before",
    "reached_after",
    "newly_reached",
    "mean_minutes_before",
    "mean_minutes_after",
    "population",
    "optimal",
)
#: Columns every row of a sweep's tables starts with.
ROW_START = ("variant_id", "variant", "status", "error", "task_hash")

_SWEEP_FIELDS = ("sweep", "scenario", "combine", "vary", "variants")
_VARY_FIELDS = ("route", "key", *ROUTE_FIELDS, "optional_stops")
_SITE_SWEEP_FIELDS = ("sweep", "combine", "variants", *SITE_FIELDS)
_CANDIDATE_WAYS = ("grid", "file", "providers")
_SLUG = re.compile(r"[^a-z0-9]+")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True)
class Variant:
    """One variant of a sweep.

    Attributes
    ----------
    id
        Stable, readable id, unique in the sweep (``bromyard-0720-h30``).
    name
        The name given in the sweep file, else the id.
    values
        What this variant sets, as written (``bromyard.first_departure`` →
        ``07:20``), for the tables.
    scenario
        For a route sweep: the variant's scenario file, as YAML text.
    options
        For a site sweep: ``kind``, ``mode``, ``add``, ``objective``,
        ``threshold`` (minutes, or ``None`` for the study area's),
        ``candidates`` (the name of a candidate set) and ``candidate_set``
        (what it is: ``{"grid": metres}``, ``{"file": path}`` or
        ``{"providers": kind}``).
    """

    id: str
    name: str
    values: Mapping[str, str]
    scenario: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def task_hash(self) -> str:
        """A short hash of what the variant computes, so a resumed sweep reuses only identical work."""
        text = self.scenario or repr(sorted(self.options.items()))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Sweep:
    """A sweep file: its variants and what they share.

    Attributes
    ----------
    kind
        ``routes`` or ``sites``.
    name
        The sweep's name (the file name without suffix by default).
    path
        The sweep file.
    variants
        The variants, in the file's order.
    scenario_path
        Route sweeps: the base scenario file (``None`` when written inline).
    candidate_sets
        Site sweeps: candidate set name → ``{"grid": metres}``,
        ``{"file": path}`` or ``{"providers": kind}``.
    arrive_by
        Route sweeps: the base scenario's ``arrive_by`` as written (the
        default, :data:`geomap.settings.PT_ARRIVE_BY`, when it gives none).
    """

    kind: SweepKind
    name: str
    path: str
    variants: tuple[Variant, ...]
    scenario_path: str | None = None
    candidate_sets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    arrive_by: str = settings.PT_ARRIVE_BY

    @property
    def value_columns(self) -> list[str]:
        """Every ``values`` key of the variants, in first-seen order."""
        seen: dict[str, None] = {}
        for variant in self.variants:
            seen.update(dict.fromkeys(variant.values))
        return list(seen)

    @property
    def columns(self) -> list[str]:
        """The columns of a row of this sweep (see :func:`run_variant`)."""
        measures = ROUTE_MEASURES if self.kind == "routes" else SITE_MEASURES
        extra = (
            ("routes", "pt_max_minutes", "ratio", "warnings")
            if self.kind == "routes"
            else ("site_ids", "site_names", "notes", "warnings")
        )
        return [*ROW_START, *self.value_columns, *measures, *extra]


# --------------------------------------------------------------------------- reading sweep files


def _fail(message: str, *, path: Path, value: object, where: str, fix: str) -> YamlError:
    return YamlError(message, path=path, row=line_of(value), column=where or None, fix=fix)


def _mapping(raw: object, *, path: Path, where: str, what: str, fix: str) -> dict[str, Any]:
    """``raw`` as a mapping with keys in lower case; a key given twice (in any case) is refused."""
    if not isinstance(raw, dict):
        kind = "a list" if isinstance(raw, list) else f"the text {shown(str(raw))}"
        raise _fail(
            f"{what} must be a mapping, not {kind}", path=path, value=raw, where=where, fix=fix
        )
    folded = YamlMap(line=line_of(raw) or 0)
    for key, value in raw.items():
        low = str(key).strip().lower()
        if low in folded:
            raise _fail(
                f"{shown(str(key))} is given twice", path=path, value=raw, where=where, fix=fix
            )
        folded[low] = value
    return folded


def _unknown(raw: Mapping[str, Any], known: Sequence[str], *, path: Path, where: str) -> None:
    """Refuse fields a sweep does not know: a misspelt field would silently sweep nothing."""
    unknown = [k for k in raw if k not in known]
    if unknown:
        here = f"{where}." if where else ""
        raise _fail(
            f"unknown field {shown(unknown[0])}",
            path=path,
            value=raw,
            where=f"{here}{unknown[0]}",
            fix=f"Use only {', '.join(known)}",
        )


def _values(raw: object, *, path: Path, where: str, what: str) -> list[Any]:
    """A field's values: a list (each a value), or one value (a list of one)."""
    values = list(raw) if isinstance(raw, list) else [raw]
    if not values:
        raise _fail(
            f"{what} has no values",
            path=path,
            value=raw,
            where=where,
            fix="Give at least one value, or leave the field out",
        )
    return values


def _text(value: object, *, path: Path, where: str, what: str) -> str:
    if isinstance(value, dict | list):
        raise _fail(
            f"{what} must be one value, not {'a list' if isinstance(value, list) else 'a mapping'}",
            path=path,
            value=value,
            where=where,
            fix="Write one value here (a list of values belongs one level up)",
        )
    text = str(value).strip()
    if not text:
        raise _fail(f"{what} is empty", path=path, value=value, where=where, fix="Give a value")
    return text


def slug(text: str) -> str:
    """``text`` as a variant-id part: lower case letters and digits joined by ``_``.

    Parameters
    ----------
    text
        Any text (a route name, a value).

    Returns
    -------
    str
        The part; ``x`` when nothing of ``text`` is left.
    """
    return _SLUG.sub("_", text.lower()).strip("_")[:40] or "x"


def _time_part(text: str) -> str:
    hours, _, minutes = text.partition(":")
    if hours.isdigit() and minutes.isdigit():
        return f"{int(hours):02d}{minutes}"
    return slug(text)


def _days_part(value: object) -> str:
    items = value if isinstance(value, list) else str(value).split(",")
    days = [str(d).strip().lower()[:3] for d in items if str(d).strip()]
    if tuple(days) == _WEEKDAYS:
        return "weekdays"
    return "_".join(days) or "x"


def _plain(value: Any) -> Any:
    """``value`` from :func:`load_yaml` as plain dicts, lists and str (for writing YAML)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)


def _check_count(count: int, *, path: Path, value: object, where: str, how: str) -> None:
    if count > MAX_VARIANTS:
        raise _fail(
            f"the sweep asks for {count:,} variants ({how}), more than {MAX_VARIANTS:,}",
            path=path,
            value=value,
            where=where,
            fix="Vary fewer fields, give fewer values, or split the sweep into several files",
        )


def _unique_ids(variants: list[Variant], *, path: Path, value: object, where: str) -> None:
    seen: dict[str, int] = {}
    for i, variant in enumerate(variants):
        if len(variant.id) > MAX_ID_CHARS:
            raise _fail(
                f"variant {i + 1}'s id {shown(variant.id)} is longer than {MAX_ID_CHARS} characters",
                path=path,
                value=value,
                where=where,
                fix="Give routes shorter keys (key:) or variants shorter names",
            )
        if variant.id in seen:
            raise _fail(
                f"variants {seen[variant.id] + 1} and {i + 1} would both be {shown(variant.id)}: "
                "two values are the same once written as an id",
                path=path,
                value=value,
                where=where,
                fix="Give each value once (07:20 and 7:20 are the same time), or name the variants",
            )
        seen[variant.id] = i


def load_route_sweep(path: str | Path) -> Sweep:
    """Read a route sweep file into its variants (see the module's description for the format).

    Parameters
    ----------
    path
        The sweep file (YAML).

    Returns
    -------
    Sweep
        ``kind="routes"``; each variant carries its scenario as YAML text.

    Raises
    ------
    InputError
        The sweep file or its base scenario file is missing or unreadable.
    YamlError
        A field is missing, unknown or of the wrong kind; a route or stop named
        is not in the base scenario; two variants get the same id; or the sweep
        asks for more than :data:`MAX_VARIANTS` variants. The message names the
        file, the line (as ``row``) and the field (as ``column``).
    """
    path = Path(path)
    fix = "Write the sweep as in examples/post16_route_sweep.yml"
    data = _mapping(
        load_yaml(path, what="sweep file"), path=path, where="", what="a sweep file", fix=fix
    )
    _unknown(data, _SWEEP_FIELDS, path=path, where="")
    if "scenario" not in data:
        raise _fail(
            "a route sweep needs its base scenario under 'scenario:'",
            path=path,
            value=data,
            where="scenario",
            fix="Give the scenario file (relative to the sweep file) or write the scenario inline",
        )
    raw_base = data["scenario"]
    scenario_path: Path | None = None
    base_file = path
    if isinstance(raw_base, dict):
        base = _plain(raw_base)
    else:
        name = _text(raw_base, path=path, where="scenario", what="'scenario'")
        scenario_path = (path.parent / name).resolve()
        if not scenario_path.is_file():
            raise _fail(
                f"the base scenario {shown(name)} is not a file (looked for {scenario_path})",
                path=path,
                value=raw_base,
                where="scenario",
                fix="Give the scenario file's path relative to the sweep file",
            )
        base = _plain(load_yaml(scenario_path, what="scenario file"))
        base_file = scenario_path
    if not isinstance(base, dict) or not isinstance(base.get("routes"), list):
        raise _fail(
            "the base scenario has no list of routes under 'routes:'",
            path=base_file,
            value=raw_base,
            where="scenario" if scenario_path is None else "routes",
            fix="Check it with 'geomap routes evaluate' first",
        )
    routes = base["routes"]
    names = [str(r.get("name", "")).strip() if isinstance(r, dict) else "" for r in routes]
    combine = _combine(data, path=path)
    sweep_name = _text(data.get("sweep", path.stem), path=path, where="sweep", what="'sweep'")
    if combine == "product":
        variants = _route_product(data, base=base, names=names, path=path)
    else:
        variants = _route_list(data, base=base, names=names, path=path)
    _unique_ids(variants, path=path, value=data.get("vary", data.get("variants")), where=combine)
    return Sweep(
        kind="routes",
        name=sweep_name,
        path=str(path),
        variants=tuple(variants),
        scenario_path=None if scenario_path is None else str(scenario_path),
        arrive_by=str(base.get("arrive_by", settings.PT_ARRIVE_BY)),
    )


def _combine(data: Mapping[str, Any], *, path: Path) -> str:
    combine = _text(data.get("combine", "product"), path=path, where="combine", what="'combine'")
    if combine.lower() not in ("product", "list"):
        raise _fail(
            f"combine is {shown(combine)}",
            path=path,
            value=data.get("combine"),
            where="combine",
            fix="Write 'combine: product' (every combination) or 'combine: list' (under variants:)",
        )
    combine = combine.lower()
    other = "variants" if combine == "product" else "vary"
    if data.get(other) is not None:
        need = "vary" if combine == "product" else "variants"
        raise _fail(
            f"'{other}:' is given, but combine is {combine}",
            path=path,
            value=data[other],
            where=other,
            fix=f"Use 'combine: {'list' if other == 'variants' else 'product'}' with "
            f"'{other}:', or give the values under '{need}:'",
        )
    return combine


def _route_index(ref: object, *, names: list[str], path: Path, where: str) -> int:
    name = _text(ref, path=path, where=where, what="the route")
    folded = [n.casefold() for n in names]
    if name.casefold() in folded:
        return folded.index(name.casefold())
    raise _fail(
        f"the base scenario has no route named {shown(name)}",
        path=path,
        value=ref,
        where=where,
        fix=f"Use one of: {', '.join(shown(n) for n in names)}",
    )


def _stop_list(raw: object, *, route: Mapping[str, Any], path: Path, where: str) -> list[Any]:
    """An alternative stop list: names of the base route's stops, or new stops as mappings."""
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(
            "an alternative stop list must be a list of at least two stops",
            path=path,
            value=raw,
            where=where,
            fix="List stop names of the base route, or new stops written as in a scenario file",
        )
    given = route.get("stops")
    stops: list[Any] = given if isinstance(given, list) else []
    by_name = {str(s.get("name", "")).strip().casefold(): s for s in stops if isinstance(s, dict)}
    out: list[Any] = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append(_plain(item))
            continue
        name = _text(item, path=path, where=f"{where}[{i}]", what="a stop")
        if name.casefold() not in by_name:
            known = ", ".join(shown(str(s.get("name", ""))) for s in by_name.values())
            raise _fail(
                f"the route has no stop named {shown(name)}",
                path=path,
                value=item,
                where=f"{where}[{i}]",
                fix=f"Use one of its stops ({known}), or write a new stop as {{name: ..., postcode: ...}}",
            )
        out.append(by_name[name.casefold()])
    return out


@dataclass
class _Axis:
    """One varied field of one route: its values, as parts of ids and as scenario values."""

    route: int
    column: str
    labels: list[str]
    id_parts: list[str]
    apply: list[Callable[[dict[str, Any]], None]]


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(route: dict[str, Any]) -> None:
        route[key] = value

    return apply


def _drop_stop(stop_name: str) -> Callable[[dict[str, Any]], None]:
    def apply(route: dict[str, Any]) -> None:
        route["stops"] = [
            s
            for s in route["stops"]
            if not (isinstance(s, dict) and str(s.get("name", "")).strip().casefold() == stop_name)
        ]

    return apply


def _route_axes(
    raw: object,
    *,
    where: str,
    base: Mapping[str, Any],
    names: list[str],
    path: Path,
    single: bool,
) -> list[_Axis]:
    entry = _mapping(
        raw,
        path=path,
        where=where,
        what="each entry of 'vary:'",
        fix="Start it with '- route: <name>'",
    )
    _unknown(entry, _VARY_FIELDS, path=path, where=where)
    if "route" not in entry:
        raise _fail(
            "an entry of 'vary:' needs 'route:' (the name of a route of the base scenario)",
            path=path,
            value=entry,
            where=f"{where}.route",
            fix="Start it with '- route: <name>'",
        )
    r = _route_index(entry["route"], names=names, path=path, where=f"{where}.route")
    key = (
        slug(_text(entry["key"], path=path, where=f"{where}.key", what="'key'"))
        if "key" in entry
        else _default_key(names[r], r)
    )
    route = base["routes"][r]
    if "stops" in entry and "optional_stops" in entry:
        raise _fail(
            "give either alternative stop lists ('stops:') or 'optional_stops:' for a route, not both",
            path=path,
            value=entry,
            where=where,
            fix="Write each combination of stops as a named list under 'stops:'",
        )
    axes: list[_Axis] = []
    for name in ROUTE_FIELDS:
        if name not in entry:
            continue
        here = f"{where}.{name}"
        raw_values = entry[name]
        if name == "stops":
            lists = _mapping(
                raw_values,
                path=path,
                where=here,
                what="'stops:'",
                fix="Name each alternative: 'stops: {direct: [A, B], via_c: [A, C, B]}'",
            )
            if not lists:
                raise _fail(
                    "'stops:' has no lists",
                    path=path,
                    value=raw_values,
                    where=here,
                    fix="Name at least one stop list",
                )
            labels = [str(k) for k in lists]
            axes.append(
                _Axis(
                    r,
                    f"{key}.stops",
                    labels,
                    [slug(k) for k in labels],
                    [
                        _set("stops", _stop_list(v, route=route, path=path, where=f"{here}.{k}"))
                        for k, v in lists.items()
                    ],
                )
            )
            continue
        values = _values(raw_values, path=path, where=here, what=f"'{name}'")
        if name == "days":
            if not isinstance(raw_values, list) or not any(isinstance(v, list) for v in raw_values):
                values = [raw_values]  # one list of days
            texts = [
                ", ".join(str(d) for d in v)
                if isinstance(v, list)
                else _text(v, path=path, where=here, what="'days'")
                for v in values
            ]
            parts = [_days_part(v) for v in values]
            axes.append(
                _Axis(r, f"{key}.days", texts, parts, [_set("days", _plain(v)) for v in values])
            )
            continue
        texts = [
            _text(v, path=path, where=f"{here}[{j}]", what=f"a value of '{name}'")
            for j, v in enumerate(values)
        ]
        if name == "first_departure":
            parts = [_time_part(t) for t in texts]
        elif name == "last_departure":
            parts = ["to" + _time_part(t) for t in texts]
        else:
            parts = ["h" + slug(t) for t in texts]
        axes.append(_Axis(r, f"{key}.{name}", texts, parts, [_set(name, t) for t in texts]))
    if "optional_stops" in entry:
        here = f"{where}.optional_stops"
        optional = _values(entry["optional_stops"], path=path, where=here, what="'optional_stops'")
        known = {
            str(s.get("name", "")).strip().casefold()
            for s in route.get("stops", [])
            if isinstance(s, dict)
        }
        for j, item in enumerate(optional):
            stop = _text(item, path=path, where=f"{here}[{j}]", what="an optional stop")
            if stop.casefold() not in known:
                raise _fail(
                    f"the route has no stop named {shown(stop)}",
                    path=path,
                    value=item,
                    where=f"{here}[{j}]",
                    fix="Name a stop of the base route exactly as the scenario does",
                )
            axes.append(
                _Axis(
                    r,
                    f"{key}.stop:{stop}",
                    ["on", "off"],
                    ["", "no_" + slug(stop)],
                    [lambda _route: None, _drop_stop(stop.casefold())],
                )
            )
    if single:
        # a list variant: one value per field
        for axis in axes:
            if len(axis.labels) != 1:
                raise _fail(
                    f"a variant of 'combine: list' sets one value per field, but "
                    f"{axis.column.split('.', 1)[1]} has {len(axis.labels)}",
                    path=path,
                    value=raw,
                    where=where,
                    fix="Give one value, or use 'combine: product'",
                )
    return axes


def _route_product(
    data: Mapping[str, Any], *, base: Mapping[str, Any], names: list[str], path: Path
) -> list[Variant]:
    raw = data.get("vary")
    if not isinstance(raw, list) or not raw:
        raise _fail(
            "a product sweep needs a list of routes and values under 'vary:'",
            path=path,
            value=raw if raw is not None else data,
            where="vary",
            fix="Add 'vary:' with entries such as '- route: <name>' and 'headway_minutes: [20, 30]'",
        )
    axes = [
        axis
        for i, entry in enumerate(raw)
        for axis in _route_axes(
            entry, where=f"vary[{i}]", base=base, names=names, path=path, single=False
        )
    ]
    sizes = [len(a.labels) for a in axes]
    count = int(np.prod(sizes, dtype=object)) if sizes else 1
    _check_count(count, path=path, value=raw, where="vary", how=" × ".join(map(str, sizes)) or "1")
    keys: dict[int, str] = {}
    for axis in axes:
        keys.setdefault(axis.route, axis.column.split(".", 1)[0])
    variants = []
    for choice in itertools.product(*(range(n) for n in sizes)):
        variants.append(_route_variant(base, axes, list(choice), keys=keys, name=None))
    return variants


def _route_variant(
    base: Mapping[str, Any],
    axes: list[_Axis],
    choice: list[int],
    *,
    keys: Mapping[int, str],
    name: str | None,
) -> Variant:
    scenario = _plain(base)
    parts: dict[int, list[str]] = {}
    values: dict[str, str] = {}
    for axis, k in zip(axes, choice, strict=True):
        axis.apply[k](scenario["routes"][axis.route])
        values[axis.column] = axis.labels[k]
        if len(axis.labels) > 1 and axis.id_parts[k]:
            parts.setdefault(axis.route, []).append(axis.id_parts[k])
    pieces = [f"{keys[r]}-{'-'.join(p)}" for r, p in parts.items()]
    ident = "-".join(pieces) or "base"
    if name is not None:
        ident = slug(name).replace("_", "-")
    text = yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=1000)
    return Variant(id=ident, name=name or ident, values=values, scenario=text)


def _route_list(
    data: Mapping[str, Any], *, base: Mapping[str, Any], names: list[str], path: Path
) -> list[Variant]:
    raw = data.get("variants")
    if not isinstance(raw, list) or not raw:
        raise _fail(
            "a list sweep needs its variants under 'variants:'",
            path=path,
            value=raw if raw is not None else data,
            where="variants",
            fix="Add 'variants:' with entries such as '- routes: {bromyard: {headway_minutes: 20}}'",
        )
    _check_count(len(raw), path=path, value=raw, where="variants", how="listed")
    variants = []
    for i, item in enumerate(raw):
        where = f"variants[{i}]"
        entry = _mapping(
            item, path=path, where=where, what="a variant", fix="Give 'name:' and 'routes:'"
        )
        _unknown(entry, ("name", "routes"), path=path, where=where)
        changes = _mapping(
            entry.get("routes", {}),
            path=path,
            where=f"{where}.routes",
            what="'routes:'",
            fix="Map each route (its key or name) to the values it takes: 'bromyard: {headway_minutes: 20}'",
        )
        axes: list[_Axis] = []
        keys: dict[int, str] = {}
        for ref, fields in changes.items():
            here = f"{where}.routes.{ref}"
            spec = _mapping(
                fields,
                path=path,
                where=here,
                what="a route's values",
                fix="Write 'route: {field: value}'",
            )
            _unknown(spec, ROUTE_FIELDS, path=path, where=here)
            r = _route_by_key_or_name(
                ref, names=names, path=path, where=f"{where}.routes", value=fields
            )
            merged = YamlMap(line=line_of(fields) or 0)
            merged.update(spec)
            merged["route"] = names[r]
            merged["key"] = (
                ref if ref.casefold() != names[r].casefold() else _default_key(names[r], r)
            )
            if "stops" in spec:
                # one stop list for this variant
                one = YamlMap(line=line_of(spec["stops"]) or 0)
                one["stops"] = spec["stops"]
                merged["stops"] = one
            found = _route_axes(merged, where=here, base=base, names=names, path=path, single=True)
            for axis in found:
                keys.setdefault(axis.route, slug(str(merged["key"])))
                if axis.column.endswith(".stops"):
                    axis.labels = ["given"]
            axes.extend(found)
        name = (
            _text(entry["name"], path=path, where=f"{where}.name", what="a variant's name")
            if "name" in entry
            else None
        )
        variant = _route_variant(base, axes, [0] * len(axes), keys=keys, name=name)
        if name is None:
            pieces: dict[int, list[str]] = {}
            for a in axes:
                pieces.setdefault(a.route, []).append(a.id_parts[0])
            ident = "-".join(f"{keys[r]}-{'-'.join(p)}" for r, p in pieces.items()) or "base"
            variant = Variant(
                id=ident, name=ident, values=variant.values, scenario=variant.scenario
            )
        variants.append(variant)
    return variants


def _default_key(name: str, position: int) -> str:
    """A route's key in variant ids when the sweep gives none: the first word of its name."""
    words = name.split()
    return slug(words[0]) if words else f"route{position + 1}"


def _route_by_key_or_name(
    ref: str, *, names: list[str], path: Path, where: str, value: object
) -> int:
    folded = [n.casefold() for n in names]
    if ref.casefold() in folded:
        return folded.index(ref.casefold())
    keyed = [_default_key(n, i) for i, n in enumerate(names)]
    if slug(ref) in keyed:
        return keyed.index(slug(ref))
    raise _fail(
        f"the base scenario has no route named or keyed {shown(ref)}",
        path=path,
        value=value,
        where=where,
        fix=f"Use a route's name ({', '.join(shown(n) for n in names)}) or the first word of it",
    )


def load_site_sweep(path: str | Path) -> Sweep:
    """Read a site sweep file into its variants (see the module's description for the format).

    Parameters
    ----------
    path
        The sweep file (YAML).

    Returns
    -------
    Sweep
        ``kind="sites"``; each variant carries its options, and the sweep its
        candidate sets.

    Raises
    ------
    InputError
        The sweep file is missing or unreadable, or a candidate file is not a file.
    YamlError
        A field is missing, unknown or of the wrong kind; a kind, mode or
        objective is not one geomap knows; a number of sites or a threshold
        is not a positive number; a variant names an unknown candidate set;
        two variants get the same id; or the sweep asks for more than
        :data:`MAX_VARIANTS` variants.
    """
    path = Path(path)
    fix = "Write the sweep as in examples/sites_sweep.yml"
    data = _mapping(
        load_yaml(path, what="sweep file"), path=path, where="", what="a sweep file", fix=fix
    )
    _unknown(data, _SITE_SWEEP_FIELDS, path=path, where="")
    combine = _combine(data, path=path)
    sweep_name = _text(data.get("sweep", path.stem), path=path, where="sweep", what="'sweep'")
    if "candidates" not in data:
        raise _fail(
            "a site sweep needs its candidate sets under 'candidates:'",
            path=path,
            value=data,
            where="candidates",
            fix="Add e.g. 'candidates: {grid_2km: {grid: 2000}}'",
        )
    sets = _candidate_sets(data["candidates"], path=path)
    if combine == "product":
        axes: dict[str, list[Any]] = {}
        for name in SITE_FIELDS:
            if name == "candidates":
                axes[name] = list(sets)
                continue
            if name not in data and name not in ("threshold", "objective", "mode"):
                raise _fail(
                    f"a site sweep needs '{name}:'",
                    path=path,
                    value=data,
                    where=name,
                    fix=f"Add '{name}:' with one value or a list of values",
                )
            raw = data.get(
                name, {"threshold": "default", "objective": "coverage", "mode": "car"}.get(name)
            )
            axes[name] = [
                _site_value(
                    name, v, path=path, where=f"{name}[{j}]" if isinstance(raw, list) else name
                )
                for j, v in enumerate(_values(raw, path=path, where=name, what=f"'{name}'"))
            ]
        count = int(np.prod([len(v) for v in axes.values()], dtype=object))
        _check_count(
            count,
            path=path,
            value=data,
            where="",
            how=" × ".join(str(len(v)) for v in axes.values()),
        )
        combos = [
            dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())
        ]
        names: list[str | None] = [None] * len(combos)
    else:
        raw_list = data.get("variants")
        if not isinstance(raw_list, list) or not raw_list:
            raise _fail(
                "a list sweep needs its variants under 'variants:'",
                path=path,
                value=raw_list if raw_list is not None else data,
                where="variants",
                fix="Add 'variants:' with entries such as '- {kind: early_years, add: 2, candidates: grid_2km}'",
            )
        _check_count(len(raw_list), path=path, value=raw_list, where="variants", how="listed")
        combos, names = [], []
        for i, item in enumerate(raw_list):
            where = f"variants[{i}]"
            entry = _mapping(item, path=path, where=where, what="a variant", fix=fix)
            _unknown(entry, ("name", *SITE_FIELDS), path=path, where=where)
            combo: dict[str, Any] = {}
            for name in SITE_FIELDS:
                default = {"threshold": "default", "objective": "coverage", "mode": "car"}.get(name)
                if name not in entry and default is None:
                    raise _fail(
                        f"a variant needs '{name}:'",
                        path=path,
                        value=entry,
                        where=f"{where}.{name}",
                        fix=f"Give '{name}:' for every variant",
                    )
                combo[name] = _site_value(
                    name, entry.get(name, default), path=path, where=f"{where}.{name}"
                )
                if name == "candidates" and combo[name] not in sets:
                    raise _fail(
                        f"no candidate set is named {shown(combo[name])}",
                        path=path,
                        value=entry.get(name),
                        where=f"{where}.{name}",
                        fix=f"Use one of: {', '.join(sets)}",
                    )
            combos.append(combo)
            names.append(
                _text(entry["name"], path=path, where=f"{where}.name", what="a variant's name")
                if "name" in entry
                else None
            )
    variants = []
    for combo, given in zip(combos, names, strict=True):
        threshold = combo["threshold"]
        parts = [
            combo["kind"],
            combo["mode"],
            f"add{combo['add']}",
            "tdefault" if threshold is None else f"t{threshold:g}".replace(".", "_"),
            combo["objective"],
            slug(combo["candidates"]),
        ]
        ident = slug(given).replace("_", "-") if given else "-".join(parts)
        values = {
            k: ("default" if v is None else f"{v:g}" if isinstance(v, float) else str(v))
            for k, v in combo.items()
        }
        options = {**combo, "candidate_set": dict(sets[combo["candidates"]])}
        variants.append(Variant(id=ident, name=given or ident, values=values, options=options))
    _unique_ids(variants, path=path, value=data, where=combine)
    return Sweep(
        kind="sites",
        name=sweep_name,
        path=str(path),
        variants=tuple(variants),
        candidate_sets=sets,
    )


def _site_value(name: str, raw: object, *, path: Path, where: str) -> Any:
    text = _text(raw, path=path, where=where, what=f"'{name}'")
    choices = {
        "kind": settings.ANALYSIS_KINDS,
        "mode": ("car", "walk", "bike"),
        "objective": ("coverage", "time"),
    }
    if name in choices:
        if text not in choices[name]:
            raise _fail(
                f"{name} {shown(text)} is not one geomap knows",
                path=path,
                value=raw,
                where=where,
                fix=f"Use one of: {', '.join(choices[name])}",
            )
        return text
    if name == "candidates":
        return text
    if name == "threshold" and text.lower() == "default":
        return None
    number = float(text) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) else float("nan")
    if name == "add":
        if not text.isdigit() or int(text) < 1:
            raise _fail(
                f"add {shown(text)} is not a whole number of sites of at least 1",
                path=path,
                value=raw,
                where=where,
                fix="Give how many sites to add, e.g. 'add: [1, 2, 3]'",
            )
        return int(text)
    if not (0 < number <= 24 * 60):
        raise _fail(
            f"threshold {shown(text)} is not a number of minutes above 0 and at most a day",
            path=path,
            value=raw,
            where=where,
            fix="Give minutes such as 15, or 'default' for the study area's threshold",
        )
    return number


def _candidate_sets(raw: object, *, path: Path) -> dict[str, dict[str, Any]]:
    fix = "Name each set: 'candidates: {grid_2km: {grid: 2000}, plots: {file: plots.csv}}'"
    sets = _mapping(raw, path=path, where="candidates", what="'candidates:'", fix=fix)
    if not sets:
        raise _fail("'candidates:' is empty", path=path, value=raw, where="candidates", fix=fix)
    out: dict[str, dict[str, Any]] = {}
    for name, spec_raw in sets.items():
        where = f"candidates.{name}"
        spec = _mapping(spec_raw, path=path, where=where, what="a candidate set", fix=fix)
        ways = [w for w in spec if w in _CANDIDATE_WAYS]
        _unknown(spec, _CANDIDATE_WAYS, path=path, where=where)
        if len(ways) != 1:
            raise _fail(
                f"a candidate set is one of {', '.join(_CANDIDATE_WAYS)}, but this one gives "
                f"{len(ways)}",
                path=path,
                value=spec_raw,
                where=where,
                fix="Give one: {grid: 2000}, {file: plots.csv} or {providers: primary}",
            )
        way = ways[0]
        text = _text(spec[way], path=path, where=f"{where}.{way}", what=f"'{way}'")
        if way == "grid":
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) or not 0 < float(text) <= 100_000:
                raise _fail(
                    f"grid spacing {shown(text)} is not metres above 0 and at most 100,000",
                    path=path,
                    value=spec[way],
                    where=f"{where}.grid",
                    fix="Give the spacing in metres, e.g. {grid: 2000}",
                )
            out[str(name)] = {"grid": float(text)}
        elif way == "file":
            file = (path.parent / text).resolve()
            if not file.is_file():
                raise _fail(
                    f"the candidate file {shown(text)} is not a file (looked for {file})",
                    path=path,
                    value=spec[way],
                    where=f"{where}.file",
                    fix="Give the file's path relative to the sweep file",
                )
            out[str(name)] = {"file": str(file)}
        else:
            if text not in settings.ANALYSIS_KINDS:
                raise _fail(
                    f"providers {shown(text)} is not a kind geomap knows",
                    path=path,
                    value=spec[way],
                    where=f"{where}.providers",
                    fix=f"Use one of: {', '.join(settings.ANALYSIS_KINDS)}",
                )
            out[str(name)] = {"providers": text}
    return out


def load_sweep(path: str | Path, *, kind: SweepKind) -> Sweep:
    """Read a route or site sweep file.

    Parameters
    ----------
    path
        The sweep file.
    kind
        ``routes`` (:func:`load_route_sweep`) or ``sites`` (:func:`load_site_sweep`).

    Returns
    -------
    Sweep
        Its variants.

    Raises
    ------
    InputError
        As :func:`load_route_sweep` or :func:`load_site_sweep`.
    """
    return load_route_sweep(path) if kind == "routes" else load_site_sweep(path)


# --------------------------------------------------------------------------- what every worker gets


@dataclass
class RouteSweepInputs:
    """What every variant of a route sweep shares, sent to each worker once.

    Attributes
    ----------
    providers, origins, boundary
        As :class:`geomap.pipeline.Inputs` has them.
    young_people
        Young people of post-16 age per area id.
    car, pt
        The travel sources ``geomap routes evaluate`` would use.
    thresholds
        Barrier thresholds.
    include_independent
        Whether independent sixth forms count.
    postcodes
        The postcode lookup's bytes (written to a file on each worker once), or ``None``.
    road_km
        Road distance between stops (from a network), or ``None``.
    """

    providers: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    boundary: gpd.GeoSeries
    young_people: pd.Series
    car: TravelTimes
    pt: TravelTimes
    thresholds: BarrierThresholds
    include_independent: bool = False
    postcodes: bytes | None = None
    road_km: Callable[[shapely.Point, shapely.Point], float] | None = None


@dataclass
class SiteSweepInputs:
    """What every variant of a site sweep shares, sent to each worker once.

    Attributes
    ----------
    origins, providers, children, areas
        As :class:`geomap.pipeline.Inputs` has them.
    thresholds
        ``{mode: {kind: minutes}}`` set for the study area.
    travel
        A travel source per mode the sweep uses.
    candidates
        Candidate sets read from files, by name (grids are made on the worker).
    include_independent
        Whether independent schools count as existing provision.
    """

    origins: gpd.GeoDataFrame
    providers: gpd.GeoDataFrame
    children: pd.DataFrame
    areas: gpd.GeoDataFrame
    thresholds: Mapping[str, Mapping[str, float]]
    travel: Mapping[str, TravelTimes]
    candidates: Mapping[str, gpd.GeoDataFrame]
    include_independent: bool = False


def route_sweep_inputs(
    inputs: Inputs,
    *,
    car: TravelTimes,
    pt: TravelTimes,
    thresholds: BarrierThresholds,
    include_independent: bool = False,
    road_km: Callable[[shapely.Point, shapely.Point], float] | None = None,
) -> RouteSweepInputs:
    """What the variants of a route sweep share, from the loaded inputs.

    Parameters
    ----------
    inputs
        From :func:`geomap.pipeline.load_inputs`.
    car, pt
        Car and public-transport sources (as ``geomap routes evaluate`` chooses them).
    thresholds
        Barrier thresholds.
    include_independent
        Count independent sixth forms as destinations.
    road_km
        Road distance between stops, from a network (:func:`geomap.travel.sources.road_distance`).

    Returns
    -------
    RouteSweepInputs
        One object, to send to the workers once.

    Raises
    ------
    InputError
        If the postcode lookup cannot be read.
    """
    from geomap.post16 import young_people

    lookup = inputs.study.postcodes
    data = None
    if lookup is not None:
        try:
            data = Path(lookup).read_bytes()
        except OSError as err:
            raise InputError(
                f"cannot read the postcode lookup ({err.strerror or err})",
                path=lookup,
                fix="Check the study area's postcode file",
            ) from err
    return RouteSweepInputs(
        providers=inputs.providers,
        origins=inputs.origins,
        boundary=inputs.boundary.geometry,
        young_people=young_people(inputs.children),
        car=car,
        pt=pt,
        thresholds=thresholds,
        include_independent=include_independent,
        postcodes=data,
        road_km=road_km,
    )


def site_sweep_inputs(
    inputs: Inputs,
    sweep: Sweep,
    *,
    travel: Mapping[str, TravelTimes],
    include_independent: bool = False,
) -> SiteSweepInputs:
    """What the variants of a site sweep share: the inputs, travel sources and candidate files.

    Parameters
    ----------
    inputs
        From :func:`geomap.pipeline.load_inputs`.
    sweep
        The site sweep; its candidate files are read here, once.
    travel
        A travel source for each mode the sweep uses.
    include_independent
        Count independent schools as existing provision.

    Returns
    -------
    SiteSweepInputs
        One object, to send to the workers once.

    Raises
    ------
    InputError
        If a candidate file cannot be read, or a mode has no travel source.
    """
    from geomap.locations import read_points

    modes = {v.options["mode"] for v in sweep.variants}
    missing = sorted(modes - set(travel))
    if missing:
        raise InputError(f"no travel source for mode {missing[0]}", fix="Give one source per mode")
    candidates = {
        name: read_points(
            Path(spec["file"]), what="candidate sites", postcodes=inputs.study.postcodes
        )
        for name, spec in sweep.candidate_sets.items()
        if "file" in spec
    }
    return SiteSweepInputs(
        origins=inputs.origins,
        providers=inputs.providers,
        children=inputs.children,
        areas=inputs.areas,
        thresholds=inputs.study.thresholds,
        travel=dict(travel),
        candidates=candidates,
        include_independent=include_independent,
    )


# --------------------------------------------------------------------------- one variant


_WORK: dict[str, Path] = {}


def _workdir() -> Path:
    """A folder of this process for variants' scenario files, removed when the process ends."""
    if "dir" not in _WORK:
        folder = Path(tempfile.mkdtemp(prefix="geomap-sweep-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _WORK["dir"] = folder
    return _WORK["dir"]


def _postcode_file(data: bytes | None) -> Path | None:
    """The postcode lookup as a file on this machine (written once per process and content)."""
    if data is None:
        return None
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = _workdir() / f"postcodes-{digest}.csv"
    if not target.exists():
        tmp = target.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def scenario_file_name(variant: Variant) -> str:
    """Where a route variant's scenario file is written in a sweep's output folder.

    Parameters
    ----------
    variant
        A route variant.

    Returns
    -------
    str
        ``scenarios/<id>.yml``.
    """
    return f"scenarios/{variant.id}.yml"


def run_variant(shared: RouteSweepInputs | SiteSweepInputs, variant: Variant) -> dict[str, Any]:
    """Evaluate one variant, as ``geomap routes evaluate`` or ``geomap sites`` would.

    Parameters
    ----------
    shared
        What the sweep's variants share (:func:`route_sweep_inputs` or
        :func:`site_sweep_inputs`).
    variant
        The variant.

    Returns
    -------
    dict
        The variant's row: ``variant_id``, ``variant``, ``status`` (``done``),
        ``error`` (empty), ``task_hash``, its ``values`` and, for routes,
        :data:`ROUTE_MEASURES` (all routes together), ``routes`` (each
        route's description), ``pt_max_minutes``, ``ratio``; for sites,
        :data:`SITE_MEASURES`, ``site_ids``, ``site_names``, ``notes``; and
        ``warnings`` (geomap's warnings, joined by `` | ``).

    Raises
    ------
    GeomapError
        As :func:`geomap.routes.load_scenario` and
        :func:`geomap.routes.evaluate_scenario`, or
        :func:`geomap.sites.sites_for_kind`, would; a route variant's messages
        name its scenario file as ``scenarios/<id>.yml``.
    """
    row: dict[str, Any] = {
        "variant_id": variant.id,
        "variant": variant.name,
        "status": "done",
        "error": "",
        "task_hash": variant.task_hash,
        **variant.values,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeomapWarning)
        if isinstance(shared, RouteSweepInputs):
            row.update(_run_route_variant(shared, variant))
        else:
            row.update(_run_site_variant(shared, variant))
    seen: dict[str, None] = {}
    for w in caught:
        if issubclass(w.category, GeomapWarning):
            seen[str(w.message)] = None
    row["warnings"] = " | ".join(seen)
    return row


def _run_route_variant(shared: RouteSweepInputs, variant: Variant) -> dict[str, Any]:
    from geomap.routes import evaluate_scenario, load_scenario

    folder = _workdir() / uuid.uuid4().hex[:8]
    shown_name = scenario_file_name(variant)
    file = folder / shown_name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(variant.scenario, encoding="utf-8")
    try:
        plan = load_scenario(
            file,
            providers=shared.providers,
            county=shared.boundary,
            postcodes=_postcode_file(shared.postcodes),
            road_km=shared.road_km,
        )
        result = evaluate_scenario(
            plan,
            origins=shared.origins,
            providers=shared.providers,
            young_people=shared.young_people,
            car=shared.car,
            pt=shared.pt,
            thresholds=shared.thresholds,
            include_independent=shared.include_independent,
        )
    except InputError as err:
        if err.path is not None and Path(err.path) == file:
            raise type(err)(
                _bare_message(err), path=shown_name, row=err.row, column=err.column, fix=err.fix
            ) from None
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = result.combined.summary
    out = {key: summary.get(key) for key in ROUTE_MEASURES if key in summary}
    out["routes_serving_no_one"] = sum(
        1 for e in result.effects if e.summary["young_who_gain"] == 0
    )
    out["routes"] = "; ".join(route.describe() for route in plan.routes)
    out["pt_max_minutes"] = result.base.thresholds.pt_max_minutes
    out["ratio"] = result.base.thresholds.ratio
    return out


def _bare_message(err: InputError) -> str:
    """``err``'s message without the place and fix that :class:`InputError` adds."""
    text = str(err)
    where = [p for p in (err.path, None if err.row is None else f"row {err.row}") if p]
    if err.column is not None:
        where.append(f"column '{err.column}'")
    prefix = f"{', '.join(where)}: " if where else ""
    text = text.removeprefix(prefix)
    if err.fix:
        text = text.removesuffix(f". {err.fix}")
    return text


def candidate_points(
    shared: SiteSweepInputs, name: str, spec: Mapping[str, Any], *, kind: str
) -> gpd.GeoDataFrame:
    """A site variant's candidates, as ``geomap sites --candidates`` would give them.

    Parameters
    ----------
    shared
        What the sweep's variants share.
    name
        The candidate set's name.
    spec
        ``{"grid": metres}``, ``{"file": path}`` or ``{"providers": kind}``.
    kind
        The kind of provision added.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id``, ``name`` and points (EPSG:27700).

    Raises
    ------
    InputError
        If a grid puts no candidate in a populated area, or no provider of the
        kind named is a candidate.
    """
    from geomap.gaps import eligible_providers
    from geomap.sites import grid_candidates

    if "grid" in spec:
        points = grid_candidates(
            shared.areas, spacing_m=spec["grid"], populated=shared.children[kind]
        )
        if points.empty:
            raise InputError(
                f"a {spec['grid']:g} m grid puts no candidate inside an area with "
                f"children of the age for {kind}",
                column=f"candidates.{name}",
                fix="Give a smaller grid spacing",
            )
        return points
    if "file" in spec:
        return shared.candidates[name]
    existing = set(
        eligible_providers(shared.providers, kind, include_independent=shared.include_independent)[
            "id"
        ].astype(str)
    )
    other = eligible_providers(
        shared.providers, spec["providers"], include_independent=shared.include_independent
    )
    other = other[~other["id"].astype(str).isin(existing)]
    if other.empty:
        raise InputError(
            f"every {spec['providers']} provider already offers {kind}: no candidates",
            column=f"candidates.{name}",
            fix="Choose providers of another kind, or a grid",
        )
    return gpd.GeoDataFrame(
        {"id": other["id"].astype(str).to_numpy(), "name": other["name"].astype(str).to_numpy()},
        geometry=other.geometry.to_numpy(),
        crs=settings.MEASURE_CRS,
    )


def run_site_choice(shared: SiteSweepInputs, variant: Variant) -> Any:
    """The :class:`~geomap.sites.SiteChoice` of a site variant, as ``geomap sites`` makes it.

    Parameters
    ----------
    shared
        What the sweep's variants share.
    variant
        A site variant.

    Returns
    -------
    geomap.sites.SiteChoice
        The choice.

    Raises
    ------
    InputError
        As :func:`geomap.sites.sites_for_kind` and :func:`candidate_points`.
    """
    from geomap.sites import sites_for_kind

    o = variant.options
    name = o["candidates"]
    points = candidate_points(shared, name, o["candidate_set"], kind=o["kind"])
    return sites_for_kind(
        shared.origins,
        shared.providers,
        shared.children,
        shared.travel[o["mode"]],
        thresholds=shared.thresholds,
        kind=o["kind"],
        add=o["add"],
        candidates=points,
        objective=o["objective"],
        threshold=o["threshold"],
        include_independent=shared.include_independent,
    )


def _run_site_variant(shared: SiteSweepInputs, variant: Variant) -> dict[str, Any]:
    choice = run_site_choice(shared, variant)
    before, after = choice.before, choice.after
    newly_covered = (
        float(after["covered"] - before["covered"]) if choice.threshold is not None else np.nan
    )
    newly_reached = float(after["reached"] - before["reached"])
    if choice.objective == "coverage":
        gain, unit = newly_covered, "children newly within the threshold"
    else:
        gain = round(float(before["mean_minutes"] - after["mean_minutes"]), 2)
        unit = "minutes cut from the mean journey (children reached before and after)"
    return {
        "threshold_minutes": np.nan if choice.threshold is None else choice.threshold,
        "gain": gain,
        "gain_unit": unit,
        "covered_before": before["covered"],
        "covered_after": after["covered"],
        "newly_covered": newly_covered,
        "reached_before": before["reached"],
        "reached_after": after["reached"],
        "newly_reached": newly_reached,
        "mean_minutes_before": before["mean_minutes"],
        "mean_minutes_after": after["mean_minutes"],
        "population": after["population"],
        "optimal": bool(choice.optimal),
        "site_ids": "; ".join(map(str, choice.sites["site_id"])),
        "site_names": "; ".join(map(str, choice.sites.get("name", pd.Series(dtype=str)))),
        "notes": " ".join(choice.notes),
    }


def _failed_row(variant: Variant, error: str) -> dict[str, Any]:
    return {
        "variant_id": variant.id,
        "variant": variant.name,
        "status": "failed",
        "error": error,
        "task_hash": variant.task_hash,
        **variant.values,
    }


def _safe_run(shared: RouteSweepInputs | SiteSweepInputs, variant: Variant) -> dict[str, Any]:
    """:func:`run_variant`, with geomap's errors turned into a failed row (the task itself succeeds)."""
    try:
        return run_variant(shared, variant)
    except GeomapError as err:
        return _failed_row(variant, str(err))


# --------------------------------------------------------------------------- running a sweep


Progress = Callable[[Mapping[str, Any], int, int], None]


def run_sweep(
    sweep: Sweep,
    shared: RouteSweepInputs | SiteSweepInputs,
    *,
    client: Client | None = None,
    skip: Iterable[str] = (),
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Run a sweep's variants, on a Dask cluster or in this process.

    With a client, ``shared`` is sent to every worker once
    (:meth:`distributed.Client.scatter` with ``broadcast=True``) and each
    variant is one task; results are handed to ``progress`` as they finish
    (:func:`distributed.as_completed`). Without one, the variants run here in
    turn. A variant that raises one of geomap's errors (a stop whose postcode
    is unknown...) gives a row with ``status`` ``failed`` and the message as
    ``error``; so does a task lost with its worker. The others still run.

    Parameters
    ----------
    sweep
        From :func:`load_route_sweep` or :func:`load_site_sweep`.
    shared
        What the variants share (:func:`route_sweep_inputs` or :func:`site_sweep_inputs`).
    client
        A :class:`distributed.Client` (see :func:`sweep_client`), or ``None``
        to run in this process.
    skip
        Ids of variants not to run (already done, when resuming).
    progress
        Called with each finished variant's row, the number finished and the
        number to run, as each finishes.

    Returns
    -------
    list of dict
        One row per variant run (see :func:`run_variant`), in the order they finished.
    """
    skipped = set(skip)
    todo = [v for v in sweep.variants if v.id not in skipped]
    rows: list[dict[str, Any]] = []

    def finished(row: dict[str, Any]) -> None:
        rows.append(row)
        if progress is not None:
            progress(row, len(rows), len(todo))

    if client is None:
        for variant in todo:
            finished(_safe_run(shared, variant))
        return rows
    import distributed

    dask: Any = client  # distributed's methods carry no type hints
    as_completed: Any = distributed.as_completed
    token = uuid.uuid4().hex[:8]
    remote = dask.scatter(shared, broadcast=True, hash=False)
    futures = {
        client.submit(
            _safe_run, remote, variant, key=f"geomap-sweep-{token}-{i}", pure=False
        ): variant
        for i, variant in enumerate(todo)
    }
    try:
        for future in as_completed(futures):
            variant = futures[future]
            try:
                row = future.result()
            except Exception as err:  # a worker lost, or a fault in a task: report, carry on
                row = _failed_row(
                    variant, f"the task failed on its worker ({type(err).__name__}: {err})"
                )
            finished(row)
    finally:
        dask.cancel(list(futures))
        with contextlib.suppress(Exception):
            dask.cancel(remote)
    return rows


def check_scheduler_address(address: str) -> str:
    """Check that ``address`` is a Dask scheduler's address, ``tcp://host:port`` (or ``tls://``).

    Parameters
    ----------
    address
        The address given.

    Returns
    -------
    str
        ``address``.

    Raises
    ------
    InputError
        If it is not of that form.
    """
    if not re.fullmatch(r"(tcp|tls)://[^\s/:]+:[0-9]{1,5}", address):
        raise InputError(
            f"{shown(address)} is not a scheduler address",
            fix="Give it as tcp://host:port, as 'dask scheduler' prints it (e.g. tcp://10.0.0.5:8786)",
        )
    return address


@contextlib.contextmanager
def sweep_client(
    *, workers: int = 2, scheduler: str | None = None, timeout_s: float = 60.0
) -> Iterator[Client]:
    """A Dask client: on a new local cluster, or on an existing cluster's scheduler.

    Parameters
    ----------
    workers
        Worker processes of a local cluster (one thread each, on 127.0.0.1,
        no dashboard); ignored with ``scheduler``.
    scheduler
        The address of a running scheduler (``tcp://host:port``), from ``dask
        scheduler`` or a cluster manager; ``None`` for a local cluster.
    timeout_s
        How long to wait for the scheduler and for a first worker.

    Yields
    ------
    distributed.Client
        The client; a local cluster is closed when the block ends.

    Raises
    ------
    InputError
        If the address is not ``tcp://host:port``, the scheduler cannot be
        reached, or it has no worker within ``timeout_s``.
    """
    import logging

    import distributed  # noqa: F401  # its loggers exist once it is imported

    # the scheduler's and workers' routine messages are not the user's business
    names = ["distributed", "tornado", "bokeh"]
    names += [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with _client(workers=workers, scheduler=scheduler, timeout_s=timeout_s) as client:
            yield client
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _client(*, workers: int, scheduler: str | None, timeout_s: float) -> Iterator[Any]:
    import logging

    import distributed

    # distributed's classes carry no type hints
    local_cluster: Any = distributed.LocalCluster
    new_client: Any = distributed.Client
    if scheduler is None:
        if workers < 1:
            raise InputError(f"a local cluster needs at least one worker, not {workers}")
        with (
            local_cluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            new_client(cluster) as local,
        ):
            yield local
        return
    check_scheduler_address(scheduler)
    try:
        client: Any = new_client(scheduler, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as err:
        raise InputError(
            f"cannot reach the Dask scheduler at {scheduler} ({err})",
            fix="Check that 'dask scheduler' is running there and the port is open, or leave out "
            "--scheduler to run on this machine",
        ) from err
    try:
        try:
            client.wait_for_workers(1, timeout=timeout_s)
        except (OSError, TimeoutError) as err:
            raise InputError(
                f"the Dask scheduler at {scheduler} has no worker after {timeout_s:g} s",
                fix=f"Start workers with 'dask worker {scheduler} --nthreads 1'",
            ) from err
        yield client
    finally:
        client.close()


# --------------------------------------------------------------------------- tables


def append_row(row: Mapping[str, Any], path: str | Path, *, columns: Sequence[str]) -> None:
    """Append one variant's row to a CSV written by :func:`start_table`, and flush it to disk.

    Text that a spreadsheet could run as a formula is made inert
    (:func:`geomap.io.neutralise_formulas`); a missing value is left empty.

    Parameters
    ----------
    row
        The row (see :func:`run_variant`).
    path
        The CSV.
    columns
        Its columns, in order.

    Raises
    ------
    OSError
        If the file cannot be written.
    """
    table = neutralise_formulas(
        pd.DataFrame([{c: row.get(c) for c in columns}], columns=list(columns))
    )
    with open(path, "a", encoding="utf-8", newline="") as handle:
        table.to_csv(
            handle, header=False, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
        )
        handle.flush()
        os.fsync(handle.fileno())


def start_table(path: str | Path, *, columns: Sequence[str]) -> Path:
    """Write an empty variants table (its header only), to append rows to.

    Parameters
    ----------
    path
        The CSV.
    columns
        Its columns.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputError
        If it cannot be written.
    """
    return write_csv(pd.DataFrame(columns=list(columns)), path)


def read_done(path: str | Path) -> pd.DataFrame:
    """The rows of a variants table (:func:`start_table`), numbers as numbers.

    A last line cut short by an interruption is left out.

    Parameters
    ----------
    path
        The CSV.

    Returns
    -------
    pandas.DataFrame
        Its rows; empty (with the file's columns) when it has none or does not exist.
    """
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=list(ROW_START))
    table = pd.read_csv(
        path, encoding="utf-8-sig", dtype=str, keep_default_na=False, on_bad_lines="skip"
    )
    table = table[table["variant_id"].astype(bool) & table["status"].isin(["done", "failed"])]
    for column in [*ROUTE_MEASURES, *SITE_MEASURES, "pt_max_minutes", "ratio"]:
        if column in table and column not in ("gain_unit", "optimal"):
            table[column] = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
            if column.startswith(("young_", "areas_", "routes_")):
                table[column] = table[column].astype("Int64")  # counts of people and areas
    return table.reset_index(drop=True)


def rank_variants(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    kind: SweepKind,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """All variants, best first, with a ``rank``; failed variants last, unranked.

    Route variants are ranked as ``geomap routes evaluate`` ranks routes: by
    young people no longer facing any barrier, then minutes saved. Site
    variants are ranked within each objective: ``coverage`` by children newly
    within the threshold, ``time`` by children newly given a journey, then the
    mean minutes after (least first). Ties keep the sweep file's order.

    Parameters
    ----------
    rows
        One row per variant (:func:`run_sweep` or :func:`read_done`).
    kind
        ``routes`` or ``sites``.
    order
        Variant ids in the sweep file's order, for ties (the rows' order by default).

    Returns
    -------
    pandas.DataFrame
        ``rank`` first (for sites, ``rank`` within the ``objective``), then the rows' columns.
    """
    table = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows).reset_index(
        drop=True
    )
    if table.empty:
        return table.assign(rank=pd.Series(dtype="Int64"))[["rank", *table.columns]]
    if order is not None:
        where = {ident: i for i, ident in enumerate(order)}
        table["_order"] = table["variant_id"].map(where).fillna(len(where))
        table = table.sort_values("_order", kind="stable").reset_index(drop=True)
    table["_order"] = np.arange(len(table))
    ok = table[table["status"] == "done"].copy()
    failed = table[table["status"] != "done"].copy()
    if kind == "routes":
        ok = ok.sort_values(
            ["young_no_longer_barrier", "minutes_saved", "_order"],
            ascending=[False, False, True],
            kind="stable",
        )
        ok["rank"] = np.arange(1, len(ok) + 1)
    else:
        ok["_first"] = np.where(
            ok["objective"] == "coverage", ok["newly_covered"], ok["newly_reached"]
        )
        ok = ok.sort_values(
            ["objective", "_first", "mean_minutes_after", "_order"],
            ascending=[True, False, True, True],
            kind="stable",
        )
        ok["rank"] = ok.groupby("objective").cumcount() + 1
        ok = ok.drop(columns="_first")
    failed["rank"] = pd.NA
    out = pd.concat([ok, failed], ignore_index=True).drop(columns="_order")
    out["rank"] = out["rank"].astype("Int64")
    return out[["rank", *[c for c in out.columns if c != "rank"]]]
