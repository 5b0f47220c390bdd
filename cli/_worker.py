"""``worker``: stage actors that take their work from NATS, on any host."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import typer

from actors import EventLog, LlmCaller, null_log, otel_telemetry, reporting
from cli._common import app, fail
from cli._config import workspace_of
from cli._options import (
    ACK_WAIT_S,
    EVIDENCE,
    LLM,
    WORKER_CONCURRENCY,
    AllowPrivateSources,
    Chaos,
    FallbackModel,
    IcpFile,
    Kb,
    LatencyMs,
    Llm,
    LogDir,
    Model,
    NatsOptions,
    Otel,
    Prices,
    Roles,
    Rpm,
    Rules,
    Seed,
    SourcesOption,
    SourcesTtl,
    Timeout,
    Tpm,
    WorkerAckWait,
    WorkerBus,
    WorkerConcurrency,
    WorkspaceDir,
)
from messages import LeadwrightError
from supervision.system import (
    Credentials,
    EvidenceSettings,
    LlmSettings,
    Role,
    RunFiles,
    RunLimits,
    RunSettings,
    WorkerParts,
    WorkerSummary,
    close_backends,
    command_log,
    configure,
    library_logs,
    parse_roles,
    run_worker,
)

ALL_ROLES = ",".join(role.value for role in Role)


@app.command()
def worker(
    bus: WorkerBus,
    roles: Roles = ALL_ROLES,
    concurrency: WorkerConcurrency = WORKER_CONCURRENCY,
    llm: Llm = LLM.backend,
    model: Model = LLM.model,
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
    prices: Prices = LLM.prices,
    fallback_model: FallbackModel = LLM.fallback_model,
    rules: Rules = None,
    ack_wait: WorkerAckWait = ACK_WAIT_S,
    log_dir: LogDir = None,
    otel: Otel = False,
    workspace: WorkspaceDir = None,
) -> None:
    """Run stage actors that take their work from NATS; start as many as you like.

    Each role connects as its own NATS user: LEADWRIGHT_NATS_<ROLE>_USER (default: the
    role's name) with LEADWRIGHT_NATS_<ROLE>_PASSWORD; without a password, no login.
    Prints a JSON summary when stopped by SIGINT or SIGTERM.
    """
    chosen = workspace_of(workspace)
    settings = RunSettings(
        llm=LlmSettings(
            backend=llm,
            model=model,
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
        ),
        limits=RunLimits(concurrency=concurrency),
        files=RunFiles.of(chosen, icp=icp, rules=rules),
    )
    nats = NatsOptions(url=bus, ack_wait=ack_wait)
    try:
        chosen_roles = parse_roles(roles)
        config = configure(settings, log_dir or Path("."))
    except LeadwrightError as exc:
        fail(str(exc))

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
                nats.url, chosen_roles, parts, credentials=_credentials, settings=nats.settings()
            )
        finally:
            await close_backends(config.gateway, config.source)

    try:
        with reporting(otel_telemetry("leadwright-worker", flag=otel)):
            summary = _in_log(main, log_dir)
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    typer.echo(json.dumps(summary.contract()))


def _in_log(
    main: Callable[[EventLog], Awaitable[WorkerSummary]], log_dir: Path | None
) -> WorkerSummary:
    """``main`` with its events in ``log_dir``'s event log; nowhere without one."""
    if log_dir is None:
        # Nowhere to keep them: what libraries log (retries among it) is dropped.
        with library_logs(null_log()) as log:
            return anyio.run(main, log, backend="asyncio")
    with command_log(log_dir, secrets=[os.environ.get("OPENAI_API_KEY", "")]) as log:
        return anyio.run(main, log, backend="asyncio")


def _credentials(role: Role) -> Credentials:
    """A role's NATS login, from the environment."""
    prefix = f"LEADWRIGHT_NATS_{role.value.upper()}"
    return Credentials(
        user=os.environ.get(f"{prefix}_USER", role.value),
        password=os.environ.get(f"{prefix}_PASSWORD"),
    )
