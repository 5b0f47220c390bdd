"""`run.py run --llm openai` in a real process: the ladder, the preflight and the breaker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from actors.llm import MODES_FILE, ModeMemory
from actors.llm.testing import FakeOpenAI, OfflineModel
from tests.support.paths import EXAMPLES, ROOT

pytestmark = pytest.mark.slow

SECRET = "sk-test-SECRET123"
MODEL = "gpt-4o-mini"
LEADS = 5


def leads(tmp_path: Path, count: int = LEADS) -> Path:
    lines = (EXAMPLES / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    path = tmp_path / "leads.csv"
    path.write_text("".join(lines[: count + 1]), encoding="utf-8")
    return path


def run_cli(
    tmp_path: Path, base_url: str, *extra: str, model: str = MODEL
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "OPENAI_API_KEY": SECRET,
        "OPENAI_BASE_URL": base_url,
    }
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(leads(tmp_path))]
    argv += ["--out", str(tmp_path / "out"), "--llm", "openai", "--model", model, *extra]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def report(tmp_path: Path) -> list[dict[str, str]]:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(ROOT / "run.py"), "report", "--out", str(tmp_path / "out")]
    done = subprocess.run([*argv, "--json"], env=env, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def events(tmp_path: Path, name: str) -> list[dict[str, object]]:
    lines = (tmp_path / "out" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == name]


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The run's only stderr line, which must be its one-line error."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_stopped_before_any_lead(result: subprocess.CompletedProcess[str], out: Path) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert not (out / "journal.sqlite").exists()


def test_a_server_that_refuses_json_schema_runs_every_lead_on_the_next_rung(
    tmp_path: Path,
) -> None:
    """llama.cpp-like server: exit 0, no provider error, the rung remembered and logged once."""
    server = FakeOpenAI(OfflineModel(), models=[MODEL], formats={"text", "json_object"})
    with server:
        result = run_cli(tmp_path, server.url, "--json")
        url = server.url
    assert result.returncode == 0, result.stderr
    outcomes = [row["outcome"] for row in report(tmp_path)]
    assert len(outcomes) == LEADS and "pending" not in outcomes
    assert all("provider_error" not in row["reason"] for row in report(tmp_path))
    remembered = json.loads((tmp_path / "out" / MODES_FILE).read_text())
    assert remembered == {ModeMemory.key(url, MODEL): "json_object_schema"}
    (logged,) = events(tmp_path, "structured_output")
    assert (logged["mode"], logged["refused"]) == ("json_object_schema", ["json_schema"])
    # Only calls sent before the first refusal came back asked for json_schema: at most
    # one per call in flight (16), never one per call of the run.
    strict = [r for r in server.requests if r.body["response_format"]["type"] == "json_schema"]
    assert 1 <= len(strict) <= 16 < len(server.requests) - len(strict) + 16


def test_connection_refused_stops_before_any_lead(tmp_path: Path) -> None:
    """A wrong port: exit 1 and one line naming the address and the fix."""
    port = free_port()
    result = run_cli(tmp_path, f"http://127.0.0.1:{port}/v1")
    assert_stopped_before_any_lead(result, tmp_path / "out")
    assert error_line(result) == (
        f"error: cannot reach the LLM server at 127.0.0.1:{port} (connection refused); start "
        "it, or point OPENAI_BASE_URL at it"
    )


def test_an_unresolvable_host_stops_before_any_lead(tmp_path: Path) -> None:
    """DNS failure: exit 1 and one line naming the host."""
    result = run_cli(tmp_path, "http://leadwright-no-such-host.invalid/v1")
    assert_stopped_before_any_lead(result, tmp_path / "out")
    line = error_line(result)
    assert line.startswith("error: cannot resolve the LLM server's host ")
    assert "'leadwright-no-such-host.invalid'" in line
    assert line.endswith("; check OPENAI_BASE_URL")


def test_https_to_a_plain_http_server_is_a_tls_failure(tmp_path: Path) -> None:
    """TLS failure: exit 1 and one line that says to check the scheme."""
    with FakeOpenAI(models=[MODEL]) as server:
        result = run_cli(tmp_path, server.url.replace("http://", "https://"))
        where = server.url.removeprefix("http://").removesuffix("/v1")
    assert_stopped_before_any_lead(result, tmp_path / "out")
    line = error_line(result)
    assert line.startswith(f"error: TLS with the LLM server at {where} failed (")
    assert line.endswith("says http or https as the server does, and the server's certificate")


@pytest.mark.parametrize("listed", [True, False])
def test_a_refused_key_stops_before_any_lead(tmp_path: Path, listed: bool) -> None:
    """A 401, at the model list or at the tiny call: exit 1, one line, the key hidden."""
    models = [MODEL] if listed else ["other-model"]
    with FakeOpenAI(models=models, api_key="sk-the-right-one") as server:
        result = run_cli(tmp_path, server.url)
        where = server.url.removeprefix("http://").removesuffix("/v1")
    assert_stopped_before_any_lead(result, tmp_path / "out")
    assert error_line(result) == (
        f"error: the LLM server at {where} refused the credentials (HTTP 401); check OPENAI_API_KEY"
    )


def test_an_unknown_model_stops_before_any_lead(tmp_path: Path) -> None:
    """404 model_not_found: exit 1 after one tiny call, naming the models the server has."""
    with FakeOpenAI(models=[MODEL, "gpt-4.1-mini"]) as server:
        result = run_cli(tmp_path, server.url, model="gpt-5-nope")
        where = server.url.removeprefix("http://").removesuffix("/v1")
        calls = len(server.requests)
    assert_stopped_before_any_lead(result, tmp_path / "out")
    assert calls == 1
    assert error_line(result) == (
        f"error: the LLM server at {where} has no model 'gpt-5-nope' (HTTP 404 "
        "model_not_found); it lists gpt-4o-mini, gpt-4.1-mini; pick one with --model"
    )


def test_a_server_that_goes_down_mid_run_and_comes_back_loses_no_lead(tmp_path: Path) -> None:
    """An outage: the breaker holds the calls, and every lead ends as if none had happened."""
    server = FakeOpenAI(OfflineModel(), models=[MODEL])
    server.schedule_outage(after=3, seconds=2.0)
    with server:
        result = run_cli(tmp_path, server.url, "--json")
    assert result.returncode == 0, result.stderr
    rows = report(tmp_path)
    assert len(rows) == LEADS
    assert all(row["outcome"] != "pending" for row in rows)
    assert all("provider_error" not in row["reason"] for row in rows)
    assert events(tmp_path, "provider_down") and events(tmp_path, "provider_back")


def test_a_server_that_stays_down_stops_the_run_and_leaves_leads_pending(tmp_path: Path) -> None:
    """Down past --provider-down-limit: exit 1, one line, leads left pending, none reviewed."""
    server = FakeOpenAI(OfflineModel(), models=[MODEL])
    server.schedule_outage(after=2, seconds=600)
    with server:
        result = run_cli(tmp_path, server.url, "--provider-down-limit", "3")
    assert result.returncode == 1
    line = error_line(result)
    assert line.startswith("error: run stopped: The LLM provider has been down for 3 s (last ")
    assert line.endswith(f"Unfinished leads stay pending; rerun with --out {tmp_path / 'out'}")
    rows = report(tmp_path)
    assert any(row["outcome"] == "pending" for row in rows)
    assert all(row["outcome"] != "needs_review" for row in rows)


def test_the_launcher_serves_a_whole_run(tmp_path: Path) -> None:
    """`python -m actors.llm.testing --port P --refuse json_schema` answers a whole run."""
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "actors.llm.testing", "--port", str(port)]
    argv += ["--model", MODEL, "--refuse", "json_schema"]
    launcher = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout is not None
        banner = launcher.stdout.readline()  # printed once the port is bound
        assert banner == f"fake OpenAI server at http://127.0.0.1:{port}/v1 with models {MODEL}\n"
        result = run_cli(tmp_path, f"http://127.0.0.1:{port}/v1", "--json")
    finally:
        launcher.terminate()
        assert launcher.wait(timeout=60) == 0
        if launcher.stdout is not None:
            launcher.stdout.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["leads"] == LEADS
    assert all(row["outcome"] != "pending" for row in report(tmp_path))
