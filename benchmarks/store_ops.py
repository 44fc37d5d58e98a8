"""Store operations per second: sagetune's store against Optuna's RDB storage, side by side on
the same SQLite folder and the same PostgreSQL server.

One workload, run for ``--seconds`` on each of four stores (sagetune on SQLite, sagetune on
PostgreSQL, Optuna's ``RDBStorage`` on SQLite, on PostgreSQL), each in a fresh database: a
training job (trial) at a time is

- created (``Store.create_training_job``; Optuna ``study.ask()`` with one float suggested by
  ``RandomSampler``, as a sagetune job carries its hyperparameters);
- given ``--epochs`` intermediate values, one call each (``Store.add_metric_points`` of one
  point, as a script's metric line arrives; Optuna ``trial.report``);
- finished with its objective (``Store.update_training_job``; Optuna ``study.tell``);
- and every ``--read-every`` jobs the tuning job (study) is read back: its description
  (``service.describe``: counts, best job, cost sums; Optuna ``study.best_trial``) and all its
  jobs (``Store.list_training_jobs``; Optuna ``study.get_trials(deepcopy=False)``).

Each operation's rate is its calls over the time spent in them; "jobs per second" is the
whole loop's. The reads grow with the number of jobs made, so their rates depend on how far
each store got in the same time (the jobs made are in the table).

PostgreSQL is started as the tests start it (``tests/pg_server.py``: ``initdb`` in a
temporary folder, a server on 127.0.0.1, ``fsync`` and ``synchronous_commit`` off), unless
``--pg-url`` names a server whose role may create databases.

Usage (from the repository root; Optuna and psycopg installed)::

    PYTHONPATH=src python -m benchmarks.store_ops [--seconds 20] [--epochs 10]
        [--read-every 10] [--out benchmarks/results/store_ops.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._env import environment, load_average

DEFAULT_OUT = Path("benchmarks/results/store_ops.json")
NAME = "ops"
OPERATIONS = ("create", "report", "finish", "describe", "list all")


@contextmanager
def postgres_databases(url: str | None) -> Iterator[Callable[[str], str]]:
    """``new(prefix)`` making a fresh database on one PostgreSQL server: ``url``'s, else one
    started for the run as the tests start theirs."""
    if url is None:
        from tests.pg_server import PostgresServer

        with PostgresServer() as server:
            yield server.create_database
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    made = 0

    def new(prefix: str) -> str:
        nonlocal made
        made += 1
        name = f"{prefix}_{made}_{int(time.time())}"
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
        return url.rsplit("/", 1)[0] + "/" + name

    try:
        yield new
    finally:
        engine.dispose()


class Clock:
    """Seconds and calls per operation."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(OPERATIONS, 0.0)
        self.calls = dict.fromkeys(OPERATIONS, 0)

    @contextmanager
    def __call__(self, op: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.seconds[op] += time.perf_counter() - t
        self.calls[op] += 1

    def rates(self) -> dict[str, float]:
        return {op: self.calls[op] / s for op, s in self.seconds.items() if s > 0}


def tuning_request(jobs: int) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": NAME,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
            },
        },
        "TrainingJobDefinition": {
            "LocalCommand": "python train.py",
            "AlgorithmSpecification": {"MetricDefinitions": [{"Name": "loss", "Regex": "l=(.*)"}]},
        },
    }


