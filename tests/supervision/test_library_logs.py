"""What libraries log (stamina's retries, uvicorn's and the SDK's ``logging``) goes to the
event log, redacted, never to stdout or stderr: in-process, and in a real ``serve``."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from stamina.instrumentation import get_on_retry_hooks

from actors.llm.testing import FakeOpenAI, Response, completion, server_error
from messages import Redactor, redacting
from supervision.system import EVENTS_FILE, command_log
from tests.support.paths import ROOT
from tests.support.serving import sample_leads, wait_until

SECRET = "sk-echoed-0123456789abcdef"
"""The API key, which the fake provider echoes in its error bodies."""
TOKEN = "library-logs-token-0123"


def events(out: Path) -> list[dict[str, Any]]:
    lines = (out / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_retries_and_library_warnings_go_to_the_event_log_redacted(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Inside ``command_log``, a stamina retry and a library's error (with its traceback)
    are events with the key redacted; nothing reaches stdout or stderr; the hooks in place
    before come back after."""
    before = get_on_retry_hooks()
    tries: list[int] = []
    with redacting(Redactor([SECRET])), command_log(tmp_path) as log:
        for attempt in stamina.retry_context(on=ValueError, attempts=2):
            with attempt:
                tries.append(1)
                if len(tries) == 1:
                    raise ValueError(f"500: Authorization: Bearer {SECRET}")
        try:
            raise RuntimeError(f"echo {SECRET}")
        except RuntimeError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
        log.info("done")
    captured = capfd.readouterr()

    assert (captured.out, captured.err) == ("", "")
    assert get_on_retry_hooks() == before
    text = (tmp_path / EVENTS_FILE).read_text(encoding="utf-8")
    assert SECRET not in text
    found = {e["event"]: e for e in events(tmp_path)}
    assert found["retry_scheduled"]["retry_num"] == 1
    assert "[REDACTED]" in found["retry_scheduled"]["caused_by"]
    assert found["library_log"]["logger"] == "uvicorn.error"
    assert "RuntimeError: echo [REDACTED]" in found["library_log"]["exception"]


class EchoingProvider:
    """Answers the preflight, then a 500 whose body quotes the request's Authorization."""

    def __call__(self, body: Mapping[str, Any], number: int) -> Response:
        if "response_format" not in body:
            return completion("OK")
        return server_error(message="upstream refused Authorization: Bearer {api_key}")


@pytest.mark.slow
def test_serve_prints_no_credential_a_provider_echoes(tmp_path: Path) -> None:
    """A real ``serve`` whose provider echoes the key in every 500: the retries are in
    ``events.jsonl``, redacted; stdout and stderr carry neither the key nor a retry line."""
    out = tmp_path / "run"
    with FakeOpenAI(EchoingProvider()) as provider:
        env = os.environ | {
            "PYTHONPATH": str(ROOT),
            "LEADWRIGHT_TOKEN": TOKEN,
            "OPENAI_API_KEY": SECRET,
            "OPENAI_BASE_URL": provider.url,
        }
        argv = [sys.executable, str(ROOT / "run.py"), "serve", "--out", str(out), "--port", "0"]
        argv += ["--llm", "openai", "--model", "gpt-4o-mini"]
        process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdout is not None and process.stderr is not None
        stdout: list[str] = []
        stderr: list[str] = []
        readers = [
            threading.Thread(target=stdout.extend, args=(process.stdout,), daemon=True),
            threading.Thread(target=stderr.extend, args=(process.stderr,), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            wait_until(lambda: any(" on http://" in line for line in stderr), 60)
            url = next(line for line in stderr if " on http://" in line).split(" on ")[1].split()[0]
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                [lead] = sample_leads(1)
                assert client.post("/v1/leads", json=lead).status_code == 202

                def settled() -> bool:
                    status: str = client.get(f"/v1/leads/{lead['id']}").json()["status"]
                    return status != "pending"

                wait_until(settled, 120)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            for reader in readers:
                reader.join(timeout=30)
            process.stdout.close()
            process.stderr.close()
    printed = "".join(stdout) + "".join(stderr)
    assert SECRET not in printed
    assert "retry_scheduled" not in printed and "stamina" not in printed
    logged = (out / EVENTS_FILE).read_text(encoding="utf-8")
    assert SECRET not in logged
    retries = [e for e in events(out) if e["event"] == "retry_scheduled"]
    assert retries and all("[REDACTED]" in e["caused_by"] for e in retries)
