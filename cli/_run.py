"""``run`` (and no command at all): the system fed by a file or a pipe, until its leads
are finished; its progress on stderr, its summary on stdout."""

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

from actors import otel_telemetry, reporting
from actors.intake import ColumnMap, InputError, RawRecord, parse_map, read_records
from cli._common import (
    DEFAULT_OUT,
    SAMPLE_ICP,
    SAMPLE_KB,
    app,
    fail,
    print_version,
    stderr,
)
from cli._config import keep, ready, workspace_of
from cli._options import (
    EVIDENCE,
    LIMITS,
    LLM,
    AllowPrivateSources,
    Baseline,
    Chaos,
    ColumnMapOption,
    CompactEvery,
    CompactMinutes,
    Concurrency,
    CrmFaultRate,
    FallbackModel,
    IcpFile,
    JsonSummary,
    Kb,
    LatencyMs,
    Llm,
    Model,
    OpsRetry,
    Otel,
    Prices,
    ProviderDownLimit,
    ResearchTtl,
    Rpm,
    Rules,
    RunOut,
    Seed,
    SourcesOption,
    SourcesTtl,
    StructuredOutput,
    Timeout,
    Tpm,
    WorkspaceDir,
)
from cli._progress import ProgressDisplay, print_summary
from messages import LeadwrightError
from supervision.system import (
    DirectoryLock,
    EvidenceSettings,
    LlmSettings,
    PipelineConfig,
    Run,
    RunFiles,
    RunLimits,
    RunSettings,
    RunSummary,
    Sources,
    Tally,
    close_backends,
    command_log,
    samples,
)


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
        run(leads=samples.path("leads.csv"), kb=SAMPLE_KB, icp=SAMPLE_ICP, sources=Sources.KB)


@app.command()
def run(
    leads: Annotated[Path, typer.Argument(help="CSV or JSONL leads, or - for JSONL on stdin.")],
    out: RunOut = DEFAULT_OUT,
    llm: Llm = LLM.backend,
    model: Model = LLM.model,
    concurrency: Concurrency = LIMITS.concurrency,
    rpm: Rpm = LLM.rpm,
    tpm: Tpm = LLM.tpm,
    timeout: Timeout = LLM.timeout,
    latency_ms: LatencyMs = LLM.latency_ms,
    chaos: Chaos = LLM.chaos,
    seed: Seed = LLM.seed,
    kb: Kb = None,
    icp: IcpFile = None,
    sources: SourcesOption = None,
    sources_ttl: SourcesTtl = EVIDENCE.sources_ttl,
    allow_private_sources: AllowPrivateSources = EVIDENCE.allow_private_sources,
    research_ttl: ResearchTtl = EVIDENCE.research_ttl,
    prices: Prices = LLM.prices,
    compact_every: CompactEvery = LIMITS.compact_every,
    compact_minutes: CompactMinutes = LIMITS.compact_minutes,
    fallback_model: FallbackModel = LLM.fallback_model,
    crm_fault_rate: CrmFaultRate = LIMITS.crm_fault_rate,
    baseline: Baseline = None,
    rules: Rules = None,
    json_output: JsonSummary = False,
    structured: StructuredOutput = LLM.structured,
    provider_down_limit: ProviderDownLimit = LLM.provider_down_limit,
    otel: Otel = False,
    column_map: ColumnMapOption = None,
    workspace: WorkspaceDir = None,
    ops_retry: OpsRetry = LIMITS.ops_retry,
) -> None:
    """Run leads through research, scoring, drafting and the CRM.

    Operations' retries that are due when it starts run with it; later ones wait for the
    next run or serve on the same --out.
    """
    chosen = workspace_of(workspace)
    settings = RunSettings(
        llm=LlmSettings(
            backend=llm,
            model=model,
            structured=structured,
            provider_down_limit=provider_down_limit,
            fallback_model=fallback_model,
            timeout=timeout,
            latency_ms=latency_ms,
            chaos=chaos,
            seed=seed,
            rpm=rpm,
            tpm=tpm,
            prices=prices,
        ),
        evidence=EvidenceSettings.of(
            chosen,
            sources=sources,
            kb=kb,
            sources_ttl=sources_ttl,
            allow_private_sources=allow_private_sources,
            research_ttl=research_ttl,
        ),
        limits=RunLimits(
            concurrency=concurrency,
            compact_every=compact_every,
            compact_minutes=compact_minutes,
            ops_retry=ops_retry,
            crm_fault_rate=crm_fault_rate,
        ),
        files=RunFiles.of(chosen, icp=icp, rules=rules, baseline=baseline),
    )
    try:
        columns = parse_map(column_map or [])
        with DirectoryLock(out, command="run"):
            config = ready(settings, out)
            stream = str(leads) == "-"
            records = read_records(
                "-" if stream else leads,
                stdin=sys.stdin,
                columns=columns,
                on_columns=_say_mapping,
            )
            keep(settings, config)
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
        print_summary(summary, out, tally)
    if summary.interrupted is not None:
        name = signal.Signals(summary.interrupted).name
        stderr.print(f"stopped by {name}: {summary.pending} leads pending; rerun with --out {out}")
        raise typer.Exit(128 + summary.interrupted)


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
    with ProgressDisplay(stderr, tally) as display:

        async def main() -> RunSummary:
            try:
                path = None if stream else Path(source)
                run = Run(
                    config,
                    records,
                    source=source,
                    stream=stream,
                    path=path,
                    count_records=None
                    if path is None
                    else partial(_count_records, path, header_map),
                    on_progress=display.update,
                )
                return await run()
            finally:
                await close_backends(config.gateway, config.source)

        return anyio.run(main, backend="asyncio")


def _say_mapping(mapping: ColumnMap) -> None:
    """The header mapping, once on stderr, unless the columns are the fields' own names."""
    if not mapping.plain:
        stderr.print(mapping.summary(), markup=False)


def _count_records(path: Path, columns: Mapping[str, str]) -> int:
    return sum(1 for _ in read_records(path, columns=columns))
