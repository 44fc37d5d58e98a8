"""The five plots: their data (pure functions), the image files and the Plotly figures."""

from __future__ import annotations

import dataclasses
import math
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from sagetune import (
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
)
from sagetune.cli import main
from sagetune.errors import ValidationError
from sagetune.plots import data as pdata
from sagetune.plots import interactive, static
from sagetune.plots.data import KINDS, TuningData
from sagetune.store import open_store
from sagetune.store.records import MetricPoint, TrainingJobRecord

SPACE = {
    "eta": ContinuousParameter(1e-3, 1.0, "Logarithmic"),
    "max_depth": IntegerParameter(1, 8),
    "booster": CategoricalParameter(["gbtree", "dart"]),
    "subsample": ContinuousParameter(0.5, 1.0),
}
NAME = "plots-job"
# The stored request groups ranges by kind: continuous, integer, categorical.
ORDER = ["eta", "subsample", "max_depth", "booster"]


def train(hp: dict) -> dict:
    if hp["max_depth"] == 8:
        raise RuntimeError("too deep")
    return {
        "validation:auc": 1.0
        - (math.log10(hp["eta"]) + 1.5) ** 2 / 10
        - 0.01 * abs(hp["max_depth"] - 4)
        + (0.01 if hp["booster"] == "gbtree" else 0.0)
    }


def _add_stopped_jobs(url: str) -> None:
    """Two jobs as an early-stopping tuner leaves them: one with a partial curve and an
    objective, one stopped before it reported anything."""
    store = open_store(url)
    now = time.time()
    hp = {"eta": 0.05, "max_depth": 3, "booster": "dart", "subsample": 0.7}
    store.create_training_job(
        TrainingJobRecord(
            name=f"{NAME}-101-early",
            tuning_job_name=NAME,
            seq=101,
            status="Stopped",
            hyperparameters=hp,
            created_at=now,
            started_at=now,
            ended_at=now + 2,
            objective=0.7,
        )
    )
    store.add_metric_points(
        [
            MetricPoint(f"{NAME}-101-early", "validation:auc", 0.5 + e / 20, e, now + e)
            for e in range(1, 5)
        ]
    )
    store.create_training_job(
        TrainingJobRecord(
            name=f"{NAME}-102-stopped",
            tuning_job_name=NAME,
            seq=102,
            status="Stopped",
            hyperparameters=hp,
            created_at=now,
            started_at=now,
            ended_at=now + 1,
        )
    )


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('plots') / 'tuning.db'}"
    HyperparameterTuner(
        "validation:auc",
        SPACE,
        objective_type="Maximize",
        strategy="Random",
        max_jobs=20,
        max_parallel_jobs=2,
        random_seed=1,
        store=url,
        show_progress=False,
    ).fit(train, job_name=NAME)
    _add_stopped_jobs(url)
    return url


@pytest.fixture(scope="module")
def data(url: str) -> TuningData:
    return TuningData.load(open_store(url), NAME)


# plot data -----------------------------------------------------------------------------------
def test_scatter_data_has_a_panel_per_hyperparameter_with_the_right_axes(data: TuningData) -> None:
    d = pdata.scatter_data(data)
    assert [a.name for a in d.axes] == ORDER
    assert [a.kind for a in d.axes] == ["log", "linear", "linear", "category"]
    assert d.axes[2].integer and d.axes[3].categories == ("gbtree", "dart")
    assert len(d.names) == d.total == 22
    best = data.best
    assert best is not None and d.names[d.best] == best.name
    assert d.y[d.best] == max(j.objective for j in data.jobs if j.objective is not None)
    groups = dict(zip(d.names, d.group))
    assert groups[f"{NAME}-101-early"] == "Stopped"
    assert groups[f"{NAME}-102-stopped"] == "Stopped (no objective)"
    failed = [j.name for j in data.jobs if j.status == "Failed"]
    assert failed and all(groups[n] == "Failed (no objective)" for n in failed)
    # Jobs without an objective sit below every objective value.
    scored = d.y[[g in ("Completed", "Stopped") for g in d.group]]
    assert d.floor < scored.min()
    booster = d.x["booster"]
    assert set(booster.tolist()) <= {0.0, 1.0}


