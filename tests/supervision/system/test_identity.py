"""Records are keyed by their lead's identity: a second file into the same run directory
adds its leads, a lead finished before reports its outcome again, and the same id with
other content is a conflicting duplicate."""

from __future__ import annotations

import csv
import fcntl
import json
import subprocess
import sys
from pathlib import Path

import idna
import pytest

import run as cli
from actors import LedgerStore, SqliteCrm
from bus import SqliteJournal
from tests.support.paths import EXAMPLES, ROOT
from tests.support.pipeline import offline_config

LEADS = EXAMPLES / "leads.csv"


def sample_rows(first: int, count: int) -> list[dict[str, str]]:
    with LEADS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[first : first + count]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report(capsys: pytest.CaptureFixture[str], out: Path, *extra: str) -> list[dict[str, object]]:
    code, text, err = invoke(capsys, "report", "--out", str(out), "--json", *extra)
    assert code == 0, err
    return [json.loads(line) for line in text.splitlines()]


def test_a_second_file_into_the_same_directory_gets_every_lead_processed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """File B after file A with the same --out: every lead of B gets its own outcome, and
    its summary counts B's lines, not A's."""
    out = tmp_path / "run"
    a = write_csv(tmp_path / "a.csv", sample_rows(0, 6))
    b_rows = [row | {"id": f"NEW{n}"} for n, row in enumerate(sample_rows(6, 8), start=1)]
    b = write_csv(tmp_path / "b.csv", b_rows)
    assert invoke(capsys, "run", str(a), "--out", str(out), "--json")[0] == 0
    code, text, _ = invoke(capsys, "run", str(b), "--out", str(out), "--json")
    assert code == 0
    summary = json.loads(text)
    assert summary["leads"] == 8 and sum(summary["outcomes"].values()) == 8
    assert summary["llm_calls"] > 0
    rows = report(capsys, out)
    assert [row["record"] for row in rows] == list(range(1, 15))
    assert all(row["outcome"] != "pending" for row in rows)
    assert {row["lead_id"] for row in rows} >= {f"NEW{n}" for n in range(1, 9)}
    journal = SqliteJournal(out / "journal.sqlite")
    assert journal.trace("NEW1"), "the new lead went through the pipeline"
    journal.close()


def test_a_finished_lead_submitted_again_reports_its_outcome_without_new_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The same leads again: no LLM call, no second CRM row, and each line says it was
    finished earlier, with its outcome."""
    out = tmp_path / "run"
    a = write_csv(tmp_path / "a.csv", sample_rows(0, 5))
    assert invoke(capsys, "run", str(a), "--out", str(out), "--json")[0] == 0
    first = report(capsys, out)
    crm = SqliteCrm(out / "crm.sqlite")
    rows_before = len(crm.rows())
    crm.close()
    code, text, _ = invoke(capsys, "run", str(a), "--out", str(out), "--json")
    assert code == 0
    summary = json.loads(text)
    assert summary["llm_calls"] == 0 and summary["leads"] == 5
    again = report(capsys, out, "--input", "last")
    assert [row["outcome"] for row in again] == [row["outcome"] for row in first]
    assert all(str(row["reason"]).startswith("finished earlier") for row in again)
    crm = SqliteCrm(out / "crm.sqlite")
    assert len(crm.rows()) == rows_before
    crm.close()


def test_the_same_id_with_other_content_is_rejected_as_a_conflicting_duplicate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An id submitted again with other content is rejected, naming the earlier record; the
    earlier record keeps its outcome."""
    out = tmp_path / "run"
    [row] = sample_rows(0, 1)
    assert (
        invoke(capsys, "run", str(write_csv(tmp_path / "a.csv", [row])), "--out", str(out))[0] == 0
    )
    changed = row | {"title": "Chief Executive Officer"}
    code, _, _ = invoke(
        capsys, "run", str(write_csv(tmp_path / "b.csv", [changed])), "--out", str(out)
    )
    assert code == 0
    rows = report(capsys, out)
    assert len(rows) == 2
    assert rows[0]["outcome"] != "rejected"
    assert rows[1]["outcome"] == "rejected"
    assert rows[1]["lead_id"] == row["id"]
    assert "conflicting duplicate" in str(rows[1]["reason"]) and "record 1" in str(
        rows[1]["reason"]
    )


