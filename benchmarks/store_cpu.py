"""CPU time of the answers of a big tuning job, to compare two versions of the code on one
machine while its load varies (wall time follows the load; CPU time much less).

Runs each answer once to warm the process up (imports, as the first request pays), then
``--repeats`` times, and prints the median CPU time of the process (``time.process_time``,
every thread: the dashboard's app answers in a worker thread) and the median wall time, in
ms: DescribeHyperParameterTuningJob, ``TuningJobAnalytics.dataframe()``, and the dashboard's
summary and three plots, each the first request of a new app ("cold").

The store must hold the tuning job ``scale`` of ``benchmarks.store_scale`` (``--fill`` makes
it: 10,000 training jobs and 1,000,000 points). To compare versions, fill once, then run this
module with each version's sources first on the path::

    PYTHONPATH=src python -m benchmarks.store_cpu sqlite:////tmp/scale.db --fill
    PYTHONPATH=/tmp/old/src:. python -m benchmarks.store_cpu sqlite:////tmp/scale.db
    PYTHONPATH=src python -m benchmarks.store_cpu sqlite:////tmp/scale.db
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.store_scale import NAME, fill_store


def cases(store: Any) -> dict[str, Callable[[], Any]]:
    from fastapi.testclient import TestClient

    from sagetune import api
    from sagetune.analytics import TuningJobAnalytics
    from sagetune.dashboard import create_app

    backend = api.Backend(store=store, base_dir=Path.cwd())

    def cold(path: str) -> Callable[[], None]:
        def run() -> None:
            assert TestClient(create_app(store)).get(path).status_code == 200

        return run

    return {
        "DescribeHyperParameterTuningJob": lambda: api.call(
            backend, "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": NAME}
        ),
        "TuningJobAnalytics.dataframe": lambda: TuningJobAnalytics(NAME, store=store).dataframe(),
        "dashboard: summary, cold": cold(f"/api/tuning-jobs/{NAME}"),
        "dashboard: plot curves, cold": cold(f"/api/tuning-jobs/{NAME}/plots/curves"),
        "dashboard: plot scatter, cold": cold(f"/api/tuning-jobs/{NAME}/plots/scatter"),
        "dashboard: plot importance, cold": cold(f"/api/tuning-jobs/{NAME}/plots/importance"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a store URL holding (or, with --fill, to hold) 'scale'")
    parser.add_argument("--fill", action="store_true", help="make the tuning job first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)

    from sagetune.store import open_store

    store = open_store(args.store)
    if args.fill:
        print(f"filled in {fill_store(store, 10_000, 1_000_000):.1f} s", flush=True)
    calls = cases(store)
    for call in calls.values():
        call()
    out: dict[str, dict[str, float]] = {}
    for label, call in calls.items():
        cpu, wall = [], []
        for _ in range(args.repeats):
            c, w = time.process_time(), time.perf_counter()
            call()
            cpu.append((time.process_time() - c) * 1000)
            wall.append((time.perf_counter() - w) * 1000)
        out[label] = {"cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall)}
        print(f"{label}: CPU {out[label]['cpu_ms']:,.0f} ms, wall {out[label]['wall_ms']:,.0f} ms")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))
    store.close()


if __name__ == "__main__":
    main()
