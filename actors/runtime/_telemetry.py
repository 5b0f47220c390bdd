"""Telemetry: where the runtime reports what it does, for a tracer to turn into spans.

The seam is ``Telemetry``: a span for each message an actor handles, and one for each LLM
call. Nothing is reported unless a ``Telemetry`` is installed with ``reporting`` (the
command line installs the OpenTelemetry one with ``--otel`` or when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set); then ``current_telemetry`` is ``None`` and each
hook costs one context-variable read. This module imports nothing of OpenTelemetry:
``otel_telemetry`` imports it only when asked, from the optional ``otel`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from messages import Envelope, Message, UsageError

Value = str | int | float | bool | Sequence[str]


class Span(Protocol):
    """A span being recorded."""

    def set(self, key: str, value: Value) -> None:
        """Set an attribute."""

    def fail(self, error: BaseException, error_type: str | None = None) -> None:
        """Mark the span failed, with ``error.type`` (the error's class if not given)."""

    def traceparent(self) -> str | None:
        """This span's context as a W3C ``traceparent``, for the messages it causes."""


@dataclass(frozen=True, slots=True)
class LlmCall:
    """What an LLM call span is opened with."""

    provider: str
    """``gen_ai.provider.name``: ``openai``, ``llama_cpp``, ``leadwright.offline``."""
    model: str
    """``gen_ai.request.model``."""
    stage: str
    trace_id: str
    attempt: int
    system: str
    prompt: str


class Telemetry(Protocol):
    """What the runtime reports to."""

    def handling(self, actor: str, envelope: Envelope[Message]) -> AbstractContextManager[Span]:
        """A span around one message handled by ``actor``, within the lead's trace."""
        ...

    def llm_call(self, call: LlmCall) -> AbstractContextManager[Span]:
        """A span around one LLM call, a child of the current span."""
        ...

    def llm_done(
        self,
        call: LlmCall,
        span: Span,
        reply: LlmReplyFacts | None,
        duration_s: float,
        error_type: str | None = None,
    ) -> None:
        """Record the call's answer on its span and metrics, or its failure (``reply`` is
        ``None``, ``error_type`` what ``Span.fail`` was given)."""
        ...

    def shutdown(self) -> None:
        """Export what is buffered, and stop."""
        ...


@dataclass(frozen=True, slots=True)
class LlmReplyFacts:
    """What an LLM reply says about itself."""

    model: str
    input_tokens: int
    output_tokens: int
    finish_reason: str
    text: str


_current: ContextVar[Telemetry | None] = ContextVar("leadwright_telemetry", default=None)


def current_telemetry() -> Telemetry | None:
    """The installed telemetry, or ``None``: nothing is reported."""
    return _current.get()


@contextmanager
def reporting(telemetry: Telemetry | None) -> Iterator[None]:
    """Report to ``telemetry`` in this block (and the tasks started in it), then shut it down."""
    token = _current.set(telemetry)
    try:
        yield
    finally:
        _current.reset(token)
        if telemetry is not None:
            telemetry.shutdown()


def wants_otel(flag: bool) -> bool:
    """Whether OpenTelemetry is asked for: ``--otel``, or an OTLP endpoint in the environment."""
    return flag or any(
        os.environ.get(name)
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def otel_telemetry(service: str, *, flag: bool = False) -> Telemetry | None:
    """The OpenTelemetry telemetry if it is asked for (see ``wants_otel``), else ``None``.

    Prompt and reply content is recorded only with
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``, and redacted.
    """
    if not wants_otel(flag):
        return None
    try:
        from actors.runtime._otel import OtelTelemetry  # the optional extra, imported only here
    except ImportError:
        raise UsageError(
            "OpenTelemetry needs the otel extra: pip install 'leadwright[otel]' "
            "(or pip install -e '.[otel]')"
        ) from None
    content = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
    return OtelTelemetry(service, content=content.lower() in ("1", "true", "yes"))
