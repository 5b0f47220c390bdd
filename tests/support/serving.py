"""A real ``run.py serve`` process on 127.0.0.1 for tests, and leads to post to it."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from actors.intake import check_record
from tests.support.paths import EXAMPLES, ROOT

LEADS = EXAMPLES / "leads.csv"
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    stderr: list[str]
    reader: threading.Thread

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=AUTH, timeout=60.0)

    def kill(self, signum: int = signal.SIGKILL) -> int:
        self.process.send_signal(signum)
        return self.wait()

    def wait(self) -> int:
        """Wait for the process to end, and for its stderr to be read to the end."""
        code = self.process.wait(timeout=120)
        self.reader.join(timeout=60)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait()


def start_server(out: Path, *extra: str) -> Server:
    """Start ``serve`` on a free port and return once it listens."""
    argv = [sys.executable, str(ROOT / "run.py"), "serve", "--out", str(out), "--port", "0"]
    env = os.environ | {"PYTHONPATH": str(ROOT), "LEADWRIGHT_TOKEN": TOKEN}
    process = subprocess.Popen(
        [*argv, *extra], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert process.stderr is not None
    lines: list[str] = []
    url = _wait_for_url(process.stderr, lines)
    assert url is not None, "".join(lines)
    # The rest is read as it comes, so that a full pipe can never block the server.
    reader = threading.Thread(target=lines.extend, args=(process.stderr,), daemon=True)
    reader.start()
    return Server(process, url, lines, reader)


def _wait_for_url(stream: IO[str], lines: list[str]) -> str | None:
    for line in stream:
        lines.append(line)
        found = re.search(r"on (http://\S+)", line)
        if found:
            return found.group(1)
    return None


@contextmanager
def serving(out: Path, *extra: str) -> Iterator[Server]:
    """A server for the block; killed at the end if it is still running."""
    server = start_server(out, *extra)
    try:
        yield server
    finally:
        server.close()


def sample_leads(count: int, *, prefix: str = "S") -> list[dict[str, str]]:
    """``count`` distinct leads made from the sample file, each with its own id and email
    (from the valid rows that have an email)."""
    with LEADS.open(encoding="utf-8", newline="") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["email"] and isinstance(check_record(row), dict)
        ]
    leads = []
    for n in range(count):
        row = dict(rows[n % len(rows)])
        row["id"] = f"{prefix}{n}"
        local, _, domain = row["email"].partition("@")
        row["email"] = f"{local}.{prefix.lower()}{n}@{domain}"
        leads.append(row)
    return leads


def wait_until(condition: Callable[[], bool], deadline_s: float = 120.0) -> None:
    """Poll ``condition`` until it holds; fail once the deadline has passed."""
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, "the condition never became true"
        time.sleep(0.05)


def pending(client: httpx.Client) -> int:
    """How many leads have no outcome yet."""
    page = client.get("/v1/leads", params={"outcome": "pending", "limit": 1000}).json()
    return len(page["leads"])
