"""The policy table declares exactly one path for every failure kind."""

from __future__ import annotations

from messages import POLICIES, FailureKind, Outcome


def test_every_failure_kind_has_one_row() -> None:
    """The table covers the whole taxonomy, keyed by its own failure."""
    assert set(POLICIES) == set(FailureKind)
    assert all(kind is policy.failure for kind, policy in POLICIES.items())


def test_run_stoppers_never_retry_and_leave_leads_pending() -> None:
    """Quota and auth failures stop the run, are never retried, and fail no lead."""
    stoppers = {k for k, p in POLICIES.items() if p.stops_run}
    assert stoppers == {FailureKind.QUOTA_EXHAUSTED, FailureKind.AUTH_ERROR}
    assert all(POLICIES[k].max_attempts == 1 and POLICIES[k].exhausted is None for k in stoppers)


def test_rate_limits_never_spend_the_attempt_budget() -> None:
    """A 429 is queued and resumed, not counted against the lead."""
    policy = POLICIES[FailureKind.RATE_LIMITED]
    assert policy.max_attempts is None and not policy.counts_as_attempt


def test_malformed_output_is_reasked_once_then_dead_lettered() -> None:
    """Malformed output gets two tries in all and then fails the lead."""
    policy = POLICIES[FailureKind.MALFORMED_OUTPUT]
    assert (policy.max_attempts, policy.reask, policy.exhausted) == (2, True, Outcome.FAILED)
