"""Run training jobs on a Ray cluster: a pool of Ray actors, one running training job each.

Chosen per tuning job by the request extension ``LocalExecutor`` (:mod:`sagetune.spec.executor`:
``{"Type": "Ray", "Address": "host:6379"}``), which the SDK (``HyperparameterTuner(...,
executor="ray", ray_address=...)``) and the CLI (``sagetune tune REQUEST --executor ray
--ray-address ADDR``) write into the request; it is stored with the tuning job, so a resume
runs where the job ran. Without an address, ``RAY_ADDRESS`` is used, else a local Ray is
started. ``RAY_ADDRESS`` alone does not move a tuning job to Ray: the local executors stay the
default.

How a job runs. :class:`RayExecutor` runs each job on a *slot*: an actor (``max_restarts=0``,
``max_task_retries=0``: retries are sagetune's, ``RetryStrategy``) asking for the resources of
the job's ``ResourceConfig.InstanceType`` (:data:`INSTANCE_RESOURCES`, overridable by
``LocalExecutor.InstanceResources`` or the ``resources`` argument; an unknown type asks for one
CPU). A slot runs one job at a time and, once the job has ended, waits for the next: a new
Ray worker process costs seconds (it imports sagetune), so the executor makes a slot only when
no idle one is left, at most as many as jobs run at once. On its node the slot lays each
job's folder out in a node-local temporary folder with
:func:`~sagetune.training.prepare_job_dir`, as the subprocess executor does on this machine;
the submit directory and local channels travel as tar archives through Ray's object store
(once per slot), ``s3://`` ones are fetched on the node. A script runs as a subprocess in its
own process group; a callable (the cloudpickled payload of the process executor) runs in the
slot's long-lived ``sagetune.executors._worker`` interpreter, also in its own process group;
what a job leaves running there (found by the worker's marker) is ended as the job ends. Both
die with the slot (``PR_SET_PDEATHSIG`` on Linux).

What travels back. The executor keeps one ``events`` call outstanding per actor; the actor
answers as soon as something is new (or after half a second): output bytes since the last
answer, a callable's reporter messages, the process's exit. The output is appended to the
job's ``log.txt`` in the tuner's job folder as it arrives and matched against
``MetricDefinitions`` here, so every point reaches the tuner (and its stopping rule) while the
job runs. The log begins with ``[sagetune] node: <ip> <node id>``, where the job ran
(``DescribeTrainingJob`` shows it as the local addition ``LocalNode``); ``JobStarted.node``
carries the same, for a store column to come. When the job ends, its ``model.tar.gz`` and
``output.tar.gz`` (packed on the node) come back as bytes and are written to the job folder and
copied under ``S3OutputPath``. Only the tuner writes the store.

Stop. ``stop`` (a request, early stopping, ``MaxRuntimeInSeconds``) asks the slot to end the
job's process group (a callable's: its worker's, which the slot's next job replaces):
SIGTERM, ``stop_grace_seconds``, SIGKILL (a reporting callable is first told to stop, as in
the process executor). A slot that does not answer is killed.

Faults. A job whose slot or node dies fails with ``node lost: ...`` (or is retried, when its
``RetryStrategy`` allows); the other jobs go on. An idle slot that died is replaced by a new
one when its next job starts. An unreachable cluster fails at start with
:class:`RayUnavailable`. A cluster whose head stops answering while the tuner runs (checked
every :data:`CLUSTER_CHECK_SECONDS`, and whenever an actor is lost) raises
:class:`~sagetune.errors.ExecutorUnavailable`: the runner records the tuning job Stopped with
that reason and its running jobs interrupted, for ``sagetune resume``. Managed-spot
interruptions are not simulated on Ray.

Checkpoints. With ``CheckpointConfig`` the actor syncs the job's ``checkpoints`` folder down
from ``<S3Uri>/<training job>`` before it starts the process (each attempt, so a retry goes
on from them) and up as soon as the process ends, on the node itself: the ``S3Uri`` must be
``s3://`` or a folder every node shares. A failed sync fails the job with its reason.

Resume. Each slot is named ``<folder digest>/<executor token>/slot-<n>`` (the digest of its
tuning job's folder) in the Ray namespace :data:`NAMESPACE`, and answers which job attempt
(``<training job>/attempt-<n>``) it runs (:func:`cluster_jobs`). Ray ends the actors of a
tuner that died, but not at once, and not those of a tuner that lost its lease while still
alive: :meth:`RayExecutor.end_orphans`, called by the runner before it replaces a dead tuner's
jobs, asks every slot and ends those that run one of them.

Ray is imported only when a :class:`RayExecutor` is made; sagetune must be importable on every
node (the same version as the tuner's).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sagetune.artifacts import MODEL_ARCHIVE, OUTPUT_ARCHIVE, upload
from sagetune.checkpoints import CheckpointSyncError, checkpoint_dir, job_uri, sync_down, sync_up
from sagetune.errors import ExecutorUnavailable, ValidationError
from sagetune.executors.base import (
    NODE_LINE,
    Event,
    Executor,
    JobFinished,
    JobRequest,
    JobStarted,
    MetricReported,
    exit_text,
    log_tail,
    objective_missing,
    script_failure,
)
from sagetune.executors.process import COOPERATIVE_STOP_SECONDS
from sagetune.executors.procs import (
    TRAINING_JOB_ENV,
    WORKER_ENV,
    has_children,
    kill_group,
    sweep,
)
from sagetune.executors.subprocess import (
    MAX_LOG_BYTES,
    MAX_POINTS_PER_METRIC,
    LineReader,
    _value,
)
from sagetune.s3 import StorageError
from sagetune.training import Channel, ScriptDefinition, cli_args, prepare_job_dir

LOG_NAME = "log.txt"
STOP_GRACE_SECONDS = 5.0
EVENTS_WAIT_SECONDS = 0.5  # how long an actor holds an events call when nothing is new
CONNECT_TIMEOUT_SECONDS = 5.0
ACTOR_CALL_SECONDS = 60.0  # the most a finished job's artifacts may take to come back
NODE_DEAD_SECONDS = 30.0  # how long a retry waits for the cluster to see a lost node dead
# How often a running tuner checks that the cluster's head still answers: Ray ends a driver
# whose head has been gone for a minute, so the tuner must notice well before.
CLUSTER_CHECK_SECONDS = 2.0

# The Ray resources one training job asks for, by ``ResourceConfig.InstanceType`` (SageMaker's
# vCPUs and GPUs of the type). Overridden per tuning job by ``LocalExecutor.InstanceResources``
# or RayExecutor's ``resources``; a type in neither asks for one CPU.
INSTANCE_RESOURCES: Mapping[str, Mapping[str, float]] = {
    "ml.t3.medium": {"CPU": 2},
    "ml.m5.large": {"CPU": 2},
    "ml.m5.xlarge": {"CPU": 4},
    "ml.m5.2xlarge": {"CPU": 8},
    "ml.m5.4xlarge": {"CPU": 16},
    "ml.c5.large": {"CPU": 2},
    "ml.c5.xlarge": {"CPU": 4},
    "ml.c5.2xlarge": {"CPU": 8},
    "ml.g4dn.xlarge": {"CPU": 4, "GPU": 1},
    "ml.g4dn.2xlarge": {"CPU": 8, "GPU": 1},
    "ml.g5.xlarge": {"CPU": 4, "GPU": 1},
    "ml.p3.2xlarge": {"CPU": 8, "GPU": 1},
}
DEFAULT_RESOURCES: Mapping[str, float] = {"CPU": 1}
# Every job's actor is named in this namespace, so a resumed tuner finds what a dead one left.
NAMESPACE = "sagetune"
ORPHAN_END_SECONDS = 30.0  # how long end_orphans waits for the cluster to see them gone


class RayUnavailable(ValidationError):
    """The Ray cluster cannot be reached (or Ray is not installed)."""


def resources_for(
    instance_type: str | None, overrides: Mapping[str, Mapping[str, float]] | None = None
) -> dict[str, float]:
    """The Ray resources a job of ``instance_type`` asks for (overrides first, then
    :data:`INSTANCE_RESOURCES`, else one CPU)."""
    table = {**INSTANCE_RESOURCES, **(overrides or {})}
    return dict(table.get(instance_type or "", DEFAULT_RESOURCES))


def slot_name(job_dir: Path, token: str, slot: int) -> str:
    """The name of a slot actor (in :data:`NAMESPACE`): ``<folder digest>/<token>/slot-<n>``,
    the digest of the tuning job's folder of ``job_dir`` (a training job's folder) first, then
    the executor's own ``token``, so neither two stores' tuning jobs on one cluster nor a
    resumed tuner beside the slots of the one it replaces ever collide."""
    scope = hashlib.sha256(str(job_dir.resolve().parent).encode()).hexdigest()[:12]
    return f"{scope}/{token}/slot-{slot}"


def cluster_jobs(wait: float = STOP_GRACE_SECONDS) -> dict[str, Any]:
    """The training job attempts the cluster's slot actors run now, as
    ``{"<training job>/attempt-<n>": actor handle}`` (a slot that does not answer within
    ``wait`` seconds is left out). Needs a connection (:func:`connect`)."""
    import ray

    actors = []
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry["namespace"] != NAMESPACE:
            continue
        try:
            actors.append(ray.get_actor(entry["name"], namespace=NAMESPACE))
        except ValueError:  # ended between the listing and the look-up
            continue
    asked: dict[Any, Any] = {actor.job.remote(): actor for actor in actors}
    ready, _ = ray.wait(list(asked), num_returns=len(asked), timeout=wait) if asked else ([], [])
    out: dict[str, Any] = {}
    for ref in ready:
        try:
            label = ray.get(ref)
        except ray.exceptions.RayError:
            continue
        if label:
            out[label] = asked[ref]
    return out


def _reachable(address: str) -> str | None:
    """Why ``host:port`` (or ``ray://host:port``) cannot be reached; None when it can."""
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return None  # not host:port: let Ray say what it makes of it
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_SECONDS):
            return None
    except OSError as exc:
        return str(exc)


