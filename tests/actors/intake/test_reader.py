"""Reading leads: CSV and JSONL records, stdin, bad records, operator errors, streaming."""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
import sys
import tracemalloc
from pathlib import Path

import pytest

from actors.intake import InputError, RawRecord, read_records
from messages import RawValue

HEADER = "id,first_name,last_name,email,title,company,domain,industry,employees,country,notes\n"
MIB = 1024 * 1024


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def fields_of(path: Path) -> list[dict[str, RawValue]]:
    return [r.fields for r in read_records(path)]


def lead(**fields: str) -> dict[str, RawValue]:
    columns = HEADER.strip().split(",")
    return {column: fields.get(column, "") for column in columns}


def test_csv_handles_quoted_commas_embedded_newlines_unicode_names_and_a_bom(
    tmp_path: Path,
) -> None:
    """A UTF-8 CSV with a BOM, quoted commas, embedded newlines and non-ASCII names is read."""
    text = (
        "\ufeff"
        + HEADER
        + 'L1,Zoë,Ørsted,zoe@a.io,CTO,"Acme, Inc.",a.io,Software,12,DK,"likes commas, a lot"\n'
        + 'L2,Søren,Kierkegaard,s@b.dk,,Borg,b.dk,Media,7,DK,"line one\nline two"\n'
        + 'L3,Łukasz,Nguyễn,l@c.pl,,"Say ""hi""",c.pl,Retail,"1,200",PL,\n'
    )
    records = list(read_records(write(tmp_path, "leads.csv", text.encode("utf-8"))))

    assert records == [
        RawRecord(
            1,
            lead(
                id="L1",
                first_name="Zoë",
                last_name="Ørsted",
                email="zoe@a.io",
                title="CTO",
                company="Acme, Inc.",
                domain="a.io",
                industry="Software",
                employees="12",
                country="DK",
                notes="likes commas, a lot",
            ),
        ),
        RawRecord(
            2,
            lead(
                id="L2",
                first_name="Søren",
                last_name="Kierkegaard",
                email="s@b.dk",
                company="Borg",
                domain="b.dk",
                industry="Media",
                employees="7",
                country="DK",
                notes="line one\nline two",
            ),
        ),
        RawRecord(
            3,
            lead(
                id="L3",
                first_name="Łukasz",
                last_name="Nguyễn",
                email="l@c.pl",
                company='Say "hi"',
                domain="c.pl",
                industry="Retail",
                employees="1,200",
                country="PL",
            ),
        ),
    ]


def test_csv_keeps_crlf_inside_quotes_and_drops_it_between_rows(tmp_path: Path) -> None:
    """CRLF line ends end a row, but a CRLF inside a quoted field is kept as data."""
    text = (
        'first_name,email,company,employees,notes\r\nAna,a@b.co,B,3,"x\r\ny"\r\nBo,b@b.co,B,4,\r\n'
    )

    assert fields_of(write(tmp_path, "leads.csv", text)) == [
        {
            "first_name": "Ana",
            "email": "a@b.co",
            "company": "B",
            "employees": "3",
            "notes": "x\r\ny",
        },
        {"first_name": "Bo", "email": "b@b.co", "company": "B", "employees": "4", "notes": ""},
    ]


def test_csv_header_ignores_case_spaces_and_unknown_columns(tmp_path: Path) -> None:
    """Header names match whatever their case and padding; unknown columns are dropped."""
    text = " First_Name ,EMAIL,Company,employees,favourite_colour\nAna,a@b.co,B,3,blue\n"

    assert fields_of(write(tmp_path, "leads.csv", text)) == [
        {"first_name": "Ana", "email": "a@b.co", "company": "B", "employees": "3"}
    ]


def test_csv_skips_blank_lines_and_numbers_records_from_one(tmp_path: Path) -> None:
    """Blank lines are no records: the records that remain are numbered 1, 2, ..."""
    text = "\nfirst_name,email,company,employees\n\nAna,a@b.co,B,3\n   \n\nBo,b@b.co,B,4\n\n"

    records = list(read_records(write(tmp_path, "leads.csv", text)))

    assert [(r.record, r.fields["first_name"]) for r in records] == [(1, "Ana"), (2, "Bo")]


