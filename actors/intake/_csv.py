"""CSV records: the header checked up front, then one record per row."""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager

from actors.intake._record import (
    COLUMNS,
    ERROR_FIELD,
    REQUIRED_COLUMNS,
    RawRecord,
    column_of,
    listing,
)
from actors.intake._source import MAX_LINE_CHARS, InputError, Lines, LineTooLong
from messages import RawValue

_EXAMPLE = ",".join(COLUMNS)


def csv_records(lines: Lines) -> Generator[RawRecord | None, None, None]:
    """Check the header, yield ``None``, then yield a record per non-blank row."""
    rows = csv.reader(lines)
    try:
        header = next((row for row in rows if not _blank(row)), None)
    except (csv.Error, LineTooLong) as exc:
        raise InputError(
            f"{lines.name}: the first line is not a CSV header ({exc}); "
            f"make it name the columns, e.g. {_EXAMPLE}"
        ) from None
    if header is None:
        raise InputError(
            f"{lines.name}: empty, with no header line; "
            f"make the first line name the columns, e.g. {_EXAMPLE}"
        )
    columns = _columns(lines.name, header)
    yield None
    record = 0
    while True:
        start = lines.number + 1
        try:
            with _field_limit():
                row = next(rows)
        except StopIteration:
            return
        except LineTooLong:
            record += 1
            reason = f"longer than {MAX_LINE_CHARS:,} characters"
            yield RawRecord(record, {ERROR_FIELD: f"line {start}: {reason}"})
            continue
        except csv.Error as exc:
            record += 1
            yield RawRecord(record, {ERROR_FIELD: f"line {start}: {exc}"})
            continue
        if not _blank(row):
            record += 1
            yield RawRecord(record, _fields(columns, row, start))


def _columns(name: str, header: Sequence[str]) -> list[str | None]:
    cells = [cell.strip().lower() for cell in header]
    columns = [column_of(cell) for cell in cells]
    known = [c for c in columns if c is not None]
    if not known:
        raise InputError(
            f"{name}: the header names none of the lead columns (found {listing(cells)}); "
            f"make the first line name the columns, e.g. {_EXAMPLE}"
        )
    twice = next((c for i, c in enumerate(known) if c in known[:i]), None)
    if twice is not None:
        raise InputError(f"{name}: the header names the column {twice!r} twice; keep one")
    missing = [c for c in REQUIRED_COLUMNS if c not in known]
    if missing:
        unknown = [cell for cell, column in zip(cells, columns, strict=True) if column is None]
        plural = len(missing) > 1
        raise InputError(
            f"{name}: the header lacks the required column{'s' if plural else ''} "
            f"{listing(missing)}"
            + (f" (unknown columns: {listing(unknown)})" if unknown else "")
            + f"; add {'them' if plural else 'it'} to the first line"
        )
    return columns


def _fields(columns: list[str | None], row: list[str], line: int) -> dict[str, RawValue]:
    fields: dict[str, RawValue] = {
        column: value for column, value in zip(columns, row, strict=False) if column is not None
    }
    if any(extra.strip() for extra in row[len(columns) :]):
        fields[ERROR_FIELD] = (
            f"line {line}: {len(row)} values, but the header names {len(columns)} columns"
        )
    return fields


def _blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


@contextmanager
def _field_limit() -> Iterator[None]:
    # The csv module's limit is process-wide: raise it only while this reader parses, so
    # that a 10 kB+ notes field is read (and rejected by intake), not a crash.
    previous = csv.field_size_limit(MAX_LINE_CHARS)
    try:
        yield
    finally:
        csv.field_size_limit(previous)
