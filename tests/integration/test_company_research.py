"""Research once per company, as real processes: a kill -9 while leads wait for one
company's research loses nothing and calls research at most once more."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from actors import LedgerStore
from actors.llm.testing import FakeOpenAI, OfflineModel, Response, completion, stage_of
from tests.support.paths import ROOT

LEADS = 6
DOMAIN = "ember-labs.ai"


class HeldResearch:
    """FakeOpenAI's script: a flawless model whose research replies wait while ``held``."""

    def __init__(self) -> None:
        self.model = OfflineModel()
        self.held = threading.Event()
        self.held.set()
        self.released = threading.Event()
        self.research_calls = 0
        self.lock = threading.Lock()

    def __call__(self, body: Mapping[str, Any], number: int) -> Response:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if "<data>" not in user:
            return completion("OK")  # the preflight
        data = json.loads(user.split("<data>\n", 1)[1].split("\n</data>", 1)[0])
        if stage_of(data).value == "research":
            with self.lock:
                self.research_calls += 1
            if self.held.is_set():
                self.released.wait(60)
        return self.model(body, number)


def leads_file(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    rows = ["id,first_name,last_name,email,company,title,industry,employees,country"]
    rows += [
        f"L{n},Ada,Number{n},ada{n}@{DOMAIN},Ember Labs,VP of Engineering,Software,700,GB"
        for n in range(1, LEADS + 1)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def start(tmp_path: Path, server: FakeOpenAI) -> subprocess.Popen[str]:
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": server.url,
    }
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(leads_file(tmp_path))]
    argv += ["--out", str(tmp_path / "out"), "--llm", "openai", "--model", "gpt-4o-mini"]
    argv += ["--json", "--timeout", "120"]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def waiting_at_research(out: Path) -> int:
    """Leads whose acceptance research holds unacknowledged: researching, or waiting."""
    path = out / "journal.sqlite"
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM deliveries d JOIN messages m USING (message_id) "
                "WHERE m.kind = 'lead_accepted' AND d.subscriber = 'research' AND d.acked = 0"
            ).fetchone()
    except sqlite3.OperationalError:
        return 0  # the tables are not there yet
    return int(row[0])


@pytest.mark.slow
def test_kill_9_while_leads_wait_for_one_research_loses_nothing(tmp_path: Path) -> None:
    """Six leads of one company: one researches (its reply held), five wait; kill -9, then
    a resume finishes all six with at most one more research call."""
    script = HeldResearch()
    with FakeOpenAI(script) as server:
        process = start(tmp_path, server)
        deadline = time.monotonic() + 60
        while script.research_calls < 1 or waiting_at_research(tmp_path / "out") < LEADS:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the leads never all reached research"
            time.sleep(0.05)
        assert script.research_calls == 1
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        script.held.clear()
        script.released.set()
        resumed = start(tmp_path, server)
        _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert script.research_calls <= 2
    ledger = LedgerStore(tmp_path / "out" / "journal.sqlite")
    try:
        report = ledger.report()
    finally:
        ledger.close()
    assert len(report) == LEADS
    assert all(row.outcome in ("completed", "disqualified") for row in report), report