def test_csv_short_rows_lack_columns_and_long_rows_are_bad_records(tmp_path: Path) -> None:
    """A short row lacks its last columns; a row with extra non-empty values is an error."""
    text = (
        "first_name,email,company,employees\nAna,a@b.co\nBo,b@b.co,Acme, Inc,4\nCy,c@b.co,C,5,,\n"
    )

    assert fields_of(write(tmp_path, "leads.csv", text)) == [
        {"first_name": "Ana", "email": "a@b.co"},
        {
            "first_name": "Bo",
            "email": "b@b.co",
            "company": "Acme",
            "employees": " Inc",
            "_error": "line 3: 5 values, but the header names 4 columns",
        },
        {"first_name": "Cy", "email": "c@b.co", "company": "C", "employees": "5"},
    ]


def test_csv_reads_a_field_over_the_default_csv_limit_and_restores_the_limit(
    tmp_path: Path,
) -> None:
    """A 200,000-character notes field is read whole, and the csv module's limit is unchanged."""
    notes = "n" * 200_000
    text = f'first_name,email,company,employees,notes\nAna,a@b.co,B,3,"{notes}"\nBo,b@b.co,B,4,\n'
    limit = csv.field_size_limit()

    records = list(read_records(write(tmp_path, "leads.csv", text)))

    assert [r.fields["notes"] for r in records] == [notes, ""]
    assert csv.field_size_limit() == limit


def test_an_overlong_line_is_one_bad_record_and_reading_goes_on(tmp_path: Path) -> None:
    """A line over 1 MiB becomes a record with only an error, and the next record is read."""
    text = f"first_name,email,company,employees\nAna,{'a' * (MIB + 10)},B,3\nBo,b@b.co,B,4\n"

    assert fields_of(write(tmp_path, "leads.csv", text)) == [
        {"_error": "line 2: longer than 1,048,576 characters"},
        {"first_name": "Bo", "email": "b@b.co", "company": "B", "employees": "4"},
    ]


def test_an_overlong_quoted_field_is_one_bad_record_and_reading_goes_on(tmp_path: Path) -> None:
    """A quoted field that grows past 1 MiB over several lines becomes an error record."""
    big = "x" * (MIB - 100)
    text = (
        "first_name,email,company,employees,notes\n"
        f'Ana,a@b.co,B,3,"{big}\n{"y" * 200}"\n'
        "Bo,b@b.co,B,4,\n"
    )

    assert fields_of(write(tmp_path, "leads.csv", text)) == [
        {"_error": "line 2: field larger than field limit (1048576)"},
        {"first_name": "Bo", "email": "b@b.co", "company": "B", "employees": "4", "notes": ""},
    ]


def test_jsonl_keeps_scalar_types_and_ignores_unknown_keys(tmp_path: Path) -> None:
    """JSONL values keep their JSON types; unknown keys are dropped; blank lines are skipped."""
    lines = [
        {"ID": 7, "First_Name": "Zoë", "email": "z@a.io", "employees": 12.0, "vip": True},
        {"first_name": None, "employees": "1,200", "notes": False},
    ]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n \n"

    assert list(read_records(write(tmp_path, "leads.jsonl", text))) == [
        RawRecord(1, {"id": 7, "first_name": "Zoë", "email": "z@a.io", "employees": 12.0}),
        RawRecord(2, {"first_name": None, "employees": "1,200", "notes": False}),
    ]


def test_jsonl_bad_lines_are_bad_records_and_reading_goes_on(tmp_path: Path) -> None:
    """A line that is no JSON object becomes a record with only its reason; the rest is read."""
    text = (
        '{"first_name": "Ana"}\n'
        "\n"
        "not json\n"
        "[1, 2]\n"
        "42\n"
        '{"first_name": "Bo", "email": ["b@b.co"], "notes": {"a": 1}}\n'
        + "[" * 100_000
        + "\n"
        + "a" * (MIB + 1)
        + "\n"
        '{"first_name": "Cy"}\n'
    )

    assert list(read_records(write(tmp_path, "leads.jsonl", text))) == [
        RawRecord(1, {"first_name": "Ana"}),
        RawRecord(2, {"_error": "line 3: not valid JSON (Expecting value at column 1)"}),
        RawRecord(3, {"_error": "line 4: not a JSON object"}),
        RawRecord(4, {"_error": "line 5: not a JSON object"}),
        RawRecord(
            5,
            {
                "first_name": "Bo",
                "_error": "line 6: 'email', 'notes' must be a single value, not an array or object",
            },
        ),
        RawRecord(6, {"_error": "line 7: not valid JSON (nested too deeply)"}),
        RawRecord(7, {"_error": "line 8: longer than 1,048,576 characters"}),
        RawRecord(8, {"first_name": "Cy"}),
    ]


