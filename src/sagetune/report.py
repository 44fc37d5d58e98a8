"""A tuning job's report: one self-contained HTML file (it opens offline; plotly.js is inlined).

It holds the summary (best job, counts by status, time spent, rank correlation and importance
per hyperparameter), the suggested narrower ranges for a next tuning job, the interactive
plots and the table of training jobs (sortable by any column, filterable by status, and by
the points selected in a plot: box or lasso on the scatter panels shows their rows).

plotly.js is inlined once, gzip-compressed (a third of its 4.6 MB, so a report can be mailed)
and unpacked by the browser's own ``DecompressionStream``; each figure is stored once as JSON
(the shared Plotly template too, once), and one small script draws them all.

Example:
    >>> from sagetune.report import write_report
    >>> write_report("my-tuning-job", "report.html", store="sqlite:///tuning.db")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagetune.analytics import TuningJobAnalytics
from sagetune.errors import ValidationError
from sagetune.formatting import SIGNIFICANT_DIGITS, format_value
from sagetune.plots.data import KINDS, MAX_CURVES, TuningData
from sagetune.store import Store, open_store
from sagetune.store.records import TRAINING_JOB_STATUSES, TrainingJobRecord

CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#e3e6ec; --accent:#2f6fde; --bg:#f6f7f9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0; }
header { background: #1d2330; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; font-weight: 600; }
header .sub { color: #c6ccd8; font-size: 13px; }
header a { color: #c6ccd8; }
main { padding: 16px 24px 40px; max-width: 1400px; margin: 0 auto; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px;
          margin: 14px 0; }
h2 { font-size: 16px; margin: 0 0 10px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px;
        background: #fbfcfd; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 18px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         white-space: nowrap; }
th { background: #f0f2f5; position: sticky; top: 0; cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #fff6cc; }
.status { padding: 1px 7px; border-radius: 9px; font-size: 12px; }
.st-Completed { background: #dff3e4; color: #1d6b34; }
.st-Failed { background: #fde2e1; color: #a3211b; }
.st-Stopped, .st-Stopping { background: #ecedf0; color: #4a505c; }
.st-InProgress { background: #e1ecfd; color: #1f4fa3; }
.muted { color: var(--muted); }
.scroll { max-height: 560px; overflow: auto; }
.toolbar { display: flex; gap: 10px; align-items: center; margin-bottom: 8px; }
.plot { min-height: 300px; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 0 14px; }
.plots section.wide { grid-column: 1 / -1; }
#selection { display: none; }
#selection.on { display: inline; }
button.plain { background: #fff; color: var(--fg); border-color: var(--line); padding: 2px 8px; }
pre.ranges { background: #f6f7f9; border: 1px solid var(--line); padding: 8px; font-size: 12px;
             overflow: auto; max-height: 260px; }
button { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid #c33;
         background: #d9362b; color: #fff; cursor: pointer; }
button:disabled { background: #bbb; border-color: #aaa; cursor: default; }
pre.log { background: #111; color: #ddd; padding: 10px; overflow: auto; max-height: 420px;
          font-size: 12px; }
"""

_TABLE_JS = """
(function () {
  const table = document.getElementById("jobs");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const filter = document.getElementById("status-filter");
  const count = document.getElementById("shown-count");
  const selection = document.getElementById("selection");
  let sortCol = -1, asc = true, picked = null;
  function apply() {
    const want = filter.value;
    let shown = 0;
    for (const r of rows) {
      const ok = (!want || r.dataset.status === want) && (!picked || picked.has(r.dataset.name));
      r.style.display = ok ? "" : "none";
      if (ok) shown++;
    }
    count.textContent = shown + " of " + rows.length;
    selection.className = picked ? "on" : "";
  }
  // Points selected (box or lasso) in a plot show only their rows; each point carries its
  // training job's name first in its customdata.
  window.sagetuneSelect = function (names) {
    picked = names && names.length ? new Set(names) : null;
    apply();
  };
  document.getElementById("clear-selection").addEventListener("click", () => {
    picked = null;
    apply();
  });
  function key(r, i) {
    const c = r.cells[i];
    const v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
    const n = parseFloat(v);
    return (v !== "" && !isNaN(n) && isFinite(v)) ? n : v.toLowerCase();
  }
  table.tHead.addEventListener("click", (e) => {
    const th = e.target.closest("th");
    if (!th) return;
    const i = th.cellIndex;
    asc = sortCol === i ? !asc : true;
    sortCol = i;
    for (const h of table.tHead.rows[0].cells) h.className = "";
    th.className = asc ? "sorted-asc" : "sorted-desc";
    rows.sort((a, b) => {
      const x = key(a, i), y = key(b, i);
      if (x === "" || x === "-") return 1;
      if (y === "" || y === "-") return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    const frag = document.createDocumentFragment();
    for (const r of rows) frag.appendChild(r);
    body.appendChild(frag);
  });
  filter.addEventListener("change", apply);
  apply();
})();
"""


