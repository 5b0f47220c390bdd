"""The CRM agent (``actors/agents/_crm.py``) on the test bus: the rows it writes, and a store that
is down for a while."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors import Crm, CrmRow, CrmUnavailable, SqliteCrm
from bus import TestBus
from messages import CrmUpdated, Fit, LeadOutcome, Outcome, ReviewApproved
from tests.support.outputs import draft, lead, research, score

pytestmark = pytest.mark.anyio


async def test_an_approval_writes_exactly_the_draft_the_reviewer_saw(tmp_path: Path) -> None:
    """ReviewApproved puts its draft in the CRM (completed), or records the lead as
    disqualified when it is not to be sent."""
    store = SqliteCrm(tmp_path / "crm.sqlite")
    bus = TestBus()
    await bus.deliver(Crm(store), ReviewApproved(item=1, draft=draft(), send=True))
    other = lead(lead_id="L0002", record=2, email="b@arclight-academy.com")
    low = draft(score=score(research=research(lead=other), fit=Fit.LOW, score=20))
    await bus.deliver(Crm(store), ReviewApproved(item=2, draft=low, send=False))
    rows = store.rows()
    store.close()
    assert [(r["outcome"], r["draft_body"]) for r in rows] == [
        ("completed", draft().body),
        ("disqualified", None),
    ]


async def test_crm_writes_completed_and_disqualified_rows(tmp_path: Path) -> None:
    """An approved draft and a disqualified score each become one CRM row and one outcome."""
    store = SqliteCrm(tmp_path / "crm.sqlite")
    bus = TestBus()
    crm = Crm(store)
    await bus.deliver(crm, draft(), approved=True, producer="validator")
    other = lead(lead_id="L0002", record=2, email="b@arclight-academy.com")
    low = score(research=research(lead=other), fit=Fit.LOW, score=20, icp_score=20, icp_fit=Fit.LOW)
    await bus.deliver(crm, low, approved=True, producer="validator")
    await bus.deliver(crm, score(), approved=True, producer="validator")  # drafted later, not here
    rows = store.rows()
    store.close()
    assert [(r["lead_id"], r["outcome"]) for r in rows] == [
        ("L0001", "completed"),
        ("L0002", "disqualified"),
    ]
    assert rows[0]["draft_body"] == draft().body and rows[1]["draft_body"] is None
    outcomes = bus.messages(LeadOutcome)
    assert [(o.record, o.outcome) for o in outcomes] == [
        (1, Outcome.COMPLETED),
        (2, Outcome.DISQUALIFIED),
    ]
    assert len(bus.messages(CrmUpdated)) == 2


async def test_crm_retries_an_unavailable_store_until_it_succeeds() -> None:
    """Writes that fail are retried until the store takes them; the lead is not dropped."""

    class Flaky:
        def __init__(self) -> None:
            self.failures_left = 3
            self.rows: list[CrmRow] = []

        async def upsert(self, row: CrmRow) -> None:
            if self.failures_left:
                self.failures_left -= 1
                raise CrmUnavailable("down")
            self.rows.append(row)

    store = Flaky()
    bus = TestBus()
    await bus.deliver(Crm(store), draft(), approved=True, producer="validator")
    assert [r.lead_id for r in store.rows] == ["L0001"]
    assert [o.outcome for o in bus.messages(LeadOutcome)] == [Outcome.COMPLETED]
