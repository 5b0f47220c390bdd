"""Golden sets: leads with what a person expects, run with ``evaluate --golden`` and
reported expected against got, as a test suite a CI job can gate on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import run as cli
from supervision.evaluation import load_golden

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "evals" / "samples.jsonl"
UNKNOWN = {
    "id": "G1", "first_name": "Mara", "last_name": "Quist", "email": "mara@quist-robotics.io",
    "title": "VP Engineering", "company": "Quist Robotics", "domain": "quist-robotics.io",
    "industry": "Software", "employees": 800, "country": "US",
}  # fmt: skip
"""A lead of a company the sample knowledge base does not know."""


def golden(
    capsys: pytest.CaptureFixture[str], path: Path, out: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code = cli.main(["evaluate", "--golden", str(path), "--out", str(out), "--json", *extra])
    captured = capsys.readouterr()
    assert code in (0, 3), captured.err
    return code, json.loads(captured.out)


def write(tmp_path: Path, *lines: dict[str, Any] | str) -> Path:
    path = tmp_path / "golden.jsonl"
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_the_sample_golden_set_passes_offline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Every expectation of the shipped golden set holds for the offline model: exit 0."""
    code, result = golden(capsys, SAMPLES, tmp_path / "e", "--fail-if", "golden_pass_rate < 1")
    assert code == 0
    assert result["kind"] == "golden" and result["leads"] == len(load_golden(SAMPLES))
    assert result["summary"].startswith(f"golden: {result['leads']} of {result['leads']} leads")
    assert all(c["passed"] for lead in result["lead_results"] for c in lead["checks"])
    assert result["metrics"]["golden:fit"] == 1.0 and result["kappa"] == 1.0
    assert "baseline" not in result["usage"]


def test_an_unmet_expectation_is_reported_and_gates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A wrong fit, a phrase the draft lacks and one it must never say: each check fails
    with what was expected and what was got, and the gate exits 3."""
    expect = {
        "fit": "low", "must_mention": ["blockchain"], "never_say": ["Hi"],
        "must_not_mention": ["Series B"],
    }  # fmt: skip
    lead = json.loads(SAMPLES.read_text().splitlines()[2])["lead"]  # L0001: a high fit
    path = write(tmp_path, {"lead": lead, "expect": expect})
    code, result = golden(capsys, path, tmp_path / "e", "--fail-if", "golden:fit < 1")
    assert code == 3
    checks = {c["name"]: c for c in result["lead_results"][0]["checks"]}
    assert checks["fit"] == {"name": "fit", "passed": False, "detail": "expected low, got high"}
    assert checks["must_mention"]["detail"] == 'does not mention "blockchain"'
    assert checks["never_say"] == {"name": "never_say", "passed": False, "detail": 'says "Hi"'}
    assert checks["must_not_mention"]["passed"] is True
    assert result["summary"].startswith("golden: 0 of 1 leads as expected; fit 0/1")
    assert result["metrics"]["golden_pass_rate"] == 0.0


def test_a_line_with_its_own_evidence_is_researched_from_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A company the knowledge base lacks waits for review; given evidence, it completes,
    and its draft quotes that evidence."""
    fact = "Quist Robotics builds warehouse robots and runs 40 data pipelines."
    path = write(
        tmp_path,
        {"lead": UNKNOWN, "expect": {"outcome": "needs_review"}},
        {"lead": UNKNOWN | {"id": "G2", "email": "g2@quist-robotics.io"}, "evidence": [fact],
         "expect": {"outcome": "completed", "must_mention": ["Quist Robotics"]}},
    )  # fmt: skip
    code, result = golden(capsys, path, tmp_path / "e", "--fail-if", "golden_pass_rate < 1")
    assert code == 0, result["lead_results"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["{nope"], "golden.jsonl:1: not JSON"),
        (["# only a comment", ""], "golden.jsonl: no leads; a golden set has one JSON object"),
        ([{"lead": UNKNOWN, "colour": 1}], "golden.jsonl:1: colour: Extra inputs are not"),
        ([{"lead": UNKNOWN, "expect": {"fit": "huge"}}], "golden.jsonl:1: expect.fit 'huge' is"),
        ([{"lead": UNKNOWN, "expect": {"outcome": "won"}}], "golden.jsonl:1: expect.outcome"),
        (
            [{"lead": UNKNOWN}, {"lead": UNKNOWN}],
            "golden.jsonl:2: lead G1 is in the golden set twice",
        ),
    ],
)
def test_a_bad_golden_set_is_one_line_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lines: list[Any], message: str
) -> None:
    """Exit 1 and one line that names the file, the line and what is wrong."""
    path = write(tmp_path, *lines)
    code = cli.main(["evaluate", "--golden", str(path), "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: {tmp_path / message}"), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e").exists()
