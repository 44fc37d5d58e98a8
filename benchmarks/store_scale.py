"""The store at scale: the answers and pages of one big tuning job, and store operations per
second.

Fills a fresh store with one finished tuning job of ``--jobs`` training jobs and ``--points``
metric points (two metrics, the objective ``loss`` and ``acc``, spread evenly over the jobs;
most jobs Completed, some Failed and Stopped), written through the store API in batches, then
times, each ``--repeats`` times (median and worst, in ms):

- DescribeHyperParameterTuningJob (``api.call``, so the answer is the served one);
- one page (MaxResults 100) of ListTrainingJobsForHyperParameterTuningJob sorted by
  FinalObjectiveMetricValue and by CreationTime: the first page, and a page half-way through
  by the NextToken form the service gives out;
- one page of ListTrainingJobs, and DescribeTrainingJob;
- ``TuningJobAnalytics.dataframe()``, ListTags of a training job's ARN, ``sagetune ls``;
- the dashboard through its app (FastAPI's test client): the tuning job's summary, one page of
  its training jobs, each plot, one training job. "cold" is the first request of a new app
  (it reads the store and builds the page's snapshot), "warm" a repeated one.

Then store operations per second on a second tuning job: ``create_training_job``,
``update_training_job``, ``add_metric_points`` (batches of 100 points), ``get_training_job``.

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.store_scale [--jobs 10000] [--points 1000000]
        [--store URL] [--postgres] [--repeats 5] [--out benchmarks/results/store_scale.json]

``--store`` takes any store URL (a SQLite file by default, in a temporary folder; also
``postgresql+psycopg://...``, which must name an empty database: the tuning jobs it makes are
deleted afterwards). ``--postgres`` runs on a fresh database of a PostgreSQL server started for
the run as the tests start theirs (or, with ``--store``, of that server).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._env import environment, load_average
from benchmarks.store_ops import postgres_databases

DEFAULT_OUT = Path("benchmarks/results/store_scale.json")
NAME = "scale"
OPS_NAME = "scale-ops"
BATCH = 20_000


def tuning_request(name: str, jobs: int) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": 4},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}],
                "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "9"}],
            },
        },
        "TrainingJobDefinition": {
            "LocalCommand": "python train.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [
                    {"Name": "loss", "Regex": "loss=(.*)"},
                    {"Name": "acc", "Regex": "acc=(.*)"},
                ]
            },
        },
    }


def fill_store(store: Any, jobs: int, points: int) -> float:
    """One Completed tuning job with ``jobs`` training jobs and ``points`` points; seconds."""
    from sagetune import service
    from sagetune.naming import training_job_name
    from sagetune.store import MetricPoint, TrainingJobRecord

    t_fill = time.perf_counter()
    service.create_tuning_job(store, tuning_request(NAME, jobs), base_dir=Path.cwd())
    # Early-stopped jobs end after 2 to ``half + 1`` epochs (49 at the defaults), before the
    # planned ones, as a stopping rule cuts them, so the cost answer estimates what stopping
    # saved; the other jobs run the planned epochs, as many as make ``points`` in all (two
    # metrics an epoch; 54 epochs at the defaults).
    half = max(points // max(jobs, 1) // 2 - 2, 1)
    statuses = [
        "Failed" if seq % 50 == 0 else "Stopped" if seq % 7 == 0 else "Completed"
        for seq in range(1, jobs + 1)
    ]
    stopped = [2 + seq % half for seq, st in enumerate(statuses, 1) if st == "Stopped"]
    full = len(statuses) - len(stopped)
    planned = max(-(-(points // 2 - sum(stopped)) // max(full, 1)), 1)
    t0 = time.time() - jobs * 2.0
    records = []
    for seq, status in enumerate(statuses, 1):
        x, n = (seq * 0.618) % 1.0, 1 + seq % 9
        start = t0 + 2.0 * seq
        epochs = 2 + seq % half if status == "Stopped" else planned
        seconds = 1.5 * epochs / planned
        loss = (x - 0.3) ** 2 + n / 100
        records.append(
            TrainingJobRecord(
                name=training_job_name(NAME, seq),
                tuning_job_name=NAME,
                seq=seq,
                status=status,
                hyperparameters={"x": x, "n": n},
                created_at=start,
                started_at=start,
                ended_at=start + seconds,
                objective=None if status == "Failed" else loss,
                final_metrics={} if status == "Failed" else {"loss": loss, "acc": 1 - loss},
                failure_reason="AlgorithmError: exit 1" if status == "Failed" else None,
                billable_seconds=seconds,
                epochs_completed=epochs,
                early_stopped=status == "Stopped",
            )
        )
    for i in range(0, len(records), BATCH):
        store.create_training_jobs(records[i : i + BATCH])
    batch: list[MetricPoint] = []
    made = 0
    for r in records:
        for e in range(1, (r.epochs_completed or 0) + 1):
            if made >= points:
                break
            ts = r.created_at + e * 1.5 / planned
            loss = r.objective if r.objective is not None else 1.0
            batch.append(MetricPoint(r.name, "loss", loss + 1.0 / e, e, ts))
            batch.append(MetricPoint(r.name, "acc", 1.0 - loss - 1.0 / e, e, ts))
            made += 2
        if len(batch) >= BATCH:
            store.add_metric_points(batch)
            batch = []
    store.add_metric_points(batch)
    store.update_tuning_job(NAME, status="Completed", ended_at=time.time())
    return time.perf_counter() - t_fill


def timed(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median and worst wall time of ``repeats`` calls, in ms."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def token(offset: int) -> str:
    """A NextToken in the service's form (what paging through the earlier pages gives)."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def cli_ls(url: str) -> None:
    """``sagetune ls`` as a user runs it (its own store connection), without a subprocess."""
    from click.testing import CliRunner

    from sagetune.cli import main

    result = CliRunner().invoke(main, ["ls", "--store", url])
    assert result.exit_code == 0 and NAME in result.output, result.output


