"""The SQL store (SQLAlchemy 2): SQLite by default, PostgreSQL for a store shared by a team.

Every state change is one transaction. SQLite runs in WAL mode with a busy timeout, so readers
in other processes (describe, list, a dashboard) never see "database is locked" while a tuner
writes. PostgreSQL (``postgresql+psycopg://user:password@host/db``, the ``postgres`` extra)
behaves the same: connections are checked before use (``pool_pre_ping``), names are ordered
byte by byte as on SQLite whatever the database's collation, and a NUL character, which its
text columns refuse, is a ``ValidationError`` naming the field on every database. Finished
training jobs never change: updates only apply to jobs still running.

The tables below are the schema at ``migrations.HEAD``; opening a store migrates it there
(``store/migrations``), so they never create anything themselves.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from sagetune.errors import (
    LeaseLost,
    ResourceInUse,
    ResourceNotFound,
    StoreNotWritable,
    ValidationError,
)
from sagetune.store import retry
from sagetune.store.base import SAMPLE_STEP, UNCHANGED, Store, TrainingJobSort, Unchanged
from sagetune.store.migrations import upgrade_to_head
from sagetune.store.records import (
    FINISHED,
    MetricPoint,
    TrainingJobRecord,
    TrainingJobStats,
    TrainingJobTotals,
    TuningJobRecord,
)

metadata = MetaData()

tuning_jobs = Table(
    "tuning_jobs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("request", Text, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_modified_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("failure_reason", Text),
    Column("details", Text, nullable=False, default="{}"),
    # The lease: which tuner process drives this job, and when it last said it was alive.
    Column("owner", String(255)),
    Column("heartbeat_at", Float),
    # A Python training callable (cloudpickle), so `sagetune resume` can go on without it.
    Column("train_payload", LargeBinary),
)

training_jobs = Table(
    "training_jobs",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("tuning_job_name", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("hyperparameters", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("ended_at", Float),
    Column("objective", Float),
    Column("final_metrics", Text, nullable=False, default="{}"),
    Column("failure_reason", Text),
    Column("log_path", Text),
    Column("process_id", Integer),
    # Running when its tuner died; replaced on resume and not counted in MaxNumberOfTrainingJobs.
    Column("interrupted", Boolean, nullable=False, default=False),
    Column("definition_name", String(64)),
    # Cost: seconds from start to end, epochs of the objective reported, and whether early
    # stopping or Hyperband stopped it (what the savings estimate counts).
    Column("billable_seconds", Float),
    Column("epochs_completed", Integer),
    Column("early_stopped", Boolean, nullable=False, default=False),
    Index("ix_training_jobs_tuning_job_name_seq", "tuning_job_name", "seq"),
    Index("ix_training_jobs_tuning_job_name_objective", "tuning_job_name", "objective", "seq"),
    Index("ix_training_jobs_tuning_job_name_created_at", "tuning_job_name", "created_at", "seq"),
    Index("ix_training_jobs_tuning_job_name_status", "tuning_job_name", "status", "seq"),
    Index("ix_training_jobs_created_at", "created_at", "name"),
    Index("ix_training_jobs_status", "status", "name"),
)

metric_points = Table(
    "metric_points",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("training_job_name", String(128), nullable=False),
    Column("metric_name", String(255), nullable=False),
    Column("value", Float, nullable=False),
    Column("step", Integer, nullable=False),
    Column("timestamp", Float, nullable=False),
    # A point's natural key (migration 0004): a retried insert skips the points already there.
    Index(
        "ux_metric_points_point",
        "training_job_name",
        "metric_name",
        "step",
        "timestamp",
        unique=True,
    ),
)
_POINT_KEY = ["training_job_name", "metric_name", "step", "timestamp"]

_JSON_COLUMNS = {"request", "details", "hyperparameters", "final_metrics"}
# No cap on a saving (no full run to compare with): larger than any saving.
_NO_CAP = 1e300


def sagetune_home() -> Path:
    """``$SAGETUNE_HOME``, else ``~/.sagetune``: where the default store and job folders live."""
    return Path(os.environ.get("SAGETUNE_HOME") or Path.home() / ".sagetune")


def default_store_url() -> str:
    """``$SAGETUNE_STORE`` if set, else ``sqlite:///$SAGETUNE_HOME/sagetune.db``."""
    return os.environ.get("SAGETUNE_STORE") or f"sqlite:///{sagetune_home() / 'sagetune.db'}"


# Free text sagetune writes from what others produced (a script's last lines, an exception):
# a NUL in it is shown as U+FFFD rather than failing the tuner that records it.
_FREE_TEXT_COLUMNS = {"failure_reason"}


def _to_row(fields: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: json.dumps(dict(v)) if k in _JSON_COLUMNS else v for k, v in fields.items()}
    for k, v in row.items():
        if isinstance(v, str) and "\x00" in v:
            if k not in _FREE_TEXT_COLUMNS:
                raise ValidationError(f"{k}: must not contain NUL (\\x00) characters, got {v!r}")
            row[k] = v.replace("\x00", "\ufffd")
    return row


def _billable(c: Any, now: float) -> Any:
    """A training job's billable seconds in SQL, as ``cost.billable_seconds`` counts them."""
    ran = func.coalesce(c.ended_at, now) - c.started_at
    return case(
        (c.billable_seconds.is_not(None), c.billable_seconds),
        (c.started_at.is_(None), 0.0),
        (ran > 0, ran),
        else_=0.0,
    )


