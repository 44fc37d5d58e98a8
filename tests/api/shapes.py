"""Check an answer against botocore's model of the SageMaker API's output shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import botocore.session

MODEL = botocore.session.get_session().get_service_model("sagemaker")


def output_shape(operation: str) -> Any:
    return MODEL.operation_model(operation).output_shape


def shape_errors(value: Any, shape: Any, path: str = "", wire: bool = False) -> list[str]:
    """Every way ``value`` breaks ``shape``: required members missing, wrong types, values
    outside an enum, numbers below the model's minimum, strings or lists of the wrong length.

    Members the model does not know (sagetune's local additions) are not checked. With
    ``wire``, timestamps are epoch seconds (the JSON on the wire), else datetimes.
    """
    t = shape.type_name
    meta = shape.metadata
    errors: list[str] = []
    if t == "structure":
        if not isinstance(value, dict):
            return [f"{path}: a structure, got {type(value).__name__}"]
        errors += [
            f"{path}.{m}: required, missing" for m in shape.required_members if m not in value
        ]
        for k, v in value.items():
            if k in shape.members:
                errors += shape_errors(v, shape.members[k], f"{path}.{k}", wire)
    elif t == "list":
        if not isinstance(value, list):
            return [f"{path}: a list, got {type(value).__name__}"]
        if "min" in meta and len(value) < meta["min"] or "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} items, outside {meta}")
        for i, v in enumerate(value):
            errors += shape_errors(v, shape.member, f"{path}[{i}]", wire)
    elif t == "map":
        if not isinstance(value, dict):
            return [f"{path}: a map, got {type(value).__name__}"]
        for k, v in value.items():
            errors += shape_errors(k, shape.key, f"{path} key", wire)
            errors += shape_errors(v, shape.value, f"{path}[{k}]", wire)
    elif t == "string":
        if not isinstance(value, str):
            return [f"{path}: a string, got {type(value).__name__} {value!r}"]
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} not in {shape.enum}")
        if len(value) < meta.get("min", 0) or len(value) > meta.get("max", 10**9):
            errors.append(f"{path}: length {len(value)} outside {meta}")
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: an integer, got {type(value).__name__} {value!r}"]
        if value < meta.get("min", -(10**18)) or value > meta.get("max", 10**18):
            errors.append(f"{path}: {value} outside {meta}")
    elif t in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return [f"{path}: a number, got {type(value).__name__} {value!r}"]
    elif t == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: a boolean, got {value!r}")
    elif t == "timestamp":
        kind = (int, float) if wire else (datetime,)
        if not isinstance(value, kind) or isinstance(value, bool):
            errors.append(f"{path}: a timestamp, got {type(value).__name__} {value!r}")
    return errors


def assert_matches(operation: str, answer: Any, wire: bool = False) -> None:
    errors = shape_errors(answer, output_shape(operation), operation, wire)
    assert not errors, "\n".join(errors)
