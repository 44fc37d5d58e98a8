# ruff: noqa: E501 - one hostile request per line reads as a table
"""Hostile input: each request that once crashed later, or gave a traceback, is refused at
validation with a ValidationError naming the field and the rule; request files too large,
too deep or expanding through YAML aliases are refused by the CLI before any work."""

from __future__ import annotations

import io
import json
import math
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_model_validation import (
    _DELETE,
    CAT,
    CONT,
    DEF,
    LIMITS,
    RANGES,
    at,
    both,
    local_command,
    valid_request,
)

from sagetune import ValidationError, parse_request, service
from sagetune.store import open_store

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))
from cli_helpers import request, sagetune, write_request, write_script  # noqa: E402

C = "HyperParameterTuningJobConfig"
R = f"{C}/ParameterRanges"
L = f"{C}/ResourceLimits"
STATIC = f"{DEF}.StaticHyperParameters"
DEEP: Any = 0
for _ in range(5000):
    DEEP = {"a": DEEP}
GRID = both(
    at(f"{C}/Strategy", "Grid"),
    at(f"{R}/ContinuousParameterRanges", []),
    at(f"{L}/MaxNumberOfTrainingJobs", _DELETE),
)


def _archive(folder: Path, name: str, member: tarfile.TarInfo) -> None:
    with tarfile.open(folder / name, "w:gz") as tar:
        body = b"print('validation:auc=0.5')\n"
        if member.isfile():
            member.size = len(body)
        tar.addfile(member, io.BytesIO(body) if member.isfile() else None)


def _link() -> tarfile.TarInfo:
    member = tarfile.TarInfo("train.py")
    member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return member


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text("print('auc=0.5')\n")
    (tmp_path / "data").mkdir()
    _archive(tmp_path, "escape.tar.gz", tarfile.TarInfo("../../train.py"))
    _archive(tmp_path, "absolute.tar.gz", tarfile.TarInfo("/tmp/train.py"))
    _archive(tmp_path, "link.tar.gz", _link())
    return tmp_path


