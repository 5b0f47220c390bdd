"""From the options a run was started with to the system's configuration."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path

from actors import (
    DEFAULT_PROMPTS,
    EvidenceSource,
    FirstFound,
    Icp,
    KnowledgeBase,
    Prompts,
    RetrySchedule,
    WebSource,
)
from actors.drift import Profile
from actors.llm import GatewaySpec, OpenAiLlm, build_gateway, load_prices
from actors.validation import RulePolicy
from cli._common import SAMPLE_ICP, SAMPLE_KB, fail
from messages import LeadwrightError
from supervision.system import (
    CompactionSettings,
    PipelineConfig,
    RunSettings,
    Workspace,
    find_workspace,
)


def settings_of(options: dict[str, object]) -> RunSettings:
    """The settings a command's options (its ``locals()``) give a run; the rest default.

    An option given wins; then the workspace (``--workspace DIR``, or the current folder
    when it holds ``leadwright.toml``) gives the ICP, the knowledge base, the prompts and
    the sources; then the samples. A bad workspace is a one-line error.
    """
    values: dict[str, object] = {}
    for name in RunSettings.model_fields:
        if name in options and options[name] is not None:
            value = options[name]
            values[name] = value.value if isinstance(value, StrEnum) else value
    workspace_option = options.get("workspace")
    try:
        workspace = find_workspace(
            Path(str(workspace_option)) if workspace_option is not None else None
        )
    except LeadwrightError as exc:
        fail(str(exc))
    if workspace is not None:
        values["workspace"] = str(workspace.folder)
        values.setdefault("icp", workspace.icp)
        values.setdefault("kb", workspace.knowledge_base)
        values.setdefault("prompts", workspace.prompts)
        if workspace.sources is not None:
            values.setdefault("sources", workspace.sources)
    values.setdefault("icp", SAMPLE_ICP)
    values.setdefault("kb", SAMPLE_KB)
    for name in ("kb", "icp", "baseline", "prompts", "rules", "prices"):
        if name in values:
            values[name] = str(values[name])
    return RunSettings.model_validate(values)


def with_baseline(config: PipelineConfig, baseline: Path | None) -> PipelineConfig:
    """``config`` comparing its drift with ``baseline``, a run directory or profile, if any."""
    if baseline is None:
        return config
    return replace(config, baseline=Profile.load(baseline), baseline_name=str(baseline))


def config_of(settings: RunSettings, out: Path) -> PipelineConfig:
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
        prices=load_prices(Path(settings.prices)) if settings.prices else None,
    )
    gateway = build_gateway(spec)
    workspace = Workspace.load(Path(settings.workspace)) if settings.workspace else None
    sender = workspace.sender if workspace is not None else None
    icp = Icp.load(Path(settings.icp), sender=sender)
    if settings.rules is not None:
        icp = icp.with_policy(RulePolicy.load(Path(settings.rules)))
    prompts = Prompts.load(Path(settings.prompts)) if settings.prompts else DEFAULT_PROMPTS
    return PipelineConfig(
        out=out,
        gateway=gateway,
        prompts=prompts,
        icp=icp,
        source=source_of(settings, out),
        concurrency=settings.concurrency,
        timeout=settings.timeout,
        crm_fault_rate=settings.crm_fault_rate,
        seed=settings.seed,
        fallback_model=settings.fallback_model,
        research_ttl=settings.research_ttl,
        compaction=CompactionSettings(
            every_leads=settings.compact_every, every_minutes=settings.compact_minutes
        ),
        ops_retry=RetrySchedule(retries=settings.ops_retry),
        allow_private_sources=settings.allow_private_sources,
    )


PROMPTS_DIR = "prompts"
"""The run directory's folder of the prompts it used, one file per version."""
WEB_CACHE = "web"
"""The run directory's folder of company sites read (``--sources web``)."""


def source_of(settings: RunSettings, out: Path) -> EvidenceSource:
    """Where research finds evidence: the knowledge base, the web, or both, kb first."""
    sources: list[EvidenceSource] = []
    for name in settings.sources.split(","):
        if name == "kb":
            sources.append(KnowledgeBase.load(Path(settings.kb)))
        else:
            sources.append(
                WebSource(
                    cache_dir=out / WEB_CACHE,
                    ttl=settings.sources_ttl,
                    allow_private=settings.allow_private_sources,
                )
            )
    return sources[0] if len(sources) == 1 else FirstFound(*sources)


async def close_backends(config: PipelineConfig) -> None:
    if isinstance(config.gateway, OpenAiLlm):
        await config.gateway.aclose()
    await config.source.aclose()
