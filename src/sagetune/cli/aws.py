"""What every AWS-named verb shares with the AWS CLI: ``--cli-input-json`` / ``--cli-input-yaml``
(the operation's whole input, under the explicit flags), ``--generate-cli-skeleton`` (from
botocore's model of the service) and the CLI's own paging (``--max-items``, ``--starting-token``,
``--page-size``) on top of the service's (``--max-results``, ``--next-token``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from sagetune import api
from sagetune.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _operation(operation: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker").operation_model(operation)


# --generate-cli-skeleton ------------------------------------------------------------------
def skeleton(shape: Any, _stack: tuple[str, ...] = ()) -> Any:
    """A shape with placeholder values, as the AWS CLI prints it: "" for strings (the first
    value of an enum), 0 for numbers, true for booleans, one element for lists,
    ``{"KeyName": ...}`` for maps, structures expanded; a structure met again inside itself
    is ``{}``."""
    if shape is None:
        return {}
    kind = shape.type_name
    if kind == "structure":
        if shape.name in _stack:
            return {}
        inner = (*_stack, shape.name)
        return {name: skeleton(member, inner) for name, member in shape.members.items()}
    if kind == "list":
        return [skeleton(shape.member, _stack)]
    if kind == "map":
        return {"KeyName": skeleton(shape.value, _stack)}
    if kind == "string":
        return shape.enum[0] if shape.enum else ""
    if kind in ("integer", "long"):
        return 0
    if kind in ("float", "double"):
        return 0.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return "1970-01-01T00:00:00"
    return ""  # blob


def operation_skeleton(operation: str, which: str = "input") -> dict[str, Any]:
    model = _operation(operation)
    result = skeleton(model.input_shape if which == "input" else model.output_shape)
    return result if isinstance(result, dict) else {}


# --cli-input-json / --cli-input-yaml -------------------------------------------------------
def input_request(
    operation: str,
    cli_input_json: str | None,
    cli_input_yaml: str | None,
    explicit: Mapping[str, Any],
) -> tuple[dict[str, Any], Path]:
    """The request: the ``--cli-input-*`` document with the explicit flags over its top-level
    members (flags win, as in the AWS CLI), timestamps as datetimes; and its base folder."""
    from sagetune.cli.jobs import load_request

    if cli_input_json and cli_input_yaml:
        raise ValidationError("--cli-input-json and --cli-input-yaml: give one, not both")
    request: dict[str, Any] = {}
    base = Path.cwd()
    if cli_input_json or cli_input_yaml:
        request, base = load_request(
            cli_input_json or cli_input_yaml or "", yaml_input=bool(cli_input_yaml)
        )
    request.update({k: v for k, v in explicit.items() if v is not None})
    members = _operation(operation).input_shape.members
    for name, value in list(request.items()):
        member = members.get(name)
        if member is not None and member.type_name == "timestamp":
            request[name] = parse_time(name, value)
    return request, base


def parse_time(name: str, value: Any) -> Any:
    """A timestamp as the AWS CLI takes it: ISO 8601 or epoch seconds (other values pass on
    to the operation, which names what is wrong)."""
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{name}: must be a timestamp (ISO 8601 or epoch seconds), got {value!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def aws_options(operation: str) -> Callable[[F], F]:
    """Add ``--cli-input-json``, ``--cli-input-yaml`` and ``--generate-cli-skeleton``."""

    def print_skeleton(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        from sagetune.cli import echo_json

        echo_json(operation_skeleton(operation, value))
        ctx.exit()

    def wrap(fn: F) -> F:
        fn = click.option(
            "--generate-cli-skeleton",
            "_skeleton",
            type=click.Choice(["input", "output"]),
            is_flag=False,
            flag_value="input",
            default=None,
            is_eager=True,
            expose_value=False,
            callback=print_skeleton,
            help=f"Print the skeleton of {operation}'s input (or output) and do nothing else.",
        )(fn)
        fn = click.option(
            "--cli-input-yaml",
            metavar="YAML",
            help=f"{operation}'s input as YAML (file://path, a path or inline); flags win.",
        )(fn)
        fn = click.option(
            "--cli-input-json",
            metavar="JSON",
            help=f"{operation}'s input as JSON (file://path, a path or inline); flags win.",
        )(fn)
        return fn

    return wrap


# paging -------------------------------------------------------------------------------------
def paging_options(fn: F) -> F:
    for option in reversed(
        [
            click.option(
                "--max-results",
                type=click.IntRange(1, 100),
                help="One page of at most this many (the service's paging; prints NextToken).",
            ),
            click.option("--next-token", metavar="TOKEN", help="The page after a NextToken."),
            click.option(
                "--max-items",
                type=click.IntRange(min=1),
                help="At most this many items, over as many pages as it takes; prints a "
                "NextToken for --starting-token.",
            ),
            click.option(
                "--starting-token",
                metavar="TOKEN",
                help="Go on from the NextToken a --max-items answer printed.",
            ),
            click.option(
                "--page-size",
                type=click.IntRange(1, 100),
                help="Items per service call when following pages (default 100).",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _encode(token: str | None, skip: int) -> str:
    data = json.dumps({"NextToken": token, "boto_truncate_amount": skip})
    return base64.b64encode(data.encode()).decode()


def _decode(starting_token: str) -> tuple[str | None, int]:
    try:
        data = json.loads(base64.b64decode(starting_token.encode(), validate=True))
        token, skip = data.get("NextToken"), int(data.get("boto_truncate_amount", 0))
        if (token is not None and not isinstance(token, str)) or skip < 0:
            raise ValueError
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise ValidationError(
            "--starting-token: is not a token this command printed (pass the NextToken of "
            "the previous answer unchanged)"
        ) from None
    return token, skip


def list_pages(
    backend: api.Backend,
    operation: str,
    key: str,
    request: Mapping[str, Any],
    *,
    max_items: int | None = None,
    starting_token: str | None = None,
    page_size: int | None = None,
) -> dict[str, Any]:
    """A list operation's answer as the AWS CLI prints it.

    With ``MaxResults`` or ``NextToken`` in the request (and no ``max_items`` or
    ``starting_token``): that one page and the service's NextToken. Otherwise every page is
    followed, up to ``max_items`` items; when items are left, the answer's ``NextToken`` is
    the CLI's own token (the service's token and how many of that page were already printed),
    which ``starting_token`` resumes from.
    """
    request = {k: v for k, v in request.items() if v is not None}
    if max_items is None and starting_token is None:
        if "MaxResults" in request or "NextToken" in request:
            return api.call(backend, operation, request)
    elif "NextToken" in request:
        raise ValidationError("--next-token: give --starting-token with --max-items, not both")
    size = page_size or request.pop("MaxResults", None) or 100
    token, skip = _decode(starting_token) if starting_token else (None, 0)
    items: list[Any] = []
    while True:
        answer = api.call(
            backend,
            operation,
            {**request, "MaxResults": size, **({"NextToken": token} if token else {})},
        )
        page = answer[key][skip:]
        following = answer.get("NextToken")
        if max_items is not None and len(items) + len(page) > max_items:
            take = max_items - len(items)
            items += page[:take]
            return {key: items, "NextToken": _encode(token, skip + take)}
        items += page
        if following is None:
            return {key: items}
        if max_items is not None and len(items) == max_items:
            return {key: items, "NextToken": _encode(following, 0)}
        token, skip = following, 0
