"""The live dashboard: its API, the token, large jobs, and a real headless Chromium watching a
running tuning job and stopping it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import insert

from sagetune import ContinuousParameter, HyperparameterTuner, IntegerParameter
from sagetune.cli import main
from sagetune.dashboard import check_binding, create_app, is_loopback
from sagetune.errors import ValidationError
from sagetune.store import open_store
from sagetune.store.sql import metric_points, training_jobs

BrowserPage = Callable[[], AbstractContextManager[Any]]

SPACE = {"x": ContinuousParameter(1e-3, 1.0, "Logarithmic"), "n": IntegerParameter(1, 4)}

TUNER_SCRIPT = textwrap.dedent("""
    import sys
    import time

    from sagetune import ContinuousParameter, HyperparameterTuner, IntegerParameter


    def train(hp):
        time.sleep(0.3)
        print("training with", hp, flush=True)
        return {"loss": (hp["x"] - 0.3) ** 2 + hp["n"] * 0.01}


    if __name__ == "__main__":
        HyperparameterTuner(
            "loss", {"x": ContinuousParameter(0.0, 1.0), "n": IntegerParameter(1, 4)},
            objective_type="Minimize", strategy="Random", max_jobs=400, max_parallel_jobs=1,
            random_seed=3, store=sys.argv[1], show_progress=False,
        ).fit(train, job_name=sys.argv[2])
""")


def quick(hp: dict) -> dict:
    return {"loss": (hp["x"] - 0.1) ** 2 + hp["n"] * 0.01}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'tuning.db'}"
    HyperparameterTuner(
        "loss",
        SPACE,
        objective_type="Minimize",
        strategy="Random",
        max_jobs=8,
        max_parallel_jobs=2,
        random_seed=2,
        store=url,
        show_progress=False,
    ).fit(quick, job_name="small")
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: object) -> Iterator[str]:
    """Run the app with uvicorn on a free loopback port in a thread; yield its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,  # type: ignore
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


