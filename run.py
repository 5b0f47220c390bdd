"""Leadwright's command line, as ``python run.py COMMAND``: see ``cli`` for the commands."""

from __future__ import annotations

import sys

from cli import main, script

__all__ = ["main", "script"]

if __name__ == "__main__":
    sys.exit(main())
