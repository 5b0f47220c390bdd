"""Secrets stay secret: the key and a base URL's credentials, in every form, in every file."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from actors.llm.testing import FakeOpenAI, completion, server_error
from messages import REDACTED, Redactor, redact, redacting, without_credentials

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-proj-Zq8vT3xK9mW2nL5pR7sY"
USER, PASSWORD = "alice", "p@ss/wörd-42"
PAIR = f"{USER}:{PASSWORD}"
BASIC = base64.b64encode(PAIR.encode()).decode()
FORMS = {
    "key": KEY,
    "key in base64": base64.b64encode(KEY.encode()).decode(),
    "key URL-encoded": quote(f"Bearer {KEY}"),
    "user:password in base64": BASIC,
    "password": PASSWORD,
    "password URL-encoded": quote(PASSWORD, safe=""),
    "user:password": PAIR,
}
ECHO = (
    f"You sent Authorization: Basic {BASIC} and key {KEY} "
    f"(as base64 {FORMS['key in base64']}, in a URL ?auth={FORMS['key URL-encoded']}), "
    f"from http://{USER}:{FORMS['password URL-encoded']}@proxy.example/v1 as {PAIR}."
)
"""What a careless server echoes: every form of every credential it was sent."""


def test_a_redactor_removes_every_form_of_every_secret() -> None:
    """The key and a base URL's user:password go plain, base64 and URL-encoded."""
    url = f"http://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:9/v1"
    cleaned = Redactor([KEY], urls=[url])(ECHO)
    assert [name for name, form in FORMS.items() if form in cleaned] == []
    assert cleaned.count(REDACTED) >= len(FORMS) - 1


def test_credential_shapes_go_even_with_no_secrets_known() -> None:
    """With no redactor made current, sk- keys, Basic user:password and URL userinfo go."""
    text = f"key {KEY}, header Basic {BASIC}, url https://bob:hunter22@h.example/x; Basic plan"
    assert redact(text) == (
        f"key {REDACTED}, header Basic {REDACTED}, url https://{REDACTED}@h.example/x; Basic plan"
    )


def test_redacting_restores_the_previous_redactor() -> None:
    """redacting() is a switch for one block: afterwards the secret is no longer known."""
    with redacting(Redactor(["hunter2-secret"])):
        assert redact("pw hunter2-secret") == f"pw {REDACTED}"
    assert redact("pw hunter2-secret") == "pw hunter2-secret"


def test_a_base_url_is_stored_without_its_credentials() -> None:
    """without_credentials keeps scheme, host, port and path, and drops user:password."""
    url = f"http://{USER}:{quote(PASSWORD, safe='')}@[::1]:8080/v1?x=1"
    assert without_credentials(url) == "http://[::1]:8080/v1?x=1"
    assert without_credentials("https://api.openai.com/v1") == "https://api.openai.com/v1"


@pytest.mark.slow
def test_no_file_of_a_run_holds_a_secret_a_server_echoed(tmp_path: Path) -> None:
    """A server echoing the key in every form, in errors and replies, leaves it in no file
    and on no output (a base URL with credentials is refused before anything runs)."""

    def echo(body: object, number: int) -> object:
        # Errors go to review with the server's message; prose goes to a dead letter raw.
        return server_error(500, message=ECHO) if number % 3 == 0 else completion(ECHO)

    leads = (ROOT / "examples" / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    (tmp_path / "leads.csv").write_text("".join(leads[:4]), encoding="utf-8")
    out = tmp_path / "out"
    with FakeOpenAI(echo) as server:  # type: ignore[arg-type]
        env = os.environ | {
            "PYTHONPATH": str(ROOT),
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": server.url,
        }
        argv = [sys.executable, str(ROOT / "run.py"), "run", str(tmp_path / "leads.csv")]
        argv += ["--out", str(out), "--llm", "openai", "--model", "gpt-4o-mini", "--json"]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = {path.name: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert {"journal.sqlite", "events.jsonl", "summary.json"} <= set(written)
    assert b"Basic [REDACTED]" in written["events.jsonl"]
    with sqlite3.connect(out / "journal.sqlite") as connection:
        raw = [row[0] for row in connection.execute("SELECT raw_output FROM dead_letters")]
    assert any(REDACTED in (text or "") for text in raw)  # the raw reply, redacted
    key_forms = {what: form for what, form in FORMS.items() if what.startswith("key")}
    leaks = [
        (name, what)
        for name, data in written.items()
        for what, form in key_forms.items()
        if form.encode() in data
    ]
    output = result.stdout + result.stderr
    assert leaks == [] and [what for what, form in key_forms.items() if form in output] == []
