"""The OpenTelemetry telemetry: spans and the GenAI client metrics, exported over OTLP/HTTP
with the official exporter. Imported only when OpenTelemetry is asked for (``--otel``, or
``OTEL_EXPORTER_OTLP_ENDPOINT``), from the optional ``otel`` extra.

Every lead is one trace, whatever process handles its messages: a span whose envelope
carries a ``traceparent`` continues from it, and one without (a lead's first message, or
one journaled before a crash) opens its lead's trace, whose id is derived from the lead's
trace id and so the same in every process. The exporters read the standard
``OTEL_EXPORTER_OTLP_*`` variables; ``OTEL_SERVICE_NAME`` names the service.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import final

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from actors.runtime._telemetry import LlmCall, LlmReplyFacts, Span, Value
from messages import Envelope, Message, redact

TOKEN_BUCKETS = [4.0**n for n in range(14)]
"""The GenAI conventions' advised buckets for ``gen_ai.client.token.usage``: 1 to 4**13."""
DURATION_BUCKETS = [0.01 * 2**n for n in range(14)]
"""The advised buckets for ``gen_ai.client.operation.duration``: 0.01 s to 81.92 s."""
OPERATION = "chat"
"""Every LLM call here is a chat completion."""

_PROPAGATOR = TraceContextTextMapPropagator()
_LEAD_TRACE: ContextVar[int | None] = ContextVar("leadwright_lead_trace", default=None)


def lead_trace_id(trace_id: str) -> int:
    """A lead's OpenTelemetry trace id: the same in every process, from its trace id."""
    digest = hashlib.sha256(f"leadwright:{trace_id}".encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1


class _LeadIds(RandomIdGenerator):
    """Random ids, but a span that opens a lead's trace gets the lead's trace id."""

    def generate_trace_id(self) -> int:
        wanted = _LEAD_TRACE.get()
        return wanted if wanted is not None else super().generate_trace_id()


@final
class _Span:
    """An OpenTelemetry span, as the runtime's ``Span``."""

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def set(self, key: str, value: Value) -> None:
        self.span.set_attribute(
            key, value if isinstance(value, str | int | float | bool) else list(value)
        )

    def fail(self, error: BaseException, error_type: str | None = None) -> None:
        self.span.set_attribute("error.type", error_type or type(error).__qualname__)
        self.span.set_status(Status(StatusCode.ERROR, redact(str(error))[:300]))

    def traceparent(self) -> str | None:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(self.span))
        return carrier.get("traceparent")


@final
class OtelTelemetry:
    """Spans and GenAI metrics for one process, exported over OTLP/HTTP."""

    def __init__(self, service: str, *, content: bool = False) -> None:
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service}
        resource = Resource.create(attributes)
        self._traces = TracerProvider(resource=resource, id_generator=_LeadIds())
        self._traces.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self._tracer = self._traces.get_tracer("leadwright")
        reader = PeriodicExportingMetricReader(OTLPMetricExporter())
        self._metrics = MeterProvider(resource=resource, metric_readers=[reader])
        meter = self._metrics.get_meter("leadwright")
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.content = content
        """Whether prompts and replies are recorded (redacted) on LLM spans."""

    @contextmanager
    def handling(self, actor: str, envelope: Envelope[Message]) -> Iterator[_Span]:
        parent = None
        if envelope.trace_context is not None:
            parent = _PROPAGATOR.extract({"traceparent": envelope.trace_context})
        token = _LEAD_TRACE.set(lead_trace_id(envelope.trace_id))
        try:
            span = self._tracer.start_span(
                f"{actor} {envelope.kind}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes={
                    "leadwright.actor": actor,
                    "leadwright.message.kind": envelope.kind,
                    "leadwright.message.id": envelope.message_id,
                    "leadwright.attempt": envelope.attempt,
                    "leadwright.producer": envelope.producer,
                    "leadwright.trace_id": envelope.trace_id,
                },
            )
        finally:
            _LEAD_TRACE.reset(token)
        wrapped = _Span(span)
        with trace.use_span(
            span, end_on_exit=True, record_exception=False, set_status_on_exception=False
        ):
            try:
                yield wrapped
            except Exception as error:
                wrapped.fail(error)
                raise

    @contextmanager
    def llm_call(self, call: LlmCall) -> Iterator[_Span]:
        span = self._tracer.start_span(
            f"{OPERATION} {call.model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": OPERATION,
                "gen_ai.provider.name": call.provider,
                "gen_ai.request.model": call.model,
                "leadwright.stage": call.stage,
                "leadwright.attempt": call.attempt,
                "leadwright.trace_id": call.trace_id,
            },
        )
        if self.content:
            instructions = [{"type": "text", "content": redact(call.system)}]
            asked = [{"role": "user", "parts": [{"type": "text", "content": redact(call.prompt)}]}]
            span.set_attribute("gen_ai.system_instructions", json.dumps(instructions))
            span.set_attribute("gen_ai.input.messages", json.dumps(asked))
        with trace.use_span(
            span, end_on_exit=True, record_exception=False, set_status_on_exception=False
        ):
            yield _Span(span)

    def llm_done(
        self,
        call: LlmCall,
        span: Span,
        reply: LlmReplyFacts | None,
        duration_s: float,
        error_type: str | None = None,
    ) -> None:
        attributes: dict[str, str] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.provider.name": call.provider,
            "gen_ai.request.model": call.model,
        }
        if reply is None:
            attributes["error.type"] = error_type or "error"
        else:
            attributes["gen_ai.response.model"] = reply.model
            span.set("gen_ai.response.model", reply.model)
            span.set("gen_ai.usage.input_tokens", reply.input_tokens)
            span.set("gen_ai.usage.output_tokens", reply.output_tokens)
            span.set("gen_ai.response.finish_reasons", [reply.finish_reason])
            if self.content:
                said = [
                    {
                        "role": "assistant",
                        "finish_reason": reply.finish_reason,
                        "parts": [{"type": "text", "content": redact(reply.text)}],
                    }
                ]
                span.set("gen_ai.output.messages", json.dumps(said))
            for kind, count in (("input", reply.input_tokens), ("output", reply.output_tokens)):
                self._tokens.record(count, {**attributes, "gen_ai.token.type": kind})
        self._duration.record(duration_s, attributes)

    def shutdown(self) -> None:
        self._traces.shutdown()
        self._metrics.shutdown()
