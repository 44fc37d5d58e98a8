"""Plotly drawers of :mod:`sagetune.plots.data`, for the HTML report and the dashboard.

The same plots as :mod:`sagetune.plots.static`, with hover text naming each training job.
Above a couple of thousand points the WebGL traces are used, so browsers stay responsive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import numpy as np

from sagetune.plots import data as pd_
from sagetune.plots.data import TuningData

try:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("interactive plots need plotly: pip install 'sagetune[plots]'") from exc

_WEBGL_ABOVE = 1500
_TEMPLATE = "plotly_white"
_GROUP_STYLE: dict[str, dict[str, Any]] = {
    "Completed": {"symbol": "circle"},
    "InProgress": {"symbol": "circle", "opacity": 0.5},
    "Stopped": {"symbol": "square-open", "line": {"width": 2}},
    "Failed (no objective)": {"symbol": "x", "color": "#d62728"},
    "Stopped (no objective)": {"symbol": "diamond", "color": "#7f7f7f"},
}
# Off-scale values: a triangle pointing the way the value lies, in a shaded band.
_OFF_SCALE = {-1: "triangle-down", 1: "triangle-up"}
_BAND = {"fillcolor": "rgba(120,120,120,0.13)", "line_width": 0, "layer": "below"}
_OPACITY = 0.75  # overlapping points stay visible through each other
_GROUP_LABEL = {"Stopped": "Stopped (early)", "InProgress": "running"}
_TITLE_FITS = 64  # characters of a title at 15 px in a half-width plot of the report


def _scatter_cls(n: int) -> Any:
    return go.Scattergl if n > _WEBGL_ABOVE else go.Scatter


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


class _Hover:
    """Hover text as a ``hovertemplate`` over ``customdata``: the words once per trace, only
    the values per point, so a job shown in many panels does not repeat its text in each.
    Column 0 is always the training job's name (what the report's selection reads)."""

    def __init__(self, names: list[str]) -> None:
        self.columns: list[list[Any]] = [names]

    def column(self, values: list[Any], fmt: str = "") -> str:
        """Add a column of per-point values; returns its reference in a template."""
        self.columns.append(values)
        return f"%{{customdata[{len(self.columns) - 1}]{fmt}}}"

    def trace(self, template: str) -> dict[str, Any]:
        """The ``customdata`` and ``hovertemplate`` arguments of a trace."""
        return {
            "customdata": [list(row) for row in zip(*self.columns)],
            "hovertemplate": template + "<extra></extra>",
        }


def _job_line(d: Any, m: Sequence[int] | np.ndarray, hover: _Hover) -> str:
    """``name<br>job #k · status`` of the points ``m``, the status once when they share it."""
    statuses = {d.status[i] for i in m}
    status = statuses.pop() if len(statuses) == 1 else hover.column([d.status[i] for i in m])
    seq = hover.column([int(d.seq[i]) for i in m])
    return f"%{{customdata[0]}}<br>job #{seq} · {status}"


def _layout(
    fig: go.Figure, title: str, height: int, note: str | None = None, wide: bool = False
) -> go.Figure:
    # Plotly cuts a title at the figure's edge: a long one (a long tuning job name in a
    # half-width plot) puts the name on a line of its own. ``wide``: a plot the report
    # draws across the page.
    wrap = len(title) > _TITLE_FITS * (2 if wide else 1) and ": " in title
    text = title.replace(": ", ":<br>", 1) if wrap else title
    if note:
        text += f"<br><sup>{note}</sup>"
    fig.update_layout(
        template=_TEMPLATE,
        title={"text": text, "x": 0.01, "font": {"size": 15}},
        height=height + (24 if wrap else 0),
        margin={"l": 60, "r": 30, "t": (95 if note else 70) + (24 if wrap else 0), "b": 70},
        legend={"orientation": "h", "y": -0.18, "x": 0},
        hoverlabel={"namelength": -1},
    )
    return fig


def _sampled(shown: int, total: int) -> str | None:
    if shown >= total:
        return None
    return f"showing {shown:,} of {total:,} jobs (evenly spread sample, best job kept)"


