"""The Hyperband strategy: asynchronous successive halving over several brackets.

With ``MinResource = r``, ``MaxResource = R`` (epochs) and a reduction factor ``eta = 3``
there are ``s_max + 1`` brackets, ``s_max = floor(log_eta(R / r))``. Bracket ``b`` has rungs
at epochs ``r * eta**(b + k) < R`` (``k = 0, 1, ...``): with ``r = 1, R = 27`` the brackets'
rungs are ``[1, 3, 9]``, ``[3, 9]``, ``[9]`` and ``[]`` (the last runs every job to ``R``, as
random search would). A new training job joins a bracket drawn with Hyperband's weights
(``eta**n / (n + 1)`` for a bracket of ``n`` rungs), seeded by the tuning job's seed and the
job's number, so a resumed tuning job assigns the same brackets.

Stopping is asynchronous (the "stopping" variant of ASHA): no job waits for a rung to fill.
When a job first reports an epoch at or past one of its rungs, it is ranked by the objective
at that rung's epoch among every job of the tuning job that has reached that epoch (whatever
its bracket); it goes on if it is in the top ``ceil(n / eta)`` of those ``n`` values, and is
stopped otherwise. A job that reaches ``MaxResource`` has trained enough: it is stopped
there and recorded as Completed.

Suggestions are drawn at random (seeded), as in ASHA. A Bayesian model fitted to the values
at the highest rung with enough jobs (BOHB's choice) was measured and dropped: where the first
rungs rank jobs unlike their final values, it steers toward fast starters, and once its
suggestions beat most earlier jobs at every rung few are stopped, so it spent more epochs than
running every job to the end (BENCHMARKS.md, "Early stopping and Hyperband").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from sagetune.space import SearchSpace
from sagetune.stopping.base import CONTINUE, JobSnapshot, StopDecision, StoppingRule
from sagetune.strategies.base import Observation, Strategy
from sagetune.strategies.random import RandomStrategy

ETA = 3
MAX_RESOURCE_LIMIT = 20_000
# Static hyperparameters SageMaker reads MaxResource from, in this order.
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")


@dataclass(frozen=True)
class HyperbandConfig:
    """``StrategyConfig.HyperbandStrategyConfig``, validated (resources are epochs).

    Example:
        >>> HyperbandConfig(min_resource=1, max_resource=27).brackets
        ((1, 3, 9), (3, 9), (9,), ())
    """

    min_resource: int
    max_resource: int
    eta: int = ETA

    @cached_property
    def brackets(self) -> tuple[tuple[int, ...], ...]:
        """Each bracket's rung epochs, the most aggressive bracket first."""
        out: list[tuple[int, ...]] = []
        start = self.min_resource
        while start <= self.max_resource:
            rungs = []
            epoch = start
            while epoch < self.max_resource:
                rungs.append(epoch)
                epoch *= self.eta
            out.append(tuple(rungs))
            start *= self.eta
        return tuple(out)

    @cached_property
    def weights(self) -> np.ndarray:
        """Hyperband's share of jobs per bracket (more jobs where more are stopped early)."""
        w = np.array([self.eta ** len(r) / (len(r) + 1) for r in self.brackets], dtype=float)
        return w / w.sum()

    def bracket_of(self, seed: int, seq: int) -> int:
        """The bracket of the ``seq``-th training job (deterministic: resume-safe)."""
        rng = np.random.default_rng([int(seed), int(seq), 0x4B])
        return int(rng.choice(len(self.brackets), p=self.weights))


class HyperbandRule(StoppingRule):
    """The stopping side of Hyperband: rank at rungs, stop the bottom, complete at the top.

    Args:
        config: the rungs and brackets.
        seed: the tuning job's seed (fixes each job's bracket).
    """

    def __init__(self, config: HyperbandConfig, seed: int):
        self.config = config
        self.seed = int(seed)

    def rungs_of(self, job: JobSnapshot) -> tuple[int, ...]:
        """The rung epochs of the job's bracket."""
        return self.config.brackets[self.config.bracket_of(self.seed, job.seq)]

    def on_metric(
        self, job: JobSnapshot, epoch: int, value: float, jobs: Sequence[JobSnapshot]
    ) -> StopDecision:
        if epoch >= self.config.max_resource:
            return StopDecision(
                "complete", f"reached MaxResource ({self.config.max_resource} epochs)"
            )
        before = max((e for e, _ in job.curve[:-1]), default=0)
        for rung in self.rungs_of(job):
            if not before < rung <= epoch:
                continue
            others = [
                v for j in jobs if j.name != job.name for v in [j.value_at(rung)] if v is not None
            ]
            n = len(others) + 1
            rank = 1 + sum(v < value for v in others)
            keep = math.ceil(n / self.config.eta)
            if rank > keep:
                bracket = self.config.bracket_of(self.seed, job.seq)
                return StopDecision(
                    "stop",
                    (
                        f"stopped by Hyperband at the rung of epoch {rung} (bracket {bracket}): "
                        f"ranked {rank} of {n} jobs at that epoch, only the top {keep} go on"
                    ),
                    epoch=epoch,
                )
        return CONTINUE


class HyperbandStrategy(Strategy):
    """Suggestions for Hyperband (random, seeded), plus its stopping rule.

    Args:
        space: the search space.
        seed: fixes brackets, random draws and the model.
        config: MinResource, MaxResource and the reduction factor.
    """

    name = "Hyperband"

    def __init__(self, space: SearchSpace, seed: int, config: HyperbandConfig):
        super().__init__(space, seed)
        self.config = config
        self.rule = HyperbandRule(config, seed)
        self._random = RandomStrategy(space, seed)

    def _suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        return self._random.suggest(observations, n)
