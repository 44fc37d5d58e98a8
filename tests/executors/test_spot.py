"""CheckpointConfig and simulated spot interruptions: the rules of the request members, the
seeded rate, the checkpoint sync, and the executor's handling of reclaimed jobs.

The whole scenario through `sagetune tune` is in tests/cli/test_spot_training.py."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from sagetune.checkpoints import CheckpointSyncError, sync_down, sync_up
from sagetune.errors import ValidationError
from sagetune.executors.base import Event, JobFinished, JobRequest, JobStarted
from sagetune.executors.subprocess import SubprocessExecutor
from sagetune.spec import parse_request
from sagetune.spot import SpotInterruptions
from sagetune.training import parse_script_definition

D = "TrainingJobDefinition"

SCRIPT = """
import time
print("loss=1.0", flush=True)
time.sleep(30)
"""


def spot_request(tmp_path: Path, **definition: Any) -> dict[str, Any]:
    (tmp_path / "train.py").write_text("print('loss=0.5')\n")
    body: dict[str, Any] = {
        "StaticHyperParameters": {"sagemaker_program": "train.py"},
        "AlgorithmSpecification": {
            "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}]
        },
        "EnableManagedSpotTraining": True,
        "StoppingCondition": {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
        "LocalSpotInterruptions": {"AfterSeconds": [1.0]},
    }
    body.update(definition)
    return {
        "HyperParameterTuningJobName": "spot",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 1, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.1", "MaxValue": "1"}]
            },
        },
        D: {k: v for k, v in body.items() if v is not None},
    }


def errors_of(request: dict[str, Any], base: Path) -> list[str]:
    with pytest.raises(ValidationError) as info:
        parse_request(request, base)
    return info.value.errors


def test_a_valid_spot_definition_is_parsed(tmp_path: Path) -> None:
    req = spot_request(
        tmp_path,
        CheckpointConfig={"S3Uri": "checkpoints", "LocalPath": "/somewhere/else"},
        LocalSpotInterruptions={"MeanSecondsBetween": 600, "Seed": 7, "RestartDelaySeconds": 2},
    )
    spec = parse_request(req, tmp_path)
    script = spec.definition(None).script
    assert script is not None and script.managed_spot
    assert script.max_wait_time_in_seconds == 120
    assert script.spot_interruptions == SpotInterruptions(
        mean_seconds_between=600.0, seed=7, restart_delay_seconds=2.0
    )
    assert script.checkpoint is not None and script.checkpoint.uri == "checkpoints"
    assert script.checkpoint.base_dir == tmp_path.resolve()


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"EnableManagedSpotTraining": None}, f"{D}.LocalSpotInterruptions", "need"),
        (
            {"EnableManagedSpotTraining": False, "LocalSpotInterruptions": None},
            f"{D}.StoppingCondition.MaxWaitTimeInSeconds",
            "only supported when EnableManagedSpotTraining is set to true",
        ),
        (
            {"StoppingCondition": {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 30}},
            f"{D}.StoppingCondition.MaxWaitTimeInSeconds",
            "greater than or equal to MaxRuntimeInSeconds (60)",
        ),
        (
            {"StoppingCondition": {"MaxWaitTimeInSeconds": 3600}},  # MaxRuntime: one day
            f"{D}.StoppingCondition.MaxWaitTimeInSeconds",
            "(86400, its default)",
        ),
        (
            {"StoppingCondition": {"MaxRuntimeInSeconds": 60}},
            f"{D}.StoppingCondition.MaxWaitTimeInSeconds",
            "required when EnableManagedSpotTraining is set to true",
        ),
        ({"LocalSpotInterruptions": {"AfterSeconds": [1, 0]}}, "AfterSeconds", "> 0"),
        ({"LocalSpotInterruptions": {"AfterSeconds": []}}, "AfterSeconds", "1 to 1000"),
        ({"LocalSpotInterruptions": {"AfterSeconds": ["2"]}}, "AfterSeconds", "numbers"),
        ({"LocalSpotInterruptions": {"AfterSeconds": 2}}, "AfterSeconds", "a list"),
        (
            {"LocalSpotInterruptions": {"AfterSeconds": [1], "MeanSecondsBetween": 5}},
            f"{D}.LocalSpotInterruptions",
            "either AfterSeconds or MeanSecondsBetween",
        ),
        ({"LocalSpotInterruptions": {"MeanSecondsBetween": -1}}, "MeanSecondsBetween", "> 0"),
        ({"LocalSpotInterruptions": {"MeanSecondsBetween": 9, "Seed": 1.5}}, "Seed", "integer"),
        ({"LocalSpotInterruptions": {"AfterSeconds": [1], "Seed": 1}}, "Seed", "only with"),
        (
            {"LocalSpotInterruptions": {"AfterSeconds": [1], "RestartDelaySeconds": -2}},
            "RestartDelaySeconds",
            ">= 0",
        ),
        ({"LocalSpotInterruptions": {"AfterSecond": [1]}}, "AfterSecond", "unknown member"),
        ({"LocalSpotInterruptions": [1.0]}, f"{D}.LocalSpotInterruptions", "an object"),
        (
            {"CheckpointConfig": {"S3Uri": "https://example.com/ckpt"}},
            f"{D}.CheckpointConfig.S3Uri",
            "cannot be used locally",
        ),
    ],
)
def test_bad_spot_settings_name_the_field(
    tmp_path: Path, change: dict[str, Any], field: str, rule: str
) -> None:
    req = spot_request(tmp_path)
    for key, value in change.items():
        if value is None:
            req[D].pop(key, None)
        else:
            req[D][key] = value
    errors = errors_of(req, tmp_path)
    assert any(field in e and rule in e for e in errors), errors


def test_the_seeded_rate_gives_the_same_interruptions_for_the_same_seed() -> None:
    def first(spot: SpotInterruptions, name: str, n: int = 5) -> list[float]:
        gaps = spot.gaps(name)
        return [next(gaps) for _ in range(n)]

    rate = SpotInterruptions(mean_seconds_between=600.0, seed=7)
    again = SpotInterruptions(mean_seconds_between=600.0, seed=7)
    assert first(rate, "job-001") == first(again, "job-001")
    assert first(rate, "job-001") != first(rate, "job-002")  # each job its own draws
    assert first(rate, "job-001") != first(SpotInterruptions(mean_seconds_between=600.0), "job-001")
    many = first(rate, "job-001", 2000)
    assert all(g > 0 for g in many) and 500 < sum(many) / len(many) < 700
    assert list(SpotInterruptions(after_seconds=(2.0, 3.5)).gaps("x")) == [2.0, 3.5]


def test_sync_copies_new_and_changed_files_only(tmp_path: Path) -> None:
    local, bucket = tmp_path / "local", tmp_path / "bucket"
    local.mkdir()
    (local / "a.txt").write_text("1")
    (local / "sub").mkdir()
    (local / "sub" / "b.txt").write_text("2")
    assert sync_up(local, f"file://{bucket}") == 2
    assert (bucket / "sub" / "b.txt").read_text() == "2"
    assert sync_up(local, f"file://{bucket}") == 0  # nothing changed
    (local / "a.txt").write_text("3")  # same size, newer
    os.utime(local / "a.txt", ns=(time.time_ns() + 10**9,) * 2)
    assert sync_up(local, str(bucket)) == 1 and (bucket / "a.txt").read_text() == "3"
    fresh = tmp_path / "fresh"
    assert sync_down("bucket", fresh, base_dir=tmp_path) == 2
    assert (fresh / "a.txt").read_text() == "3"
    assert sync_down(str(tmp_path / "nothing-yet"), tmp_path / "empty") == 0
    (tmp_path / "a-file").write_text("")
    with pytest.raises(CheckpointSyncError, match="a-file"):
        sync_up(local, str(tmp_path / "a-file" / "under"))


def executor(tmp_path: Path, script: str = SCRIPT, **definition: Any) -> SubprocessExecutor:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "job.py").write_text(script)
    errors: list[str] = []
    parsed = parse_script_definition(
        {
            "LocalCommand": "python job.py",
            "AlgorithmSpecification": {
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([-0-9.eE+]+)"}]
            },
            "EnableManagedSpotTraining": True,
            "StoppingCondition": {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 60},
            **definition,
        },
        "loss",
        source,
        errors,
    )
    assert parsed is not None and not errors, errors
    return SubprocessExecutor(parsed, "loss", stop_grace_seconds=1.0)


def poll_until(ex: SubprocessExecutor, done: Any, seconds: float = 15.0) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + seconds
    while not done(events):
        assert time.monotonic() < deadline, events[-5:]
        events += ex.poll(0.1)
    return events


def test_stopping_a_job_waiting_for_capacity_ends_it_at_once(tmp_path: Path) -> None:
    ex = executor(
        tmp_path, LocalSpotInterruptions={"AfterSeconds": [0.3], "RestartDelaySeconds": 60}
    )
    job = JobRequest("waiting-1", {}, tmp_path / "jobs" / "waiting-1")
    try:
        ex.start(job)
        log = job.job_dir / "log.txt"
        poll_until(ex, lambda _: log.exists() and "spot interruption 1" in log.read_text())
        asked = time.monotonic()
        ex.stop(job.name, "stopped by request")
        events = poll_until(ex, lambda evs: any(isinstance(e, JobFinished) for e in evs))
        assert time.monotonic() - asked < 1.0
        (end,) = [e for e in events if isinstance(e, JobFinished)]
        assert end.status == "Stopped"
        assert end.failure_reason == "stopped by request (after 1 spot interruption)"
        assert end.billable_seconds is not None and 0.2 < end.billable_seconds < 2.0
        assert ex.running == set()
    finally:
        ex.shutdown()


def test_a_checkpoint_sync_failure_fails_the_job_naming_the_uri(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")
    uri = f"file://{tmp_path / 'not-a-folder'}"
    script = (
        "import os\n"
        "open(os.path.join(os.environ['SM_CHECKPOINT_DIR'], 'step'), 'w').write('1')\n"
        "print('loss=0.5')\n"
    )
    ex = executor(tmp_path, script, CheckpointConfig={"S3Uri": uri})
    job = JobRequest("doomed-1", {}, tmp_path / "jobs" / "doomed-1")
    try:
        ex.start(job)
        events = poll_until(ex, lambda evs: any(isinstance(e, JobFinished) for e in evs))
        (end,) = [e for e in events if isinstance(e, JobFinished)]
        assert any(isinstance(e, JobStarted) for e in events)  # nothing to download yet
        assert end.status == "Failed"  # the script completed, its checkpoints were lost
        assert end.failure_reason is not None
        assert end.failure_reason.startswith("ClientError: could not upload the checkpoints")
        assert f"{uri}/doomed-1" in end.failure_reason
        assert "could not upload" in (job.job_dir / "log.txt").read_text()
    finally:
        ex.shutdown()
