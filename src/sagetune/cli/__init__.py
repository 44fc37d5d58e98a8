"""The ``sagetune`` command line, named after the AWS CLI's sagemaker verbs.

``--store URL`` is accepted before or after the verb; ``$SAGETUNE_STORE`` is the fallback, then
the default SQLite file.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from sagetune.errors import (
    ExecutorUnavailable,
    LeaseLost,
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    StoreNotWritable,
    StoreUnavailable,
    ValidationError,
)
from sagetune.store import Store, StoreVersionError, open_store

F = TypeVar("F", bound=Callable[..., Any])

# The errors a user causes (and the API's error types), each printed as one line, exit 2.
USER_ERRORS: tuple[type[Exception], ...] = (
    ValidationError,
    ResourceNotFound,
    ResourceInUse,
    ResourceLimitExceeded,
    StoreVersionError,
    StoreNotWritable,  # before StoreUnavailable, which it is a kind of
    StoreUnavailable,
    LeaseLost,
    ExecutorUnavailable,
)


def _whole_summary(command: click.Command) -> str:
    """The first paragraph of a command's help, whole: Click's listing cuts it to fit a line."""
    if command.short_help:
        return " ".join(command.short_help.split())
    return " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())


class _Command(click.Command):
    """A verb whose summary in ``sagetune --help`` is its help's whole first paragraph."""

    def get_short_help_str(self, limit: int = 45) -> str:
        return _whole_summary(self)


class _Group(click.Group):
    """Turns the errors users cause into one clear line and exit code 2 (never a traceback).

    Its verbs and sub-groups list their whole summaries, wrapped, never cut off with "...".
    """

    command_class = _Command
    group_class = type  # sub-groups (``db``) are _Groups too

    def get_short_help_str(self, limit: int = 45) -> str:
        return _whole_summary(self)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            kind = next(k for k in USER_ERRORS if isinstance(exc, k))
            click.echo(f"{kind.__name__}: {exc}", err=True)
            sys.exit(2)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "--store",
    "store_url",
    envvar="SAGETUNE_STORE",
    metavar="URL",
    help="SQLAlchemy URL or SQLite file of the store (env SAGETUNE_STORE; default "
    "~/.sagetune/sagetune.db).",
)
@click.version_option(package_name="sagetune")
@click.pass_context
def main(ctx: click.Context, store_url: str | None) -> None:
    """sagetune: SageMaker-style automatic model tuning, locally."""
    ctx.obj = {"store": store_url}


def store_option(fn: F) -> F:
    """Add ``--store`` after the verb too; it wins over the one before the verb."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value:
            ctx.ensure_object(dict)["store"] = value
        return value

    return click.option(
        "--store",
        "_store",
        metavar="URL",
        expose_value=False,
        callback=remember,
        is_eager=True,
        help="SQLAlchemy URL or SQLite file of the store.",
    )(fn)


def store_url_of(ctx: click.Context) -> str | None:
    """The ``--store`` given (after the verb, else before it, else ``$SAGETUNE_STORE``)."""
    root = ctx.find_root()
    url: str | None = (ctx.obj or {}).get("store") or (root.obj or {}).get("store")
    return url


def get_store(ctx: click.Context) -> Store:
    return open_store(store_url_of(ctx))


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def echo_json(data: Any) -> None:
    """Print an answer as the AWS CLI does: indented JSON, ISO timestamps."""
    click.echo(json.dumps(data, indent=4, default=_default))


# The verbs register themselves on ``main`` when their modules are imported.
from sagetune.cli import cost, db, jobs, serve, viz  # noqa: E402,F401
