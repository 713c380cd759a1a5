"""Area layers, partnerships and joins (population and origins: test_demand.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from shipped_data import boundary, layer

from geomap import settings
from geomap.areas import (
    group_lookup,
    load_partnerships,
    provision_by_area,
)
from geomap.errors import GeometryWarning, InputWarning
from geomap.providers import offers


@pytest.mark.parametrize(
    ("name", "count"),
    [("lsoa11", 116), ("lsoa21", 117), ("ward", 53), ("msoa11", 23), ("msoa21", 23), ("lad", 8)],
)
def test_shipped_layers(name, count):
    areas = layer(name)
    assert len(areas) == count
    assert areas["area_id"].is_unique and areas["area_name"].notna().all()
    assert areas.crs == settings.MEASURE_CRS


def test_county_is_herefordshire_sized():
    # Herefordshire is 2,180 km² (ONS standard area measurements)
    assert boundary().area.iloc[0] / 1e6 == pytest.approx(2180, rel=0.01)


def test_partnerships_dissolve_wards(fixtures):
    with pytest.warns(InputWarning, match="44 of the 53 ward areas are in no partnership"):
        parts = load_partnerships(
            fixtures / "wards_partnerships.csv", base=layer("ward")
        ).set_index("area_id")
    wards = layer("ward").set_index("area_id")
    assert sorted(parts.index) == ["City", "North", "South"]
    assert parts.loc["City", "members"] == 4
    expected = wards.loc[["E05009439", "E05009445", "E05009448", "E05009449"]].area.sum()
    assert parts.loc["City"].geometry.area == pytest.approx(expected, rel=1e-6)
    assert parts.attrs["unassigned"] == 53 - 9


def test_partnerships_from_lsoa_codes(write):
    lsoa = layer("lsoa21")
    codes = lsoa["area_id"].tolist()
    text = "lsoa21cd,partnership\n" + "".join(
        f"{c},{'Hereford' if i % 2 else 'Rural'}\n" for i, c in enumerate(codes)
    )
    parts = load_partnerships(write("p.csv", text), base=lsoa)
    assert parts["members"].sum() == len(codes)
    assert parts.area.sum() == pytest.approx(lsoa.area.sum(), rel=1e-6)


def test_provision_counts_match_providers_inside(shipped_inputs):
    providers = shipped_inputs.providers
    for include_independent in (False, True):
        table = provision_by_area(
            providers, shipped_inputs.areas, include_independent=include_independent
        )
        counted = providers["in_county"] & (
            include_independent | (providers["sector"] != "independent")
        )
        for kind in settings.KINDS:
            inside = int((offers(providers, kind) & counted).sum())
            # generalised LSOA edges can leave a border school just outside every LSOA
            assert abs(table[f"count_{kind}"].sum() - inside) <= 1
        assert table["nearest_primary_km"].max() < 10
    # like the gap analysis, the nearest is a state-funded school unless asked otherwise
    default = provision_by_area(providers, shipped_inputs.areas)
    sector = providers.set_index("id")["sector"]
    assert (default["nearest_secondary_id"].map(sector) != "independent").all()


def test_every_lsoa_has_a_ward(shipped_inputs):
    lookup = shipped_inputs.lookups["ward"]
    assert lookup.notna().all() and len(lookup) == 116
    assert set(lookup) <= set(shipped_inputs.groups["ward"]["area_id"])


def test_a_unit_mostly_outside_every_group_joins_none():
    import geopandas as gpd
    import shapely

    crs = settings.MEASURE_CRS
    units = gpd.GeoDataFrame(
        {"area_id": ["inside", "sliver", "mostly"]},
        geometry=[
            shapely.box(0, 0, 10, 10),
            shapely.box(95, 0, 200, 10),
            shapely.box(40, 0, 110, 10),
        ],
        crs=crs,
    )
    groups = gpd.GeoDataFrame({"area_id": ["G"]}, geometry=[shapely.box(-5, -5, 100, 15)], crs=crs)
    # points outside the group for the last two, so the overlap decides
    points = gpd.GeoSeries(
        [shapely.Point(5, 5), shapely.Point(150, 5), shapely.Point(105, 5)], crs=crs
    )
    with pytest.warns(GeometryWarning, match="lie in no group.*sliver"):
        lookup = group_lookup(units, groups, points=points)
    assert lookup["inside"] == "G"
    assert pd.isna(lookup["sliver"])  # 5 of 105 m inside: a sliver
    assert lookup["mostly"] == "G"  # 60 of 70 m inside
