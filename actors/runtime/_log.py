"""The event log that actors write to: structlog, handed in, never configured globally."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

EventLog = FilteringBoundLogger
"""A structlog logger; bind ``actor``, ``trace_id`` and ``message_id`` to every line."""


def null_log() -> EventLog:
    """A logger that drops everything: the default when none is handed in.

    Below critical, the filtering logger's methods do nothing at all; critical events
    reach a processor that drops them.
    """
    logger: Any = structlog.wrap_logger(
        None,
        wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
        processors=[_drop],
    )
    return logger  # type: ignore[no-any-return]


def _drop(logger: Any, method: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    raise structlog.DropEvent
