"""``sagetune plot``, ``sagetune report`` and ``sagetune dashboard``: seeing the results."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sagetune.cli import get_store, main, store_option
from sagetune.errors import ValidationError
from sagetune.plots.data import KINDS, check_kind


def _need(module: str, extra: str, what: str) -> None:
    """A one-line error when an optional dependency is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ValidationError(
            f"{what}: needs {module}; install it with pip install 'sagetune[{extra}]'"
        )


@main.command()
@click.argument("tuning_job_name")
@click.option(
    "--kind",
    "-k",
    default="scatter",
    show_default=True,
    metavar="KIND",
    help=f"The plot: {', '.join(KINDS)}.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False),
    help="The image file: .png, .svg or .pdf.",
)
@click.option("--width", type=int, default=None, help="Width in pixels (default: fits the plot).")
@click.option("--height", type=int, default=None, help="Height in pixels.")
@store_option
@click.pass_context
def plot(
    ctx: click.Context,
    tuning_job_name: str,
    kind: str,
    output: str,
    width: int | None,
    height: int | None,
) -> None:
    """Draw one plot of a tuning job into an image file.

    \b
    scatter      the objective against each tuned hyperparameter, one panel each
    convergence  each job's objective in order, and the best so far
    time         each job's objective when it ended, and the best so far then
    parallel     parallel coordinates over the hyperparameters, coloured by the objective
    curves       learning curves of the objective metric per job
    importance   importance bars per hyperparameter
    contour      the objective over the two most important hyperparameters
    ecdf         the empirical distribution of the objective
    timeline     when each training job ran, coloured by status
    """
    check_kind(kind)
    _need("matplotlib", "plots", "plot")
    from sagetune.plots import static
    from sagetune.plots.data import TuningData

    suffix = Path(output).suffix.lower()
    if suffix not in static.FORMATS:
        raise ValidationError(
            f"-o: the file must end in {', '.join(static.FORMATS)}, got {Path(output).name!r}"
        )
    data = TuningData.load(get_store(ctx), tuning_job_name, curves=kind == "curves")
    path = static.save(kind, data, output, width, height)
    click.echo(str(path))


@main.command()
@click.argument("tuning_job_name")
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False), help="The HTML file to write."
)
@store_option
@click.pass_context
def report(ctx: click.Context, tuning_job_name: str, output: str) -> None:
    """Write a tuning job's report: one self-contained HTML file (summary, plots, jobs)."""
    _need("plotly", "plots", "report")
    from sagetune.report import write_report

    click.echo(str(write_report(tuning_job_name, output, store=get_store(ctx))))


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but loopback requires a token.",
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--token",
    envvar="SAGETUNE_DASHBOARD_TOKEN",
    default=None,
    help="Required on every request (env SAGETUNE_DASHBOARD_TOKEN).",
)
@store_option
@click.pass_context
def dashboard(ctx: click.Context, host: str, port: int, token: str | None) -> None:
    """Serve a live dashboard of the store's tuning jobs."""
    from sagetune.dashboard import check_binding, serve

    token = token or os.environ.get("SAGETUNE_DASHBOARD_TOKEN") or None
    check_binding(host, token)
    _need("fastapi", "server", "dashboard")
    _need("uvicorn", "server", "dashboard")
    store = get_store(ctx)
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    url = f"http://{shown}:{port}/"
    click.echo(
        f"sagetune dashboard of {store.url} at {url}" + (f"?token={token}" if token else ""),
        err=True,
    )
    serve(store, host=host, port=port, token=token)
