"""Restart backoff: exponential ceilings with full jitter."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import UsageError
from supervision import Backoff


@given(
    base=st.floats(min_value=0.0, max_value=10.0),
    spread=st.floats(min_value=0.0, max_value=100.0),
    n=st.integers(min_value=0, max_value=10_000),
    seed=st.integers(),
)
def test_every_delay_is_within_its_ceiling(base: float, spread: float, n: int, seed: int) -> None:
    """The delay of the n-th consecutive restart is in [0, min(maximum, base·2^n)]."""
    backoff = Backoff(base=base, maximum=base + spread, rng=random.Random(seed))
    ceiling = min(base + spread, base * 2.0 ** min(n, 64))
    assert backoff.ceiling(n) == ceiling
    assert 0.0 <= backoff.delay(n) <= ceiling


def test_ceilings_double_until_the_maximum() -> None:
    """Ceilings grow as base·2^n and stop at the maximum, however large n gets."""
    backoff = Backoff(base=0.25, maximum=3.0)
    assert [backoff.ceiling(n) for n in range(6)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.ceiling(10**9) == 3.0


def test_jitter_is_full_and_reproducible() -> None:
    """Delays spread over the whole range, and the same seed gives the same delays."""
    first = Backoff(base=1.0, maximum=1.0, rng=random.Random(42))
    second = Backoff(base=1.0, maximum=1.0, rng=random.Random(42))
    delays = [first.delay(0) for _ in range(200)]
    assert delays == [second.delay(0) for _ in range(200)]
    assert min(delays) < 0.1
    assert max(delays) > 0.9


def test_a_zero_base_never_waits() -> None:
    """With base 0, every delay is 0."""
    backoff = Backoff(base=0.0, maximum=0.0)
    assert {backoff.delay(n) for n in range(10)} == {0.0}


def test_settings_are_checked() -> None:
    """A negative base or reset, or a maximum below the base, is refused by value."""
    with pytest.raises(UsageError) as caught:
        Backoff(base=-1.0)
    assert str(caught.value) == "base=-1.0 must be >= 0"
    with pytest.raises(UsageError) as caught:
        Backoff(base=2.0, maximum=1.0)
    assert str(caught.value) == "maximum=1.0 must be >= base=2.0"
    with pytest.raises(UsageError) as caught:
        Backoff(reset_after=-1.0)
    assert str(caught.value) == "reset_after=-1.0 must be >= 0"
