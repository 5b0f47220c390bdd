"""The door of a run directory: each record is checked once, by ``CheckedRecord``, and the
inbox refuses duplicates with that one verdict (only a valid record claims its email)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from actors import LedgerStore, Submission
from actors.intake import CheckedRecord
from messages import RawValue

pytestmark = pytest.mark.anyio

ZOE: dict[str, RawValue] = {"first_name": "Zoë", "company": "Acme", "email": "zoe@acme.io"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def submitted(
    tmp_path: Path, *records: Mapping[str, RawValue] | CheckedRecord
) -> list[tuple[Submission, str]]:
    """What submitting ``records`` as one input did to each."""
    ledger = LedgerStore(tmp_path / "journal.sqlite")
    try:
        input_id = await ledger.open_input("test")
        receipts = await ledger.submit(input_id, list(enumerate(records, start=1)))
    finally:
        ledger.close()
    return [(receipt.submission, receipt.reason) for receipt in receipts]


def test_a_checked_record_carries_the_verdict_identity_and_fingerprint() -> None:
    """``CheckedRecord.of`` holds the clean fields of a valid record, or its reasons."""
    valid = CheckedRecord.of({**ZOE, "email": " ZOE@Acme.io "})
    invalid = CheckedRecord.of({**ZOE, "employees": "many"})

    assert valid.email == "zoe@acme.io" and valid.reasons == () and valid.clean is not None
    assert invalid.clean is None and invalid.email is None
    assert invalid.reasons == ("employees 'many' is not a number or a range such as 51-200",)
    assert valid.lead_id == invalid.lead_id and valid.fingerprint != invalid.fingerprint


async def test_a_second_record_with_the_same_email_is_refused_at_the_door(tmp_path: Path) -> None:
    """Another lead with an email submitted before, in any case, is a duplicate."""
    other = {**ZOE, "id": "L2", "email": " ZOE@Acme.io"}

    assert await submitted(tmp_path, {**ZOE, "id": "L1"}, other) == [
        (Submission.NEW, ""),
        (Submission.DUPLICATE, "duplicate of record 1 (same email)"),
    ]


async def test_an_invalid_record_does_not_claim_its_email(tmp_path: Path) -> None:
    """After an invalid record, a corrected one with the same email is a new lead."""
    broken = {**ZOE, "id": "L1", "employees": "many"}

    assert [s for s, _ in await submitted(tmp_path, broken, {**ZOE, "id": "L2"})] == [
        Submission.NEW,
        Submission.NEW,
    ]


async def test_leads_without_an_email_are_no_duplicates_of_each_other(tmp_path: Path) -> None:
    """A name and a company make a lead; two such leads with no email are two leads."""
    first = {"first_name": "Ana", "company": "Acme"}
    second = {"first_name": "Ben", "company": "Birch"}

    assert await submitted(tmp_path, first, second) == [(Submission.NEW, ""), (Submission.NEW, "")]


async def test_the_inbox_takes_the_verdict_a_face_checked_already(tmp_path: Path) -> None:
    """A record checked at the door is not checked again: its verdict decides (here one
    that names another email, which the next record then duplicates)."""
    checked = CheckedRecord.of({**ZOE, "id": "L1"})
    assert checked.clean is not None
    claimed = replace(checked, clean={**checked.clean, "email": "ana@birch.io"})

    assert await submitted(tmp_path, claimed, {**ZOE, "id": "L2", "email": "ana@birch.io"}) == [
        (Submission.NEW, ""),
        (Submission.DUPLICATE, "duplicate of record 1 (same email)"),
    ]
