"""Compaction: a finished lead's journal shrinks to its story, and nothing that reads it notices."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

import run as cli
from actors import LedgerStore, ReviewStore
from bus import KEEP_KINDS, Ack, SqliteJournal
from messages import Envelope, LeadOutcome, Outcome
from supervision.system import EVENTS_FILE, DirectoryLock, compact_run, describe, event_log
from tests.support.paths import EXAMPLES

LEADS = EXAMPLES / "leads.csv"
MAX_BYTES_PER_LEAD = 4096
"""The issue's goal: at most 4 KB of journal per finished lead after compaction."""


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def chaotic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 240 sample leads run with chaos, so stories hold retries, reviews, dead letters."""
    out = tmp_path_factory.mktemp("run") / "out"
    argv = ["run", str(LEADS), "--out", str(out), "--chaos", "0.3", "--seed", "2", "--json"]
    assert cli.main(argv) == 0
    return out


@pytest.fixture(scope="module")
def compacted(chaotic_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chaotic run, compacted."""
    out = shutil.copytree(chaotic_run, tmp_path_factory.mktemp("compacted") / "out")
    assert cli.main(["compact", "--out", str(out), "--json"]) == 0
    return out


def lead_ids(out: Path) -> list[str]:
    ledger = LedgerStore(out / "journal.sqlite")
    try:
        return sorted({row.lead_id for row in ledger.report()})
    finally:
        ledger.close()


def sampled_leads(out: Path, per_outcome: int = 3) -> list[str]:
    """The first few leads of each outcome: every kind of story, at a tenth of the cost."""
    ledger = LedgerStore(out / "journal.sqlite")
    try:
        rows = ledger.report()
    finally:
        ledger.close()
    chosen: dict[str, list[str]] = {}
    for row in rows:
        picked = chosen.setdefault(row.outcome, [])
        if len(picked) < per_outcome:
            picked.append(row.lead_id)
    return [lead for leads in chosen.values() for lead in leads]


def test_compaction_keeps_at_most_4_kb_per_finished_lead(
    chaotic_run: Path, compacted: Path
) -> None:
    """After compact, journal.sqlite holds at most 4 KB per finished lead, from ~22 KB."""
    before = (chaotic_run / "journal.sqlite").stat().st_size
    after = (compacted / "journal.sqlite").stat().st_size
    leads = len(lead_ids(compacted))
    assert after / leads <= MAX_BYTES_PER_LEAD < before / leads


def test_trace_tells_the_same_story_after_compaction(
    capsys: pytest.CaptureFixture[str], chaotic_run: Path, compacted: Path
) -> None:
    """trace --json and the trace tree are the same, byte for byte, for leads of each outcome."""
    for lead in sampled_leads(chaotic_run):
        for extra in ([], ["--json"]):
            before = invoke(capsys, "trace", lead, "--out", str(chaotic_run), *extra)
            after = invoke(capsys, "trace", lead, "--out", str(compacted), *extra)
            assert after == before, lead


def test_report_and_review_are_unchanged_by_compaction(
    capsys: pytest.CaptureFixture[str], chaotic_run: Path, compacted: Path
) -> None:
    """report --json and review list --json print the same before and after."""
    for argv in (["report"], ["review", "list", "--all"]):
        before = invoke(capsys, *argv, "--out", str(chaotic_run), "--json")
        after = invoke(capsys, *argv, "--out", str(compacted), "--json")
        assert after == before and before[1]


def test_review_items_keep_their_raw_replies_after_compaction(
    chaotic_run: Path, compacted: Path
) -> None:
    """The raw LLM reply of every review item (what the lead page shows) survives compaction."""

    def replies(out: Path) -> dict[int, str | None]:
        store = ReviewStore(out / "journal.sqlite")
        try:
            return {
                item.id: None if item.request.last_output is None
                else item.request.last_output.raw_reply
                for item in store.items()
            }  # fmt: skip
        finally:
            store.close()

    before = replies(chaotic_run)
    assert any(before.values()), "no review item of the chaotic run kept a raw reply"
    assert replies(compacted) == before


def test_a_compacted_run_resumes_to_the_same_outcomes_without_llm_calls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, compacted: Path
) -> None:
    """Running the same command again on a compacted run redoes nothing and pays for nothing."""
    out = shutil.copytree(compacted, tmp_path / "out")
    argv = ["run", str(LEADS), "--out", str(out), "--chaos", "0.3", "--seed", "2", "--json"]
    code, text, _ = invoke(capsys, *argv)
    assert code == 0
    summary = json.loads(text)
    assert summary["llm_calls"] == 0 and summary["leads"] == 240
    assert sum(summary["outcomes"].values()) == 240


