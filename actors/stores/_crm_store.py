"""The CRM store: the seam every CRM is written through, and the failure it may raise."""

from __future__ import annotations

from typing import Protocol

from actors.stores._crm_row import CrmRow


class CrmUnavailable(Exception):
    """The CRM could not take a write just now; retrying later may succeed."""


class CrmStore(Protocol):
    """Where CRM rows go. ``upsert`` must be idempotent; it raises ``CrmUnavailable``."""

    async def upsert(self, row: CrmRow) -> None: ...
