"""A synthetic study area of any size, up to all of England, for timing geomap.

Nothing here is real data: the generator makes, deterministically from a seed,

- **areas**: Voronoi cells of clustered centroids (towns of many sizes and
  countryside between them) clipped to a rectangle of the right land area in
  EPSG:27700, each with children by kind (the county's means, Poisson-spread,
  more in towns);
- **providers** of every kind in geomap's provider columns (``id, name, kind,
  sector, low_age, high_age, offers_*, capacity, pupils, students_16_18,
  rating, status, in_county, gender, religious_character``), placed near the
  areas' centroids in proportion to their children, so that they cluster like
  schools do;
- a **road-like graph**: a perturbed grid at England's node density with
  missing links, faster roads every 8th line and trunk roads every 40th, and
  one-way residential links, as edge arrays for
  :func:`geomap.travel.network.compile_arrays` with two weight sets, car
  (one-way links driven their way only) and walk (every link both ways).

Sizes: ``scale=s`` is ``s`` times Herefordshire (116 LSOAs, 113 providers,
2,180 km²) at England's node density (2,000,000 nodes over England's
130,300 km²), so ``scale=64`` is about England's land area. ``scale=None``
(:func:`national_study`) is England itself: 33,755 areas (LSOAs 2021), 22,000
state-funded schools and 2,000,000 nodes over 130,300 km².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Herefordshire: LSOAs (2021), providers inside the county (the shipped list's 113 of
#: its 756; the rest are across the border) and land area, km².
COUNTY_AREAS = 116
COUNTY_PROVIDERS = 113
COUNTY_KM2 = 2180.0
#: England: LSOAs (2021), state-funded schools (DfE, about 22,000), nodes, land area km².
ENGLAND_AREAS = 33_755
ENGLAND_PROVIDERS = 22_000
ENGLAND_NODES = 2_000_000
ENGLAND_KM2 = 130_300.0
#: Nodes per km² of the graph: England's density.
NODE_DENSITY = ENGLAND_NODES / ENGLAND_KM2

#: Share of each kind among the providers, and their ages (low, high).
KIND_SHARES = {
    "early_years": 0.14,
    "primary": 0.62,
    "secondary": 0.07,
    "sixth_form": 0.07,
    "college": 0.02,
    "special": 0.08,
}
#: Mean children per area by kind: the shipped county's means, rounded.
CHILDREN_MEANS = {
    "early_years": 77.0,
    "primary": 127.0,
    "secondary": 90.0,
    "post16": 49.0,
    "special": 298.0,
}
#: Typical places by kind.
PLACES = {
    "early_years": 60,
    "primary": 300,
    "secondary": 1000,
    "sixth_form": 1200,
    "college": 2500,
    "special": 120,
}
#: Car speeds (km/h) by road class, ±15 % per link; walking everywhere at 4.8 km/h.
CAR_KMH = {"trunk": 96.0, "secondary": 56.0, "residential": 32.0}
WALK_KMH = 4.8
#: Every TRUNK_EVERY-th grid line is a trunk road, every SECONDARY_EVERY-th a secondary road.
TRUNK_EVERY = 40
SECONDARY_EVERY = 8
MISSING_LINKS = 0.08
ONE_WAY = 0.10
#: South-west corner of the rectangle, metres in EPSG:27700.
ORIGIN_XY = (150_000.0, 50_000.0)
#: Height over width of the rectangle (England is taller than wide).
ASPECT = 1.4
CRS = "EPSG:27700"


@dataclass(frozen=True)
class Sizes:
    """How big a synthetic study area is."""

    areas: int
    providers: int
    nodes: int
    km2: float
    label: str


def sizes_for(scale: float | None) -> Sizes:
    """The counts for ``scale`` times the county, or England's for ``None``.

    Parameters
    ----------
    scale
        Multiple of the county (positive), or ``None`` for England.

    Returns
    -------
    Sizes
        Areas, providers, nodes, land area and a label.

    Raises
    ------
    ValueError
        If ``scale`` is not positive.
    """
    if scale is None:
        return Sizes(ENGLAND_AREAS, ENGLAND_PROVIDERS, ENGLAND_NODES, ENGLAND_KM2, "England")
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale}")
    km2 = COUNTY_KM2 * scale
    return Sizes(
        areas=max(4, round(COUNTY_AREAS * scale)),
        providers=max(6, round(COUNTY_PROVIDERS * scale)),
        nodes=max(100, round(NODE_DENSITY * km2)),
        km2=km2,
        label=f"{scale:g}x county",
    )


@dataclass
class RoadArrays:
    """A road graph as edge arrays, one set of directed edges per mode."""

    x: np.ndarray
    y: np.ndarray
    #: mode (``drive``, ``walk``) → (u, v, seconds)
    edges: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class SyntheticStudy:
    """A synthetic study area (see the module docstring)."""

    sizes: Sizes
    seed: int
    #: ``area_id``, ``area_name``, polygon
    areas: gpd.GeoDataFrame
    #: ``id`` (area id), point (the cell's centroid point)
    origins: gpd.GeoDataFrame
    #: children per area (index ``area_id``) and kind
    children: pd.DataFrame
    providers: gpd.GeoDataFrame
    roads: RoadArrays
    bounds: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0))


def _rectangle(km2: float) -> tuple[float, float, float, float]:
    width = math.sqrt(km2 * 1e6 / ASPECT)
    height = width * ASPECT
    x0, y0 = ORIGIN_XY
    return x0, y0, x0 + width, y0 + height


def _centroids(
    rng: np.random.Generator, n: int, bounds: tuple[float, float, float, float]
) -> np.ndarray:
    """Clustered points: most in towns (of Pareto sizes), the rest over the countryside."""
    x0, y0, x1, y1 = bounds
    n_town = int(n * 0.75)
    n_towns = max(1, n // 60)
    centre = np.column_stack([rng.uniform(x0, x1, n_towns), rng.uniform(y0, y1, n_towns)])
    weight = rng.pareto(1.2, n_towns) + 1.0
    town = rng.choice(n_towns, size=n_town, p=weight / weight.sum())
    # bigger towns spread wider; LSOAs are small where people are many
    spread = 600.0 * np.sqrt(weight[town])
    town_xy = centre[town] + rng.normal(0.0, 1.0, (n_town, 2)) * spread[:, None]
    rural_xy = np.column_stack([rng.uniform(x0, x1, n - n_town), rng.uniform(y0, y1, n - n_town)])
    xy = np.vstack([town_xy, rural_xy])
    xy[:, 0] = np.clip(xy[:, 0], x0 + 1.0, x1 - 1.0)
    xy[:, 1] = np.clip(xy[:, 1], y0 + 1.0, y1 - 1.0)
    # no two centroids at the same place (Voronoi cells need distinct points)
    xy += rng.uniform(-0.5, 0.5, xy.shape)
    return xy


def make_areas(
    rng: np.random.Generator, n: int, bounds: tuple[float, float, float, float]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Areas (Voronoi cells of clustered centroids, clipped) and their origin points.

    Parameters
    ----------
    rng
        Random generator.
    n
        Number of areas.
    bounds
        The rectangle, metres in EPSG:27700.

    Returns
    -------
    areas, origins
        ``area_id``, ``area_name`` and polygons; ``id`` and the centroid points.
    """
    xy = _centroids(rng, n, bounds)
    points = shapely.points(xy)
    box = shapely.box(*bounds)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box, ordered=True)
    )
    cells = shapely.intersection(cells, box)
    ids = np.array([f"S{i:08d}" for i in range(n)], dtype=object)
    areas = gpd.GeoDataFrame(
        {"area_id": ids, "area_name": [f"Synthetic area {i}" for i in range(n)]},
        geometry=cells,
        crs=CRS,
    )
    origins = gpd.GeoDataFrame({"id": ids}, geometry=points, crs=CRS)
    return areas, origins


