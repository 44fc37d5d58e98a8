"""Intermediate metrics from Python training callables: the reporter and the stop signal.

A training callable that takes a second argument receives a reporter::

    def train(hyperparameters, report):
        for epoch in range(1, hyperparameters["epochs"] + 1):
            ...  # one epoch of training
            report(epoch=epoch, loss=val_loss, accuracy=val_acc)
        return {"loss": val_loss, "accuracy": val_acc}

Each call is one point of each metric's series, at that epoch (like one line a training
script prints). Early stopping and Hyperband read the objective metric's points. When the
tuner decides to stop the job, the next ``report(...)`` raises :class:`TrainingStopped`: let
it propagate, or catch it to save a checkpoint and return. A job that is told to stop but
does not report again within the stop grace period has its worker process ended.

The reporter is passed when the callable has a second positional parameter without a
default (or ``*args``); ``train(hyperparameters)`` alone works as before.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, Protocol


class TrainingStopped(Exception):
    """Raised by ``report(...)`` once the tuner has decided to stop the training job.

    The job ends ``Stopped`` whether the callable lets it propagate or catches it and returns;
    its final objective is the last value it reported.
    """


class Reporter(Protocol):
    """What a training callable's second argument is."""

    def __call__(self, epoch: int | None = None, **metrics: float) -> None:
        """Report metric values after an epoch.

        Args:
            epoch: the epoch just finished (1, 2, ...; default: the previous one plus 1).
                Epochs must increase from call to call.
            **metrics: metric name -> finite number, e.g. ``loss=0.31``.

        Raises:
            TrainingStopped: the tuner stopped the job (early stopping or Hyperband).
            ValueError: an epoch that does not increase, or a non-finite or non-numeric
                value.
        """


MODEL_DIR = "model_dir"


def wants_reporter(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` takes a reporter: a second positional parameter without a default
    (other than ``model_dir``), or ``*args``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != MODEL_DIR
    ]
    if len(positional) >= 2 and positional[1].default is inspect.Parameter.empty:
        return True
    return any(p.kind == p.VAR_POSITIONAL for p in params)


def wants_model_dir(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` asks for a model folder: a parameter named ``model_dir``, as
    ``train(hyperparameters, model_dir)`` or ``train(hyperparameters, report, model_dir)``.
    What it writes there becomes the training job's ``model.tar.gz``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == MODEL_DIR and p.kind != p.POSITIONAL_ONLY for p in params)


def check_report(
    last_epoch: int, epoch: Any, metrics: dict[str, Any]
) -> tuple[int, dict[str, float]]:
    """Validate one report; returns (epoch, metrics as floats)."""
    if epoch is None:
        epoch = last_epoch + 1
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch <= last_epoch:
        raise ValueError(
            f"report(epoch=...) must be an integer greater than the previous "
            f"epoch ({last_epoch}), got {epoch!r}"
        )
    if not metrics:
        raise ValueError("report(...) needs at least one metric, e.g. report(epoch=1, loss=0.3)")
    out: dict[str, float] = {}
    for k, v in metrics.items():
        try:
            value = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"report(...): metric {k!r} must be a number, got {v!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"report(...): metric {k!r} must be finite, got {value}")
        out[k] = value
    return epoch, out
