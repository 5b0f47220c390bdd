"""Durability: kill -9 and resume, SIGTERM drains, and CRM outages (the journal behind them
is tested in tests/bus/test_journal.py)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import anyio
import pytest

from actors import CrmRow, CrmUnavailable, Icp, KnowledgeBase, LedgerStore, SqliteCrm
from actors.intake import read_records
from actors.llm import OfflineLlm
from supervision.system import PipelineConfig, run_pipeline
from tests.support.paths import EXAMPLES, ROOT

LEADS = EXAMPLES / "leads.csv"
RECORDS = 240


def start(out: Path, *extra: str, leads: Path = LEADS) -> subprocess.Popen[str]:
    """A real run in its own process, printing a progress line every ten leads to stderr."""
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(leads), "--out", str(out)]
    argv += ["--latency-ms", "5", "--concurrency", "4", "--json", *extra]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def wait_for_progress(process: subprocess.Popen[str], lines: int) -> None:
    """Block until the run has printed ``lines`` progress lines (or ended)."""
    assert process.stderr is not None
    seen = 0
    for line in process.stderr:
        seen += line.startswith("progress:")
        if seen >= lines:
            return


def finish(out: Path) -> dict[str, object]:
    """Run again with the same --out until done; return its JSON summary."""
    process = start(out)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    summary: dict[str, object] = json.loads(stdout)
    return summary


def journal_rows(out: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(out / "journal.sqlite") as connection:
        return connection.execute(query).fetchall()


def assert_every_record_once(out: Path) -> None:
    ledger = LedgerStore(out / "journal.sqlite")
    report = ledger.report()
    conflicts = ledger.conflicts()
    ledger.close()
    assert [row.record for row in report] == list(range(1, RECORDS + 1))
    assert all(row.outcome != "pending" for row in report)
    assert conflicts == 0, "a record got a second outcome"
    crm = SqliteCrm(out / "crm.sqlite")
    rows = crm.rows()
    crm.close()
    finished = {r.record for r in report if r.outcome in ("completed", "disqualified")}
    assert sorted(int(str(r["record"])) for r in rows) == sorted(finished)


def assert_no_finished_stage_repeated(out: Path) -> None:
    """Each lead has at most one approved output per stage, and no output after it."""
    twice = journal_rows(
        out,
        "SELECT trace_id, kind FROM messages WHERE approved = 1 "
        "GROUP BY trace_id, kind HAVING COUNT(*) > 1",
    )
    assert twice == []
    later = journal_rows(
        out,
        "SELECT o.trace_id, o.kind FROM messages o JOIN messages a ON a.trace_id = o.trace_id "
        "AND a.kind = o.kind AND a.approved = 1 WHERE o.approved = 0 AND o.seq > a.seq "
        "AND o.kind IN ('research_result', 'lead_score', 'outreach_draft')",
    )
    assert later == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_kill_9_at_random_points_then_resume(tmp_path: Path, seed: int) -> None:
    """SIGKILL mid-run, twice, then a resume: one outcome per record and no repeated stage."""
    rng = random.Random(seed)
    for _ in range(2):
        process = start(tmp_path, "--seed", str(seed), "--chaos", "0.1")
        wait_for_progress(process, rng.randint(1, 12))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    summary = finish(tmp_path)
    assert summary["leads"] == RECORDS
    assert_every_record_once(tmp_path)
    assert_no_finished_stage_repeated(tmp_path)
    assert journal_rows(tmp_path, "SELECT COUNT(*) FROM deliveries WHERE acked = 0") == [(0,)]


@pytest.mark.slow
def test_the_operations_schedule_survives_kill_9(tmp_path: Path) -> None:
    """A run killed with SIGKILL leaves each machine failure's retry scheduled in the
    journal; once due, the next owner of the directory retries them at its start (the run
    counts each against its schedule), and every record still ends once."""
    process = start(tmp_path, "--chaos", "0.4", "--seed", "5", "--ops-retry", "3")
    wait_for_progress(process, 12)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    scheduled = journal_rows(
        tmp_path,
        "SELECT d.record FROM dead_letters d JOIN ops_schedule s ON s.record = d.record "
        "WHERE d.status = 'open' AND s.due_at IS NOT NULL AND s.retries = 0",
    )
    assert scheduled, "the killed run left no failure in Operations"
    # Their time comes while no process owns the directory.
    with closing(sqlite3.connect(tmp_path / "journal.sqlite")) as connection, connection:
        connection.execute("UPDATE ops_schedule SET due_at = '2000-01-01T00:00:00+00:00'")
    summary = finish(tmp_path)
    assert summary["leads"] == RECORDS
    assert_every_record_once(tmp_path)
    records = ", ".join(str(record) for (record,) in scheduled)
    retried = journal_rows(
        tmp_path, f"SELECT retries FROM ops_schedule WHERE record IN ({records})"
    )
    assert retried and all(count == 1 for (count,) in retried)
    assert journal_rows(tmp_path, "SELECT COUNT(*) FROM dead_letters WHERE status = 'open'") == [
        (0,)
    ]


@pytest.mark.slow
def test_sigterm_drains_then_exits_143_and_resumes(tmp_path: Path) -> None:
    """SIGTERM stops admission, drains, exits 143 with leads pending; the next run finishes them."""
    process = start(tmp_path, "--latency-ms", "30")
    wait_for_progress(process, 2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "stopped by SIGTERM" in stderr and "Traceback" not in stderr
    ledger = LedgerStore(tmp_path / "journal.sqlite")
    pending = [row for row in ledger.report() if row.outcome == "pending"]
    ledger.close()
    assert pending, "the run finished before the signal; nothing was left to resume"
    finish(tmp_path)
    assert_every_record_once(tmp_path)


@pytest.mark.slow
def test_sigint_exits_130(tmp_path: Path) -> None:
    """SIGINT drains and exits with 130, without a traceback."""
    process = start(tmp_path, "--latency-ms", "30")
    wait_for_progress(process, 1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr


class Outage:
    """A CRM that refuses every write until ``heal`` is called."""

    def __init__(self, inner: SqliteCrm) -> None:
        self.inner = inner
        self.refused = 0
        self.healed = anyio.Event()
        self.first_refusal = anyio.Event()

    async def upsert(self, row: CrmRow) -> None:
        if not self.healed.is_set():
            self.refused += 1
            self.first_refusal.set()
            raise CrmUnavailable("CRM is down")
        await self.inner.upsert(row)


@pytest.mark.anyio
async def test_a_crm_outage_drops_no_lead(tmp_path: Path) -> None:
    """While the CRM is down, finished leads wait; once it is back, every one of them lands."""
    crm = SqliteCrm(tmp_path / "other-crm.sqlite")
    outage = Outage(crm)
    config = PipelineConfig(
        out=tmp_path,
        gateway=OfflineLlm(seed=0),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        crm=outage,
        crm_cooldown=0.01,
    )
    records = list(read_records(LEADS))[:40]
    async with anyio.create_task_group() as tg:

        async def heal_after_refusals() -> None:
            await outage.first_refusal.wait()
            await anyio.wait_all_tasks_blocked()
            outage.healed.set()

        tg.start_soon(heal_after_refusals)
        summary = await run_pipeline(config, records)
    rows = crm.rows()
    crm.close()
    assert outage.refused > 0
    finished = summary.outcomes["completed"] + summary.outcomes["disqualified"]
    assert len(rows) == finished > 0
    assert summary.pending == 0


@pytest.mark.slow
def test_trace_shows_the_causal_chain(tmp_path: Path) -> None:
    """trace --json gives one lead's messages as a tree rooted at its submission."""
    # Three leads are enough to trace one: the run is about the trace, not the volume.
    leads = tmp_path / "leads.csv"
    leads.write_text("".join(LEADS.read_text(encoding="utf-8").splitlines(True)[:4]))
    out = tmp_path / "out"
    process = start(out, leads=leads)
    process.communicate(timeout=300)
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        str(ROOT / "run.py"),
        "trace",
        "L0001",
        "--out",
        str(out),
        "--json",
    ]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=True)
    [root] = json.loads(result.stdout)
    assert (root["kind"], root["producer"]) == ("lead_submitted", "operator")
    kinds: list[str] = []

    def walk(node: dict[str, object]) -> None:
        kinds.append(str(node["kind"]))
        for child in node["children"]:  # type: ignore[attr-defined]
            walk(child)

    walk(root)
    assert {"lead_accepted", "research_result", "lead_score", "lead_outcome"} <= set(kinds)
    assert root["children"][0]["causation_id"] == root["message_id"]


@pytest.mark.slow
def test_a_second_signal_stops_at_once_and_leaves_the_rest_pending(tmp_path: Path) -> None:
    """With calls that take far longer than the drain, a second SIGTERM ends the run at
    once with 143, and the next run finishes every record."""
    process = start(tmp_path, "--latency-ms", "60000", "--timeout", "120")
    wait_for_started(tmp_path)
    process.send_signal(signal.SIGTERM)
    wait_for_event(tmp_path, "stop_requested")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    events = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert any(json.loads(line)["event"] == "stopping_at_once" for line in events)
    ledger = LedgerStore(tmp_path / "journal.sqlite")
    assert any(row.outcome == "pending" for row in ledger.report())
    ledger.close()


def wait_for_event(out: Path, event: str) -> None:
    """Block until ``events.jsonl`` has a line for ``event``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = (out / "events.jsonl").read_text(encoding="utf-8")
        if f'"event": "{event}"' in text or f'"event":"{event}"' in text:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {event} event")


def wait_for_started(out: Path) -> None:
    """Block until the run has journaled its first message (so its handlers are busy)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (out / "journal.sqlite").exists():
            try:
                if journal_rows(out, "SELECT COUNT(*) FROM messages")[0][0]:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError("the run never started")
