"""matplotlib drawers of :mod:`sagetune.plots.data`, for image files (PNG, SVG, PDF).

Figures are built with ``matplotlib.figure.Figure`` directly, never pyplot: no global state,
no GUI backend, safe from any thread. Every hyperparameter panel is an axes labelled
``panel:<name>``, so callers can count panels apart from colour bars.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sagetune.errors import ValidationError
from sagetune.plots import data as pd_
from sagetune.plots.data import TuningData

try:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("plots need matplotlib: pip install 'sagetune[plots]'") from exc

DPI = 100
FORMATS = (".png", ".svg", ".pdf")
PANEL_COLUMNS = 3
_PANEL_SIZE = (420, 330)
_DEFAULT_SIZE = (960, 560)
# Colours and markers per group (see sagetune.plots.data.GROUPS).
_NO_OBJECTIVE = {
    "Failed (no objective)": ("X", "#d62728"),
    "Stopped (no objective)": ("v", "#7f7f7f"),
}
_BEST = {
    "marker": "*",
    "s": 260,
    "facecolor": "#ffd400",
    "edgecolor": "black",
    "linewidth": 0.9,
    "zorder": 5,
}


def default_size(kind: str, data: TuningData) -> tuple[int, int]:
    """The default image size in pixels: scatter grows with the number of panels."""
    if kind == "scatter":
        n = max(len(data.space), 1)
        cols = min(n, PANEL_COLUMNS)
        rows = math.ceil(n / cols)
        return cols * _PANEL_SIZE[0] + 110, rows * _PANEL_SIZE[1] + 90
    if kind == "parallel":
        return max(_DEFAULT_SIZE[0], 170 * (len(data.space) + 1)), _DEFAULT_SIZE[1]
    if kind == "importance":
        return 820, max(300, 70 * len(data.space) + 170)
    return _DEFAULT_SIZE


def _figure(width: int, height: int) -> Figure:
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def _note(fig: Figure, text: str) -> None:
    # As a figure-level label, so the constrained layout keeps room for it.
    fig.supxlabel(text, fontsize=8, color="#555555")


def _sampled_note(shown: int, total: int) -> str:
    return f"showing {shown:,} of {total:,} jobs (evenly spread sample, best job kept)"


def _set_numeric_axis(ax: Any, axis: pd_.Axis) -> None:
    if axis.kind == "log":
        ax.set_xscale("log")
        ax.set_xlim(axis.low / 1.25, axis.high * 1.25)
    elif axis.kind == "reverse_log":
        ax.set_xscale(
            "function",
            functions=(
                lambda v: pd_.reverse_log(np.clip(v, None, 1 - 1e-12)),
                pd_.reverse_log_inverse,
            ),
        )
        values, labels = pd_.reverse_log_ticks(axis.low, axis.high)
        ax.set_xticks(values, labels)
        ax.set_xlim(axis.low, axis.high)
    else:
        pad = 0.04 * (axis.high - axis.low or 1.0)
        ax.set_xlim(axis.low - pad, axis.high + pad)
        if axis.integer:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _group_handles(groups: set[str], cmap: Any, has_best: bool) -> list[Line2D]:
    mid = cmap(0.55)
    handles = []
    if "Completed" in groups or "InProgress" in groups:
        handles.append(Line2D([], [], ls="", marker="o", color=mid, label="Completed"))
    if "Stopped" in groups:
        handles.append(
            Line2D([], [], ls="", marker="s", mfc="none", mec=mid, label="Stopped (early)")
        )
    for g, (marker, color) in _NO_OBJECTIVE.items():
        if g in groups:
            handles.append(Line2D([], [], ls="", marker=marker, color=color, label=g))
    if has_best:
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="*",
                ms=13,
                mfc=_BEST["facecolor"],
                mec="black",
                label="best job",
            )
        )
    return handles


def _draw_points(ax: Any, x: np.ndarray, d: Any, cmap: Any, norm: Normalize) -> None:
    """Jobs on one axes: colour by job order, marker by group, the best starred."""
    group = np.array(d.group)
    for g in ("Completed", "InProgress"):
        m = group == g
        if m.any():
            ax.scatter(
                x[m],
                d.y[m],
                c=d.seq[m],
                cmap=cmap,
                norm=norm,
                s=30,
                edgecolors="white",
                linewidths=0.3,
                zorder=3,
                alpha=0.55 if g == "InProgress" else 0.95,
            )
    m = group == "Stopped"
    if m.any():
        ax.scatter(
            x[m],
            d.y[m],
            marker="s",
            facecolors="none",
            edgecolors=cmap(norm(d.seq[m])),
            s=34,
            linewidths=1.3,
            zorder=3,
        )
    for g, (marker, color) in _NO_OBJECTIVE.items():
        m = group == g
        if m.any():
            ax.scatter(x[m], d.y[m], marker=marker, color=color, s=34, zorder=3, linewidths=0.4)
    if d.best is not None:
        ax.scatter([x[d.best]], [d.y[d.best]], **_BEST)
    if any(g in _NO_OBJECTIVE for g in d.group):
        ax.axhline(d.floor, color="#cccccc", lw=0.8, ls=":", zorder=1)


def scatter(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """The objective against each tuned hyperparameter, one panel each.

    Points are coloured by job order; the best job is a gold star; stopped jobs are hollow
    squares; failed and stopped jobs without an objective sit on a dotted band below the data.
    Log-scaled ranges get log axes, categorical ranges category axes.
    """
    d = pd_.scatter_data(data)
    w, h = default_size("scatter", data)
    fig = _figure(width or w, height or h)
    n = max(d.panels, 1)
    cols = min(n, PANEL_COLUMNS)
    rows = math.ceil(n / cols)
    grid = fig.subplots(rows, cols, squeeze=False)
    cmap = colormaps["viridis"]
    norm = Normalize(vmin=1, vmax=max(d.max_seq, 2))
    panels = []
    for i, ax in enumerate(grid.flat):
        if i >= d.panels:
            fig.delaxes(ax)
            continue
        axis = d.axes[i]
        ax.set_label(f"panel:{axis.name}")
        x = d.x[axis.name]
        if axis.kind == "category":
            x = x + pd_.jitter(d.seq)
            ax.set_xticks(range(len(axis.categories)), axis.categories)
            ax.set_xlim(-0.5, len(axis.categories) - 0.5)
        else:
            _set_numeric_axis(ax, axis)
        _draw_points(ax, x, d, cmap, norm)
        ax.set_xlabel(axis.label)
        if i % cols == 0:
            ax.set_ylabel(d.objective)
        ax.grid(True, alpha=0.25)
        panels.append(ax)
    if panels:
        fig.colorbar(
            ScalarMappable(norm=norm, cmap=cmap),
            ax=panels,
            label="job order",
            shrink=0.9,
            aspect=30,
        )
        handles = _group_handles(set(d.group), cmap, d.best is not None)
        if handles:
            panels[0].legend(handles=handles, fontsize=7, loc="best", framealpha=0.8)
    direction = "higher is better" if d.maximize else "lower is better"
    fig.suptitle(
        f"{data.name}: {d.objective} ({direction}) against each hyperparameter", fontsize=11
    )
    if len(d.names) < d.total:
        _note(fig, _sampled_note(len(d.names), d.total))
    return fig


def convergence(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """Each job's objective in creation order, and the best so far as a step line."""
    d = pd_.convergence_data(data)
    w, h = default_size("convergence", data)
    fig = _figure(width or w, height or h)
    ax = fig.subplots()
    ax.set_label("panel:convergence")
    cmap = colormaps["viridis"]
    norm = Normalize(vmin=1, vmax=max(int(d.seq.max()) if len(d.seq) else 1, 2))
    x = d.seq.astype(float)
    _draw_points(ax, x, d, cmap, norm)
    if len(d.best_x):
        ax.step(
            d.best_x, d.best_y, where="post", color="#d62728", lw=1.8, label="best so far", zorder=4
        )
    ax.set_xlabel("training job (creation order)")
    ax.set_ylabel(d.objective)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.25)
    handles = _group_handles(set(d.group), cmap, d.best is not None)
    handles.append(Line2D([], [], color="#d62728", lw=1.8, label="best so far"))
    ax.legend(handles=handles, fontsize=8, loc="best")
    direction = "higher is better" if d.maximize else "lower is better"
    ax.set_title(f"{data.name}: {d.objective} by job ({direction})", fontsize=11)
    if len(d.names) < d.total:
        _note(fig, _sampled_note(len(d.names), d.total))
    return fig


