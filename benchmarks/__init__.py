"""Benchmarks of sagetune's search strategies against Optuna's samplers.

- :mod:`benchmarks.problems`: the test functions and their sagetune search spaces.
- :mod:`benchmarks.quality`: best value found within a budget of training jobs.
- :mod:`benchmarks.overhead`: time of one suggestion at a given number of observations.
- :mod:`benchmarks.tuner_overhead`: many trivial training jobs through the SDK against Optuna.

Run from the repository root with ``PYTHONPATH=src python -m benchmarks.quality``; results go
to ``benchmarks/results/`` (not tracked).
"""
