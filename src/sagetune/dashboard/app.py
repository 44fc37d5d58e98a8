"""The dashboard's FastAPI application: HTML pages, a small JSON API and plotly.js, all local.

Every endpoint is a plain (sync) function, so FastAPI runs it in its thread pool and a slow
read never stalls the server. Reads are short SQLite transactions in WAL mode: they never
block the tuner writing to the same file. A tuning job's snapshot (training jobs, metric
points, summary, figures) is cached and rebuilt only when the job changed, and at most about
once a second while it runs, so many open pages cost the store little.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sagetune import control
from sagetune.analytics import TuningJobAnalytics, load_metric_points
from sagetune.dashboard import is_loopback, pages
from sagetune.errors import ResourceNotFound, StoreNotWritable, StoreUnavailable
from sagetune.plots.data import KINDS, MAX_CURVES, TuningData
from sagetune.spec import TuningJobSpec, load_spec
from sagetune.status import TrainingJobStatus
from sagetune.store import Store, open_store
from sagetune.store.base import TrainingJobSort
from sagetune.store.records import (
    FINISHED,
    TRAINING_JOB_STATUSES,
    TrainingJobRecord,
    TrainingJobStats,
    TuningJobRecord,
)

TOKEN_COOKIE = "sagetune_token"
TOKEN_HEADER = "x-sagetune-token"
# Browsers cannot send a custom header cross-site without a CORS preflight (which this app
# never grants), so requiring one on the stop action keeps other sites from posting it.
ACTION_HEADER = "x-sagetune-action"
MAX_PAGE = 500
LOG_TAIL_BYTES = 64 * 1024
_RUNNING_TTL = 1.0
RUNNING = (TrainingJobStatus.InProgress, TrainingJobStatus.Stopping)
# A tuning job of more training jobs is summarised and drawn from a sample of about this many
# (its best ones among them); its counts and sums still come from every job.
MAX_JOBS = 2_000
BEST_JOBS = 100
SAMPLE_METHOD = (
    f"the {BEST_JOBS} best training jobs and an evenly spread sample by sequence number "
    f"(the same jobs each time), about {MAX_JOBS:,} in all: importance, rank correlations, "
    "suggested ranges and the plots are computed on it; counts, time and cost on every job"
)


@dataclass
class _Snapshot:
    key: tuple[Any, ...]
    built_at: float
    record: TuningJobRecord
    stats: TrainingJobStats
    jobs: list[TrainingJobRecord]  # every training job, or a sample of a big tuning job's
    data: TuningData  # without metric points: only the curves read them
    # Built on the first request that needs each: a plot needs no summary, and only the
    # curves need the metric points.
    summary: dict[str, Any] | None = None
    curves: TuningData | None = None
    figures: dict[str, str] = field(default_factory=dict)


def sample_jobs(
    store: Store, spec: TuningJobSpec, name: str, stats: TrainingJobStats
) -> list[TrainingJobRecord]:
    """A tuning job's training jobs by ``seq``; of a big one (over ``MAX_JOBS``), the best
    ``BEST_JOBS`` and an evenly spread, deterministic sample, about ``MAX_JOBS`` in all.

    The summary's importance and correlations and the plots are drawn from these: a sample
    tells as much as every job and keeps the snapshot's cost bounded.
    """
    if stats.total <= MAX_JOBS:
        return store.list_training_jobs(name)
    best = store.training_jobs_page(
        name,
        sort_by="FinalObjectiveMetricValue",
        descending=spec.maximize,
        with_objective=True,
        limit=BEST_JOBS,
    )
    spread = store.training_jobs_page(
        name, sort_by="Seq", limit=MAX_JOBS, sample=(MAX_JOBS - BEST_JOBS) / stats.total
    )
    # The best job itself too, so the sample's best is the tuning job's (ties and all).
    top = stats.best(spec.maximize)
    by_name = {j.name: j for j in (*best, *spread, *([top] if top else []))}
    return sorted(by_name.values(), key=lambda j: j.seq)


def _whole_job_figures(
    store: Store, stats: TrainingJobStats, sampled: int, summary: dict[str, Any]
) -> dict[str, Any]:
    """The summary's counts and training seconds over every job (the store's aggregates),
    where the rest of a big tuning job's summary comes from a sample of ``sampled`` jobs."""
    totals = store.training_job_totals(summary["TuningJobName"], time.time(), None)
    return {
        "TrainingJobCount": stats.total,
        "TrainingJobCounts": dict.fromkeys(TRAINING_JOB_STATUSES, 0) | stats.by_status,
        "TimeSpent": summary["TimeSpent"]
        | {"TrainingSeconds": round(sum(t.runtime_seconds for t in totals), 3)},
        "Sample": {"TrainingJobs": sampled, "Of": stats.total, "Method": SAMPLE_METHOD},
    }


