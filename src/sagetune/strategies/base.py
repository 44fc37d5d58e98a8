"""The strategy interface: given the space, a seed and what happened so far, suggest more.

A strategy is pure: it neither runs nor stores anything, and the same space, seed and
observations give the same suggestions. That makes a killed tuning job resumable and a seeded
run reproducible. Values are always minimised here: the tuner flips the sign of a maximised
objective before a strategy sees it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sagetune.space import SearchSpace
from sagetune.status import TrainingJobStatus

# A running job is InProgress, SageMaker's word, as in the store (Stopping, which a strategy
# need not tell apart, is passed as InProgress too). TrainingJobStatus members are equal to
# these strings, so either may be given.
ObservationStatus = Literal[
    "Completed",
    "Failed",
    "InProgress",
    "Stopped",
    TrainingJobStatus.Completed,
    TrainingJobStatus.Failed,
    TrainingJobStatus.InProgress,
    TrainingJobStatus.Stopped,
]
_STATUSES = frozenset({"Completed", "Failed", "InProgress", "Stopped"})
_WITH_VALUE = (TrainingJobStatus.Completed, TrainingJobStatus.Stopped)


@dataclass(frozen=True)
class Observation:
    """A frozen snapshot of one training job, as a strategy sees it.

    Attributes:
        hyperparameters: the tuned values the job was started with.
        status: ``Completed`` or ``Stopped`` with a value, ``Failed`` without, ``InProgress``
            (started or about to start, no value yet).
        value: the objective to minimise, when known.
        curve: ``(epoch, value)`` points of the objective reported during training (values
            to minimise); empty when the job reported none.
        interrupted: the job was cut short by its tuner's end (killed, SIGTERM, Ctrl-C, a
            lost store or cluster) and a new job replaces it: :meth:`Strategy.suggest`
            suggests its point again and no strategy counts it (its partial value is no
            result).
    """

    hyperparameters: Mapping[str, Any]
    status: ObservationStatus
    value: float | None = None
    curve: tuple[tuple[int, float], ...] = ()
    interrupted: bool = False

    def __post_init__(self) -> None:
        # A misspelt status (the older "Running", say) would make a strategy ignore the job
        # silently: neither a value nor a pending point.
        if self.status not in _STATUSES:
            raise ValueError(
                f"Observation status must be one of {', '.join(sorted(_STATUSES))}, "
                f"got {self.status!r}"
            )

    @property
    def has_value(self) -> bool:
        """True for a Completed or Stopped job with a value, not interrupted."""
        return self.value is not None and self.status in _WITH_VALUE and not self.interrupted


class Strategy(ABC):
    """Suggests hyperparameters. Subclasses implement :meth:`_suggest`, which never sees an
    interrupted observation."""

    name: str = ""

    def __init__(self, space: SearchSpace, seed: int):
        self.space = space
        self.seed = int(seed)

    def rng(self, observations: Sequence[Observation], salt: int = 0) -> np.random.Generator:
        """A generator fixed by the seed and the number of observations, so that a suggestion
        depends only on what is known, never on how many calls came before (resume-safe)."""
        return np.random.default_rng([self.seed, len(observations), salt])

    def known(self, observations: Sequence[Observation]) -> set[tuple]:
        """The keys of every observed point inside the space (running and failed included),
        so that no suggestion repeats one."""
        return {
            self.space.key(o.hyperparameters)
            for o in observations
            if self.space.contains(o.hyperparameters)
        }

    def suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        """Return up to ``n`` new hyperparameter dicts.

        An interrupted job is run again: its point comes first, unless a later job has
        tried it. The strategy's own suggestions follow, made as if the interrupted jobs had
        never run and their re-runs were InProgress: so they consume no grid point or draw,
        and their partial values are never modelled.

        Args:
            observations: every training job of the tuning job so far, in creation order.
            n: how many suggestions are wanted (free parallel slots).

        Returns:
            At most ``n`` suggestions; fewer (possibly none) means the strategy has nothing
            left to try (Grid after the last combination).
        """
        counted = [o for o in observations if not o.interrupted]
        tried = self.known(counted)
        again: list[dict[str, Any]] = []
        for o in observations:
            if len(again) >= n:
                break
            if o.interrupted and self.space.contains(o.hyperparameters):
                key = self.space.key(o.hyperparameters)
                if key not in tried:
                    tried.add(key)
                    again.append(dict(o.hyperparameters))
        if len(again) >= n:
            return again
        pending = [Observation(hp, TrainingJobStatus.InProgress) for hp in again]
        return again + self._suggest(counted + pending, n - len(again))

    @abstractmethod
    def _suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        """:meth:`suggest` without the interrupted observations."""
