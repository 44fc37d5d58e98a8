"""RayExecutor on a real multi-node Ray cluster on loopback (``ray_cluster`` in conftest.py):
where jobs land, live metrics and a stop request through the SDK, stops that end the remote
process group, artifacts and logs brought back, a lost node, and the CLI's ``--executor ray``.

The executor contract suite (test_executor_contract.py) runs over RayExecutor as well.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from test_executor_contract import finishes, meet, points, poll_until

from sagetune.executors.base import Event, JobFinished, JobRequest, JobStarted
from sagetune.executors.process import serialize_callable
from sagetune.status import TrainingJobStatus
from sagetune.training import parse_script_definition

pytest.importorskip("ray")

from sagetune.executors.ray import (  # noqa: E402 - only with ray installed
    INSTANCE_RESOURCES,
    RayExecutor,
    resources_for,
)

SCRIPT = """
import argparse, os, subprocess, sys, time
p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int)
p.add_argument("--sleep", type=float)
p.add_argument("--meet", default="")
p.add_argument("--me", default="")
p.add_argument("--peer", default="")
p.add_argument("--child", type=int, default=0)
p.add_argument("--level", type=float, default=0.0)
args = p.parse_args()
if args.child:  # a child in the job's process group, as a data loader would be
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    print(f"child={child.pid}", flush=True)
if args.meet:
    open(os.path.join(args.meet, args.me), "w").close()
    end = time.time() + 30
    while not os.path.exists(os.path.join(args.meet, args.peer)):
        if time.time() > end:
            raise RuntimeError("the peer job never ran")
        time.sleep(0.02)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
    f.write(f"trained {args.epochs}")
state = os.path.join(os.environ.get("SM_CHECKPOINT_DIR", ""), "state.txt")
if "SM_CHECKPOINT_DIR" in os.environ and os.path.exists(state):
    print(f"resumed from {open(state).read()}", flush=True)
for epoch in range(1, args.epochs + 1):
    print(f"epoch={epoch} loss={args.level + 2.0 ** -epoch!r}", flush=True)
    time.sleep(args.sleep)
if "SM_CHECKPOINT_DIR" in os.environ:
    with open(state, "w") as f:
        f.write(f"epoch {args.epochs}")
"""


def definition(root: Path, **extra: Any) -> Any:
    source = root / "src"
    source.mkdir(exist_ok=True)
    (source / "job.py").write_text(textwrap.dedent(SCRIPT))
    errors: list[str] = []
    parsed = parse_script_definition(
        {
            "LocalCommand": "python job.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([-0-9.eE+]+)"}]
            },
            **extra,
        },
        "loss",
        source,
        errors,
    )
    assert parsed is not None and not errors, errors
    return parsed


def callable_job(hp: dict[str, Any], report: Any, model_dir: str) -> float:
    if hp.get("meet"):
        meet(hp["meet"], hp["me"], hp["peer"])
    Path(model_dir, "weights.txt").write_text(str(hp["epochs"]))
    level = float(hp.get("level", 0.0))
    for epoch in range(1, int(hp["epochs"]) + 1):
        report(epoch=epoch, loss=level + 2.0**-epoch)
        time.sleep(float(hp["sleep"]))
    return level + 2.0 ** -int(hp["epochs"])


def hp(root: Path, name: str, peer: str = "", epochs: int = 3, sleep: float = 0.0) -> dict:
    (root / "meet").mkdir(exist_ok=True)
    return {
        "epochs": epochs,
        "sleep": sleep,
        "meet": str(root / "meet") if peer else "",
        "me": name,
        "peer": peer,
    }


def started(events: list[Event], name: str) -> JobStarted:
    return next(e for e in events if isinstance(e, JobStarted) and e.name == name)


def pid_gone(pid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie of the actor's is gone too
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def remove_node_folders(tmp_path: Path) -> None:
    """The node folders of this test's jobs whose actor or node died (nobody removed them)."""
    for folder in Path(tempfile.gettempdir()).glob(f"sagetune-ray-*/{tmp_path.name}"):
        shutil.rmtree(folder.parent, ignore_errors=True)


def test_instance_types_map_to_ray_resources() -> None:
    assert resources_for("ml.m5.large") == {"CPU": 2}
    assert resources_for("ml.m5.xlarge") == {"CPU": 4}
    assert resources_for("ml.g4dn.xlarge") == {"CPU": 4, "GPU": 1}
    assert resources_for("ml.unknown.type") == resources_for(None) == {"CPU": 1}
    over = {"ml.m5.large": {"CPU": 1, "node_a": 1}}
    assert resources_for("ml.m5.large", over) == {"CPU": 1, "node_a": 1}
    assert "ml.m5.large" in INSTANCE_RESOURCES


