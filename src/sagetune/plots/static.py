"""matplotlib drawers of :mod:`sagetune.plots.data`, for image files (PNG, SVG, PDF).

Figures are built with ``matplotlib.figure.Figure`` directly, never pyplot: no global state,
no GUI backend, safe from any thread. Every hyperparameter panel is an axes labelled
``panel:<name>``, so callers can count panels apart from colour bars.
"""

from __future__ import annotations

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
_PANEL_SIZE = (420, 330)
_DEFAULT_SIZE = (960, 560)
# Colours and markers per group (see sagetune.plots.data.GROUPS).
_NO_OBJECTIVE = {
    "Failed (no objective)": ("X", "#d62728"),
    "Stopped (no objective)": ("D", "#7f7f7f"),
}
# Off-scale values: a triangle pointing the way the value lies, in a hatched band.
_OFF_SCALE = {-1: "v", 1: "^"}
_BAND = {"facecolor": "#f1f1f1", "edgecolor": "#bbbbbb", "hatch": "///", "lw": 0, "zorder": 0}
_ALPHA = 0.75  # overlapping points stay visible through each other
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
        rows, cols = pd_.panel_grid(len(data.space))
        return cols * _PANEL_SIZE[0] + 110, rows * _PANEL_SIZE[1] + 90
    if kind == "timeline":
        return _DEFAULT_SIZE[0], min(1400, max(_DEFAULT_SIZE[1], 14 * len(data.jobs) + 160))
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


def _value_axis(ax: Any, va: pd_.ValueAxis, axis: str = "y") -> None:
    """Limits and scale of an objective axis, with a hatched band where off-scale values
    are drawn."""
    if va.log:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    (ax.set_ylim if axis == "y" else ax.set_xlim)(*va.view)
    span = ax.axhspan if axis == "y" else ax.axvspan
    if va.lower_band is not None:
        span(va.scale[0], va.band_edges[0], **_BAND)
    if va.upper_band is not None:
        span(va.band_edges[1], va.scale[1], **_BAND)


def _colorbar(fig: Figure, norm: Normalize, cmap: Any, ax: Any, label: str) -> None:
    """A colour bar of whole numbers (job order, epochs)."""
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=ax,
        label=label,
        shrink=0.9,
        aspect=30,
        ticks=MaxNLocator(integer=True, nbins=6),
    )


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
    if "off scale" in groups:
        handles.append(
            Line2D([], [], ls="", marker="v", mfc=mid, mec="black", label="off scale (in band)")
        )
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
    """Jobs on one axes: colour by job order, marker by group, the best starred, off-scale
    values as triangles in their band."""
    group = np.array(d.group)
    on = d.clip == 0
    for g in ("Completed", "InProgress"):
        m = (group == g) & on
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
                alpha=0.45 if g == "InProgress" else _ALPHA,
            )
    m = (group == "Stopped") & on
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
            alpha=_ALPHA,
        )
    for side, marker in _OFF_SCALE.items():
        m = d.clip == side
        if m.any():
            ax.scatter(
                x[m],
                d.y[m],
                marker=marker,
                c=d.seq[m],
                cmap=cmap,
                norm=norm,
                s=46,
                edgecolors="black",
                linewidths=0.6,
                zorder=4,
            )
    for g, (marker, color) in _NO_OBJECTIVE.items():
        m = group == g
        if m.any():
            ax.scatter(
                x[m], d.y[m], marker=marker, color=color, s=34, zorder=3, lw=0.4, alpha=_ALPHA
            )
    if d.best is not None:
        ax.scatter([x[d.best]], [d.y[d.best]], **_BEST)
    _value_axis(ax, d.y_axis)
    if any(g in _NO_OBJECTIVE for g in d.group):
        ax.axhline(d.floor, color="#cccccc", lw=0.8, ls=":", zorder=1)


def _groups(d: Any) -> set[str]:
    return set(d.group) | ({"off scale"} if (d.clip != 0).any() else set())


