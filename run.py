"""Leadwright's command line: launches the actor system and everything an operator does."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import asdict, replace
from enum import StrEnum
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
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
    EventLog,
    Icp,
    KnowledgeBase,
    LedgerStore,
    LetterStatus,
    LlmCaller,
    ReportRow,
    ReviewItem,
    ReviewStatus,
    WebSource,
    null_log,
)
from actors.drift import DRIFT_SHARE, DriftReport, Profile, compare, write_report
from actors.intake import InputError, RawRecord, read_records
from actors.llm import (
    DOWN_LIMIT_S,
    GatewaySpec,
    OpenAiLlm,
    StructuredMode,
    build_gateway,
    preflight,
)
from bus import NatsSettings, SqliteJournal, storage_failure
from messages import (
    POLICIES,
    LeadwrightError,
    Outcome,
    OutreachDraft,
    Redactor,
    ResearchResult,
    redacting,
    registry,
)
from supervision import (
    Credentials,
    PipelineConfig,
    Role,
    RunSettings,
    RunSummary,
    Tally,
    TraceNode,
    WorkerParts,
    WorkerSummary,
    build_trace,
    compact_run,
    entry_detail,
    event_log,
    parse_roles,
    run_worker,
    samples,
)
from supervision import Progress as RunProgress
from supervision.system import (
    JOURNAL_FILE,
    DirectoryLock,
    DraftEdit,
    DraftRefused,
    Run,
    Service,
    ServiceEnd,
    Stores,
    System,
    approve,
    export_csv,
    open_system,
    reject,
    replay,
    replayable,
)

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
review_app = typer.Typer(help="The human review queue: list, show, approve, reject.")
dead_app = typer.Typer(help="Dead letters: list them, and replay them.")
app.add_typer(review_app, name="review")
app.add_typer(dead_app, name="dead-letters")
# Nothing printed is rich markup: lead data, rule ids ("[draft.placeholder]") and paths
# show as they are.
stdout = Console(highlight=False, soft_wrap=True, markup=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

Out = Annotated[Path, typer.Option("--out", help="The run directory.")]
_prog: ContextVar[str] = ContextVar("prog", default="run.py")
"""How the operator called us ("run.py" or "leadwright"), for the commands in our hints."""


def hint(command: str) -> str:
    """``command`` as the operator types it: ``hint("report")`` is "leadwright report"."""
    return f"{_prog.get()} {command}"


Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class LlmBackend(StrEnum):
    offline = "offline"
    openai = "openai"
    local = "local"


class Source(StrEnum):
    kb = "kb"
    web = "web"


def fail(message: str) -> NoReturn:
    """Stop with one line for the operator and exit code 1."""
    stderr.print(f"error: {message}", markup=False)
    raise typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        try:
            number = installed_version("leadwright")
        except PackageNotFoundError:
            number = "(not installed)"
        typer.echo(f"leadwright {number}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def default(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version."),
    ] = False,
) -> None:
    """With no command: run the sample leads, offline, into runs/latest."""
    if ctx.invoked_subcommand is None:
        run(leads=samples.path("leads.csv"))


Llm = Annotated[LlmBackend, typer.Option(help="The LLM backend.")]
Model = Annotated[str | None, typer.Option(help="The model for the backend.")]
Concurrency = Annotated[int, typer.Option(min=1, max=1024, help="LLM calls in flight.")]
Rpm = Annotated[int | None, typer.Option(min=1, help="Requests per minute (openai).")]
Tpm = Annotated[int | None, typer.Option(min=1, help="Tokens per minute (openai).")]
Timeout = Annotated[float, typer.Option(min=0.01, help="Seconds per LLM call.")]
LatencyMs = Annotated[float, typer.Option(min=0.0, help="Offline LLM latency.")]
Chaos = Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of faulty calls.")]
Seed = Annotated[int, typer.Option(help="Seed for the offline engine and chaos.")]
Kb = Annotated[Path, typer.Option(help="Company knowledge base (JSON).")]
IcpFile = Annotated[Path, typer.Option(help="Ideal customer profile (TOML).")]
Sources = Annotated[Source, typer.Option(help="Where research finds evidence.")]
FallbackModel = Annotated[str | None, typer.Option(help="Model to use after provider errors.")]
CrmFaultRate = Annotated[
    float, typer.Option(min=0.0, max=0.99, help="Share of CRM writes that fail.")
]
Baseline = Annotated[Path | None, typer.Option(help="Drift baseline: a run directory or profile.")]
RunOut = Annotated[Path, typer.Option("--out", help="The run directory; running again resumes.")]
StructuredOutput = Annotated[
    StructuredMode, typer.Option(help="Structured output (openai): auto steps down as refused.")
]
ProviderDownLimit = Annotated[
    float, typer.Option(min=0.01, help="Seconds the LLM server may be down before stopping.")
]
KB_DEFAULT = SAMPLE_KB
ICP_DEFAULT = SAMPLE_ICP


@app.command()
def run(
    leads: Annotated[Path, typer.Argument(help="CSV or JSONL leads, or - for JSONL on stdin.")],
    out: RunOut = DEFAULT_OUT,
    llm: Llm = LlmBackend.offline,
    model: Model = None,
    concurrency: Concurrency = 16,
    rpm: Rpm = None,
    tpm: Tpm = None,
    timeout: Timeout = 30.0,
    latency_ms: LatencyMs = 0.0,
    chaos: Chaos = 0.0,
    seed: Seed = 0,
    kb: Kb = KB_DEFAULT,
    icp: IcpFile = ICP_DEFAULT,
    sources: Sources = Source.kb,
    fallback_model: FallbackModel = None,
    crm_fault_rate: CrmFaultRate = 0.0,
    baseline: Baseline = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = (
        False
    ),
    structured: StructuredOutput = StructuredMode.AUTO,
    provider_down_limit: ProviderDownLimit = DOWN_LIMIT_S,
) -> None:
    """Run leads through research, scoring, drafting and the CRM."""
    settings = _settings(locals())
    try:
        with DirectoryLock(out, command="run"):
            config = _config(settings, out)
            anyio.run(preflight, config.gateway, backend="asyncio")
            config = _with_baseline(config, baseline)
            stream = str(leads) == "-"
            records = read_records("-" if stream else leads, stdin=sys.stdin)
            total = None if stream else sum(1 for _ in read_records(leads))
            settings.save(out)
            secrets = [os.environ.get("OPENAI_API_KEY", "")]
            tally = Tally()
            with event_log(out, secrets=secrets, tally=tally) as log:
                config = replace(config, handle_signals=True, log=log)
                source = "stdin" if stream else str(leads)
                summary = _run(config, records, total, stream=stream, source=source, tally=tally)
    except (InputError, LeadwrightError) as exc:
        fail(str(exc))
    if summary.halted is not None:
        fail(f"run stopped: {summary.halted} Unfinished leads stay pending; rerun with --out {out}")
    if json_output:
        typer.echo(json.dumps(summary.contract()))
    else:
        _print_summary(summary, out, tally)
    if summary.interrupted is not None:
        name = signal.Signals(summary.interrupted).name
        stderr.print(f"stopped by {name}: {summary.pending} leads pending; rerun with --out {out}")
        raise typer.Exit(128 + summary.interrupted)


@app.command()
def serve(
    out: RunOut = DEFAULT_OUT,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="The port; 0 for any.")] = 8080,
    inbox: Annotated[
        int, typer.Option(min=1, help="Leads waiting for admission at most (then 429).")
    ] = 10_000,
    drift_window: Annotated[
        int, typer.Option(min=1, help="Accepted leads per live drift window.")
    ] = 500,
    llm: Llm = LlmBackend.offline,
    model: Model = None,
    concurrency: Concurrency = 16,
    rpm: Rpm = None,
    tpm: Tpm = None,
    timeout: Timeout = 30.0,
    latency_ms: LatencyMs = 0.0,
    chaos: Chaos = 0.0,
    seed: Seed = 0,
    kb: Kb = KB_DEFAULT,
    icp: IcpFile = ICP_DEFAULT,
    sources: Sources = Source.kb,
    fallback_model: FallbackModel = None,
    crm_fault_rate: CrmFaultRate = 0.0,
    baseline: Baseline = None,
    structured: StructuredOutput = StructuredMode.AUTO,
    provider_down_limit: ProviderDownLimit = DOWN_LIMIT_S,
    bus: Annotated[
        str | None,
        typer.Option(
            help="A NATS server, such as nats://HOST:4222: run only the stateful actors here, "
            "and the stages in `run.py worker` processes."
        ),
    ] = None,
    ack_wait: Annotated[
        float,
        typer.Option(min=0.1, help="With --bus: seconds before a dead process's messages go back."),
    ] = 30.0,
) -> None:
    """The system as a long-lived service: leads in over HTTP, until SIGINT or SIGTERM.

    With --bus, connects as the NATS user LEADWRIGHT_NATS_SERVE_USER (default: serve) with
    LEADWRIGHT_NATS_SERVE_PASSWORD; without a password, no login.
    """
    from console import HttpFace, load_token

    settings = _settings(locals())
    try:
        with DirectoryLock(out, command="serve") as lock:
            config = replace(
                _config(settings, out), inbox=inbox, drift_window=drift_window, handle_signals=True
            )
            if bus is not None:
                password = os.environ.get("LEADWRIGHT_NATS_SERVE_PASSWORD")
                config = replace(
                    config,
                    bus=bus,
                    bus_user=os.environ.get("LEADWRIGHT_NATS_SERVE_USER", "serve")
                    if password is not None
                    else None,
                    bus_password=password,
                    nats=NatsSettings(ack_wait=ack_wait, duplicate_window=max(600.0, 4 * ack_wait)),
                )
            else:
                # With --bus, the workers call the model; here, nothing does.
                anyio.run(preflight, config.gateway, backend="asyncio")
            config = _with_baseline(config, baseline)
            settings.save(out)
            token, made = load_token(out)
            if made:
                stderr.print(f"API token (kept in {out}/token): {token}", markup=False)

            def listening(url: str) -> None:
                lock.announce(url)
                stderr.print(f"serving {out} on {url} (Ctrl-C to stop)", markup=False)

            secrets = [os.environ.get("OPENAI_API_KEY", ""), token]
            with event_log(out, secrets=secrets, tally=Tally()) as log:
                config = replace(config, log=log)
                face = HttpFace(host=host, port=port, token=token, on_listening=listening)

                async def main() -> ServiceEnd:
                    try:
                        return await Service(config, face)()
                    finally:
                        await _close_backends(config)

                end = anyio.run(main, backend="asyncio")
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pass another --port")
    except LeadwrightError as exc:
        fail(str(exc))
    if end.halted is not None:
        fail(f"stopped: {end.halted} Unfinished leads stay pending; serve again with --out {out}")
    if end.signal is not None:
        name = signal.Signals(end.signal).name
        stderr.print(
            f"stopped by {name}: {end.pending} leads pending; serve again with --out {out}"
        )
        raise typer.Exit(128 + end.signal)


@app.command()
def worker(
    bus: Annotated[str, typer.Option(help="The NATS server, such as nats://HOST:4222.")],
    roles: Annotated[
        str, typer.Option(help="Comma-separated stages to run: research,scoring,writer,validator.")
    ] = "research,scoring,writer,validator",
    concurrency: Annotated[
        int, typer.Option(min=1, max=1024, help="Handlers per stage, and LLM calls in flight.")
    ] = 8,
    llm: Annotated[LlmBackend, typer.Option(help="The LLM backend.")] = LlmBackend.offline,
    model: Annotated[str | None, typer.Option(help="The model for the backend.")] = None,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute (openai).")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute (openai).")] = None,
    timeout: Annotated[float, typer.Option(min=0.01, help="Seconds per LLM call.")] = 30.0,
    latency_ms: Annotated[float, typer.Option(min=0.0, help="Offline LLM latency.")] = 0.0,
    chaos: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of faulty calls.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the offline engine and chaos.")] = 0,
    kb: Kb = KB_DEFAULT,
    icp: IcpFile = ICP_DEFAULT,
    sources: Annotated[Source, typer.Option(help="Where research finds evidence.")] = Source.kb,
    fallback_model: Annotated[
        str | None, typer.Option(help="Model to use after provider errors.")
    ] = None,
    ack_wait: Annotated[
        float, typer.Option(min=0.1, help="Seconds before a dead worker's messages go to another.")
    ] = 30.0,
    log_dir: Annotated[
        Path | None, typer.Option(help="Append the worker's events to DIR/events.jsonl.")
    ] = None,
) -> None:
    """Run stage actors that take their work from NATS; start as many as you like.

    Each role connects as its own NATS user: LEADWRIGHT_NATS_<ROLE>_USER (default: the
    role's name) with LEADWRIGHT_NATS_<ROLE>_PASSWORD; without a password, no login.
    Prints a JSON summary when stopped by SIGINT or SIGTERM.
    """
    settings = _settings(locals())
    try:
        chosen = parse_roles(roles)
        nats_settings = NatsSettings(ack_wait=ack_wait, duplicate_window=max(600.0, 4 * ack_wait))
        config = _config(settings, log_dir or Path("."))
    except LeadwrightError as exc:
        fail(str(exc))

    def credentials(role: Role) -> Credentials:
        prefix = f"LEADWRIGHT_NATS_{role.value.upper()}"
        return Credentials(
            user=os.environ.get(f"{prefix}_USER", role.value),
            password=os.environ.get(f"{prefix}_PASSWORD"),
        )

    async def main(log: EventLog) -> WorkerSummary:
        # A 429 hands its message back to NATS with a delayed nak, rather than holding it.
        caller = LlmCaller(
            config.gateway,
            limit=concurrency,
            fallback_model=config.fallback_model,
            defer_rate_limits=True,
        )
        parts = WorkerParts(
            caller=caller,
            icp=config.icp,
            source=config.source,
            handlers=concurrency,
            log=log,
            timeout=timeout,
        )
        try:
            return await run_worker(
                bus, chosen, parts, credentials=credentials, settings=nats_settings
            )
        finally:
            if isinstance(config.gateway, OpenAiLlm):
                await config.gateway.aclose()
            if isinstance(config.source, WebSource):
                await config.source.aclose()

    set_on_retry_hooks([])
    try:
        if log_dir is None:
            summary = anyio.run(main, null_log(), backend="asyncio")
        else:
            secrets = [os.environ.get("OPENAI_API_KEY", "")]
            with event_log(log_dir, secrets=secrets) as log:
                summary = anyio.run(main, log, backend="asyncio")
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    typer.echo(json.dumps(summary.contract()))


@app.command()
def report(
    out: Out = DEFAULT_OUT,
    json_output: Json = False,
    input_id: Annotated[
        str | None,
        typer.Option("--input", help="One input's lines, in its order: its number, or 'last'."),
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="Only records with this outcome (or pending).")
    ] = None,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Every record and its outcome, in the order submitted (or one input's lines)."""

    def rows_of(ledger: LedgerStore) -> list[ReportRow]:
        if input_id is None:
            return ledger.report()
        number = ledger.last_input() if input_id == "last" else _number(input_id, "--input")
        if number is None:
            fail(f"{out}: no input yet; run some leads first")
        return ledger.report(input_id=number)

    rows = _with_ledger(out, rows_of)
    if outcome is not None:
        if outcome not in {o.value for o in Outcome} | {PENDING}:
            known = ", ".join([o.value for o in Outcome] + [PENDING])
            fail(f"--outcome {outcome!r} is not one of: {known}")
        rows = [row for row in rows if row.outcome == outcome]
    if csv_output:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["record", "lead_id", "outcome", "reason"])
        writer.writerows([r.record, r.lead_id, r.outcome, r.reason] for r in rows)
        return
    if json_output:
        for row in rows:
            line = {"record": row.record, "lead_id": row.lead_id, "outcome": row.outcome}
            typer.echo(json.dumps(line | {"reason": row.reason}, ensure_ascii=False))
        return
    _table(
        ["record", "lead_id", "outcome", "reason"],
        [[str(r.record), r.lead_id, r.outcome, _fold(r.reason)] for r in rows],
    )


