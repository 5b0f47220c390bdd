"""A subscriber's bounded mailbox, which outlives any one incarnation of its actor."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import final

import anyio
from anyio import WouldBlock
from anyio.lowlevel import checkpoint

from bus._statistics import MailboxStatistics
from messages import ClosedResourceError, Envelope, Message, UsageError


@dataclass(eq=False, slots=True)
class _Waiting:
    """A ``put`` waiting for room: its envelope, and the event that ends the wait."""

    envelope: Envelope[Message]
    done: anyio.Event
    refused: bool = False


@final
class Mailbox:
    """A bounded queue of envelopes for one subscriber.

    A full mailbox makes ``put`` wait, which is how backpressure reaches a publisher.
    A message stays *in flight* from ``take`` until ``ack``; if its actor stops or
    crashes first, ``requeue_in_flight`` hands it back, ahead of everything queued, so
    that the next incarnation sees it again and in the original order.
    """

    def __init__(self, owner: str, capacity: int) -> None:
        if capacity < 1:
            raise UsageError(f"capacity={capacity!r} of mailbox {owner!r} must be >= 1")
        self.owner = owner
        self.capacity = capacity
        # A deque and two queues of waiters rather than an anyio memory stream: a message
        # is put and taken on every hop, and the stream's bookkeeping cost more than this.
        self._queue: deque[Envelope[Message]] = deque()
        self._redelivery: deque[Envelope[Message]] = deque()
        self._closed = False
        self._in_flight: dict[str, Envelope[Message]] = {}
        self._crashes: dict[str, int] = {}
        self._takers: deque[anyio.Event] = deque()
        """One event per task waiting in ``take``, first come first served."""
        self._senders: deque[_Waiting] = deque()
        """Envelopes whose ``put`` waits for room, first come first served; each enters
        the queue, and its event is set, as soon as a take makes room for it."""
        self._taken = 0
        self._acked = 0

    async def put(self, envelope: Envelope[Message]) -> None:
        """Queue an envelope, waiting while the mailbox is full."""
        await checkpoint()
        if self._closed:
            raise self._closed_error(envelope)
        if len(self._queue) < self.capacity:
            self._queue.append(envelope)
            self._wake(1)
            return
        waiting = _Waiting(envelope, anyio.Event())
        self._senders.append(waiting)
        try:
            await waiting.done.wait()
        except BaseException:
            if not waiting.done.is_set():
                self._senders.remove(waiting)
            raise
        if waiting.refused:
            raise self._closed_error(envelope)

    def put_nowait(self, envelope: Envelope[Message]) -> None:
        """Queue an envelope now, or raise ``WouldBlock`` if the mailbox is full."""
        if self._closed:
            raise self._closed_error(envelope)
        if len(self._queue) >= self.capacity:
            raise WouldBlock
        self._queue.append(envelope)
        self._wake(1)

    def has_room(self) -> bool:
        """Whether ``put_nowait`` would succeed now."""
        return len(self._queue) < self.capacity

    def room(self) -> int:
        """How many ``put_nowait`` calls would succeed now."""
        return self.capacity - len(self._queue)

    def ready(self) -> bool:
        """Whether a ``take_nowait`` now would return at once rather than raise ``WouldBlock``
        (it may raise ``EndOfStream``: a closed mailbox is always ready)."""
        return bool(self._redelivery or self._queue) or self._closed

    async def take(self) -> Envelope[Message]:
        """The next envelope, waiting for one; raises ``EndOfStream`` once closed and empty.

        Cancelling a ``take`` never loses a message: the wait is on an event, and the
        message leaves the buffer only in a step that cannot be interrupted. Each arrival
        wakes one waiting taker, the longest waiting, rather than all of them.
        """
        # The checkpoint comes first: once an envelope is taken, nothing may interrupt
        # its way back to the caller, or it would sit in flight with no one handling it.
        await checkpoint()
        while True:
            try:
                return self.take_nowait()
            except WouldBlock:
                pass
            await self.wait()

    async def wait(self) -> None:
        """Wait until an envelope arrives, or the mailbox closes; take nothing.

        Returns at once if the mailbox is closed; otherwise each arrival wakes one waiting
        task, the longest waiting, which may then find the envelope gone to another taker.
        Cancelling it never loses a message, since it takes none.
        """
        if self._closed:
            await checkpoint()
            return
        woken = anyio.Event()
        self._takers.append(woken)
        try:
            await woken.wait()
        except BaseException:
            if woken.is_set():
                self._wake(1)  # the arrival it was woken for is another taker's now
            else:
                self._takers.remove(woken)
            raise

    def interrupt(self) -> None:
        """Wake every task waiting in ``wait`` without an arrival (an actor that stops).

        Each returns from ``wait`` and may find nothing to take; no arrival is lost, since
        an envelope leaves the mailbox only when it is taken.
        """
        self._wake(len(self._takers))

    def take_nowait(self) -> Envelope[Message]:
        """The next envelope now, or raise ``WouldBlock`` if there is none."""
        if self._redelivery:
            envelope = self._redelivery.popleft()
        elif self._queue:
            envelope = self._queue.popleft()
            if self._senders:
                waiting = self._senders.popleft()
                self._queue.append(waiting.envelope)
                waiting.done.set()
        elif self._closed:
            raise anyio.EndOfStream
        else:
            raise WouldBlock
        self._in_flight[envelope.message_id] = envelope
        self._taken += 1
        return envelope

    def ack(self, envelope: Envelope[Message]) -> None:
        """Mark an envelope as handled, so that it is never redelivered."""
        if self._in_flight.pop(envelope.message_id, None) is not None:
            self._acked += 1
        self._crashes.pop(envelope.message_id, None)

    def record_crash(self, envelope: Envelope[Message]) -> int:
        """Count a crash while handling ``envelope``; return its crashes so far."""
        crashes = self._crashes.get(envelope.message_id, 0) + 1
        self._crashes[envelope.message_id] = crashes
        return crashes

    def discard(self, envelope: Envelope[Message]) -> None:
        """Give up on an in-flight envelope (it was dead-lettered); it is not redelivered."""
        self._in_flight.pop(envelope.message_id, None)
        self._crashes.pop(envelope.message_id, None)

    def requeue_in_flight(self) -> int:
        """Hand every unacknowledged envelope back, first in line; return how many."""
        pending = list(self._in_flight.values())
        self._redelivery.extendleft(reversed(pending))
        self._in_flight.clear()
        self._wake(len(pending))
        return len(pending)

    def close(self) -> None:
        """Refuse new envelopes; those already queued can still be taken."""
        if self._closed:
            return
        self._closed = True
        # The puts that wait for room are refused: each raises, so its caller knows.
        while self._senders:
            waiting = self._senders.popleft()
            waiting.refused = True
            waiting.done.set()
        self._wake(len(self._takers))  # each finds the queue, or the end of the stream

    def statistics(self) -> MailboxStatistics:
        return MailboxStatistics(
            owner=self.owner,
            capacity=self.capacity,
            queued=len(self._queue),
            redelivery=len(self._redelivery),
            in_flight=len(self._in_flight),
            waiting_senders=len(self._senders),
            taken=self._taken,
            acked=self._acked,
        )

    def _wake(self, count: int) -> None:
        """Wake up to ``count`` waiting takers, longest waiting first."""
        for _ in range(min(count, len(self._takers))):
            self._takers.popleft().set()

    def _closed_error(self, envelope: Envelope[Message]) -> ClosedResourceError:
        return ClosedResourceError(
            f"Cannot deliver {envelope.kind} to {self.owner!r}, as its mailbox has been closed."
        )
