"""The ``serve --bus`` and ``worker`` processes that run on a real nats-server (the
``nats_server`` and ``secured`` fixtures of tests/conftest.py start one), and a few helpers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from actors.intake import check_record, read_records
from bus import Mailbox
from messages import Envelope, Lead, Message
from tests.support.paths import EXAMPLES, ROOT
from tests.support.serving import Server, start_server

CONFIG = ROOT / "deploy" / "nats-server.conf"
ROLES = ("serve", "research", "scoring", "writer", "validator")

WAIT_S = 20.0
"""The longest a test waits for a message that must come; reaching it fails the test."""
STOP_S = 120.0
"""The longest a stopped worker may take to exit; reaching it fails the test."""
ACK_WAIT = "2"
"""Seconds before a killed process's messages go to another: short, to keep tests fast."""


def password(role: str) -> str:
    return f"secret-{role}"


def passwords() -> dict[str, str]:
    """The environment that gives every role of deploy/nats-server.conf its password."""
    return {f"LEADWRIGHT_NATS_{role.upper()}_PASSWORD": password(role) for role in ROLES}


async def take(mailbox: Mailbox) -> Envelope[Message]:
    """The next envelope in ``mailbox``, failing the test if none comes in time."""
    with anyio.fail_after(WAIT_S):
        return await mailbox.take()


def leads(count: int) -> list[Lead]:
    """``count`` distinct valid leads, made from the example file's valid records that
    have an email."""
    valid: list[dict[str, object]] = []
    for raw in read_records(EXAMPLES / "leads.csv"):
        checked = check_record(raw.fields)
        if not isinstance(checked, list) and checked["email"]:
            valid.append(dict(checked))
    made = []
    for n in range(count):
        fields = valid[n % len(valid)]
        local, domain = str(fields["email"]).split("@", 1)
        unique = {"lead_id": f"N{n:05d}", "record": n + 1, "email": f"{local}+{n}@{domain}"}
        made.append(Lead.model_validate({**fields, **unique}))
    return made


def worker_command(url: str, *options: str) -> list[str]:
    """The command line of ``run.py worker`` on the NATS server at ``url``."""
    return [sys.executable, str(ROOT / "run.py"), "worker", "--bus", url, *options]


class Workers:
    """``run.py worker`` processes with chaos 0.2, each logging to a directory of its own,
    each stopped or killed by the test; start them with ``running_workers``."""

    def __init__(
        self,
        url: str,
        count: int,
        logs: Path,
        *,
        latency_ms: int,
        env: Mapping[str, str] | None = None,
    ) -> None:
        command = worker_command(url, "--concurrency", "4", "--latency-ms", str(latency_ms))
        command += ["--chaos", "0.2", "--ack-wait", ACK_WAIT]
        self.logs = [logs / f"worker-{n}" for n in range(count)]
        self.processes: list[subprocess.Popen[bytes]] = []
        for log in self.logs:
            log.mkdir(parents=True)
            with (log / "stderr.txt").open("wb") as err:
                process = subprocess.Popen(
                    [*command, "--log-dir", str(log)],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    env={**os.environ, **(env or {})},
                )
            self.processes.append(process)

    def events(self, index: int) -> list[dict[str, Any]]:
        """What worker ``index`` logged, killed or not: each line is flushed."""
        lines = (self.logs[index] / "events.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def kill(self, index: int) -> None:
        """kill -9 worker ``index``, and wait for it to end."""
        self.processes[index].kill()
        self.processes[index].communicate()

    def stop(self) -> list[dict[str, object] | None]:
        """SIGTERM every live worker; its JSON summary, or None for one that was killed."""
        summaries: list[dict[str, object] | None] = []
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=STOP_S)
            if process.returncode != 0:
                summaries.append(None)
                continue
            summaries.append(json.loads(out.decode().strip().splitlines()[-1]))
        return summaries

    def close(self) -> None:
        """Kill every worker still running."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate()


@contextmanager
def running_workers(
    url: str, count: int, logs: Path, *, latency_ms: int, env: Mapping[str, str] | None = None
) -> Iterator[Workers]:
    """``count`` workers on the NATS server at ``url`` for the block; what is still running
    at the end is killed."""
    workers = Workers(url, count, logs, latency_ms=latency_ms, env=env)
    try:
        yield workers
    finally:
        workers.close()


@contextmanager
def serving_bus(out: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """``serve --bus`` on ``out``, as the deploy config's ``serve`` user, for the block;
    killed at the end if it is still running."""
    for name, value in passwords().items():
        monkeypatch.setenv(name, value)
    server = start_server(out, "--bus", url, "--ack-wait", ACK_WAIT, "--concurrency", "8")
    try:
        yield server
    finally:
        server.close()
