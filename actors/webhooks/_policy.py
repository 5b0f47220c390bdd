"""How an endpoint is treated: its retry schedule, when it is disabled, its timeout and
breaker, and whether it may be a private address. One policy per endpoint, kept with it."""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from messages import UsageError

STANDARD_RETRIES = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0)
"""Standard Webhooks' example schedule: after the first attempt, 5 s, 5 min, 30 min, 2 h,
5 h, 10 h, 14 h, 20 h and 24 h (75 hours and a half in all), then the delivery fails."""
DISABLE_AFTER_S = 5 * 24 * 3600.0
"""An endpoint that has failed every attempt for this long is disabled."""
TIMEOUT_S = 15.0
"""Seconds a receiver has to answer (Standard Webhooks: 15 to 30)."""
JITTER = 0.1
"""Each delay is drawn within this share either side of the schedule's."""
RETRY_AFTER_MAX_S = 86400.0
"""The longest a ``Retry-After`` header may hold a delivery back."""


@dataclass(frozen=True, slots=True)
class EndpointPolicy:
    """An endpoint's delivery rules (``webhooks add`` sets them; the defaults are the
    Standard Webhooks recommendations)."""

    retries: tuple[float, ...] = STANDARD_RETRIES
    """Seconds before each retry after a failed attempt; once spent, the delivery fails."""
    disable_after: float = DISABLE_AFTER_S
    """Seconds of nothing but failures after which the endpoint is disabled."""
    timeout: float = TIMEOUT_S
    allow_private: bool = False
    """Whether the URL may name a loopback or private address (never a metadata one)."""
    breaker_threshold: int = 5
    """Failed attempts in a row, as if the receiver were down, that open its breaker."""
    breaker_cooldown: float = 30.0
    """Seconds an open breaker holds every delivery to the endpoint back."""
    jitter: float = field(default=JITTER)

    def __post_init__(self) -> None:
        if not all(math.isfinite(r) and r >= 0 for r in self.retries):
            raise UsageError(f"retries={self.retries!r} must be seconds >= 0")
        if not (math.isfinite(self.disable_after) and self.disable_after > 0):
            raise UsageError(f"disable_after={self.disable_after!r} must be seconds > 0")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise UsageError(f"timeout={self.timeout!r} must be seconds > 0")
        if self.breaker_threshold < 1:
            raise UsageError(f"breaker_threshold={self.breaker_threshold!r} must be >= 1")
        if not (math.isfinite(self.breaker_cooldown) and self.breaker_cooldown >= 0):
            raise UsageError(f"breaker_cooldown={self.breaker_cooldown!r} must be seconds >= 0")
        if not 0 <= self.jitter < 1:
            raise UsageError(f"jitter={self.jitter!r} must be between 0 and 1")

    def delay(
        self, failed: int, rng: random.Random, retry_after: float | None = None
    ) -> float | None:
        """Seconds before the next attempt after ``failed`` failed attempts in a row, or
        ``None`` when the schedule is spent. A receiver's ``Retry-After`` is honoured: the
        next attempt never comes sooner than it asks (up to a day)."""
        if failed > len(self.retries):
            return None
        planned = self.retries[failed - 1] * rng.uniform(1 - self.jitter, 1 + self.jitter)
        if retry_after is not None:
            planned = max(planned, min(retry_after, RETRY_AFTER_MAX_S))
        return planned

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> EndpointPolicy:
        data = json.loads(text)
        data["retries"] = tuple(data["retries"])
        return EndpointPolicy(**data)


def parse_retries(text: str) -> tuple[float, ...]:
    """``"5,300,1800"`` as seconds; the option's own error when it is not that."""
    try:
        retries = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(
            f"--retries {text!r} is not a list of seconds; pass them comma-separated, "
            "such as 5,300,1800"
        ) from None
    if not all(math.isfinite(r) and r >= 0 for r in retries):
        raise UsageError(f"--retries {text!r} must list seconds >= 0")
    return retries


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header's wait in seconds (a number or an HTTP date), if valid."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
