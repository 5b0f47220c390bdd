"""The run's event log: structlog JSON lines in ``events.jsonl``, secrets redacted."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, final

import structlog

from actors import EventLog

EVENTS_FILE = "events.jsonl"
REDACTED = "[REDACTED]"
# Shapes of credentials that must never reach a log, whoever put them in a message.
_CREDENTIALS = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")


@final
class Redact:
    """A processor that replaces secrets, and anything shaped like a key, in every value."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = tuple(s for s in secrets if len(s) >= 4)

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            event[key] = self._clean(value)
        return event

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, REDACTED)
            return _CREDENTIALS.sub(REDACTED, value)
        if isinstance(value, list | tuple):
            return [self._clean(item) for item in value]
        if isinstance(value, Mapping):
            return {k: self._clean(v) for k, v in value.items()}
        return value


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
    out: Path, *, secrets: Sequence[str] = (), tally: Tally | None = None
) -> Iterator[EventLog]:
    """A logger appending JSON lines to ``out/events.jsonl``; closes the file on exit.

    ``tally`` counts the warnings and errors as they are logged."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / EVENTS_FILE).open("a", encoding="utf-8") as file:
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
            structlog.WriteLogger(file),
            processors=processors,
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        yield logger