def run_sagetune(url: str, seconds: float, epochs: int, read_every: int) -> dict[str, Any]:
    from sagetune import service
    from sagetune.naming import training_job_name
    from sagetune.store import MetricPoint, TrainingJobRecord, open_store

    store = open_store(url)
    clock = Clock()
    try:
        service.create_tuning_job(store, tuning_request(10**6), base_dir=Path.cwd())
        start = time.perf_counter()
        seq = 0
        while time.perf_counter() - start < seconds:
            seq += 1
            name = training_job_name(NAME, seq)
            x = (seq * 0.618) % 1.0
            now = time.time()
            record = TrainingJobRecord(
                name=name,
                tuning_job_name=NAME,
                seq=seq,
                status="InProgress",
                hyperparameters={"x": x},
                created_at=now,
                started_at=now,
            )
            with clock("create"):
                store.create_training_job(record)
            for e in range(1, epochs + 1):
                point = [MetricPoint(name, "loss", (x - 0.3) ** 2 + 1 / e, e, time.time())]
                with clock("report"):
                    store.add_metric_points(point)
            with clock("finish"):
                store.update_training_job(
                    name,
                    status="Completed",
                    ended_at=time.time(),
                    objective=(x - 0.3) ** 2,
                    epochs_completed=epochs,
                    billable_seconds=time.time() - now,
                )
            if seq % read_every == 0:
                with clock("describe"):
                    service.describe(store, NAME)
                with clock("list all"):
                    store.list_training_jobs(NAME)
        wall = time.perf_counter() - start
    finally:
        store.close()
    return {"jobs": seq, "jobs_per_second": seq / wall, "per_second": clock.rates()}


def run_optuna(url: str, seconds: float, epochs: int, read_every: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    study = optuna.create_study(
        study_name=NAME, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    clock = Clock()
    start = time.perf_counter()
    made = 0
    try:
        while time.perf_counter() - start < seconds:
            made += 1
            with clock("create"):
                trial = study.ask()
                x = trial.suggest_float("x", 0.0, 1.0)
            for e in range(1, epochs + 1):
                with clock("report"):
                    trial.report((x - 0.3) ** 2 + 1 / e, e)
            with clock("finish"):
                study.tell(trial, (x - 0.3) ** 2)
            if made % read_every == 0:
                with clock("describe"):
                    _ = study.best_trial
                with clock("list all"):
                    study.get_trials(deepcopy=False)
        wall = time.perf_counter() - start
    finally:
        storage.engine.dispose()
    return {"jobs": made, "jobs_per_second": made / wall, "per_second": clock.rates()}


def report(result: dict[str, Any]) -> str:
    p = result["parameters"]
    runs = result["runs"]
    lines = [
        f"{p['seconds']:.0f} s per store, {p['epochs']} intermediate values per job, reads "
        f"every {p['read_every']} jobs; calls per second.",
        "",
        "| operation | " + " | ".join(runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    for op in OPERATIONS:
        cells = [f"{r['per_second'].get(op, 0):,.0f}" for r in runs.values()]
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    lines.append(
        "| jobs per second | "
        + " | ".join(f"{r['jobs_per_second']:,.1f}" for r in runs.values())
        + " |"
    )
    lines.append("| jobs made | " + " | ".join(f"{r['jobs']:,}" for r in runs.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per store")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--read-every", type=int, default=10)
    parser.add_argument("--pg-url", help="a PostgreSQL server (default: one started here)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    result: dict[str, Any] = {
        "parameters": {
            "seconds": args.seconds,
            "epochs": args.epochs,
            "read_every": args.read_every,
        },
        "environment": environment(),
        "runs": {},
    }
    work = (args.seconds, args.epochs, args.read_every)
    with tempfile.TemporaryDirectory() as tmp, postgres_databases(args.pg_url) as new_database:
        result["runs"]["sagetune, SQLite"] = run_sagetune(
            f"sqlite:///{Path(tmp) / 'sagetune.db'}", *work
        )
        result["runs"]["sagetune, PostgreSQL"] = run_sagetune(new_database("sagetune"), *work)
        result["runs"]["Optuna RDBStorage, SQLite"] = run_optuna(
            f"sqlite:///{Path(tmp) / 'optuna.db'}", *work
        )
        result["runs"]["Optuna RDBStorage, PostgreSQL"] = run_optuna(new_database("optuna"), *work)
    result["load_average_at_end"] = load_average()
    print(report(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
