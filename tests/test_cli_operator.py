"""What a new operator meets first: help, the version, tables that show data, and --out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import run as cli
from cli import _common as common

UNKNOWN_COMPANY = {
    "first_name": "Ana", "last_name": "Ruiz", "email": "ana@quillstone.io",
    "company": "Quillstone", "domain": "quillstone.io", "industry": "Software",
    "employees": 300, "country": "US", "title": "CTO", "notes": "",
}  # fmt: skip
"""A lead whose company the sample knowledge base does not know."""


def invoke(
    capsys: pytest.CaptureFixture[str], *argv: str, prog: str = "run.py"
) -> tuple[int, str, str]:
    code = cli.main(list(argv), prog=prog)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def unknown_company_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of one lead with no evidence: it waits for review with a rule id in its reason."""
    root = tmp_path_factory.mktemp("unknown")
    leads = root / "leads.jsonl"
    leads.write_text(json.dumps(UNKNOWN_COMPANY) + "\n", encoding="utf-8")
    assert cli.main(["run", str(leads), "--out", str(root / "out"), "--json"]) == 0
    return root / "out"


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as they need to be, so no cell wraps."""
    monkeypatch.setattr(common.stdout, "width", 1000)


@pytest.mark.usefixtures("wide")
@pytest.mark.parametrize("argv", [["report"], ["review", "list"]])
def test_tables_show_rule_ids_in_square_brackets(
    capsys: pytest.CaptureFixture[str], unknown_company_run: Path, argv: list[str]
) -> None:
    """A rule id such as [research.claims.empty] is data in a table, not rich markup."""
    code, out, _ = invoke(capsys, *argv, "--out", str(unknown_company_run))
    assert code == 0
    assert "[research.claims.empty]" in out


@pytest.mark.parametrize("kind", ["proc", "file"])
def test_an_out_that_cannot_be_a_run_directory_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    """An --out under /proc, or one that is a file, exits 1 with one line naming it."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text(json.dumps(UNKNOWN_COMPANY) + "\n", encoding="utf-8")
    out = Path("/proc/forbidden") if kind == "proc" else tmp_path / "a-file"
    if kind == "file":
        out.write_text("not a directory\n")
    code, stdout, err = invoke(capsys, "run", str(leads), "--out", str(out))
    assert code == 1
    expected = (
        f"error: --out {out}: cannot write there"
        if kind == "proc"
        else f"error: --out {out} is a file, not a directory; pass a directory for the run"
    )
    assert err.startswith(expected), err
    assert len(err.strip().splitlines()) == 1 and stdout == ""


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_short_and_long_help_work_on_commands(
    capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    """-h is --help, for the app and for a subcommand."""
    code, out, _ = invoke(capsys, "report", flag)
    assert code == 0
    assert out.startswith("Usage: run.py report [OPTIONS]")


def test_version_prints_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints "leadwright X.Y.Z" and exits 0."""
    code, out, _ = invoke(capsys, "--version")
    assert code == 0
    assert out.startswith("leadwright 0.")


def test_the_console_script_names_itself_in_hints(
    capsys: pytest.CaptureFixture[str], unknown_company_run: Path
) -> None:
    """Called as leadwright, usage lines and hints say "leadwright", not "run.py"."""
    argv = ["trace", "nobody", "--out", str(unknown_company_run)]
    code, _, err = invoke(capsys, *argv, prog="leadwright")
    assert code == 1
    assert "see leadwright report --out" in err and "run.py" not in err
    code, out, _ = invoke(capsys, "-h", prog="leadwright")
    assert code == 0 and out.startswith("Usage: leadwright [OPTIONS]")


def test_a_lead_with_no_evidence_is_told_why_and_the_fix(
    capsys: pytest.CaptureFixture[str], unknown_company_run: Path
) -> None:
    """The review reason and the event log name the missing evidence, its cause and the fix."""
    code, out, _ = invoke(capsys, "report", "--out", str(unknown_company_run), "--json")
    assert code == 0
    reason = json.loads(out)["reason"]
    assert "there is no evidence about quillstone.io" in reason
    assert "--kb FILE holding an entry for quillstone.io, or with --sources web" in reason
    events = (unknown_company_run / "events.jsonl").read_text(encoding="utf-8").splitlines()
    [warning] = [json.loads(e) for e in events if '"no_evidence"' in e]
    assert warning["level"] == "warning"
    assert warning["cause"].startswith("the knowledge base has no entry for quillstone.io;")


def test_the_summary_names_companies_without_evidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The run summary says which companies had no evidence and how to give it some."""
    leads = tmp_path / "leads.jsonl"
    leads.write_text(json.dumps(UNKNOWN_COMPANY) + "\n", encoding="utf-8")
    code, out, _ = invoke(capsys, "run", str(leads), "--out", str(tmp_path / "out"))
    assert code == 0
    assert (
        "no evidence about 1 company (quillstone.io), so their leads wait for review: "
        "pass --kb FILE with entries for those domains, or --sources web" in out
    )


def test_square_brackets_in_printed_data_are_not_markup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A path such as "[bold]schemas" prints as it is, outside tables too."""
    out = tmp_path / "[bold]schemas"
    code, text, _ = invoke(capsys, "contracts", "--out", str(out))
    assert code == 0
    assert text.strip().endswith(f"schemas to {out}")
