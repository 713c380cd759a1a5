"""Where to add provision: the sites that would help the most children.

Given travel times from areas to existing providers and to candidate sites,
the children of each area, and how many new sites can be opened,
:func:`choose_sites` picks the candidates exactly, as an integer programme
solved by HiGHS (:func:`scipy.optimize.milp`), for one of two objectives:

``coverage`` (maximal covering, MCLP)
    Most children within ``threshold`` minutes of at least one site, chosen or
    existing. Children already within reach of an existing provider count as
    covered whatever is chosen: only the gain matters.
``time`` (p-median)
    Least population-weighted time from each area to its nearest site, chosen
    or existing. A missing pair is no journey, and no time is ever made up for
    it: first as many children as possible are given a journey to some site,
    then, among the choices that do so, the total time is made least. Areas
    that reach no site at all are reported and left out of the mean.

Beside the optimum, the greedy order (the best site added one at a time) shows
the planner the order of value. Constraint matrices are sparse, built only
from the pairs within the threshold (coverage) or with a journey (time), so a
few hundred areas and a thousand candidates solve in seconds.

Candidates are any points with ids: a regular grid over the populated areas
(:func:`grid_candidates`), or providers of another kind, e.g. primary schools
without a nursery class as candidate nursery sites::

    primaries = eligible_providers(inputs.providers, "primary")
    candidates = primaries[~primaries["offers_early_years"]][["id", "name", "geometry"]]
    choice = sites_for_kind(
        inputs.origins, inputs.providers, inputs.children, default_estimate("car"),
        kind="early_years", add=3, candidates=candidates, objective="coverage",
    )

Capacity (places per site) is not modelled: each area is served by its
nearest site whatever its size. The notes of every result say so.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from geomap import settings
from geomap.errors import CRSError, InputError, InputWarning
from geomap.io import find_column, raise_missing, read_table, source_of
from geomap.locations import check_unique_ids

if TYPE_CHECKING:
    from geomap.travel.base import TravelTimes

logger = logging.getLogger(__name__)

Objective = Literal["coverage", "time"]
OBJECTIVES: tuple[str, ...] = ("coverage", "time")

#: Column names an id column of a candidate or provider list may have.
ID_ALIASES = ("id", "site_id", "provider_id", "urn", "code")

#: Sentence every result carries on what is not modelled.
CAPACITY_NOTE = (
    "Capacity is not modelled: each area is served by its nearest site, whatever its "
    "places; check the chosen sites' catchments against the places they could offer."
)

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]


@dataclass
class SiteChoice:
    """Where to add provision: the chosen sites, what they gain, and the greedy order.

    Attributes
    ----------
    sites
        One row per chosen site: ``site_id``; ``rank`` (1 = the site whose
        removal from the chosen set would lose the most: children left with no
        site within the threshold for ``coverage``; for ``time``, children left
        with no journey first, then child-minutes; ties in greedy order);
        ``gain`` (what removing it alone would lose: children for
        ``coverage``, child-minutes for ``time``); ``reached_only_here``
        (children whose only site within the threshold, or for ``time`` with
        any journey, is this one); ``children_nearest`` (children for whom it
        is the nearest site); ``gain_unit``; and, when the sites' locations are
        known, ``name``, ``easting``, ``northing``.
    areas
        One row per area: ``area_id``, ``population``, ``minutes_before`` and
        ``nearest_before`` (existing sites only; NaN and blank where there is
        no journey), ``minutes_after`` and ``nearest_after`` (existing and
        chosen), ``covered_before`` and ``covered_after`` (within the
        threshold; missing without one).
    before, after
        Summaries with existing sites only, and with the chosen ones added:
        ``sites``, ``population``, ``covered`` (children within the threshold;
        NaN without one), ``covered_share``, ``reached`` (children with a
        journey to some site), ``unreached``, ``mean_minutes`` (weighted by
        children, over those reached).
    greedy
        The greedy order: ``step``, ``site_id``, ``gain`` (children newly
        within the threshold for ``coverage``; child-minutes saved for
        children who already had a journey, for ``time``),
        ``cumulative`` (of ``gain``) and ``newly_reached`` (children given
        their first site within the threshold, or first journey).
    objective
        ``coverage`` or ``time``.
    threshold
        Minutes within which a site covers an area (``None`` for ``time``
        without one).
    optimal
        True if HiGHS proved the choice optimal; False if it stopped early
        (the best choice found is returned and the notes say so).
    notes
        Sentences on what was solved and from what, for outputs.
    locations
        The sites' points (``id``, ``name`` and point geometry in EPSG:27700),
        existing and candidate, when known (see :func:`sites_for_kind`).
    """

    sites: pd.DataFrame
    areas: pd.DataFrame
    before: pd.Series
    after: pd.Series
    greedy: pd.DataFrame
    objective: str
    threshold: float | None
    optimal: bool
    notes: list[str] = field(default_factory=list)
    locations: gpd.GeoDataFrame | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """``before`` and ``after`` as one table, ``scenario`` first (as ``coverage.csv``)."""
        table = pd.DataFrame([self.before, self.after])
        table["sites"] = table["sites"].astype(int)
        table.insert(0, "scenario", ["before", "after"])
        table.insert(1, "objective", self.objective)
        table.insert(2, "threshold_minutes", np.nan if self.threshold is None else self.threshold)
        return table.reset_index(drop=True)


# --------------------------------------------------------------------------- the problem


@dataclass
class _Problem:
    """Areas, sites (existing first, then candidates) and the pairs with a journey."""

    area_ids: pd.Index
    weights: _FloatArray
    site_ids: pd.Index
    n_existing: int
    area_of: _IntArray
    site_of: _IntArray
    minutes: _FloatArray

    @property
    def n_candidates(self) -> int:
        return len(self.site_ids) - self.n_existing

    def nearest(self, open_sites: npt.NDArray[np.bool_]) -> tuple[_FloatArray, _IntArray]:
        """Minutes to the nearest open site per area (inf if none), and which (-1 if none)."""
        keep = open_sites[self.site_of]
        best = np.full(len(self.area_ids), np.inf)
        which = np.full(len(self.area_ids), -1, dtype=np.int64)
        if keep.any():
            area, site, minutes = self.area_of[keep], self.site_of[keep], self.minutes[keep]
            order = np.lexsort((site, minutes, area))
            area, site, minutes = area[order], site[order], minutes[order]
            first = np.r_[True, area[1:] != area[:-1]]
            best[area[first]] = minutes[first]
            which[area[first]] = site[first]
        return best, which

    def open_mask(self, chosen: Iterable[int]) -> npt.NDArray[np.bool_]:
        """Open sites: every existing one and the chosen candidates (positions among all sites)."""
        mask = np.zeros(len(self.site_ids), dtype=bool)
        mask[: self.n_existing] = True
        mask[list(chosen)] = True
        return mask


def _ids(values: Iterable[object], *, what: str) -> pd.Index:
    index = pd.Index([str(v).strip() for v in values], dtype=object)
    blank = index == ""
    if blank.any():
        raise InputError(
            f"the {what} include a blank id", fix=f"Give every one of the {what} an id"
        )
    if not index.is_unique:
        raise InputError(
            f"the {what} include '{index[index.duplicated()][0]}' more than once",
            fix="Give each id once",
        )
    return index


def _demand(demand: pd.Series | Mapping[str, float]) -> pd.Series:
    series = pd.Series(demand, dtype=float)
    series.index = pd.Index([str(v).strip() for v in series.index], dtype=object)
    if not series.index.is_unique:
        raise InputError(
            f"the demand gives area '{series.index[series.index.duplicated()][0]}' more than once",
            path=source_of(series),
            fix="Give each area once",
        )
    values = series.to_numpy()
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(
            f"the demand of area '{series.index[bad][0]}' is {values[bad][0]}, not a number of "
            "0 or more",
            path=source_of(series),
            fix="Give every area a population of 0 or more",
        )
    return series


def _locate(times: pd.DataFrame, column: str, position: int) -> tuple[int | None, str]:
    """The row (as the user sees it) and column of the journey at ``position`` in times' file."""
    rows = times.attrs.get("geomap_rows")
    columns = times.attrs.get("geomap_id_columns") or {}
    if rows is None or not 0 <= position < len(rows):
        return None, column
    named = columns.get(column) or (
        str(times[column].iloc[position]) if column == "to_id" else column
    )
    return int(rows[position]), str(named)


