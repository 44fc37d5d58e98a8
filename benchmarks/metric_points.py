"""The metric-point write path: ``add_metric_points`` per second on a store that already holds
``--points`` points, and (``--migrate``) how long migration 0004 takes on such a store with
``--duplicates`` of its points recorded twice.

The insert is ``INSERT ... ON CONFLICT DO NOTHING`` on the unique key of migration 0004; run
the same command with an older ``src`` on the path to compare with the plain insert before it
(``--migrate`` needs 0004).

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.metric_points [--points 200000] [--store URL]
        [--batches 300] [--migrate] [--duplicates 0.01]

``--store`` is a store URL (default: a SQLite file in a temporary folder); a PostgreSQL one
must name an empty database.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks._env import load_average
from sagetune.store import MetricPoint, SQLStore
from sagetune.store.sql import metric_points

PER_JOB = 100  # points per training job and per batch, as a tuner records an epoch's worth


def point_row(i: int) -> dict[str, Any]:
    """The ``i``-th point of the filled store: job ``i // 100``, step ``i % 100 + 1``."""
    job, step = divmod(i, PER_JOB)
    return {
        "training_job_name": f"f-{job:06d}",
        "metric_name": "loss",
        "value": 1.0 / (step + 1),
        "step": step + 1,
        "timestamp": 1e9,
    }


def fill(store: SQLStore, points: int) -> float:
    """Write ``points`` points in batches of 20,000; returns the seconds it took."""
    started = time.perf_counter()
    for first in range(0, points, 20_000):
        last = min(points, first + 20_000)
        store.add_metric_points([MetricPoint(**point_row(i)) for i in range(first, last)])
    return time.perf_counter() - started


def insert_rate(store: SQLStore, batches: int) -> float:
    """``add_metric_points`` calls (100 new points each) per second."""
    started = time.perf_counter()
    for b in range(batches):
        store.add_metric_points(
            [MetricPoint(f"new-{b:06d}", "loss", 1.0 / e, e, 2e9 + e) for e in range(1, 101)]
        )
    return batches / (time.perf_counter() - started)


def migration_seconds(url: str, points: int, duplicates: float) -> dict[str, float]:
    """Migration 0004 on a store at 0003 holding ``points`` points, a share of them twice."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from sagetune.store.migrations import script_directory

    store = SQLStore(url)
    scripts = script_directory()
    with store.engine.begin() as conn:  # back to 0003: no unique key, duplicates allowed
        context = MigrationContext.configure(conn)
        with Operations.context(context):
            scripts.get_revision("0004").module.downgrade()
        context.stamp(scripts, "0003")
    # Written as 0003's code wrote them (a plain insert), the duplicates spread evenly.
    twice = int(points * duplicates)
    every = max(1, points // max(1, twice))
    rows = [point_row(i) for i in range(points)] + [point_row(i * every) for i in range(twice)]
    with store.engine.begin() as conn:
        conn.execute(insert(metric_points), rows)
    store.close()
    started = time.perf_counter()
    SQLStore(url).close()  # opening it migrates
    return {"seconds": time.perf_counter() - started, "duplicates_removed": float(twice)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--store", help="a store URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--migrate", action="store_true")
    parser.add_argument("--duplicates", type=float, default=0.01)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or f"sqlite:///{Path(tmp) / 'points.db'}"
        result: dict[str, object] = {"points": args.points, "load_before": load_average()}
        if args.migrate:
            result["migration_0004"] = migration_seconds(url, args.points, args.duplicates)
        else:
            store = SQLStore(url)
            result["fill_seconds"] = fill(store, args.points)
            result["add_metric_points_per_second"] = insert_rate(store, args.batches)
            store.close()
        result["load_after"] = load_average()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
