"""Reading the CRM a page at a time: filtered by outcome and fit band, searched by name,
company and email, sorted by fit, date or company, all in SQL over ``crm.sqlite``.

Every value a person gives is a bound parameter; the column names and directions come
from the fixed tables below, never from the query.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Literal, final, get_args

from messages import Fit, Outcome, UsageError

CrmSort = Literal["fit", "date", "company"]
SORTS: tuple[str, ...] = get_args(CrmSort)
IN_CRM = (Outcome.COMPLETED.value, Outcome.DISQUALIFIED.value)
"""The outcomes a CRM row can have."""
SEARCH_LIMIT = 200
"""Characters a search may have."""
PAGE_LIMIT = 500
"""Rows a page may hold."""

_FIT_RANK = "CASE fit WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
_ORDER = {
    "fit": (f"{_FIT_RANK} {{d}}", "score {d}", "record"),
    "date": ("updated_at {d}", "record {d}"),
    "company": ("company COLLATE NOCASE {d}", "last_name COLLATE NOCASE", "record"),
}


@final
@dataclass(frozen=True, slots=True)
class CrmQuery:
    """Which rows of the CRM, in which order, and which page of them."""

    search: str = ""
    """Text in the contact's name, company or email (any case, for ASCII letters)."""
    outcome: str = ""
    """``completed`` or ``disqualified``; ``""`` for both."""
    fit: str = ""
    """A fit band, ``high``, ``medium`` or ``low``; ``""`` for any."""
    sort: CrmSort = "date"
    descending: bool = True
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.outcome not in ("", *IN_CRM):
            raise UsageError(
                f"outcome={self.outcome[:40]!r} must be completed or disqualified (or empty)"
            )
        if self.fit not in ("", *(f.value for f in Fit)):
            raise UsageError(f"fit={self.fit[:40]!r} must be high, medium or low (or empty)")
        if self.sort not in SORTS:
            raise UsageError(f"sort={str(self.sort)[:40]!r} must be one of {', '.join(SORTS)}")
        if len(self.search) > SEARCH_LIMIT:
            raise UsageError(f"search has {len(self.search)} characters; at most {SEARCH_LIMIT}")
        if not 1 <= self.limit <= PAGE_LIMIT or self.offset < 0:
            raise UsageError(
                f"limit={self.limit!r} must be 1 to {PAGE_LIMIT} and offset={self.offset!r} >= 0"
            )


@final
@dataclass(frozen=True, slots=True)
class CrmPage:
    """The rows of one page, and how many rows match in all."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def search(c: sqlite3.Connection, query: CrmQuery) -> CrmPage:
    """The page of ``contacts`` that ``query`` asks for."""
    where: list[str] = []
    params: list[object] = []
    if query.outcome:
        where.append("outcome = ?")
        params.append(query.outcome)
    if query.fit:
        where.append("fit = ?")
        params.append(query.fit)
    if query.search.strip():
        pattern = f"%{_escaped(query.search.strip())}%"
        where.append(
            "(first_name || ' ' || last_name LIKE ? ESCAPE '\\' OR company LIKE ? ESCAPE '\\' "
            "OR email LIKE ? ESCAPE '\\')"
        )
        params += [pattern, pattern, pattern]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    (total,) = c.execute(f"SELECT COUNT(*) FROM contacts{clause}", params).fetchone()
    direction = "DESC" if query.descending else "ASC"
    order = ", ".join(term.format(d=direction) for term in _ORDER[query.sort])
    cursor = c.execute(
        f"SELECT * FROM contacts{clause} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, query.limit, query.offset],
    )
    return CrmPage(rows_of(cursor), int(total))


def rows_of(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    """The rows ``cursor`` has left, each keyed by its column names."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _escaped(text: str) -> str:
    """``text`` for a ``LIKE ... ESCAPE '\\'`` pattern: its own ``%`` and ``_`` literal."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
