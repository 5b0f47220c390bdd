"""``evaluate``: replay a past run (or a golden set) through a candidate configuration,
compare, report, and gate."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import anyio
import typer

from actors.llm import DOWN_LIMIT_S, StructuredMode, preflight
from actors.validation import RulePolicy
from cli._common import (
    DRIFT_EXIT,
    SAMPLE_ICP,
    SAMPLE_KB,
    LlmBackend,
    app,
    fail,
    plain,
    stderr,
)
from cli._config import close_backends, config_of, settings_of
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
from supervision.system import PipelineConfig, RunSettings, command_log

GATE_EXIT = DRIFT_EXIT
"""``evaluate --fail-if`` exits with this when a condition holds, as ``drift`` does."""
EVALUATIONS = Path("runs/evaluations")
"""Where an evaluation goes without ``--out``: a new directory named for the time."""

As = "as the baseline ran"
IcpFile = Annotated[Path | None, typer.Option(help=f"Ideal customer profile (TOML); {As}.")]


@app.command()
def evaluate(
    baseline: Annotated[
        Path | None, typer.Option(help="The run directory to replay and compare with.")
    ] = None,
    golden: Annotated[
        Path | None,
        typer.Option(help="A golden set (JSON lines): leads with what a person expects."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="A new directory for the report and the replays (runs/evaluations/TIME)."
        ),
    ] = None,
    llm: Annotated[LlmBackend | None, typer.Option(help=f"The LLM backend; {As}.")] = None,
    model: Annotated[str | None, typer.Option(help=f"The model; {As}.")] = None,
    icp: IcpFile = None,
    kb: Annotated[
        Path | None,
        typer.Option(help="Research from this knowledge base, not the recorded evidence."),
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help=f"A rule set (TOML) for the validator; {As}.")
    ] = None,
    prompts: Annotated[
        Path | None,
        typer.Option(help=f"A folder of stage prompts (a workspace's prompts/); {As}."),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(help="A workspace: its ICP, sender, prompts and knowledge base."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=1024, help=f"LLM calls in flight; {As}.")
    ] = None,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute (openai).")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute (openai).")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.01, help=f"Seconds per LLM call; {As}.")
    ] = None,
    latency_ms: Annotated[
        float | None, typer.Option(min=0.0, help="Offline LLM latency in ms.")
    ] = None,
    structured: Annotated[
        StructuredMode | None, typer.Option(help=f"Structured output (openai); {As}.")
    ] = None,
    fallback_model: Annotated[
        str | None, typer.Option(help="Model to use after provider errors.")
    ] = None,
    provider_down_limit: Annotated[
        float | None,
        typer.Option(
            min=0.01, help=f"Seconds the LLM server may be down ({DOWN_LIMIT_S:g} by default)."
        ),
    ] = None,
    chaos: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Share of faulty calls to inject.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help=f"Seed of the offline engine, chaos and the sample; {As}.")
    ] = None,
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
    options: dict[str, object] = {
        "llm": llm, "model": model, "icp": icp, "rules": rules, "concurrency": concurrency,
        "rpm": rpm, "tpm": tpm, "timeout": timeout, "latency_ms": latency_ms,
        "structured": structured, "fallback_model": fallback_model, "chaos": chaos,
        "provider_down_limit": provider_down_limit, "seed": seed, "kb": kb,
        "prompts": prompts, "workspace": workspace,
    }  # fmt: skip
    try:
        conditions = [Condition.parse(text) for text in fail_if or ()]
        budget = Budget(max_calls=max_calls, max_cost=max_cost)
        lines = load_golden(golden) if golden is not None else []
        base = _baseline_settings(baseline)
        settings = _candidate(base, options)
        directory = _new_directory(out, baseline)
        plan = _plan(
            settings, base, options, directory, budget,
            sample=sample, repeat=repeat, golden=baseline is None,
        )  # fmt: skip
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


def _baseline_settings(baseline: Path | None) -> RunSettings:
    """How the baseline ran (its settings.json), or the defaults for a golden set."""
    if baseline is None:
        return RunSettings(kb=str(SAMPLE_KB), icp=str(SAMPLE_ICP))
    return RunSettings.load(baseline)


def _candidate(base: RunSettings, options: dict[str, object]) -> RunSettings:
    """The baseline's settings with the options given, through ``run``'s own ``settings_of``."""
    given = {name: value for name, value in options.items() if value is not None}
    recorded = base.model_dump()
    stale = recorded.get("workspace") and not Path(str(recorded["workspace"])).is_dir()
    if "workspace" in given or stale:
        # The candidate's workspace decides what the options leave open, not the baseline's.
        for name in ("workspace", "icp", "kb", "prompts"):
            recorded.pop(name, None)
    # Never the web: research reads recorded evidence, or the knowledge base.
    settings = settings_of(recorded | given | {"sources": "kb", "baseline": None})
    if "kb" not in given and not Path(settings.kb).is_file():
        settings = settings.model_copy(update={"kb": str(SAMPLE_KB)})
    return settings


def _plan(
    settings: RunSettings,
    base: RunSettings,
    options: dict[str, object],
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
        return config_of(settings.model_copy(update={"seed": settings.seed + draw}), out)

    # A golden line's own evidence always counts; --kb is then where the others find theirs.
    own_kb = options["kb"] is not None and not golden
    rules = RulePolicy.load(Path(settings.rules)) if settings.rules else RulePolicy()
    return Plan(
        scratch=directory,
        config_for=config_for,
        close=close_backends,
        candidate=_describe(options, golden=golden),
        settings=json.loads(settings.model_dump_json()),
        budget=budget,
        sample=sample,
        seed=settings.seed,
        repeat=repeat,
        own_source=own_kb,
        kb_fallback=golden or (not own_kb and base.sources == "kb" and Path(settings.kb).is_file()),
        disabled=rules.disabled,
    )


async def _preflight(settings: RunSettings, directory: Path) -> None:
    """Stop before any replay when the candidate's model cannot answer at all."""
    config = config_of(settings, directory / "candidate-1")
    try:
        await preflight(config.gateway)
    finally:
        await close_backends(config)


def _describe(options: dict[str, object], *, golden: bool) -> str:
    given = [
        f"{name.replace('_', '-')} {value.value if hasattr(value, 'value') else value}"
        for name, value in options.items()
        if value is not None
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
