"""The settings a run was started with: one frozen dataclass per concept (the LLM, where
research finds evidence, the run's limits, the files it reads), composed into
``RunSettings`` and kept in the run directory's ``settings.json`` for later commands.

Each default is declared here, once: the command line's options, ``PipelineConfig`` and
``settings.json`` all take theirs from these classes. The file stays one flat object,
with the keys it has always had, so that a run directory of any earlier version opens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, final

from pydantic import Field, TypeAdapter, ValidationError

from actors import DEFAULT_RESEARCH_TTL, DEFAULT_TTL, RetrySchedule
from actors.llm import DOWN_LIMIT_S, LlmKind, StructuredMode
from messages import UsageError, redact
from supervision.system._housekeeping import CompactionSettings
from supervision.system.samples import path as sample

if TYPE_CHECKING:
    from supervision.system._workspace import Workspace

SETTINGS_FILE = "settings.json"


class Sources(StrEnum):
    """Where research finds evidence: the knowledge base, the web, or both (kb first)."""

    KB = "kb"
    WEB = "web"
    KB_WEB = "kb,web"


@final
@dataclass(frozen=True, slots=True)
class LlmSettings:
    """The LLM: which backend answers, which model, and how each call is made."""

    backend: LlmKind = LlmKind.OFFLINE
    model: str | None = None
    """The model name (openai), a GGUF path (local), or the name the offline engine reports."""
    structured: StructuredMode = StructuredMode.AUTO
    provider_down_limit: Annotated[float, Field(gt=0)] = DOWN_LIMIT_S
    """Seconds the LLM server may be down before the run stops."""
    fallback_model: str | None = None
    timeout: Annotated[float, Field(gt=0)] = 30.0
    """Seconds per LLM call."""
    latency_ms: Annotated[float, Field(ge=0)] = 0.0
    """The offline engine's simulated latency."""
    chaos: Annotated[float, Field(ge=0, le=1)] = 0.0
    """The share of calls that fail on purpose (fault injection)."""
    seed: int = 0
    """Seeds the offline engine, chaos and the CRM's faults; sent to openai unless 0."""
    rpm: Annotated[int, Field(ge=1)] | None = None
    tpm: Annotated[int, Field(ge=1)] | None = None
    prices: Path | None = None
    """A prices file (TOML or JSON) over the shipped price table, if any."""


@final
@dataclass(frozen=True, slots=True)
class EvidenceSettings:
    """Where research finds evidence, and how long what it found stays fresh."""

    sources: Sources = Sources.KB
    kb: Path = field(default_factory=lambda: sample("companies.json"))
    """The knowledge base: the workspace's, or the sample."""
    sources_ttl: Annotated[float, Field(ge=0)] = DEFAULT_TTL
    """Seconds a company site read stays fresh in the run directory's ``web`` cache."""
    allow_private_sources: bool = False
    """Let web research read loopback and private addresses (metadata never)."""
    research_ttl: Annotated[float, Field(ge=0)] = DEFAULT_RESEARCH_TTL
    """Seconds a company's validated research is reused by its other leads (0: never)."""

    @staticmethod
    def of(
        workspace: Workspace | None,
        *,
        sources: Sources | None = None,
        kb: Path | None = None,
        sources_ttl: float = DEFAULT_TTL,
        allow_private_sources: bool = False,
        research_ttl: float = DEFAULT_RESEARCH_TTL,
    ) -> EvidenceSettings:
        """The options given (``None``: not given), else the workspace's, else the defaults."""
        if workspace is not None:
            kb = kb if kb is not None else workspace.knowledge_base
            sources = sources if sources is not None else workspace.sources
        defaults = EvidenceSettings()
        return EvidenceSettings(
            sources=sources if sources is not None else defaults.sources,
            kb=kb if kb is not None else defaults.kb,
            sources_ttl=sources_ttl,
            allow_private_sources=allow_private_sources,
            research_ttl=research_ttl,
        )


@final
@dataclass(frozen=True, slots=True)
class RunLimits:
    """How much a run does at once, and how its run directory is kept."""

    concurrency: Annotated[int, Field(ge=1)] = 16
    """LLM calls in flight at most; the admission window is twice this."""
    compact_every: Annotated[int, Field(ge=0)] = CompactionSettings().every_leads
    """Finished leads between background compactions (0: not by count)."""
    compact_minutes: Annotated[float, Field(ge=0)] = CompactionSettings().every_minutes
    """Minutes between background compactions (0: not by time)."""
    ops_retry: Annotated[int, Field(ge=0)] = RetrySchedule().retries
    """Automatic retries of a machine failure in Operations (0: an operator retries)."""
    crm_fault_rate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    """The share of CRM writes that fail on purpose (fault injection)."""


