"""From a run's settings to what the system is built from: the gateway, the ICP with its
sender and rule set, the evidence source, the prompts, and back again (``close_backends``).
``run``, ``serve``, ``worker``, ``evaluate`` and the operator's actions all build them here."""

from __future__ import annotations

from dataclasses import replace
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
from actors.llm import GatewaySpec, LlmGateway, build_gateway, load_prices
from actors.validation import RulePolicy
from supervision.system._config import PipelineConfig
from supervision.system._housekeeping import CompactionSettings
from supervision.system._settings import (
    EvidenceSettings,
    LlmSettings,
    RunFiles,
    RunSettings,
    Sources,
)
from supervision.system._workspace import Workspace

PROMPTS_DIR = "prompts"
"""The run directory's folder of the prompts it used, one file per version."""
WEB_CACHE = "web"
"""The run directory's folder of company sites read (``--sources web``)."""


def configure(settings: RunSettings, out: Path) -> PipelineConfig:
    """The configuration of a system on ``out`` that runs as ``settings`` say (its drift
    baseline aside: ``with_baseline`` adds it where a run compares with one)."""
    llm, limits = settings.llm, settings.limits
    return PipelineConfig(
        out=out,
        gateway=gateway_of(llm, out),
        prompts=prompts_of(settings.files),
        icp=icp_of(settings.files),
        source=evidence_source(settings.evidence, out),
        concurrency=limits.concurrency,
        timeout=llm.timeout,
        crm_fault_rate=limits.crm_fault_rate,
        seed=llm.seed,
        fallback_model=llm.fallback_model,
        research_ttl=settings.evidence.research_ttl,
        compaction=CompactionSettings(
            every_leads=limits.compact_every, every_minutes=limits.compact_minutes
        ),
        ops_retry=RetrySchedule(retries=limits.ops_retry),
        allow_private_sources=settings.evidence.allow_private_sources,
    )


def gateway_of(llm: LlmSettings, run_dir: Path | None) -> LlmGateway:
    """The gateway ``llm`` describes; the structured-output rung that worked is remembered
    in ``run_dir``, if any."""
    spec = GatewaySpec(
        llm=llm.backend,
        model=llm.model,
        structured=llm.structured,
        rpm=llm.rpm,
        tpm=llm.tpm,
        seed=llm.seed,
        latency_ms=llm.latency_ms,
        chaos=llm.chaos,
        run_dir=run_dir,
        provider_down_limit=llm.provider_down_limit,
        prices=load_prices(llm.prices) if llm.prices is not None else None,
    )
    return build_gateway(spec)


def icp_of(files: RunFiles) -> Icp:
    """The ideal customer profile, with the workspace's sender and the rule set, if any."""
    workspace = Workspace.load(files.workspace) if files.workspace is not None else None
    icp = Icp.load(files.icp, sender=workspace.sender if workspace is not None else None)
    if files.rules is not None:
        icp = icp.with_policy(RulePolicy.load(files.rules))
    return icp


def prompts_of(files: RunFiles) -> Prompts:
    return Prompts.load(files.prompts) if files.prompts is not None else DEFAULT_PROMPTS


def evidence_source(evidence: EvidenceSettings, out: Path) -> EvidenceSource:
    """Where research finds evidence: the knowledge base, the web, or both, kb first."""
    sources: list[EvidenceSource] = []
    for name in evidence.sources.split(","):
        if name == Sources.KB:
            sources.append(KnowledgeBase.load(evidence.kb))
        else:
            sources.append(
                WebSource(
                    cache_dir=out / WEB_CACHE,
                    ttl=evidence.sources_ttl,
                    allow_private=evidence.allow_private_sources,
                )
            )
    return sources[0] if len(sources) == 1 else FirstFound(*sources)


def with_baseline(config: PipelineConfig, baseline: Path | None) -> PipelineConfig:
    """``config`` comparing its drift with ``baseline``, a run directory or profile, if any."""
    if baseline is None:
        return config
    return replace(config, baseline=Profile.load(baseline), baseline_name=str(baseline))


async def close_backends(gateway: LlmGateway, source: EvidenceSource) -> None:
    """Close what a configuration opened: the gateway's connections and the source's."""
    await gateway.aclose()
    await source.aclose()