@pytest.mark.parametrize("kind", ["script", "callable"])
def test_jobs_land_on_both_worker_nodes_and_bring_their_model_back(
    ray_cluster: Any, tmp_path: Path, kind: str
) -> None:
    if kind == "script":
        ex = RayExecutor(definition(tmp_path), objective_metric="loss", stop_grace_seconds=2.0)
    else:
        ex = RayExecutor(train=serialize_callable(callable_job))
    try:
        # Each waits until the other has started: with one CPU per node, on two nodes.
        for me, peer in (("a", "b"), ("b", "a")):
            ex.start(JobRequest(me, hp(tmp_path, me, peer), tmp_path / "jobs" / me))
        events = poll_until(
            ex, lambda evs: bool(finishes(evs, "a") and finishes(evs, "b")), "both jobs", 90
        )
    finally:
        ex.shutdown()

    def left_on_nodes() -> list[Path]:
        configs = Path(tempfile.gettempdir()).glob("sagetune-ray-*/jobs/*/input/config/*.json")
        return [c for c in configs if str(tmp_path) in c.read_text(errors="replace")]

    end = time.monotonic() + 15
    while left_on_nodes() and time.monotonic() < end:  # removed as each actor lets go
        time.sleep(0.1)
    assert left_on_nodes() == []
    nodes = {started(events, n).node for n in ("a", "b")}
    assert nodes == {f"127.0.0.1 {ray_cluster.node_ids[r]}" for r in ("node_a", "node_b")}
    for name in ("a", "b"):
        (finished,) = finishes(events, name)
        assert finished.status == TrainingJobStatus.Completed, finished.failure_reason
        assert [s for _, s, _ in points(events, name)] == [1, 2, 3]
        job_dir = tmp_path / "jobs" / name
        log = (job_dir / "log.txt").read_text()
        assert log.splitlines()[0] == f"[sagetune] node: {started(events, name).node}"
        with tarfile.open(job_dir / "output" / "model.tar.gz") as tar:
            assert tar.getnames() == (["model.txt"] if kind == "script" else ["weights.txt"])
        if kind == "script":
            assert "epoch=3 loss=0.125" in log


