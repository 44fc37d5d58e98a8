"""``sagetune cost``: what a tuning job cost, per training job, and what stopping saved."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.table import Table

from sagetune.cli import echo_json, get_store, main, store_option
from sagetune.cost import cost_summary, job_costs, load_prices, stopped_epoch_seconds
from sagetune.spec import load_spec


def _money(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


@main.command("cost")
@click.argument("name", metavar="TUNING_JOB")
@click.option(
    "--prices",
    "prices_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="JSON or YAML: {InstancePricesPerHour: {type: price}, SpotDiscount: 0.7}, "
    "or just {type: price}. Wins over the request's LocalPricing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@store_option
@click.pass_context
def cost(ctx: click.Context, name: str, prices_path: str | None, as_json: bool) -> None:
    """A tuning job's cost: total, per training job, the saving of managed spot training
    (SpotDiscount x the seconds its jobs ran) and the estimated saving of early stopping or
    Hyperband (epochs not run x the job's measured seconds per epoch)."""
    store = get_store(ctx)
    spec = load_spec(store.get_tuning_job(name))
    jobs = store.list_training_jobs(name)
    pricing = load_prices(prices_path) if prices_path else None
    now = time.time()
    per_epoch = stopped_epoch_seconds(spec, jobs, store.metric_points)
    summary = cost_summary(spec, jobs, pricing, now, per_epoch)
    rows = job_costs(spec, jobs, pricing, now, per_epoch)
    if as_json:
        echo_json(
            {
                "HyperParameterTuningJobName": name,
                **summary,
                "TrainingJobs": [r.as_dict() for r in rows],
            }
        )
        return
    table = Table(title=f"{name}: cost per training job")
    for column in (
        "training job",
        "status",
        "instance",
        "seconds",
        "epochs",
        "not run",
        "saved s",
        "cost",
        "saved",
        "spot saved",
    ):
        table.add_column(
            column, justify="left" if column in ("training job", "status", "instance") else "right"
        )
    for r in rows:
        kind = f"{r.instance_type or '-'} x{r.instance_count}{' spot' if r.spot else ''}"
        table.add_row(
            r.name,
            r.status + (" (early)" if r.early_stopped else ""),
            kind,
            f"{r.billable_seconds:.1f}",
            str(r.epochs),
            str(r.epochs_not_run),
            f"{r.saved_seconds:.1f}",
            _money(r.cost),
            _money(r.saved_cost),
            _money(r.spot_saved_cost) if r.spot else "-",
        )
    Console(width=160).print(table)
    n = summary["NumberOfTrainingJobs"]
    click.echo(
        f"training jobs: {n}, billable time: {summary['BillableTimeInSeconds']:.1f} s, "
        f"epochs run: {summary['EpochsCompleted']}"
    )
    if summary["TotalCost"] is None:
        missing = ", ".join(summary["InstanceTypesWithoutPrice"]) or "none"
        click.echo(
            f"cost: unknown (no price for instance types: {missing}; give --prices or "
            f"the request's LocalPricing)"
        )
    else:
        click.echo(
            f"cost: {summary['TotalCost']:.4f}, per training job: "
            f"{summary['CostPerTrainingJob']:.4f}"
        )
    if summary["ManagedSpotTrainingJobs"]:
        spot_saved = summary["SpotSavedCost"]
        click.echo(
            f"managed spot: {summary['ManagedSpotTrainingJobs']} jobs, "
            f"{summary['SpotBillableTimeInSeconds']:.1f} s billed (waits for spot capacity "
            f"not billed), SpotDiscount {summary['SpotDiscount']:g}, saving "
            + ("unknown (no price)" if spot_saved is None else f"{spot_saved:.4f} in cost")
        )
    saved = summary["EstimatedSavedCost"]
    click.echo(
        f"early stopping / Hyperband: {summary['EarlyStoppedTrainingJobs']} jobs stopped, "
        f"{summary['EpochsNotRun']} epochs not run (of "
        f"{summary['PlannedEpochsPerTrainingJob'] or '?'} planned per job), estimated "
        f"saving {summary['EstimatedSavedSeconds']:.1f} s"
        + ("" if saved is None else f", {saved:.4f} in cost")
    )
