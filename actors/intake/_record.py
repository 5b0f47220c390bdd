"""What the reader produces: raw records, in the columns intake knows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import final

from actors.intake._exports import FIELDS
from actors.intake._headers import field_of
from messages import RawValue

COLUMNS = FIELDS
"""The fields intake knows; a column that fills none of them is ignored (and reported)."""
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


def column_of(name: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """The field a header cell or JSON key names (see ``_headers``), or None."""
    return field_of(name, overrides)


def listing(names: Sequence[str]) -> str:
    """Names quoted for a one-line message, the first ten of them."""
    shown = ", ".join(repr(n) for n in names[:10])
    return shown + ", ..." if len(names) > 10 else shown