def test_convergence_best_so_far_never_gets_worse(data: TuningData) -> None:
    d = pdata.convergence_data(data)
    assert (np.diff(d.best_y[:-1]) > 0).all()  # Maximize: each step is an improvement
    assert (np.diff(d.best_y) >= 0).all()
    assert d.best_y[-1] == data.best.objective  # type: ignore[union-attr]
    assert d.best_x[-1] == max(j.seq for j in data.jobs)
    assert list(d.seq) == sorted(d.seq)


def test_parallel_data_normalises_every_axis_and_ends_with_the_objective(data: TuningData) -> None:
    d = pdata.parallel_data(data)
    assert [a.name for a in d.axes] == [*ORDER, "validation:auc"]
    scored = [j for j in data.jobs if j.objective is not None]
    assert len(d.names) == len(scored)
    for a in d.axes:
        assert np.nanmin(a.position) >= -1e-9 and np.nanmax(a.position) <= 1 + 1e-9
        assert all(0 <= t <= 1 for t in a.tick_positions)
    eta = d.axes[0]
    assert eta.tick_labels[:2] == ["0.001", "0.01"]  # decades on a log axis
    assert d.axes[3].tick_labels == ["gbtree", "dart"]


def test_curves_data_marks_early_stopped_jobs(data: TuningData) -> None:
    d = pdata.curves_data(data)
    by_name = {c.name: c for c in d.curves}
    early = by_name[f"{NAME}-101-early"]
    assert early.early_stopped and early.epochs.tolist() == [1, 2, 3, 4]
    assert sum(c.best for c in d.curves) == 1
    assert not d.single_point


def test_importance_data_names_the_method(data: TuningData) -> None:
    d = pdata.importance_data(data)
    assert d.names[0] == "eta" and "fANOVA" in d.method
    assert sorted(d.names) == sorted(SPACE)


def test_large_jobs_are_sampled_and_keep_the_best() -> None:
    from sagetune.space import SearchSpace

    rng = np.random.default_rng(0)
    jobs = [
        TrainingJobRecord(
            name=f"big-{i}",
            tuning_job_name="big",
            seq=i,
            status="Completed",
            hyperparameters={"x": float(v)},
            created_at=0.0,
            objective=float(-((v - 0.3) ** 2)),
        )
        for i, v in enumerate(rng.random(10_000), start=1)
    ]
    data = TuningData(
        "big", "Completed", "obj", True, SearchSpace({"x": ContinuousParameter(0.0, 1.0)}), jobs, []
    )
    s = pdata.scatter_data(data, max_points=2000)
    assert len(s.names) <= 2000 and s.total == 10_000
    assert s.best is not None and s.names[s.best] == data.best.name  # type: ignore[union-attr]
    c = pdata.convergence_data(data, max_points=2000)
    assert len(c.names) <= 2000 and len(c.best_x) < 100
    assert len(pdata.parallel_data(data, max_lines=500).names) <= 500
    idx = pdata.sample_indices(10, 4, keep=[7])
    assert len(idx) == 4 and 7 in idx.tolist()


def test_unknown_kind_is_a_validation_error(data: TuningData) -> None:
    with pytest.raises(ValidationError, match="--kind: unknown plot kind 'pie'"):
        pdata.compute("pie", data)


# image files ---------------------------------------------------------------------------------
def _panels(fig: object) -> list:
    return [ax for ax in fig.axes if ax.get_label().startswith("panel:")]  # type: ignore