def answers(store: Any, jobs: int, repeats: int) -> dict[str, dict[str, float]]:
    from fastapi.testclient import TestClient

    from sagetune import api
    from sagetune.analytics import TuningJobAnalytics
    from sagetune.dashboard import create_app
    from sagetune.naming import training_job_arn, training_job_name

    backend = api.Backend(store=store, base_dir=Path.cwd())
    middle = token((jobs // 2) // 100 * 100)
    one_job = training_job_name(NAME, max(jobs // 2, 1))

    def list_for(sort: str, next_token: str | None = None) -> Callable[[], Any]:
        request: dict[str, Any] = {
            "HyperParameterTuningJobName": NAME,
            "SortBy": sort,
            "SortOrder": "Ascending",
            "MaxResults": 100,
        }
        if next_token:
            request["NextToken"] = next_token

        def call() -> Any:
            out = api.call(backend, "ListTrainingJobsForHyperParameterTuningJob", request)
            assert len(out["TrainingJobSummaries"]) == 100, len(out["TrainingJobSummaries"])
            return out

        return call

    cases: dict[str, Callable[[], Any]] = {
        "DescribeHyperParameterTuningJob": lambda: api.call(
            backend, "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": NAME}
        ),
        "ListTrainingJobsFor... by objective, first page": list_for("FinalObjectiveMetricValue"),
        "ListTrainingJobsFor... by objective, middle page": list_for(
            "FinalObjectiveMetricValue", middle
        ),
        "ListTrainingJobsFor... by CreationTime, first page": list_for("CreationTime"),
        "ListTrainingJobsFor... by CreationTime, middle page": list_for("CreationTime", middle),
        "ListTrainingJobs, first page": lambda: api.call(
            backend, "ListTrainingJobs", {"MaxResults": 100}
        ),
        "DescribeTrainingJob": lambda: api.call(
            backend, "DescribeTrainingJob", {"TrainingJobName": one_job}
        ),
        "TuningJobAnalytics.dataframe": lambda: TuningJobAnalytics(NAME, store=store).dataframe(),
        "ListTags of a training job": lambda: api.call(
            backend, "ListTags", {"ResourceArn": training_job_arn(one_job)}
        ),
        "sagetune ls": lambda: cli_ls(store.url),
    }
    out = {label: timed(call, repeats) for label, call in cases.items()}

    pages = {
        "dashboard: summary": f"/api/tuning-jobs/{NAME}",
        "dashboard: training jobs page (50)": f"/api/tuning-jobs/{NAME}/training-jobs?limit=50",
        "dashboard: training jobs page by x, descending": (
            f"/api/tuning-jobs/{NAME}/training-jobs?limit=50&sort=x&order=desc&offset=5000"
        ),
        "dashboard: plot curves": f"/api/tuning-jobs/{NAME}/plots/curves",
        "dashboard: plot scatter": f"/api/tuning-jobs/{NAME}/plots/scatter",
        "dashboard: plot importance": f"/api/tuning-jobs/{NAME}/plots/importance",
        "dashboard: tuning jobs list": "/api/tuning-jobs",
        "dashboard: training job": f"/api/training-jobs/{one_job}",
        "dashboard: tuning job page (HTML)": f"/tuning-jobs/{NAME}",
    }
    warm_client = TestClient(create_app(store))
    for label, path in pages.items():

        def cold(path: str = path) -> None:
            client = TestClient(create_app(store))
            assert client.get(path).status_code == 200

        def warm(path: str = path) -> None:
            assert warm_client.get(path).status_code == 200

        out[f"{label}, cold"] = timed(cold, repeats)
        warm()
        out[f"{label}, warm"] = timed(warm, repeats)
    return out


def operations(store: Any, count: int) -> dict[str, float]:
    """Store operations per second on a second tuning job of ``count`` training jobs."""
    from sagetune import service
    from sagetune.naming import training_job_name
    from sagetune.store import MetricPoint, TrainingJobRecord

    service.create_tuning_job(store, tuning_request(OPS_NAME, count), base_dir=Path.cwd())
    names = [training_job_name(OPS_NAME, s) for s in range(1, count + 1)]
    now = time.time()

    def per_second(call: Callable[[int], Any]) -> float:
        t = time.perf_counter()
        for i in range(count):
            call(i)
        return count / (time.perf_counter() - t)

    out = {
        "create_training_job": per_second(
            lambda i: store.create_training_job(
                TrainingJobRecord(
                    name=names[i],
                    tuning_job_name=OPS_NAME,
                    seq=i + 1,
                    status="InProgress",
                    hyperparameters={"x": 0.5, "n": 3},
                    created_at=now + i,
                    started_at=now + i,
                )
            )
        ),
        "update_training_job": per_second(
            lambda i: store.update_training_job(names[i], objective=float(i), epochs_completed=1)
        ),
        "add_metric_points (100 a batch)": per_second(
            lambda i: store.add_metric_points(
                [MetricPoint(names[i], "loss", 1.0 / e, e, now + e) for e in range(1, 101)]
            )
        ),
        "get_training_job": per_second(lambda i: store.get_training_job(names[i])),
    }
    return out


def report(result: dict[str, Any]) -> str:
    p = result["parameters"]
    lines = [
        f"Store {p['store']}: {p['jobs']} training jobs, {p['points']} metric points "
        f"(filled in {result['fill_seconds']:.1f} s); median and worst of {p['repeats']}.",
        "",
        "| operation | median ms | worst ms |",
        "|---|---:|---:|",
    ]
    for label, t in result["answers"].items():
        lines.append(f"| {label} | {t['median_ms']:.1f} | {t['max_ms']:.1f} |")
    lines += ["", "| store operation | per second |", "|---|---:|"]
    for label, rate in result["operations"].items():
        lines.append(f"| {label} | {rate:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--store", help="a store URL (default: a SQLite file in a temp folder)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh database of a PostgreSQL server started for the run, as the tests do",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ops", type=int, default=1000, help="calls per store operation")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from sagetune.store import open_store

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if args.postgres:
            args.store = stack.enter_context(postgres_databases(args.store))("scale")
        url = args.store or f"sqlite:///{Path(tmp) / 'scale.db'}"
        store = open_store(url)
        try:
            fill = fill_store(store, args.jobs, args.points)
            result: dict[str, Any] = {
                "parameters": {
                    "jobs": args.jobs,
                    "points": args.points,
                    "store": url.split("://")[0],
                    "repeats": args.repeats,
                    "ops": args.ops,
                },
                "environment": environment(),
                "fill_seconds": fill,
                "answers": answers(store, args.jobs, args.repeats),
                "operations": operations(store, args.ops),
                "load_average_at_end": load_average(),
            }
        finally:
            if args.store:
                for name in (NAME, OPS_NAME):
                    try:
                        store.delete_tuning_job(name)
                    except LookupError:
                        pass
            store.close()
    print(report(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
