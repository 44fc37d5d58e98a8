"""The optimisers compared, behind one sequential ask/tell interface with timed suggestions.

sagetune strategies are timed around ``Strategy.suggest``. Optuna samplers are timed around
``Study.ask(fixed_distributions=...)``: passing the distributions makes ``ask`` call
``Trial._suggest`` for every parameter, which triggers the sampler's relative sampling
(``infer_relative_search_space`` + ``sample_relative``: the GP fit and acquisition optimisation
of ``GPSampler``) and TPE's per-parameter ``sample_independent``. So all the sampler's work for
one suggestion happens inside the timed region.

The other peers are timed the same way, around the call that produces a suggestion: Ax's
``Client.get_next_trials`` (its generation strategy: model fit and acquisition optimisation)
and SMAC3's ``ask`` (random-forest or GP fit and the acquisition search).
Each sees the same ranges as sagetune (see :func:`peer_ranges`), and every suggestion is
checked against the sagetune space before it is evaluated.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
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


@dataclass(frozen=True)
class PeerRange:
    """One sagetune range as a peer optimiser declares it.

    ``kind`` is ``float``, ``int`` or ``choice``. A ``ReverseLogarithmic`` range (evenly over
    ``-log(1 - x)``, as sagetune maps it) is declared as ``1 - x`` on a log axis over
    ``[1 - max, 1 - min]`` (``reverse``); categorical values are declared as their text
    (``choices``, mapped back to ``values``) since some peers take strings only.
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    reverse: bool = False
    choices: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()

    def to_sagetune(self, value: Any) -> Any:
        """The sagetune value of a value the peer suggested."""
        if self.kind == "choice":
            return self.values[self.choices.index(str(value))]
        if self.kind == "int":
            return int(round(float(value)))
        if self.reverse:
            # Clip the rounding of 1 - (1 - x) back into [min, max].
            return min(max(1.0 - float(value), 1.0 - self.high), 1.0 - self.low)
        return float(value)


def peer_ranges(space: SearchSpace) -> list[PeerRange]:
    """The ranges of ``space`` as peers declare them (same bounds and scaling)."""
    out = []
    for name, p in space.ranges.items():
        if isinstance(p, CategoricalParameter):
            choices = tuple(str(v) for v in p.values)
            if len(set(choices)) != len(choices):
                raise ValueError(f"{name}: categorical values must differ as text for peers")
            out.append(PeerRange(name, "choice", choices=choices, values=tuple(p.values)))
            continue
        assert isinstance(p, (ContinuousParameter, IntegerParameter))
        lo, hi = float(p.min_value), float(p.max_value)
        if p.scaling == "ReverseLogarithmic":
            out.append(PeerRange(name, "float", 1.0 - hi, 1.0 - lo, log=True, reverse=True))
        elif isinstance(p, IntegerParameter):
            out.append(PeerRange(name, "int", lo, hi, log=p.scaling == "Logarithmic"))
        else:
            out.append(PeerRange(name, "float", lo, hi, log=p.scaling == "Logarithmic"))
    return out


def from_peer(
    space: SearchSpace, ranges: list[PeerRange], params: Mapping[str, Any]
) -> dict[str, Any]:
    """A peer's suggestion as sagetune hyperparameters, checked against ``space``.

    Raises:
        ValueError: a range is missing, or a value is outside its range (not a whole number
            for an integer range, not one of the values for a categorical one).
    """
    hp = {}
    for r in ranges:
        if r.name not in params:
            raise ValueError(f"{r.name}: missing from the peer's suggestion")
        value = r.to_sagetune(params[r.name])
        if not space.ranges[r.name].contains(value):
            raise ValueError(f"{r.name}: peer suggested {params[r.name]!r}, outside the range")
        hp[r.name] = value
    return hp


def optuna_distributions(space: SearchSpace) -> dict[str, Any]:
    """Optuna distributions equivalent to a sagetune space (same bounds and scaling)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for r in peer_ranges(space):
        if r.kind == "choice":
            out[r.name] = CategoricalDistribution(list(r.choices))
        elif r.kind == "int":
            out[r.name] = IntDistribution(int(r.low), int(r.high), log=r.log)
        else:
            out[r.name] = FloatDistribution(r.low, r.high, log=r.log)
    return out


def quiet_optuna() -> None:
    """Silence Optuna's per-trial logging and its experimental-feature warnings."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


