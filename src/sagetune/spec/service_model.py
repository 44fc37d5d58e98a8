"""Check a request against the SageMaker service model that botocore ships.

The ``CreateHyperParameterTuningJobRequest`` input shape of botocore's ``sagemaker`` model is
walked member by member: types (structure, list, map, string, integer, long, float, double,
boolean, timestamp), required members, enums, numeric ranges, lengths and patterns, and
members the model does not have. Problems are reported with sagetune's field paths (list items
by their ``Name``, ``DefinitionName`` or ``ChannelName`` where they have one, map entries as
``[key]``), so that :func:`sagetune.spec.parse_request` can report them together with its own
rules.

Where a local tuner needs other rules than the cloud, the differences are listed here, each
once: :data:`LOCAL_MEMBERS` (members SageMaker does not have), :data:`LOCALLY_OPTIONAL`
(members the model requires that mean nothing on a laptop, or that sagetune fills in),
:data:`LOCAL_RELAXATIONS` (constraints replaced) and :data:`SCALAR_STRINGS` (string shapes
that also take numbers and booleans, as YAML files and the SDK send them).
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from botocore.model import Shape, StructureShape

OPERATION = "CreateHyperParameterTuningJob"

# Members that are sagetune's own, by the shape that holds them; each has its own rules
# (``LocalPricing``: spec/pricing.py; ``LocalExecutor``: spec/executor.py;
# ``LocalBaseDirectory``: spec/validate.py;
# ``LocalCommand``: training.py; ``LocalSpotInterruptions``: spot.py), so the model walk
# leaves their values alone.
LOCAL_MEMBERS: Mapping[str, frozenset[str]] = {
    "CreateHyperParameterTuningJobRequest": frozenset(
        {"LocalPricing", "LocalBaseDirectory", "LocalExecutor"}
    ),
    # Both TrainingJobDefinition and every TrainingJobDefinitions[] item.
    "HyperParameterTrainingJobDefinition": frozenset({"LocalCommand", "LocalSpotInterruptions"}),
}

# Members the model marks required that are optional locally, by (shape, member), with why.
# The cloud-only ones describe a container, an IAM role, S3 or instances; a local training
# job is a process on this machine. Some botocore versions require more of ResourceConfig.
LOCALLY_OPTIONAL: Mapping[tuple[str, str], str] = {
    ("HyperParameterTuningJobConfig", "Strategy"): "defaults to Bayesian, as in the SDK",
    ("HyperParameterTrainingJobDefinition", "AlgorithmSpecification"): "cloud-only",
    ("HyperParameterTrainingJobDefinition", "RoleArn"): "cloud-only",
    ("HyperParameterTrainingJobDefinition", "OutputDataConfig"): "cloud-only",
    ("HyperParameterTrainingJobDefinition", "ResourceConfig"): "cloud-only",
    ("HyperParameterTrainingJobDefinition", "StoppingCondition"): "cloud-only",
    ("HyperParameterAlgorithmSpecification", "TrainingInputMode"): "cloud-only (File locally)",
    ("ResourceConfig", "InstanceType"): "cloud-only",
    ("ResourceConfig", "InstanceCount"): "cloud-only",
    ("ResourceConfig", "VolumeSizeInGB"): "cloud-only",
    ("S3DataSource", "S3DataType"): "cloud-only (a local channel is a folder or file)",
}

# Constraints replaced locally, by (shape, member): the metadata given here wins over the
# model's, and None removes a constraint.
LOCAL_RELAXATIONS: Mapping[tuple[str, str], Mapping[str, Any]] = {
    # A local tuning job may well be given seconds (SageMaker's minimum is 120).
    ("ResourceLimits", "MaxRuntimeInSeconds"): {"min": 1},
    # A local channel is a path or a file:// URL; training.py says what it accepts.
    ("S3DataSource", "S3Uri"): {"pattern": None},
    # Outputs and checkpoints may go to a local folder too (a path or a file:// URL).
    ("OutputDataConfig", "S3OutputPath"): {"pattern": None},
    ("CheckpointConfig", "S3Uri"): {"pattern": None},
}

# String shapes that take numbers and booleans too (range bounds, categorical values, static
# hyperparameters): YAML and the SDK send them so, and sagetune always has. Lengths and
# patterns apply to their text.
SCALAR_STRINGS = frozenset({"ParameterValue", "HyperParameterValue"})

# Lists whose items sagetune names by a member in field paths, by list shape.
_ITEM_KEYS: Mapping[str, str] = {
    "ContinuousParameterRanges": "Name",
    "IntegerParameterRanges": "Name",
    "CategoricalParameterRanges": "Name",
    "AutoParameters": "Name",
    "MetricDefinitionList": "Name",
    "InputDataConfig": "ChannelName",
    "HyperParameterTrainingJobDefinitions": "DefinitionName",
}

# The wire types' ranges: SageMaker's integer is 32-bit, its long 64-bit.
_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_MAX_ENUM_LISTED = 12
_MAX_SHOWN = 60


@lru_cache(maxsize=1)
def request_shape() -> StructureShape:
    """The model's ``CreateHyperParameterTuningJobRequest`` shape (loaded once)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model(OPERATION).input_shape
    assert isinstance(shape, StructureShape)
    return shape


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The model's pattern for ``re.fullmatch``; None when Python's re cannot compile it
    (the Java-style ``\\p{L}`` classes of tag keys and values), in which case it is skipped."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def check_request(request: Mapping[str, Any]) -> list[str]:
    """Every way ``request`` breaks the service model (with the local differences above).

    Args:
        request: a CreateHyperParameterTuningJob request body.

    Returns:
        One ``"<field path>: <rule>"`` line per problem, in the order found; empty when the
        request fits the model.
    """
    errors: list[str] = []
    _Walker(errors).structure(request, request_shape(), "", "CreateHyperParameterTuningJob request")
    return errors


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long for Python to print
        return f"an integer of more than {_MAX_SHOWN} digits"
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _unit(plural: str, n: int) -> str:
    if n != 1:
        return plural
    return "entry" if plural == "entries" else plural[:-1]


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