def parallel(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """Parallel coordinates over every tuned hyperparameter and the objective (last axis),
    lines coloured by the objective (brightest is best)."""
    d = pd_.parallel_data(data)
    w, h = default_size("parallel", data)
    fig = _figure(width or w, height or h)
    ax = fig.subplots()
    ax.set_label("panel:parallel")
    k = len(d.axes)
    cmap = colormaps["viridis" if d.maximize else "viridis_r"]
    if len(d.color):
        norm = Normalize(vmin=float(d.color.min()), vmax=float(d.color.max()) or 1.0)
        xs = np.arange(k, dtype=float)
        ys = np.column_stack([a.position for a in d.axes])
        # Worst first, so the good lines are drawn on top.
        order = np.argsort(d.color if d.maximize else -d.color)
        segs = [np.column_stack([xs, ys[i]]) for i in order]
        lc = LineCollection(
            segs,
            colors=cmap(norm(d.color[order])),
            linewidths=1.0,
            alpha=0.75 if len(segs) < 300 else 0.35,
        )
        ax.add_collection(lc)
        if d.best is not None:
            ax.plot(xs, ys[d.best], color="black", lw=2.4, zorder=4)
        fig.colorbar(
            ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=d.objective, shrink=0.9, aspect=30
        )
    for i, a in enumerate(d.axes):
        ax.axvline(i, color="#444444", lw=0.8, zorder=2)
        for pos, label in zip(a.tick_positions, a.tick_labels):
            ax.text(
                i + 0.03,
                pos,
                label,
                fontsize=7,
                va="center",
                ha="left",
                color="#333333",
                zorder=6,
                bbox={"facecolor": "white", "alpha": 0.6, "lw": 0, "pad": 0.5},
            )
    ax.set_xlim(-0.15, k - 1 + 0.45)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(range(k), [a.label for a in d.axes], fontsize=9)
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"{data.name}: parallel coordinates, coloured by {d.objective} (best job in black)",
        fontsize=11,
    )
    if len(d.names) < d.total:
        _note(fig, _sampled_note(len(d.names), d.total))
    return fig


