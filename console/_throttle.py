"""Failed sign-ins and bearer tokens, counted per client address, with a wait that grows.

The first ``free`` failures from an address cost nothing (a person mistypes); after that
each failure doubles the time the address must wait before it may try again, from
``base_s`` up to ``cap_s``, and a try before then is a 429 with ``Retry-After``, answered
without looking at the token. A success forgets the address, and so does ``forget_s`` of
quiet. The address is the connection's peer: behind a reverse proxy every client shares
the proxy's, so the proxy should limit failed logins itself (see docs/security.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import final


@dataclass(slots=True)
class _Record:
    failures: int
    last: float
    until: float


@final
class Throttle:
    """Per-address failure counts and waits, on ``clock`` (seconds, monotonic)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        free: int = 5,
        base_s: float = 1.0,
        cap_s: float = 300.0,
        forget_s: float = 900.0,
        addresses: int = 10_000,
    ) -> None:
        self.clock = clock
        self.free = free
        self.base_s = base_s
        self.cap_s = cap_s
        self.forget_s = forget_s
        self.addresses = addresses
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def wait(self, address: str) -> float:
        """Seconds ``address`` must still wait before its next try (0: it may try now)."""
        record = self._current(address)
        return 0.0 if record is None else max(0.0, record.until - self.clock())

    def failed(self, address: str) -> tuple[int, float]:
        """Count a failure from ``address``: its failures so far, and the wait it now has."""
        now = self.clock()
        record = self._current(address) or _Record(0, now, now)
        record.failures += 1
        record.last = now
        over = record.failures - self.free
        delay = 0.0 if over <= 0 else min(self.cap_s, self.base_s * 2 ** (over - 1))
        record.until = now + delay
        self._records[address] = record
        self._records.move_to_end(address)
        while len(self._records) > self.addresses:
            self._records.popitem(last=False)
        return record.failures, delay

    def succeeded(self, address: str) -> None:
        """Forget ``address``'s failures."""
        self._records.pop(address, None)

    def _current(self, address: str) -> _Record | None:
        record = self._records.get(address)
        if (
            record is not None
            and self.clock() - record.last > max(self.forget_s, 0.0)
            and (record.until <= self.clock())
        ):
            del self._records[address]
            return None
        return record


def retry_after(seconds: float) -> str:
    """``seconds`` as a ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
