"""The dashboard's HTML pages: static shells whose scripts poll the JSON API and update in
place (no reloads). Values from the store are inserted with ``textContent``, never as HTML."""

from __future__ import annotations

import html
import json
from typing import Any

from sagetune.report import CSS

POLL_MS = 1000
PLOT_INTERVAL_MS = 2500

_COMMON_JS = """
async function getJSON(url, options) {
  const r = await fetch(url, Object.assign({credentials: "same-origin"}, options || {}));
  if (!r.ok) {
    let detail = r.status + "";
    try { detail += " " + (await r.json()).detail; } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return r.json();
}
function el(tag, props, children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "text") e.textContent = v; else if (k === "cls") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children || []) e.appendChild(c);
  return e;
}
function fmt(v) {
  if (v === null || v === undefined) return "-";
  // sagetune.formatting.format_value's rule: 6 significant digits, trailing zeros dropped.
  if (typeof v === "number") return Number.isInteger(v) ? String(v)
                                                        : String(Number(v.toPrecision(6)));
  return String(v);
}
function duration(s) {
  if (s === null || s === undefined) return "-";
  if (s < 60) return s.toFixed(1) + " s";
  const m = Math.floor(s / 60), h = Math.floor(m / 60);
  return h ? h + " h " + String(m % 60).padStart(2, "0") + " min"
           : m + " min " + String(Math.round(s % 60)).padStart(2, "0") + " s";
}
function when(t) { return t ? new Date(t * 1000).toLocaleString() : "-"; }
function statusBadge(s) { return el("span", {cls: "status st-" + s, text: s}); }
function showError(e) {
  const box = document.getElementById("error");
  if (box) box.textContent = e ? "could not update: " + e.message : "";
}
const FINISHED = new Set(["Completed", "Failed", "Stopped"]);
"""


def _page(title: str, header: str, body: str, script: str, plotly: bool = False) -> str:
    plotly_tag = '<script src="/static/plotly.min.js"></script>' if plotly else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}
