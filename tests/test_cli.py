"""The click CLI: help with examples, and each command on the shipped data."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from geomap.cli import main


def _commands(group=main, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("command", list(_commands()), ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert f"geomap {' '.join(command)}" in result.output
    assert "\\b" not in result.output  # click's no-rewrap marker worked: examples keep their lines


def test_top_level_help():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "geomap report" in result.output


def test_providers_summary_and_normalised_output(tmp_path):
    out = tmp_path / "clean.csv"
    result = CliRunner().invoke(main, ["providers", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "756 providers" in result.output
    assert "82 closed providers excluded" in result.output
    assert "school-based only" in result.output
    table = pd.read_csv(out, dtype={"id": str})
    assert len(table) == 756 and {"lon", "lat", "easting", "northing", "kind", "in_county"} <= set(
        table.columns
    )


def test_providers_early_years_list_as_geojson(fixtures, tmp_path):
    out = tmp_path / "ey.geojson"
    result = CliRunner().invoke(
        main,
        [
            "providers",
            str(fixtures / "early_years_small.csv"),
            "--kind",
            "early_years",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3 providers" in result.output
    import geopandas as gpd

    layer = gpd.read_file(out)
    assert len(layer) == 3 and layer.crs.to_epsg() == 4326


def test_gaps_prints_ranked_areas(tmp_path):
    out = tmp_path / "gaps.csv"
    result = CliRunner().invoke(
        main, ["gaps", "--mode", "walk", "--kind", "primary", "--top", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "primary by walk (threshold 40.2 min)" in result.output
    assert "Estimated walk travel times" in result.output
    ranked = pd.read_csv(out)
    assert ranked["rank"].tolist()[:3] == [1, 2, 3]


def test_gaps_with_partnerships_and_threshold(fixtures, tmp_path):
    summary = tmp_path / "s.csv"
    result = CliRunner().invoke(
        main,
        [
            "gaps",
            "--mode",
            "walk",
            "--kind",
            "secondary",
            "--partnerships",
            str(fixtures / "wards_partnerships.csv"),
            "--threshold",
            "walk:secondary=30",
            "--summary-out",
            str(summary),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "threshold 30 min" in result.output
    table = pd.read_csv(summary)
    assert set(table["level"]) == {"ward", "partnership"}
    assert set(table.loc[table["level"] == "partnership", "group_id"]) == {"North", "City", "South"}


def test_map_command(tmp_path):
    out = tmp_path / "m.html"
    result = CliRunner().invoke(
        main, ["map", "--kind", "secondary", "--mode", "car", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Secondary (high school): car time to the nearest provider" in page
    result = CliRunner().invoke(main, ["map", "--out", str(out)])
    assert result.exit_code == 0 and "Education providers" in out.read_text()


def test_bad_threshold_is_a_clean_error():
    result = CliRunner().invoke(main, ["gaps", "--threshold", "walk:primary"])
    # a bad option value is a usage error (exit 2), named with the option
    assert result.exit_code == 2 and "--threshold" in result.output
    assert "MODE:KIND=MINUTES" in result.output and "Traceback" not in result.output