@review_app.command("list")
def review_list(
    out: Out = DEFAULT_OUT,
    everything: Annotated[bool, typer.Option("--all", help="Include decided items.")] = False,
    json_output: Json = False,
) -> None:
    """Items waiting for a person (all items with --all)."""
    status = None if everything else ReviewStatus.OPEN.value
    items = _with_stores(out, lambda stores: stores.review.items(status=status))
    if json_output:
        keys = ["id", "record", "lead_id", "stage", "failure", "status", "reason"]
        for item in items:
            typer.echo(json.dumps({k: getattr(item, k) for k in keys}, ensure_ascii=False))
        return
    rows = [
        [str(i.id), str(i.record), i.lead_id, i.stage, i.failure, i.status, _fold(i.reason)]
        for i in items
    ]
    _table(["id", "record", "lead_id", "stage", "failure", "status", "reason"], rows)


@review_app.command("show")
def review_show(
    item_id: Annotated[int, typer.Argument(help="The review item id.")], out: Out = DEFAULT_OUT
) -> None:
    """The lead, its outputs, the rules it failed, and what was done about it."""

    def read(stores: Stores) -> tuple[ReviewItem, list[tuple[str, str, str, str]]]:
        item = stores.review.item(item_id)
        if item is None:
            fail(f"no review item {item_id}; see review list")
        return item, stores.review.audit(item_id)

    item, actions = _with_stores(out, read)
    request = item.request
    say = _plain
    say(f"review item {item.id} ({item.status}): record {item.record}, lead {item.lead_id}")
    say(f"stage {request.stage.value}, {request.failure.value} after {request.attempts} attempt(s)")
    say(f"reason: {request.reason}")
    say("lead: " + request.lead.model_dump_json(indent=2))
    for violation in request.violations:
        say(f"failed rule {violation.rule}: {violation.reason}")
    output = request.last_output
    if isinstance(output, OutreachDraft):
        say(f"draft to {request.lead.email}:\n  Subject: {output.subject}\n")
        say("  " + output.body.replace("\n", "\n  "))
    elif output is not None:
        say("last output: " + output.model_dump_json(indent=2, exclude={"raw_reply"}))
    if output is not None and output.raw_reply is not None:
        say("raw LLM output:\n  " + output.raw_reply.replace("\n", "\n  "))
    trail = _with_journal(out, lambda journal: journal.trace(item.lead_id))
    for entry in trail:
        detail = entry_detail(entry)
        say(
            f"history: {entry.created_at:%H:%M:%S.%f} {entry.kind} #{entry.attempt} "
            f"from {entry.producer}{'  ' + detail if detail else ''}"
        )
    for at, action, note, reviewer in actions:
        by = f" by {reviewer}" if reviewer else ""
        say(f"history: {at} {action}{by} {note}")


