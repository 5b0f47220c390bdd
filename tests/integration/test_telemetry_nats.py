"""OpenTelemetry across processes: a lead handled by ``serve --bus`` and a ``run.py
worker`` on NATS is one trace, its spans linked from intake to outcome across both."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from actors.runtime._otel import lead_trace_id
from bus import NatsServer
from tests.support.nats import passwords, running_workers, serving_bus
from tests.support.otlp import Collector, ReceivedSpan
from tests.support.serving import pending, sample_leads, wait_until

pytestmark = pytest.mark.slow


STAGES = {
    ("intake", "lead_submitted"),
    ("research", "lead_accepted"),
    ("validator", "research_result"),
    ("scoring", "research_result"),
    ("validator", "lead_score"),
    ("writer", "lead_score"),
    ("validator", "outreach_draft"),
    ("crm", "outreach_draft"),
    ("outcomeledger", "lead_outcome"),
}
"""Every stage a completed lead passes: (actor, message kind) of its handling spans."""
REQUEST = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model")
"""What every LLM span carries."""
ANSWER = ("gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
          "gen_ai.response.finish_reasons")  # fmt: skip
"""What an answered call's span carries besides; a failed one (the worker's chaos) has
``error.type`` instead."""


def completed(out: Path) -> list[str]:
    with sqlite3.connect(out / "journal.sqlite") as c:
        rows = c.execute(
            "SELECT lead_id FROM outcomes WHERE outcome = 'completed' ORDER BY record"
        ).fetchall()
    return [str(lead) for (lead,) in rows]


def trace_of(spans: list[ReceivedSpan], lead: str) -> list[ReceivedSpan]:
    wanted = f"{lead_trace_id(lead):032x}"
    return [s for s in spans if s.trace_id == wanted]


def covers_every_stage(spans: list[ReceivedSpan]) -> bool:
    stages = {(s.attributes.get("leadwright.actor"), s.attributes.get("leadwright.message.kind"))
              for s in spans}  # fmt: skip
    return stages >= STAGES


def test_a_lead_across_serve_and_a_worker_is_one_trace(
    collector: Collector, secured: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve --bus and one worker, both exporting to one OTLP/HTTP receiver: a completed
    lead's spans share one trace, link into one tree from intake to the outcome, come from
    both processes, and each LLM span carries the GenAI attributes (the response's, or
    error.type for a call the worker's chaos failed)."""
    out = tmp_path / "run"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "500")
    with (
        serving_bus(out, secured.url, monkeypatch) as server,
        running_workers(secured.url, 1, tmp_path / "logs", latency_ms=0, env=passwords()),
        server.client() as client,
    ):
        assert client.post("/v1/leads", json=sample_leads(4)).status_code == 202
        wait_until(lambda: pending(client) == 0)
        [lead, *_] = completed(out)
        wait_until(lambda: covers_every_stage(trace_of(collector.spans, lead)))
        wait_until(lambda: "gen_ai.client.token.usage" in collector.metrics)
        assert server.kill(signal.SIGTERM) in (0, 128 + signal.SIGTERM)
    trace = trace_of(collector.spans, lead)
    assert {s.service for s in trace} == {"leadwright-serve", "leadwright-worker"}
    ids = {s.span_id for s in trace}
    roots = [s for s in trace if s.parent_id not in ids]
    assert [(r.attributes["leadwright.actor"], r.service) for r in roots] == [
        ("intake", "leadwright-serve")
    ], "one tree: every span's parent is in the trace, but intake's"
    llm = [s for s in trace if s.name.startswith("chat ")]
    assert {s.attributes["leadwright.stage"] for s in llm} == {"research", "scoring", "writing"}
    for span in llm:
        assert all(key in span.attributes for key in REQUEST), span.attributes
        answered = all(key in span.attributes for key in ANSWER)
        assert answered != ("error.type" in span.attributes), span.attributes
        assert span.service == "leadwright-worker"
    assert any("error.type" not in s.attributes for s in llm)
