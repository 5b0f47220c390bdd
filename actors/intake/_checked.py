"""A record as it comes in at the door: its lead's identity, its content's fingerprint,
and the one verdict on it, made once, that every layer after the door shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

from actors.intake._checks import CleanFields, check_record
from actors.intake._ids import fingerprint, lead_id_for
from messages import RawValue


@final
@dataclass(frozen=True, slots=True)
class CheckedRecord:
    """A submitted record and what ``check_record`` said of it.

    The HTTP API checks each lead of a request (to refuse a batch that holds an invalid
    one), and submits the checked records: the inbox takes their verdict rather than
    checking them again. A file's records are checked as they are submitted.
    """

    fields: Mapping[str, RawValue]
    """The record's columns, exactly as read."""
    lead_id: str
    fingerprint: str
    clean: CleanFields | None
    """The clean fields of a valid record; ``None`` for an invalid one."""
    reasons: tuple[str, ...]
    """Every reason an invalid record is refused; empty for a valid one."""

    @staticmethod
    def of(fields: Mapping[str, RawValue]) -> CheckedRecord:
        """``fields`` checked, named and fingerprinted. Never raises."""
        verdict = check_record(fields)
        return CheckedRecord(
            fields=fields,
            lead_id=lead_id_for(fields),
            fingerprint=fingerprint(fields),
            clean=None if isinstance(verdict, list) else verdict,
            reasons=tuple(verdict) if isinstance(verdict, list) else (),
        )

    @property
    def email(self) -> str | None:
        """The normalised email of a valid record that has one, else ``None``: only a
        valid record claims its email in a run directory (a lead with a name and a company
        and no email claims none)."""
        return None if self.clean is None else self.clean["email"] or None