# Unpacks the inlined plotly.js, runs it, then draws the figures (every browser of the last
# years has DecompressionStream; the bundle is a third of its size compressed).
_PLOTS_JS = """
(async function () {
  const packed = document.getElementById("plotly-js-gzip").textContent;
  const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const code = document.createElement("script");
  code.textContent = await new Response(stream).text();
  document.head.appendChild(code);
  const figures = JSON.parse(document.getElementById("figures").textContent);
  const template = JSON.parse(document.getElementById("plotly-template").textContent);
  const config = {displaylogo: false, responsive: true};
  for (const [kind, fig] of Object.entries(figures)) {
    const el = document.getElementById("plot-" + kind);
    fig.layout.template = template;
    Plotly.newPlot(el, fig.data, fig.layout, config);
    el.on("plotly_selected", (e) => {
      // A point's customdata is its job's name, or a row that starts with it.
      const name = (c) => (Array.isArray(c) ? c[0] : c);
      const names = e ? e.points.map((p) => name(p.customdata)).filter((n) => typeof n === "string")
                      : [];
      window.sagetuneSelect(names);
    });
    el.on("plotly_deselect", () => window.sagetuneSelect(null));
  }
})();
"""
# Plots that span the page; the others share a row two by two on a wide screen.
_WIDE = {"scatter", "parallel", "timeline"}
# Plots whose points are training jobs: box and lasso select them.
_SELECTABLE = {"scatter", "convergence", "time", "contour"}


@functools.cache
def packed_plotly_js() -> str:
    """plotly.js gzip-compressed and base64-encoded, as the report inlines it."""
    from sagetune.plots import interactive

    raw = interactive.plotly_js().encode("utf-8")
    # mtime=0: the same plotly gives the same bytes, so reports differ only in their data.
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: float | None, digits: int = SIGNIFICANT_DIGITS) -> str:
    return format_value(value, digits)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min" if hours else f"{m} min {s:02d} s"


def _iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def summary_html(summary: dict[str, Any]) -> str:
    """The summary section: cards, the best job, and the per-hyperparameter table."""
    counts = summary["TrainingJobCounts"]
    best = summary["BestTrainingJob"]
    objective = summary["Objective"]
    cards = [("status", summary["Status"]), ("training jobs", summary["TrainingJobCount"])]
    cards += [(s, n) for s, n in counts.items() if n]
    cards += [
        ("best " + objective["MetricName"], _num(best["FinalObjectiveValue"]) if best else "-"),
        ("training time", _duration(summary["TimeSpent"]["TrainingSeconds"])),
        ("wall-clock time", _duration(summary["TimeSpent"]["WallClockSeconds"])),
        ("cost", "n/a"),
    ]
    parts = ['<div class="cards">']
    for k, v in cards:
        parts.append(
            f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div></div>'
        )
    parts.append("</div>")
    if best:
        hps = ", ".join(
            f"{_e(k)} = <b>{_e(_num(v) if isinstance(v, float) else v)}</b>"
            for k, v in best["Hyperparameters"].items()
        )
        parts.append(
            f"<p>Best training job: <b>{_e(best['TrainingJobName'])}</b> "
            f"(#{best['Sequence']}), {_e(objective['MetricName'])} = "
            f"<b>{_num(best['FinalObjectiveValue'])}</b> "
            f"({_e(objective['Type'])}).<br>{hps}</p>"
        )
    else:
        parts.append('<p class="muted">No training job has an objective value yet.</p>')
    parts.append(
        "<table><thead><tr><th>hyperparameter</th><th>range</th>"
        "<th>rank correlation</th><th>importance</th></tr></thead><tbody>"
    )
    for row in summary["Hyperparameters"]:
        kind = row["kind"] + (f", {row['scaling']}" if row.get("scaling") else "")
        parts.append(
            f"<tr><td>{_e(row['hyperparameter'])}</td><td>{_e(kind)}</td>"
            f'<td class="num">{_num(row["rank_correlation"], 3)}</td>'
            f'<td class="num">{_num(row["importance"], 3)}</td></tr>'
        )
    parts.append("</tbody></table>")
    methods = summary["Methods"]
    parts.append(
        f'<p class="muted">Importance: {_e(methods["Importance"])}.<br>'
        f"Rank correlation: {_e(methods['RankCorrelation'])}.<br>"
        f"{_e('; '.join(summary['Notes']))}.</p>"
    )
    return "\n".join(parts)


