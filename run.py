"""Leadwright's command line: launches the actor system and everything an operator does."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import anyio
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree
from stamina.instrumentation import set_on_retry_hooks

from actors import (
    PENDING,
    DeadLetterStore,
    Icp,
    KnowledgeBase,
    LedgerStore,
    ReviewItem,
    ReviewStore,
    WebSource,
)
from actors.drift import Profile, compare, write_report
from actors.intake import InputError, RawRecord, read_records
from actors.llm import DOWN_LIMIT_S, GatewaySpec, OpenAiLlm, build_gateway, preflight
from bus import SqliteJournal
from messages import (
    POLICIES,
    DeadLetter,
    Envelope,
    LeadwrightError,
    Outcome,
    UsageError,
    registry,
)
from supervision import (
    Injection,
    PipelineConfig,
    RunSettings,
    RunSummary,
    TraceNode,
    approval_envelope,
    build_trace,
    describe,
    event_log,
    replay_envelope,
    run_pipeline,
)
from supervision import Progress as RunProgress

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
DEFAULT_OUT = Path("runs/latest")
PROGRESS_EVERY = 10
"""Leads between progress lines when stderr is not a terminal."""

app = typer.Typer(
    name="leadwright",
    help="Leadwright: an autonomous sales-research pipeline built as a supervised actor system.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
review_app = typer.Typer(help="The human review queue: list, show, approve, reject.")
dead_app = typer.Typer(help="Dead letters: list them, and replay them.")
app.add_typer(review_app, name="review")
app.add_typer(dead_app, name="dead-letters")
stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

Out = Annotated[Path, typer.Option("--out", help="The run directory.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class LlmBackend(StrEnum):
    offline = "offline"
    openai = "openai"
    local = "local"


class Structured(StrEnum):
    auto = "auto"
    json_schema = "json_schema"
    json_object = "json_object"
    prompt = "prompt"


class Source(StrEnum):
    kb = "kb"
    web = "web"


def fail(message: str) -> NoReturn:
    """Stop with one line for the operator and exit code 1."""
    stderr.print(f"error: {message}", markup=False)
    raise typer.Exit(1)


@app.callback(invoke_without_command=True)
def default(ctx: typer.Context) -> None:
    """With no command: run the sample leads, offline, into runs/latest."""
    if ctx.invoked_subcommand is None:
        run(leads=EXAMPLES / "leads.csv")


@app.command()
def run(
    leads: Annotated[Path, typer.Argument(help="CSV or JSONL leads, or - for JSONL on stdin.")],
    out: Annotated[Path, typer.Option(help="The run directory; running again resumes.")] = (
        DEFAULT_OUT
    ),
    llm: Annotated[LlmBackend, typer.Option(help="The LLM backend.")] = LlmBackend.offline,
    model: Annotated[str | None, typer.Option(help="The model for the backend.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=1024, help="LLM calls in flight.")] = 16,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute (openai).")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute (openai).")] = None,
    timeout: Annotated[float, typer.Option(min=0.01, help="Seconds per LLM call.")] = 30.0,
    latency_ms: Annotated[float, typer.Option(min=0.0, help="Offline LLM latency.")] = 0.0,
    chaos: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of faulty calls.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the offline engine and chaos.")] = 0,
    kb: Annotated[Path, typer.Option(help="Company knowledge base (JSON).")] = (
        EXAMPLES / "companies.json"
    ),
    icp: Annotated[Path, typer.Option(help="Ideal customer profile (TOML).")] = (
        EXAMPLES / "icp.toml"
    ),
    sources: Annotated[Source, typer.Option(help="Where research finds evidence.")] = Source.kb,
    fallback_model: Annotated[
        str | None, typer.Option(help="Model to use after provider errors.")
    ] = None,
    crm_fault_rate: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Share of CRM writes that fail.")
    ] = 0.0,
    baseline: Annotated[
        Path | None, typer.Option(help="Drift baseline: a run directory or profile.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = (
        False
    ),
    structured: Annotated[
        Structured, typer.Option(help="Structured output (openai): auto steps down as refused.")
    ] = Structured.auto,
    provider_down_limit: Annotated[
        float, typer.Option(min=0.01, help="Seconds the LLM server may be down before stopping.")
    ] = DOWN_LIMIT_S,
) -> None:
    """Run leads through research, scoring, drafting and the CRM."""
    settings = RunSettings(
        llm=llm.value,
        model=model,
        structured=structured.value,
        provider_down_limit=provider_down_limit,
        fallback_model=fallback_model,
        concurrency=concurrency,
        timeout=timeout,
        latency_ms=latency_ms,
        chaos=chaos,
        seed=seed,
        rpm=rpm,
        tpm=tpm,
        kb=str(kb),
        icp=str(icp),
        sources=sources.value,
        crm_fault_rate=crm_fault_rate,
        baseline=str(baseline) if baseline is not None else None,
    )
    try:
        config = _config(settings, out)
        anyio.run(preflight, config.gateway, backend="asyncio")
        if baseline is not None:
            config = replace(config, baseline=Profile.load(baseline), baseline_name=str(baseline))
        records = read_records("-" if str(leads) == "-" else leads, stdin=sys.stdin)
        total = None if str(leads) == "-" else sum(1 for _ in read_records(leads))
        settings.save(out)
        secrets = [os.environ.get("OPENAI_API_KEY", "")]
        with event_log(out, secrets=secrets, console=stderr.is_terminal) as log:
            config = replace(config, handle_signals=True, log=log)
            summary = _run(config, records, total, show=True)
    except (InputError, LeadwrightError) as exc:
        fail(str(exc))
    if summary.halted is not None:
        fail(f"run stopped: {summary.halted} Unfinished leads stay pending; rerun with --out {out}")
    if json_output:
        typer.echo(json.dumps(summary.contract()))
    else:
        _print_summary(summary, out)
    if summary.interrupted is not None:
        name = signal.Signals(summary.interrupted).name
        stderr.print(f"stopped by {name}: {summary.pending} leads pending; rerun with --out {out}")
        raise typer.Exit(128 + summary.interrupted)


@app.command()
def report(out: Out = DEFAULT_OUT, json_output: Json = False) -> None:
    """Every input record and its outcome, in input order."""
    rows = _with(LedgerStore, out, "journal.sqlite", lambda ledger: ledger.report())
    if json_output:
        for row in rows:
            line = {"record": row.record, "lead_id": row.lead_id, "outcome": row.outcome}
            typer.echo(json.dumps(line | {"reason": row.reason}, ensure_ascii=False))
        return
    _table(
        ["record", "lead_id", "outcome", "reason"],
        [[str(r.record), r.lead_id, r.outcome, r.reason] for r in rows],
    )


@review_app.command("list")
def review_list(
    out: Out = DEFAULT_OUT,
    everything: Annotated[bool, typer.Option("--all", help="Include decided items.")] = False,
    json_output: Json = False,
) -> None:
    """Items waiting for a person (all items with --all)."""
    status = None if everything else "open"
    items = _with(ReviewStore, out, "review.sqlite", lambda store: store.items(status=status))
    rows = [[str(i.id), str(i.record), i.lead_id, i.stage, i.failure, i.status, i.reason[:80]]
            for i in items]  # fmt: skip
    if json_output:
        keys = ["id", "record", "lead_id", "stage", "failure", "status", "reason"]
        for item in items:
            typer.echo(json.dumps({k: getattr(item, k) for k in keys}, ensure_ascii=False))
        return
    _table(["id", "record", "lead_id", "stage", "failure", "status", "reason"], rows)


@review_app.command("show")
def review_show(item_id: Annotated[int, typer.Argument(help="The review item id.")],
                out: Out = DEFAULT_OUT) -> None:  # fmt: skip
    """The lead, its outputs, the rules it failed, and what was done about it."""
    store = _open(ReviewStore, out, "review.sqlite")
    try:
        item = _review_item(store, item_id)
        actions = store.actions(item_id)
    finally:
        store.close()
    request = item.request
    stdout.print(
        f"review item {item.id} ({item.status}): record {item.record}, lead {item.lead_id}"
    )
    stdout.print(
        f"stage {request.stage.value}, {request.failure.value} after {request.attempts} attempt(s)"
    )
    stdout.print(f"reason: {request.reason}", markup=False)
    stdout.print("lead: " + request.lead.model_dump_json(indent=2), markup=False)
    for violation in request.violations:
        stdout.print(f"failed rule {violation.rule}: {violation.reason}", markup=False)
    if request.last_output is not None:
        stdout.print("last output: " + request.last_output.model_dump_json(indent=2), markup=False)
    trail = _with(SqliteJournal, out, "journal.sqlite", lambda j: j.trace(item.lead_id))
    for entry in trail:
        envelope = entry.envelope
        detail = describe(envelope.message)
        stdout.print(
            f"history: {envelope.created_at:%H:%M:%S.%f} {envelope.kind} #{envelope.attempt} "
            f"from {envelope.producer}{'  ' + detail if detail else ''}",
            markup=False,
        )
    for at, action, note in actions:
        stdout.print(f"history: {at} {action} {note}", markup=False)


@review_app.command("approve")
def review_approve(
    item_id: Annotated[int, typer.Argument(help="The review item id.")],
    out: Out = DEFAULT_OUT,
    note: Annotated[str, typer.Option(help="Why it is approved.")] = "",
) -> None:
    """Approve the item: the lead resumes where it stopped."""
    store = _open(ReviewStore, out, "review.sqlite")
    try:
        item = _open_review_item(store, item_id)
        injection = Injection(item.record, approval_envelope(item.request))
        outcome = _resume(out, injection)
        store.decide(item_id, "approved", note)
    finally:
        store.close()
    stdout.print(f"approved review item {item_id}: record {item.record} is now {outcome}")


@review_app.command("reject")
def review_reject(
    item_id: Annotated[int, typer.Argument(help="The review item id.")],
    reason: Annotated[str, typer.Option(help="Why it is rejected (required).")],
    out: Out = DEFAULT_OUT,
) -> None:
    """Reject the item: the lead ends as failed, with the reason."""
    if not reason.strip():
        fail("--reason must say why the lead is rejected")
    store = _open(ReviewStore, out, "review.sqlite")
    try:
        item = _open_review_item(store, item_id)
        request = item.request
        envelope = Envelope.new(request, producer="reviewer", trace_id=item.lead_id)
        letter = DeadLetter(
            failure=request.failure,
            reason=f"rejected by reviewer: {reason}",
            actor="reviewer",
            payload=envelope.to_json(),
            attempts=request.attempts,
        )
        _with(DeadLetterStore, out, "dead_letters.sqlite",
              lambda dead: dead.add_sync(letter, (item.record, item.lead_id)))  # fmt: skip
        _with(LedgerStore, out, "journal.sqlite",
              lambda ledger: ledger.replace_outcome(item.record, Outcome.FAILED,
                                                    letter.reason))  # fmt: skip
        store.decide(item_id, "rejected", reason)
    finally:
        store.close()
    stdout.print(f"rejected review item {item_id}: record {item.record} is now failed")


@dead_app.command("list")
def dead_letters_list(
    out: Out = DEFAULT_OUT,
    everything: Annotated[bool, typer.Option("--all", help="Include replayed ones.")] = False,
    json_output: Json = False,
) -> None:
    """Dead letters not yet replayed (all of them with --all)."""
    status = None if everything else "open"
    items = _with(DeadLetterStore, out, "dead_letters.sqlite", lambda s: s.items(status=status))
    if json_output:
        keys = ["id", "record", "lead_id", "failure", "reason", "actor", "attempts", "status"]
        for item in items:
            typer.echo(json.dumps({k: getattr(item, k) for k in keys}, ensure_ascii=False))
        return
    rows = [[str(i.id), str(i.record or ""), i.lead_id or "", i.failure, i.actor, i.status,
             i.reason[:80]] for i in items]  # fmt: skip
    _table(["id", "record", "lead_id", "failure", "actor", "status", "reason"], rows)


@dead_app.command("replay")
def dead_letters_replay(
    item_id: Annotated[int | None, typer.Argument(help="One dead letter; all open if omitted.")] = (
        None
    ),
    out: Out = DEFAULT_OUT,
) -> None:
    """Run dead-lettered leads again from the message that failed."""
    store = _open(DeadLetterStore, out, "dead_letters.sqlite")
    try:
        if item_id is not None:
            item = store.item(item_id)
            if item is None:
                fail(f"no dead letter {item_id} in {out}; see run.py dead-letters list")
            items = [item]
        else:
            items = store.items(status="open")
        for item in items:
            if item.status != "open" or item.record is None:
                stderr.print(f"skipped dead letter {item.id}: {item.status}, no lead to replay")
                continue
            try:
                injection = Injection(item.record, replay_envelope(item.payload))
            except (UsageError, ValueError):
                stderr.print(f"skipped dead letter {item.id}: its payload cannot be replayed")
                continue
            outcome = _resume(out, injection)
            store.mark(item.id, "replayed")
            stdout.print(f"replayed dead letter {item.id}: record {item.record} is now {outcome}")
    finally:
        store.close()


@app.command()
def trace(
    lead_id: Annotated[str, typer.Argument(help="The lead id, as report shows it.")],
    out: Out = DEFAULT_OUT,
    json_output: Json = False,
) -> None:
    """The causal chain of messages for one lead: who sent what, why, and when."""
    entries = _with(SqliteJournal, out, "journal.sqlite", lambda journal: journal.trace(lead_id))
    if not entries:
        fail(f"no messages for lead {lead_id!r} in {out}; see run.py report --out {out}")
    roots = build_trace(entries)
    if json_output:
        typer.echo(json.dumps([root.to_dict() for root in roots], ensure_ascii=False))
        return
    tree = Tree(f"lead {lead_id}")
    _grow(tree, roots)
    stdout.print(tree)


def _grow(branch: Tree, nodes: list[TraceNode]) -> None:
    for node in nodes:
        envelope = node.entry.envelope
        after = "" if node.after_s is None else f" +{node.after_s * 1000:.0f} ms"
        approved = " approved" if envelope.approved else ""
        to = ", ".join(f"{s}{'' if acked else ' (pending)'}" for s, acked in node.entry.deliveries)
        label = Text(f"{envelope.kind}{approved} #{envelope.attempt} from {envelope.producer}")
        label.append(f"{after} -> {to or 'no one'}", style="dim")
        if node.detail:
            label.append(f"  {node.detail}", style="cyan")
        _grow(branch.add(label), node.children)


@app.command()
def drift(
    baseline: Annotated[Path, typer.Option(help="A run directory or profile.json.")],
    current: Annotated[Path, typer.Option(help="The run directory (or profile) to check.")],
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Write a report with plots here.")
    ] = None,
    json_output: Json = False,
) -> None:
    """Compare a run's input and output distributions with a baseline."""
    try:
        reference, profile = Profile.load(baseline), Profile.load(current)
        result = compare(reference, profile)
        written = write_report(result, reference, profile, report_dir) if report_dir else None
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    if json_output:
        typer.echo(result.to_json())
        return
    rows = [
        [c.name, c.role, c.test, f"{c.statistic:.3g}",
         "" if c.p_value is None else f"{c.p_value:.3g}", c.psi_band, "DRIFT" if c.drift else ""]
        for c in result.columns
    ]  # fmt: skip
    _table(["column", "kind", "test", "statistic", "p-value", "PSI", "drift"], rows)
    stdout.print("dataset drift" if result.drift else "no dataset drift")
    if written is not None:
        stdout.print(f"report: {written}")


