"""What a new operator meets first: help, the version, tables that show data, and --out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

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


def test_tables_on_a_terminal_show_square_brackets_as_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal, a cell such as "[Company]" or "[draft.placeholder]" is data in the
    boxed table, not rich markup, and a long cell is cut to the screen."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=300, markup=False)
    monkeypatch.setattr(common, "stdout", console)
    rows = [["[draft.placeholder]", "contains [Company]" + "x" * 200]]
    common.table(["rule", "why"], rows, long={"why"})
    text = screen.getvalue()
    assert "[draft.placeholder]" in text and "contains [Company]" in text
    assert "x" * 200 not in text and "…" in text


def test_piped_tables_print_every_cell_whole(capsys: pytest.CaptureFixture[str]) -> None:
    """Piped, a table cuts no cell however long, and --tsv gives tab-separated values."""
    long = "x" * 300
    common.table(["id", "why"], [["1", long]], long={"why"})
    common.table(["id", "why"], [["1", "two\nlines"]], tsv=True)
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith(long) and "…" not in out[1]
    assert out[2:] == ["id\twhy", "1\ttwo lines"]


def test_review_list_and_show_speak_plain_words(
    capsys: pytest.CaptureFixture[str], unknown_company_run: Path
) -> None:
    """The list shows the draft's subject and why in plain words; the card shows the lead,
    the draft and the rule id folded below its sentence; --json keeps the machine form."""
    code, out, _ = invoke(capsys, "review", "list", "--out", str(unknown_company_run))
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["id", "name", "company", "fit", "subject", "why"]
    assert "Quillstone" in row and "No evidence about quillstone.io" in row
    code, out, _ = invoke(capsys, "review", "show", "1", "--out", str(unknown_company_run))
    assert code == 0
    assert out.startswith("Review item 1 (open)")
    assert "Why it is here: No evidence about quillstone.io: this draft uses only" in out
    assert "Ana Ruiz <ana@quillstone.io>, CTO at Quillstone" in out
    assert "Subject: " in out and "Hi Ana," in out
    assert "    research.no_evidence: There is no evidence about" in out
    code, out, _ = invoke(
        capsys, "review", "show", "1", "--out", str(unknown_company_run), "--json"
    )
    data = json.loads(out)
    assert data["failure"] == "no_evidence" and data["request"]["last_output"]["subject"]


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
    """The outcome says in plain words that the draft uses only the lead's row; the item
    and the event log name the cause and the fix."""
    code, out, _ = invoke(capsys, "report", "--out", str(unknown_company_run), "--json")
    assert code == 0
    reason = json.loads(out)["reason"]
    assert reason == "No evidence about quillstone.io: this draft uses only the lead's row."
    code, out, _ = invoke(
        capsys, "review", "show", "1", "--out", str(unknown_company_run), "--json"
    )
    [doubt] = json.loads(out)["reasons"]
    assert "--kb FILE with an entry for it, or --sources web" in doubt["reason"]
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
        "no evidence about 1 company (quillstone.io): their drafts use only the lead's row "
        "and wait in the inbox; add what you know with run.py review retry ID --fact TEXT, "
        "or pass --kb FILE with entries for those domains, or --sources web" in out
    )


def test_the_summary_says_a_company_with_no_domain_needs_one_for_kb_or_web(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A lead at a personal mailbox with no domain column has nothing --kb or --sources web
    could look its company up by: the summary says so, and counts one lead as one."""
    lead = UNKNOWN_COMPANY | {"email": "ana.ruiz@gmail.com", "domain": ""}
    leads = tmp_path / "leads.jsonl"
    leads.write_text(json.dumps(lead) + "\n", encoding="utf-8")
    code, out, _ = invoke(capsys, "run", str(leads), "--out", str(tmp_path / "out"))
    assert code == 0
    assert "1 lead waits for a person in the inbox" in out
    assert "no evidence about 1 company (Quillstone)" in out
    assert "(a company with no domain needs a domain or website column for those two)" in out


def test_square_brackets_in_printed_data_are_not_markup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A path such as "[bold]schemas" prints as it is, outside tables too."""
    out = tmp_path / "[bold]schemas"
    code, text, _ = invoke(capsys, "contracts", str(out))
    assert code == 0
    assert text.strip().endswith(f"schemas to {out}")


def test_contracts_takes_a_folder_and_out_only_with_a_note(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--out names a run directory everywhere: contracts takes --dir (or a folder), and an
    old --out still works, with a note on stderr."""
    code, _, err = invoke(capsys, "contracts", "--dir", str(tmp_path / "a"))
    assert code == 0 and err == "" and (tmp_path / "a" / "lead.schema.json").is_file()
    code, _, err = invoke(capsys, "contracts", "--out", str(tmp_path / "b"))
    assert code == 0 and (tmp_path / "b" / "lead.schema.json").is_file()
    assert (
        err.strip() == "note: contracts --out is now contracts --dir (--out names a run directory)"
    )
