"""Random search: independent uniform draws on the unit cube (so by each range's scaling)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sagetune.strategies.base import Observation, Strategy

_TRIES = 50


class RandomStrategy(Strategy):
    """Seeded random search that does not repeat a point already run (or being run).

    Repeats only matter for small integer and categorical spaces, and for warm starts from
    identical parents, whose points are skipped.

    The ``k``-th training job's draw depends only on the seed and ``k``, not on how many
    suggestions were asked for at once: with parallel jobs the same seed gives the same
    sequence of points whatever order the jobs happen to finish in.
    """

    name = "Random"

    def _suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        seen = self.tried(observations)  # kept up to date, not rebuilt (see Strategy.tried)
        mine: set[tuple] = set()  # this call's own draws
        out: list[dict[str, Any]] = []
        for i in range(n):
            rng = np.random.default_rng([self.seed, len(observations) + i])
            for _ in range(_TRIES):
                hp = self.space.sample(rng, 1)[0]
                key = self.space.key(hp)
                if key not in seen and key not in mine:
                    break
            mine.add(key)
            out.append(hp)
        return out
