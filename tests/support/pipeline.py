"""The pipeline as the in-process tests run it: offline, on the sample ICP and companies."""

from __future__ import annotations

from pathlib import Path

from actors import Icp, KnowledgeBase
from actors.llm import OfflineLlm
from supervision.system import PipelineConfig
from tests.support.paths import ROOT


def offline_config(out: Path) -> PipelineConfig:
    """A run into ``out`` with the offline engine, the sample ICP and knowledge base."""
    return PipelineConfig(
        out=out,
        gateway=OfflineLlm(seed=1),
        icp=Icp.load(ROOT / "examples" / "icp.toml"),
        source=KnowledgeBase.load(ROOT / "examples" / "companies.json"),
    )
