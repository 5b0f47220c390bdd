"""JSONL records: one JSON object per non-blank line; a bad line is a bad record."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping

from actors.intake._headers import ColumnMap, map_keys
from actors.intake._record import ERROR_FIELD, RawRecord, listing
from actors.intake._source import Lines, LineTooLong
from messages import RawValue


def jsonl_records(
    lines: Lines,
    overrides: Mapping[str, str] | None = None,
    on_columns: Callable[[ColumnMap], None] | None = None,
) -> Generator[RawRecord | None, None, None]:
    """Yield ``None``, then a record per non-blank line, numbered from 1.

    Keys are mapped to lead fields as CSV headers are (``overrides`` first);
    ``on_columns`` is told the mapping of the first object's keys, once.
    """
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
            value = _decode(line, lines.number)
            if on_columns is not None and isinstance(value, dict):
                on_columns(map_keys([str(k) for k in value], overrides))
                on_columns = None
            yield RawRecord(record, fields_of(value, f"line {lines.number}", overrides))


def _decode(line: str, number: int) -> object:
    """The JSON value of a line, or why it holds none."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        return _Unreadable(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return _Unreadable(f"line {number}: not valid JSON (nested too deeply)")
    except ValueError as exc:  # such as an integer of more than 4,300 digits
        return _Unreadable(f"line {number}: not valid JSON ({exc})")


class _Unreadable(str):
    """Why a line holds no JSON value."""


def fields_of(
    value: object, where: str, overrides: Mapping[str, str] | None = None
) -> dict[str, RawValue]:
    """The known columns of one decoded JSON lead (``where`` names it in reasons), with
    ``_error`` when it cannot be a lead: the rules of JSONL intake, for any JSON source.

    Keys are matched as CSV headers are (``_headers``): ``"First Name"`` fills
    ``first_name``; of two keys for one field, the preferred one wins."""
    if isinstance(value, _Unreadable):
        return {ERROR_FIELD: str(value)}
    if not isinstance(value, dict):
        return {ERROR_FIELD: f"{where}: not a JSON object"}
    fields: dict[str, RawValue] = {}
    nested: list[str] = []
    keys = [key for key in value if isinstance(key, str)]
    column_map = map_keys(keys, overrides)
    for key, column in zip(keys, column_map.fields, strict=True):
        item = value[key]
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