def _counted(
    counts: Iterable[Any],
    low: TrainingJobRecord | None = None,
    high: TrainingJobRecord | None = None,
    most_epochs: int | None = None,
) -> TrainingJobStats:
    """``TrainingJobStats`` from rows of (status, has an objective, interrupted, count)."""
    by_status: dict[str, int] = {}
    with_objective = finished_without = interrupted_finished = 0
    for status, has_objective, interrupted, n in counts:
        by_status[status] = by_status.get(status, 0) + n
        if has_objective:
            with_objective += n
        elif status in FINISHED:
            finished_without += n
        if interrupted and status in FINISHED:
            interrupted_finished += n
    return TrainingJobStats(
        by_status, with_objective, finished_without, low, high, most_epochs, interrupted_finished
    )


def _given(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not UNCHANGED}


def _from_row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    for k in _JSON_COLUMNS & d.keys():
        d[k] = json.loads(d[k]) if d[k] else {}
    return d


def _training_jobs_of(result: Any) -> list[TrainingJobRecord]:
    """The records of a query's rows: the columns and which hold JSON looked up once, not per
    row (a tuning job's thousands of rows are read this way)."""
    keys = list(result.keys())
    decode = [i for i, k in enumerate(keys) if k in _JSON_COLUMNS]
    out = []
    for row in result.all():
        values = list(row)
        for i in decode:
            values[i] = json.loads(values[i]) if values[i] else {}
        out.append(TrainingJobRecord(**dict(zip(keys, values))))
    return out


