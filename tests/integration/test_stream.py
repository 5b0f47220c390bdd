"""``run -`` reads stdin as a stream: each lead starts as soon as its line arrives."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES, ROOT

LEADS = EXAMPLES / "leads.csv"


def outcome_of(out: Path, lead_id: str) -> str | None:
    path = out / "journal.sqlite"
    if not path.exists():
        return None
    with sqlite3.connect(path) as connection:
        try:
            row = connection.execute(
                "SELECT o.outcome FROM outcomes o JOIN records r ON r.record = o.record "
                "WHERE r.lead_id = ?",
                (lead_id,),
            ).fetchone()
        except sqlite3.OperationalError:
            return None
    return None if row is None else str(row[0])


def wait_until(condition: object, deadline_s: float = 60.0) -> None:
    """Poll ``condition`` until it is true, failing once the deadline has passed."""
    assert callable(condition)
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, "the condition never became true"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_lead_written_to_the_pipe_finishes_before_the_next_line_arrives(tmp_path: Path) -> None:
    """The first lead ends while the pipe is still open and the last line unwritten; the
    run ends at end of input, every lead finished."""
    with LEADS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[:3]
    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "run",
            "-",
            "--out",
            str(out),
            "--json",
            "--concurrency",
            "1",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    assert process.stdin is not None
    for row in rows[:2]:
        process.stdin.write(json.dumps(row) + "\n")
        process.stdin.flush()
        wait_until(lambda row=row: outcome_of(out, row["id"]) is not None)
    assert process.poll() is None, "the run ended before its input did"
    process.stdin.write(json.dumps(rows[2]) + "\n")
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["leads"] == 3
    assert all(outcome_of(out, row["id"]) not in (None, "pending") for row in rows)
