"""The HTML report: one self-contained, valid file holding the data and every plot."""

from __future__ import annotations

import base64
import gzip
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from sagetune import ContinuousParameter, HyperparameterTuner, IntegerParameter
from sagetune.analytics import TuningJobAnalytics
from sagetune.cli import main
from sagetune.errors import ValidationError
from sagetune.plots.data import KINDS
from sagetune.plots.interactive import plotly_js
from sagetune.report import write_report
from sagetune.store import open_store

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


def train(hp: dict) -> dict:
    if hp["depth"] == 5:
        raise ValueError("depth 5 is not allowed")
    return {"loss": (hp["lr"] - 0.01) ** 2 * 100 + hp["depth"] * 0.01}


class Checker(HTMLParser):
    """Collects tags, ids, external references, script bodies and text; checks nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.external: list[str] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.add(a["id"] or "")
        for key in ("src", "href"):
            if (a.get(key) or "").startswith(("http://", "https://", "//")):
                self.external.append(f"{tag} {key}={a[key]}")
        if tag == "script":
            self._script = True
            self.scripts.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = False
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'tuning.db'}"
    HyperparameterTuner(
        "loss",
        {"lr": ContinuousParameter(1e-4, 1.0, "Logarithmic"), "depth": IntegerParameter(1, 6)},
        objective_type="Minimize",
        strategy="Random",
        max_jobs=10,
        max_parallel_jobs=2,
        random_seed=4,
        store=url,
        show_progress=False,
    ).fit(train, job_name="report-job")
    return url


def test_report_is_valid_self_contained_html_with_the_data(url: str, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    res = CliRunner().invoke(main, ["report", "report-job", "-o", str(out), "--store", url])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(out)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    checker = Checker()
    checker.feed(text)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert checker.external == []  # nothing loaded from the network
    assert not [t for t in checker.tags if t in ("link", "iframe", "img")]
    # plotly.js is inlined, once (compressed); every plot is JSON drawn by one script.
    packed = [s for s in checker.scripts if len(s) > 1_000_000]
    assert len(packed) == 1 and b"plotly.js" in gzip.decompress(base64.b64decode(packed[0]))[:2000]
    for kind in KINDS:
        assert f"plot-{kind}" in checker.ids
    assert sum("Plotly.newPlot" in s for s in checker.scripts) == 1
    jobs = open_store(url).list_training_jobs("report-job")
    body = " ".join(checker.text)
    for job in jobs:
        assert job.name in body
    assert "depth 5 is not allowed" in text or all(j.status != "Failed" for j in jobs)
    summary = json.loads(next(s for s in checker.scripts if '"TuningJobName"' in s))
    best = min((j for j in jobs if j.objective is not None), key=lambda j: j.objective)
    assert summary["BestTrainingJob"]["TrainingJobName"] == best.name
    assert "fANOVA" in summary["Methods"]["Importance"]
    assert "report-job" in body and "Summary" in body and "Training jobs" in body


def test_report_needs_an_html_name_and_a_known_job(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="-o: the report is an HTML file"):
        write_report("report-job", tmp_path / "report.pdf", store=url)
    res = CliRunner().invoke(
        main, ["report", "nope", "-o", str(tmp_path / "r.html"), "--store", url]
    )
    assert res.exit_code == 2
    assert res.output.strip() == f"ResourceNotFound: no tuning job named 'nope' in {url}"
    assert not (tmp_path / "r.html").exists()


def _script(text: str, element_id: str) -> object:
    start = text.index(f'<script type="application/json" id="{element_id}">')
    body = text[text.index(">", start) + 1 : text.index("</script>", start)]
    return json.loads(body)


def test_report_stays_small_plotly_once_figures_as_json(url: str, tmp_path: Path) -> None:
    text = write_report("report-job", tmp_path / "r.html", store=url).read_text(encoding="utf-8")
    js = plotly_js()
    start = text.index('<script type="application/octet-stream" id="plotly-js-gzip">')
    packed = text[text.index(">", start) + 1 : text.index("</script>", start)]
    # plotly.js once, compressed, and it unpacks to the installed bundle exactly.
    assert gzip.decompress(base64.b64decode(packed)).decode("utf-8") == js
    assert text.count('id="plotly-js-gzip"') == 1 and js[:200] not in text
    assert len(packed) < len(js.encode()) / 2
    # Everything beyond plotly.js (ten jobs, every plot): a bound that keeps it mailable.
    assert len(text.encode()) - len(packed) < 150_000
    figures = _script(text, "figures")
    assert isinstance(figures, dict) and list(figures) == list(KINDS)
    for kind, fig in figures.items():
        assert fig["data"], kind
        assert "template" not in fig["layout"]  # kept once, beside the figures
    template = _script(text, "plotly-template")
    assert isinstance(template, dict) and "layout" in template
    assert text.count('"colorway"') == 1


def test_suggested_ranges_hold_the_best_job_and_lie_within_the_ranges(
    url: str, tmp_path: Path
) -> None:
    analytics = TuningJobAnalytics("report-job", store=url)
    summary = analytics.summary()
    best = summary["BestTrainingJob"]["Hyperparameters"]
    rows = {r["hyperparameter"]: r for r in summary["SuggestedRanges"]}
    assert set(rows) == {"lr", "depth"}
    for name, row in rows.items():
        lo, hi = row["suggested"]["MinValue"], row["suggested"]["MaxValue"]
        assert row["range"]["MinValue"] <= lo <= best[name] <= hi <= row["range"]["MaxValue"]
        assert (lo, hi) != (row["range"]["MinValue"], row["range"]["MaxValue"]) or row[
            "jobs_used"
        ] < 3
        assert row["parameter_range"]["Name"] == name
    assert isinstance(rows["depth"]["suggested"]["MinValue"], int)
    # Rounded to two significant digits, in the range's own scaling.
    assert rows["lr"]["parameter_range"]["ScalingType"] == "Logarithmic"
    for v in (rows["lr"]["suggested"]["MinValue"], rows["lr"]["suggested"]["MaxValue"]):
        assert float(f"{v:.2g}") == v
    text = write_report("report-job", tmp_path / "r.html", store=url).read_text(encoding="utf-8")
    assert "Which ranges to narrow next time" in text
    assert "ContinuousParameterRanges" in text and "IntegerParameterRanges" in text


def test_selecting_points_in_the_scatter_filters_the_jobs_table(
    url: str, tmp_path: Path, browser_page: object
) -> None:
    out = write_report("report-job", tmp_path / "r.html", store=url)
    names = sorted(j.name for j in open_store(url).list_training_jobs("report-job"))[:3]
    visible = (
        "() => [...document.querySelectorAll('#jobs tbody tr')]"
        ".filter((r) => r.style.display !== 'none').map((r) => r.dataset.name)"
    )
    with browser_page() as page:  # type: ignore[operator]
        page.set_default_timeout(120_000)  # plotly.js parses slowly on a loaded machine
        page.goto(out.as_uri())
        page.wait_for_selector("#plot-timeline .main-svg")
        assert len(page.evaluate(visible)) == 10
        # What Plotly emits for a box or lasso selection: the drawn points, each with the
        # customdata the figure gave it (the job's name first).
        picked = page.evaluate(
            "(names) => { const el = document.getElementById('plot-scatter');"
            " const points = el.data.flatMap((t) => (t.customdata || [])"
            "   .filter((c) => names.includes(c[0])).map((c) => ({customdata: c})));"
            " el.emit('plotly_selected', {points}); return points.length; }",
            names,
        )
        assert picked >= len(names)  # every panel draws each job
        assert sorted(page.evaluate(visible)) == names
        assert page.is_visible("#selection")
        page.click("#clear-selection")
        assert len(page.evaluate(visible)) == 10
        assert page.js_errors == []
