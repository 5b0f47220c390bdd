"""``serve``: the system as a long-lived service, fed over HTTP, until a signal."""

from __future__ import annotations

import errno
import os
import signal
from dataclasses import replace
from pathlib import Path

import anyio
import typer

from actors import otel_telemetry, reporting
from cli._common import DEFAULT_OUT, app, fail, stderr
from cli._config import keep, ready, workspace_of
from cli._options import (
    ACK_WAIT_S,
    EVIDENCE,
    LIMITS,
    LLM,
    SERVICE,
    AllowPrivateSources,
    Baseline,
    Chaos,
    CompactEvery,
    CompactMinutes,
    Concurrency,
    CrmFaultRate,
    DriftWindow,
    FallbackModel,
    Host,
    IcpFile,
    Inbox,
    Kb,
    LatencyMs,
    Llm,
    Model,
    NatsOptions,
    OpsRetry,
    Otel,
    Port,
    Prices,
    ProviderDownLimit,
    ResearchTtl,
    Rpm,
    Rules,
    RunOut,
    Seed,
    ServeAckWait,
    ServeBus,
    ServiceOptions,
    SessionIdleMinutes,
    SessionMaxHours,
    SourcesOption,
    SourcesTtl,
    StructuredOutput,
    Timeout,
    Tpm,
    WorkspaceDir,
)
from messages import LeadwrightError
from supervision.system import (
    DirectoryLock,
    EvidenceSettings,
    LlmSettings,
    PipelineConfig,
    RunFiles,
    RunLimits,
    RunSettings,
    Service,
    ServiceEnd,
    Tally,
    close_backends,
    command_log,
)

_CANNOT_BIND = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})
"""The errors of a port that cannot be listened on; any other OSError stops serve too,
but says what it was (a lost NATS server's timeout is an OSError as well)."""


@app.command()
def serve(
    out: RunOut = DEFAULT_OUT,
    host: Host = SERVICE.host,
    port: Port = SERVICE.port,
    inbox: Inbox = SERVICE.inbox,
    drift_window: DriftWindow = SERVICE.drift_window,
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
    structured: StructuredOutput = LLM.structured,
    provider_down_limit: ProviderDownLimit = LLM.provider_down_limit,
    bus: ServeBus = None,
    ack_wait: ServeAckWait = ACK_WAIT_S,
    session_idle_minutes: SessionIdleMinutes = SERVICE.session_idle_minutes,
    session_max_hours: SessionMaxHours = SERVICE.session_max_hours,
    otel: Otel = False,
    workspace: WorkspaceDir = None,
    ops_retry: OpsRetry = LIMITS.ops_retry,
) -> None:
    """The system as a long-lived service: leads in over HTTP, until SIGINT or SIGTERM.

    With --bus, connects as the NATS user LEADWRIGHT_NATS_SERVE_USER (default: serve) with
    LEADWRIGHT_NATS_SERVE_PASSWORD; without a password, no login.
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
    service = ServiceOptions(
        host=host,
        port=port,
        inbox=inbox,
        drift_window=drift_window,
        session_idle_minutes=session_idle_minutes,
        session_max_hours=session_max_hours,
    )
    nats = None if bus is None else NatsOptions(url=bus, ack_wait=ack_wait)
    end = _serve(settings, service, nats, out, otel=otel)
    if end.halted is not None:
        fail(f"stopped: {end.halted} Unfinished leads stay pending; serve again with --out {out}")
    if end.signal is not None:
        name = signal.Signals(end.signal).name
        stderr.print(
            f"stopped by {name}: {end.pending} leads pending; serve again with --out {out}"
        )
        raise typer.Exit(128 + end.signal)


def _serve(
    settings: RunSettings,
    service: ServiceOptions,
    nats: NatsOptions | None,
    out: Path,
    *,
    otel: bool,
) -> ServiceEnd:
    """The service on ``out`` under its lock, until it ends; one line for what stops it."""
    from console import HttpFace, HttpLimits, load_token

    try:
        with DirectoryLock(out, command="serve") as lock:
            # With --bus, the workers call the model; here, nothing does.
            config = _on_bus(ready(settings, out, check_llm=nats is None), nats)
            config = replace(
                config, inbox=service.inbox, drift_window=service.drift_window, handle_signals=True
            )
            keep(settings, config)
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
                    session_idle_s=service.session_idle_minutes * 60,
                    session_max_s=service.session_max_hours * 3600,
                )
                face = HttpFace(
                    host=service.host,
                    port=service.port,
                    token=token,
                    on_listening=listening,
                    limits=limits,
                )

                async def main() -> ServiceEnd:
                    try:
                        return await Service(config, face)()
                    finally:
                        await close_backends(config.gateway, config.source)

                with reporting(otel_telemetry("leadwright-serve", flag=otel)):
                    return anyio.run(main, backend="asyncio")
    except OSError as exc:
        if exc.errno not in _CANNOT_BIND:
            fail(f"serve stopped: {exc.strerror or exc}")
        where = f"{service.host}:{service.port}"
        fail(f"cannot listen on {where} ({exc.strerror or exc}); pass another --port")
    except LeadwrightError as exc:
        fail(str(exc))


def _on_bus(config: PipelineConfig, nats: NatsOptions | None) -> PipelineConfig:
    """``config`` on the NATS server of ``nats``, as the user the environment names."""
    if nats is None:
        return config
    password = os.environ.get("LEADWRIGHT_NATS_SERVE_PASSWORD")
    user = os.environ.get("LEADWRIGHT_NATS_SERVE_USER", "serve") if password is not None else None
    return replace(config, bus=nats.url, bus_user=user, bus_password=password, nats=nats.settings())
