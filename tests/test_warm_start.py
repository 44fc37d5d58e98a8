"""Warm start from parent tuning jobs, through the SDK and the request file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sagetune import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    TuningJobAnalytics,
    ValidationError,
    WarmStartConfig,
    WarmStartTypes,
)
from sagetune.space import SearchSpace
from sagetune.store import open_store
from sagetune.warmstart import map_point

SMALL = {"a": IntegerParameter(1, 4), "b": CategoricalParameter(["x", "y", "z"])}


def score(hp: dict) -> float:
    return float(hp["a"] + (hp["b"] == "y"))


def run(
    store_url: str,
    name: str,
    ranges=SMALL,
    strategy="Random",
    max_jobs=6,
    warm=None,
    train=score,
    **kw,
) -> HyperparameterTuner:
    t = HyperparameterTuner(
        "loss",
        ranges,
        objective_type="Minimize",
        strategy=strategy,
        max_jobs=max_jobs,
        random_seed=3,
        store=store_url,
        show_progress=False,
        warm_start_config=warm,
        **kw,
    )
    t.fit(train, job_name=name)
    return t


def points(store_url: str, name: str) -> set:
    return {
        (j.hyperparameters["a"], j.hyperparameters["b"])
        for j in open_store(store_url).list_training_jobs(name)
    }


def test_identical_parents_points_are_skipped_by_random_and_grid(store_url: str) -> None:
    run(store_url, "parent", max_jobs=6)
    warm = WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"parent"})
    run(store_url, "random-child", max_jobs=6, warm=warm)
    assert not points(store_url, "parent") & points(store_url, "random-child")
    grid = run(store_url, "grid-child", strategy="Grid", max_jobs=None, warm=warm)
    assert points(store_url, "grid-child") == {(a, b) for a in range(1, 5) for b in "xyz"} - points(
        store_url, "parent"
    )
    assert grid.describe()["CompletionReason"] == ("the strategy has no more configurations to try")


def test_describe_shows_warm_start_and_the_overall_best(store_url: str) -> None:
    parent = run(
        store_url,
        "p1",
        max_jobs=8,
        strategy="Grid",
        ranges={"a": IntegerParameter(1, 8)},
        train=lambda hp: float(hp["a"]),
    )
    assert (
        parent.describe()["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        == 1.0
    )
    warm = {
        "WarmStartType": "IdenticalDataAndAlgorithm",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "p1"}],
    }
    child = run(
        store_url,
        "c1",
        max_jobs=2,
        strategy="Bayesian",
        ranges={"a": IntegerParameter(1, 12)},
        train=lambda hp: float(hp["a"]) + 0.5,
        warm=warm,
    )
    d = child.describe()
    assert d["WarmStartConfig"] == warm
    assert d["OverallBestTrainingJob"]["TuningJobName"] == "p1"
    assert (
        d["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 1.0
    )
    assert d["BestTrainingJob"]["TuningJobName"] == "c1"
    # The child's model started from the parent's eight points: it only tries new ones.
    assert all(j.hyperparameters["a"] > 8 for j in open_store(store_url).list_training_jobs("c1"))
    df = child.analytics().dataframe(include_parents=True)
    assert df["TuningJobName"].tolist() == ["p1"] * 8 + ["c1"] * 2
    assert len(TuningJobAnalytics("c1", store=store_url).dataframe()) == 2


def test_bayesian_child_uses_parent_observations(store_url: str) -> None:
    ranges = {"x": ContinuousParameter(0.0, 10.0, "Linear")}

    def bowl(hp: dict) -> float:
        return (hp["x"] - 7.3) ** 2

    run(store_url, "bowl-parent", ranges=ranges, strategy="Bayesian", max_jobs=12, train=bowl)
    warm = WarmStartConfig("IdenticalDataAndAlgorithm", parents=["bowl-parent"])
    run(
        store_url,
        "bowl-warm",
        ranges=ranges,
        strategy="Bayesian",
        max_jobs=2,
        train=bowl,
        warm=warm,
    )
    run(store_url, "bowl-cold", ranges=ranges, strategy="Bayesian", max_jobs=2, train=bowl)
    jobs = open_store(store_url).list_training_jobs
    warm_first = jobs("bowl-warm")[0].hyperparameters["x"]
    cold_first = jobs("bowl-cold")[0].hyperparameters["x"]
    assert abs(warm_first - 7.3) < 1.0  # started near the parent's optimum
    assert warm_first != cold_first


def test_points_outside_the_childs_ranges_are_left_out_not_clipped(
    store_url: str, tmp_path: Path
) -> None:
    wide = {"a": IntegerParameter(1, 10), "b": CategoricalParameter(["x", "y", "z"])}
    run(store_url, "wide", ranges=wide, max_jobs=10)
    outside = sum(
        j.hyperparameters["a"] > 4 for j in open_store(store_url).list_training_jobs("wide")
    )
    assert outside > 0
    script = tmp_path / "child.py"
    script.write_text(f"""
import sagetune
t = sagetune.HyperparameterTuner("loss", {{"a": sagetune.IntegerParameter(1, 4),
    "b": sagetune.CategoricalParameter(["x", "y", "z"])}}, objective_type="Minimize",
    strategy="Bayesian", max_jobs=2, store={store_url!r}, show_progress=False,
    warm_start_config=sagetune.WarmStartConfig("TransferLearning", parents=["wide"]))
