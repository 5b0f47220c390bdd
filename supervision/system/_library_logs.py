"""What libraries log goes to the run's event log, redacted, never to stdout or stderr.

stamina announces each retry it schedules through hooks that, left alone, print a line
on stdout whose ``caused_by`` can quote a provider's error body, and a careless provider
echoes the ``Authorization`` header there. The standard ``logging`` of uvicorn, httpx and
the OpenAI SDK would reach stderr through Python's last-resort handler. Every command
that runs the system (``run``, ``serve``, ``worker`` and the operator's actions) opens its
log with ``command_log``, which sends both into ``events.jsonl``, where the ``Redact``
processor removes secrets from every value.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import final

from stamina.instrumentation import RetryDetails, get_on_retry_hooks, set_on_retry_hooks

from actors import EventLog
from supervision.system._event_log import Tally, event_log

TEXT_LIMIT = 4000
"""Characters kept of a library's message or traceback."""


@final
class RetryToLog:
    """A stamina hook: each retry it schedules is an ``retry_scheduled`` event."""

    def __init__(self, log: EventLog) -> None:
        self.log = log

    def __call__(self, details: RetryDetails) -> None:
        self.log.info(
            "retry_scheduled",
            actor="stamina",
            callable=details.name,
            retry_num=details.retry_num,
            wait_for=round(details.wait_for, 3),
            waited_so_far=round(details.waited_so_far, 3),
            caused_by=repr(details.caused_by)[:TEXT_LIMIT],
        )


@final
class LoggingToLog(logging.Handler):
    """A ``logging`` handler that writes each record as a ``library_log`` event."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: keep what it gave
            message = str(record.msg)
        fields: dict[str, object] = {"logger": record.name, "message": message[:TEXT_LIMIT]}
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(record.exc_info[1]))
            fields["exception"] = text[-TEXT_LIMIT:]
        if record.levelno >= logging.ERROR:
            self.log.error("library_log", actor="library", **fields)
        else:
            self.log.warning("library_log", actor="library", **fields)

    def handleError(self, record: logging.LogRecord) -> None:
        """Never print a logging failure to stderr: the event log is the only output."""


@contextmanager
def library_logs(log: EventLog) -> Iterator[EventLog]:
    """Route stamina's retry hooks and ``logging``'s warnings into ``log`` for the block;
    the hooks and handlers in place before come back after it."""
    hooks = get_on_retry_hooks()
    handler = LoggingToLog(log)
    root = logging.getLogger()
    set_on_retry_hooks([RetryToLog(log)])
    root.addHandler(handler)
    try:
        yield log
    finally:
        root.removeHandler(handler)
        set_on_retry_hooks(hooks)


@contextmanager
def command_log(
    out: Path, *, secrets: Sequence[str] = (), tally: Tally | None = None
) -> Iterator[EventLog]:
    """The event log of a command on run directory ``out`` (``event_log``), with every
    library's logging routed into it (``library_logs``)."""
    with event_log(out, secrets=secrets, tally=tally) as log, library_logs(log):
        yield log