def integer_colorbar(title: str, top: int) -> dict[str, Any]:
    """A colour bar of whole numbers from 1 to ``top`` (job order, epochs)."""
    return {
        "title": {"text": title},
        "len": 0.8,
        "tickmode": "linear",
        "tick0": 1,
        "dtick": max(1, math.ceil(top / 6)),
        "tickformat": "d",
    }


def _value_axis(fig: go.Figure, va: pd_.ValueAxis, axis: str = "y", **where: Any) -> None:
    """Range and scale of an objective axis, with a shaded band where off-scale values lie."""
    lo, hi = va.view if axis == "y" else va.scale
    update: dict[str, Any] = {"range": [math.log10(lo), math.log10(hi)] if va.log else [lo, hi]}
    if va.log:
        update.update(type="log", exponentformat="power")
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(**update, **where)
    add = fig.add_hrect if axis == "y" else fig.add_vrect
    spans = []
    if va.lower_band is not None:
        spans.append((va.scale[0], va.band_edges[0]))
    if va.upper_band is not None:
        spans.append((va.band_edges[1], va.scale[1]))
    for a, b in spans:
        add(a, b, **_BAND, **where)


def _scale_buttons(fig: go.Figure, va: pd_.ValueAxis, values: np.ndarray) -> None:
    """Buttons to see a positive objective on a log or a linear axis (the robust range for
    the one it opened with, Plotly's own range for the other)."""
    v = values[np.isfinite(values)]
    if not len(v) or (v <= 0).any():
        return
    opened = "log" if va.log else "linear"
    other = "linear" if va.log else "log"
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 1.0,
                "xanchor": "right",
                "y": 1.01,
                "yanchor": "bottom",
                "font": {"size": 10},
                "pad": {"r": 0, "t": 0, "l": 0, "b": 0},
                "showactive": True,
                "buttons": [
                    {
                        "label": f"{opened} y",
                        "method": "relayout",
                        "args": [{"yaxis.type": opened, "yaxis.range": fig.layout.yaxis.range}],
                    },
                    {
                        "label": f"{other} y",
                        "method": "relayout",
                        "args": [{"yaxis.type": other, "yaxis.autorange": True}],
                    },
                ],
            }
        ]
    )


# Set by figure_json: _with_traces leaves its traces here instead of in the figure.
_JSON_TRACES: ContextVar[list[dict[str, Any]] | None] = ContextVar("_JSON_TRACES", default=None)


def _with_traces(fig: go.Figure, traces: list[dict[str, Any]]) -> go.Figure:
    """``fig`` with ``traces`` (plain dicts, each with its ``type``) added as given.

    Plotly checks every property of a trace when it is built and again when it is added: for
    the hundreds of traces of the learning curves that took seconds. These traces are built
    by this module from fixed keys, so they skip the checks; the layout keeps them (and
    stays checked for what is changed later). Under :func:`figure_json` they are not put in
    the figure at all, but written into its JSON as they are."""
    deferred = _JSON_TRACES.get()
    if deferred is not None:
        deferred.extend(traces)
        return fig
    out = go.Figure(data=[*fig.data, *traces], layout=fig.layout, _validate=False)
    out._validate = out.layout._validate = True
    return out


