"""``run.py evaluate`` against an offline baseline, driven as an operator drives it: the
baseline left byte for byte as it was, the candidate's differences, the sample, the
budget, the rule set, and the one-line errors."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import run as cli
from supervision.evaluation import finished_records, open_journal
from tests.support.paths import EXAMPLES

LEADS = EXAMPLES / "leads.csv"
ROWS = 40


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def evaluate(
    capsys: pytest.CaptureFixture[str], baseline: Path, out: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    """``evaluate --json`` into ``out``: its exit code and the evaluation it printed."""
    args = ["evaluate", "--baseline", str(baseline), "--out", str(out), "--json", *extra]
    code, stdout, stderr = invoke(capsys, *args)
    assert code in (0, 3), stderr
    return code, json.loads(stdout)


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` (hidden ones too) by its relative path and SHA-256."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def same(lead: dict[str, Any]) -> bool:
    """Whether both sides of a lead are alike in all but the time their calls took."""
    before, after = dict(lead["baseline"]), dict(lead["candidate"])
    return before.pop("latency_s") >= 0 and after.pop("latency_s") >= 0 and before == after


def contacts(crm: Path) -> int:
    if not crm.exists():
        return 0
    with sqlite3.connect(crm) as db:
        return int(db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An offline run of the first lines of the samples, its imperfections on."""
    lines = LEADS.read_text(encoding="utf-8").splitlines(keepends=True)
    leads = tmp_path_factory.mktemp("leads") / "leads.csv"
    leads.write_text("".join(lines[: ROWS + 1]), encoding="utf-8")
    out = tmp_path_factory.mktemp("baseline")
    assert cli.main(["run", str(leads), "--out", str(out), "--json"]) == 0
    return out


