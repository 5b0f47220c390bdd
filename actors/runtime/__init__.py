"""The actor runtime: the ``Actor`` base class and what every actor runs on.

An actor's mailbox loop and lifecycle (``_actor``), the context of the message it handles
(``_context``), the outbox and the committer that journal a handler's outputs with the ack
of its input (``_outbox``, ``_committer``), the circuit breaker, the event log, telemetry
(and its OpenTelemetry implementation, imported only when asked for), the lazy import of
heavy libraries, and the TLS trust every HTTP client shares (``_tls``). The runtime knows
the bus and the messages, and no agent or store.
"""

from actors.runtime._actor import Actor, ActorOptions, ActorStatistics, Lifecycle
from actors.runtime._breaker import COOLDOWN_S, BreakerState, BreakerStatistics, CircuitBreaker
from actors.runtime._context import Context
from actors.runtime._lazy import lazy_module
from actors.runtime._log import EventLog, null_log
from actors.runtime._telemetry import (
    LlmCall,
    LlmReplyFacts,
    Span,
    Telemetry,
    current_telemetry,
    otel_telemetry,
    reporting,
    wants_otel,
)
from actors.runtime._tls import trusted_tls

__all__ = [
    "COOLDOWN_S",
    "Actor",
    "ActorOptions",
    "ActorStatistics",
    "BreakerState",
    "BreakerStatistics",
    "CircuitBreaker",
    "Context",
    "EventLog",
    "Lifecycle",
    "LlmCall",
    "LlmReplyFacts",
    "Span",
    "Telemetry",
    "current_telemetry",
    "lazy_module",
    "null_log",
    "otel_telemetry",
    "reporting",
    "trusted_tls",
    "wants_otel",
]
