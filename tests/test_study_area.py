"""Study areas as data: the TOML file, a second council end to end, and the front door."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import geomap
from geomap.cli import main
from geomap.errors import StudyAreaError
from geomap.study_area import default_study_area, load_study_area

ROOT = Path(__file__).resolve().parent.parent
LUGG = ROOT / "tests" / "fixtures" / "study_area_lugg" / "lugg_vale.toml"
LUGG_ZONES = [
    "E01013999",
    "E01014017",
    "E01014024",
    "E01014041",
    "E01014042",
    "E01014043",
    "E01014044",
    "E01014045",
    "E01014046",
    "E01014047",
    "E01014048",
    "E01014097",
]
#: the one thing an output may say about Herefordshire: where the car estimate was calibrated
CALIBRATION = re.compile(r"[^.\n]*calibrat[^.\n]*", re.IGNORECASE)


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --------------------------------------------------------------------------- the file


def test_the_shipped_study_area_is_the_default():
    study = default_study_area()
    assert study.name == "Herefordshire"
    assert study.path == (ROOT / "data" / "herefordshire.toml").resolve()
    assert study.areas.code == "LSOA11CD"
    assert all(p.exists() for p in study.files())
    assert {"ward", "lsoa21", "msoa11", "msoa21"} <= set(study.layers)
    assert study.layers["ward"].summarise and not study.layers["msoa11"].summarise
    assert study.public_transport is not None and study.public_transport.site_id == "Code"


def _study(tmp_path: Path, text: str) -> Path:
    for name in ("b.geojson", "a.geojson", "p.csv", "s.csv"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    path = tmp_path / "area.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
name = "Testshire"
boundary = "b.geojson"
[areas]
path = "a.geojson"
[population]
path = "p.csv"
[providers]
path = "s.csv"
"""


def test_planning_settings_are_read_from_the_study_area(tmp_path):
    text = MINIMAL + (
        "[catchments.car]\nprimary = 20\n"
        "[capacity]\nsurplus_share = 0.2\nsurplus_min_places = 15\nmargin = 0.02\n"
        "[competition]\nminutes = 20\nsmall = 150\noverlap = 0.6\n"
    )
    study = load_study_area(_study(tmp_path, text))
    assert study.catchments == {"car": {"primary": 20.0}}
    assert study.sufficiency_limits == {
        "surplus_share": 0.2,
        "surplus_min_places": 15.0,
        "margin": 0.02,
    }
    assert study.competition == {"minutes": 20.0, "small": 150.0, "overlap": 0.6}
    assert study.scorecard is None


