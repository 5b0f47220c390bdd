"""The event log and the run summary: what an operator reads after a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stamina

import run as cli
from supervision.system import EVENTS_FILE, Redact, Tally, event_log
from tests.support.paths import EXAMPLES

LEADS = EXAMPLES / "leads.csv"
SECRET = "sk-live-0123456789abcdef"


@pytest.fixture(scope="module")
def chaotic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with faults, whose events and summary the tests read."""
    out = tmp_path_factory.mktemp("events")
    lines = LEADS.read_text(encoding="utf-8").splitlines(keepends=True)
    leads = tmp_path_factory.mktemp("leads") / "leads.csv"
    leads.write_text("".join(lines[:61]), encoding="utf-8")
    with stamina.set_testing(True, attempts=10, cap=True):
        argv = ["run", str(leads), "--out", str(out), "--chaos", "0.2", "--seed", "3", "--json"]
        assert cli.main(argv) == 0
    return out


def events(out: Path) -> list[dict[str, object]]:
    lines = (out / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_every_event_line_carries_its_context(chaotic_run: Path) -> None:
    """Each line is JSON with timestamp, level, event, actor, trace id and message id."""
    lines = events(chaotic_run)
    assert lines
    required = {"timestamp", "level", "event", "actor", "trace_id", "message_id"}
    assert all(required <= set(line) for line in lines)
    assert {line["event"] for line in lines} >= {"run_started", "llm_call", "lead_outcome"}


def test_llm_calls_are_logged_with_their_figures(chaotic_run: Path) -> None:
    """Each LLM call logs its model, latency, tokens, attempt and outcome, under its lead."""
    calls = [line for line in events(chaotic_run) if line["event"] == "llm_call"]
    ok = [c for c in calls if c["outcome"] == "ok"]
    assert ok and all(c["model"] == "offline-1" and c["prompt_tokens"] for c in ok)
    assert all({"latency_s", "attempt", "stage"} <= set(c) for c in calls)
    assert {c["outcome"] for c in calls} - {"ok"}, "chaos injected no failed call"
    assert all(str(c["trace_id"]).startswith("L") for c in calls)


def test_summary_json_holds_the_run_metrics(chaotic_run: Path) -> None:
    """summary.json has latency p50/p95 per stage, retries, failures per rule and outcomes."""
    summary = json.loads((chaotic_run / "summary.json").read_text())
    assert set(summary["latency_p50_s"]) == {"research", "scoring", "writing"}
    for stage, p95 in summary["latency_p95_s"].items():
        assert p95 >= summary["latency_p50_s"][stage] >= 0
    assert summary["retries"] > 0
    assert sum(summary["failures_by_rule"].values()) >= summary["validation_failures"] > 0
    assert sum(summary["outcomes"].values()) == summary["leads"] == 58  # the first 60 lines


def test_secrets_never_reach_the_log(tmp_path: Path) -> None:
    """The redaction processor removes a known secret and anything shaped like a key."""
    with event_log(tmp_path, secrets=[SECRET]) as log:
        log.info("leak", header=f"Authorization: Bearer {SECRET}", nested={"k": [SECRET]})
        log.warning("other", text="key sk-abcdefghijklmnop was refused")
    text = (tmp_path / EVENTS_FILE).read_text()
    assert SECRET not in text and "sk-abcdefghijklmnop" not in text
    assert text.count("[REDACTED]") == 3


def test_redact_leaves_other_values_alone() -> None:
    """Values without secrets pass through unchanged, whatever their type."""
    event = {"n": 3, "text": "skim milk", "items": ["a"]}
    assert Redact(["s3cr3t-value"])(None, "info", dict(event)) == event


def test_warnings_are_counted_for_the_console_not_printed(tmp_path: Path) -> None:
    """A tally counts warnings and errors as they are logged; the lines go to the file only."""
    tally = Tally()
    with event_log(tmp_path, tally=tally) as log:
        log.warning("malformed_output", raw="{not json")
        log.warning("schema_mismatch")
        log.error("run_halted", reason="quota")
        log.info("lead_outcome")
    assert (tally.warnings, tally.errors) == (2, 1)
    lines = (tmp_path / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
