"""``sagetune --help`` and each verb's help: whole descriptions, never cut off with "..."."""

from __future__ import annotations

import inspect

import click
from cli_helpers import sagetune
from click.testing import CliRunner

from sagetune.cli import main


def _verbs() -> list[tuple[list[str], click.Command]]:
    out: list[tuple[list[str], click.Command]] = []
    for name, command in sorted(main.commands.items()):
        out.append(([name], command))
        if isinstance(command, click.Group):
            out += [([name, sub], c) for sub, c in sorted(command.commands.items())]
    return out


def _flat(text: str) -> str:
    # Click wraps lines at spaces and after hyphens ("self-" / "contained"): compare the text
    # without its whitespace.
    return "".join(text.replace("\b", "").split())  # \b: Click's "keep these lines" mark


def test_the_listing_shows_every_verbs_whole_summary() -> None:
    listing = sagetune("--help", check=True).stdout
    assert "..." not in listing.split("Commands:", 1)[1]
    flat = _flat(listing)
    for path, command in _verbs():
        if len(path) > 1:
            continue
        summary = _flat(inspect.cleandoc(command.help or "").split("\n\n")[0])
        assert summary, f"{path[0]} has no help"
        assert path[0] + summary in flat, path[0]


def test_each_verbs_help_is_whole() -> None:
    # In-process: a process per verb would take a minute on a busy machine.
    verbs = _verbs()
    assert len(verbs) > 20
    for path, command in verbs:
        res = CliRunner().invoke(main, [*path, "--help"])
        assert res.exit_code == 0, res.output
        shown = res.output
        assert _flat(inspect.cleandoc(command.help or "")) in _flat(shown), path
        if isinstance(command, click.Group):  # db lists its verbs whole too
            for name, sub in command.commands.items():
                summary = _flat(inspect.cleandoc(sub.help or "").split("\n\n")[0])
                assert name + summary in _flat(shown), (path, name)
        for param in command.params:
            help_text = getattr(param, "help", None)
            if help_text:
                assert _flat(help_text) in _flat(shown), (path, param.name)
