"""What an operator reads from a run directory: report, trace, drift, and compaction."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text
from rich.tree import Tree

from actors import PENDING, LedgerStore, ReportRow
from actors.drift import DRIFT_SHARE, DriftReport, Profile, compare, write_report
from actors.llm import Spend
from cli._common import (
    DEFAULT_OUT,
    DRIFT_EXIT,
    Json,
    Out,
    Tsv,
    app,
    fail,
    hint,
    parse_number,
    stderr,
    stdout,
    table,
    with_journal,
    with_ledger,
    with_stores,
)
from cli._cost import cost_lines
from messages import POLICIES, LeadwrightError, Outcome, Queue, registry
from supervision.system import (
    DirectoryInUse,
    DirectoryLock,
    Stores,
    TraceNode,
    build_trace,
    compact_run,
    csv_table,
)


@app.command()
def report(
    out: Out = DEFAULT_OUT,
    json_output: Json = False,
    input_id: Annotated[
        str | None,
        typer.Option("--input", help="One input's lines, in its order: its number, or 'last'."),
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="Only records with this outcome (or pending).")
    ] = None,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    cost: Annotated[
        bool,
        typer.Option(
            "--cost",
            help="What the directory's LLM calls used and cost, by stage and per completed "
            "lead, instead of the records.",
        ),
    ] = False,
    tsv: Tsv = False,
) -> None:
    """Every record and its outcome, in the order submitted (or one input's lines)."""
    if cost:
        _report_cost(out, json_output=json_output)
        return

    def rows_of(ledger: LedgerStore) -> list[ReportRow]:
        if input_id is None:
            return ledger.report()
        number = ledger.last_input() if input_id == "last" else parse_number(input_id, "--input")
        if number is None:
            fail(f"{out}: no input yet; run some leads first")
        return ledger.report(input_id=number)

    rows = with_ledger(out, rows_of)
    if outcome is not None:
        if outcome not in {o.value for o in Outcome} | {PENDING}:
            known = ", ".join([o.value for o in Outcome] + [PENDING])
            fail(f"--outcome {outcome!r} is not one of: {known}")
        rows = [row for row in rows if row.outcome == outcome]
    if csv_output:
        header = ["record", "lead_id", "outcome", "reason"]
        sys.stdout.write(
            csv_table(header, [[r.record, r.lead_id, r.outcome, r.reason] for r in rows]).text
        )
        return
    if json_output:
        for row in rows:
            line = {"record": row.record, "lead_id": row.lead_id, "outcome": row.outcome}
            typer.echo(json.dumps(line | {"reason": row.reason}, ensure_ascii=False))
        return
    table(
        ["record", "lead_id", "outcome", "reason"],
        [[str(r.record), r.lead_id, r.outcome, r.reason] for r in rows],
        tsv=tsv,
        long={"reason"},
    )
    for spent in cost_lines(with_stores(out, spend_of).to_json()):
        stdout.print(spent)


def spend_of(stores: Stores) -> Spend:
    """What every run and service on the directory spent, and the leads completed."""
    completed = stores.ledger.counts().get(Outcome.COMPLETED.value, 0)
    return Spend(stores.usage.totals(), completed)


def _report_cost(out: Path, *, json_output: bool) -> None:
    spend = with_stores(out, spend_of)
    figures = spend.to_json()
    if json_output:
        typer.echo(json.dumps(figures))
        return
    priced = figures["cost_usd"] is not None
    rows = [
        [
            stage,
            f"{used['calls']:,}",
            f"{used['tokens']:,}",
            f"{used['cached_tokens']:,}",
            f"${used['cost_usd']:,.4f}" if priced else "-",
        ]
        for stage, used in figures["by_stage"].items()
    ]
    table(["stage", "calls", "tokens", "cached", "cost"], rows, title=f"LLM usage: {out}")
    for line in cost_lines(figures):
        stdout.print(line)


@app.command()
def trace(
    lead_id: Annotated[str, typer.Argument(help="The lead id, as report shows it.")],
    out: Out = DEFAULT_OUT,
    json_output: Json = False,
) -> None:
    """The causal chain of messages for one lead: who sent what, why, and when."""
    entries = with_journal(out, lambda journal: journal.trace(lead_id))
    if not entries:
        fail(f"no messages for lead {lead_id!r} in {out}; see {hint('report')} --out {out}")
    roots = build_trace(entries)
    if json_output:
        typer.echo(json.dumps([root.to_dict() for root in roots], ensure_ascii=False))
        return
    tree = Tree(f"lead {lead_id}")
    _grow(tree, roots)
    stdout.print(tree)


def _grow(branch: Tree, nodes: list[TraceNode]) -> None:
    for node in nodes:
        entry = node.entry
        after = "" if node.after_s is None else f" +{node.after_s * 1000:.0f} ms"
        approved = " approved" if entry.approved else ""
        to = ", ".join(f"{s}{'' if acked else ' (pending)'}" for s, acked in entry.deliveries)
        label = Text(f"{entry.kind}{approved} #{entry.attempt} from {entry.producer}")
        label.append(f"{after} -> {to or 'no one'}", style="dim")
        if node.detail:
            label.append(f"  {node.detail}", style="cyan")
        _grow(branch.add(label), node.children)


@app.command()
def compact(out: Out = DEFAULT_OUT, json_output: Json = False) -> None:
    """Shrink the journal: finished leads keep their story (for trace), not every message.

    Refused while run or serve holds --out: serve compacts its own journal as it goes
    (--compact-every, --compact-minutes).
    """
    if not (out / "journal.sqlite").is_file():
        fail(f"{out}: no run here (no journal.sqlite); pass the --out of a run")
    try:
        with DirectoryLock(out, command="compact"):
            result = compact_run(out)
    except DirectoryInUse as exc:
        fail(str(exc))
    per_lead = result.bytes_per_finished_lead
    if json_output:
        typer.echo(json.dumps(asdict(result) | {"bytes_per_finished_lead": round(per_lead)}))
        return
    stdout.print(
        f"compacted {result.compacted} of {result.finished_leads} finished leads in {out}: "
        f"journal {result.bytes_before / 1e6:.1f} MB -> {result.bytes_after / 1e6:.1f} MB "
        f"({per_lead / 1024:.1f} KB per finished lead)",
        markup=False,
    )


@app.command()
def drift(
    baseline: Annotated[Path, typer.Option(help="A run directory or profile.json.")],
    current: Annotated[Path, typer.Option(help="The run directory (or profile) to check.")],
    report_dir: Annotated[
        Path | None, typer.Option("--report", help="Write a report with plots here.")
    ] = None,
    json_output: Json = False,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 3 when any column drifted.")
    ] = False,
) -> None:
    """Compare a run's input and output distributions with a baseline.

    Exit code 3 with --fail-on-drift when any column drifted, so a scheduled job can gate.
    """
    try:
        reference, profile = Profile.load(baseline), Profile.load(current)
        result = compare(reference, profile)
        written = write_report(result, reference, profile, report_dir) if report_dir else None
    except (LeadwrightError, OSError) as exc:
        fail(str(exc))
    if json_output:
        typer.echo(result.to_json())
    else:
        _print_drift(result, written)
    if fail_on_drift and result.drifted:
        raise typer.Exit(DRIFT_EXIT)