class PeerMethod:
    """A peer optimiser behind ask/tell: subclasses say how it suggests and observes.

    ``_suggest(n)`` returns ``n`` suggestions as the peer's parameters with a handle (its
    trial), the asked ones not told yet staying open in the peer (pending, as running jobs);
    ``_observe(handle, value)`` completes one. Only ``_suggest`` is timed.
    """

    def __init__(self, space: SearchSpace):
        self.space = space
        self.ranges = peer_ranges(space)
        # Asked, not told yet, oldest first, with the peer's handle of each.
        self._open: list[tuple[dict[str, Any], Any]] = []

    def _suggest(self, n: int) -> list[tuple[Mapping[str, Any], Any]]:
        raise NotImplementedError

    def _observe(self, handle: Any, value: float) -> None:
        raise NotImplementedError

    def ask(self) -> tuple[dict[str, Any], float]:
        batch, elapsed = self.ask_batch([hp for hp, _ in self._open], 1)
        return batch[0], elapsed

    def ask_batch(
        self, running: list[dict[str, Any]], n: int
    ) -> tuple[list[dict[str, Any]], float]:
        """``n`` more suggestions while the asked ones not told yet (``running``) stay open."""
        if len(running) != len(self._open):
            raise RuntimeError("running jobs must be the trials asked and not told yet")
        t0 = time.perf_counter()
        suggested = self._suggest(n)
        elapsed = time.perf_counter() - t0
        if len(suggested) != n:
            raise RuntimeError(f"{type(self).__name__} gave {len(suggested)} of {n} suggestions")
        out = []
        for params, handle in suggested:
            hp = from_peer(self.space, self.ranges, params)
            self._open.append((hp, handle))
            out.append(hp)
        return out, elapsed

    def tell(self, hyperparameters: Mapping[str, Any], value: float) -> None:
        """Record the value of the oldest open trial with these hyperparameters."""
        hp = dict(hyperparameters)
        i = next(i for i, (params, _) in enumerate(self._open) if params == hp)
        _, handle = self._open.pop(i)
        self._observe(handle, float(value))


class OptunaMethod(PeerMethod):
    """An Optuna sampler driven through ask/tell on an in-memory study (minimising).

    Trials asked and not told stay RUNNING in the study, which is how Optuna's samplers see
    jobs running in parallel (GPSampler models them); a batch is asked one trial at a time.
    """

    def __init__(self, sampler: Any, space: SearchSpace):
        import optuna

        super().__init__(space)
        quiet_optuna()
        self.study = optuna.create_study(direction="minimize", sampler=sampler)
        self.distributions = optuna_distributions(space)

    def _suggest(self, n: int) -> list[tuple[Mapping[str, Any], Any]]:
        trials = [self.study.ask(fixed_distributions=self.distributions) for _ in range(n)]
        return [(t.params, t) for t in trials]

    def _observe(self, handle: Any, value: float) -> None:
        self.study.tell(handle, value)


