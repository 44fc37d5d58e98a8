"""Executors start, watch and stop training jobs; they know nothing of strategies or stores."""

from sagetune.executors.base import Executor, JobFinished, JobRequest, JobStarted, MetricReported
from sagetune.executors.process import ProcessExecutor

__all__ = [
    "Executor",
    "JobFinished",
    "JobRequest",
    "JobStarted",
    "MetricReported",
    "ProcessExecutor",
]