def _problem(
    times: pd.DataFrame,
    demand: pd.Series | Mapping[str, float],
    *,
    candidates: Iterable[object],
    existing: Iterable[object],
    add: int,
) -> _Problem:
    missing = {"from_id", "to_id", "minutes"} - set(times.columns)
    if missing:
        raise InputError(
            f"the times table lacks {', '.join(sorted(missing))}",
            path=source_of(times),
            fix="Give a long table from_id,to_id,minutes",
        )
    people = _demand(demand)
    old = _ids(existing, what="existing sites")
    new = _ids(candidates, what="candidate sites")
    clash = old.intersection(new)
    if len(clash):
        raise InputError(
            f"{len(clash)} candidate id(s) are also existing sites, e.g. '{clash[0]}'",
            fix="Give candidates ids of their own (a site already open is not a candidate)",
        )
    if isinstance(add, bool) or not isinstance(add, int | np.integer) or add < 1:
        raise InputError(f"the number of sites to add must be a whole number from 1, not {add}")
    if add > len(new):
        raise InputError(
            f"cannot add {add} sites from {len(new)} candidate(s)",
            fix=f"Add at most {len(new)}, or give more candidates",
        )
    sites = old.append(new)
    area_text = times["from_id"].astype("string").str.strip()
    site_text = times["to_id"].astype("string").str.strip()
    minutes = pd.to_numeric(times["minutes"], errors="coerce").to_numpy(dtype=float)
    for column, text, known, what, fix in (
        (
            "from_id",
            area_text,
            people.index,
            "demand",
            "Give the population of every area the times start from (0 where nobody lives)",
        ),
        (
            "to_id",
            site_text,
            sites,
            "existing or candidate sites",
            "Give times only to the existing and candidate sites, or add the site to one of them",
        ),
    ):
        unknown = ~text.isin(known).fillna(False).to_numpy()
        if unknown.any():
            value = str(text[unknown].iloc[0])
            row, where = _locate(times, column, int(np.flatnonzero(unknown)[0]))
            raise InputError(
                f"'{value}' is not among the {what} ({int(unknown.sum())} row(s) like it)",
                path=source_of(times),
                row=row,
                column=where,
                fix=fix,
            )
    negative = minutes < 0
    if negative.any():
        raise InputError(
            f"a journey of {minutes[negative][0]} minutes ({area_text[negative].iloc[0]} → "
            f"{site_text[negative].iloc[0]}); minutes cannot be negative",
            path=source_of(times),
            fix="Give minutes from 0 up",
        )
    pairs = pd.DataFrame({"area": area_text, "site": site_text})
    twice = pairs.duplicated()
    if twice.any():
        first = pairs[twice].iloc[0]
        raise InputError(
            f"the journey {first['area']} → {first['site']} is given twice",
            path=source_of(times),
            fix="Give each area and site pair once",
        )
    # NaN (or infinite) minutes: no journey
    keep = np.isfinite(minutes)
    return _Problem(
        area_ids=people.index,
        weights=people.to_numpy(dtype=float),
        site_ids=sites,
        n_existing=len(old),
        area_of=people.index.get_indexer(pd.Index(area_text[keep])).astype(np.int64),
        site_of=sites.get_indexer(pd.Index(site_text[keep])).astype(np.int64),
        minutes=minutes[keep],
    )


