"""The API's operations called directly: answers in the service's form, paging, errors."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jobs import SCRIPT, local_command_request, make_jobs
from shapes import assert_matches

from sagetune import api, service
from sagetune.errors import (
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    ValidationError,
    service_error_type,
)
from sagetune.naming import training_job_name
from sagetune.spec import unreadable
from sagetune.store import Store, TrainingJobRecord, open_store

KINDS = ["callable", "command", "multi"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store holding a finished tuning job of each kind (made once for the module)."""
    folder = tmp_path_factory.mktemp("finished")
    store = open_store(folder / "s.db")
    make_jobs(store, folder)
    yield store
    store.close()


def call(store: Store, operation: str, **request: Any) -> dict[str, Any]:
    return api.call(api.Backend(store, start_tuner=_no_tuner), operation, request)


def _no_tuner(store: Store, name: str, cwd: Path) -> None:
    pass


@pytest.mark.parametrize("name", KINDS)
def test_every_answer_matches_the_model_for_every_kind_of_job(finished: Store, name: str) -> None:
    d = call(finished, "DescribeHyperParameterTuningJob", HyperParameterTuningJobName=name)
    assert_matches("DescribeHyperParameterTuningJob", d)
    listed = call(
        finished, "ListTrainingJobsForHyperParameterTuningJob", HyperParameterTuningJobName=name
    )
    assert_matches("ListTrainingJobsForHyperParameterTuningJob", listed)
    assert listed["TrainingJobSummaries"]
    for summary in listed["TrainingJobSummaries"]:
        job = call(finished, "DescribeTrainingJob", TrainingJobName=summary["TrainingJobName"])
        assert_matches("DescribeTrainingJob", job)
        assert job["TrainingTimeInSeconds"] >= 1 and job["BillableTimeInSeconds"] >= 1
        assert all(isinstance(v, str) for v in job["HyperParameters"].values())
        # What the SageMaker SDK's Estimator.attach reads without a default.
        resources, algo = job["ResourceConfig"], job["AlgorithmSpecification"]
        assert job["RoleArn"] and job["StoppingCondition"]["MaxRuntimeInSeconds"] >= 1
        assert resources["InstanceCount"] == 1 and resources["InstanceType"]
        assert resources["VolumeSizeInGB"] >= 1 and algo["TrainingInputMode"] == "File"
        assert algo["TrainingImage"] and job["OutputDataConfig"]["KmsKeyId"] == ""
        assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://sagetune-local/{name}"
    assert_matches("ListHyperParameterTuningJobs", call(finished, "ListHyperParameterTuningJobs"))
    assert_matches("ListTrainingJobs", call(finished, "ListTrainingJobs", MaxResults=100))


@pytest.mark.parametrize("name", KINDS)
def test_definitions_carry_what_the_sdk_attach_reads(finished: Store, name: str) -> None:
    d = call(finished, "DescribeHyperParameterTuningJob", HyperParameterTuningJobName=name)
    definitions = d.get("TrainingJobDefinitions") or [d["TrainingJobDefinition"]]
    for definition in definitions:
        algo = definition["AlgorithmSpecification"]
        assert algo["TrainingImage"] and algo["TrainingInputMode"] == "File"
        assert isinstance(algo["MetricDefinitions"], list)
        assert definition["RoleArn"].startswith("arn:aws:iam::")
        assert definition["OutputDataConfig"]["S3OutputPath"] == f"s3://sagetune-local/{name}"
        assert definition["OutputDataConfig"]["KmsKeyId"] == ""
        resources = definition["ResourceConfig"]
        assert {"InstanceType", "InstanceCount", "VolumeSizeInGB"} <= resources.keys()
        assert definition["StoppingCondition"]["MaxRuntimeInSeconds"] >= 1
        static = definition["StaticHyperParameters"]
        assert static["_tuning_objective_metric"] in ("auc", "validation:auc")
        assert all(isinstance(v, str) for v in static.values())
    if name == "command":  # numbers given become strings; strings stay as given
        static = d["TrainingJobDefinition"]["StaticHyperParameters"]
        assert (static["epochs"], static["rate"], static["note"]) == ("2", "0.5", "as given")
    best = d["BestTrainingJob"]["TunedHyperParameters"]
    assert all(isinstance(v, str) for v in best.values())


