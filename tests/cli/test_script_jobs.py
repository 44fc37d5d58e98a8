"""Script-mode training jobs through `sagetune tune`: real scripts, real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import tarfile
from pathlib import Path

import pytest
from cli_helpers import request, sagetune, wait_for, write_request, write_script

from sagetune.store import open_store


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_script(tmp_path / "src")
    return tmp_path


def store_of(work: Path) -> str:
    return f"sqlite:///{work / 'tuning.db'}"


def test_a_sagemaker_script_mode_request_runs_unchanged(work: Path) -> None:
    path = write_request(work, request("scripted", max_jobs=4, parallel=2))
    res = sagetune("tune", str(path), store=store_of(work), cwd=work)
    assert res.returncode == 0, res.stderr
    assert "scripted: Completed (4 training jobs)" in res.stdout
    assert "InstanceCount and VolumeSizeInGB mean nothing locally" in res.stderr
    store = open_store(store_of(work))
    jobs = store.list_training_jobs("scripted")
    assert [j.status for j in jobs] == ["Completed"] * 4
    for job in jobs:
        points = store.metric_points([job.name])
        auc = [p for p in points if p.metric_name == "validation:auc"]
        assert [p.step for p in auc] == [1, 2, 3]  # one point per match, in order
        assert job.objective == auc[-1].value  # the last match is the final value
        assert job.final_metrics["train:loss"] == pytest.approx(1 / 3, abs=1e-4)
        assert all(p.timestamp >= job.started_at for p in points)
        assert Path(job.log_path).read_text().count("validation:auc=") == 3


def test_hyperparameters_arrive_as_sagemaker_delivers_them(work: Path) -> None:
    write_script(
        work / "src",
        """
        import json, os, sys
        out = os.environ["SM_OUTPUT_DATA_DIR"]
        cfg = os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")
        with open(os.path.join(out, "seen.json"), "w") as f:
            json.dump({"argv": sys.argv[1:], "file": json.load(open(cfg)),
                       "hps": json.loads(os.environ["SM_HPS"]),
                       "env": {k: v for k, v in os.environ.items() if k.startswith("SM_")},
                       "cwd": os.getcwd(),
                       "channel": sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"]))}, f)
        open(os.path.join(os.environ["SM_MODEL_DIR"], "model.bin"), "w").write("m")
        print("validation:auc=0.5")
    """,
    )
    data = work / "data"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n")
    req = request(
        "delivered",
        max_jobs=1,
        parallel=1,
        static={"epochs": "7"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"file://{data}"}
                },
            }
        ],
    )
    sagetune("tune", str(write_request(work, req)), store=store_of(work), check=True)
    job = open_store(store_of(work)).list_training_jobs("delivered")[0]
    job_dir = Path(job.log_path).parent
    seen = json.loads((job_dir / "output" / "data" / "seen.json").read_text())
    lr, depth = job.hyperparameters["lr"], job.hyperparameters["depth"]
    argv = seen["argv"]
    assert argv[argv.index("--lr") + 1] == str(lr) and argv[argv.index("--depth") + 1] == str(depth)
    assert argv[argv.index("--epochs") + 1] == "7"
    assert not any(a.startswith("--sagemaker_") for a in argv)
    assert seen["file"]["epochs"] == "7" and seen["file"]["depth"] == str(depth)
    assert seen["file"]["sagemaker_program"] == "train.py"
    assert seen["hps"] == {"epochs": 7, "lr": lr, "depth": depth}
    env = seen["env"]
    assert env["SM_MODEL_DIR"] == str(job_dir / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(job_dir / "output" / "data")
    assert env["SM_CHANNEL_TRAIN"] == str(job_dir / "input" / "data" / "train")
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert int(env["SM_NUM_CPUS"]) == os.cpu_count()
    assert env["SM_HP_DEPTH"] == str(depth) and env["SM_USER_ENTRY_POINT"] == "train.py"
    assert seen["channel"] == ["train.csv"]
    assert seen["cwd"] == str((work / "src").resolve())
    assert (job_dir / "model" / "model.bin").exists()


def test_hyperparameters_json_encoded_by_the_sdk_are_decoded_as_the_toolkit_does(
    work: Path,
) -> None:
    # The SageMaker Python SDK JSON-encodes every value: strings arrive quoted.
    write_script(
        work / "src",
        """
        import json, os, sys
        cfg = os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json")
        with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w") as f:
            json.dump({"argv": sys.argv[1:], "file": json.load(open(cfg)),
                       "hps": json.loads(os.environ["SM_HPS"]),
                       "hp_objective": os.environ["SM_HP_OBJECTIVE"],
                       "hp_eta": os.environ["SM_HP_ETA"],
                       "entry": os.environ["SM_USER_ENTRY_POINT"]}, f)
        print("validation:auc=0.5")
    """,
        name="entry.py",
    )
    req = request(
        "encoded",
        max_jobs=1,
        parallel=1,
        static={
            "sagemaker_program": json.dumps("entry.py"),
            "sagemaker_submit_directory": json.dumps("src"),
            "objective": json.dumps("binary:logistic"),
            "eta": "0.1",
            "plain": "not json",
        },
    )
    sagetune("tune", str(write_request(work, req)), store=store_of(work), check=True)
    job = open_store(store_of(work)).list_training_jobs("encoded")[0]
    assert job.status == "Completed", job.failure_reason
    seen = json.loads((Path(job.log_path).parent / "output" / "data" / "seen.json").read_text())
    argv = seen["argv"]
    assert argv[argv.index("--objective") + 1] == "binary:logistic"
    assert argv[argv.index("--eta") + 1] == "0.1"
    assert argv[argv.index("--plain") + 1] == "not json"
    assert seen["hps"]["objective"] == "binary:logistic" and seen["hps"]["eta"] == 0.1
    assert seen["hps"]["plain"] == "not json"
    assert (seen["hp_objective"], seen["hp_eta"], seen["entry"]) == (
        "binary:logistic",
        "0.1",
        "entry.py",
    )
    # hyperparameters.json keeps the strings as SageMaker writes them.
    assert seen["file"]["objective"] == '"binary:logistic"'
    assert seen["file"]["sagemaker_program"] == '"entry.py"'


def test_source_as_tar_gz_and_file_url_and_local_command(work: Path) -> None:
    archive = work / "sourcedir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(work / "src" / "train.py", arcname="train.py")
    req = request(
        "targz", max_jobs=2, parallel=1, static={"sagemaker_submit_directory": f"file://{archive}"}
    )
    sagetune("tune", str(write_request(work, req)), store=store_of(work), check=True)
    req = request("command", max_jobs=2, parallel=1, LocalCommand="python train.py --epochs 2")
    del req["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"]
    sagetune("tune", str(write_request(work, req)), store=store_of(work), check=True)
    store = open_store(store_of(work))
    assert [j.status for j in store.list_training_jobs("targz")] == ["Completed"] * 2
    jobs = store.list_training_jobs("command")
    assert [j.status for j in jobs] == ["Completed"] * 2
    assert (
        len([p for p in store.metric_points([jobs[0].name]) if p.metric_name == "validation:auc"])
        == 2
    )


def test_yaml_request(work: Path) -> None:
    import yaml

    path = work / "request.yaml"
    path.write_text(yaml.safe_dump(request("yamljob", max_jobs=2)))
    res = sagetune("tune", str(path), store=store_of(work))
    assert res.returncode == 0, res.stderr
    assert "yamljob: Completed (2 training jobs)" in res.stdout


def test_metrics_stream_while_the_job_runs(work: Path) -> None:
    gate = work / "gate"
    write_script(
        work / "src",
        f"""
        import os, time
        print("validation:auc=0.25", flush=True)
        while not os.path.exists({str(gate)!r}):
            time.sleep(0.05)
        print("validation:auc=0.75", flush=True)
    """,
    )
    req = request("streaming", max_jobs=1, parallel=1)
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagetune",
            "tune",
            str(write_request(work, req)),
            "--store",
            store_of(work),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def first_point() -> bool:
            db = work / "tuning.db"
            if not db.exists():
                return False
            store = open_store(store_of(work))
            jobs = store.list_training_jobs("streaming") if store.list_tuning_jobs() else []
            return bool(jobs) and bool(store.metric_points([jobs[0].name]))

        wait_for(first_point, what="the first metric point before the job ends")
        store = open_store(store_of(work))
        job = store.list_training_jobs("streaming")[0]
        assert job.status == "InProgress"
        assert [p.value for p in store.metric_points([job.name])] == [0.25]
    finally:
        gate.touch()
        proc.communicate(timeout=60)
    job = open_store(store_of(work)).list_training_jobs("streaming")[0]
    assert job.status == "Completed" and job.objective == 0.75


def test_objective_never_in_the_log_fails_the_job_with_its_tail(work: Path) -> None:
    write_script(
        work / "src",
        """
        print("starting")
        print("accuracy=0.3")
    """,
    )
    res = sagetune(
        "tune", str(write_request(work, request("noobj", max_jobs=2))), store=store_of(work)
    )
    # Every training job failed, so the tuning job did: the command says so in its exit code.
    assert res.returncode == 1, res.stderr
    assert "noobj: Failed (2 training jobs)" in res.stdout
    for job in open_store(store_of(work)).list_training_jobs("noobj"):
        assert job.status == "Failed"
        assert job.failure_reason.startswith(
            "objective metric 'validation:auc' not found in the log"
        )
        assert "accuracy=0.3" in job.failure_reason


def test_runtime_limit_stops_the_whole_process_group(work: Path) -> None:
    write_script(
        work / "src",
        """
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "child.pid"), "w").write(
            str(child.pid))
        print("validation:auc=0.5", flush=True)
        time.sleep(300)
    """,
    )
    req = request("slow", max_jobs=1, parallel=1, StoppingCondition={"MaxRuntimeInSeconds": 1})
    sagetune("tune", str(write_request(work, req)), store=store_of(work), check=True)
    job = open_store(store_of(work)).list_training_jobs("slow")[0]
    assert job.status == "Stopped"
    assert "MaxRuntimeInSeconds (1 s) exceeded" in job.failure_reason
    assert job.objective == 0.5  # a stopped job keeps its last reported value
    child = int((Path(job.log_path).parent / "output" / "data" / "child.pid").read_text())
    wait_for(lambda: not _alive(child), timeout=20, what="the child process to end")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has ended too
        return f.read().split(")")[-1].split()[0] != "Z"


def test_failures_are_retried_then_reported_with_exit_code(work: Path) -> None:
    write_script(
        work / "src",
        """
        import os, sys
        counter = os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "attempts")
        n = int(open(counter).read()) if os.path.exists(counter) else 0
        open(counter, "w").write(str(n + 1))
        print(f"attempt {n}", flush=True)
        if n < 2:
            sys.exit(3)
        print("validation:auc=0.8")
    """,
    )
    req = request("retried", max_jobs=1, parallel=1, RetryStrategy={"MaximumRetryAttempts": 2})
    sagetune("tune", str(write_request(work, req)), store=store_of(work), check=True)
    job = open_store(store_of(work)).list_training_jobs("retried")[0]
    assert job.status == "Completed" and job.objective == 0.8
    assert "----- retry 2 -----" in Path(job.log_path).read_text()

    req = request("noretry", max_jobs=1, parallel=1)
    res = sagetune("tune", str(write_request(work, req)), store=store_of(work))
    assert res.returncode == 1 and "noretry: Failed" in res.stdout, res.stderr
    job = open_store(store_of(work)).list_training_jobs("noretry")[0]
    assert job.status == "Failed"
    assert "the training script failed with exit code 3" in job.failure_reason
    assert "attempt 0" in job.failure_reason


def test_junk_floods_and_bad_values_do_not_take_the_tuner_down(work: Path) -> None:
    write_script(
        work / "src",
        """
        import os, sys
        kind = os.environ["SM_HP_KIND"]
        if kind == "binary":
            sys.stdout.buffer.write(bytes(range(256)) * 50 + b"\\n")
        elif kind == "flood":
            sys.stdout.write(("x" * 200 + "\\n") * 100000)
            sys.stdout.write("y" * 1000000 + "\\n")
        elif kind == "nonnumeric":
            print("validation:auc=abc")
            print("validation:auc=nan")
        elif kind == "signal":
            os.kill(os.getpid(), 9)
        print("validation:auc=0.6")
    """,
    )
    req = request("junk", strategy="Grid", max_jobs=4, parallel=2)
    req["HyperParameterTuningJobConfig"]["ParameterRanges"] = {
        "CategoricalParameterRanges": [
            {"Name": "kind", "Values": ["binary", "flood", "nonnumeric", "signal"]}
        ]
    }
    req["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"][0]["Regex"] = (
        r"validation:auc=(\S+)"
    )
    sagetune("tune", str(write_request(work, req)), store=store_of(work), check=True)
    store = open_store(store_of(work))
    jobs = {j.hyperparameters["kind"]: j for j in store.list_training_jobs("junk")}
    assert {k: j.status for k, j in jobs.items()} == {
        "binary": "Completed",
        "flood": "Completed",
        "nonnumeric": "Completed",
        "signal": "Failed",
    }
    assert [
        p.value
        for p in store.metric_points([jobs["nonnumeric"].name])
        if p.metric_name == "validation:auc"
    ] == [0.6]
    assert "the training script was killed by signal SIGKILL" in jobs["signal"].failure_reason
    assert signal.SIGKILL == 9