def connect(address: str | None = None) -> Any:
    """Connect this process to the Ray cluster at ``address`` (default ``RAY_ADDRESS``, else a
    new local Ray); returns the ``ray`` module. A connection made before is kept.

    Raises:
        RayUnavailable: Ray is not installed, or nothing answers at the address.
    """
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(
            f"LocalExecutor: Ray is not installed ({exc}); pip install 'sagetune[ray]'"
        ) from None
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address not in (None, "auto", "local"):
        problem = _reachable(address)
        if problem is not None:
            raise RayUnavailable(
                f"LocalExecutor.Address: cannot reach the Ray cluster at {address!r} "
                f"({problem}); start it (ray start --head) or give its address"
            )
    try:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(
            f"LocalExecutor.Address: cannot connect to the Ray cluster at {address!r}: {exc}"
        ) from None
    return ray


def _tar_bytes(path: Path) -> bytes:
    """A folder's contents (or a file, under its own name) as an uncompressed tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                tar.add(child, arcname=child.name)
        else:
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def _untar(data: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


# On the node ------------------------------------------------------------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """In the job's process: receive SIGKILL when the actor that started it dies."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


try:
    import ctypes

    _LIBC: Any = ctypes.CDLL(None) if sys.platform.startswith("linux") else None
except (ImportError, OSError):  # pragma: no cover
    _LIBC = None


