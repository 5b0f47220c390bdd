"""`run.py run --llm openai` as an operator uses it: env vars in, one line out on fatal errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actors.llm.testing import FakeOpenAI, auth_failed, quota_exhausted
from tests.support.paths import EXAMPLES, ROOT

SECRET = "sk-test-SECRET123"


def leads(tmp_path: Path, count: int) -> Path:
    lines = (EXAMPLES / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    path = tmp_path / "leads.csv"
    path.write_text("".join(lines[: count + 1]), encoding="utf-8")
    return path


def run_cli(tmp_path: Path, server: FakeOpenAI, *extra: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "OPENAI_API_KEY": SECRET,
        "OPENAI_BASE_URL": server.url,
    }
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(leads(tmp_path, 5))]
    argv += ["--out", str(tmp_path / "out"), "--llm", "openai", "--model", "gpt-4o-mini", *extra]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def pending(tmp_path: Path) -> int:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(ROOT / "run.py"), "report", "--out", str(tmp_path / "out")]
    report = subprocess.run([*argv, "--json"], env=env, capture_output=True, text=True, check=True)
    return sum(json.loads(line)["outcome"] == "pending" for line in report.stdout.splitlines())


@pytest.mark.slow
def test_exhausted_quota_stops_the_run_with_one_line(tmp_path: Path) -> None:
    """insufficient_quota: exit 1, one line naming it, leads left pending, no secret anywhere."""
    with FakeOpenAI(lambda body, number: quota_exhausted()) as server:
        result = run_cli(tmp_path, server, "--json")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "insufficient_quota" in errors[0]
    assert "Traceback" not in result.stderr
    assert pending(tmp_path) > 0
    files = (tmp_path / "out").rglob("*")
    assert all(SECRET.encode() not in f.read_bytes() for f in files if f.is_file())
    assert SECRET not in result.stderr + result.stdout


@pytest.mark.slow
def test_bad_credentials_stop_the_run(tmp_path: Path) -> None:
    """A 401 stops the run with exit 1 and a one-line message that hides the key."""
    with FakeOpenAI(lambda body, number: auth_failed(401)) as server:
        result = run_cli(tmp_path, server)
    assert result.returncode == 1
    assert SECRET not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_openai_needs_a_model(tmp_path: Path) -> None:
    """--llm openai without --model is an operator error."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "OPENAI_API_KEY": SECRET}
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(leads(tmp_path, 2)), "--llm", "openai"]
    argv += ["--out", str(tmp_path / "out")]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --llm openai needs --model, such as --model gpt-4o-mini"