def _range_text(r: dict[str, Any]) -> str:
    if "Values" in r:
        return ", ".join(str(v) for v in r["Values"])
    return f"{_num(float(r['MinValue']), 4)} to {_num(float(r['MaxValue']), 4)}"


def suggested_ranges_html(rows: Sequence[dict[str, Any]], method: str) -> str:
    """The "narrow these ranges next time" section: a table, most important first, and the
    suggestion as ``ParameterRanges`` JSON to paste into the next request."""
    if not rows:
        return '<p class="muted">No training job has an objective value yet.</p>'
    ordered = sorted(rows, key=lambda r: -(r["importance"] if r["importance"] is not None else -1))
    parts = [
        "<table><thead><tr><th>hyperparameter</th><th>importance</th><th>range searched</th>"
        "<th>suggested range</th></tr></thead><tbody>"
    ]
    for r in ordered:
        scaling = f" ({_e(r['scaling'])})" if r.get("scaling") else ""
        parts.append(
            f"<tr><td>{_e(r['hyperparameter'])}</td>"
            f'<td class="num">{_num(r["importance"], 2)}</td>'
            f"<td>{_e(_range_text(r['range']))}{scaling}</td>"
            f"<td><b>{_e(_range_text(r['suggested']))}</b></td></tr>"
        )
    parts.append("</tbody></table>")
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(f"{r['kind']}ParameterRanges", []).append(r["parameter_range"])
    parts.append(
        f'<p class="muted">Suggested: {_e(method)}; the best job lies within every suggested '
        "range. As <code>ParameterRanges</code> for the next tuning job:</p>"
        f'<pre class="ranges">{_e(json.dumps(groups, indent=2))}</pre>'
    )
    return "".join(parts)


def jobs_table_html(
    jobs: Sequence[TrainingJobRecord], hp_names: Sequence[str], best_name: str | None
) -> str:
    """The training jobs table with a status filter (sorting by clicking a header)."""
    statuses = sorted({j.status for j in jobs}, key=TRAINING_JOB_STATUSES.index)
    options = "".join(f'<option value="{_e(s)}">{_e(s)}</option>' for s in statuses)
    head = ["#", "training job", "status", "objective", *hp_names, "seconds", "failure reason"]
    parts = [
        (
            f'<div class="toolbar"><label>status <select id="status-filter">'
            f'<option value="">all</option>{options}</select></label>'
            f'<span class="muted">showing <span id="shown-count"></span></span>'
            '<span id="selection" class="muted">· the points selected in a plot '
            '<button type="button" class="plain" id="clear-selection">show all</button>'
            "</span></div>"
        ),
        '<div class="scroll"><table id="jobs"><thead><tr>',
        "".join(f"<th>{_e(h)}</th>" for h in head),
        "</tr></thead><tbody>",
    ]
    for j in jobs:
        seconds = (j.ended_at - j.started_at) if j.ended_at and j.started_at else None
        cells = [
            f'<td class="num">{j.seq}</td>',
            f"<td>{_e(j.name)}</td>",
            f'<td><span class="status st-{_e(j.status)}">{_e(j.status)}</span></td>',
            (
                f'<td class="num" data-v="{"" if j.objective is None else j.objective!r}">'
                f"{_num(j.objective)}</td>"
            ),
        ]
        for n in hp_names:
            v = j.hyperparameters.get(n)
            shown = _num(v) if isinstance(v, float) else v
            cells.append(f'<td data-v="{_e(v)}">{_e(shown)}</td>')
        cells.append(f'<td class="num">{"-" if seconds is None else f"{seconds:.1f}"}</td>')
        reason = (j.failure_reason or "").splitlines()[0][:120] if j.failure_reason else ""
        cells.append(f'<td class="muted" title="{_e(j.failure_reason)}">{_e(reason)}</td>')
        cls = ' class="best"' if j.name == best_name else ""
        parts.append(
            f'<tr data-status="{_e(j.status)}" data-name="{_e(j.name)}"{cls}>{"".join(cells)}</tr>'
        )
    parts.append("</tbody></table></div>")
    return "".join(parts)