Reviewer = Annotated[str, typer.Option(help="Who decides (kept in the audit).")]


@review_app.command("approve")
def review_approve(
    item_ids: Annotated[list[int], typer.Argument(help="One or more review item ids.")],
    out: Out = DEFAULT_OUT,
    note: Annotated[str, typer.Option(help="Why it is approved.")] = "",
    override: Annotated[
        bool, typer.Option(help="Approve a draft that breaks a rule (needs --note).")
    ] = False,
    reviewer: Reviewer = "",
) -> None:
    """Approve items: each lead resumes where it stopped."""

    async def work(system: System) -> None:
        for item_id in item_ids:
            decision = await approve(
                system, item_id, reviewer=reviewer, note=note, override=override
            )
            stdout.print(
                f"approved review item {item_id}: record {decision.record} is now "
                f"{decision.outcome}",
                markup=False,
            )

    _operate(out, work, needs_llm=_needs_llm(out, item_ids))


@review_app.command("edit")
def review_edit(
    item_id: Annotated[int, typer.Argument(help="The review item id.")],
    subject: Annotated[str, typer.Option(help="The draft's new subject.")],
    body_file: Annotated[Path, typer.Option(help="A file holding the draft's new body.")],
    out: Out = DEFAULT_OUT,
    note: Annotated[str, typer.Option(help="Why, for the audit.")] = "",
    override: Annotated[
        bool, typer.Option(help="Approve although a rule still fails (needs --note).")
    ] = False,
    reviewer: Reviewer = "",
) -> None:
    """Edit a draft and approve it: it runs through the draft policy again first."""
    try:
        body = body_file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"--body-file {body_file}: cannot be read ({exc.strerror or exc})")
    edit = DraftEdit(subject=subject, body=body)

    async def work(system: System) -> None:
        decision = await approve(
            system, item_id, reviewer=reviewer, note=note, edit=edit, override=override
        )
        stdout.print(
            f"edited and approved review item {item_id}: record {decision.record} is now "
            f"{decision.outcome}",
            markup=False,
        )

    _operate(out, work, needs_llm=False)


