"""CSV records: the header checked up front, then one record per row."""

from __future__ import annotations

import csv
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager

from actors.intake._headers import ColumnMap, map_headers
from actors.intake._record import ERROR_FIELD, RawRecord
from actors.intake._source import MAX_LINE_CHARS, InputError, Lines, LineTooLong
from messages import RawValue

_EXAMPLE = "id,first_name,last_name,email,title,company,domain,industry,employees,country,notes"


def csv_records(
    lines: Lines,
    overrides: Mapping[str, str] | None = None,
    on_columns: Callable[[ColumnMap], None] | None = None,
) -> Generator[RawRecord | None, None, None]:
    """Check the header, yield ``None``, then yield a record per non-blank row.

    The header is mapped to lead fields (``_headers.map_headers``, with ``overrides``),
    and ``on_columns`` is told the mapping once, before the first record.
    """
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
    column_map = map_headers(header, overrides, name=lines.name)
    if on_columns is not None:
        on_columns(column_map)
    columns = list(column_map.fields)
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
