"""The options of the commands that run the system (``run``, ``serve``, ``worker``,
``evaluate``), each declared once, by concept: the LLM, where research finds evidence,
the files a run reads, the run's limits, the service's HTTP and sessions, NATS.

A command takes each as a typed parameter and builds the concept's settings from them
explicitly (``supervision.system``'s ``LlmSettings``, ``EvidenceSettings``, ``RunFiles``,
``RunLimits``; ``ServiceOptions``, ``NatsOptions`` here); the defaults come from those
classes, through the instances below, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, final

import typer

from actors.llm import DOWN_LIMIT_S, LlmKind, StructuredMode
from bus import NatsSettings
from supervision.system import EvidenceSettings, LlmSettings, RunLimits, Sources


@final
@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """``serve``'s HTTP face and its limits: where it listens, how many leads may wait,
    how often live drift is judged, how long a reviewer's session lasts."""

    host: str = "127.0.0.1"
    port: int = 8080
    inbox: int = 10_000
    drift_window: int = 500
    session_idle_minutes: float = 120.0
    session_max_hours: float = 12.0


ACK_WAIT_S = 30.0
"""Seconds before the messages of a process that died go to another, by default."""


@final
@dataclass(frozen=True, slots=True)
class NatsOptions:
    """A bus on a NATS server, shared by ``serve`` and its workers."""

    url: str
    ack_wait: float = ACK_WAIT_S
    """Seconds before the messages of a process that died go to another."""

    def settings(self) -> NatsSettings:
        """The streams' and consumers' settings: a republish is deduplicated for at least
        ten minutes, and for four redelivery waits."""
        return NatsSettings(ack_wait=self.ack_wait, duplicate_window=max(600.0, 4 * self.ack_wait))


LLM = LlmSettings()
EVIDENCE = EvidenceSettings()
LIMITS = RunLimits()
SERVICE = ServiceOptions()
WORKER_CONCURRENCY = 8
"""A worker's handlers per stage (and LLM calls in flight) by default."""

# The LLM (LlmSettings).

Llm = Annotated[LlmKind, typer.Option(help="The LLM backend.")]
Model = Annotated[str | None, typer.Option(help="The model for the backend.")]
Rpm = Annotated[int | None, typer.Option(min=1, help="Requests per minute (openai).")]
Tpm = Annotated[int | None, typer.Option(min=1, help="Tokens per minute (openai).")]
Timeout = Annotated[float, typer.Option(min=0.01, help="Seconds per LLM call.")]
LatencyMs = Annotated[float, typer.Option(min=0.0, help="Offline LLM latency.")]
Chaos = Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of faulty calls.")]
Seed = Annotated[
    int, typer.Option(help="Seed for the offline engine and chaos; sent to openai unless 0.")
]
FallbackModel = Annotated[str | None, typer.Option(help="Model to use after provider errors.")]
StructuredOutput = Annotated[
    StructuredMode, typer.Option(help="Structured output (openai): auto steps down as refused.")
]
ProviderDownLimit = Annotated[
    float, typer.Option(min=0.01, help="Seconds the LLM server may be down before stopping.")
]
Prices = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Prices per million tokens (TOML or JSON, see docs/cost.md) over the shipped "
        "table of OpenAI models.",
    ),
]

# Where research finds evidence (EvidenceSettings).

Kb = Annotated[
    Path | None,
    typer.Option(help="Company knowledge base (JSON); default: the workspace's, or the sample."),
]
SourcesOption = Annotated[
    Sources | None,
    typer.Option(
        "--sources",
        help="Where research finds evidence: kb, web, or kb,web (the kb first); default: "
        "the workspace's, or kb.",
    ),
]
SourcesTtl = Annotated[
    float, typer.Option(min=0.0, help="Seconds a company site read stays fresh in --out.")
]
AllowPrivateSources = Annotated[
    bool,
    typer.Option(
        "--allow-private-sources",
        help="Let --sources web read loopback and private addresses (never cloud metadata).",
    ),
]
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def duration(text: str | float) -> float:
    """Seconds from ``7d``, ``12h``, ``30m``, ``45s``, ``1w`` or a plain number of seconds."""
    if not isinstance(text, str):
        return float(text)  # the option's default
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:]) if value else None
    number = value[:-1] if scale is not None else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise typer.BadParameter(
            f"{text!r} is not a duration; write it as 7d, 12h, 30m, 45s, 1w or seconds (0: off)"
        )
    return seconds


ResearchTtl = Annotated[
    float,
    typer.Option(
        parser=duration,
        metavar="DURATION",
        show_default="7d",
        help="How long a company's validated research is reused by its other leads (7d, "
        "12h, 30m; 0 researches every lead).",
    ),
]

# What a run reads besides its leads (RunFiles), and how its input's columns are read.

IcpFile = Annotated[
    Path | None,
    typer.Option(help="Ideal customer profile (TOML); default: the workspace's, or the sample."),
]
Rules = Annotated[
    Path | None, typer.Option(help="A rule set (TOML): rules to disable, thresholds to change.")
]
Baseline = Annotated[Path | None, typer.Option(help="Drift baseline: a run directory or profile.")]
WorkspaceDir = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        help="A workspace folder (run.py init); default: the current folder if it holds "
        "leadwright.toml.",
    ),
]
ColumnMapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help='Fill a lead field from a column the export names otherwise: "Header=field" '
        "(repeatable).",
    ),
]

# The run's limits (RunLimits), and where it writes.

