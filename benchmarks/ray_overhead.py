"""Ray executor overhead: trivial training jobs on a loopback Ray cluster, against the process
executor and Ray Tune, and 2-second jobs spread on two nodes against one.

The cluster is made here with ``ray.cluster_utils.Cluster`` (as the tests' fixture): a head
without CPUs and two worker nodes of ``--cpus`` CPUs each, told apart by the custom resources
``node_a`` and ``node_b``, every node on 127.0.0.1. All parts run in one driver process.

1. ``--jobs`` trivial jobs (the function returns at once), ``--parallel`` at a time, Random:

   - ``sagetune-ray``: ``HyperparameterTuner(..., executor="ray", ray_address=<cluster>)
     .fit(train)``: slot actors kept between jobs (one per running job), the callable in each
     slot's long-lived worker interpreter on its node, every job recorded in a SQLite store.
   - ``sagetune-process``: the same tuner with the local executor (long-lived worker
     interpreters on this machine).
   - ``ray-tune``: ``ray.tune.Tuner(train, param_space={"x": tune.uniform(0, 1)},
     tune_config=TuneConfig(num_samples=N, max_concurrent_trials=P))`` ``.fit()`` on the same
     cluster (one CPU per trial, Tune's defaults otherwise; results under a temporary
     ``storage_path``).

   Per-job overhead is wall time / jobs (with ``--parallel`` jobs at once). ``--tune-jobs``
   gives Ray Tune fewer trials when ``--jobs`` of them would not fit the time at hand.

2. ``--spread-jobs`` jobs that sleep ``--spread-seconds`` each, all started at once (one CPU
   each) through ``sagetune-ray``: on both worker nodes, then pinned to ``node_a`` alone
   (``LocalExecutor.InstanceResources``). With ``--cpus`` 4 the two nodes hold all 8 at once,
   one node 4.

Usage (from the repository root; Ray Tune is in the ``bench`` extra)::

    PYTHONPATH=src python -m benchmarks.ray_overhead [--jobs 200] [--tune-jobs N] [--parallel 2]
        [--cpus 4] [--out benchmarks/results/ray_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks._env import environment, load_average

DEFAULT_OUT = Path("benchmarks/results/ray_overhead.json")
LOOPBACK = "127.0.0.1"


def train(hp: Mapping[str, Any]) -> dict[str, float]:
    """The trivial training function."""
    return {"loss": (float(hp["x"]) - 0.3) ** 2}


def sleeper(hp: Mapping[str, Any]) -> dict[str, float]:
    """A job that takes ``hp["seconds"]`` seconds of wall time and no CPU."""
    time.sleep(float(hp["seconds"]))
    return {"loss": float(hp["x"])}


def tune_train(config: dict[str, Any]) -> None:
    """Ray Tune's trainable for the same trivial job: one result, then it returns."""
    from ray import tune

    tune.report({"loss": (float(config["x"]) - 0.3) ** 2})


def start_cluster(cpus: int) -> Any:
    """A head without CPUs and two workers of ``cpus`` CPUs each, on loopback."""
    # Read by ray when first imported: loopback stays loopback (see tests/executors/conftest.py).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    from ray.cluster_utils import Cluster

    temp_dir = tempfile.mkdtemp(prefix="rb", dir="/tmp")  # short: Unix socket paths
    store = 80 * 1024 * 1024
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "node_ip_address": LOOPBACK,
            "include_dashboard": False,
            "temp_dir": temp_dir,
            "object_store_memory": store,
        },
    )
    for resource in ("node_a", "node_b"):
        cluster.add_node(
            num_cpus=cpus,
            resources={resource: 1000},
            node_ip_address=LOOPBACK,
            temp_dir=temp_dir,
            object_store_memory=store,
        )
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    return cluster