@app.command()
def contracts(
    out: Annotated[Path | None, typer.Option(help="Write one file per type here.")] = None,
) -> None:
    """The JSON Schema of every message type."""
    schemas = registry.json_schemas()
    if out is None:
        typer.echo(json.dumps(schemas, indent=2, sort_keys=True))
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        for kind, schema in schemas.items():
            (out / f"{kind}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    except OSError as exc:
        fail(f"{out}: cannot write the schemas ({exc.strerror}); pass a writable --out")
    stdout.print(f"wrote {len(schemas)} schemas to {out}")


@app.command()
def failures(json_output: Json = False) -> None:
    """The failure taxonomy: how each failure is detected, and the path it takes."""
    rows = []
    for policy in POLICIES.values():
        attempts = "until it succeeds" if policy.max_attempts is None else str(policy.max_attempts)
        backoff = (
            f"{policy.backoff_initial:g}-{policy.backoff_max:g} s" if policy.backoff_max else "-"
        )
        ends = (
            policy.exhausted.value
            if policy.exhausted
            else ("run stops" if policy.stops_run else "-")
        )
        rows.append(
            [policy.failure.value, policy.detected_by, policy.path, attempts, backoff, ends]
        )
    if json_output:
        keys = ["failure", "detected_by", "path", "attempts", "backoff", "ends_as"]
        for row in rows:
            typer.echo(json.dumps(dict(zip(keys, row, strict=True))))
        return
    _table(["failure", "detected by", "path", "attempts", "backoff", "ends as"], rows)


def _config(settings: RunSettings, out: Path) -> PipelineConfig:
    spec = GatewaySpec(
        llm=settings.llm,
        model=settings.model,
        structured=settings.structured,
        rpm=settings.rpm,
        tpm=settings.tpm,
        seed=settings.seed,
        latency_ms=settings.latency_ms,
        chaos=settings.chaos,
        run_dir=out,
        provider_down_limit=settings.provider_down_limit,
    )
    gateway = build_gateway(spec)
    return PipelineConfig(
        out=out,
        gateway=gateway,
        icp=Icp.load(Path(settings.icp)),
        source=WebSource() if settings.sources == "web" else KnowledgeBase.load(Path(settings.kb)),
        concurrency=settings.concurrency,
        timeout=settings.timeout,
        crm_fault_rate=settings.crm_fault_rate,
        seed=settings.seed,
        fallback_model=settings.fallback_model,
    )


def _resume(out: Path, injection: Injection) -> str:
    """Clear a record's outcome, run its injection, and return its new outcome."""
    record = injection.record
    try:
        config = _config(RunSettings.load(out), out)
        _with(LedgerStore, out, "journal.sqlite", lambda ledger: ledger.clear_outcome(record))
        summary = _run(config, (), None, show=False, injections=[injection])
    except LeadwrightError as exc:
        fail(str(exc))
    if summary.halted is not None:
        fail(f"stopped: {summary.halted} The lead stays pending; try again later")
    rows = _with(LedgerStore, out, "journal.sqlite", lambda ledger: ledger.report())
    return next((row.outcome for row in rows if row.record == record), PENDING)


def _run(
    config: PipelineConfig,
    records: Iterable[RawRecord],
    total: int | None,
    *,
    show: bool,
    injections: Sequence[Injection] = (),
) -> RunSummary:
    # Retries are counted in the summary and the progress line, not printed one by one.
    set_on_retry_hooks([])
    columns = (TextColumn("leads"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())  # fmt: skip
    # A terminal gets a live bar; a log file or a pipe gets a plain line every few leads.
    live = show and stderr.is_terminal
    with Progress(*columns, console=stderr, disable=not live) as bar:
        task = bar.add_task("leads", total=total, detail="")

        def update(progress: RunProgress) -> None:
            outcomes = " ".join(f"{k}={v}" for k, v in sorted(progress.outcomes.items()))
            calls = f"llm calls={progress.llm_calls} retries={progress.retries}"
            detail = f"{outcomes} | {calls} in flight={progress.in_flight_calls}"
            bar.update(task, completed=progress.done, detail=detail)
            if show and not live and progress.done % PROGRESS_EVERY == 0:
                of = f"/{progress.total}" if progress.total is not None else ""
                stderr.print(f"progress: {progress.done}{of} leads done; {detail}", markup=False)

        async def main() -> RunSummary:
            try:
                return await run_pipeline(
                    config, records, injections=injections, total=total, on_progress=update
                )
            finally:
                if isinstance(config.gateway, OpenAiLlm):
                    await config.gateway.aclose()
                if isinstance(config.source, WebSource):
                    await config.source.aclose()

        return anyio.run(main, backend="asyncio")


def _print_summary(summary: RunSummary, out: Path) -> None:
    rows = [[o.value, str(summary.outcomes.get(o.value, 0))] for o in Outcome]
    if summary.pending:
        rows.append(["pending", str(summary.pending)])
    _table(["outcome", "leads"], rows, title=f"Leadwright run: {out}")
    stdout.print(
        f"{summary.leads} leads in {summary.makespan_s:.2f} s ({summary.leads_per_s:.1f}/s); "
        f"{summary.llm_calls} LLM calls, {summary.retries} retries, "
        f"{summary.validation_failures} validation failures. Details: run.py report --out {out}",
        markup=False,
    )
    if summary.drifted:
        drifted = ", ".join(summary.drifted)
        stdout.print(f"drift from the baseline in: {drifted} (run.py drift for the report)")


def _table(headers: list[str], rows: list[list[str]], *, title: str | None = None) -> None:
    table = Table(*headers, title=title)
    for row in rows:
        table.add_row(*row)
    stdout.print(table)


Store = TypeVar("Store", LedgerStore, ReviewStore, DeadLetterStore, SqliteJournal)
T = TypeVar("T")


def _open(store: type[Store], out: Path, filename: str) -> Store:
    path = out / filename
    if not path.is_file():
        fail(f"{out}: no run here (no {filename}); pass the --out of a run")
    return store(path)


def _with(store: type[Store], out: Path, filename: str, work: Callable[[Store], T]) -> T:
    opened = _open(store, out, filename)
    try:
        return work(opened)
    finally:
        opened.close()


def _review_item(store: ReviewStore, item_id: int) -> ReviewItem:
    item = store.item(item_id)
    if item is None:
        fail(f"no review item {item_id}; see run.py review list")
    return item


def _open_review_item(store: ReviewStore, item_id: int) -> ReviewItem:
    item = _review_item(store, item_id)
    if item.status != "open":
        fail(f"review item {item_id} is already {item.status}")
    return item


def main(argv: Sequence[str] | None = None) -> int:
    """The console-script entry point: operator mistakes are one line and exit code 1."""
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.TyperException as exc:  # bad arguments or options
        stderr.print(f"error: {exc.format_message()} (see --help)", markup=False)
        return 1
    except typer.Abort:
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