# --------------------------------------------------------------------------- solving


@dataclass
class _Solved:
    chosen: list[int]
    optimal: bool
    message: str


def _solve(
    c: _FloatArray,
    constraints: list[LinearConstraint],
    *,
    integral: npt.NDArray[np.int64],
    upper: _FloatArray,
) -> tuple[_FloatArray, bool, str]:
    result = milp(
        c,
        constraints=constraints,
        integrality=integral,
        bounds=Bounds(np.zeros(len(c)), upper),
        options={"disp": False, "mip_rel_gap": 0.0},
    )
    if result.x is None:
        raise InputError(f"the site choice could not be solved ({result.message})")
    return np.asarray(result.x, dtype=float), bool(result.status == 0), str(result.message)


def _max_covering(
    problem: _Problem, weights: _FloatArray, pairs: npt.NDArray[np.bool_], *, add: int
) -> _Solved:
    """Choose ``add`` candidates to maximise the weight of areas reached by a candidate pair in ``pairs``.

    ``weights`` are zero for areas that do not count (already covered, or nobody there).
    """
    e = problem.n_existing
    n_c = problem.n_candidates
    use = pairs & (problem.site_of >= e) & (weights[problem.area_of] > 0)
    rows, row_of = np.unique(problem.area_of[use], return_inverse=True)
    cols = problem.site_of[use] - e
    n_y = len(rows)
    if n_y == 0:
        return _Solved(chosen=list(range(e, e + add)), optimal=True, message="nothing to gain")
    # y_r - sum_j a_rj x_j <= 0; sum_j x_j = add
    link = sp.hstack(
        [
            -sp.csr_array((np.ones(len(cols)), (row_of, cols)), shape=(n_y, n_c)),
            sp.eye_array(n_y, format="csr"),
        ],
        format="csr",
    )
    count = sp.hstack([sp.csr_array(np.ones((1, n_c))), sp.csr_array((1, n_y))], format="csr")
    c = np.r_[np.zeros(n_c), -weights[rows]]
    x, optimal, message = _solve(
        c,
        [LinearConstraint(link, -np.inf, 0.0), LinearConstraint(count, add, add)],
        integral=np.r_[np.ones(n_c, dtype=np.int64), np.zeros(n_y, dtype=np.int64)],
        upper=np.ones(n_c + n_y),
    )
    chosen = [e + int(j) for j in np.argsort(-x[:n_c], kind="stable")[:add]]
    return _Solved(chosen=sorted(chosen), optimal=optimal, message=message)


def _p_median(problem: _Problem, *, add: int) -> _Solved:
    """Choose ``add`` candidates: most children with a journey first, then least total time."""
    e = problem.n_existing
    n_c = problem.n_candidates
    n_a = len(problem.area_ids)
    w = problem.weights
    existing_best, _ = problem.nearest(problem.open_mask([]))
    # stage 1: children who reach no existing site, given a journey to a candidate
    optional = ~np.isfinite(existing_best) & (w > 0)
    stage1 = _max_covering(
        problem, np.where(optional, w, 0.0), np.ones(len(problem.minutes), bool), add=add
    )
    reach_weights = np.where(optional, w, 0.0)
    best_reach = float(
        reach_weights[np.isfinite(problem.nearest(problem.open_mask(stage1.chosen))[0])].sum()
    )
    # useful pairs: the nearest existing site, and candidates nearer than it
    area, site, minutes = problem.area_of, problem.site_of, problem.minutes
    keep = (w[area] > 0) & (
        ((site >= e) & (minutes < existing_best[area]))
        | ((site < e) & (minutes == existing_best[area]))
    )
    area, site, minutes = area[keep], site[keep], minutes[keep]
    # one existing pair per area (ties: the first)
    order = np.lexsort((site, site >= e, area))
    area, site, minutes = area[order], site[order], minutes[order]
    dup_existing = (site < e) & np.r_[False, (area[1:] == area[:-1]) & (site[:-1] < e)]
    area, site, minutes = area[~dup_existing], site[~dup_existing], minutes[~dup_existing]
    served = np.unique(area)
    if len(served) == 0:
        return _Solved(chosen=stage1.chosen, optimal=stage1.optimal, message=stage1.message)
    optional_served = served[optional[served]]
    n_z = len(area)
    n_u = len(optional_served)
    u_of = np.full(n_a, -1, dtype=np.int64)
    u_of[optional_served] = np.arange(n_u)
    row_index = np.full(n_a, -1, dtype=np.int64)
    row_index[served] = np.arange(len(served))
    # variables: x (candidates), z (pairs), u (optional areas)
    n = n_c + n_z + n_u
    z0, u0 = n_c, n_c + n_z
    # assignment: sum_j z_ij - u_i = 0 (optional) or = 1 (reaching an existing site)
    assign_rows = np.r_[row_index[area], row_index[optional_served]]
    assign_cols = np.r_[z0 + np.arange(n_z), u0 + np.arange(n_u)]
    assign_vals = np.r_[np.ones(n_z), -np.ones(n_u)]
    assign = sp.csr_array((assign_vals, (assign_rows, assign_cols)), shape=(len(served), n))
    rhs = np.where(optional[served], 0.0, 1.0)
    # opening: z_ij - x_j <= 0 for candidate pairs
    cand = np.flatnonzero(site >= e)
    open_rows = np.r_[np.arange(len(cand)), np.arange(len(cand))]
    open_cols = np.r_[z0 + cand, site[cand] - e]
    open_vals = np.r_[np.ones(len(cand)), -np.ones(len(cand))]
    opening = sp.csr_array((open_vals, (open_rows, open_cols)), shape=(len(cand), n))
    count = sp.csr_array(
        (np.ones(n_c), (np.zeros(n_c, dtype=np.int64), np.arange(n_c))), shape=(1, n)
    )
    constraints = [
        LinearConstraint(assign, rhs, rhs),
        LinearConstraint(opening, -np.inf, 0.0),
        LinearConstraint(count, add, add),
    ]
    if n_u:
        reach = sp.csr_array(
            (w[optional_served], (np.zeros(n_u, dtype=np.int64), u0 + np.arange(n_u))),
            shape=(1, n),
        )
        constraints.append(LinearConstraint(reach, best_reach - 1e-7 * (1 + best_reach), np.inf))
    c = np.r_[np.zeros(n_c), w[area] * minutes, np.zeros(n_u)]
    integral = np.r_[
        np.ones(n_c, dtype=np.int64), np.zeros(n_z, dtype=np.int64), np.ones(n_u, dtype=np.int64)
    ]
    x, optimal, message = _solve(c, constraints, integral=integral, upper=np.ones(n))
    chosen = [e + int(j) for j in np.argsort(-x[:n_c], kind="stable")[:add]]
    return _Solved(chosen=sorted(chosen), optimal=optimal and stage1.optimal, message=message)


