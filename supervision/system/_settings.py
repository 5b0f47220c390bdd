"""The settings a run was started with, kept in its run directory for later commands."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from actors import DEFAULT_RESEARCH_TTL, DEFAULT_TTL
from messages import UsageError, redact

SETTINGS_FILE = "settings.json"


class RunSettings(BaseModel):
    """What ``run`` was told; ``review approve`` and ``dead-letters replay`` reuse it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    llm: Literal["offline", "openai", "local"] = "offline"
    model: str | None = None
    structured: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    provider_down_limit: float = Field(default=120.0, gt=0)
    fallback_model: str | None = None
    concurrency: int = Field(default=16, ge=1)
    timeout: float = Field(default=30.0, gt=0)
    latency_ms: float = Field(default=0.0, ge=0)
    chaos: float = Field(default=0.0, ge=0, le=1)
    seed: int = 0
    rpm: int | None = None
    tpm: int | None = None
    kb: str
    icp: str
    sources: Literal["kb", "web", "kb,web"] = "kb"
    sources_ttl: float = Field(default=DEFAULT_TTL, ge=0)
    """Seconds a company site read stays fresh in the run directory's ``web`` cache."""
    allow_private_sources: bool = False
    """Let web research read loopback and private addresses (metadata never)."""
    research_ttl: float = Field(default=DEFAULT_RESEARCH_TTL, ge=0)
    """Seconds a company's validated research is reused by its other leads (0: never)."""
    prices: str | None = None
    """A prices file (TOML or JSON) over the shipped price table, if any."""
    compact_every: int = Field(default=100, ge=0)
    """Finished leads between background compactions (0: not by count)."""
    compact_minutes: float = Field(default=10.0, ge=0)
    """Minutes between background compactions (0: not by time)."""
    crm_fault_rate: float = Field(default=0.0, ge=0, lt=1)
    baseline: str | None = None
    rules: str | None = None
    """A rule set file (``--rules``): rules disabled, thresholds changed."""
    ops_retry: int = Field(default=4, ge=0)
    """Automatic retries of a machine failure in Operations (0: an operator retries)."""
    workspace: str | None = None
    """The workspace folder the run used (its sender, draft policy and files), if any."""
    prompts: str | None = None
    """The folder of the stages' prompts (a workspace's ``prompts/``); built-in if None."""

    def save(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        text = redact(self.model_dump_json(indent=2))
        (out / SETTINGS_FILE).write_text(text + "\n", encoding="utf-8")

    @staticmethod
    def load(out: Path) -> RunSettings:
        path = out / SETTINGS_FILE
        try:
            return RunSettings.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            raise UsageError(
                f"{out}: no run here (no {SETTINGS_FILE}); pass the --out of a run"
            ) from None
        except (OSError, ValidationError) as exc:
            raise UsageError(
                f"{path}: unreadable run settings ({type(exc).__name__}); run again to rewrite it"
            ) from None
