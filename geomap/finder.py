r"""The post-16 options finder: one offline page that answers "what can I reach from my postcode?".

A young person or an adviser types a postcode of the study area and sees the
sixth forms and colleges nearest to it, nearest first, each with its car time,
its public-transport time (with a timetable: when to leave, how many changes
and when the journey arrives), its walking time when the walk is short, its
Ofsted rating, its number of 16–18 students and whether it is across the
border; a map zooms to the postcode and draws the options.

The page holds no analysis: :func:`finder_data` works out, for every postcode
of the study area, its nearest :data:`FINDER_OPTIONS` post-16 providers and
their times, and stores them compactly (providers listed once; per postcode,
provider indices and whole minutes in flat arrays; coordinates in units of
1e-5 degree), so the county's page stays well under 5 MB.
:func:`finder_html` writes the page: Leaflet inlined (the copy
:mod:`geomap.maps` uses), the council boundaries as a light base, the data as
inert JSON (``<``, ``>`` and ``&`` written as ``\u003c`` ...), and a script
that writes every text from the data with ``textContent``.

Which providers: sixth forms and colleges (:func:`geomap.gaps.eligible_providers`
with ``post16``), in the county and across its border; the nearest are chosen
by car time (then straight-line distance, for providers with no car journey).
Unknown ratings, sizes and times are shown as "not known", never as zero.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from markupsafe import Markup

from geomap import settings
from geomap.errors import InputError
from geomap.gaps import eligible_providers
from geomap.locations import postcode_lookup
from geomap.maps import _assets, _geojson, _inline_script
from geomap.travel.base import TravelTimes, description_of

if TYPE_CHECKING:
    from geomap.pipeline import Inputs

logger = logging.getLogger(__name__)

#: How many post-16 options the page lists for each postcode.
FINDER_OPTIONS = 8

#: Walks up to this many minutes are shown; longer ones are left out of the list.
FINDER_WALK_MINUTES = 45.0
#: Where :data:`FINDER_WALK_MINUTES` comes from, said on the page.
FINDER_WALK_SOURCE = (
    "walking times are shown up to 45 minutes (about 3.6 km at 4.8 km/h), a walk many "
    "16–18 learners make; this is geomap's choice for the finder, not a statutory limit"
)

#: Version of the page's data layout (``format`` of :func:`finder_data`).
DATA_FORMAT = "geomap-finder-1"

#: Coordinates are stored as whole multiples of this many degrees (about 1 m).
COORD_UNIT = 1e-5

_LABELS = {"sixth_form": "School sixth form", "college": "College"}


# --------------------------------------------------------------------------- postcodes


def _display(key: str) -> str:
    """A folded postcode as people write it: ``HR11AA`` → ``HR1 1AA``."""
    return f"{key[:-3]} {key[-3:]}" if len(key) > 3 else key


def _study_postcodes(
    lookup: Mapping[str, tuple[float, float]], boundary: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Postcodes of ``lookup`` inside ``boundary`` (as points, ``id`` = folded postcode), and the others' keys.

    A small helper of the finder's own: every postcode of the lookup inside the
    study area's outline, in sorted order.
    """
    keys = np.array(sorted(lookup), dtype=object)
    xy = np.array([lookup[k] for k in keys], dtype=float).reshape(-1, 2)
    outline = boundary.to_crs(settings.MEASURE_CRS).geometry.union_all()
    shapely.prepare(outline)
    inside = (
        shapely.intersects_xy(outline, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, dtype=bool)
    )
    points = gpd.GeoDataFrame(
        {"id": keys[inside].astype(str)},
        geometry=gpd.points_from_xy(xy[inside, 0], xy[inside, 1]),
        crs=settings.MEASURE_CRS,
    )
    return points.reset_index(drop=True), [str(k) for k in keys[~inside]]


