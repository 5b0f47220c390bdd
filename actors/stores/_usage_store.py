"""What a run directory's LLM calls used and cost, kept in ``journal.sqlite``.

One row per stage and model, added to as the system runs (every few seconds, and when it
stops), so that ``report --cost`` covers every run and every service that used the
directory. A kill -9 loses what was not yet added: the last few seconds' calls.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import final

from actors.llm import Usage
from bus import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_usage (
    stage TEXT NOT NULL,
    model TEXT NOT NULL,
    calls INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    unpriced INTEGER NOT NULL,
    free INTEGER NOT NULL,
    PRIMARY KEY (stage, model)
) WITHOUT ROWID;
"""
_COLUMNS = "calls, prompt_tokens, cached_tokens, completion_tokens, cost_usd, unpriced, free"

Usages = Mapping[tuple[str, str], Usage]


@final
class UsageStore:
    """LLM usage by stage and model, in the run directory's ``journal.sqlite``."""

    def __init__(self, path: Path | SqliteFile) -> None:
        self.db = SqliteFile.open(path, _SCHEMA)

    async def add(self, usage: Usages) -> None:
        if usage:
            await self.db.run(lambda c: _add(c, usage))

    def add_now(self, usage: Usages) -> None:
        """``add``, blocking this thread (for a system that is closing)."""
        if usage:
            self.db.run_sync(lambda c: _add(c, usage))

    def totals(self) -> dict[tuple[str, str], Usage]:
        rows = self.db.run_sync(
            lambda c: c.execute(f"SELECT stage, model, {_COLUMNS} FROM llm_usage").fetchall()
        )
        return {(str(stage), str(model)): Usage(*values) for stage, model, *values in rows}

    def close(self) -> None:
        self.db.close()


def _add(c: sqlite3.Connection, usage: Usages) -> None:
    c.executemany(
        f"INSERT INTO llm_usage (stage, model, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (stage, model) DO UPDATE SET calls = calls + excluded.calls, "
        "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
        "cached_tokens = cached_tokens + excluded.cached_tokens, "
        "completion_tokens = completion_tokens + excluded.completion_tokens, "
        "cost_usd = cost_usd + excluded.cost_usd, unpriced = unpriced + excluded.unpriced, "
        "free = free + excluded.free",
        [(stage, model, *_values(used)) for (stage, model), used in usage.items() if used.calls],
    )


def _values(used: Usage) -> tuple[int | float, ...]:
    """``used`` in the order of ``_COLUMNS``."""
    return (
        used.calls,
        used.prompt_tokens,
        used.cached_tokens,
        used.completion_tokens,
        used.cost_usd,
        used.unpriced,
        used.free,
    )