@review_app.command("reject")
def review_reject(
    item_ids: Annotated[list[int], typer.Argument(help="One or more review item ids.")],
    reason: Annotated[str, typer.Option(help="Why it is rejected (required).")],
    out: Out = DEFAULT_OUT,
    reviewer: Reviewer = "",
) -> None:
    """Reject items: each lead ends as failed, with the reason."""

    def reject_all(stores: Stores) -> None:
        for item_id in item_ids:
            decision = reject(stores, item_id, reason, reviewer=reviewer)
            _plain(f"rejected review item {item_id}: record {decision.record} is now failed")

    _with_stores(out, reject_all, lock=True)


@dead_app.command("list")
def dead_letters_list(
    out: Out = DEFAULT_OUT,
    everything: Annotated[bool, typer.Option("--all", help="Include replayed ones.")] = False,
    json_output: Json = False,
) -> None:
    """Dead letters not yet replayed, rejected ones included (all of them with --all)."""
    waiting = {LetterStatus.OPEN.value, LetterStatus.REJECTED.value}
    items = [
        item
        for item in _with_stores(out, lambda stores: stores.dead.items())
        if everything or item.status in waiting
    ]
    if json_output:
        keys = ["id", "record", "lead_id", "failure", "reason", "actor", "attempts", "status"]
        for item in items:
            typer.echo(json.dumps({k: getattr(item, k) for k in keys}, ensure_ascii=False))
        return
    rows = [
        [str(i.id), str(i.record or ""), i.lead_id or "", i.failure, i.actor, i.status,
         _fold(i.reason)]
        for i in items
    ]  # fmt: skip
    _table(["id", "record", "lead_id", "failure", "actor", "status", "reason"], rows)


