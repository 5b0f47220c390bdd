"""The CRM and the outcome agree after a crash: a row for a lead still pending is removed
when the run directory is opened, and written again when the lead finishes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import anyio

from actors.intake import RawRecord, read_records
from messages import Outcome
from supervision.system import Stores, open_system, run_pipeline
from tests.support.paths import EXAMPLES
from tests.support.pipeline import offline_config

LEADS = EXAMPLES / "leads.csv"


def first_records(count: int) -> list[RawRecord]:
    records = read_records(LEADS)
    return [next(records) for _ in range(count)]


def crm_records(out: Path) -> list[int]:
    stores = Stores.open(out)
    try:
        return sorted(row["record"] for row in stores.crm.rows())
    finally:
        stores.close()


def crash_after_crm_write(out: Path, record: int) -> None:
    """Leave ``record`` as a kill just after the CRM's write, before its handler committed:
    no outcome, no ``CrmUpdated``, and the approved draft not yet acked by the CRM."""
    with closing(sqlite3.connect(out / "journal.sqlite")) as c, c:
        (trace,) = c.execute("SELECT lead_id FROM records WHERE record = ?", (record,)).fetchone()
        c.execute("DELETE FROM outcomes WHERE record = ?", (record,))
        effects = (
            "SELECT message_id FROM messages WHERE trace_id = ? "
            "AND kind IN ('crm_updated', 'lead_outcome')"
        )
        c.execute(f"DELETE FROM deliveries WHERE message_id IN ({effects})", (trace,))
        c.execute(f"DELETE FROM messages WHERE message_id IN ({effects})", (trace,))
        c.execute(
            "UPDATE deliveries SET acked = 0 WHERE message_id IN (SELECT message_id FROM "
            "messages WHERE trace_id = ? AND kind = 'outreach_draft' AND approved = 1)",
            (trace,),
        )


def crash_before_outcome(out: Path, record: int) -> None:
    """Leave ``record`` as a kill after the CRM's handler committed, before the outcome
    ledger took its ``LeadOutcome``: the row and its announcement are durable."""
    with closing(sqlite3.connect(out / "journal.sqlite")) as c, c:
        (trace,) = c.execute("SELECT lead_id FROM records WHERE record = ?", (record,)).fetchone()
        c.execute("DELETE FROM outcomes WHERE record = ?", (record,))
        c.execute(
            "UPDATE deliveries SET acked = 0 WHERE message_id IN (SELECT message_id FROM "
            "messages WHERE trace_id = ? AND kind = 'lead_outcome')",
            (trace,),
        )


def outcome_of(out: Path, record: int) -> str:
    stores = Stores.open(out)
    try:
        return stores.ledger.outcome_of(record)
    finally:
        stores.close()


async def open_and_close(out: Path) -> None:
    async with open_system(offline_config(out), admit=False):
        pass


def test_a_crm_row_of_a_pending_lead_is_removed_at_open_and_written_again(
    tmp_path: Path,
) -> None:
    """Opening drops the CRM row of a lead without an outcome; resuming writes it once again."""
    out = tmp_path / "run"
    records = first_records(6)
    anyio.run(run_pipeline, offline_config(out), records)
    in_crm = crm_records(out)
    assert in_crm, "the sample's first leads should put some rows in the CRM"
    crashed = in_crm[0]
    crash_after_crm_write(out, crashed)

    anyio.run(open_and_close, out)
    assert crm_records(out) == in_crm[1:]

    anyio.run(run_pipeline, offline_config(out), records)
    assert crm_records(out) == in_crm
    assert outcome_of(out, crashed) in {Outcome.COMPLETED, Outcome.DISQUALIFIED}


def test_a_row_whose_announcement_is_journaled_stays_and_its_outcome_follows(
    tmp_path: Path,
) -> None:
    """A row the CRM already announced is kept at open; the redelivered outcome settles it."""
    out = tmp_path / "run"
    records = first_records(6)
    anyio.run(run_pipeline, offline_config(out), records)
    in_crm = crm_records(out)
    crashed = in_crm[0]
    crash_before_outcome(out, crashed)

    anyio.run(open_and_close, out)
    assert crm_records(out) == in_crm

    anyio.run(run_pipeline, offline_config(out), iter(()))
    assert crm_records(out) == in_crm
    assert outcome_of(out, crashed) in {Outcome.COMPLETED, Outcome.DISQUALIFIED}


def test_every_crm_row_has_an_outcome_that_writes_one(tmp_path: Path) -> None:
    """After a run, the CRM holds exactly the completed and disqualified records."""
    out = tmp_path / "run"
    anyio.run(run_pipeline, offline_config(out), first_records(12))
    stores = Stores.open(out)
    try:
        expected = stores.ledger.records_with((Outcome.COMPLETED, Outcome.DISQUALIFIED))
        assert set(crm_records(out)) == expected
    finally:
        stores.close()
