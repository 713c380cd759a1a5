"""Population tables (wide and long), age bands and origin points."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from geomap import errors, settings
from geomap.demand import children_by_band, load_population, origin_points

POPULATION = settings.data_path("population", "lsoa11_herefordshire_population_mid2020_syoa.csv")
TRIP_POINTS = settings.data_path(
    "travel", "herefordshire_lsoa11_nearest_road_points_walesish.geojson"
)
CENTROIDS = settings.data_path("travel", "herefordshire_lsoa11_centroids_walesish.geojson")
LSOA11 = settings.data_path("boundaries", "lsoa11_herefordshire_bgc.geojson")


@pytest.fixture(scope="module")
def areas() -> gpd.GeoDataFrame:
    layer = gpd.read_file(LSOA11).to_crs(settings.MEASURE_CRS)
    return layer.rename(columns={"LSOA11CD": "area_id"})[["area_id", "geometry"]]


def test_bands_sum_single_years():
    population = load_population(POPULATION)
    raw = pd.read_csv(POPULATION).set_index("lsoa11_code")
    bands = children_by_band(population)
    assert bands["early_years"].equals(
        raw[[f"age_{a}" for a in range(5)]].sum(axis=1).rename("early_years").rename_axis("area_id")
    )
    assert bands["primary"].sum() == raw[[f"age_{a}" for a in range(4, 11)]].sum().sum()
    # the shipped table's own 16-18 column agrees
    assert (bands["post16"].to_numpy() == raw["age_16_18"].to_numpy()).all()
    assert population.filter(like="age_").sum().sum() == 193_615
    assert (population["total_population"] == raw["total_population"].to_numpy()).all()


def _long_and_wide(tmp_path):
    """The shipped table's single years, written wide and long (one row per area and age)."""
    raw = pd.read_csv(POPULATION, dtype=str)
    ages = [c for c in raw.columns if c.startswith("age_") and c[4:].rstrip("+").isdigit()]
    wide = raw[["lsoa11_code", *ages]]
    wide_path = tmp_path / "wide.csv"
    wide.to_csv(wide_path, index=False)
    long = wide.melt(id_vars="lsoa11_code", var_name="age", value_name="persons")
    long["age"] = long["age"].str.removeprefix("age_")
    long = long.sample(frac=1, random_state=1)  # any row order
    long_path = tmp_path / "long.csv"
    long.to_csv(long_path, index=False)
    return wide_path, long_path


def test_long_and_wide_forms_of_the_same_data_load_the_same(tmp_path):
    wide_path, long_path = _long_and_wide(tmp_path)
    wide = load_population(wide_path)
    long = load_population(long_path)
    pd.testing.assert_frame_equal(wide.drop(columns=[]), long.reindex(wide.index), check_like=False)
    assert list(long.columns) == list(wide.columns)
    assert wide.columns[-2:].tolist() == ["age_90+", "total_population"]
    # and the same as the shipped file's own ages and totals
    shipped = load_population(POPULATION)
    pd.testing.assert_frame_equal(wide, shipped[wide.columns])
    # named columns work the same
    renamed = pd.read_csv(long_path, dtype=str).rename(
        columns={"lsoa11_code": "zone", "age": "years", "persons": "n"}
    )
    renamed.to_csv(tmp_path / "named.csv", index=False)
    named = load_population(tmp_path / "named.csv", area="zone", age="years", count="n")
    pd.testing.assert_frame_equal(named.reindex(wide.index), wide)


def test_plain_number_headers_are_single_years(write):
    path = write("p.csv", 'area_code,0,1,2+\nA,1,2,3\nB,"1,000",0,0\n')
    population = load_population(path)
    assert population.columns.tolist() == ["age_0", "age_1", "age_2+", "total_population"]
    assert population.loc["B", "age_0"] == 1000
    assert population["total_population"].tolist() == [6, 1000]


def test_an_area_missing_ages_in_a_long_table_counts_nobody_there(write):
    path = write("p.csv", "area_code,age,count\nA,0,5\nA,1,3\nB,0,2\n")
    with pytest.warns(errors.InputWarning, match=r"1 area\(s\) lack a row for some ages \(B\)"):
        population = load_population(path)
    assert population.loc["B"].tolist() == [2, 0, 2]


