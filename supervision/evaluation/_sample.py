"""``--sample N``: a sample of leads stratified by their outcome in the baseline."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence


def stratified(outcomes: Mapping[str, str], size: int | None, *, seed: int) -> list[str]:
    """Up to ``size`` lead ids of ``outcomes`` (lead id to outcome), each outcome given a
    share of the sample as near its share of the leads as whole leads allow (largest
    remainders), and at least one lead while the sample has room; in the leads' order."""
    ids = list(outcomes)
    if size is None or size >= len(ids):
        return ids
    strata: dict[str, list[str]] = {}
    for lead_id in ids:
        strata.setdefault(outcomes[lead_id], []).append(lead_id)
    quotas = _quotas({k: len(v) for k, v in strata.items()}, size)
    rng = random.Random(seed)
    chosen = {
        lead for name, members in strata.items() for lead in rng.sample(members, quotas[name])
    }
    return [lead_id for lead_id in ids if lead_id in chosen]


def _quotas(sizes: Mapping[str, int], size: int) -> dict[str, int]:
    total = sum(sizes.values())
    exact = {name: size * n / total for name, n in sizes.items()}
    quotas = {name: int(share) for name, share in exact.items()}
    # Every outcome present gets a lead while there is room: a rare outcome (a failure)
    # is what a sample must not lose.
    for name in sorted(sizes, key=lambda k: sizes[k]):
        if quotas[name] == 0 and sum(quotas.values()) < size:
            quotas[name] = 1
    order: Sequence[str] = sorted(exact, key=lambda k: (-(exact[k] - int(exact[k])), k))
    while sum(quotas.values()) < size:
        for name in order:
            if sum(quotas.values()) < size and quotas[name] < sizes[name]:
                quotas[name] += 1
    while sum(quotas.values()) > size:  # the minimums overshot: take back from the largest
        largest = max(quotas, key=lambda k: quotas[k])
        quotas[largest] -= 1
    return quotas