def test_new_leads_into_a_compacted_run_meet_the_same_duplicate_checks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, chaotic_run: Path, compacted: Path
) -> None:
    """A file that repeats a finished lead's email under a new id fares alike, compacted or not."""
    with LEADS.open(newline="", encoding="utf-8") as source:
        first = next(csv.DictReader(source))
    leads = tmp_path / "again.jsonl"
    leads.write_text(json.dumps(first | {"id": "NEW-1", "employees": 300}) + "\n")
    reports = []
    for run in (chaotic_run, compacted):
        out = shutil.copytree(run, tmp_path / run.parent.name)
        code, _, _ = invoke(capsys, "run", str(leads), "--out", str(out), "--json")
        assert code == 0
        reports.append(invoke(capsys, "report", "--out", str(out), "--json")[1])
    assert reports[0] == reports[1]


def test_an_approval_after_compaction_adds_to_the_story(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, compacted: Path
) -> None:
    """A lead approved after compaction traces old and new messages, and compacts again."""
    out = shutil.copytree(compacted, tmp_path / "out")
    store = ReviewStore(out / "journal.sqlite")
    items = store.items(status="open")
    store.close()
    # Which leads wait with a draft a person can approve as it is depends on the run's
    # scheduling: the first such item is taken (a refused approval changes nothing).
    for item in items:
        before = json.loads(invoke(capsys, "trace", item.lead_id, "--out", str(out), "--json")[1])
        if invoke(capsys, "review", "approve", str(item.id), "--out", str(out))[0] == 0:
            break
    else:
        raise AssertionError("no open item could be approved as it is")
    grown = invoke(capsys, "trace", item.lead_id, "--out", str(out), "--json")[1]
    assert compact_run(out).compacted >= 1
    again = invoke(capsys, "trace", item.lead_id, "--out", str(out), "--json")[1]
    assert again == grown and len(grown) > len(json.dumps(before))


@pytest.mark.anyio
async def test_a_trace_with_work_in_flight_is_not_compacted(tmp_path: Path) -> None:
    """A trace with an unacked delivery keeps every row; once acked, it compacts."""
    journal = SqliteJournal(tmp_path / "journal.sqlite")
    outcome = LeadOutcome(record=1, lead_id="L1", outcome=Outcome.FAILED, reason="r")
    envelope = Envelope.new(outcome, producer="a", trace_id="L1")
    await journal.commit([(envelope, ("ledger",))], acks=[])
    assert journal.compact(["L1"], describe) == 0
    assert [entry.message for entry in journal.trace("L1")] == [outcome]
    await journal.commit([], acks=[Ack(envelope.message_id, "ledger")])
    assert journal.compact(["L1"], describe) == 1
    [entry] = journal.trace("L1")
    assert entry.message is None and entry.detail == "outcome failed: r"
    assert entry.deliveries == (("ledger", True),) and "lead_accepted" in KEEP_KINDS
    journal.close()


def test_events_jsonl_rotates_by_size(tmp_path: Path) -> None:
    """Past max_bytes, events.jsonl moves to .1 (then .2); no more than keep files stay."""
    with event_log(tmp_path, max_bytes=2000, keep=2) as log:
        for number in range(100):
            log.info("tick", number=number)
    current = tmp_path / EVENTS_FILE
    files = sorted(tmp_path.glob(EVENTS_FILE + "*"))
    assert files == [current, tmp_path / f"{EVENTS_FILE}.1", tmp_path / f"{EVENTS_FILE}.2"]
    assert all(path.stat().st_size <= 2000 for path in files)
    numbers = [
        json.loads(line)["number"]
        for path in reversed(files)
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert numbers == list(range(100 - len(numbers), 100)) and numbers[-1] == 99


def test_compact_is_refused_while_a_service_holds_the_run_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, compacted: Path
) -> None:
    """serve compacts its own journal; a second compaction beside it is refused in one
    line naming the holder, and the journal is left as it was."""
    out = shutil.copytree(compacted, tmp_path / "out")
    before = (out / "journal.sqlite").read_bytes()
    with DirectoryLock(out, command="serve", url="http://127.0.0.1:8000"):
        code, _, err = invoke(capsys, "compact", "--out", str(out))
    assert code == 1
    assert f"{out} is in use by `serve`" in err and len(err.strip().splitlines()) == 1
    assert (out / "journal.sqlite").read_bytes() == before
    assert invoke(capsys, "compact", "--out", str(out))[0] == 0
