"""Time the main job (``geomap report``) on the shipped data: wall time, peak memory, stages.

Run: ``.venv/bin/python benchmarks/report.py``. Targets on a 2-core machine: the
whole report (default modes, with the figures for papers) under 20 s and 1.5 GB
(issues 2 and 12); without the figures (``--no-figures``), the default modes
under 12 s and ``--mode car`` under 8 s (issue 11's headroom for a county road
network). Peak memory is the largest of the runs, both as the largest single
process and as all of the report's processes together (it writes with two).
It also times
the gap stage's nearest-provider search against the obvious baseline, a Python
double loop over areas and providers.
Speed is reported here, never asserted in tests.
"""

from __future__ import annotations

import contextlib
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 20.0  # the whole report, figures included (issues 2 and 12)
TARGET_PLAIN_SECONDS = 12.0  # --no-figures (issue 11)
TARGET_CAR_SECONDS = 8.0  # --mode car --no-figures (issue 11: headroom for a 150,000-node network)
TARGET_MB = 1500.0


def _tree_mb(pid: int) -> float:
    """Proportional set size (shared pages split between sharers) of ``pid`` and its children.

    Summing resident sizes would count the pages a forked writer shares with
    its parent twice; the proportional size counts each page once.
    """
    import psutil  # type: ignore[import-untyped]

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_full_info().pss
    return total / 2**20


def _time_report(*options: str) -> tuple[float, float, float]:
    """Wall seconds, output megabytes and the largest resident megabytes of the process tree.

    The report writes with two processes; their memory is summed, sampled
    every 0.1 s (so a peak shorter than that can be missed).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        run = subprocess.Popen(
            [sys.executable, "-m", "geomap", "report", "--quiet", *options, "--out", str(out)],
            stdout=subprocess.DEVNULL,
        )
        tree_mb = 0.0
        while run.poll() is None:
            tree_mb = max(tree_mb, _tree_mb(run.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - start
        if run.returncode:
            raise SystemExit(f"geomap report {' '.join(options)} failed ({run.returncode})")
        size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    return wall, size_mb, tree_mb


def main() -> None:
    car_wall, _, car_tree_mb = _time_report("--mode", "car", "--no-figures")
    plain_wall, _, plain_tree_mb = _time_report("--no-figures")
    wall, size_mb, tree_mb = _time_report()
    # the largest single process (the report's main one, or its writer) ...
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # ... and the whole tree at once, which is what the machine must hold
    tree_peak_mb = max(car_tree_mb, plain_tree_mb, tree_mb)

    import geomap
    from geomap.gaps import nearest_by_kind

    inputs = geomap.load_inputs(geomap.default_study_area())
    car = geomap.default_estimate("car")
    start = time.perf_counter()
    for _ in range(20):
        nearest_by_kind(inputs.origins, inputs.providers, car)
    engine = (time.perf_counter() - start) / 20

    start = time.perf_counter()
    providers = inputs.providers
    for kind in ("early_years", "primary", "secondary", "post16", "special"):
        column = {"special": None}.get(kind, f"offers_{kind}")
        eligible = [
            (p.id, p.geometry.x, p.geometry.y)
            for p in providers.itertuples()
            if p.sector != "independent"
            and (p.kind == "special" if column is None else getattr(p, column))
        ]
        for o in inputs.origins.itertuples():
            min((math.hypot(o.geometry.x - x, o.geometry.y - y), i) for i, x, y in eligible)
    loop = time.perf_counter() - start

    print(
        f"report_wall_s={wall:.1f} (target {TARGET_SECONDS:g}, ratio {wall / TARGET_SECONDS:.2f})"
    )
    print(
        f"report_no_figures_wall_s={plain_wall:.1f} (target {TARGET_PLAIN_SECONDS:g}); "
        f"figures_add_s={wall - plain_wall:.1f}"
    )
    print(f"report_car_wall_s={car_wall:.1f} (--no-figures; target {TARGET_CAR_SECONDS:g})")
    print(f"report_peak_mb={peak_mb:.0f} (target {TARGET_MB:g}, ratio {peak_mb / TARGET_MB:.2f})")
    print(
        f"report_tree_peak_mb={tree_peak_mb:.0f} (all processes together; "
        f"target {TARGET_MB:g}, ratio {tree_peak_mb / TARGET_MB:.2f})"
    )
    print(f"report_output_mb={size_mb:.1f}")
    print(
        f"nearest_all_kinds_s={engine:.4f} python_loop_s={loop:.4f} speedup_vs_loop={loop / engine:.1f}"
    )


if __name__ == "__main__":
    main()
