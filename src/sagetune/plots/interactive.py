"""Plotly drawers of :mod:`sagetune.plots.data`, for the HTML report and the dashboard.

The same plots as :mod:`sagetune.plots.static`, with hover text naming each training job.
Above a couple of thousand points the WebGL traces are used, so browsers stay responsive.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sagetune.plots import data as pd_
from sagetune.plots.data import TuningData

try:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("interactive plots need plotly: pip install 'sagetune[plots]'") from exc

PANEL_COLUMNS = 3
_WEBGL_ABOVE = 1500
_TEMPLATE = "plotly_white"
_GROUP_STYLE: dict[str, dict[str, Any]] = {
    "Completed": {"symbol": "circle"},
    "InProgress": {"symbol": "circle", "opacity": 0.5},
    "Stopped": {"symbol": "square-open", "line": {"width": 2}},
    "Failed (no objective)": {"symbol": "x", "color": "#d62728"},
    "Stopped (no objective)": {"symbol": "triangle-down", "color": "#7f7f7f"},
}
_GROUP_LABEL = {"Stopped": "Stopped (early)", "InProgress": "running"}


def _scatter_cls(n: int) -> Any:
    return go.Scattergl if n > _WEBGL_ABOVE else go.Scatter


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _hover(d: Any, i: int) -> str:
    return f"{d.names[i]}<br>job #{d.seq[i]} · {d.status[i]}"


def _layout(fig: go.Figure, title: str, height: int, note: str | None = None) -> go.Figure:
    text = title if not note else f"{title}<br><sup>{note}</sup>"
    fig.update_layout(
        template=_TEMPLATE,
        title={"text": text, "x": 0.01, "font": {"size": 15}},
        height=height,
        margin={"l": 60, "r": 30, "t": 70, "b": 50},
        legend={"orientation": "h", "y": -0.12, "x": 0},
        hoverlabel={"namelength": -1},
    )
    return fig


def _sampled(shown: int, total: int) -> str | None:
    if shown >= total:
        return None
    return f"showing {shown:,} of {total:,} jobs (evenly spread sample, best job kept)"


def _point_traces(
    d: Any,
    x: np.ndarray,
    xaxis_text: list[str] | None,
    first: bool,
    max_seq: int,
    colorbar: dict[str, Any] | None,
) -> list[Any]:
    """Traces of one panel: one per marker group, then the best job."""
    traces = []
    groups = np.array(d.group)
    for g, style in _GROUP_STYLE.items():
        m = np.flatnonzero(groups == g)
        if not len(m):
            continue
        style = dict(style)
        marker: dict[str, Any] = {"size": 8, "symbol": style.pop("symbol")}
        if "color" in style:
            marker["color"] = style.pop("color")
        else:
            marker.update(
                color=d.seq[m].tolist(), colorscale="Viridis", cmin=1, cmax=max(max_seq, 2)
            )
            if colorbar is not None and g == "Completed":
                marker.update(showscale=True, colorbar=colorbar)
        if "line" in style:
            marker["line"] = {"width": style.pop("line")["width"], "color": d.seq[m].tolist()}
        cls = _scatter_cls(len(m))
        hover = [
            _hover(d, int(i))
            + ("" if xaxis_text is None else f"<br>{xaxis_text[i]}")
            + ("<br>no objective" if "no objective" in g else f"<br>{d.y[i]:.6g}")
            for i in m
        ]
        traces.append(
            cls(
                x=x[m].tolist(),
                y=d.y[m].tolist(),
                mode="markers",
                marker=marker,
                name=_GROUP_LABEL.get(g, g),
                legendgroup=g,
                showlegend=first,
                text=hover,
                hoverinfo="text",
                opacity=style.get("opacity", 0.95),
            )
        )
    if d.best is not None:
        b = d.best
        traces.append(
            go.Scatter(
                x=[float(x[b])],
                y=[float(d.y[b])],
                mode="markers",
                name="best job",
                legendgroup="best",
                showlegend=first,
                marker={
                    "symbol": "star",
                    "size": 18,
                    "color": "#ffd400",
                    "line": {"color": "black", "width": 1},
                },
                text=["best: " + _hover(d, b) + f"<br>{d.y[b]:.6g}"],
                hoverinfo="text",
            )
        )
    return traces


def scatter(data: TuningData) -> go.Figure:
    """The objective against each tuned hyperparameter, one panel each (see the static
    version for the encoding); log axes for log ranges, category ticks for categorical."""
    d = pd_.scatter_data(data)
    n = max(d.panels, 1)
    cols = min(n, PANEL_COLUMNS)
    rows = math.ceil(n / cols)
    # Only as many subplots as panels: no empty axes in the last row.
    specs: list[list[dict[str, Any] | None]] = [
        [{} if r * cols + c < n else None for c in range(cols)] for r in range(rows)
    ]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        specs=specs,
        subplot_titles=[a.label for a in d.axes],
        horizontal_spacing=0.07,
        vertical_spacing=0.16 if rows > 1 else 0.1,
    )
    for i, axis in enumerate(d.axes):
        r, c = i // cols + 1, i % cols + 1
        raw = d.x[axis.name]
        text = [f"{axis.name} = {_fmt(v)}" for v in raw.tolist()]
        xaxis: dict[str, Any] = {"title": {"text": axis.name}}
        if axis.kind == "category":
            x = raw + pd_.jitter(d.seq)
            text = [
                f"{axis.name} = {axis.categories[int(v)]}" if np.isfinite(v) else "" for v in raw
            ]
            xaxis.update(
                tickvals=list(range(len(axis.categories))),
                ticktext=list(axis.categories),
                range=[-0.5, len(axis.categories) - 0.5],
            )
        elif axis.kind == "log":
            x = raw
            xaxis.update(
                type="log", range=[math.log10(axis.low) - 0.1, math.log10(axis.high) + 0.1]
            )
        elif axis.kind == "reverse_log":
            x = pd_.reverse_log(raw)
            values, labels = pd_.reverse_log_ticks(axis.low, axis.high)
            ticks = pd_.reverse_log(np.array(values)).tolist()
            xaxis.update(tickvals=ticks, ticktext=labels, range=[ticks[0], ticks[-1]])
        else:
            x = raw
            pad = 0.04 * (axis.high - axis.low or 1.0)
            xaxis.update(range=[axis.low - pad, axis.high + pad])
            if axis.integer:
                xaxis["dtick"] = max(1, math.ceil((axis.high - axis.low) / 10))
        colorbar = {"title": {"text": "job order"}, "len": 0.8} if i == 0 else None
        for trace in _point_traces(
            d, np.asarray(x, dtype=float), text, i == 0, d.max_seq, colorbar
        ):
            fig.add_trace(trace, row=r, col=c)
        fig.update_xaxes(row=r, col=c, **xaxis)
        if c == 1:
            fig.update_yaxes(title_text=d.objective, row=r, col=c)
    direction = "higher is better" if d.maximize else "lower is better"
    return _layout(
        fig,
        f"{data.name}: {d.objective} ({direction}) against each hyperparameter",
        height=130 + 330 * rows,
        note=_sampled(len(d.names), d.total),
    )


def convergence(data: TuningData) -> go.Figure:
    """Each job's objective in creation order, and the best so far."""
    d = pd_.convergence_data(data)
    fig = go.Figure()
    max_seq = int(d.seq.max()) if len(d.seq) else 1
    for trace in _point_traces(d, d.seq.astype(float), None, True, max_seq, None):
        fig.add_trace(trace)
    if len(d.best_x):
        fig.add_trace(
            go.Scatter(
                x=d.best_x.tolist(),
                y=d.best_y.tolist(),
                mode="lines",
                line={"shape": "hv", "color": "#d62728", "width": 2},
                name="best so far",
                hoverinfo="y",
            )
        )
    fig.update_xaxes(title_text="training job (creation order)")
    fig.update_yaxes(title_text=d.objective)
    direction = "higher is better" if d.maximize else "lower is better"
    return _layout(
        fig,
        f"{data.name}: {d.objective} by job ({direction})",
        460,
        _sampled(len(d.names), d.total),
    )