@dead_app.command("show")
def dead_letters_show(
    letter_id: Annotated[int, typer.Argument(help="The dead letter id.")], out: Out = DEFAULT_OUT
) -> None:
    """One dead letter: its structured error, raw payload and raw LLM output."""
    item = _with_stores(out, lambda stores: stores.dead.item(letter_id))
    if item is None:
        fail(f"no dead letter {letter_id}; see dead-letters list")
    _plain(f"dead letter {item.id} ({item.status}): record {item.record}, lead {item.lead_id}")
    _plain(f"failure: {item.failure} in {item.actor} after {item.attempts} attempt(s)")
    _plain(f"reason: {item.reason}")
    _plain(f"payload: {item.payload}")
    if item.raw_output is not None:
        _plain(f"raw output: {item.raw_output}")


@dead_app.command("replay")
def dead_letters_replay(
    letter_ids: Annotated[
        list[int] | None, typer.Argument(help="Dead letters to replay; all open ones if omitted.")
    ] = None,
    out: Out = DEFAULT_OUT,
    rejected: Annotated[
        bool, typer.Option(help="Also replay leads that a person rejected.")
    ] = False,
) -> None:
    """Run dead-lettered leads again from the message that failed."""

    async def work(system: System) -> None:
        ids = (
            [i for given in letter_ids for i in replayable(system.stores, given, rejected=rejected)]
            if letter_ids
            else replayable(system.stores, None)
        )
        for letter_id in ids:
            decision = await replay(system, letter_id, rejected=rejected)
            _plain(
                f"replayed dead letter {letter_id}: record {decision.record} is now "
                f"{decision.outcome}"
            )

    _operate(out, work, needs_llm=True)