def slot_job(hp: dict[str, Any], model_dir: str) -> float:
    """Writes its number into its model; may leave a child running or sleep."""
    import subprocess

    Path(model_dir, "n.txt").write_text(str(hp["n"]))
    if hp.get("child"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        Path(hp["child"]).write_text(str(child.pid))
    time.sleep(float(hp.get("sleep", 0.0)))
    return float(hp["n"])


def test_a_slot_runs_its_jobs_one_after_another_in_one_worker(
    ray_cluster: Any, tmp_path: Path
) -> None:
    import ray

    from sagetune.executors.ray import NAMESPACE, slot_name

    ex = RayExecutor(train=serialize_callable(slot_job), stop_grace_seconds=1.0)
    jobs = tmp_path / "jobs"
    events: list[Event] = []

    def run(name: str, params: dict[str, Any], stop: bool = False) -> JobFinished:
        nonlocal events
        ex.start(JobRequest(name, params, jobs / name))
        if stop:
            events += poll_until(
                ex, lambda evs: any(isinstance(e, JobStarted) for e in evs), "its start", 60
            )
            ex.stop(name, "told to stop")
        events += poll_until(ex, lambda evs: bool(finishes(evs, name)), name, 60)
        (finished,) = finishes(events, name)
        return finished

    try:
        for n in range(3):  # the last one leaves a child running as it returns
            params = {"n": n, **({"child": str(tmp_path / "child")} if n == 2 else {})}
            assert run(f"j{n}", params).status == TrainingJobStatus.Completed
        child = int((tmp_path / "child").read_text())
        stopped = run("slow", {"n": 9, "sleep": 60}, stop=True)
        after = run("after", {"n": 4})
        # An idle slot that died (as on a lost node) is replaced, not its next job's loss.
        scope = slot_name(jobs / "x", "", 0).split("/")[0]
        for entry in ray.util.list_named_actors(all_namespaces=True):
            if entry["namespace"] == NAMESPACE and entry["name"].startswith(f"{scope}/"):
                ray.kill(ray.get_actor(entry["name"], namespace=NAMESPACE), no_restart=True)
        replaced = run("replaced", {"n": 5})
    finally:
        ex.shutdown()
    worker = {started(events, f"j{n}").pid for n in range(3)}
    assert len(worker) == 1 and None not in worker  # one interpreter ran all three
    assert len({started(events, f"j{n}").node for n in range(3)}) == 1
    assert pid_gone(child)  # what a job left running ends with it, its worker lives on
    assert stopped.status == TrainingJobStatus.Stopped, stopped.failure_reason
    assert stopped.failure_reason == "told to stop"
    # The stop ended the worker that ran the job; the next job has a new one.
    assert started(events, "after").pid not in worker | {None}
    assert after.status == TrainingJobStatus.Completed, after.failure_reason
    assert replaced.status == TrainingJobStatus.Completed, replaced.failure_reason
    for name, n in (("j0", 0), ("j1", 1), ("j2", 2), ("after", 4), ("replaced", 5)):
        (finished,) = finishes(events, name)
        assert finished.result == float(n)
        with tarfile.open(jobs / name / "output" / "model.tar.gz") as tar:
            member = tar.extractfile("n.txt")
            assert member is not None and member.read() == str(n).encode()


def test_more_jobs_than_the_cluster_holds_wait_for_a_slot(ray_cluster: Any, tmp_path: Path) -> None:
    # Three jobs at once pinned to node_b's one CPU: the idle slot of the first to end (which
    # keeps that CPU) is handed to the next, whose own slot could never be placed.
    ex = RayExecutor(
        train=serialize_callable(slot_job),
        instance_type="ml.m5.large",
        resources={"ml.m5.large": {"CPU": 1, "node_b": 1}},
    )
    names = ["w0", "w1", "w2"]
    try:
        for n, name in enumerate(names):
            ex.start(JobRequest(name, {"n": n}, tmp_path / "jobs" / name))
        events = poll_until(
            ex, lambda evs: all(finishes(evs, name) for name in names), "all three", 90
        )
    finally:
        ex.shutdown()
    for n, name in enumerate(names):
        (finished,) = finishes(events, name)
        assert finished.status == TrainingJobStatus.Completed, finished.failure_reason
        assert finished.result == float(n)
        assert started(events, name).node == f"127.0.0.1 {ray_cluster.node_ids['node_b']}"


def test_a_job_asks_for_its_instance_type_resources(ray_cluster: Any, tmp_path: Path) -> None:
    pinned = RayExecutor(
        train=serialize_callable(callable_job),
        instance_type="ml.m5.large",
        resources={"ml.m5.large": {"CPU": 1, "node_b": 1}},
    )
    too_big = RayExecutor(train=serialize_callable(callable_job), instance_type="ml.m5.xlarge")
    try:
        pinned.start(JobRequest("p", hp(tmp_path, "p"), tmp_path / "jobs" / "p"))
        too_big.start(JobRequest("big", hp(tmp_path, "big"), tmp_path / "jobs" / "big"))
        (big,) = finishes(too_big.poll(0), "big")
        assert big.status == TrainingJobStatus.Failed
        assert "no node of the Ray cluster has" in str(big.failure_reason)
        assert "'CPU': 4" in str(big.failure_reason)
        events = poll_until(pinned, lambda evs: bool(finishes(evs, "p")), "the pinned job", 60)
    finally:
        pinned.shutdown()
        too_big.shutdown()
    assert started(events, "p").node == f"127.0.0.1 {ray_cluster.node_ids['node_b']}"


def test_stop_and_max_runtime_end_the_remote_process_group(
    ray_cluster: Any, tmp_path: Path
) -> None:
    limited = definition(tmp_path, StoppingCondition={"MaxRuntimeInSeconds": 3})
    ex = RayExecutor(definition(tmp_path), objective_metric="loss", stop_grace_seconds=1.0)
    timed = RayExecutor(limited, objective_metric="loss", stop_grace_seconds=1.0)
    try:
        for executor, name in ((ex, "stopped"), (timed, "timed")):
            params = {**hp(tmp_path, name, epochs=1000, sleep=0.05), "child": 1}
            executor.start(JobRequest(name, params, tmp_path / "jobs" / name))
        events = poll_until(ex, lambda evs: len(points(evs, "stopped")) >= 2, "two points", 60)
        log = (tmp_path / "jobs" / "stopped" / "log.txt").read_text()
        child = int(log.split("child=")[1].split()[0])
        ex.stop("stopped", "told to stop")
        events += poll_until(ex, lambda evs: bool(finishes(evs, "stopped")), "the stop", 30)
        timed_events = poll_until(timed, lambda evs: bool(finishes(evs, "timed")), "limit", 60)
    finally:
        ex.shutdown()
        timed.shutdown()
    (finished,) = finishes(events, "stopped")
    assert finished.status == TrainingJobStatus.Stopped
    assert finished.failure_reason == "told to stop"
    assert finished.metrics["loss"] == points(events, "stopped")[-1][2]
    leader = started(events, "stopped").pid
    assert leader is not None and pid_gone(leader) and pid_gone(child)
    (ended,) = finishes(timed_events, "timed")
    assert ended.status == TrainingJobStatus.Stopped
    assert "MaxRuntimeInSeconds (3 s) exceeded" in str(ended.failure_reason)
    timed_log = (tmp_path / "jobs" / "timed" / "log.txt").read_text()
    assert pid_gone(int(timed_log.split("child=")[1].split()[0]))
    # A stopped job keeps what it trained.
    assert (tmp_path / "jobs" / "stopped" / "output" / "model.tar.gz").is_file()


def test_live_metrics_and_a_stop_request_through_the_sdk(ray_cluster: Any, tmp_path: Path) -> None:
    from sagetune import CategoricalParameter, HyperparameterTuner, control
    from sagetune.store import open_store

    url = f"sqlite:///{tmp_path / 'tuning.db'}"
    tuner = HyperparameterTuner(
        "loss",
        {"sleep": CategoricalParameter([0.05])},
        objective_type="Minimize",
        strategy="Grid",
        max_jobs=1,
        store=url,
        static_hyperparameters={"epochs": 2000},
        executor="ray",
        ray_address=ray_cluster.address,
        show_progress=False,
    )
    assert tuner.request("x")["LocalExecutor"] == {"Type": "Ray", "Address": ray_cluster.address}
    failure: list[BaseException] = []

    def fit() -> None:
        try:
            tuner.fit(callable_job, job_name="on-ray")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failure.append(exc)

    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    store = open_store(url)
    deadline = time.monotonic() + 90
    job = None
    while time.monotonic() < deadline and not failure:
        jobs = store.list_training_jobs("on-ray") if _exists(store, "on-ray") else []
        if jobs and len(store.metric_points([jobs[0].name])) >= 3:
            job = jobs[0]
            break
        time.sleep(0.2)
    assert not failure, failure
    assert job is not None, "no live metric points within 90 s"
    assert store.get_training_job(job.name).status == TrainingJobStatus.InProgress
    control.stop_training_job(store, job.name)
    thread.join(60)
    assert not thread.is_alive() and not failure, failure
    done = store.get_training_job(job.name)
    assert done.status == TrainingJobStatus.Stopped, done.failure_reason
    assert done.objective is not None and done.epochs_completed < 2000
    assert store.get_tuning_job("on-ray").status == "Completed"
    log = Path(done.log_path or "").read_text()
    assert log.startswith("[sagetune] node: 127.0.0.1 ")


def _exists(store: Any, name: str) -> bool:
    try:
        store.get_tuning_job(name)
    except LookupError:
        return False
    return True


def test_the_cli_runs_a_tuning_job_on_ray(ray_cluster: Any, tmp_path: Path) -> None:
    import subprocess

    definition(tmp_path)  # writes src/job.py
    request = {
        "HyperParameterTuningJobName": "cli-ray",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "2", "MaxValue": "4"}]
            },
            "RandomSeed": 3,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"sleep": "0.0", "sagemaker_submit_directory": "src"},
            "LocalCommand": "python job.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([-0-9.eE+]+)"}]
            },
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        },
        # ml.m5.xlarge asks for 4 CPUs: this cluster's nodes have one each.
        "LocalExecutor": {"InstanceResources": {"ml.m5.xlarge": {"CPU": 1}}},
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    store = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    cli = [sys.executable, "-m", "sagetune", "tune", str(path), "--store", store]
    res = subprocess.run(
        [*cli, "--executor", "ray", "--ray-address", ray_cluster.address],
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "cli-ray: Completed (2 training jobs)" in res.stdout
    from sagetune import api
    from sagetune.store import open_store

    opened = open_store(store)
    stored = opened.get_tuning_job("cli-ray").request["LocalExecutor"]
    assert stored["Type"] == "Ray" and stored["Address"] == ray_cluster.address
    for job in opened.list_training_jobs("cli-ray"):
        assert job.status == TrainingJobStatus.Completed, job.failure_reason
        log = Path(job.log_path or "").read_text()
        assert log.startswith("[sagetune] node: 127.0.0.1 ")
        assert (Path(job.log_path or "").parent / "output" / "model.tar.gz").is_file()
        answer = api.call(
            api.Backend(opened, start_tuner=lambda *_: None),
            "DescribeTrainingJob",
            {"TrainingJobName": job.name},
        )
        assert answer["LocalNode"]["IpAddress"] == "127.0.0.1"
        workers = {ray_cluster.node_ids["node_a"], ray_cluster.node_ids["node_b"]}
        assert answer["LocalNode"]["NodeId"] in workers
    # Nothing answers at the address: a clear error at start, the tuning job kept to resume.
    request["HyperParameterTuningJobName"] = "cli-unreachable"
    path.write_text(json.dumps(request))
    res = subprocess.run(
        [*cli, "--ray-address", "127.0.0.1:9"], capture_output=True, text=True, timeout=60, env=env
    )
    assert res.returncode == 2, res.stderr[-3000:]
    assert "cannot reach the Ray cluster at '127.0.0.1:9'" in res.stderr
    assert "resume it once the cluster is up" in res.stderr


def test_a_killed_actor_fails_its_job_as_node_lost(ray_cluster: Any, tmp_path: Path) -> None:
    import ray

    ex = RayExecutor(train=serialize_callable(callable_job))
    try:
        ex.start(JobRequest("k", hp(tmp_path, "k", epochs=1000, sleep=0.05), tmp_path / "k"))
        poll_until(ex, lambda evs: len(points(evs, "k")) >= 1, "a point", 60)
        ray.kill(ex._runs["k"].actor, no_restart=True)
        events = poll_until(ex, lambda evs: bool(finishes(evs, "k")), "the loss", 30)
    finally:
        ex.shutdown()
        remove_node_folders(tmp_path)
    (finished,) = finishes(events, "k")
    assert finished.status == TrainingJobStatus.Failed
    assert str(finished.failure_reason).startswith("node lost: the Ray node 127.0.0.1 ")


def test_a_removed_node_fails_its_attempt_and_the_retry_runs_on_the_other(
    ray_cluster: Any, tmp_path: Path
) -> None:
    script = definition(tmp_path, RetryStrategy={"MaximumRetryAttempts": 1})
    ex = RayExecutor(script, objective_metric="loss", stop_grace_seconds=1.0)
    removed = None
    try:
        ex.start(JobRequest("r", hp(tmp_path, "r", epochs=40, sleep=0.1), tmp_path / "r"))
        events = poll_until(ex, lambda evs: len(points(evs, "r")) >= 1, "a point", 60)
        node_id = str(started(events, "r").node).split()[1]
        removed = next(r for r, n in ray_cluster.node_ids.items() if n == node_id)
        ray_cluster.cluster.remove_node(ray_cluster.workers[removed], allow_graceful=False)
        events += poll_until(ex, lambda evs: bool(finishes(evs, "r")), "the retry", 120)
    finally:
        ex.shutdown()
        if removed is not None:  # the session's cluster has both workers again
            ray_cluster.add_worker(removed)
        remove_node_folders(tmp_path)
    (finished,) = finishes(events, "r")
    assert finished.status == TrainingJobStatus.Completed, finished.failure_reason
    second = [e for e in events if isinstance(e, JobStarted)][-1]
    assert second.node is not None and node_id not in second.node
    log = (tmp_path / "r" / "log.txt").read_text()
    assert "[sagetune] node lost: the Ray node 127.0.0.1" in log
    assert "----- retry 1 -----" in log
    assert isinstance(finished, JobFinished) and finished.metrics["loss"] == 2.0**-40


def test_the_median_rule_stops_a_bad_job_running_on_ray(ray_cluster: Any, tmp_path: Path) -> None:
    from sagetune import CategoricalParameter, HyperparameterTuner

    # Grid runs the levels in order, one at a time: five good curves, then a bad one that the
    # median of their running averages stops at its first epoch.
    levels = ["0.0", "0.01", "0.02", "0.03", "0.04", "5.0"]
    tuner = HyperparameterTuner(
        "loss",
        {"level": CategoricalParameter(levels)},
        objective_type="Minimize",
        strategy="Grid",
        max_jobs=len(levels),
        early_stopping_type="Auto",
        store=f"sqlite:///{tmp_path / 'tuning.db'}",
        static_hyperparameters={"epochs": 6, "sleep": 0.2},
        executor="ray",
        ray_address=ray_cluster.address,
        show_progress=False,
    )
    tuner.fit(callable_job, job_name="es")
    jobs = sorted(tuner.store.list_training_jobs("es"), key=lambda j: j.seq)
    assert [str(j.hyperparameters["level"]) for j in jobs] == levels
    for job in jobs[:-1]:
        assert job.status == TrainingJobStatus.Completed, job.failure_reason
        assert job.epochs_completed == 6
    bad = jobs[-1]
    assert bad.status == TrainingJobStatus.Stopped, bad.failure_reason
    assert bad.early_stopped and "early stopping (Auto) at epoch 1" in str(bad.failure_reason)
    assert bad.epochs_completed < 6
    assert Path(bad.log_path or "").read_text().startswith("[sagetune] node: 127.0.0.1 ")
    assert tuner.describe()["TrainingJobStatusCounters"]["Stopped"] == 1


def test_hyperband_stops_jobs_at_its_rungs_on_ray(ray_cluster: Any, tmp_path: Path) -> None:
    from sagetune import (
        ContinuousParameter,
        HyperbandStrategyConfig,
        HyperparameterTuner,
        StrategyConfig,
    )

    tuner = HyperparameterTuner(
        "loss",
        {"level": ContinuousParameter(0.0, 1.0)},
        objective_type="Minimize",
        strategy="Hyperband",
        strategy_config=StrategyConfig(HyperbandStrategyConfig(max_resource=9, min_resource=1)),
        max_jobs=5,
        random_seed=4,  # two of its five jobs are stopped at a rung
        store=f"sqlite:///{tmp_path / 'tuning.db'}",
        static_hyperparameters={"epochs": 9, "sleep": 0.1},
        executor="ray",
        ray_address=ray_cluster.address,
        show_progress=False,
    )
    tuner.fit(callable_job, job_name="hb")
    jobs = tuner.store.list_training_jobs("hb")
    stopped = [j for j in jobs if j.status == TrainingJobStatus.Stopped]
    completed = [j for j in jobs if j.status == TrainingJobStatus.Completed]
    assert stopped and completed, [(j.status, j.failure_reason) for j in jobs]
    assert len(stopped) + len(completed) == 5
    for job in stopped:
        assert job.early_stopped, job.failure_reason
        rung = re.search(
            r"stopped by Hyperband at the rung of epoch (\d+)", str(job.failure_reason)
        )
        assert rung is not None and int(rung[1]) in (1, 3), job.failure_reason  # below 9
        assert int(rung[1]) <= job.epochs_completed < 9
    for job in completed:
        assert job.epochs_completed == 9


def named_actors(prefix: str) -> list[str]:
    """The training job attempts (``<training job>/attempt-<n>``) that sagetune's slot actors
    on the cluster run now, those that start with ``prefix``."""
    from sagetune.executors.ray import cluster_jobs

    return sorted(label for label in cluster_jobs() if label.startswith(prefix))


def test_end_orphans_kills_the_actor_another_tuner_left(ray_cluster: Any, tmp_path: Path) -> None:
    # As when a tuner's lease was taken over while it still ran: its actor is alive and owned
    # by someone else; the new tuner's executor finds it by name and ends it.
    old = RayExecutor(train=serialize_callable(callable_job))
    new = RayExecutor(train=serialize_callable(callable_job))
    try:
        old.start(
            JobRequest("orphan-1", hp(tmp_path, "o", epochs=1000, sleep=0.05), tmp_path / "o")
        )
        events = poll_until(old, lambda evs: len(points(evs, "orphan-1")) >= 1, "a point", 60)
        assert named_actors("orphan-1/") == ["orphan-1/attempt-0"]
        new.end_orphans(["orphan-1", "not-running"])
        assert named_actors("orphan-1/") == []
        pid = started(events, "orphan-1").pid
        assert pid is not None and pid_gone(pid)
        events = poll_until(old, lambda evs: bool(finishes(evs, "orphan-1")), "the loss", 30)
    finally:
        old.shutdown()
        new.shutdown()
        remove_node_folders(tmp_path)
    (finished,) = finishes(events, "orphan-1")
    assert finished.status == TrainingJobStatus.Failed
    assert str(finished.failure_reason).startswith("node lost: ")


def test_a_killed_tuner_resumes_on_ray_without_orphans(ray_cluster: Any, tmp_path: Path) -> None:
    import signal
    import subprocess

    from sagetune.store import open_store

    definition(tmp_path)  # writes src/job.py
    request = {
        "HyperParameterTuningJobName": "kill-ray",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "30", "MaxValue": "50"}]
            },
            "RandomSeed": 5,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"sleep": "0.05", "sagemaker_submit_directory": "src"},
            "LocalCommand": "python job.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([-0-9.eE+]+)"}]
            },
        },
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    tune = [sys.executable, "-m", "sagetune", "tune", str(path), "--store", url, "--no-progress"]
    tuner = subprocess.Popen(
        [*tune, "--executor", "ray", "--ray-address", ray_cluster.address],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store = open_store(url)
    deadline = time.monotonic() + 120
    running: list[Any] = []
    checked = 0
    try:
        while time.monotonic() < deadline and tuner.poll() is None:
            jobs = store.list_training_jobs("kill-ray") if _exists(store, "kill-ray") else []
            done = [j for j in jobs if j.status == TrainingJobStatus.Completed]
            running = [j for j in jobs if j.status == TrainingJobStatus.InProgress]
            live = [j for j in running if j.process_id and store.metric_points([j.name])]
            for job in live if done else []:  # each job that runs has its named actor
                actors = named_actors(f"{job.name}/")
                if store.get_training_job(job.name).status != TrainingJobStatus.InProgress:
                    continue  # it ended while the cluster was asked: no actor to expect
                assert actors == [f"{job.name}/attempt-0"]
                checked += 1
            if checked:
                break
            time.sleep(0.2)
        assert tuner.poll() is None, tuner.communicate()[1][-3000:]
        assert running, "no job was running after one completed, within 120 s"
        assert checked, "no running job's actor was seen within 120 s"
        before = {j.name: j for j in store.list_training_jobs("kill-ray")}
        running = [j for j in before.values() if not j.finished]
        tuner.send_signal(signal.SIGKILL)
        tuner.wait(30)
    finally:
        if tuner.poll() is None:
            tuner.kill()
    res = subprocess.run(
        [sys.executable, "-m", "sagetune", "resume", "kill-ray", "--store", url, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = {j.name: j for j in store.list_training_jobs("kill-ray")}
    assert {j.name for j in jobs.values() if j.interrupted} == {j.name for j in running}
    for job in running:
        assert named_actors(f"{job.name}/") == []
        assert job.process_id is None or pid_gone(job.process_id)
        assert jobs[job.name].interrupted and jobs[job.name].status == TrainingJobStatus.Stopped
    completed = [j for j in jobs.values() if j.status == TrainingJobStatus.Completed]
    states = [(j.status, j.interrupted, j.failure_reason) for j in jobs.values()]
    # The interrupted jobs are replaced and not counted: four completed, exactly.
    assert len(completed) == 4 and len(jobs) == 4 + len(running), states
    for name, job in before.items():  # what had completed is kept as it was
        if job.status == TrainingJobStatus.Completed:
            assert jobs[name] == job
    assert store.get_tuning_job("kill-ray").status == "Completed"
    end = time.monotonic() + 30  # the resumed tuner's own actors end as it lets them go
    while named_actors("kill-ray-") and time.monotonic() < end:
        time.sleep(0.2)
    assert named_actors("kill-ray-") == []
    for job in running:  # an actor Ray ended with its tuner left its node folder
        for folder in Path(tempfile.gettempdir()).glob(f"sagetune-ray-*/*/{job.name}"):
            shutil.rmtree(folder.parent.parent, ignore_errors=True)


def test_a_cluster_that_goes_away_stops_the_tuning_job_to_resume(tmp_path: Path) -> None:
    """A head of its own (the session's cluster must stay up), ended under a running job."""
    import signal
    import socket
    import subprocess

    from sagetune.store import open_store

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    temp_dir = tempfile.mkdtemp(prefix="rg", dir="/tmp")  # short: Unix socket paths
    ray_cli = [sys.executable, "-c", "from ray.scripts.scripts import main; main()"]
    head = subprocess.Popen(
        [*ray_cli, "start", "--head", "--block", "--port", str(port), "--num-cpus", "1"]
        + ["--node-ip-address", "127.0.0.1", "--include-dashboard", "false"]
        + ["--temp-dir", temp_dir, "--object-store-memory", str(80 * 1024 * 1024)]
        + ["--disable-usage-stats"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its processes are ended as one group
    )
    tuner = None
    try:
        definition(tmp_path)  # writes src/job.py
        request = {
            "HyperParameterTuningJobName": "gone",
            "HyperParameterTuningJobConfig": {
                "Strategy": "Random",
                "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
                "ParameterRanges": {
                    "IntegerParameterRanges": [
                        {"Name": "epochs", "MinValue": "1000", "MaxValue": "2000"}
                    ]
                },
            },
            "TrainingJobDefinition": {
                "StaticHyperParameters": {"sleep": "0.05", "sagemaker_submit_directory": "src"},
                "LocalCommand": "python job.py",
                "AlgorithmSpecification": {
                    "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([-0-9.eE+]+)"}]
                },
            },
        }
        path = tmp_path / "request.json"
        path.write_text(json.dumps(request))
        url = f"sqlite:///{tmp_path / 'gone.db'}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        from sagetune.executors.ray import _reachable

        end = time.monotonic() + 90
        while _reachable(address) is not None and time.monotonic() < end:
            time.sleep(0.5)
        tuner = subprocess.Popen(
            [sys.executable, "-m", "sagetune", "tune", str(path), "--store", url]
            + ["--no-progress", "--executor", "ray", "--ray-address", address],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        store = open_store(url)
        end = time.monotonic() + 120
        job = None
        while job is None and time.monotonic() < end and tuner.poll() is None:
            jobs = store.list_training_jobs("gone") if _exists(store, "gone") else []
            job = next((j for j in jobs if len(store.metric_points([j.name])) >= 3), None)
            time.sleep(0.2)
        assert job is not None, "no job reported three points within 120 s"
        os.killpg(head.pid, signal.SIGKILL)  # the whole cluster goes
        head.wait(30)
        _, err = tuner.communicate(timeout=60)  # before Ray's own end of a headless driver
    finally:
        if tuner is not None and tuner.poll() is None:
            tuner.kill()
        if head.poll() is None:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert tuner.returncode == 2, err[-3000:]
    assert "Traceback" not in err
    said = f"ExecutorUnavailable: LocalExecutor.Address: the Ray cluster at '{address}' cannot"
    assert said in err and "resume with sagetune resume gone once it is back" in err, err
    record = store.get_tuning_job("gone")
    assert record.status == "Stopped" and "cannot be reached any more" in str(record.failure_reason)
    (kept,) = store.list_training_jobs("gone")  # nothing lost: the job and its points
    assert kept.status == TrainingJobStatus.Stopped and kept.interrupted
    assert len(store.metric_points([kept.name])) >= 3
    # Resumed while the cluster is still gone: a clear error, the tuning job kept.
    res = subprocess.run(
        [sys.executable, "-m", "sagetune", "resume", "gone", "--store", url, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert f"cannot reach the Ray cluster at '{address}'" in res.stderr
    assert store.get_tuning_job("gone") == record  # still Stopped, to resume: unchanged
    assert [j.name for j in store.list_training_jobs("gone")] == [kept.name]
    # The node folder of the job whose cluster was killed under it.
    for folder in Path(tempfile.gettempdir()).glob(f"sagetune-ray-*/*/{kept.name}"):
        shutil.rmtree(folder.parent.parent, ignore_errors=True)


def test_a_resume_with_the_cluster_down_leaves_the_tuning_job_as_it_was(
    ray_cluster: Any, tmp_path: Path
) -> None:
    """Stopped when its cluster went (as the runner records it), resumed while the cluster is
    still down: one line, exit 2, the record unchanged; resumed once a cluster is there: it
    runs to its end."""
    import socket
    import subprocess

    from sagetune.runner import EXECUTOR_LOST
    from sagetune.store import open_store

    with socket.socket() as s:  # bound and released: nothing listens there
        s.bind(("127.0.0.1", 0))
        down = f"127.0.0.1:{s.getsockname()[1]}"
    definition(tmp_path)  # writes src/job.py
    request = {
        "HyperParameterTuningJobName": "down",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Grid",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "1", "MaxValue": "2"}]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"sleep": "0.0", "sagemaker_submit_directory": "src"},
            "LocalCommand": "python job.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([-0-9.eE+]+)"}]
            },
        },
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    url = f"sqlite:///{tmp_path / 'down.db'}"
    # The request names no address: each tuner reads RAY_ADDRESS, so a resume may find the
    # cluster elsewhere.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

    def cli(*args: str, address: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sagetune", *args, "--store", url, "--no-progress"],
            capture_output=True,
            text=True,
            timeout=150,
            env={**env, "RAY_ADDRESS": address},
        )

    res = cli("tune", str(path), "--executor", "ray", address=down)
    assert res.returncode == 2, res.stderr[-3000:]
    store = open_store(url)
    message = "LocalExecutor.Address: the Ray cluster cannot be reached any more"
    store.update_tuning_job(  # what the runner records when its cluster goes
        "down",
        status="Stopped",
        ended_at=time.time(),
        failure_reason=message,
        details={"CompletionReason": message, EXECUTOR_LOST: True},
    )
    before = store.get_tuning_job("down")

    res = cli("resume", "down", address=down)
    assert res.returncode == 2, res.stderr[-3000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr[-3000:]
    assert f"cannot reach the Ray cluster at {down!r}" in lines[0]
    assert "is stored Stopped, unchanged: resume it once the cluster is up" in lines[0]
    assert store.get_tuning_job("down") == before  # status, reason and details kept
    assert store.list_training_jobs("down") == []

    res = cli("resume", "down", address=ray_cluster.address)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "down: Completed (2 training jobs)" in res.stdout
    record = store.get_tuning_job("down")
    assert EXECUTOR_LOST not in record.details and record.failure_reason is None
    jobs = store.list_training_jobs("down")
    assert sorted(j.hyperparameters["epochs"] for j in jobs) == [1, 2]
    assert all(j.status == TrainingJobStatus.Completed for j in jobs)
    remove_node_folders(tmp_path)


def test_checkpoints_sync_down_and_up_on_the_node(ray_cluster: Any, tmp_path: Path) -> None:
    store = tmp_path / "checkpoints"  # a folder every loopback node shares
    (store / "again").mkdir(parents=True)
    (store / "again" / "state.txt").write_text("epoch 7")
    script = definition(tmp_path, CheckpointConfig={"S3Uri": str(store)})
    ex = RayExecutor(script, objective_metric="loss", stop_grace_seconds=1.0)
    try:
        for name in ("fresh", "again"):
            ex.start(JobRequest(name, hp(tmp_path, name, epochs=2), tmp_path / "jobs" / name))
        events = poll_until(
            ex, lambda evs: bool(finishes(evs, "fresh") and finishes(evs, "again")), "both", 90
        )
    finally:
        ex.shutdown()
    for name in ("fresh", "again"):
        (finished,) = finishes(events, name)
        assert finished.status == TrainingJobStatus.Completed, finished.failure_reason
        assert (store / name / "state.txt").read_text() == "epoch 2"  # synced up
    assert "resumed from epoch 7" in (tmp_path / "jobs" / "again" / "log.txt").read_text()
    assert "resumed" not in (tmp_path / "jobs" / "fresh" / "log.txt").read_text()