def run_sagetune(
    jobs: int,
    parallel: int,
    folder: str,
    fn: Any,
    ranges: Mapping[str, Any],
    static: Mapping[str, Any] | None = None,
    ray_address: str | None = None,
    ray_resources: Mapping[str, Mapping[str, float]] | None = None,
) -> float:
    """Seconds for ``jobs`` Random jobs through ``HyperparameterTuner.fit``."""
    import sagetune

    t0 = time.perf_counter()
    tuner = sagetune.HyperparameterTuner(
        objective_metric_name="loss",
        objective_type="Minimize",
        hyperparameter_ranges=dict(ranges),
        strategy="Random",
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        random_seed=0,
        store=f"sqlite:///{folder}/st.db",
        static_hyperparameters=dict(static or {}),
        show_progress=False,
        instance_type="ml.m5.large" if ray_resources else None,
        executor="ray" if ray_address else None,
        ray_address=ray_address,
        ray_resources=ray_resources,
    )
    tuner.fit(fn)
    elapsed = time.perf_counter() - t0
    done = [
        j
        for j in tuner.store.list_training_jobs(str(tuner.latest_tuning_job))
        if j.objective is not None
    ]
    assert len(done) == jobs, f"{len(done)} of {jobs} jobs completed"
    return elapsed


def run_ray_tune(jobs: int, parallel: int, folder: str) -> float:
    """Seconds for ``Tuner.fit`` of ``jobs`` trials of the trivial trainable."""
    from ray import tune

    t0 = time.perf_counter()
    tuner = tune.Tuner(
        tune.with_resources(tune_train, {"cpu": 1}),
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(
            num_samples=jobs, max_concurrent_trials=parallel, metric="loss", mode="min"
        ),
        run_config=tune.RunConfig(storage_path=folder, verbose=0),
    )
    results = tuner.fit()
    elapsed = time.perf_counter() - t0
    assert len(results) == jobs and not results.errors, results.errors
    return elapsed


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument(
        "--tune-jobs", type=int, help="Ray Tune's trials, when fewer than --jobs fit the time"
    )
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=4, help="CPUs of each worker node")
    parser.add_argument("--spread-jobs", type=int, default=8)
    parser.add_argument("--spread-seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    from sagetune.space import ContinuousParameter

    out: dict[str, Any] = {
        "benchmark": "ray_overhead",
        "args": {k: str(v) for k, v in vars(args).items()},
        "environment": environment(),
        "load_average_start": load_average(),
    }
    tune_jobs = args.tune_jobs or args.jobs
    cluster = start_cluster(args.cpus)
    try:
        address = cluster.address
        x = {"x": ContinuousParameter(0.0, 1.0)}
        trivial: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as folder:
            trivial["sagetune-process"] = run_sagetune(args.jobs, args.parallel, folder, train, x)
        with tempfile.TemporaryDirectory() as folder:
            trivial["sagetune-ray"] = run_sagetune(
                args.jobs, args.parallel, folder, train, x, ray_address=address
            )
        with tempfile.TemporaryDirectory() as folder:
            trivial["ray-tune"] = run_ray_tune(tune_jobs, args.parallel, folder)
        counts = {"ray-tune": tune_jobs}
        out["trivial"] = {
            name: {
                "jobs": counts.get(name, args.jobs),
                "seconds": s,
                "seconds_per_job": s / counts.get(name, args.jobs),
            }
            for name, s in trivial.items()
        }
        per_job = {name: v["seconds_per_job"] for name, v in out["trivial"].items()}
        out["ratios"] = {  # of the seconds per job
            "sagetune-ray / ray-tune": per_job["sagetune-ray"] / per_job["ray-tune"],
            "sagetune-ray / sagetune-process": (
                per_job["sagetune-ray"] / per_job["sagetune-process"]
            ),
        }
        spread: dict[str, float] = {}
        static = {"seconds": args.spread_seconds}
        n = args.spread_jobs
        for label, pinned in (
            ("2 nodes", None),
            ("1 node", {"ml.m5.large": {"CPU": 1, "node_a": 1}}),
        ):
            with tempfile.TemporaryDirectory() as folder:
                spread[label] = run_sagetune(
                    n, n, folder, sleeper, x, static, ray_address=address, ray_resources=pinned
                )
        out["spread"] = {**spread, "1 node / 2 nodes": spread["1 node"] / spread["2 nodes"]}
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
    out["load_average_end"] = load_average()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("trivial", "ratios", "spread")}, indent=2))
    return out


if __name__ == "__main__":
    main()
