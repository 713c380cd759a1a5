"""The numbers a councillor would quote, in plain words.

:func:`headlines` reads a finished run (:class:`geomap.pipeline.Result`) and
gives one row per headline: how many providers of each kind the county has,
how many children live beyond a reasonable journey of the nearest, how many
areas have such a gap, how many young people face a public-transport barrier
to post-16 provision, how many pupils would be entitled to free home-to-school
transport and what it would cost, and places against children. Each row says
in one sentence what the number is, with figures written as they would be
said ("2,894 of 8,929 children (32%)", "about £6.5 million a year"), and what
it was computed from. A number that was not computed is missing (NaN), and its
sentence says that it is not known and why: it is never shown as zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from geomap import settings
from geomap.gaps import eligible_providers

if TYPE_CHECKING:
    from geomap.pipeline import Result

__all__ = ["COLUMNS", "about", "headlines", "money", "percent"]

#: The columns of :func:`headlines`, in order.
COLUMNS = (
    "topic",
    "kind",
    "mode",
    "label",
    "value",
    "figure",
    "unit",
    "total",
    "share",
    "sentence",
    "note",
    "computed_from",
)

#: What providers of each kind are called in a sentence.
_NOUNS = {
    "early_years": "providers of early-years education",
    "primary": "primary schools",
    "secondary": "secondary schools",
    "sixth_form": "school sixth forms",
    "college": "colleges",
    "post16": "sixth forms and colleges",
    "special": "special schools",
}

#: The nearest provider of each kind, in a sentence.
_NEAREST = {
    "early_years": "early-years provider",
    "primary": "primary school",
    "secondary": "secondary school",
    "sixth_form": "school sixth form",
    "college": "college",
    "post16": "sixth form or college",
    "special": "special school",
}

#: Kinds of education, short, in a list.
_SHORT = {
    "early_years": "early-years",
    "primary": "primary",
    "secondary": "secondary",
    "sixth_form": "sixth-form",
    "college": "college",
    "post16": "post-16",
    "special": "special",
}

#: How a journey by each mode is said after "more than N minutes".
_BY = {
    "walk": "' walk",
    "car": " by car",
    "bike": " by bike",
    "pt": " by public transport",
}


def about(number: float) -> str:
    """An estimated count as it would be said: two significant figures, "about".

    Parameters
    ----------
    number
        The estimate (may be fractional).

    Returns
    -------
    str
        ``"about 4,300"`` for 4,287.96; counts under 100 are rounded to whole
        numbers ("about 37"); ``"not known"`` for NaN.
    """
    if _missing(number):
        return "not known"
    value = float(number)
    if abs(value) < 100:
        return f"about {round(value):,}"
    digits = math.floor(math.log10(abs(value))) + 1
    return f"about {round(value, 2 - digits):,.0f}"


def money(pounds: float) -> str:
    """An estimated sum of money as it would be said.

    Parameters
    ----------
    pounds
        The sum, in pounds.

    Returns
    -------
    str
        ``"£6.5 million"`` for 6,543,427; ``"£640,000"`` for 643,100 (two
        significant figures); ``"£950"`` under a thousand; ``"not known"``
        for NaN.
    """
    if _missing(pounds):
        return "not known"
    value = float(pounds)
    if abs(value) >= 1e6:
        return f"£{value / 1e6:.2g} million" if abs(value) < 1e7 else f"£{value / 1e6:,.0f} million"
    if abs(value) >= 1000:
        digits = math.floor(math.log10(abs(value))) + 1
        return f"£{round(value, 2 - digits):,.0f}"
    return f"£{value:,.0f}"


def percent(share: float) -> str:
    """A share as a rounded percentage, never rounding a few to none or most to all.

    Parameters
    ----------
    share
        A fraction between 0 and 1.

    Returns
    -------
    str
        ``"32%"``; ``"less than 1%"`` above 0 and below 0.5%; ``"more than
        99%"`` at 99.5% or more but below 100%; ``"not known"`` for NaN.
    """
    if _missing(share):
        return "not known"
    value = float(share)
    if 0 < value < 0.005:
        return "less than 1%"
    if 0.995 <= value < 1:
        return "more than 99%"
    return f"{round(value * 100)}%"


def headlines(result: Result) -> pd.DataFrame:
    """The numbers a councillor would quote from a run, each in one plain sentence.

    Special schools are counted among the providers, but children beyond a
    reasonable journey of one are not a headline: special schools serve the
    few children whose plan names one, not every child of the ages, so that
    count would overstate any gap.

    Parameters
    ----------
    result
        From :func:`geomap.pipeline.run`.

    Returns
    -------
    pandas.DataFrame
        One row per headline, in the order they read best, with columns
        ``topic`` (``providers``, ``beyond``, ``gap_areas``,
        ``post16_barrier``, ``eligibility``, ``eligibility_cost``,
        ``places``), ``kind`` and ``mode`` (empty where not about one),
        ``label`` (a short heading), ``value`` (the number; NaN where it is
        not known), ``figure`` (the number as it would be said, with its share:
        ``"2,894 (32%)"``, ``"about 4,300"``, ``"not known"``), ``unit`` (what it counts), ``total`` (what it is out of;
        NaN where it is not a share), ``share`` (``value / total``),
        ``sentence`` (plain English, saying why where the value is not known),
        ``note`` (a caution the sentence carries, to show beside the figure;
        often empty) and ``computed_from`` (the table, columns and rule it comes from).
    """
    rows: list[dict[str, Any]] = []
    cover = result.analysis.coverage
    kinds = list(dict.fromkeys(str(k) for k in cover["kind"]))
    modes = list(dict.fromkeys(str(m) for m in cover["mode"]))
    rows += _provider_rows(result, kinds)
    rows += _beyond_rows(result, kinds, modes)
    rows += _gap_area_rows(result, kinds, modes)
    rows.append(_post16_row(result))
    rows += _eligibility_rows(result)
    rows += _places_rows(result, kinds)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("value", "total", "share"):
        table[column] = pd.to_numeric(table[column]).astype(float)
    return table


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def _row(
    topic: str, label: str, sentence: str, computed_from: str, **values: Any
) -> dict[str, Any]:
    value = values.get("value", math.nan)
    total = values.get("total", math.nan)
    share = value / total if not _missing(value) and not _missing(total) and total > 0 else math.nan
    if _missing(value):
        figure = "not known"
    elif values.get("unit") == "£ a year":
        figure = f"about {money(value)} a year"
    elif values.get("estimate", False):
        figure = about(value)
    elif not _missing(share):
        figure = f"{value:,.0f} ({percent(share)})"
    else:
        figure = f"{value:,.0f}"
    return {
        "topic": topic,
        "kind": values.get("kind", ""),
        "mode": values.get("mode", ""),
        "label": label,
        "value": value,
        "figure": figure,
        "unit": values.get("unit", ""),
        "total": total,
        "share": share,
        "sentence": sentence,
        "note": values.get("note", ""),
        "computed_from": computed_from,
    }


def _label(kind: str) -> str:
    return settings.KIND_LABELS.get(kind, kind)


def _ages(kind: str) -> str:
    low, high = settings.AGE_BANDS[kind]
    return f"aged {low}–{high}"


def _children(kind: str) -> str:
    # "young people" past compulsory school age, as post-16 planners say
    return "young people" if settings.AGE_BANDS[kind][0] >= 16 else "children"


def _count(n: float) -> str:
    return f"{n:,.0f}"


def _provider_rows(result: Result, kinds: Iterable[str]) -> list[dict[str, Any]]:
    providers = result.providers
    name = result.inputs.name
    independent = result.include_independent
    rows = []
    for kind in kinds:
        offering = eligible_providers(providers, kind, include_independent=independent)
        n = int(offering["in_county"].fillna(False).astype(bool).sum())
        noun = _NOUNS.get(kind, f"{_label(kind).lower()} providers")
        sentence = f"{name} has {_count(n)} {noun}"
        if not independent:
            sentence += ", not counting independent (fee-paying) schools"
        note = ""
        if kind == "early_years" and not (providers["kind"] == "early_years").any():
            note = (
                "The early-years providers are schools with nursery places only: no early-years "
                "register was loaded, so private and voluntary nurseries and childminders are "
                "not counted."
            )
        rows.append(
            _row(
                "providers",
                f"{_label(kind)}: providers",
                f"{sentence}. {note}".strip(),
                "providers.csv: providers in the study area (in_county) offering this kind"
                + ("" if independent else ", independent schools left out"),
                kind=kind,
                value=float(n),
                unit="providers",
                note=note,
            )
        )
    return rows


def _journey(minutes: float, mode: str) -> str:
    return f"{minutes:g} minutes{_BY.get(mode, f' by {mode}')}"


def _beyond_rows(
    result: Result, kinds: Iterable[str], modes: Iterable[str]
) -> list[dict[str, Any]]:
    cover = result.analysis.coverage
    n_areas = len(result.areas)
    rows = []
    for kind in kinds:
        if kind == "special":
            continue
        for mode in modes:
            part = cover[(cover["kind"] == kind) & (cover["mode"] == mode)]
            if part.empty:
                continue
            threshold = float(result.analysis.thresholds[mode][kind])
            journey = _journey(threshold, mode)
            label = f"{_label(kind)}: beyond {journey}"
            source = (
                f"access.csv: sum of children_beyond over the areas where beyond is true, "
                f"kind {kind}, mode {mode}, threshold {threshold:g} min (thresholds.csv)"
            )
            known = part[part["children"].notna()]
            unknown = len(part) - len(known)
            if known.empty:
                rows.append(
                    _row(
                        "beyond",
                        label,
                        f"How many children {_ages(kind)} live more than {journey} from the "
                        f"nearest {_NEAREST.get(kind, kind)} is not known: no area has a count "
                        "of children of these ages.",
                        source,
                        kind=kind,
                        mode=mode,
                        unit="children",
                    )
                )
                continue
            total = float(known["children"].sum())
            value = float(known["children_beyond"].sum())
            areas = int(known["beyond"].fillna(False).astype(bool).sum())
            none = float(
                known.loc[known["unreachable"].fillna(False).astype(bool), "children"].sum()
            )
            nearest = f"{journey} from the nearest {_NEAREST.get(kind, kind)}"
            if value > 0:
                sentence = (
                    f"{_count(value)} of {_count(total)} {_children(kind)} {_ages(kind)} "
                    f"({percent(value / total)}) live more than {nearest}"
                )
            else:
                sentence = (
                    f"None of the {_count(total)} {_children(kind)} {_ages(kind)} lives more "
                    f"than {nearest}"
                )
            if value > 0:
                sentence += f", in {areas:,} of {n_areas:,} areas"
            if none > 0:
                sentence += f"; {_count(none)} of them have no journey at all"
            sentence += "."
            if unknown:
                sentence += (
                    f" Children of these ages are not known in {unknown:,} "
                    f"area{'s' if unknown != 1 else ''}, which {'are' if unknown != 1 else 'is'}"
                    " left out of both figures."
                )
            rows.append(
                _row(
                    "beyond",
                    label,
                    sentence,
                    source,
                    kind=kind,
                    mode=mode,
                    value=value,
                    total=total,
                    unit="children",
                )
            )
    return rows


def _listed(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _gap_area_rows(
    result: Result, kinds: Iterable[str], modes: Iterable[str]
) -> list[dict[str, Any]]:
    cover = result.analysis.coverage
    counted = [k for k in kinds if k != "special"]
    if not counted:
        return []
    n_areas = len(result.areas)
    what = _listed([_SHORT.get(k, k) for k in counted]).replace(" or ", " and ")
    rows = []
    for mode in modes:
        part = cover[(cover["mode"] == mode) & cover["kind"].isin(counted)]
        if part.empty:
            continue
        gaps = part.loc[part["beyond"].fillna(False).astype(bool), "area_id"].nunique()
        by = {"walk": "on foot", "car": "by car", "bike": "by bike", "pt": "by public transport"}
        how = by.get(mode, f"by {mode}")
        if gaps:
            sentence = (
                f"{gaps:,} of {n_areas:,} areas ({percent(gaps / n_areas)}) have a gap {how}: "
                "the children who live there are beyond a reasonable journey of the nearest "
                f"provider of at least one of {what} education."
            )
        else:
            sentence = (
                f"None of the {n_areas:,} areas has a gap {how}: from every one, the nearest "
                f"provider of each of {what} education is within a reasonable journey."
            )
        rows.append(
            _row(
                "gap_areas",
                f"Areas with a gap {how}",
                sentence,
                f"gaps_ranked.csv: areas ranked for mode {mode} and any of "
                f"{', '.join(counted)} (beyond the threshold in access.csv)",
                mode=mode,
                value=float(gaps),
                total=float(n_areas),
                unit="areas",
            )
        )
    return rows


def _post16_row(result: Result) -> dict[str, Any]:
    label = "Post-16: public-transport barrier"
    analysis = result.post16
    if analysis is None:
        return _row(
            "post16_barrier",
            label,
            "How many young people aged 16–18 face a public-transport barrier to a sixth form "
            f"or college is not known: {result.inputs.name} has no public-transport times "
            "(give a routed table or a GTFS timetable in the study-area file).",
            "not analysed",
            kind="post16",
            mode="pt",
            unit="young people",
        )
    areas = analysis.areas
    known = areas[areas["young_people"].notna()]
    total = float(known["young_people"].sum())
    barrier = known["barrier"].fillna(False).astype(bool)
    value = float(known.loc[barrier, "young_people"].sum())
    sentence = (
        f"{_count(value)} of {_count(total)} young people aged 16–18 "
        f"({percent(value / total) if total > 0 else 'none counted'}) face a public-transport "
        f"barrier to the nearest sixth form or college, in {int(barrier.sum()):,} of "
        f"{len(areas):,} areas. Counted as a {analysis.thresholds.describe()}."
    )
    if len(known) < len(areas):
        sentence += (
            f" Young people are not known in {len(areas) - len(known):,} areas, which are left out."
        )
    return _row(
        "post16_barrier",
        label,
        sentence,
        "post16_areas.csv: sum of young_people where barrier is true",
        kind="post16",
        mode="pt",
        value=value,
        total=total,
        unit="young people",
    )


def _eligibility_rows(result: Result) -> list[dict[str, Any]]:
    eligible = result.eligibility
    label = "Free home-to-school transport"
    if eligible is None:
        why = (
            "the study area has no postcode lookup"
            if result.inputs.study.postcodes is None
            else "eligibility was not assessed in this run"
        )
        return [
            _row(
                "eligibility",
                label,
                "How many pupils would be entitled to free home-to-school transport, and what "
                f"it would cost, is not known: {why}.",
                "not assessed",
                unit="pupils",
            )
        ]
    total = eligible.cost.iloc[-1]
    value = float(total["eligible"])
    check = float(total["check_by_route"])
    sentence = (
        f"{about(value).capitalize()} pupils of compulsory school age would be entitled to "
        "free transport to their nearest suitable school on distance alone"
    )
    if check > 0:
        sentence += f" ({about(check)} of them live close to a distance limit: check by route)"
    sentence += "."
    rows = [
        _row(
            "eligibility",
            label,
            sentence,
            "eligibility_cost.csv: eligible and check_by_route of the row 'all eligible'",
            value=value,
            unit="pupils",
            estimate=True,
        )
    ]
    cost = float(total["annual_cost"])
    per_pupil = float(total["cost_per_pupil"])
    if _missing(cost) or _missing(per_pupil):
        cost_sentence = (
            "What free home-to-school transport would cost is not known: there is no cost "
            "per pupil to multiply by."
        )
        cost = math.nan
    else:
        source = str(total.get("source", "") or "").strip()
        at = source if source else f"£{per_pupil:,.0f} a pupil"
        cost_sentence = f"That would cost {money(cost).replace('£', 'about £', 1)} a year, at {at}."
    rows.append(
        _row(
            "eligibility_cost",
            "Free home-to-school transport: cost",
            cost_sentence,
            "eligibility_cost.csv: annual_cost (eligible × cost_per_pupil) of the row "
            "'all eligible'",
            value=cost,
            unit="£ a year",
        )
    )
    return rows


def _places_rows(result: Result, kinds: Iterable[str]) -> list[dict[str, Any]]:
    planning = result.planning
    counted = [k for k in kinds if k != "special"]
    if planning is None:
        return [
            _row(
                "places",
                "Places against children",
                "Places against children are not known: capacity was not planned in this run.",
                "not planned",
                unit="places",
            )
        ]
    rows = []
    missing = []
    for kind in counted:
        suff = planning.sufficiency.get(kind)
        if suff is None:
            missing.append(kind)
            continue
        by_area = suff.by_area
        children = float(by_area["children"].sum())
        complete = bool(by_area["places_complete"].fillna(False).astype(bool).all())
        label = f"{_label(kind)}: places"
        source = (
            f"sufficiency_{kind}_areas.csv: sum of places ({suff.basis}) and children over the "
            "areas; providers outside every area are not counted"
        )
        if complete:
            places = float(by_area["places"].sum())
            spare = places - children
            sentence = (
                f"{_count(places)} places at {_NOUNS.get(kind, kind)} ({suff.basis}) for "
                f"{_count(children)} {_children(kind)} {_ages(kind)}: "
                + (
                    f"{_count(spare)} more places than children."
                    if spare > 0
                    else f"{_count(-spare)} fewer places than children."
                    if spare < 0
                    else "as many places as children."
                )
            )
            rows.append(
                _row(
                    "places",
                    label,
                    sentence,
                    source,
                    kind=kind,
                    value=places,
                    total=children,
                    unit="places",
                )
            )
        else:
            known = float(by_area["places_known"].sum())
            without = int(by_area["providers_without_places"].fillna(0).sum())
            sentence = (
                f"Places at {_NOUNS.get(kind, kind)} against the {_count(children)} "
                f"{_children(kind)} {_ages(kind)} are not known: {without:,} "
                f"{'provider gives' if without == 1 else 'providers give'} no figure"
                + (f" (the others give {_count(known)} places)." if known > 0 else ".")
            )
            rows.append(
                _row(
                    "places",
                    label,
                    sentence,
                    source,
                    kind=kind,
                    total=children,
                    unit="places",
                )
            )
    if missing:
        names = _listed([_label(k).lower() for k in missing]).replace(" or ", " and ")
        rows.append(
            _row(
                "places",
                "Places against children",
                f"Places against children are not known for {names}: no capacity figures were "
                "loaded for them (DfE Get Information about Schools gives school capacity; "
                "the Ofsted early-years register gives registered places).",
                "capacity of the providers (providers.csv): missing",
                unit="places",
            )
        )
    return rows
