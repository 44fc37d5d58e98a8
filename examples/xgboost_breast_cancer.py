"""Tune XGBoost on scikit-learn's breast_cancer data (shipped with scikit-learn).

The classic SageMaker example, locally: eta and alpha on a log scale, max_depth as an integer,
min_child_weight and subsample; validation AUC, maximised; Bayesian search, 30 training jobs.
Run it with ``make demo``. Seeded and one job at a time, so every run draws the same jobs (with
jobs in parallel, Bayesian suggestions depend on which results are in) and the README's picture
is what it shows.
"""

from __future__ import annotations

import sys

from sagetune import ContinuousParameter, HyperparameterTuner, IntegerParameter
from sagetune.formatting import format_value
from sagetune.report import write_report


def train(hyperparameters: dict) -> dict:
    """Train on 75% of the data and report AUC on the other 25%."""
    import xgboost as xgb
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = xgb.XGBClassifier(
        n_estimators=100,
        learning_rate=hyperparameters["eta"],
        reg_alpha=hyperparameters["alpha"],
        max_depth=hyperparameters["max_depth"],
        min_child_weight=hyperparameters["min_child_weight"],
        subsample=hyperparameters["subsample"],
        n_jobs=1,
        verbosity=0,
        tree_method="hist",
        random_state=0,
    )
    model.fit(X_train, y_train)
    auc = roc_auc_score(y_val, model.predict_proba(X_val)[:, 1])
    print(f"validation:auc={auc:.6f}")
    return {"validation:auc": auc}


def main() -> None:
    tuner = HyperparameterTuner(
        objective_metric_name="validation:auc",
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.001, 1.0, scaling_type="Logarithmic"),
            "alpha": ContinuousParameter(1e-4, 10.0, scaling_type="Logarithmic"),
            "max_depth": IntegerParameter(1, 10),
            "min_child_weight": ContinuousParameter(0.1, 20.0),
            "subsample": ContinuousParameter(0.5, 1.0),
        },
        objective_type="Maximize",
        strategy="Bayesian",
        max_jobs=30,
        max_parallel_jobs=1,
        random_seed=2,
        base_tuning_job_name="xgboost-demo",
        show_progress=True,
    )
    tuner.fit(train)
    description = tuner.describe()
    best = description["BestTrainingJob"]
    print(
        f"\ntuning job : {description['HyperParameterTuningJobName']} "
        f"({description['HyperParameterTuningJobStatus']}, "
        f"{description['TrainingJobStatusCounters']['Completed']} training jobs completed)"
    )
    print(f"best job   : {best['TrainingJobName']}")
    objective = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    print(f"validation:auc = {format_value(objective)}")
    # TunedHyperParameters are the exact strings the job got; the record has the numbers.
    record = tuner.store.get_training_job(best["TrainingJobName"])
    for name, value in record.hyperparameters.items():
        print(f"  {name:17s} {format_value(value)}")
    print(f"store      : {tuner.store.url}")
    report = write_report(tuner.latest_tuning_job, "xgboost-demo-report.html", store=tuner.store)
    print(f"report     : {report.resolve()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
