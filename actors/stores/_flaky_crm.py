"""A fault-injecting CRM, to rehearse outages (``--crm-fault-rate``)."""

from __future__ import annotations

import random
from typing import final

from actors.stores._crm_row import CrmRow
from actors.stores._crm_store import CrmStore, CrmUnavailable


@final
class FlakyCrm:
    """A CRM that fails a seeded share of writes, to rehearse outages (``--crm-fault-rate``)."""

    def __init__(self, inner: CrmStore, *, rate: float, seed: int = 0) -> None:
        self.inner = inner
        self.rate = rate
        self._rng = random.Random(seed)
        self.failures = 0

    async def upsert(self, row: CrmRow) -> None:
        if self._rng.random() < self.rate:
            self.failures += 1
            raise CrmUnavailable(f"CRM write of {row.lead_id} failed (injected outage)")
        await self.inner.upsert(row)
