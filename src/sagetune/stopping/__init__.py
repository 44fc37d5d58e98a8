"""Early stopping of training jobs: the interface and SageMaker's median rule."""

from sagetune.stopping.base import Decision, JobSnapshot, StoppingRule
from sagetune.stopping.median import MedianStoppingRule, min_jobs_for

__all__ = ["Decision", "JobSnapshot", "MedianStoppingRule", "StoppingRule", "min_jobs_for"]