# the token and the binding -------------------------------------------------------------------
def test_with_a_token_every_request_without_it_is_refused(url: str) -> None:
    client = TestClient(create_app(url, token="s3cret"))
    for path in (
        "/",
        "/api/tuning-jobs",
        "/tuning-jobs/small",
        "/static/plotly.min.js",
        "/api/tuning-jobs/small/plots/scatter",
    ):
        assert client.get(path).status_code == 401, path
    assert (
        client.post(
            "/api/tuning-jobs/small/stop", headers={"X-Sagetune-Action": "stop"}
        ).status_code
        == 401
    )
    assert (
        client.get("/api/tuning-jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    ok = client.get("/api/tuning-jobs", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()[0]["name"] == "small"
    assert client.get("/api/tuning-jobs", headers={"X-Sagetune-Token": "s3cret"}).status_code == 200
    # The browser's way in: the token once in the URL, then a cookie.
    first = client.get("/?token=s3cret")
    assert first.status_code == 200 and "sagetune_token" in first.headers["set-cookie"]
    assert client.get("/api/tuning-jobs/small").status_code == 200
    assert TestClient(create_app(url)).get("/api/tuning-jobs").status_code == 200


def test_no_other_page_may_frame_the_dashboard_or_load_it_elsewhere(url: str) -> None:
    answers = [
        TestClient(create_app(url)).get("/"),
        TestClient(create_app(url)).get("/api/tuning-jobs"),
        TestClient(create_app(url, token="s3cret")).get("/"),  # refused: 401
        TestClient(create_app(url, loopback_hosts_only=True)).get(
            "/", headers={"Host": "evil.example"}
        ),  # refused: 400
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 400]
    for answer in answers:
        assert answer.headers["X-Frame-Options"] == "DENY"
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
        assert "http" not in policy  # no origin but the dashboard's own


def test_token_over_real_http(url: str) -> None:
    with serving(create_app(url, token="tok-123")) as base:
        assert httpx.get(f"{base}/api/tuning-jobs", timeout=10).status_code == 401
        assert (
            httpx.get(
                f"{base}/api/tuning-jobs", timeout=10, headers={"Authorization": "Bearer tok-123"}
            ).status_code
            == 200
        )


def test_without_a_token_only_requests_for_this_machine_are_answered(url: str) -> None:
    # A page on another site that resolves its own name to 127.0.0.1 sends its own Host.
    with serving(create_app(url, loopback_hosts_only=True)) as base:
        assert httpx.get(f"{base}/api/tuning-jobs", timeout=10).status_code == 200
        port = base.rsplit(":", 1)[1]
        for host in (f"localhost:{port}", f"[::1]:{port}", "127.0.0.1"):
            assert (
                httpx.get(f"{base}/api/tuning-jobs", timeout=10, headers={"Host": host}).status_code
                == 200
            )
        refused = httpx.post(
            f"{base}/api/tuning-jobs/small/stop",
            timeout=10,
            headers={"Host": f"evil.example:{port}"},
        )
        assert refused.status_code == 400 and "evil.example" in refused.json()["detail"]


def test_binding_beyond_loopback_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGETUNE_DASHBOARD_TOKEN", raising=False)
    res = CliRunner().invoke(main, ["dashboard", "--host", "0.0.0.0", "--port", "1"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        (
            "ValidationError: --token: binding to 0.0.0.0 exposes the dashboard beyond this "
            "machine; pass --token or set SAGETUNE_DASHBOARD_TOKEN (or bind to 127.0.0.1)"
        )
    ]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    check_binding("0.0.0.0", "a-token")
    with pytest.raises(ValidationError, match="--token"):
        check_binding("::", None)


# the API -------------------------------------------------------------------------------------
def test_api_pages_sorts_and_filters_training_jobs(url: str) -> None:
    client = TestClient(create_app(url))
    jobs = open_store(url).list_training_jobs("small")
    page = client.get(
        "/api/tuning-jobs/small/training-jobs", params={"limit": 3, "offset": 3}
    ).json()
    assert page["total"] == 8 and [r["seq"] for r in page["rows"]] == [4, 5, 6]
    by_obj = client.get(
        "/api/tuning-jobs/small/training-jobs",
        params={"sort": "objective", "order": "desc", "limit": 100},
    ).json()
    values = [r["objective"] for r in by_obj["rows"]]
    assert values == sorted(values, reverse=True)
    assert by_obj["best"] == min(jobs, key=lambda j: j.objective).name  # type: ignore
    by_x = client.get("/api/tuning-jobs/small/training-jobs", params={"sort": "x"}).json()
    xs = [r["hyperparameters"]["x"] for r in by_x["rows"]]
    assert xs == sorted(xs)
    done = client.get("/api/tuning-jobs/small/training-jobs", params={"status": "Completed"}).json()
    assert done["matching"] == 8
    assert (
        client.get("/api/tuning-jobs/small/training-jobs", params={"status": "Bogus"}).status_code
        == 400
    )
    assert (
        client.get("/api/tuning-jobs/small/training-jobs", params={"sort": "nope"}).status_code
        == 400
    )
    assert client.get("/api/tuning-jobs/missing").status_code == 404
    assert "no tuning job named" in client.get("/tuning-jobs/missing").text
    fig = client.get("/api/tuning-jobs/small/plots/scatter").json()
    assert len(fig["data"]) >= 2 and fig["layout"]["xaxis"]["type"] == "log"
    assert "training jobs (the best" not in fig["layout"]["title"]["text"]  # every job drawn
    assert "Sample" not in client.get("/api/tuning-jobs/small").json()
    assert client.get("/api/tuning-jobs/small/plots/pie").status_code == 404
    detail = client.get(f"/api/training-jobs/{jobs[0].name}").json()
    assert detail["hyperparameters"] == jobs[0].hyperparameters
    assert detail["metrics"]["loss"]["value"] == [jobs[0].objective]
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    # The stop action needs its header (a plain cross-site form post cannot add it).
    assert client.post("/api/tuning-jobs/small/stop").status_code == 403


def _bulk_tuning_job(url: str, name: str, n: int) -> None:
    """A finished tuning job with ``n`` training jobs, written in one transaction."""
    tuner = HyperparameterTuner(
        "loss",
        SPACE,
        objective_type="Minimize",
        strategy="Random",
        max_jobs=1,
        random_seed=1,
        store=url,
        show_progress=False,
    )
    tuner.fit(quick, job_name=name)
    store = open_store(url)
    first = store.list_training_jobs(name)[0]
    rows, points = [], []
    now = time.time()
    for seq in range(2, n + 1):
        x = 10 ** (-3 + 3 * ((seq * 0.618034) % 1))
        status = "Failed" if seq % 50 == 0 else "Completed"
        objective = None if status == "Failed" else (x - 0.1) ** 2 + (seq % 4) * 0.01
        job = f"{name}-{seq:05d}"
        rows.append(
            {
                "name": job,
                "tuning_job_name": name,
                "seq": seq,
                "status": status,
                "hyperparameters": json.dumps({"x": x, "n": seq % 4 + 1}),
                "created_at": now,
                "started_at": now,
                "ended_at": now + 1,
                "objective": objective,
                "final_metrics": "{}",
                "failure_reason": "boom" if objective is None else None,
                "log_path": first.log_path,
            }
        )
        if objective is not None:
            points.append(
                {
                    "training_job_name": job,
                    "metric_name": "loss",
                    "value": objective,
                    "step": 1,
                    "timestamp": now + 1,
                }
            )
    with store.engine.begin() as conn:
        conn.execute(insert(training_jobs), rows)
        conn.execute(insert(metric_points), points)


@pytest.fixture(scope="module")
def big_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'tuning.db'}"
    _bulk_tuning_job(url, "big", 10_000)
    return url


def test_ten_thousand_training_jobs_stay_responsive(big_url: str) -> None:
    client = TestClient(create_app(big_url))
    t0 = time.monotonic()
    summary = client.get("/api/tuning-jobs/big").json()
    assert summary["TrainingJobCount"] == 10_000 and summary["TrainingJobCounts"]["Failed"] == 200
    # Importance and the plots come from a sample; counts and the best job from every job.
    assert summary["Sample"]["Of"] == 10_000
    assert 1_500 <= summary["Sample"]["TrainingJobs"] <= 2_100
    scored = [j for j in open_store(big_url).list_training_jobs("big") if j.objective is not None]
    best = min(scored, key=lambda j: (j.objective, j.seq))
    assert summary["BestTrainingJob"]["TrainingJobName"] == best.name
    assert {h["hyperparameter"] for h in summary["Hyperparameters"]} == {"x", "n"}
    page = client.get(
        "/api/tuning-jobs/big/training-jobs", params={"offset": 9_990, "sort": "seq"}
    ).json()
    assert page["total"] == 10_000 and len(page["rows"]) == 10
    assert (
        client.get("/api/tuning-jobs/big/training-jobs", params={"limit": 10_000}).status_code
        == 422
    )  # pages are bounded
    for kind in ("scatter", "convergence", "parallel", "curves", "importance"):
        res = client.get(f"/api/tuning-jobs/big/plots/{kind}")
        assert res.status_code == 200
        fig = res.json()
        points = sum(
            len(t.get("x") or t.get("dimensions", [{}])[0].get("values", [])) for t in fig["data"]
        )
        panels = sum(1 for k in fig["layout"] if k.startswith("xaxis")) or 1
        assert points <= 4_000 * panels + 100, (kind, points)  # downsampled for browsers
        assert len(res.content) < 3_000_000, kind
        assert f"of {10_000:,} training jobs" in fig["layout"]["title"]["text"], kind
    assert time.monotonic() - t0 < 30
    # Served again from the snapshot: no rebuilding while nothing changed.
    t1 = time.monotonic()
    client.get("/api/tuning-jobs/big/plots/scatter")
    client.get("/api/tuning-jobs/big")
    assert time.monotonic() - t1 < 1.0


def test_ten_thousand_jobs_in_the_browser(big_url: str, browser_page: BrowserPage) -> None:
    with serving(create_app(big_url)) as base, browser_page() as page:
        t0 = time.monotonic()
        page.goto(f"{base}/tuning-jobs/big")  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            "() => document.querySelectorAll('#jobs-table tbody tr').length === 50"
        )
        assert page.text_content("#page-info") == "1\u201350 of 10000"  # type: ignore
        page.wait_for_selector("#plot-scatter .main-svg")  # type: ignore[attr-defined]
        assert time.monotonic() - t0 < 30
        page.click("#next")  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            "() => document.querySelector('#page-info').textContent.startsWith('51')"
        )
        page.select_option("#status-filter", "Failed")  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            "() => document.querySelector('#page-info').textContent.includes('of 200')"
        )
        statuses = page.eval_on_selector_all(  # type: ignore[attr-defined]
            "#jobs-table tbody tr", "rows => rows.map(r => r.dataset.status)"
        )
        assert statuses and set(statuses) == {"Failed"}
        assert page.js_errors == []  # type: ignore[attr-defined]


