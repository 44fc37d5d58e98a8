"""The AWS-named verbs as the AWS CLI has them: every operation a verb, --cli-input-json and
--cli-input-yaml under the flags, --generate-cli-skeleton from the service model, and paging
with --max-results / --next-token and --max-items / --starting-token."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from cli_helpers import request, sagetune, wait_for, write_request, write_script
from click.testing import CliRunner, Result

from sagetune import api, service
from sagetune.cli import main
from sagetune.store import open_store

MODEL = botocore.session.get_session().get_service_model("sagemaker")


def verb_of(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", operation).lower()


VERBS = {verb_of(op): op for op in api.OPERATIONS}


def run(*args: str, store: str | None = None) -> Result:
    return CliRunner().invoke(main, [*args, *(["--store", store] if store else [])])


def ok(*args: str, store: str | None = None) -> Any:
    res = run(*args, store=store)
    assert res.exit_code == 0, res.output
    return json.loads(res.output) if res.output.strip() else None


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with one finished tuning job of 5 training jobs and 5 stored, unstarted ones."""
    work = tmp_path_factory.mktemp("aws")
    write_script(work / "src")
    store = f"sqlite:///{work / 'tuning.db'}"
    req = write_request(work, request("ran", max_jobs=5, parallel=2))
    sagetune("tune", str(req), store=store, check=True)
    s = open_store(store)
    for name in ("queued-c", "queued-a", "queued-e", "queued-b", "queued-d"):
        service.create_tuning_job(s, request(name), base_dir=work)
    return store


def test_every_operation_has_its_aws_cli_verb_with_the_aws_options() -> None:
    for verb, operation in VERBS.items():
        command = main.commands[verb]
        flags = {f for p in command.params for f in p.opts}
        assert {"--cli-input-json", "--cli-input-yaml", "--generate-cli-skeleton"} <= flags, verb
        if "NextToken" in MODEL.operation_model(operation).input_shape.members:
            assert {"--max-results", "--next-token", "--max-items", "--starting-token"} <= flags


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_each_skeleton_is_json_with_the_models_members_and_needs_no_store(
    verb: str, tmp_path: Path
) -> None:
    nowhere = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    operation = MODEL.operation_model(VERBS[verb])
    for which, shape in (("input", operation.input_shape), ("output", operation.output_shape)):
        args = [verb, "--generate-cli-skeleton", *([] if which == "input" else ["output"])]
        skeleton = ok(*args, store=nowhere)
        members = list(shape.members) if shape is not None else []
        assert list(skeleton) == members, (verb, which)
    assert not (tmp_path / "no").exists()


