"""A real ``serve`` process against hostile or careless clients: what it prints, what it
answers, and how it stops."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.serving import AUTH, serving, wait_until

pytestmark = pytest.mark.slow


def test_sigterm_with_event_streams_open_stops_cleanly(tmp_path: Path) -> None:
    """SIGTERM while three ``/v1/events`` clients listen: the streams end, the process
    exits 143, and neither stderr nor the event log holds a traceback."""
    out = tmp_path / "run"
    with serving(out) as server:
        opened = threading.Barrier(4)
        ended: list[str] = []

        def listen() -> None:
            with (
                httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client,
                client.stream("GET", "/v1/events") as events,
            ):
                lines = events.iter_lines()
                next(lines)
                opened.wait()
                try:
                    for _ in lines:
                        pass
                    ended.append("closed")
                except httpx.HTTPError as exc:
                    ended.append(type(exc).__name__)

        listeners = [threading.Thread(target=listen) for _ in range(3)]
        for listener in listeners:
            listener.start()
        opened.wait(timeout=60)
        assert server.kill(signal.SIGTERM) == 143
        for listener in listeners:
            listener.join(timeout=60)
        wait_until(lambda: len(ended) == 3, 60)
    printed = "".join(server.stderr)
    assert "Traceback" not in printed and "Exception in ASGI" not in printed, printed
    logged = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert not [e for e in logged if e["event"] == "library_log"], logged
