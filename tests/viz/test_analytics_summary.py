"""Analytics beyond dataframe(): curves in long form, the summary, importance."""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from sagetune import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    ResourceNotFound,
    TuningJobAnalytics,
)
from sagetune.analytics import (
    COST_COLUMNS,
    CURVE_COLUMNS,
    IMPORTANCE_METHOD,
    hyperparameter_effects,
    suggested_ranges,
)
from sagetune.importance import fanova
from sagetune.space import SearchSpace
from sagetune.store import open_store
from sagetune.store.records import MetricPoint, TrainingJobRecord

SPACE = {
    "eta": ContinuousParameter(1e-4, 1.0, "Logarithmic"),
    "noise": ContinuousParameter(0.0, 1.0),
    "depth": IntegerParameter(1, 6),
    "booster": CategoricalParameter(["gbtree", "dart"]),
}


def train(hp: dict) -> dict:
    # Strong, monotone effect of log(eta); none of "noise"; depth 6 with dart fails.
    if hp["depth"] == 6 and hp["booster"] == "dart":
        raise RuntimeError("unsupported combination")
    return {
        "auc": 0.5 + 0.1 * math.log10(hp["eta"]) + 0.5 + 0.002 * hp["depth"],
        "loss": -math.log10(hp["eta"]),
    }


def run(store_url: str, name: str, max_jobs: int) -> TuningJobAnalytics:
    tuner = HyperparameterTuner(
        "auc",
        SPACE,
        objective_type="Maximize",
        strategy="Random",
        max_jobs=max_jobs,
        max_parallel_jobs=2,
        random_seed=5,
        store=store_url,
        show_progress=False,
    )
    tuner.fit(train, job_name=name)
    return tuner.analytics()


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> TuningJobAnalytics:
    return run(f"sqlite:///{tmp_path_factory.mktemp('analytics') / 't.db'}", "summary-job", 24)


def test_dataframe_keeps_the_sdk_columns(finished: TuningJobAnalytics) -> None:
    df = finished.dataframe()
    assert list(df.columns) == [
        "eta",
        "noise",
        "depth",
        "booster",
        "TrainingJobName",
        "TrainingJobStatus",
        "FinalObjectiveValue",
        "TrainingStartTime",
        "TrainingEndTime",
        "TrainingElapsedTimeSeconds",
        *COST_COLUMNS,
    ]
    assert len(df) == 24


def test_summary_best_counts_time_and_methods(finished: TuningJobAnalytics) -> None:
    df = finished.dataframe()
    s = finished.summary()
    done = df[df["FinalObjectiveValue"].notna()]
    best_row = done.loc[done["FinalObjectiveValue"].idxmax()]
    assert s["TuningJobName"] == "summary-job" and s["Status"] == "Completed"
    assert s["Objective"] == {"MetricName": "auc", "Type": "Maximize"}
    assert s["BestTrainingJob"]["TrainingJobName"] == best_row["TrainingJobName"]
    assert s["BestTrainingJob"]["FinalObjectiveValue"] == pytest.approx(
        best_row["FinalObjectiveValue"]
    )
    counts = df["TrainingJobStatus"].value_counts().to_dict()
    assert s["TrainingJobCounts"] == {
        st: counts.get(st, 0) for st in ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
    }
    assert s["TrainingJobCounts"]["Failed"] >= 1  # the seed draws some depth-6 dart jobs
    assert s["TimeSpent"]["TrainingSeconds"] == pytest.approx(
        df["TrainingElapsedTimeSeconds"].sum(), abs=1e-2
    )
    assert s["TimeSpent"]["WallClockSeconds"] >= s["TimeSpent"]["TrainingSeconds"] / 2
    assert s["Cost"]["NumberOfTrainingJobs"] == len(df)
    assert s["Cost"]["BillableTimeInSeconds"] == pytest.approx(
        df["BillableTimeInSeconds"].sum(), abs=1e-2
    )
    assert any("cost" in n for n in s["Notes"])
    assert s["Methods"]["Importance"] == IMPORTANCE_METHOD
    assert "fANOVA" in s["Methods"]["Importance"] and "Spearman" in s["Methods"]["RankCorrelation"]


