"""The pipeline as the in-process tests run it: offline, on the sample ICP and companies."""

from __future__ import annotations

from pathlib import Path

from actors import Icp, KnowledgeBase
from actors.llm import OfflineLlm
from supervision.system import PipelineConfig
from tests.support.paths import EXAMPLES


def offline_config(
    out: Path, *, seed: int = 1, imperfection_rate: float | None = None
) -> PipelineConfig:
    """A run into ``out`` with the offline engine (seeded, imperfect at its default rate
    unless told), the sample ICP and knowledge base."""
    gateway = (
        OfflineLlm(seed=seed)
        if imperfection_rate is None
        else OfflineLlm(seed=seed, imperfection_rate=imperfection_rate)
    )
    return PipelineConfig(
        out=out,
        gateway=gateway,
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
