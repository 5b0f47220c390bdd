"""The options of running on a team's own material: the workspace, the export's columns,
the knowledge base and profile, and where research finds evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli._common import Source

Kb = Annotated[
    Path | None,
    typer.Option(help="Company knowledge base (JSON); default: the workspace's, or the sample."),
]
IcpFile = Annotated[
    Path | None,
    typer.Option(help="Ideal customer profile (TOML); default: the workspace's, or the sample."),
]
WorkspaceDir = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        help="A workspace folder (run.py init); default: the current folder if it holds "
        "leadwright.toml.",
    ),
]
Sources = Annotated[
    Source | None,
    typer.Option(
        help="Where research finds evidence: kb, web, or kb,web (the kb first); default: "
        "the workspace's, or kb."
    ),
]
SourcesTtl = Annotated[
    float, typer.Option(min=0.0, help="Seconds a company site read stays fresh in --out.")
]
AllowPrivateSources = Annotated[
    bool,
    typer.Option(
        "--allow-private-sources",
        help="Let --sources web read loopback and private addresses (never cloud metadata).",
    ),
]
ColumnMapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help='Fill a lead field from a column the export names otherwise: "Header=field" '
        "(repeatable).",
    ),
]


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def duration(text: str | float) -> float:
    """Seconds from ``7d``, ``12h``, ``30m``, ``45s``, ``1w`` or a plain number of seconds."""
    if not isinstance(text, str):
        return float(text)  # the option's default
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:]) if value else None
    number = value[:-1] if scale is not None else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise typer.BadParameter(
            f"{text!r} is not a duration; write it as 7d, 12h, 30m, 45s, 1w or seconds (0: off)"
        )
    return seconds


ResearchTtl = Annotated[
    float,
    typer.Option(
        parser=duration,
        metavar="DURATION",
        show_default="7d",
        help="How long a company's validated research is reused by its other leads (7d, "
        "12h, 30m; 0 researches every lead).",
    ),
]
Prices = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Prices per million tokens (TOML or JSON, see docs/cost.md) over the shipped "
        "table of OpenAI models.",
    ),
]
CompactEvery = Annotated[
    int,
    typer.Option(
        min=0,
        help="Compact the journal in the background after this many finished leads (0: not "
        "by count).",
    ),
]
CompactMinutes = Annotated[
    float,
    typer.Option(
        min=0.0, help="Compact the journal in the background at least this often (0: not by time)."
    ),
]
