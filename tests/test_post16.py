"""Post-16 barriers: the r5r table backend, hand-computed flags, the CLI on the shipped data."""

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
from geomap.errors import InputError
from geomap.post16 import BarrierThresholds, flag_barriers, post16_barriers
from geomap.travel.estimate import StraightLineEstimate, default_estimate
from geomap.travel.tables import TableTravelTimes, read_sites, read_time_table

PT_TABLE = settings.data_path(
    "travel", "herefordshire_lsoa11_public_transport_minutes_to_nhs_sites_walesish.csv"
)
PT_SITES = settings.data_path("travel", "nhs_sites_reached_from_herefordshire_walesish.geojson")
PT_SOURCE = (
    "R5 routing via r5r (OSM roads, bus and rail timetables; a Tuesday, median over departures; "
    "walks up to 3 km at 3.6 km/h) from LSOA trip points to NHS sites, "
    "stupidpupil/nhs_wales_travel_time_matrices, 2024"
)


def shipped_pt_table() -> TableTravelTimes:
    """The shipped r5r table, journeys towards the site (as the shipped study area gives it)."""
    return TableTravelTimes.from_files(
        PT_TABLE,
        PT_SITES,
        minutes_column="siteward_bound_travel_time_minutes",
        site_id="Code",
        name="r5r-2024",
        source=PT_SOURCE,
    )


def test_imported_table_reproduces_the_source_file_exactly():
    raw = pd.read_csv(PT_TABLE, dtype={"home_id": str, "site_id": str})
    table = shipped_pt_table().times
    assert len(table) == len(raw) == 685
    merged = raw.merge(table, left_on=["home_id", "site_id"], right_on=["from_id", "to_id"])
    assert len(merged) == len(raw)
    assert (merged["minutes"] == merged["siteward_bound_travel_time_minutes"]).all()


def test_a_provider_at_a_site_takes_the_table_time_unchanged(shipped_inputs):
    pt = shipped_pt_table()
    hub = pt.sites[pt.sites["id"] == "RLQ01"]
    at_hub = gpd.GeoDataFrame(
        {"id": ["hub"]}, geometry=hub.geometry.to_numpy(), crs=settings.MEASURE_CRS
    )
    times = pt.matrix(shipped_inputs.origins, at_hub).set_index("from_id")["minutes"]
    raw = pd.read_csv(PT_TABLE, dtype={"home_id": str})
    rlq = raw[raw["site_id"] == "RLQ01"].set_index("home_id")["siteward_bound_travel_time_minutes"]
    assert (times.loc[rlq.index] == rlq.astype(float)).all()
    # LSOAs with no row have no journey: NaN, not dropped
    missing = times.index.difference(rlq.index)
    assert len(missing) == 116 - 80 and times.loc[missing].isna().all()


def test_hereford_campuses_take_the_hub_time_plus_the_walk(shipped_inputs):
    pt = shipped_pt_table()
    providers = shipped_inputs.providers.set_index("id")
    hub = pt.sites.set_index("id").loc["RLQ01", "geometry"]
    college = providers.loc["143929", "geometry"]  # Hereford Sixth Form College
    # by hand: straight line × 1.3 at 4.8 km/h
    walk = math.hypot(hub.x - college.x, hub.y - college.y) / 1000 * 1.3 / 4.8 * 60
    dest = gpd.GeoDataFrame({"id": ["143929"]}, geometry=[college], crs=settings.MEASURE_CRS)
    times = pt.matrix(shipped_inputs.origins, dest).set_index("from_id")["minutes"]
    raw = pd.read_csv(PT_TABLE, dtype={"home_id": str})
    rlq = raw[raw["site_id"] == "RLQ01"].set_index("home_id")["siteward_bound_travel_time_minutes"]
    assert np.allclose(times.loc[rlq.index], rlq + walk, atol=0.006)


