"""Managed spot training through `sagetune tune`: a real script is reclaimed, restarts from its
checkpoint and completes; its waits are not billed; MaxWaitTimeInSeconds stops a waiting job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import request, sagetune, write_request, write_script

from sagetune.store import open_store

# Writes its step to the checkpoint folder after each one, resumes from it when restarted.
CHECKPOINTING_SCRIPT = """
import argparse, os, time
from pathlib import Path
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--depth", type=int)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--sleep", type=float, default=0.3)
args, _ = p.parse_known_args()
checkpoint = Path(os.environ["SM_CHECKPOINT_DIR"]) / "step.txt"
start = int(checkpoint.read_text()) if checkpoint.exists() else 0
print(f"resumed from step {start}", flush=True)
for step in range(start + 1, args.epochs + 1):
    time.sleep(args.sleep)
    partial = checkpoint.with_suffix(".tmp")  # a reclaimed instance may die mid-write
    partial.write_text(str(step))
    os.replace(partial, checkpoint)
    print(f"epoch={step} validation:auc={0.5 + 0.01 * step:.5f}", flush=True)
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_script(tmp_path / "src", CHECKPOINTING_SCRIPT)
    return tmp_path


def store_of(work: Path) -> str:
    return f"sqlite:///{work / 'tuning.db'}"


def spot_request(name: str, work: Path, **definition: Any) -> dict[str, Any]:
    req = request(
        name,
        max_jobs=1,
        parallel=1,
        EnableManagedSpotTraining=True,
        CheckpointConfig={"S3Uri": f"file://{work / 'bucket' / 'checkpoints'}"},
        **definition,
    )
    req["LocalPricing"] = {"InstancePricesPerHour": {"ml.m5.xlarge": 0.36}, "SpotDiscount": 0.7}
    return req


def cli_json(*args: str, work: Path) -> Any:
    return json.loads(sagetune(*args, store=store_of(work), check=True).stdout)


def test_an_interrupted_job_restarts_from_its_checkpoint_and_bills_only_its_running_time(
    work: Path,
) -> None:
    req = spot_request(
        "spotty",
        work,
        StoppingCondition={"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
        LocalSpotInterruptions={"AfterSeconds": [1.0], "RestartDelaySeconds": 1.5},
    )
    res = sagetune("tune", str(write_request(work, req)), store=store_of(work), cwd=work)
    assert res.returncode == 0, res.stderr
    store = open_store(store_of(work))
    (job,) = store.list_training_jobs("spotty")
    assert job.status == "Completed" and job.objective == pytest.approx(0.55)

    log = Path(job.log_path or "").read_text()
    line = (
        "----- spot interruption 1: the instance was reclaimed; restarting from checkpoints -----"
    )
    assert log.count(line) == 1 and "spot interruption 2" not in log
    before, after = log.split(line)
    assert "resumed from step 0" in before
    resumed = int(after.split("resumed from step ")[1].split()[0])
    assert resumed > 0  # the restarted process picked up its checkpoint
    # The step counter goes on across the restart: one series, no gap, no repeat.
    steps = [p.step for p in store.metric_points([job.name]) if p.metric_name == "validation:auc"]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 5

    # Checkpoints reached CheckpointConfig.S3Uri, in the training job's own folder.
    synced = work / "bucket" / "checkpoints" / job.name / "step.txt"
    assert synced.read_text() == "5"

    assert job.started_at is not None and job.ended_at is not None
    wall = job.ended_at - job.started_at
    assert job.billable_seconds is not None and job.billable_seconds < wall - 1.0

    described = cli_json("describe-training-job", "--training-job-name", job.name, work=work)
    assert described["EnableManagedSpotTraining"] is True
    assert described["CheckpointConfig"]["S3Uri"].startswith("file://")
    assert described["BillableTimeInSeconds"] < described["TrainingTimeInSeconds"]

    cost = cli_json("cost", "spotty", "--json", work=work)
    (row,) = cost["TrainingJobs"]
    on_demand = row["BillableTimeInSeconds"] / 3600 * 0.36
    assert row["ManagedSpotTraining"] is True
    assert row["Cost"] == pytest.approx(on_demand * 0.3, abs=1e-6)
    assert row["SpotSavedCost"] == pytest.approx(on_demand * 0.7, abs=1e-6)
    assert cost["ManagedSpotTrainingJobs"] == 1 and cost["SpotSavedCost"] > 0
    text = sagetune("cost", "spotty", store=store_of(work), check=True).stdout
    assert "managed spot: 1 jobs" in text and "SpotDiscount 0.7" in text


def test_waiting_for_capacity_past_max_wait_time_stops_the_job(work: Path) -> None:
    req = spot_request(
        "impatient",
        work,
        static={"epochs": "100"},
        StoppingCondition={"MaxRuntimeInSeconds": 2, "MaxWaitTimeInSeconds": 2},
        LocalSpotInterruptions={"AfterSeconds": [0.5], "RestartDelaySeconds": 60},
    )
    res = sagetune("tune", str(write_request(work, req)), store=store_of(work), timeout=60)
    assert res.returncode == 0, res.stderr
    (job,) = open_store(store_of(work)).list_training_jobs("impatient")
    assert job.status == "Stopped"
    assert job.failure_reason is not None
    assert job.failure_reason.startswith("MaxWaitTimeInSeconds (2 s) exceeded")
    assert "(after 1 spot interruption)" in job.failure_reason
    assert job.ended_at is not None and job.started_at is not None
    assert job.ended_at - job.started_at < 10  # not the 60 s wait for capacity
    described = cli_json("describe-training-job", "--training-job-name", job.name, work=work)
    assert described["TrainingJobStatus"] == "Stopped"
    assert described["SecondaryStatus"] == "MaxWaitTimeExceeded"


def test_checkpoints_in_s3_carry_an_interrupted_job_over_its_restart(
    work: Path, s3_env: Any
) -> None:
    s3_env.bucket("spot-bucket")
    req = spot_request(
        "spot-s3",
        work,
        StoppingCondition={"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
        LocalSpotInterruptions={"AfterSeconds": [1.0]},
    )
    req["TrainingJobDefinition"]["CheckpointConfig"] = {"S3Uri": "s3://spot-bucket/ckpt"}
    res = sagetune("tune", str(write_request(work, req)), store=store_of(work), cwd=work)
    assert res.returncode == 0, res.stderr
    (job,) = open_store(store_of(work)).list_training_jobs("spot-s3")
    assert job.status == "Completed", job.failure_reason
    after = Path(job.log_path or "").read_text().split("spot interruption 1")[1]
    assert int(after.split("resumed from step ")[1].split()[0]) > 0
    body = s3_env.client().get_object(Bucket="spot-bucket", Key=f"ckpt/{job.name}/step.txt")
    assert body["Body"].read() == b"5"