def test_what_the_request_gave_is_kept(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    (tmp_path / "train.py").write_text(SCRIPT)
    req = local_command_request("given")
    req["TrainingJobDefinition"].update(
        RoleArn="arn:aws:iam::123456789012:role/Mine",
        ResourceConfig={"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        OutputDataConfig={"S3OutputPath": "s3://bucket/out"},
    )
    req["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = "my/image:1"
    service.create_tuning_job(store, req, base_dir=tmp_path)
    d = call(store, "DescribeHyperParameterTuningJob", HyperParameterTuningJobName="given")
    definition = d["TrainingJobDefinition"]
    assert definition["RoleArn"] == "arn:aws:iam::123456789012:role/Mine"
    assert definition["ResourceConfig"]["InstanceType"] == "ml.c5.xlarge"
    assert definition["ResourceConfig"]["VolumeSizeInGB"] == 5
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 600}
    assert definition["OutputDataConfig"] == {"S3OutputPath": "s3://bucket/out", "KmsKeyId": ""}
    assert definition["AlgorithmSpecification"]["TrainingImage"] == "my/image:1"


def test_paging_walks_every_job_once_in_the_default_order(finished: Store) -> None:
    op = "ListTrainingJobsForHyperParameterTuningJob"
    names: list[str] = []
    token = None
    pages = 0
    while True:
        extra = {"NextToken": token} if token else {}
        page = call(finished, op, HyperParameterTuningJobName="multi", MaxResults=1, **extra)
        names += [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
        pages += 1
        token = page.get("NextToken")
        if token is None:
            break
    assert pages == 2 and names == sorted(names)  # default: Name, Ascending
    every = call(finished, op, HyperParameterTuningJobName="multi", SortOrder="Descending")
    assert [s["TrainingJobName"] for s in every["TrainingJobSummaries"]] == names[::-1]
    assert "NextToken" not in every
    tuning = call(finished, "ListHyperParameterTuningJobs")["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in tuning] == sorted(KINDS)
    only = call(finished, "ListHyperParameterTuningJobs", NameContains="MUL")
    assert [s["HyperParameterTuningJobName"] for s in only["HyperParameterTuningJobSummaries"]] == [
        "multi"
    ]


def _token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"MaxResults": 0}, "MaxResults: must be an integer from 1 to 100"),
        ({"MaxResults": 101}, "MaxResults: must be an integer from 1 to 100"),
        ({"NextToken": "garbage"}, "NextToken: is not a token"),
        ({"SortBy": "Colour"}, "SortBy: must be one of"),
        ({"StatusEquals": "Running"}, "StatusEquals: must be one of"),
        # found by fuzzing the server, each a 500 before
        ({"NextToken": _token({"offset": float("inf")})}, "NextToken: is not a token"),
        ({"NextToken": _token({"offset": -1})}, "NextToken: is not a token"),
    ],
)
def test_bad_list_arguments_are_validation_errors(
    finished: Store, request_: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        call(
            finished,
            "ListTrainingJobsForHyperParameterTuningJob",
            HyperParameterTuningJobName="multi",
            **request_,
        )
    assert service_error_type(caught.value) == "ValidationException"


def test_a_null_sort_is_the_default_and_a_timestamp_past_any_float_is_refused(
    finished: Store,
) -> None:
    """Found by fuzzing the server: ``"SortBy": null`` and ``"CreationTimeAfter": 1e400``
    written as an integer were a 500."""
    names = call(finished, "ListHyperParameterTuningJobs", SortBy=None, SortOrder=None)
    assert names == call(finished, "ListHyperParameterTuningJobs")
    with pytest.raises(ValidationError, match="CreationTimeAfter: must be a timestamp"):
        call(finished, "ListTrainingJobs", CreationTimeAfter=10**400)


def test_unknown_names_and_operations(finished: Store) -> None:
    for op, member in [
        ("DescribeHyperParameterTuningJob", "HyperParameterTuningJobName"),
        ("DescribeTrainingJob", "TrainingJobName"),
        ("StopTrainingJob", "TrainingJobName"),
        ("DeleteHyperParameterTuningJob", "HyperParameterTuningJobName"),
        ("ListTrainingJobsForHyperParameterTuningJob", "HyperParameterTuningJobName"),
    ]:
        with pytest.raises(ResourceNotFound) as caught:
            call(finished, op, **{member: "nope"})
        assert service_error_type(caught.value) == "ResourceNotFound"
    with pytest.raises(ValidationError, match="HyperParameterTuningJobName: is required"):
        call(finished, "DescribeHyperParameterTuningJob")
    with pytest.raises(api.UnknownOperation):
        call(finished, "CreateModel")


def test_a_request_nested_too_deeply_is_a_validation_error(tmp_path: Path) -> None:
    """Found by fuzzing the server: 900 nested lists in a create request made the validator
    recurse past Python's limit, and a name with a lone surrogate (JSON ``"\\ud800"``) could
    not be encoded for the store (both a 500). Such requests are refused before any work."""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    backend = api.Backend(store, start_tuner=lambda *a: None, base_dir=tmp_path)
    deep: Any = 0
    for _ in range(900):
        deep = [deep]
    for op, request in [
        ("CreateHyperParameterTuningJob", {**local_command_request("deep"), "Tags": deep}),
        ("ListTrainingJobs", {"NameContains": deep}),
    ]:
        with pytest.raises(ValidationError, match="deeper than 32 levels"):
            api.call(backend, op, request)
    for op, request in [
        ("DeleteHyperParameterTuningJob", {"HyperParameterTuningJobName": "\ud800"}),
        ("DescribeTrainingJob", {"TrainingJobName": "a\udfffb"}),
        ("CreateHyperParameterTuningJob", {**local_command_request("deep"), "\ud800": 1}),
    ]:
        with pytest.raises(ValidationError, match="lone surrogate"):
            api.call(backend, op, request)
    assert store.list_tuning_jobs() == []
    assert unreadable({"a": [[{"b": ["é", 1.5, None]}]]}) is None


def test_a_nul_character_is_a_validation_error_naming_the_field(tmp_path: Path) -> None:
    """JSON carries ``"\\u0000"``; PostgreSQL's text and a process's arguments cannot, so a
    NUL is refused with the field it is in, on every store, before anything is stored."""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    backend = api.Backend(store, start_tuner=lambda *a: None, base_dir=tmp_path)
    for op, member in [
        ("DescribeHyperParameterTuningJob", "HyperParameterTuningJobName"),
        ("DeleteHyperParameterTuningJob", "HyperParameterTuningJobName"),
        ("DescribeTrainingJob", "TrainingJobName"),
        ("StopTrainingJob", "TrainingJobName"),
    ]:
        with pytest.raises(ValidationError, match=rf"^{member}: must not contain NUL"):
            api.call(backend, op, {member: "a\x00b"})
    request = local_command_request("nul")
    request["TrainingJobDefinition"]["StaticHyperParameters"] = {"k": "v\x00", "k\x00": "v"}
    with pytest.raises(ValidationError) as caught:
        api.call(backend, "CreateHyperParameterTuningJob", request)
    assert caught.value.errors[:2] == [
        "TrainingJobDefinition.StaticHyperParameters.k: must not contain NUL (\\x00) characters",
        "TrainingJobDefinition.StaticHyperParameters: member name 'k\\x00' must not contain "
        "NUL (\\x00) characters",
    ]
    assert store.list_tuning_jobs() == []


def test_create_starts_a_tuner_and_a_taken_name_or_a_full_quota_is_refused(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "s.db")
    (tmp_path / "train.py").write_text(SCRIPT)
    started: list[str] = []
    backend = api.Backend(
        store,
        start_tuner=lambda s, name, cwd: started.append(name),
        base_dir=tmp_path,
        max_running_tuning_jobs=1,
    )
    answer = api.call(backend, "CreateHyperParameterTuningJob", local_command_request("one"))
    assert answer["HyperParameterTuningJobArn"].endswith("hyper-parameter-tuning-job/one")
    assert started == ["one"]
    with pytest.raises(ResourceInUse) as in_use:
        api.call(
            api.Backend(store, start_tuner=_no_tuner, base_dir=tmp_path),
            "CreateHyperParameterTuningJob",
            local_command_request("one"),
        )
    assert service_error_type(in_use.value) == "ResourceInUse"
    with pytest.raises(ResourceLimitExceeded) as limit:
        api.call(backend, "CreateHyperParameterTuningJob", local_command_request("two"))
    assert service_error_type(limit.value) == "ResourceLimitExceeded"
    assert [r.name for r in store.list_tuning_jobs()] == ["one"] and started == ["one"]


def test_delete_only_a_finished_tuning_job(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    (tmp_path / "train.py").write_text(SCRIPT)
    service.create_tuning_job(store, local_command_request("done"), base_dir=tmp_path)
    with pytest.raises(ValidationError, match="only a Completed, Failed or Stopped"):
        call(store, "DeleteHyperParameterTuningJob", HyperParameterTuningJobName="done")
    service.run_tuning_job(store, "done")
    jobs = store.list_training_jobs("done")
    assert jobs
    assert call(store, "DeleteHyperParameterTuningJob", HyperParameterTuningJobName="done") == {}
    with pytest.raises(ResourceNotFound):
        call(store, "DescribeHyperParameterTuningJob", HyperParameterTuningJobName="done")
    with pytest.raises(ResourceNotFound):
        call(store, "DescribeTrainingJob", TrainingJobName=jobs[0].name)
    assert store.metric_points([j.name for j in jobs]) == []


SLOW_SCRIPT = """
import time
for epoch in range(1, 200):
    print(f"validation:auc={0.5 + epoch / 1000}", flush=True)
    time.sleep(0.05)
"""


def test_stop_training_job_is_carried_out_by_the_tuner(tmp_path: Path) -> None:
    """StopTrainingJob marks the job Stopping; the running tuner stops it and records it
    Stopped with its last objective value; the tuning job goes on to its end."""
    import threading

    store = open_store(tmp_path / "s.db")
    (tmp_path / "train.py").write_text(SLOW_SCRIPT)
    req = local_command_request("stoppable", max_jobs=1)
    service.create_tuning_job(store, req, base_dir=tmp_path)
    runner = threading.Thread(target=service.run_tuning_job, args=(store, "stoppable"))
    runner.start()
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            jobs = store.list_training_jobs("stoppable")
            if jobs and store.metric_points([jobs[0].name]):
                break
            time.sleep(0.05)
        name = jobs[0].name
        assert call(store, "StopTrainingJob", TrainingJobName=name) == {}
        runner.join(timeout=30)
        assert not runner.is_alive()
    finally:
        runner.join(timeout=30)
    job = store.get_training_job(name)
    assert job.status == "Stopped" and job.objective is not None
    assert "StopTrainingJob" in (job.failure_reason or "")
    assert store.get_tuning_job("stoppable").status == "Completed"
    with pytest.raises(ValidationError, match="only an InProgress training job"):
        call(store, "StopTrainingJob", TrainingJobName=name)


def test_stop_a_tuning_job(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    (tmp_path / "train.py").write_text(SCRIPT)
    service.create_tuning_job(store, local_command_request("idle"), base_dir=tmp_path)
    # No tuner holds it: stopping marks it Stopped at once.
    assert call(store, "StopHyperParameterTuningJob", HyperParameterTuningJobName="idle") == {}
    assert store.get_tuning_job("idle").status == "Stopped"
    with pytest.raises(ValidationError, match="only an InProgress tuning job"):
        call(store, "StopHyperParameterTuningJob", HyperParameterTuningJobName="idle")


def test_the_cli_lists_page_by_page_or_all_at_once(finished: Store) -> None:
    from click.testing import CliRunner

    from sagetune.cli import main

    def run(*args: str) -> dict[str, Any]:
        res = CliRunner().invoke(
            main,
            ["--store", finished.url, "list-training-jobs-for-hyper-parameter-tuning-job"]
            + ["--hyper-parameter-tuning-job-name", "multi", *args],
        )
        assert res.exit_code == 0, res.output
        return json.loads(res.output)

    every = run()
    assert len(every["TrainingJobSummaries"]) == 2 and "NextToken" not in every
    first = run("--max-results", "1")
    assert len(first["TrainingJobSummaries"]) == 1
    second = run("--max-results", "1", "--next-token", first["NextToken"])
    assert "NextToken" not in second
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] + [
        s["TrainingJobName"] for s in second["TrainingJobSummaries"]
    ] == [s["TrainingJobName"] for s in every["TrainingJobSummaries"]]


def test_list_tags_of_a_tuning_job_and_its_training_jobs(tmp_path: Path) -> None:
    """The SageMaker SDK's Estimator.attach (and so best_estimator) calls ListTags on the
    training job; a tuning job's Tags are its training jobs' too, as SageMaker adds them."""
    store = open_store(tmp_path / "s.db")
    (tmp_path / "train.py").write_text(SCRIPT)
    tags = [{"Key": "team", "Value": "ml"}, {"Key": "project", "Value": "Tagged"}]
    service.create_tuning_job(store, local_command_request("Tagged") | {"Tags": tags}, tmp_path)
    service.create_tuning_job(store, local_command_request("plain"), tmp_path)
    service.run_tuning_job(store, "plain")
    d = call(store, "DescribeHyperParameterTuningJob", HyperParameterTuningJobName="Tagged")
    answer = call(store, "ListTags", ResourceArn=d["HyperParameterTuningJobArn"])
    assert_matches("ListTags", answer)
    assert answer == {"Tags": tags}
    job = store.list_training_jobs("plain")[0]
    arn = call(store, "DescribeTrainingJob", TrainingJobName=job.name)["TrainingJobArn"]
    assert call(store, "ListTags", ResourceArn=arn, MaxResults=50) == {"Tags": []}
    # An ARN's name is lower case: a mixed-case training job is still found, among many.
    store.create_training_jobs(
        [
            TrainingJobRecord(
                name=training_job_name("Tagged", seq),
                tuning_job_name="Tagged",
                seq=seq,
                status="Completed",
                hyperparameters={},
                created_at=float(seq),
            )
            for seq in range(1, 260)
        ]
    )
    tagged = call(store, "DescribeTrainingJob", TrainingJobName=training_job_name("Tagged", 217))
    assert tagged["TrainingJobArn"].endswith("/" + training_job_name("Tagged", 217).lower())
    assert call(store, "ListTags", ResourceArn=tagged["TrainingJobArn"]) == {"Tags": tags}
    for request, match in [
        ({}, "ResourceArn: is required"),
        ({"ResourceArn": arn, "MaxResults": 10}, "MaxResults: must be an integer of at least 50"),
        ({"ResourceArn": arn, "NextToken": "x"}, "NextToken"),
        ({"ResourceArn": arn.replace("training-job/", "training-job/x")}, "no tuning job"),
        ({"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m"}, "no tuning job"),
    ]:
        with pytest.raises(ValidationError, match=match):
            call(store, "ListTags", **request)
