"""A run directory holds personal data: the commands that own it keep it their user's
alone (the directory and its folders 0700, its files 0600), whatever it was before."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import run as cli
from tests.support.paths import EXAMPLES


def modes(out: Path) -> dict[str, int]:
    """Every path under ``out`` (and ``out``) with its permission bits."""
    found = {".": stat.S_IMODE(out.stat().st_mode)}
    for root, dirs, files in os.walk(out):
        for name in [*dirs, *files]:
            path = Path(root, name)
            found[str(path.relative_to(out))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def first_leads(tmp_path: Path, count: int) -> Path:
    lines = (EXAMPLES / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    path = tmp_path / "leads.csv"
    path.write_text("".join(lines[: count + 1]), encoding="utf-8")
    return path


def test_a_run_directory_and_its_files_are_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a run, journal.sqlite, crm.sqlite, events.jsonl, summary.json and every other
    file is 0600, and every directory 0700; the process's umask is back as it was."""
    before = os.umask(0o022)
    os.umask(before)
    out = tmp_path / "run"
    assert cli.main(["run", str(first_leads(tmp_path, 5)), "--out", str(out), "--json"]) == 0
    found = modes(out)
    assert {"journal.sqlite", "crm.sqlite", "events.jsonl", "summary.json"} <= set(found)
    for name, mode in found.items():
        expected = 0o700 if (out / name).is_dir() else 0o600
        assert mode == expected, f"{name} is {mode:o}"
    after = os.umask(0o022)
    os.umask(after)
    assert after == before


def test_an_older_open_run_directory_is_made_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory left 0755 with 0644 files (by an older version) is made private by the
    next command that holds it."""
    out = tmp_path / "run"
    leads = first_leads(tmp_path, 3)
    assert cli.main(["run", str(leads), "--out", str(out), "--json"]) == 0
    out.chmod(0o755)
    for name in ("journal.sqlite", "crm.sqlite", "events.jsonl"):
        (out / name).chmod(0o644)
    assert cli.main(["run", str(leads), "--out", str(out), "--json"]) == 0
    found = modes(out)
    assert found["."] == 0o700
    assert {found[n] for n in ("journal.sqlite", "crm.sqlite", "events.jsonl")} == {0o600}
