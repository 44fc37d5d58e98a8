"""Reading a finished tuning job never needs its training code: the stored spec is enough."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import request, sagetune, write_request, write_script
from test_several_definitions import LINEAR, two_definitions

from sagetune import HyperparameterTuner, TuningJobAnalytics, ValidationError
from sagetune.plots import static
from sagetune.plots.data import TuningData
from sagetune.report import write_report
from sagetune.service import create_tuning_job, describe, run_tuning_job
from sagetune.spec import load_spec
from sagetune.store import open_store


@pytest.fixture
def moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A finished script-mode tuning job whose script folder has since been deleted."""
    work = tmp_path / "project"
    write_script(work / "src")
    store_url = f"sqlite:///{tmp_path / 'tuning.db'}"
    store = open_store(store_url)
    req = request("scripted", max_jobs=3, parallel=1)
    req["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] = "Off"
    create_tuning_job(store, req, base_dir=work)
    assert run_tuning_job(store, "scripted").status == "Completed"
    shutil.rmtree(work)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return store_url


def test_answers_analytics_plots_and_report_read_a_job_whose_code_is_gone(
    moved: str, tmp_path: Path
) -> None:
    store = open_store(moved)
    d = describe(store, "scripted")
    assert d["HyperParameterTuningJobStatus"] == "Completed"
    assert d["TrainingJobStatusCounters"]["Completed"] == 3
    static_hps = d["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static_hps["sagemaker_submit_directory"] == "src"  # echoed as the user wrote it

    df = TuningJobAnalytics("scripted", store=moved).dataframe()
    assert list(df["TrainingJobStatus"]) == ["Completed"] * 3
    assert df["FinalObjectiveValue"].notna().all() and {"lr", "depth"} <= set(df.columns)
    summary = TuningJobAnalytics("scripted", store=moved).summary()
    assert summary["BestTrainingJob"]["FinalObjectiveValue"] == df["FinalObjectiveValue"].max()

    data = TuningData.load(store, "scripted")
    assert len(data.jobs) == 3 and data.points  # the objective's per-epoch points
    png = static.save("scatter", data, tmp_path / "scatter.png")
    assert png.stat().st_size > 1000
    report = write_report("scripted", tmp_path / "report.html", store=moved)
    assert "scripted" in report.read_text()

    tuner = HyperparameterTuner.attach("scripted", store=moved)
    best = tuner.best_training_job()
    assert best == d["BestTrainingJob"]["TrainingJobName"]
    assert tuner.describe()["BestTrainingJob"]["TrainingJobName"] == best
    assert len(tuner.analytics().dataframe()) == 3
    assert (
        tuner.request("scripted")["TrainingJobDefinition"]["StaticHyperParameters"][
            "sagemaker_program"
        ]
        == "train.py"
    )


def test_the_cli_answers_for_a_job_whose_code_is_gone(moved: str) -> None:
    res = sagetune(
        "describe-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        "scripted",
        store=moved,
        check=True,
    )
    best = json.loads(res.stdout)["BestTrainingJob"]["TrainingJobName"]
    res = sagetune(
        "list-training-jobs-for-hyper-parameter-tuning-job",
        "--hyper-parameter-tuning-job-name",
        "scripted",
        "--sort-by",
        "FinalObjectiveMetricValue",
        "--sort-order",
        "Descending",
        store=moved,
        check=True,
    )
    summaries = json.loads(res.stdout)["TrainingJobSummaries"]
    assert summaries[0]["TrainingJobName"] == best and len(summaries) == 3
    res = sagetune("describe-training-job", "--training-job-name", best, store=moved, check=True)
    assert json.loads(res.stdout)["AlgorithmSpecification"]["MetricDefinitions"]
    res = sagetune("ls", store=moved, check=True)
    assert "scripted" in res.stdout and "3/3" in res.stdout


def test_running_again_checks_the_code_and_names_the_missing_folder(moved: str) -> None:
    store = open_store(moved)
    # Make it runnable again as far as its status goes, as a tuner killed mid-run leaves it.
    store.update_tuning_job("scripted", status="InProgress", ended_at=None)
    with pytest.raises(ValidationError, match="sagemaker_submit_directory.*does not exist"):
        run_tuning_job(store, "scripted")
    assert len(store.list_training_jobs("scripted")) == 3  # nothing lost, nothing started


def test_a_job_of_several_definitions_reads_without_its_scripts(
    tmp_path: Path, monkeypatch
) -> None:
    work = tmp_path / "project"
    write_script(work / "src")
    write_script(work / "src", LINEAR, name="linear.py")
    path = write_request(work, two_definitions(max_jobs=4))
    store_url = f"sqlite:///{tmp_path / 'tuning.db'}"
    sagetune("tune", str(path), store=store_url, cwd=work, check=True)
    shutil.rmtree(work)
    monkeypatch.chdir(tmp_path)
    spec = load_spec(open_store(store_url).get_tuning_job("multi"))
    assert [d.name for d in spec.definitions] == ["boosted", "linear"]
    assert spec.objective_of("linear").metric_name == "val_auc"
    df = TuningJobAnalytics("multi", store=store_url).dataframe()
    assert set(df["TrainingJobDefinitionName"]) <= {"boosted", "linear"} and len(df) == 4
    d = describe(open_store(store_url), "multi")
    assert [x["DefinitionName"] for x in d["TrainingJobDefinitions"]] == ["boosted", "linear"]
