"""The operator's command line, driven as an operator drives it: arguments in, text out."""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
import stamina

import run as cli
from actors import Icp, KnowledgeBase, LedgerStore, ReviewItem, ReviewStore, SqliteCrm
from actors.intake import read_records
from actors.intake._source import CHUNK_SIZE
from actors.llm import ChaosLlm, Fault, OfflineLlm
from messages import OutreachDraft
from supervision.system import PipelineConfig, RunSettings, run_pipeline
from tests.support.paths import EXAMPLES, ROOT

LEADS = EXAMPLES / "leads.csv"


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def first_rows(tmp_path: Path, count: int) -> Path:
    """The header and the first ``count`` records of the sample leads, as a new CSV."""
    lines = LEADS.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "leads.csv"
    path.write_text("".join(lines[: count + 1]), encoding="utf-8")
    return path


def copy_with_open_review(run: Path, tmp_path: Path) -> tuple[Path, ReviewItem]:
    """A copy of a finished run directory, and its first open review item."""
    out = shutil.copytree(run, tmp_path / "copy")
    store = ReviewStore(out / "journal.sqlite")
    item = store.items(status="open")[0]
    store.close()
    return out, item


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One chaotic run of the first 60 lines of the samples, shared by the read-only tests."""
    out = tmp_path_factory.mktemp("run")
    leads = first_rows(tmp_path_factory.mktemp("leads"), 60)
    with stamina.set_testing(True, attempts=10, cap=True):
        code = cli.main(
            ["run", str(leads), "--out", str(out), "--chaos", "0.3", "--seed", "2", "--json"]
        )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def inbox_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chaotic run of 20 sample leads with an empty knowledge base: each accepted lead
    waits in the inbox with a draft that uses only its row."""
    out = tmp_path_factory.mktemp("inbox")
    folder = tmp_path_factory.mktemp("leads")
    (folder / "empty.json").write_text("{}", encoding="utf-8")
    argv = ["run", str(first_rows(folder, 20)), "--out", str(out), "--chaos", "0.3"]
    with stamina.set_testing(True, attempts=10, cap=True):
        code = cli.main([*argv, "--seed", "2", "--kb", str(folder / "empty.json"), "--json"])
    assert code == 0
    return out


