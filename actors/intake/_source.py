"""The text under the records: opening the input, refusing binary data, cutting lines.

Reading goes through ``_CheckedBytes``, which looks at every chunk as it is read (the
first one before any record is produced), so a binary file is refused up front and a
binary tail is refused as soon as the stream reaches it. Memory stays bounded by
``CHUNK_SIZE`` plus the longest allowed line, whatever the size of the input.
"""

from __future__ import annotations

import codecs
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, TextIO, final

from messages import UsageError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK_SIZE = 64 * 1024
"""Bytes read from the input at a time."""
MAX_LINE_CHARS = 1024 * 1024
"""A longer line is skipped and reported as one bad record, so memory stays bounded."""


@final
class InputError(UsageError):
    """The leads input cannot be read at all; the one-line message names the fix."""


@final
class LineTooLong(Exception):
    """One line was over ``MAX_LINE_CHARS``; ``Lines`` skipped it and can go on."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: longer than {MAX_LINE_CHARS:,} characters")
        self.line = line


def not_text(name: str, byte: int, offset: int) -> InputError:
    return InputError(
        f"{name}: not a CSV or JSONL text file (byte 0x{byte:02x} at offset {offset}); "
        "pass a UTF-8 CSV or JSONL file"
    )


@final
class _CheckedBytes(io.RawIOBase):
    """The bytes ``read_chunk`` returns, refused at the first NUL byte or invalid UTF-8.

    Each chunk is checked whole when it is read, before any of it is handed on.
    """

    def __init__(
        self, read_chunk: Callable[[], bytes], name: str, on_close: Callable[[], None]
    ) -> None:
        super().__init__()
        self._read_chunk = read_chunk
        self._name = name
        self._on_close = on_close
        self._chunk = b""
        self._at = 0  # how much of the chunk was handed on
        self._offset = 0  # where the chunk starts in the input
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._at == len(self._chunk):
            self._offset += len(self._chunk)
            self._chunk, self._at = self._read_chunk(), 0
            self._check(self._chunk)
        with memoryview(buffer) as view, view.cast("B") as target:
            size = min(len(target), len(self._chunk) - self._at)
            target[:size] = self._chunk[self._at : self._at + size]
        self._at += size
        return size

    def close(self) -> None:
        if not self.closed:
            self._on_close()
        super().close()

    def _check(self, data: bytes) -> None:
        nul = data.find(b"\0")
        found = (self._offset + nul, 0) if nul >= 0 else None
        held = len(self._decoder.getstate()[0])  # bytes of a character cut by the last chunk
        try:
            self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            at = self._offset - held + exc.start
            if found is None or at < found[0]:
                found = (at, exc.object[exc.start])
        if found is not None:
            raise not_text(self._name, found[1], found[0])


@final
class Lines:
    """The lines of the input with their ends, cut as ``csv.reader`` wants (``newline=""``).

    A line over ``MAX_LINE_CHARS`` raises ``LineTooLong`` once and is skipped; iterating
    again goes on with the next line. ``number`` is the number of the last line read.
    """

    def __init__(self, text: TextIO, name: str) -> None:
        self.name = name
        self.number = 0
        self._text = text
        self._ahead = ""

    def read_ahead(self) -> None:
        """Read the start of the input now, so that binary data there raises now."""
        self._ahead = self._text.readline(CHUNK_SIZE)

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        line = self._read(MAX_LINE_CHARS + 1)
        if not line:
            raise StopIteration
        self.number += 1
        if self.number == 1:
            line = line.removeprefix("\ufeff")
        if len(line) > MAX_LINE_CHARS and line[-1] not in "\r\n":
            while (rest := self._read(CHUNK_SIZE)) and rest[-1] not in "\r\n":
                pass
            raise LineTooLong(self.number)
        return line

    def close(self) -> None:
        self._text.close()

    def _read(self, limit: int) -> str:
        line, self._ahead = self._ahead, ""
        if not line:
            return self._text.readline(limit)
        if line[-1] not in "\r\n":
            line += self._text.readline(limit - len(line))
        return line


def open_lines(source: Path | Literal["-"], stdin: TextIO | None) -> Lines:
    """The lines of ``source``, or of ``stdin`` (``sys.stdin`` by default) for ``-``."""
    if source == "-":
        text = stdin if stdin is not None else sys.stdin
        binary = getattr(text, "buffer", None)
        if isinstance(binary, io.BufferedIOBase | io.RawIOBase):
            return _lines(_chunks_of(binary), "stdin", lambda: None)
        # Already text: encoded back, it goes through the same checks as bytes would.
        return _lines(
            lambda: text.read(CHUNK_SIZE // 4).encode("utf-8", "surrogatepass"),
            "stdin",
            lambda: None,
        )
    name = str(source)
    try:
        stream = Path(source).open("rb")  # noqa: SIM115 - closed with the lines
    except FileNotFoundError:
        raise InputError(f"{name}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory; pass a CSV or JSONL file") from None
    except OSError as exc:
        raise InputError(
            f"{name}: cannot be read ({exc.strerror or type(exc).__name__}); "
            "pass a readable CSV or JSONL file"
        ) from None
    return _lines(_chunks_of(stream), name, stream.close)


def _chunks_of(stream: io.BufferedIOBase | io.RawIOBase | BinaryIO) -> Callable[[], bytes]:
    # read1 returns what a pipe has, rather than waiting for a whole chunk.
    read: Callable[[int], bytes | None] = getattr(stream, "read1", stream.read)
    return lambda: read(CHUNK_SIZE) or b""


def _lines(read_chunk: Callable[[], bytes], name: str, on_close: Callable[[], None]) -> Lines:
    checked = _CheckedBytes(read_chunk, name, on_close)
    text = io.TextIOWrapper(io.BufferedReader(checked), encoding="utf-8-sig", newline="")
    return Lines(text, name)