def test_wide_and_long_tables_agree(write):
    long = write("long.csv", "from_id,to_id,minutes\na,s1,10\na,s2,25\nb,s1,40\n")
    wide = write("wide.csv", "zone,s1,s2\na,10,25\nb,40,\n")

    def tidy(t):
        return t.sort_values(["from_id", "to_id"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(tidy(read_time_table(long)), tidy(read_time_table(wide)))


@pytest.mark.parametrize("cell", ["abc", "inf", "1e999", "-3", "nan"])
@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("from_id,to_id,minutes\na,s1,10\nb,s2,{cell}\n", "minutes"),
        ("zone,s1,s2\na,10,25\nb,40,{cell}\n", "s2"),
    ],
    ids=["long", "wide"],
)
def test_a_cell_that_is_not_minutes_is_refused_where_it_is(write, text, column, cell):
    path = write("t.csv", text.format(cell=cell))
    with pytest.raises(InputError) as info:
        read_time_table(path)
    error = info.value
    assert (error.path, error.row, error.column) == (str(path), 3, column)
    assert f"'{cell}'" in str(error)
    assert "leave the cell blank where there is no journey" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        'from_id,to_id,minutes\na,s1,10\na,s2,\nb,s1," 1,050 "\nb,s2,0\n',
        'zone,s1,s2\na,10,\nb,"1,050",0\n',
    ],
    ids=["long", "wide"],
)
def test_blank_minutes_are_journeys_not_found(write, text):
    times = read_time_table(write("t.csv", text))
    got = times.sort_values(["from_id", "to_id"]).reset_index(drop=True)
    assert got[["from_id", "to_id"]].values.tolist() == [["a", "s1"], ["b", "s1"], ["b", "s2"]]
    assert got["minutes"].tolist() == [10.0, 1050.0, 0.0]


def _points(ids, xy):
    return gpd.GeoDataFrame(
        {"id": ids}, geometry=[shapely.Point(x, y) for x, y in xy], crs=settings.MEASURE_CRS
    )


def test_flags_by_hand():
    table = pd.DataFrame(
        {
            "area_id": ["a", "b", "c", "d", "e"],
            "car_minutes": [10.0, 10.0, 10.0, 40.0, 12.0],
            "pt_minutes": [np.nan, 70.0, 35.0, 55.0, 25.0],
        }
    )
    flagged = flag_barriers(table, BarrierThresholds()).set_index("area_id")
    assert flagged["no_pt"].tolist() == [True, False, False, False, False]
    assert flagged["pt_over"].tolist() == [False, True, False, False, False]
    # c: 35 min is 3.5× the car and over 30 min; e: 25 min is 2.1× but a short ride
    assert flagged["pt_vs_car"].tolist() == [False, True, True, False, False]
    assert flagged["barrier"].tolist() == [True, True, True, False, False]
    assert flagged.loc["c", "pt_car_ratio"] == 3.5