class SQLStore:
    """Tuning jobs, training jobs and metric points in one SQL database (a ``Store``).

    Thread-safe; every method is one transaction and returns immutable snapshots. Opening a
    store brings its schema up to date in place (see ``sagetune.store.migrations``).

    Args:
        url: a SQLAlchemy URL, e.g. ``sqlite:///tuning.db``, ``sqlite://`` (in memory, gone
            when closed) or ``postgresql+psycopg://user:password@host/db`` (the ``postgres``
            extra); default ``default_store_url()``.

        retry_seconds: how long an operation is retried when the connection fails (a server
            restarting, SQLite's "database is locked"); default ``$SAGETUNE_STORE_RETRY_SECONDS``,
            else 30 s (``sagetune.store.retry``).

    Raises:
        StoreVersionError: the store was written by a newer sagetune (left unchanged).
        StoreUnavailable: the database could not be reached within the retry budget.
    """

    def __init__(self, url: str | None = None, retry_seconds: float | None = None):
        self.url = url or default_store_url()
        self.retry_seconds = retry.retry_seconds(retry_seconds)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.path = sqlite_path(parsed)
        in_memory = self.is_sqlite and self.path is None
        self.engine: Engine = create_store_engine(self.url)
        self._lock = threading.Lock()
        # The leases this store holds for its tuner, and whether a connection was lost since
        # they were last known to be held: then they are renewed before anything else runs.
        self._leases: dict[str, str] = {}
        self._leases_unconfirmed = False
        # The tuning jobs whose lease this store held and found taken: nothing more is written
        # for them from here (see ``_fence``), until this store acquires the lease again.
        self._lost: set[str] = set()
        # Writes take the lock; reads too when they share the writers' single connection, lest
        # one thread's read end another's transaction.
        self._read_lock: contextlib.AbstractContextManager[Any] = (
            self._lock if in_memory else contextlib.nullcontext()
        )
        try:
            read_only = self.path is not None and sqlite_read_only(parsed, self.path)
            retry.call(self, lambda: upgrade_to_head(self.engine, read_only=read_only))
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"SQLStore({self.url!r})"

    @property
    def jobs_dir(self) -> Path:
        """Where training jobs' folders (logs, outputs) go: beside a SQLite file, else home."""
        if self.path is not None:
            return self.path.parent / f"{self.path.stem}-jobs"
        return sagetune_home() / "jobs"

    def tuning_job_dir(self, tuning_job_name: str) -> Path:
        return self.jobs_dir / tuning_job_name

    def training_job_dir(self, tuning_job_name: str, training_job_name: str) -> Path:
        return self.tuning_job_dir(tuning_job_name) / training_job_name

    def close(self) -> None:
        """Close the store's connections (an in-memory store's data goes with them)."""
        self.engine.dispose()

    # tuning jobs -------------------------------------------------------------------------
    def create_tuning_job(self, record: TuningJobRecord) -> None:
        """Insert a new tuning job; raises ResourceInUse if the name is taken."""
        try:
            with self._lock, self.engine.begin() as conn:
                conn.execute(insert(tuning_jobs).values(**_to_row(record.__dict__)))
        except IntegrityError:
            raise ResourceInUse(
                f"a tuning job named {record.name!r} already exists in {self.url}"
            ) from None

    def get_tuning_job(self, name: str) -> TuningJobRecord:
        """The tuning job as stored; raises ResourceNotFound if there is none of that name."""
        with self._read_lock, self.engine.connect() as conn:
            row = conn.execute(select(tuning_jobs).where(tuning_jobs.c.name == name)).first()
        if row is None:
            raise ResourceNotFound(f"no tuning job named {name!r} in {self.url}")
        return TuningJobRecord(**_from_row(row))

    def list_tuning_jobs(self) -> list[TuningJobRecord]:
        """All tuning jobs, newest first."""
        with self._read_lock, self.engine.connect() as conn:
            rows = conn.execute(
                select(tuning_jobs).order_by(
                    tuning_jobs.c.created_at.desc(), self._by_name(tuning_jobs.c.name)
                )
            ).all()
        return [TuningJobRecord(**_from_row(r)) for r in rows]

    def update_tuning_job(
        self,
        name: str,
        *,
        status: str | Unchanged = UNCHANGED,
        last_modified_at: float | Unchanged = UNCHANGED,
        ended_at: float | None | Unchanged = UNCHANGED,
        failure_reason: str | None | Unchanged = UNCHANGED,
        details: Mapping[str, Any] | Unchanged = UNCHANGED,
    ) -> None:
        """Change the given fields of a tuning job (see ``Store.update_tuning_job``).

        Raises:
            ResourceNotFound: there is no tuning job of that name.
        """
        fields = _given(
            status=status,
            last_modified_at=last_modified_at,
            ended_at=ended_at,
            failure_reason=failure_reason,
            details=details,
        )
        if not fields:
            self.get_tuning_job(name)  # nothing to change, but an unknown name is still wrong
            return
        with self._lock, self.engine.begin() as conn:
            self._fence(conn, name)
            res = conn.execute(
                update(tuning_jobs).where(tuning_jobs.c.name == name).values(**_to_row(fields))
            )
        if res.rowcount == 0:
            raise ResourceNotFound(f"no tuning job named {name!r} in {self.url}")

    def delete_tuning_job(self, name: str) -> None:
        """Delete a tuning job with its training jobs and points (see ``Store``).

        Raises:
            ResourceNotFound: there is no tuning job of that name.
        """
        jobs = select(training_jobs.c.name).where(training_jobs.c.tuning_job_name == name)
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(metric_points).where(metric_points.c.training_job_name.in_(jobs)))
            conn.execute(delete(training_jobs).where(training_jobs.c.tuning_job_name == name))
            res = conn.execute(delete(tuning_jobs).where(tuning_jobs.c.name == name))
            if res.rowcount == 0:
                raise ResourceNotFound(f"no tuning job named {name!r} in {self.url}")

    # the lease -------------------------------------------------------------------------------
    def _now(self) -> ColumnElement[float]:
        """The database's clock as epoch seconds, in SQL: ``julianday('now')`` on SQLite (to
        the millisecond; ``unixepoch('subsec')`` needs SQLite 3.42), ``now()`` on PostgreSQL
        (the transaction's start, the same for every row it touches)."""
        if self.is_sqlite:
            return (func.julianday("now") - 2440587.5) * 86400.0
        return cast(func.extract("epoch", func.now()), Float)

    def database_time(self) -> float:
        """The database server's clock, in seconds since the epoch (see ``Store``)."""
        with self._read_lock, self.engine.connect() as conn:
            return float(conn.execute(select(self._now())).scalar_one())

    def acquire_lease(
        self, name: str, owner: str, ttl_seconds: float, dead_owner: str | None = None
    ) -> bool:
        """Take the tuning job for ``owner`` if it is free, already ours, stale (no heartbeat
        for ``ttl_seconds`` by the database's clock) or held by ``dead_owner`` (a process
        known to be gone).

        One conditional ``UPDATE``, its row count the answer: the check and the take are one
        statement, atomic for processes on any number of machines, and both read the one
        clock of the database, so tuners whose own clocks disagree cannot both win. On SQLite
        the database's write lock orders racing tuners. On PostgreSQL a racing ``UPDATE``
        waits for the row lock of the one ahead and, once that commits, evaluates the
        condition again on the new row (READ COMMITTED), where the winner's fresh heartbeat
        makes it false.
        """
        c = tuning_jobs.c
        now = self._now()
        free = c.owner.is_(None) | (c.owner == owner) | (c.heartbeat_at < now - ttl_seconds)
        if dead_owner is not None:
            free = free | (c.owner == dead_owner)
        values = {**_to_row({"owner": owner}), "heartbeat_at": now}
        with self._lock, self.engine.begin() as conn:
            res = conn.execute(update(tuning_jobs).where(c.name == name, free).values(**values))
            if res.rowcount > 0:
                self._leases[name] = owner
                self._lost.discard(name)
        return res.rowcount > 0

    def renew_lease(self, name: str, owner: str) -> bool:
        """Refresh the heartbeat to the database's now; False if another process took the
        job over."""
        with self._lock, self.engine.begin() as conn:
            res = conn.execute(
                update(tuning_jobs)
                .where(tuning_jobs.c.name == name, tuning_jobs.c.owner == owner)
                .values(heartbeat_at=self._now())
            )
            if res.rowcount == 0 and self._leases.get(name) == owner:
                del self._leases[name]
                self._lost.add(name)
        return res.rowcount > 0

    def release_lease(self, name: str, owner: str) -> None:
        """Free the tuning job if ``owner`` holds it."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                update(tuning_jobs)
                .where(tuning_jobs.c.name == name, tuning_jobs.c.owner == owner)
                .values(owner=None, heartbeat_at=None)
            )
            if self._leases.get(name) == owner:
                del self._leases[name]

    def _confirm_leases(self) -> None:
        """After a lost connection, before anything else: renew every lease this store took.

        The retry budget (``SAGETUNE_STORE_RETRY_SECONDS``, 30 s) may outlast a lease (20 s):
        while this process could not reach the database another tuner may have found the
        lease stale and taken the job over. Writing on would overwrite that tuner's record, so
        a lease found taken is ``LeaseLost`` instead, and it is dropped from this store.

        Raises:
            LeaseLost: another tuner holds one of the leases now (or its job was deleted).
        """
        lost = [
            name
            for name, owner in list(self._leases.items())
            if not _UNRETRIED["renew_lease"](self, name, owner)
        ]
        self._leases_unconfirmed = False
        if lost:
            raise LeaseLost(
                f"tuning job {lost[0]!r} was taken over by another tuner while this process "
                f"could not reach the store for longer than its lease; this tuner stops and "
                f"leaves the job to it"
            )

    def _fence(
        self, conn: Connection, tuning_job: str | None = None, training_jobs_named: Any = ()
    ) -> None:
        """Inside a write's transaction: the lease of the tuning job written is still this
        store's, if it held one. A tuner suspended (SIGSTOP) or frozen for longer than its
        lease wakes with its connection intact and its heartbeat not yet run; meanwhile
        another tuner may have taken the job over. Its next write is then ``LeaseLost``, not
        a change to the new tuner's records. One read by primary key, only while this store
        holds or has lost a lease; on PostgreSQL the row is locked (``FOR SHARE``) until the
        write commits, so a takeover waits for it rather than passing between the two.

        Raises:
            LeaseLost: another tuner holds that tuning job's lease now (or it was deleted).
        """
        if not self._leases and not self._lost:
            return
        t, j = tuning_jobs.c, training_jobs.c
        if tuning_job is not None:
            query = select(t.name, t.owner).where(t.name == tuning_job)
        else:
            query = (
                select(t.name, t.owner)
                .select_from(tuning_jobs.join(training_jobs, j.tuning_job_name == t.name))
                .where(j.name.in_(sorted(set(training_jobs_named))))
            )
        if not self.is_sqlite:
            query = query.with_for_update(read=True, of=tuning_jobs)
        owners = dict(conn.execute(query).all())
        written = {tuning_job} if tuning_job is not None else set(owners)
        lost = sorted(
            n
            for n in written
            if n in self._lost or (n in self._leases and owners.get(n) != self._leases[n])
        )
        for name in lost:
            self._leases.pop(name, None)
            self._lost.add(name)
        if lost:
            raise LeaseLost(
                f"tuning job {lost[0]!r} was taken over by another tuner while this process "
                f"was suspended or cut off for longer than its lease; this tuner stops and "
                f"leaves the job to it"
            )

    # training jobs ------------------------------------------------------------------------
    def create_training_job(self, record: TrainingJobRecord) -> None:
        """Insert a new training job; raises ResourceInUse if the name is taken."""
        try:
            with self._lock, self.engine.begin() as conn:
                self._fence(conn, record.tuning_job_name)
                conn.execute(insert(training_jobs).values(**_to_row(record.__dict__)))
        except IntegrityError:
            raise ResourceInUse(
                f"a training job named {record.name!r} already exists in {self.url}"
            ) from None

    def create_training_jobs(self, records: Sequence[TrainingJobRecord]) -> None:
        """Insert many training jobs in one transaction; ResourceInUse if a name is taken."""
        if not records:
            return
        try:
            with self._lock, self.engine.begin() as conn:
                for tuning_job in sorted({r.tuning_job_name for r in records}):
                    self._fence(conn, tuning_job)
                conn.execute(insert(training_jobs), [_to_row(r.__dict__) for r in records])
        except IntegrityError:
            raise ResourceInUse(
                f"a training job of {len(records)} to create is named as one that exists in "
                f"{self.url} (or two share a name); none was created"
            ) from None

    def update_training_job(
        self,
        name: str,
        *,
        status: str | Unchanged = UNCHANGED,
        started_at: float | None | Unchanged = UNCHANGED,
        ended_at: float | None | Unchanged = UNCHANGED,
        objective: float | None | Unchanged = UNCHANGED,
        final_metrics: Mapping[str, float] | Unchanged = UNCHANGED,
        failure_reason: str | None | Unchanged = UNCHANGED,
        log_path: str | None | Unchanged = UNCHANGED,
        process_id: int | None | Unchanged = UNCHANGED,
        interrupted: bool | Unchanged = UNCHANGED,
        billable_seconds: float | None | Unchanged = UNCHANGED,
        epochs_completed: int | None | Unchanged = UNCHANGED,
        early_stopped: bool | Unchanged = UNCHANGED,
    ) -> bool:
        """Change a training job that has not finished; returns False if it had finished.

        See ``Store.update_training_job``.
        """
        fields = _given(
            status=status,
            started_at=started_at,
            ended_at=ended_at,
            objective=objective,
            final_metrics=final_metrics,
            failure_reason=failure_reason,
            log_path=log_path,
            process_id=process_id,
            interrupted=interrupted,
            billable_seconds=billable_seconds,
            epochs_completed=epochs_completed,
            early_stopped=early_stopped,
        )
        c = training_jobs.c
        running = (c.name == name, c.status.not_in(sorted(FINISHED)))
        with self._lock, self.engine.begin() as conn:
            if not fields:
                return conn.execute(select(c.name).where(*running)).first() is not None
            self._fence(conn, training_jobs_named=[name])
            res = conn.execute(update(training_jobs).where(*running).values(**_to_row(fields)))
        return res.rowcount > 0

    def get_training_job(self, name: str) -> TrainingJobRecord:
        """The training job as stored; raises ResourceNotFound if there is none of that name."""
        with self._read_lock, self.engine.connect() as conn:
            row = conn.execute(select(training_jobs).where(training_jobs.c.name == name)).first()
        if row is None:
            raise ResourceNotFound(f"no training job named {name!r} in {self.url}")
        return TrainingJobRecord(**_from_row(row))

    def list_training_jobs(self, tuning_job_name: str) -> list[TrainingJobRecord]:
        """A tuning job's training jobs in creation order."""
        with self._read_lock, self.engine.connect() as conn:
            return _training_jobs_of(
                conn.execute(
                    select(training_jobs)
                    .where(training_jobs.c.tuning_job_name == tuning_job_name)
                    .order_by(training_jobs.c.seq)
                )
            )

    def training_jobs_page(
        self,
        tuning_job_name: str | None,
        *,
        sort_by: TrainingJobSort,
        descending: bool = False,
        offset: int = 0,
        limit: int,
        status: str | None = None,
        with_objective: bool = False,
        name_contains: str | None = None,
        created_after: float | None = None,
        created_before: float | None = None,
        modified_after: float | None = None,
        modified_before: float | None = None,
        hyperparameter: str | None = None,
        sample: float | None = None,
    ) -> list[TrainingJobRecord]:
        """One sorted, filtered page of training jobs (see ``Store.training_jobs_page``)."""
        c = training_jobs.c
        where: list[ColumnElement[bool]] = []
        if tuning_job_name is not None:
            where.append(c.tuning_job_name == tuning_job_name)
        if status is not None:
            where.append(c.status == status)
        if with_objective:
            where.append(c.objective.is_not(None))
        if name_contains:
            where.append(func.lower(c.name).contains(name_contains.lower(), autoescape=True))
        modified = func.coalesce(c.ended_at, c.started_at, c.created_at)
        for column, after, before in (
            (c.created_at, created_after, created_before),
            (modified, modified_after, modified_before),
        ):
            if after is not None:
                where.append(column > after)
            if before is not None:
                where.append(column < before)
        if sample is not None:
            # base.sample_share in SQL; SQLite's CAST truncates (it may lack floor()).
            spot = c.seq * SAMPLE_STEP
            whole = cast(spot, Integer) if self.is_sqlite else func.floor(spot)
            where.append(spot - whole < sample)
        tie = c.seq if tuning_job_name is not None else self._by_name(c.name)
        duration = case(
            (and_(c.started_at.is_not(None), c.ended_at.is_not(None)), c.ended_at - c.started_at)
        )
        # The first key says whether the value is missing; it sorts ascending either way.
        missing: Any = None
        keys: list[Any]
        if hyperparameter is not None:
            missing, keys = self._hyperparameter_keys(hyperparameter)
            keys.append(tie)
        else:
            value: Any = {
                "Name": self._by_name(c.name),
                "CreationTime": c.created_at,
                "Status": self._by_name(c.status),
                "FinalObjectiveMetricValue": c.objective,
                "Seq": c.seq,
                "Duration": duration,
            }[sort_by]
            keys = [value] if sort_by in ("Name", "Seq") else [value, tie]
            if sort_by in ("FinalObjectiveMetricValue", "Duration"):
                missing = value.is_(None)
        order = [k.desc() if descending else k.asc() for k in keys]
        if missing is not None:
            order.insert(0, case((missing, 1), else_=0))
        query = select(training_jobs).where(*where).order_by(*order).offset(offset).limit(limit)
        with self._read_lock, self.engine.connect() as conn:
            return _training_jobs_of(conn.execute(query))

    def _hyperparameter_keys(self, name: str) -> tuple[Any, list[Any]]:
        """Whether a job lacks hyperparameter ``name``, and the keys that sort by its value:
        its kind (0 a number, 1 anything else), the number, the text (JSON on either
        database: SQLite's ``json_type``, PostgreSQL's ``jsonb_typeof``)."""
        hp = training_jobs.c.hyperparameters
        kind: Any
        number: Any
        text: Any
        if self.is_sqlite:
            path = '$."' + name + '"'
            kind = func.json_type(hp, path)
            number = text = func.json_extract(hp, path)
            is_number = kind.in_(("integer", "real"))
        else:
            element = cast(hp, JSONB)[name]
            kind = func.jsonb_typeof(element)
            number, text = cast(element.astext, Float), element.astext.collate("C")
            is_number = kind == "number"
        is_missing = or_(kind.is_(None), kind == "null")
        return is_missing, [
            case((is_number, 0), else_=1),
            case((is_number, number)),
            case((is_number, None), else_=text),
        ]

    def _least(self, a: Any, b: Any) -> Any:
        """The smaller of two values (neither NULL): SQLite's two-argument ``min``."""
        return func.min(a, b) if self.is_sqlite else func.least(a, b)

    def _greatest(self, a: Any, b: Any) -> Any:
        """The larger of two values (neither NULL): SQLite's two-argument ``max``."""
        return func.max(a, b) if self.is_sqlite else func.greatest(a, b)

    def _by_name(self, column: Any) -> Any:
        """A text column in code point order, as Python sorts strings (SQLite's own order)."""
        return column if self.is_sqlite else column.collate("C")

    def training_job_stats(self, tuning_job_name: str) -> TrainingJobStats:
        """Counts by status and the best jobs, by SQL aggregates (see ``Store``)."""
        c = training_jobs.c
        mine = c.tuning_job_name == tuning_job_name
        scored = and_(mine, c.objective.is_not(None))
        with self._read_lock, self.engine.connect() as conn:
            counts = conn.execute(
                select(c.status, c.objective.is_not(None), c.interrupted, func.count())
                .where(mine)
                .group_by(c.status, c.objective.is_not(None), c.interrupted)
            ).all()
            best = [
                conn.execute(
                    select(training_jobs).where(scored).order_by(order, c.seq).limit(1)
                ).first()
                for order in (c.objective.asc(), c.objective.desc())
            ]
            most_epochs = conn.execute(
                select(func.max(c.epochs_completed)).where(
                    mine,
                    c.status == "Completed",
                    c.early_stopped.is_(False),
                    c.epochs_completed != 0,
                )
            ).scalar()
        low, high = (None if r is None else TrainingJobRecord(**_from_row(r)) for r in best)
        return _counted(counts, low, high, most_epochs)

    def training_job_counts(self, tuning_job_names: Sequence[str]) -> dict[str, TrainingJobStats]:
        """Counts by status and objective of several tuning jobs in one query (see ``Store``)."""
        names = list(tuning_job_names)
        if not names:
            return {}
        c = training_jobs.c
        with self._read_lock, self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    c.tuning_job_name,
                    c.status,
                    c.objective.is_not(None),
                    c.interrupted,
                    func.count(),
                )
                .where(c.tuning_job_name.in_(names))
                .group_by(c.tuning_job_name, c.status, c.objective.is_not(None), c.interrupted)
            ).all()
        by_job: dict[str, list[Any]] = {name: [] for name in names}
        for name, *counts in rows:
            by_job[name].append(counts)
        return {name: _counted(counts) for name, counts in by_job.items()}

    def training_job_totals(
        self,
        tuning_job_name: str,
        now: float,
        planned_epochs: int | None,
        objective_metrics: Mapping[str | None, str] | None = None,
    ) -> list[TrainingJobTotals]:
        """Per-definition sums by SQL aggregates (see ``Store.training_job_totals``)."""
        c = training_jobs.c
        mine = c.tuning_job_name == tuning_job_name
        billable = _billable(c, now)
        epochs = func.coalesce(c.epochs_completed, 0)
        planned = planned_epochs or 0
        cut = and_(c.early_stopped.is_(True), epochs > 0, epochs < planned)
        rate: Any = billable / epochs
        pace = self._stopped_rate(objective_metrics or {})
        if pace is not None:
            rate = func.coalesce(pace, rate)
        saved: Any = (planned - epochs) * rate
        # A saving is never more than a full run would have added (see sagetune.cost). The
        # smaller of the two as one function call, not a CASE naming ``saved`` thrice: the
        # database would compute each early-stopped job's pace three times.
        longest = self._longest_full_run(tuning_job_name, now, planned_epochs)
        if longest is not None:
            room = case((longest > billable, longest - billable), else_=0.0)
            saved = self._least(saved, case((longest.is_(None), _NO_CAP), else_=room))
        query = select(
            c.definition_name,
            func.count(),
            func.coalesce(
                func.sum(
                    case((c.started_at.is_not(None), func.coalesce(c.ended_at, now) - c.started_at))
                ),
                0.0,
            ),
            func.sum(billable),
            func.sum(case((billable > 0, 1), else_=0)),
            func.sum(epochs),
            func.sum(case((c.early_stopped.is_(True), 1), else_=0)),
            func.sum(case((cut, planned - epochs), else_=0)),
            func.sum(case((cut, saved), else_=0.0)),
        )
        query = (
            query.where(mine)
            .group_by(c.definition_name)
            .order_by(c.definition_name.is_not(None), c.definition_name)
        )
        with self._read_lock, self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            TrainingJobTotals(
                r[0],
                int(r[1]),
                float(r[2]),
                float(r[3]),
                int(r[4]),
                int(r[5]),
                int(r[6]),
                int(r[7]),
                float(r[8]),
            )
            for r in rows
        ]

    def stopped_epoch_seconds(
        self, tuning_job_name: str, objective_metrics: Mapping[str | None, str]
    ) -> dict[str, float]:
        """Seconds per epoch of each early-stopped job (see ``Store.stopped_epoch_seconds``)."""
        c = training_jobs.c
        pace = self._stopped_rate(objective_metrics)
        if pace is None:
            return {}
        query = select(c.name, pace).where(
            c.tuning_job_name == tuning_job_name, c.early_stopped.is_(True)
        )
        with self._read_lock, self.engine.connect() as conn:
            return {job: float(rate) for job, rate in conn.execute(query) if rate is not None}

    def _stopped_rate(self, objective_metrics: Mapping[str | None, str]) -> Any:
        """An early-stopped job's seconds per epoch of its definition's objective metric,
        from the times of its first and last epochs (``cost.epoch_seconds``), as an
        expression over a row of ``training_jobs`` (NULL with fewer than two epochs); None
        without metrics.

        Each part is a subquery correlated with the row, answered by a few probes of the
        points' unique index (job, metric, step, time), so its cost is a handful of index
        lookups per stopped job whatever the planner estimates; a join with an aggregate of
        the stopped jobs' points sorted tens of thousands of points, and on PostgreSQL
        before the tables' statistics were gathered it compared every job with every
        stopped job (3 s at 10,000 jobs)."""
        if not objective_metrics:
            return None
        c = training_jobs.c
        metric = case(
            *(
                (c.definition_name.is_(None) if d is None else c.definition_name == d, name)
                for d, name in objective_metrics.items()
            ),
            else_=None,
        )

        def step(pick: Any) -> Any:
            p = metric_points.alias()
            return (
                select(pick(p.c.step))
                .where(p.c.training_job_name == c.name, p.c.metric_name == metric)
                .correlate(training_jobs)
                .scalar_subquery()
            )

        def time_at(at: Any, pick: Any) -> Any:
            # The time of the first (last) point at that step, as sorting by (step, time) does.
            p = metric_points.alias()
            return (
                select(pick(p.c.timestamp))
                .where(
                    p.c.training_job_name == c.name,
                    p.c.metric_name == metric,
                    p.c.step == at,
                )
                .correlate(training_jobs)
                .scalar_subquery()
            )

        first, last = step(func.min), step(func.max)
        elapsed = time_at(last, func.max) - time_at(first, func.min)
        # NULL when the first and last epochs are one: NULLIF rather than a CASE, which would
        # name (and the database run) the two step subqueries once more.
        return self._greatest(elapsed, 0.0) / func.nullif(last - first, 0)

    def _longest_full_run(
        self, tuning_job_name: str, now: float, planned_epochs: int | None
    ) -> Any:
        """The billable seconds of the longest Completed, not early-stopped job that ran the
        planned epochs, as a scalar subquery (NULL if none did); None without a plan."""
        if not planned_epochs:
            return None
        full = training_jobs.alias()
        c = full.c
        return (
            select(func.max(_billable(c, now)))
            .where(
                c.tuning_job_name == tuning_job_name,
                c.status == "Completed",
                c.early_stopped.is_(False),
                func.coalesce(c.epochs_completed, 0) >= planned_epochs,
            )
            .scalar_subquery()
        )

    # metric points ------------------------------------------------------------------------
    def add_metric_points(self, points: Sequence[MetricPoint]) -> None:
        """Record points in one transaction, in the given order.

        A point already stored (the same job, metric, step and time) is skipped, by the
        database (``INSERT ... ON CONFLICT DO NOTHING`` on the unique key), so running this
        again after a commit whose answer was lost records each point once.
        """
        if not points:
            return
        dialect_insert = sqlite_insert if self.is_sqlite else postgresql_insert
        query = dialect_insert(metric_points).on_conflict_do_nothing(index_elements=_POINT_KEY)
        with self._lock, self.engine.begin() as conn:
            self._fence(conn, training_jobs_named={p.training_job_name for p in points})
            conn.execute(query, [_to_row(p.__dict__) for p in points])

    def metric_points(
        self, training_job_names: Iterable[str], metric_names: Iterable[str] | None = None
    ) -> list[MetricPoint]:
        """Every point of the given training jobs, in the order they were recorded; only
        those of ``metric_names`` when given."""
        names = list(training_job_names)
        if not names:
            return []
        c = metric_points.c
        where = [c.training_job_name.in_(names)]
        if metric_names is not None:
            where.append(c.metric_name.in_(sorted(set(metric_names))))
        with self._read_lock, self.engine.connect() as conn:
            rows = conn.execute(
                select(c.training_job_name, c.metric_name, c.value, c.step, c.timestamp)
                .where(*where)
                .order_by(c.id)
            ).all()
        return [MetricPoint(*r) for r in rows]

    def jobs_with_metric_points(
        self, tuning_job_name: str, metric_name: str, among: Sequence[str] | None = None
    ) -> list[str]:
        """A tuning job's training jobs with a point of ``metric_name``, by ``seq``: one index
        probe per job (of ``among`` only, when given), never a scan of the points."""
        c, m = training_jobs.c, metric_points.c
        has_point = exists().where(m.training_job_name == c.name, m.metric_name == metric_name)
        where = [c.tuning_job_name == tuning_job_name, has_point]
        if among is not None:
            where.append(c.name.in_(list(among)))
        with self._read_lock, self.engine.connect() as conn:
            rows = conn.execute(select(c.name).where(*where).order_by(c.seq)).all()
        return [r[0] for r in rows]


