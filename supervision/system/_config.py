"""What the live system is built from: the run directory and everything it needs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from actors import (
    DEFAULT_PROMPTS,
    CrmStore,
    EventLog,
    EvidenceSource,
    Icp,
    LlmGateway,
    Prompts,
    RetrySchedule,
)
from actors.drift import Profile
from actors.runtime import COOLDOWN_S
from bus import NatsSettings, PublishHook
from supervision.system._housekeeping import CompactionSettings
from supervision.system._settings import EvidenceSettings, LlmSettings, RunLimits

_LLM = LlmSettings()
_LIMITS = RunLimits()
_EVIDENCE = EvidenceSettings()


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything the system needs, built by the command line (or a test) and handed in."""

    out: Path
    gateway: LlmGateway
    icp: Icp
    source: EvidenceSource
    concurrency: int = _LIMITS.concurrency
    """LLM calls in flight at most; the admission window is twice this."""
    prompts: Prompts = DEFAULT_PROMPTS
    """The stages' instructions (a workspace's ``prompts/``); each output records its version."""
    timeout: float = _LLM.timeout
    crm_fault_rate: float = _LIMITS.crm_fault_rate
    seed: int = _LLM.seed
    fallback_model: str | None = _LLM.fallback_model
    crm: CrmStore | None = None
    """A CRM to use instead of ``crm.sqlite`` (tests inject failing ones)."""
    hooks: tuple[PublishHook, ...] = ()
    """Called with every envelope the bus accepts, before delivery."""
    baseline: Profile | None = None
    """A drift baseline to compare this run's profile with."""
    baseline_name: str = ""
    journal: bool = True
    """Journal every message, so that a stopped or crashed run resumes where it was."""
    handle_signals: bool = False
    """Drain and stop on SIGINT or SIGTERM (the command line sets this)."""
    log: EventLog | None = None
    """Where events go (``events.jsonl`` from the command line); nowhere if ``None``."""
    drift_window: int = 0
    """Accepted leads per live drift window (0: drift is judged at the end of a run only).
    ``serve`` sets it: a service has no end of run."""
    inbox: int = 0
    """Submitted records waiting for admission at most, before a feeder must wait (or an
    HTTP client is told to retry later); 0 means four admission windows."""
    bus: str | None = None
    """A NATS server (``nats://HOST:4222``) to run on: then this process runs only the
    stateful actors, and ``run.py worker`` processes run the stages. ``None``: every actor
    in this process, on the in-process bus."""
    bus_user: str | None = None
    """The NATS user (``serve`` in deploy/nats-server.conf); ``None``: no login."""
    bus_password: str | None = None
    nats: NatsSettings | None = None
    """How the streams and consumers are configured; the defaults if ``None``."""
    research_ttl: float = _EVIDENCE.research_ttl
    """Seconds validated research of a company is reused by its other leads (0: never;
    every lead is researched)."""
    research_clock: Callable[[], float] = time.time
    """Seconds since the epoch, that research is stamped with (tests pass their own)."""
    compaction: CompactionSettings = field(default_factory=CompactionSettings)
    """When finished leads are compacted while the system runs, and its usage saved."""
    allow_private_sources: bool = _EVIDENCE.allow_private_sources
    """Let a page a reviewer gives (``retry_lead``'s URL), like web research, be read from
    loopback and private addresses (``--allow-private-sources``); metadata never."""
    crm_cooldown: float = COOLDOWN_S
    """Seconds the CRM's breaker stays open after repeated failed writes, before it tries
    again (tests shorten it)."""
    ops_retry: RetrySchedule = field(default_factory=RetrySchedule)
    """When Operations retries a machine failure by itself (``--ops-retry`` sets how many
    times); the process that owns the run directory runs the retries as they come due."""

    @property
    def window(self) -> int:
        """Leads in flight at most: admission control keeps every mailbox below its bound."""
        return 2 * self.concurrency

    @property
    def inbox_limit(self) -> int:
        return self.inbox if self.inbox > 0 else 4 * self.window

    @property
    def mailbox_capacity(self) -> int:
        # Each admitted lead has at most two messages queued anywhere at once (an
        # output and its verdict), so the feedback cycle can never fill a mailbox.
        return 2 * self.window + 8