def test_a_second_email_for_one_person_is_a_duplicate_across_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A lead with another id but the email of a lead accepted earlier, in another file, is
    rejected as a duplicate of that record."""
    out = tmp_path / "run"
    [row] = sample_rows(0, 1)
    assert (
        invoke(capsys, "run", str(write_csv(tmp_path / "a.csv", [row])), "--out", str(out))[0] == 0
    )
    twin = row | {"id": "OTHER", "email": row["email"].upper()}
    invoke(capsys, "run", str(write_csv(tmp_path / "b.csv", [twin])), "--out", str(out))
    rows = report(capsys, out)
    assert (rows[1]["lead_id"], rows[1]["outcome"]) == ("OTHER", "rejected")
    assert rows[1]["reason"] == "duplicate of record 1 (same email)"


def test_one_mailbox_written_two_ways_is_one_lead(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The same address in fullwidth letters, decomposed, or with its domain in punycode,
    under another id, is a duplicate of the first: one CRM row for one mailbox."""
    out = tmp_path / "run"
    [row] = sample_rows(0, 1)
    first = row | {"email": "zoë@münchen-bau.de"}
    twins = [
        row | {"id": "WIDE", "email": "ｚｏë＠münchen-bau.de"},
        row | {"id": "NFD", "email": "zoe\u0308@münchen-bau.de"},
        row | {"id": "PUNY", "email": f"zoë@{idna.encode('münchen-bau.de').decode()}"},
    ]
    leads = write_csv(tmp_path / "a.csv", [first, *twins])
    assert invoke(capsys, "run", str(leads), "--out", str(out))[0] == 0
    rows = report(capsys, out)
    assert [(r["lead_id"], r["outcome"]) for r in rows[1:]] == [
        ("WIDE", "rejected"),
        ("NFD", "rejected"),
        ("PUNY", "rejected"),
    ]
    assert all(r["reason"] == "duplicate of record 1 (same email)" for r in rows[1:])


@pytest.mark.slow
def test_a_held_run_directory_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    """A second writer of a run directory exits 1 at once, with one line naming the holder."""
    out = tmp_path / "run"
    out.mkdir()
    with (out / ".lock").open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(json.dumps({"pid": 4242, "command": "serve", "url": None, "since": "now"}))
        handle.flush()
        result = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), "run", str(LEADS), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {out} is in use by `serve` (pid 4242, since now); wait for it to finish, "
        "stop it, or pass another --out"
    ]
    assert not (out / "journal.sqlite").exists()


def test_ledger_report_of_one_input_follows_its_lines(tmp_path: Path) -> None:
    """``report --input`` lists one input's lines in its order, a line per position, even
    when two lines name one lead."""
    import anyio

    async def scenario() -> list[tuple[int, str]]:
        ledger = LedgerStore(tmp_path / "journal.sqlite")
        try:
            one = await ledger.open_input("a")
            await ledger.submit(one, [(1, {"id": "X", "email": "x@y.co"})])
            two = await ledger.open_input("b")
            receipts = await ledger.submit(
                two, [(1, {"id": "Y", "email": "y@y.co"}), (2, {"id": "X", "email": "x@y.co"})]
            )
            assert [r.record for r in receipts] == [2, 1]
            return [(row.record, row.lead_id) for row in ledger.report(input_id=two)]
        finally:
            ledger.close()

    assert anyio.run(scenario) == [(1, "Y"), (2, "X")]