# The connection layer: every public method of SQLStore runs through ``retry.call``. Writes
# whose first attempt may have committed are retried through a variant safe either way.


def _create_tuning_job_again(store: SQLStore, record: TuningJobRecord) -> None:
    try:
        _UNRETRIED["create_tuning_job"](store, record)
    except ResourceInUse:
        stored = _UNRETRIED["get_tuning_job"](store, record.name)
        if (stored.created_at, stored.seed) != (record.created_at, record.seed):
            raise  # someone else's job of that name, not our first attempt's


def _create_training_job_again(store: SQLStore, record: TrainingJobRecord) -> None:
    try:
        _UNRETRIED["create_training_job"](store, record)
    except ResourceInUse:
        stored = _UNRETRIED["get_training_job"](store, record.name)
        mine = (record.tuning_job_name, record.seq, record.created_at)
        if (stored.tuning_job_name, stored.seq, stored.created_at) != mine:
            raise


def _create_training_jobs_again(store: SQLStore, records: Sequence[TrainingJobRecord]) -> None:
    # One transaction: after a commit of unknown outcome either all are there or none.
    try:
        _UNRETRIED["create_training_jobs"](store, records)
    except ResourceInUse:
        for record in records:
            stored = _UNRETRIED["get_training_job"](store, record.name)
            mine = (record.tuning_job_name, record.seq, record.created_at)
            if (stored.tuning_job_name, stored.seq, stored.created_at) != mine:
                raise


