"""Frozen snapshots of the bus and its mailboxes, for progress displays and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MailboxStatistics:
    """One mailbox at one moment."""

    owner: str
    capacity: int
    queued: int
    """Messages waiting in the buffer."""
    redelivery: int
    """Messages handed back after a crash, waiting to be taken again."""
    in_flight: int
    """Messages taken and not yet acknowledged."""
    waiting_senders: int
    """Publishers blocked because the buffer is full."""
    taken: int
    acked: int


@dataclass(frozen=True, slots=True)
class BusStatistics:
    """The whole bus at one moment."""

    open: bool
    published: int
    delivered: int
    """Deliveries into mailboxes: one message to two subscribers counts twice."""
    unrouted: int
    mailboxes: tuple[MailboxStatistics, ...]
    deferred: int = 0
    """Messages handed back to be delivered later (a rate limit), on a shared bus."""
    kept_alive: int = 0
    """In-progress notices sent for messages held past part of their ``ack_wait``, on a
    shared bus: what keeps a long handler's message from going to another process."""