@app.command()
def export(
    out: Out = DEFAULT_OUT,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The CRM's rows (finished leads, score and draft) as CSV."""
    text = _with_stores(out, export_csv)
    if csv_file is None:
        sys.stdout.write(text)
        return
    try:
        csv_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--csv {csv_file}: cannot be written ({exc.strerror or exc})")
    _plain(f"wrote {text.count(chr(10)) - 1} rows to {csv_file}")


@app.command()
def trace(
    lead_id: Annotated[str, typer.Argument(help="The lead id, as report shows it.")],
    out: Out = DEFAULT_OUT,
    json_output: Json = False,
) -> None:
    """The causal chain of messages for one lead: who sent what, why, and when."""
    entries = _with_journal(out, lambda journal: journal.trace(lead_id))
    if not entries:
        fail(f"no messages for lead {lead_id!r} in {out}; see {hint('report')} --out {out}")
    roots = build_trace(entries)
    if json_output:
        typer.echo(json.dumps([root.to_dict() for root in roots], ensure_ascii=False))
        return
    tree = Tree(f"lead {lead_id}")
    _grow(tree, roots)
    stdout.print(tree)


def _grow(branch: Tree, nodes: list[TraceNode]) -> None:
    for node in nodes:
        entry = node.entry
        after = "" if node.after_s is None else f" +{node.after_s * 1000:.0f} ms"
        approved = " approved" if entry.approved else ""
        to = ", ".join(f"{s}{'' if acked else ' (pending)'}" for s, acked in entry.deliveries)
        label = Text(f"{entry.kind}{approved} #{entry.attempt} from {entry.producer}")
        label.append(f"{after} -> {to or 'no one'}", style="dim")
        if node.detail:
            label.append(f"  {node.detail}", style="cyan")
        _grow(branch.add(label), node.children)


@app.command()
def compact(out: Out = DEFAULT_OUT, json_output: Json = False) -> None:
    """Shrink the journal: finished leads keep their story (for trace), not every message."""
    if not (out / "journal.sqlite").is_file():
        fail(f"{out}: no run here (no journal.sqlite); pass the --out of a run")
    result = compact_run(out)
    per_lead = result.bytes_per_finished_lead
    if json_output:
        typer.echo(json.dumps(asdict(result) | {"bytes_per_finished_lead": round(per_lead)}))
        return
    stdout.print(
        f"compacted {result.compacted} of {result.finished_leads} finished leads in {out}: "
        f"journal {result.bytes_before / 1e6:.1f} MB -> {result.bytes_after / 1e6:.1f} MB "
        f"({per_lead / 1024:.1f} KB per finished lead)",
        markup=False,
    )


@app.command()
def drift(
    baseline: Annotated[Path, typer.Option(help="A run directory or profile.json.")],
    current: Annotated[Path, typer.Option(help="The run directory (or profile) to check.")],
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Write a report with plots here.")
    ] = None,
    json_output: Json = False,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 3 when any column drifted.")
    ] = False,
) -> None:
    """Compare a run's input and output distributions with a baseline.

    Exit code 3 with --fail-on-drift when any column drifted, so a scheduled job can gate.
    """
    try:
        reference, profile = Profile.load(baseline), Profile.load(current)
        result = compare(reference, profile)
        written = write_report(result, reference, profile, report_dir) if report_dir else None
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    if json_output:
        typer.echo(result.to_json())
    else:
        _print_drift(result, written)
    if fail_on_drift and result.drifted:
        raise typer.Exit(DRIFT_EXIT)


def _print_drift(result: DriftReport, written: Path | None) -> None:
    rows = [
        [c.name, c.role, c.test, f"{c.statistic:.3g}",
         "" if c.p_value is None else f"{c.p_value:.3g}", c.psi_band, "DRIFT" if c.drift else ""]
        for c in result.columns
    ]  # fmt: skip
    _table(["column", "kind", "test", "statistic", "p-value", "PSI", "drift"], rows)
    stdout.print(drift_verdict(result), markup=False)
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


def drift_verdict(result: DriftReport) -> str:
    """One line that agrees with the table: which columns drifted, and the dataset verdict."""
    drifted, total = len(result.drifted), len(result.columns)
    if not drifted:
        return f"no drift: none of {total} columns drifted"
    names = ", ".join(c.name for c in result.drifted)
    dataset = "dataset drift" if result.drift else "no dataset drift"
    return (
        f"drift in {drifted} of {total} columns ({names}); {dataset}, "
        f"which needs at least {DRIFT_SHARE:.0%} of the columns"
    )