def test_scatter_figure_has_one_panel_per_hyperparameter_and_log_axes(data: TuningData) -> None:
    fig = static.figure("scatter", data)
    panels = _panels(fig)
    assert [ax.get_label() for ax in panels] == [f"panel:{n}" for n in ORDER]
    scales = {ax.get_label(): ax.get_xscale() for ax in panels}
    assert scales["panel:eta"] == "log" and scales["panel:subsample"] == "linear"
    booster = panels[3]
    assert [t.get_text() for t in booster.get_xticklabels()] == ["gbtree", "dart"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_writes_a_real_png_of_the_expected_size(
    data: TuningData, tmp_path: Path, kind: str
) -> None:
    path = static.save(kind, data, tmp_path / f"{kind}.png")
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.size == static.default_size(kind, data)
        pixels = np.asarray(img.convert("L"), dtype=float)
    assert pixels.std() > 10  # drawn on, not blank
    assert (pixels < 128).mean() > 0.005


def test_requested_size_and_svg(data: TuningData, tmp_path: Path) -> None:
    png = static.save("convergence", data, tmp_path / "c.png", width=640, height=400)
    with Image.open(png) as img:
        assert img.size == (640, 400)
    svg = static.save("parallel", data, tmp_path / "p.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 100
    with pytest.raises(ValidationError, match="-o: the file must end in"):
        static.save("scatter", data, tmp_path / "x.gif")


def test_plotly_figures(data: TuningData) -> None:
    fig = interactive.figure("scatter", data)
    layout = fig.to_plotly_json()["layout"]
    xaxes = sorted(k for k in layout if k.startswith("xaxis"))
    assert len(xaxes) == len(SPACE)
    assert layout["xaxis"]["type"] == "log"
    assert layout["xaxis4"]["ticktext"] == ["gbtree", "dart"]
    # No zero line through the first category's points; powers of ten, not SI prefixes.
    assert layout["xaxis4"]["zeroline"] is False
    assert layout["xaxis"]["exponentformat"] == "power"
    names = {t.name for t in fig.data}
    assert {"Completed", "Failed (no objective)", "best job", "Stopped (early)"} <= names
    # Hover: the words once per trace, each point's own values in customdata, its name first.
    jobs = {j.name: j for j in data.jobs}
    for t in fig.data:
        assert t.text is None and "%{customdata[0]}" in t.hovertemplate
        assert all(row[0] in jobs for row in t.customdata)
    (booster,) = [t for t in fig.data if t.xaxis == "x4" and t.name == "Completed"]
    found = re.search(r"booster = %\{customdata\[(\d+)\]\}", booster.hovertemplate)
    assert found is not None
    column = int(found.group(1))
    assert {row[column] for row in booster.customdata} == {"gbtree", "dart"}
    assert all(row[column] == jobs[row[0]].hyperparameters["booster"] for row in booster.customdata)
    (eta,) = [t for t in fig.data if t.xaxis == "x" and t.name == "Completed"]
    assert "eta = %{x:.6g}" in eta.hovertemplate  # x is the value itself on a log axis
    par = interactive.figure("parallel", data)
    assert len(par.data[0].dimensions) == len(SPACE) + 1
    curves = interactive.figure("curves", data)
    dashed = [t for t in curves.data if t.line and t.line.dash == "dash"]
    assert len(dashed) == 1
    for kind in ("convergence", "importance"):
        assert interactive.figure(kind, data).data


# the command line ----------------------------------------------------------------------------
def test_cli_plot_writes_each_kind_and_explains_bad_input(url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    for kind in ("scatter", "curves"):
        out = tmp_path / f"{kind}.png"
        res = runner.invoke(main, ["plot", NAME, "--kind", kind, "-o", str(out), "--store", url])
        assert res.exit_code == 0, res.output
        assert res.output.strip() == str(out)
        with Image.open(out) as img:
            assert img.size[0] > 300
    res = runner.invoke(
        main, ["plot", NAME, "--kind", "pie", "-o", str(tmp_path / "x.png"), "--store", url]
    )
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        (
            "ValidationError: --kind: unknown plot kind 'pie'; choose one of scatter, "
            "convergence, time, parallel, curves, importance, contour, ecdf, timeline"
        )
    ]
    res = runner.invoke(main, ["plot", "missing", "-o", str(tmp_path / "x.png"), "--store", url])
    assert res.exit_code == 2 and "no tuning job named 'missing'" in res.output
    assert "Traceback" not in res.output


# robust axes, markers, the grid and the newer pictures --------------------------------------
def _outlier_data() -> TuningData:
    """Twenty jobs with an AUC between 0.95 and 0.99, one diverged at 0.5, one failed."""
    from sagetune.space import SearchSpace

    rng = np.random.default_rng(3)
    space = SearchSpace(
        {
            "a": ContinuousParameter(1e-3, 1.0, "Logarithmic"),
            "b": ContinuousParameter(0.0, 1.0),
            "c": IntegerParameter(1, 8),
            "d": CategoricalParameter(["x", "y"]),
        }
    )
    jobs = []
    for i in range(1, 23):
        status, objective = "Completed", float(0.95 + 0.04 * rng.random())
        if i == 5:
            objective = 0.5
        if i == 9:
            status, objective = "Failed", None
        if i == 12:
            status = "Stopped"
        jobs.append(
            TrainingJobRecord(
                name=f"o-{i}",
                tuning_job_name="o",
                seq=i,
                status=status,
                hyperparameters={
                    "a": float(10 ** (-3 * rng.random())),
                    "b": float(rng.random()),
                    "c": int(rng.integers(1, 9)),
                    "d": "xy"[i % 2],
                },
                created_at=1000.0 + i,
                started_at=1000.5 + i,
                ended_at=1002.0 + 1.5 * i,
                objective=objective,
            )
        )
    return TuningData("o", "Completed", "auc", True, space, jobs, [])


def test_one_outlier_does_not_flatten_the_objective_axis() -> None:
    data = _outlier_data()
    on_scale = [j.objective for j in data.jobs if j.objective not in (None, 0.5)]
    for d in (pdata.scatter_data(data), pdata.convergence_data(data), pdata.time_data(data)):
        va = d.y_axis
        assert va.low == min(on_scale) and va.high == max(on_scale)  # the outlier is excluded
        assert va.view[1] - va.view[0] < 0.1  # not stretched down to 0.5
        i = d.names.index("o-5")
        assert d.clip[i] == -1 and d.value[i] == 0.5
        # Drawn in its band: below every on-scale job, above the floor of failed jobs.
        assert va.lower_band is not None and d.y[i] == va.lower_band
        assert va.scale[0] < d.y[i] < va.band_edges[0] < va.low
        assert d.floor < d.y[i] and d.y[d.names.index("o-9")] == d.floor
        assert (d.clip[[n != "o-5" for n in d.names]] == 0).all()
    par = pdata.parallel_data(data)
    assert par.color_range == (min(on_scale), max(on_scale))
    auc = par.axes[-1]
    assert auc.position[par.names.index("o-5")] == 0.0
    assert auc.tick_labels[0].endswith("(off scale)")
    inner = auc.position[[n != "o-5" for n in par.names]]
    assert inner.min() >= 0.08 - 1e-9  # the others keep the whole axis above the gap
    ecdf = pdata.ecdf_data(data)
    assert ecdf.clip[0] == -1 and ecdf.values[0] == 0.5


def test_a_wide_positive_objective_gets_a_log_axis() -> None:
    va = pdata.value_axis([1e-4, 3e-4, 1e-3, 5e-3, 2e-2, 1e-1])
    assert va.log and va.lower_band is None and va.upper_band is None
    assert not pdata.value_axis([0.1, 0.2, 0.3]).log


def test_off_scale_and_status_markers_in_both_drawers() -> None:
    data = _outlier_data()
    fig = static.figure("scatter", data)
    panel = _panels(fig)[0]
    legend = [t.get_text() for t in panel.get_legend().get_texts()]
    for label in ("Completed", "Stopped (early)", "Failed (no objective)", "off scale (in band)"):
        assert label in legend
    lo, hi = panel.get_ylim()
    assert lo > 0.9 and hi < 1.0  # the outlier does not stretch the axis
    drawn = interactive.figure("scatter", data).data
    traces = {t.name: t for t in reversed(drawn)}  # the first panel's trace of each name
    off = traces["off scale"]
    assert list(off.marker.symbol) == ["triangle-down"] and off.customdata[0][0] == "o-5"
    # Drawn in the band, the hover still tells the job's own value.
    assert "(off scale)" in off.hovertemplate and 0.5 in off.customdata[0]
    assert traces["Stopped (early)"].marker.symbol == "square-open"
    assert traces["Failed (no objective)"].marker.symbol == "x"
    assert traces["Completed"].opacity < 1  # overlapping points show through
    bar = traces["Completed"].marker.colorbar
    assert bar.tickformat == "d" and bar.dtick >= 1


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 2))])
def test_panel_grid_leaves_no_empty_slot(n: int, shape: tuple[int, int]) -> None:
    assert pdata.panel_grid(n) == shape


