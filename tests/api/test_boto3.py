"""boto3 against ``sagetune serve``: the server started as a user starts it, the real client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from jobs import local_command_request
from pg_server import PostgresServer
from shapes import assert_matches

from sagetune import service, sigv4
from sagetune.store import open_store

KEY_ID, SECRET = "AKIDSAGETUNETEST", "test-secret-key"
TRAIN = """
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--depth", type=int, default=3)
p.add_argument("--sleep", type=float, default=0.0)
a, _ = p.parse_known_args()
for epoch in range(1, 4):
    auc = 0.9 - (a.lr - 0.1) ** 2 - 0.01 * (a.depth - 3) ** 2 + epoch / 100
    print(f"validation:auc={auc}", flush=True)
    time.sleep(a.sleep)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    def __init__(self, folder: Path, store_url: str, env: dict[str, str] | None = None):
        """``env`` is added to the server's environment (an S3 endpoint and its keys)."""
        self.folder, self.store_url, self.extra_env = folder, store_url, dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            **self.extra_env,
            sigv4.ENV_ACCESS_KEY_ID: KEY_ID,
            sigv4.ENV_SECRET_ACCESS_KEY: SECRET,
        }
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - the server's lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sagetune", "serve", "--port", str(self.port)]
            + ["--store", self.store_url],
            cwd=self.folder,
            env=env,
            stdout=log,
            stderr=log,
        )
        wait_for(self._answers, 30, "the server to answer")

    def _answers(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, (
            self.folder / "server.log"
        ).read_text()
        try:
            httpx.get(self.url, timeout=1)
        except httpx.HTTPError:
            return False
        return True

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("served")
    (folder / "src").mkdir()
    (folder / "src" / "train.py").write_text(TRAIN)
    (folder / "train.py").write_text(TRAIN)
    store_url = f"sqlite:///{folder / 'served.db'}"
    # A tuning job whose tuner never ran (as after a crash): the server resumes it at start.
    store = open_store(store_url)
    service.create_tuning_job(store, local_command_request("orphan"), base_dir=folder)
    store.close()
    s = Server(folder, store_url)
    s.start()
    yield s
    s.stop()


def client(server: Server, secret: str = SECRET, key_id: str = KEY_ID, **config: Any) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def script_request(server: Server, name: str, max_jobs: int, sleep: float = 0.0) -> dict:
    """Script mode from a local folder, in SageMaker's own members only (boto3 validates)."""
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:auc",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "lr", "MinValue": "0.01", "MaxValue": "0.5"}
                ],
                "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "5"}],
            },
            "RandomSeed": 5,
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {
                "TrainingImage": "local/sklearn:latest",
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "validation:auc", "Regex": r"validation:auc=([-0-9\.eE+]+)"}
                ],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "OutputDataConfig": {"S3OutputPath": f"file://{server.folder / 'out'}"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 5,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
            "StaticHyperParameters": {
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": f"file://{server.folder / 'src'}",
                "sleep": str(sleep),
            },
        },
    }


def status_of(sm: Any, name: str) -> str:
    return sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "HyperParameterTuningJobStatus"
    ]


def wait_done(sm: Any, name: str, timeout: float = 120) -> str:
    return wait_for(
        lambda: (s := status_of(sm, name)) in ("Completed", "Failed", "Stopped") and s,
        timeout,
        f"{name} to end",
    )


