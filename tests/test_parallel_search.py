"""Searches shared among forked processes, and origins searched once before an analysis.

Every answer is compared with the one computed in one process, without any
preparation: bit for bit where the same searches run, and with a brute-force
reference where the route to the answer differs (a nearest destination found
from kept node times rather than by one search from all destinations).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geomap import _parallel
from geomap.travel import network as engine
from geomap.travel.network import (
    NetworkTravelTimes,
    matrix,
    matrix_within,
    nearest,
    prepare_origins,
    snap_points,
    snap_time_matrix,
)
from tests.test_routing_reuse import random_network, random_points, reference

needs_fork = pytest.mark.skipif(
    not _parallel.can_fork() or _parallel.cores() < 2, reason="needs fork and two cores"
)


def _pid_rows(start: int, stop: int) -> np.ndarray:
    """Each row: its number and the process that computed it."""
    rows = np.arange(start, stop, dtype=float)
    return np.column_stack([rows, np.full(rows.shape[0], float(os.getpid()))])


@needs_fork
def test_rows_are_shared_among_processes_and_come_back_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, "2")
    table = _parallel.fill_rows(_pid_rows, 9, 2)
    np.testing.assert_array_equal(table[:, 0], np.arange(9))
    pids = set(table[:, 1].astype(int).tolist())
    assert os.getpid() in pids and len(pids) == 2  # half here, half in a child


@pytest.mark.parametrize(
    ("setting", "worth"), [("1", True), ("", False), ("not a number", False), ("0", False)]
)
def test_one_process_when_asked_or_not_worth_it(
    monkeypatch: pytest.MonkeyPatch, setting: str, worth: bool
) -> None:
    monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, setting)
    table = _parallel.fill_rows(_pid_rows, 5, 2, worth=worth)
    np.testing.assert_array_equal(table[:, 0], np.arange(5))
    assert set(table[:, 1].astype(int).tolist()) == {os.getpid()}


def test_the_setting_caps_the_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, "1")
    assert _parallel.processes() == 1
    monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, "999")
    assert _parallel.processes() == _parallel.cores()
    monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, "-3")
    assert _parallel.processes() == _parallel.cores()


@needs_fork
def test_rows_a_child_failed_to_compute_are_computed_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, "2")
    parent = os.getpid()

    def rows(start: int, stop: int) -> np.ndarray:
        if os.getpid() != parent:
            raise RuntimeError("a child fails")
        return _pid_rows(start, stop)

    table = _parallel.fill_rows(rows, 6, 2)
    np.testing.assert_array_equal(table[:, 0], np.arange(6))
    assert set(table[:, 1].astype(int).tolist()) == {parent}


@needs_fork
def test_an_error_here_is_raised_and_leaves_no_child_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, "2")
    parent = os.getpid()

    def rows(start: int, stop: int) -> np.ndarray:
        if os.getpid() == parent:
            raise ValueError("fails here")
        return _pid_rows(start, stop)

    before = _children()
    with pytest.raises(ValueError, match="fails here"):
        _parallel.fill_rows(rows, 6, 2)
    assert _children() == before  # the child was stopped and waited for


def _children() -> set[int]:
    """This process's children, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                found.add(int(entry.name))
    return found


@pytest.mark.parametrize("seed", range(4))
def test_searches_on_two_processes_equal_those_in_one(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    origins = random_points(seed, 25, "o")
    destinations = random_points(seed + 100, 14, "d")
    answers = []
    for processes, least in (("1", 10**12), ("2", 0)):
        monkeypatch.setenv(_parallel.PROCESSES_VARIABLE, processes)
        monkeypatch.setattr(engine, "PARALLEL_MIN_WORK", least)
        network = random_network(seed, keep=0)  # nothing kept: every search runs
        o = snap_points(network, origins)
        d = snap_points(network, destinations)
        answers.append(
            (
                snap_time_matrix(network, o, d, forwards=True),
                snap_time_matrix(network, o, d, forwards=False),
                snap_time_matrix(network, o, d, forwards=True, limit=120.0),
            )
        )
    for one, two in zip(*answers, strict=True):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("seed", range(5))
def test_prepared_origins_are_not_searched_again_and_give_the_same_answers(seed: int) -> None:
    origins = random_points(seed, 12, "o")
    kinds = [random_points(seed + 10 * k, 5 + 7 * k, f"k{k}d") for k in range(1, 4)]
    fresh = random_network(seed, keep=0)
    prepared = random_network(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert prepare_origins(prepared, origins) > 0
        assert prepare_origins(prepared, origins) == 0  # kept: nothing more to search
        searched = prepared.cache.searches
        for destinations in kinds:
            whole = matrix(prepared, origins, destinations)
            cut = matrix_within(prepared, origins, destinations, minutes=3.0)
            near = nearest(prepared, origins, destinations)
            want_whole = matrix(fresh, origins, destinations)
            want_cut = matrix_within(fresh, origins, destinations, minutes=3.0)
            want_near = nearest(fresh, origins, destinations)
            pd.testing.assert_frame_equal(whole, want_whole, rtol=1e-12, atol=1e-12)
            pd.testing.assert_frame_equal(cut[["from_id", "to_id"]], want_cut[["from_id", "to_id"]])
            np.testing.assert_allclose(cut["minutes"], want_cut["minutes"], rtol=1e-12)
            np.testing.assert_allclose(near["minutes"], want_near["minutes"], rtol=1e-12)
            # the nearest is the quickest of the whole table (ties aside), and by the reference
            table = whole.pivot(index="from_id", columns="to_id", values="minutes")
            best = table.loc[origins["id"]].min(axis=1).to_numpy()
            np.testing.assert_allclose(near["minutes"], best, rtol=1e-12)
            o = snap_points(fresh, origins)
            d = snap_points(fresh, destinations)
            by_hand = reference(fresh, o, d) + o.seconds[:, None] + d.seconds[None, :]
            np.testing.assert_allclose(
                near["minutes"].to_numpy(dtype=float), by_hand.min(axis=1) / 60.0, rtol=1e-9
            )
            for row, chosen in zip(near.itertuples(), near["to_id"], strict=True):
                if pd.notna(chosen):
                    assert table.loc[row.from_id, chosen] == pytest.approx(row.minutes, 1e-12)
            assert near.attrs["geomap_network"] == want_near.attrs["geomap_network"]
        assert prepared.cache.searches == searched  # every table came from the kept searches


def test_a_source_prepares_through_its_wrappers() -> None:
    from geomap.travel.base import FastestOf, Remembered

    network = random_network(1)
    source = NetworkTravelTimes(network, mode="drive")
    wrapped = Remembered(FastestOf([source], limits=[None], mode="car"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapped.prepare(random_points(1, 8, "o"))
    assert network.cache.searches > 0


def test_prepare_searches_nothing_when_the_node_times_would_not_fit() -> None:
    network = random_network(2, keep=8 * 36)  # room for one search's node times
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert prepare_origins(network, random_points(2, 5, "o")) == 0
    assert network.cache.searches == 0