def _update_training_job_again(store: SQLStore, name: str, **fields: Any) -> bool:
    if _UNRETRIED["update_training_job"](store, name, **fields):
        return True
    # False: the job has finished, perhaps by our first attempt's commit: then it holds what
    # we wrote, and the answer is the one the first attempt would have given.
    given = _given(**fields)
    if not given:
        return False
    stored = _UNRETRIED["get_training_job"](store, name)
    return all(getattr(stored, k) == v for k, v in given.items())


def _delete_tuning_job_again(store: SQLStore, name: str) -> None:
    with contextlib.suppress(ResourceNotFound):  # the first attempt's commit deleted it
        _UNRETRIED["delete_tuning_job"](store, name)


_AGAIN: dict[str, Callable[..., Any]] = {
    "create_tuning_job": _create_tuning_job_again,
    "create_training_job": _create_training_job_again,
    "create_training_jobs": _create_training_jobs_again,
    "update_training_job": _update_training_job_again,
    "delete_tuning_job": _delete_tuning_job_again,
}
# Run again as they are: reads, and writes that set values, take the lease conditionally or
# skip what is there (a second run of a committed first attempt changes nothing and answers
# the same).
_AS_THEY_ARE = (
    "get_tuning_job",
    "list_tuning_jobs",
    "update_tuning_job",
    "database_time",
    "acquire_lease",
    "renew_lease",
    "release_lease",
    "add_metric_points",
    "get_training_job",
    "list_training_jobs",
    "metric_points",
    "training_jobs_page",
    "training_job_stats",
    "training_job_totals",
    "stopped_epoch_seconds",
    "training_job_counts",
    "jobs_with_metric_points",
)
# What touches no database (folders, closing the engine).
_LOCAL_ONLY = ("jobs_dir", "tuning_job_dir", "training_job_dir", "close")
_UNRETRIED: dict[str, Callable[..., Any]] = {}


