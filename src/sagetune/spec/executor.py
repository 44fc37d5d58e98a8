"""The request extension ``LocalExecutor``: where a tuning job's training jobs run.

Absent (or ``{"Type": "Local"}``), they run on this machine (worker processes for callables,
subprocesses for scripts). ``{"Type": "Ray", "Address": "ray://host:10001" | "host:6379" |
"auto"}`` runs each of them as a task on a Ray cluster (:mod:`sagetune.executors.ray`); without
an ``Address`` the environment's ``RAY_ADDRESS`` is used when the tuner starts.
``InstanceResources`` overrides, per instance type, the Ray resources one training job asks
for (``{"ml.m5.large": {"CPU": 1}, "ml.g5.xlarge": {"CPU": 4, "GPU": 1}}``; any custom Ray
resource name may be given too).

The member is stored with the request, so a resumed tuning job runs where it ran before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagetune.errors import ValidationError

EXECUTOR_FIELD = "LocalExecutor"
EXECUTOR_TYPES = ("Local", "Ray")


@dataclass(frozen=True)
class ExecutorChoice:
    """Where training jobs run.

    Attributes:
        type: ``Local`` or ``Ray``.
        address: the Ray cluster's address (None: ``RAY_ADDRESS``, else a new local Ray).
        instance_resources: Ray resources per instance type, over the built-in table.
    """

    type: str = "Local"
    address: str | None = None
    instance_resources: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def validate_executor(
    raw: Any, errors: list[str], path: str = EXECUTOR_FIELD
) -> ExecutorChoice | None:
    """Check a ``LocalExecutor`` object (errors appended); None when absent or bad."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        errors.append(f"{path}: must be an object with Type (Local or Ray) and Address")
        return None
    n_before = len(errors)
    for key in raw:
        if key not in ("Type", "Address", "InstanceResources"):
            errors.append(
                f"{path}.{key}: unknown field (expected Type, Address, InstanceResources)"
            )
    kind = raw.get("Type", "Local")
    if kind not in EXECUTOR_TYPES:
        errors.append(f"{path}.Type: must be one of {', '.join(EXECUTOR_TYPES)}, got {kind!r}")
    address = raw.get("Address")
    if address is not None and (not isinstance(address, str) or not address):
        errors.append(f"{path}.Address: must be a Ray address (host:port, ray://..., auto)")
    resources: dict[str, dict[str, float]] = {}
    table = raw.get("InstanceResources") or {}
    if not isinstance(table, Mapping):
        errors.append(f"{path}.InstanceResources: must map instance types to Ray resources")
        table = {}
    for instance_type, wanted in table.items():
        where = f"{path}.InstanceResources[{instance_type}]"
        if not isinstance(wanted, Mapping) or not wanted:
            errors.append(f"{where}: must map resource names to amounts, e.g. {{'CPU': 2}}")
            continue
        resources[str(instance_type)] = {}
        for name, amount in wanted.items():
            ok = (
                isinstance(amount, int | float)
                and not isinstance(amount, bool)
                and math.isfinite(amount)
                and amount >= 0
            )
            if not ok:
                errors.append(f"{where}.{name}: must be a number >= 0, got {amount!r}")
            else:
                resources[str(instance_type)][str(name)] = float(amount)
    if len(errors) > n_before:
        return None
    if address is not None and kind != "Ray":
        errors.append(f"{path}.Address: only a Ray executor has an address")
        return None
    return ExecutorChoice(str(kind), address, resources)


def executor_member(
    executor: str | None,
    ray_address: str | None = None,
    ray_resources: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any] | None:
    """The request extension ``LocalExecutor`` for an executor name and a Ray address (None:
    the local executors, the default)."""
    kind = (executor or ("ray" if ray_address or ray_resources else "local")).lower()
    if kind == "local":
        if ray_address or ray_resources:
            raise ValidationError("ray_address: only the ray executor has an address")
        return None
    if kind != "ray":
        raise ValidationError(f"executor: must be 'local' or 'ray', got {executor!r}")
    member: dict[str, Any] = {"Type": "Ray"}
    if ray_address:
        member["Address"] = ray_address
    if ray_resources:
        member["InstanceResources"] = {k: dict(v) for k, v in ray_resources.items()}
    return member
