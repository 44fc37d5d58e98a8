"""Random search: independent uniform draws on the unit cube (so by each range's scaling)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sagetune.strategies.base import Observation, Strategy


class RandomStrategy(Strategy):
    """Seeded random search."""

    name = "Random"

    def suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        return self.space.sample(self.rng(observations), n)
