"""The review console: server-rendered pages over the live system, with htmx for the
parts that update in place (the edited draft's verdict) and server-sent events for the
dashboard.

Lead data is untrusted: templates autoescape everything, pages forbid inline scripts
(Content-Security-Policy), and every change goes through ``supervision.system``'s
operations, with the session's reviewer and a CSRF-checked form.

The routes live by what they serve: signing in (``_ui_signin``), reviewing
(``_ui_review``), Operations (``_ui_ops``), the dashboard and drift (``_ui_reports``),
the CRM (``_ui_crm``), webhooks (``_ui_webhooks``) and evaluations (``_ui_evaluations``).
Each takes the app's ``Pages`` (``_ui_page``) as ``Ui``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from console import (
    _ui_crm,
    _ui_evaluations,
    _ui_ops,
    _ui_reports,
    _ui_review,
    _ui_signin,
    _ui_webhooks,
)
from console._ui_page import Pages
from console._ui_session import SessionPolicy
from supervision.system import System

STATIC = Path(__file__).resolve().parent / "static"
"""htmx (pinned), the console's script and its style sheet."""


def install_console(app: FastAPI, system: System, sessions: SessionPolicy | None = None) -> None:
    """Serve the console's pages at ``/`` on ``app`` over ``system``, and its static files;
    ``sessions`` says how long a reviewer's session lasts."""
    app.state.pages = Pages(system, sessions)
    areas = (
        _ui_signin,
        _ui_review,
        _ui_ops,
        _ui_reports,
        _ui_crm,
        _ui_webhooks,
        _ui_evaluations,
    )
    for area in areas:
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
