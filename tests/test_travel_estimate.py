"""The calibrated straight-line estimate: hand-computed cases, calibration and its error."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geomap import settings
from geomap.cli import main
from geomap.travel.estimate import (
    StraightLineEstimate,
    calibrate_estimate,
    car_calibration_pairs,
    default_estimate,
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
    pairs = car_calibration_pairs()
    assert len(pairs) == 55 * 29  # 58 LSOAs in the table, 55 with a trip point
    # by hand: LSOA E01013986's trip point to Hereford County Hospital (HR1 2ER, from the sites table)
    trip = (
        gpd.read_file(settings.shipped("trip_points11"))
        .to_crs(settings.MEASURE_CRS)
        .set_index("LSOA11CD")
    )
    origin = trip.loc["E01013986", "geometry"]
    sites = pd.read_csv(settings.shipped("calibration_sites")).set_index("postcode")
    expected = (
        math.hypot(origin.x - sites.loc["HR12ER", "BNG_E"], origin.y - sites.loc["HR12ER", "BNG_N"])
        / 1000
    )
    row = pairs[(pairs["group"] == "E01013986") & (pairs["site"] == "HR12ER")]
    assert row["km"].iloc[0] == pytest.approx(expected)
    assert row["minutes"].iloc[0] == 7.9


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
    pairs = car_calibration_pairs()
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