RunOut = Annotated[Path, typer.Option("--out", help="The run directory; running again resumes.")]
Concurrency = Annotated[int, typer.Option(min=1, max=1024, help="LLM calls in flight.")]
CrmFaultRate = Annotated[
    float, typer.Option(min=0.0, max=0.99, help="Share of CRM writes that fail.")
]
CompactEvery = Annotated[
    int,
    typer.Option(
        min=0,
        help="Compact the journal in the background after this many finished leads (0: not "
        "by count).",
    ),
]
CompactMinutes = Annotated[
    float,
    typer.Option(
        min=0.0, help="Compact the journal in the background at least this often (0: not by time)."
    ),
]
OpsRetry = Annotated[
    int,
    typer.Option(
        min=0,
        help="Automatic retries of a machine failure in Operations, from about a minute "
        "apart up to hours; 0 leaves each to an operator (ops retry).",
    ),
]
Otel = Annotated[
    bool,
    typer.Option(
        "--otel",
        help="Export traces and GenAI metrics over OTLP/HTTP (the otel extra; also on when "
        "OTEL_EXPORTER_OTLP_ENDPOINT is set).",
    ),
]
JsonSummary = Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]

# The service (ServiceOptions), and NATS (NatsOptions).

Host = Annotated[str, typer.Option(help="The address to listen on.")]
Port = Annotated[int, typer.Option(min=0, max=65535, help="The port; 0 for any.")]
Inbox = Annotated[int, typer.Option(min=1, help="Leads waiting for admission at most (then 429).")]
DriftWindow = Annotated[int, typer.Option(min=1, help="Accepted leads per live drift window.")]
SessionIdleMinutes = Annotated[
    float, typer.Option(min=1, help="A reviewer's session ends after this long idle.")
]
SessionMaxHours = Annotated[
    float, typer.Option(min=0.1, help="A reviewer's session ends this long after sign-in.")
]
ServeBus = Annotated[
    str | None,
    typer.Option(
        "--bus",
        help="A NATS server, such as nats://HOST:4222: run only the stateful actors here, "
        "and the stages in `run.py worker` processes.",
    ),
]
ServeAckWait = Annotated[
    float,
    typer.Option(min=0.1, help="With --bus: seconds before a dead process's messages go back."),
]

# A worker.

WorkerBus = Annotated[str, typer.Option("--bus", help="The NATS server, such as nats://HOST:4222.")]
Roles = Annotated[
    str, typer.Option(help="Comma-separated stages to run: research,scoring,writer,validator.")
]
WorkerConcurrency = Annotated[
    int, typer.Option(min=1, max=1024, help="Handlers per stage, and LLM calls in flight.")
]
WorkerAckWait = Annotated[
    float, typer.Option(min=0.1, help="Seconds before a dead worker's messages go to another.")
]
LogDir = Annotated[
    Path | None, typer.Option(help="Append the worker's events to DIR/events.jsonl.")
]

# evaluate: each option left out is as the baseline ran.

As = "as the baseline ran"
EvaluatedRun = Annotated[
    Path | None, typer.Option(help="The run directory to replay and compare with.")
]
Golden = Annotated[
    Path | None,
    typer.Option(help="A golden set (JSON lines): leads with what a person expects."),
]
EvaluationOut = Annotated[
    Path | None,
    typer.Option(
        "--out", help="A new directory for the report and the replays (runs/evaluations/TIME)."
    ),
]
CandidateLlm = Annotated[LlmKind | None, typer.Option("--llm", help=f"The LLM backend; {As}.")]
CandidateModel = Annotated[str | None, typer.Option("--model", help=f"The model; {As}.")]
CandidateIcp = Annotated[
    Path | None, typer.Option("--icp", help=f"Ideal customer profile (TOML); {As}.")
]
CandidateKb = Annotated[
    Path | None,
    typer.Option("--kb", help="Research from this knowledge base, not the recorded evidence."),
]
CandidateRules = Annotated[
    Path | None, typer.Option("--rules", help=f"A rule set (TOML) for the validator; {As}.")
]
CandidatePrompts = Annotated[
    Path | None,
    typer.Option("--prompts", help=f"A folder of stage prompts (a workspace's prompts/); {As}."),
]
CandidateWorkspace = Annotated[
    Path | None,
    typer.Option("--workspace", help="A workspace: its ICP, sender, prompts and knowledge base."),
]
CandidateConcurrency = Annotated[
    int | None,
    typer.Option("--concurrency", min=1, max=1024, help=f"LLM calls in flight; {As}."),
]
CandidateTimeout = Annotated[
    float | None, typer.Option("--timeout", min=0.01, help=f"Seconds per LLM call; {As}.")
]
CandidateLatencyMs = Annotated[
    float | None, typer.Option("--latency-ms", min=0.0, help="Offline LLM latency in ms.")
]
CandidateStructured = Annotated[
    StructuredMode | None, typer.Option("--structured", help=f"Structured output (openai); {As}.")
]
CandidateDownLimit = Annotated[
    float | None,
    typer.Option(
        "--provider-down-limit",
        min=0.01,
        help=f"Seconds the LLM server may be down ({DOWN_LIMIT_S:g} by default).",
    ),
]
CandidateChaos = Annotated[
    float | None,
    typer.Option("--chaos", min=0.0, max=1.0, help="Share of faulty calls to inject."),
]
CandidateSeed = Annotated[
    int | None,
    typer.Option("--seed", help=f"Seed of the offline engine, chaos and the sample; {As}."),
]