@final
@dataclass(frozen=True, slots=True)
class RunFiles:
    """What a run reads besides its leads: the workspace and the files a team edits."""

    icp: Path = field(default_factory=lambda: sample("icp.toml"))
    """The ideal customer profile: the workspace's, or the sample."""
    rules: Path | None = None
    """A rule set (``--rules``): rules disabled, thresholds changed."""
    baseline: Path | None = None
    """A drift baseline: a run directory or a profile."""
    workspace: Path | None = None
    """The workspace folder the run used (its sender, draft policy and files), if any."""
    prompts: Path | None = None
    """The folder of the stages' prompts (a workspace's ``prompts/``); built-in if None."""

    @staticmethod
    def of(
        workspace: Workspace | None,
        *,
        icp: Path | None = None,
        rules: Path | None = None,
        baseline: Path | None = None,
    ) -> RunFiles:
        """The files given (``None``: not given), else the workspace's, else the samples."""
        if workspace is None:
            chosen = icp if icp is not None else RunFiles().icp
            return RunFiles(icp=chosen, rules=rules, baseline=baseline)
        return RunFiles(
            icp=icp if icp is not None else workspace.icp,
            rules=rules,
            baseline=baseline,
            workspace=workspace.folder,
            prompts=workspace.prompts,
        )


@final
@dataclass(frozen=True, slots=True)
class RunSettings:
    """What ``run`` or ``serve`` was told; the operator's actions and ``evaluate`` rebuild
    the system from it (``settings.json``)."""

    llm: LlmSettings = field(default_factory=LlmSettings)
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    limits: RunLimits = field(default_factory=RunLimits)
    files: RunFiles = field(default_factory=RunFiles)

    def flat(self) -> dict[str, Any]:
        """The settings as ``settings.json`` holds them: one object, in its own key order."""
        sections: dict[str, dict[str, Any]] = _ADAPTER.dump_python(self, mode="json")
        return {key: sections[section][name] for key, (section, name) in _FLAT.items()}

    @staticmethod
    def from_flat(data: Mapping[str, object]) -> RunSettings:
        """The settings of a ``flat`` object; ``ValueError`` naming what is wrong."""
        unknown = sorted(set(data) - set(_FLAT))
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        nested: dict[str, dict[str, object]] = {section: {} for section in _SECTIONS}
        for key, value in data.items():
            section, name = _FLAT[key]
            nested[section][name] = value
        try:
            return _ADAPTER.validate_python(nested)
        except ValidationError as exc:
            wrong = "; ".join(
                f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(wrong) from None

    def save(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        text = redact(json.dumps(self.flat(), indent=2))
        (out / SETTINGS_FILE).write_text(text + "\n", encoding="utf-8")

    @staticmethod
    def load(out: Path) -> RunSettings:
        path = out / SETTINGS_FILE
        try:
            data = json.loads(path.read_bytes())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return RunSettings.from_flat(data)
        except FileNotFoundError:
            raise UsageError(
                f"{out}: no run here (no {SETTINGS_FILE}); pass the --out of a run"
            ) from None
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"{path}: unreadable run settings ({type(exc).__name__}); run again to rewrite it"
            ) from None


_ADAPTER = TypeAdapter(RunSettings)
_SECTIONS = {"llm": LlmSettings, "evidence": EvidenceSettings, "limits": RunLimits}
_SECTIONS |= {"files": RunFiles}
_ORDER = (
    ("llm", "backend"),
    ("model", "model"),
    ("structured", "structured"),
    ("provider_down_limit", "provider_down_limit"),
    ("fallback_model", "fallback_model"),
    ("concurrency", "concurrency"),
    ("timeout", "timeout"),
    ("latency_ms", "latency_ms"),
    ("chaos", "chaos"),
    ("seed", "seed"),
    ("rpm", "rpm"),
    ("tpm", "tpm"),
    ("kb", "kb"),
    ("icp", "icp"),
    ("sources", "sources"),
    ("sources_ttl", "sources_ttl"),
    ("allow_private_sources", "allow_private_sources"),
    ("research_ttl", "research_ttl"),
    ("prices", "prices"),
    ("compact_every", "compact_every"),
    ("compact_minutes", "compact_minutes"),
    ("crm_fault_rate", "crm_fault_rate"),
    ("baseline", "baseline"),
    ("rules", "rules"),
    ("ops_retry", "ops_retry"),
    ("workspace", "workspace"),
    ("prompts", "prompts"),
)
"""The keys of ``settings.json`` in the order every version has written them, and the
field each is in a section."""
_FLAT: dict[str, tuple[str, str]] = {
    key: (section, name)
    for key, name in _ORDER
    for section, kind in _SECTIONS.items()
    if name in {item.name for item in fields(kind)}
}
"""Each key of ``settings.json``: its section, and its field there."""
