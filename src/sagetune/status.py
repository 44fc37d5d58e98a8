"""The states of tuning jobs and training jobs, spelt as SageMaker spells them.

Both are :class:`enum.StrEnum`: a member equals its string (``TrainingJobStatus.Completed ==
"Completed"``), hashes like it, formats and JSON-serialises as it, so records, requests and
answers keep working with plain strings while code names the states once. Member names are the
SageMaker words themselves, so one state has one spelling in code, store and API answers.
"""

from __future__ import annotations

import enum


class TuningJobStatus(enum.StrEnum):
    """``HyperParameterTuningJobStatus``."""

    InProgress = "InProgress"
    Completed = "Completed"
    Failed = "Failed"
    Stopping = "Stopping"
    Stopped = "Stopped"

    @property
    def finished(self) -> bool:
        """True for Completed, Failed and Stopped."""
        return self in _FINISHED


class TrainingJobStatus(enum.StrEnum):
    """``TrainingJobStatus``; strategies see a running job as ``InProgress`` too."""

    InProgress = "InProgress"
    Completed = "Completed"
    Failed = "Failed"
    Stopping = "Stopping"
    Stopped = "Stopped"

    @property
    def finished(self) -> bool:
        """True for Completed, Failed and Stopped."""
        return self in _FINISHED


# Plain strings: members of either enum compare (and hash) equal to them.
_FINISHED = frozenset({"Completed", "Failed", "Stopped"})
