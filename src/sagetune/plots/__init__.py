"""Pictures of a tuning job: the plot data, then matplotlib and Plotly drawers of it.

:mod:`sagetune.plots.data` computes what each plot shows as plain arrays (pure functions of a
:class:`~sagetune.plots.data.TuningData` snapshot, unit-testable, no drawing library needed);
:mod:`sagetune.plots.static` draws it with matplotlib (PNG, SVG, PDF files) and
:mod:`sagetune.plots.interactive` with Plotly (the report and the dashboard).

The kinds:

- ``scatter``: the objective against each tuned hyperparameter, one panel each;
- ``convergence``: each job's objective in creation order and the best so far;
- ``time``: each job's objective when it ended (wall-clock) and the best so far then;
- ``parallel``: parallel coordinates over the tuned hyperparameters, coloured by the objective;
- ``curves``: learning curves of the objective metric, one line per job;
- ``importance``: importance bars per hyperparameter;
- ``contour``: the objective over the two most important hyperparameters;
- ``ecdf``: the empirical cumulative distribution of the objective;
- ``timeline``: a bar per training job from its start to its end, coloured by status.

Objective axes are robust (:func:`~sagetune.plots.data.value_axis`): a value far from the
rest is drawn as a triangle in a shaded band at the axis's edge instead of flattening the
others.
"""

from __future__ import annotations

from sagetune.plots.data import KINDS, TuningData

__all__ = ["KINDS", "TuningData"]
