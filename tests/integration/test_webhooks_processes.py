"""Webhooks end to end, with real processes: ``serve`` killed -9 and restarted, and a
receiver (examples/webhook_receiver.py) that fails 30% of requests and is down a while."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from standardwebhooks import Webhook

import cli
from messages import UNANNOUNCED, Outcome
from tests.support.paths import EXAMPLES
from tests.support.serving import pending, sample_leads, start_server, wait_until

pytestmark = pytest.mark.slow

RETRIES = ",".join(["0.2", "0.4", "0.8", *["1"] * 60])
"""Short and many, so that no delivery runs out of attempts while the receiver is down."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_receiver(secret: Path, port: int, record: Path) -> subprocess.Popen[bytes]:
    """The example receiver, failing 30% of requests; returns once it listens."""
    command = [sys.executable, str(EXAMPLES / "webhook_receiver.py"),
               "--secret-file", str(secret), "--port", str(port), "--fail-rate", "0.3",
               "--record", str(record)]  # fmt: skip
    log = record.with_name(f"receiver-{port}.txt")
    log.write_text("")
    with log.open("ab") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    wait_until(lambda: "listening on" in log.read_text(), deadline_s=30)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def received(record: Path) -> list[dict[str, object]]:
    lines = record.read_text().splitlines() if record.exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def taken(record: Path) -> list[dict[str, object]]:
    """The requests the receiver took (answered 204): the ones that arrived."""
    return [r for r in received(record) if r["status"] == 204]


def announced(out: Path) -> set[tuple[str, int]]:
    """Every lead outcome that has an event, as (event type, record)."""
    with sqlite3.connect(out / "journal.sqlite") as c:
        rows = c.execute("SELECT record, outcome FROM outcomes").fetchall()
    silent = {o.value for o in UNANNOUNCED}
    return {(f"lead.{o}", int(r)) for r, o in rows if o not in silent}


def undelivered(out: Path) -> int:
    with sqlite3.connect(out / "journal.sqlite") as c:
        return int(
            c.execute(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE status != 'delivered'"
            ).fetchone()[0]
        )


def test_every_outcome_arrives_and_dedups_to_one_event_per_lead_outcome(tmp_path: Path) -> None:
    """Through 30% failed requests, a receiver down for a stretch and serve killed -9 and
    restarted: every outcome's event arrives at least once, each signature verifies with
    standardwebhooks, and deduplicating by webhook-id leaves exactly one per lead outcome."""
    out, record, port = tmp_path / "run", tmp_path / "received.jsonl", free_port()
    url = f"http://127.0.0.1:{port}/hook"
    events = ",".join(f"lead.{o.value}" for o in Outcome if o not in UNANNOUNCED)
    add = ["webhooks", "add", url, "--allow-private", "--events", events, "--retries", RETRIES]
    assert cli.main([*add, "--breaker-cooldown", "0.3", "--out", str(out)]) == 0
    secret_file = out / "webhook-secrets" / "1"
    receiver = start_receiver(secret_file, port, record)
    server = start_server(out)
    try:
        with server.client() as client:
            assert client.post("/v1/leads", json=sample_leads(30, prefix="A")).status_code == 202
            wait_until(lambda: len(taken(record)) >= 5)
            stop(receiver)  # down for a stretch
            assert client.post("/v1/leads", json=sample_leads(30, prefix="B")).status_code == 202
            wait_until(lambda: pending(client) < 30)
        server.kill()  # -9, mid-way: leads and deliveries in flight
        receiver = start_receiver(secret_file, port, record)
        server = start_server(out)
        with server.client() as client:
            wait_until(lambda: pending(client) == 0)
        wait_until(lambda: undelivered(out) == 0)
    finally:
        server.close()
        stop(receiver)
    requests = received(record)
    assert any(r["status"] == 500 for r in requests), "the receiver failed some on purpose"
    secret = secret_file.read_text().strip()
    by_id: dict[str, tuple[str, int]] = {}
    for request in taken(record):
        headers, body = request["headers"], request["body"]
        assert isinstance(headers, dict) and isinstance(body, str) and request["verified"]
        event = Webhook(secret).verify(body, headers)
        by_id[headers["webhook-id"]] = (event["type"], event["data"]["record"])
    expected = announced(out)
    assert len(expected) == 60
    assert sorted(by_id.values()) == sorted(expected), "one event per lead outcome"
