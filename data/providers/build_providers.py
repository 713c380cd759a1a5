"""Build ``herefordshire_providers.csv`` from the raw registers in ``raw/``.

Run from the repository root: ``python data/providers/build_providers.py``.
The output is committed; geomap reads it like any user provider list, so the
shipped data and a planner's own list go through the same loader.

Classification (geomap's provider schema, see ``geomap.providers``):

* DfE records (``raw/establishments_herefordshire_and_border_spine2019.csv``)
  are classified from the register's own fields: ``type_group`` Special School
  → special; College, or any school whose statutory low age is 16 or more →
  college (post-16-only institution); a secondary school with post-16 provision
  → sixth_form; secondary → secondary; primary → primary; a school whose age
  range ends by 5 → early_years. Nursery-age provision (``has_nursery_age_provision``)
  sets ``offers_early_years``. A record with a 2022 closure date is ``closed``.
* Welsh border records and three 2022 Herefordshire additions have only a name
  and postcode; their kinds are geomap's reading of the name (``kind_basis``
  says "name") or, where the name does not say, the table below ("manual";
  check these against the Welsh Government's school list before relying on them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw"

DFE_SECTOR = {
    "Maintained School": "maintained",
    "Academy": "academy",
    "Independent School": "independent",
    "College": "college",
    "Special School": "unknown",
}

# urn: (kind, sector, low_age, high_age, note) for records without a type
MANUAL = {
    # Herefordshire, opened or missing from the 2019 spine (RTT 2022 list)
    130991: ("special", "maintained", 5, 16, "pupil referral service (alternative provision)"),
    133108: ("college", "independent", 16, 99, "specialist residential college for blind students"),
    148636: ("special", "independent", 16, 25, "independent specialist provision, opened 2021"),
    # Powys and Monmouthshire secondary schools, assumed 11-18
    401726: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    401731: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    401732: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    401733: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    401860: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    401861: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    401862: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    401863: ("sixth_form", "maintained", 11, 18, "Welsh secondary, assumed 11-18"),
    402433: ("sixth_form", "maintained", 11, 18, "Welsh secondary (Ysgol Calon Cymru), 11-18"),
    401500: ("primary", "maintained", 3, 11, "Roman Catholic primary, Abergavenny"),
    # independent schools
    401984: ("sixth_form", "independent", 7, 18, "independent school (Christ College, Brecon)"),
    402007: ("sixth_form", "independent", 7, 18, "independent school"),
    402008: ("sixth_form", "independent", 7, 18, "independent school"),
    402009: ("primary", "independent", 3, 7, "independent pre-prep and nursery"),
    402011: ("primary", "independent", 3, 11, "independent primary"),
    402101: ("secondary", "independent", 7, 18, "independent school campus"),
    # special schools and pupil referral units
    401904: ("special", "independent", 8, 19, "independent special school"),
    401906: ("special", "maintained", 3, 19, "special school"),
    401927: ("special", "maintained", 7, 16, "special school"),
    402045: ("special", "independent", 7, 19, "independent special school"),
    402104: ("special", "independent", 8, 18, "independent special provision"),
    402129: ("special", "independent", 8, 18, "independent special school"),
    402155: ("special", "maintained", 5, 16, "pupil referral service"),
    402321: ("special", "independent", 8, 18, "independent special provision"),
    402349: ("special", "maintained", 5, 16, "pupil referral unit"),
    402393: ("special", "independent", 8, 18, "independent special school"),
}

PRIMARY_NAME = re.compile(
    r"primary|c\.?\s?p\.?|c\.?i\.?w|v\.?\s?[apc]\.?|infant|junior|cofe|church in wales|ysgol",
    re.IGNORECASE,
)


def dfe_kind(row: pd.Series) -> str:
    """Main kind of a DfE register record."""
    if row.type_group == "Special School":
        return "special"
    if row.type_group == "College" or row.statutory_low_age >= 16:
        return "college"
    if row.is_secondary and row.is_post16:
        return "sixth_form"
    if row.is_secondary:
        return "secondary"
    if row.is_primary:
        return "primary"
    if row.statutory_high_age <= 5:
        return "early_years"
    raise ValueError(f"cannot classify {row.urn} {row['name']}")


def build_dfe() -> pd.DataFrame:
    raw = pd.read_csv(RAW / "establishments_herefordshire_and_border_spine2019.csv")
    kind = raw.apply(dfe_kind, axis=1)
    mainstream = kind != "special"
    out = pd.DataFrame(
        {
            "id": raw.urn.astype(str),
            "name": raw.name,
            "kind": kind,
            "sector": raw.type_group.map(DFE_SECTOR),
            "low_age": raw.statutory_low_age,
            "high_age": raw.statutory_high_age,
            "offers_early_years": mainstream & (raw.has_nursery_age_provision == 1),
            "offers_primary": mainstream & (raw.is_primary == 1) & (kind != "college"),
            "offers_secondary": mainstream & (raw.is_secondary == 1) & (kind != "college"),
            "offers_post16": mainstream & ((raw.is_post16 == 1) | (kind == "college")),
            "capacity": pd.NA,
            "rating": raw.ofsted_rating_spine2019,
            "gender": raw.gender,
            "religious_character": raw.religious_character,
            "post16_students_2016_17": pd.to_numeric(raw.ks5_tpup1618_2016_17, errors="coerce"),
            "la_name": raw.la_name,
            "postcode": raw.postcode,
            "easting": raw.easting,
            "northing": raw.northing,
            "status": raw.rtt_close_date_2022.isna().map({True: "open", False: "closed"}),
            "closed_date": pd.to_datetime(raw.rtt_close_date_2022, format="%d-%m-%Y").dt.strftime(
                "%Y-%m-%d"
            ),
            "kind_basis": "register",
            "source": "DfE performance-tables school information (c. Nov 2019), closures to Jul 2022",
        }
    )
    return out


def build_named(path: Path, la_name: str | None, source: str) -> pd.DataFrame:
    raw = pd.read_csv(path)
    rows = []
    for rec in raw.itertuples():
        if rec.urn in MANUAL:
            kind, sector, low, high, note = MANUAL[rec.urn]
            basis = f"manual: {note}"
        elif PRIMARY_NAME.search(rec.name) and not re.search(
            r"high|comprehensive|college", rec.name, re.IGNORECASE
        ):
            kind, sector, low, high, basis = "primary", "maintained", 4, 11, "name"
        else:
            raise ValueError(f"no classification for {rec.urn} {rec.name}")
        mainstream = kind != "special"
        rows.append(
            {
                "id": str(rec.urn),
                "name": rec.name,
                "kind": kind,
                "sector": sector,
                "low_age": low,
                "high_age": high,
                "offers_early_years": mainstream and low <= 3,
                "offers_primary": mainstream and kind != "college" and low <= 10,
                "offers_secondary": mainstream and kind in ("secondary", "sixth_form"),
                "offers_post16": mainstream and kind in ("sixth_form", "college"),
                "capacity": pd.NA,
                "rating": pd.NA,
                "gender": pd.NA,
                "religious_character": pd.NA,
                "post16_students_2016_17": pd.NA,
                "la_name": la_name or getattr(rec, "lad24nm_by_point", pd.NA),
                "postcode": rec.postcode,
                "easting": rec.easting,
                "northing": rec.northing,
                "status": "open",
                "closed_date": pd.NA,
                "kind_basis": basis,
                "source": source,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    dfe = build_dfe()
    extra = build_named(
        RAW / "rtt2022_open_in_herefordshire_not_in_2018_file.csv",
        "Herefordshire, County of",
        "DfE register (via register-trainee-teachers schools.csv, Jul 2022)",
    )
    welsh = build_named(
        RAW / "welsh_border_establishments_rtt2022.csv",
        None,
        "Welsh establishments (via register-trainee-teachers schools.csv, Jul 2022)",
    )
    out = pd.concat([dfe, extra, welsh], ignore_index=True)
    assert out.id.is_unique
    out.to_csv(HERE / "herefordshire_providers.csv", index=False)
    print(out.groupby(["status", "kind"]).size())


if __name__ == "__main__":
    main()
