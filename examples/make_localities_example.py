"""Make ``high_school_localities_example.csv``: an ILLUSTRATIVE partnership definition.

Herefordshire's high-school localities and early-years partnerships are not
published as open boundaries. This script groups each ward with the state-funded
high school nearest its population-weighted point (straight line), to show the
shape of file ``geomap report --partnerships`` takes (area code, partnership
name). It is not the council's definition: replace it with the real ward lists.

Run from the repository root: ``.venv/bin/python examples/make_localities_example.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

import geomap


def main() -> None:
    inputs = geomap.load_inputs(geomap.default_study_area())
    schools = geomap.eligible_providers(inputs.providers, "secondary")
    schools = schools[schools["in_county"]]
    tree = cKDTree(np.column_stack([schools.geometry.x, schools.geometry.y]))
    wards = inputs.groups["ward"]
    points = wards.geometry.representative_point()
    _dist, idx = tree.query(np.column_stack([points.x, points.y]))
    table = pd.DataFrame(
        {
            "code": wards["area_id"].to_numpy(),
            "ward": wards["area_name"].to_numpy(),
            "partnership": [f"{name} locality" for name in schools["name"].to_numpy()[idx]],
        }
    )
    out = Path(__file__).parent / "high_school_localities_example.csv"
    table.sort_values(["partnership", "ward"]).to_csv(out, index=False)
    print(f"{out}: {table['partnership'].nunique()} localities from {len(table)} wards")


if __name__ == "__main__":
    main()