def test_skeleton_placeholders_follow_the_aws_cli() -> None:
    skeleton = ok("create-hyper-parameter-tuning-job", "--generate-cli-skeleton")
    config = skeleton["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"  # an enum: its first value
    limits = config["ResourceLimits"]
    assert limits["MaxNumberOfTrainingJobs"] == 0
    ranges = config["ParameterRanges"]["ContinuousParameterRanges"]
    assert len(ranges) == 1 and ranges[0]["Name"] == "" and ranges[0]["MinValue"] == ""
    definition = skeleton["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"KeyName": ""}
    assert definition["EnableNetworkIsolation"] is True
    assert isinstance(skeleton["Tags"], list) and set(skeleton["Tags"][0]) == {"Key", "Value"}


def _fill(skeleton: Any, value: Any, path: str = "") -> Any:
    """``value`` written into the skeleton's shape: every member it has must be there."""
    if isinstance(value, dict) and set(skeleton) == {"KeyName"}:
        return dict(value)
    if isinstance(value, dict):
        assert isinstance(skeleton, dict), path
        missing = set(value) - set(skeleton)
        assert not missing, f"{path}: not in the skeleton: {missing}"
        return {k: _fill(skeleton[k], v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        assert isinstance(skeleton, list) and len(skeleton) == 1, path
        return [_fill(skeleton[0], v, f"{path}[]") for v in value]
    assert not isinstance(skeleton, dict | list), path
    return value


def test_the_create_skeleton_filled_in_is_accepted_and_flags_win(tmp_path: Path) -> None:
    write_script(tmp_path / "src")
    store = f"sqlite:///{tmp_path / 'tuning.db'}"
    skeleton = ok("create-hyper-parameter-tuning-job", "--generate-cli-skeleton")
    filled = _fill(skeleton, request("from-file", max_jobs=1))
    required = MODEL.operation_model("CreateHyperParameterTuningJob").input_shape.required_members
    assert set(required) <= set(filled)
    path = tmp_path / "filled.json"
    path.write_text(json.dumps(filled))
    res = sagetune(
        "create-hyper-parameter-tuning-job",
        "--cli-input-json",
        f"file://{path}",
        "--hyper-parameter-tuning-job-name",
        "from-flag",
        store=store,
        check=True,
    )
    assert json.loads(res.stdout)["HyperParameterTuningJobArn"].endswith("/from-flag")
    s = open_store(store)
    assert [r.name for r in s.list_tuning_jobs()] == ["from-flag"]
    wait_for(lambda: s.get_tuning_job("from-flag").status.finished, 120, "the tuning job")


def test_cli_input_json_and_yaml_sit_under_the_flags(jobs: str, tmp_path: Path) -> None:
    described = ok(
        "describe-hyper-parameter-tuning-job",
        "--cli-input-json",
        '{"HyperParameterTuningJobName": "ran"}',
        store=jobs,
    )
    assert described["HyperParameterTuningJobName"] == "ran"
    (tmp_path / "in.yaml").write_text("HyperParameterTuningJobName: ran\n")
    assert (
        ok(
            "describe-hyper-parameter-tuning-job",
            "--cli-input-yaml",
            str(tmp_path / "in.yaml"),
            store=jobs,
        )["HyperParameterTuningJobName"]
        == "ran"
    )
    names = [
        j["HyperParameterTuningJobName"]
        for j in ok(
            "list-hyper-parameter-tuning-jobs",
            "--cli-input-json",
            '{"SortOrder": "Descending", "NameContains": "queued"}',
            "--sort-order",
            "Ascending",
            store=jobs,
        )["HyperParameterTuningJobSummaries"]
    ]
    assert names == [f"queued-{c}" for c in "abcde"]
    res = run(
        "describe-hyper-parameter-tuning-job",
        "--cli-input-json",
        '{"HyperParameterTuningJobName": "nope"}',
        "--cli-input-yaml",
        "a: b",
        store=jobs,
    )
    assert res.exit_code == 2 and "give one, not both" in res.output


def test_the_models_sort_defaults(jobs: str) -> None:
    tuning = ok("list-hyper-parameter-tuning-jobs", store=jobs)["HyperParameterTuningJobSummaries"]
    names = [j["HyperParameterTuningJobName"] for j in tuning]
    assert names == sorted(names) and len(names) == 6  # Name, Ascending
    training = ok("list-training-jobs", store=jobs)["TrainingJobSummaries"]
    created = [j["CreationTime"] for j in training]
    assert created == sorted(created) and len(created) == 5  # CreationTime, Ascending


def _walk(verb: str, key: str, store: str, *extra: str) -> tuple[list[str], int]:
    names: list[str] = []
    token: str | None = None
    calls = 0
    while True:
        more = ["--starting-token", token] if token else []
        answer = ok(verb, *extra, "--max-items", "2", *more, store=store)
        calls += 1
        assert len(answer[key]) <= 2
        names += [
            item.get("TrainingJobName") or item["HyperParameterTuningJobName"]
            for item in answer[key]
        ]
        token = answer.get("NextToken")
        if token is None:
            return names, calls


@pytest.mark.parametrize("page_size", [None, "1", "3"])
@pytest.mark.parametrize(
    ("verb", "key", "extra"),
    [
        ("list-hyper-parameter-tuning-jobs", "HyperParameterTuningJobSummaries", ()),
        ("list-training-jobs", "TrainingJobSummaries", ("--sort-by", "Name")),
        (
            "list-training-jobs-for-hyper-parameter-tuning-job",
            "TrainingJobSummaries",
            ("--hyper-parameter-tuning-job-name", "ran"),
        ),
    ],
)
def test_max_items_and_starting_token_visit_every_job_once(
    jobs: str, verb: str, key: str, extra: tuple[str, ...], page_size: str | None
) -> None:
    everything = ok(verb, *extra, store=jobs)[key]
    expected = [i.get("TrainingJobName") or i["HyperParameterTuningJobName"] for i in everything]
    sizes = ["--page-size", page_size] if page_size else []
    names, calls = _walk(verb, key, jobs, *extra, *sizes)
    assert names == expected and len(set(names)) == len(names)
    assert calls == (len(expected) + 1) // 2


def test_max_results_and_next_token_are_the_services_pages(jobs: str) -> None:
    first = ok("list-training-jobs", "--max-results", "3", store=jobs)
    assert len(first["TrainingJobSummaries"]) == 3 and first["NextToken"]
    rest = ok(
        "list-training-jobs", "--max-results", "3", "--next-token", first["NextToken"], store=jobs
    )
    assert len(rest["TrainingJobSummaries"]) == 2 and "NextToken" not in rest
    res = run("list-training-jobs", "--max-items", "2", "--starting-token", "junk", store=jobs)
    assert res.exit_code == 2 and res.output.startswith("ValidationError: --starting-token")


def test_list_training_jobs_filters(jobs: str) -> None:
    def names(*args: str) -> list[str]:
        answer = ok("list-training-jobs", *args, store=jobs)
        return [j["TrainingJobName"] for j in answer["TrainingJobSummaries"]]

    every = names()
    assert names("--status-equals", "Completed") == every
    assert names("--status-equals", "Failed") == []
    assert names("--name-contains", every[2].upper()) == [every[2]]
    assert names("--sort-by", "Name", "--sort-order", "Descending") == sorted(every, reverse=True)
    assert names("--creation-time-after", "2999-01-01T00:00:00Z") == []
    assert names("--creation-time-before", "2999-01-01") == every
    assert names("--last-modified-time-after", "0") == every
    res = run("list-training-jobs", "--creation-time-after", "yesterday", store=jobs)
    assert res.exit_code == 2 and "CreationTimeAfter: must be a timestamp" in res.output


def test_delete_and_stop_training_job(jobs: str) -> None:
    res = run(
        "delete-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        "queued-a",
        store=jobs,
    )
    assert res.exit_code == 2
    assert res.output.startswith("ValidationError: HyperParameterTuningJobName: tuning job")
    assert len(res.output.strip().splitlines()) == 1
    done = ok("list-training-jobs", store=jobs)["TrainingJobSummaries"][0]["TrainingJobName"]
    res = run("stop-training-job", "--training-job-name", done, store=jobs)
    assert res.exit_code == 2 and "only an InProgress training job" in res.output
    res = run("stop-training-job", "--training-job-name", "no-such-job", store=jobs)
    assert res.exit_code == 2 and res.output.startswith("ResourceNotFound: ")
    res = run("stop-training-job", store=jobs)
    assert res.exit_code == 2 and "TrainingJobName: is required" in res.output


def test_delete_a_finished_tuning_job(tmp_path: Path) -> None:
    write_script(tmp_path / "src")
    store = f"sqlite:///{tmp_path / 'tuning.db'}"
    sagetune(
        "tune", str(write_request(tmp_path, request("gone", max_jobs=1))), store=store, check=True
    )
    assert (
        ok(
            "delete-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "gone",
            store=store,
        )
        is None
    )
    res = run(
        "describe-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        "gone",
        store=store,
    )
    assert res.exit_code == 2 and res.output.startswith("ResourceNotFound: ")
    assert ok("list-training-jobs", store=store) == {"TrainingJobSummaries": []}
