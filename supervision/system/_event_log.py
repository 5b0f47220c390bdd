"""The run's event log: structlog JSON lines in ``events.jsonl``, secrets redacted.

The file is rotated by size: when a line would take it past ``max_bytes``, it becomes
``events.jsonl.1`` (the older ones move up to ``.2``, ...; beyond ``keep`` they go), and a
new ``events.jsonl`` begins. So a long-lived service keeps a bounded log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, cast, final

import structlog

from actors import EventLog
from messages import Redactor, current_redactor

EVENTS_FILE = "events.jsonl"
EVENTS_MAX_BYTES = 64 * 1024 * 1024
"""The size at which ``events.jsonl`` is rotated."""
EVENTS_KEPT = 4
"""Rotated files kept: ``events.jsonl.1`` (the newest) to ``events.jsonl.4``."""


@final
class RotatingFile:
    """A text file appended to, moved aside to ``NAME.1`` when it would outgrow ``max_bytes``."""

    def __init__(self, path: Path, *, max_bytes: int, keep: int) -> None:
        if max_bytes < 1 or keep < 1:
            raise ValueError(f"max_bytes={max_bytes!r} and keep={keep!r} must be >= 1")
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        self._file = path.open("a", encoding="utf-8")
        self._size = self._file.tell()

    def write(self, text: str) -> int:
        size = len(text.encode("utf-8"))
        if self._size and self._size + size > self.max_bytes:
            self._rotate()
        self._size += size
        return self._file.write(text)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def _rotate(self) -> None:
        self._file.close()
        aged = [self.path.with_name(f"{self.path.name}.{n}") for n in range(self.keep + 1)]
        aged[0] = self.path
        aged[-1].unlink(missing_ok=True)
        for newer, older in zip(reversed(aged[:-1]), reversed(aged[1:]), strict=True):
            if newer.exists():
                newer.replace(older)
        self._file = self.path.open("a", encoding="utf-8")
        self._size = 0


@final
class Redact:
    """A processor that applies a ``Redactor`` to every value of an event.

    Given ``secrets``, it redacts those as well as the current redactor's.
    """

    def __init__(self, secrets: Sequence[str] = (), redactor: Redactor | None = None) -> None:
        self.redactor = redactor if redactor is not None else current_redactor()
        self.extra = Redactor(secrets) if secrets else None

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            cleaned = self.redactor.clean(value)
            event[key] = cleaned if self.extra is None else self.extra.clean(cleaned)
        return event


def _every_line_has_context(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event.setdefault("actor", "run")
    event.setdefault("trace_id", None)
    event.setdefault("message_id", None)
    return event


@final
class Tally:
    """Counts the warnings and errors logged, for a live count on the console.

    The details stay in ``events.jsonl``: printed one by one, a chaotic run's warnings
    (raw LLM text among them) would bury the progress display.
    """

    def __init__(self) -> None:
        self.warnings = 0
        self.errors = 0

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if method == "warning":
            self.warnings += 1
        elif method in ("error", "critical", "exception"):
            self.errors += 1
        return event


@contextmanager
def event_log(
    out: Path,
    *,
    secrets: Sequence[str] = (),
    tally: Tally | None = None,
    max_bytes: int = EVENTS_MAX_BYTES,
    keep: int = EVENTS_KEPT,
) -> Iterator[EventLog]:
    """A logger appending JSON lines to ``out/events.jsonl``, rotated by size; closes on exit.

    ``tally`` counts the warnings and errors as they are logged."""
    out.mkdir(parents=True, exist_ok=True)
    file = RotatingFile(out / EVENTS_FILE, max_bytes=max_bytes, keep=keep)
    try:
        processors: list[Any] = [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            _every_line_has_context,
            Redact(secrets),
        ]
        if tally is not None:
            processors.append(tally)
        processors.append(structlog.processors.JSONRenderer())
        logger: Any = structlog.wrap_logger(
            structlog.WriteLogger(cast(TextIO, file)),  # it writes and flushes, no more
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        yield logger
    finally:
        file.close()