def _notes(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _point_traces(
    d: Any,
    x: np.ndarray,
    x_hover: tuple[str, list[str] | None] | None,
    first: bool,
    max_seq: int,
    colorbar: dict[str, Any] | None,
) -> list[Any]:
    """Traces of one panel: one per marker group, off-scale jobs, then the best job. Each
    point carries its training job's name as ``customdata`` (what the report's table
    filter reads from a selection)."""
    traces = []
    groups = np.array(d.group)
    off = d.clip != 0
    for g, style in [*_GROUP_STYLE.items(), ("off scale", {"symbol": None})]:
        m = np.flatnonzero(off) if g == "off scale" else np.flatnonzero((groups == g) & ~off)
        if not len(m):
            continue
        style = dict(style)
        symbol = style.pop("symbol")
        if symbol is None:
            symbol = [_OFF_SCALE[int(c)] for c in d.clip[m]]
            style["line"] = {"width": 1, "color": "black"}
        marker: dict[str, Any] = {"size": 8 if g != "off scale" else 10, "symbol": symbol}
        if "color" in style:
            marker["color"] = style.pop("color")
        else:
            marker.update(
                color=d.seq[m].tolist(), colorscale="Viridis", cmin=1, cmax=max(max_seq, 2)
            )
            if colorbar is not None and g == "Completed":
                marker.update(showscale=True, colorbar=colorbar)
        if "line" in style:
            line = style.pop("line")
            marker["line"] = {"width": line["width"], "color": line.get("color", d.seq[m].tolist())}
        cls = _scatter_cls(len(m))
        hover = _Hover([d.names[i] for i in m])
        template = _job_line(d, m, hover)
        if x_hover is not None:
            label, shown = x_hover
            value = "%{x:.6g}" if shown is None else hover.column([shown[i] for i in m])
            template += f"<br>{label} = {value}"
        if "no objective" in g:
            template += "<br>no objective"
        elif g == "off scale":  # drawn in the band: the value itself is not the y
            template += "<br>" + hover.column([float(d.value[i]) for i in m], ":.6g")
            template += "<br>(off scale)"
        else:
            template += "<br>%{y:.6g}"
        traces.append(
            cls(
                x=x[m].tolist(),
                y=d.y[m].tolist(),
                mode="markers",
                marker=marker,
                name=_GROUP_LABEL.get(g, g),
                legendgroup=g,
                showlegend=first,
                **hover.trace(template),
                opacity=style.get("opacity", _OPACITY),
            )
        )
    if d.best is not None:
        b = d.best
        best = _Hover([d.names[b]])
        best_job = _job_line(d, [b], best)
        best_value = best.column([float(d.value[b])], ":.6g")
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
                **best.trace(f"best: {best_job}<br>{best_value}"),
            )
        )
    return traces


def scatter(data: TuningData) -> go.Figure:
    """The objective against each tuned hyperparameter, one panel each (see the static
    version for the encoding); log axes for log ranges, category ticks for categorical."""
    d = pd_.scatter_data(data)
    n = max(d.panels, 1)
    rows, cols = pd_.panel_grid(n)
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
        # The hover shows the value as searched: x itself, or its words where x is not it.
        shown: list[str] | None = None
        # No zero line: zero means nothing on a hyperparameter's axis, and on a categorical
        # one it would run through the first choice's points.
        xaxis: dict[str, Any] = {"title": {"text": axis.name}, "zeroline": False}
        if axis.kind == "category":
            x = raw + pd_.jitter(d.seq)
            shown = [axis.categories[int(v)] if np.isfinite(v) else "" for v in raw]
            xaxis.update(
                tickvals=list(range(len(axis.categories))),
                ticktext=list(axis.categories),
                range=[-0.5, len(axis.categories) - 0.5],
            )
        elif axis.kind == "log":
            x = raw
            xaxis.update(
                type="log",
                range=[math.log10(axis.low) - 0.1, math.log10(axis.high) + 0.1],
                exponentformat="power",  # 10⁻⁴, not Plotly's SI "100μ", as if it had a unit
            )
        elif axis.kind == "reverse_log":
            x = pd_.reverse_log(raw)
            shown = [_fmt(v) for v in raw.tolist()]
            values, labels = pd_.reverse_log_ticks(axis.low, axis.high)
            ticks = pd_.reverse_log(np.array(values)).tolist()
            xaxis.update(tickvals=ticks, ticktext=labels, range=[ticks[0], ticks[-1]])
        else:
            x = raw
            pad = 0.04 * (axis.high - axis.low or 1.0)
            xaxis.update(range=[axis.low - pad, axis.high + pad])
            if axis.integer:
                xaxis["dtick"] = max(1, math.ceil((axis.high - axis.low) / 10))
        colorbar = integer_colorbar("job order", d.max_seq) if i == 0 else None
        for trace in _point_traces(
            d, np.asarray(x, dtype=float), (axis.name, shown), i == 0, d.max_seq, colorbar
        ):
            fig.add_trace(trace, row=r, col=c)
        fig.update_xaxes(row=r, col=c, **xaxis)
        _value_axis(fig, d.y_axis, row=r, col=c)
        if c == 1:
            fig.update_yaxes(title_text=d.objective, row=r, col=c)
    direction = "higher is better" if d.maximize else "lower is better"
    return _layout(
        fig,
        f"{data.name}: {d.objective} ({direction}) against each hyperparameter",
        height=130 + 330 * rows,
        note=_notes(pd_.off_scale_note(d.y_axis, d.clip), _sampled(len(d.names), d.total)),
        wide=True,
    )