def test_importance_and_rank_correlation_find_the_driving_hyperparameter(
    finished: TuningJobAnalytics,
) -> None:
    imp = finished.importance()
    assert imp["hyperparameter"].iloc[0] == "eta"
    by_name = imp.set_index("hyperparameter")
    assert by_name.loc["eta", "importance"] > 0.6
    assert by_name.loc["noise", "importance"] < 0.2
    assert by_name.loc["eta", "rank_correlation"] > 0.9
    assert by_name.loc["eta", "scaling"] == "Logarithmic"
    assert pd.isna(by_name.loc["booster", "rank_correlation"])
    assert imp["importance"].sum() == pytest.approx(1.0)
    rows = {r["hyperparameter"]: r for r in finished.summary()["Hyperparameters"]}
    assert rows["eta"]["importance"] == pytest.approx(by_name.loc["eta", "importance"])
    assert rows["booster"]["rank_correlation"] is None  # JSON-able: no NaN in the summary


def test_curves_are_long_form_and_hold_per_epoch_points(store_url: str) -> None:
    finished = run(store_url, "curves-job", 6)
    df = finished.dataframe()
    curves = finished.curves()
    assert list(curves.columns) == CURVE_COLUMNS == ["job", "metric", "epoch", "value", "time"]
    completed = df[df["TrainingJobStatus"] == "Completed"]["TrainingJobName"].tolist()
    assert set(curves["job"]) == set(completed)
    assert set(curves["metric"]) == {"auc", "loss"}
    auc = finished.curves("auc").set_index("job")["value"]
    final = completed[0]
    assert auc[final] == pytest.approx(
        df.set_index("TrainingJobName").loc[final, "FinalObjectiveValue"]
    )
    assert str(curves["time"].dt.tz) == "UTC"
    # A job reporting one point per epoch (as scripts do) reads back in epoch order.
    store = open_store(store_url)
    now = time.time()
    store.create_training_job(
        TrainingJobRecord(
            name="curves-job-999-streamed",
            tuning_job_name="curves-job",
            seq=999,
            status="Stopped",
            hyperparameters={"eta": 0.1, "noise": 0.5, "depth": 2, "booster": "gbtree"},
            created_at=now,
            started_at=now,
            ended_at=now + 3,
        )
    )
    store.add_metric_points(
        [
            MetricPoint("curves-job-999-streamed", "auc", 0.6 + e / 100, e, now + e)
            for e in range(1, 6)
        ]
    )
    streamed = finished.curves("auc").query("job == 'curves-job-999-streamed'")
    assert streamed["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert streamed["value"].tolist() == pytest.approx([0.61, 0.62, 0.63, 0.64, 0.65])
    assert finished.summary()["TrainingJobCounts"]["Stopped"] == 1


def _demo_module() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "examples" / "xgboost_breast_cancer.py"
    spec = importlib.util.spec_from_file_location("xgboost_breast_cancer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEMO = _demo_module()


def train_demo_with_a_dummy(hp: dict) -> dict:
    # The demo's own XGBoost job; "dummy" is tuned but never reaches it.
    return DEMO.train({k: v for k, v in hp.items() if k != "dummy"})


@pytest.mark.slow
def test_importance_agrees_with_the_rank_correlation_on_the_demo(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(
        "validation:auc",
        {  # the demo's ranges, and one the training never reads
            "eta": ContinuousParameter(0.001, 1.0, scaling_type="Logarithmic"),
            "alpha": ContinuousParameter(1e-4, 10.0, scaling_type="Logarithmic"),
            "max_depth": IntegerParameter(1, 10),
            "min_child_weight": ContinuousParameter(0.1, 20.0),
            "subsample": ContinuousParameter(0.5, 1.0),
            "dummy": ContinuousParameter(0.0, 1.0),
        },
        objective_type="Maximize",
        strategy="Random",
        max_jobs=20,
        max_parallel_jobs=2,
        random_seed=2,
        store=f"sqlite:///{tmp_path / 'demo.db'}",
        show_progress=False,
    )
    tuner.fit(train_demo_with_a_dummy, job_name="importance-demo")
    imp = tuner.analytics().importance().set_index("hyperparameter")
    assert len(imp) == 6 and imp["importance"].notna().all()
    by_rank = imp["importance"].sort_values(ascending=False).index.tolist()
    strongest = imp["rank_correlation"].abs().idxmax()
    assert strongest in by_rank[:2], imp
    correlated = imp.index[imp["rank_correlation"].abs() > 0.5]
    assert len(correlated) >= 1, imp  # the check below must have something to check
    assert (imp.loc[correlated, "importance"] > 0.05).all(), imp
    # The ignored range: near zero, and no further from it than the trees disagree.
    dummy = imp.loc["dummy"]
    assert dummy["importance"] < 0.1 and dummy["importance"] < dummy["importance_std"], imp
    assert dummy["importance"] < imp.loc[strongest, "importance"] / 5, imp


def test_fanova_gives_a_dummy_range_nothing_and_the_dominant_one_the_most() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((200, 3))  # columns: dominant, minor, dummy
    y = 3 * np.sin(3 * x[:, 0]) + 0.5 * x[:, 1] + 0.01 * rng.standard_normal(200)
    result = fanova(x, y)
    assert result.mean[0] > 0.9
    assert result.mean[1] > result.mean[2]
    assert result.mean[2] < 0.02
    assert result.mean.sum() == pytest.approx(1.0)
    assert np.all(result.std >= 0) and result.std[0] < 0.1


def test_fanova_splits_a_pure_interaction_between_its_two_ranges() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((300, 3))
    y = (x[:, 0] - 0.5) * (x[:, 1] - 0.5) + 0.3 * x[:, 0]  # an interaction on top of x0
    result = fanova(x, y)
    assert result.mean[0] > result.mean[1] > result.mean[2]
    assert result.mean[2] < 0.05


def test_fanova_of_a_constant_or_a_single_row_is_zero() -> None:
    x = np.random.default_rng(2).random((20, 2))
    assert fanova(x, np.ones(20)).mean.tolist() == [0.0, 0.0]
    assert fanova(x[:1], np.array([1.0])).mean.tolist() == [0.0, 0.0]


def test_too_few_jobs_gives_no_importance() -> None:
    from sagetune.space import SearchSpace

    space = SearchSpace({"a": ContinuousParameter(0.0, 1.0)})
    jobs = [
        TrainingJobRecord(
            name=f"j{i}",
            tuning_job_name="t",
            seq=i,
            status="Completed",
            hyperparameters={"a": i / 3},
            created_at=0.0,
            objective=float(i),
        )
        for i in range(3)
    ]
    (row,) = hyperparameter_effects(space, jobs)
    assert row["importance"] is None and row["rank_correlation"] == pytest.approx(1.0)


def test_unknown_tuning_job_is_a_clear_error(store_url: str) -> None:
    with pytest.raises(ResourceNotFound, match="no tuning job named 'nope'"):
        TuningJobAnalytics("nope", store=store_url)


@pytest.mark.parametrize("maximize", [True, False])
def test_suggested_ranges_narrow_to_the_best_jobs_in_each_scaling(maximize: bool) -> None:
    space = SearchSpace(
        {
            "lr": ContinuousParameter(1e-5, 1.0, "Logarithmic"),
            "momentum": ContinuousParameter(0.5, 0.9999, "ReverseLogarithmic"),
            "layers": IntegerParameter(1, 12),
            "act": CategoricalParameter(["relu", "tanh", "gelu"]),
        }
    )
    rng = np.random.default_rng(7)
    jobs = []
    for i in range(1, 61):
        hp = {
            "lr": float(10 ** rng.uniform(-5, 0)),
            "momentum": float(1 - 10 ** rng.uniform(-4, math.log10(0.5))),
            "layers": int(rng.integers(1, 13)),
            "act": ["relu", "tanh", "gelu"][i % 3],
        }
        score = -((math.log10(hp["lr"]) + 3) ** 2) - abs(hp["layers"] - 6) / 3
        score += 0.5 if hp["act"] == "gelu" else 0.0
        jobs.append(
            TrainingJobRecord(
                name=f"s-{i}",
                tuning_job_name="s",
                seq=i,
                status="Completed",
                hyperparameters=hp,
                created_at=float(i),
                objective=score if maximize else -score,
            )
        )
    best = max(jobs, key=lambda j: j.objective if maximize else -j.objective)  # type: ignore[operator]
    rows = {r["hyperparameter"]: r for r in suggested_ranges(space, jobs, maximize)}
    assert list(rows) == ["lr", "momentum", "layers", "act"]
    for name in ("lr", "momentum", "layers"):
        s, r = rows[name]["suggested"], rows[name]["range"]
        assert r["MinValue"] <= s["MinValue"] <= best.hyperparameters[name] <= s["MaxValue"]
        assert s["MaxValue"] <= r["MaxValue"]
        assert rows[name]["jobs_used"] == 12  # the best 20% of 60
    lr = rows["lr"]["suggested"]
    assert lr["MaxValue"] / lr["MinValue"] < 1e4  # narrowed from five decades
    assert rows["lr"]["parameter_range"] == {
        "Name": "lr",
        "MinValue": str(lr["MinValue"]),
        "MaxValue": str(lr["MaxValue"]),
        "ScalingType": "Logarithmic",
    }
    assert isinstance(rows["layers"]["suggested"]["MinValue"], int)
    assert best.hyperparameters["act"] in rows["act"]["suggested"]["Values"]
    assert set(rows["act"]["suggested"]["Values"]) <= {"relu", "tanh", "gelu"}
    assert suggested_ranges(space, [], maximize) == []