# a real browser on a running tuning job ------------------------------------------------------
def test_watch_a_running_tuning_job_and_stop_it(tmp_path: Path, browser_page: BrowserPage) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    script = tmp_path / "tune.py"
    script.write_text(TUNER_SCRIPT)
    store = open_store(url)
    proc = subprocess.Popen(
        [sys.executable, str(script), url, "live"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                store.get_tuning_job("live")
                break
            except LookupError:
                assert time.monotonic() < deadline, "the tuning job never appeared"
                time.sleep(0.1)
        with serving(create_app(url)) as base, browser_page() as page:
            rows = "() => document.querySelectorAll('#jobs-table tbody tr').length"
            page.goto(f"{base}/")  # type: ignore[attr-defined]
            page.click("#tuning-jobs a:text('live')")  # type: ignore[attr-defined]
            page.wait_for_url(f"{base}/tuning-jobs/live")  # type: ignore[attr-defined]
            page.wait_for_function(f"() => ({rows})() >= 1")  # type: ignore[attr-defined]
            page.evaluate("window.__same_page = true")  # type: ignore[attr-defined]
            seen = page.evaluate(rows)  # type: ignore[attr-defined]
            # New training jobs appear in place, without reloading the page.
            page.wait_for_function(f"() => ({rows})() >= {seen + 2}")  # type: ignore
            assert page.evaluate("window.__same_page") is True  # type: ignore[attr-defined]
            assert page.text_content("#status") == "InProgress"  # type: ignore[attr-defined]
            page.wait_for_selector("#plot-scatter .main-svg")  # type: ignore[attr-defined]
            page.click("#stop-button")  # type: ignore[attr-defined]
            page.wait_for_function(  # type: ignore[attr-defined]
                "() => ['Stopping', 'Stopped'].includes("
                "document.querySelector('#status').textContent)"
            )
            page.wait_for_function(  # type: ignore[attr-defined]
                "() => document.querySelector('#status').textContent === 'Stopped'"
            )
            assert page.is_disabled("#stop-button")  # type: ignore[attr-defined]
            assert page.evaluate("window.__same_page") is True  # type: ignore[attr-defined]
            # The training job page: hyperparameters, metric curve and log tail.
            page.click("#jobs-table tbody tr[data-status='Completed'] a")  # type: ignore
            page.wait_for_selector("#hyperparameters tr th:text('x')")  # type: ignore
            page.wait_for_function(  # type: ignore[attr-defined]
                "() => document.querySelector('#log').textContent.includes('training with')"
            )
            page.wait_for_selector("#metric-loss .main-svg")  # type: ignore[attr-defined]
            assert page.js_errors == []  # type: ignore[attr-defined]
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    record = store.get_tuning_job("live")
    assert record.status == "Stopped"
    assert record.details["CompletionReason"] == "stopped by request"
    assert len(store.list_training_jobs("live")) < 400  # stopped before its budget ran out


REPORTING_TUNER = textwrap.dedent("""
    import os
    import sys
    import time

    from sagetune import ContinuousParameter, HyperparameterTuner

    GATE = sys.argv[3]


    def train(hp, report):
        report(epoch=1, loss=0.123456789)
        while not os.path.exists(GATE):
            time.sleep(0.05)
        return {"loss": 0.5}


    if __name__ == "__main__":
        HyperparameterTuner(
            "loss", {"x": ContinuousParameter(0.0, 1.0)}, objective_type="Minimize",
            strategy="Random", max_jobs=1, random_seed=3, store=sys.argv[1], show_progress=False,
        ).fit(train, job_name=sys.argv[2])
""")


def test_a_running_job_shows_its_latest_reported_value(
    tmp_path: Path, browser_page: BrowserPage
) -> None:
    url = f"sqlite:///{tmp_path / 'latest.db'}"
    script = tmp_path / "tune.py"
    script.write_text(REPORTING_TUNER)
    gate = tmp_path / "gate"
    proc = subprocess.Popen(
        [sys.executable, str(script), url, "latest", str(gate)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        store = open_store(url)
        deadline = time.monotonic() + 60
        while not any(
            store.metric_points([j.name])
            for j in (store.list_training_jobs("latest") if store.list_tuning_jobs() else [])
        ):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the training job never reported"
            time.sleep(0.1)
        app = create_app(url)
        (row,) = TestClient(app).get("/api/tuning-jobs/latest/training-jobs").json()["rows"]
        assert row["status"] == "InProgress" and row["objective"] is None
        assert row["latest_objective"] == 0.123456789
        with serving(app) as base, browser_page() as page:
            page.goto(f"{base}/tuning-jobs/latest")  # type: ignore[attr-defined]
            cell = "#jobs-table tbody tr[data-status='InProgress'] td:nth-child(4)"
            page.wait_for_selector(cell)  # type: ignore[attr-defined]
            assert page.text_content(cell) == "0.123457"  # type: ignore[attr-defined]
            assert page.js_errors == []  # type: ignore[attr-defined]
        gate.touch()
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
    finally:
        gate.touch()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (row,) = TestClient(create_app(url)).get("/api/tuning-jobs/latest/training-jobs").json()["rows"]
    assert row["status"] == "Completed" and row["objective"] == 0.5
    assert row["latest_objective"] is None


def test_importance_is_computed_once_per_set_of_finished_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sagetune.analytics
    from sagetune.analytics import TuningJobAnalytics
    from sagetune.store import TrainingJobRecord

    url = f"sqlite:///{tmp_path / 'tuning.db'}"
    HyperparameterTuner(
        "loss",
        SPACE,
        objective_type="Minimize",
        strategy="Random",
        max_jobs=6,
        max_parallel_jobs=2,
        random_seed=4,
        store=url,
        show_progress=False,
    ).fit(quick, job_name="grows")
    fits: list[int] = []
    real_fanova = sagetune.analytics.fanova

    def counted(*args: Any, **kwargs: Any) -> Any:
        fits.append(1)
        return real_fanova(*args, **kwargs)

    monkeypatch.setattr(sagetune.analytics, "fanova", counted)
    store = open_store(url)
    client = TestClient(create_app(url))

    def importance(summary: dict[str, Any]) -> dict[str, float]:
        return {h["hyperparameter"]: h["importance"] for h in summary["Hyperparameters"]}

    def fresh() -> dict[str, float]:
        rows = TuningJobAnalytics("grows", store=url).importance().to_dict("records")
        return {r["hyperparameter"]: r["importance"] for r in rows}

    first = client.get("/api/tuning-jobs/grows").json()
    assert fits == [1]
    assert importance(first) == fresh()
    fits.clear()
    # The importance plot and the contour of the two most important ranges use the same
    # figures, without a second forest.
    bars = client.get("/api/tuning-jobs/grows/plots/importance").json()["data"][0]
    assert dict(zip(bars["y"], bars["x"])) == importance(first)
    assert client.get("/api/tuning-jobs/grows/plots/contour").status_code == 200
    assert fits == []

    # A new job that has not finished: a new snapshot, the same jobs with an objective, so
    # the same importance without fitting again.
    store.create_training_job(
        TrainingJobRecord(
            name="grows-007",
            tuning_job_name="grows",
            seq=7,
            status="InProgress",
            hyperparameters={"x": 0.9, "n": 4},
            created_at=time.time(),
            started_at=time.time(),
        )
    )
    store.update_tuning_job("grows", last_modified_at=time.time() + 1)
    second = client.get("/api/tuning-jobs/grows").json()
    assert second["TrainingJobCount"] == 7 and second["TrainingJobCounts"]["InProgress"] == 1
    assert importance(second) == importance(first) and fits == []

    # It finishes with a value: the importance is fitted again, on the seven jobs.
    assert store.update_training_job(
        "grows-007", status="Completed", ended_at=time.time(), objective=5.0
    )
    store.update_tuning_job("grows", last_modified_at=time.time() + 2)
    third = client.get("/api/tuning-jobs/grows").json()
    assert fits == [1]
    assert third["TrainingJobCounts"]["Completed"] == 7
    assert importance(third) == fresh()
    assert third["BestTrainingJob"] == first["BestTrainingJob"]


def test_the_dashboard_command_serves_and_loads_the_figure_libraries_before_a_request(
    url: str,
) -> None:
    """``sagetune dashboard`` answers on loopback; the libraries of the figures and the
    importance are loaded while it waits, so the first page does not pay for them."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagetune", "dashboard", "--port", str(port), "--store", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        maps = Path(f"/proc/{proc.pid}/maps")
        deadline = time.monotonic() + 60
        while "sklearn" not in maps.read_text() or "matplotlib" not in maps.read_text():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the libraries were never loaded"
            time.sleep(0.2)
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/tuning-jobs", timeout=10)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "the dashboard never answered"
                time.sleep(0.2)
        assert answer.status_code == 200 and "small" in answer.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