def make_children(rng: np.random.Generator, areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Children per area by kind (Poisson about the county's means, more in towns).

    Parameters
    ----------
    rng
        Random generator.
    areas
        From :func:`make_areas`.

    Returns
    -------
    pandas.DataFrame
        Index ``area_id``; one column per kind (``sixth_form`` and ``college``
        equal to ``post16``, as geomap's demand gives them).
    """
    # LSOAs hold similar numbers of people, a little more where cells are small
    size = areas.geometry.area.to_numpy()
    factor = np.clip(1.2 - 0.1 * np.log10(size / np.median(size)), 0.7, 1.4)
    table = {k: rng.poisson(mean * factor) for k, mean in CHILDREN_MEANS.items()}
    out = pd.DataFrame(table, index=pd.Index(areas["area_id"].to_numpy(), name="area_id"))
    out["sixth_form"] = out["post16"]
    out["college"] = out["post16"]
    return out[
        ["early_years", "primary", "secondary", "sixth_form", "college", "post16", "special"]
    ]


def make_providers(
    rng: np.random.Generator,
    n: int,
    origins: gpd.GeoDataFrame,
    children: pd.DataFrame,
    bounds: tuple[float, float, float, float],
) -> gpd.GeoDataFrame:
    """Providers of every kind near areas' centroids, in geomap's provider columns.

    Parameters
    ----------
    rng
        Random generator.
    n
        Number of providers.
    origins
        The areas' points.
    children
        Children per area (providers go where children are).
    bounds
        The rectangle (providers stay inside it).

    Returns
    -------
    geopandas.GeoDataFrame
        Provider rows as :func:`geomap.providers.load_providers` gives them.
    """
    kinds = np.array(list(KIND_SHARES))
    kind = rng.choice(kinds, size=n, p=np.array(list(KIND_SHARES.values())))
    weight = children.sum(axis=1).to_numpy(dtype=float)
    home = rng.choice(len(origins), size=n, p=weight / weight.sum())
    ox = origins.geometry.x.to_numpy()[home] + rng.normal(0.0, 300.0, n)
    oy = origins.geometry.y.to_numpy()[home] + rng.normal(0.0, 300.0, n)
    x0, y0, x1, y1 = bounds
    ox, oy = np.clip(ox, x0 + 1.0, x1 - 1.0), np.clip(oy, y0 + 1.0, y1 - 1.0)
    low = np.select(
        [kind == "early_years", kind == "primary", kind == "college", kind == "special"],
        [2, 4, 16, 3],
        11,
    ).astype(float)
    high = np.select(
        [kind == "early_years", kind == "primary", kind == "secondary"], [4, 11, 16], 18
    ).astype(float)
    nursery = (kind == "primary") & (rng.random(n) < 0.3)
    low[nursery] = 3.0
    places = np.array([PLACES[k] for k in kind], dtype=float) * rng.uniform(0.5, 1.5, n)
    capacity = np.round(places)
    pupils = np.round(capacity * rng.uniform(0.75, 1.05, n))
    post16 = np.isin(kind, ["sixth_form", "college"])
    students = np.where(post16, np.round(pupils * np.where(kind == "college", 1.0, 0.2)), np.nan)
    sector = np.where(
        kind == "college",
        "college",
        rng.choice(np.array(["maintained", "academy", "independent"]), size=n, p=[0.5, 0.44, 0.06]),
    )
    ratings = np.array(["Outstanding", "Good", "Requires improvement", "Inadequate", ""])
    rating = rng.choice(ratings, size=n, p=[0.18, 0.66, 0.1, 0.03, 0.03])
    return gpd.GeoDataFrame(
        {
            "id": pd.array([f"P{i:07d}" for i in range(n)], dtype="string"),
            "name": pd.array(
                [f"Synthetic {k.replace('_', ' ')} {i}" for i, k in enumerate(kind)],
                dtype="string",
            ),
            "kind": pd.array(kind, dtype="string"),
            "sector": pd.array(sector, dtype="string"),
            "low_age": pd.array(low, dtype="Float64"),
            "high_age": pd.array(high, dtype="Float64"),
            "offers_early_years": (kind == "early_years") | nursery,
            "offers_primary": kind == "primary",
            "offers_secondary": np.isin(kind, ["secondary", "sixth_form"]),
            "offers_post16": post16,
            "capacity": pd.array(capacity, dtype="Float64"),
            "pupils": pd.array(pupils, dtype="Float64"),
            "students_16_18": pd.array(students, dtype="Float64"),
            "rating": rating,
            "status": "open",
            "in_county": True,
            "gender": "Mixed",
            "religious_character": "Does not apply",
        },
        geometry=shapely.points(ox, oy),
        crs=CRS,
    )


def make_roads(
    rng: np.random.Generator, n_nodes: int, bounds: tuple[float, float, float, float]
) -> RoadArrays:
    """A perturbed grid of about ``n_nodes`` nodes over ``bounds``, timed for car and walk.

    Parameters
    ----------
    rng
        Random generator.
    n_nodes
        Nodes wanted (the grid's rows × columns come as close as whole numbers allow).
    bounds
        The rectangle, metres in EPSG:27700.

    Returns
    -------
    RoadArrays
        Node coordinates and, per mode, directed edges ``(u, v, seconds)``.
    """
    x0, y0, x1, y1 = bounds
    spacing = math.sqrt((x1 - x0) * (y1 - y0) / n_nodes)
    cols = max(2, round((x1 - x0) / spacing))
    rows = max(2, round((y1 - y0) / spacing))
    n = rows * cols
    row, col = np.divmod(np.arange(n, dtype=np.int64), cols)
    jitter = 0.3 * spacing
    x = x0 + (col + 0.5) * (x1 - x0) / cols + rng.uniform(-jitter, jitter, n)
    y = y0 + (row + 0.5) * (y1 - y0) / rows + rng.uniform(-jitter, jitter, n)
    ids = np.arange(n, dtype=np.int64).reshape(rows, cols)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    # the road class of a link: that of its grid line (row for east-west, column for north-south)
    line = np.concatenate(
        [np.repeat(np.arange(rows), cols - 1), np.tile(np.arange(cols), rows - 1)]
    )
    trunk = line % TRUNK_EVERY == TRUNK_EVERY // 2
    secondary = ~trunk & (line % SECONDARY_EVERY == SECONDARY_EVERY // 2)
    keep = trunk | secondary | (rng.random(a.shape[0]) >= MISSING_LINKS)
    a, b, trunk, secondary = a[keep], b[keep], trunk[keep], secondary[keep]
    kmh = np.where(
        trunk,
        CAR_KMH["trunk"],
        np.where(secondary, CAR_KMH["secondary"], CAR_KMH["residential"]),
    )
    length = np.hypot(x[a] - x[b], y[a] - y[b])
    m = a.shape[0]
    car_ab = length / (kmh * rng.uniform(0.85, 1.15, m) / 3.6)
    car_ba = length / (kmh * rng.uniform(0.85, 1.15, m) / 3.6)
    oneway = ~trunk & ~secondary & (rng.random(m) < ONE_WAY)
    flip = oneway & (rng.random(m) < 0.5)
    first_u, first_v = np.where(flip, b, a), np.where(flip, a, b)
    car = (
        np.concatenate([first_u, b[~oneway]]),
        np.concatenate([first_v, a[~oneway]]),
        np.concatenate([car_ab, car_ba[~oneway]]),
    )
    walk_s = length / (WALK_KMH / 3.6)
    walk = (np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([walk_s, walk_s]))
    return RoadArrays(x=x, y=y, edges={"drive": car, "walk": walk})


def synthetic_study(scale: float | None = None, *, seed: int = 0) -> SyntheticStudy:
    """A synthetic study area ``scale`` times the county, or England's size (``None``).

    Parameters
    ----------
    scale
        Multiple of Herefordshire's areas, providers and land area (at
        England's node density); ``None`` for England.
    seed
        Seed of the random generator: the same seed gives the same study area.

    Returns
    -------
    SyntheticStudy
        Areas, origins, children, providers and road arrays.
    """
    sizes = sizes_for(scale)
    rng = np.random.default_rng(seed)
    bounds = _rectangle(sizes.km2)
    areas, origins = make_areas(rng, sizes.areas, bounds)
    children = make_children(rng, areas)
    providers = make_providers(rng, sizes.providers, origins, children, bounds)
    roads = make_roads(rng, sizes.nodes, bounds)
    return SyntheticStudy(
        sizes=sizes,
        seed=seed,
        areas=areas,
        origins=origins,
        children=children,
        providers=providers,
        roads=roads,
        bounds=bounds,
    )
