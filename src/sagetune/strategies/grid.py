"""Grid search over categorical (and, as an extension, integer) ranges.

Combinations are walked in a fixed order (the last range varies fastest), each exactly once:
a combination already started, running, finished or failed is never suggested again, which also
keeps parallel suggestions free of duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sagetune.strategies.base import Observation, Strategy


class GridStrategy(Strategy):
    """Exhaustive, deterministic grid search."""

    name = "Grid"

    def _suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        seen = self.tried(observations)
        out: list[dict[str, Any]] = []
        for combo in self.space.grid():
            if len(out) >= n:
                break
            if self.space.key(combo) not in seen:
                out.append(combo)
        return out
