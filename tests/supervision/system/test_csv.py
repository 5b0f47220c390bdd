"""Every CSV Leadwright writes keeps lead text inert in a spreadsheet: ``export``,
``export --csv``, ``report --csv`` and the console's ``/crm.csv`` share one writer, which
neutralises formula cells."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

import run as cli
from actors import Icp, KnowledgeBase
from actors.llm import OfflineLlm
from console import create_app
from supervision.system import Gate, PipelineConfig, csv_table, open_system, safe_cell
from tests.support.paths import EXAMPLES

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "-2+3",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_formula_cell_gets_a_leading_apostrophe(formula: str) -> None:
    """Text that a spreadsheet would run starts with ``'``, so it shows as text."""
    assert safe_cell(formula) == "'" + formula


@pytest.mark.parametrize("value", ["Bennett", "O'Neil", "a=b", "", 761, -5, 0.5, None])
def test_other_cells_are_written_as_they_are(value: object) -> None:
    """Plain text and numbers (a negative number is no formula) are unchanged."""
    assert safe_cell(value) == value


def test_the_writer_counts_rows_not_lines() -> None:
    """A cell holding line breaks is one row: the count is what a reader reads back."""
    table = csv_table(["id", "body"], [["a", "Hi,\n\nline\nline"], ["b", "=1"]])

    assert table.rows == 2
    assert list(csv.reader(io.StringIO(table.text))) == [
        ["id", "body"],
        ["a", "Hi,\n\nline\nline"],
        ["b", "'=1"],
    ]


def hostile_leads(tmp_path: Path) -> Path:
    """Two sample leads whose last name, title and id are formulas."""
    with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:2]
    rows[0] |= {"last_name": FORMULAS[0], "title": "@SUM(1+1)", "id": "+cmd|' /C calc'!A0"}
    rows[1] |= {"last_name": "-2+3"}
    path = tmp_path / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_export_and_report_neutralise_formulas_from_lead_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Leads whose fields are formulas complete; ``export`` (stdout and ``--csv``) and
    ``report --csv`` write every such cell with a leading apostrophe, and ``export --csv``
    says how many rows it wrote (not how many lines)."""
    out = tmp_path / "run"
    assert cli.main(["run", str(hostile_leads(tmp_path)), "--out", str(out), "--json"]) == 0
    capsys.readouterr()

    assert cli.main(["export", "--out", str(out)]) == 0
    exported = cells(capsys.readouterr().out)
    assert "'" + FORMULAS[0] in exported and "'-2+3" in exported
    assert "'+cmd|' /C calc'!A0" in exported
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in exported)

    target = tmp_path / "crm.csv"
    assert cli.main(["export", "--out", str(out), "--csv", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote 2 rows to {target}\n"
    assert cells(target.read_text(encoding="utf-8")) == exported

    assert cli.main(["report", "--out", str(out), "--csv"]) == 0
    reported = cells(capsys.readouterr().out)
    assert "'+cmd|' /C calc'!A0" in reported
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in reported)


@pytest.mark.anyio
async def test_the_consoles_crm_csv_neutralises_formulas(tmp_path: Path) -> None:
    """``/crm.csv`` is the same writer: a formula last name starts with an apostrophe."""
    config = PipelineConfig(
        out=tmp_path,
        gateway=OfflineLlm(seed=0, imperfection_rate=0.0),
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
    )
    with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
        row = next(csv.DictReader(f)) | {"last_name": FORMULAS[0]}
    async with open_system(config) as system:
        await system.submit(await system.open_input("test"), [(1, row)])
        await system.wait_finished()
        transport = httpx.ASGITransport(app=create_app(system, Gate(), "csv-token-0123456789"))
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            form = await client.get("/signin")
            csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            data = {"csrf": csrf, "token": "csv-token-0123456789", "reviewer": "Ada"}
            assert (await client.post("/signin", data=data)).status_code == 303
            text = (await client.get("/crm.csv")).text
    assert "'" + FORMULAS[0] in cells(text)
