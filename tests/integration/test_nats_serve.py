"""``run.py serve --bus`` with ``run.py worker`` processes on one NATS server: real
processes, leads posted over HTTP, and every lead ends once, whatever is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import nats.js.errors
import pytest

from actors import Icp, KnowledgeBase
from actors.llm import OfflineLlm
from bus import NatsServer
from supervision.system import PipelineConfig, open_system
from tests.support.nats import WAIT_S, Workers, passwords, running_workers, serving_bus
from tests.support.paths import EXAMPLES, ROOT
from tests.support.serving import Server, pending, sample_leads, wait_until

pytestmark = pytest.mark.slow


RUN_S = 600.0
"""The longest a batch may take to end; reaching it fails the test."""
LATENCY_MS = 20
"""The offline LLM's latency in the workers."""


@contextmanager
def running(
    nats: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Server, Workers]]:
    """``serve --bus`` on ``tmp_path / "run"`` (which makes the streams), then three workers."""
    with (
        serving_bus(tmp_path / "run", nats.url, monkeypatch) as server,
        running_workers(
            nats.url, 3, tmp_path / "logs", latency_ms=LATENCY_MS, env=passwords()
        ) as workers,
    ):
        yield server, workers


def completed_llm_calls(workers: Workers) -> list[tuple[str, str, int]]:
    """Every LLM call the workers logged as answered: actor, input message, attempt.

    A handler calls again, with the next attempt number, when an answer does not parse
    (a chaos fault); a handler run twice on one input would repeat attempt 1.
    """
    return [
        (event["actor"], event["message_id"], event["attempt"])
        for index in range(len(workers.processes))
        for event in workers.events(index)
        if event["event"] == "llm_call" and event["outcome"] == "ok"
    ]


def post(server: Server, leads: list[dict[str, str]]) -> None:
    """Post ``leads`` in batches, waiting as told whenever the inbox is full."""
    with server.client() as client:
        for start in range(0, len(leads), 25):
            while True:
                answer = client.post("/v1/leads", json=leads[start : start + 25])
                if answer.status_code != 429:
                    break
                wait_until(lambda: pending(client) < len(leads), deadline_s=RUN_S)
            assert answer.status_code == 202, answer.text


def outcomes(out: Path) -> dict[str, list[str]]:
    """Each record's lead id and its outcome rows (one, for a finished lead)."""
    with sqlite3.connect(out / "journal.sqlite") as connection:
        rows = connection.execute(
            "SELECT r.lead_id, o.outcome FROM records r LEFT JOIN outcomes o ON o.record = r.record"
        ).fetchall()
    found: dict[str, list[str]] = {}
    for lead, outcome in rows:
        found.setdefault(str(lead), []).extend([] if outcome is None else [str(outcome)])
    return found


def assert_conserved(out: Path, leads: list[dict[str, str]]) -> None:
    """Every lead has exactly one outcome, and the CRM has each lead at most once."""
    ended = outcomes(out)
    assert set(ended) == {lead["id"] for lead in leads}
    assert all(len(rows) == 1 for rows in ended.values()), ended
    with sqlite3.connect(out / "crm.sqlite") as connection:
        in_crm = [row[0] for row in connection.execute("SELECT lead_id FROM contacts")]
    assert in_crm, "some leads reached the CRM"
    assert len(in_crm) == len(set(in_crm))


def left(server: Server) -> int:
    with server.client() as client:
        return pending(client)


def finish(server: Server) -> None:
    """Wait for every lead to end, then stop ``serve`` with SIGTERM."""
    try:
        wait_until(lambda: left(server) == 0, deadline_s=RUN_S)
    except httpx.HTTPError:
        code = server.wait()
        said = "".join(server.stderr)
        raise AssertionError(f"serve stopped answering (exit {code}):\n{said}") from None
    assert server.kill(signal.SIGTERM) in (0, 128 + signal.SIGTERM), "".join(server.stderr)


