"""Training images: what runs here for ``AlgorithmSpecification.TrainingImage``.

SageMaker runs a training job in a container made from an image; sagetune runs a local
process instead. An image is mapped to a way to run it, in this order:

1. A mapping in the images file (``$SAGETUNE_IMAGES``, else
   ``$XDG_CONFIG_HOME/sagetune/images.toml``, else ``~/.config/sagetune/images.toml``)::

       [[image]]
       pattern = "123456789012.dkr.ecr.*.amazonaws.com/my-algorithm:*"   # fnmatch-style
       command = ["python", "/home/me/my-algorithm/train.py"]            # run in the job folder

       [[image]]
       pattern = "registry.example.com/xgboost-fork:*"
       builtin = "xgboost"                                               # a built-in algorithm

   The first entry whose pattern matches the whole image URI wins.
2. A built-in local algorithm: SageMaker's XGBoost images (``sagemaker-xgboost:<version>`` and
   the legacy ``xgboost:1``) run :mod:`sagetune.algorithms.xgboost`.

A definition that names its own script (``sagemaker_program``) or ``LocalCommand`` runs that,
whatever the image; the image is then only a name in the answers, and the notice says so.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTINS = ("xgboost",)
LOCAL_IMAGE = "sagetune-local"  # the image answers show for a definition that names none


@dataclass(frozen=True)
class ImageRun:
    """How a training image runs here.

    Attributes:
        command: the command line started in the job folder (hyperparameters are read from
            ``input/config/hyperparameters.json`` and ``SM_*`` variables, as in a container).
        builtin: the built-in algorithm's name, or None for a mapped command.
        metric_definitions: the algorithm's predefined metrics (name -> regex).
        source: where the mapping came from (the images file, or "built-in").
        detail: what the log and the notice add (the local library's version).
        missing: what must be installed first, when something is missing.
    """

    command: tuple[str, ...]
    builtin: str | None = None
    metric_definitions: Mapping[str, str] = field(default_factory=dict)
    source: str = "built-in"
    detail: str = ""
    missing: str | None = None


def images_file() -> Path:
    """The user's images file (it need not exist)."""
    explicit = os.environ.get("SAGETUNE_IMAGES")
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "sagetune" / "images.toml"


def _builtin(name: str) -> ImageRun:
    # Only one built-in so far; BUILTINS names what a mapping's ``builtin`` may say.
    assert name == "xgboost"
    from sagetune.algorithms import xgboost as builtin_xgboost

    return ImageRun(
        # The file run by path, not ``-m``: a job then skips importing the sagetune package
        # (about a second a job); its folder is not put on sys.path, so ``import xgboost``
        # finds the library, not this module.
        command=(
            sys.executable,
            "-c",
            "import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name='__main__')",
            str(Path(builtin_xgboost.__file__)),
        ),
        builtin="xgboost",
        metric_definitions=dict(builtin_xgboost.METRIC_DEFINITIONS),
        detail=f", on this machine's xgboost {_version('xgboost')}",
        missing=(
            None
            if importlib.util.find_spec("xgboost") is not None
            else "the built-in XGBoost algorithm needs the xgboost package: "
            "pip install 'sagetune[xgboost]'"
        ),
    )


def _version(package: str) -> str:
    """An installed package's version, without importing it (xgboost takes a second)."""
    from importlib import metadata

    for name in (package, f"{package}-cpu"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "(not installed: pip install 'sagetune[xgboost]')"


def _load_mappings(path: Path) -> list[Mapping[str, Any]]:
    """The ``[[image]]`` entries of the images file; ValueError says what is wrong."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read as TOML ({exc})") from None
    entries = data.get("image", [])
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise ValueError(f"{path}: 'image' must be a list of [[image]] tables")
    for i, entry in enumerate(entries):
        where = f"{path}: [[image]] {i + 1}"
        if not isinstance(entry.get("pattern"), str) or not entry["pattern"]:
            raise ValueError(f"{where}: needs a pattern (a string)")
        command, builtin = entry.get("command"), entry.get("builtin")
        if (command is None) == (builtin is None):
            raise ValueError(f"{where}: give either command or builtin")
        if command is not None and (
            not isinstance(command, list)
            or not command
            or not all(isinstance(c, str) and c for c in command)
        ):
            raise ValueError(f"{where}: command must be a non-empty list of strings")
        if builtin is not None and builtin not in BUILTINS:
            raise ValueError(f"{where}: builtin must be one of {', '.join(BUILTINS)}")
    return entries


def resolve(image: str) -> ImageRun | None:
    """How ``image`` runs here, or None when nothing maps it.

    Raises:
        ValueError: the images file is malformed (the message names it and the entry).
    """
    path = images_file()
    for entry in _load_mappings(path):
        if fnmatch.fnmatchcase(image, entry["pattern"]):
            if entry.get("builtin"):
                return _builtin(entry["builtin"])
            command = tuple(entry["command"])
            if command[0] in ("python", "python3"):
                command = (sys.executable, *command[1:])  # this Python, with its packages
            return ImageRun(command=command, source=str(path))
    from sagetune.algorithms import xgboost as builtin_xgboost

    if builtin_xgboost.image_matches(image):
        return _builtin("xgboost")
    return None


def unmapped_message(field_path: str, image: str) -> str:
    """The error for an image nothing maps: what is wrong and the ways to fix it."""
    return (
        f"{field_path}: no local way to run the image {image!r}. Add a mapping to "
        f"{images_file()} ([[image]] with pattern = {image!r} and command = [...] to run, or "
        f'builtin = "xgboost"), or name a script: StaticHyperParameters.sagemaker_program '
        f"(run with this Python) or LocalCommand"
    )