def _print_drift(result: DriftReport, written: Path | None) -> None:
    rows = [
        [
            c.name,
            c.role,
            c.test,
            f"{c.statistic:.3g}",
            "" if c.p_value is None else f"{c.p_value:.3g}",
            c.psi_band,
            "DRIFT" if c.drift else "",
        ]
        for c in result.columns
    ]
    table(["column", "kind", "test", "statistic", "p-value", "PSI", "drift"], rows)
    stdout.print(drift_verdict(result), markup=False)
    if written is not None:
        stdout.print(f"report: {written}")


@app.command()
def contracts(
    folder: Annotated[
        Path | None, typer.Argument(help="Write one file per type in this folder.")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="The same as the folder argument.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", hidden=True, help="Deprecated: use --dir.")
    ] = None,
) -> None:
    """The JSON Schema of every message type (on stdout, or one file per type)."""
    if out is not None:
        stderr.print(
            "note: contracts --out is now contracts --dir (--out names a run directory)",
            markup=False,
        )
    target = folder or directory or out
    schemas = registry.json_schemas()
    if target is None:
        typer.echo(json.dumps(schemas, indent=2, sort_keys=True))
        return
    try:
        target.mkdir(parents=True, exist_ok=True)
        for kind, schema in schemas.items():
            (target / f"{kind}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    except OSError as exc:
        fail(f"{target}: cannot write the schemas ({exc.strerror}); pass a writable --dir")
    stdout.print(f"wrote {len(schemas)} schemas to {target}", markup=False)


@app.command()
def failures(json_output: Json = False, tsv: Tsv = False) -> None:
    """The failure taxonomy: how each failure is detected, the path it takes, and where a
    lead waits after it: the inbox (a person decides) or Operations (machine failures)."""
    rows = []
    for policy in POLICIES.values():
        attempts = "until it succeeds" if policy.max_attempts is None else str(policy.max_attempts)
        backoff = (
            f"{policy.backoff_initial:g}-{policy.backoff_max:g} s" if policy.backoff_max else "-"
        )
        ends = (
            policy.exhausted.value
            if policy.exhausted
            else ("run stops" if policy.stops_run else "-")
        )
        waits = "-" if policy.queue is Queue.NONE else policy.queue.value
        rows.append(
            [policy.failure.value, policy.detected_by, policy.path, attempts, backoff, ends, waits]
        )
    if json_output:
        keys = ["failure", "detected_by", "path", "attempts", "backoff", "ends_as", "waits_in"]
        for row in rows:
            typer.echo(json.dumps(dict(zip(keys, row, strict=True))))
        return
    headers = ["failure", "detected by", "path", "attempts", "backoff", "ends as", "waits in"]
    table(headers, rows, tsv=tsv)


def drift_verdict(result: DriftReport) -> str:
    """One line that agrees with the table: which columns drifted, and the dataset verdict."""
    drifted, total = len(result.drifted), len(result.columns)
    if not drifted:
        return f"no drift: none of {total} columns drifted"
    names = ", ".join(c.name for c in result.drifted)
    dataset = "dataset drift" if result.drift else "no dataset drift"
    return (
        f"drift in {drifted} of {total} columns ({names}); {dataset}, "
        f"which needs at least {DRIFT_SHARE:.0%} of the columns"
    )
