"""The whole actor system on the in-process bus: outcomes, the CRM, chaos, and no deadlock."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import anyio
import pytest

from actors import Icp, KnowledgeBase, LedgerStore, LlmGateway, RuleContext, SqliteCrm
from actors.intake import RawRecord, read_records
from actors.llm import ChaosLlm, Fault, OfflineLlm
from actors.validation import check
from messages import Envelope, Message, OutreachDraft, UsageError
from supervision.system import (
    Operator,
    PipelineConfig,
    RunSummary,
    open_system,
    run_pipeline,
)
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio

LEADS = EXAMPLES / "leads.csv"
ICP = Icp.load(EXAMPLES / "icp.toml")
KB = KnowledgeBase.load(EXAMPLES / "companies.json")
RULES = RuleContext(
    sender_domain=ICP.sender.domain, fit_high=ICP.fit_high, fit_medium=ICP.fit_medium
)
# A safety net so that a deadlock fails the test instead of hanging CI; not a timing claim.
DEADLOCK_GUARD_S = 120


class Tap:
    """Collects what the bus carries: the approved drafts, for re-checking."""

    def __init__(self) -> None:
        self.approved_drafts: list[OutreachDraft] = []

    def __call__(self, envelope: Envelope[Message], /) -> None:
        if envelope.approved and isinstance(envelope.message, OutreachDraft):
            self.approved_drafts.append(envelope.message)


async def run(
    out: Path,
    gateway: LlmGateway,
    *,
    limit: int | None = None,
    concurrency: int = 8,
    tap: Tap | None = None,
) -> RunSummary:
    records: Iterable[RawRecord] = read_records(LEADS)
    if limit is not None:
        records = itertools.islice(records, limit)
    config = PipelineConfig(
        out=out,
        gateway=gateway,
        icp=ICP,
        source=KB,
        concurrency=concurrency,
        hooks=(tap,) if tap else (),
    )
    with anyio.fail_after(DEADLOCK_GUARD_S):
        return await run_pipeline(config, records)


def ledger_report(out: Path) -> list[tuple[int, str]]:
    store = LedgerStore(out / "journal.sqlite")
    try:
        assert store.conflicts() == 0, "some record got a second outcome"
        return [(row.record, row.outcome) for row in store.report()]
    finally:
        store.close()


def crm_rows(out: Path) -> list[dict[str, object]]:
    store = SqliteCrm(out / "crm.sqlite")
    try:
        return store.rows()
    finally:
        store.close()


def assert_one_outcome_each(out: Path, records: int) -> Counter[str]:
    report = ledger_report(out)
    assert [record for record, _ in report] == list(range(1, records + 1))
    assert all(outcome != "pending" for _, outcome in report)
    return Counter(outcome for _, outcome in report)


def assert_crm_matches_outcomes(out: Path) -> None:
    finished = {
        record for record, outcome in ledger_report(out) if outcome in ("completed", "disqualified")
    }
    rows = crm_rows(out)
    assert sorted(int(str(r["record"])) for r in rows) == sorted(finished)
    assert len({r["lead_id"] for r in rows}) == len(rows)


async def test_sample_leads_run_offline(tmp_path: Path) -> None:
    """All 240 sample records end in exactly one outcome, and few valid leads need a human."""
    tap = Tap()
    summary = await run(tmp_path, OfflineLlm(seed=0), tap=tap)
    counts = assert_one_outcome_each(tmp_path, 240)
    # 9 rows are invalid and 2 repeat an earlier lead's email, so 11 are rejected; the 5
    # without an email have a name and a company, each a lead of its own.
    assert counts["rejected"] == 11
    valid = 240 - counts["rejected"]
    assert counts["needs_review"] + counts["failed"] <= 0.2 * valid
    assert counts["completed"] > 0 and counts["disqualified"] > 0
    assert summary.leads == 240 and summary.outcomes == {
        k: counts.get(k, 0) for k in summary.outcomes
    }
    assert summary.llm_calls > 0
    assert_crm_matches_outcomes(tmp_path)
    bodies = {str(r["draft_body"]) for r in crm_rows(tmp_path) if r["outcome"] == "completed"}
    assert bodies <= {d.body for d in tap.approved_drafts}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_chaos_loses_and_duplicates_nothing(tmp_path: Path, seed: int) -> None:
    """At a 30% fault rate every record still ends once, and no CRM draft breaks a rule."""
    tap = Tap()
    gateway = ChaosLlm(OfflineLlm(seed=seed), rate=0.3, seed=seed)
    await run(tmp_path, gateway, limit=50, tap=tap)
    assert_one_outcome_each(tmp_path, 50)
    assert_crm_matches_outcomes(tmp_path)
    drafts = {d.lead.lead_id: d for d in tap.approved_drafts}
    for row in crm_rows(tmp_path):
        if row["outcome"] == "completed":
            draft = drafts[str(row["lead_id"])]
            assert row["draft_body"] == draft.body
            assert check(draft, RULES).passed, check(draft, RULES)
    assert gateway.statistics().injected


async def test_feedback_cycle_cannot_deadlock_with_tiny_mailboxes(tmp_path: Path) -> None:
    """One call in flight (mailboxes sized for a window of 2) and 60% faults finish every lead."""
    gateway = ChaosLlm(OfflineLlm(seed=5), rate=0.6, seed=5)
    await run(tmp_path, gateway, limit=20, concurrency=1)
    assert_one_outcome_each(tmp_path, 20)


async def test_a_second_run_redoes_nothing(tmp_path: Path) -> None:
    """Running again over a finished run directory makes no LLM call and changes no outcome."""
    await run(tmp_path, OfflineLlm(seed=0), limit=30)
    before = ledger_report(tmp_path)
    again = await run(tmp_path, OfflineLlm(seed=0), limit=30)
    assert again.llm_calls == 0
    assert ledger_report(tmp_path) == before


async def test_people_and_operations_keep_one_outcome_per_record(tmp_path: Path) -> None:
    """After a chaotic run, a person approves or declines every inbox item and an operator
    retries everything in Operations: every record still has exactly one outcome, the
    declined ones among them, and the CRM holds exactly the completed and disqualified."""
    companies = json.loads((EXAMPLES / "companies.json").read_text(encoding="utf-8"))
    # A knowledge base that knows only half the companies: the rest reach the inbox.
    half = KnowledgeBase(dict(list(companies.items())[::2]))
    # Every fault but rate limits, which only make the run wait (the chaos test above
    # has them): what people and Operations do is the same.
    faults = [fault for fault in Fault if fault is not Fault.RATE_LIMIT]
    gateway = ChaosLlm(OfflineLlm(seed=7), rate=0.3, seed=7, faults=faults)
    config = PipelineConfig(out=tmp_path, gateway=gateway, icp=ICP, source=half)
    await run_pipeline(config, itertools.islice(read_records(LEADS), 80))
    async with open_system(config, admit=False) as system:
        # Retried leads may land in the inbox (a lead without evidence): decide them too.
        operator = Operator(system, reviewer="ana")
        for letter in operator.retryable():
            await operator.retry(letter)
        items = system.stores.review.items(status="open")
        assert items, "the chaotic run left nothing in the inbox"
        for number, item in enumerate(items):
            if number == 0:
                await operator.decline(item.id, "not for us")
                continue
            try:
                await operator.approve(item.id)
            except UsageError:
                await operator.decline(item.id, "the draft needs more work than it is worth")
        assert system.caller.statistics().calls > 0
    counts = assert_one_outcome_each(tmp_path, 80)
    assert counts["declined"] >= 1 and counts["needs_review"] == 0
    assert_crm_matches_outcomes(tmp_path)