def _settings(options: dict[str, object]) -> RunSettings:
    """The settings a command's options (its ``locals()``) give a run; the rest default."""
    values: dict[str, object] = {}
    for name in RunSettings.model_fields:
        if name in options and options[name] is not None:
            value = options[name]
            values[name] = value.value if isinstance(value, StrEnum) else value
    for name in ("kb", "icp", "baseline"):
        if name in values:
            values[name] = str(values[name])
    return RunSettings.model_validate(values)


def _with_baseline(config: PipelineConfig, baseline: Path | None) -> PipelineConfig:
    """``config`` comparing its drift with ``baseline``, a run directory or profile, if any."""
    if baseline is None:
        return config
    return replace(config, baseline=Profile.load(baseline), baseline_name=str(baseline))


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


def _operate(out: Path, work: Callable[[System], Awaitable[None]], *, needs_llm: bool) -> None:
    """Run an operator's action on a system that admits nothing else, under the lock.

    An action that calls no model (a draft's approval) runs on the offline engine, so it
    needs no API key; one that does uses the run's settings.
    """
    _must_exist(out)
    try:
        with DirectoryLock(out, command="operator action"):
            settings = RunSettings.load(out)
            if not needs_llm:
                settings = settings.model_copy(update={"llm": "offline", "chaos": 0.0})
            config = _config(settings, out)

            async def main() -> None:
                try:
                    async with open_system(config, admit=False) as system:
                        await work(system)
                finally:
                    await _close_backends(config)

            anyio.run(main, backend="asyncio")
    except DraftRefused as exc:
        for violation in exc.violations:
            stderr.print(f"  {violation.rule}: {violation.reason}", markup=False)
        fail(str(exc))
    except LeadwrightError as exc:
        fail(str(exc))


def _needs_llm(out: Path, item_ids: list[int]) -> bool:
    """Whether approving these items calls the model: only those that have no draft."""
    items = _with_stores(out, lambda stores: [stores.review.item(i) for i in item_ids])
    return any(
        item is not None and not isinstance(item.request.last_output, OutreachDraft)
        for item in items
    )


async def _close_backends(config: PipelineConfig) -> None:
    if isinstance(config.gateway, OpenAiLlm):
        await config.gateway.aclose()
    if isinstance(config.source, WebSource):
        await config.source.aclose()


def _run(
    config: PipelineConfig,
    records: Iterable[RawRecord],
    total: int | None,
    *,
    stream: bool,
    source: str,
    tally: Tally,
) -> RunSummary:
    # Retries are counted in the summary and the progress line, not printed one by one.
    set_on_retry_hooks([])
    columns = (TextColumn("leads"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())  # fmt: skip
    # A terminal gets a live bar; a log file or a pipe gets a plain line every few leads.
    live = stderr.is_terminal
    with Progress(*columns, console=stderr, disable=not live) as bar:
        task = bar.add_task("leads", total=total, detail="")
        last_line = [0]

        def update(progress: RunProgress) -> None:
            outcomes = " ".join(f"{k}={v}" for k, v in sorted(progress.outcomes.items()))
            calls = f"llm calls={progress.llm_calls} retries={progress.retries}"
            detail = f"{outcomes} | {calls} in flight={progress.in_flight_calls}"
            if tally.warnings or tally.errors:
                detail += f" | warnings={tally.warnings} errors={tally.errors} (events.jsonl)"
            bar.update(task, completed=progress.done, detail=detail)
            if not live and progress.done // PROGRESS_EVERY > last_line[0]:
                last_line[0] = progress.done // PROGRESS_EVERY
                of = f"/{progress.total}" if progress.total is not None else ""
                stderr.print(f"progress: {progress.done}{of} leads done; {detail}", markup=False)

        async def main() -> RunSummary:
            try:
                path = None if stream else Path(source)
                run = Run(
                    config, records, source=source, total=total, stream=stream, path=path,
                    on_progress=update,
                )  # fmt: skip
                return await run()
            finally:
                await _close_backends(config)

        return anyio.run(main, backend="asyncio")


def _print_summary(summary: RunSummary, out: Path, tally: Tally) -> None:
    rows = [[o.value, str(summary.outcomes.get(o.value, 0))] for o in Outcome]
    if summary.pending:
        rows.append(["pending", str(summary.pending)])
    _table(["outcome", "leads"], rows, title=f"Leadwright run: {out}")
    earlier = f", {summary.finished_earlier} finished earlier" if summary.finished_earlier else ""
    _plain(
        f"{summary.leads} leads in {summary.makespan_s:.2f} s ({summary.leads_per_s:.1f}/s)"
        f"{earlier}; {summary.llm_calls} LLM calls, {summary.retries} retries, "
        f"{summary.validation_failures} validation failures. Details: {hint('report')} --out {out}"
    )
    tokens = sum(summary.tokens_by_stage.values())
    if tokens:
        by_stage = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.tokens_by_stage.items()))
        cost = sum(summary.cost_usd_by_stage.values())
        priced = f"; cost ${cost:.4f}" if cost else ""
        _plain(f"tokens: {tokens:,} ({by_stage}){priced}")
    waiting = summary.outcomes.get(Outcome.NEEDS_REVIEW.value, 0)
    if waiting:
        _plain(f"{waiting} leads wait for a person: {hint('review list')} --out {out}")
    failed = summary.outcomes.get(Outcome.FAILED.value, 0)
    if failed:
        _plain(f"{failed} leads failed: {hint('dead-letters list')} --out {out}")
    if tally.warnings or tally.errors:
        _plain(f"{tally.warnings} warnings, {tally.errors} errors: see {out}/events.jsonl")
    if summary.drifted:
        drifted = ", ".join(summary.drifted)
        _plain(f"drift from the baseline in: {drifted} ({hint('drift')} for the report)")
    if summary.outcomes.get(Outcome.NEEDS_REVIEW.value):
        line = _no_evidence(out)
        if line is not None:
            _plain(line)


