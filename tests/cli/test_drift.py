"""Drift from the command line: a baseline on run, and the drift command and its report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import run as cli
from tests.support.paths import EXAMPLES

LEADS = EXAMPLES / "leads.csv"


def shifted_leads(tmp_path: Path) -> Path:
    """Only the sample leads outside the two most common industries: a shifted industry mix."""
    with LEADS.open(newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    kept = [r for r in rows if r["industry"] not in ("Software", "Fintech")]
    path = tmp_path / "shifted.csv"
    with path.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A baseline run of the samples, and a run of a shifted mix checked against it."""
    root = tmp_path_factory.mktemp("drift")
    baseline, current = root / "baseline", root / "current"
    assert cli.main(["run", str(LEADS), "--out", str(baseline), "--json"]) == 0
    shifted = shifted_leads(root)
    argv = ["run", str(shifted), "--out", str(current), "--baseline", str(baseline), "--json"]
    assert cli.main(argv) == 0
    return baseline, current


def test_run_with_a_baseline_records_the_drift(runs: tuple[Path, Path]) -> None:
    """A run given a baseline saves its profile and names the drifted columns in summary.json."""
    _, current = runs
    summary = json.loads((current / "summary.json").read_text())
    assert (current / "profile.json").is_file()
    assert "industry" in summary["drifted"]


def test_drift_json_follows_the_contract(
    capsys: pytest.CaptureFixture[str], runs: tuple[Path, Path]
) -> None:
    """drift --json prints the contract's object, with the shifted industry flagged."""
    baseline, current = runs
    capsys.readouterr()
    code = cli.main(["drift", "--baseline", str(baseline), "--current", str(current), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(result) == {"drift", "columns"}
    columns = {c["name"]: c for c in result["columns"]}
    assert {"name", "kind", "test", "statistic", "p_value", "drift"} <= set(columns["industry"])
    assert columns["industry"]["drift"] is True and columns["industry"]["kind"] == "input"
    assert columns["employees"]["test"] == "ks"


def test_drift_report_has_a_plot_per_drifted_column(
    capsys: pytest.CaptureFixture[str], runs: tuple[Path, Path], tmp_path: Path
) -> None:
    """--report writes a markdown report and one PNG for each drifted column."""
    baseline, current = runs
    argv = [
        "drift",
        "--baseline",
        str(baseline),
        "--current",
        str(current),
        "--report",
        str(tmp_path),
    ]
    assert cli.main(argv) == 0
    assert "report:" in capsys.readouterr().out
    report = (tmp_path / "drift_report.md").read_text()
    assert "industry" in report
    assert (tmp_path / "drift_industry.png").read_bytes().startswith(b"\x89PNG")


def test_a_missing_baseline_is_an_operator_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A baseline path that does not exist is one line and exit code 1."""
    code = cli.main(["drift", "--baseline", str(tmp_path / "x"), "--current", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: Baseline") and len(err.strip().splitlines()) == 1


def test_drift_wording_agrees_with_the_drifted_columns(
    capsys: pytest.CaptureFixture[str], runs: tuple[Path, Path]
) -> None:
    """The verdict line names every column the table marks DRIFT, never "no drift" alone."""
    baseline, current = runs
    capsys.readouterr()
    assert cli.main(["drift", "--baseline", str(baseline), "--current", str(current)]) == 0
    verdict = capsys.readouterr().out.strip().splitlines()[-1]
    assert verdict.startswith("drift in ") and "industry" in verdict


@pytest.mark.parametrize(("against", "code"), [("baseline", 0), ("current", 3)])
def test_fail_on_drift_exits_3_only_when_a_column_drifted(
    capsys: pytest.CaptureFixture[str], runs: tuple[Path, Path], against: str, code: int
) -> None:
    """--fail-on-drift exits 3 when a column drifted, and 0 for a run against itself."""
    baseline, current = runs
    checked = baseline if against == "baseline" else current
    argv = ["drift", "--baseline", str(baseline), "--current", str(checked), "--fail-on-drift"]
    assert cli.main([*argv, "--json"]) == code
    assert cli.main(argv) == code
    assert "no drift: none of" in capsys.readouterr().out or code == 3