# --------------------------------------------------------------------------- evaluating


def _value(
    problem: _Problem, chosen: Iterable[int], *, objective: str, threshold: float | None
) -> tuple[float, float]:
    """The objective of a choice, larger is better: (children covered, 0) or (reached, -minutes)."""
    best, _ = problem.nearest(problem.open_mask(chosen))
    w = problem.weights
    if objective == "coverage":
        assert threshold is not None
        return float(w[best <= threshold].sum()), 0.0
    reached = np.isfinite(best)
    return float(w[reached].sum()), -float((w[reached] * best[reached]).sum())


def _summary(
    problem: _Problem, best: _FloatArray, *, sites: int, threshold: float | None
) -> pd.Series:
    w = problem.weights
    total = float(w.sum())
    reached = np.isfinite(best)
    reached_people = float(w[reached].sum())
    covered = float(w[best <= threshold].sum()) if threshold is not None else math.nan
    return pd.Series(
        {
            "sites": sites,
            "population": total,
            "covered": covered,
            "covered_share": covered / total if total > 0 else math.nan,
            "reached": reached_people,
            "unreached": total - reached_people,
            "mean_minutes": (
                float((w[reached] * best[reached]).sum()) / reached_people
                if reached_people > 0
                else math.nan
            ),
        }
    )


def _greedy(
    problem: _Problem, *, add: int, objective: str, threshold: float | None
) -> pd.DataFrame:
    """The best candidate added one at a time (ties: the first in candidate order)."""
    e = problem.n_existing
    w = problem.weights
    is_candidate = problem.site_of >= e
    area, cand, minutes = (
        problem.area_of[is_candidate],
        problem.site_of[is_candidate] - e,
        problem.minutes[is_candidate],
    )
    if objective == "coverage":
        assert threshold is not None
        within = minutes <= threshold
        area, cand, minutes = area[within], cand[within], minutes[within]
    best, _ = problem.nearest(problem.open_mask([]))
    if objective == "coverage":
        assert threshold is not None
        best = np.where(best <= threshold, best, np.inf)
    chosen: list[int] = []
    rows = []
    cumulative = 0.0
    for step in range(1, add + 1):
        first = ~np.isfinite(best[area])
        newly = np.bincount(cand, weights=w[area] * first, minlength=problem.n_candidates).astype(
            float
        )
        better = np.where(first, 0.0, np.maximum(best[area] - minutes, 0.0))
        saved = np.bincount(cand, weights=w[area] * better, minlength=problem.n_candidates).astype(
            float
        )
        newly[chosen] = -np.inf
        order = np.lexsort((np.arange(problem.n_candidates), -saved, -newly))
        j = int(order[0])
        chosen.append(j)
        gain = float(newly[j]) if objective == "coverage" else float(saved[j])
        cumulative += gain
        rows.append(
            {
                "step": step,
                "site_id": problem.site_ids[e + j],
                "gain": gain,
                "cumulative": cumulative,
                "newly_reached": float(newly[j]),
            }
        )
        here = cand == j
        np.minimum.at(best, area[here], minutes[here])
    return pd.DataFrame(rows, columns=["step", "site_id", "gain", "cumulative", "newly_reached"])


def _site_table(
    problem: _Problem,
    chosen: list[int],
    greedy: pd.DataFrame,
    *,
    objective: str,
    threshold: float | None,
) -> pd.DataFrame:
    w = problem.weights
    limit = threshold if objective == "coverage" and threshold is not None else math.inf
    full_best, full_which = problem.nearest(problem.open_mask(chosen))
    full_in = (full_best <= limit) & np.isfinite(full_best)
    greedy_order = {site: i for i, site in enumerate(greedy["site_id"])}
    rows = []
    for j in chosen:
        best, _ = problem.nearest(problem.open_mask([k for k in chosen if k != j]))
        still = (best <= limit) & np.isfinite(best)
        lost = full_in & ~still
        if objective == "coverage":
            gain = float(w[lost].sum())
        else:
            both = full_in & still
            gain = float((w[both] * (best[both] - full_best[both])).sum())
        site_id = problem.site_ids[j]
        rows.append(
            {
                "site_id": site_id,
                "gain": gain,
                "reached_only_here": float(w[lost].sum()),
                "children_nearest": float(w[full_in & (full_which == j)].sum()),
                "gain_unit": "children" if objective == "coverage" else "child-minutes",
                "_greedy": greedy_order.get(site_id, len(greedy_order)),
            }
        )
    table = pd.DataFrame(rows)
    table = table.sort_values(
        ["reached_only_here", "gain", "_greedy"], ascending=[False, False, True], kind="stable"
    )
    table.insert(1, "rank", np.arange(1, len(table) + 1))
    return table.drop(columns="_greedy").reset_index(drop=True)