class Snapshots:
    """Per tuning job, the latest snapshot, rebuilt when the job changed.

    A running job's snapshot is also reused for up to ``_RUNNING_TTL`` seconds, so a burst of
    polls during a busy job does not reread the store each time. The importance figures
    (fANOVA, the costly part of a summary) are kept across rebuilds while the jobs with an
    objective stay the same, so a running job's snapshot computes them again only when a job
    has reported its final value.
    """

    def __init__(self, store: Store):
        self.store = store
        self._cache: dict[str, _Snapshot] = {}
        self._effects: dict[str, tuple[tuple[Any, ...], list[dict[str, Any]]]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def get(self, name: str) -> _Snapshot:
        """The tuning job's snapshot: its (sampled) training jobs, read again if it changed."""
        record = self.store.get_tuning_job(name)
        key = (record.last_modified_at, record.status)
        with self._lock(name):
            snap = self._cache.get(name)
            now = time.monotonic()
            if snap is not None and (
                snap.key == key
                or (record.status not in FINISHED and now - snap.built_at < _RUNNING_TTL)
            ):
                return snap
            spec = load_spec(record)
            stats = self.store.training_job_stats(name)
            jobs = sample_jobs(self.store, spec, name, stats)
            sampled = len(jobs) < stats.total
            data = TuningData.load(
                self.store,
                name,
                curves=False,
                jobs=jobs,
                of_jobs=stats.total if sampled else None,
                effects=self._known_effects(name, jobs),
            )
            snap = _Snapshot(key, now, record, stats, jobs, data)
            self._cache[name] = snap
            return snap

    def _known_effects(
        self, name: str, jobs: list[TrainingJobRecord]
    ) -> list[dict[str, Any]] | None:
        # The effects are a function of the jobs with an objective (their hyperparameters
        # never change): the same names and values, the same figures.
        known = self._effects.get(name)
        if known is not None and known[0] == _scored(jobs):
            return known[1]
        return None

    def _effects_of(self, name: str, snap: _Snapshot) -> list[dict[str, Any]]:
        rows = snap.data.hyperparameter_effects()
        self._effects[name] = (_scored(snap.jobs), rows)
        return rows

    def summary(self, name: str) -> dict[str, Any]:
        """The dashboard's summary of a tuning job (``TuningJobAnalytics.summary`` of the
        snapshot's jobs, with every job's counts and sums when they are a sample)."""
        snap = self.get(name)
        with self._lock(name):
            if snap.summary is None:
                analytics = TuningJobAnalytics(name, store=self.store)
                summary = analytics.summary(snap.jobs, effects=self._effects_of(name, snap))
                if len(snap.jobs) < snap.stats.total:
                    summary.update(
                        _whole_job_figures(self.store, snap.stats, len(snap.jobs), summary)
                    )
                summary["Version"] = version(snap.record, snap.stats.total)
                snap.summary = summary
            return snap.summary

    def figure_json(self, name: str, kind: str) -> str:
        """One plot of the snapshot as Plotly JSON, drawn on its first request."""
        snap = self.get(name)
        with self._lock(name):
            cached = snap.figures.get(kind)
            if cached is None:
                from sagetune.plots import interactive

                cached = interactive.figure_json(kind, self._data_for(name, snap, kind))
                snap.figures[kind] = cached
            return cached

    def _data_for(self, name: str, snap: _Snapshot, kind: str) -> TuningData:
        if kind == "curves":
            if snap.curves is None:
                snap.curves = TuningData.load(
                    self.store,
                    name,
                    jobs=snap.jobs,
                    max_curves=MAX_CURVES,
                    of_jobs=snap.data.of_jobs,
                )
            return snap.curves
        if kind in ("importance", "contour"):
            self._effects_of(name, snap)
        return snap.data


def _scored(jobs: list[TrainingJobRecord]) -> tuple[Any, ...]:
    return tuple((j.name, j.objective) for j in jobs if j.objective is not None)


def _row(job: TrainingJobRecord, names: list[str], latest: dict[str, float]) -> dict[str, Any]:
    seconds = (job.ended_at - job.started_at) if job.ended_at and job.started_at else None
    return {
        "seq": job.seq,
        "name": job.name,
        "status": job.status,
        "objective": job.objective,
        "latest_objective": latest.get(job.name),
        "hyperparameters": {n: job.hyperparameters.get(n) for n in names},
        "seconds": seconds,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
        "failure_reason": (job.failure_reason or "").splitlines()[0][:200]
        if job.failure_reason
        else None,
    }


def _latest_objectives(
    spec: TuningJobSpec, store: Store, jobs: list[TrainingJobRecord]
) -> dict[str, float]:
    """The last reported objective value of each running job among ``jobs``, by name."""
    running = [j for j in jobs if j.status in RUNNING]
    if not running:
        return {}
    metric_of = {j.name: spec.objective_of(j.definition_name).metric_name for j in running}
    latest: dict[str, tuple[int, float]] = {}
    for p in store.metric_points(metric_of):
        if p.metric_name == metric_of[p.training_job_name]:
            if p.training_job_name not in latest or p.step >= latest[p.training_job_name][0]:
                latest[p.training_job_name] = (p.step, p.value)
    return {name: value for name, (_, value) in latest.items()}


# The table's columns and the store's sort keys (a hyperparameter is sorted by its value).
_TABLE_SORTS: dict[str, TrainingJobSort] = {
    "seq": "Seq",
    "name": "Name",
    "status": "Status",
    "objective": "FinalObjectiveMetricValue",
    "seconds": "Duration",
}


def version(record: TuningJobRecord, training_jobs: int) -> str:
    """What changes whenever a tuning job's answers may have: its record and its size."""
    return f"{record.last_modified_at:.6f}:{record.status}:{training_jobs}"


def log_tail(path: str | None, limit: int = LOG_TAIL_BYTES) -> str:
    """The last ``limit`` bytes of a log file (from a line start), or ``""``."""
    if not path:
        return ""
    p = Path(path)
    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            f.seek(max(size - limit, 0))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > limit and "\n" in text:
        text = text.split("\n", 1)[1]
    return text


def _authorised(request: Request, token: str) -> tuple[bool, bool]:
    """(allowed, came in the query string)."""
    supplied = [request.headers.get(TOKEN_HEADER), request.cookies.get(TOKEN_COOKIE)]
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        supplied.append(auth[7:].strip())
    for value in supplied:
        if value and secrets.compare_digest(value.encode(), token.encode()):
            return True, False
    query = request.query_params.get("token")
    if query and secrets.compare_digest(query.encode(), token.encode()):
        return True, True
    return False, False


CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
    "worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(
    store: Store | str | None = None, token: str | None = None, loopback_hosts_only: bool = False
) -> FastAPI:
    """The dashboard application.

    Args:
        store: a store, a SQLAlchemy URL, a SQLite file path, or None for the default store.
        token: when set, every request must carry it (``Authorization: Bearer <token>``, the
            ``X-Sagetune-Token`` header, or ``?token=<token>`` once, which sets a cookie for
            the browser); others get 401.
        loopback_hosts_only: answer only requests whose ``Host`` header names this machine
            (``localhost``, ``127.0.0.1``, ``[::1]``); others get 400. Without a token, this
            keeps a web page from reaching the dashboard through a domain that resolves to
            127.0.0.1 (DNS rebinding) and pressing stop. ``serve`` sets it when no token is
            given.

    Returns:
        A FastAPI app; serve it with uvicorn (``sagetune dashboard`` does).
    """
    st = open_store(store)
    snapshots = Snapshots(st)
    app = FastAPI(title="sagetune dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = st
    app.state.snapshots = snapshots

    if loopback_hosts_only:

        @app.middleware("http")
        async def require_loopback_host(request: Request, call_next: Any) -> Response:
            host = urlsplit("//" + request.headers.get("host", "")).hostname or ""
            if not is_loopback(host):
                return JSONResponse(
                    {
                        "detail": f"Host {host!r} is not this machine: open the "
                        f"dashboard at http://localhost:<port>/"
                    },
                    status_code=400,
                )
            return await call_next(request)

    if token:

        @app.middleware("http")
        async def require_token(request: Request, call_next: Any) -> Response:
            allowed, from_query = _authorised(request, token)
            if not allowed:
                return JSONResponse(
                    {
                        "detail": "a valid token is required (Authorization: "
                        "Bearer <token>, or ?token=<token>)"
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            response = await call_next(request)
            if from_query:
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response

    @app.middleware("http")
    async def forbid_framing(request: Request, call_next: Any) -> Response:
        # Added last, so it is the outermost layer: refusals (400, 401) carry it too.
        # No other page may frame the dashboard (its Stop button is one click) or make it load
        # anything from elsewhere. Scripts and styles are inline; plotly's WebGL traces
        # compile their shaders with Function, hence 'unsafe-eval'.
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.exception_handler(ResourceNotFound)
    def not_found(request: Request, exc: ResourceNotFound) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return HTMLResponse(pages.not_found_page(str(exc)), status_code=404)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return pages.index_page()

    @app.get("/tuning-jobs/{name}", response_class=HTMLResponse)
    def tuning_job_page(name: str) -> str:
        # The page needs only the ranges' names; its data comes by the API afterwards.
        spec = load_spec(st.get_tuning_job(name))
        return pages.tuning_job_page(name, list(spec.space.names), list(KINDS))

    @app.get("/training-jobs/{name}", response_class=HTMLResponse)
    def training_job_page(name: str) -> str:
        job = st.get_training_job(name)
        return pages.training_job_page(job.name, job.tuning_job_name)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/plotly.min.js")
    def plotly_js() -> Response:
        from sagetune.plots.interactive import plotly_js as source

        return Response(
            source(),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/api/tuning-jobs")
    def list_tuning_jobs() -> list[dict[str, Any]]:
        # Counts and the best job from the store's aggregates: no snapshot, whatever the size.
        out = []
        for record in st.list_tuning_jobs():
            spec = load_spec(record)
            stats = st.training_job_stats(record.name)
            best = stats.best(spec.maximize)
            out.append(
                {
                    "name": record.name,
                    "status": record.status,
                    "strategy": spec.strategy,
                    "objective": {
                        "MetricName": spec.objective.metric_name,
                        "Type": spec.objective_type,
                    },
                    "created_at": record.created_at,
                    "ended_at": record.ended_at,
                    "training_jobs": stats.total,
                    "counts": dict.fromkeys(TRAINING_JOB_STATUSES, 0) | stats.by_status,
                    "best": None
                    if best is None
                    else {"name": best.name, "objective": best.objective},
                }
            )
        return out

    @app.get("/api/tuning-jobs/{name}")
    def tuning_job(name: str) -> dict[str, Any]:
        return snapshots.summary(name)

    @app.get("/api/tuning-jobs/{name}/training-jobs")
    def training_jobs(
        name: str,
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=MAX_PAGE),
        status: str | None = None,
        sort: str = "seq",
        order: str = Query("asc", pattern="^(asc|desc)$"),
    ) -> dict[str, Any]:
        # One page, sorted and counted by the store: never every training job.
        record = st.get_tuning_job(name)
        spec = load_spec(record)
        names = list(spec.space.names)
        if status and status not in TRAINING_JOB_STATUSES:
            raise HTTPException(
                400, f"status: must be one of {', '.join(TRAINING_JOB_STATUSES)}, got {status!r}"
            )
        if sort not in _TABLE_SORTS and sort not in names:
            raise HTTPException(
                400,
                f"sort: unknown column {sort!r}; use {', '.join(_TABLE_SORTS)} "
                f"or a hyperparameter ({', '.join(names)})",
            )
        stats = st.training_job_stats(name)
        page = st.training_jobs_page(
            name,
            sort_by=_TABLE_SORTS.get(sort, "Seq"),
            hyperparameter=None if sort in _TABLE_SORTS else sort,
            descending=order == "desc",
            offset=offset,
            limit=limit,
            status=status or None,
        )
        best = stats.best(spec.maximize)
        latest = _latest_objectives(spec, st, page)
        return {
            "total": stats.total,
            "matching": stats.by_status.get(status, 0) if status else stats.total,
            "offset": offset,
            "limit": limit,
            "hyperparameters": names,
            "best": None if best is None else best.name,
            "version": version(record, stats.total),
            "rows": [_row(j, names, latest) for j in page],
        }

    @app.get("/api/tuning-jobs/{name}/plots/{kind}")
    def plot(name: str, kind: str) -> Response:
        if kind not in KINDS:
            raise HTTPException(
                404, f"kind: unknown plot kind {kind!r}; choose one of {', '.join(KINDS)}"
            )
        return Response(snapshots.figure_json(name, kind), media_type="application/json")

    @app.post("/api/tuning-jobs/{name}/stop")
    def stop(name: str, request: Request) -> dict[str, Any]:
        if request.headers.get(ACTION_HEADER) != "stop":
            raise HTTPException(403, f"the stop action needs the header {ACTION_HEADER}: stop")
        try:
            record = control.stop_tuning_job(st, name)
        except StoreNotWritable as exc:  # a read-only store: the page shows why
            raise HTTPException(409, str(exc)) from None
        except StoreUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        return {"name": record.name, "status": record.status}

    @app.get("/api/training-jobs/{name}")
    def training_job(name: str) -> dict[str, Any]:
        job = st.get_training_job(name)
        metrics: dict[str, dict[str, list[float]]] = {}
        for p in load_metric_points(st, [name]):
            m = metrics.setdefault(p.metric_name, {"epoch": [], "value": [], "time": []})
            m["epoch"].append(p.step)
            m["value"].append(p.value)
            m["time"].append(p.timestamp)
        return {
            "name": job.name,
            "tuning_job_name": job.tuning_job_name,
            "seq": job.seq,
            "status": job.status,
            "objective": job.objective,
            "hyperparameters": job.hyperparameters,
            "final_metrics": job.final_metrics,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "ended_at": job.ended_at,
            "failure_reason": job.failure_reason,
            "log_path": job.log_path,
            "log_tail": log_tail(job.log_path),
            "metrics": metrics,
        }

    return app
