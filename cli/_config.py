"""From the options a run was started with to the system's configuration."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path

from actors import Icp, KnowledgeBase, WebSource
from actors.drift import Profile
from actors.llm import GatewaySpec, OpenAiLlm, build_gateway
from actors.validation import RulePolicy
from supervision import PipelineConfig, RunSettings


def settings_of(options: dict[str, object]) -> RunSettings:
    """The settings a command's options (its ``locals()``) give a run; the rest default."""
    values: dict[str, object] = {}
    for name in RunSettings.model_fields:
        if name in options and options[name] is not None:
            value = options[name]
            values[name] = value.value if isinstance(value, StrEnum) else value
    for name in ("kb", "icp", "baseline", "rules"):
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
    )
    icp = Icp.load(Path(settings.icp))
    if settings.rules is not None:
        icp = icp.with_policy(RulePolicy.load(Path(settings.rules)))
    gateway = build_gateway(spec)
    return PipelineConfig(
        out=out,
        gateway=gateway,
        icp=icp,
        source=WebSource() if settings.sources == "web" else KnowledgeBase.load(Path(settings.kb)),
        concurrency=settings.concurrency,
        timeout=settings.timeout,
        crm_fault_rate=settings.crm_fault_rate,
        seed=settings.seed,
        fallback_model=settings.fallback_model,
    )


async def close_backends(config: PipelineConfig) -> None:
    if isinstance(config.gateway, OpenAiLlm):
        await config.gateway.aclose()
    if isinstance(config.source, WebSource):
        await config.source.aclose()