# (case, file text, options, error, row, column, words)
POPULATION_CASES = [
    (
        "no area column",
        "zone,age_0\nA,1\n",
        {},
        errors.MissingColumnError,
        None,
        "area_id",
        ["missing required column", "columns found: zone, age_0"],
    ),
    (
        "no ages",
        "area_id,people\nA,1\n",
        {},
        errors.MissingColumnError,
        None,
        "age_0",
        ["single years of age"],
    ),
    (
        "a count that is a word",
        "area_id,age_0,age_1\nA,1,2\nB,3,four\n",
        {},
        errors.InputError,
        3,
        "age_1",
        ["'four' is not a number"],
    ),
    (
        "a negative count",
        "area_id,age_0\nA,-1\n",
        {},
        errors.InputError,
        2,
        "age_0",
        ["'-1' is not a possible count of people", "Give whole numbers"],
    ),
    (
        "a fractional count",
        "area_id,age_0\nA,1.5\n",
        {},
        errors.InputError,
        2,
        "age_0",
        ["'1.5' is not a possible count of people"],
    ),
    (
        "a blank count",
        "area_id,age_0,age_1\nA,1,\n",
        {},
        errors.InputError,
        2,
        "age_1",
        ["blank count of people"],
    ),
    (
        "an infinite count",
        "area_id,age_0\nA,inf\n",
        {},
        errors.InputError,
        2,
        "age_0",
        ["'inf' is not a possible count of people"],
    ),
    (
        "an area twice in a wide table",
        "area_id,age_0\nA,1\nB,2\nA,3\n",
        {},
        errors.DuplicateIdError,
        4,
        "area_id",
        ["'A' appears in rows 2, 4"],
    ),
    (
        "an area and age twice in a long table",
        "area_id,age,count\nA,0,1\nA,1,2\nA,0,3\n",
        {},
        errors.DuplicateIdError,
        4,
        "age",
        ["area 'A' has age 0 in rows 2, 4"],
    ),
    (
        "an age that is not one",
        "area_id,age,count\nA,0,1\nA,five,2\n",
        {},
        errors.InputError,
        3,
        "age",
        ["'five' is not a single year of age"],
    ),
    (
        "a named column that is not there",
        "area_id,age,count\nA,0,1\n",
        {"count": "people"},
        errors.MissingColumnError,
        None,
        "people",
        ["missing required column 'people' (named in the command or the study-area file)"],
    ),
    (
        "a first bad cell in reading order",
        "area_id,age_0,age_1\nA,1,x\nB,y,2\n",
        {},
        errors.InputError,
        2,
        "age_1",
        ["'x' is not a number"],
    ),
]


@pytest.mark.parametrize(
    ("text", "options", "error", "row", "column", "words"),
    [case[1:] for case in POPULATION_CASES],
    ids=[case[0] for case in POPULATION_CASES],
)
def test_population_table_errors(write, text, options, error, row, column, words):
    path = write("population.csv", text)
    with pytest.raises(error) as info:
        load_population(path, **options)
    err = info.value
    assert str(path) in str(err)
    assert err.row == row
    assert err.column == column
    for word in words:
        assert word in str(err)


def test_origin_points_record_their_source(areas):
    population = load_population(POPULATION)
    origins = origin_points(
        areas, trip_points=TRIP_POINTS, centroids=CENTROIDS, population=population
    )
    counts = origins["origin_source"].value_counts()
    assert counts["trip_point"] == 109 and counts["label_point"] == 7
    assert origins["area_id"].tolist() == areas["area_id"].tolist()
    inside = origins.geometry.within(areas.geometry.buffer(500), align=False)
    assert inside.mean() > 0.95
    # without the population table the last resort is a point inside the polygon
    fallback = origin_points(areas, trip_points=TRIP_POINTS, centroids=CENTROIDS)
    assert (fallback["origin_source"] == "representative_point").sum() == 7


def test_origin_layers_not_given_are_skipped(areas):
    population = load_population(POPULATION)
    no_trips = origin_points(areas, centroids=CENTROIDS, population=population)
    assert set(no_trips["origin_source"]) == {"population_weighted_centroid", "label_point"}
    bare = origin_points(areas)
    assert (bare["origin_source"] == "representative_point").all()
    assert bare.geometry.within(areas.geometry, align=False).all()
