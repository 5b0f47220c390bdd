"""Running one command, as ``run.py`` or the ``leadwright`` script."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

import typer
from typer.core import TyperGroup

from bus import storage_failure
from cli._common import DEFAULT_OUT, PROG, app, stderr
from messages import Redactor, redacting

# Each family registers its commands as it is imported; in this order they are listed.
for _family in (
    "_run",
    "_serve",
    "_worker",
    "_inspect",
    "_review",
    "_ops",
    "_operator",
    "_webhooks",
    "_init",
    "_evaluate",
):
    importlib.import_module(f"cli.{_family}")


@functools.cache
def command_tree() -> TyperGroup:
    """Every command, as the parser runs them: built once per process, because typer reads
    each command's signature and type hints to build it, which takes longer than most
    operator commands take to run."""
    return typer.main.get_group(app)


def main(argv: Sequence[str] | None = None, *, prog: str = "run.py") -> int:
    """Run one command: operator mistakes are one line and exit code 1.

    ``prog`` is the name the operator typed, used in usage lines and hints.
    """
    token = PROG.set(prog)
    try:
        # Whatever any command writes, it writes through this redactor (see messages).
        with redacting(Redactor.from_environment()):
            code = command_tree()(args=argv, prog_name=prog, standalone_mode=False)
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.TyperException as exc:  # bad arguments or options
        stderr.print(f"error: {exc.format_message()} (see {prog} --help)", markup=False)
        return 1
    except typer.Abort:
        return 130
    except Exception as exc:
        # A full disk or a corrupt file surfaces from deep inside a run, often in an
        # exception group: the operator gets what happened and what to do, in one line.
        failure = storage_failure(exc, _out_of(argv))
        if failure is None:
            raise
        stderr.print(f"error: {failure}", markup=False)
        return 1
    finally:
        PROG.reset(token)
    return code if isinstance(code, int) else 0


def _out_of(argv: Sequence[str] | None) -> Path:
    """The run directory an argument list names, for a message about its storage."""
    args = list(sys.argv[1:] if argv is None else argv)
    for index, arg in enumerate(args):
        if arg == "--out" and index + 1 < len(args):
            return Path(args[index + 1])
        if arg.startswith("--out="):
            return Path(arg.removeprefix("--out="))
    return DEFAULT_OUT


def script() -> int:
    """The ``leadwright`` script (``[project.scripts]``)."""
    return main(prog="leadwright")