class _SlotActor:
    """One slot of a tuning job on its node (a Ray actor; its methods are called by
    RayExecutor). It runs the slot's training jobs one after another: each script in a
    process group of its own, callables in one long-lived ``sagetune.executors._worker``
    interpreter (as the process executor's workers), so a job pays neither for a new Ray
    worker nor for a new interpreter and its imports."""

    def __init__(self) -> None:
        import ray

        self._lock = threading.Condition()
        self._jobs = threading.Lock()  # start, release and close, one at a time
        self._root = Path(tempfile.mkdtemp(prefix="sagetune-ray-"))
        context = ray.get_runtime_context()
        self._node = {
            "node_id": context.get_node_id(),
            "node_ip": ray.util.get_node_ip_address(),
            "host": socket.gethostname(),
        }
        self._code: Path | None = None  # the submit directory, unpacked once
        self._channels: dict[str, Path] = {}
        self._payload: bytes | None = None
        self._worker: subprocess.Popen[bytes] | None = None
        self._worker_id = ""
        self._inbox: Connection | None = None
        self._loaded = False  # the worker holds the callable
        self._clear("", "")

    def _clear(self, label: str, name: str) -> None:
        """The state of job ``name``'s attempt ``label`` (none: ``""``) before it starts."""
        self._label = label
        self._name = name
        self._out = bytearray()
        self._messages: list[Any] = []
        self._exit: dict[str, Any] | None = None
        self._proc: subprocess.Popen[bytes] | None = None  # a script's process
        self._log: Path | None = None
        self._log_offset = 0
        self._reported = False
        self._job_dir: Path | None = None
        self._script: ScriptDefinition | None = None

    def start(
        self,
        label: str,
        name: str,
        folder: str,
        hyperparameters: dict[str, Any],
        script: ScriptDefinition | None,
        payload: bytes | None,
        source: bytes | None,
        channels: dict[str, bytes] | None,
        tuner_python: str,
        tuner_path: list[str],
    ) -> dict[str, Any]:
        """Lay the job's folder out on this node and start it (what the slot ran before is
        ended and its folder removed first). ``label`` names this attempt of job ``name``
        (``<training job>/attempt-<n>``) in the calls that follow. ``payload``, ``source``
        and ``channels`` come with a slot's first job only; later jobs use what that one
        left here."""
        with self._jobs:
            self._release(self._label)
            with self._lock:
                self._clear(label, name)
            info = dict(self._node)
            job_dir = self._root / folder / name
            shutil.rmtree(job_dir, ignore_errors=True)
            job_dir.mkdir(parents=True)
            self._job_dir = job_dir
            self._log = job_dir / LOG_NAME
            self._log.touch()
            if payload is not None:
                self._payload = payload
            try:
                if script is not None:
                    info["pid"] = self._start_script(
                        job_dir, script, hyperparameters, source, channels or {}, tuner_python
                    )
                else:
                    info["pid"] = self._start_callable(name, hyperparameters, tuner_path)
            except (StorageError, OSError, tarfile.TarError) as exc:
                kind = "ClientError: " if isinstance(exc, StorageError) else ""
                info["error"] = f"{kind}could not start the training job on its node: {exc}"
            return info

    def _env(self, **extra: str) -> dict[str, str]:
        package_root = str(Path(__file__).resolve().parents[2])
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [package_root, os.environ.get("PYTHONPATH", "")])
            ),
            **extra,
        }

    def _start_script(
        self,
        job_dir: Path,
        script: ScriptDefinition,
        hyperparameters: dict[str, Any],
        source: bytes | None,
        channels: dict[str, bytes],
        tuner_python: str,
    ) -> int:
        changes: dict[str, Any] = {}
        if source is not None and self._code is None:
            self._code = self._root / "code"
            _untar(source, self._code)
        if self._code is not None:
            code = self._code
            changes["source"] = code / script.source.name if script.source.is_file() else code
        for name, data in channels.items():
            if name not in self._channels:
                channel = script.channels[name]
                assert channel.local is not None
                dest = self._root / "channels" / name
                _untar(data, dest)
                self._channels[name] = dest if channel.local.is_dir() else dest / channel.local.name
        if self._channels:
            moved = dict(script.channels)
            for name, local in self._channels.items():
                channel = script.channels[name]
                moved[name] = Channel(name, str(local), channel.data_type, channel.content_type)
            changes["channels"] = moved
        command = list(script.command)
        if command and command[0] == tuner_python:
            command[0] = sys.executable  # this node's interpreter, not the tuner's path
        script = replace(script, **changes)
        self._script = script
        if script.checkpoint is not None:  # from s3:// or a folder this node shares
            try:
                sync_down(
                    job_uri(script.checkpoint, self._name),
                    checkpoint_dir(job_dir),
                    base_dir=script.checkpoint.base_dir,
                )
            except CheckpointSyncError as exc:
                raise StorageError(str(exc)) from None
        cwd, sm_env = prepare_job_dir(job_dir, script, hyperparameters)
        args = cli_args(hyperparameters) if script.passes_arguments else []
        proc = subprocess.Popen(
            [*command, *args],
            cwd=cwd,
            # The job's name lets a resume find orphans safely.
            env={**self._env(**{TRAINING_JOB_ENV: self._name}), **sm_env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._proc = proc
        threading.Thread(
            target=self._read_output, args=(proc, self._label, job_dir, script), daemon=True
        ).start()
        return proc.pid

    def _read_output(
        self, proc: subprocess.Popen[bytes], label: str, job_dir: Path, script: ScriptDefinition
    ) -> None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        with open(job_dir / LOG_NAME, "ab") as log:
            while raw := os.read(fd, 64 * 1024):
                log.write(raw)
                log.flush()
                with self._lock:
                    if self._label == label:
                        self._out += raw
                        self._lock.notify_all()
        code = proc.wait()
        failure = ""
        synced: str | None = None
        try:
            text = (job_dir / "output" / "failure").read_text(errors="replace")
            failure = text.strip()[:1024]
        except OSError:
            pass
        if script.checkpoint is not None:  # up from this node as the process ends
            try:
                sync_up(
                    checkpoint_dir(job_dir),
                    job_uri(script.checkpoint, self._name),
                    base_dir=script.checkpoint.base_dir,
                )
            except CheckpointSyncError as exc:
                synced = str(exc)
        with self._lock:
            if self._label == label:
                self._exit = {"code": code, "failure": failure, "checkpoints": synced}
                self._lock.notify_all()

    def _start_callable(
        self, name: str, hyperparameters: dict[str, Any], tuner_path: list[str]
    ) -> int:
        assert self._log is not None and self._payload is not None
        worker = self._worker
        if worker is None or worker.poll() is not None:
            worker = self._start_worker(tuner_path)
        assert self._inbox is not None
        payload = None if self._loaded else self._payload
        self._inbox.send(("run", name, "payload", payload, hyperparameters, str(self._log)))
        self._loaded = True
        return worker.pid

    def _start_worker(self, tuner_path: list[str]) -> subprocess.Popen[bytes]:
        """The slot's worker interpreter for callables, its own process group."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # The marker lets a job's end find what the job forked in the worker.
        self._worker_id = uuid.uuid4().hex
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sagetune.executors._worker",
                str(to_child_r),
                str(from_child_w),
            ],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            env=self._env(**{WORKER_ENV: self._worker_id}),
            cwd=self._root,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._worker = proc
        self._loaded = False
        if self._inbox is not None:  # the last worker's
            self._inbox.close()
        self._inbox = Connection(to_child_w, readable=False)
        self._inbox.send(("path", [p for p in [*sys.path, *tuner_path] if p]))
        outbox = Connection(from_child_r, writable=False)
        threading.Thread(
            target=self._read_messages, args=(proc, outbox, self._worker_id), daemon=True
        ).start()
        return proc

    def _read_messages(
        self, proc: subprocess.Popen[bytes], outbox: Connection, worker_id: str
    ) -> None:
        """The worker's messages, for as long as it lives; a job's end once its last one came
        (after what the job forked in the worker and left running is ended)."""
        while True:
            try:
                message = outbox.recv()
            except (EOFError, OSError):
                break
            kind, name = message[0], message[1]
            final = kind in ("result", "error", "stopped")
            if final and has_children(proc.pid):
                sweep({WORKER_ENV: worker_id}, exclude={proc.pid})
            with self._lock:
                if name != self._name or not self._label:
                    continue  # a job already let go
                if kind == "metric":
                    self._reported = True
                if kind != "started":
                    self._messages.append(message)
                if final:
                    self._exit = {"code": 0, "failure": ""}
                self._lock.notify_all()
        outbox.close()
        code = proc.wait()
        with self._lock:
            if self._worker is proc:  # not one a release already replaced
                self._worker = None
                if self._script is None and self._label and self._exit is None:
                    self._exit = {"code": code, "failure": ""}  # it died under its job
            self._lock.notify_all()

    def ready(self) -> None:
        """Answers once the slot is placed and up."""

    def job(self) -> str | None:
        """The training job this slot runs, as ``<training job>/attempt-<n>``; None when idle."""
        with self._lock:
            return self._label or None

    def events(self, label: str, wait: float) -> dict[str, Any]:
        """What is new for the job attempt ``label`` since the last call (output bytes,
        messages, the exit), waiting up to ``wait`` seconds for something."""
        with self._lock:
            if label != self._label:
                return {"out": b"", "messages": [], "exit": {"code": -9, "failure": ""}}
            self._lock.wait_for(lambda: self._out or self._messages or self._exit, wait)
            out, self._out = bytes(self._out), bytearray()
            messages, self._messages = self._messages, []
            exit_ = self._exit
            log, offset = self._log, self._log_offset
            callable_ = self._script is None
        if callable_ and log is not None:  # a callable writes its log
            with open(log, "rb") as f:
                f.seek(offset)
                out = f.read()
            with self._lock:
                if label == self._label:
                    self._log_offset += len(out)
        return {"out": out, "messages": messages, "exit": exit_}

    def stop(self, label: str, grace: float, cooperative: float) -> None:
        """End the job attempt ``label``: a reporting callable is told first
        (``cooperative`` seconds), then SIGTERM to the process group (a callable's: its
        worker's), SIGKILL after ``grace``."""
        with self._lock:
            if label != self._label or self._exit is not None:
                return
            proc = self._proc if self._script is not None else self._worker
            reported = self._reported
            name = self._name
        if proc is None:
            return
        if self._script is None and reported and self._inbox is not None:
            try:
                self._inbox.send(("stop", name))
            except (OSError, ValueError):
                pass
            else:
                with self._lock:
                    if self._lock.wait_for(lambda: self._exit is not None, cooperative):
                        return
        kill_group(proc, grace)

    def finish(self, label: str, pack: bool) -> dict[str, bytes]:
        """The job attempt ``label``'s archives (packed here for a script); then its node folder is
        removed and the slot is free."""
        from sagetune import artifacts

        out: dict[str, bytes] = {}
        with self._jobs:
            if label != self._label or self._job_dir is None:
                return out
            try:
                if pack:
                    artifacts.pack(self._job_dir)
                for archive in (MODEL_ARCHIVE, OUTPUT_ARCHIVE):
                    path = self._job_dir / "output" / archive
                    if path.is_file():
                        out[archive] = path.read_bytes()
            finally:
                self._release(label)
        return out

    def release(self, label: str) -> None:
        """Let the job attempt ``label`` go: what still runs of it is ended, its node folder
        removed."""
        with self._jobs:
            self._release(label)

    def _release(self, label: str) -> None:
        if not label or label != self._label:
            return
        with self._lock:
            running = self._exit is None
            script = self._script is not None
            proc = self._proc if script else self._worker
            job_dir = self._job_dir
            self._clear("", "")
            if running and not script:  # the worker goes with the job it still runs
                self._worker = None
        if running and proc is not None and proc.poll() is None:
            kill_group(proc, 0.0)
            proc.wait()
        if job_dir is not None:
            shutil.rmtree(job_dir, ignore_errors=True)

    def close(self) -> None:
        """End the slot: its job, its worker, its node folder."""
        with self._jobs:
            self._release(self._label)
            if self._worker is not None and self._worker.poll() is None:
                kill_group(self._worker, 0.0)
            shutil.rmtree(self._root, ignore_errors=True)


# In the tuner -----------------------------------------------------------------------------------


@dataclass
class _RayRun:
    request: JobRequest
    actor: Any
    attempt: int = 0
    pending: Any = None  # the outstanding start or events call
    fresh: bool = True  # its actor was made for it (a pooled one may have died idle)
    placing: bool = False  # waiting for a new slot to be placed and up (pending: ready())
    started: bool = False
    started_at: float = 0.0
    node: str | None = None
    pid: int | None = None
    steps: dict[str, int] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    lines: LineReader = field(default_factory=LineReader)
    log_written: int = 0
    stop_reason: str | None = None
    stop_deadline: float | None = None
    outcome: tuple[str, Any] | None = None  # a callable's last message
    relaunch: tuple[str, float] | None = None  # (lost node id, until when to wait for it)

    @property
    def label(self) -> str:
        """This attempt of the job, as its slot knows it."""
        return f"{self.request.name}/attempt-{self.attempt}"


class RayExecutor(Executor):
    """Runs training jobs on a Ray cluster on a pool of slot actors, one job at a time each.

    Args:
        script: the script definition the jobs run, or None for a callable.
        train: the cloudpickled callable (for ``script=None``).
        objective_metric: the metric a script job must report to complete.
        address: the cluster's address (default ``RAY_ADDRESS``, else a local Ray).
        instance_type: the definition's ``ResourceConfig.InstanceType`` (for callables; a
            script definition has its own).
        resources: Ray resources per instance type, over :data:`INSTANCE_RESOURCES`.
        stop_grace_seconds: time between SIGTERM and SIGKILL.
        cooperative_stop_seconds: how long a reporting callable has to stop by itself.

    Raises:
        RayUnavailable: Ray is missing, or the cluster cannot be reached.
        ValidationError: the definition asks for what Ray jobs do not do (simulated spot
            interruptions).
    """

    def __init__(
        self,
        script: ScriptDefinition | None = None,
        train: bytes | None = None,
        objective_metric: str | None = None,
        address: str | None = None,
        instance_type: str | None = None,
        resources: Mapping[str, Mapping[str, float]] | None = None,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
        cooperative_stop_seconds: float = COOPERATIVE_STOP_SECONDS,
    ):
        if (script is None) == (train is None):
            raise ValueError("give either a script definition or a callable's payload")
        if script is not None and script.spot_interruptions is not None:
            raise ValidationError(
                "LocalSpotInterruptions: spot interruptions are not simulated on Ray"
            )
        self.ray = connect(address)
        self.script = script
        self.objective_metric = objective_metric
        self.grace = stop_grace_seconds
        self.cooperative = cooperative_stop_seconds
        kind = script.instance_type if script is not None else instance_type
        self.resources = resources_for(kind, resources)
        self.patterns = (
            [(m.name, re.compile(m.regex)) for m in script.metric_definitions] if script else []
        )
        self._payload = train
        self._shared: dict[str, Any] | None = None  # object refs of code, channels, payload
        self._runs: dict[str, _RayRun] = {}
        self._idle: list[Any] = []  # slot actors between jobs
        # Slots being made that a job gave up for an idle one, by their ready() call: they
        # join the idle ones once up (a slot is made only when there is neither).
        self._spares: dict[Any, Any] = {}
        self._token = uuid.uuid4().hex[:8]  # this executor's, in its slots' names
        self._slots = 0  # slot actors made so far
        self._pending: list[Event] = []
        try:  # the head the tuner checks while it runs (none known through Ray Client)
            self._head = str(self.ray.get_runtime_context().gcs_address or "")
        except Exception:  # noqa: BLE001 - Ray Client connections have no GCS address
            self._head = ""
        self._checked = time.monotonic()
        self._gone: str | None = None  # why the cluster cannot be reached any more

    @property
    def running(self) -> set[str]:
        return set(self._runs)

    # starting -------------------------------------------------------------------------------
    def _inputs(self) -> dict[str, Any]:
        """The code, local channels and payload, put into the object store once."""
        if self._shared is None:
            ray = self.ray
            shared: dict[str, Any] = {"source": None, "channels": {}, "payload": None}
            script = self.script
            if script is not None:
                if script.image is None and script.source_uri is None:
                    shared["source"] = ray.put(_tar_bytes(script.source))
                for name, channel in script.channels.items():
                    if channel.local is not None:
                        shared["channels"][name] = ray.put(_tar_bytes(channel.local))
            else:
                shared["payload"] = ray.put(self._payload)
            self._shared = shared
        return self._shared

    def _feasible(self) -> str | None:
        """Why no live node can ever hold one job; None when one can."""
        wanted = self.resources
        for node in self.ray.nodes():
            have = node.get("Resources", {}) if node.get("Alive") else {}
            if all(have.get(k, 0.0) >= v for k, v in wanted.items()):
                return None
        return f"no node of the Ray cluster has the resources one training job asks for {wanted}"

    def _check_cluster(self, now: bool = False) -> None:
        """Raise when the cluster's head no longer answers (checked every
        :data:`CLUSTER_CHECK_SECONDS`, or ``now``).

        Raises:
            ExecutorUnavailable: the head is gone; the running jobs are let go.
        """
        if self._gone is None:
            if not now and time.monotonic() - self._checked < CLUSTER_CHECK_SECONDS:
                return
            self._checked = time.monotonic()
            problem = _reachable(self._head) if self._head else None
            if problem is None:
                return
            self._gone = (
                f"LocalExecutor.Address: the Ray cluster at {self._head!r} cannot be reached "
                f"any more ({problem})"
            )
            self._runs.clear()  # their actors went with the cluster
            self._idle.clear()
            self._spares.clear()
        raise ExecutorUnavailable(self._gone)

    def start(self, job: JobRequest) -> None:
        self._check_cluster(now=True)
        job.job_dir.mkdir(parents=True, exist_ok=True)
        problem = self._feasible()
        if problem is not None:
            self._write_log(job.job_dir, f"[sagetune] {problem}\n".encode())
            self._pending.append(
                JobFinished(job.name, time.time(), "Failed", failure_reason=problem)
            )
            return
        run = _RayRun(job, None)
        self._runs[job.name] = run
        self._launch(run)

    def _launch(self, run: _RayRun, new: bool = False) -> None:
        """Start the run's attempt on an idle slot actor, else wait for one being made (a
        spare, or a new one; ``new``: always a new one)."""
        run.started = False
        if not new and self._idle:
            self._start_on(run, self._idle.pop(), fresh=False)
            return
        run.fresh, run.placing = True, True
        if not new and self._spares:
            run.pending, run.actor = self._spares.popitem()
        else:
            run.actor = self._new_slot(run.request.job_dir)
            run.pending = run.actor.ready.remote()

    def _start_on(self, run: _RayRun, actor: Any, fresh: bool) -> None:
        """Send the run's attempt to a slot that is up (``fresh``: its first job)."""
        inputs = self._inputs()
        run.actor, run.fresh, run.placing = actor, fresh, False
        job = run.request
        run.pending = run.actor.start.remote(
            run.label,
            job.name,
            job.job_dir.parent.name or "jobs",
            dict(job.hyperparameters),
            self.script,
            inputs["payload"] if run.fresh else None,
            inputs["source"] if run.fresh else None,
            inputs["channels"] if run.fresh else None,
            sys.executable,
            [p for p in sys.path if p],
        )

    def _new_slot(self, job_dir: Path) -> Any:
        ray = self.ray
        wanted = dict(self.resources)
        options: dict[str, Any] = {
            "num_cpus": wanted.pop("CPU", 0.0),
            "num_gpus": wanted.pop("GPU", 0.0),
            "max_restarts": 0,
            "max_task_retries": 0,
            "max_concurrency": 4,
        }
        if wanted:
            options["resources"] = wanted
        self._slots += 1
        return (
            ray.remote(_SlotActor)
            .options(
                name=slot_name(job_dir, self._token, self._slots),
                namespace=NAMESPACE,
                **options,
            )
            .remote()
        )

    # polling --------------------------------------------------------------------------------
    def poll(self, timeout: float) -> list[Event]:
        ray = self.ray
        self._check_cluster()
        events, self._pending = self._pending, []
        self._tick(events)
        for run in self._runs.values():
            if run.pending is None and run.actor is not None:
                run.pending = run.actor.events.remote(run.label, EVENTS_WAIT_SECONDS)
        by_ref = {run.pending: run for run in self._runs.values() if run.pending is not None}
        spares = dict(self._spares)
        if not by_ref and not spares:
            if not events and timeout > 0:
                time.sleep(min(timeout, 0.05))
            return events
        wait = 0.0 if events else timeout
        if any(r.relaunch is not None for r in self._runs.values()):
            wait = min(wait, 0.25)
        deadlines = [r.stop_deadline for r in self._runs.values() if r.stop_deadline]
        if deadlines:
            wait = max(0.0, min(wait, min(deadlines) - time.time()))
        refs = [*by_ref, *spares]
        ready, _ = ray.wait(refs, num_returns=1, timeout=wait)
        if ready:
            rest = [r for r in refs if r not in ready]
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0) if rest else ([], [])
            ready = ready + more
        for ref in ready:
            if ref in spares:
                self._spare_up(ref)
                continue
            run = by_ref[ref]
            if run.pending is not ref:  # handed over to an idle slot meanwhile
                continue
            run.pending = None
            events.extend(self._answer(run, ref))
        return events

    def _spare_up(self, ref: Any) -> None:
        """A spare slot's ready() answered: it is idle (or gone, if it failed)."""
        actor = self._spares.pop(ref, None)
        if actor is None:  # a job waiting for it took it over
            return
        try:
            self.ray.get(ref)
        except self.ray.exceptions.RayError:
            return
        self._idle.append(actor)
        self._hand_over()

    def _answer(self, run: _RayRun, ref: Any) -> list[Event]:
        ray = self.ray
        name = run.request.name
        placing = run.placing
        try:
            answer = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            self._check_cluster(now=True)  # the whole cluster, not one node, may be gone
            if not run.started and not run.fresh and run.stop_reason is None:
                # A pooled slot that died while idle (its node went away): not this job's
                # loss; it starts on a new slot.
                self._discard(run, kill=True)
                self._launch(run, new=True)
                return []
            return self._lost(run, exc)
        except ray.exceptions.RayError as exc:
            self._discard(run, kill=True)
            return self._end(run, "Failed", f"the Ray task failed: {type(exc).__name__}: {exc}")
        if placing:  # its new slot is up: the job starts there
            self._start_on(run, run.actor, fresh=True)
            return []
        now = time.time()
        if not run.started:
            run.started = True
            run.node = f"{answer.get('node_ip')} {answer.get('node_id')}"
            header = f"{NODE_LINE}{run.node}\n"
            if run.attempt:
                header = f"----- retry {run.attempt} -----\n" + header
            if self.script is not None and self.script.runs and not run.attempt:
                header += f"[sagetune] {self.script.runs}\n"
            self._write_log(run.request.job_dir, header.encode())
            if "error" in answer:
                return self._end(run, "Failed", str(answer["error"]))
            run.pid = answer.get("pid")
            # A retry's new process group, for whoever must find it; the job's start stays
            # its first, its time limit counts from this attempt's.
            first = run.started_at if run.attempt else now
            run.started_at = now
            return [JobStarted(name, first, run.pid, node=run.node)]
        events: list[Event] = []
        out: bytes = answer["out"]
        if out:
            self._append_output(run, out)
            if self.script is not None:
                for windows in run.lines.feed(out):
                    events.extend(self._match(run, windows, now))
        for message in answer["messages"]:
            kind = message[0]
            if kind == "metric":
                epoch, values = message[2]
                run.final.update(values)
                events.extend(MetricReported(name, k, v, epoch, now) for k, v in values.items())
            else:
                run.outcome = (kind, message[2])
        exit_ = answer["exit"]
        if exit_ is not None:
            if self.script is not None:
                for windows in run.lines.close():
                    events.extend(self._match(run, windows, now))
            if exit_.get("checkpoints"):  # the checkpoint sync up failed
                self._write_log(run.request.job_dir, f"{exit_['checkpoints']}\n".encode())
                events.extend(self._end(run, "Failed", str(exit_["checkpoints"])))
            else:
                events.extend(self._exited(run, int(exit_["code"]), str(exit_["failure"])))
        return events

    def _match(self, run: _RayRun, windows: list[str], now: float) -> list[Event]:
        out: list[Event] = []
        for metric, pattern in self.patterns:
            match = next(filter(None, (pattern.search(w) for w in windows)), None)
            value = _value(match)
            if value is None:
                continue
            step = run.steps.get(metric, 0) + 1
            run.steps[metric] = step
            run.final[metric] = value
            if step <= MAX_POINTS_PER_METRIC:
                out.append(MetricReported(run.request.name, metric, value, step, now))
        return out

    def _append_output(self, run: _RayRun, data: bytes) -> None:
        if run.log_written >= MAX_LOG_BYTES:
            return
        run.log_written += len(data)
        if run.log_written >= MAX_LOG_BYTES:
            data += b"\n[sagetune: log truncated at 50 MB]\n"
        self._write_log(run.request.job_dir, data)

    @staticmethod
    def _write_log(job_dir: Path, data: bytes) -> None:
        with open(job_dir / LOG_NAME, "ab") as log:
            log.write(data)

    def _exited(self, run: _RayRun, code: int, failure: str) -> list[Event]:
        log_path = run.request.job_dir / LOG_NAME
        if run.stop_reason is not None:
            return self._end(run, "Stopped", self._fetch(run) or run.stop_reason)
        if self.script is None:
            kind, value = run.outcome or ("died", None)
            if kind == "result":
                problem = self._fetch(run)
                if problem is not None:
                    return self._end(run, "Failed", problem)
                return self._end(run, "Completed", result=value)
            if kind == "stopped":
                return self._end(run, "Stopped", str(value))
            what = str(value) if kind == "error" else exit_text(code, "the training process")
            tail = log_tail(log_path)
            return self._end(run, "Failed", f"{what}\nlog tail:\n{tail}" if tail else what)
        if code != 0:
            if run.attempt < self.script.max_retry_attempts:
                return self._retry(run)
            return self._end(
                run, "Failed", script_failure(code, run.attempt + 1, failure, log_path)
            )
        if self.objective_metric not in run.final:
            return self._end(run, "Failed", objective_missing(self.objective_metric, log_path))
        problem = self._fetch(run)
        if problem is not None:
            return self._end(run, "Failed", problem)
        return self._end(run, "Completed")

    def _retry(self, run: _RayRun, lost_node: str | None = None) -> list[Event]:
        """Start the job again; after a node loss, once the cluster sees that node dead (so
        the new actor is not placed on it)."""
        self._discard(run)
        run.attempt += 1
        run.steps, run.final, run.lines = {}, {}, LineReader()
        run.outcome = None
        run.started = False
        if lost_node is not None:
            run.relaunch = (lost_node, time.time() + NODE_DEAD_SECONDS)
        else:
            self._launch(run)
        return []

    def _relaunch_due(self, run: _RayRun, now: float) -> bool:
        assert run.relaunch is not None
        node_id, until = run.relaunch
        if now >= until:
            return True
        alive = {n.get("NodeID") for n in self.ray.nodes() if n.get("Alive")}
        return node_id not in alive

    def _lost(self, run: _RayRun, exc: Exception) -> list[Event]:
        """The actor died: its node went away (or its worker was killed)."""
        self._discard(run, kill=True)
        where = f"the Ray node {run.node}" if run.node else "its Ray node"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if run.stop_reason is not None:
            return self._end(run, "Stopped", run.stop_reason)
        self._write_log(run.request.job_dir, f"[sagetune] node lost: {where} died\n".encode())
        retries = self.script.max_retry_attempts if self.script is not None else 0
        if run.attempt < retries:
            lost = run.node.split()[-1] if run.node else None
            return self._retry(run, lost)
        return self._end(
            run,
            "Failed",
            f"node lost: {where} running the training job died ({type(exc).__name__}: {first})",
        )

    def _fetch(self, run: _RayRun) -> str | None:
        """Bring the job's archives back and copy them under S3OutputPath; the failure
        reason when that fails."""
        ray = self.ray
        try:
            archives = ray.get(
                run.actor.finish.remote(run.label, self.script is not None),
                timeout=ACTOR_CALL_SECONDS,
            )
        except ray.exceptions.RayError as exc:
            return f"ClientError: could not bring the model artifacts back: {exc}"
        if not archives:
            return None
        output = run.request.job_dir / "output"
        output.mkdir(parents=True, exist_ok=True)
        for archive, data in archives.items():
            tmp = output / f".{archive}.part"
            tmp.write_bytes(data)
            os.replace(tmp, output / archive)
        if self.script is not None and self.script.output_path is not None:
            try:
                upload(run.request.job_dir, run.request.name, self.script.output_path)
            except (StorageError, OSError) as exc:
                return f"ClientError: could not save the model artifacts: {exc}"
        return None

    def _end(
        self,
        run: _RayRun,
        status: str,
        reason: str | None = None,
        result: Any = None,
        kill: bool = False,
    ) -> list[Event]:
        self._runs.pop(run.request.name, None)
        self._discard(run, kill)
        return [
            JobFinished(
                run.request.name,
                time.time(),
                status,
                metrics=dict(run.final),
                result=result,
                failure_reason=reason,
            )
        ]

    def _discard(self, run: _RayRun, kill: bool = False) -> None:
        """Let go of the job's slot actor: it ends what is left of the job, removes its node
        folder (if it has not yet) and waits for the next job; one that does not answer (or
        died, ``kill``) is killed."""
        if run.actor is not None:
            try:
                if kill:
                    self.ray.kill(run.actor, no_restart=True)
                else:
                    run.actor.release.remote(run.label)
                    self._idle.append(run.actor)
            except Exception:  # noqa: BLE001 - an actor already gone
                pass
        run.actor = None
        run.pending = None
        self._hand_over()

    def _hand_over(self) -> None:
        """Give idle slots to the jobs waiting for a new one to be placed: while idle slots
        hold the cluster's CPUs a new one may never be placed (more jobs at once than the
        cluster holds). The slot being made becomes a spare."""
        while self._idle:
            waiting = next(
                (r for r in self._runs.values() if r.placing and r.stop_reason is None), None
            )
            if waiting is None:
                return
            self._spares[waiting.pending] = waiting.actor
            self._start_on(waiting, self._idle.pop(), fresh=False)

    # stopping -------------------------------------------------------------------------------
    def _tick(self, out: list[Event]) -> None:
        """MaxRuntimeInSeconds, and stops an actor did not carry out in time."""
        now = time.time()
        limit = self.script.max_runtime_in_seconds if self.script is not None else None
        for run in list(self._runs.values()):
            if run.relaunch is not None and run.stop_reason is None:
                if self._relaunch_due(run, now):
                    run.relaunch = None
                    self._launch(run)
                continue
            if run.stop_reason is None:
                if limit is not None and run.started and now - run.started_at >= limit:
                    self.stop(
                        run.request.name,
                        f"MaxRuntimeInSeconds ({limit} s) exceeded: the training job was stopped",
                    )
            elif run.stop_deadline is not None and now >= run.stop_deadline:
                out.extend(self._end(run, "Stopped", run.stop_reason, kill=True))

    def stop(self, name: str, reason: str) -> None:
        if self._gone is not None:
            return
        run = self._runs.get(name)
        if run is None or run.stop_reason is not None:
            return
        run.stop_reason = reason
        if not run.started or run.actor is None:  # being placed or set up: nothing runs
            self._pending.extend(self._end(run, "Stopped", reason, kill=True))
            return
        run.stop_deadline = time.time() + self.cooperative + self.grace + 10.0
        try:
            run.actor.stop.remote(run.label, self.grace, self.cooperative)
        except Exception:  # noqa: BLE001 - the actor is gone: its poll says so
            pass

    def end_orphans(self, names: Collection[str]) -> None:
        """Kill the actors (and so the process groups) of the jobs ``names`` that a dead tuner
        left on the cluster. Ray ends an actor whose tuner died by itself, but not at once,
        and not when the tuner is alive and has lost its lease; waits until the cluster no
        longer lists them."""
        ray = self.ray
        wanted = set(names)

        def left() -> dict[str, Any]:
            return {
                label: actor
                for label, actor in cluster_jobs().items()
                if label.rpartition("/")[0] in wanted
            }

        for actor in left().values():
            try:  # its job's processes ended and its node folder removed, if it answers
                ray.get(actor.close.remote(), timeout=STOP_GRACE_SECONDS)
            except ray.exceptions.RayError:
                pass
            ray.kill(actor, no_restart=True)
        deadline = time.time() + ORPHAN_END_SECONDS
        while left() and time.time() < deadline:
            time.sleep(0.1)

    def shutdown(self) -> None:
        if self._gone is not None:  # nothing there to stop or wait for
            return
        for name in list(self._runs):
            self.stop(name, "the tuning job ended")
        deadline = time.time() + self.cooperative + self.grace + 10.0
        while self._runs and time.time() < deadline:
            self._pending.extend(self.poll(0.1))
        for run in list(self._runs.values()):
            self._pending.extend(
                self._end(run, "Stopped", run.stop_reason or "shut down", kill=True)
            )
        for actor in self._spares.values():  # nothing ran on them
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001
                pass
        self._spares.clear()
        idle, self._idle = self._idle, []
        try:  # each ends its worker and removes its node folder, then goes
            self.ray.wait(
                [a.close.remote() for a in idle], num_returns=len(idle), timeout=STOP_GRACE_SECONDS
            )
        except Exception:  # noqa: BLE001 - the cluster or an actor already gone
            pass
        for actor in idle:
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001
                pass
