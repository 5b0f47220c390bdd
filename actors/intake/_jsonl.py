"""JSONL records: one JSON object per non-blank line; a bad line is a bad record."""

from __future__ import annotations

import json
from collections.abc import Generator

from actors.intake._record import ERROR_FIELD, RawRecord, column_of, listing
from actors.intake._source import Lines, LineTooLong
from messages import RawValue


def jsonl_records(lines: Lines) -> Generator[RawRecord | None, None, None]:
    """Yield ``None``, then a record per non-blank line, numbered from 1."""
    yield None
    record = 0
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except LineTooLong as exc:
            record += 1
            yield RawRecord(record, {ERROR_FIELD: str(exc)})
            continue
        if line.strip():
            record += 1
            yield RawRecord(record, _fields(line, lines.number))


def _fields(line: str, number: int) -> dict[str, RawValue]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return {ERROR_FIELD: f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})"}
    except RecursionError:
        return {ERROR_FIELD: f"line {number}: not valid JSON (nested too deeply)"}
    except ValueError as exc:  # such as an integer of more than 4,300 digits
        return {ERROR_FIELD: f"line {number}: not valid JSON ({exc})"}
    return fields_of(value, f"line {number}")


def fields_of(value: object, where: str) -> dict[str, RawValue]:
    """The known columns of one decoded JSON lead (``where`` names it in reasons), with
    ``_error`` when it cannot be a lead: the rules of JSONL intake, for any JSON source."""
    if not isinstance(value, dict):
        return {ERROR_FIELD: f"{where}: not a JSON object"}
    fields: dict[str, RawValue] = {}
    nested: list[str] = []
    for key, item in value.items():
        column = column_of(key) if isinstance(key, str) else None
        if column is None:
            continue
        if isinstance(item, list | dict):
            nested.append(column)
        else:
            fields[column] = item
    if nested:
        fields[ERROR_FIELD] = (
            f"{where}: {listing(nested)} must be a single value, not an array or object"
        )
    return fields
