"""Optuna's RDB storage at the scale of ``benchmarks.store_scale``: the same 10,000 jobs and
1,000,000 points as one study, and the answers that match sagetune's, on SQLite and on a
PostgreSQL server started as the tests start theirs.

The study is written straight into Optuna's tables (its own SQLAlchemy models, in batches):
through ``study.add_trials`` 200 trials of 50 intermediate values took 48 s here, so 10,000
would take most of an hour. Trials are COMPLETE, FAIL (1 in 50) or PRUNED (1 in 7, as
sagetune's early-stopped jobs), with the hyperparameters ``x`` (float) and ``n`` (int) and
``points / trials`` intermediate values each (Optuna keeps one value a step: sagetune's two
metrics of 50 epochs are 100 steps here).

Timed, each ``--repeats`` times (median, wall clock), "cold" with a new storage object (Optuna
caches finished trials in the process), as a new dashboard or notebook starts:

- ``study.best_trial`` (DescribeHyperParameterTuningJob's best job);
- ``study.get_trials(deepcopy=False)``, every trial with its intermediate values (Optuna has
  no paged list: the nearest equivalent of a page of ListTrainingJobsFor...);
- ``study.trials_dataframe()`` (``TuningJobAnalytics.dataframe``);
- ``storage.get_trial`` of one trial (DescribeTrainingJob).

Usage (from the repository root; Optuna and psycopg installed)::

    PYTHONPATH=src python -m benchmarks.optuna_scale [--trials 10000] [--points 1000000]
        [--repeats 3] [--postgres] [--out benchmarks/results/optuna_scale.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._env import environment, load_average
from benchmarks.store_ops import postgres_databases
from benchmarks.store_scale import timed

DEFAULT_OUT = Path("benchmarks/results/optuna_scale.json")
BATCH = 20_000


def fill(url: str, trials: int, points: int) -> float:
    """One study of ``trials`` trials and ``points`` intermediate values; seconds."""
    import optuna
    from optuna.distributions import (
        FloatDistribution,
        IntDistribution,
        distribution_to_json,
    )
    from optuna.storages._rdb import models

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    t0 = time.perf_counter()
    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(storage=storage, study_name="scale")
    study_id = study._study_id
    x_json = distribution_to_json(FloatDistribution(0.0, 1.0))
    n_json = distribution_to_json(IntDistribution(1, 9))
    steps = max(points // max(trials, 1), 1)
    start = dt.datetime(2026, 1, 1)
    rows: dict[str, list[dict[str, Any]]] = {"t": [], "p": [], "v": [], "i": []}
    engine = storage.engine

    def flush() -> None:
        with engine.begin() as conn:
            for key, model in (
                ("t", models.TrialModel),
                ("p", models.TrialParamModel),
                ("v", models.TrialValueModel),
                ("i", models.TrialIntermediateValueModel),
            ):
                if rows[key]:
                    conn.execute(model.__table__.insert(), rows[key])
                    rows[key] = []

    for number in range(trials):
        trial_id, seq = number + 1, number + 1
        x, n = (seq * 0.618) % 1.0, 1 + seq % 9
        state = "FAIL" if seq % 50 == 0 else "PRUNED" if seq % 7 == 0 else "COMPLETE"
        begun = start + dt.timedelta(seconds=2 * seq)
        rows["t"].append(
            {
                "trial_id": trial_id,
                "number": number,
                "study_id": study_id,
                "state": state,
                "datetime_start": begun,
                "datetime_complete": begun + dt.timedelta(seconds=1.5),
            }
        )
        rows["p"] += [
            {
                "trial_id": trial_id,
                "param_name": "x",
                "param_value": x,
                "distribution_json": x_json,
            },
            {
                "trial_id": trial_id,
                "param_name": "n",
                "param_value": float(n),
                "distribution_json": n_json,
            },
        ]
        loss = (x - 0.3) ** 2 + n / 100
        if state != "FAIL":
            rows["v"].append(
                {"trial_id": trial_id, "objective": 0, "value": loss, "value_type": "FINITE"}
            )
        rows["i"] += [
            {
                "trial_id": trial_id,
                "step": e,
                "intermediate_value": loss + 1.0 / e,
                "intermediate_value_type": "FINITE",
            }
            for e in range(1, steps + 1)
        ]
        if len(rows["i"]) >= BATCH:
            flush()
    flush()
    return time.perf_counter() - t0


def answers(url: str, repeats: int, trials: int) -> dict[str, dict[str, float]]:
    import optuna

    def study() -> Any:
        return optuna.load_study(study_name="scale", storage=url)

    def one_trial() -> Any:
        storage = optuna.storages.RDBStorage(url)
        return storage.get_trial(storage.get_trial_id_from_study_id_trial_number(1, trials // 2))

    out = {
        "study.best_trial, cold": timed(lambda: study().best_trial, repeats),
        "study.get_trials(deepcopy=False), cold": timed(
            lambda: study().get_trials(deepcopy=False), repeats
        ),
        "study.trials_dataframe(), cold": timed(lambda: study().trials_dataframe(), repeats),
        "storage.get_trial, cold": timed(one_trial, repeats),
    }
    warm = study()
    warm.get_trials(deepcopy=False)
    out["study.get_trials(deepcopy=False), warm"] = timed(
        lambda: warm.get_trials(deepcopy=False), repeats
    )
    out["study.best_trial, warm"] = timed(lambda: warm.best_trial, repeats)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--postgres", action="store_true", help="a PostgreSQL server, not SQLite")
    ap.add_argument("--pg-url", help="a server whose role may create databases")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    started = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            with postgres_databases(args.pg_url) as new:
                url = new("optuna_scale")
                seconds = fill(url, args.trials, args.points)
                result = answers(url, args.repeats, args.trials)
        else:
            url = f"sqlite:///{Path(tmp) / 'optuna.db'}"
            seconds = fill(url, args.trials, args.points)
            result = answers(url, args.repeats, args.trials)
    print(f"filled in {seconds:.1f} s ({'PostgreSQL' if args.postgres else 'SQLite'})")
    print("| answer | median ms | worst ms |\n|---|---:|---:|")
    for name, r in result.items():
        print(f"| {name} | {r['median_ms']:,.1f} | {r['max_ms']:,.1f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "parameters": vars(args) | {"out": str(args.out)},
                "environment": environment(),
                "load_average_at_start": started,
                "load_average_at_end": load_average(),
                "fill_seconds": seconds,
                "answers": result,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
