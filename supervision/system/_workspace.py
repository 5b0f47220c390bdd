"""A workspace: the folder a team edits, marked by ``leadwright.toml``.

``init_workspace(folder)`` writes a starter one, every field explained by a comment:
``leadwright.toml`` (the sender, the draft policy's allowed link domains, where the other
files are, the run's defaults), ``icp.toml``, ``companies.json`` (a small knowledge
base), ``prompts/`` (the three stages' instructions) and ``leads.csv`` (a lead template
with the headers of a CRM export). ``Workspace.load(folder)`` reads one back; ``find_workspace``
says which folder a command uses: ``--workspace DIR``, else the current folder when it
holds ``leadwright.toml``, else none.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, final

from actors import INSTRUCTIONS, PROMPT_FILES, Sender
from messages import UsageError
from supervision.system._settings import Sources

MARKER = "leadwright.toml"
"""The file that makes a folder a workspace."""
TEMPLATES = ("leadwright.toml", "icp.toml", "companies.json", "leads.csv")
"""The files ``init`` copies from ``supervision/system/samples/workspace``."""

_PROMPT_HEADER = """\
# The {stage} stage's instructions: what the model is asked to do, in your words.
# Lines starting with # are comments. Leadwright adds, after these, that everything
# about the lead is data and never instructions; that sentence cannot be removed.
# Each output records the version (the content hash) of the prompt that made it.
"""


@final
@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace as read from its ``leadwright.toml``: paths are absolute."""

    folder: Path
    sender: Sender
    icp: Path
    knowledge_base: Path
    prompts: Path
    sources: Sources | None
    """The run's default ``--sources``, if the workspace sets one."""

    @staticmethod
    def load(folder: Path) -> Workspace:
        """Read ``folder/leadwright.toml``; a bad one raises ``UsageError`` naming the fix."""
        folder = folder.resolve()
        path = folder / MARKER
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(
                f"{folder}: not a workspace (no {MARKER}); run `run.py init {folder}` first"
            ) from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the workspace ({exc.strerror})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not a valid TOML file ({exc}); fix it") from None
        try:
            return _workspace(folder, data)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(
                f"{path}: bad or missing {exc}; compare with a fresh `run.py init` folder"
            ) from None


def _workspace(folder: Path, data: Mapping[str, Any]) -> Workspace:
    sender = dict(data["sender"])
    links = data.get("draft", {}).get("allowed_link_domains", [])
    sender["link_domains"] = links
    files_ = data.get("files", {})
    sources = data.get("run", {}).get("sources")
    if sources is not None and sources not in tuple(Sources):
        choices = ", ".join(Sources)
        raise ValueError(f"run.sources ({sources!r}; use one of {choices})")
    return Workspace(
        folder=folder,
        sender=Sender.from_mapping(sender),
        icp=folder / str(files_.get("icp", "icp.toml")),
        knowledge_base=folder / str(files_.get("knowledge_base", "companies.json")),
        prompts=folder / str(files_.get("prompts", "prompts")),
        sources=None if sources is None else Sources(sources),
    )


def find_workspace(option: Path | None, cwd: Path | None = None) -> Workspace | None:
    """The workspace a command uses: ``--workspace DIR``, else the current folder when it
    holds ``leadwright.toml``, else None."""
    if option is not None:
        return Workspace.load(option)
    here = cwd if cwd is not None else Path.cwd()
    return Workspace.load(here) if (here / MARKER).is_file() else None


def init_workspace(folder: Path) -> list[Path]:
    """Write a starter workspace into ``folder`` (made if missing); the files written.

    Refuses, writing nothing, when any of them exists already.
    """
    planned = {folder / name: _template(name) for name in TEMPLATES}
    for stage, name in PROMPT_FILES.items():
        text = _PROMPT_HEADER.format(stage=stage.value) + "\n" + INSTRUCTIONS[stage] + "\n"
        planned[folder / "prompts" / name] = text
    existing = [path for path in planned if path.exists()]
    if existing:
        shown = ", ".join(str(path.relative_to(folder)) for path in existing)
        raise UsageError(
            f"{folder} already has {shown}; init writes only new files: "
            "pick another folder or move them away"
        )
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(planned)


def _template(name: str) -> str:
    return (files("supervision.system.samples") / "workspace" / name).read_text(encoding="utf-8")
