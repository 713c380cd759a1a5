"""Travel times from zone-to-site tables (r5r/R5, OpenTripPlanner, DfT Journey Time Statistics).

Routing engines such as R5 (through r5r or r5py) and OpenTripPlanner, and the
DfT's Journey Time Statistics, publish times from zones (LSOAs) to sites or
zones. :class:`TableTravelTimes` turns such a table into a geomap travel-time
source:

* the table is long form (``from``, ``to``, ``minutes``, under any of the usual
  column names) or wide form (one row per origin, one column per site);
* the sites are points with ids matching the table's ``to`` column;
* a destination (provider) takes the time to its nearest site, plus the walk
  from that site (straight line × detour at walking speed, as geomap's walking
  estimate), provided the site is within ``max_site_km``; destinations with no
  site that near have no time from this source;
* an origin with no row for a site has no journey within the table's limits:
  its time is NaN, and it is reported, never dropped.

The table, its sites and what they are come from the caller (a study area's
``[public_transport]`` section, or the ``--pt-table`` and ``--pt-sites``
options): :meth:`TableTravelTimes.from_files`. Every result carries its caption,
with how many origins the table covers and how many destinations are near a
site, in ``attrs["description"]``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from geomap import settings
from geomap.errors import InputError, InputWarning, TravelTimeError
from geomap.io import check_rows, find_column, raise_missing, read_table, row_number, source_of
from geomap.locations import check_unique_ids, points_from_table
from geomap.schema import parse_numbers
from geomap.travel.base import TravelTimes, check_points, describe_result
from geomap.travel.estimate import StraightLineEstimate, default_estimate

logger = logging.getLogger(__name__)

FROM_ALIASES = (
    "from_id",
    "from",
    "home_id",
    "origin",
    "origin_id",
    "oa",
    "lsoa",
    "lsoa_code",
    "zone_from",
)
TO_ALIASES = ("to_id", "to", "site_id", "destination", "destination_id", "site", "zone_to")
MINUTES_ALIASES = ("minutes", "travel_time_minutes", "travel_time", "time", "travel_time_p50")

#: Furthest a destination may be from a table site (km, straight line) to take its time.
MAX_SITE_KM = 1.5


#: Longest journey a times table may give (minutes): a week; anything longer is a mistake.
MAX_MINUTES = 7 * 24 * 60.0


def read_time_table(
    path: str | Path,
    *,
    from_column: str | None = None,
    to_column: str | None = None,
    minutes_column: str | None = None,
) -> pd.DataFrame:
    """Read a long- or wide-form travel-time table into ``from_id, to_id, minutes``.

    Long form needs an origin, a site and a minutes column (common names
    accepted, e.g. r5r's ``from_id``/``to_id``/``travel_time_p50``, or named
    with the ``*_column`` options). A table without those is read as wide form:
    the first column holds origin ids and every other column is a site. Blank
    cells are journeys the router did not find.

    Parameters
    ----------
    path
        The table (CSV, Excel ...).
    from_column, to_column, minutes_column
        Names of the origin, site and minutes columns, where the usual names
        do not fit.

    Returns
    -------
    pandas.DataFrame
        ``from_id``, ``to_id``, ``minutes``, one row per journey found;
        ``attrs["geomap_source"]`` is the path.

    Raises
    ------
    InputError
        Naming the file, row and column, for a missing column, a cell that is
        not a number of minutes, a negative time or a journey given twice.

    Warns
    -----
    InputWarning
        As :func:`geomap.io.read_table` does, for cells it reads past (line
        breaks, text decoded twice, ambiguous decimal commas).
    """
    table = read_table(path, what="travel-time table")
    from_c = find_column(table, FROM_ALIASES, explicit=from_column)
    to_c = find_column(table, TO_ALIASES, explicit=to_column)
    min_c = find_column(table, MINUTES_ALIASES, explicit=minutes_column)
    if (from_c is not None or to_c is not None) and min_c is None:
        raise_missing(
            table,
            "minutes",
            what="of minutes (e.g. 'minutes' or 'travel_time_p50')",
            fix="Name the minutes column, or give a wide table (origins down, sites across)",
        )
    rows = np.array([row_number(table, i) for i in range(len(table))], dtype=int)
    if to_c is not None and min_c is not None:
        if from_c is None:
            raise_missing(table, "from_id", what="of origin ids ('from_id')")
        assert from_c is not None
        long = pd.DataFrame(
            {
                "from_id": table[from_c].astype("string").str.strip(),
                "to_id": table[to_c].astype("string").str.strip(),
                "minutes": _minutes(table, min_c),
            }
        )
        for column, ids, name in ((from_c, "from_id", "origin"), (to_c, "to_id", "site")):
            cells = long[ids]
            blank = ((cells.isna() | (cells == "")) & long["minutes"].notna()).to_numpy()
            said = f"the {name} id is blank"
            check_rows(
                table,
                blank,
                lambda _pos, said=said: said,  # type: ignore[misc]
                column=column,
                fix=f"Give every journey its {name} id",
            )
        long["row"] = rows
        columns: dict[str, str | None] = {"from_id": from_c, "to_id": to_c}
    else:
        first = table.columns[0]
        sites = table.columns[1:]
        wide = pd.DataFrame(
            {"from_id": table[first], **{site: _minutes(table, site) for site in sites}},
            index=table.index,
        )
        wide["row"] = rows
        long = wide.melt(id_vars=["from_id", "row"], var_name="to_id", value_name="minutes")
        long["from_id"] = long["from_id"].astype("string").str.strip()
        long["to_id"] = long["to_id"].astype("string").str.strip()
        no_id = (long["from_id"].isna() | (long["from_id"] == "")) & long["minutes"].notna()
        if no_id.any():
            raise InputError(
                "the origin id is blank",
                path=path,
                row=int(long.loc[no_id, "row"].iloc[0]),
                column=str(first),
                fix="Give every row its origin id",
            )
        columns = {"from_id": str(first), "to_id": None}
    # a blank cell is a journey the router did not find: no row
    long = long.dropna(subset=["minutes"])
    long["minutes"] = long["minutes"].astype(float)
    dup = long.duplicated(["from_id", "to_id"])
    if dup.any():
        first = long[dup].iloc[0]
        raise InputError(
            f"the journey {first['from_id']} → {first['to_id']} appears more than once",
            path=path,
            fix="Give one time per origin and site",
        )
    long = long.reset_index(drop=True)
    kept = long.pop("row").to_numpy(dtype=int)
    long.attrs["geomap_source"] = str(path)
    # each journey's row in the file, and the columns its ids came from, for messages
    long.attrs["geomap_rows"] = kept.tolist()
    long.attrs["geomap_id_columns"] = columns
    return long


def check_known_ids(
    times: pd.DataFrame, column: str, known: Iterable[str], *, what: str, fix: str
) -> None:
    """Refuse the first journey whose ``column`` id is not one of ``known``, naming its row.

    Parameters
    ----------
    times
        From :func:`read_time_table` (its ``attrs`` give each journey's row).
    column
        ``from_id`` or ``to_id``.
    known
        The ids the other tables give.
    what
        The table the ids should be in, for the message (``the supply table``).
    fix
        How to put it right.

    Raises
    ------
    InputError
        Naming the times file, the row and the column of the first unknown id.
    """
    ids = times[column].astype(str)
    bad = ~ids.isin(set(map(str, known))).to_numpy()
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    columns = times.attrs.get("geomap_id_columns") or {}
    named = columns.get(column) or (ids.iloc[first] if column == "to_id" else column)
    raise InputError(
        f"'{ids.iloc[first]}' is not in {what}"
        + (f" ({int(bad.sum())} journeys have ids not in it)" if bad.sum() > 1 else ""),
        path=source_of(times),
        row=row_number(times, first),
        column=str(named),
        fix=fix,
    )


def _minutes(table: pd.DataFrame, column: str) -> pd.Series:
    """Minutes of one column, from 0 up; NaN where blank (no journey)."""
    return parse_numbers(
        table,
        column,
        minimum=0,
        maximum=MAX_MINUTES,
        label="number of minutes",
        fix="Give minutes as numbers from 0 up; leave the cell blank where there is no journey",
    )


def read_sites(path: str | Path, *, id_column: str | None = None) -> gpd.GeoDataFrame:
    """Read table sites (points with an id) into a GeoDataFrame with ``id`` in EPSG:27700.

    Parameters
    ----------
    path
        A point file or a table with coordinates or postcodes.
    id_column
        The column of site ids (the table's ``to`` ids), where it is not
        ``id``, ``code``, ``site_id`` or ``site``.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites, with a unique ``id``.

    Raises
    ------
    InputError
        Naming the file, if there are no ids, an id repeats or a position is wrong.

    Warns
    -----
    InputWarning
        As :func:`geomap.io.read_table` does, for cells it reads past (line
        breaks, text decoded twice, ambiguous decimal commas).
    """
    table = read_table(path, what="table sites")
    sites = points_from_table(table, what="table sites")
    id_c = find_column(sites, ("id", "code", "site_id", "site"), explicit=id_column)
    if id_c is None:
        raise_missing(sites, "id", what="of site ids ('id' or 'code')")
    sites["id"] = sites[id_c].astype("string").str.strip()
    check_unique_ids(sites, "id", what="table sites")
    return sites


@dataclass
class TableTravelTimes(TravelTimes):
    """Public-transport (or any) times read from a zone-to-site table.

    Parameters
    ----------
    times
        ``from_id``, ``to_id``, ``minutes`` (:func:`read_time_table`).
    sites
        Table sites with ``id`` (:func:`read_sites`).
    source
        What the table is, for captions (router, date, assumptions).
    mode
        The mode the table measures (``pt`` for public transport).
    max_site_km
        Furthest a destination may be from its nearest site to take its time.
    name
        Short name, in ``method`` (``table:<name>``).

    Raises
    ------
    TravelTimeError
        If the table has no journeys or none of its sites is in the sites file.
    """

    times: pd.DataFrame
    sites: gpd.GeoDataFrame
    source: str
    mode: str = "pt"
    keyed_by_area = True
    max_site_km: float = MAX_SITE_KM
    name: str = "table"
    _walk: TravelTimes = field(default_factory=lambda: default_estimate("walk"), repr=False)

    @classmethod
    def from_files(
        cls,
        times: str | Path,
        sites: str | Path,
        *,
        minutes_column: str | None = None,
        site_id: str | None = None,
        name: str | None = None,
        source: str,
        max_site_km: float = MAX_SITE_KM,
        mode: str = "pt",
    ) -> TableTravelTimes:
        """Read a travel-time table and its sites.

        Parameters
        ----------
        times
            The table (see :func:`read_time_table`).
        sites
            Its sites (see :func:`read_sites`).
        minutes_column
            The table's minutes column, where its name is not a usual one (e.g.
            ``siteward_bound_travel_time_minutes``: journeys towards the site,
            as journeys to school are).
        site_id
            The sites' id column.
        name
            Short name, in ``method``; the table file's name without suffix by default.
        source
            What the table is, for captions (router, date, assumptions).
        max_site_km
            Furthest a destination may be from its nearest site to take its time.
        mode
            The mode the table measures.

        Returns
        -------
        TableTravelTimes
            The source.

        Raises
        ------
        InputError
            Naming the file, row and column, if either file is wrong or they do
            not belong together.

        Warns
        -----
        InputWarning
            As :func:`geomap.io.read_table` does, for cells it reads past (line
            breaks, text decoded twice, ambiguous decimal commas).
        """
        if not max_site_km > 0:
            raise InputError(
                f"the furthest a provider may be from a table site must be a positive number "
                f"of km, not {max_site_km}",
                path=times,
            )
        return cls(
            times=read_time_table(times, minutes_column=minutes_column),
            sites=read_sites(sites, id_column=site_id),
            source=source,
            mode=mode,
            max_site_km=float(max_site_km),
            name=name or Path(times).stem,
        )

    def __post_init__(self) -> None:
        """Check that the table and its sites belong together."""
        where = self.times.attrs.get("geomap_source") or self.source
        if self.times.empty:
            raise TravelTimeError(
                "the travel-time table has no journeys (every time is blank)",
                path=where,
                fix="Give a table with minutes for at least some origin and site",
            )
        site_ids = set(self.sites["id"].astype(str))
        table_ids = set(self.times["to_id"].astype(str))
        if not site_ids & table_ids:
            raise TravelTimeError(
                f"none of the table's {len(table_ids)} site ids (e.g. '{min(table_ids)}') is the "
                f"id of a site in the sites file (e.g. '{min(site_ids)}')",
                path=where,
                column="to_id",
                fix="Give the sites file that belongs to this table (its ids are the table's "
                "'to' column), or name the id columns with --pt-sites",
            )

    @property
    def method(self) -> str:  # type: ignore[override]
        """``table:<name>``."""
        return f"table:{self.name}"

    def _check_origins(self, origins: gpd.GeoDataFrame) -> np.ndarray:
        """Refuse origins none of which the table knows; warn when most are unknown; which are known."""
        ids = origins["id"].astype(str)
        known = ids.isin(set(self.times["from_id"].astype(str)))
        where = self.times.attrs.get("geomap_source") or self.source
        if len(ids) and not known.any():
            raise TravelTimeError(
                f"none of the {len(ids)} origins (e.g. '{ids.iloc[0]}') is an origin of the "
                f"travel-time table (e.g. '{self.times['from_id'].iloc[0]}')",
                path=where,
                column="from_id",
                fix="The table must be from the same areas as the analysis (the same area "
                "codes); check the table's 'from' column",
            )
        if known.mean() < 0.5:
            missing = ids[~known]
            warnings.warn(
                f"{where}: {len(missing)} of {len(ids)} origins have no row in the travel-time "
                f"table (e.g. {', '.join(missing.head(3))}) and count as having no public-transport "
                "journey; check that the table covers these areas",
                InputWarning,
                stacklevel=3,
            )
        known_rows: np.ndarray = known.to_numpy(dtype=bool)
        return known_rows

    def describe(self) -> str:
        """Caption text: the table's source and how destinations use it.

        Returns
        -------
        str
            The general description; each result's own (how many origins the
            table covers, how many destinations are near a site) is in its
            ``attrs["description"]``.
        """
        walk = self._walk
        return (
            f"Public-transport times from a routed table ({self.source}). A provider takes the time "
            f"to its nearest table site within {self.max_site_km:g} km plus the walk from it "
            f"({getattr(walk, 'basis', 'walking estimate')}); areas with no row have no "
            "public-transport journey within the table's limits."
        )

    def extent_lonlat(self) -> tuple[float, float, float, float]:
        """Bounds of the sites, widened by ``max_site_km``: where a destination can have a time.

        Returns
        -------
        tuple of float
            ``(west, south, east, north)`` in lon/lat.
        """
        west, south, east, north = self.sites.total_bounds
        pad = self.max_site_km * 1000.0
        corners_x = np.array([west - pad, west - pad, east + pad, east + pad])
        corners_y = np.array([south - pad, north + pad, south - pad, north + pad])
        lon, lat = pyproj.Transformer.from_crs(
            settings.MEASURE_CRS, settings.LONLAT_CRS, always_xy=True
        ).transform(corners_x, corners_y)
        return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))

    def site_links(self, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """For each destination: nearest site, distance (km) and walk (minutes); missing beyond ``max_site_km``.

        Parameters
        ----------
        destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            ``to_id``, ``site_id``, ``site_km``, ``walk_minutes``.

        Raises
        ------
        InputError
            If the destinations have no unique ``id`` or are not in EPSG:27700.

        Warns
        -----
        InputWarning
            When no destination is within ``max_site_km`` of a site of the table.
        """
        check_points(destinations, what="destinations")
        tree = cKDTree(np.column_stack([self.sites.geometry.x, self.sites.geometry.y]))
        dist, idx = tree.query(np.column_stack([destinations.geometry.x, destinations.geometry.y]))
        km = dist / 1000.0
        near = km <= self.max_site_km
        if len(near) and not near.any():
            warnings.warn(
                f"{self.times.attrs.get('geomap_source') or self.source}: none of the "
                f"{len(near)} destinations is within {self.max_site_km:g} km of a site of the "
                f"travel-time table (the nearest is {km.min():.1f} km away), so none has a "
                "public-transport time from it. Check the sites file, or --max-site-km",
                InputWarning,
                stacklevel=2,
            )
        walk = (
            self._walk.minutes_for_km(km)
            if isinstance(self._walk, StraightLineEstimate)
            else np.zeros_like(km)
        )
        return pd.DataFrame(
            {
                "to_id": destinations["id"].to_numpy(),
                "site_id": np.where(near, self.sites["id"].to_numpy()[idx], None),
                "site_km": np.round(km, 3),
                "walk_minutes": np.where(near, walk, np.nan),
            }
        )

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> pd.DataFrame:
        """Table time to each destination's site plus the walk; NaN where the table has no journey.

        Parameters
        ----------
        origins, destinations
            Points with unique ``id`` in EPSG:27700.

        Returns
        -------
        pandas.DataFrame
            Long form; ``attrs["description"]`` is the caption with how many of
            these origins the table has and how many destinations are near a site.

        Raises
        ------
        TravelTimeError
            If the table knows none of the origins.
        InputError
            If the points have no unique ``id`` or are not in EPSG:27700.

        Warns
        -----
        InputWarning
            When fewer than half the origins have rows in the table, or no
            destination is near a site of the table.
        """
        check_points(origins, what="origins")
        known = self._check_origins(origins)
        links = self.site_links(destinations)
        pairs = pd.DataFrame(
            {
                "from_id": np.repeat(origins["id"].astype(str).to_numpy(), len(links)),
                "to_id": np.tile(links["to_id"].to_numpy(), len(origins)),
                "site_id": np.tile(links["site_id"].to_numpy(), len(origins)),
                "walk_minutes": np.tile(links["walk_minutes"].to_numpy(), len(origins)),
            }
        )
        lookup = self.times.set_index(["from_id", "to_id"])["minutes"]
        keys = pd.MultiIndex.from_arrays([pairs["from_id"], pairs["site_id"].astype("string")])
        table_minutes = lookup.reindex(keys).to_numpy(dtype=float)
        result = pd.DataFrame(
            {
                "from_id": pairs["from_id"].to_numpy(),
                "to_id": pairs["to_id"].to_numpy(),
                "minutes": np.round(table_minutes + pairs["walk_minutes"].to_numpy(dtype=float), 2),
                "method": self.method,
            }
        )
        near = int(links["site_id"].notna().sum())
        reached = (
            np.isfinite(result["minutes"].to_numpy(dtype=float))
            .reshape(len(origins), len(links))
            .any(axis=1)
            if len(links)
            else np.zeros(len(origins), dtype=bool)
        )
        counts = (
            f" Here {int(known.sum()):,} of {len(origins):,} origins have rows in the table; "
            f"{near:,} of {len(links):,} destinations are within {self.max_site_km:g} km of a "
            f"site; {int((~reached).sum()):,} origins have no journey to any of them."
        )
        return describe_result(result, self.describe() + counts)
