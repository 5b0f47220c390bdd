"""Leadwright's command line: launches the actor system and everything an operator does."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import anyio
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from stamina.instrumentation import set_on_retry_hooks

from actors import Icp, KnowledgeBase, LedgerStore, LlmGateway
from actors.intake import InputError, RawRecord, read_records
from actors.llm import ChaosLlm, OfflineLlm
from messages import LeadwrightError, Outcome, registry
from supervision import PipelineConfig, RunSummary, run_pipeline
from supervision import Progress as RunProgress

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
DEFAULT_OUT = Path("runs/latest")

app = typer.Typer(
    name="leadwright",
    help="Leadwright: an autonomous sales-research pipeline built as a supervised actor system.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)


class LlmBackend(StrEnum):
    offline = "offline"
    openai = "openai"


def fail(message: str) -> NoReturn:
    """Stop with one line for the operator and exit code 1."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


@app.callback(invoke_without_command=True)
def default(ctx: typer.Context) -> None:
    """With no command: run the sample leads, offline, into runs/latest."""
    if ctx.invoked_subcommand is None:
        run(leads=EXAMPLES / "leads.csv")


@app.command()
def run(
    leads: Annotated[
        Path, typer.Argument(help="A CSV or JSONL file of leads, or - for JSONL on stdin.")
    ],
    out: Annotated[
        Path, typer.Option(help="The run directory; running again resumes.")
    ] = DEFAULT_OUT,
    llm: Annotated[LlmBackend, typer.Option(help="The LLM backend.")] = LlmBackend.offline,
    model: Annotated[str | None, typer.Option(help="The model name for the backend.")] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1024, help="LLM calls in flight at most.")
    ] = 16,
    timeout: Annotated[
        float, typer.Option(min=0.01, help="Seconds per LLM call before it times out.")
    ] = 30.0,
    latency_ms: Annotated[
        float, typer.Option(min=0.0, help="Simulated offline LLM latency per call.")
    ] = 0.0,
    chaos: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of LLM calls with an injected fault.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the offline engine and fault injection.")] = 0,
    kb: Annotated[
        Path, typer.Option(help="The company knowledge base (JSON keyed by domain).")
    ] = EXAMPLES / "companies.json",
    icp: Annotated[Path, typer.Option(help="The ideal customer profile (TOML).")] = EXAMPLES
    / "icp.toml",
    crm_fault_rate: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Share of CRM writes that fail.")
    ] = 0.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
) -> None:
    """Run leads through research, scoring, drafting and the CRM."""
    # Retries are counted in the summary and shown in the progress line, not printed.
    set_on_retry_hooks([])
    try:
        profile = Icp.load(icp)
        source = KnowledgeBase.load(kb)
        gateway = _gateway(llm, model=model, seed=seed, latency_ms=latency_ms, chaos=chaos)
        records = read_records(leads if str(leads) != "-" else "-", stdin=sys.stdin)
        total = _count_records(leads)
        config = PipelineConfig(
            out=out,
            gateway=gateway,
            icp=profile,
            source=source,
            concurrency=concurrency,
            timeout=timeout,
            crm_fault_rate=crm_fault_rate,
            seed=seed,
        )
        summary = _run_with_progress(
            config, records, total, show=not json_output or sys.stderr.isatty()
        )
    except (InputError, LeadwrightError) as exc:
        fail(str(exc))
    if summary.halted is not None:
        fail(
            f"run stopped: {summary.halted} Unfinished leads stay pending; "
            f"fix it and run again with --out {out}."
        )
    if json_output:
        typer.echo(json.dumps(summary.contract()))
    else:
        _print_summary(summary, out)


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="The run directory.")] = DEFAULT_OUT,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON line per input record.")
    ] = False,
) -> None:
    """Show every input record and its outcome, in input order."""
    journal = out / "journal.sqlite"
    if not journal.is_file():
        fail(f"{out}: no run here (no journal.sqlite); pass the --out of a run")
    ledger = LedgerStore(journal)
    try:
        rows = ledger.report()
    finally:
        ledger.close()
    if json_output:
        for row in rows:
            typer.echo(
                json.dumps(
                    {
                        "record": row.record,
                        "lead_id": row.lead_id,
                        "outcome": row.outcome,
                        "reason": row.reason,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("record", "lead_id", "outcome", "reason")
    for row in rows:
        table.add_row(str(row.record), row.lead_id, row.outcome, row.reason)
    Console().print(table)


@app.command()
def contracts() -> None:
    """Print the JSON Schema of every message type."""
    typer.echo(json.dumps(registry.json_schemas(), indent=2, sort_keys=True))


def _gateway(
    backend: LlmBackend, *, model: str | None, seed: int, latency_ms: float, chaos: float
) -> LlmGateway:
    if backend is LlmBackend.openai:
        fail("--llm openai is not available in this version; use --llm offline")
    gateway: LlmGateway = OfflineLlm(seed=seed, latency_ms=latency_ms, model=model or "offline-1")
    if chaos > 0:
        gateway = ChaosLlm(gateway, rate=chaos, seed=seed)
    return gateway


def _count_records(leads: Path) -> int | None:
    """How many records the file holds, for the progress bar; ``None`` for stdin."""
    if str(leads) == "-":
        return None
    return sum(1 for _ in read_records(leads))


def _run_with_progress(
    config: PipelineConfig, records: Iterable[RawRecord], total: int | None, *, show: bool
) -> RunSummary:
    bar = Progress(
        TextColumn("[bold]leads"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=stderr,
        disable=not show,
        transient=False,
    )
    task = bar.add_task("leads", total=total, detail="")

    def update(progress: RunProgress) -> None:
        detail = " ".join(f"{k}={v}" for k, v in sorted(progress.outcomes.items()))
        detail += (
            f" | llm calls={progress.llm_calls} retries={progress.retries}"
            f" in flight={progress.in_flight_calls}"
        )
        bar.update(task, completed=progress.done, detail=detail)

    async def main() -> RunSummary:
        return await run_pipeline(config, records, total=total, on_progress=update)

    with bar:
        return anyio.run(main, backend="asyncio")


def _print_summary(summary: RunSummary, out: Path) -> None:
    table = Table(title=f"Leadwright run: {out}")
    table.add_column("outcome")
    table.add_column("leads", justify="right")
    for outcome in Outcome:
        table.add_row(outcome.value, str(summary.outcomes.get(outcome.value, 0)))
    if summary.pending:
        table.add_row("pending", str(summary.pending))
    Console().print(table)
    Console().print(
        f"{summary.leads} leads in {summary.makespan_s:.2f} s ({summary.leads_per_s:.1f}/s); "
        f"{summary.llm_calls} LLM calls, {summary.retries} retries, "
        f"{summary.validation_failures} validation failures. Details: run.py report --out {out}"
    )


def main() -> None:
    """The console-script entry point."""
    app()


if __name__ == "__main__":
    main()
