"""The admitter (``supervision/system/_admitter.py``): the inbox's unfinished records handed
to the actors in the order first submitted, a window at a time, and what an earlier
process left in flight delivered again instead of submitted afresh."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest
from anyio.lowlevel import checkpoint

from actors import Receipt, StoredRecord
from bus import InProcessBus, Mailbox
from messages import LeadOutcome, LeadSubmitted, Outcome, RawValue
from supervision.system import Stores
from supervision.system._admission import Admission
from supervision.system._admitter import Admitter, _submitted
from tests.support.children import settle

pytestmark = pytest.mark.anyio

WAIT_S = 10.0
"""A safety net so that a lost message fails the test instead of hanging it."""


async def submit(stores: Stores, count: int, *, start: int = 1) -> list[Receipt]:
    """Submit ``count`` leads in one input, their emails numbered from ``start``."""
    input_id = await stores.ledger.open_input("test")
    rows: list[tuple[int, Mapping[str, RawValue]]] = [
        (n, {"email": f"lead{start + n}@ember.ai"}) for n in range(1, count + 1)
    ]
    return await stores.ledger.submit(input_id, rows)


async def admitted(intake: Mailbox, count: int) -> list[int]:
    """The records of the next ``count`` ``LeadSubmitted`` to reach ``intake``, in order."""
    records = []
    with anyio.fail_after(WAIT_S):
        for _ in range(count):
            message = (await intake.take()).message
            assert isinstance(message, LeadSubmitted)
            records.append(message.record)
    return records


async def nothing_more(intake: Mailbox) -> None:
    """Fail if anything more reaches ``intake`` once every task is blocked (call it only
    while the admitter waits for a place or a wake, not for the disk)."""
    await settle()
    assert intake.statistics().queued == 0


async def inbox_read(stores: Stores, trips: int) -> None:
    """Return once the ledger has made ``trips`` trips to its thread, each answered, and
    every task is blocked on something else."""
    with anyio.fail_after(WAIT_S):
        while stores.ledger.db.trips < trips:
            await checkpoint()
    await stores.ledger.db.run(lambda _: None)
    await settle()


async def test_records_are_admitted_in_the_order_submitted_a_window_at_a_time(
    stores: Stores, bus: InProcessBus
) -> None:
    """With a window of 2, two records go out; each place an outcome frees lets the next
    one in, in submission order."""
    intake = bus.subscribe("intake", LeadSubmitted)
    await submit(stores, 5)
    admission = Admission(2)
    admitter = Admitter(stores, admission, bus)
    async with anyio.create_task_group() as group:
        group.start_soon(admitter.run)
        assert await admitted(intake, 2) == [1, 2]
        await nothing_more(intake)
        assert admission.in_flight == 2
        admission.settle(2)
        assert await admitted(intake, 1) == [3]
        await nothing_more(intake)
        admission.settle(1)
        admission.settle(3)
        assert await admitted(intake, 2) == [4, 5]
        admitter.stop()


async def test_records_submitted_later_wait_for_wake(stores: Stores, bus: InProcessBus) -> None:
    """Once the inbox is empty the admitter sleeps: new records go out when it is woken."""
    intake = bus.subscribe("intake", LeadSubmitted)
    await submit(stores, 1)
    admitter = Admitter(stores, Admission(8), bus)
    trips = stores.ledger.db.trips
    async with anyio.create_task_group() as group:
        group.start_soon(admitter.run)
        assert await admitted(intake, 1) == [1]
        await inbox_read(stores, trips + 2)  # the first record, then nothing after it
        await submit(stores, 2, start=10)
        await nothing_more(intake)
        admitter.wake()
        assert await admitted(intake, 2) == [2, 3]
        admitter.stop()


async def test_stop_admits_nothing_more_and_the_rest_stays_unfinished(
    stores: Stores, bus: InProcessBus
) -> None:
    """After ``stop`` the admitter's run returns; what it had not admitted stays in the
    inbox, unfinished, for the next start."""
    intake = bus.subscribe("intake", LeadSubmitted)
    await submit(stores, 3)
    admitter = Admitter(stores, Admission(1), bus)
    async with anyio.create_task_group() as group:
        group.start_soon(admitter.run)
        assert await admitted(intake, 1) == [1]
        await nothing_more(intake)
        admitter.stop()
    await nothing_more(intake)
    assert stores.ledger.unfinished() == 3


async def test_what_a_crash_left_in_flight_is_delivered_again_not_submitted_afresh(
    tmp_path: Path,
) -> None:
    """After a crash, a record whose ``LeadSubmitted`` was never acked goes out again as
    the same envelope when it is admitted; one that finished meanwhile is delivered at
    once (to be acked) and takes no place; one never admitted is submitted."""
    first = Stores.open(tmp_path)
    crashed = InProcessBus(journal=first.journal)
    intake = crashed.subscribe("intake", LeadSubmitted)
    receipts = await submit(first, 3)
    before = Admitter(first, Admission(2), crashed)
    async with anyio.create_task_group() as group:
        group.start_soon(before.run)
        with anyio.fail_after(WAIT_S):
            sent = [(await intake.take()).message_id for _ in range(2)]
        await nothing_more(intake)
        before.stop()
    finished = LeadOutcome(
        record=1, lead_id=receipts[0].lead_id, outcome=Outcome.REJECTED, reason="invalid"
    )
    await first.ledger.set_outcome(finished)
    await crashed.aclose()
    first.close()

    stores = Stores.open(tmp_path)
    bus = InProcessBus(journal=stores.journal)
    try:
        intake = bus.subscribe("intake", LeadSubmitted)
        admission = Admission(2)
        admitter = Admitter(stores, admission, bus)
        assert await admitter.pick_up() == 2
        assert intake.take_nowait().message_id == sent[0]
        async with anyio.create_task_group() as group:
            group.start_soon(admitter.run)
            with anyio.fail_after(WAIT_S):
                again = [await intake.take() for _ in range(2)]
            admitter.stop()
        assert again[0].message_id == sent[1]
        assert isinstance(again[1].message, LeadSubmitted) and again[1].message.record == 3
        assert again[1].message_id not in sent
        assert (admission.holds(1), admission.holds(2), admission.holds(3)) == (False, True, True)
    finally:
        await bus.aclose()
        stores.close()


def test_on_a_shared_bus_a_records_submission_has_an_id_derived_from_it() -> None:
    """Admitting a record again after a restart on NATS sends the same message id, which
    the server's duplicate window drops; in one process every admission is a new id."""
    stored = StoredRecord(record=7, lead_id="L7", fields={"email": "a@x.io"})
    stable = [_submitted(stored, stable=True) for _ in range(2)]
    assert stable[0].message_id == stable[1].message_id
    assert stable[0].message == LeadSubmitted(record=7, lead_id="L7", fields={"email": "a@x.io"})
    fresh = [_submitted(stored) for _ in range(2)]
    assert fresh[0].message_id != fresh[1].message_id
