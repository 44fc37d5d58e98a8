"""Early stopping of training jobs: the interface and SageMaker's median rule."""

from sagetune.stopping.base import CONTINUE, JobSnapshot, StopAction, StopDecision, StoppingRule
from sagetune.stopping.median import MedianStoppingRule, min_jobs_for

__all__ = [
    "CONTINUE",
    "JobSnapshot",
    "MedianStoppingRule",
    "StopAction",
    "StopDecision",
    "StoppingRule",
    "min_jobs_for",
]
