"""A run directory whose storage fails: a full disk or a corrupt journal is one line, exit 1."""

from __future__ import annotations

import json
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

import run as cli
from bus import JOURNAL_VERSION
from tests.support.paths import EXAMPLES, ROOT

LEADS = EXAMPLES / "leads.csv"
LEAD = {
    "first_name": "Ana", "last_name": "Ruiz", "email": "ana@ember-labs.ai",
    "company": "Ember Labs", "domain": "ember-labs.ai", "industry": "Software",
    "employees": 300, "country": "US", "title": "CTO", "notes": "",
}  # fmt: skip
FILE_LIMIT = 300_000
"""Bytes any one file of the run may reach: far less than 240 leads need."""


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The leads file and run directory of a finished one-lead run."""
    root = tmp_path_factory.mktemp("storage")
    leads = root / "leads.jsonl"
    leads.write_text(json.dumps(LEAD) + "\n", encoding="utf-8")
    assert cli.main(["run", str(leads), "--out", str(root / "out"), "--json"]) == 0
    return leads, root / "out"


def corrupt(run: Path, tmp_path: Path, *, header: bool) -> Path:
    """A copy of ``run`` whose journal has a garbage header, or garbage after its 2nd page."""
    out = shutil.copytree(run, tmp_path / "copy")
    journal = out / "journal.sqlite"
    data = bytearray(journal.read_bytes())
    span = range(100) if header else range(2 * 4096, len(data))
    for index in span:
        data[index] = 0x5A
    journal.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("header", [True, False], ids=["not-a-database", "malformed"])
@pytest.mark.parametrize("command", ["run", "report"])
def test_a_corrupt_journal_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    finished: tuple[Path, Path],
    command: str,
    header: bool,
) -> None:
    """run and report on a corrupt journal say it is corrupt and what to do, with no traceback."""
    leads, run = finished
    out = corrupt(run, tmp_path, header=header)
    argv = ["run", str(leads), "--out", str(out)] if command == "run" else ["report"]
    if command == "report":
        argv += ["--out", str(out)]
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and "the database is corrupt" in err, err
    assert "restore the run directory from a backup, or start again with a new --out" in err
    assert len(err.strip().splitlines()) == 1


def _limit_file_size() -> None:
    # A file may not outgrow FILE_LIMIT: writes past it fail with EFBIG, as on a full disk.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


@pytest.mark.slow
def test_a_full_disk_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A run whose files cannot grow says to free space, exits 1, and leaves no stray CRM row."""
    out = tmp_path / "out"
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(LEADS), "--out", str(out), "--json"]
    result = subprocess.run(
        argv, preexec_fn=_limit_file_size, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {out}: cannot write ("), result.stderr
    assert "free disk space and run the same command again" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    # The CRM and the outcomes agree: no row for a lead still pending.
    with closing(sqlite3.connect(out / "crm.sqlite")) as crm:
        in_crm = {record for (record,) in crm.execute("SELECT record FROM contacts")}
    with closing(sqlite3.connect(out / "journal.sqlite")) as journal:
        written = {
            record
            for (record,) in journal.execute(
                "SELECT record FROM outcomes WHERE outcome IN ('completed', 'disqualified')"
            )
        }
    assert in_crm <= written, sorted(in_crm - written)


@pytest.mark.parametrize("command", ["run", "report", "trace"])
def test_a_journal_of_another_version_is_refused_by_every_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, finished: tuple[Path, Path], command: str
) -> None:
    """run, report and trace refuse a journal whose schema version they do not read."""
    leads, run = finished
    out = shutil.copytree(run, tmp_path / "copy")
    with closing(sqlite3.connect(out / "journal.sqlite")) as c:
        c.execute(f"PRAGMA user_version = {JOURNAL_VERSION + 1}")
    argv = {
        "run": ["run", str(leads)],
        "report": ["report"],
        "trace": ["trace", "L1"],
    }[command]
    capsys.readouterr()
    code = cli.main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        f"error: {out / 'journal.sqlite'}: journal schema version {JOURNAL_VERSION + 1}, but this "
        f"leadwright reads version {JOURNAL_VERSION}; use the leadwright that wrote it, or a new "
        "--out\n"
    )