def _retried(name: str) -> Callable[..., Any]:
    method = getattr(SQLStore, name)
    again = _AGAIN.get(name)

    @functools.wraps(method)
    def run(self: SQLStore, *args: Any, **kwargs: Any) -> Any:
        def checked(attempt: Callable[[], Any]) -> Callable[[], Any]:
            def run_attempt() -> Any:
                try:
                    if self._leases_unconfirmed:
                        self._confirm_leases()
                    return attempt()
                except Exception as exc:
                    if retry.is_transient(exc, self.is_sqlite):
                        self._leases_unconfirmed = True
                    raise

            return run_attempt

        return retry.call(
            self,
            checked(lambda: method(self, *args, **kwargs)),
            None if again is None else checked(lambda: again(self, *args, **kwargs)),
        )

    return run


for _name in (*_AGAIN, *_AS_THEY_ARE):
    _UNRETRIED[_name] = getattr(SQLStore, _name)
    setattr(SQLStore, _name, _retried(_name))


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None in memory or for another database)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().resolve()


def create_store_engine(url: str) -> Engine:
    """The engine of a store's database, set up for it; the schema is not touched.

    SQLite: WAL, a 60 s busy timeout, one shared connection in memory; its folder is created.
    PostgreSQL (any other server): a small pool of connections checked before each use, so a
    connection the server closed (a restart, an idle timeout) is replaced, not failed on.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        read_only = path is not None and sqlite_read_only(parsed, path)
        if path is not None and read_only and not path.is_file():
            raise ResourceNotFound(f"the store {path} does not exist (a read-only one is not made)")
        if path is not None and read_only:
            # SQLite's own read-only mode: even root cannot write through it, and no pragma
            # (WAL) is set on open, so every reader works on a file it may not change.
            ro = URL.create("sqlite", database=f"file:{path}", query={"mode": "ro", "uri": "true"})
            url = ro.render_as_string()
        elif path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        else:
            # Each connection to ":memory:" is a database of its own: every thread must
            # share the one connection, so the store is one database.
            kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, read_only=read_only))
        event.listen(engine, "handle_error", functools.partial(_not_writable, where=str(path)))
        return engine
    # Writes are serialised per store by its lock; the pool is for concurrent readers (a
    # dashboard's requests, the tuner's threads).
    try:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=3600
        )
    except ImportError as exc:
        if parsed.get_backend_name() != "postgresql":
            raise
        raise ImportError(
            f"{exc}: a PostgreSQL store needs psycopg, pip install 'sagetune[postgres]'"
        ) from exc
    event.listen(engine, "handle_error", _nul_is_a_validation_error)
    return engine


def _nul_is_a_validation_error(context: ExceptionContext) -> None:
    """PostgreSQL's drivers refuse a NUL in a text parameter: say which field held it."""
    if "NUL" not in str(context.original_exception):
        return
    params = context.parameters
    rows = params if isinstance(params, list) else [params]
    fields = sorted(
        {
            str(k).rstrip("_0123456789") or str(k)
            for row in rows
            if isinstance(row, Mapping)
            for k, v in row.items()
            if isinstance(v, str) and "\x00" in v
        }
    )
    raise ValidationError(
        [f"{field}: must not contain NUL (\\x00) characters" for field in fields]
        or ["a value must not contain NUL (\\x00) characters"]
    ) from None


