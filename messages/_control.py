"""Control messages: what the system says about the run itself, not about one lead."""

from __future__ import annotations

from typing import Literal

from messages._base import Message
from messages._failures import FailureKind


class RunHalted(Message):
    """A failure that no retry can fix (no quota, bad credentials): the run must stop.

    The lead that hit it gets no outcome: it stays pending, and the next run with the
    same run directory picks it up again.
    """

    kind: Literal["run_halted"] = "run_halted"
    failure: FailureKind
    reason: str
    """One line for the operator: what happened and what to do about it."""
