"""Analytics of a tuning job, as the SageMaker SDK's ``HyperparameterTuningJobAnalytics``."""

from __future__ import annotations

import pandas as pd

from sagetune.store.sql import SQLStore, open_store

BASE_COLUMNS = ["TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue",
                "TrainingStartTime", "TrainingEndTime", "TrainingElapsedTimeSeconds"]


class TuningJobAnalytics:
    """Read a tuning job's results from the store.

    Args:
        hyperparameter_tuning_job_name: the tuning job.
        store: a store, a SQLAlchemy URL, a SQLite file path, or None for the default store.

    Example:
        >>> df = TuningJobAnalytics("my-job").dataframe()  # doctest: +SKIP
        >>> df.sort_values("FinalObjectiveValue").tail(1)  # doctest: +SKIP
    """

    def __init__(self, hyperparameter_tuning_job_name: str, store: SQLStore | str | None = None):
        self.name = hyperparameter_tuning_job_name
        self.store = open_store(store)
        self.store.get_tuning_job(self.name)  # fail early on an unknown name

    def dataframe(self) -> pd.DataFrame:
        """One row per training job, in creation order: a column per tuned hyperparameter,
        then ``TrainingJobName``, ``TrainingJobStatus``, ``FinalObjectiveValue``,
        ``TrainingStartTime``, ``TrainingEndTime`` (aware UTC timestamps) and
        ``TrainingElapsedTimeSeconds``."""
        record = self.store.get_tuning_job(self.name)
        ranges = record.request["HyperParameterTuningJobConfig"]["ParameterRanges"]
        names = [r["Name"] for kind in ("ContinuousParameterRanges", "IntegerParameterRanges",
                                        "CategoricalParameterRanges")
                 for r in ranges.get(kind) or []]
        rows = []
        for job in self.store.list_training_jobs(self.name):
            row = {n: job.hyperparameters.get(n) for n in names}
            start = pd.Timestamp(job.started_at, unit="s", tz="UTC") if job.started_at else None
            end = pd.Timestamp(job.ended_at, unit="s", tz="UTC") if job.ended_at else None
            row.update({
                "TrainingJobName": job.name,
                "TrainingJobStatus": job.status,
                "FinalObjectiveValue": job.objective,
                "TrainingStartTime": start,
                "TrainingEndTime": end,
                "TrainingElapsedTimeSeconds": (job.ended_at - job.started_at
                                               if job.ended_at and job.started_at else None),
            })
            rows.append(row)
        df = pd.DataFrame(rows, columns=names + BASE_COLUMNS)
        df["FinalObjectiveValue"] = df["FinalObjectiveValue"].astype(float)
        df["TrainingElapsedTimeSeconds"] = df["TrainingElapsedTimeSeconds"].astype(float)
        return df