class _Walker:
    """One walk over a request, appending to ``errors``."""

    def __init__(self, errors: list[str]):
        self.errors = errors

    def value(
        self, value: Any, shape: Shape, path: str, label: str, meta: Mapping[str, Any]
    ) -> None:
        """Check one value against its shape.

        Args:
            value: the request's value (never None: a null member counts as absent).
            shape: the model's shape for it.
            path: its field path, as messages name it.
            label: what the member is called, for "SageMaker's <label> has no such member".
            meta: its constraints: the model's, with :data:`LOCAL_RELAXATIONS` applied.
        """
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            self.structure(value, shape, path, label)
        elif kind == "list":
            self.sequence(value, shape, path, label, meta)
        elif kind == "map":
            self.map(value, shape, path, meta)
        elif kind == "string":
            self.string(value, shape, path, meta)
        elif kind in ("integer", "long"):
            self.integer(value, kind, path, meta)
        elif kind in ("float", "double"):
            self.number(value, path, meta)
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.errors.append(f"{path}: must be true or false, got {_show(value)}")
        elif kind == "timestamp":
            self.timestamp(value, path)

    def structure(self, value: Any, shape: StructureShape, path: str, label: str) -> None:
        if not isinstance(value, Mapping):
            self.errors.append(f"{path or 'request'}: must be an object, got {_kind(value)}")
            return
        members = shape.members
        local = LOCAL_MEMBERS.get(shape.name, frozenset())
        for name in shape.required_members:
            if value.get(name) is None and (shape.name, name) not in LOCALLY_OPTIONAL:
                self.errors.append(f"{_join(path, name)}: is required")
        for key, item in value.items():
            where = _join(path, str(key))
            if key in local:
                continue
            if key not in members:
                known = [*members, *local]
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]}?" if close else ""
                self.errors.append(
                    f"{where}: unknown member (SageMaker's {label} has no such member{hint})"
                )
                continue
            if item is None:  # an empty YAML key: as if it were not there
                continue
            member = members[key]
            meta = {**member.metadata, **LOCAL_RELAXATIONS.get((shape.name, key), {})}
            self.value(item, member, where, key, meta)

    def sequence(
        self, value: Any, shape: Shape, path: str, label: str, meta: Mapping[str, Any]
    ) -> None:
        if not isinstance(value, (list, tuple)):
            self.errors.append(f"{path}: must be a list, got {_kind(value)}")
            return
        self.length(len(value), path, meta, "items")
        member = shape.member
        key = _ITEM_KEYS.get(shape.name)
        for i, item in enumerate(value):
            name = item.get(key) if key and isinstance(item, Mapping) else None
            where = f"{path}[{name if isinstance(name, str) and name else i}]"
            self.value(item, member, where, f"{label} item", member.metadata)

    def map(self, value: Any, shape: Shape, path: str, meta: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            self.errors.append(f"{path}: must be an object, got {_kind(value)}")
            return
        self.length(len(value), path, meta, "entries")
        key_shape, value_shape = shape.key, shape.value
        for k, v in value.items():
            where = f"{path}[{k}]"
            if not isinstance(k, str):
                self.errors.append(f"{where}: names must be strings, got {_kind(k)}")
                continue
            self.string(k, key_shape, f"{where} (the name)", key_shape.metadata)
            self.value(v, value_shape, where, "value", value_shape.metadata)

    def string(self, value: Any, shape: Shape, path: str, meta: Mapping[str, Any]) -> None:
        if shape.name in SCALAR_STRINGS and isinstance(value, (bool, int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                self.errors.append(f"{path}: must be a finite number, got {_show(value)}")
                return
            try:
                text = str(value).lower() if isinstance(value, bool) else str(value)
            except ValueError:  # an int too long for Python to print is too long anyway
                self.errors.append(f"{path}: must have at most {meta.get('max')} characters")
                return
        elif isinstance(value, str):
            text = value
        else:
            self.errors.append(f"{path}: must be a string, got {_kind(value)}")
            return
        enum = shape.enum
        if enum and text not in enum:
            self.enum(text, list(enum), shape.name, path)
            return
        if not self.length(len(text), path, meta, "characters"):
            return
        pattern = meta.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(text):
            self.errors.append(f"{path}: must match the pattern {pattern}, got {_show(value)}")

    def enum(self, text: str, allowed: list[str], shape_name: str, path: str) -> None:
        close = difflib.get_close_matches(text, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        if len(allowed) <= _MAX_ENUM_LISTED:
            self.errors.append(
                f"{path}: must be one of {', '.join(allowed)}, got {_show(text)}{hint}"
            )
        else:
            self.errors.append(
                f"{path}: must be one of SageMaker's {len(allowed)} {shape_name} values "
                f"(such as {allowed[0]}), got {_show(text)}{hint}"
            )

    def length(self, n: int, path: str, meta: Mapping[str, Any], unit: str) -> bool:
        low, high = meta.get("min"), meta.get("max")
        if low is not None and n < low:
            self.errors.append(f"{path}: must have at least {low} {_unit(unit, low)}, got {n}")
            return False
        if high is not None and n > high:
            self.errors.append(f"{path}: must have at most {high} {_unit(unit, high)}, got {n}")
            return False
        return True

    def integer(self, value: Any, kind: str, path: str, meta: Mapping[str, Any]) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.append(f"{path}: must be an integer, got {_show(value)}")
            return
        wire_low, wire_high = _INT_RANGES[kind]
        self.bounds(value, path, meta, wire_low, wire_high)

    def number(self, value: Any, path: str, meta: Mapping[str, Any]) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.errors.append(f"{path}: must be a number, got {_show(value)}")
            return
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.errors.append(f"{path}: must be a finite number, got {_show(value)}")
            return
        self.bounds(number, path, meta, None, None)

    def bounds(
        self,
        value: float,
        path: str,
        meta: Mapping[str, Any],
        wire_low: int | None,
        wire_high: int | None,
    ) -> None:
        low = meta.get("min", wire_low)
        high = meta.get("max", wire_high)
        if low is not None and value < low:
            self.errors.append(f"{path}: must be >= {low}, got {_show(value)}")
        elif high is not None and value > high:
            self.errors.append(f"{path}: must be <= {high}, got {_show(value)}")
        elif wire_low is not None and wire_high is not None and not wire_low <= value <= wire_high:
            self.errors.append(
                f"{path}: must be from {wire_low} to {wire_high}, got {_show(value)}"
            )

    def timestamp(self, value: Any, path: str) -> None:
        if isinstance(value, datetime.datetime):
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):
                return
        elif isinstance(value, str):
            try:
                datetime.datetime.fromisoformat(value)
                return
            except ValueError:
                pass
        self.errors.append(
            f"{path}: must be a timestamp (ISO 8601 or seconds since the epoch), got {_show(value)}"
        )
