"""One executor per training job definition, behind the Executor interface."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sagetune.executors.base import Event, Executor, JobFinished, JobRequest


class RoutingExecutor(Executor):
    """Sends each job to the executor of its definition; merges their events."""

    def __init__(self, executors: Mapping[str, Executor]):
        self.executors = dict(executors)
        self._owner: dict[str, Executor] = {}

    @property
    def running(self) -> set[str]:
        return set().union(*(e.running for e in self.executors.values()))

    def start(self, job: JobRequest) -> None:
        executor = self.executors[job.definition or ""]
        self._owner[job.name] = executor
        executor.start(job)

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        busy = [e for e in self.executors.values() if e in self._owner.values()]
        for i, executor in enumerate(busy or list(self.executors.values())[:1]):
            events += executor.poll(timeout if i == 0 and not events else 0)
        for ev in events:
            if isinstance(ev, JobFinished):
                self._owner.pop(ev.name, None)
        return events

    def stop(self, name: str, reason: str) -> None:
        executor = self._owner.get(name)
        if executor is not None:
            executor.stop(name, reason)

    def shutdown(self) -> None:
        for executor in self.executors.values():
            executor.shutdown()

    def end_orphans(self, names: Collection[str]) -> None:
        for executor in self.executors.values():
            executor.end_orphans(names)
