"""A scripted model and a seeded server for the console's browser tests.

The model answers like the offline engine, except for leads whose id asks for a flaw:
``R-`` leads get research without claims (in the inbox with a draft that claims nothing),
``E-`` leads a draft that invents "3,605 hours" (in the inbox for that rule), and ``D-``
leads a reply that is not JSON (in Operations) until the test heals them. A lead whose id holds
``SECRET`` gets research whose summary echoes the server's API key (``SECRET``). The model
keeps the last reply it sent for each lead and stage, for tests to compare with, and counts
the calls it answered per lead.

``serve`` starts ``run.py serve`` seeded with those leads; ``serve_chaos`` starts it on the
run directory of a ``--chaos`` run of the sample leads.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import anyio
import httpx
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from actors.llm import LlmRequest, OfflineLlm
from actors.llm.testing import FakeOpenAI, Response, completion
from messages import Stage
from tests.support.paths import EXAMPLES, ROOT

TOKEN = "console-test-token"
REVIEWER = "Ada Reviewer"
"""The name a test signs in under."""
SECRET = "sk-test-console"
"""The server's ``OPENAI_API_KEY``: it must never show."""
INVENTED = "Teams like yours usually save 3,605 hours of manual work a year."
GOOD_FIT = ["L0001", "L0002", "L0003", "L0004", "L0005", "L0006", "L0008", "L0009", "L0011"]
"""Example leads the offline engine completes: each becomes one test lead."""
XSS_NOTES = (
    "<script>alert('notes')</script><img src=x onerror=\"document.body.dataset.pwned='1'\">"
    "{{ 7*7 }} <b>bold</b>"
)


@final
class Model:
    """A chat-completions script: the offline engine, with flaws chosen by lead id."""

    def __init__(self) -> None:
        self.engine = OfflineLlm(seed=0, imperfection_rate=0.0)
        self.broken: set[str] = set()
        self.sent: dict[tuple[str, Stage], str] = {}
        """The last reply's text for each lead and stage."""
        self.companies: dict[str, str] = {}
        """The lead submitted last for each company's domain: research, which names the
        company alone, is taken to be that lead's."""
        self.calls: Counter[str] = Counter()
        """Calls the model answered, by lead id."""
        self._lock = threading.Lock()

    def expect(self, lead: Mapping[str, str]) -> None:
        """Note ``lead`` (a row with an id and an email) before it is submitted."""
        with self._lock:
            self.companies[lead["email"].rsplit("@", 1)[1]] = lead["id"]

    def heal(self, lead_id: str) -> None:
        with self._lock:
            self.broken.discard(lead_id)

    def __call__(self, body: Mapping[str, Any], number: int) -> Response:
        if "response_format" not in body:
            return completion("OK")  # the preflight's tiny call, before any lead
        name = body["response_format"]["json_schema"]["name"]
        stage = Stage(name.removesuffix("_reply"))
        system, user = (m["content"] for m in body["messages"])
        data = json.loads(user.split("<data>\n", 1)[1].split("\n</data>", 1)[0])
        if "lead" in data:
            lead_id = str(data["lead"]["lead_id"])
        else:
            domain = data["company"]["domain"]
            with self._lock:
                lead_id = self.companies.get(domain, domain)
        with self._lock:
            broken = lead_id in self.broken
            self.calls[lead_id] += 1
        if broken and stage is Stage.RESEARCH:
            return completion("Sorry, I cannot answer in JSON today.")
        request = LlmRequest(
            stage=stage,
            schema_name=name,
            json_schema={},
            system=system,
            prompt=user,
            inputs=data,
            trace_id=lead_id,
        )
        reply = json.loads(anyio.run(self.engine.complete, request).text)
        if lead_id.startswith("R-") and stage is Stage.RESEARCH:
            reply["claims"] = []
        if lead_id.startswith("E-") and stage is Stage.WRITING:
            paragraphs = reply["body"].split("\n\n")
            paragraphs.insert(1, INVENTED)
            reply["body"] = "\n\n".join(paragraphs)
        if "SECRET" in lead_id and stage is Stage.RESEARCH:
            reply["summary"] += f" The key is {SECRET}."
        text = json.dumps(reply)
        with self._lock:
            self.sent[lead_id, stage] = text
        return completion(text, model="gpt-4o-mini-2024-07-18")


