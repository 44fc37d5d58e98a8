"""The SageMaker endpoint's latency and throughput, through boto3.

Fills a fresh SQLite store with one finished tuning job of ``--jobs`` training jobs (records
written straight through the store, nothing trained), starts ``sagetune serve`` on a free
loopback port as a user would, and measures through boto3:

- ``DescribeHyperParameterTuningJob`` of that job;
- one page of ``--page`` items of ``ListTrainingJobsForHyperParameterTuningJob``.

For each, ``--requests`` calls one after another (median and p99 latency), then ``--clients``
threads, each with its own boto3 client, calling for ``--seconds`` (requests per second, all
threads together). Every phase is bounded in count and in time.

Usage (from the repository root)::

    PYTHONPATH=src python -m benchmarks.endpoint [--jobs 1000] [--page 100] [--requests 200]
        [--clients 4] [--seconds 10] [--out benchmarks/results/endpoint.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._env import environment, load_average

DEFAULT_OUT = Path("benchmarks/results/endpoint.json")
KEY_ID, SECRET = "AKIDBENCHMARK", "benchmark-secret"
NAME = "bench-1000"


def fill_store(url: str, jobs: int) -> None:
    """One Completed tuning job with ``jobs`` Completed training jobs and their points."""
    from sagetune import service
    from sagetune.naming import training_job_name
    from sagetune.store import MetricPoint, TrainingJobRecord, open_store

    request = {
        "HyperParameterTuningJobName": NAME,
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
            "AlgorithmSpecification": {"MetricDefinitions": [{"Name": "loss", "Regex": "l=(.*)"}]},
        },
    }
    store = open_store(url)
    service.create_tuning_job(store, request, base_dir=Path.cwd())
    t0 = time.time() - jobs * 2.0
    for seq in range(1, jobs + 1):
        name = training_job_name(NAME, seq)
        x, n = (seq * 0.618) % 1.0, 1 + seq % 9
        start = t0 + 2.0 * seq
        store.create_training_job(
            TrainingJobRecord(
                name=name,
                tuning_job_name=NAME,
                seq=seq,
                status="Completed",
                hyperparameters={"x": x, "n": n},
                created_at=start,
                started_at=start,
                ended_at=start + 1.5,
                objective=(x - 0.3) ** 2 + n / 100,
                final_metrics={"loss": (x - 0.3) ** 2 + n / 100},
                billable_seconds=1.5,
                epochs_completed=3,
            )
        )
    store.add_metric_points(
        [
            MetricPoint(training_job_name(NAME, s), "loss", 1.0 / e, e, t0 + 2.0 * s + e / 3)
            for s in range(1, jobs + 1)
            for e in (1, 2, 3)
        ]
    )
    store.update_tuning_job(NAME, status="Completed", ended_at=time.time())
    store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    env = {**os.environ, "SAGETUNE_ACCESS_KEY_ID": KEY_ID, "SAGETUNE_SECRET_ACCESS_KEY": SECRET}
    log = open(folder / "server.log", "ab")  # noqa: SIM115 - open for the server's lifetime
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagetune", "serve", "--port", str(port), "--store", url],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=log,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((folder / "server.log").read_text())
        try:
            httpx.get(endpoint, timeout=1)
            return proc, endpoint
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not answer within 60 s")


def client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 1}),
    )


def latencies(call: Callable[[], Any], requests: int, seconds: float) -> list[float]:
    """Seconds of each of at most ``requests`` calls, one after another, within ``seconds``."""
    call()  # warm: the first call pays for imports and the connection
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(out) < requests and time.perf_counter() < deadline:
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


def throughput(make_call: Callable[[], Callable[[], Any]], clients: int, seconds: float) -> float:
    """Requests per second of ``clients`` threads calling for ``seconds``."""
    counts = [0] * clients
    calls = [make_call() for _ in range(clients)]
    for call in calls:
        call()
    start = threading.Barrier(clients + 1)
    stop_at: list[float] = []

    def work(i: int) -> None:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            calls[i]()
            counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    stop_at.append(t0 + seconds)
    start.wait()
    for t in threads:
        t.join(seconds + 60)
    return sum(counts) / (time.perf_counter() - t0)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        t0 = time.perf_counter()
        fill_store(url, args.jobs)
        fill_seconds = time.perf_counter() - t0
        proc, endpoint = start_server(url, folder)
        try:
            operations: dict[str, Callable[[Any], Callable[[], Any]]] = {
                "DescribeHyperParameterTuningJob": lambda sm: (
                    lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=NAME)
                ),
                f"ListTrainingJobsForHyperParameterTuningJob ({args.page} items)": lambda sm: (
                    lambda: sm.list_training_jobs_for_hyper_parameter_tuning_job(
                        HyperParameterTuningJobName=NAME, MaxResults=args.page
                    )
                ),
            }
            page = client(endpoint).list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName=NAME, MaxResults=args.page
            )
            assert len(page["TrainingJobSummaries"]) == min(args.page, args.jobs)
            rows = []
            for label, make in operations.items():
                times = latencies(make(client(endpoint)), args.requests, 120.0)
                rps = throughput(
                    lambda make=make: make(client(endpoint)), args.clients, args.seconds
                )
                rows.append(
                    {
                        "operation": label,
                        "requests": len(times),
                        "median_ms": 1000 * statistics.median(times),
                        "p99_ms": 1000 * p99(times),
                        "clients": args.clients,
                        "requests_per_second": rps,
                    }
                )
        finally:
            proc.terminate()
            proc.wait(10)

    print(
        f"{args.jobs} training jobs (store filled in {fill_seconds:.1f} s); load {load_average()}\n"
    )
    print(f"| operation | median ms | p99 ms | req/s, {args.clients} clients |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['operation']} | {r['median_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['requests_per_second']:.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "environment": environment(),
                "args": vars(args) | {"out": str(args.out)},
                "rows": rows,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