def test_a_minimal_file_has_paths_relative_to_itself(tmp_path):
    study = load_study_area(_study(tmp_path, MINIMAL))
    assert study.name == "Testshire"
    assert study.boundary == tmp_path / "b.geojson"
    assert study.population.age is None and study.layers == {}
    assert study.public_transport is None and not study.use_network_cache


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.replace('name = "Testshire"\n', ""), "'name' is missing"),
        (MINIMAL.replace("[providers]\npath", "[providers]\npth"), "'providers.path' is missing"),
        ("colour = 'red'\n" + MINIMAL, "'colour' is not a key geomap knows"),
        (MINIMAL + "colour = 'red'\n", "'providers.colour' is not a key geomap knows"),
        (MINIMAL.replace('"p.csv"', '"nowhere.csv"'), "'population.path' names nowhere.csv"),
        (MINIMAL.replace('"Testshire"', "3"), "'name' must be text"),
        (MINIMAL + "[networks]\ncache = 'yes'\n", "'networks.cache' must be true or false"),
        (
            MINIMAL + "[thresholds.walk]\nprimary = -4\n",
            "'thresholds.walk.primary' must be minutes",
        ),
        (MINIMAL + "[thresholds.boat]\nprimary = 4\n", "'thresholds.boat' is not a mode"),
        (MINIMAL + "[thresholds.walk]\nnursery = 4\n", "'thresholds.walk.nursery' is not a kind"),
        (MINIMAL + '[public_transport]\nname = "x"\n', "names neither a table nor a gtfs feed"),
        (MINIMAL + '[public_transport]\ntable = "p.csv"\n', "a table without its sites"),
        (MINIMAL + '[public_transport]\ngtfs = "p.csv"\n', "a gtfs feed without a date"),
        (
            MINIMAL + '[partnerships]\npath = "p.csv"\nbase = "ward"\n',
            "not a layer of the study area",
        ),
        (MINIMAL.replace("[population]\n", "[population]\nage = 'age'\n"), "without the other"),
        (MINIMAL + "name2 = \n", "not valid TOML"),
        (
            MINIMAL + "[capacity]\nsurplus_share = 1.5\n",
            "'capacity.surplus_share' must be a number",
        ),
        (MINIMAL + "[capacity]\nmargin = 'five'\n", "'capacity.margin' must be a number"),
        (MINIMAL + "[capacity]\nscorecard = 'none.csv'\n", "'capacity.scorecard' names none.csv"),
        (MINIMAL + "[competition]\nminutes = 0\n", "'competition.minutes' must be a number"),
        (MINIMAL + "[competition]\nsmall = true\n", "'competition.small' must be a number"),
        (MINIMAL + "[competition]\nmode = 'bus'\n", "'competition.mode' is not a key"),
        (MINIMAL + "[catchments.car]\nprimary = 0\n", "'catchments.car.primary' must be minutes"),
    ],
)
def test_a_bad_study_area_file_is_named_with_the_key(tmp_path, text, message):
    path = _study(tmp_path, text)
    with pytest.raises(StudyAreaError, match=re.escape(message)) as caught:
        load_study_area(path)
    assert str(path.name) in str(caught.value)


