"""Reading leads: CSV or JSONL records, streamed one at a time, as raw fields."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Literal, TextIO, cast

from actors.intake._csv import csv_records
from actors.intake._headers import ColumnMap
from actors.intake._jsonl import jsonl_records
from actors.intake._record import RawRecord
from actors.intake._source import InputError, open_lines

_CSV = (".csv",)
_JSONL = (".jsonl", ".ndjson")


def read_records(
    source: Path | Literal["-"],
    *,
    stdin: TextIO | None = None,
    columns: Mapping[str, str] | None = None,
    on_columns: Callable[[ColumnMap], None] | None = None,
) -> Generator[RawRecord, None, None]:
    """Stream the records of a ``.csv``, ``.jsonl`` or ``.ndjson`` file, or JSONL on stdin.

    Memory stays constant: the input is read a chunk at a time, never whole. Raises
    ``InputError`` before returning when the input cannot be read at all (no such
    file, unknown extension, binary data in the first chunk, a CSV header without the
    lead columns), and while streaming when binary data turns up later. A record that
    cannot be read is still yielded, with an ``_error`` field, so that intake rejects
    it and the run goes on. The file is closed when the records are exhausted, when
    the generator is closed, or when it is garbage collected.

    Headers (and JSON keys) are matched to lead fields as ``_headers`` says, with
    ``columns`` (``parse_map`` of ``--map``) first; ``on_columns`` is told the mapping
    once: a CSV's before this returns, JSONL's at its first object.
    """
    records = _records(source, stdin, columns, on_columns)
    next(records)  # runs the up-front checks, so that an operator error raises here
    # Past its first item, the None just taken, the generator yields only records.
    return cast(Generator[RawRecord, None, None], records)


def _records(
    source: Path | Literal["-"],
    stdin: TextIO | None,
    columns: Mapping[str, str] | None,
    on_columns: Callable[[ColumnMap], None] | None,
) -> Generator[RawRecord | None, None, None]:
    if source == "-":
        parse = jsonl_records
    else:
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix not in _CSV + _JSONL:
            problem = f"unknown extension {path.suffix!r}" if path.suffix else "no extension"
            raise InputError(
                f"{path}: {problem}; pass a .csv, .jsonl or .ndjson file, or - for JSONL on stdin"
            )
        parse = csv_records if suffix in _CSV else jsonl_records
    lines = open_lines(source, stdin)
    try:
        lines.read_ahead()
        yield from parse(lines, columns, on_columns)
    finally:
        lines.close()
