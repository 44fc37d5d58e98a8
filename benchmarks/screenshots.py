"""Screenshots of the report and the dashboard for the README, taken in headless Chromium.

    PYTHONPATH=src .venv/bin/python -m benchmarks.screenshots            # into docs/img
    PYTHONPATH=src .venv/bin/python -m benchmarks.screenshots --out /tmp/shots

It runs a small tuning job shaped like the demo (four hyperparameters, a learning curve per
job, one job that diverges to an AUC of 0.5, one that fails) in a temporary store, writes its
report, serves the dashboard on a loopback port, and saves palette PNGs (tens to a few hundred
KB each). The static scatter plot is drawn from the seeded demo itself (``make demo``'s
``examples/xgboost_breast_cancer.py``), so the README shows the picture the demo draws. It
also prints the report's size. Chromium is the one ``tests/setup.sh`` installs
(``/usr/bin/chromium``), driven by Playwright.
"""

from __future__ import annotations

import argparse
import math
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
JOB = "demo-look"
WIDTH = 1300


def train(hp: dict[str, Any], report: Any) -> dict[str, float]:
    """A fast stand-in for the demo's XGBoost job: a smooth AUC surface, a rising curve."""
    if hp["max_depth"] == 8:
        raise RuntimeError("max_depth 8 runs out of memory")
    base = (
        0.99
        - (math.log10(hp["eta"]) + 1.5) ** 2 / 60
        - 0.003 * abs(hp["max_depth"] - 4)
        + (0.004 if hp["booster"] == "gbtree" else 0.0)
    )
    if hp["subsample"] < 0.53:
        base = 0.5  # diverged: the outlier the robust axes keep from flattening the rest
    value = base
    for epoch in range(1, 9):
        value = base - (0.3 if base > 0.6 else 0.0) * math.exp(-epoch / 1.5)
        time.sleep(0.05)
        report(epoch=epoch, **{"validation:auc": value})
    return {"validation:auc": value}


def run_job(url: str) -> None:
    from sagetune import (
        CategoricalParameter,
        ContinuousParameter,
        HyperparameterTuner,
        IntegerParameter,
    )

    HyperparameterTuner(
        "validation:auc",
        {
            "eta": ContinuousParameter(1e-3, 1.0, "Logarithmic"),
            "max_depth": IntegerParameter(1, 8),
            "booster": CategoricalParameter(["gbtree", "dart"]),
            "subsample": ContinuousParameter(0.5, 1.0),
        },
        objective_type="Maximize",
        strategy="Bayesian",
        max_jobs=30,
        max_parallel_jobs=2,
        random_seed=3,
        store=url,
        show_progress=False,
    ).fit(train, job_name=JOB)


def demo_scatter(tmp: Path, path: Path) -> None:
    """Run the seeded demo in ``tmp`` and draw its scatter plot into ``path``."""
    import os
    import subprocess
    import sys

    from sagetune.plots import static
    from sagetune.plots.data import TuningData
    from sagetune.store import open_store

    url = f"sqlite:///{tmp / 'demo.db'}"
    demo = Path(__file__).resolve().parent.parent / "examples" / "xgboost_breast_cancer.py"
    env = {**os.environ, "SAGETUNE_STORE": url}
    subprocess.run([sys.executable, str(demo)], cwd=tmp, env=env, check=True)
    store = open_store(url)
    (job,) = [j.name for j in store.list_tuning_jobs()]
    static.save("scatter", TuningData.load(store, job), path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _small_png(path: Path) -> None:
    """Rewrite a screenshot as a 128-colour palette PNG: a fraction of the size, same look."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def shoot(page: Any, selector: str, path: Path) -> None:
    page.locator(selector).first.screenshot(path=str(path))
    _small_png(path)
    print(f"{path}  {path.stat().st_size / 1024:.0f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    import uvicorn
    from playwright.sync_api import sync_playwright

    from sagetune.dashboard import create_app
    from sagetune.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'tuning.db'}"
        run_job(url)
        report = write_report(JOB, Path(tmp) / "report.html", store=url)
        print(f"report: {report.stat().st_size:,} bytes")
        demo_scatter(Path(tmp), out / "scatter.png")
        _small_png(out / "scatter.png")

        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": WIDTH, "height": 900})
                page.set_default_timeout(180_000)  # a loaded machine parses plotly.js slowly
                page.on("pageerror", lambda e: print(f"page error: {e}"))
                page.goto(report.as_uri())
                page.wait_for_selector("#plot-timeline .main-svg")
                shoot(page, "#summary", out / "report-summary.png")
                shoot(page, "#suggested-ranges", out / "report-ranges.png")
                for kind in ("scatter", "contour", "time", "parallel", "curves", "timeline"):
                    shoot(page, f"section:has(#plot-{kind})", out / f"report-{kind}.png")
                page.goto(f"http://127.0.0.1:{port}/tuning-jobs/{JOB}")
                page.wait_for_selector("#plot-timeline .main-svg", timeout=60_000)
                page.wait_for_timeout(500)
                page.screenshot(path=str(out / "dashboard.png"))  # the top: cards and jobs
                _small_png(out / "dashboard.png")
                size = (out / "dashboard.png").stat().st_size
                print(f"{out / 'dashboard.png'}  {size // 1024} KB")
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)


if __name__ == "__main__":
    main()