def test_serve_and_three_workers_end_500_leads_once_each(
    secured: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500 leads over HTTP to serve --bus, stages on three workers with chaos 0.2: every
    lead ends in exactly one outcome, no CRM duplicates, each worker did some work, and
    no LLM call was answered twice for the same input."""
    leads = sample_leads(500)
    with running(secured, tmp_path, monkeypatch) as (server, workers):
        post(server, leads)
        finish(server)
        summaries = workers.stop()
    assert_conserved(tmp_path / "run", leads)
    for summary in summaries:
        assert summary is not None
        delivered = summary["delivered"]
        assert isinstance(delivered, dict) and sum(delivered.values()) > 0, summary
    calls = completed_llm_calls(workers)
    assert calls and len(calls) == len(set(calls))


def test_killed_workers_lose_no_lead(
    secured: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 one worker mid-run, then another: the last one finishes every lead, once."""
    leads = sample_leads(100)
    with running(secured, tmp_path, monkeypatch) as (server, workers):
        post(server, leads)
        wait_until(lambda: left(server) < 80, deadline_s=RUN_S)
        workers.kill(0)
        wait_until(lambda: left(server) < 50, deadline_s=RUN_S)
        workers.kill(1)
        finish(server)
        assert workers.stop()[2] is not None
    assert_conserved(tmp_path / "run", leads)


def test_serve_killed_and_started_again_loses_no_lead(
    secured: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 serve mid-run and start it again on the same --out: every lead ends, once."""
    out = tmp_path / "run"
    leads = sample_leads(100)
    with running(secured, tmp_path, monkeypatch) as (server, _):
        post(server, leads)
        wait_until(lambda: left(server) < 70, deadline_s=RUN_S)
        server.kill()
        assert sum(len(rows) == 0 for rows in outcomes(out).values()) > 0, "killed mid-run"
        with serving_bus(out, secured.url, monkeypatch) as again:
            finish(again)
    assert_conserved(out, leads)


def test_nats_restarted_on_its_store_loses_no_lead(
    secured: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stop the NATS server mid-run and start it again on its store: every lead ends, once."""
    leads = sample_leads(100)
    with running(secured, tmp_path, monkeypatch) as (server, _):
        post(server, leads)
        wait_until(lambda: left(server) < 70, deadline_s=RUN_S)
        secured.stop()
        secured.start()
        finish(server)
    assert_conserved(tmp_path / "run", leads)


def test_serve_without_a_nats_server_says_how_to_fix_it(tmp_path: Path) -> None:
    """serve --bus at a port nothing listens on fails with one line that names the fix."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "serve",
            "--out",
            str(tmp_path / "run"),
            "--port",
            "0",
            "--bus",
            "nats://127.0.0.1:9",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LEADWRIGHT_TOKEN": "test-token-0123456789"},
    )
    assert done.returncode != 0
    assert "Cannot connect to NATS at nats://127.0.0.1:9" in done.stderr, done.stderr


async def consumers_of(url: str) -> set[str]:
    """The durable consumers on the server, over both streams."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        names: set[str] = set()
        for stream in ("LEADWRIGHT", "UNVALIDATED"):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                names |= {info.name for info in await js.consumers_info(stream)}
        return names
    finally:
        await client.close()


def test_the_system_on_a_shared_bus_runs_no_stage(nats_server: NatsServer, tmp_path: Path) -> None:
    """open_system with a bus setting makes consumers for the stateful actors only: no
    research, scoring, writer or validator consumer, so the workers get all stage work."""
    config = PipelineConfig(
        out=tmp_path / "run",
        gateway=OfflineLlm(seed=1),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        bus=nats_server.url,
    )

    async def main() -> set[str]:
        async with open_system(config) as system:
            assert system.distributed and system.stores.journal is None
            with anyio.fail_after(WAIT_S):
                while True:  # each consumer is made by its own task, in no set order
                    made = await consumers_of(nats_server.url)
                    if {"intake", "outcomeledger", "crm"} <= made:
                        return made
                    await anyio.sleep(0.05)

    made = anyio.run(main)
    assert "intake" in made and "outcomeledger" in made and "crm" in made
    assert made.isdisjoint({"research", "scoring", "writer", "validator"}), made


async def has_stream(url: str, stream: str) -> bool:
    """Whether the secured server has ``stream``, as its ``serve`` user sees."""
    serve = passwords()["LEADWRIGHT_NATS_SERVE_PASSWORD"]
    client = await nats.connect(url, user="serve", password=serve, inbox_prefix="_INBOX_serve")
    try:
        await client.jetstream().stream_info(stream)
    except nats.js.errors.NotFoundError:
        return False
    finally:
        await client.close()
    return True


def test_workers_started_before_serve_wait_for_it_then_work(
    secured: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers started first, whose users may not create the streams, wait for serve to
    make them and then do the stage work: every lead ends once, whatever the start order."""
    leads = sample_leads(30)
    logs = tmp_path / "logs"
    with running_workers(secured.url, 2, logs, latency_ms=LATENCY_MS, env=passwords()) as workers:
        log = secured.store / "server.log"
        refused = '"$JS.API.STREAM.CREATE.LEADWRIGHT"'
        # Each worker's first connection (the validator's) asked to create it, refused.
        wait_until(lambda: log.read_text().count(refused) >= 2, deadline_s=RUN_S)
        assert not anyio.run(has_stream, secured.url, "LEADWRIGHT")
        assert all(process.poll() is None for process in workers.processes)
        with serving_bus(tmp_path / "run", secured.url, monkeypatch) as server:
            post(server, leads)
            finish(server)
        summaries = workers.stop()
    assert_conserved(tmp_path / "run", leads)
    assert all(summary is not None for summary in summaries)
    for index in range(len(workers.processes)):  # each said in its log why it waited
        waits = [e for e in workers.events(index) if e["event"] == "waiting_for_stream"]
        assert any(
            e["role"] == "validator" and e["reason"].startswith("Waiting for stream LEADWRIGHT,")
            for e in waits
        ), waits