def test_progress_counts_every_line_of_the_input_finished_earlier_included(tmp_path: Path) -> None:
    """A run whose input holds leads finished before counts them in its progress, so the last
    progress says every line is done, not only the new ones."""
    import anyio

    from actors.intake import read_records
    from supervision.system import Progress, run_pipeline

    config = offline_config(tmp_path / "run")
    first = write_csv(tmp_path / "a.csv", sample_rows(0, 5))
    anyio.run(run_pipeline, config, read_records(first))
    both = write_csv(tmp_path / "b.csv", sample_rows(0, 8))
    seen: list[Progress] = []

    async def again() -> None:
        await run_pipeline(config, read_records(both), total=8, on_progress=seen.append)

    anyio.run(again)
    assert (seen[-1].done, seen[-1].total, seen[-1].finished_earlier) == (8, 8, 5)


def repeated_events(out: Path) -> list[dict[str, object]]:
    lines = (out / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [event for line in lines if (event := json.loads(line))["event"] == "input_repeated"]


def test_the_same_finished_file_again_is_recognised_by_its_digest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A finished file run again is known by its content: its lines are copied from the
    earlier input with their outcomes, without reading them, and report agrees."""
    out = tmp_path / "run"
    a = write_csv(tmp_path / "a.csv", sample_rows(0, 7))
    assert invoke(capsys, "run", str(a), "--out", str(out), "--json")[0] == 0
    first = report(capsys, out, "--input", "last")
    assert repeated_events(out) == []
    code, text, _ = invoke(capsys, "run", str(a), "--out", str(out), "--json")
    assert code == 0
    summary = json.loads(text)
    assert summary["leads"] == len(first) and summary["llm_calls"] == 0
    assert sum(summary["outcomes"].values()) == len(first)
    assert [event["lines"] for event in repeated_events(out)] == [len(first)]
    again = report(capsys, out, "--input", "last")
    assert [(r["record"], r["outcome"]) for r in again] == [
        (r["record"], r["outcome"]) for r in first
    ]
    assert all(str(row["reason"]).startswith("finished earlier") for row in again)


def test_a_changed_file_or_an_unfinished_one_is_read_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """One changed line, or a record of the earlier input without an outcome, and the file
    is read line by line: the new lead and the unfinished one are processed."""
    out = tmp_path / "run"
    rows = sample_rows(0, 6)
    a = write_csv(tmp_path / "a.csv", rows)
    assert invoke(capsys, "run", str(a), "--out", str(out), "--json")[0] == 0
    write_csv(a, [*rows[:-1], rows[-1] | {"id": "CHANGED"}])
    assert invoke(capsys, "run", str(a), "--out", str(out), "--json")[0] == 0
    assert repeated_events(out) == []
    assert all(row["outcome"] != "pending" for row in report(capsys, out))
    ledger = LedgerStore(out / "journal.sqlite")
    ledger.db.run_sync(lambda c: c.execute("DELETE FROM outcomes WHERE record = 1"))
    ledger.close()
    code, text, _ = invoke(capsys, "run", str(a), "--out", str(out), "--json")
    assert code == 0 and repeated_events(out) == []
    assert json.loads(text)["leads"] == len(rows)
    assert report(capsys, out)[0]["outcome"] != "pending"


def test_a_file_is_counted_beside_the_run_and_a_repeated_one_not_at_all(tmp_path: Path) -> None:
    """The progress's total comes from counting the file while the run goes on; the same
    finished file again is known by its digest, so it is not read even to be counted."""
    import anyio

    from actors.intake import read_records
    from supervision.system import Progress, run_pipeline

    config = offline_config(tmp_path / "run")
    leads = write_csv(tmp_path / "a.csv", sample_rows(0, 6))
    counted: list[Path] = []
    seen: list[Progress] = []

    def count() -> int:
        counted.append(leads)
        return sum(1 for _ in read_records(leads))

    async def run() -> None:
        await run_pipeline(
            config, read_records(leads), path=leads, count_records=count, on_progress=seen.append
        )

    anyio.run(run)
    assert counted == [leads]
    assert (seen[-1].done, seen[-1].total) == (6, 6)
    counted.clear()
    seen.clear()
    anyio.run(run)
    assert counted == []
    assert (seen[-1].done, seen[-1].total, seen[-1].finished_earlier) == (6, 6, 6)
