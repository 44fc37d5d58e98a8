"""What a result was measured on: machine, Python and package versions."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = (
    "numpy",
    "scipy",
    "optuna",
    "torch",
    # The other peers of benchmarks.quality and what their models run on.
    "ax-platform",
    "botorch",
    "gpytorch",
    "smac",
    "ConfigSpace",
    "xgboost",
    "xgboost-cpu",
    "scikit-learn",
    "greenlet",
    "threadpoolctl",
    "ray",
)

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cpu_model() -> str:
    try:
        out = subprocess.run(
            ["lscpu"], check=False, capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (other work on a shared machine skews timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def strategy_sources() -> dict[str, str]:
    """Short SHA-256 of each sagetune strategy module, to tie a result to the code measured."""
    import sagetune.strategies

    folder = Path(sagetune.strategies.__file__).parent
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()[:12] for f in sorted(folder.glob("*.py"))
    }


def environment() -> dict[str, Any]:
    """A JSON-able description of the machine and library versions."""
    versions: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "packages": versions,
        "load_average_at_start": load_average(),
        # Unset means the libraries' default (one thread per core).
        "thread_env": {k: os.environ.get(k) for k in _THREAD_VARS},
        "strategy_sources": strategy_sources(),
    }
    try:
        import torch

        # GPSampler's cost depends on how many threads torch may use.
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info