def test_a_bad_study_area_is_one_message_from_the_cli(tmp_path):
    path = _study(tmp_path, "colour = 'red'\n" + MINIMAL)
    result = _invoke("report", "--study-area", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "area.toml" in result.output and "'colour'" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- a second council


@pytest.fixture(scope="module")
def lugg_report(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("lugg") / "out"
    result = CliRunner().invoke(main, ["report", "--study-area", str(LUGG), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def _texts(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8-sig")
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".csv", ".html")
    }


def _without_calibration(text: str) -> str:
    return CALIBRATION.sub("", text)


def test_a_second_council_runs_on_exactly_its_areas(lugg_report):
    out, _output = lugg_report
    areas = pd.read_csv(out / "areas.csv", dtype={"area_id": str})
    assert sorted(areas["area_id"]) == LUGG_ZONES
    assert areas["area_name"].str.startswith("Lugg Vale").all()
    access = pd.read_csv(out / "access.csv", dtype={"area_id": str})
    assert set(access["area_id"]) == set(LUGG_ZONES)
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<title>geomap report: education provision and gaps in Lugg Vale</title>" in index
    assert "Lugg Vale schools list" in index and "DfE school register" not in index
    # what the study area lacks is said, and the rest runs
    assert "Post-16 transport barriers are not analysed" in index
    assert "no summary layer" in index
    assert not (out / "maps" / "post16.html").exists()
    assert (out / "maps" / "car_primary.html").exists()


def test_a_second_council_never_names_herefordshire(lugg_report):
    out, output = lugg_report
    for name, text in {"stdout": output, **_texts(out)}.items():
        assert "herefordshire" not in _without_calibration(text).lower(), name


def test_a_second_council_counts_its_own_providers_inside(lugg_report):
    out, _output = lugg_report
    providers = pd.read_csv(out / "providers.csv", dtype={"id": str})
    schools = pd.read_csv(LUGG.parent / "schools.csv", dtype={"school_id": str})
    assert sorted(providers["id"]) == sorted(schools["school_id"])
    assert 0 < providers["in_county"].sum() < len(providers)


@pytest.mark.parametrize(
    "args",
    [
        ["gaps", "--mode", "walk", "--kind", "primary", "--top", "3"],
        ["map", "--kind", "primary", "--mode", "walk", "--out", "{tmp}/m.html"],
        ["map", "--out", "{tmp}/p.html"],
        ["isochrones", "--kind", "primary", "--minutes", "10", "--out", "{tmp}/i.gpkg"],
        ["providers"],
    ],
)
def test_every_analysis_command_takes_a_study_area(tmp_path, args):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = _invoke(*args, "--study-area", str(LUGG))
    assert result.exit_code == 0, result.output
    assert "herefordshire" not in _without_calibration(result.output).lower()
    for path in tmp_path.iterdir():
        if path.suffix == ".html":
            assert "herefordshire" not in _without_calibration(path.read_text()).lower()
            assert "Lugg Vale" in path.read_text()


def test_post16_without_public_transport_says_what_to_give(tmp_path):
    result = _invoke("post16", "--study-area", str(LUGG), "--out", str(tmp_path / "p16"))
    assert result.exit_code == 1
    assert "Lugg Vale has no public-transport times" in result.output
    assert "--gtfs" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- the library


def test_no_herefordshire_in_library_code():
    for path in (ROOT / "geomap").rglob("*.py"):
        text = path.read_text(encoding="utf-8").lower()
        assert "herefordshire" not in text, path
        assert "e06000019" not in text, path


def test_no_type_tests_of_travel_sources_outside_the_travel_package():
    import geomap.travel as travel

    # the travel sources (a network's stored form is data, not a source)
    classes = {
        name
        for name in travel.__all__
        if isinstance(getattr(travel, name), type)
        and issubclass(getattr(travel, name), travel.TravelTimes)
    }
    assert {"NetworkTravelTimes", "TableTravelTimes", "Remembered"} <= classes
    for path in (ROOT / "geomap").rglob("*.py"):
        if "travel" in path.relative_to(ROOT / "geomap").parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id == "isinstance" and len(node.args) == 2:
                named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                assert not named & classes, f"{path.name}:{node.lineno}"
            if node.func.id in ("hasattr", "getattr") and node.args:
                target = ast.unparse(node.args[0])
                assert target not in ("source", "pt", "car", "travel"), f"{path.name}:{node.lineno}"


def test_the_front_door_lists_a_working_public_api():
    assert geomap.__version__ and geomap.__version__[0].isdigit()
    for name in geomap.__all__:
        assert getattr(geomap, name) is not None, name
    with pytest.raises(AttributeError):
        _ = geomap.not_a_thing  # type: ignore[attr-defined]


def _public_functions():
    for name in geomap.__all__:
        value = getattr(geomap, name)
        if inspect.isfunction(value):
            yield name, value


@pytest.mark.parametrize(("name", "func"), list(_public_functions()))
def test_public_functions_have_numpydoc_sections(name, func):
    doc = inspect.getdoc(func) or ""
    params = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]
    if params:
        assert "Parameters\n----------" in doc, name
        for param in params:
            assert re.search(rf"^{param.name}\b|[ ,]{param.name}\b", doc, re.MULTILINE), (
                name,
                param.name,
            )
    if inspect.signature(func).return_annotation not in ("None", None):
        # a generator (a context manager's too) documents what it yields
        section = "Yields" if inspect.isgeneratorfunction(inspect.unwrap(func)) else "Returns"
        assert f"{section}\n{'-' * len(section)}" in doc, name


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "geomap", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "report" in result.stdout


def test_warnings_become_errors_when_asked(tmp_path):
    # the shipped register has providers across the border: a GeomapWarning
    result = subprocess.run(
        [sys.executable, "-W", "error::geomap.GeomapWarning", "-m", "geomap", "providers"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout
    assert "outside the study area" in result.stderr and "Traceback" not in result.stderr
    plain = subprocess.run(
        [sys.executable, "-m", "geomap", "providers"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert plain.returncode == 0
    assert plain.stderr.count("outside the study area") == 1


def test_a_users_provider_list_is_named_as_theirs(tmp_path):
    out = tmp_path / "m.html"
    result = _invoke(
        "map",
        "--providers",
        "tests/fixtures/providers_small.csv",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "your provider list (providers_small.csv)" in page
    assert "DfE school register" not in page


def test_study_area_thresholds_are_used_and_said_to_be_set(tmp_path):
    text = LUGG.read_text(encoding="utf-8") + "\n[thresholds.walk]\nprimary = 20\n"
    study = tmp_path / "lugg.toml"
    study.write_text(text, encoding="utf-8")
    for name in ("boundary.geojson", "zones.geojson", "population_long.csv", "schools.csv"):
        (tmp_path / name).write_bytes((LUGG.parent / name).read_bytes())
    out = tmp_path / "walk.html"
    result = _invoke(
        "map", "--study-area", str(study), "--kind", "primary", "--mode", "walk", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Threshold: 20 min (set for this run" in page and "the default is 40.2 min" in page


@pytest.mark.parametrize("value", ["25:61", "9am", "", "08:30:99"])
def test_a_bad_arrival_time_is_a_usage_error(tmp_path, value):
    result = CliRunner().invoke(
        main,
        [
            "times",
            "--mode",
            "pt",
            "--gtfs",
            "data/gtfs/chester-20230816-small_gtfs.zip",
            "--date",
            "2023-08-16",
            "--arrive-by",
            value,
            "--origins",
            "examples/chester_towns.csv",
            "--destinations",
            "examples/chester_colleges.csv",
            "--out",
            str(tmp_path / "pt.csv"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "--arrive-by" in result.output and "HH:MM" in result.output
    assert not (tmp_path / "pt.csv").exists()


@pytest.fixture
def lugg_pt(tmp_path) -> tuple[Path, Path]:
    """The shipped public-transport table cut to Lugg Vale's areas, and its sites."""
    from shipped_data import shipped

    table = pd.read_csv(shipped("pt_table"), dtype={"home_id": str})
    table = table[table["home_id"].isin(LUGG_ZONES)]
    path = tmp_path / "lugg_pt.csv"
    table.to_csv(path, index=False)
    return path, shipped("pt_sites")


def test_a_second_council_runs_post16_and_routes_with_its_own_bus_times(tmp_path, lugg_pt):
    table, sites = lugg_pt
    pt = ["--pt-table", str(table), "--pt-sites", str(sites), "--pt-name", "lugg-r5r"]
    result = _invoke("post16", "--study-area", str(LUGG), *pt, "--out", str(tmp_path / "p16"))
    assert result.exit_code == 0, result.output
    areas = pd.read_csv(tmp_path / "p16" / "post16_areas.csv", dtype={"area_id": str})
    assert sorted(areas["area_id"]) == LUGG_ZONES
    scenario = tmp_path / "lugg_routes.yml"
    scenario.write_text(
        "scenario: Lugg Vale villages to Leominster\n"
        'arrive_by: "09:00"\n'
        "routes:\n"
        "  - name: Kingsland - Leominster\n"
        "    days: [mon, tue, wed, thu, fri]\n"
        '    first_departure: "08:00"\n'
        '    last_departure: "08:00"\n'
        "    headway_minutes: 60\n"
        "    speed_kmh: 40\n"
        "    stops:\n"
        "      - {name: Kingsland, lon: -2.8066, lat: 52.2447}\n"
        "      - {name: Earl Mortimer College, provider: '116941'}\n",
        encoding="utf-8",
    )
    result = _invoke(
        "routes",
        "evaluate",
        str(scenario),
        "--study-area",
        str(LUGG),
        *pt,
        "--out",
        str(tmp_path / "routes"),
    )
    assert result.exit_code == 0, result.output
    assert "Kingsland - Leominster" in result.output
    changes = pd.read_csv(tmp_path / "routes" / "changes.csv", dtype={"area_id": str})
    assert set(changes["area_id"]) == set(LUGG_ZONES)
    for folder in (tmp_path / "p16", tmp_path / "routes"):
        for name, text in _texts(folder).items():
            assert "herefordshire" not in _without_calibration(text).lower(), name


def test_no_public_name_is_hidden_by_a_module_of_the_same_name():
    """``geomap.X`` must be the exported X even after the submodule ``geomap.X`` is imported."""
    import pkgutil

    import geomap

    modules = {m.name for m in pkgutil.iter_modules(geomap.__path__)}
    assert not set(geomap.__all__) & modules
