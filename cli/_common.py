"""What every command shares: the typer apps, the consoles, one-line failures, the
run directory's stores, and tables that print data as data."""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextvars import ContextVar
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from actors import LedgerStore
from bus import SqliteJournal
from messages import LeadwrightError
from supervision.system import JOURNAL_FILE, Stores, samples

DEFAULT_OUT = Path("runs/latest")
SAMPLE_KB = samples.path("companies.json")
SAMPLE_ICP = samples.path("icp.toml")
"""The defaults of --kb and --icp: the samples, installed with the package."""
DRIFT_EXIT = 3
"""``drift --fail-on-drift`` exits with this when any column drifted."""
PROGRESS_EVERY = 10
"""Leads between progress lines when stderr is not a terminal."""

app = typer.Typer(
    name="leadwright",
    help="Leadwright: an autonomous sales-research pipeline built as a supervised actor system.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
review_app = typer.Typer(
    help="The inbox: drafts a person decides on (list, show, approve, edit, decline, retry)."
)
ops_app = typer.Typer(
    help="Operations: machine failures, retried on a schedule, then by an operator (list, "
    "show, retry)."
)
dead_app = typer.Typer(help="Dead letters: the same as ops (list, show, replay).")
app.add_typer(review_app, name="review")
app.add_typer(ops_app, name="ops")
app.add_typer(dead_app, name="dead-letters")
# Nothing printed is rich markup: lead data, rule ids ("[draft.placeholder]") and paths
# show as they are.
stdout = Console(highlight=False, soft_wrap=True, markup=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

Out = Annotated[Path, typer.Option("--out", help="The run directory.")]
PROG: ContextVar[str] = ContextVar("prog", default="run.py")
"""How the operator called us ("run.py" or "leadwright"), for the commands in our hints."""


def counted(count: int, noun: str) -> str:
    """``1 lead``, ``2 leads``: a count with its noun in the number it needs."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def hint(command: str) -> str:
    """``command`` as the operator types it: ``hint("report")`` is "leadwright report"."""
    return f"{PROG.get()} {command}"


Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str) -> NoReturn:
    """Stop with one line for the operator and exit code 1."""
    stderr.print(f"error: {message}", markup=False)
    raise typer.Exit(1)


def print_version(value: bool) -> None:
    if value:
        try:
            number = installed_version("leadwright")
        except PackageNotFoundError:
            number = "(not installed)"
        typer.echo(f"leadwright {number}")
        raise typer.Exit(0)


Tsv = Annotated[
    bool, typer.Option("--tsv", help="Print tab-separated values: a header, then one line a row.")
]
FOLD_WIDTH = 80
"""Characters a long cell keeps in a table on a terminal; piped, a table cuts nothing."""


def table(
    headers: list[str],
    rows: list[list[str]],
    *,
    title: str | None = None,
    tsv: bool = False,
    long: Collection[str] = (),
) -> None:
    """Print rows as a table: on a terminal, boxed, with the ``long`` columns cut to
    ``FOLD_WIDTH`` (``show`` has the whole text); piped, aligned plain text with every
    cell whole; with ``tsv``, tab-separated values."""
    if tsv:
        for line in [headers, *rows]:
            typer.echo("\t".join(" ".join(cell.split()) for cell in line))
        return
    if not stdout.is_terminal:
        _plain_table(headers, rows, title)
        return
    # Cells are data, never markup: a rule id such as "[draft.placeholder]" must show.
    folded = {index for index, header in enumerate(headers) if header in long}
    shown = Table(title=None if title is None else Text(title))
    for header in headers:
        shown.add_column(Text(header))
    for row in rows:
        shown.add_row(*(Text(fold(c) if i in folded else c) for i, c in enumerate(row)))
    stdout.print(shown)


def _plain_table(headers: list[str], rows: list[list[str]], title: str | None) -> None:
    lines = [[" ".join(cell.split()) for cell in line] for line in [headers, *rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    if title is not None:
        typer.echo(title)
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        typer.echo("  ".join(cells).rstrip())


T = TypeVar("T")


def must_exist(out: Path) -> None:
    if not (out / JOURNAL_FILE).is_file():
        fail(f"{out}: no run here (no {JOURNAL_FILE}); pass the --out of a run")


def with_stores(out: Path, work: Callable[[Stores], T]) -> T:
    """Open the run directory's stores for ``work`` to read (what changes a run directory
    goes through ``operate``, or the live system)."""
    must_exist(out)
    try:
        stores = Stores.open(out)
        try:
            return work(stores)
        finally:
            stores.close()
    except LeadwrightError as exc:
        fail(str(exc))


def with_ledger(out: Path, work: Callable[[LedgerStore], T]) -> T:
    return with_stores(out, lambda stores: work(stores.ledger))


def with_journal(out: Path, work: Callable[[SqliteJournal], T]) -> T:
    def read(stores: Stores) -> T:
        assert stores.journal is not None
        return work(stores.journal)

    return with_stores(out, read)


def parse_number(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        fail(f"{option} {text!r} is not a number")


def fold(text: str, width: int = FOLD_WIDTH) -> str:
    """One line of at most ``width`` characters; ``show`` has the whole text."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def plain(text: str) -> None:
    stdout.print(text, markup=False, highlight=False)
