"""A route sweep run serially and on a local Dask cluster: the time each takes, and the same answers.

Runs every variant of ``examples/post16_route_sweep.yml`` (24 variants of the
example routes) on the shipped Herefordshire data twice:

(a) serially: each variant in turn, in this process
    (:func:`geomap.sweep.run_sweep` without a client);
(b) on a :class:`distributed.LocalCluster` of ``--workers`` worker processes
    (2 by default, one thread each), the shared inputs scattered to each
    worker once: a first pass, timed with the cluster's start-up and each
    worker's first imports, and a second pass on the running cluster (as a
    council's existing cluster would run it), which gives ``dask_s``.

Loading the inputs is not timed (both runs share it). The rows of the two runs
are compared measure by measure; the last line printed is::

    scenarios=<n> serial_s=<s> dask_s=<s> speedup=<x> identical=<true|false>

Run: ``python benchmarks/sweep.py [--sweep FILE] [--workers N]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Time the sweep both ways and print the closing line."""
    from geomap.errors import GeomapWarning
    from geomap.pipeline import choose_public_transport, choose_travel, load_inputs
    from geomap.post16 import BarrierThresholds
    from geomap.study_area import default_study_area
    from geomap.sweep import (
        ROUTE_MEASURES,
        load_route_sweep,
        route_sweep_inputs,
        run_sweep,
        sweep_client,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, default=ROOT / "examples" / "post16_route_sweep.yml")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    warnings.simplefilter("ignore", GeomapWarning)
    inputs = load_inputs(default_study_area())
    pt = choose_public_transport(inputs.study)
    if pt is None:
        raise SystemExit("the shipped study area has no public-transport times")
    shared = route_sweep_inputs(
        inputs,
        car=choose_travel(inputs.study, ["car"])[0],
        pt=pt,
        thresholds=BarrierThresholds(),
    )
    plan = load_route_sweep(args.sweep)

    start = time.perf_counter()
    serial = run_sweep(plan, shared)
    serial_s = time.perf_counter() - start

    start = time.perf_counter()
    with sweep_client(workers=args.workers) as client:
        ready_s = time.perf_counter() - start
        spread = run_sweep(plan, shared, client=client)
        cold_s = time.perf_counter() - start
        # the same sweep again on the running cluster: a council's existing cluster has
        # its workers started and geomap imported, which the first pass paid for
        start = time.perf_counter()
        again = run_sweep(plan, shared, client=client)
        dask_s = time.perf_counter() - start

    def keyed(rows: list[dict[str, object]]) -> dict[object, tuple[object, ...]]:
        return {
            r["variant_id"]: (r["status"], r["error"], *(r.get(k) for k in ROUTE_MEASURES))
            for r in rows
        }

    identical = keyed(serial) == keyed(spread) == keyed(again) and len(serial) == len(plan.variants)
    failed = sum(r["status"] != "done" for r in serial)
    print(f"sweep: {args.sweep} ({len(plan.variants)} variants, {failed} failed)")
    print(
        f"cluster_start_s={ready_s:.1f} dask_first_pass_s={cold_s:.1f} (start-up and each "
        f"worker's first imports included; speedup {serial_s / cold_s:.2f})"
    )
    print(
        f"scenarios={len(plan.variants)} serial_s={serial_s:.1f} dask_s={dask_s:.1f} "
        f"speedup={serial_s / dask_s:.2f} identical={str(identical).lower()}"
    )


if __name__ == "__main__":
    main()
