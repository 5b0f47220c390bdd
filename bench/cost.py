"""What a completed lead costs in LLM calls and tokens: research once per company, before
and after, through an OpenAI-compatible server.

Run by hand from the repository root, never by pytest::

    PYTHONPATH=. python bench/cost.py
    PYTHONPATH=. python bench/cost.py --contacts 5 --contacts 1 --baseline-rev main

For each lead file it runs ``run.py run --llm openai --model gpt-4o-mini`` twice, as real
processes, against ``FakeOpenAI`` answering like a flawless model (``OfflineModel``):
"before" with ``--research-ttl 0`` (every lead is researched, as before research was
reused) and "after" with the defaults. The files are account-based: every company of the
sample knowledge base (``examples/companies.json``, 57 companies) with ``--contacts``
contacts each, made from its row in ``examples/leads.csv`` with other names, titles and
emails. The calls and tokens are what the server saw (its usage, cached tokens apart);
"per completed lead" divides them by the leads completed. The outcomes of the two runs
are compared lead by lead; a difference is printed and fails the goal.

``--baseline-rev REV`` also runs the same file through the code of a git revision
(unpacked with ``git archive`` into the scratch folder, with its own prompts and no
reuse), as "today".

Goal: at 5 contacts per company, after ≤ 50% of before's tokens per completed lead; at 1
contact per company, no more than before. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actors.llm.testing import FakeOpenAI, OfflineModel  # noqa: E402

FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon"]
LAST = ["Moreau", "Okafor", "Lindqvist", "Tanaka", "Alvarez", "Novak", "Byrne", "Rossi"]
TITLES = [
    "VP of Engineering",
    "Head of Data",
    "Senior Analytics Engineer",
    "Director of Operations",
    "Chief Technology Officer",
    "Data Platform Manager",
    "Staff Engineer",
]
MODEL = "gpt-4o-mini"


@dataclass(frozen=True, slots=True)
class Measure:
    """One run: what the server saw, and what came of the leads."""

    leads: int
    completed: int
    calls: int
    """Chat completions the server answered (the preflight's aside)."""
    research_calls: int
    tokens: int
    """Prompt and completion tokens, as the server reported them."""
    tokens_by_stage: dict[str, int]
    cached_tokens: int
    cost_usd: float | None
    seconds: float

    def per_completed(self, value: float) -> float:
        return value / self.completed if self.completed else float("nan")


def lead_file(path: Path, contacts: int) -> Path:
    """Every knowledge-base company of the samples with ``contacts`` contacts each."""
    companies = json.loads((ROOT / "examples" / "companies.json").read_text(encoding="utf-8"))
    with (ROOT / "examples" / "leads.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    templates: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["domain"] in companies and row["email"]:
            templates.setdefault(row["domain"], row)
    header = list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        number = 0
        for domain, row in sorted(templates.items()):
            for contact in range(contacts):
                number += 1
                first = FIRST[(number + contact) % len(FIRST)]
                last = LAST[(number * 3 + contact) % len(LAST)]
                writer.writerow(
                    row
                    | {
                        "id": f"B{number:04d}",
                        "first_name": first,
                        "last_name": last,
                        "email": f"{first.lower()}.{last.lower()}{number}@{domain}",
                        "title": TITLES[(number + 2 * contact) % len(TITLES)],
                        "notes": "",
                    }
                )
    return path


def run(code: Path, leads: Path, out: Path, server: FakeOpenAI, *extra: str) -> dict[str, Any]:
    env = os.environ | {
        "PYTHONPATH": str(code),
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": server.url,
    }
    argv = [sys.executable, str(code / "run.py"), "run", str(leads), "--out", str(out)]
    argv += ["--llm", "openai", "--model", MODEL, "--concurrency", "16", "--json", *extra]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"run failed: {done.stderr.strip()[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def outcomes(code: Path, out: Path) -> dict[str, str]:
    env = os.environ | {"PYTHONPATH": str(code)}
    argv = [sys.executable, str(code / "run.py"), "report", "--out", str(out), "--json"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return {row["lead_id"]: row["outcome"] for row in map(json.loads, done.stdout.splitlines())}


def measure(code: Path, leads: Path, out: Path, *extra: str) -> tuple[Measure, dict[str, str]]:
    with FakeOpenAI(OfflineModel()) as server:
        started = time.perf_counter()
        summary = run(code, leads, out, server, *extra)
        seconds = time.perf_counter() - started
        requests = [r for r in server.requests if "<data>" in json.dumps(r.body)]
        cached = server.cached_tokens
    research = sum(
        1
        for r in requests
        if r.body.get("response_format", {}).get("json_schema", {}).get("name") == "research_reply"
    )
    # summary.json has the tokens by stage in every version; --json has the cost in this one.
    written = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    by_stage = {str(k): int(v) for k, v in written["tokens_by_stage"].items()}
    result = Measure(
        leads=summary["leads"],
        completed=summary["outcomes"]["completed"],
        calls=len(requests),
        research_calls=research,
        tokens=sum(by_stage.values()),
        tokens_by_stage=by_stage,
        cached_tokens=cached,
        cost_usd=summary.get("cost", {}).get("cost_usd", _priced(written)),
        seconds=seconds,
    )
    return result, outcomes(code, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, action="append", help="contacts per company")
    parser.add_argument("--baseline-rev", help="also run this git revision, as today")
    arguments = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="leadwright-cost-") as scratch:
        base = Path(scratch)
        today = _checkout(base, arguments.baseline_rev) if arguments.baseline_rev else None
        for contacts in arguments.contacts or [5, 1]:
            leads = lead_file(base / f"leads-{contacts}.csv", contacts)
            before, before_outcomes = measure(
                ROOT, leads, base / f"before-{contacts}", "--research-ttl", "0"
            )
            after, after_outcomes = measure(ROOT, leads, base / f"after-{contacts}")
            differ = sorted(
                lead
                for lead in before_outcomes
                if before_outcomes[lead] != after_outcomes.get(lead)
            )
            entry: dict[str, Any] = {
                "leads": before.leads,
                "before": _figures(before),
                "after": _figures(after),
                "tokens_ratio": round(
                    after.per_completed(after.tokens) / before.per_completed(before.tokens), 3
                ),
                "outcomes_differ": differ,
            }
            if today is not None:
                now, now_outcomes = measure(today, leads, base / f"today-{contacts}")
                entry["today"] = _figures(now)
                entry["tokens_ratio_to_today"] = round(
                    after.per_completed(after.tokens) / now.per_completed(now.tokens), 3
                )
                entry["outcomes_differ_from_today"] = sorted(
                    lead for lead in now_outcomes if now_outcomes[lead] != after_outcomes.get(lead)
                )
            # The goal is against today's code where it was run, else against "before".
            goal = 0.5 if contacts >= 5 else 1.0
            against = "tokens_ratio_to_today" if today is not None else "tokens_ratio"
            entry["goal"] = f"{against} <= {goal}, outcomes identical"
            same = not differ and not entry.get("outcomes_differ_from_today")
            entry["goal_met"] = entry[against] <= goal and entry["tokens_ratio"] <= 1.0 and same
            report[f"{contacts}_per_company"] = entry
            _print(contacts, entry)
    print(json.dumps(report))


def _priced(written: Mapping[str, Any]) -> float | None:
    """The cost an earlier version wrote in summary.json (without cached rates)."""
    costs = written.get("cost_usd_by_stage") or {}
    return round(sum(costs.values()), 6) if costs else None


def _figures(m: Measure) -> dict[str, Any]:
    return {
        **asdict(m),
        "tokens": m.tokens,
        "calls_per_completed_lead": round(m.per_completed(m.calls), 3),
        "research_calls_per_completed_lead": round(m.per_completed(m.research_calls), 3),
        "tokens_per_completed_lead": round(m.per_completed(m.tokens), 1),
        "seconds": round(m.seconds, 1),
    }


def _print(contacts: int, entry: Mapping[str, Any]) -> None:
    print(f"{contacts} contact(s) per company, {entry['leads']} leads:")
    for name in ("today", "before", "after"):
        if name not in entry:
            continue
        f = entry[name]
        print(
            f"  {name:6}  completed {f['completed']:4}"
            f"  calls/lead {f['calls_per_completed_lead']:6.3f}"
            f"  research/lead {f['research_calls_per_completed_lead']:5.3f}"
            f"  tokens/lead {f['tokens_per_completed_lead']:8,.1f}  cached {f['cached_tokens']:9,}"
        )
    print(
        f"  after/before tokens per completed lead: {entry['tokens_ratio']}; "
        f"outcomes that differ: {len(entry['outcomes_differ'])}"
    )
    if "today" in entry:
        print(
            f"  after/today tokens per completed lead: {entry['tokens_ratio_to_today']}; "
            f"outcomes that differ: {len(entry['outcomes_differ_from_today'])}"
        )
    print(f"  goal {entry['goal']}: {'met' if entry['goal_met'] else 'NOT met'}")


def _checkout(base: Path, rev: str) -> Path:
    """The files of ``rev``, unpacked in a scratch folder (``git archive``): the
    repository and its worktrees are left as they are."""
    path = base / "today"
    path.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(path)], input=archive.stdout, check=True)
    return path


if __name__ == "__main__":
    main()
