"""``init``: a starter workspace for a team's own leads, sender and profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli._common import app, fail, hint, plain
from messages import LeadwrightError
from supervision.system import init_workspace

_WHAT = {
    "leadwright.toml": "the sender, the draft policy's allowed links, the run's defaults",
    "icp.toml": "the ideal customer profile leads are scored against",
    "companies.json": "a small knowledge base: what research may say about companies",
    "leads.csv": "a lead template, with the headers of a CRM export",
    "prompts/research.txt": "the research stage's instructions",
    "prompts/scoring.txt": "the scoring stage's instructions",
    "prompts/writing.txt": "the writing stage's instructions",
}


@app.command()
def init(
    folder: Annotated[
        Path, typer.Argument(help="Where to write the workspace (made if missing).")
    ] = Path("."),
) -> None:
    """Write a starter workspace to edit: sender, ICP, knowledge base, prompts, lead template.

    Refuses to overwrite any file. `run` and `serve` started in the folder use it.
    """
    try:
        written = init_workspace(folder)
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    plain(f"A workspace in {folder}:")
    for path in written:
        name = path.relative_to(folder).as_posix()
        plain(f"  {name:<22} {_WHAT.get(name, '')}")
    where = "" if folder == Path(".") else f"cd {folder} && "
    plain(
        "Next: edit leadwright.toml and icp.toml, then run your export: "
        f"{where}{hint('run')} YOUR_EXPORT.csv --out runs/first; "
        f"review with {hint('review list')} --out runs/first"
    )
