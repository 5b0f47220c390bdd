"""A gateway assembled from a run's settings: the one place that knows every backend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from actors.llm._chaos import ChaosLlm
from actors.llm._gateway import LlmGateway
from actors.llm._offline import OfflineLlm
from actors.llm._openai import OpenAiLlm
from actors.llm._pricing import Price
from actors.llm._provider_breaker import DOWN_LIMIT_S, BreakerPolicy
from actors.llm._structured import MODES_FILE, ModeMemory, StructuredMode, structured_mode
from messages import UsageError


class LlmKind(StrEnum):
    """Which backend answers: the offline engine, an OpenAI-compatible server, a local GGUF."""

    OFFLINE = "offline"
    OPENAI = "openai"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    """What a gateway is built from: the LLM part of a run's settings."""

    llm: LlmKind | str = LlmKind.OFFLINE
    model: str | None = None
    """The model name (openai), a GGUF path (local; the bundled SmolLM2 when None), or the
    name the offline engine reports."""
    structured: StructuredMode | str = StructuredMode.AUTO
    rpm: int | None = None
    tpm: int | None = None
    seed: int = 0
    """Seeds the offline engine, the local model and chaos; sent to an OpenAI-compatible
    server as the sampling seed unless 0."""
    latency_ms: float = 0.0
    chaos: float = 0.0
    run_dir: Path | None = None
    """Where the structured-output rung that worked is remembered; nowhere when None."""
    provider_down_limit: float = DOWN_LIMIT_S
    """Seconds a remote provider may be down before the run stops."""
    prices: Mapping[str, Price] | None = None
    """The price table (``--prices FILE`` over the shipped one); the shipped one if None."""


def build_gateway(spec: GatewaySpec) -> LlmGateway:
    """The gateway ``spec`` describes; ``UsageError`` for settings that cannot work."""
    try:
        kind = LlmKind(spec.llm)
    except ValueError:
        choices = "|".join(k.value for k in LlmKind)
        raise UsageError(f"llm={spec.llm!r} is not a backend; pick one of {choices}") from None
    mode = structured_mode(spec.structured)
    gateway: LlmGateway
    match kind:
        case LlmKind.OPENAI:
            if spec.model is None:
                raise UsageError("--llm openai needs --model, such as --model gpt-4o-mini")
            memory = ModeMemory(spec.run_dir / MODES_FILE) if spec.run_dir is not None else None
            gateway = OpenAiLlm(
                model=spec.model,
                rpm=spec.rpm,
                tpm=spec.tpm,
                structured=mode,
                memory=memory,
                breaker_policy=BreakerPolicy(down_limit=spec.provider_down_limit),
                prices=spec.prices,
                # Seed 0, the default, sends none: the provider samples as it always does.
                seed=spec.seed or None,
            )
        case LlmKind.LOCAL:
            # Imported here: the local backend is an optional extra.
            from actors.llm._local import LocalLlm

            gateway = LocalLlm(model_path=spec.model, seed=spec.seed)
        case LlmKind.OFFLINE:
            gateway = OfflineLlm(
                seed=spec.seed, latency_ms=spec.latency_ms, model=spec.model or "offline-1"
            )
    if spec.chaos > 0:
        gateway = ChaosLlm(gateway, rate=spec.chaos, seed=spec.seed)
    return gateway
