"""The CLI verbs: answers in boto3's shapes, bad input, detached jobs, stop, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import request, sagetune, wait_for, write_request, write_script

from sagetune.store import open_store


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_script(tmp_path / "src")
    return tmp_path


def url(work: Path) -> str:
    return f"sqlite:///{work / 'tuning.db'}"


def test_answers_use_boto3_field_names(work: Path) -> None:
    sagetune(
        "tune",
        str(write_request(work, request("answers", max_jobs=3))),
        store=url(work),
        check=True,
    )
    d = json.loads(
        sagetune(
            "describe-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "answers",
            store=url(work),
            check=True,
        ).stdout
    )
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["HyperParameterTuningJobArn"].startswith(
        "arn:aws:sagemaker:local:000000000000:hyper-parameter-tuning-job/"
    )
    assert d["TrainingJobStatusCounters"]["Completed"] == 3
    assert d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == (
        "validation:auc"
    )
    assert d["TrainingJobDefinition"]["RoleArn"].startswith("arn:aws:iam")  # cloud field kept
    assert d["CreationTime"].endswith("+00:00")

    listed = json.loads(
        sagetune(
            "list-training-jobs-for-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "answers",
            "--sort-by",
            "FinalObjectiveMetricValue",
            "--sort-order",
            "Descending",
            store=url(work),
            check=True,
        ).stdout
    )["TrainingJobSummaries"]
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in listed]
    assert values == sorted(values, reverse=True) and len(values) == 3
    assert listed[0]["TrainingJobName"] == d["BestTrainingJob"]["TrainingJobName"]
    one = json.loads(
        sagetune(
            "list-training-jobs-for-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "answers",
            "--max-results",
            "1",
            "--status-equals",
            "Completed",
            store=url(work),
            check=True,
        ).stdout
    )["TrainingJobSummaries"]
    assert len(one) == 1

    t = json.loads(
        sagetune(
            "describe-training-job",
            "--training-job-name",
            listed[0]["TrainingJobName"],
            store=url(work),
            check=True,
        ).stdout
    )
    assert t["TrainingJobStatus"] == "Completed" and t["SecondaryStatus"] == "Completed"
    assert t["HyperParameters"]["sagemaker_program"] == "train.py"
    assert t["HyperParameters"]["lr"] == listed[0]["TunedHyperParameters"]["lr"]
    assert {m["MetricName"] for m in t["FinalMetricDataList"]} == {"validation:auc", "train:loss"}
    # No S3OutputPath: the placeholder bucket stands for the job folders, where the file is.
    artifacts = t["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifacts == f"s3://sagetune-local/answers/{t['TrainingJobName']}/output/model.tar.gz"
    tail = Path(*artifacts.split("/")[3:])
    assert [p for p in work.rglob("model.tar.gz") if p.as_posix().endswith(tail.as_posix())]
    assert t["TuningJobArn"] == d["HyperParameterTuningJobArn"]

    jobs = json.loads(
        sagetune("list-hyper-parameter-tuning-jobs", store=url(work), check=True).stdout
    )["HyperParameterTuningJobSummaries"]
    assert [j["HyperParameterTuningJobName"] for j in jobs] == ["answers"]
    assert (
        jobs[0]["Strategy"] == "Random"
        and jobs[0]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 3
    )

    logs = sagetune("logs", listed[0]["TrainingJobName"], store=url(work), check=True).stdout
    assert logs.count("validation:auc=") == 3
    table = sagetune("ls", store=url(work), check=True, env={**os.environ, "COLUMNS": "150"})
    assert "answers" in table.stdout and "Completed" in table.stdout and "3/3" in table.stdout


def test_store_option_before_or_after_the_verb_and_from_the_environment(work: Path) -> None:
    sagetune(
        "tune", str(write_request(work, request("where", max_jobs=1))), store=url(work), check=True
    )
    args = ["describe-hyper-parameter-tuning-job", "--hyper-parameter-tuning-job-name", "where"]
    before = subprocess.run(
        [sys.executable, "-m", "sagetune", "--store", url(work), *args],
        capture_output=True,
        text=True,
    )
    after = sagetune(*args, store=url(work))
    env = subprocess.run(
        [sys.executable, "-m", "sagetune", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SAGETUNE_STORE": url(work)},
    )
    for res in (before, after, env):
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["HyperParameterTuningJobName"] == "where"
    missing = sagetune(*args, store=f"sqlite:///{work / 'other.db'}")
    assert missing.returncode == 2
    assert "ResourceNotFound: no tuning job named 'where'" in missing.stderr
    assert "Traceback" not in missing.stderr


BAD = [
    (
        "log min",
        lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
            "ContinuousParameterRanges"
        ][0].update(MinValue="0"),
        "HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[lr]: ScalingType "
        "Logarithmic requires MinValue > 0, got 0.0",
    ),
    (
        "parallel",
        lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(
            MaxNumberOfTrainingJobs=10, MaxParallelTrainingJobs=20
        ),
        "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs: must be <= "
        "MaxNumberOfTrainingJobs (10), got 20",
    ),
    (
        "no metric definition",
        lambda r: r["TrainingJobDefinition"]["AlgorithmSpecification"].update(MetricDefinitions=[]),
        "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions: the objective metric "
        "'validation:auc' needs a metric definition",
    ),
    (
        "regex without group",
        lambda r: r["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"][
            0
        ].update(Regex="validation:auc=[0-9.]+"),
        "MetricDefinitions[validation:auc].Regex: must have a capture group",
    ),
    (
        "bad regex",
        lambda r: r["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"][
            0
        ].update(Regex="(unclosed"),
        "MetricDefinitions[validation:auc].Regex: is not a valid regular expression",
    ),
    (
        "missing program",
        lambda r: r["TrainingJobDefinition"]["StaticHyperParameters"].update(
            sagemaker_program="nope.py"
        ),
        "TrainingJobDefinition.StaticHyperParameters.sagemaker_program: 'nope.py' is not a file",
    ),
    (
        "s3 source not an archive",
        lambda r: r["TrainingJobDefinition"]["StaticHyperParameters"].update(
            sagemaker_submit_directory="s3://bucket/code/"
        ),
        "sagemaker_submit_directory: an s3:// submit directory must be a .tar.gz",
    ),
    (
        "runtime",
        lambda r: r["TrainingJobDefinition"].update(StoppingCondition={"MaxRuntimeInSeconds": 0}),
        "TrainingJobDefinition.StoppingCondition.MaxRuntimeInSeconds: must be an integer >= 1",
    ),
    (
        "retries",
        lambda r: r["TrainingJobDefinition"].update(RetryStrategy={"MaximumRetryAttempts": 31}),
        "TrainingJobDefinition.RetryStrategy.MaximumRetryAttempts: must be an integer from 1 to 30",
    ),
    (
        "both ways to start",
        lambda r: r["TrainingJobDefinition"].update(LocalCommand="python x"),
        "give either StaticHyperParameters.sagemaker_program or LocalCommand, not both",
    ),
    (
        "channel path",
        lambda r: r["TrainingJobDefinition"].update(
            InputDataConfig=[
                {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "/no/such/dir"}}}
            ]
        ),
        "TrainingJobDefinition.InputDataConfig[train].DataSource: '/no/such/dir' does not exist",
    ),
    (
        "unknown member (service model)",
        lambda r: r["TrainingJobDefinition"].update(StoppingConditions={}),
        "TrainingJobDefinition.StoppingConditions: unknown member (SageMaker's "
        "TrainingJobDefinition has no such member; did you mean StoppingCondition?)",
    ),
    (
        "input mode (service model)",
        lambda r: r["TrainingJobDefinition"]["AlgorithmSpecification"].update(
            TrainingInputMode="Stream"
        ),
        "TrainingJobDefinition.AlgorithmSpecification.TrainingInputMode: must be one of Pipe, "
        "File, FastFile, got 'Stream'",
    ),
    (
        "resource config a list (service model)",
        lambda r: r["TrainingJobDefinition"].update(ResourceConfig=[{"InstanceCount": 1}]),
        "TrainingJobDefinition.ResourceConfig: must be an object, got a list",
    ),
    (
        "warm start",
        lambda r: r.update(
            WarmStartConfig={
                "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "p"}],
                "WarmStartType": "IdenticalDataAndAlgorithm",
            }
        ),
        "WarmStartConfig.ParentHyperParameterTuningJobs[p]: no tuning job named 'p'",
    ),
]


@pytest.mark.parametrize("edit,expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_bad_request_names_the_field_and_stores_nothing(work: Path, edit, expected) -> None:
    req = request("bad")
    edit(req)
    path = write_request(work, req)
    for verb in (
        ["tune", str(path)],
        ["create-hyper-parameter-tuning-job", "--cli-input-json", f"file://{path}"],
    ):
        res = sagetune(*verb, store=url(work))
        assert res.returncode == 2, res.stderr
        assert expected in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
    assert open_store(url(work)).list_tuning_jobs() == []


def test_several_errors_are_listed_at_once_and_junk_files_are_refused(work: Path) -> None:
    req = request("many")
    req["HyperParameterTuningJobConfig"]["Strategy"] = "Evolution"
    req["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 0
    res = sagetune("tune", str(write_request(work, req)), store=url(work))
    assert res.returncode == 2 and "2 validation errors" in res.stderr
    junk = work / "junk.json"
    junk.write_text("{not json")
    res = sagetune("tune", str(junk), store=url(work))
    assert res.returncode == 2 and "request: not valid JSON" in res.stderr
    for missing in ("missing.json", "file://missing.json", "conf/missing"):
        res = sagetune("tune", missing, store=url(work), cwd=work)
        assert res.returncode == 2, res.stderr
        assert "request: no such file" in res.stderr and "missing" in res.stderr
        assert "Traceback" not in res.stderr


def _describe(work: Path, name: str) -> dict:
    res = sagetune(
        "describe-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        name,
        store=url(work),
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_detached_job_readers_and_stop(work: Path) -> None:
    # About a minute of training if nothing stopped it, so that on a loaded machine the job is
    # still running when the readers, the second tuner and the stop arrive; the stop ends it.
    req = request("detached", max_jobs=60, parallel=2, static={"epochs": "4", "sleep": "0.5"})
    path = write_request(work, req)
    start = time.time()
    res = sagetune(
        "create-hyper-parameter-tuning-job", "--cli-input-json", f"file://{path}", store=url(work)
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {
        "HyperParameterTuningJobArn": (
            "arn:aws:sagemaker:local:000000000000:hyper-parameter-tuning-job/detached"
        )
    }
    assert time.time() - start < 20  # it returned while the job runs in the background
    # Two readers while the tuner writes: neither sees a locked database.
    readers = [
        subprocess.Popen(
            [sys.executable, "-m", "sagetune", verb, *args, "--store", url(work)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for verb, args in [
            (
                "describe-hyper-parameter-tuning-job",
                ["--hyper-parameter-tuning-job-name", "detached"],
            ),
            (
                "list-training-jobs-for-hyper-parameter-tuning-job",
                ["--hyper-parameter-tuning-job-name", "detached"],
            ),
        ]
        * 3
    ]
    wait_for(
        lambda: _describe(work, "detached")["TrainingJobStatusCounters"]["Completed"] >= 2,
        what="two completed training jobs",
    )
    for r in readers:
        out, err = r.communicate(timeout=60)
        assert r.returncode == 0 and "locked" not in err, err
        json.loads(out)
    res = sagetune("resume", "detached", store=url(work))
    assert res.returncode == 2 and "is being run by another tuner" in res.stderr

    sagetune(
        "stop-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        "detached",
        store=url(work),
        check=True,
    )
    assert _describe(work, "detached")["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    final = wait_for(
        lambda: (
            (d := _describe(work, "detached"))["HyperParameterTuningJobStatus"] == "Stopped" and d
        ),
        what="Stopped",
    )
    counters = final["TrainingJobStatusCounters"]
    assert counters["InProgress"] == 0 and counters["Stopped"] >= 1
    assert counters["Completed"] < 60
    tuner_log = sagetune("logs", "detached", store=url(work), check=True).stdout
    assert "detached: Stopped" in tuner_log


def test_kill_the_tuner_and_resume_loses_nothing(work: Path) -> None:
    req = request("killed", max_jobs=8, parallel=2, static={"epochs": "3", "sleep": "0.3"})
    path = write_request(work, req)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagetune",
            "tune",
            str(path),
            "--store",
            url(work),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    def state() -> tuple[list, list]:
        if not (work / "tuning.db").exists():
            return [], []
        store = open_store(url(work))
        if not store.list_tuning_jobs():
            return [], []
        jobs = store.list_training_jobs("killed")
        return [j for j in jobs if j.status == "Completed"], [
            j for j in jobs if j.status == "InProgress"
        ]

    wait_for(
        lambda: len(state()[0]) >= 3 and len(state()[1]) >= 1,
        timeout=90,
        what="three completed jobs and one running",
    )
    os.kill(proc.pid, signal.SIGKILL)  # the tuner only: its training scripts live on
    proc.wait(timeout=30)
    store = open_store(url(work))
    before = {j.name: j for j in store.list_training_jobs("killed")}
    running = [j for j in before.values() if j.status == "InProgress"]
    assert running and store.get_tuning_job("killed").status == "InProgress"

    res = sagetune("resume", "killed", "--no-progress", store=url(work))
    assert res.returncode == 0, res.stderr
    after = {j.name: j for j in store.list_training_jobs("killed")}
    for name, job in before.items():
        if job.status == "Completed":
            assert after[name] == job  # kept exactly
    for job in running:
        assert after[job.name].status == "Stopped" and after[job.name].interrupted
        assert "interrupted" in after[job.name].failure_reason
        if job.process_id:
            with pytest.raises(ProcessLookupError):
                os.killpg(job.process_id, 0)  # its orphaned script was ended
    counted = [j for j in after.values() if not j.interrupted]
    assert len(counted) == 8  # replaced, and never more than MaxNumberOfTrainingJobs
    d = _describe(work, "killed")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["Completed"] == 8
    assert d["TrainingJobStatusCounters"]["Stopped"] == len(running)
    # ls counts as MaxNumberOfTrainingJobs does: the interrupted jobs were replaced.
    table = sagetune("ls", store=url(work), check=True, env={**os.environ, "COLUMNS": "150"})
    row = next(line for line in table.stdout.splitlines() if "killed" in line)
    assert [cell.strip() for cell in row.split("│")][3] == "8/8", row