def _area_table(problem: _Problem, chosen: list[int], *, threshold: float | None) -> pd.DataFrame:
    before, which_before = problem.nearest(problem.open_mask([]))
    after, which_after = problem.nearest(problem.open_mask(chosen))
    ids = np.asarray(problem.site_ids, dtype=object)

    def names(which: _IntArray) -> pd.Series:
        values = [ids[k] if k >= 0 else None for k in which.tolist()]
        return pd.Series(values, dtype="string")

    table = pd.DataFrame(
        {
            "area_id": np.asarray(problem.area_ids, dtype=object),
            "population": problem.weights,
            "minutes_before": np.where(np.isfinite(before), before, np.nan),
            "nearest_before": names(which_before),
            "minutes_after": np.where(np.isfinite(after), after, np.nan),
            "nearest_after": names(which_after),
        }
    )
    if threshold is None:
        table["covered_before"] = pd.array([pd.NA] * len(table), dtype="boolean")
        table["covered_after"] = pd.array([pd.NA] * len(table), dtype="boolean")
    else:
        table["covered_before"] = pd.array(before <= threshold, dtype="boolean")
        table["covered_after"] = pd.array(after <= threshold, dtype="boolean")
    return table


def choose_sites(
    times: pd.DataFrame,
    demand: pd.Series | Mapping[str, float],
    *,
    candidates: Iterable[object],
    existing: Iterable[object] = (),
    add: int,
    objective: Objective = "coverage",
    threshold: float | None = None,
    capacity: Mapping[str, float] | None = None,
) -> SiteChoice:
    """Choose ``add`` candidate sites that help the most children, exactly.

    Parameters
    ----------
    times
        Long table ``from_id`` (area), ``to_id`` (existing or candidate site),
        ``minutes``; a pair missing, or with NaN minutes, has no journey. If
        read from a file (``attrs["geomap_source"]``), errors name its row.
    demand
        Children (or people) per area id; every ``from_id`` must be here.
    candidates
        Ids of the candidate sites.
    existing
        Ids of the existing providers (always open).
    add
        How many candidates to choose (1 up to the number of candidates).
    objective
        ``coverage``: maximise the children within ``threshold`` minutes of a
        chosen or existing site (maximal covering). ``time``: give as many
        children as possible a journey to some site, then minimise the
        children-weighted time to the nearest one (p-median).
    threshold
        Minutes within which a site covers an area; needed for ``coverage``,
        optional for ``time`` (the summaries then also count children covered).
    capacity
        Places per site, for a capacitated version; not supported yet, and
        refused if given.

    Returns
    -------
    SiteChoice
        The chosen sites with their rank and gain, each area before and after,
        the before and after summaries and the greedy order.

    Raises
    ------
    InputError
        For a missing column, an unknown id in ``times`` (naming the file and
        row when it was read from one), a pair given twice, negative minutes,
        a demand that is negative or not finite, a candidate id that is also an
        existing site, ``add`` outside 1 to the number of candidates, a
        threshold that is not positive, a missing threshold for ``coverage``,
        an unknown objective, or a ``capacity``.

    Warns
    -----
    InputWarning
        When children live in areas with no journey to any existing or
        candidate site: they are counted as unreached and left out of mean
        times, never given a made-up time.
    """
    if objective not in OBJECTIVES:
        raise InputError(
            f"unknown objective '{objective}'", fix=f"Use one of: {', '.join(OBJECTIVES)}"
        )
    if capacity is not None:
        raise InputError(
            "site capacities are not supported yet: every area is served by its nearest site",
            fix="Leave out the capacities",
        )
    if threshold is not None and not (math.isfinite(threshold) and threshold > 0):
        raise InputError(f"the threshold must be a positive number of minutes, not {threshold}")
    if objective == "coverage" and threshold is None:
        raise InputError(
            "the coverage objective needs a threshold (minutes within which a site covers an area)",
            fix="Give a threshold, or use the time objective",
        )
    problem = _problem(times, demand, candidates=candidates, existing=existing, add=add)
    w = problem.weights
    notes: list[str] = []
    everywhere, _ = problem.nearest(np.ones(len(problem.site_ids), dtype=bool))
    stranded = ~np.isfinite(everywhere) & (w > 0)
    if stranded.any():
        names = ", ".join(map(str, problem.area_ids[stranded][:5]))
        text = (
            f"{int(stranded.sum())} area(s) with {w[stranded].sum():,.0f} children have no journey "
            f"to any existing or candidate site (e.g. {names}); they are counted as unreached "
            "and left out of mean times"
        )
        warnings.warn(text, InputWarning, stacklevel=2)
        notes.append(text + ".")
    if objective == "coverage":
        assert threshold is not None
        start, _ = problem.nearest(problem.open_mask([]))
        weights = np.where(start <= threshold, 0.0, w)
        solved = _max_covering(problem, weights, problem.minutes <= threshold, add=add)
    else:
        solved = _p_median(problem, add=add)
    greedy = _greedy(problem, add=add, objective=objective, threshold=threshold)
    best_before, _ = problem.nearest(problem.open_mask([]))
    best_after, _ = problem.nearest(problem.open_mask(solved.chosen))
    before = _summary(problem, best_before, sites=problem.n_existing, threshold=threshold)
    after = _summary(problem, best_after, sites=problem.n_existing + add, threshold=threshold)
    greedy_ids = problem.site_ids.get_indexer(pd.Index(greedy["site_id"])).tolist()
    greedy_value = _value(problem, greedy_ids, objective=objective, threshold=threshold)
    optimum = _value(problem, solved.chosen, objective=objective, threshold=threshold)
    if objective == "coverage":
        notes.append(
            f"Maximal covering: {add} site(s) chosen from {problem.n_candidates} candidate(s) "
            f"to put the most children within {threshold:g} minutes of a site, beside "
            f"{problem.n_existing} existing; children covered rise from "
            f"{before['covered']:,.0f} to {after['covered']:,.0f} of {before['population']:,.0f} "
            f"(greedy order: {greedy_value[0]:,.0f})."
        )
    else:
        notes.append(
            f"p-median: {add} site(s) chosen from {problem.n_candidates} candidate(s) to give "
            "the most children a journey to a site, then the least children-weighted time to "
            f"the nearest, beside {problem.n_existing} existing; mean minutes "
            f"{before['mean_minutes']:.1f} before (over {before['reached']:,.0f} children "
            f"reached), {after['mean_minutes']:.1f} after (over {after['reached']:,.0f}); "
            f"greedy order: {-greedy_value[1] / max(greedy_value[0], 1e-12):.1f} min over "
            f"{greedy_value[0]:,.0f}."
        )
    if greedy_value > optimum:  # pragma: no cover - only if the solver stopped early
        notes.append("The greedy order found a better choice than the solver; check the solver.")
    if not solved.optimal:
        notes.append(f"The solver stopped before proving the choice optimal ({solved.message}).")
    sites = _site_table(problem, solved.chosen, greedy, objective=objective, threshold=threshold)
    idle = sites.loc[sites["reached_only_here"] <= 0, "site_id"].tolist()
    if objective == "coverage" and idle:
        notes.append(
            f"{len(idle)} chosen site(s) cover no child that another site does not already "
            f"({', '.join(map(str, idle[:5]))}): fewer new sites would cover as many."
        )
    notes.append(CAPACITY_NOTE)
    return SiteChoice(
        sites=sites,
        areas=_area_table(problem, solved.chosen, threshold=threshold),
        before=before,
        after=after,
        greedy=greedy,
        objective=objective,
        threshold=threshold,
        optimal=solved.optimal,
        notes=notes,
    )