def curves(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """Learning curves of the objective metric, one line per job coloured by job order;
    early-stopped jobs dashed and ending in a cross, the best job in black."""
    d = pd_.curves_data(data)
    w, h = default_size("curves", data)
    fig = _figure(width or w, height or h)
    ax = fig.subplots()
    ax.set_label("panel:curves")
    cmap = colormaps["viridis"]
    norm = Normalize(vmin=1, vmax=max(d.max_seq, 2))
    for c in sorted(d.curves, key=lambda c: c.best):
        color = "black" if c.best else cmap(norm(c.seq))
        style = "--" if c.early_stopped else "-"
        ax.plot(
            c.epochs,
            c.values,
            ls=style,
            marker="o" if len(c.epochs) <= 1 else None,
            ms=4,
            color=color,
            lw=2.2 if c.best else 1.0,
            alpha=1.0 if c.best else 0.7,
            zorder=4 if c.best else 2,
        )
        if c.early_stopped and len(c.epochs):
            ax.scatter([c.epochs[-1]], [c.values[-1]], marker="x", color="#d62728", s=30, zorder=5)
    if d.curves:
        fig.colorbar(
            ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="job order", shrink=0.9, aspect=30
        )
    handles = [
        Line2D([], [], color=cmap(0.55), label="training job"),
        Line2D([], [], color="black", lw=2.2, label="best job"),
    ]
    if any(c.early_stopped for c in d.curves):
        handles.append(
            Line2D(
                [], [], color=cmap(0.55), ls="--", marker="x", mec="#d62728", label="stopped early"
            )
        )
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.set_xlabel("epoch")
    ax.set_ylabel(d.objective)
    ax.grid(True, alpha=0.25)
    epochs = sorted({float(e) for c in d.curves for e in c.epochs})
    if len(epochs) == 1:
        ax.set_xticks(epochs)
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{data.name}: learning curves of {d.objective}", fontsize=11)
    if d.notes:
        _note(fig, "; ".join(d.notes))
    return fig


def importance(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """Importance bars per hyperparameter, most important on top, with Spearman's rho."""
    d = pd_.importance_data(data)
    w, h = default_size("importance", data)
    fig = _figure(width or w, height or h)
    ax = fig.subplots()
    ax.set_label("panel:importance")
    values = [v or 0.0 for v in d.importance]
    ypos = np.arange(len(d.names))[::-1]
    ax.barh(ypos, values, color="#4c72b0", height=0.6)
    ax.set_yticks(ypos, d.names)
    for y, v, rho in zip(ypos, d.importance, d.rank_correlation):
        label = "n/a" if v is None else f"{v:.2f}"
        if rho is not None:
            label += f"   (Spearman ρ {rho:+.2f})"
        ax.text((v or 0.0) + 0.01, y, label, va="center", fontsize=8)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("importance (share of explained variance)")
    fig.suptitle(
        f"{data.name}: hyperparameter importance ({d.jobs_used} jobs with an objective)",
        fontsize=11,
    )
    ax.set_title(
        "fANOVA-style first-order variance decomposition on binned marginals"
        if d.jobs_used >= 4
        else "needs at least 4 jobs with an objective",
        fontsize=8,
        color="#555555",
    )
    ax.grid(True, axis="x", alpha=0.25)
    return fig


DRAWERS = {
    "scatter": scatter,
    "convergence": convergence,
    "parallel": parallel,
    "curves": curves,
    "importance": importance,
}


def figure(
    kind: str, data: TuningData, width: int | None = None, height: int | None = None
) -> Figure:
    """The matplotlib figure of one plot kind (see :data:`sagetune.plots.KINDS`)."""
    pd_.check_kind(kind)
    return DRAWERS[kind](data, width, height)


def save(
    kind: str,
    data: TuningData,
    path: str | Path,
    width: int | None = None,
    height: int | None = None,
) -> Path:
    """Draw one plot kind into an image file (``.png``, ``.svg`` or ``.pdf``).

    Args:
        kind: one of :data:`sagetune.plots.KINDS`.
        data: the snapshot.
        path: the file; its suffix picks the format.
        width: in pixels (default: fits the plot; scatter grows with the panels).
        height: in pixels.

    Raises:
        ValidationError: on an unknown kind, format or size.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValidationError(f"-o: the file must end in {', '.join(FORMATS)}, got {path.name!r}")
    for field_name, value in (("--width", width), ("--height", height)):
        if value is not None and not 50 <= value <= 10000:
            raise ValidationError(f"{field_name}: must be between 50 and 10000 pixels, got {value}")
    fig = figure(kind, data, width, height)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
