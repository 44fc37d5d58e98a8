"""Training images: mapped, built in, unmapped; and what each job leaves: model.tar.gz."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost
from cli_helpers import request, sagetune, write_request, write_script
from sklearn.datasets import load_breast_cancer

import sagetune as st
from sagetune.store import open_store

XGB_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

# What a container's entry point does: hyperparameters from the config file, not arguments.
CONTAINER_TRAIN = """
import json, os, sys
config = os.environ["SM_INPUT_CONFIG_DIR"]
hp = json.load(open(os.path.join(config, "hyperparameters.json")))
assert len(sys.argv) == 1, sys.argv  # a container gets no hyperparameter arguments
lr, depth = float(hp["lr"]), int(hp["depth"])
print(f"validation:auc={0.9 - (lr - 0.1) ** 2 - 0.01 * (depth - 3) ** 2:.5f}", flush=True)
open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.json"), "w").write(json.dumps(hp))
"""


def _url(work: Path) -> str:
    return f"sqlite:///{work / 'i.db'}"


def _image_only(req: dict[str, Any], image: str) -> dict[str, Any]:
    definition = req["TrainingJobDefinition"]
    definition["AlgorithmSpecification"]["TrainingImage"] = image
    for key in ("sagemaker_program", "sagemaker_submit_directory"):
        definition["StaticHyperParameters"].pop(key)
    return req


def test_an_unmapped_image_is_refused_with_every_other_problem(tmp_path: Path) -> None:
    req = _image_only(request("unmapped"), "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:3")
    req["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 0
    images = tmp_path / "images.toml"
    res = sagetune(
        "tune",
        str(write_request(tmp_path, req)),
        store=_url(tmp_path),
        env={**os.environ, "SAGETUNE_IMAGES": str(images)},
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "2 validation errors" in res.stderr
    assert (
        "TrainingJobDefinition.AlgorithmSpecification.TrainingImage: no local way to run the "
        "image '123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:3'"
    ) in res.stderr
    assert str(images) in res.stderr and "[[image]]" in res.stderr
    assert "MaxNumberOfTrainingJobs" in res.stderr
    assert not open_store(_url(tmp_path)).list_tuning_jobs()


def test_a_mapped_image_runs_its_command_as_a_container_does(tmp_path: Path) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine:3"
    script = write_script(tmp_path / "algo", CONTAINER_TRAIN, "entry.py")
    images = tmp_path / "images.toml"
    images.write_text(
        f'[[image]]\npattern = "*.dkr.ecr.*.amazonaws.com/mine:*"\n'
        f'command = ["python", "{script}"]\n'
    )
    req = _image_only(request("mapped", max_jobs=2), image)
    env = {**os.environ, "SAGETUNE_IMAGES": str(images)}
    res = sagetune("tune", str(write_request(tmp_path, req)), store=_url(tmp_path), env=env)
    assert res.returncode == 0, res.stderr
    store = open_store(_url(tmp_path))
    jobs = store.list_training_jobs("mapped")
    assert [j.status for j in jobs] == ["Completed", "Completed"], [j.failure_reason for j in jobs]
    log = Path(jobs[0].log_path).read_text()
    assert f"the image {image!r} runs as" in log and str(images) in log
    # Its model folder became model.tar.gz, with the files at the top level.
    archive = Path(jobs[0].log_path).parent / "output" / "model.tar.gz"
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["weights.json"]


def test_a_broken_images_file_is_named(tmp_path: Path) -> None:
    images = tmp_path / "images.toml"
    images.write_text('[[image]]\npattern = "x*"\n')
    req = _image_only(request("broken"), "x:1")
    env = {**os.environ, "SAGETUNE_IMAGES": str(images)}
    res = sagetune("tune", str(write_request(tmp_path, req)), store=_url(tmp_path), env=env)
    assert res.returncode == 2
    assert f"{images}: [[image]] 1: give either command or builtin" in res.stderr


def test_an_image_with_a_script_says_the_script_runs(tmp_path: Path) -> None:
    write_script(tmp_path / "src")
    req = request("both", max_jobs=1)
    res = sagetune("tune", str(write_request(tmp_path, req)), store=_url(tmp_path))
    assert res.returncode == 0, res.stderr
    image = req["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"]
    said = "the script 'train.py' runs with this machine's Python"
    assert said in res.stderr and f"the image {image!r} is not run" in res.stderr
    job = open_store(_url(tmp_path)).list_training_jobs("both")[0]
    assert said in Path(job.log_path).read_text()


def _xgb_request(name: str, work: Path, **ranges: Any) -> dict[str, Any]:
    x, y = load_breast_cancer(return_X_y=True)
    for channel, rows in (("train", slice(0, 400)), ("validation", slice(400, None))):
        (work / channel).mkdir(parents=True, exist_ok=True)
        np.savetxt(work / channel / "data.csv", np.column_stack([y[rows], x[rows]]), delimiter=",")
    req = _image_only(request(name, max_jobs=2), XGB_IMAGE)
    config = req["HyperParameterTuningJobConfig"]
    config["ParameterRanges"] = ranges or {
        "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
        "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}],
    }
    definition = req["TrainingJobDefinition"]
    definition["AlgorithmSpecification"].pop("MetricDefinitions")
    definition["StaticHyperParameters"] = {"num_round": "10", "objective": "binary:logistic"}
    definition["InputDataConfig"] = [
        {
            "ChannelName": c,
            "ContentType": "text/csv",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": c}},
        }
        for c in ("train", "validation")
    ]
    return req


def test_the_builtin_xgboost_checks_its_hyperparameters_before_any_job(tmp_path: Path) -> None:
    req = _xgb_request(
        "bad-xgb",
        tmp_path,
        ContinuousParameterRanges=[{"Name": "eta", "MinValue": "0.1", "MaxValue": "1.5"}],
        IntegerParameterRanges=[{"Name": "depth", "MinValue": "1", "MaxValue": "3"}],
    )
    req["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["Type"] = "Minimize"
    res = sagetune("tune", str(write_request(tmp_path, req)), store=_url(tmp_path))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "TrainingJobDefinition.HyperParameterRanges[eta]: must be in [0, 1]" in res.stderr
    assert "TrainingJobDefinition.HyperParameterRanges[depth]: is not a hyperparameter" in (
        res.stderr
    )
    assert (
        "HyperParameterTuningJobObjective.Type: validation:auc is to maximize with the "
        "built-in XGBoost algorithm, got Minimize"
    ) in res.stderr


def test_the_builtin_xgboost_runs_and_its_best_model_predicts(tmp_path: Path) -> None:
    req = _xgb_request("xgb", tmp_path)
    res = sagetune("tune", str(write_request(tmp_path, req)), store=_url(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "runs as the built-in local xgboost algorithm, on this machine's xgboost" in res.stderr
    out = sagetune("best-model", "xgb", "-o", str(tmp_path / "best"), store=_url(tmp_path))
    assert out.returncode == 0, out.stderr
    booster = xgboost.Booster(model_file=str(tmp_path / "best" / "xgboost-model"))
    x, y = load_breast_cancer(return_X_y=True)
    predicted = booster.predict(xgboost.DMatrix(x[400:]))
    assert ((predicted > 0.5) == y[400:]).mean() > 0.9
    described = json.loads(
        sagetune(
            "describe-training-job",
            "--training-job-name",
            out.stdout.split()[3],
            store=_url(tmp_path),
            check=True,
        ).stdout
    )
    assert described["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
    missing = sagetune("best-model", "nope", store=_url(tmp_path))
    assert missing.returncode != 0 and "no tuning job named 'nope'" in missing.stderr


def _train_with_model(hp: dict[str, Any], model_dir: str) -> float:
    Path(model_dir, "model.json").write_text(json.dumps(hp))
    return -((hp["x"] - 0.3) ** 2)


def test_a_callable_that_takes_model_dir_gets_a_model_tar_gz(tmp_path: Path) -> None:
    tuner = st.HyperparameterTuner(
        "score",
        {"x": st.ContinuousParameter(0, 1)},
        strategy="Random",
        max_jobs=3,
        store=f"sqlite:///{tmp_path / 'c.db'}",
        show_progress=False,
        random_seed=3,
    )
    tuner.fit(_train_with_model, job_name="with-model")
    store = tuner.store
    for job in store.list_training_jobs("with-model"):
        with tarfile.open(Path(job.log_path).parent / "output" / "model.tar.gz") as tar:
            assert tar.getnames() == ["model.json"]
    folder = tuner.best_model(tmp_path / "best")
    best = store.get_training_job(tuner.best_training_job())
    assert json.loads((folder / "model.json").read_text()) == best.hyperparameters


def test_best_model_without_a_model_says_so(tmp_path: Path) -> None:
    tuner = st.HyperparameterTuner(
        "score",
        {"x": st.ContinuousParameter(0, 1)},
        strategy="Random",
        max_jobs=1,
        store=f"sqlite:///{tmp_path / 'n.db'}",
        show_progress=False,
    )
    tuner.fit(lambda hp: hp["x"], job_name="no-model")
    with pytest.raises(FileNotFoundError, match="model.tar.gz"):
        tuner.best_model(tmp_path / "best")


def test_list_tags_answers_a_tuning_jobs_tags_for_its_training_jobs_too(tmp_path: Path) -> None:
    write_script(tmp_path / "src")
    req = request("tagged", max_jobs=1)
    req["Tags"] = [{"Key": "team", "Value": "search"}]
    sagetune("tune", str(write_request(tmp_path, req)), store=_url(tmp_path), check=True)
    job = open_store(_url(tmp_path)).list_training_jobs("tagged")[0]
    for arn in (
        "arn:aws:sagemaker:local:000000000000:hyper-parameter-tuning-job/tagged",
        f"arn:aws:sagemaker:local:000000000000:training-job/{job.name}",
    ):
        out = sagetune("list-tags", "--resource-arn", arn, store=_url(tmp_path), check=True)
        assert json.loads(out.stdout)["Tags"] == [{"Key": "team", "Value": "search"}]