# --------------------------------------------------------------------------- candidates and study areas


def read_site_ids(path: str | Path, *, what: str, sheet: str | None = None) -> pd.Index:
    """Read the ids of a list of sites (candidates, existing providers) from a table or point file.

    Parameters
    ----------
    path
        CSV, workbook or vector file with an id column (``id``, ``site_id``,
        ``provider_id``, ``urn`` or ``code``); other columns are ignored.
    what
        What the sites are, for messages ("candidate sites").
    sheet
        Worksheet of a workbook, or layer of a GeoPackage.

    Returns
    -------
    pandas.Index
        The ids as text, in file order.

    Raises
    ------
    InputError
        Naming the file, row and column, if the id column is missing or an id
        is blank; :class:`~geomap.errors.DuplicateIdError` if an id repeats.
    """
    table = read_table(path, what=what, sheet=sheet)
    column = find_column(table, ID_ALIASES)
    if column is None:
        raise_missing(table, "id", what="'id'", fix="Add an id column with a unique value per row")
    ids = pd.DataFrame({column: table[column].astype("string").str.strip()}, index=table.index)
    ids.attrs.update(table.attrs)
    check_unique_ids(ids, column, what=what)
    found: pd.Index = pd.Index(ids[column].to_numpy(dtype=str), dtype=object)
    return found