def test_four_hyperparameters_draw_a_two_by_two_grid(data: TuningData) -> None:
    fig = static.figure("scatter", data)
    panels = _panels(fig)
    grid = {ax.get_subplotspec().get_geometry()[:2] for ax in panels}
    assert grid == {(2, 2)} and len(panels) == 4
    layout = interactive.figure("scatter", data).to_plotly_json()["layout"]
    assert len([k for k in layout if k.startswith("xaxis")]) == 4


def test_time_data_best_so_far_is_monotone_and_matches_the_jobs(data: TuningData) -> None:
    d = pdata.time_data(data)
    assert (np.diff(d.x) >= 0).all() and (d.x >= 0).all()
    assert (np.diff(d.best_y) >= 0).all()  # Maximize: never worse
    assert d.best_y[-1] == data.best.objective  # type: ignore[union-attr]
    ended = sorted(j.ended_at for j in data.jobs if j.ended_at is not None)
    start = min(j.created_at for j in data.jobs)
    assert d.best_x[-1] == pytest.approx(ended[-1] - start)
    # Each step is the best objective among the jobs ended by then.
    for x, y in zip(d.best_x, d.best_y):
        done = [
            j.objective
            for j in data.jobs
            if j.objective is not None and j.ended_at is not None and j.ended_at - start <= x
        ]
        assert y == max(done)