# (id, mutation of valid_request(), field path, rule)
CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "range name with =",
        at(f"{R}/ContinuousParameterRanges/0/Name", "a=b"),
        f"{CONT}[0].Name",
        "must not contain '='",
    ),
    (
        "categorical value with NUL",
        at(f"{R}/CategoricalParameterRanges/0/Values/0", "a\x00b"),
        f"{CAT}[0].Values[0]",
        "must not contain NUL",
    ),
    (
        "archive member ../../train.py",
        at(f"{DEF}/StaticHyperParameters/sagemaker_submit_directory", "escape.tar.gz"),
        f"{STATIC}.sagemaker_submit_directory",
        "must unpack inside its folder, '../../train.py'",
    ),
    (
        "archive member absolute",
        at(f"{DEF}/StaticHyperParameters/sagemaker_submit_directory", "absolute.tar.gz"),
        f"{STATIC}.sagemaker_submit_directory",
        "must unpack inside its folder, '/tmp/train.py'",
    ),
    (
        "archive member a link",
        at(f"{DEF}/StaticHyperParameters/sagemaker_submit_directory", "link.tar.gz"),
        f"{STATIC}.sagemaker_submit_directory",
        "only plain files and folders, 'train.py' is a link",
    ),
    ("ResourceLimits {}", at(f"{L}", {}), f"{LIMITS}.MaxNumberOfTrainingJobs", "is required"),
    (
        "NaN in an integer field",
        at(f"{L}/MaxNumberOfTrainingJobs", math.nan),
        f"{LIMITS}.MaxNumberOfTrainingJobs",
        "must be an integer, got nan",
    ),
    (
        "inf in an integer field",
        at(f"{L}/MaxParallelTrainingJobs", math.inf),
        f"{LIMITS}.MaxParallelTrainingJobs",
        "must be an integer, got inf",
    ),
    (
        "10**400 in an integer field",
        at(f"{L}/MaxRuntimeInSeconds", 10**400),
        f"{LIMITS}.MaxRuntimeInSeconds",
        "must be <= 15768000",
    ),
    (
        "10**400 in a number field",
        at(f"{C}/TuningJobCompletionCriteria/TargetObjectiveMetricValue", 10**400),
        f"{C}.TuningJobCompletionCriteria.TargetObjectiveMetricValue",
        "must be a finite number",
    ),
    (
        "10**400 as a range bound",
        at(f"{R}/ContinuousParameterRanges/0/MaxValue", str(10**400)),
        f"{CONT}[eta].MaxValue",
        "must be a finite number",
    ),
    (
        "Grid with MaxValue 2**63",
        both(GRID, at(f"{R}/IntegerParameterRanges/0/MaxValue", str(2**63))),
        RANGES,
        "at most 100000 combinations of the ranges, these have 18446744073709551616",
    ),
    (
        "Grid over 1..10**10",
        both(GRID, at(f"{R}/IntegerParameterRanges/0/MaxValue", str(10**10))),
        RANGES,
        "at most 100000 combinations",
    ),
    (
        "ContinuousParameterRanges 5",
        both(GRID, at(f"{R}/ContinuousParameterRanges", 5)),
        f"{RANGES}.ContinuousParameterRanges",
        "must be a list",
    ),
    (
        "submit directory http://[",
        at(f"{DEF}/StaticHyperParameters/sagemaker_submit_directory", "http://["),
        f"{STATIC}.sagemaker_submit_directory",
        "is not a valid URL or path",
    ),
    (
        "300-character program name",
        at(f"{DEF}/StaticHyperParameters/sagemaker_program", "p" * 300 + ".py"),
        f"{STATIC}.sagemaker_program",
        "cannot be looked up: File name too long",
    ),
    (
        "300-character submit directory",
        at(f"{DEF}/StaticHyperParameters/sagemaker_submit_directory", "s" * 300),
        f"{STATIC}.sagemaker_submit_directory",
        "cannot be looked up: File name too long",
    ),
    (
        "300-character channel",
        at(f"{DEF}/InputDataConfig/0/DataSource/S3DataSource/S3Uri", "d" * 300),
        f"{DEF}.InputDataConfig[train]",
        "cannot be looked up: File name too long",
    ),
    (
        "boolean DataSource",
        at(f"{DEF}/InputDataConfig/0/DataSource", True),
        f"{DEF}.InputDataConfig[train].DataSource",
        "must be an object, got a boolean",
    ),
    (
        "regex (a{4294967296})",
        at(f"{DEF}/AlgorithmSpecification/MetricDefinitions/0/Regex", "(a{4294967296})"),
        f"{DEF}.AlgorithmSpecification.MetricDefinitions[validation:auc].Regex",
        "is not a valid regular expression",
    ),
    (
        "non-string LocalBaseDirectory",
        at("LocalBaseDirectory", ["x"]),
        "LocalBaseDirectory",
        "must be a folder's path",
    ),
    (
        "5,000-deep nesting",
        lambda req: req[DEF]["Environment"].update(X=DEEP),
        "request",
        "deeper than 32 levels",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_request_is_refused_naming_field_and_rule(
    work: Path, mutate: Any, field: str, rule: str
) -> None:
    req = valid_request()
    mutate(req)
    with pytest.raises(ValidationError) as err:
        parse_request(req, base_dir=work)
    assert any(e.startswith(f"{field}") and rule in e for e in err.value.errors), err.value.errors


def test_local_command_with_an_unbalanced_quote_is_refused(work: Path) -> None:
    req = local_command()
    req[DEF]["LocalCommand"] = "python 'train.py"
    with pytest.raises(
        ValidationError, match=rf"{DEF}.LocalCommand: cannot be split .*No closing quotation"
    ):
        parse_request(req, base_dir=work)


def _files(folder: Path) -> dict[str, str]:
    deep = 100_000
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi"):
        laughs += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    texts = {
        "deep.json": "[" * deep + "]" * deep,
        "deep.yaml": "[" * deep + "]" * deep,
        "laughs.yaml": laughs,
        "big.json": json.dumps({"HyperParameterTuningJobName": "x" * (2 << 20)}),
    }
    for name, text in texts.items():
        (folder / name).write_text(text)
    return texts


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("deep.json", "request: the JSON nests lists and objects deeper than 32 levels"),
        ("deep.yaml", "request: the YAML nests lists and objects deeper than 32 levels"),
        ("laughs.yaml", "request: has more than 100000 members and values (YAML aliases"),
        ("big.json", "is larger than 1048576 bytes, the limit of a request"),
        ("missing.json", "request: no such file"),
    ],
)
def test_cli_refuses_request_files_that_would_exhaust_memory(
    tmp_path: Path, name: str, message: str
) -> None:
    _files(tmp_path)
    store = str(tmp_path / "s.db")
    flag = "--cli-input-yaml" if name.endswith(".yaml") else "--cli-input-json"
    res = sagetune(
        "create-hyper-parameter-tuning-job",
        flag,
        f"file://{tmp_path / name}",
        store=store,
        timeout=60,
    )
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("ValidationError: ") and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert open_store(store).list_tuning_jobs() == []