def test_post16_on_a_toy_county():
    """Two areas, a college by a bus 'site', and a sixth form with no bus data.

    near (0, 0) is 1 km from the college at the site; far (20 km, 0) is 3 km from the
    sixth form and 19 km from the college.
    """
    origins = _points(["near", "far"], [(0, 0), (20000, 0)])
    providers = gpd.GeoDataFrame(
        {
            "id": ["col", "six"],
            "name": ["College", "Sixth form"],
            "kind": ["college", "sixth_form"],
            "sector": ["college", "maintained"],
            "offers_post16": [True, True],
            "in_county": [True, True],
        },
        geometry=[shapely.Point(1000, 0), shapely.Point(23000, 0)],
        crs=settings.MEASURE_CRS,
    )
    sites = _points(["S"], [(1000, 0)])
    times = pd.DataFrame({"from_id": ["near", "far"], "to_id": ["S", "S"], "minutes": [12.0, 80.0]})
    pt = TableTravelTimes(times=times, sites=sites, source="toy")
    car = StraightLineEstimate(mode="car", intercept=0.0, slopes=(1.0,))  # 1 min per km
    young = pd.Series({"near": 30, "far": 20})
    result = post16_barriers(
        origins,
        providers,
        young,
        car=car,
        pt=pt,
        lookups={"g": pd.Series({"near": "G", "far": "G"})},
    )
    areas = result.areas.set_index("area_id")
    # near: bus 12 min to the college (a walk of 1 km would take 16.25 min); car 1 min
    assert areas.loc["near", "pt_minutes"] == 12.0 and areas.loc["near", "pt_provider"] == "College"
    assert not areas.loc["near", "barrier"]  # 12× the car, but a 12-minute ride
    # far: nearest by car is the sixth form 3 km away (a 48.75-minute walk, too far to count),
    # which has no bus data: the source cannot say whether a bus reaches it. Bus and car are
    # compared over the college instead: bus 80 min, car 19 km = 19 min
    assert areas.loc["far", "nearest_by_car"] == "Sixth form"
    assert areas.loc["far", "nearest_by_car_minutes"] == 3.0
    assert not areas.loc["far", "nearest_has_pt_data"]
    assert areas.loc["far", "car_provider"] == "College" and areas.loc["far", "car_minutes"] == 19.0
    assert areas.loc["far", "pt_minutes"] == 80.0 and areas.loc["far", "pt_over"]
    assert (
        areas.loc["far", "pt_car_ratio"] == pytest.approx(80 / 19, abs=0.01)
        and areas.loc["far", "pt_vs_car"]
    )
    assert areas.loc["near", "nearest_has_pt_data"]
    group = result.by_group.iloc[0]
    assert (
        group["young_people"] == 50
        and group["young_barrier"] == 20
        and group["young_pt_over"] == 20
        and group["young_pt_vs_car"] == 20
    )
    assert group["mean_pt_minutes"] == pytest.approx((30 * 12 + 20 * 80) / 50, abs=0.05)
    assert list(result.pt_providers["id"]) == ["col"]
    # captions from the results: the table's says how much of this question it covers
    assert result.methods["pt"].startswith(pt.describe())
    assert "Here 2 of 2 origins have rows in the table; 1 of 2 destinations" in result.methods["pt"]
    assert result.methods["car"] == car.describe()


def test_read_sites_needs_ids(write):
    path = write("s.csv", "name,lon,lat\nHub,-2.7,52.05\n")
    with pytest.raises(Exception, match="site ids"):
        read_sites(path)


def test_post16_command_on_shipped_data(tmp_path):
    out = tmp_path / "p16"
    result = CliRunner().invoke(main, ["post16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5,733 young people aged 16-18 in 116 areas" in result.output
    areas = pd.read_csv(out / "post16_areas.csv", dtype={"area_id": str})
    assert len(areas) == 116
    assert set(areas["car_method"]) == {"estimate:car"}
    page = (out / "post16_map.html").read_text()
    assert "r5r" in page and "2024" in page  # which public-transport source, and its date
    assert "no public-transport journey" in page
    by_group = pd.read_csv(out / "post16_by_group.csv")
    ward = by_group[by_group["level"] == "ward"]
    assert ward["young_barrier"].is_monotonic_decreasing
    assert ward["young_people"].sum() == 5733
    # the Hereford campuses' times are the r5r figures plus the walk from the hub
    by_table = areas[(areas["pt_method"] == "table:r5r-2024") & areas["pt_minutes"].notna()]
    assert len(by_table) > 40
    # areas whose nearest provider by car has no public-transport data are said to be so
    assert (~areas["nearest_has_pt_data"]).sum() > 0
    assert "the source cannot say whether a bus reaches the nearer one" in page


def test_walk_estimate_used_for_short_walks_only():
    walk = default_estimate("walk")
    assert walk.minutes_for_km(1.0)[0] == pytest.approx(16.25)
