"""``evaluate``: replay a past run (or a golden set) through a candidate configuration,
compare, report, and gate."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar, final

import anyio
import typer

from actors.llm import LlmKind, StructuredMode, preflight
from actors.validation import RulePolicy
from cli._common import DRIFT_EXIT, app, fail, plain, stderr
from cli._config import workspace_of
from cli._options import (
    CandidateChaos,
    CandidateConcurrency,
    CandidateDownLimit,
    CandidateIcp,
    CandidateKb,
    CandidateLatencyMs,
    CandidateLlm,
    CandidateModel,
    CandidatePrompts,
    CandidateRules,
    CandidateSeed,
    CandidateStructured,
    CandidateTimeout,
    CandidateWorkspace,
    EvaluatedRun,
    EvaluationOut,
    FallbackModel,
    Golden,
    Rpm,
    Tpm,
)
from messages import LeadwrightError
from supervision.evaluation import (
    Budget,
    Condition,
    Evaluation,
    Plan,
    evaluate_golden,
    evaluate_run,
    gate,
    load_golden,
    write_report,
)
from supervision.system import (
    EvidenceSettings,
    LlmSettings,
    PipelineConfig,
    RunFiles,
    RunSettings,
    Sources,
    close_backends,
    command_log,
    configure,
)

T = TypeVar("T")

GATE_EXIT = DRIFT_EXIT
"""``evaluate --fail-if`` exits with this when a condition holds, as ``drift`` does."""
EVALUATIONS = Path("runs/evaluations")
"""Where an evaluation goes without ``--out``: a new directory named for the time."""


@final
@dataclass(frozen=True, slots=True)
class Candidate:
    """What the candidate changes of the baseline's settings: each ``None`` is left as the
    baseline ran. The fields' order is the description's (``_describe``)."""

    llm: LlmKind | None = None
    model: str | None = None
    icp: Path | None = None
    rules: Path | None = None
    concurrency: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    timeout: float | None = None
    latency_ms: float | None = None
    structured: StructuredMode | None = None
    fallback_model: str | None = None
    chaos: float | None = None
    provider_down_limit: float | None = None
    seed: int | None = None
    kb: Path | None = None
    prompts: Path | None = None
    workspace: Path | None = None


@app.command()
def evaluate(
    baseline: EvaluatedRun = None,
    golden: Golden = None,
    out: EvaluationOut = None,
    llm: CandidateLlm = None,
    model: CandidateModel = None,
    icp: CandidateIcp = None,
    kb: CandidateKb = None,
    rules: CandidateRules = None,
    prompts: CandidatePrompts = None,
    workspace: CandidateWorkspace = None,
    concurrency: CandidateConcurrency = None,
    rpm: Rpm = None,
    tpm: Tpm = None,
    timeout: CandidateTimeout = None,
    latency_ms: CandidateLatencyMs = None,
    structured: CandidateStructured = None,
    fallback_model: FallbackModel = None,
    provider_down_limit: CandidateDownLimit = None,
    chaos: CandidateChaos = None,
    seed: CandidateSeed = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="Replay N leads, stratified by their outcome.")
    ] = None,
    repeat: Annotated[
        int, typer.Option(min=1, max=50, help="Ask the candidate K times, to measure stability.")
    ] = 1,
    max_cost: Annotated[
        float | None, typer.Option(help="Stop once the candidate has cost this many USD.")
    ] = None,
    max_calls: Annotated[
        int | None, typer.Option(help="Stop once the candidate has made this many LLM calls.")
    ] = None,
    fail_if: Annotated[
        list[str] | None,
        typer.Option(help="Exit 3 when this condition holds (repeatable); see docs/evaluate.md."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the whole evaluation as JSON.")
    ] = False,
) -> None:
    """Replay a past run's leads (or a golden set) through a candidate model, prompt or
    rule set, and compare: outcomes, rules, fit, cost, drift, drafts side by side.

    Nothing outside --out changes: the baseline is read, never written; research reads
    the recorded evidence; no CRM row is written and no webhook is sent. Exit code 3
    when a --fail-if condition holds.
    """
    if (baseline is None) == (golden is None):
        fail("pass --baseline RUN_DIR (a run to compare with) or --golden FILE, one of them")
    given = Candidate(
        llm=llm,
        model=model,
        icp=icp,
        rules=rules,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        timeout=timeout,
        latency_ms=latency_ms,
        structured=structured,
        fallback_model=fallback_model,
        chaos=chaos,
        provider_down_limit=provider_down_limit,
        seed=seed,
        kb=kb,
        prompts=prompts,
        workspace=workspace,
    )
    try:
        conditions = [Condition.parse(text) for text in fail_if or ()]
        budget = Budget(max_calls=max_calls, max_cost=max_cost)
        lines = load_golden(golden) if golden is not None else []
        base = RunSettings.load(baseline) if baseline is not None else RunSettings()
        settings = _candidate(base, given)
        directory = _new_directory(out, baseline)
        plan = _plan(
            settings,
            base,
            given,
            directory,
            budget,
            sample=sample,
            repeat=repeat,
            golden=baseline is None,
        )
        anyio.run(_preflight, settings, directory, backend="asyncio")
        directory.mkdir(parents=True, exist_ok=True)
        # What libraries log (retries among it) goes to the evaluation's event log, redacted.
        secrets = [os.environ.get("OPENAI_API_KEY", "")]
        with command_log(directory, secrets=secrets):
            if baseline is not None:
                stderr.print(f"evaluating {plan.candidate} against {baseline} ...", markup=False)
                result = anyio.run(evaluate_run, baseline, plan, backend="asyncio")
            else:
                assert golden is not None
                stderr.print(f"evaluating {plan.candidate} on {golden} ...", markup=False)
                result = anyio.run(evaluate_golden, golden, plan, lines, backend="asyncio")
        result = gate(result, conditions)
        report = write_report(result, directory)
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    _print(result, report, json_output=json_output)
    if result.failed_gate:
        raise typer.Exit(GATE_EXIT)


def _candidate(base: RunSettings, given: Candidate) -> RunSettings:
    """The baseline's settings with what the candidate changes, the workspace applied as
    ``run`` applies it; research reads recorded evidence or a knowledge base, never the web.

    A workspace given, or the baseline's gone, decides the files the options leave open
    (the ICP, the knowledge base, the prompts), rather than the baseline's."""
    stale = base.files.workspace is not None and not base.files.workspace.is_dir()
    recorded = given.workspace is None and not stale
    chosen = workspace_of(
        given.workspace
        if given.workspace is not None
        else (base.files.workspace if recorded else None)
    )
    files = RunFiles.of(
        chosen,
        icp=_first(given.icp, base.files.icp if recorded else None),
        rules=_first(given.rules, base.files.rules),
    )
    prompts = _first(given.prompts, base.files.prompts if recorded else None)
    if prompts is not None:
        files = replace(files, prompts=prompts)
    evidence = EvidenceSettings.of(
        chosen,
        sources=Sources.KB,
        kb=_first(given.kb, base.evidence.kb if recorded else None),
        sources_ttl=base.evidence.sources_ttl,
        allow_private_sources=base.evidence.allow_private_sources,
        research_ttl=base.evidence.research_ttl,
    )
    if given.kb is None and not evidence.kb.is_file():
        evidence = replace(evidence, kb=EvidenceSettings().kb)
    llm = base.llm
    return RunSettings(
        llm=LlmSettings(
            backend=_first(given.llm, llm.backend),
            model=_first(given.model, llm.model),
            structured=_first(given.structured, llm.structured),
            provider_down_limit=_first(given.provider_down_limit, llm.provider_down_limit),
            fallback_model=_first(given.fallback_model, llm.fallback_model),
            timeout=_first(given.timeout, llm.timeout),
            latency_ms=_first(given.latency_ms, llm.latency_ms),
            chaos=_first(given.chaos, llm.chaos),
            seed=_first(given.seed, llm.seed),
            rpm=_first(given.rpm, llm.rpm),
            tpm=_first(given.tpm, llm.tpm),
            prices=llm.prices,
        ),
        evidence=evidence,
        limits=replace(base.limits, concurrency=_first(given.concurrency, base.limits.concurrency)),
        files=files,
    )


