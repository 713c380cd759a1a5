"""The report's writers run in two processes: same files, one clear error, nothing partial."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import warnings
from pathlib import Path

import pyogrio
import pytest

import geomap.report as report
from geomap.errors import GeomapError, GeomapWarning, InputError, OutputError

needs_fork = pytest.mark.skipif(not report._can_fork(), reason="needs fork and two cores")


# --- the background process on its own -------------------------------------------------


@needs_fork
def test_background_gives_back_what_the_work_returned():
    parent = os.getpid()
    background = report._Background(lambda: (os.getpid(), [1, 2, 3]))
    pid, value = background.result()
    background.stop()
    assert value == [1, 2, 3]
    assert pid != parent  # it really ran in another process


@needs_fork
@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (InputError("bad cell", path="x.csv", row=3, column="name"), InputError, "x.csv"),
        (FileNotFoundError(2, "No such file", "gone.csv"), FileNotFoundError, "gone.csv"),
        (ValueError("plain"), ValueError, "plain"),
    ],
)
def test_background_raises_what_the_work_raised(error, kind, words):
    def work():
        raise error

    background = report._Background(work)
    with pytest.raises(kind, match=re.escape(words)) as caught:
        background.result()
    background.stop()
    assert str(caught.value) == str(error)


class _UnpicklableError(Exception):
    def __init__(self, message, handle):
        super().__init__(message)
        self.handle = handle

    def __reduce__(self):
        raise TypeError("cannot pickle")


@needs_fork
def test_an_error_that_cannot_travel_comes_back_as_its_message():
    def work():
        raise _UnpicklableError("the real reason", handle=object())

    background = report._Background(work)
    with pytest.raises(GeomapError, match="_UnpicklableError: the real reason"):
        background.result()
    background.stop()


@needs_fork
def test_a_process_that_dies_is_an_output_error():
    background = report._Background(lambda: os._exit(3))
    with pytest.raises(OutputError, match="exit code 3"):
        background.result()
    background.stop()


@needs_fork
def test_warnings_of_the_work_are_given_again():
    def work():
        warnings.warn("3 rows odd (a, b, c)", GeomapWarning, stacklevel=1)
        return "done"

    background = report._Background(work)
    with pytest.warns(GeomapWarning, match=re.escape("3 rows odd (a, b, c)")):
        assert background.result() == "done"
    background.stop()


@needs_fork
def test_stop_ends_a_process_still_running():
    background = report._Background(lambda: __import__("time").sleep(60))
    background.stop()
    assert not multiprocessing.active_children()


def test_without_fork_the_work_runs_here_when_asked():
    ran = []
    background = report._Background(lambda: ran.append(os.getpid()) or "value", fork=False)
    assert ran == []
    assert background.result() == "value"
    assert ran == [os.getpid()]
    background.stop()


# --- write_report -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def car_result(shipped_inputs):
    from geomap.pipeline import choose_travel, run

    travel = choose_travel(shipped_inputs.study, ["car"], boundary=shipped_inputs.boundary)
    return run(shipped_inputs, travel=travel)


_IDS = re.compile(rb"[0-9a-f]{32}")
_STAMP = re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?(\.\d+)?([+-]\d\d:?\d\d|Z| UTC)?")


def _contents(folder: Path) -> dict[str, object]:
    """Every file: bytes (HTML with folium's random ids and the run's time masked), layers."""
    out: dict[str, object] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.suffix == ".gpkg":
            out[name] = [
                (layer, pyogrio.read_dataframe(path, layer=layer).to_wkb().to_csv())
                for layer, _kind in pyogrio.list_layers(path)
            ]
        elif path.suffix in {".html", ".json"}:
            out[name] = _STAMP.sub(b"T", _IDS.sub(b"I", path.read_bytes()))
        else:
            out[name] = path.read_bytes()
    return out


@needs_fork
def test_two_processes_write_what_one_would(car_result, tmp_path, monkeypatch):
    real = report._finder

    def warns(result):
        warnings.warn("2 postcodes unusable (HR1 1AA, HR2 2BB)", GeomapWarning, stacklevel=1)
        return real(result)

    # the finder is made in the second process: its warnings reach the caller all the same
    monkeypatch.setattr(report, "_finder", warns)
    with pytest.warns(GeomapWarning, match=re.escape("2 postcodes unusable (HR1 1AA, HR2 2BB)")):
        together = report.write_report(car_result, tmp_path / "two")
    monkeypatch.setattr(report, "_can_fork", lambda: False)
    alone = report.write_report(car_result, tmp_path / "one")
    assert list(together.items()) == [
        (k, tmp_path / "two" / v.relative_to(tmp_path / "one")) for k, v in alone.items()
    ]  # the index lists them in this order
    two, one = _contents(tmp_path / "two"), _contents(tmp_path / "one")
    assert list(two) == list(one)
    for name in one:
        assert two[name] == one[name], name
    assert not multiprocessing.active_children()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@needs_fork
def test_a_failure_in_the_map_process_is_one_error_and_writes_nothing(
    car_result, tmp_path, monkeypatch
):
    def broken(*_args, **_kwargs):
        raise InputError("the map could not be drawn", path="areas.gpkg", row=7, column="name")

    monkeypatch.setattr(report, "_report_map", broken)
    with pytest.raises(InputError, match="the map could not be drawn") as caught:
        report.write_report(car_result, tmp_path / "out")
    assert "areas.gpkg" in str(caught.value)
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []
    assert not multiprocessing.active_children()


@needs_fork
def test_a_failure_here_stops_the_map_process_and_writes_nothing(car_result, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device", "geomap.gpkg")

    monkeypatch.setattr(report, "write_geopackage", broken)
    with pytest.raises(OutputError, match="No space left on device"):
        report.write_report(car_result, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []
    assert not multiprocessing.active_children()


@needs_fork
def test_a_failure_keeps_the_previous_output(car_result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    report.write_report(car_result, out)
    before = _contents(out)

    def broken(*_args, **_kwargs):
        raise InputError("finder failed")

    monkeypatch.setattr(report, "_finder", broken)
    with pytest.raises(InputError, match="finder failed"):
        report.write_report(car_result, out)
    assert _contents(out) == before


# --- eligibility beside the other analyses ----------------------------------------------


@needs_fork
def test_eligibility_worked_out_beside_the_analyses_equals_it_alone(car_result, shipped_inputs):
    from geomap.pipeline import eligibility_for

    alone = eligibility_for(shipped_inputs, networks=list(shipped_inputs.study.networks.values()))
    together = car_result.eligibility
    assert together is not None
    for name in ("counts", "cost", "homes"):
        theirs, mine = getattr(together, name), getattr(alone, name)
        assert list(theirs.columns) == list(mine.columns), name
        assert theirs.to_csv() == mine.to_csv(), name


@needs_fork
def test_a_failure_in_eligibility_is_the_run_s_one_error(shipped_inputs, monkeypatch):
    from geomap import pipeline
    from geomap.pipeline import choose_travel, run

    def broken(*_args, **_kwargs):
        raise InputError("no such school", path="schools.csv", row=4, column="urn")

    monkeypatch.setattr(pipeline, "eligibility_for", broken)
    travel = choose_travel(shipped_inputs.study, ["car"], boundary=shipped_inputs.boundary)
    with pytest.raises(InputError, match="no such school") as caught:
        run(shipped_inputs, travel=travel)
    assert "schools.csv" in str(caught.value)
    assert not multiprocessing.active_children()


@needs_fork
def test_post16_options_worked_out_beside_the_analyses_equal_them_alone(car_result, shipped_inputs):
    from geomap.finder import finder_data

    alone = finder_data(shipped_inputs, car=car_result.travel[0], pt=car_result.pt)
    together = car_result.post16_options
    assert together is not None and car_result.post16_options_note == ""
    assert json.dumps(together, sort_keys=True) == json.dumps(alone, sort_keys=True)


def test_without_post16_providers_the_report_says_why_there_is_no_finder(shipped_inputs, tmp_path):
    from dataclasses import replace

    from geomap.pipeline import choose_travel, run
    from geomap.providers import offers

    providers = shipped_inputs.providers
    kept = providers[~offers(providers, "post16")].copy()
    inputs = replace(shipped_inputs, providers=kept)
    travel = choose_travel(inputs.study, ["car"], boundary=inputs.boundary)
    result = run(inputs, travel=travel, kinds=("primary",))
    assert result.post16_options is None
    assert "no sixth forms or colleges" in result.post16_options_note
    files = report.write_report(result, tmp_path / "out", figures=False)
    assert "finder" not in files and not (tmp_path / "out" / "finder.html").exists()
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "No post-16 options finder: there are no sixth forms or colleges" in page
