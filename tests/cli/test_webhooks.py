"""``run.py webhooks``: adding an endpoint (its address checked, its secret shown once and
kept 0600), listing, testing, and the deliveries of a run, redelivered on demand."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest
from standardwebhooks import Webhook

import cli
from tests.support.paths import EXAMPLES
from tests.support.receiver import Receiver, receiving

LEADS = EXAMPLES / "leads.csv"


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (just freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_private_receiver_is_refused_without_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """webhooks add of a 127.0.0.1 URL without --allow-private is one line, exit 1, and
    registers nothing; an unknown event type is refused the same way."""
    out = str(tmp_path / "run")
    code, _, err = invoke(capsys, "webhooks", "add", "http://127.0.0.1:9000/", "--out", out)
    assert code == 1
    assert err.strip() == (
        "error: 127.0.0.1 is a loopback address; pass --allow-private for a receiver on this "
        "machine or the local network"
    )
    code, _, err = invoke(
        capsys, "webhooks", "add", "https://example.com/", "--events", "lead.won", "--out", out
    )
    assert code == 1 and err.startswith("error: unknown event 'lead.won'; choose from lead.")
    code, text, _ = invoke(capsys, "webhooks", "list", "--json", "--out", out)
    assert code == 0 and text == ""


def test_the_secret_is_shown_once_and_kept_for_the_owner_alone(
    receiver: Receiver, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """add prints the whsec_ secret once and keeps it 0600 in a 0700 folder; list never
    shows it; test sends a webhook.test event that verifies with it."""
    out = tmp_path / "run"
    code, text, _ = invoke(
        capsys, "webhooks", "add", receiver.url, "--allow-private", "--out", str(out)
    )
    assert code == 0
    secret = text.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    kept = out / "webhook-secrets" / "1"
    assert kept.read_text().strip() == secret
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    code, listed, _ = invoke(capsys, "webhooks", "list", "--json", "--out", str(out))
    assert code == 0 and secret not in listed and json.loads(listed)["state"] == "enabled"
    code, said, _ = invoke(capsys, "webhooks", "test", "1", "--out", str(out))
    assert code == 0 and said.startswith("endpoint 1 answered HTTP 204 in ")
    [got] = receiver.received
    event = Webhook(secret).verify(got.body, got.headers)
    assert event["type"] == "webhook.test" and event["data"]["endpoint"] == 1


def test_failed_deliveries_are_listed_and_redelivered_on_demand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A run whose receiver is down ends with its deliveries failed (no retries asked for);
    redeliver makes one due again, and the next run sends it; no secret is ever logged."""
    out = tmp_path / "run"
    port = closed_port()
    url = f"http://127.0.0.1:{port}/hook"
    code, text, _ = invoke(
        capsys, "webhooks", "add", url, "--allow-private", "--retries", "",
        "--events", "lead.completed", "--out", str(out),
    )  # fmt: skip
    secret = text.strip().splitlines()[-1]
    leads = tmp_path / "leads.csv"
    leads.write_text("".join(LEADS.read_text().splitlines(keepends=True)[:4]))
    assert invoke(capsys, "run", str(leads), "--out", str(out))[0] == 0
    code, text, _ = invoke(capsys, "webhooks", "deliveries", "--json", "--out", str(out))
    rows = [json.loads(line) for line in text.splitlines()]
    assert rows and {r["status"] for r in rows} == {"failed"}
    assert all(r["type"] == "lead.completed" and r["attempts"] == 1 for r in rows)
    assert all(r["last_error"].startswith("ConnectError") for r in rows), rows
    first = rows[-1]["id"]
    code, said, _ = invoke(capsys, "webhooks", "redeliver", str(first), "--out", str(out))
    assert code == 0 and said.startswith(f"delivery {first} (lead.completed to endpoint 1)")
    with receiving(port=port) as receiver:
        assert invoke(capsys, "run", str(leads), "--out", str(out))[0] == 0
        [got] = receiver.received
    assert got.headers["webhook-id"] == rows[-1]["event_id"]
    code, text, _ = invoke(capsys, "webhooks", "deliveries", "--json", "--out", str(out))
    statuses = {json.loads(line)["id"]: json.loads(line)["status"] for line in text.splitlines()}
    assert (
        statuses[first] == "delivered" and list(statuses.values()).count("failed") == len(rows) - 1
    )
    code, _, _ = invoke(capsys, "webhooks", "remove", "1", "--out", str(out))
    assert code == 0 and not (out / "webhook-secrets" / "1").exists()
    code, _, err = invoke(capsys, "webhooks", "redeliver", str(first), "--out", str(out))
    assert (
        code == 1 and err.strip() == f"error: no webhook delivery {first}; see webhooks deliveries"
    )
    assert secret not in (out / "events.jsonl").read_text()
