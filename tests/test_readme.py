"""README's quick start and its shell commands run as written, after ``make demo`` only."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from sagetune.cli import main
from sagetune.store import open_store

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _shell_commands(markdown: str) -> list[str]:
    """The commands of a section's ``sh`` blocks: continuations joined, comments dropped."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def test_quick_start_runs_as_written(tmp_path: Path) -> None:
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    (tmp_path / "quickstart.py").write_text(code.group(1))
    res = subprocess.run(
        [sys.executable, "quickstart.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert re.match(r"^sagetune-\d{6}-\d{6}-[0-9a-f]{4}-\d{3}-[0-9a-f]{8}$", lines[0])
    assert "'max_depth'" in lines[1] and "'booster'" in lines[1]
    assert (tmp_path / "quickstart.db").exists()


def test_make_demo_installs_what_the_readmes_commands_need() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo: (.*)\n\t(.*)$", makefile, re.M)
    assert demo is not None and demo.group(1) == "$(VENV)/.installed-examples"
    assert demo.group(2) == "$(PY) examples/xgboost_breast_cancer.py"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    installed = {Requirement(r).name for r in extras["examples"]}
    # The dashboard's, plot's and report's packages, and the examples' own.
    for extra in ("server", "plots", "xgboost"):
        assert {Requirement(r).name for r in extras[extra]} <= installed, extra
    assert "`.venv/bin/sagetune`" in _section("Two commands")


def test_the_demo_is_seeded_and_runs_one_job_at_a_time() -> None:
    # With jobs in parallel, Bayesian suggestions depend on which results are in first, so only
    # a seeded demo of one job at a time draws README's picture again.
    tree = ast.parse((ROOT / "examples" / "xgboost_breast_cancer.py").read_text())
    (call,) = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "HyperparameterTuner"
    ]
    given = {k.arg: k.value for k in call.keywords}
    assert isinstance(given["random_seed"], ast.Constant)
    assert isinstance(given["max_parallel_jobs"], ast.Constant)
    assert given["max_parallel_jobs"].value == 1


def test_every_readme_sagetune_command_names_a_verb_and_its_options() -> None:
    commands = [c for c in _shell_commands(README.read_text()) if c.startswith("sagetune ")]
    assert len(commands) >= 20
    for line in commands:
        args = shlex.split(line)[1:]
        command = main.commands.get(args[0])
        assert command is not None, line
        if args[0] == "db":
            command = command.commands.get(args[1])  # type: ignore[attr-defined]
            assert command is not None, line
        flags = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        flags |= {"--help", "-h"}
        for arg in args:
            if arg.startswith("-"):
                assert arg.split("=")[0] in flags, (line, arg)


def _sagetune() -> list[str]:
    # What make demo installs: the venv's console script, beside this Python.
    script = Path(sys.executable).parent / "sagetune"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sagetune"]


# Cannot run in a row: resume needs a tuner that died, and a detached job's training job may
# not exist yet when the next line runs. Their verbs and options are checked above, and each
# runs here with --help.
HELP_ONLY = ("sagetune resume ", "sagetune stop-training-job ")


@pytest.mark.slow
def test_the_cli_sections_commands_run_as_written(tmp_path: Path) -> None:
    lines = _shell_commands(_section("Training scripts and the request file"))
    assert lines[0] == "source .venv/bin/activate"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    # A tiny budget: two training jobs of one epoch.
    request = json.loads((tmp_path / "examples" / "request.json").read_text())
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 2
    request["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] = "1"
    (tmp_path / "examples" / "request.json").write_text(json.dumps(request))
    store_url = f"sqlite:///{tmp_path / 'home' / 'sagetune.db'}"
    env = {**os.environ, "SAGETUNE_HOME": str(tmp_path / "home"), "COLUMNS": "160"}
    env.pop("SAGETUNE_STORE", None)  # the default store, as a new user has it
    ran = []
    for line in lines[1:]:
        args = shlex.split(line)
        assert args[0] == "sagetune", line
        if line.startswith(HELP_ONLY):
            args = [args[1], "--help"]
        else:
            # The README's training job names stand for real ones: the job of that number.
            for i, arg in enumerate(args):
                placeholder = re.fullmatch(r"(.+)-(\d{3})-[0-9a-f]{8}", arg)
                if placeholder:
                    tuning_job, seq = placeholder.group(1), int(placeholder.group(2))
                    jobs = open_store(store_url).list_training_jobs(tuning_job)
                    args[i] = next(j.name for j in jobs if j.seq == seq)
            args = args[1:]
        res = subprocess.run(
            [*_sagetune(), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, (line, res.stdout, res.stderr)
        ran.append((args, res.stdout))
    outputs: dict[str, str] = {}
    for args, out in ran:
        outputs.setdefault(args[0], out)  # the first of each verb
    assert "my-job: Completed (2 training jobs)" in outputs["tune"]
    assert re.search(r"my-job\s.*Completed.*2/2", outputs["ls"])
    described = json.loads(outputs["describe-hyper-parameter-tuning-job"])
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert "validation:auc=" in outputs["logs"]
    # The detached tuner's log says how it ended, and nothing else (no warnings).
    follow = next(out for args, out in ran if args[:2] == ["logs", "my-job-2"])
    assert follow.splitlines() == ["my-job-2: Stopped"], follow
    # The detached one was stopped, then deleted: only my-job is left.
    assert [r.name for r in open_store(store_url).list_tuning_jobs()] == ["my-job"]