def scatter(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """The objective against each tuned hyperparameter, one panel each.

    Points are coloured by job order; the best job is a gold star; stopped jobs are hollow
    squares; failed and stopped jobs without an objective sit on a dotted band below the data.
    Log-scaled ranges get log axes, categorical ranges category axes.
    """
    d = pd_.scatter_data(data)
    w, h = default_size("scatter", data)
    fig = _figure(width or w, height or h)
    rows, cols = pd_.panel_grid(d.panels)
    grid = fig.subplots(rows, cols, squeeze=False, sharey=True)
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
        _colorbar(fig, norm, cmap, panels, "job order")
        handles = _group_handles(_groups(d), cmap, d.best is not None)
        if handles:
            panels[0].legend(handles=handles, fontsize=7, loc="best", framealpha=0.8)
    direction = "higher is better" if d.maximize else "lower is better"
    fig.suptitle(
        f"{data.name}: {d.objective} ({direction}) against each hyperparameter", fontsize=11
    )
    notes = [pd_.off_scale_note(d.y_axis, d.clip)]
    if len(d.names) < d.total:
        notes.append(_sampled_note(len(d.names), d.total))
    if any(notes):
        _note(fig, "; ".join(n for n in notes if n))
    return fig


def _progress(
    data: TuningData, d: pd_.ConvergenceData, width: int | None, height: int | None, xlabel: str
) -> Figure:
    w, h = default_size("convergence", data)
    fig = _figure(width or w, height or h)
    ax = fig.subplots()
    cmap = colormaps["viridis"]
    norm = Normalize(vmin=1, vmax=max(int(d.seq.max()) if len(d.seq) else 1, 2))
    _draw_points(ax, d.x, d, cmap, norm)
    if len(d.best_x):
        ax.step(
            d.best_x,
            d.best_pos,
            where="post",
            color="#d62728",
            lw=1.8,
            label="best so far",
            zorder=4,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(d.objective)
    ax.grid(True, alpha=0.25)
    _colorbar(fig, norm, cmap, ax, "job order")
    handles = _group_handles(_groups(d), cmap, d.best is not None)
    handles.append(Line2D([], [], color="#d62728", lw=1.8, label="best so far"))
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.8)
    notes = [pd_.off_scale_note(d.y_axis, d.clip)]
    if len(d.names) < d.total:
        notes.append(_sampled_note(len(d.names), d.total))
    if any(notes):
        _note(fig, "; ".join(n for n in notes if n))
    return fig


def convergence(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """Each job's objective in creation order, and the best so far as a step line."""
    d = pd_.convergence_data(data)
    fig = _progress(data, d, width, height, "training job (creation order)")
    ax = fig.axes[0]
    ax.set_label("panel:convergence")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    direction = "higher is better" if d.maximize else "lower is better"
    ax.set_title(f"{data.name}: {d.objective} by job ({direction})", fontsize=11)
    return fig


def time(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """Each finished job's objective at the moment it ended, and the best so far then."""
    d = pd_.time_data(data)
    fig = _progress(data, d, width, height, "seconds since the first training job was created")
    ax = fig.axes[0]
    ax.set_label("panel:time")
    direction = "higher is better" if d.maximize else "lower is better"
    ax.set_title(f"{data.name}: {d.objective} over wall-clock time ({direction})", fontsize=11)
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
        lo, hi = d.color_range
        # Clipped: an off-scale job takes the end colour rather than stretching the scale.
        norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0, clip=True)
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
    va = d.y_axis
    for c in sorted(d.curves, key=lambda c: c.best):
        color = "black" if c.best else cmap(norm(c.seq))
        style = "--" if c.early_stopped else "-"
        values, clip = va.place(c.values)
        for side, marker in _OFF_SCALE.items():
            m = clip == side
            if m.any():
                ax.scatter(
                    c.epochs[m], values[m], marker=marker, color=color, s=22, zorder=4, lw=0.4
                )
        ax.plot(
            c.epochs,
            values,
            ls=style,
            marker="o" if len(c.epochs) <= 1 else None,
            ms=4,
            color=color,
            lw=2.2 if c.best else 1.0,
            alpha=1.0 if c.best else 0.7,
            zorder=4 if c.best else 2,
        )
        if c.early_stopped and len(c.epochs):
            ax.scatter([c.epochs[-1]], [values[-1]], marker="x", color="#d62728", s=30, zorder=5)
    if d.curves:
        _value_axis(ax, va)
        ax.set_ylim(*va.scale)  # no jobs without an objective here: no floor
        _colorbar(fig, norm, cmap, ax, "job order")
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
    clip = np.concatenate([va.place(c.values)[1] for c in d.curves]) if d.curves else np.zeros(0)
    notes = [*d.notes]
    off = pd_.off_scale_note(va, clip, "point")
    if off:
        notes.append(off)
    if notes:
        _note(fig, "; ".join(notes))
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
        d.note,
        fontsize=8,
        color="#555555",
    )
    ax.grid(True, axis="x", alpha=0.25)
    return fig


def contour(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """The objective over the two most important hyperparameters: filled contours of an
    interpolation of the jobs' values, the jobs as dots, the best starred."""
    d = pd_.contour_data(data)
    w, h = default_size("contour", data)
    fig = _figure(width or w, height or h)
    ax: Any = fig.subplots()
    ax.set_label("panel:contour")
    if len(d.axes) < 2:
        ax.text(0.5, 0.5, "needs two tuned hyperparameters", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    cmap = colormaps["viridis" if d.maximize else "viridis_r"]
    lo, hi = d.color_range
    norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0, clip=True)
    if d.z is not None:
        levels = np.linspace(lo, hi if hi > lo else lo + 1.0, 12)
        z = np.clip(d.z, norm.vmin, norm.vmax)
        ax.contourf(d.grid, d.grid, z, levels=levels, cmap=cmap, norm=norm, alpha=0.85)
    ax.scatter(
        d.x,
        d.y,
        c=np.clip(d.value, norm.vmin, norm.vmax),
        cmap=cmap,
        norm=norm,
        s=26,
        edgecolors="white",
        linewidths=0.6,
        zorder=3,
        alpha=_ALPHA,
    )
    if d.best is not None:
        ax.scatter([d.x[d.best]], [d.y[d.best]], **_BEST)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=d.objective, shrink=0.9)
    ax.set_xticks(d.axes[0].tick_positions, d.axes[0].tick_labels)
    ax.set_yticks(d.axes[1].tick_positions, d.axes[1].tick_labels)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    imp = [("n/a" if v is None else f"{v:.2f}") for v in d.importance]
    ax.set_xlabel(f"{d.axes[0].label} (importance {imp[0]})")
    ax.set_ylabel(f"{d.axes[1].label} (importance {imp[1]})")
    ax.set_title(
        f"{data.name}: {d.objective} over the two most important hyperparameters", fontsize=11
    )
    if d.z is None:
        _note(fig, "too few distinct points to interpolate: the jobs only")
    return fig


def ecdf(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """The empirical cumulative distribution of the objective, the best value marked."""
    d = pd_.ecdf_data(data)
    w, h = default_size("ecdf", data)
    fig = _figure(width or w, height or h)
    ax = fig.subplots()
    ax.set_label("panel:ecdf")
    if len(d.values):
        ax.step(d.x, d.fraction, where="post", color="#4c72b0", lw=1.8)
        for side in (-1, 1):
            m = d.clip == side
            if m.any():
                ax.scatter(
                    d.x[m],
                    d.fraction[m],
                    marker="<" if side < 0 else ">",
                    color="#4c72b0",
                    edgecolors="black",
                    s=40,
                    zorder=4,
                )
        va = d.x_axis
        _value_axis(ax, va, axis="x")
        ax.set_xlim(*va.scale)
        if d.best_value is not None:
            ax.axvline(
                float(va.place([d.best_value])[0][0]),
                color="#d62728",
                ls="--",
                lw=1.2,
                label=f"best {pd_._fmt(d.best_value)}",
            )
            ax.legend(fontsize=8, loc="best")
        note = pd_.off_scale_note(va, d.clip)
        if note:
            _note(fig, note)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(d.objective)
    ax.set_ylabel("share of jobs with an objective at most x")
    ax.grid(True, alpha=0.25)
    direction = "higher is better" if d.maximize else "lower is better"
    ax.set_title(
        f"{data.name}: distribution of {d.objective} ({len(d.values)} jobs, {direction})",
        fontsize=11,
    )
    return fig


def timeline(data: TuningData, width: int | None = None, height: int | None = None) -> Figure:
    """A bar per training job from its start to its end, coloured by status (a Gantt chart:
    how busy the parallel slots were)."""
    d = pd_.timeline_data(data)
    w, h = default_size("timeline", data)
    fig = _figure(width or w, height or h)
    ax = fig.subplots()
    ax.set_label("panel:timeline")
    colors = [pd_.STATUS_COLORS.get(s, "#9467bd") for s in d.status]
    end = float(d.end.max()) if len(d.end) else 1.0
    # A job of a few milliseconds still shows as a sliver.
    widths = np.maximum(d.end - d.start, 0.004 * end)
    ax.barh(d.seq, widths, left=d.start, color=colors, height=0.8, alpha=0.85)
    ax.set_xlim(0, end * 1.02 or 1.0)
    handles = [
        Line2D([], [], color=c, lw=6, label=s)
        for s, c in pd_.STATUS_COLORS.items()
        if s in set(d.status) and s != "Stopping"
    ]
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="lower right")
    ax.invert_yaxis()
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("seconds since the first training job was created")
    ax.set_ylabel("training job (creation order)")
    ax.grid(True, axis="x", alpha=0.25)
    ax.set_title(f"{data.name}: when each training job ran", fontsize=11)
    if len(d.names) < d.total:
        _note(fig, _sampled_note(len(d.names), d.total))
    return fig


DRAWERS = {
    "scatter": scatter,
    "convergence": convergence,
    "time": time,
    "parallel": parallel,
    "curves": curves,
    "importance": importance,
    "contour": contour,
    "ecdf": ecdf,
    "timeline": timeline,
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