def _no_evidence(out: Path) -> str | None:
    """A line on the leads in review because nothing was known about their company."""
    items = _with_stores(out, lambda stores: stores.review.items(status="open"))
    domains = sorted(
        {
            item.request.lead.domain
            for item in items
            if isinstance(item.request.last_output, ResearchResult)
            and not item.request.last_output.evidence
        }
    )
    if not domains:
        return None
    shown = ", ".join(domains[:5]) + (", ..." if len(domains) > 5 else "")
    return (
        f"no evidence about {len(domains)} {'company' if len(domains) == 1 else 'companies'} "
        f"({shown}), so their leads wait for "
        f"review: pass --kb FILE with entries for those domains, or --sources web; "
        f"events.jsonl says why (no_evidence)"
    )


def _table(headers: list[str], rows: list[list[str]], *, title: str | None = None) -> None:
    # Cells are data, never markup: a rule id such as "[draft.placeholder]" must show.
    table = Table(title=None if title is None else Text(title))
    for header in headers:
        table.add_column(Text(header))
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    stdout.print(table)


T = TypeVar("T")


def _must_exist(out: Path) -> None:
    if not (out / JOURNAL_FILE).is_file():
        fail(f"{out}: no run here (no {JOURNAL_FILE}); pass the --out of a run")


def _with_stores(out: Path, work: Callable[[Stores], T], *, lock: bool = False) -> T:
    """Open the run directory's stores for ``work`` (under its lock when ``work`` writes)."""
    _must_exist(out)
    try:
        with DirectoryLock(out, command="operator action") if lock else contextlib.nullcontext():
            stores = Stores.open(out)
            try:
                if lock:
                    stores.settle_crm()
                return work(stores)
            finally:
                stores.close()
    except LeadwrightError as exc:
        fail(str(exc))


def _with_ledger(out: Path, work: Callable[[LedgerStore], T]) -> T:
    return _with_stores(out, lambda stores: work(stores.ledger))


def _with_journal(out: Path, work: Callable[[SqliteJournal], T]) -> T:
    def read(stores: Stores) -> T:
        assert stores.journal is not None
        return work(stores.journal)

    return _with_stores(out, read)


def _number(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        fail(f"{option} {text!r} is not a number")


def _fold(text: str, width: int = 80) -> str:
    """One line of at most ``width`` characters; ``show`` has the whole text."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _plain(text: str) -> None:
    stdout.print(text, markup=False, highlight=False)


def main(argv: Sequence[str] | None = None, *, prog: str = "run.py") -> int:
    """Run one command: operator mistakes are one line and exit code 1.

    ``prog`` is the name the operator typed, used in usage lines and hints.
    """
    token = _prog.set(prog)
    try:
        # Whatever any command writes, it writes through this redactor (see messages).
        with redacting(Redactor.from_environment()):
            code = app(args=argv, prog_name=prog, standalone_mode=False)
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.TyperException as exc:  # bad arguments or options
        stderr.print(f"error: {exc.format_message()} (see {prog} --help)", markup=False)
        return 1
    except typer.Abort:
        return 130
    except Exception as exc:
        # A full disk or a corrupt file surfaces from deep inside a run, often in an
        # exception group: the operator gets what happened and what to do, in one line.
        failure = storage_failure(exc, _out_of(argv))
        if failure is None:
            raise
        stderr.print(f"error: {failure}", markup=False)
        return 1
    finally:
        _prog.reset(token)
    return code if isinstance(code, int) else 0


def _out_of(argv: Sequence[str] | None) -> Path:
    """The run directory an argument list names, for a message about its storage."""
    args = list(sys.argv[1:] if argv is None else argv)
    for index, arg in enumerate(args):
        if arg == "--out" and index + 1 < len(args):
            return Path(args[index + 1])
        if arg.startswith("--out="):
            return Path(arg.removeprefix("--out="))
    return DEFAULT_OUT


def console() -> int:
    """The ``leadwright`` console script."""
    return main(prog="leadwright")


if __name__ == "__main__":
    sys.exit(main())
