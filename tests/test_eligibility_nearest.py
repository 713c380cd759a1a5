"""The nearest suitable school in geomap.eligibility, against a brute-force search.

Schools are picked from the allowed ones by the smallest key (walking metres,
or by road when there is no walk), ties going to the school listed first; an
attended school is allowed even where the phase or a full roll would rule it
out. The reference below tries every school for every pupil.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.eligibility import (
    _has_place,
    _nearest_allowed,
    _phase_ok,
    _sex_ok,
    assess_eligibility,
    suitable_schools,
)
from geomap.travel.estimate import WALK_DETOUR


def brute_nearest(key: np.ndarray, homes: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    out = np.full(len(homes), -1)
    for i, h in enumerate(homes):
        best = np.inf
        for j in range(key.shape[1]):
            if allowed[j] and key[h, j] < best:  # strictly smaller: the first listed wins ties
                best, out[i] = key[h, j], j
    return out


def test_nearest_allowed_by_hand() -> None:
    key = np.array([[5.0, 3.0, 3.0, np.inf], [np.inf, np.inf, 1.0, 2.0], [9.0, 9.0, 9.0, 9.0]])
    allowed = np.array([True, True, True, False])
    cache: dict[bytes, np.ndarray] = {}
    got = _nearest_allowed(key, np.array([0, 1, 2, 0]), allowed, cache)
    assert got.tolist() == [1, 2, 0, 1]  # a tie goes to the first school
    only_last = np.array([False, False, False, True])
    assert _nearest_allowed(key, np.array([0, 1]), only_last, cache).tolist() == [-1, 3]
    none = np.zeros(4, dtype=bool)
    assert _nearest_allowed(key, np.array([0, 2]), none, cache).tolist() == [-1, -1]


@pytest.mark.parametrize("seed", range(8))
def test_nearest_allowed_random(seed: int) -> None:
    rng = np.random.default_rng(seed)
    key = rng.integers(0, 6, size=(30, 12)).astype(float)  # many ties
    key[rng.random(key.shape) < 0.2] = np.inf
    cache: dict[bytes, np.ndarray] = {}
    for _ in range(5):  # the cache is reused across masks and homes
        allowed = rng.random(12) < 0.5
        homes = rng.integers(0, 30, size=20)
        got = _nearest_allowed(key, homes, allowed, cache)
        assert got.tolist() == brute_nearest(key, homes, allowed).tolist()


def random_area(seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Schools on a 4 km grid (some sharing a site) and pupils at a few homes."""
    rng = np.random.default_rng(seed)
    n = 14
    sites = rng.integers(0, 5, size=(n, 2)) * 1000.0 + 400_000
    kinds = rng.choice(["primary", "secondary", "sixth_form"], size=n)
    primary = kinds == "primary"
    schools = gpd.GeoDataFrame(
        {
            "id": [f"S{i}" for i in range(n)],
            "name": [f"School {i}" for i in range(n)],
            "kind": kinds,
            "sector": rng.choice(
                ["maintained", "academy", "independent"], size=n, p=[0.5, 0.4, 0.1]
            ),
            "low_age": np.where(primary, rng.choice([4, 7], size=n), 11),
            "high_age": np.where(
                primary, rng.choice([7, 11], size=n), rng.choice([16, 18], size=n)
            ),
            "offers_primary": primary,
            "offers_secondary": ~primary,
            "gender": rng.choice(["Mixed", "Boys", "Girls"], size=n, p=[0.7, 0.15, 0.15]),
            "religious_character": "Does not apply",
            "capacity": rng.choice([100.0, np.nan], size=n),
            "pupils": rng.choice([50.0, 120.0, np.nan], size=n),
        },
        geometry=gpd.points_from_xy(sites[:, 0], sites[:, 1]),
        crs=settings.MEASURE_CRS,
    )
    m = 60
    homes = rng.integers(0, 9, size=(m, 2)) * 500.0 + 400_000
    attended = [f"S{rng.integers(0, n)}" if rng.random() < 0.4 else None for _ in range(m)]
    pupils = gpd.GeoDataFrame(
        {
            "id": [f"P{i}" for i in range(m)],
            "age": rng.integers(4, 18, size=m),
            "sex": rng.choice(["boy", "girl"], size=m),
            "school_id": attended,
        },
        geometry=gpd.points_from_xy(homes[:, 0], homes[:, 1]),
        crs=settings.MEASURE_CRS,
    )
    return pupils, schools


@pytest.mark.filterwarnings("ignore::geomap.errors.InputWarning")  # unassessed pupils, counted
@pytest.mark.parametrize("seed", range(6))
def test_assessed_nearest_school_matches_brute_force(seed: int) -> None:
    pupils, providers = random_area(seed)
    result = assess_eligibility(pupils, providers)
    schools = suitable_schools(providers)
    ids = schools["id"].tolist()
    place = _has_place(schools)
    sx, sy = schools.geometry.x.to_numpy(), schools.geometry.y.to_numpy()
    low_age, high_age = settings.COMPULSORY_AGES
    checked = 0
    for i, p in enumerate(pupils.itertuples()):
        attends = None if pd.isna(p.school_id) else str(p.school_id)
        if not low_age <= p.age <= high_age or (attends is not None and attends not in ids):
            assert result["nearest_school_id"].isna()[i]
            continue
        suit = _phase_ok(schools, int(p.age)) & _sex_ok(schools, p.sex)
        allowed = suit & place
        if attends is not None:
            allowed[ids.index(attends)] = True
        walk = np.hypot(sx - p.geometry.x, sy - p.geometry.y) * WALK_DETOUR
        best, nearest = np.inf, None
        for j in range(len(ids)):
            if allowed[j] and walk[j] < best:
                best, nearest = walk[j], ids[j]
        attended_unsuitable = attends is not None and not suit[ids.index(attends)]
        if nearest is None or attended_unsuitable:
            assert result["nearest_school_id"].isna()[i], p
        else:
            assert result["nearest_school_id"][i] == nearest, p
            checked += 1
    assert checked > 10


def test_co_located_schools_tie_to_first_listed() -> None:
    site = shapely.Point(401_000, 400_000)
    providers = gpd.GeoDataFrame(
        {
            "id": [f"S{i}" for i in range(5)],
            "name": [f"School {i}" for i in range(5)],
            "kind": "primary",
            "sector": "maintained",
            "low_age": 4,
            "high_age": 11,
            "offers_primary": True,
            "offers_secondary": False,
            "gender": "Mixed",
            "religious_character": "Does not apply",
            "capacity": [np.nan, 10.0, np.nan, np.nan, np.nan],
            "pupils": [np.nan, 10.0, np.nan, np.nan, np.nan],
        },
        geometry=[shapely.Point(405_000, 400_000), site, site, site, site],
        crs=settings.MEASURE_CRS,
    )
    pupils = gpd.GeoDataFrame(
        {"id": ["a", "b"], "age": [6, 6], "school_id": [None, "S4"]},
        geometry=[shapely.Point(400_000, 400_000)] * 2,
        crs=settings.MEASURE_CRS,
    )
    result = assess_eligibility(pupils, providers)
    # S1 is full; S2, S3 and S4 share the nearest site: the first listed is the nearest
    assert result["nearest_school_id"].tolist() == ["S2", "S2"]
    assert result["school_id"].tolist() == ["S2", "S4"]
