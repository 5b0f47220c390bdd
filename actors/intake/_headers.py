"""Header mapping: which lead field each column of an export fills, and which columns are left.

A header is matched by its ``key`` (case, spaces and punctuation ignored) against the
export tables of ``_exports``, after the operator's own ``--map "Header=field"`` pairs,
which win. A column that matches nothing is ignored and reported, never used; so is a
second column for a field already filled (the preferred header wins). A header must
name an email column, or a name column and a company column: without them every record
would be rejected.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import final

from actors.intake._exports import EXPORTS, FIELDS
from actors.intake._source import InputError
from messages import UsageError

NAME_FIELDS = ("first_name", "last_name", "full_name")
"""Any of these, with ``company``, identifies a lead that has no email."""

_NOT_WORD = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=1024)
def key(header: str) -> str:
    """The header as matched: NFKC, case-folded, with only its letters and digits."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", header).casefold())


def _ranked() -> dict[str, tuple[str, int]]:
    """Every known header's key, with its field and rank (lower is preferred)."""
    known: dict[str, tuple[str, int]] = {}
    for table in EXPORTS.values():
        for field, headers in table.items():
            for header in headers:
                rank = len(known)
                found = known.setdefault(key(header), (field, rank))
                if found[0] != field:
                    raise AssertionError(f"{header!r} maps to both {found[0]} and {field}")
    return known


KNOWN: Mapping[str, tuple[str, int]] = _ranked()
"""Known header keys: the field each fills and its rank among that field's headers."""


def parse_map(pairs: Sequence[str]) -> dict[str, str]:
    """``--map`` options (``"Header=field"``) as header keys to fields; a bad one raises."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        header, equals, field = pair.rpartition("=")
        field = field.strip()
        if not equals or not key(header):
            raise UsageError(f'--map {pair!r}: write it as "Header=field", such as "Mail=email"')
        if field not in FIELDS:
            raise UsageError(
                f"--map {pair!r}: {field!r} is not a lead field; use one of {', '.join(FIELDS)}"
            )
        mapping[key(header)] = field
    return mapping


@final
@dataclass(frozen=True, slots=True)
class ColumnMap:
    """What each column of one header fills: a field, or nothing (and why)."""

    headers: tuple[str, ...]
    """The header cells, as written."""
    fields: tuple[str | None, ...]
    """Per column, the field it fills, or None when it is ignored."""
    ignored: tuple[str, ...]
    """The ignored columns, each as ``Header`` or ``Header (a second email column)``."""

    @property
    def mapped(self) -> dict[str, str]:
        """Header to field, for the columns used."""
        return {h: f for h, f in zip(self.headers, self.fields, strict=True) if f is not None}

    @property
    def plain(self) -> bool:
        """Whether every column is a lead field's own name, so the mapping says nothing new."""
        return not self.ignored and all(h == f for h, f in self.mapped.items())

    def summary(self) -> str:
        """One line: ``mapped 9 columns; ignored 3: Lead Status, Owner, Created Date``."""
        count = len(self.mapped)
        line = f"mapped {count} column{'' if count == 1 else 's'}"
        if self.ignored:
            line += f"; ignored {len(self.ignored)}: {', '.join(self.ignored)}"
        return line


def map_headers(
    headers: Sequence[str], overrides: Mapping[str, str] | None = None, *, name: str
) -> ColumnMap:
    """The column map of a CSV header (``name`` is the input, for messages).

    ``overrides`` maps header keys (``parse_map``) to fields. Raises ``InputError`` when a
    header names one column twice, when an override names a column the header lacks, or
    when no email, nor a name and a company, is among the fields.
    """
    overrides = overrides or {}
    keys = [key(h) for h in headers]
    missing = [k for k in overrides if k not in keys]
    if missing:
        raise InputError(
            f"{name}: --map names a column the header lacks ({', '.join(missing)}); "
            f"its columns are {', '.join(h.strip() for h in headers)}"
        )
    for column, header_key in enumerate(keys):
        if header_key in keys[:column] and _field_of(header_key, overrides)[0] is not None:
            raise InputError(
                f"{name}: the header names the column {headers[column].strip()!r} twice; keep one"
            )
    column_map = map_keys(headers, overrides)
    _check_required(column_map, name)
    return column_map


def map_keys(headers: Sequence[str], overrides: Mapping[str, str] | None = None) -> ColumnMap:
    """The column map of headers or JSON keys, without checks: for each field, the most
    preferred column that fills it; every other column ignored."""
    overrides = overrides or {}
    best: dict[str, tuple[int, int]] = {}  # field -> (rank, column)
    found = [_field_of(key(header), overrides) for header in headers]
    for column, (field, rank) in enumerate(found):
        if field is not None and (field not in best or rank < best[field][0]):
            best[field] = (rank, column)
    chosen = {column: field for field, (_, column) in best.items()}
    fields = tuple(chosen.get(column) for column in range(len(headers)))
    ignored = tuple(
        _ignored(header, known)
        for header, (known, _), field in zip(headers, found, fields, strict=True)
        if field is None
    )
    return ColumnMap(tuple(h.strip() for h in headers), fields, ignored)


def field_of(header: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """The field a single header or JSON key fills, or None."""
    return _field_of(key(header), overrides or {})[0]


def _field_of(header_key: str, overrides: Mapping[str, str]) -> tuple[str | None, int]:
    if header_key in overrides:
        return overrides[header_key], -1
    field, rank = KNOWN.get(header_key, (None, 0))
    return field, rank


def _ignored(header: str, field: str | None) -> str:
    shown = header.strip() or "(blank)"
    return shown if field is None else f"{shown} (a second {field} column)"


def _check_required(column_map: ColumnMap, name: str) -> None:
    fields = set(column_map.fields)
    if "email" in fields or ("company" in fields and fields.intersection(NAME_FIELDS)):
        return
    found = ", ".join(repr(h) for h in column_map.headers[:10])
    found += ", ..." if len(column_map.headers) > 10 else ""
    raise InputError(
        f"{name}: the header has no email column, nor a name and a company column "
        f"(found {found}); name them, e.g. Email, or First Name and Company Name, "
        'or pass --map "Header=email"'
    )