def test_a_grid_of_ten_billion_is_refused_by_tune(tmp_path: Path) -> None:
    write_script(tmp_path / "src")
    req = request("grid", strategy="Grid")
    del req[C]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    req[C]["ParameterRanges"] = {
        "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": str(10**10)}]
    }
    res = sagetune(
        "tune", str(write_request(tmp_path, req)), store=str(tmp_path / "s.db"), timeout=60
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert (
        f"ValidationError: {C}.ParameterRanges: the Grid strategy walks at most 100000"
        in res.stderr
    )


def test_an_archive_swapped_after_validation_fails_its_jobs_with_a_reason(tmp_path: Path) -> None:
    """The archive is checked when a tuner starts; one replaced while it runs by one that
    escapes its folder (here by the first job itself) fails the next job with a clear reason
    (tarfile's data filter refuses it), and a resume refuses it in one line, never marking
    the tuning job Completed."""
    code = tmp_path / "code.tar.gz"
    _archive(tmp_path, "escape.tar.gz", tarfile.TarInfo("../../train.py"))
    swap = f"import os\nos.replace({str(tmp_path / 'escape.tar.gz')!r}, {str(code)!r})\n"
    src = write_script(tmp_path / "src", swap + "print('validation:auc=0.5')\n").parent
    with tarfile.open(code, "w:gz") as tar:
        tar.add(src / "train.py", arcname="train.py")
    store_url = str(tmp_path / "s.db")
    req = request(
        "swapped", max_jobs=2, parallel=1, static={"sagemaker_submit_directory": "code.tar.gz"}
    )
    res = sagetune("tune", str(write_request(tmp_path, req)), store=store_url, timeout=120)
    assert "Traceback" not in res.stderr, res.stderr
    store = open_store(store_url)
    first, second = sorted(store.list_training_jobs("swapped"), key=lambda j: j.name)
    assert first.status == "Completed" and second.status == "Failed", (first, second)
    assert "could not unpack the source archive" in (second.failure_reason or "")

    created = request("again", max_jobs=1, static={"sagemaker_submit_directory": "code.tar.gz"})
    _archive(tmp_path, "code.tar.gz", tarfile.TarInfo("train.py"))
    service.create_tuning_job(store, created, base_dir=tmp_path)
    _archive(tmp_path, "code.tar.gz", tarfile.TarInfo("../../train.py"))
    res = sagetune("resume", "again", store=store_url, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "sagemaker_submit_directory: the archive's members must unpack inside" in res.stderr
    assert store.get_tuning_job("again").status == "InProgress"
    assert store.list_training_jobs("again") == []
