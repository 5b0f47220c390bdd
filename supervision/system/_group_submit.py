"""Group submission: the submissions that arrive while one is written go to the inbox
together, in the next transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, final

import anyio

from actors import Receipt, SubmissionClaim
from actors.intake import CheckedRecord
from messages import RawValue

Row = tuple[int, Mapping[str, RawValue] | CheckedRecord]
"""A record to submit: its position in its input, its fields as read or checked."""


class Inbox(Protocol):
    """Where submissions are written: the run directory's ``LedgerStore``."""

    async def submit_many(
        self,
        batches: Sequence[tuple[int, Sequence[Row]]],
        claims: Sequence[SubmissionClaim | None] = (),
    ) -> list[list[Receipt]]: ...


@dataclass(eq=False, slots=True)
class _Submission:
    input_id: int
    rows: Sequence[Row]
    claim: SubmissionClaim | None = None
    receipts: list[Receipt] | None = None
    error: BaseException | None = None


@final
class GroupSubmit:
    """Submissions that arrive while one is being written go in the next transaction
    together: a service under many concurrent requests pays one trip to the disk for
    all of them, not one each (the journal's group commit, for the inbox)."""

    def __init__(self, ledger: Inbox) -> None:
        self._ledger = ledger
        self._queue: list[_Submission] = []
        self._writing: anyio.Event | None = None

    async def submit(
        self,
        input_id: int,
        rows: Sequence[Row],
        claim: SubmissionClaim | None = None,
    ) -> list[Receipt]:
        """Submit ``rows`` under ``claim`` (see ``LedgerStore.submit_many``)."""
        item = _Submission(input_id, rows, claim)
        self._queue.append(item)
        while item.receipts is None and item.error is None:
            if self._writing is not None:
                await self._writing.wait()
                continue
            batch, self._queue = self._queue, []
            self._writing = writing = anyio.Event()
            try:
                with anyio.CancelScope(shield=True):
                    results = await self._ledger.submit_many(
                        [(each.input_id, each.rows) for each in batch],
                        [each.claim for each in batch],
                    )
                for each, receipts in zip(batch, results, strict=True):
                    each.receipts = receipts
            except Exception as exc:
                for each in batch:
                    each.error = exc
            finally:
                self._writing = None
                writing.set()
        if item.error is not None:
            raise item.error
        assert item.receipts is not None
        return item.receipts