def test_timeline_contour_and_ecdf_data(data: TuningData) -> None:
    t = pdata.timeline_data(data)
    started = [j for j in data.jobs if j.started_at is not None]
    assert len(t.names) == len(started) and (t.end >= t.start).all() and (t.start >= 0).all()
    assert set(t.status) >= {"Completed", "Failed", "Stopped"}
    c = pdata.contour_data(data)
    imp = pdata.importance_data(data)
    assert [a.name for a in c.axes] == imp.names[:2]
    assert c.z is not None and c.z.shape == (len(c.grid), len(c.grid))
    finite = c.z[np.isfinite(c.z)]
    assert finite.size and finite.min() >= c.value.min() - 1e-9
    assert finite.max() <= c.value.max() + 1e-9  # a linear interpolation stays within the data
    e = pdata.ecdf_data(data)
    scored = sorted(j.objective for j in data.jobs if j.objective is not None)
    assert e.values.tolist() == scored and e.fraction[-1] == 1.0
    assert (np.diff(e.fraction) > 0).all()
    traces = interactive.figure("timeline", data).data
    assert {tr.name for tr in traces} >= {"Completed", "Failed", "Stopped"}
    assert sum(len(tr.y) for tr in traces) == len(started)


def test_learning_curves_keep_a_diverged_job_off_scale() -> None:
    base = _outlier_data()
    points = [
        MetricPoint(j.name, "auc", (j.objective or 0.0) - 0.01 * (3 - e), e, j.created_at + e)
        for j in base.jobs
        if j.objective is not None
        for e in (1, 2, 3)
    ]
    data = TuningData(base.name, base.status, "auc", True, base.space, base.jobs, points)
    d = pdata.curves_data(data)
    va = d.y_axis
    assert va.low > 0.9 and va.lower_band is not None
    diverged = next(c for c in d.curves if c.name == "o-5")
    drawn, clip = va.place(diverged.values)
    assert (clip == -1).all() and (drawn == va.lower_band).all()
    others = np.concatenate([c.values for c in d.curves if c.name != "o-5"])
    assert (va.place(others)[1] == 0).all()
    fig = interactive.figure("curves", data)
    line = next(t for t in fig.data if t.name and t.name.startswith("o-5 "))
    assert set(line.marker.symbol) == {"triangle-down"} and list(line.customdata) == [
        0.48,
        0.49,
        0.5,
    ]
    assert fig.layout.yaxis.range[0] > 0.85  # not stretched down to 0.5


