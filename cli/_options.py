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
