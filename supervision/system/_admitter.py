"""Admission feeding: the inbox's unfinished records handed to the actors in the order
they were first submitted, each once it holds a place of the admission window, and what
an earlier process left in flight picked up first."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import final

import anyio

from actors import PENDING, StoredRecord
from bus import Bus
from messages import Envelope, LeadSubmitted, Message
from supervision.system._admission import Admission
from supervision.system._resume import InFlight, in_flight, restarts
from supervision.system._stores import Stores
from supervision.system._wiring import OPERATOR

_RESTART_BATCH = 256
"""Unfinished records looked up in the journal at a time when they are admitted."""


@final
class Admitter:
    """Hands unfinished records to the actors, in the order first submitted, at most
    ``admission``'s window at a time.

    A record an earlier process left unfinished goes on from where its lead stopped: its
    envelopes still in flight are delivered again, or the journal's restart plan for it is
    published, instead of its ``LeadSubmitted``.
    """

    def __init__(self, stores: Stores, admission: Admission, bus: Bus) -> None:
        self.stores = stores
        self.admission = admission
        self.bus = bus
        self._cursor = 0
        self._fresh_after = stores.ledger.last_record()
        self._more = anyio.Event()
        self._admitting = anyio.CancelScope()
        self._in_flight = InFlight({}, [])

    @property
    def distributed(self) -> bool:
        """Whether the stages run in other processes, on a shared bus."""
        return self.bus.shared

    def wake(self) -> None:
        """Tell the admitter that new records are in the inbox."""
        self._more.set()

    def stop(self) -> None:
        """Admit nothing more; what is unfinished stays in the inbox for the next start."""
        self._admitting.cancel()

    async def pick_up(self) -> int:
        """Deliver again what a crash left in flight, and count it.

        The envelopes of unfinished records are counted but kept: they go out again when
        their record is admitted, so that they take its place in the window.
        """
        if self.stores.journal is not None:
            self._in_flight = in_flight(self.stores.journal)
        # Handlers are idempotent for work already done, so the loose ends (about no
        # record, or a finished one) are simply delivered again; only unfinished
        # leads take places in the admission window.
        loose = list(self._in_flight.loose)
        for record in list(self._in_flight.by_record):
            if self.stores.ledger.outcome_of(record) != PENDING:
                loose.extend(self._in_flight.by_record.pop(record))
        for envelope, subscriber in loose:
            await self._redeliver(envelope, subscriber)
        return len(loose) + sum(map(len, self._in_flight.by_record.values()))

    async def run(self) -> None:
        """Admit records as they come, until ``stop``."""
        with self._admitting:
            while True:
                self._more = anyio.Event()
                batch = await self.stores.ledger.unfinished_after(self._cursor, _RESTART_BATCH)
                batch = [s for s in batch if not self.admission.holds(s.record)]
                if not batch:
                    await self._more.wait()
                    continue
                await self._admit_batch(batch)

    async def _admit_batch(self, batch: list[StoredRecord]) -> None:
        older = [s for s in batch if s.record <= self._fresh_after]
        plans = restarts(self.stores.journal, older) if older else {}
        ready: list[Envelope[Message]] = []
        for stored in batch:
            if not self.admission.try_admit(stored.record):
                # Before waiting for a place, publish what is ready, so its outcomes can
                # free one; leads that found a place go out together, in one commit.
                await self.bus.commit(ready)
                ready = []
                await self.admission.admit(stored.record)
            self._cursor = stored.record
            if self.distributed and self.stores.ledger.outcome_of(stored.record) != PENDING:
                # Its outcome came, from the shared bus, while it waited for a place.
                self.admission.settle(stored.record)
                continue
            redeliveries = self._in_flight.by_record.pop(stored.record, [])
            if redeliveries:
                for envelope, subscriber in redeliveries:
                    await self._redeliver(envelope, subscriber)
            elif stored.record in plans:
                ready.append(plans[stored.record])
            else:
                ready.append(_submitted(stored, stable=self.distributed))
        await self.bus.commit(ready)

    async def _redeliver(self, envelope: Envelope[Message], subscriber: str) -> None:
        # Only a journal has anything to redeliver, and a shared bus keeps none (its
        # server redelivers what no one acknowledged): there, in_flight finds nothing.
        await self.bus.redeliver(envelope, subscriber)


def _submitted(stored: StoredRecord, *, stable: bool = False) -> Envelope[Message]:
    """The record's ``LeadSubmitted``; with ``stable``, under an id derived from the record,
    so that admitting it again after a restart is dropped by the server's duplicate window
    while the first copy is still in the stream."""
    message = LeadSubmitted(record=stored.record, lead_id=stored.lead_id, fields=stored.fields)
    envelope = Envelope.new(message, producer=OPERATOR, trace_id=stored.lead_id)
    if stable:
        text = f"submitted/{stored.record}/{stored.lead_id}"
        message_id = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        envelope = dataclasses.replace(envelope, message_id=message_id)
    return envelope
