"""Message types for the runtime's own tests; every kind starts with ``test_``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from messages import FailureKind, Message


class Ping(Message):
    """A numbered message that the test actors handle."""

    kind: Literal["test_ping"] = "test_ping"
    n: int
    """Its sequence number."""


class Pong(Message):
    """What a test actor publishes when it handles a ``Ping``."""

    kind: Literal["test_pong"] = "test_pong"
    n: int
    """The number of the ``Ping`` that caused it."""


class Score(Message):
    """A probabilistic message: it must pass its validator first."""

    probabilistic = True

    kind: Literal["test_score"] = "test_score"
    value: int = Field(ge=0, le=100)
    """A score from 0 to 100."""


class Draft(Message):
    """A second probabilistic message, so that two validated types can be mixed."""

    probabilistic = True

    kind: Literal["test_draft"] = "test_draft"
    text: str = Field(min_length=1, max_length=200)
    """The drafted text."""


class Sample(Message):
    """A message with one field of every shape that contracts use, for round-trips."""

    kind: Literal["test_sample"] = "test_sample"
    text: str
    """Any text."""
    count: int = Field(ge=0)
    """A count."""
    ratio: float = Field(ge=0.0, le=1.0)
    """A fraction."""
    flag: bool
    """A flag."""
    tags: tuple[str, ...]
    """Some labels."""
    when: datetime
    """A moment."""
    failure: FailureKind
    """An enum member."""
    note: str | None = None
    """Optional text."""
    pings: list[Ping] = Field(default_factory=list, max_length=3)
    """Nested messages."""