def sqlite_read_only(url: URL, path: Path) -> bool:
    """Whether a SQLite store is opened read-only: asked for (``?mode=ro``), or its file or
    folder cannot be written by this process (SQLite writes its WAL files beside it)."""
    if url.query.get("mode") == "ro":
        return True
    if not path.exists():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, read_only: bool = False) -> None:
    cur = dbapi_conn.cursor()
    if read_only:
        cur.execute("PRAGMA query_only=ON")
    else:
        cur.execute("PRAGMA journal_mode=WAL")  # a write: never on a read-only store
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _not_writable(context: ExceptionContext, where: str) -> None:
    """SQLite refusing a write (read-only store, full disk) as one clear error, not retried."""
    text = str(context.original_exception).lower()
    if "readonly database" in text or "read-only" in text:
        raise StoreNotWritable(
            f"the store {where} is read-only: it can be read, not written (open it without "
            f"?mode=ro, with write permission on the file and its folder)"
        ) from None
    if "disk is full" in text or "disk i/o error" in text:
        raise StoreNotWritable(
            f"the store {where} cannot be written: {context.original_exception}"
        ) from None


def store_url(store: str | os.PathLike[str] | None) -> str:
    """The SQLAlchemy URL of a store given as a URL, a plain file path, or None (the default)."""
    if store is None:
        return default_store_url()
    url = os.fspath(store)
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def open_store(store: str | os.PathLike[str] | Store | None) -> Store:
    """A store from a URL, a plain file path, an existing store, or the default."""
    if store is not None and not isinstance(store, (str, os.PathLike)):
        return store
    if store is None:
        return SQLStore()
    return SQLStore(store_url(store))


if TYPE_CHECKING:

    def _implements_store(store: SQLStore) -> Store:
        return store  # mypy fails here if SQLStore drifts from the Store protocol
