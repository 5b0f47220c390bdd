"""Restart delays: exponential backoff with full jitter."""

from __future__ import annotations

import random
from typing import final

from messages import UsageError


@final
class Backoff:
    """The delay before the n-th consecutive restart is uniform in ``[0, min(maximum, base·2^n)]``.

    Full jitter spreads restarts out, so that siblings that crashed together do not
    retry together. A child quiet for ``reset_after`` seconds starts again from n = 0.
    """

    def __init__(
        self,
        *,
        base: float = 0.05,
        maximum: float = 5.0,
        reset_after: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        if base < 0:
            raise UsageError(f"base={base!r} must be >= 0")
        if maximum < base:
            raise UsageError(f"maximum={maximum!r} must be >= base={base!r}")
        if reset_after < 0:
            raise UsageError(f"reset_after={reset_after!r} must be >= 0")
        self.base = base
        self.maximum = maximum
        self.reset_after = reset_after
        self._rng = rng if rng is not None else random.Random()

    def ceiling(self, n: int) -> float:
        """The largest delay the n-th consecutive restart can get."""
        # Capping the exponent keeps 2**n finite for any n.
        return min(self.maximum, self.base * float(2 ** min(n, 64)))

    def delay(self, n: int) -> float:
        """A random delay for the n-th consecutive restart (n counts from 0)."""
        return self._rng.uniform(0.0, self.ceiling(n))
