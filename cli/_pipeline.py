"""The commands that run the system: run, serve, worker (and no command at all)."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from actors import (
    DEFAULT_RESEARCH_TTL,
    DEFAULT_TTL,
    EventLog,
    LlmCaller,
    null_log,
    otel_telemetry,
    reporting,
)
from actors.intake import ColumnMap, InputError, RawRecord, parse_map, read_records
from actors.llm import DOWN_LIMIT_S, OpenAiLlm, StructuredMode, preflight
from bus import NatsSettings
from cli._common import (
    DEFAULT_OUT,
    PROGRESS_EVERY,
    SAMPLE_ICP,
    SAMPLE_KB,
    LlmBackend,
    Source,
    app,
    fail,
    hint,
    plain,
    print_version,
    stderr,
    table,
    with_stores,
)
from cli._config import PROMPTS_DIR, close_backends, config_of, settings_of, with_baseline
from cli._cost import cost_lines
from cli._options import (
    AllowPrivateSources,
    ColumnMapOption,
    CompactEvery,
    CompactMinutes,
    IcpFile,
    Kb,
    Prices,
    ResearchTtl,
    Sources,
    SourcesTtl,
    WorkspaceDir,
)
from messages import FailureKind, LeadwrightError, Outcome
from supervision.system import (
    Credentials,
    DirectoryLock,
    PipelineConfig,
    Role,
    Run,
    RunSummary,
    Service,
    ServiceEnd,
    Tally,
    WorkerParts,
    WorkerSummary,
    command_log,
    library_logs,
    parse_roles,
    run_worker,
    samples,
)
from supervision.system import Progress as RunProgress


@app.callback(invoke_without_command=True)
def default(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=print_version, help="Print the version."),
    ] = False,
) -> None:
    """With no command: run the sample leads, offline, into runs/latest."""
    if ctx.invoked_subcommand is None:
        run(leads=samples.path("leads.csv"), kb=SAMPLE_KB, icp=SAMPLE_ICP, sources=Source.kb)


Llm = Annotated[LlmBackend, typer.Option(help="The LLM backend.")]
Model = Annotated[str | None, typer.Option(help="The model for the backend.")]
Concurrency = Annotated[int, typer.Option(min=1, max=1024, help="LLM calls in flight.")]
Rpm = Annotated[int | None, typer.Option(min=1, help="Requests per minute (openai).")]
Tpm = Annotated[int | None, typer.Option(min=1, help="Tokens per minute (openai).")]
Timeout = Annotated[float, typer.Option(min=0.01, help="Seconds per LLM call.")]
LatencyMs = Annotated[float, typer.Option(min=0.0, help="Offline LLM latency.")]
Chaos = Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of faulty calls.")]
Seed = Annotated[
    int, typer.Option(help="Seed for the offline engine and chaos; sent to openai unless 0.")
]
FallbackModel = Annotated[str | None, typer.Option(help="Model to use after provider errors.")]
CrmFaultRate = Annotated[
    float, typer.Option(min=0.0, max=0.99, help="Share of CRM writes that fail.")
]
Baseline = Annotated[Path | None, typer.Option(help="Drift baseline: a run directory or profile.")]
RunOut = Annotated[Path, typer.Option("--out", help="The run directory; running again resumes.")]
StructuredOutput = Annotated[
    StructuredMode, typer.Option(help="Structured output (openai): auto steps down as refused.")
]
Otel = Annotated[
    bool,
    typer.Option(
        "--otel",
        help="Export traces and GenAI metrics over OTLP/HTTP (the otel extra; also on when "
        "OTEL_EXPORTER_OTLP_ENDPOINT is set).",
    ),
]
ProviderDownLimit = Annotated[
    float, typer.Option(min=0.01, help="Seconds the LLM server may be down before stopping.")
]
Rules = Annotated[
    Path | None, typer.Option(help="A rule set (TOML): rules to disable, thresholds to change.")
]
OpsRetry = Annotated[
    int,
    typer.Option(
        min=0,
        help="Automatic retries of a machine failure in Operations, from about a minute "
        "apart up to hours; 0 leaves each to an operator (ops retry).",
    ),
]


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
    kb: Kb = None,
    icp: IcpFile = None,
    sources: Sources = None,
    sources_ttl: SourcesTtl = DEFAULT_TTL,
    allow_private_sources: AllowPrivateSources = False,
    research_ttl: ResearchTtl = DEFAULT_RESEARCH_TTL,
    prices: Prices = None,
    compact_every: CompactEvery = 100,
    compact_minutes: CompactMinutes = 10.0,
    fallback_model: FallbackModel = None,
    crm_fault_rate: CrmFaultRate = 0.0,
    baseline: Baseline = None,
    rules: Rules = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = (
        False
    ),
    structured: StructuredOutput = StructuredMode.AUTO,
    provider_down_limit: ProviderDownLimit = DOWN_LIMIT_S,
    otel: Otel = False,
    column_map: ColumnMapOption = None,
    workspace: WorkspaceDir = None,
    ops_retry: OpsRetry = 4,
) -> None:
    """Run leads through research, scoring, drafting and the CRM.

    Operations' retries that are due when it starts run with it; later ones wait for the
    next run or serve on the same --out.
    """
    settings = settings_of(locals())
    try:
        columns = parse_map(column_map or [])
        with DirectoryLock(out, command="run"):
            config = config_of(settings, out)
            anyio.run(preflight, config.gateway, backend="asyncio")
            config = with_baseline(config, baseline)
            stream = str(leads) == "-"
            records = read_records(
                "-" if stream else leads,
                stdin=sys.stdin,
                columns=columns,
                on_columns=_say_mapping,
            )
            settings.save(out)
            config.prompts.save(out / PROMPTS_DIR)
            secrets = [os.environ.get("OPENAI_API_KEY", "")]
            tally = Tally()
            with command_log(out, secrets=secrets, tally=tally) as log:
                config = replace(config, handle_signals=True, log=log)
                source = "stdin" if stream else str(leads)
                with reporting(otel_telemetry("leadwright", flag=otel)):
                    summary = _run(
                        config,
                        records,
                        stream=stream,
                        source=source,
                        tally=tally,
                        header_map=columns,
                    )
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
    kb: Kb = None,
    icp: IcpFile = None,
    sources: Sources = None,
    sources_ttl: SourcesTtl = DEFAULT_TTL,
    allow_private_sources: AllowPrivateSources = False,
    research_ttl: ResearchTtl = DEFAULT_RESEARCH_TTL,
    prices: Prices = None,
    compact_every: CompactEvery = 100,
    compact_minutes: CompactMinutes = 10.0,
    fallback_model: FallbackModel = None,
    crm_fault_rate: CrmFaultRate = 0.0,
    baseline: Baseline = None,
    rules: Rules = None,
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
    session_idle_minutes: Annotated[
        float, typer.Option(min=1, help="A reviewer's session ends after this long idle.")
    ] = 120.0,
    session_max_hours: Annotated[
        float, typer.Option(min=0.1, help="A reviewer's session ends this long after sign-in.")
    ] = 12.0,
    otel: Otel = False,
    workspace: WorkspaceDir = None,
    ops_retry: OpsRetry = 4,
) -> None:
    """The system as a long-lived service: leads in over HTTP, until SIGINT or SIGTERM.

    With --bus, connects as the NATS user LEADWRIGHT_NATS_SERVE_USER (default: serve) with
    LEADWRIGHT_NATS_SERVE_PASSWORD; without a password, no login.
    """
    from console import HttpFace, HttpLimits, load_token

    settings = settings_of(locals())
    try:
        with DirectoryLock(out, command="serve") as lock:
            config = replace(
                config_of(settings, out),
                inbox=inbox,
                drift_window=drift_window,
                handle_signals=True,
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
            config = with_baseline(config, baseline)
            settings.save(out)
            config.prompts.save(out / PROMPTS_DIR)
            token, made = load_token(out)
            if made:
                stderr.print(f"API token (kept in {out}/token): {token}", markup=False)

            def listening(url: str) -> None:
                lock.announce(url)
                stderr.print(f"serving {out} on {url} (Ctrl-C to stop)", markup=False)

            secrets = [os.environ.get("OPENAI_API_KEY", ""), token]
            with command_log(out, secrets=secrets, tally=Tally()) as log:
                config = replace(config, log=log)
                limits = HttpLimits(
                    session_idle_s=session_idle_minutes * 60,
                    session_max_s=session_max_hours * 3600,
                )
                face = HttpFace(
                    host=host, port=port, token=token, on_listening=listening, limits=limits
                )

                async def main() -> ServiceEnd:
                    try:
                        return await Service(config, face)()
                    finally:
                        await close_backends(config)

                with reporting(otel_telemetry("leadwright-serve", flag=otel)):
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
    kb: Kb = None,
    icp: IcpFile = None,
    sources: Sources = None,
    sources_ttl: SourcesTtl = DEFAULT_TTL,
    allow_private_sources: AllowPrivateSources = False,
    prices: Prices = None,
    fallback_model: Annotated[
        str | None, typer.Option(help="Model to use after provider errors.")
    ] = None,
    rules: Rules = None,
    ack_wait: Annotated[
        float, typer.Option(min=0.1, help="Seconds before a dead worker's messages go to another.")
    ] = 30.0,
    log_dir: Annotated[
        Path | None, typer.Option(help="Append the worker's events to DIR/events.jsonl.")
    ] = None,
    otel: Otel = False,
    workspace: WorkspaceDir = None,
) -> None:
    """Run stage actors that take their work from NATS; start as many as you like.

    Each role connects as its own NATS user: LEADWRIGHT_NATS_<ROLE>_USER (default: the
    role's name) with LEADWRIGHT_NATS_<ROLE>_PASSWORD; without a password, no login.
    Prints a JSON summary when stopped by SIGINT or SIGTERM.
    """
    settings = settings_of(locals())
    try:
        chosen = parse_roles(roles)
        nats_settings = NatsSettings(ack_wait=ack_wait, duplicate_window=max(600.0, 4 * ack_wait))
        config = config_of(settings, log_dir or Path("."))
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
            prompts=config.prompts,
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
            await config.source.aclose()

    try:
        with reporting(otel_telemetry("leadwright-worker", flag=otel)):
            if log_dir is None:
                # Nowhere to keep them: what libraries log (retries among it) is dropped.
                with library_logs(null_log()) as log:
                    summary = anyio.run(main, log, backend="asyncio")
            else:
                secrets = [os.environ.get("OPENAI_API_KEY", "")]
                with command_log(log_dir, secrets=secrets) as log:
                    summary = anyio.run(main, log, backend="asyncio")
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    typer.echo(json.dumps(summary.contract()))


def _run(
    config: PipelineConfig,
    records: Iterable[RawRecord],
    *,
    stream: bool,
    source: str,
    tally: Tally,
    header_map: Mapping[str, str],
) -> RunSummary:
    """Run the records; ``header_map`` (``--map``) also serves to count the file's records."""
    # Retries are counted in the summary and the progress line; each one is in the
    # event log (command_log), never printed.
    columns = (TextColumn("leads"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())  # fmt: skip
    # A terminal gets a live bar; a log file or a pipe gets a plain line every few leads.
    live = stderr.is_terminal
    with Progress(*columns, console=stderr, disable=not live) as bar:
        task = bar.add_task("leads", total=None, detail="")
        last_line = [0]

        def update(progress: RunProgress) -> None:
            outcomes = " ".join(f"{k}={v}" for k, v in sorted(progress.outcomes.items()))
            calls = f"llm calls={progress.llm_calls} retries={progress.retries}"
            detail = f"{outcomes} | {calls} in flight={progress.in_flight_calls}"
            if tally.warnings or tally.errors:
                detail += f" | warnings={tally.warnings} errors={tally.errors} (events.jsonl)"
            bar.update(task, completed=progress.done, total=progress.total, detail=detail)
            if not live and progress.done // PROGRESS_EVERY > last_line[0]:
                last_line[0] = progress.done // PROGRESS_EVERY
                of = f"/{progress.total}" if progress.total is not None else ""
                stderr.print(f"progress: {progress.done}{of} leads done; {detail}", markup=False)

        async def main() -> RunSummary:
            try:
                path = None if stream else Path(source)
                run = Run(
                    config, records, source=source, stream=stream, path=path,
                    count=None if path is None else partial(_count_records, path, header_map),
                    on_progress=update,
                )  # fmt: skip
                return await run()
            finally:
                await close_backends(config)

        return anyio.run(main, backend="asyncio")


def _say_mapping(mapping: ColumnMap) -> None:
    """The header mapping, once on stderr, unless the columns are the fields' own names."""
    if not mapping.plain:
        stderr.print(mapping.summary(), markup=False)


def _count_records(path: Path, columns: Mapping[str, str]) -> int:
    return sum(1 for _ in read_records(path, columns=columns))


def _print_summary(summary: RunSummary, out: Path, tally: Tally) -> None:
    rows = [[o.value, str(summary.outcomes.get(o.value, 0))] for o in Outcome]
    if summary.pending:
        rows.append(["pending", str(summary.pending)])
    table(["outcome", "leads"], rows, title=f"Leadwright run: {out}")
    earlier = f", {summary.finished_earlier} finished earlier" if summary.finished_earlier else ""
    plain(
        f"{summary.leads} leads in {summary.makespan_s:.2f} s ({summary.leads_per_s:.1f}/s)"
        f"{earlier}; {summary.llm_calls} LLM calls, {summary.retries} retries, "
        f"{summary.validation_failures} validation failures. Details: {hint('report')} --out {out}"
    )
    for spent in cost_lines(summary.cost):
        plain(spent)
    waiting = summary.outcomes.get(Outcome.NEEDS_REVIEW.value, 0)
    if waiting:
        plain(f"{waiting} leads wait for a person in the inbox: {hint('review list')} --out {out}")
    failed = summary.outcomes.get(Outcome.FAILED.value, 0)
    if failed:
        plain(
            f"{failed} leads are in Operations (machine failures, retried on a schedule): "
            f"{hint('ops list')} --out {out}"
        )
    if tally.warnings or tally.errors:
        plain(f"{tally.warnings} warnings, {tally.errors} errors: see {out}/events.jsonl")
    if summary.drifted:
        drifted = ", ".join(summary.drifted)
        plain(f"drift from the baseline in: {drifted} ({hint('drift')} for the report)")
    if summary.outcomes.get(Outcome.NEEDS_REVIEW.value):
        line = _no_evidence(out)
        if line is not None:
            plain(line)


def _no_evidence(out: Path) -> str | None:
    """A line on the leads in the inbox because nothing was known about their company."""
    items = with_stores(out, lambda stores: stores.review.items(status="open"))
    domains = sorted(
        {item.request.lead.domain for item in items if item.failure == FailureKind.NO_EVIDENCE}
    )
    if not domains:
        return None
    shown = ", ".join(domains[:5]) + (", ..." if len(domains) > 5 else "")
    return (
        f"no evidence about {len(domains)} {'company' if len(domains) == 1 else 'companies'} "
        f"({shown}): their drafts use only the lead's row and wait in the inbox; add what "
        f"you know with {hint('review retry')} ID --fact TEXT, or pass --kb FILE with "
        "entries for those domains, or --sources web"
    )
