"""Leadwright's command line, as ``python run.py COMMAND``: see ``cli`` for the commands."""

from __future__ import annotations

import sys

from cli import console, main

__all__ = ["console", "main"]

if __name__ == "__main__":
    sys.exit(main())
