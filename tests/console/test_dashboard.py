"""The dashboard's figures and the raw replies of the lead page, over a live in-process
system: the rate over a recent window (with a clock the test moves), the stream that
sends what changed between outcomes, and each stage's raw reply kept once."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from actors.agents._stage import RAW_REPLY_LIMIT, with_raw_reply
from actors.llm import LlmRequest
from console._ui_dashboard import RATE_WINDOW, Dashboard, RecentRate
from console._ui_views import lead_view
from messages import Fit, Lead, LeadScore, OutreachDraft, ResearchResult, Stage
from supervision.system import System
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio

# A safety net so that a deadlock fails the test instead of hanging CI; not a timing claim.
DEADLOCK_GUARD_S = 60
T0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
LEAD = Lead(
    lead_id="T-1",
    record=1,
    first_name="Ada",
    last_name="Lovelace",
    email="ada@example.com",
    title="CTO",
    company="Example",
    domain="example.com",
    industry="Software",
    employees=100,
    country="US",
    notes="",
)


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def run_examples(system: System, n: int) -> list[str]:
    """Submit the first ``n`` example leads and wait until each has an outcome."""
    with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
        rows = [row for _, row in zip(range(n), csv.DictReader(f), strict=False)]
    await system.submit(await system.open_input("test"), list(enumerate(rows, start=1)))
    with anyio.fail_after(DEADLOCK_GUARD_S):
        await system.wait_finished()
    return [row["id"] for row in rows]


def test_the_rate_is_over_the_last_five_minutes() -> None:
    """Long after start, leads per minute is what finished in the last five minutes / 5."""
    rate = RecentRate(started=T0)
    now = T0 + timedelta(hours=2)
    assert rate.since(now) == now - RATE_WINDOW
    assert rate.per_minute(15, now) == 3.0
    assert rate.per_minute(0, now) == 0.0


def test_a_young_server_measures_since_it_started() -> None:
    """Two minutes after start, the window is those two minutes, not five."""
    rate = RecentRate(started=T0)
    now = T0 + timedelta(minutes=2)
    assert rate.since(now) == T0
    assert rate.per_minute(10, now) == 5.0


def test_the_rate_at_start_does_not_divide_by_zero() -> None:
    """At the very moment of start, the span is taken as one second."""
    assert RecentRate(started=T0).per_minute(1, T0) == 60.0


async def test_leads_per_minute_counts_the_ledgers_recent_finish_times(system: System) -> None:
    """Leads finished now count while they are in the window and no longer once it has
    moved past them, whatever the average since start would say."""
    started = datetime.now(UTC) - timedelta(hours=1)
    clock = Clock(started)
    board = Dashboard(system, clock=clock)
    await run_examples(system, 3)
    clock.now = datetime.now(UTC) + timedelta(seconds=1)
    assert (await board.read())["per_minute"] == round(3 / RATE_WINDOW.total_seconds() * 60, 1)
    clock.now += RATE_WINDOW
    assert (await board.read())["per_minute"] == 0.0


async def test_the_snapshot_agrees_with_the_systems_counters(system: System) -> None:
    """Calls, tokens, failures by rule and outcomes are the caller's, the book's and the
    ledger's."""
    await run_examples(system, 4)
    now = await Dashboard(system).read()
    stats = system.caller.statistics()
    assert now["llm_calls"] == f"{stats.calls:,}" != "0"
    assert now["tokens"] == f"{stats.prompt_tokens + stats.completion_tokens:,}"
    assert now["cost"] == "offline: no cost"
    book = system.statistics().book
    assert now["validation_failures"] == book.validation_failures
    assert dict(now["rules"]) == dict(book.failures_by_rule)
    assert {k: v for k, v in now.items() if k.startswith("outcome.")} == {
        f"outcome.{k}": v for k, v in system.stores.ledger.counts().items()
    }
    json.dumps(now)


