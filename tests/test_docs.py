"""The user-facing docs match the code: every command and option is in docs/cli.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup

from cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_line_reference_is_current() -> None:
    """docs/cli.md is what scripts/cli_reference.py makes from the commands' --help."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_command_and_option_says_what_it_is_for() -> None:
    """No command or option reaches the reference without its own help text."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    missing: list[str] = []
    groups = [("run.py", root)]
    while groups:
        path, group = groups.pop()
        for name, command in group.commands.items():
            where = f"{path} {name}"
            if not (command.help or "").strip():
                missing.append(where)
            if isinstance(command, TyperGroup):
                groups.append((where, command))
                continue
            for param in command.params:
                text = getattr(param, "help", None)
                if param.param_type_name == "option" and not (text or "").strip():
                    missing.append(f"{where} {param.opts[0]}")
    assert missing == []
