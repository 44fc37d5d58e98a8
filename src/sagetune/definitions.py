"""Several training job definitions in one tuning job (``TrainingJobDefinitions``).

Each definition (an algorithm) has its own ranges, static hyperparameters and script. The
strategy searches one joint space: a categorical ``TrainingJobDefinitionName`` plus every
definition's ranges under ``<definition>.<name>``. A job of one definition is seen by the
strategy with the other definitions' ranges at fixed neutral values (the middle of a numeric
range, the first categorical value), so observations stay comparable. Grid walks the union of
each definition's own grid, not their product.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sagetune.space import CategoricalParameter, Parameter, SearchSpace

if TYPE_CHECKING:
    from sagetune.spec.model import DefinitionSpec

DEFINITION_KEY = "TrainingJobDefinitionName"


class JointSearchSpace(SearchSpace):
    """The strategy's view of several definitions (see the module docstring)."""

    def __init__(self, definitions: Sequence[DefinitionSpec]):
        self.definitions = {d.name: d for d in definitions}
        ranges: dict[str, Parameter] = {
            DEFINITION_KEY: CategoricalParameter([d.name for d in definitions])
        }
        for d in definitions:
            for hp, p in d.space.ranges.items():
                ranges[f"{d.name}.{hp}"] = p
        super().__init__(ranges)

    def split(self, joint: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(definition name, that definition's hyperparameters) of a joint point."""
        name = joint[DEFINITION_KEY]
        d = self.definitions[name]
        return name, {hp: joint[f"{name}.{hp}"] for hp in d.space.ranges}

    def join(self, name: str, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
        """The joint point of a definition's job (other definitions at neutral values)."""
        out: dict[str, Any] = {DEFINITION_KEY: name}
        for d in self.definitions.values():
            for hp, p in d.space.ranges.items():
                out[f"{d.name}.{hp}"] = hyperparameters[hp] if d.name == name else p.neutral()
        return out

    def grid_size(self) -> int:
        return sum(d.space.grid_size() for d in self.definitions.values())

    def grid(self) -> Iterable[dict[str, Any]]:
        for d in self.definitions.values():
            for combo in d.space.grid():
                yield self.join(d.name, combo)  # type: ignore[arg-type]