#error {{ color: #a3211b; }}
a {{ color: var(--accent); text-decoration: none; }}
.pager button {{ background: #fff; color: var(--fg); border-color: #c8ccd4; }}
.pager button:disabled {{ color: #aaa; background: #f3f3f3; }}
#stop-button.done {{ background: #bbb; }}
#failure {{ white-space: pre-wrap; font-family: monospace; font-size: 12px; }}
</style>
{plotly_tag}
</head>
<body>
<header>{header}</header>
<main>
<div id="error"></div>
{body}
</main>
<script>{_COMMON_JS}
{script}</script>
</body>
</html>
"""


def dumps(value: Any) -> str:
    """JSON for embedding in a ``<script>`` element."""
    return json.dumps(value).replace("</", "<\\/")


def not_found_page(message: str) -> str:
    return _page(
        "not found",
        '<h1><a href="/" style="color:#fff">sagetune</a></h1>',
        f"<section><h2>Not found</h2><p>{html.escape(message)}</p></section>",
        "",
    )


def index_page() -> str:
    """The list of tuning jobs with status and best objective, refreshed in place."""
    body = """<section><h2>Tuning jobs</h2>
<table id="tuning-jobs"><thead><tr><th>tuning job</th><th>status</th><th>strategy</th>
<th>objective</th><th>training jobs</th><th>completed</th><th>failed</th><th>stopped</th>
<th>best</th><th>created</th></tr></thead><tbody></tbody></table>
<p class="muted" id="empty" hidden>No tuning jobs in this store yet.</p></section>"""
    script = f"""
async function refresh() {{
  try {{
    const jobs = await getJSON("/api/tuning-jobs");
    const body = document.querySelector("#tuning-jobs tbody");
    const rows = jobs.map(j => el("tr", {{"data-name": j.name}}, [
      el("td", {{}}, [el("a", {{href: "/tuning-jobs/" + encodeURIComponent(j.name),
                                text: j.name}})]),
      el("td", {{}}, [statusBadge(j.status)]),
      el("td", {{text: j.strategy || "-"}}),
      el("td", {{text: j.objective.Type + " " + j.objective.MetricName}}),
      el("td", {{cls: "num", text: j.training_jobs}}),
      el("td", {{cls: "num", text: j.counts.Completed}}),
      el("td", {{cls: "num", text: j.counts.Failed}}),
      el("td", {{cls: "num", text: j.counts.Stopped}}),
      el("td", {{cls: "num", text: j.best ? fmt(j.best.objective) : "-"}}),
      el("td", {{text: when(j.created_at)}})]));
    body.replaceChildren(...rows);
    document.getElementById("empty").hidden = jobs.length > 0;
    showError(null);
  }} catch (e) {{ showError(e); }}
  setTimeout(refresh, {POLL_MS * 2});
}}
refresh();
"""
    return _page(
        "sagetune: tuning jobs",
        '<h1>sagetune</h1><div class="sub">tuning jobs in this store</div>',
        body,
        script,
    )


def tuning_job_page(name: str, hyperparameters: list[str], kinds: list[str]) -> str:
    """One tuning job: counters, the training jobs table (paged, sortable, filterable by
    status), the plots, and a stop button; all updated in place while the job runs."""
    plots = "".join(f'<div class="plot" id="plot-{k}" data-kind="{k}"></div>' for k in kinds)
    header = (
        f'<div class="sub"><a href="/">&larr; tuning jobs</a></div>'
        f'<h1 id="title">{html.escape(name)}</h1>'
        f'<div class="sub"><span id="status"></span> <span id="subtitle"></span></div>'
    )
    body = f"""<section><div class="toolbar">
<button id="stop-button" disabled>Stop tuning job</button>
<span id="stop-message" class="muted"></span></div>
<div id="counters" class="cards"></div><p id="best"></p></section>
<section><h2>Training jobs</h2>
<div class="toolbar"><label>status <select id="status-filter"><option value="">all</option>
<option>InProgress</option><option>Completed</option><option>Failed</option>
<option>Stopping</option><option>Stopped</option></select></label>
<span class="pager"><button id="prev">&lsaquo; prev</button>
<span id="page-info" class="muted"></span> <button id="next">next &rsaquo;</button></span></div>
<div class="scroll"><table id="jobs-table"><thead><tr></tr></thead><tbody></tbody></table></div>
</section>
<section><h2>Plots</h2><p class="muted" id="plots-note">loading&hellip;</p>{plots}</section>
<section><h2>Hyperparameters</h2><table id="effects"><thead><tr><th>hyperparameter</th>
<th>range</th><th>rank correlation</th><th>importance</th></tr></thead><tbody></tbody></table>
<p class="muted" id="methods"></p></section>"""
    script = f"""
const NAME = {dumps(name)};
const HP = {dumps(hyperparameters)};
const KINDS = {dumps(kinds)};
const BASE = "/api/tuning-jobs/" + encodeURIComponent(NAME);
const state = {{offset: 0, limit: 50, status: "", sort: "seq", order: "asc", version: null,
               tableVersion: null, plotVersion: null, plotsAt: 0, plotBusy: false,
               finished: false}};
const COLUMNS = [["seq", "#"], ["name", "training job"], ["status", "status"],
                 ["objective", "objective"], ...HP.map(h => [h, h]), ["seconds", "seconds"],
                 ["failure_reason", "failure reason"]];

function renderHead() {{
  const tr = document.querySelector("#jobs-table thead tr");
  tr.replaceChildren(...COLUMNS.map(([key, label]) => {{
    const th = el("th", {{text: label, "data-key": key}});
    if (key === state.sort) th.className = state.order === "asc" ? "sorted-asc" : "sorted-desc";
    if (key !== "failure_reason") th.addEventListener("click", () => {{
      state.order = state.sort === key && state.order === "asc" ? "desc" : "asc";
      state.sort = key; state.offset = 0; renderHead(); refreshTable();
    }});
    return th;
  }}));
}}

async function refreshTable() {{
  const q = new URLSearchParams({{offset: state.offset, limit: state.limit, sort: state.sort,
                                  order: state.order}});
  if (state.status) q.set("status", state.status);
  const page = await getJSON(BASE + "/training-jobs?" + q);
  const rows = page.rows.map(r => {{
    const tr = el("tr", {{"data-name": r.name, "data-status": r.status}}, [
      el("td", {{cls: "num", text: r.seq}}),
      el("td", {{}}, [el("a", {{href: "/training-jobs/" + encodeURIComponent(r.name),
                                text: r.name}})]),
      el("td", {{cls: "status-cell"}}, [statusBadge(r.status)]),
      r.objective === null && r.latest_objective !== null
        ? el("td", {{cls: "num muted", title: "latest reported value (running)",
                     text: fmt(r.latest_objective)}})
        : el("td", {{cls: "num", text: fmt(r.objective)}}),
      ...HP.map(h => el("td", {{text: fmt(r.hyperparameters[h])}})),
      el("td", {{cls: "num", text: r.seconds === null ? "-" : r.seconds.toFixed(1)}}),
      el("td", {{cls: "muted", text: r.failure_reason || ""}})]);
    if (r.name === page.best) tr.className = "best";
    return tr;
  }});
  document.querySelector("#jobs-table tbody").replaceChildren(...rows);
  const first = page.matching ? page.offset + 1 : 0;
  const last = Math.min(page.offset + page.limit, page.matching);
  document.getElementById("page-info").textContent =
    first + "\u2013" + last + " of " + page.matching +
    (page.matching !== page.total ? " (" + page.total + " in all)" : "");
  document.getElementById("prev").disabled = page.offset === 0;
  document.getElementById("next").disabled = last >= page.matching;
  state.tableVersion = page.version;
}}

async function refreshPlots() {{
  if (state.plotBusy) return;
  state.plotBusy = true;
  const version = state.version;
  try {{
    for (const kind of KINDS) {{
      const fig = await getJSON(BASE + "/plots/" + kind);
      await Plotly.react("plot-" + kind, fig.data, fig.layout,
                         {{displaylogo: false, responsive: true}});
    }}
    state.plotVersion = version;
    state.plotsAt = Date.now();
    document.getElementById("plots-note").textContent =
      state.finished ? "" : "plots refresh every few seconds while the job runs";
  }} finally {{ state.plotBusy = false; }}
}}

function renderSummary(s) {{
  document.getElementById("status").replaceChildren(statusBadge(s.Status));
  document.getElementById("subtitle").textContent = (s.Strategy || "") + " strategy \u00b7 " +
    s.Objective.Type + " " + s.Objective.MetricName + " \u00b7 created " + when(s.CreationTime) +
    (s.CompletionReason ? " \u00b7 " + s.CompletionReason : "");
  const c = s.TrainingJobCounts;
  const cards = [["training jobs", s.TrainingJobCount], ["running", c.InProgress + c.Stopping],
    ["completed", c.Completed], ["failed", c.Failed], ["stopped", c.Stopped],
    ["best " + s.Objective.MetricName,
     s.BestTrainingJob ? fmt(s.BestTrainingJob.FinalObjectiveValue) : "-"],
    ["training time", duration(s.TimeSpent.TrainingSeconds)],
    ["wall-clock time", duration(s.TimeSpent.WallClockSeconds)], ["cost", "n/a"]];
  document.getElementById("counters").replaceChildren(...cards.map(([k, v]) =>
    el("div", {{cls: "card", "data-counter": k}},
       [el("div", {{cls: "k", text: k}}), el("div", {{cls: "v", text: v}})])));
  const best = document.getElementById("best");
  if (s.BestTrainingJob) {{
    const b = s.BestTrainingJob;
    best.replaceChildren(document.createTextNode("Best training job: "),
      el("a", {{href: "/training-jobs/" + encodeURIComponent(b.TrainingJobName),
               text: b.TrainingJobName}}),
      document.createTextNode(" \u2014 " + Object.entries(b.Hyperparameters)
        .map(([k, v]) => k + " = " + fmt(v)).join(", ")));
  }} else best.textContent = "No training job has an objective value yet.";
  document.querySelector("#effects tbody").replaceChildren(...s.Hyperparameters.map(h =>
    el("tr", {{}}, [el("td", {{text: h.hyperparameter}}),
      el("td", {{text: h.kind + (h.scaling ? ", " + h.scaling : "")}}),
      el("td", {{cls: "num", text: h.rank_correlation === null ? "-"
                                   : h.rank_correlation.toFixed(3)}}),
      el("td", {{cls: "num", text: h.importance === null ? "-" : h.importance.toFixed(3)}})])));
  document.getElementById("methods").textContent = "Importance: " + s.Methods.Importance +
    ". Rank correlation: " + s.Methods.RankCorrelation + ". " + s.Notes.join("; ") + ".";
  const stop = document.getElementById("stop-button");
  state.finished = FINISHED.has(s.Status);
  stop.disabled = s.Status !== "InProgress";
  stop.classList.toggle("done", s.Status !== "InProgress");
}}

async function tick() {{
  try {{
    const s = await getJSON(BASE);
    renderSummary(s);
    state.version = s.Version;
    if (state.tableVersion !== s.Version) await refreshTable();
    if (state.plotVersion !== s.Version &&
        (state.plotVersion === null || Date.now() - state.plotsAt >= {PLOT_INTERVAL_MS}))
      refreshPlots().catch(showError);
    showError(null);
  }} catch (e) {{ showError(e); }}
  setTimeout(tick, state.finished ? {POLL_MS * 4} : {POLL_MS});
}}

document.getElementById("status-filter").addEventListener("change", e => {{
  state.status = e.target.value; state.offset = 0; refreshTable().catch(showError);
}});
document.getElementById("prev").addEventListener("click", () => {{
  state.offset = Math.max(0, state.offset - state.limit); refreshTable().catch(showError);
}});
document.getElementById("next").addEventListener("click", () => {{
  state.offset += state.limit; refreshTable().catch(showError);
}});
document.getElementById("stop-button").addEventListener("click", async () => {{
  const button = document.getElementById("stop-button");
  const message = document.getElementById("stop-message");
  button.disabled = true;
  try {{
    const r = await getJSON(BASE + "/stop", {{method: "POST",
                                             headers: {{"X-Sagetune-Action": "stop"}}}});
    message.textContent = "stop requested: " + r.status;
    document.getElementById("status").replaceChildren(statusBadge(r.status));
  }} catch (e) {{ message.textContent = "could not stop: " + e.message; button.disabled = false; }}
}});
renderHead();
tick();
"""
    return _page(f"{name}: sagetune", header, body, script, plotly=True)


def training_job_page(name: str, tuning_job_name: str) -> str:
    """One training job: status, hyperparameters, metrics and their curves, and its log tail."""
    header = (
        f'<div class="sub"><a href="/">tuning jobs</a> / '
        f'<a href="/tuning-jobs/{html.escape(tuning_job_name)}">'
        f'{html.escape(tuning_job_name)}</a></div><h1 id="title">{html.escape(name)}</h1>'
        f'<div class="sub"><span id="status"></span> <span id="subtitle"></span></div>'
    )
    body = """<section><h2>Hyperparameters</h2><table id="hyperparameters"><tbody></tbody>
</table></section>
<section><h2>Metrics</h2><table id="final-metrics"><tbody></tbody></table>
<p id="failure" class="muted"></p><div id="metric-plots"></div></section>
<section><h2>Log tail</h2><p class="muted" id="log-path"></p><pre class="log" id="log"></pre>
</section>"""
    script = f"""
const NAME = {dumps(name)};
function pairs(tableId, obj) {{
  document.querySelector("#" + tableId + " tbody").replaceChildren(
    ...Object.entries(obj).map(([k, v]) => el("tr", {{}}, [el("th", {{text: k}}),
                                                          el("td", {{text: fmt(v)}})])));
}}
async function tick() {{
  let finished = false;
  try {{
    const j = await getJSON("/api/training-jobs/" + encodeURIComponent(NAME));
    finished = FINISHED.has(j.status);
    document.getElementById("status").replaceChildren(statusBadge(j.status));
    const secs = j.started_at ? ((j.ended_at || Date.now() / 1000) - j.started_at) : null;
    document.getElementById("subtitle").textContent = "#" + j.seq + " \u00b7 started " +
      when(j.started_at) + " \u00b7 " + duration(secs);
    pairs("hyperparameters", j.hyperparameters);
    pairs("final-metrics", j.final_metrics);
    document.getElementById("failure").textContent = j.failure_reason || "";
    const box = document.getElementById("metric-plots");
    for (const [metric, m] of Object.entries(j.metrics)) {{
      const id = "metric-" + metric.replace(/[^A-Za-z0-9_-]/g, "_");
      let div = document.getElementById(id);
      if (!div) {{ div = el("div", {{id: id, cls: "plot"}}); box.appendChild(div); }}
      await Plotly.react(div, [{{x: m.epoch, y: m.value, mode: m.epoch.length > 1
        ? "lines+markers" : "markers", name: metric}}],
        {{title: {{text: metric}}, height: 300,
          xaxis: {{title: {{text: "epoch"}}}}, margin: {{t: 40, l: 60, r: 20, b: 50}}}},
        {{displaylogo: false, responsive: true}});
    }}
    document.getElementById("log-path").textContent = j.log_path || "no log";
    const log = document.getElementById("log");
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = j.log_tail || "(empty)";
    if (atEnd) log.scrollTop = log.scrollHeight;
    showError(null);
  }} catch (e) {{ showError(e); }}
  setTimeout(tick, finished ? {POLL_MS * 5} : {POLL_MS * 2});
}}
tick();
"""
    return _page(f"{name}: sagetune", header, body, script, plotly=True)