def _in_measure_crs(layer: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    if layer.crs is None:
        raise CRSError(
            f"the {what} have no coordinate reference system",
            fix=f"Set it (British National Grid is {settings.MEASURE_CRS})",
        )
    return layer if layer.crs == settings.MEASURE_CRS else layer.to_crs(settings.MEASURE_CRS)


def _area_polygons(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``id`` (from ``id`` or ``area_id``) and polygons in EPSG:27700."""
    column = "id" if "id" in areas.columns else "area_id" if "area_id" in areas.columns else None
    if column is None:
        raise_missing(areas, "id", what="'id' or 'area_id' (area ids)")
    layer = _in_measure_crs(areas, what="areas")
    return gpd.GeoDataFrame(
        {"id": layer[column].astype(str).to_numpy()},
        geometry=layer.geometry.to_numpy(),
        crs=settings.MEASURE_CRS,
    )


#: Most grid points :func:`grid_candidates` makes before asking for a wider spacing.
MAX_GRID_POINTS = 20_000


def grid_candidates(
    areas: gpd.GeoDataFrame,
    *,
    spacing_m: float,
    populated: pd.Series | Mapping[str, float] | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites on a regular grid over the areas where children live.

    Points are the centres of the British National Grid squares of side
    ``spacing_m`` (a 2 km grid has points at 1,000, 3,000 ... metres) that fall
    inside an area with population above 0. An area smaller than a square may
    hold no point; use a finer spacing, or add candidates of your own.

    Parameters
    ----------
    areas
        Area polygons with an ``id`` (or ``area_id``) column (any CRS; measured
        in EPSG:27700).
    spacing_m
        Distance between neighbouring points, in metres.
    populated
        Population per area id; areas with none (or missing here) get no
        points. Every area is used when ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` (``grid-<easting>-<northing>``, whole metres), ``name`` (as the
        id), ``area_id``, ``easting``, ``northing`` and the points, in EPSG:27700.

    Raises
    ------
    InputError
        If the spacing is not positive, would make more than
        :data:`MAX_GRID_POINTS` points, or ``areas`` has no id column.
    CRSError
        If ``areas`` has no coordinate reference system.

    Examples
    --------
    >>> grid = grid_candidates(inputs.areas, spacing_m=2000, populated=inputs.children["primary"])  # doctest: +SKIP
    """
    if not (math.isfinite(spacing_m) and spacing_m > 0):
        raise InputError(f"the grid spacing must be a positive number of metres, not {spacing_m}")
    layer = _area_polygons(areas)
    if populated is not None:
        people = pd.Series(populated, dtype=float)
        people.index = people.index.astype(str)
        layer = layer[layer["id"].map(people).fillna(0).to_numpy() > 0]
    empty = gpd.GeoDataFrame(
        {"id": [], "name": [], "area_id": [], "easting": [], "northing": []},
        geometry=gpd.GeoSeries([], crs=settings.MEASURE_CRS),
        crs=settings.MEASURE_CRS,
    )
    if layer.empty:
        return empty
    minx, miny, maxx, maxy = layer.total_bounds
    first_x = math.floor(minx / spacing_m)
    first_y = math.floor(miny / spacing_m)
    nx = math.floor(maxx / spacing_m) - first_x + 1
    ny = math.floor(maxy / spacing_m) - first_y + 1
    if nx * ny > MAX_GRID_POINTS * 4:
        raise InputError(
            f"a {spacing_m:g} m grid over these areas would have about {nx * ny:,} points",
            fix=f"Give a wider spacing (at most {MAX_GRID_POINTS:,} points are used)",
        )
    xs = (first_x + np.arange(nx) + 0.5) * spacing_m
    ys = (first_y + np.arange(ny) + 0.5) * spacing_m
    gx, gy = np.meshgrid(xs, ys)
    points = gpd.GeoDataFrame(
        {"easting": gx.ravel(), "northing": gy.ravel()},
        geometry=shapely.points(gx.ravel(), gy.ravel()),
        crs=settings.MEASURE_CRS,
    )
    joined = gpd.sjoin(points, layer, how="inner", predicate="within")
    joined = joined[~joined.index.duplicated()].sort_values(["northing", "easting"])
    if len(joined) > MAX_GRID_POINTS:
        raise InputError(
            f"a {spacing_m:g} m grid over the populated areas has {len(joined):,} points",
            fix=f"Give a wider spacing (at most {MAX_GRID_POINTS:,} points are used)",
        )
    if joined.empty:
        return empty
    ids = [
        f"grid-{round(x)}-{round(y)}"
        for x, y in zip(joined["easting"], joined["northing"], strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "id": ids,
            "name": ids,
            "area_id": joined["id"].to_numpy(),
            "easting": joined["easting"].to_numpy(),
            "northing": joined["northing"].to_numpy(),
        },
        geometry=joined.geometry.to_numpy(),
        crs=settings.MEASURE_CRS,
    )


def _candidate_points(candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(candidates, gpd.GeoDataFrame):
        raise InputError("the candidate sites must be points (a GeoDataFrame with 'id')")
    if "id" not in candidates.columns:
        raise_missing(candidates, "id", what="'id' (candidate ids)")
    points = _in_measure_crs(candidates, what="candidate sites")
    kinds = points.geometry.geom_type.to_numpy()
    bad = (kinds != "Point") | points.geometry.is_empty.to_numpy()
    if bad.any():
        raise InputError(
            f"candidate site '{points['id'].iloc[int(np.flatnonzero(bad)[0])]}' is not a point",
            path=source_of(candidates),
            fix="Give each candidate as one point",
        )
    names = points["name"] if "name" in points.columns else points["id"]
    return gpd.GeoDataFrame(
        {
            "id": points["id"].astype(str).str.strip().to_numpy(),
            "name": names.astype(str).to_numpy(),
        },
        geometry=points.geometry.to_numpy(),
        crs=settings.MEASURE_CRS,
    )


def sites_for_kind(
    origins: gpd.GeoDataFrame,
    providers: gpd.GeoDataFrame,
    children: pd.DataFrame,
    travel: TravelTimes,
    *,
    kind: str,
    add: int,
    candidates: gpd.GeoDataFrame,
    objective: Objective = "coverage",
    threshold: float | None = None,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    include_independent: bool = False,
) -> SiteChoice:
    """Where to add provision of one kind in a study area.

    Times are computed by ``travel`` from each area's origin to every existing
    provider of ``kind`` (:func:`geomap.gaps.eligible_providers`) and every
    candidate; the demand is the area's children of the kind's age band.

    Parameters
    ----------
    origins
        One point per area, ``id`` = area id, EPSG:27700.
    providers
        Providers (:func:`geomap.providers.load_providers`); those offering
        ``kind`` are the existing sites.
    children
        Children per area (index) and kind (columns).
    travel
        Travel-time source of the mode to plan for.
    kind
        Kind of provision (``early_years``, ``primary``, ``secondary``,
        ``post16``, ``special``).
    add
        How many candidates to choose.
    candidates
        Candidate sites: ``id`` (not an id of an existing provider of
        ``kind``), optional ``name``, point geometry (EPSG:27700, or converted
        to it). Providers of another kind may be candidates.
    objective
        ``coverage`` or ``time``, as for :func:`choose_sites`.
    threshold
        Minutes within which a site covers an area; from ``thresholds`` by
        default (:func:`geomap.gaps.resolve_thresholds`).
    thresholds
        ``{mode: {kind: minutes}}`` set for the study area, over geomap's defaults.
    include_independent
        Count independent (fee-paying) schools as existing provision.

    Returns
    -------
    SiteChoice
        As :func:`choose_sites`, with ``locations`` set and ``sites`` carrying
        ``name``, ``easting`` and ``northing``.

    Raises
    ------
    InputError
        If a candidate id is also an existing provider's, a candidate is not a
        point, the kind has no children column, or as :func:`choose_sites`.
    CRSError
        If the candidates have no coordinate reference system.

    Warns
    -----
    InputWarning, TravelWarning
        As :func:`choose_sites` and the travel source do.
    """
    from geomap.gaps import eligible_providers, resolve_thresholds
    from geomap.travel.base import description_of

    if kind not in children.columns:
        raise InputError(
            f"no children column for kind '{kind}'",
            fix=f"Use one of: {', '.join(map(str, children.columns))}",
        )
    existing = eligible_providers(providers, kind, include_independent=include_independent)
    points = _candidate_points(candidates)
    if not points["id"].is_unique:
        raise InputError(
            f"candidate id '{points['id'][points['id'].duplicated()].iloc[0]}' appears more than once",
            path=source_of(candidates),
            fix="Give each candidate its own id",
        )
    clash = sorted(set(points["id"]) & set(existing["id"].astype(str)))
    if clash:
        raise InputError(
            f"{len(clash)} candidate id(s) are ids of existing {kind} providers, e.g. '{clash[0]}'",
            path=source_of(candidates),
            column="id",
            fix="A provider already offering this kind is not a candidate; give new sites their own ids",
        )
    old = gpd.GeoDataFrame(
        {
            "id": existing["id"].astype(str).to_numpy(),
            "name": existing["name"].astype(str).to_numpy(),
        },
        geometry=existing.geometry.to_numpy(),
        crs=settings.MEASURE_CRS,
    )
    locations = gpd.GeoDataFrame(
        pd.concat([old.assign(existing=True), points.assign(existing=False)], ignore_index=True),
        crs=settings.MEASURE_CRS,
    )
    times = travel.matrix(origins, locations[["id", "geometry"]])
    source = settings.THRESHOLD_SOURCES.get(travel.mode, "given")
    if threshold is None:
        threshold = resolve_thresholds(thresholds)[travel.mode][kind]
        given = (thresholds or {}).get(travel.mode, {})
        source = (
            "set for this run (the study-area file or --threshold)" if kind in given else source
        )
    else:
        source = "given"
    demand = children[kind].copy()
    demand.index = demand.index.astype(str)
    choice = choose_sites(
        times[["from_id", "to_id", "minutes"]],
        demand.reindex(origins["id"].astype(str)).fillna(0.0),
        candidates=points["id"],
        existing=old["id"],
        add=add,
        objective=objective,
        threshold=threshold,
    )
    low, high = settings.AGE_BANDS.get(kind, (None, None))
    band = f" aged {low}-{high}" if low is not None else ""
    choice.notes[:0] = [
        f"{settings.KIND_LABELS.get(kind, kind)}: {len(old)} existing provider(s)"
        + ("" if include_independent else " (independent schools left out)")
        + f" and {len(points)} candidate site(s); demand is the children{band} per area.",
        f"Threshold {threshold:g} minutes by {travel.mode} ({source}).",
        description_of(times, travel),
    ]
    choice.locations = locations
    where = locations.set_index("id")
    chosen = where.loc[choice.sites["site_id"]]
    choice.sites["name"] = chosen["name"].to_numpy()
    choice.sites["easting"] = chosen.geometry.x.round(1).to_numpy()
    choice.sites["northing"] = chosen.geometry.y.round(1).to_numpy()
    return choice


def sites_map_layers(choice: SiteChoice, areas: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """What a map of a site choice draws: the chosen and existing sites, and the areas.

    Parameters
    ----------
    choice
        From :func:`sites_for_kind` (or :func:`choose_sites` with ``locations``
        set).
    areas
        Area polygons with ``id`` or ``area_id`` (the areas of ``choice.areas``).

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``chosen``: the chosen sites as points with ``site_id``, ``name``,
        ``rank``, ``gain``, ``gain_unit``, ``reached_only_here``,
        ``children_nearest``; ``existing``: existing providers (``id``,
        ``name``); ``areas``: polygons with ``area_id``, ``population``,
        ``minutes_before``, ``minutes_after``, ``covered_before``,
        ``covered_after``, ``newly_covered`` and ``nearest_after``. All in
        EPSG:27700 (convert to EPSG:4326 to draw).

    Raises
    ------
    InputError
        If the choice has no site locations, or ``areas`` has no id column.
    """
    if choice.locations is None:
        raise InputError(
            "this site choice has no site locations to map",
            fix="Use sites_for_kind, or set choice.locations (id, name, point geometry)",
        )
    polygons = _area_polygons(areas)
    where = choice.locations.set_index("id")
    located = where.loc[choice.sites["site_id"]]
    columns = ["site_id", "rank", "gain", "gain_unit", "reached_only_here", "children_nearest"]
    chosen = gpd.GeoDataFrame(
        choice.sites[columns].assign(name=located["name"].to_numpy()),
        geometry=located.geometry.to_numpy(),
        crs=choice.locations.crs,
    )
    old = choice.locations[choice.locations["existing"].astype(bool)]
    existing = gpd.GeoDataFrame(old[["id", "name", "geometry"]], crs=choice.locations.crs)
    table = choice.areas.assign(
        newly_covered=choice.areas["covered_after"] & ~choice.areas["covered_before"]
    )
    merged = polygons.merge(table, left_on="id", right_on="area_id", how="inner")
    layer = gpd.GeoDataFrame(merged.drop(columns="id"), geometry="geometry", crs=polygons.crs)
    return {"chosen": chosen, "existing": existing, "areas": layer}
