"""Loading, locating and classifying providers."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geomap import settings
from geomap.errors import CRSError, InputError, InputWarning, PostcodeError
from geomap.providers import load_providers, merge_provider_lists, offers, summarise_providers

SHIPPED = settings.data_path("providers", "herefordshire_providers.csv")
POSTCODES = settings.data_path("providers", "codepoint_open_postcodes_herefordshire_and_border.csv")
BOUNDARY = settings.data_path("boundaries", "lsoa21_herefordshire.geojson")


@pytest.fixture(scope="module")
def boundary():
    return gpd.read_file(BOUNDARY).to_crs(settings.MEASURE_CRS)


def load_shipped(boundary, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return load_providers(SHIPPED, postcodes=POSTCODES, boundary=boundary, **options)


@pytest.fixture(scope="module")
def register(boundary):
    return load_shipped(boundary)


# counts per kind of the shipped register, as loaded before the study area became data:
# (providers, of them in Herefordshire, sectors)
SHIPPED_COUNTS = {
    "primary": (562, 79, {"academy": 145, "independent": 13, "maintained": 404}),
    "secondary": (52, 12, {"academy": 25, "independent": 15, "maintained": 12}),
    "sixth_form": (86, 8, {"academy": 43, "independent": 28, "maintained": 15}),
    "college": (8, 4, {"academy": 2, "college": 5, "independent": 1}),
    "special": (48, 10, {"independent": 7, "maintained": 5, "unknown": 36}),
}


def test_shipped_register_loads_to_the_same_providers(register):
    assert len(register) == 756 and register["id"].is_unique
    for kind, (n, inside, sectors) in SHIPPED_COUNTS.items():
        sub = register[register["kind"] == kind]
        assert len(sub) == n, kind
        assert int(sub["in_county"].sum()) == inside, kind
        assert sub["sector"].value_counts().to_dict() == sectors, kind
    assert set(register["kind"]) == set(SHIPPED_COUNTS)
    offering = {k: int(offers(register, k).sum()) for k in ("early_years", "primary", "post16")}
    assert offering == {"early_years": 150, "primary": 599, "post16": 94}
    assert register["capacity"].isna().all()  # the shipped register gives no capacities
    assert (register["location_source"] == "bng").all()
    assert register.attrs["outside_county"] == 756 - 113


def test_providers_outside_the_study_area_are_kept_flagged_and_counted(boundary):
    with pytest.warns(InputWarning, match=r"643 providers lie outside the study area; kept"):
        providers = load_providers(SHIPPED, boundary=boundary)
    assert providers.attrs["outside_county"] == 643
    assert int((~providers["in_county"]).sum()) == 643


def test_without_a_boundary_every_provider_is_in_the_study_area(write):
    path = write("p.csv", "id,name,kind,lon,lat\n1,A,primary,-2.7,52.05\n2,B,primary,-3.0,55.9\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        providers = load_providers(path)
    assert providers["in_county"].tolist() == [True, True]
    assert providers.attrs["outside_county"] == 0


def test_a_small_boundary_flags_the_provider_outside_it(write):
    square = gpd.GeoSeries([shapely.box(0, 0, 1000, 1000)], crs=settings.MEASURE_CRS)
    square = square.translate(350_000, 240_000)
    path = write(
        "p.csv",
        "id,name,kind,easting,northing\n1,In,primary,350500,240500\n2,Out,primary,355000,240500\n",
    )
    with pytest.warns(InputWarning, match=r"1 providers lie outside.*\(Out\)"):
        providers = load_providers(path, boundary=square)
    assert providers["in_county"].tolist() == [True, False]
    with pytest.raises(CRSError, match="EPSG:27700"):
        load_providers(path, boundary=square.to_crs(settings.LONLAT_CRS))


def test_a_row_with_only_a_postcode_needs_a_postcode_lookup(write):
    path = write(
        "p.csv", "id,name,kind,postcode,lon,lat\n1,A,primary,,-2.7,52.05\n2,B,primary,HR1 1DT,,\n"
    )
    with pytest.raises(PostcodeError) as info:
        load_providers(path)
    assert info.value.row == 3 and info.value.column == "postcode"
    assert "give the study area a postcode lookup" in str(info.value).lower()
    located = load_providers(path, postcodes=POSTCODES).set_index("id")
    assert located.loc["2", "location_source"] == "postcode"


def test_shipped_register_counts_open_and_closed(register, boundary):
    raw = pd.read_csv(SHIPPED, dtype=str)
    closed = raw["status"].eq("closed").sum()
    assert closed == 82
    assert len(register) == len(raw) - closed
    assert register.attrs["closed_excluded"] == closed
    assert (register["status"] == "open").all()
    with_closed = load_shipped(boundary, include_closed=True)
    assert len(with_closed) == len(raw)
    assert with_closed.attrs["closed_excluded"] == 0


def test_every_open_herefordshire_establishment_is_in_county(register):
    dfe = pd.read_csv(
        settings.data_path(
            "providers", "raw", "establishments_herefordshire_and_border_spine2019.csv"
        )
    )
    open_here = dfe[(dfe["la_code"] == 884) & dfe["rtt_close_date_2022"].isna()]["urn"].astype(str)
    ids = set(register.loc[register["in_county"], "id"])
    assert set(open_here) <= ids
    # the three 2022 additions (e.g. the Royal National College for the Blind) are in too
    assert {"130991", "133108", "148636"} <= ids
    # nothing from another council is flagged as in the county
    outside = register[~register["la_name"].fillna("").str.startswith("Herefordshire")]
    assert not outside["in_county"].any()
    assert register.attrs["outside_county"] == int((~register["in_county"]).sum())


@pytest.mark.parametrize(
    ("urn", "kind", "sector"),
    [
        ("116884", "primary", "maintained"),
        ("116936", "secondary", "maintained"),
        ("136399", "sixth_form", "academy"),
        ("130710", "college", "college"),
        ("143929", "college", "academy"),
        ("117052", "special", "unknown"),
        ("117036", "sixth_form", "independent"),
        ("401731", "sixth_form", "maintained"),  # Brecon High School (Powys)
        ("400527", "primary", "maintained"),  # Hay-on-Wye C.P. School
    ],
)
def test_classification(register, urn, kind, sector):
    row = register.set_index("id").loc[urn]
    assert row["kind"] == kind
    assert row["sector"] == sector


def test_offers_counts_phases_across_kinds(register):
    # a school with a nursery class is early-years provision whatever its main kind
    ey = offers(register, "early_years")
    assert ey.sum() > 100
    assert (register.loc[ey, "kind"] != "special").all()
    post16 = offers(register, "post16")
    assert set(register.loc[post16, "kind"]) == {"sixth_form", "college"}
    assert offers(register, "special").sum() == (register["kind"] == "special").sum()


def test_three_ways_of_giving_a_location_agree(fixtures):
    providers = load_providers(fixtures / "providers_small.csv", postcodes=POSTCODES)
    by_id = providers.set_index("id")
    assert by_id.loc["116884", "location_source"] == "lonlat"
    assert by_id.loc["116936", "location_source"] == "bng"
    assert by_id.loc["136399", "location_source"] == "postcode"
    # lon/lat of HR1 1DT lands within a few metres of the postcode's grid reference
    point = by_id.loc["116884", "geometry"]
    assert abs(point.x - 351841) < 3 and abs(point.y - 241166) < 3
    # kind synonyms are folded
    assert by_id.loc["130710", "kind"] == "college"
    assert by_id.loc["117052", "kind"] == "special"
    assert by_id.loc["117036", "kind"] == "sixth_form"
    assert by_id.loc["117052", "sector"] == "unknown"
    assert providers.crs == settings.MEASURE_CRS


def test_early_years_list_with_name_postcode_places(fixtures, register):
    settings_list = load_providers(
        fixtures / "early_years_small.csv", kind="early_years", postcodes=POSTCODES
    )
    assert list(settings_list["kind"].unique()) == ["early_years"]
    assert settings_list["offers_early_years"].all()
    assert settings_list["capacity"].tolist() == [40, 24, 6]
    assert settings_list["id"].tolist() == [
        "early_years_small-2",
        "early_years_small-3",
        "early_years_small-4",
    ]
    merged = merge_provider_lists(register, settings_list)
    assert offers(merged, "early_years").sum() == offers(register, "early_years").sum() + 3
    with pytest.raises(InputError, match="in both provider lists"):
        merge_provider_lists(merged, settings_list)


def test_summary_counts(register):
    summary = summarise_providers(register).set_index("kind")
    assert summary.loc["total", "providers"] == len(register)
    assert summary.loc["total", "in_county"] == int(register["in_county"].sum())
    assert summary.loc["early_years", "offering"] == int(offers(register, "early_years").sum())
    assert np.array_equal(
        summary.drop(index="total")[
            ["maintained", "academy", "independent", "college", "unknown"]
        ].sum(axis=1),
        summary.drop(index="total")["providers"],
    )
