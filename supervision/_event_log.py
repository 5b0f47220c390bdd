"""The run's event log: structlog JSON lines in ``events.jsonl``, secrets redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, final

import structlog

from actors import EventLog
from messages import Redactor, current_redactor

EVENTS_FILE = "events.jsonl"


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
class _ConsoleTee:
    """Shows warnings and errors to a person at an interactive terminal, as well."""

    def __init__(self) -> None:
        self._render = structlog.dev.ConsoleRenderer(colors=False)

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if method in ("warning", "error", "critical"):
            print(self._render(logger, method, dict(event)), file=sys.stderr)
        return event


@contextmanager
def event_log(
    out: Path, *, secrets: Sequence[str] = (), console: bool = False
) -> Iterator[EventLog]:
    """A logger appending JSON lines to ``out/events.jsonl``; closes the file on exit."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / EVENTS_FILE).open("a", encoding="utf-8") as file:
        processors: list[Any] = [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            _every_line_has_context,
            Redact(secrets),
        ]
        if console:
            processors.append(_ConsoleTee())
        processors.append(structlog.processors.JSONRenderer())
        logger: Any = structlog.wrap_logger(
            structlog.WriteLogger(file),
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        yield logger