TITLES = {
    "scatter": "The objective against each hyperparameter (select points to see their rows)",
    "convergence": "Convergence: the objective by job, and the best so far",
    "time": "The objective over wall-clock time, and the best so far",
    "parallel": "Parallel coordinates",
    "curves": "Learning curves",
    "importance": "Hyperparameter importance",
    "contour": "The two most important hyperparameters",
    "ecdf": "Distribution of the objective",
    "timeline": "Timeline of training jobs",
}


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element."""
    return json.dumps(value, default=str, separators=(",", ":")).replace("</", "<\\/")


def _compact(value: Any) -> Any:
    """Plotly JSON with every float to 6 significant digits: far more than a screen shows, and
    a third of the size of the 17 digits a float prints with."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    return value


def figures_json(data: TuningData) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every plot of the report as Plotly JSON, and the one template they share (kept once
    rather than in every figure)."""
    from sagetune.plots import interactive

    figures: dict[str, Any] = {}
    template: dict[str, Any] = {}
    for kind in KINDS:
        fig = json.loads(interactive.figure_json(kind, data))
        template = fig["layout"].pop("template", template)
        if kind in _SELECTABLE:
            fig["layout"]["dragmode"] = "select"
        figures[kind] = _compact(fig)
    return figures, template


def render_report(name: str, store: Store | str | None = None) -> str:
    """The report of a tuning job as one HTML document.

    Raises:
        ResourceNotFound: when there is no such tuning job.
        ImportError: when plotly is not installed.
    """
    packed = packed_plotly_js()  # first, so a missing plotly fails before any work
    st = open_store(store)
    analytics = TuningJobAnalytics(name, store=st)
    jobs = analytics.training_jobs()
    data = TuningData.load(st, name, jobs=jobs, max_curves=MAX_CURVES)
    # One fANOVA for the summary and the importance and contour plots.
    summary = analytics.summary(jobs, effects=data.hyperparameter_effects())
    best = summary["BestTrainingJob"]
    figures, template = figures_json(data)
    plots = [
        f'<section class="{"wide" if kind in _WIDE else ""}"><h2>{_e(TITLES[kind])}</h2>'
        f'<div class="plot" id="plot-{kind}"></div></section>'
        for kind in KINDS
    ]
    objective = summary["Objective"]
    generated = _iso(time.time())
    # The summary as JSON too, so scripts can pull the numbers out of the file.
    summary_json = _script_json(summary)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sagetune">
<title>{_e(name)}: tuning report</title>
<style>{CSS}</style>
</head>
<body>
<header><h1>{_e(name)}</h1>
<div class="sub">{_e(summary["Status"])} · {_e(summary["Strategy"])} strategy ·
{_e(objective["Type"])} {_e(objective["MetricName"])} · created {_iso(summary["CreationTime"])}
· report written {generated}</div></header>
<main>
<section id="summary"><h2>Summary</h2>{summary_html(summary)}</section>
<section id="suggested-ranges"><h2>Which ranges to narrow next time</h2>
{suggested_ranges_html(summary["SuggestedRanges"], summary["Methods"]["SuggestedRanges"])}
</section>
<div class="plots">{"".join(plots)}</div>
<section id="training-jobs"><h2>Training jobs</h2>
{jobs_table_html(jobs, list(data.space.names), best["TrainingJobName"] if best else None)}
</section>
</main>
<script type="application/json" id="summary-data">{summary_json}</script>
<script type="application/json" id="plotly-template">{_script_json(template)}</script>
<script type="application/json" id="figures">{_script_json(figures)}</script>
<script type="application/octet-stream" id="plotly-js-gzip">{packed}</script>
<script>{_TABLE_JS}</script>
<script>{_PLOTS_JS}</script>
</body>
</html>
"""


def write_report(name: str, path: str | Path, store: Store | str | None = None) -> Path:
    """Write the report of a tuning job to ``path`` (an ``.html`` file).

    Args:
        name: the tuning job.
        path: where to write; parent folders are created.
        store: a store, a SQLAlchemy URL, a SQLite file path, or None for the default store.

    Returns:
        The path written.

    Raises:
        ValidationError: when ``path`` does not end in ``.html`` or ``.htm``.
        ResourceNotFound: when there is no such tuning job.
    """
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValidationError(
            f"-o: the report is an HTML file; end the name in .html, got {path.name!r}"
        )
    text = render_report(name, store)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