def test_a_positive_objective_can_be_seen_on_a_log_or_linear_axis(data: TuningData) -> None:
    fig = interactive.figure("time", data)
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["linear y", "log y"]
    assert menu.buttons[1].args[0]["yaxis.type"] == "log"
    assert tuple(menu.buttons[0].args[0]["yaxis.range"]) == tuple(fig.layout.yaxis.range)
    base = _outlier_data()
    negated = [
        j if j.objective is None else dataclasses.replace(j, objective=-j.objective)
        for j in base.jobs
    ]
    data = TuningData(base.name, base.status, "auc", False, base.space, negated, [])
    assert not interactive.figure("convergence", data).layout.updatemenus  # no log of <= 0


def test_a_long_title_wraps_and_the_importance_note_names_the_method(data: TuningData) -> None:
    from sagetune.importance import SHORT_DESCRIPTION

    short = interactive.figure("importance", data).layout.title.text
    assert short.startswith(f"{data.name}: hyperparameter importance")  # fits: one line
    assert SHORT_DESCRIPTION in short
    named = dataclasses.replace(data, name="xgboost-demo-261201-151347-5e61")
    fig = interactive.figure("importance", named)
    assert fig.layout.title.text.startswith(f"{named.name}:<br>hyperparameter importance")
    assert fig.layout.margin.t > interactive.figure("importance", data).layout.margin.t
    assert static.figure("importance", named).axes[0].get_title() == SHORT_DESCRIPTION
    # A plot drawn across the page keeps it on one line.
    scatter_title = interactive.figure("scatter", named).layout.title.text
    assert scatter_title.startswith(f"{named.name}: validation:auc")


def test_contour_interpolates_points_on_integer_lines_and_averages_repeats() -> None:
    """Jobs of an integer range lie on a few lines, many at the same point: the contour is
    the linear interpolation of each point's mean value (a plane is drawn exactly), NaN
    outside the points' hull, and the importance picks the two ranges that matter."""
    from sagetune.space import SearchSpace

    space = SearchSpace(
        {
            "x": ContinuousParameter(0.0, 1.0),
            "n": IntegerParameter(1, 9),
            "u": IntegerParameter(0, 1),
        }
    )
    jobs = []
    for i in range(1, 601):
        k = (i + 1) // 2  # every point twice, 0.5 above and below the plane: its mean on it
        x, n = round((k * 0.618) % 1.0, 3), 1 + k % 9
        objective = 2.0 * x + 0.5 * n + (0.5 if i % 2 else -0.5)
        jobs.append(
            TrainingJobRecord(
                name=f"p-{i}",
                tuning_job_name="p",
                seq=i,
                status="Completed",
                hyperparameters={"x": x, "n": n, "u": i % 2},
                created_at=1000.0 + i,
                started_at=1000.5 + i,
                ended_at=1001.0 + i,
                objective=objective,
            )
        )
    data = TuningData("p", "Completed", "loss", False, space, jobs, [])
    c = pdata.contour_data(data)
    assert {a.name for a in c.axes} == {"x", "n"}
    assert c.z is not None
    gx, gy = np.meshgrid(c.grid, c.grid)
    inside = np.isfinite(c.z)
    assert inside.mean() > 0.8
    # Positions are on each range's own [0, 1] axis: map them back to x and n.
    coords = {c.axes[0].name: gx, c.axes[1].name: gy}
    plane = 2.0 * coords["x"] + 0.5 * (1 + 8 * coords["n"])
    np.testing.assert_allclose(c.z[inside], plane[inside], atol=1e-9)
    fig = interactive.figure("contour", data)
    assert any(tr.type == "contour" for tr in fig.data)


@pytest.mark.parametrize("kind", KINDS)
def test_figure_json_is_the_figures_json(data: TuningData, kind: str) -> None:
    """The dashboard's and report's JSON (traces written as built) is Plotly's own."""
    import json

    assert json.loads(interactive.figure_json(kind, data)) == json.loads(
        interactive.figure(kind, data).to_json()
    )
