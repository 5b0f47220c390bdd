"""Background compaction in a real ``serve``: several passes while leads flow, and a
kill -9 that lands in a pass loses nothing; the restarted service finishes every lead."""

from __future__ import annotations

import json
import signal
import sqlite3
from functools import partial
from pathlib import Path

import pytest

from bus import SqliteJournal
from tests.support.serving import sample_leads, serving, start_server, wait_until

pytestmark = pytest.mark.slow

BATCH = 40


def events(out: Path, name: str) -> int:
    path = out / "events.jsonl"
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as lines:
        return sum(1 for line in lines if f'"event": "{name}"' in line)


def compacted_at_least(out: Path, passes: int) -> bool:
    return events(out, "journal_compacted") >= passes


def outcomes(out: Path) -> dict[str, str]:
    with sqlite3.connect(out / "journal.sqlite") as connection:
        rows = connection.execute(
            "SELECT r.lead_id, COALESCE(o.outcome, 'pending') FROM records r "
            "LEFT JOIN outcomes o ON o.record = r.record"
        ).fetchall()
        conflicts = connection.execute("SELECT COUNT(*) FROM outcome_conflicts").fetchone()[0]
    assert conflicts == 0, "a record got a second outcome"
    return {str(lead): str(outcome) for lead, outcome in rows}


def test_serve_compacts_as_leads_flow_and_survives_kill_9_mid_pass(tmp_path: Path) -> None:
    """Leads posted in batches to serve --compact-every 20: several compaction passes run;
    a kill -9 sent as a pass starts loses no lead; after a restart, all finish, and the
    finished leads' stories still read."""
    out = tmp_path / "run"
    leads = sample_leads(6 * BATCH)
    posted: list[str] = []
    server = start_server(out, "--compact-every", "20", "--latency-ms", "5")
    try:
        with server.client() as client:
            for number in range(4):
                batch = leads[number * BATCH : (number + 1) * BATCH]
                assert client.post("/v1/leads", json=batch).status_code == 202
                posted += [lead["id"] for lead in batch]
                wait_until(partial(compacted_at_least, out, number + 1))
            passes = events(out, "journal_compacting")
            batch = leads[4 * BATCH : 5 * BATCH]
            assert client.post("/v1/leads", json=batch).status_code == 202
            posted += [lead["id"] for lead in batch]
            wait_until(lambda: events(out, "journal_compacting") > passes, deadline_s=60)
        assert server.kill(signal.SIGKILL) == -signal.SIGKILL
    finally:
        server.close()
    assert passes >= 4
    with serving(out, "--compact-every", "20") as again, again.client() as client:
        batch = leads[5 * BATCH :]
        assert client.post("/v1/leads", json=batch).status_code == 202
        posted += [lead["id"] for lead in batch]
        wait_until(lambda: "pending" not in outcomes(out).values())
        ended = outcomes(out)
        assert sorted(ended) == sorted(posted)
        finished = sorted(lead for lead, outcome in ended.items() if outcome != "pending")
        journal = SqliteJournal(out / "journal.sqlite")
        try:
            story = journal.trace(finished[0])
            whole = journal.uncompacted(finished)
        finally:
            journal.close()
        assert any(entry.kind == "lead_outcome" for entry in story)
        assert len(whole) < len(finished) / 2
        listed = client.get("/v1/leads", params={"limit": 1000}).json()["leads"]
        assert len(listed) == len(posted)
    assert json.loads((out / "settings.json").read_text())["compact_every"] == 20
