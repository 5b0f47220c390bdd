"""OpenTelemetry: a lead is one trace of spans, one per message handled, with a GenAI span
per LLM call and the GenAI client metrics; without the extra, nothing of it is imported."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import anyio
import pytest

from actors import Icp, KnowledgeBase, reporting
from actors.intake import read_records
from actors.llm import OfflineLlm
from actors.runtime._otel import OtelTelemetry, lead_trace_id
from messages import Envelope, LeadOutcome, Outcome
from supervision.system import PipelineConfig, run_pipeline
from tests.support.otlp import Collector, ReceivedSpan
from tests.support.paths import EXAMPLES, ROOT

GENAI = (
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
    "gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.response.finish_reasons",
)  # fmt: skip
"""What every answered LLM span carries."""


def by_trace(spans: list[ReceivedSpan]) -> dict[str, list[ReceivedSpan]]:
    traces: dict[str, list[ReceivedSpan]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    return traces


def test_a_run_exports_one_trace_per_lead_with_genai_spans(
    collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each lead of a run is one trace whose spans nest from intake to its outcome, the
    validator's spans say their verdict, every LLM span has the GenAI attributes (and no
    content unless asked), and the token and duration metrics are exported."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    config = PipelineConfig(
        out=tmp_path / "run",
        gateway=OfflineLlm(seed=0, imperfection_rate=0.0),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    records = read_records(EXAMPLES / "leads.csv")
    with reporting(OtelTelemetry("leadwright-test")):
        anyio.run(run_pipeline, config, [next(records) for _ in range(3)])
    spans, metrics = collector.spans, collector.metrics
    traces = by_trace(spans)
    for lead in ("L0001", "L0002", "L0003"):
        trace = traces[f"{lead_trace_id(lead):032x}"]
        kinds = {s.attributes.get("leadwright.message.kind") for s in trace}
        assert {"lead_submitted", "lead_accepted", "research_result", "lead_score",
                "lead_outcome"} <= kinds, kinds  # fmt: skip
        ids = {s.span_id for s in trace}
        roots = [s for s in trace if s.parent_id not in ids]
        assert (
            len(roots) == 1 and roots[0].attributes["leadwright.message.kind"] == "lead_submitted"
        )
        assert {s.attributes["leadwright.trace_id"] for s in trace} == {lead}
        verdicts = [
            s.attributes.get("leadwright.verdict") for s in trace if s.name.startswith("validator")
        ]
        assert verdicts and set(verdicts) <= {"passed", "failed"}
        llm = [s for s in trace if s.name.startswith("chat ")]
        assert len(llm) >= 2
        for span in llm:
            assert all(key in span.attributes for key in GENAI), span.attributes
            assert span.attributes["gen_ai.provider.name"] == "leadwright.offline"
            assert span.name == "chat offline-1" and "gen_ai.input.messages" not in span.attributes
    usage = metrics["gen_ai.client.token.usage"]
    assert {p["gen_ai.token.type"] for p in usage} == {"input", "output"}
    assert metrics["gen_ai.client.operation.duration"]


def test_content_is_recorded_only_when_asked_and_redacted(
    collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With content capture on, an LLM span holds the prompt and the reply as GenAI
    messages, with a known secret redacted."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-telemetry-secret-123")
    from messages import Redactor, redacting

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    config = PipelineConfig(
        out=tmp_path / "run",
        gateway=OfflineLlm(seed=0, imperfection_rate=0.0),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    [raw] = [next(read_records(EXAMPLES / "leads.csv"))]
    raw.fields["notes"] = "key sk-telemetry-secret-123 here"
    with (
        redacting(Redactor.from_environment()),
        reporting(OtelTelemetry("leadwright-test", content=True)),
    ):
        anyio.run(run_pipeline, config, [raw])
    spans = collector.spans
    llm = [s for s in spans if s.name.startswith("chat ")]
    assert llm and all("gen_ai.input.messages" in s.attributes for s in llm)
    assert all("gen_ai.output.messages" in s.attributes for s in llm)
    assert not any("sk-telemetry-secret-123" in str(s.attributes) for s in spans)


def test_the_envelope_carries_the_trace_context_and_older_ones_decode() -> None:
    """trace_context survives to_json and from_json, a child inherits it unless given its
    own, and an envelope without the field (an older one) decodes with None."""
    outcome = LeadOutcome(record=1, lead_id="L1", outcome=Outcome.FAILED, reason="x")
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    envelope = Envelope.new(outcome, producer="t").child(outcome, producer="t")
    assert envelope.trace_context is None and "trace_context" not in envelope.to_json()
    traced = Envelope.from_json(
        envelope.to_json().replace('"approved"', f'"trace_context":"{parent}","approved"')
    )
    assert traced.trace_context == parent
    assert traced.child(outcome, producer="t").trace_context == parent
    assert Envelope.from_json(traced.to_json()).trace_context == parent


@pytest.mark.slow
def test_without_the_extra_nothing_of_opentelemetry_is_imported() -> None:
    """A run with no OTLP endpoint and no --otel imports no opentelemetry module, and
    --otel without the extra says how to install it, in one line."""
    script = (
        "import sys, cli\n"
        "code = cli.main(['run', sys.argv[1], '--out', sys.argv[2]])\n"
        "assert code == 0, code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
        "assert not loaded, loaded\n"
        "class Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('opentelemetry'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Blocker())\n"
        "code = cli.main(['run', sys.argv[1], '--out', sys.argv[2] + '2', '--otel'])\n"
        "assert code == 1, code\n"
    )
    leads = EXAMPLES / "leads.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, "-c", script, str(leads), out]
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        "error: OpenTelemetry needs the otel extra: pip install 'leadwright[otel]'" in done.stderr
    )
