"""How NatsBus configures its streams and consumers: the same for every process."""

from __future__ import annotations

from dataclasses import dataclass

from messages import UsageError


@dataclass(frozen=True, slots=True)
class NatsSettings:
    """How the streams and consumers are configured; the same for every process."""

    ack_wait: float = 30.0
    """Seconds a delivered message may go unacknowledged before it is redelivered. While
    a process holds it, the bus keeps it alive with ``in_progress()``."""
    max_deliver: int = 5
    """Deliveries of one message to one consumer; the next one becomes a dead letter."""
    max_ack_pending: int = 256
    """Messages one consumer may hold unacknowledged, over all its processes."""
    duplicate_window: float = 600.0
    """Seconds in which the server drops a message whose ``Nats-Msg-Id`` it has seen."""
    max_age: float = 7 * 24 * 3600.0
    """Seconds a message is kept in its stream."""
    memory: bool = False
    """Keep the streams in memory rather than in files (for benchmarks)."""

    def __post_init__(self) -> None:
        if self.ack_wait <= 0:
            raise UsageError(f"ack_wait={self.ack_wait!r} must be > 0")
        if self.max_deliver < 1:
            raise UsageError(f"max_deliver={self.max_deliver!r} must be >= 1")
        if self.max_ack_pending < 1:
            raise UsageError(f"max_ack_pending={self.max_ack_pending!r} must be >= 1")
        if self.duplicate_window <= self.ack_wait:
            raise UsageError(
                f"duplicate_window={self.duplicate_window!r} must be longer than "
                f"ack_wait={self.ack_wait!r}, or a redelivered handler's effects are duplicated"
            )
