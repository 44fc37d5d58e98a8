"""The strategy interface: given the space, a seed and what happened so far, suggest more.

A strategy is pure: it neither runs nor stores anything, and the same space, seed and
observations give the same suggestions. That makes a killed tuning job resumable and a seeded
run reproducible. Values are always minimised here: the tuner flips the sign of a maximised
objective before a strategy sees it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from sagetune.space import SearchSpace
from sagetune.status import TrainingJobStatus

# A running job is InProgress, SageMaker's word, as in the store (Stopping, which a strategy
# need not tell apart, is passed as InProgress too). TrainingJobStatus members are equal to
# these strings, so either may be given.
ObservationStatus = Literal[
    "Completed",
    "Failed",
    "InProgress",
    "Stopped",
    TrainingJobStatus.Completed,
    TrainingJobStatus.Failed,
    TrainingJobStatus.InProgress,
    TrainingJobStatus.Stopped,
]
_STATUSES = frozenset({"Completed", "Failed", "InProgress", "Stopped"})
_WITH_VALUE = (TrainingJobStatus.Completed, TrainingJobStatus.Stopped)


@dataclass(frozen=True)
class Observation:
    """A frozen snapshot of one training job, as a strategy sees it.

    Attributes:
        hyperparameters: the tuned values the job was started with.
        status: ``Completed`` or ``Stopped`` with a value, ``Failed`` without, ``InProgress``
            (started or about to start, no value yet).
        value: the objective to minimise, when known.
        curve: ``(epoch, value)`` points of the objective reported during training (values
            to minimise); empty when the job reported none.
        interrupted: the job was cut short by its tuner's end (killed, SIGTERM, Ctrl-C, a
            lost store or cluster) and a new job replaces it: :meth:`Strategy.suggest`
            suggests its point again and no strategy counts it (its partial value is no
            result).
    """

    hyperparameters: Mapping[str, Any]
    status: ObservationStatus
    value: float | None = None
    curve: tuple[tuple[int, float], ...] = ()
    interrupted: bool = False

    def __post_init__(self) -> None:
        # A misspelt status (the older "Running", say) would make a strategy ignore the job
        # silently: neither a value nor a pending point.
        if self.status not in _STATUSES:
            raise ValueError(
                f"Observation status must be one of {', '.join(sorted(_STATUSES))}, "
                f"got {self.status!r}"
            )

    @property
    def has_value(self) -> bool:
        """True for a Completed or Stopped job with a value, not interrupted."""
        return self.value is not None and self.status in _WITH_VALUE and not self.interrupted


class ObservationLog(Sequence[Observation]):
    """Observations in creation order, kept up to date in place: a new training job is
    appended, a job whose state changed has its entry replaced.

    Read it as any sequence. It also journals which entries changed, so that a strategy can
    bring what it derives from the history (the points tried) up to date with the changes
    instead of recomputing it from every observation on every suggestion.
    """

    def __init__(self, observations: Iterable[Observation] = ()):
        self._items: list[Observation] = []
        self._changes: list[int] = []  # the index of each append or replacement, in order
        self._interrupted: set[int] = set()
        for o in observations:
            self.append(o)

    def append(self, observation: Observation) -> None:
        """Add the observation of a new training job."""
        self._items.append(observation)
        self._note(len(self._items) - 1, observation)

    def __setitem__(self, index: int, observation: Observation) -> None:
        """Replace the observation at ``index`` (its job's state changed)."""
        index = range(len(self._items))[index]  # IndexError as a list's, negatives allowed
        self._items[index] = observation
        self._note(index, observation)

    def _note(self, index: int, observation: Observation) -> None:
        self._changes.append(index)
        if observation.interrupted:
            self._interrupted.add(index)
        else:
            self._interrupted.discard(index)

    @property
    def changes(self) -> Sequence[int]:
        """The index of every append and replacement so far, in order (read only)."""
        return self._changes

    @property
    def interrupted(self) -> list[int]:
        """Indices of the interrupted observations, in order."""
        return sorted(self._interrupted)

    @overload
    def __getitem__(self, index: int) -> Observation: ...
    @overload
    def __getitem__(self, index: slice) -> list[Observation]: ...
    def __getitem__(self, index: int | slice) -> Observation | list[Observation]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Observation]:
        return iter(self._items)


class _Counted(Sequence[Observation]):
    """A log's observations without its interrupted ones, then ``pending`` (their re-runs,
    InProgress): what :meth:`Strategy._suggest` sees, without copying the log."""

    def __init__(self, log: ObservationLog, pending: Sequence[Observation]):
        self.log = log
        self.pending = list(pending)
        self._len = len(log) - len(log.interrupted) + len(self.pending)

    def __iter__(self) -> Iterator[Observation]:
        skip = set(self.log.interrupted)
        for i, o in enumerate(self.log):
            if i not in skip:
                yield o
        yield from self.pending

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Observation: ...
    @overload
    def __getitem__(self, index: slice) -> list[Observation]: ...
    def __getitem__(self, index: int | slice) -> Observation | list[Observation]:
        return list(self)[index]