def _area_of(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> np.ndarray:
    """The id of the area each point lies in (the nearest area for points in none)."""
    layer = areas[["area_id", "geometry"]].to_crs(settings.MEASURE_CRS).reset_index(drop=True)
    found = np.full(len(points), None, dtype=object)
    if not len(points) or not len(layer):
        return found
    point_idx, area_idx = layer.sindex.query(points.geometry, predicate="intersects")
    order = np.argsort(point_idx, kind="stable")
    point_idx, area_idx = point_idx[order], area_idx[order]
    first = np.unique(point_idx, return_index=True)
    found[first[0]] = layer["area_id"].to_numpy()[area_idx[first[1]]]
    missing = np.flatnonzero(pd.isna(found))
    if len(missing):
        nearest = layer.sindex.nearest(points.geometry.iloc[missing], return_all=False)
        found[missing[nearest[0]]] = layer["area_id"].to_numpy()[nearest[1]]
    return found


# --------------------------------------------------------------------------- times


def _grid(times: pd.DataFrame, origins: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """A long-form matrix as an origins × targets array of ``minutes`` (NaN for no journey)."""
    row = pd.Categorical(times["from_id"].astype(str), categories=list(origins)).codes
    col = pd.Categorical(times["to_id"].astype(str), categories=list(targets)).codes
    grid = np.full((len(origins), len(targets)), np.nan)
    known = (row >= 0) & (col >= 0)
    grid[row[known], col[known]] = times["minutes"].to_numpy(dtype=float)[known]
    return grid


def _whole(values: np.ndarray) -> list[int | None]:
    """Whole minutes (or clock minutes), ``None`` where not a number."""
    out: list[int | None] = []
    for value in values.tolist():
        out.append(None if value is None or not math.isfinite(value) else round(value))
    return out


def _clock_minutes(text: Any) -> float:
    """``HH:MM:SS`` (hours may pass 24) as minutes after midnight; NaN when missing."""
    if not isinstance(text, str) or not text:
        return math.nan
    sign = -1.0 if text.startswith("-") else 1.0
    hours, minutes, seconds = (float(part) for part in text.lstrip("-").split(":"))
    return sign * (hours * 60.0 + minutes + seconds / 60.0)


# --------------------------------------------------------------------------- data


def finder_data(
    inputs: Inputs,
    *,
    car: TravelTimes,
    pt: TravelTimes | None = None,
    walk: TravelTimes | None = None,
    options: int = FINDER_OPTIONS,
    include_independent: bool = False,
) -> dict[str, Any]:
    """The finder's compact data: for every postcode of the study area, its nearest post-16 options.

    Parameters
    ----------
    inputs
        From :func:`geomap.pipeline.load_inputs`; its study area must name a
        postcode lookup (``[postcodes]``). The postcodes listed are those of the
        lookup inside ``inputs.boundary``.
    car
        Car times (the study area's drive network, else the calibrated
        estimate); the options are the nearest by car.
    pt
        Public-transport times, or ``None`` for none (the page says so). A
        timetable (a source with ``journeys``, such as
        :class:`~geomap.travel.gtfs.TimetableTravelTimes`) is asked from each
        postcode and gives when to leave, the changes and the arrival; any other
        source (a routed table from areas to sites) is asked from the origin of
        the area each postcode lies in, and gives minutes only.
    walk
        Walking times, or ``None`` for none; walks over
        :data:`FINDER_WALK_MINUTES` are left out.
    options
        How many providers to list per postcode (at most the number of post-16
        providers).
    include_independent
        List independent schools' sixth forms too.

    Returns
    -------
    dict
        JSON-ready, with keys:

        ``format``
            :data:`DATA_FORMAT`.
        ``name``
            The study area's name.
        ``options``
            Options per postcode (``n`` below).
        ``providers``
            Column arrays, one entry per provider: ``id``, ``name``, ``kind``
            (label), ``rating`` and ``students`` (``None`` when not known),
            ``in_county`` (bool), ``council`` (``None`` when not known),
            ``postcode``, ``lat`` and ``lon`` (units of :data:`COORD_UNIT`),
            ``pt_known`` (whether the public-transport source has any time to
            the provider).
        ``postcodes``
            ``key`` (folded: ``HR11AA``, sorted), ``lat`` and ``lon`` (units of
            :data:`COORD_UNIT`).
        ``option``, ``car``, ``walk``, ``pt``
            Flat arrays, ``n`` entries per postcode in postcode order, nearest
            first: provider index (``-1`` past the last provider), whole
            minutes by car, on foot (``None`` when over the limit or no walk)
            and by public transport (``None`` for no journey); ``walk`` and
            ``pt`` are ``None`` when there is no such source.
        ``pt_leave``, ``pt_arrive``, ``pt_changes``
            With a timetable: minutes after midnight of leaving and arriving,
            and changes (``-1`` for a journey on foot all the way); otherwise ``None``.
        ``outside``
            Folded postcodes of the lookup outside the study area (sorted).
        ``notes``
            Sentences for the page: ``car``, ``walk``, ``pt``, ``ratings``,
            ``students``, ``providers``, ``postcodes``, ``options``.
        ``base``, ``outline``
            GeoJSON (lon/lat) of the council boundaries and of the study area.
        ``bounds``
            ``[south, west, north, east]`` of the study area.

    Raises
    ------
    InputError
        If the study area has no postcode lookup, no postcode of it lies in the
        study area, there are no post-16 providers, or ``options`` is not a
        whole number of at least 1.
    """
    if isinstance(options, bool) or not isinstance(options, int | np.integer) or options < 1:
        raise InputError(
            f"the finder lists at least one option per postcode; options={options!r}",
            fix="Give a whole number of 1 or more (8 by default)",
        )
    study = inputs.study
    if study.postcodes is None:
        raise InputError(
            f"{study.name} names no postcode lookup, so the finder has no postcodes to list",
            path=getattr(study, "path", None),
            fix='Add [postcodes] path = "..." (OS Code-Point Open or the ONS Postcode '
            "Directory) to the study-area file",
        )
    lookup = postcode_lookup(study.postcodes)
    homes, outside = _study_postcodes(lookup, inputs.boundary)
    if not len(homes):
        raise InputError(
            f"none of the {len(lookup):,} postcodes of the lookup lies inside {study.name}",
            path=study.postcodes,
            fix="Give a postcode lookup that covers the study area",
        )
    post16 = eligible_providers(inputs.providers, "post16", include_independent=include_independent)
    post16 = post16.to_crs(settings.MEASURE_CRS).reset_index(drop=True)
    if not len(post16):
        raise InputError(
            "there are no sixth forms or colleges in the provider list, so the finder has "
            "nothing to list",
            fix="Give a provider list with post-16 providers (sixth forms, colleges)",
        )
    points = post16[["id", "geometry"]].assign(id=post16["id"].astype(str))
    ids = points["id"].tolist()
    keys = homes["id"].tolist()
    n = min(int(options), len(post16))

    car_times = car.matrix(homes, points)
    car_text = description_of(car_times, car)
    car_grid = _grid(car_times, keys, ids)
    hxy = np.column_stack([homes.geometry.x, homes.geometry.y])
    pxy = np.column_stack([points.geometry.x, points.geometry.y])
    distance = np.sqrt(((hxy[:, None, :] - pxy[None, :, :]) ** 2).sum(axis=2))
    # nearest by car, then by straight line (providers with no car journey go last)
    order = np.lexsort((distance, np.nan_to_num(car_grid, nan=np.inf)), axis=1)[:, :n]
    rows = np.arange(len(keys))[:, None]

    walk_flat: list[int | None] | None = None
    walk_text = "No walking times were worked out."
    if walk is not None:
        walk_times = walk.matrix(homes, points)
        walk_text = description_of(walk_times, walk)
        chosen = _grid(walk_times, keys, ids)[rows, order]
        walk_flat = _whole(np.where(chosen <= FINDER_WALK_MINUTES, chosen, np.nan).ravel())

    pt_flat: list[int | None] | None = None
    leave: list[int | None] | None = None
    arrive: list[int | None] | None = None
    changes: list[int | None] | None = None
    pt_known = np.zeros(len(ids), dtype=bool)
    pt_text = (
        "No public-transport times: the study area names no timetable or routed table "
        "(give one to add them)."
    )
    if pt is not None:
        if pt.gives_journeys:
            table = pt.journeys(homes, points)
            pt_text = description_of(table, pt)
            table = table.assign(
                leave=table["departure"].map(_clock_minutes),
                arrive=table["arrival"].map(_clock_minutes),
                changes=table["boardings"].astype(float) - 1.0,
            )
            cells = {
                column: _grid(table.assign(minutes=table[column]), keys, ids)[rows, order]
                for column in ("minutes", "leave", "arrive", "changes")
            }
            pt_flat = _whole(cells["minutes"].ravel())
            leave = _whole(cells["leave"].ravel())
            arrive = _whole(cells["arrive"].ravel())
            changes = _whole(
                np.where(np.isfinite(cells["minutes"]), cells["changes"], np.nan).ravel()
            )
            pt_known = np.isfinite(_grid(table, keys, ids)).any(axis=0)
            pt_text += " Times are from each postcode."
        else:
            area_of = _area_of(homes, inputs.areas)
            origins = inputs.origins.to_crs(settings.MEASURE_CRS)
            area_times = pt.matrix(origins, points)
            pt_text = description_of(area_times, pt)
            area_ids = origins["id"].astype(str).tolist()
            by_area = _grid(
                area_times.assign(from_id=area_times["from_id"].astype(str)), area_ids, ids
            )
            pt_known = np.isfinite(by_area).any(axis=0)
            position = {a: i for i, a in enumerate(area_ids)}
            home_rows = np.array([position.get(str(a), -1) for a in area_of], dtype=int)
            padded = np.vstack([by_area, np.full((1, len(ids)), np.nan)])
            chosen = padded[home_rows][rows, order]
            pt_flat = _whole(chosen.ravel())
            pt_text += (
                f" Times are from the {inputs.area_label} each postcode lies in (its journey "
                f"start point), not from the postcode itself; the source has times to "
                f"{int(pt_known.sum())} of the {len(ids)} sixth forms and colleges, and the "
                "others show as not known."
            )

    lonlat = post16.to_crs(settings.LONLAT_CRS).geometry
    home_lonlat = homes.to_crs(settings.LONLAT_CRS).geometry
    students = pd.to_numeric(post16["students_16_18"], errors="coerce")
    council = (
        post16["la_name"] if "la_name" in post16.columns else pd.Series(None, index=post16.index)
    )
    boundary_lonlat = inputs.boundary.to_crs(settings.LONLAT_CRS).total_bounds
    option_flat = np.where(np.arange(n) < len(ids), order, -1).ravel().tolist()

    return {
        "format": DATA_FORMAT,
        "name": str(inputs.name),
        "options": n,
        "providers": {
            "id": ids,
            "name": [_text(v) or "(no name)" for v in post16["name"]],
            "kind": [
                _LABELS.get(str(k), settings.KIND_LABELS.get(str(k), str(k)))
                for k in post16["kind"]
            ],
            "rating": [_text(v) for v in post16["rating"]],
            "students": [None if pd.isna(v) else round(float(v)) for v in students.tolist()],
            "in_county": [bool(v) for v in post16["in_county"].fillna(False)],
            "council": [_text(v) for v in council],
            "postcode": [_text(v) for v in post16["postcode"]]
            if "postcode" in post16.columns
            else [None] * len(ids),
            "lat": _units(lonlat.y.to_numpy()),
            "lon": _units(lonlat.x.to_numpy()),
            "pt_known": [bool(v) for v in pt_known],
        },
        "postcodes": {
            "key": keys,
            "lat": _units(home_lonlat.y.to_numpy()),
            "lon": _units(home_lonlat.x.to_numpy()),
        },
        "option": option_flat,
        "car": _whole(car_grid[rows, order].ravel()),
        "walk": walk_flat,
        "pt": pt_flat,
        "pt_leave": leave,
        "pt_arrive": arrive,
        "pt_changes": changes,
        "outside": outside,
        "notes": {
            "car": car_text,
            "walk": walk_text
            if walk is None
            else f"{walk_text} {FINDER_WALK_SOURCE[0].upper()}{FINDER_WALK_SOURCE[1:]}.",
            "pt": pt_text,
            "ratings": f"Ofsted ratings: {inputs.ratings_note}.",
            "students": f"Size: {inputs.students_note}.",
            "providers": (
                f"{len(ids)} sixth forms and colleges"
                + ("" if include_independent else " (independent schools left out)")
                + f", {int((~post16['in_county'].fillna(False).astype(bool)).sum())} of them "
                f"across the border of {inputs.name}."
            ),
            "postcodes": (
                f"{len(keys):,} postcodes inside {inputs.name}, from {Path(study.postcodes).name}."
            ),
            "options": f"The {n} nearest by car are listed for each postcode, nearest first.",
        },
        "base": _geojson(inputs.base, [], simplify=200.0),
        "outline": _geojson(inputs.boundary, [], simplify=50.0),
        "bounds": [
            float(boundary_lonlat[1]),
            float(boundary_lonlat[0]),
            float(boundary_lonlat[3]),
            float(boundary_lonlat[2]),
        ],
    }


def _text(value: Any) -> str | None:
    """Text of a cell, ``None`` when missing or blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _units(degrees: np.ndarray) -> list[int]:
    """Degrees as whole multiples of :data:`COORD_UNIT`."""
    return [int(v) for v in np.rint(np.asarray(degrees, dtype=float) / COORD_UNIT)]


# --------------------------------------------------------------------------- page


def inert_json(value: Any) -> str:
    r"""JSON that is inert inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\u003c``, ``\u003e`` and
    ``\u0026`` (and the line and paragraph separators as escapes), so no value
    can close the script element or be read as markup; ``JSON.parse`` gives the
    text back as it was.

    Parameters
    ----------
    value
        JSON-ready data.

    Returns
    -------
    str
        The JSON text.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("geomap", "_assets"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("finder.html.j2")


def finder_html(data: Mapping[str, Any], *, title: str, caption: str) -> str:
    """The finder as one self-contained HTML page (opens offline from a file).

    Parameters
    ----------
    data
        From :func:`finder_data`.
    title
        The page's title and heading (plain text).
    caption
        Data, method and attribution text shown under the results (plain text;
        line breaks kept).

    Returns
    -------
    str
        The page: Leaflet inlined, the data as inert JSON, no network requests.

    Raises
    ------
    InputError
        If ``data`` is not finder data of this version.
    """
    if data.get("format") != DATA_FORMAT:
        raise InputError(
            f"not finder data of format {DATA_FORMAT} (format {data.get('format')!r})",
            fix="Make the data with geomap.finder.finder_data",
        )
    assets = _assets()
    script = resources.files("geomap") / "_assets" / "finder.js"
    return _template().render(
        title=title,
        caption_lines=[line for line in caption.split("\n")],
        leaflet_css=Markup(assets["leaflet_css"]),
        leaflet_js=Markup(_inline_script(assets["leaflet_js"])),
        finder_js=Markup(_inline_script(script.read_text(encoding="utf-8"))),
        data_json=Markup(inert_json(dict(data))),
    )


# --------------------------------------------------------------------------- convenience


def finder_caption(inputs: Inputs) -> str:
    """The page's caption: the study area's attribution.

    Parameters
    ----------
    inputs
        The inputs the page was built from.

    Returns
    -------
    str
        One sentence per line.
    """
    lines = [f"{inputs.name}: post-16 options by postcode, made with geomap."]
    if inputs.study.attribution:
        lines.append(inputs.study.attribution)
    lines.append("Map: council boundaries only (no background map, so the page works offline).")
    return "\n".join(lines)


def finder_page(
    inputs: Inputs,
    *,
    networks: Iterable[str | Path] = (),
    pt: TravelTimes | None = None,
    options: int = FINDER_OPTIONS,
    include_independent: bool = False,
    title: str | None = None,
) -> str:
    """The finder page for a study area, with its own travel sources.

    Car and walking times come from :func:`geomap.pipeline.choose_travel`
    (the networks given or the study area's, else the calibrated estimates);
    public-transport times from ``pt``, else the study area's own
    (:func:`geomap.pipeline.choose_public_transport`), else none.

    Parameters
    ----------
    inputs
        From :func:`geomap.pipeline.load_inputs`.
    networks
        Network files to route on, replacing the study area's.
    pt
        A public-transport source to use instead of the study area's.
    options
        Options listed per postcode.
    include_independent
        List independent schools' sixth forms too.
    title
        The page's title; "Post-16 options near you: <study area>" by default.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    InputError
        As :func:`finder_data` does.
    """
    from geomap.pipeline import choose_public_transport, choose_travel

    car, walk = choose_travel(inputs.study, ["car", "walk"], networks=networks)
    source = pt if pt is not None else choose_public_transport(inputs.study)
    data = finder_data(
        inputs,
        car=car,
        pt=source,
        walk=walk,
        options=options,
        include_independent=include_independent,
    )
    return finder_html(
        data,
        title=title or f"Post-16 options near you: {inputs.name}",
        caption=finder_caption(inputs),
    )
