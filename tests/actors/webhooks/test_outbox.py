"""The webhook outbox: an outcome or a decision and its event are one transaction, events
go to their subscribers only, and a run's payloads are signed, typed and complete."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import pytest
from standardwebhooks import Webhook

from actors import Icp, KnowledgeBase
from actors.intake import RawRecord, read_records
from actors.llm import ChaosLlm, Fault, OfflineLlm
from actors.stores import set_outcome
from actors.webhooks import EndpointPolicy, SecretFiles
from messages import LeadOutcome, Outcome, WebhookEvent
from supervision.system import Operator, PipelineConfig, Stores, open_system, run_pipeline
from tests.support.paths import EXAMPLES
from tests.support.receiver import Receiver

LOCAL = EndpointPolicy(allow_private=True, retries=(0.05,) * 5)


class Boom(Exception):
    pass


def config(out: Path, *faults: Fault) -> PipelineConfig:
    gateway = OfflineLlm(seed=1, imperfection_rate=0.0)
    return PipelineConfig(
        out=out,
        gateway=ChaosLlm(gateway, rate=1.0, seed=1, faults=list(faults)) if faults else gateway,
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )


def first_records(count: int) -> list[RawRecord]:
    records = read_records(EXAMPLES / "leads.csv")
    return [next(records) for _ in range(count)]


def add_endpoint(out: Path, url: str, events: list[str] | None = None) -> str:
    """Register ``url`` in ``out`` (a new run directory) and return its secret."""
    out.mkdir(parents=True, exist_ok=True)
    stores = Stores.open(out)
    try:
        endpoint = stores.webhooks.add(url, events or [], LOCAL)
        return SecretFiles(out).make(endpoint.id)
    finally:
        stores.close()


def events(out: Path) -> list[tuple[str, int | None]]:
    with sqlite3.connect(out / "journal.sqlite") as c:
        rows = c.execute(
            "SELECT type, record FROM webhook_events ORDER BY created_at, id"
        ).fetchall()
    return [(str(t), r) for t, r in rows]


async def submit_one(stores: Stores) -> int:
    [raw] = first_records(1)
    input_id = await stores.ledger.open_input("test")
    [receipt] = await stores.ledger.submit(input_id, [(1, raw.fields)])
    return receipt.record


def test_an_outcome_and_its_event_commit_together_or_not_at_all(tmp_path: Path) -> None:
    """A transaction that fails after the outcome leaves neither the outcome nor its event;
    one that commits leaves both, with one pending delivery per subscribed endpoint."""
    out = tmp_path / "run"
    add_endpoint(out, "http://127.0.0.1:9/a")
    add_endpoint(out, "http://127.0.0.1:9/b")
    stores = Stores.open(out)
    try:
        record = anyio.run(submit_one, stores)
        outcome = LeadOutcome(record=record, lead_id="L0001", outcome=Outcome.FAILED, reason="x")

        def then_fail(c: sqlite3.Connection) -> None:
            set_outcome(c, outcome)
            raise Boom

        with pytest.raises(Boom):
            stores.ledger.db.run_sync(then_fail)
        assert stores.ledger.outcome_of(record) == "pending" and events(out) == []
        stores.ledger.db.run_sync(lambda c: set_outcome(c, outcome))
        assert events(out) == [("lead.failed", record)]
        assert [d.status.value for d in stores.webhooks.deliveries()] == ["pending", "pending"]
        stores.ledger.db.run_sync(lambda c: set_outcome(c, outcome))
        assert len(events(out)) == 1, "a redelivered outcome announces nothing again"
    finally:
        stores.close()


def test_an_event_goes_only_to_endpoints_subscribed_to_its_type(tmp_path: Path) -> None:
    """An endpoint for lead.completed gets no lead.failed; with no subscriber nothing is kept."""
    out = tmp_path / "run"
    add_endpoint(out, "http://127.0.0.1:9/", ["lead.completed"])
    stores = Stores.open(out)
    try:
        record = anyio.run(submit_one, stores)
        failed = LeadOutcome(record=record, lead_id="L0001", outcome=Outcome.FAILED, reason="x")
        stores.ledger.db.run_sync(lambda c: set_outcome(c, failed))
        assert events(out) == [] and stores.webhooks.deliveries() == []
    finally:
        stores.close()


def test_a_run_sends_each_outcome_signed_with_its_lead_score_and_draft(
    receiver: Receiver, tmp_path: Path
) -> None:
    """Every outcome of a run reaches the receiver once, its signature verifies with the
    standardwebhooks package, and a completed lead carries its approved draft."""
    out = tmp_path / "run"
    secret = add_endpoint(out, receiver.url)
    summary = anyio.run(run_pipeline, config(out), first_records(6))
    finished = sum(summary.outcomes.values())
    got = receiver.wait_for(finished)
    bodies = [Webhook(secret).verify(r.body, r.headers) for r in got]
    parsed = [WebhookEvent.model_validate_json(r.body) for r in got]
    assert len({r.headers["webhook-id"] for r in got}) == finished == len(bodies)
    assert sorted(p.data.record for p in parsed) == sorted(  # type: ignore[union-attr]
        range(1, finished + 1)
    )
    completed = [p for p in parsed if p.type == "lead.completed"]
    assert completed, "the sample's first leads include a completed one"
    for event in completed:
        data = json.loads(event.model_dump_json())["data"]
        assert data["lead"]["email"] and data["score"]["fit"] in ("high", "medium")
        assert data["draft"]["approved"] is True and data["draft"]["body"]


def test_a_reviewers_decline_announces_the_decision_and_the_declined_outcome(
    tmp_path: Path,
) -> None:
    """Declining an inbox item queues review.decided (with the draft the person saw) and
    lead.declined, in the decision's own transaction."""
    out = tmp_path / "run"
    add_endpoint(out, "http://127.0.0.1:9/")
    anyio.run(run_pipeline, config(out, Fault.PLACEHOLDER), first_records(1))
    stores = Stores.open(out)
    try:
        [item] = stores.review.items(status="open")
        before = events(out)
        anyio.run(decline, config(out), item.id, "not our market", "ann")
        assert events(out)[len(before) :] == [("review.decided", 1), ("lead.declined", 1)]
        body = stores.ledger.db.run_sync(
            lambda c: c.execute(
                "SELECT body FROM webhook_events WHERE type = 'review.decided'"
            ).fetchone()[0]
        )
    finally:
        stores.close()
    decided = json.loads(body)["data"]
    assert (decided["decision"], decided["reviewer"], decided["note"]) == (
        "declined",
        "ann",
        "not our market",
    )
    assert decided["draft"] is not None and decided["draft"]["approved"] is False


async def decline(config: PipelineConfig, item_id: int, reason: str, reviewer: str) -> None:
    """Decline an inbox item as ``reviewer``, on a system that admits nothing else."""
    async with open_system(config, admit=False) as system:
        await Operator(system, reviewer=reviewer).decline(item_id, reason)
