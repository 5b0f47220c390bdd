"""Resuming reads only what unfinished records need: the memory it takes does not grow with
the number of finished leads in the run directory."""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from contextlib import closing
from pathlib import Path

import anyio

from actors.intake import read_records
from supervision.system import run_pipeline
from tests.support.pipeline import offline_config
from tests.support.serving import sample_leads

BYTES_PER_FINISHED_LEAD = 2_000
"""What resuming may hold for each finished lead: ids in sets, never its envelopes (a
lead's five journaled envelopes, parsed, are tens of kilobytes)."""


def finished_but_one(tmp_path: Path, count: int) -> Path:
    """A run directory of ``count`` finished leads, the last of which lost its outcome."""
    leads = tmp_path / f"leads-{count}.jsonl"
    leads.write_text("".join(json.dumps(row) + "\n" for row in sample_leads(count)))
    out = tmp_path / f"run-{count}"
    anyio.run(run_pipeline, offline_config(out), read_records(leads))
    with closing(sqlite3.connect(out / "journal.sqlite")) as c, c:
        c.execute("DELETE FROM outcomes WHERE record = (SELECT MAX(record) FROM records)")
    return out


def resume_peak(out: Path) -> int:
    """The peak of Python memory while resuming ``out`` to the end."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        anyio.run(run_pipeline, offline_config(out), iter(()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with closing(sqlite3.connect(out / "journal.sqlite")) as c:
        (unfinished,) = c.execute(
            "SELECT COUNT(*) FROM records r WHERE NOT EXISTS "
            "(SELECT 1 FROM outcomes o WHERE o.record = r.record)"
        ).fetchone()
    assert unfinished == 0, "the lead that lost its outcome should have been resumed"
    return peak


def test_resume_memory_does_not_grow_with_finished_leads(tmp_path: Path) -> None:
    """Resuming one lead beside 240 finished ones takes about what it takes beside 24."""
    small = resume_peak(finished_but_one(tmp_path, 24))
    large = resume_peak(finished_but_one(tmp_path, 240))
    per_lead = (large - small) / (240 - 24)
    assert per_lead < BYTES_PER_FINISHED_LEAD, (small, large, per_lead)
