"""Random search: independent uniform draws on the unit cube (so by each range's scaling)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sagetune.strategies.base import Observation, Strategy

_TRIES = 50


class RandomStrategy(Strategy):
    """Seeded random search that does not repeat a point already run (or being run).

    Repeats only matter for small integer and categorical spaces, and for warm starts from
    identical parents, whose points are skipped.
    """

    name = "Random"

    def suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        rng = self.rng(observations)
        seen = {self.space.key(o.hyperparameters) for o in observations
                if self.space.contains(o.hyperparameters)}
        out: list[dict[str, Any]] = []
        for _ in range(n):
            for _ in range(_TRIES):
                hp = self.space.sample(rng, 1)[0]
                if self.space.key(hp) not in seen:
                    break
            seen.add(self.space.key(hp))
            out.append(hp)
        return out
