"""Loading, locating and classifying providers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geomap import settings
from geomap.errors import InputError
from geomap.providers import load_providers, merge_provider_lists, offers, summarise_providers


@pytest.fixture(scope="module")
def register():
    return load_providers()


def test_shipped_register_counts_open_and_closed(register):
    raw = pd.read_csv(settings.shipped("providers"), dtype=str)
    closed = raw["status"].eq("closed").sum()
    assert closed == 82
    assert len(register) == len(raw) - closed
    assert register.attrs["closed_excluded"] == closed
    assert (register["status"] == "open").all()
    with_closed = load_providers(include_closed=True)
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
    providers = load_providers(fixtures / "providers_small.csv")
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


def test_early_years_list_with_name_postcode_places(fixtures):
    settings_list = load_providers(fixtures / "early_years_small.csv", kind="early_years")
    assert list(settings_list["kind"].unique()) == ["early_years"]
    assert settings_list["offers_early_years"].all()
    assert settings_list["capacity"].tolist() == [40, 24, 6]
    assert settings_list["id"].tolist() == [
        "early_years_small-2",
        "early_years_small-3",
        "early_years_small-4",
    ]
    merged = merge_provider_lists(load_providers(), settings_list)
    assert offers(merged, "early_years").sum() == offers(load_providers(), "early_years").sum() + 3
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