@pytest.mark.parametrize("name", ["leads.ndjson", "LEADS.JSONL"])
def test_ndjson_and_upper_case_extensions_are_jsonl(tmp_path: Path, name: str) -> None:
    """``.ndjson`` is JSONL too, and extensions match whatever their case."""
    assert fields_of(write(tmp_path, name, '{"email": "a@b.co"}\n')) == [{"email": "a@b.co"}]


def test_dash_reads_jsonl_from_the_given_text_stdin() -> None:
    """``-`` reads JSONL from the given text stream."""
    stdin = io.StringIO('{"email": "a@b.co"}\n{"email": "b@b.co"}')

    assert [r.fields for r in read_records("-", stdin=stdin)] == [
        {"email": "a@b.co"},
        {"email": "b@b.co"},
    ]


def test_dash_reads_the_bytes_under_a_binary_backed_stdin() -> None:
    """A stdin with a byte buffer is read as UTF-8 bytes, BOM dropped, and left open."""
    stdin = io.TextIOWrapper(io.BytesIO('\ufeff{"first_name": "Łukasz"}\n'.encode()))

    assert [r.fields for r in read_records("-", stdin=stdin)] == [{"first_name": "Łukasz"}]
    assert not stdin.closed


def test_dash_reads_sys_stdin_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a ``stdin`` argument, ``-`` reads ``sys.stdin``."""
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"email": "a@b.co"}\n'))

    assert [r.fields for r in read_records("-")] == [{"email": "a@b.co"}]


OPERATOR_ERRORS = [
    ("leads.txt", b"", "{path}: unknown extension '.txt'; {pass_}"),
    ("leads", b"", "{path}: no extension; {pass_}"),
    ("leads.csv", b"", "{path}: empty, with no header line; {example}"),
    ("leads.csv", b"\n \n", "{path}: empty, with no header line; {example}"),
    (
        "leads.csv",
        b"name,mail\nAna,a@b.co\n",
        "{path}: the header has no email column, nor a name and a company column "
        "(found 'name', 'mail'); {required}",
    ),
    (
        "leads.csv",
        b"First Name,Job Title,# Employees\n",
        "{path}: the header has no email column, nor a name and a company column "
        "(found 'First Name', 'Job Title', '# Employees'); {required}",
    ),
    (
        "leads.csv",
        b"first_name,email,company,employees,Email\n",
        "{path}: the header names the column 'Email' twice; keep one",
    ),
    (
        "leads.csv",
        b"first_name,e\x00mail\n",
        "{path}: not a CSV or JSONL text file (byte 0x00 at offset 12); {utf8}",
    ),
    (
        "leads.bin.csv",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        "{path}: not a CSV or JSONL text file (byte 0x89 at offset 0); {utf8}",
    ),
    (
        "leads.jsonl",
        b'{"first_name": "Zo\xc3"}\n',
        "{path}: not a CSV or JSONL text file (byte 0xc3 at offset 18); {utf8}",
    ),
    (
        "leads.jsonl",
        b'{"first_name": "Zo\xc3',
        "{path}: not a CSV or JSONL text file (byte 0xc3 at offset 18); {utf8}",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), OPERATOR_ERRORS)
def test_an_unreadable_input_is_an_operator_error_raised_up_front(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    """An input that cannot be read at all raises ``InputError`` with one exact line."""
    path = write(tmp_path, name, content)
    expected = message.format(
        path=path,
        pass_="pass a .csv, .jsonl or .ndjson file, or - for JSONL on stdin",
        example="make the first line name the columns, e.g. "
        "id,first_name,last_name,email,title,company,domain,industry,employees,country,notes",
        utf8="pass a UTF-8 CSV or JSONL file",
        required="name them, e.g. Email, or First Name and Company Name, "
        'or pass --map "Header=email"',
    )

    with pytest.raises(InputError) as raised:
        read_records(path)

    assert str(raised.value) == expected


def test_a_missing_file_is_an_operator_error(tmp_path: Path) -> None:
    """A path to nothing raises ``InputError`` naming the path."""
    path = tmp_path / "leads.csv"

    with pytest.raises(InputError) as raised:
        read_records(path)

    assert str(raised.value) == f"{path}: no such file; check the path"


def test_a_directory_is_an_operator_error(tmp_path: Path) -> None:
    """A directory named like a CSV raises ``InputError``."""
    path = tmp_path / "leads.csv"
    path.mkdir()

    with pytest.raises(InputError) as raised:
        read_records(path)

    assert str(raised.value) == f"{path}: is a directory; pass a CSV or JSONL file"


def test_a_nul_on_a_text_stdin_is_an_operator_error() -> None:
    """A NUL in a text stdin raises ``InputError`` up front, at its UTF-8 byte offset."""
    with pytest.raises(InputError) as raised:
        read_records("-", stdin=io.StringIO('{"a": 1}\n{"b\x00": 2}\n'))

    assert str(raised.value) == (
        "stdin: not a CSV or JSONL text file (byte 0x00 at offset 12); "
        "pass a UTF-8 CSV or JSONL file"
    )


def test_binary_data_past_the_first_chunk_raises_while_streaming(tmp_path: Path) -> None:
    """Binary data deep in the file raises ``InputError`` once the stream reaches it."""
    head = ("first_name,email,company,employees\n" + "Ana,a@b.co,B,3\n" * 20_000).encode()
    path = write(tmp_path, "leads.csv", head + b"Bo,\xff@b.co,B,4\n")
    records = read_records(path)

    assert next(records).fields["first_name"] == "Ana"
    with pytest.raises(InputError) as raised:
        list(records)
    assert str(raised.value) == (
        f"{path}: not a CSV or JSONL text file (byte 0xff at offset {len(head) + 3}); "
        "pass a UTF-8 CSV or JSONL file"
    )


def test_characters_cut_by_chunk_boundaries_are_read_whole(tmp_path: Path) -> None:
    """Multi-byte characters that straddle the reader's chunks come out intact."""
    notes = "€ñ" * 50_000
    text = f"first_name,email,company,employees,notes\nAna,a@b.co,B,3,{notes}\n"

    assert fields_of(write(tmp_path, "leads.csv", text))[0]["notes"] == notes


