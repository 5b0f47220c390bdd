"""What the reader produces: raw records, in the columns intake knows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import final

from messages import RawValue

COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "title",
    "company",
    "domain",
    "industry",
    "employees",
    "country",
    "notes",
)
"""The columns intake knows; any other column is ignored."""
REQUIRED_COLUMNS = ("first_name", "email", "company", "employees")
"""A CSV header must name these: without one, every record would be rejected."""
ERROR_FIELD = "_error"
"""Set on a record that could not be read, with the reason, so intake rejects it."""


@final
@dataclass(frozen=True, slots=True)
class RawRecord:
    """One input record, as read."""

    record: int
    """The 1-based position of the record in the input."""
    fields: dict[str, RawValue]
    """The known columns it has, as read, and ``_error`` if it could not be read."""


def column_of(name: str) -> str | None:
    """The known column a header cell or JSON key names, ignoring case and spaces."""
    column = name.strip().lower()
    return column if column in COLUMNS else None


def listing(names: Sequence[str]) -> str:
    """Names quoted for a one-line message, the first ten of them."""
    shown = ", ".join(repr(n) for n in names[:10])
    return shown + ", ..." if len(names) > 10 else shown