async def test_the_stream_sends_a_change_that_no_outcome_announced(system: System) -> None:
    """An LLM call with no lead outcome still reaches the dashboard's stream."""
    board = Dashboard(system, tick_s=0.01)
    events = board.stream()
    try:
        with anyio.fail_after(DEADLOCK_GUARD_S):
            first = json.loads((await anext(events)).split("data: ", 1)[1])
            request = LlmRequest(
                stage=Stage.RESEARCH,
                schema_name="research_reply",
                json_schema={},
                system="",
                prompt="",
                inputs={"lead": LEAD.model_dump(mode="json")},
                trace_id=LEAD.lead_id,
            )
            await system.caller.call(request)
            second = json.loads((await anext(events)).split("data: ", 1)[1])
    finally:
        await events.aclose()
    assert number(second["llm_calls"]) == number(first["llm_calls"]) + 1
    assert number(second["tokens"]) > number(first["tokens"])
    assert second["leads"] == first["leads"] == 0


async def test_many_streams_share_one_read_of_the_ledger(system: System) -> None:
    """Forty open dashboards and twenty leads: the ledger's figures are read a handful of
    times for all of them, not once per stream per outcome, and every stream ends on the
    final counts."""
    board = Dashboard(system, tick_s=0.01, min_read_s=0.05)
    streams = [board.stream() for _ in range(40)]
    last: list[dict[str, object]] = [{} for _ in streams]

    async def follow(index: int) -> None:
        async for event in streams[index]:
            last[index] = json.loads(event.split("data: ", 1)[1])
            if last[index].get("leads") == 20:
                return

    try:
        with anyio.fail_after(DEADLOCK_GUARD_S):
            async with anyio.create_task_group() as group:
                for index in range(len(streams)):
                    group.start_soon(follow, index)
                await anyio.wait_all_tasks_blocked()
                await run_examples(system, 20)
    finally:
        for stream in streams:
            await stream.aclose()
    assert all(figures["leads"] == 20 for figures in last)
    assert board.statistics().ledger_reads <= 25, "one read per change, not per stream"


async def test_each_stage_keeps_its_raw_reply_once(system: System) -> None:
    """The lead page has each stage's raw reply, as the journal's outputs carry it, and an
    output's copies of earlier outputs carry none."""
    [lead_id] = await run_examples(system, 1)
    view = lead_view(system.stores, lead_id)
    assert view is not None and view.outcome == "completed"
    assert list(view.raw) == ["research", "scoring", "writing"]
    assert view.draft is not None and view.score is not None and view.research is not None
    assert view.raw["writing"] == view.draft.raw_reply
    assert json.loads(view.raw["writing"])["subject"] == view.draft.subject
    assert json.loads(view.raw["scoring"])["score"] == view.score.score
    assert json.loads(view.raw["research"])["summary"] == view.research.summary
    assert view.draft.score.raw_reply is None and view.draft.score.research.raw_reply is None


def test_a_long_reply_is_cut_and_says_so() -> None:
    """A reply over the limit keeps its first RAW_REPLY_LIMIT characters and a note."""
    research = ResearchResult(lead=LEAD, evidence=(), summary="s", claims=())
    kept = with_raw_reply(research, "x" * (RAW_REPLY_LIMIT + 10))
    assert isinstance(kept, ResearchResult) and kept.raw_reply is not None
    assert kept.raw_reply == "x" * RAW_REPLY_LIMIT + "\n[10 more characters cut]"
    score = LeadScore(
        research=kept,
        icp_score=50,
        icp_fit=Fit.MEDIUM,
        fit=Fit.MEDIUM,
        score=50,
        confidence=0.5,
        reasons=(),
    )
    draft = with_raw_reply(
        OutreachDraft(score=score.model_copy(update={"raw_reply": "{}"}), subject="s", body="b"),
        "{}",
    )
    assert isinstance(draft, OutreachDraft) and draft.raw_reply == "{}"
    assert draft.score.raw_reply is None and draft.score.research.raw_reply is None


def test_an_output_journaled_before_raw_replies_still_parses() -> None:
    """An output written without the raw_reply field reads back with none."""
    old = ResearchResult(lead=LEAD, evidence=(), summary="s", claims=()).model_dump(mode="json")
    del old["raw_reply"]
    assert ResearchResult.model_validate_json(json.dumps(old)).raw_reply is None


def number(shown: str) -> int:
    """A count as the dashboard shows it, with thousands separators."""
    return int(shown.replace(",", ""))
