"""A new user's first run, as a real process: ``init``, then their own CRM export, researched
on the web.

Forty leads at twelve companies, in a HubSpot contacts export, none of them in any
knowledge base; each company's site is served on 127.0.0.1 by its own server. The run
reads each site once, and the offline model finishes most leads without a person.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.sites import Site, company_site

COMPANIES = [
    # name, domain, sector (for the site), industry, size range, country
    ("Brightwave Logistics", "brightwave.test", "freight", "Logistics", "201-500", "Netherlands"),
    ("Copperleaf Finance", "copperleaf.test", "payments", "Fintech", "1,001-5,000", "UK"),
    ("Driftwood Retail", "driftwood-retail.test", "retail", "Retail", "501-1,000", "Germany"),
    ("Elmstead Health", "elmstead-health.test", "clinic", "Healthcare", "51-200", "Ireland"),
    ("Foxglove Software", "foxglove.test", "analytics", "Software", "201-500", "United States"),
    ("Granite Works", "granite-works.test", "factory", "Manufacturing", "1,001-5,000", "Sweden"),
    ("Harrow Pay", "harrowpay.test", "payments", "Fintech", "51-200", "Canada"),
    ("Ivy Learning", "ivy-learning.test", "learning", "Education", "11-50", "France"),
    ("Juniper Cloud", "juniper-cloud.test", "cloud", "Software", "5,001-10,000", "United States"),
    ("Kite Freight", "kite-freight.test", "shipping", "Logistics", "1,001-5,000", "Germany"),
    ("Lumen Goods", "lumen-goods.test", "commerce", "Retail", "201-500", "United Kingdom"),
    ("Marlow Media", "marlow-media.test", "publishing", "Media", "51-200", "Spain"),
]
PEOPLE = [
    ("Ana", "Ruiz", "VP of Operations"), ("Ben", "Okafor", "Head of Data"),
    ("Chloé", "Martin", "Data Engineer"), ("Dev", "Patel", "Chief Technology Officer"),
    ("Eva", "Lindqvist", "Director of Analytics"), ("Finn", "Murphy", "Analytics Manager"),
    ("Grace", "Chen", "Senior Data Scientist"), ("Hugo", "Weber", "BI Developer"),
    ("Iris", "Novak", "Head of Platform"), ("Jonas", "Berg", "Data Analyst"),
]  # fmt: skip
HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Job Title", "Company Name",
    "Website URL", "Industry", "Number of Employees", "Country/Region", "Lead Status",
    "Contact owner", "Create Date",
]  # fmt: skip


def write_export(path: Path, sites: list[Site]) -> None:
    """Forty contacts, three or four per company, as HubSpot exports them."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for number in range(40):
            company, domain, _, industry, size, country = COMPANIES[number % 12]
            first, last, title = PEOPLE[number % 10]
            email = f"{first.lower().replace('é', 'e')}.{last.lower()}{number}@{domain}"
            writer.writerow([
                1000 + number, first, last, email, title, company, sites[number % 12].url,
                industry, size, country, "Open", "Kim Lee", "2025-03-01",
            ])  # fmt: skip


def leadwright(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_init_then_a_hubspot_export_researched_on_the_web(tmp_path: Path) -> None:
    """``init``, then ``run --sources web --allow-private-sources`` on a HubSpot export of
    40 leads at 12 companies none of which any knowledge base knows: the mapping is said
    once, each company's site is read once, and 80% or more of the leads are completed
    or disqualified by the offline model with no person involved."""
    workspace = tmp_path / "ws"
    assert leadwright("init", str(workspace), cwd=tmp_path).returncode == 0
    with ExitStack() as stack:
        sites = [
            stack.enter_context(Site(company_site(name, sector, "Utrecht")))
            for name, _, sector, *_ in COMPANIES
        ]
        write_export(workspace / "export.csv", sites)

        done = leadwright(
            "run", "export.csv", "--out", "runs/first", "--sources", "web",
            "--allow-private-sources", "--json", cwd=workspace,
        )  # fmt: skip

        assert done.returncode == 0, done.stderr
        assert (
            "mapped 10 columns; ignored 3: Lead Status, Contact owner, Create Date" in done.stderr
        )
        for site in sites:
            assert site.paths().count("/") == 1, site.paths()
            assert site.paths().count("/robots.txt") == 1, site.paths()
            assert set(site.paths()) == {"/robots.txt", "/", "/about", "/customers", "/news/"}
    summary = json.loads(done.stdout)
    outcomes = Counter({k: v for k, v in summary["outcomes"].items() if v})
    assert summary["leads"] == 40
    assert outcomes["completed"] + outcomes["disqualified"] >= 32, outcomes
    report = leadwright("report", "--out", "runs/first", "--json", cwd=workspace)
    lines = [json.loads(line) for line in report.stdout.splitlines()]
    assert [line["lead_id"] for line in lines] == [str(1000 + n) for n in range(40)]
    assert len(list((workspace / "runs/first/web").glob("*.json"))) == 12


@pytest.mark.slow
def test_the_same_export_with_no_sources_brings_every_lead_to_the_inbox_with_a_draft(
    tmp_path: Path,
) -> None:
    """With no source that knows the companies (the workspace's knowledge base does not),
    research makes no LLM call and retries nothing, and every lead reaches the inbox as a
    decision on a draft written from its own row."""
    workspace = tmp_path / "ws"
    assert leadwright("init", str(workspace), cwd=tmp_path).returncode == 0
    with ExitStack() as stack:
        sites = [
            stack.enter_context(Site(company_site(name, sector, "Utrecht")))
            for name, _, sector, *_ in COMPANIES
        ]
        write_export(workspace / "export.csv", sites)
        done = leadwright("run", "export.csv", "--out", "runs/first", "--json", cwd=workspace)
        assert done.returncode == 0, done.stderr
        assert all(site.paths() == [] for site in sites)  # no web source: nothing fetched
    summary = json.loads(done.stdout)
    assert summary["outcomes"]["needs_review"] == summary["leads"] == 40
    research = summary["cost"]["by_stage"].get("research", {"calls": 0})
    assert research["calls"] == 0
    listed = leadwright("review", "list", "--out", "runs/first", "--json", cwd=workspace)
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(items) == 40
    assert all(item["subject"] and item["failure"] == "no_evidence" for item in items)
    assert all(item["why"].startswith("No evidence about ") for item in items)