t.fit(lambda hp: float(hp["a"]), job_name="narrow")
print(t.describe()["HyperParameterTuningJobStatus"])
""")
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "Completed"


def test_parent_points_take_static_values_for_hyperparameters_added_in_the_child() -> None:
    child = SearchSpace(
        {
            "lr": ContinuousParameter(0.01, 1.0, "Logarithmic"),
            "depth": IntegerParameter(1, 10),
            "booster": CategoricalParameter(["gbtree", "dart"]),
        }
    )
    assert map_point(child, {"lr": 0.1}, {"depth": "3"}) == {
        "lr": 0.1,
        "depth": 3,
        "booster": "gbtree",
    }
    assert map_point(child, {"lr": 2.0}, {"depth": "3"}) is None  # outside: left out
    assert map_point(child, {"lr": 0.1, "booster": "linear"}, {}) is None


@pytest.mark.parametrize(
    "warm,ranges,expected",
    [
        (
            {
                "WarmStartType": "IdenticalDataAndAlgorithm",
                "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "ghost"}],
            },
            SMALL,
            "WarmStartConfig.ParentHyperParameterTuningJobs[ghost]: no tuning job named 'ghost'",
        ),
        (
            {
                "WarmStartType": "Identical",
                "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "base"}],
            },
            SMALL,
            "WarmStartConfig.WarmStartType: must be one of IdenticalDataAndAlgorithm, "
            "TransferLearning",
        ),
        (
            {
                "WarmStartType": "TransferLearning",
                "ParentHyperParameterTuningJobs": [
                    {"HyperParameterTuningJobName": f"p{i}"} for i in range(6)
                ],
            },
            SMALL,
            "WarmStartConfig.ParentHyperParameterTuningJobs: must list 1 to 5 parent tuning jobs",
        ),
        (
            {
                "WarmStartType": "TransferLearning",
                "ParentHyperParameterTuningJobs": [
                    {"HyperParameterTuningJobName": "base"},
                    {"HyperParameterTuningJobName": "base"},
                ],
            },
            SMALL,
            "WarmStartConfig.ParentHyperParameterTuningJobs[base]: a parent may be listed only "
            "once",
        ),
        (
            {
                "WarmStartType": "TransferLearning",
                "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "base"}],
            },
            {"a": ContinuousParameter(1, 4), "b": CategoricalParameter(["x", "y"])},
            "WarmStartConfig.ParentHyperParameterTuningJobs[base]: hyperparameter 'a' is Integer "
            "in the parent and Continuous here",
        ),
    ],
)
def test_warm_start_rules(store_url: str, warm, ranges, expected: str) -> None:
    run(store_url, "base", max_jobs=2)
    before = [r.name for r in open_store(store_url).list_tuning_jobs()]
    with pytest.raises(ValidationError) as err:
        run(store_url, "child", ranges=ranges, warm=warm)
    assert any(expected in e for e in err.value.errors), err.value.errors
    assert [r.name for r in open_store(store_url).list_tuning_jobs()] == before


def test_identical_needs_same_objective_statics_and_finished_parents(store_url: str) -> None:
    run(store_url, "base", max_jobs=2, static_hyperparameters={"epochs": "5"})
    warm = WarmStartConfig("IdenticalDataAndAlgorithm", parents=["base"])
    with pytest.raises(ValidationError) as err:
        HyperparameterTuner(
            "other",
            SMALL,
            objective_type="Minimize",
            max_jobs=2,
            store=store_url,
            warm_start_config=warm,
            static_hyperparameters={"epochs": "9"},
            show_progress=False,
        ).fit(score, job_name="c")
    text = str(err.value)
    assert "IdenticalDataAndAlgorithm needs the same objective metric" in text
    assert (
        "IdenticalDataAndAlgorithm needs the same static hyperparameters; these differ: "
        "epochs" in text
    )
    # TransferLearning accepts both differences.
    HyperparameterTuner(
        "other",
        SMALL,
        objective_type="Minimize",
        max_jobs=2,
        store=store_url,
        warm_start_config=WarmStartConfig("TransferLearning", parents=["base"]),
        static_hyperparameters={"epochs": "9"},
        show_progress=False,
    ).fit(lambda hp: {"other": score(hp)}, job_name="tl")
    store = open_store(store_url)
    store.update_tuning_job("base", status="InProgress")
    with pytest.raises(
        ValidationError,
        match=r"\[base\]: a parent must be Completed or "
        r"Stopped, it is InProgress",
    ):
        run(store_url, "late", warm=WarmStartConfig("TransferLearning", parents=["base"]))


def test_warm_start_from_the_request_file(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent / "cli"))
    from cli_helpers import request, sagetune, write_request, write_script

    write_script(tmp_path / "src")
    url = f"sqlite:///{tmp_path / 't.db'}"
    sagetune(
        "tune", str(write_request(tmp_path, request("first", max_jobs=4))), store=url, check=True
    )
    child = request("second", max_jobs=3, static={"epochs": "2"})
    child["WarmStartConfig"] = {
        "WarmStartType": "TransferLearning",
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "first"}],
    }
    res = sagetune("tune", str(write_request(tmp_path, child, "child.json")), store=url)
    assert res.returncode == 0, res.stderr
    d = json.loads(
        sagetune(
            "describe-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            "second",
            store=url,
            check=True,
        ).stdout
    )
    assert d["WarmStartConfig"]["WarmStartType"] == "TransferLearning"
    assert d["OverallBestTrainingJob"]["TuningJobName"] in ("first", "second")
    child["HyperParameterTuningJobName"] = "third"
    child["WarmStartConfig"]["WarmStartType"] = "IdenticalDataAndAlgorithm"
    res = sagetune("tune", str(write_request(tmp_path, child, "child.json")), store=url)
    assert res.returncode == 2
    assert "IdenticalDataAndAlgorithm needs the same static hyperparameters" in res.stderr
