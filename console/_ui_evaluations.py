"""Evaluations: the reports ``run.py evaluate`` wrote into the run directory's
``evaluations`` folder, listed newest first, and each shown as its report.

A report is drawn again from its ``report.json`` by the same template that wrote it, so
its untrusted lead text is escaped whatever the file beside it holds, and it is served
under the report's own policy: images from data URIs and its one style block, nothing
else, and no framing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from console._ui_page import Ui
from supervision.evaluation import REPORT_CSP, REPORT_JSON, Evaluation, render

router = APIRouter(include_in_schema=False)
EVALUATIONS = "evaluations"
"""The folder of a run directory that the console lists evaluations from."""
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""What an evaluation's folder may be called to be shown: no path, no dot-dot."""


@dataclass(frozen=True, slots=True)
class Listed:
    name: str
    evaluation: Evaluation | None
    """None when its ``report.json`` cannot be read."""
    modified: datetime


def listing(folder: Path) -> list[Listed]:
    """The evaluations in ``folder``, newest first."""
    found: list[Listed] = []
    if not folder.is_dir():
        return found
    for child in folder.iterdir():
        report = child / REPORT_JSON
        if not (NAME.fullmatch(child.name) and report.is_file()):
            continue
        modified = datetime.fromtimestamp(report.stat().st_mtime).astimezone()
        found.append(Listed(child.name, _load(report), modified))
    return sorted(found, key=lambda listed: listed.modified, reverse=True)


def _load(report: Path) -> Evaluation | None:
    try:
        return Evaluation.model_validate_json(report.read_bytes())
    except (OSError, ValidationError):
        return None


@router.get("/evaluations", response_class=HTMLResponse)
async def evaluations(request: Request, ui: Ui) -> Response:
    session = ui.need(request)
    folder = ui.system.config.out / EVALUATIONS
    found = await anyio.to_thread.run_sync(listing, folder)
    return ui.page(request, "evaluations.html", session, evaluations=found, folder=folder)


@router.get("/evaluations/{name}", response_class=HTMLResponse)
async def evaluation(request: Request, name: str, ui: Ui) -> Response:
    ui.need(request)
    report = ui.system.config.out / EVALUATIONS / name / REPORT_JSON
    if not NAME.fullmatch(name) or not report.is_file():
        raise HTTPException(404, f"no evaluation {name!r}; see /evaluations")
    loaded = await anyio.to_thread.run_sync(_load, report)
    if loaded is None:
        raise HTTPException(404, f"evaluation {name!r} has an unreadable {REPORT_JSON}")
    html = await anyio.to_thread.run_sync(render, loaded)
    response = HTMLResponse(html)
    response.headers["Content-Security-Policy"] = f"{REPORT_CSP}; frame-ancestors 'none'"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