class _Tried(Set[tuple]):
    """Read-only union of a counter's keys and a few more, without copying the counter."""

    def __init__(self, counts: Mapping[tuple, int], extra: Set[tuple] = frozenset()):
        self._counts = counts
        self._extra = extra

    def __contains__(self, key: object) -> bool:
        return key in self._counts or key in self._extra

    def __iter__(self) -> Iterator[tuple]:
        yield from self._counts
        yield from (k for k in self._extra if k not in self._counts)

    def __len__(self) -> int:
        return len(self._counts) + sum(k not in self._counts for k in self._extra)


class Strategy(ABC):
    """Suggests hyperparameters. Subclasses implement :meth:`_suggest`, which never sees an
    interrupted observation."""

    name: str = ""

    def __init__(self, space: SearchSpace, seed: int):
        self.space = space
        self.seed = int(seed)
        # The points tried in the last ObservationLog seen, brought up to date from its
        # journal: derived state only, so a fresh strategy (a resumed tuner) answers the same.
        self._memo_log: ObservationLog | None = None
        self._memo_synced = 0
        self._memo_counts: Counter[tuple] = Counter()
        self._memo_keys: list[tuple | None] = []

    def rng(self, observations: Sequence[Observation], salt: int = 0) -> np.random.Generator:
        """A generator fixed by the seed and the number of observations, so that a suggestion
        depends only on what is known, never on how many calls came before (resume-safe)."""
        return np.random.default_rng([self.seed, len(observations), salt])

    def known(self, observations: Sequence[Observation]) -> set[tuple]:
        """The keys of every observed point inside the space (running and failed included),
        so that no suggestion repeats one."""
        return set(self.tried(observations))

    def tried(self, observations: Sequence[Observation]) -> Set[tuple]:
        """:meth:`known` as a read-only set. For an :class:`ObservationLog` (or what
        :meth:`suggest` makes of one) it is kept up to date from the log's journal, so a
        suggestion costs no more with ten thousand observations than with ten."""
        if isinstance(observations, _Counted):
            extra = {k for k in map(self._key, observations.pending) if k is not None}
            return _Tried(self._log_counts(observations.log), extra)
        if isinstance(observations, ObservationLog):
            # The log's interrupted entries are not counted (see suggest), so it is tried as
            # a whole here, interrupted included, from its items.
            if not observations.interrupted:
                return _Tried(self._log_counts(observations))
        return {k for k in map(self._key, observations) if k is not None}

    def _key(self, o: Observation) -> tuple | None:
        hp = o.hyperparameters
        return self.space.key(hp) if self.space.contains(hp) else None

    def _log_counts(self, log: ObservationLog) -> Mapping[tuple, int]:
        """How often each point was tried among the log's observations that are not
        interrupted, updated with the changes since the last call."""
        if self._memo_log is not log:
            self._memo_log, self._memo_synced = log, 0
            self._memo_counts, self._memo_keys = Counter(), []
        counts, keys = self._memo_counts, self._memo_keys
        changes = log.changes
        for i in changes[self._memo_synced :]:
            if i < len(keys):
                old = keys[i]
                if old is not None:
                    counts[old] -= 1
                    if counts[old] <= 0:
                        del counts[old]
            else:
                keys.extend([None] * (i + 1 - len(keys)))
            o = log[i]
            new = None if o.interrupted else self._key(o)
            keys[i] = new
            if new is not None:
                counts[new] += 1
        self._memo_synced = len(changes)
        return counts

    def suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        """Return up to ``n`` new hyperparameter dicts.

        An interrupted job is run again: its point comes first, unless a later job has
        tried it. The strategy's own suggestions follow, made as if the interrupted jobs had
        never run and their re-runs were InProgress: so they consume no grid point or draw,
        and their partial values are never modelled.

        Args:
            observations: every training job of the tuning job so far, in creation order.
            n: how many suggestions are wanted (free parallel slots).

        Returns:
            At most ``n`` suggestions; fewer (possibly none) means the strategy has nothing
            left to try (Grid after the last combination).
        """
        if isinstance(observations, ObservationLog):
            # The log keeps its interrupted entries and the points tried up to date: no
            # observation is looked at again (see tried).
            interrupted = [observations[i] for i in observations.interrupted]
            base: Set[tuple] = _Tried(self._log_counts(observations))
        else:
            interrupted = [o for o in observations if o.interrupted]
            counted = [o for o in observations if not o.interrupted]
            base = self.tried(counted)
        tried: set[tuple] = set()  # the re-runs' points, beside those of the counted jobs
        again: list[dict[str, Any]] = []
        for o in interrupted:
            if len(again) >= n:
                break
            key = self._key(o)
            if key is not None and key not in base and key not in tried:
                tried.add(key)
                again.append(dict(o.hyperparameters))
        if len(again) >= n:
            return again
        pending = [Observation(hp, TrainingJobStatus.InProgress) for hp in again]
        if isinstance(observations, ObservationLog):
            rest: Sequence[Observation] = (
                _Counted(observations, pending) if interrupted else observations
            )
        else:
            rest = counted + pending
        return again + self._suggest(rest, n - len(again))

    @abstractmethod
    def _suggest(self, observations: Sequence[Observation], n: int) -> list[dict[str, Any]]:
        """:meth:`suggest` without the interrupted observations."""