def _progress(d: pd_.ConvergenceData, xlabel: str, title: str) -> go.Figure:
    fig = go.Figure()
    max_seq = int(d.seq.max()) if len(d.seq) else 1
    bar = integer_colorbar("job order", max_seq)
    for trace in _point_traces(d, d.x, None, True, max_seq, bar):
        fig.add_trace(trace)
    if len(d.best_x):
        fig.add_trace(
            go.Scatter(
                x=d.best_x.tolist(),
                y=d.best_pos.tolist(),
                mode="lines",
                line={"shape": "hv", "color": "#d62728", "width": 2},
                name="best so far",
                customdata=d.best_y.tolist(),
                hovertemplate="best so far %{customdata:.6g}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=xlabel)
    fig.update_yaxes(title_text=d.objective)
    _value_axis(fig, d.y_axis)
    _scale_buttons(fig, d.y_axis, d.value)
    return _layout(
        fig,
        title,
        460,
        _notes(pd_.off_scale_note(d.y_axis, d.clip), _sampled(len(d.names), d.total)),
    )


def convergence(data: TuningData) -> go.Figure:
    """Each job's objective in creation order, and the best so far."""
    d = pd_.convergence_data(data)
    direction = "higher is better" if d.maximize else "lower is better"
    fig = _progress(
        d, "training job (creation order)", f"{data.name}: {d.objective} by job ({direction})"
    )
    fig.update_xaxes(tickformat="d")
    return fig


def time(data: TuningData) -> go.Figure:
    """Each finished job's objective at the moment it ended, and the best so far then."""
    d = pd_.time_data(data)
    direction = "higher is better" if d.maximize else "lower is better"
    return _progress(
        d,
        "seconds since the first training job was created",
        f"{data.name}: {d.objective} over wall-clock time ({direction})",
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
                # The on-scale range: an off-scale job takes the end colour.
                "cmin": d.color_range[0],
                "cmax": d.color_range[1] if d.color_range[1] > d.color_range[0] else None,
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
        wide=True,
    )


def curves(data: TuningData) -> go.Figure:
    """Learning curves of the objective metric, one line per job; early-stopped jobs dashed
    and ending in a cross, the best job in black."""
    d = pd_.curves_data(data)
    fig = go.Figure()
    import plotly.colors as pc

    scale = pc.get_colorscale("Viridis")
    va = d.y_axis
    clips = []
    traces: list[dict[str, Any]] = []
    drawn = sorted(d.curves, key=lambda c: c.best)
    # One call for every colour: plotly checks the scale on each call.
    colors = pc.sample_colorscale(scale, [(c.seq - 1) / max(d.max_seq - 1, 1) for c in drawn])
    for c, color in zip(drawn, colors):
        values, clip = va.place(c.values)
        clips.append(clip)
        color = "black" if c.best else color
        label = f"{c.name} (#{c.seq}, {c.status})"
        traces.append(
            {
                "type": "scatter",
                "x": c.epochs.tolist(),
                "y": values.tolist(),
                "customdata": c.values.tolist(),
                "name": label,
                "mode": "lines+markers" if len(c.epochs) <= 1 or c.best or clip.any() else "lines",
                "line": {
                    "color": color,
                    "width": 3 if c.best else 1.2,
                    "dash": "dash" if c.early_stopped else "solid",
                },
                "marker": {
                    "size": [9 if k else (6 if c.best else 0) for k in clip],
                    "symbol": [_OFF_SCALE.get(int(k), "circle") for k in clip],
                },
                "opacity": 1.0 if c.best else 0.75,
                "showlegend": False,
                "hovertemplate": f"{label}<br>epoch %{{x}}<br>%{{customdata:.6g}}<extra></extra>",
            }
        )
        if c.early_stopped and len(c.epochs):
            traces.append(
                {
                    "type": "scatter",
                    "x": [float(c.epochs[-1])],
                    "y": [float(values[-1])],
                    "mode": "markers",
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "marker": {"symbol": "x", "color": "#d62728", "size": 9},
                }
            )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=d.objective)
    if d.curves:
        _value_axis(fig, va)
        fig.update_yaxes(range=list(va.scale) if not va.log else None)
    clip_note = pd_.off_scale_note(va, np.concatenate(clips) if clips else np.zeros(0), "point")
    _layout(
        fig,
        f"{data.name}: learning curves of {d.objective} (best job in black, stopped early dashed)",
        460,
        _notes(*d.notes, clip_note),
    )
    return _with_traces(fig, traces)


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
    return _layout(
        fig,
        f"{data.name}: hyperparameter importance ({d.jobs_used} jobs with an objective)",
        max(300, 60 * len(d.names) + 160),
        d.note,
    )


def contour(data: TuningData) -> go.Figure:
    """The objective over the two most important hyperparameters: filled contours of an
    interpolation of the jobs' values, the jobs as dots (hover names them), the best
    starred."""
    d = pd_.contour_data(data)
    fig = go.Figure()
    if len(d.axes) < 2:
        return _layout(fig, f"{data.name}: contour", 300, "needs two tuned hyperparameters")
    lo, hi = d.color_range
    scale = {"colorscale": "Viridis", "reversescale": not d.maximize}
    if d.z is not None:
        fig.add_trace(
            go.Contour(
                x=d.grid.tolist(),
                y=d.grid.tolist(),
                z=[
                    [float(min(max(v, lo), hi)) if np.isfinite(v) else None for v in row]
                    for row in d.z
                ],
                zmin=lo,
                zmax=hi,
                opacity=0.85,
                contours={"coloring": "fill"},
                line={"width": 0.5},
                colorbar={"title": {"text": d.objective}},
                hoverinfo="skip",
                **scale,
            )
        )
    jobs = _Hover(list(d.names))
    value = jobs.column([float(v) for v in d.value], ":.6g")
    fig.add_trace(
        go.Scatter(
            x=d.x.tolist(),
            y=d.y.tolist(),
            mode="markers",
            name="training job",
            marker={
                "color": np.clip(d.value, lo, hi).tolist(),
                "cmin": lo,
                "cmax": hi,
                "line": {"color": "white", "width": 1},
                "size": 8,
                **scale,
            },
            opacity=_OPACITY,
            **jobs.trace(f"%{{customdata[0]}}<br>{value}"),
        )
    )
    if d.best is not None:
        fig.add_trace(
            go.Scatter(
                x=[float(d.x[d.best])],
                y=[float(d.y[d.best])],
                mode="markers",
                name="best job",
                marker={
                    "symbol": "star",
                    "size": 18,
                    "color": "#ffd400",
                    "line": {"color": "black", "width": 1},
                },
                customdata=[[d.names[d.best], float(d.value[d.best])]],
                hovertemplate="best: %{customdata[0]}<br>%{customdata[1]:.6g}<extra></extra>",
            )
        )
    imp = ["n/a" if v is None else f"{v:.2f}" for v in d.importance]
    for axis, a, i in ((fig.update_xaxes, d.axes[0], 0), (fig.update_yaxes, d.axes[1], 1)):
        axis(
            title_text=f"{a.label} (importance {imp[i]})",
            tickvals=a.tick_positions,
            ticktext=a.tick_labels,
            range=[-0.03, 1.03],
            zeroline=False,
        )
    return _layout(
        fig,
        f"{data.name}: {d.objective} over the two most important hyperparameters",
        520,
        None if d.z is not None else "too few distinct points to interpolate: the jobs only",
    )


def ecdf(data: TuningData) -> go.Figure:
    """The empirical cumulative distribution of the objective, the best value marked."""
    d = pd_.ecdf_data(data)
    fig = go.Figure()
    if len(d.values):
        fig.add_trace(
            go.Scatter(
                x=d.x.tolist(),
                y=d.fraction.tolist(),
                mode="lines+markers",
                line={"shape": "hv", "color": "#4c72b0", "width": 2},
                marker={
                    "size": [10 if k else 4 for k in d.clip],
                    "symbol": [
                        {-1: "triangle-left", 1: "triangle-right"}.get(int(k), "circle")
                        for k in d.clip
                    ],
                },
                name=d.objective,
                customdata=d.values.tolist(),
                hovertemplate="%{customdata:.6g}: %{y:.0%} of jobs at most<extra></extra>",
            )
        )
        _value_axis(fig, d.x_axis, axis="x")
        if d.best_value is not None:
            fig.add_vline(
                float(d.x_axis.place([d.best_value])[0][0]),
                line={"color": "#d62728", "dash": "dash", "width": 1.5},
                annotation_text=f"best {pd_._fmt(d.best_value)}",
            )
    fig.update_xaxes(title_text=d.objective)
    fig.update_yaxes(title_text="share of jobs with an objective at most x", range=[0, 1.02])
    direction = "higher is better" if d.maximize else "lower is better"
    return _layout(
        fig,
        f"{data.name}: distribution of {d.objective} ({len(d.values)} jobs, {direction})",
        420,
        pd_.off_scale_note(d.x_axis, d.clip),
    )


def timeline(data: TuningData) -> go.Figure:
    """A bar per training job from its start to its end, coloured by status (a Gantt chart:
    how busy the parallel slots were); hover names each job."""
    d = pd_.timeline_data(data)
    fig = go.Figure()
    end = float(d.end.max()) if len(d.end) else 1.0
    for status, color in pd_.STATUS_COLORS.items():
        m = [i for i, s in enumerate(d.status) if s == status]
        if not m:
            continue
        fig.add_trace(
            go.Bar(
                # A job of a few milliseconds still shows as a sliver.
                x=[max(float(d.end[i] - d.start[i]), 0.004 * end) for i in m],
                base=[float(d.start[i]) for i in m],
                y=[int(d.seq[i]) for i in m],
                orientation="h",
                name=status,
                marker_color=color,
                customdata=[[d.names[i], float(d.start[i]), float(d.end[i])] for i in m],
                hovertemplate=f"%{{customdata[0]}} · {status}<br>"
                "%{customdata[1]:.1f} s to %{customdata[2]:.1f} s<extra></extra>",
                textposition="none",
            )
        )
    fig.update_xaxes(
        title_text="seconds since the first training job was created", range=[0, end * 1.02]
    )
    fig.update_yaxes(
        title_text="training job (creation order)", autorange="reversed", tickformat="d"
    )
    fig.update_layout(barmode="overlay", bargap=0.15)
    return _layout(
        fig,
        f"{data.name}: when each training job ran",
        min(1200, max(360, 12 * len(d.names) + 160)),
        _sampled(len(d.names), d.total),
        wide=True,
    )


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


def figure(kind: str, data: TuningData) -> go.Figure:
    """The Plotly figure of one plot kind (see :data:`sagetune.plots.KINDS`)."""
    pd_.check_kind(kind)
    fig = DRAWERS[kind](data)
    if data.of_jobs is not None and data.of_jobs > len(data.jobs):
        # Said on the figure itself: a sample's picture must not pass for the whole job's.
        note = (
            f"drawn from {len(data.jobs):,} of {data.of_jobs:,} training jobs "
            "(the best ones and an evenly spread sample)"
        )
        fig.update_layout(
            title_text=f"{fig.layout.title.text}<br><sup>{note}</sup>",
            margin_t=(fig.layout.margin.t or 70) + 20,
        )
    return fig


def figure_json(kind: str, data: TuningData) -> str:
    """``figure(kind, data).to_json()``, the same JSON, made faster for figures of many
    traces (the learning curves): their traces go into the JSON as the plain dicts they are
    built as, without Plotly copying each of them into a trace object and back (two thirds
    of the curves' answer at 10,000 jobs)."""
    from plotly.io.json import to_json_plotly

    traces: list[dict[str, Any]] = []
    token = _JSON_TRACES.set(traces)
    try:
        fig = figure(kind, data)
    finally:
        _JSON_TRACES.reset(token)
    if not traces:
        return str(fig.to_json())
    out = fig.to_dict()
    out["data"] = [*out.get("data", []), *traces]
    for trace in out["data"]:
        trace.pop("uid", None)  # as to_json does
    return str(to_json_plotly(out))


def plotly_js() -> str:
    """plotly.js from the installed plotly package (inlined or served locally, never a CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