def test_create_poll_list_describe_and_delete(server: Server) -> None:
    sm = client(server)
    arn = sm.create_hyper_parameter_tuning_job(**script_request(server, "scripted", 4))[
        "HyperParameterTuningJobArn"
    ]
    assert arn.endswith(":hyper-parameter-tuning-job/scripted")
    assert wait_done(sm, "scripted") == "Completed"
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="scripted")
    assert_matches("DescribeHyperParameterTuningJob", d)
    assert (
        isinstance(d["CreationTime"], datetime) and d["TrainingJobStatusCounters"]["Completed"] == 4
    )
    static = d["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["_tuning_objective_metric"] == "validation:auc"

    pages = sm.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName="scripted", PaginationConfig={"PageSize": 3}
    )
    seen = [page["TrainingJobSummaries"] for page in pages]
    assert [len(p) for p in seen] == [3, 1]
    names = [s["TrainingJobName"] for p in seen for s in p]
    assert names == sorted(names) and len(set(names)) == 4
    job = sm.describe_training_job(TrainingJobName=names[0])
    assert_matches("DescribeTrainingJob", job)
    assert job["TrainingJobStatus"] == "Completed" and job["TrainingTimeInSeconds"] >= 1
    assert job["HyperParameters"]["sagemaker_program"] == "train.py"

    tuning = sm.get_paginator("list_hyper_parameter_tuning_jobs").paginate(
        PaginationConfig={"PageSize": 1}
    )
    listed = [
        s["HyperParameterTuningJobName"]
        for p in tuning
        for s in p["HyperParameterTuningJobSummaries"]
    ]
    assert "scripted" in listed and listed == sorted(listed)
    every = sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]
    assert set(names) <= {s["TrainingJobName"] for s in every}

    sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName="scripted")
    with pytest.raises(ClientError) as caught:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="scripted")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"


def test_stop_a_running_training_job_then_the_tuning_job(server: Server) -> None:
    sm = client(server)
    sm.create_hyper_parameter_tuning_job(**script_request(server, "slow", 3, sleep=20))
    running = wait_for(
        lambda: [
            s["TrainingJobName"]
            for s in sm.list_training_jobs_for_hyper_parameter_tuning_job(
                HyperParameterTuningJobName="slow", StatusEquals="InProgress"
            )["TrainingJobSummaries"]
        ],
        60,
        "a running training job",
    )
    sm.stop_training_job(TrainingJobName=running[0])
    wait_for(
        lambda: (
            sm.describe_training_job(TrainingJobName=running[0])["TrainingJobStatus"] == "Stopped"
        ),
        30,
        "the training job to stop",
    )
    with pytest.raises(ClientError) as caught:
        sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName="slow")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="slow")
    assert wait_done(sm, "slow", 60) == "Stopped"


def test_a_job_without_its_tuner_is_resumed_when_the_server_starts(server: Server) -> None:
    assert wait_done(client(server), "orphan", 60) == "Completed"


def test_a_local_command_job_made_in_python_reads_through_boto3(server: Server) -> None:
    store = open_store(server.store_url)
    spec = service.create_tuning_job(
        store, local_command_request("python-made"), base_dir=server.folder
    )
    service.run_tuning_job(store, spec.name)
    sm = client(server)
    d = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="python-made")
    assert_matches("DescribeHyperParameterTuningJob", d)
    definition = d["TrainingJobDefinition"]
    for member in ("AlgorithmSpecification", "RoleArn", "OutputDataConfig", "StoppingCondition"):
        assert member in definition
    assert definition["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert definition["AlgorithmSpecification"]["TrainingImage"]
    listed = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="python-made"
    )
    assert_matches("ListTrainingJobsForHyperParameterTuningJob", listed)
    for s in listed["TrainingJobSummaries"]:
        job = sm.describe_training_job(TrainingJobName=s["TrainingJobName"])
        assert_matches("DescribeTrainingJob", job)
        assert job["ModelArtifacts"]["S3ModelArtifacts"]


def names(answer: dict) -> list[str]:
    return [s["HyperParameterTuningJobName"] for s in answer["HyperParameterTuningJobSummaries"]]


def test_refused_requests_change_nothing(server: Server) -> None:
    before = client(server).list_hyper_parameter_tuning_jobs(MaxResults=100)
    for sm, code in [
        (client(server, secret="wrong"), "InvalidSignatureException"),
        (client(server, key_id="AKIDUNKNOWN"), "UnrecognizedClientException"),
        (client(server, signature_version=UNSIGNED), "MissingAuthenticationTokenException"),
    ]:
        with pytest.raises(ClientError) as caught:
            sm.create_hyper_parameter_tuning_job(**script_request(server, "refused", 2))
        assert caught.value.response["Error"]["Code"] == code
    after = client(server).list_hyper_parameter_tuning_jobs(MaxResults=100)
    assert names(after) == names(before) and "refused" not in names(after)


