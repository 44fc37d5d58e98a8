"""Managed spot training for script jobs, with simulated spot interruptions.

A definition with ``EnableManagedSpotTraining: true`` runs as any other locally; the local
extension ``TrainingJobDefinition.LocalSpotInterruptions`` makes the "spot instance" be
reclaimed while it trains, so that a script's checkpointing can be tried before it meets the
real thing::

    "LocalSpotInterruptions": {"AfterSeconds": [2.0, 3.5], "RestartDelaySeconds": 1.0}
    "LocalSpotInterruptions": {"MeanSecondsBetween": 600, "Seed": 7}

``AfterSeconds`` is a schedule: the first interruption comes that many seconds after the
job's process starts, the next that many after its restart, and so on; once the list is used
up, the job runs undisturbed. ``MeanSecondsBetween`` draws exponential gaps from a numpy
``Generator`` seeded with ``Seed`` (default 0) and the training job's name: the same seed
gives a job the same interruptions. ``RestartDelaySeconds`` (default 0) is the time spent
waiting for spot capacity after each interruption.

As in SageMaker, managed spot needs ``StoppingCondition.MaxWaitTimeInSeconds``, at least
``MaxRuntimeInSeconds`` (one day when not given); without managed spot it is refused.
``MaxRuntimeInSeconds`` counts the time the job's process runs; ``MaxWaitTimeInSeconds`` the
wall time from its first start, waits for capacity included.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

SPOT_MEMBER = "LocalSpotInterruptions"
MAX_SCHEDULED_INTERRUPTIONS = 1000
SAGEMAKER_DEFAULT_MAX_RUNTIME = 86400  # StoppingCondition.MaxRuntimeInSeconds: one day
_KEYS = frozenset({"AfterSeconds", "MeanSecondsBetween", "Seed", "RestartDelaySeconds"})


@dataclass(frozen=True)
class SpotInterruptions:
    """A validated ``LocalSpotInterruptions``: a schedule or a seeded rate."""

    after_seconds: tuple[float, ...] | None = None
    mean_seconds_between: float | None = None
    seed: int = 0
    restart_delay_seconds: float = 0.0

    def gaps(self, job_name: str) -> Iterator[float]:
        """Seconds from each start of the job's process to its next interruption."""
        if self.after_seconds is not None:
            yield from self.after_seconds
            return
        assert self.mean_seconds_between is not None
        digest = hashlib.sha256(job_name.encode()).digest()
        rng = np.random.default_rng([self.seed, int.from_bytes(digest[:8], "big")])
        while True:
            yield float(rng.exponential(self.mean_seconds_between))


def _seconds(raw: Any) -> float | None:
    """A finite number (never a bool), else None."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def parse_spot(
    definition: Mapping[str, Any], path: str, errors: list[str]
) -> tuple[bool, SpotInterruptions | None, int | None]:
    """Managed spot, its simulated interruptions and ``MaxWaitTimeInSeconds``, checked.

    Returns:
        Whether managed spot is on, the interruptions (None without), the wait limit.
    """
    spot = definition.get("EnableManagedSpotTraining") is True
    stopping = definition.get("StoppingCondition")
    stopping = stopping if isinstance(stopping, Mapping) else {}
    max_wait = stopping.get("MaxWaitTimeInSeconds")
    max_runtime = stopping.get("MaxRuntimeInSeconds")
    wait_path = f"{path}.StoppingCondition.MaxWaitTimeInSeconds"
    wait_ok = isinstance(max_wait, int) and not isinstance(max_wait, bool)
    if spot:
        if max_wait is None:
            errors.append(
                f"{wait_path}: Invalid MaxWaitTimeInSeconds. It is required when "
                f"EnableManagedSpotTraining is set to true"
            )
        elif wait_ok:
            runtime = (
                max_runtime
                if isinstance(max_runtime, int) and not isinstance(max_runtime, bool)
                else SAGEMAKER_DEFAULT_MAX_RUNTIME
            )
            if max_wait < runtime:
                errors.append(
                    f"{wait_path}: Invalid MaxWaitTimeInSeconds. It must be greater than or "
                    f"equal to MaxRuntimeInSeconds ({runtime}"
                    f"{'' if max_runtime is not None else ', its default'}), got {max_wait}"
                )
    elif wait_ok:  # of another type: the service model check says so
        errors.append(
            f"{wait_path}: Invalid MaxWaitTimeInSeconds. It is only supported when "
            f"EnableManagedSpotTraining is set to true"
        )

    raw = definition.get(SPOT_MEMBER)
    if raw is None:
        return spot, None, max_wait if wait_ok else None
    where = f"{path}.{SPOT_MEMBER}"
    if not spot:
        errors.append(
            f"{where}: simulated spot interruptions need EnableManagedSpotTraining: true "
            f"in the same training job definition"
        )
        return spot, None, None
    interruptions = _parse_interruptions(raw, where, errors)
    return spot, interruptions, max_wait if wait_ok else None


def _parse_interruptions(raw: Any, where: str, errors: list[str]) -> SpotInterruptions | None:
    if not isinstance(raw, Mapping):
        errors.append(
            f"{where}: must be an object: {{AfterSeconds: [...]}} or "
            f"{{MeanSecondsBetween, Seed}}, with RestartDelaySeconds, got {raw!r:.80}"
        )
        return None
    n_before = len(errors)
    for key in sorted(set(raw) - _KEYS):
        errors.append(f"{where}.{key}: unknown member; known: {', '.join(sorted(_KEYS))}")
    after_raw, mean_raw = raw.get("AfterSeconds"), raw.get("MeanSecondsBetween")
    if (after_raw is None) == (mean_raw is None):
        errors.append(f"{where}: give either AfterSeconds or MeanSecondsBetween (one of them)")
    after: tuple[float, ...] | None = None
    if after_raw is not None:
        values = (
            [_seconds(v) for v in after_raw]
            if isinstance(after_raw, list) and 1 <= len(after_raw) <= MAX_SCHEDULED_INTERRUPTIONS
            else [None]
        )
        if any(v is None or v <= 0 for v in values):
            errors.append(
                f"{where}.AfterSeconds: must be a list of 1 to {MAX_SCHEDULED_INTERRUPTIONS} "
                f"numbers of seconds > 0, got {after_raw!r:.80}"
            )
        else:
            after = tuple(v for v in values if v is not None)
    mean: float | None = None
    if mean_raw is not None:
        mean = _seconds(mean_raw)
        if mean is None or mean <= 0:
            errors.append(f"{where}.MeanSecondsBetween: must be a number > 0, got {mean_raw!r}")
    seed = raw.get("Seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        errors.append(f"{where}.Seed: must be an integer >= 0, got {seed!r}")
    elif "Seed" in raw and mean_raw is None:
        errors.append(f"{where}.Seed: only with MeanSecondsBetween (AfterSeconds is a schedule)")
    delay_raw = raw.get("RestartDelaySeconds", 0)
    delay = _seconds(delay_raw)
    if delay is None or delay < 0:
        errors.append(f"{where}.RestartDelaySeconds: must be a number >= 0, got {delay_raw!r}")
    if len(errors) > n_before:
        return None
    return SpotInterruptions(
        after_seconds=after,
        mean_seconds_between=mean,
        seed=int(seed),
        restart_delay_seconds=float(delay or 0.0),
    )
