"""Housekeeping of a running system: finished leads compacted in the background, the
LLM usage saved, and nothing a reader of the run directory needs lost."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from actors import Icp, KnowledgeBase, LedgerStore, UsageStore
from actors.intake import RawRecord, read_records
from actors.llm import OfflineLlm
from bus import SqliteJournal
from messages import UsageError
from supervision.system import CompactionSettings, PipelineConfig, System, open_system, run_pipeline
from tests.support.paths import EXAMPLES

pytestmark = pytest.mark.anyio

OFF = CompactionSettings(every_leads=0, every_minutes=0)


def config(out: Path, compaction: CompactionSettings) -> PipelineConfig:
    return PipelineConfig(
        out=out,
        gateway=OfflineLlm(seed=0, imperfection_rate=0.0),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        concurrency=4,
        compaction=compaction,
    )


def sample(count: int, start: int = 0) -> list[RawRecord]:
    return list(itertools.islice(read_records(EXAMPLES / "leads.csv"), start, start + count))


def journal_of(out: Path) -> SqliteJournal:
    return SqliteJournal(out / "journal.sqlite")


def finished_leads(out: Path) -> list[str]:
    ledger = LedgerStore(out / "journal.sqlite")
    try:
        rows = ledger.report()
    finally:
        ledger.close()
    return sorted({row.lead_id for row in rows if row.outcome != "pending"})


def whole(out: Path) -> list[str]:
    """Finished leads whose messages are still all in the journal."""
    journal = journal_of(out)
    try:
        return journal.uncompacted(finished_leads(out))
    finally:
        journal.close()


async def wait_for(system: System, passes: int) -> None:
    """Wait (with a deadline) until ``passes`` passes are done and no lead waits for one."""
    with anyio.fail_after(30):
        while (stats := system.housekeeping.statistics()).passes < passes or stats.waiting:
            await system.housekeeping.next_pass()


async def test_a_run_compacts_finished_leads_every_n_leads(tmp_path: Path) -> None:
    """With every_leads=5, finished leads are compacted while the run goes on; their
    story stays readable (``trace``)."""
    settings = CompactionSettings(every_leads=5, every_minutes=0)
    with anyio.fail_after(60):
        await run_pipeline(config(tmp_path, settings), sample(30))
    left = whole(tmp_path)
    assert len(left) < 10
    done = sorted(set(finished_leads(tmp_path)) - set(left))
    journal = journal_of(tmp_path)
    try:
        story = journal.trace(done[0])
    finally:
        journal.close()
    assert [entry.kind for entry in story][:2] == ["lead_submitted", "lead_accepted"]
    assert any(entry.kind == "lead_outcome" for entry in story)


async def test_a_running_system_compacts_after_t_minutes(tmp_path: Path) -> None:
    """With only a time trigger, finished leads are compacted once the time has passed."""
    settings = CompactionSettings(every_leads=0, every_minutes=0.001, usage_every_s=0.05)
    async with open_system(config(tmp_path, settings)) as system:
        input_id = await system.open_input("test")
        await system.submit(input_id, [(r.record, r.fields) for r in sample(6)])
        await system.wait_finished()
        await wait_for(system, 1)
    assert whole(tmp_path) == []


async def test_a_start_compacts_what_an_earlier_process_left_whole(tmp_path: Path) -> None:
    """Leads finished by a run that did not compact are compacted by the next system on
    the directory, once there are enough of them."""
    await run_pipeline(config(tmp_path, OFF), sample(12))
    assert len(whole(tmp_path)) >= 10
    settings = CompactionSettings(every_leads=5, every_minutes=0, usage_every_s=0.05)
    async with open_system(config(tmp_path, settings)) as system:
        await wait_for(system, 1)
        assert system.housekeeping.statistics().scanned
    assert whole(tmp_path) == []


async def test_nothing_is_compacted_with_both_triggers_off(tmp_path: Path) -> None:
    """every_leads=0 and every_minutes=0 leave the journal whole."""
    await run_pipeline(config(tmp_path, OFF), sample(8))
    assert len(whole(tmp_path)) == len(finished_leads(tmp_path))


async def test_the_usage_of_every_run_is_saved_in_the_directory(tmp_path: Path) -> None:
    """Each run adds its LLM calls to the directory's usage: report --cost covers them all."""
    first = await run_pipeline(config(tmp_path, OFF), sample(5))
    second = await run_pipeline(config(tmp_path, OFF), sample(5, start=5))
    store = UsageStore(tmp_path / "journal.sqlite")
    try:
        totals = store.totals()
    finally:
        store.close()
    assert sum(used.calls for used in totals.values()) == first.llm_calls + second.llm_calls
    assert all(used.free == used.calls for used in totals.values())


def test_compaction_settings_refuse_negative_values() -> None:
    """A negative trigger is a usage error that names the value and the fix."""
    with pytest.raises(UsageError, match=r"every_leads=-1 must be >= 0 \(0: not by count\)"):
        CompactionSettings(every_leads=-1)
    with pytest.raises(UsageError, match=r"every_minutes=-2 must be >= 0"):
        replace(OFF, every_minutes=-2)