def test_unknown_names_are_resource_not_found(server: Server) -> None:
    sm = client(server)
    for call in (
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope"),
        lambda: sm.describe_training_job(TrainingJobName="nope"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def signed_request(url: str, target: str, body: bytes) -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "sagemaker", "eu-west-1").add_auth(request)
    return request


def signed(server: Server, target: str, body: bytes) -> httpx.Response:
    request = signed_request(server.url + "/", target, body)
    return httpx.post(server.url + "/", content=body, headers=dict(request.headers.items()))


def test_wire_errors_unknown_operation_stale_signature_and_size(server: Server) -> None:
    res = signed(server, "SageMaker.CreateModel", b"{}")
    assert res.status_code == 400 and res.json()["__type"] == "UnknownOperationException"
    res = signed(server, "SageMaker.ListHyperParameterTuningJobs", b"{not json")
    assert res.json()["__type"] == "SerializationException"
    deep = signed(server, "SageMaker.ListHyperParameterTuningJobs", b"[" * 100_000)  # was a 500
    assert deep.status_code == 400 and deep.json()["__type"] == "SerializationException"
    ok = signed(server, "SageMaker.ListHyperParameterTuningJobs", b"{}")
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/x-amz-json-1.1"
    assert isinstance(ok.json()["HyperParameterTuningJobSummaries"][0]["CreationTime"], float)
    big = httpx.post(server.url + "/", content=b"x" * (1024 * 1024 + 1))
    assert big.status_code == 413


def test_the_signature_is_checked_over_every_signed_part() -> None:
    url = "http://127.0.0.1:9/"
    target = "SageMaker.ListHyperParameterTuningJobs"
    request = signed_request(url, target, b"{}")
    headers = {**dict(request.headers.items()), "Host": "127.0.0.1:9"}  # as the client sends it
    keys = {KEY_ID: SECRET}
    assert sigv4.verify("POST", url, headers, b"{}", keys) == KEY_ID
    for method, at, hdrs, body, code in [
        ("POST", url, headers, b'{"MaxResults": 1}', "InvalidSignatureException"),
        (
            "POST",
            url,
            {**headers, "X-Amz-Target": "SageMaker.X"},
            b"{}",
            "InvalidSignatureException",
        ),
        ("POST", url, {**headers, "Host": "127.0.0.1:10"}, b"{}", "InvalidSignatureException"),
        ("GET", url, headers, b"{}", "InvalidSignatureException"),
        (
            "POST",
            url,
            {k: v for k, v in headers.items() if k != "Authorization"},
            b"{}",
            "MissingAuthenticationTokenException",
        ),
        (
            "POST",
            url,
            {**headers, "Authorization": "AWS4-HMAC-SHA256 nonsense"},
            b"{}",
            "IncompleteSignatureException",
        ),
    ]:
        with pytest.raises(sigv4.AuthError) as caught:
            sigv4.verify(method, at, hdrs, body, keys)
        assert caught.value.code == code, (method, at, body)
    for skew in (timedelta(minutes=16), -timedelta(minutes=16)):
        with pytest.raises(sigv4.AuthError, match="Signature expired"):
            sigv4.verify("POST", url, headers, b"{}", keys, now=datetime.now(UTC) + skew)
    assert sigv4.verify(
        "POST", url, headers, b"{}", keys, now=datetime.now(UTC) + timedelta(minutes=14)
    )


def test_credentials_come_from_the_environment_and_a_file(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(
        "[one]\naws_access_key_id = A1\naws_secret_access_key = s1\n[two]\n"
        "aws_access_key_id=A2\naws_secret_access_key=s2\n"
    )
    env = {sigv4.ENV_ACCESS_KEY_ID: "A0", sigv4.ENV_SECRET_ACCESS_KEY: "s0"}
    assert sigv4.load_credentials(path, env) == {"A0": "s0", "A1": "s1", "A2": "s2"}
    assert sigv4.load_credentials(None, {}) == {}
    with pytest.raises(ValueError, match="set both"):
        sigv4.load_credentials(None, {sigv4.ENV_ACCESS_KEY_ID: "A0"})
    path.write_text("[bad]\naws_access_key_id = A1\n")
    with pytest.raises(ValueError, match="needs aws_access_key_id and aws_secret_access_key"):
        sigv4.load_credentials(path, {})


def test_serve_refuses_to_start_without_keys(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (sigv4.ENV_ACCESS_KEY_ID, sigv4.ENV_SECRET_ACCESS_KEY)
    }
    res = subprocess.run(
        [sys.executable, "-m", "sagetune", "serve", "--port", str(free_port())]
        + ["--store", str(tmp_path / "s.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "SAGETUNE_ACCESS_KEY_ID" in res.stderr and "SAGETUNE_SECRET_ACCESS_KEY" in res.stderr


def test_the_readme_boto3_example_runs_as_written(tmp_path: Path, s3_env: Any) -> None:
    # The example's S3OutputPath is s3://my-bucket/tuning: a server with an S3 holding it.
    s3_env.bucket("my-bucket")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN)
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'readme.db'}", env=s3_env.env)
    server.start()
    try:
        readme_example(server)
        listed = s3_env.client().list_objects_v2(Bucket="my-bucket", Prefix="tuning/")
        keys = [o["Key"] for o in listed.get("Contents", [])]
        assert len([k for k in keys if k.endswith("/output/model.tar.gz")]) == 2, keys
    finally:
        server.stop()


def readme_example(server: Server) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Use boto3 or the SageMaker SDK", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = (
        code.replace("file:///home/me/project/src", f"file://{server.folder / 'src'}")
        .replace('"MaxNumberOfTrainingJobs": 10', '"MaxNumberOfTrainingJobs": 2')
        .replace("time.sleep(5)", "time.sleep(0.5)")
    )
    assert "file://" + str(server.folder) in code
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_SAGEMAKER": server.url,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("from-boto3-") for line in lines)
    assert all("'Value'" in line for line in lines), lines


def test_tuning_jobs_go_on_across_a_server_restart(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN)
    first = Server(tmp_path, f"sqlite:///{tmp_path / 'restart.db'}")
    first.start()
    try:
        sm = client(first)
        sm.create_hyper_parameter_tuning_job(**script_request(first, "survivor", 2, sleep=1))
    finally:
        first.stop()  # the tuner is a detached process: it goes on without the server
    second = Server(tmp_path, first.store_url)
    second.start()
    try:
        assert wait_done(client(second), "survivor", 90) == "Completed"
        d = client(second).describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="survivor"
        )
        assert d["TrainingJobStatusCounters"]["Completed"] == 2
    finally:
        second.stop()


def test_a_store_down_past_its_budget_is_service_unavailable(
    tmp_path: Path, pg_server: PostgresServer, pg_url: str
) -> None:
    served = Server(tmp_path, pg_url, env={"SAGETUNE_STORE_RETRY_SECONDS": "1"})
    served.start()
    sm = client(served)
    down = False
    try:
        assert sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []
        pg_server.stop()
        down = True
        with pytest.raises(ClientError) as caught:
            sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="any")
        error = caught.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error["Error"]["Code"] == "ServiceUnavailable"
        assert error["Error"]["Message"].startswith("the store was unreachable for "), error
        pg_server.restart()
        down = False
        with pytest.raises(ClientError, match="ResourceNotFound"):  # answers again, as before
            sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="any")
    finally:
        served.stop()
        if down:
            pg_server.restart()
    assert "Traceback" not in (tmp_path / "server.log").read_text()
