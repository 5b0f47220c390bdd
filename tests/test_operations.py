"""The operator's verbs on a run directory: one open review item and one open dead letter
per record, always; a decision on a stale item is refused; each verb is one transaction."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from actors import Icp, KnowledgeBase, LetterStatus, ReviewStatus
from actors.intake import RawRecord, read_records
from actors.llm import ChaosLlm, Fault, OfflineLlm
from messages import (
    DeadLetter,
    Envelope,
    FailureKind,
    LeadAccepted,
    Outcome,
    UsageError,
)
from supervision.system import (
    PipelineConfig,
    Stores,
    approve,
    open_system,
    reject,
    replay,
    replayable,
    run_pipeline,
)

ROOT = Path(__file__).resolve().parent.parent
LEADS = ROOT / "examples" / "leads.csv"


def config(out: Path, *faults: Fault) -> PipelineConfig:
    gateway = OfflineLlm(seed=1)
    return PipelineConfig(
        out=out,
        gateway=ChaosLlm(gateway, rate=1.0, seed=1, faults=list(faults)) if faults else gateway,
        icp=Icp.load(ROOT / "examples" / "icp.toml"),
        source=KnowledgeBase.load(ROOT / "examples" / "companies.json"),
    )


def first_records(count: int) -> list[RawRecord]:
    records = read_records(LEADS)
    return [next(records) for _ in range(count)]


@pytest.fixture
def reviewed(tmp_path: Path) -> Path:
    """A run directory whose leads all wait for review at the writing stage."""
    out = tmp_path / "run"
    anyio.run(run_pipeline, config(out, Fault.PLACEHOLDER), first_records(4))
    return out


def open_items(out: Path) -> list[int]:
    stores = Stores.open(out)
    try:
        return [item.id for item in stores.review.items(status=ReviewStatus.OPEN.value)]
    finally:
        stores.close()


def test_a_new_request_supersedes_the_open_item_of_its_record(reviewed: Path) -> None:
    """Filing a second request for a record leaves one open item: the newer one."""
    stores = Stores.open(reviewed)
    try:
        item = stores.review.items(status="open")[0]
        anyio.run(stores.review.add, item.request)
        mine = [i for i in stores.review.items() if i.record == item.record]
    finally:
        stores.close()
    assert [i.status for i in mine] == ["superseded", "open"]


def test_a_decision_on_a_stale_item_is_refused(reviewed: Path) -> None:
    """A superseded item cannot be approved or rejected: one line says what it is."""
    stores = Stores.open(reviewed)
    try:
        item = stores.review.items(status="open")[0]
        anyio.run(stores.review.add, item.request)
        with pytest.raises(UsageError, match=f"review item {item.id} is already superseded"):
            reject(stores, item.id, "too late")
    finally:
        stores.close()


def test_reject_is_one_transaction_over_item_letter_and_outcome(reviewed: Path) -> None:
    """After a reject, the item is rejected, the record failed, and its letter marked
    rejected so that replaying every open letter leaves it alone."""
    stores = Stores.open(reviewed)
    try:
        item = stores.review.items(status="open")[0]
        reject(stores, item.id, "wrong company", reviewer="ana")
        assert stores.review.item(item.id).status == "rejected"  # type: ignore[union-attr]
        assert stores.ledger.outcome_of(item.record) == "failed"
        [letter] = [d for d in stores.dead.items() if d.record == item.record]
        assert letter.status == LetterStatus.REJECTED
        assert letter.id not in replayable(stores, None)
        with pytest.raises(UsageError, match="pass --rejected"):
            replayable(stores, letter.id)
        assert replayable(stores, letter.id, rejected=True) == [letter.id]
        assert stores.review.audit(item.id)[-1][1:] == ("rejected", "wrong company", "ana")
    finally:
        stores.close()


def test_an_edited_draft_is_checked_again_and_reaches_the_crm(reviewed: Path) -> None:
    """An edit that still breaks a rule is refused with the rules; a fixed edit is approved,
    and the CRM holds the edited text."""
    from supervision.system import DraftEdit, DraftRefused

    async def scenario() -> tuple[str, str]:
        async with open_system(config(reviewed), admit=False) as system:
            item = system.stores.review.items(status="open")[0]
            draft = item.request.last_output
            assert draft is not None and hasattr(draft, "body")
            still_bad = DraftEdit(subject="Hello", body=draft.body)
            with pytest.raises(DraftRefused) as refused:
                await approve(system, item.id, edit=still_bad)
            assert "draft.placeholder" in {v.rule for v in refused.value.violations}
            fixed_body = draft.body.replace("{{", "").replace("}}", "")
            fixed_body = fixed_body.replace("[Name]", "").replace("<company>", "")
            decision = await approve(
                system, item.id, edit=DraftEdit(subject="Hello", body=fixed_body)
            )
            row = system.stores.crm.row(item.lead_id)
            assert row is not None
            return decision.outcome, str(row["draft_body"])

    outcome, body = anyio.run(scenario)
    assert outcome == "completed"
    assert "{{" not in body


def test_replay_of_a_dead_letter_runs_it_once_and_marks_it(tmp_path: Path) -> None:
    """Replaying a lead's open letter clears and re-earns its outcome, and the letter is
    replayed; replaying it again is refused."""
    out = tmp_path / "run"
    anyio.run(run_pipeline, config(out), first_records(2))
    stores = Stores.open(out)
    try:
        row = stores.ledger.report()[0]
        assert stores.journal is not None
        accepted = stores.journal.envelopes(kinds=["lead_accepted"], trace_ids=[row.lead_id])
        letter = DeadLetter(
            failure=FailureKind.ACTOR_CRASH,
            reason="boom",
            actor="research",
            payload=accepted[0].to_json(),
            attempts=2,
        )
        stores.dead.add_sync(letter, (row.record, row.lead_id))
        stores.ledger.replace_outcome(row.record, Outcome.FAILED, "boom")
        [letter_id] = replayable(stores, None)
    finally:
        stores.close()

    async def scenario() -> str:
        async with open_system(config(out), admit=False) as system:
            decision = await replay(system, letter_id)
            with pytest.raises(UsageError, match="is replayed"):
                await replay(system, letter_id)
            return decision.outcome

    assert anyio.run(scenario) in {"completed", "disqualified", "needs_review"}


def test_only_one_open_letter_per_record(tmp_path: Path) -> None:
    """A second letter for a record supersedes the first."""
    stores = Stores.open(tmp_path)
    try:
        payload = Envelope.new(
            LeadAccepted.model_validate(
                {
                    "lead": {
                        "lead_id": "L1", "record": 1, "first_name": "A", "last_name": "",
                        "email": "a@b.co", "title": "", "company": "B", "domain": "b.co",
                        "industry": "", "employees": 5, "country": "GB", "notes": "",
                    }
                }
            ),
            producer="intake",
        ).to_json()  # fmt: skip
        letter = DeadLetter(
            failure=FailureKind.ACTOR_CRASH, reason="x", actor="a", payload=payload, attempts=1
        )
        stores.dead.add_sync(letter, (1, "L1"))
        stores.dead.add_sync(letter, (1, "L1"))
        assert [i.status for i in stores.dead.items()] == ["superseded", "open"]
    finally:
        stores.close()