def jsonl_lines(count: int) -> bytes:
    line = '{"first_name": "Ana", "email": "a@b.co", "company": "B", "employees": 3}\n'
    return (line * count).encode()


class CountingBytes(io.BytesIO):
    """An in-memory byte stream that counts the bytes handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed_out = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.handed_out += len(data)
        return data

    def read1(self, size: int | None = -1, /) -> bytes:
        data = super().read1(size)
        self.handed_out += len(data)
        return data


def test_the_first_record_reads_only_a_prefix_of_a_large_input() -> None:
    """Reading the first of 50,000 records reads at most a few chunks, not the whole input."""
    data = jsonl_lines(50_000)
    counting = CountingBytes(data)

    records = read_records("-", stdin=io.TextIOWrapper(counting))
    first = next(records)
    records.close()

    assert first.fields["first_name"] == "Ana"
    assert counting.handed_out <= 3 * 64 * 1024 < len(data) // 10


def test_memory_stays_bounded_while_streaming_a_large_file(tmp_path: Path) -> None:
    """Streaming every record of a 5 MB file allocates a small fraction of its size."""
    row = f"Ana,a@b.co,B,3,{'n' * 500}\n"
    path = write(tmp_path, "leads.csv", "first_name,email,company,employees,notes\n" + row * 10_000)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_records(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 10_000
    assert peak < size // 10


def test_an_abandoned_reader_closes_its_file(tmp_path: Path) -> None:
    """Dropping a half-read reader closes its file without a ResourceWarning."""
    path = write(tmp_path, "leads.jsonl", jsonl_lines(3))
    records = read_records(path)
    next(records)

    del records
    gc.collect()  # a ResourceWarning would fail the test under filterwarnings = error


def test_a_closed_reader_yields_nothing_more(tmp_path: Path) -> None:
    """After ``close()``, the reader is exhausted."""
    records = read_records(write(tmp_path, "leads.jsonl", jsonl_lines(3)))
    next(records)

    records.close()

    assert list(records) == []


def test_raw_records_are_frozen() -> None:
    """A raw record cannot be changed after it is read."""
    record = RawRecord(1, {"email": "a@b.co"})

    with pytest.raises(dataclasses.FrozenInstanceError):
        record.record = 2  # type: ignore[misc]