def test_run_json_summary_follows_the_contract(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--json prints one JSON object with the contract's keys; progress stays off stdout."""
    code, out, _ = invoke(
        capsys, "run", str(first_rows(tmp_path, 20)), "--out", str(tmp_path / "o"), "--json"
    )
    assert code == 0
    summary = json.loads(out)
    assert set(summary) == {
        "leads",
        "outcomes",
        "llm_calls",
        "retries",
        "validation_failures",
        "makespan_s",
        "leads_per_s",
        "cost",
    }
    assert summary["cost"]["note"] == "offline: no cost"
    assert set(summary["outcomes"]) == {
        "completed",
        "disqualified",
        "needs_review",
        "declined",
        "failed",
        "rejected",
    }
    assert summary["leads"] == 20 and sum(summary["outcomes"].values()) == 20


def test_report_lists_every_record_in_input_order(
    capsys: pytest.CaptureFixture[str], finished_run: Path
) -> None:
    """report --json has one line per input record, in order, each with an outcome and a reason."""
    code, out, _ = invoke(capsys, "report", "--out", str(finished_run), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [row["record"] for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 58  # the first 60 lines hold 58 records: some notes span lines
    assert all(set(row) == {"record", "lead_id", "outcome", "reason"} for row in rows)
    assert {row["outcome"] for row in rows} <= {
        "completed",
        "disqualified",
        "needs_review",
        "declined",
        "failed",
        "rejected",
    }


def test_report_without_json_is_a_table(
    capsys: pytest.CaptureFixture[str], finished_run: Path
) -> None:
    """Without --json, report prints a table headed by its columns."""
    code, out, _ = invoke(capsys, "report", "--out", str(finished_run))
    assert code == 0
    assert "record" in out and "outcome" in out and "L0001" in out


def test_review_approve_sends_the_draft_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, inbox_run: Path
) -> None:
    """Approving an inbox item ends its lead completed or disqualified with the draft it
    showed, never back in the inbox, and records the action; a second approval is refused."""
    out, item = copy_with_open_review(inbox_run, tmp_path)
    code, text, _ = invoke(
        capsys, "review", "approve", str(item.id), "--out", str(out), "--note", "looks fine"
    )
    assert code == 0
    assert f"record {item.record} is now" in text
    ledger = LedgerStore(out / "journal.sqlite")
    outcome = {r.record: r.outcome for r in ledger.report()}[item.record]
    ledger.close()
    assert outcome in {"completed", "disqualified"}
    store = ReviewStore(out / "journal.sqlite")
    assert [i for i in store.items(status="open") if i.record == item.record] == []
    assert store.item(item.id) is not None and store.item(item.id).status == "approved"  # type: ignore[union-attr]
    assert [a[1:] for a in store.actions(item.id)] == [("approved", "looks fine")]
    store.close()
    code, _, err = invoke(capsys, "review", "approve", str(item.id), "--out", str(out))
    assert (code, err.strip()) == (1, f"error: review item {item.id} is already approved")


def test_an_approved_draft_goes_to_the_crm(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A draft that broke a rule is approved only with --override and a note, then it goes to
    the CRM as completed, and the override is in the audit."""
    out = tmp_path / "o"
    always_placeholders = ChaosLlm(OfflineLlm(seed=1), rate=1.0, seed=1, faults=[Fault.PLACEHOLDER])
    config = PipelineConfig(
        out=out,
        gateway=always_placeholders,
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    records = itertools.islice(read_records(LEADS), 5)
    anyio.run(run_pipeline, config, records)
    RunSettings().save(out)
    store = ReviewStore(out / "journal.sqlite")
    item = next(i for i in store.items(status="open") if i.stage == "writing")
    store.close()
    assert item.request.last_output is not None
    code, _, err = invoke(capsys, "review", "approve", str(item.id), "--out", str(out))
    assert code == 1 and "draft.placeholder" in err and "--override" in err
    code, _, err = invoke(
        capsys, "review", "approve", str(item.id), "--out", str(out), "--override"
    )
    assert (code, err.strip()) == (
        1,
        "error: --override needs a --note saying why the draft is approved",
    )
    argv = ["review", "approve", str(item.id), "--out", str(out), "--override"]
    code, text, _ = invoke(capsys, *argv, "--note", "placeholder is fine", "--reviewer", "ana")
    assert code == 0
    assert f"record {item.record} is now completed" in text
    store = ReviewStore(out / "journal.sqlite")
    audit = store.audit(item.id)
    store.close()
    assert ("approved with override", "placeholder is fine", "ana") in [a[1:] for a in audit]
    crm = SqliteCrm(out / "crm.sqlite")
    row = next(r for r in crm.rows() if r["record"] == item.record)
    crm.close()
    assert row["draft_body"] == item.request.last_output.body  # type: ignore[union-attr]


def test_review_decline_ends_the_lead_declined_with_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, inbox_run: Path
) -> None:
    """Declining an inbox item ends its lead declined with the reviewer's reason, with no
    dead letter; review reject still works, saying it is now decline."""
    out, item = copy_with_open_review(inbox_run, tmp_path)
    code, _, _ = invoke(
        capsys, "review", "decline", str(item.id), "--out", str(out), "--reason", "wrong company"
    )
    assert code == 0
    code, report, _ = invoke(capsys, "report", "--out", str(out), "--json")
    row = next(
        json.loads(line)
        for line in report.splitlines()
        if json.loads(line)["record"] == item.record
    )
    assert (row["outcome"], row["reason"]) == ("declined", "Declined by a reviewer: wrong company")
    code, letters, _ = invoke(capsys, "ops", "list", "--out", str(out), "--json", "--all")
    assert not any(json.loads(line)["record"] == item.record for line in letters.splitlines())
    code, _, err = invoke(
        capsys, "review", "reject", str(item.id), "--out", str(out), "--reason", "again"
    )
    assert code == 1 and err.splitlines()[0] == "note: review reject is now review decline"


def test_review_show_gives_lead_rules_and_outputs(
    capsys: pytest.CaptureFixture[str], inbox_run: Path
) -> None:
    """review show prints the card: the lead, why in plain words, and each rule's id."""
    store = ReviewStore(inbox_run / "journal.sqlite")
    item = store.items()[0]
    store.close()
    code, out, _ = invoke(capsys, "review", "show", str(item.id), "--out", str(inbox_run))
    assert code == 0
    assert f"record {item.record}" in out and item.request.lead.email in out
    assert f"Why it is here: {item.why}" in out
    assert item.draft is not None
    assert all(f"    {v.rule}: " in out for v in item.request.violations + item.draft.doubts)


def test_review_show_prints_the_draft_and_json_its_raw_reply(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A draft's item shows the draft as an email; --json carries the model's raw reply."""
    out = tmp_path / "run"
    config = PipelineConfig(
        out=out,
        gateway=ChaosLlm(OfflineLlm(seed=1), rate=1.0, seed=1, faults=[Fault.PLACEHOLDER]),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    anyio.run(run_pipeline, config, itertools.islice(read_records(LEADS), 5))
    store = ReviewStore(out / "journal.sqlite")
    item = next(i for i in store.items(status="open") if i.stage == "writing")
    store.close()
    draft = item.request.last_output
    assert isinstance(draft, OutreachDraft) and draft.raw_reply, item.request
    code, shown, _ = invoke(capsys, "review", "show", str(item.id), "--out", str(out))
    assert code == 0
    assert f"Subject: {draft.subject}" in shown
    assert "The email still contains the placeholder" in shown
    code, shown, _ = invoke(capsys, "review", "show", str(item.id), "--out", str(out), "--json")
    assert json.loads(shown)["request"]["last_output"]["raw_reply"] == draft.raw_reply


def test_dead_letters_replay_runs_the_lead_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, finished_run: Path
) -> None:
    """Replaying every open dead letter (as ops retry does) runs each lead again and marks
    the letter retried."""
    out = shutil.copytree(finished_run, tmp_path / "copy")
    code, listed, _ = invoke(capsys, "dead-letters", "list", "--out", str(out), "--json")
    letters = [json.loads(line) for line in listed.splitlines()]
    assert code == 0 and letters, "the chaotic run left no dead letter to replay"
    code, text, _ = invoke(capsys, "dead-letters", "replay", "--out", str(out))
    assert code == 0
    assert text.count("retried Operations item") == len(letters)
    code, listed, _ = invoke(capsys, "dead-letters", "list", "--out", str(out), "--json")
    ids = {letter["id"] for letter in letters}
    assert not [line for line in listed.splitlines() if json.loads(line)["id"] in ids]
    ledger = LedgerStore(out / "journal.sqlite")
    assert all(r.outcome != "pending" for r in ledger.report()) and ledger.conflicts() == 0
    ledger.close()


def test_contracts_writes_one_schema_per_message_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """contracts --dir writes a JSON Schema file for every registered message kind."""
    code, _, _ = invoke(capsys, "contracts", "--dir", str(tmp_path))
    assert code == 0
    from messages import registry

    written = {p.name for p in tmp_path.glob("*.schema.json")}
    assert written == {f"{t.kind_name()}.schema.json" for t in registry}
    schema = json.loads((tmp_path / "lead_score.schema.json").read_text())
    assert schema["x-probabilistic"] is True and "score" in schema["properties"]


def test_failures_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    """failures --json prints one row per failure kind, with its path and retry parameters."""
    from messages import FailureKind

    code, out, _ = invoke(capsys, "failures", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [row["failure"] for row in rows] == [kind.value for kind in FailureKind]
    assert {"detected_by", "path", "attempts", "backoff", "ends_as", "waits_in"} <= set(rows[0])
    waits = {row["failure"]: row["waits_in"] for row in rows}
    assert waits["llm_timeout"] == waits["schema_mismatch"] == "operations"
    assert waits["rule_violation"] == waits["no_evidence"] == "inbox"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "missing.csv"], "error: missing.csv: no such file; check the path"),
        (["run", "{leads}", "--concurrency", "0"], "error: Invalid value for '--concurrency'"),
        (["run", "{leads}", "--llm", "gpt"], "error: Invalid value for '--llm'"),
        (
            ["run", "{bad_columns}"],
            "error: {bad_columns}: the header has no email column, nor a name and a company column",
        ),
        (["run", "{garbage}"], "error: {garbage}: not a CSV or JSONL text file"),
        (["run", "{leads}", "--icp", "nope.toml"], "error: nope.toml: cannot read the ICP file"),
        (["report", "--out", "{empty}"], "error: {empty}: no run here (no journal.sqlite)"),
        (
            ["review", "approve", "9", "--out", "{empty}"],
            "error: {empty}: no run here (no journal.sqlite)",
        ),
        (["frobnicate"], "error: No such command 'frobnicate'"),
    ],
)
def test_operator_errors_are_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    """Bad files and bad options exit 1 with one line that names the problem, never a traceback."""
    names = {
        "leads": str(first_rows(tmp_path, 3)),
        "bad_columns": str(tmp_path / "cols.csv"),
        "garbage": str(tmp_path / "junk.csv"),
        "empty": str(tmp_path / "nothing"),
    }
    (tmp_path / "cols.csv").write_text("name,mail\nann,a@b.co\n")
    (tmp_path / "junk.csv").write_bytes(b"id,email\n\x00\x01\x02\xff\xfe")
    code, out, err = invoke(capsys, *[a.format(**names) for a in argv])
    assert code == 1
    assert err.startswith(message.format(**names)), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_binary_data_deep_in_the_input_is_one_line_too(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    where: str,
) -> None:
    """Binary data found only once the run is reading (past the reader's first chunk) ends
    it with the same one line as binary data up front, from a file or a pipe alike."""
    header = "first_name,email,company,employees\n" if where == "file" else ""
    line = "Ana,a@b.co,B,3\n" if where == "file" else '{"first_name": "Ana"}\n'
    lines = CHUNK_SIZE // len(line) + 1  # the binary data starts in the second chunk
    data = (header + line * lines).encode() + b"\x00\x01\xff\n"
    assert len(data) - 4 > CHUNK_SIZE
    leads = tmp_path / "leads.csv"
    leads.write_bytes(data)
    if where == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    source = str(leads) if where == "file" else "-"
    code, _, err = invoke(capsys, "run", source, "--out", str(tmp_path / "o"))
    assert code == 1, err
    last = err.strip().splitlines()[-1]  # after the progress lines of what was read
    assert last.startswith(f"error: {source if where == 'file' else 'stdin'}: not a "), err
    assert "Traceback" not in err


def test_bad_record_never_stops_the_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A JSONL file with one broken line still runs; that record alone is rejected."""
    leads = tmp_path / "leads.jsonl"
    good = {
        "first_name": "Ana", "last_name": "Ruiz", "email": "ana@ember-labs.ai",
        "company": "Ember Labs", "domain": "ember-labs.ai", "industry": "Software",
        "employees": 300, "country": "US", "title": "CTO", "notes": "",
    }  # fmt: skip
    leads.write_text(json.dumps(good) + "\n{not json\n")
    code, out, _ = invoke(capsys, "run", str(leads), "--out", str(tmp_path / "o"), "--json")
    assert code == 0
    assert json.loads(out)["outcomes"]["rejected"] == 1


@pytest.mark.slow
def test_bare_command_runs_the_samples(tmp_path: Path) -> None:
    """`python run.py` alone runs the sample leads offline into runs/latest and exits 0."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(ROOT / "run.py")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout and "Details: run.py report" in result.stdout
    assert (tmp_path / "runs" / "latest" / "crm.sqlite").is_file()


@pytest.mark.slow
def test_a_bad_option_exits_1_in_a_real_process(tmp_path: Path) -> None:
    """A real process given a bad option value exits 1 with one line and no traceback."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(LEADS), "--chaos", "2"]
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: Invalid value for '--chaos'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_summary_says_where_to_look_next(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """After a run with leads in Operations and warnings, the summary names the commands to
    run next, the tokens spent, and how many warnings the event log holds."""
    out = tmp_path / "run"
    code, text, _ = invoke(
        capsys, "run", str(first_rows(tmp_path, 3)), "--out", str(out), "--chaos", "1.0"
    )
    assert code == 0
    assert (
        f"are in Operations (machine failures, retried on a schedule): run.py ops list --out {out}"
        in text
    )
    assert "tokens: " in text
    assert f"warnings, 0 errors: see {out}/events.jsonl" in text
