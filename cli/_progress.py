"""What ``run`` shows: a live progress bar on a terminal (a plain line every few leads
otherwise), and the summary when it ends."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import final

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli._common import PROGRESS_EVERY, counted, hint, plain, table, with_stores
from cli._cost import cost_lines
from messages import FailureKind, Outcome
from supervision.system import Progress as RunProgress
from supervision.system import RunSummary, Tally


@final
class ProgressDisplay:
    """The run's progress on ``stream``: a live bar on a terminal; on a log file or a
    pipe, a line every ``PROGRESS_EVERY`` leads. Retries are counted here and in the
    summary, each one is in the event log, never printed."""

    def __init__(self, stream: Console, tally: Tally) -> None:
        self.stream = stream
        self.tally = tally
        self.live = stream.is_terminal
        columns = (
            TextColumn("leads"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
        )
        self.bar = Progress(*columns, console=stream, disable=not self.live)
        self.task = self.bar.add_task("leads", total=None, detail="")
        self.lines_printed = 0
        """Plain progress lines printed so far (without a terminal)."""

    def __enter__(self) -> ProgressDisplay:
        self.bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.bar.__exit__(kind, error, traceback)

    def update(self, progress: RunProgress) -> None:
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(progress.outcomes.items()))
        calls = f"llm calls={progress.llm_calls} retries={progress.retries}"
        detail = f"{outcomes} | {calls} in flight={progress.in_flight_calls}"
        if self.tally.warnings or self.tally.errors:
            detail += f" | warnings={self.tally.warnings} errors={self.tally.errors} (events.jsonl)"
        self.bar.update(self.task, completed=progress.done, total=progress.total, detail=detail)
        if not self.live and progress.done // PROGRESS_EVERY > self.lines_printed:
            self.lines_printed = progress.done // PROGRESS_EVERY
            of = f"/{progress.total}" if progress.total is not None else ""
            self.stream.print(f"progress: {progress.done}{of} leads done; {detail}", markup=False)


def print_summary(summary: RunSummary, out: Path, tally: Tally) -> None:
    rows = [[o.value, str(summary.outcomes.get(o.value, 0))] for o in Outcome]
    if summary.pending:
        rows.append(["pending", str(summary.pending)])
    table(["outcome", "leads"], rows, title=f"Leadwright run: {out}")
    earlier = f", {summary.finished_earlier} finished earlier" if summary.finished_earlier else ""
    plain(
        f"{summary.leads} leads in {summary.makespan_s:.2f} s ({summary.leads_per_s:.1f}/s)"
        f"{earlier}; {summary.llm_calls} LLM calls, {summary.retries} retries, "
        f"{summary.validation_failures} validation failures. Details: {hint('report')} --out {out}"
    )
    for spent in cost_lines(summary.cost):
        plain(spent)
    waiting = summary.outcomes.get(Outcome.NEEDS_REVIEW.value, 0)
    if waiting:
        verb = "waits" if waiting == 1 else "wait"
        plain(
            f"{counted(waiting, 'lead')} {verb} for a person in the inbox: "
            f"{hint('review list')} --out {out}"
        )
    failed = summary.outcomes.get(Outcome.FAILED.value, 0)
    if failed:
        plain(
            f"{counted(failed, 'lead')} {'is' if failed == 1 else 'are'} in Operations "
            "(machine failures, retried on a schedule): "
            f"{hint('ops list')} --out {out}"
        )
    if tally.warnings or tally.errors:
        problems = f"{counted(tally.warnings, 'warning')}, {counted(tally.errors, 'error')}"
        plain(f"{problems}: see {out}/events.jsonl")
    if summary.drifted:
        drifted = ", ".join(summary.drifted)
        plain(f"drift from the baseline in: {drifted} ({hint('drift')} for the report)")
    if summary.outcomes.get(Outcome.NEEDS_REVIEW.value):
        line = _no_evidence(out)
        if line is not None:
            plain(line)


def _no_evidence(out: Path) -> str | None:
    """A line on the leads in the inbox because nothing was known about their company."""
    items = with_stores(out, lambda stores: stores.review.items(status="open"))
    leads = [item.request.lead for item in items if item.failure == FailureKind.NO_EVIDENCE]
    domains = sorted({lead.domain or lead.company for lead in leads})
    if not domains:
        return None
    shown = ", ".join(domains[:5]) + (", ..." if len(domains) > 5 else "")
    line = (
        f"no evidence about {len(domains)} {'company' if len(domains) == 1 else 'companies'} "
        f"({shown}): their drafts use only the lead's row and wait in the inbox; add what "
        f"you know with {hint('review retry')} ID --fact TEXT, or pass --kb FILE with "
        "entries for those domains, or --sources web"
    )
    if any(not lead.domain for lead in leads):
        # The knowledge base and the web are looked up by domain: a fact is the only way.
        line += " (a company with no domain needs a domain or website column for those two)"
    return line
