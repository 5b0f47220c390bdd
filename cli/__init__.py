"""Leadwright's command line: launches the actor system and everything an operator does.

``run.py`` and the ``leadwright`` script both call ``main``; each family of commands is a
module of its own: running (``_run``, ``_serve``, ``_worker``, ``_evaluate``, their options
in ``_options``), operating (``_review``, ``_ops``, ``_operator``), reading (``_inspect``),
with what they share in ``_common`` and ``_config``.
"""

from cli._common import app
from cli._main import main, script

__all__ = ["app", "main", "script"]
