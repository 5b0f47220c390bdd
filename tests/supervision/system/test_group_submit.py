"""Group submission (``supervision/system/_group_submit.py``): the submissions that arrive
while one is written go to the inbox together, in the next transaction, and each gets its
own receipts, or the error of the transaction that carried it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import final

import anyio
import pytest

from actors import Claim, LedgerStore, Receipt, Submission
from actors.intake import CheckedRecord
from messages import RawValue
from supervision.system._group_submit import GroupSubmit
from tests.support.children import settle

pytestmark = pytest.mark.anyio

Rows = Sequence[tuple[int, Mapping[str, RawValue] | CheckedRecord]]


def rows(*emails: str) -> list[tuple[int, Mapping[str, RawValue]]]:
    """One input's rows, a lead per email."""
    return [(n, {"email": email}) for n, email in enumerate(emails, start=1)]


@final
class HeldInbox:
    """An inbox whose every write waits until the test lets it go (``release``), and that
    records which inputs each transaction carried."""

    def __init__(self) -> None:
        self.transactions: list[list[int]] = []
        """The inputs of each transaction, as it began."""
        self.written: list[list[int]] = []
        """The inputs of each transaction, once it ended well."""
        self.release = anyio.Event()
        self.error: Exception | None = None

    async def submit_many(
        self, batches: Sequence[tuple[int, Rows]], claims: Sequence[Claim | None] = ()
    ) -> list[list[Receipt]]:
        self.transactions.append([input_id for input_id, _ in batches])
        await self.release.wait()
        if self.error is not None:
            raise self.error
        self.written.append(self.transactions[-1])
        return [
            [
                Receipt(position, input_id * 100 + position, "L", Submission.NEW, "pending", "")
                for position, _ in batch_rows
            ]
            for input_id, batch_rows in batches
        ]


async def test_submissions_that_arrive_during_a_write_share_the_next_transaction() -> None:
    """The first submission is written alone; the three that came while it was on its way
    to the disk go together in one transaction after it."""
    inbox = HeldInbox()
    grouped = GroupSubmit(inbox)
    receipts: dict[int, list[Receipt]] = {}

    async def submit(input_id: int) -> None:
        receipts[input_id] = await grouped.submit(input_id, rows("a@x.io", "b@x.io"))

    async with anyio.create_task_group() as group:
        group.start_soon(submit, 1)
        await settle()
        for input_id in (2, 3, 4):
            group.start_soon(submit, input_id)
        await settle()
        assert inbox.transactions == [[1]]
        inbox.release.set()

    assert inbox.transactions == [[1], [2, 3, 4]]
    for input_id, got in receipts.items():
        assert [r.record for r in got] == [input_id * 100 + 1, input_id * 100 + 2]


async def test_a_failed_transaction_fails_every_submission_it_carried_and_no_other() -> None:
    """Each submitter of a failed transaction gets its error; the next one writes."""
    inbox = HeldInbox()
    grouped = GroupSubmit(inbox)
    inbox.error = OSError("disk full")
    failed: list[int] = []

    async def submit(input_id: int) -> None:
        with pytest.raises(OSError, match=r"^disk full$"):
            await grouped.submit(input_id, rows("a@x.io"))
        failed.append(input_id)

    async with anyio.create_task_group() as group:
        group.start_soon(submit, 1)
        await settle()
        group.start_soon(submit, 2)
        await settle()
        inbox.release.set()
    assert sorted(failed) == [1, 2]
    assert inbox.transactions == [[1], [2]]

    inbox.error = None
    [receipt] = await grouped.submit(3, rows("c@x.io"))
    assert receipt.record == 301


async def test_a_submitter_cancelled_during_its_write_leaves_the_write_whole() -> None:
    """Cancelling the task that writes a transaction does not cut the write short, nor
    keep the submission queued behind it from being written next."""
    inbox = HeldInbox()
    grouped = GroupSubmit(inbox)
    later: list[Receipt] = []
    first = anyio.CancelScope()

    async def cancelled() -> None:
        with first:
            await grouped.submit(1, rows("a@x.io"))

    async def queued() -> None:
        later.extend(await grouped.submit(2, rows("b@x.io")))

    async with anyio.create_task_group() as group:
        group.start_soon(cancelled)
        await settle()
        group.start_soon(queued)
        await settle()
        first.cancel()
        await settle()
        assert inbox.written == []
        inbox.release.set()

    assert inbox.written == [[1], [2]]
    assert [r.record for r in later] == [201]


async def test_receipts_come_from_the_ledger_in_the_order_of_the_rows(tmp_path: Path) -> None:
    """On the real ledger, concurrent submissions each get a receipt per row, in order,
    and a lead submitted twice at once is one new lead and one known."""
    ledger = LedgerStore(tmp_path / "journal.sqlite")
    try:
        grouped = GroupSubmit(ledger)
        first, second = await ledger.open_input("a"), await ledger.open_input("b")
        got: dict[int, list[Receipt]] = {}

        async def submit(input_id: int, emails: tuple[str, ...]) -> None:
            got[input_id] = await grouped.submit(input_id, rows(*emails))

        async with anyio.create_task_group() as group:
            group.start_soon(submit, first, ("ana@ember.ai", "bo@ember.ai"))
            group.start_soon(submit, second, ("bo@ember.ai", "cy@ember.ai"))
        assert [r.position for r in got[first]] == [1, 2]
        assert [r.position for r in got[second]] == [1, 2]
        kinds = sorted(r.submission for r in [*got[first], *got[second]])
        assert kinds.count(Submission.NEW) == 3
        assert kinds.count(Submission.KNOWN) == 1
    finally:
        ledger.db.close()