def parallel(data: TuningData) -> go.Figure:
    """Parallel coordinates over the tuned hyperparameters and the objective, coloured by the
    objective (log and reverse-log ranges on their scaled axes, categories by index)."""
    d = pd_.parallel_data(data)
    dims = []
    for a in d.axes:
        dims.append(
            {
                "label": a.label,
                "values": a.position.tolist(),
                "range": [0, 1],
                "tickvals": a.tick_positions,
                "ticktext": a.tick_labels,
            }
        )
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": d.color.tolist(),
                "colorscale": "Viridis",
                "reversescale": not d.maximize,
                "showscale": True,
                "colorbar": {"title": {"text": d.objective}},
            },
            dimensions=dims,
            labelangle=0,
            labelside="bottom",
        )
    )
    return _layout(
        fig,
        f"{data.name}: parallel coordinates, coloured by {d.objective}",
        480,
        _sampled(len(d.names), d.total),
    )


def curves(data: TuningData) -> go.Figure:
    """Learning curves of the objective metric, one line per job; early-stopped jobs dashed
    and ending in a cross, the best job in black."""
    d = pd_.curves_data(data)
    fig = go.Figure()
    import plotly.colors as pc

    scale = pc.get_colorscale("Viridis")
    for c in sorted(d.curves, key=lambda c: c.best):
        frac = (c.seq - 1) / max(d.max_seq - 1, 1)
        color = "black" if c.best else pc.sample_colorscale(scale, [frac])[0]
        label = f"{c.name} (#{c.seq}, {c.status})"
        fig.add_trace(
            go.Scatter(
                x=c.epochs.tolist(),
                y=c.values.tolist(),
                name=label,
                mode="lines+markers" if len(c.epochs) <= 1 or c.best else "lines",
                line={
                    "color": color,
                    "width": 3 if c.best else 1.2,
                    "dash": "dash" if c.early_stopped else "solid",
                },
                marker={"size": 6},
                opacity=1.0 if c.best else 0.75,
                showlegend=False,
                hovertemplate=f"{label}<br>epoch %{{x}}<br>%{{y:.6g}}<extra></extra>",
            )
        )
        if c.early_stopped and len(c.epochs):
            fig.add_trace(
                go.Scatter(
                    x=[float(c.epochs[-1])],
                    y=[float(c.values[-1])],
                    mode="markers",
                    showlegend=False,
                    hoverinfo="skip",
                    marker={"symbol": "x", "color": "#d62728", "size": 9},
                )
            )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=d.objective)
    return _layout(
        fig,
        f"{data.name}: learning curves of {d.objective} (best job in black, stopped early dashed)",
        460,
        "; ".join(d.notes) or None,
    )