def _first(given: T | None, recorded: T) -> T:
    """What the candidate gives, else what the baseline recorded."""
    return given if given is not None else recorded


def _plan(
    settings: RunSettings,
    base: RunSettings,
    given: Candidate,
    directory: Path,
    budget: Budget,
    *,
    sample: int | None,
    repeat: int,
    golden: bool,
) -> Plan:
    def config_for(draw: int, out: Path) -> PipelineConfig:
        # The same path as `run`: settings to configuration, the seed moved on per draw,
        # so each draw of the candidate is an independent one.
        llm = replace(settings.llm, seed=settings.llm.seed + draw)
        return configure(replace(settings, llm=llm), out)

    # A golden line's own evidence always counts; --kb is then where the others find theirs.
    own_kb = given.kb is not None and not golden
    rules = settings.files.rules
    kb_here = settings.evidence.kb.is_file()
    return Plan(
        scratch=directory,
        config_for=config_for,
        candidate=_describe(given, golden=golden),
        settings=settings.flat(),
        budget=budget,
        sample=sample,
        seed=settings.llm.seed,
        repeat=repeat,
        own_source=own_kb,
        kb_fallback=golden or (not own_kb and base.evidence.sources == Sources.KB and kb_here),
        disabled=(RulePolicy.load(rules) if rules is not None else RulePolicy()).disabled,
    )


async def _preflight(settings: RunSettings, directory: Path) -> None:
    """Stop before any replay when the candidate's model cannot answer at all."""
    config = configure(settings, directory / "candidate-1")
    try:
        await preflight(config.gateway)
    finally:
        await close_backends(config.gateway, config.source)


def _describe(candidate: Candidate, *, golden: bool) -> str:
    given = [
        f"{item.name.replace('_', '-')} {value}"
        for item in fields(candidate)
        if (value := getattr(candidate, item.name)) is not None
    ]
    if given:
        return ", ".join(given)
    return "the default configuration" if golden else "the baseline's own configuration"


def _new_directory(out: Path | None, baseline: Path | None) -> Path:
    """Where the evaluation goes: made once the candidate's model has answered the preflight."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = out if out is not None else EVALUATIONS / stamp
    if baseline is not None and directory.resolve() == baseline.resolve():
        fail(f"--out {directory} is the baseline itself; pass a new directory")
    if directory.exists() and any(directory.iterdir()):
        fail(f"{directory} is not empty; pass a new --out for this evaluation")
    return directory


def _print(result: Evaluation, report: Path, *, json_output: bool) -> None:
    if json_output:
        typer.echo(result.model_dump_json())
    else:
        for verdict in result.gate:
            state = "HOLDS" if verdict.holds else "passes"
            plain(f"fail-if {verdict.expression!r} {state}: {verdict.detail}")
        plain(f"report: {report} (and {report.with_name('report.json').name} beside it)")
        plain(result.summary)
    if json_output:
        stderr.print(f"report: {report}", markup=False)
