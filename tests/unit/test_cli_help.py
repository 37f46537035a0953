"""The CLI as its help and the README show it: every command's help prints (on/off flags as flags, with no value
placeholder), and every `kamflow` command in the README's code blocks parses — its command exists, its options and
arguments are the command's — so the README's examples stay true."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kamflow.app.cli import app

README = Path(__file__).parents[2] / "README.md"
ROOT = typer.main.get_command(app)


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if hasattr(group, "commands"):  # a group (Typer's own click)
        for name, command in group.commands.items():
            yield from _commands(command, (*path, name))
    else:
        yield path


COMMANDS = sorted(_commands(ROOT))


def readme_commands() -> list[list[str]]:
    """Each `kamflow …` line of the README's code blocks (continued lines joined; `a · b` is two commands), as the
    words after `kamflow`, comments left out."""
    blocks = re.findall(r"^```\w*\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    found = []
    for line in lines:
        if "kamflow " not in line or not line.lstrip().startswith(("./dev kamflow", "kamflow")):
            continue
        for part in line.split("kamflow ", 1)[1].split(" · "):
            words = shlex.split(part.removeprefix("kamflow "), comments=True)
            if words:
                found.append(words)
    return found


def test_the_readme_shows_many_commands() -> None:
    assert len(readme_commands()) > 40


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_prints_its_help_with_flags_as_flags(path: tuple[str, ...]) -> None:
    done = CliRunner().invoke(app, [*path, "--help"])
    assert done.exit_code == 0, done.output
    assert "<bool>" not in done.output and "Usage:" in done.output


@pytest.mark.parametrize("words", readme_commands(), ids=" ".join)
def test_every_readme_command_parses(words: list[str]) -> None:
    command: Any = ROOT
    context = ROOT.context_class(ROOT, info_name="kamflow")
    rest = list(words)
    while hasattr(command, "commands"):
        name, rest = rest[0], rest[1:]
        found = command.get_command(context, name)
        assert found is not None, f"kamflow has no command {' '.join(words[: len(words) - len(rest)])}"
        command = found
    command.make_context(" ".join(words[: len(words) - len(rest)]), rest, parent=context)


def test_every_command_but_the_servers_answers_in_json_as_the_readme_says() -> None:
    def options(path: tuple[str, ...]) -> set[str]:
        command: Any = ROOT
        for name in path:
            command = command.commands[name]
        return {opt for param in command.params for opt in param.opts}

    assert [path for path in COMMANDS if "--json" not in options(path)] == [("serve",), ("server",), ("worker",)]