def importance(data: TuningData) -> go.Figure:
    """Importance bars per hyperparameter with Spearman's rho in the hover and labels."""
    d = pd_.importance_data(data)
    labels = []
    for v, rho in zip(d.importance, d.rank_correlation):
        text = "n/a" if v is None else f"{v:.2f}"
        if rho is not None:
            text += f" (ρ {rho:+.2f})"
        labels.append(text)
    fig = go.Figure(
        go.Bar(
            x=[v or 0.0 for v in d.importance][::-1],
            y=d.names[::-1],
            orientation="h",
            text=labels[::-1],
            textposition="outside",
            marker_color="#4c72b0",
            hoverinfo="x+y",
        )
    )
    fig.update_xaxes(title_text="importance (share of explained variance)", range=[0, 1.2])
    note = (
        "fANOVA-style first-order variance decomposition on binned marginals"
        if d.jobs_used >= 4
        else "needs at least 4 jobs with an objective"
    )
    return _layout(
        fig,
        f"{data.name}: hyperparameter importance ({d.jobs_used} jobs with an objective)",
        max(300, 60 * len(d.names) + 160),
        note,
    )


DRAWERS = {
    "scatter": scatter,
    "convergence": convergence,
    "parallel": parallel,
    "curves": curves,
    "importance": importance,
}


def figure(kind: str, data: TuningData) -> go.Figure:
    """The Plotly figure of one plot kind (see :data:`sagetune.plots.KINDS`)."""
    pd_.check_kind(kind)
    return DRAWERS[kind](data)


def plotly_js() -> str:
    """plotly.js from the installed plotly package (inlined or served locally, never a CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