def test_the_offline_model_against_its_own_baseline_finds_no_difference(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """The same seed gives the same outputs: no lead changes, and nothing outside --out is
    written: the baseline's files are byte for byte the same, no CRM row, no webhook."""
    before = fingerprint(baseline)
    crm_rows = contacts(baseline / "crm.sqlite")
    code, result = evaluate(capsys, baseline, tmp_path / "e")
    assert code == 0
    assert fingerprint(baseline) == before
    assert contacts(baseline / "crm.sqlite") == crm_rows
    assert result["summary"].startswith(f"candidate: no differences on {result['leads']} leads")
    assert result["measured"] == result["leads"] > ROWS * 3 // 4
    assert result["skipped"]["rejected"] > 0
    assert all(set(row) == {b} for b, row in result["transitions"].items())
    assert all(same(lead) for lead in result["lead_results"])
    assert result["kappa"] == 1.0
    assert all(r["baseline"] == r["candidate"] for r in result["rules"])
    usage = result["usage"]
    assert usage["baseline"]["tokens"] == usage["candidate"]["tokens"] > 0
    assert not any(d["drift"] for d in result["drift"])
    scratch = tmp_path / "e" / "candidate-1"
    assert contacts(scratch / "crm.sqlite") == 0
    with sqlite3.connect(scratch / "journal.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM webhook_events").fetchone()[0] == 0
    assert (tmp_path / "e" / "report.html").is_file()
    assert json.loads((tmp_path / "e" / "report.json").read_text())["summary"] == result["summary"]


def test_research_reads_the_recorded_evidence_not_the_web_nor_the_knowledge_base(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """A baseline that says it researched the web, with its knowledge base gone, replays
    with no difference: every lead's evidence comes from its journal."""
    copy = shutil.copytree(baseline, tmp_path / "copy")
    settings = json.loads((copy / "settings.json").read_text())
    settings |= {"sources": "web", "kb": str(tmp_path / "gone.json")}
    (copy / "settings.json").write_text(json.dumps(settings))
    code, result = evaluate(capsys, copy, tmp_path / "e")
    assert code == 0
    assert all(same(lead) for lead in result["lead_results"])


def test_a_rule_set_change_shows_in_the_rules_the_calls_and_the_gate(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """With draft.unsupported_fact off, no draft fails it and none is asked again for it:
    the rule is marked disabled, fewer calls are made, and a gate on the calls exits 3."""
    rules = tmp_path / "rules.toml"
    rules.write_text('disable = ["draft.unsupported_fact"]\n')
    gate = "calls_per_lead < baseline"
    code, result = evaluate(
        capsys, baseline, tmp_path / "e", "--rules", str(rules), "--fail-if", gate
    )
    assert code == 3
    assert result["candidate"] == f"rules {rules}"
    (row,) = [r for r in result["rules"] if r["rule"] == "draft.unsupported_fact"]
    assert row["disabled"] and row["candidate"]["failures"] == 0 < row["baseline"]["failures"]
    assert result["gate"][0]["holds"] is True


def test_a_sample_is_stratified_by_outcome(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """--sample 12 replays 12 leads, every outcome of the baseline among them."""
    code, result = evaluate(capsys, baseline, tmp_path / "e", "--sample", "12")
    assert code == 0 and result["leads"] == 12
    with open_journal(baseline, tmp_path) as c:
        outcomes = {o for _, _, o, _, _ in finished_records(c)} - {"rejected", "pending"}
    assert {o for o, n in result["outcomes"]["baseline"].items() if n} == outcomes


def test_a_budget_stops_the_evaluation_cleanly_with_what_it_measured(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """--max-calls 40 stops the replay: the leads finished are compared, the rest counted as
    not measured, the report says partial, and a gate can refuse a partial evaluation."""
    code, result = evaluate(
        capsys, baseline, tmp_path / "e", "--max-calls", "40", "--fail-if", "measured_rate < 1"
    )
    assert code == 3
    assert 0 < result["measured"] < result["leads"]
    assert "budget of 40 calls is spent (--max-calls)" in result["halted"]
    assert result["summary"].startswith(f"partial ({result['measured']} of {result['leads']}")
    measured = [lead for lead in result["lead_results"] if lead["candidate"] is not None]
    assert len(measured) == result["measured"]
    assert sum(result["outcomes"]["candidate"].values()) == result["measured"]
    assert "Partial: the candidate gave" in (tmp_path / "e" / "report.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: pass --baseline RUN_DIR (a run to compare with) or --golden FILE"),
        (["--baseline", "B", "--fail-if", "kappa <"], "error: --fail-if 'kappa <': expected"),
        (["--baseline", "NOPE"], "error: NOPE: no run here (no settings.json)"),
        (["--baseline", "B", "--max-calls", "0"], "error: --max-calls 0 must be >= 1"),
        (["--baseline", "B", "--model", "m", "--llm", "nope"], "error: Invalid value for '--llm'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    baseline: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    """Each mistake is exit 1 with one line naming it, and no evaluation directory."""
    args = [str(baseline) if a == "B" else str(tmp_path / a) if a == "NOPE" else a for a in args]
    code, out, err = invoke(capsys, "evaluate", *args, "--out", str(tmp_path / "e"))
    assert code == 1 and out == ""
    message = message.replace("NOPE", str(tmp_path / "NOPE"))
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e").exists()


def test_an_evaluation_never_writes_over_another(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """--out a directory with files in it, or the baseline itself, is refused."""
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "report.html").write_text("earlier")
    code, _, err = invoke(
        capsys, "evaluate", "--baseline", str(baseline), "--out", str(tmp_path / "e")
    )
    assert code == 1 and "is not empty; pass a new --out" in err
    code, _, err = invoke(capsys, "evaluate", "--baseline", str(baseline), "--out", str(baseline))
    assert code == 1 and "is the baseline itself" in err


def test_a_journal_with_a_write_ahead_log_is_read_from_a_copy(
    baseline: Path, tmp_path: Path
) -> None:
    """A journal still open elsewhere (a WAL beside it) is copied, read, and left as it was."""
    live = shutil.copytree(baseline, tmp_path / "live")
    writer = sqlite3.connect(live / "journal.sqlite")
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute(
            "INSERT INTO records (lead_id, fingerprint, email, fields, input, position) "
            "SELECT 'LNEW', 'f', NULL, fields, input, 999 FROM records WHERE record = 1"
        )
        writer.commit()
        assert (live / "journal.sqlite-wal").exists()
        before = fingerprint(live)
        with open_journal(live, tmp_path / "scratch") as c:
            rows = finished_records(c)
        assert fingerprint(live) == before
        assert (tmp_path / "scratch" / "journal-copy" / "journal.sqlite").is_file()
        assert rows[-1][1] == "LNEW"  # the row only the write-ahead log holds
    finally:
        writer.close()


def test_kb_researches_from_the_knowledge_base_given(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """--kb replaces the recorded evidence: a company taken out of it leaves its leads with
    nothing to say, so they wait for review instead of completing."""
    companies = json.loads((EXAMPLES / "companies.json").read_text(encoding="utf-8"))
    gone = "ember-labs.ai"  # L0001's company, completed in the baseline
    del companies[gone]
    kb = tmp_path / "kb.json"
    kb.write_text(json.dumps(companies), encoding="utf-8")
    code, result = evaluate(capsys, baseline, tmp_path / "e", "--kb", str(kb))
    assert code == 0
    moved = {lead["lead_id"]: lead for lead in result["lead_results"] if same(lead) is False}
    assert moved["L0001"]["baseline"]["outcome"] == "completed"
    assert moved["L0001"]["candidate"]["outcome"] == "needs_review"


def test_another_icp_moves_the_fit_bands_and_kappa(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """An ICP with higher bands scores leads into lower ones: the confusion matrix leaves its
    diagonal, kappa falls, and a gate on it exits 3."""
    text = (EXAMPLES / "icp.toml").read_text(encoding="utf-8")
    icp = tmp_path / "icp.toml"
    icp.write_text(text.replace("high = 70", "high = 90").replace("medium = 40", "medium = 60"))
    code, result = evaluate(
        capsys, baseline, tmp_path / "e", "--icp", str(icp), "--fail-if", "kappa < 0.9"
    )
    assert code == 3
    assert result["kappa"] < 0.9
    labels = result["fit_labels"]
    high_to_medium = result["fit_confusion"][labels.index("high")][labels.index("medium")]
    assert high_to_medium > 0
    assert (
        result["outcomes"]["candidate"]["disqualified"]
        > result["outcomes"]["baseline"]["disqualified"]
    )


def writing_prompts(journal: Path) -> set[str]:
    """The versions of the writing prompt that made the drafts in a run's journal."""
    with sqlite3.connect(journal) as db:
        bodies = [bytes(row[0]).decode() for row in db.execute("SELECT body FROM messages")]
    return {
        found.split('"', 1)[0] for body in bodies for found in body.split('"prompt":"writing@')[1:]
    }


def test_a_candidates_prompts_write_the_drafts(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """--prompts DIR replaces a stage's instructions: the candidate's drafts are made by
    another version of the writing prompt than the baseline's."""
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "writing.txt").write_text("Write a short first email. Reply with one JSON object.")
    code, _ = evaluate(capsys, baseline, tmp_path / "e", "--prompts", str(prompts))
    assert code == 0
    before = writing_prompts(baseline / "journal.sqlite")
    after = writing_prompts(tmp_path / "e" / "candidate-1" / "journal.sqlite")
    assert before and after and before.isdisjoint(after)