def leads() -> list[dict[str, str]]:
    """The test's leads: R-1..R-6 and R-XSS for review, E-1 for the edit, D-1 and D-2 dead."""
    with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    names = ["R-1", "R-2", "R-3", "R-4", "R-5", "R-6", "E-1", "D-1", "D-2"]
    chosen = [rows[old] | {"id": new} for old, new in zip(GOOD_FIT, names, strict=True)]
    xss = rows["L0012"] | {"id": "R-XSS", "notes": XSS_NOTES, "title": "<i>CTO</i> {{ title }}"}
    return [*chosen, xss]


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    out: Path
    model: Model

    def cli(self, *args: str) -> str:
        """A ``run.py`` command on the run directory (beside the server), its stdout."""
        argv = [sys.executable, str(ROOT / "run.py"), *args, "--out", str(self.out)]
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def post_lead(self, example: str, lead_id: str, *, email: str | None = None) -> None:
        """Submit one example lead under a new id (and, to reuse an example another lead
        took already, a new email) through the API."""
        with (EXAMPLES / "leads.csv").open(encoding="utf-8") as f:
            [row] = [r for r in csv.DictReader(f) if r["id"] == example]
        row |= {"id": lead_id} if email is None else {"id": lead_id, "email": email}
        self.model.expect(row)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        posted = httpx.post(f"{self.url}/v1/leads", json=row, headers=headers)
        assert posted.status_code == 202, posted.text

    def settle(self, *lead_ids: str, deadline: float = 120.0) -> None:
        """Wait until none of ``lead_ids`` is pending, following the outcome events."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            _settled(client, deadline, list(lead_ids))

    def metrics(self) -> dict[str, float]:
        """``/metrics``, each sample by its name and labels (``name{label=value}``)."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        text = httpx.get(f"{self.url}/metrics", headers=headers).text
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return found

    def open_items(self) -> list[dict[str, Any]]:
        """The open review items, as ``review list --json`` prints them."""
        return [json.loads(line) for line in self.cli("review", "list", "--json").splitlines()]

    def outcomes(self) -> dict[str, str]:
        """Each lead's outcome, as ``report`` prints it."""
        lines = self.cli("report", "--json").splitlines()
        return {row["lead_id"]: row["outcome"] for row in map(json.loads, lines)}

    def crm(self) -> dict[str, dict[str, Any]]:
        """The CRM's rows by lead id, as ``export`` writes them."""
        rows = csv.DictReader(io.StringIO(self.cli("export")))
        return {row["lead_id"]: row for row in rows}


@contextmanager
def serve(out: Path, deadline: float = 120.0) -> Iterator[Served]:
    """``run.py serve`` on a free port with the scripted model, seeded with ``leads()``."""
    model = Model()
    model.broken.update({"D-1", "D-2"})
    for lead in leads():
        model.expect(lead)
    # Operations' automatic retries would change the seeded dead letters under a test.
    with FakeOpenAI(model) as server, _serving(out, server.url, "--ops-retry", "0") as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            posted = client.post(
                "/v1/leads", json=leads(), headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert posted.status_code == 202, posted.text
            _settled(client, deadline, [lead["id"] for lead in leads()])
        yield Served(url, out, model)


@contextmanager
def serve_chaos(out: Path, rate: float, seed: int) -> Iterator[Served]:
    """``run.py run`` of the sample leads with ``--chaos RATE`` against the scripted model
    (as the offline engine answers), then ``run.py serve`` on its run directory, with the
    same chaos and Operations' default schedule."""
    model = Model()
    chaos = ["--llm", "openai", "--model", "gpt-4o-mini", "--chaos", str(rate), "--seed", str(seed)]
    with FakeOpenAI(model) as server:
        argv = [sys.executable, str(ROOT / "run.py"), "run", str(EXAMPLES / "leads.csv")]
        argv += ["--out", str(out), *chaos]
        done = subprocess.run(argv, env=_env(server.url), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        with _serving(out, server.url, *chaos) as url:
            yield Served(url, out, model)


def _env(base_url: str) -> dict[str, str]:
    return os.environ | {
        "PYTHONPATH": str(ROOT),
        "LEADWRIGHT_TOKEN": TOKEN,
        "OPENAI_API_KEY": SECRET,
        "OPENAI_BASE_URL": base_url,
    }


@contextmanager
def _serving(out: Path, base_url: str, *options: str) -> Iterator[str]:
    """``run.py serve`` on ``out`` and a free port, against the model at ``base_url``;
    its URL. ``options`` are added to its command line (``--llm openai`` by default)."""
    argv = [sys.executable, str(ROOT / "run.py"), "serve", "--out", str(out), "--port", "0"]
    if "--llm" not in options:
        argv += ["--llm", "openai", "--model", "gpt-4o-mini"]
    argv += options
    log = (out.parent / "serve.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        argv, env=_env(base_url), stdout=log, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    drain = threading.Thread(target=process.stderr.read, daemon=True)
    try:
        url = _url(process)
        # Keep draining stderr so that the server never blocks on a full pipe.
        drain.start()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if drain.is_alive():
            drain.join()
        process.stderr.close()
        log.close()


def _url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    for line in process.stderr:
        if "serving" in line:
            return line.split(" on ", 1)[1].split()[0]
    raise AssertionError(f"serve exited with {process.wait()} before listening")


def _settled(client: httpx.Client, deadline: float, ids: list[str]) -> None:
    """Wait until none of ``ids`` is pending, by following the outcome events."""
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def pending() -> int:
        states = [client.get(f"/v1/leads/{i}", headers=headers).json()["status"] for i in ids]
        return states.count("pending")

    with client.stream("GET", "/v1/events", headers=headers, timeout=deadline) as events:
        if pending() == 0:
            return
        for line in events.iter_lines():
            if line.startswith("data:") and pending() == 0:
                return


def sign_in(page: Page, token: str = TOKEN) -> None:
    """Sign ``page`` in to the console as ``REVIEWER``, with ``token``."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_label("API token").fill(token)
    page.get_by_label("Your name").fill(REVIEWER)
    page.get_by_role("button", name="Sign in").click()