def quiet_peers() -> None:
    """Silence Ax's, BoTorch's and SMAC's logging and warnings (one line a trial)."""
    for name in ("ax", "botorch", "gpytorch", "linear_operator", "smac"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        # Ax's loggers write through a handler of their own at INFO.
        from ax.utils.common.logger import set_ax_logger_levels, set_stderr_log_level

        set_ax_logger_levels(logging.ERROR)
        set_stderr_log_level(logging.ERROR)
    except ImportError:
        pass
    for module in ("ax", "botorch", "gpytorch", "linear_operator", "smac", "ConfigSpace"):
        warnings.filterwarnings("ignore", module=module)
    warnings.filterwarnings("ignore", message=".*(botorch|BoTorch|SMAC|pyrfr).*")


class AxMethod(PeerMethod):
    """Ax's default: ``ax.Client`` with its default generation strategy (a centre point and
    Sobol trials, then BoTorch's default modular model), seeded by ``random_seed``, minimising.

    Trials asked and not completed stay RUNNING, and Ax's generation strategy treats them as
    pending points (a batch of ``n`` comes from one ``get_next_trials`` call).
    """

    def __init__(self, space: SearchSpace, seed: int):
        from ax import ChoiceParameterConfig, Client, RangeParameterConfig

        super().__init__(space)
        quiet_peers()
        self.client = Client(random_seed=seed)
        parameters: list[Any] = []
        for r in self.ranges:
            if r.kind == "choice":
                parameters.append(
                    ChoiceParameterConfig(
                        name=r.name, values=list(r.choices), parameter_type="str", is_ordered=False
                    )
                )
            else:
                bounds = (int(r.low), int(r.high)) if r.kind == "int" else (r.low, r.high)
                parameters.append(
                    RangeParameterConfig(
                        name=r.name,
                        parameter_type=r.kind,
                        bounds=bounds,
                        scaling="log" if r.log else "linear",
                    )
                )
        self.client.configure_experiment(parameters=parameters, name="benchmark")
        self.client.configure_optimization(objective="-loss")
        # The default strategy ("fast": centre, Sobol, then BoTorch), except that Sobol may
        # go on while its trials await data: without it Ax refuses a sixth running trial
        # (DataRequiredError) until five have values. One at a time it changes nothing.
        self.client.configure_generation_strategy(allow_exceeding_initialization_budget=True)

    def _suggest(self, n: int) -> list[tuple[Mapping[str, Any], Any]]:
        out: list[tuple[Mapping[str, Any], Any]] = []
        # A generation step may hand out fewer than asked at its end; ask for the rest.
        while len(out) < n:
            trials = self.client.get_next_trials(max_trials=n - len(out))
            if not trials:
                raise RuntimeError("Ax generated no trial")
            out += [(params, index) for index, params in trials.items()]
        return out

    def _observe(self, handle: Any, value: float) -> None:
        self.client.complete_trial(trial_index=handle, raw_data={"loss": value})


def _no_target(config: Any, seed: int = 0) -> float:
    """SMAC's facades want a target function; the benchmark evaluates through ask/tell."""
    raise RuntimeError("evaluated through ask/tell")


class SmacMethod(PeerMethod):
    """SMAC3 through ask/tell: ``BlackBoxFacade`` (a GP) on continuous and integer spaces,
    ``HyperparameterOptimizationFacade`` (a random forest) when there are categoricals,
    each with its default initial design, ``n_trials`` the budget, deterministic, seeded.

    Several asks may be outstanding (jobs running); SMAC does not model them, it only keeps
    its runhistory's pending trials out of the next ones.
    """

    def __init__(self, space: SearchSpace, seed: int, budget: int):
        from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer
        from smac import BlackBoxFacade, HyperparameterOptimizationFacade, Scenario

        super().__init__(space)
        quiet_peers()
        cs = ConfigurationSpace(seed=seed)
        for r in self.ranges:
            if r.kind == "choice":
                cs.add(Categorical(r.name, list(r.choices)))
            elif r.kind == "int":
                cs.add(Integer(r.name, (int(r.low), int(r.high)), log=r.log))
            else:
                cs.add(Float(r.name, (r.low, r.high), log=r.log))
        # SMAC writes its runhistory to disk; keep it out of the repository.
        self._dir = tempfile.TemporaryDirectory(prefix="smac-")
        scenario = Scenario(
            cs,
            deterministic=True,
            n_trials=budget,
            seed=seed,
            output_directory=Path(self._dir.name),
        )
        facade: Any = (
            HyperparameterOptimizationFacade
            if any(r.kind == "choice" for r in self.ranges)
            else BlackBoxFacade
        )
        self.smac = facade(
            scenario, target_function=_no_target, overwrite=True, logging_level=logging.ERROR
        )

    def _suggest(self, n: int) -> list[tuple[Mapping[str, Any], Any]]:
        infos = [self.smac.ask() for _ in range(n)]
        return [(dict(info.config), info) for info in infos]

    def _observe(self, handle: Any, value: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self.smac.tell(handle, TrialValue(cost=value), save=False)


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
_PEERS = ("ax", "smac")
METHODS = tuple(_SAGETUNE_STRATEGIES) + tuple(_OPTUNA_SAMPLERS) + _PEERS


def make_method(name: str, space: SearchSpace, seed: int, budget: int) -> Method:
    """A fresh optimiser of that benchmark name (without any ``@q`` suffix), seeded, for a
    run of ``budget`` jobs (SMAC plans its initial design on it)."""
    if name in _SAGETUNE_STRATEGIES:
        return SagetuneMethod(_SAGETUNE_STRATEGIES[name], space, seed)
    if name in _OPTUNA_SAMPLERS:
        return OptunaMethod(_OPTUNA_SAMPLERS[name](seed), space)
    if name == "ax":
        return AxMethod(space, seed)
    if name == "smac":
        return SmacMethod(space, seed, budget)
    raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
