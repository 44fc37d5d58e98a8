"""``StrategyConfig`` for the SDK, shaped like ``sagemaker.tuner.StrategyConfig``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HyperbandStrategyConfig:
    """Hyperband's resources, in epochs (see :mod:`sagetune.strategies.hyperband`).

    Args:
        max_resource: the most epochs a training job runs (MaxResource). When None, it is read
            from the static hyperparameter ``epochs`` (or ``numepochs``, ``n-epochs``,
            ``n_epochs``, ``num_epochs``).
        min_resource: the epoch of the first rung (MinResource, default 1): no job is stopped
            before it.
    """

    max_resource: int | None = None
    min_resource: int | None = None

    def to_input_req(self) -> dict[str, Any]:
        """The request's ``HyperbandStrategyConfig``."""
        out: dict[str, Any] = {}
        if self.min_resource is not None:
            out["MinResource"] = self.min_resource
        if self.max_resource is not None:
            out["MaxResource"] = self.max_resource
        return out


@dataclass(frozen=True)
class StrategyConfig:
    """The request's ``StrategyConfig``: only Hyperband has one.

    Example:
        >>> StrategyConfig(HyperbandStrategyConfig(max_resource=27, min_resource=1)).to_input_req()
        {'HyperbandStrategyConfig': {'MinResource': 1, 'MaxResource': 27}}
    """

    hyperband_strategy_config: HyperbandStrategyConfig

    def to_input_req(self) -> dict[str, Any]:
        """The request's ``StrategyConfig``."""
        return {"HyperbandStrategyConfig": self.hyperband_strategy_config.to_input_req()}
