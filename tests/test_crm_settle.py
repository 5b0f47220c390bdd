"""The CRM and the outcome agree after a crash: a row for a lead still pending is removed
when the run directory is opened, and written again when the lead finishes."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import anyio
from _pipeline import offline_config

from actors.intake import RawRecord, read_records
from messages import Outcome
from supervision.system import Stores, open_system, run_pipeline

ROOT = Path(__file__).resolve().parent.parent
LEADS = ROOT / "examples" / "leads.csv"


def first_records(count: int) -> list[RawRecord]:
    records = read_records(LEADS)
    return [next(records) for _ in range(count)]


def crm_records(out: Path) -> list[int]:
    stores = Stores.open(out)
    try:
        return sorted(row["record"] for row in stores.crm.rows())
    finally:
        stores.close()


def crash_before_outcome(out: Path, record: int) -> None:
    """Leave ``record`` as a crash between its CRM write and its outcome leaves it."""
    with closing(sqlite3.connect(out / "journal.sqlite")) as c, c:
        c.execute("DELETE FROM outcomes WHERE record = ?", (record,))


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
    crash_before_outcome(out, crashed)

    anyio.run(open_and_close, out)
    assert crashed not in crm_records(out)
    assert crm_records(out) == in_crm[1:]

    anyio.run(run_pipeline, offline_config(out), records)
    assert crm_records(out) == in_crm
    stores = Stores.open(out)
    try:
        assert stores.ledger.outcome_of(crashed) in {Outcome.COMPLETED, Outcome.DISQUALIFIED}
    finally:
        stores.close()


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
