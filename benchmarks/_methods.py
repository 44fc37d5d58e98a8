"""The optimisers compared, behind one sequential ask/tell interface with timed suggestions.

sagetune strategies are timed around ``Strategy.suggest``. Optuna samplers are timed around
``Study.ask(fixed_distributions=...)``: passing the distributions makes ``ask`` call
``Trial._suggest`` for every parameter, which triggers the sampler's relative sampling
(``infer_relative_search_space`` + ``sample_relative``: the GP fit and acquisition optimisation
of ``GPSampler``) and TPE's per-parameter ``sample_independent``. So all the sampler's work for
one suggestion happens inside the timed region.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from sagetune.space import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    SearchSpace,
)
from sagetune.strategies import Observation, make_strategy

DEFAULT_METHODS = (
    "sagetune-bayesian",
    "sagetune-random",
    "optuna-tpe",
    "optuna-gp",
    "sagetune-bayesian@4",
    "sagetune-bayesian@8",
    "optuna-gp@4",
    "optuna-gp@8",
)


class Method(Protocol):
    """One optimiser run on one problem and seed."""

    def ask(self) -> tuple[dict[str, Any], float]:
        """The next hyperparameters and the seconds spent choosing them."""
        ...

    def ask_batch(
        self, running: list[dict[str, Any]], n: int
    ) -> tuple[list[dict[str, Any]], float]:
        """``n`` more hyperparameters while ``running`` (asked, not told) have no value."""
        ...

    def tell(self, hyperparameters: Mapping[str, Any], value: float) -> None:
        """Record the value (to minimise) of asked hyperparameters."""
        ...


class SagetuneMethod:
    """A sagetune strategy driven sequentially, as the tuner does with one parallel slot."""

    def __init__(self, strategy: str, space: SearchSpace, seed: int):
        self.strategy = make_strategy(strategy, space, seed)
        self.observations: list[Observation] = []

    def ask(self) -> tuple[dict[str, Any], float]:
        t0 = time.perf_counter()
        suggestions = self.strategy.suggest(self.observations, 1)
        elapsed = time.perf_counter() - t0
        if not suggestions:
            raise RuntimeError(f"{self.strategy.name} returned no suggestion")
        return dict(suggestions[0]), elapsed

    def ask_batch(
        self, running: list[dict[str, Any]], n: int
    ) -> tuple[list[dict[str, Any]], float]:
        """``n`` suggestions while ``running`` jobs have no value yet, and the seconds taken."""
        pending = [Observation(dict(hp), "InProgress") for hp in running]
        t0 = time.perf_counter()
        suggestions = self.strategy.suggest(self.observations + pending, n)
        elapsed = time.perf_counter() - t0
        if len(suggestions) < n:
            raise RuntimeError(f"{self.strategy.name} returned too few suggestions")
        return [dict(hp) for hp in suggestions], elapsed

    def tell(self, hyperparameters: Mapping[str, Any], value: float) -> None:
        self.observations.append(Observation(dict(hyperparameters), "Completed", float(value)))


def optuna_distributions(space: SearchSpace) -> dict[str, Any]:
    """Optuna distributions equivalent to a sagetune space (same bounds and scaling)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, p in space.ranges.items():
        if isinstance(p, CategoricalParameter):
            out[name] = CategoricalDistribution(list(p.values))
            continue
        assert isinstance(p, (ContinuousParameter, IntegerParameter))
        if p.scaling not in ("Linear", "Logarithmic"):
            raise ValueError(f"{name}: Optuna has no {p.scaling} scaling")
        log = p.scaling == "Logarithmic"
        if isinstance(p, IntegerParameter):
            out[name] = IntDistribution(int(p.min_value), int(p.max_value), log=log)
        else:
            out[name] = FloatDistribution(float(p.min_value), float(p.max_value), log=log)
    return out


def quiet_optuna() -> None:
    """Silence Optuna's per-trial logging and its experimental-feature warnings."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class OptunaMethod:
    """An Optuna sampler driven through ask/tell on an in-memory study (minimising)."""

    def __init__(self, sampler: Any, space: SearchSpace):
        import optuna

        quiet_optuna()
        self.study = optuna.create_study(direction="minimize", sampler=sampler)
        self.distributions = optuna_distributions(space)
        # Asked trials not told yet, oldest first: the study holds them as RUNNING, which is
        # how Optuna's samplers see jobs running in parallel (GPSampler models them).
        self._open: list[tuple[dict[str, Any], Any]] = []

    def ask(self) -> tuple[dict[str, Any], float]:
        t0 = time.perf_counter()
        trial = self.study.ask(fixed_distributions=self.distributions)
        params = dict(trial.params)
        elapsed = time.perf_counter() - t0
        self._open.append((params, trial))
        return params, elapsed

    def ask_batch(
        self, running: list[dict[str, Any]], n: int
    ) -> tuple[list[dict[str, Any]], float]:
        """``n`` more trials while the asked ones not told yet (``running``) stay RUNNING."""
        if len(running) != len(self._open):
            raise RuntimeError("running jobs must be the trials asked and not told yet")
        out, seconds = [], 0.0
        for _ in range(n):
            params, elapsed = self.ask()
            out.append(params)
            seconds += elapsed
        return out, seconds

    def tell(self, hyperparameters: Mapping[str, Any], value: float) -> None:
        """Record the value of the oldest open trial with these hyperparameters."""
        hp = dict(hyperparameters)
        i = next(i for i, (params, _) in enumerate(self._open) if params == hp)
        _, trial = self._open.pop(i)
        self.study.tell(trial, float(value))


def _tpe(seed: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(seed=seed)


def _gp(seed: int) -> Any:
    import optuna

    return optuna.samplers.GPSampler(seed=seed)


def _optuna_random(seed: int) -> Any:
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


_OPTUNA_SAMPLERS: dict[str, Callable[[int], Any]] = {
    "optuna-tpe": _tpe,
    "optuna-gp": _gp,
    "optuna-random": _optuna_random,
}
_SAGETUNE_STRATEGIES = {"sagetune-bayesian": "Bayesian", "sagetune-random": "Random"}
METHODS = tuple(_SAGETUNE_STRATEGIES) + tuple(_OPTUNA_SAMPLERS)


def make_method(name: str, space: SearchSpace, seed: int) -> Method:
    """A fresh optimiser of that benchmark name (without any ``@q`` suffix), seeded."""
    if name in _SAGETUNE_STRATEGIES:
        return SagetuneMethod(_SAGETUNE_STRATEGIES[name], space, seed)
    if name in _OPTUNA_SAMPLERS:
        return OptunaMethod(_OPTUNA_SAMPLERS[name](seed), space)
    raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
