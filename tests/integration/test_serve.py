"""``run.py serve``: a real server process on 127.0.0.1, driven over HTTP."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.support.serving import AUTH, pending, sample_leads, serving, start_server, wait_until

pytestmark = pytest.mark.slow


def crm_lead_ids(out: Path) -> list[str]:
    with sqlite3.connect(out / "crm.sqlite") as connection:
        return [row[0] for row in connection.execute("SELECT lead_id FROM contacts")]


def outcomes(out: Path) -> dict[str, str]:
    with sqlite3.connect(out / "journal.sqlite") as connection:
        rows = connection.execute(
            "SELECT r.lead_id, COALESCE(o.outcome, 'pending') FROM records r "
            "LEFT JOIN outcomes o ON o.record = r.record"
        ).fetchall()
    return {str(lead): str(outcome) for lead, outcome in rows}


def test_the_api_refuses_what_a_client_gets_wrong_with_a_reason(tmp_path: Path) -> None:
    """401 without or with a wrong token, 415, 413, 422 with intake's reasons, 404; health
    and readiness need no token."""
    with serving(tmp_path / "run") as server, server.client() as client:
        assert httpx.get(server.url + "/healthz").status_code == 200
        assert httpx.get(server.url + "/readyz").status_code == 200
        assert httpx.get(server.url + "/v1/leads").status_code == 401
        wrong = httpx.get(server.url + "/v1/leads", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        [lead] = sample_leads(1)
        text = client.post(
            "/v1/leads", content=json.dumps(lead), headers={"content-type": "text/plain"}
        )
        assert text.status_code == 415
        huge = client.post("/v1/leads", content=b"[" + b" " * (5 * 1024 * 1024) + b"]",
                           headers={"content-type": "application/json"})  # fmt: skip
        assert huge.status_code == 413
        bad = client.post("/v1/leads", json=[lead, lead | {"email": "not an email"}])
        assert bad.status_code == 422
        [error] = bad.json()["errors"]
        assert error["index"] == 1 and any("email" in reason for reason in error["reasons"])
        assert (
            client.post(
                "/v1/leads", content=b"{", headers={"content-type": "application/json"}
            ).status_code
            == 422
        )
        assert client.get("/v1/leads/nobody").status_code == 404
        assert client.get("/v1/leads", params={"outcome": "lost"}).status_code == 422
        assert pending(client) == 0, "nothing of a refused request was submitted"


def test_an_idempotency_key_answers_the_same_and_refuses_another_body(tmp_path: Path) -> None:
    """The same key and body get the same 202 and one lead; the same key with another body 409."""
    first, second = sample_leads(2)
    with serving(tmp_path / "run") as server, server.client() as client:
        key = {"Idempotency-Key": "order-17"}
        one = client.post("/v1/leads", json=first, headers=key)
        again = client.post("/v1/leads", json=first, headers=key)
        assert one.status_code == again.status_code == 202
        assert one.json() == again.json()
        assert one.headers["location"] == f"/v1/leads/{first['id']}"
        assert client.post("/v1/leads", json=second, headers=key).status_code == 409


def test_a_thousand_leads_from_twenty_clients_under_chaos_end_once_each(tmp_path: Path) -> None:
    """1,000 leads posted by 20 concurrent clients, in batches and one by one, with chaos 0.2:
    every lead ends in exactly one outcome, and the CRM has no duplicates."""
    out = tmp_path / "run"
    leads = sample_leads(1000)
    with serving(out, "--chaos", "0.2", "--seed", "5") as server:

        async def client_task(share: list[dict[str, str]], batch: int) -> None:
            async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=60) as c:
                for start in range(0, len(share), batch):
                    chunk = share[start : start + batch]
                    while True:
                        body = chunk if batch > 1 else chunk[0]
                        answer = await c.post("/v1/leads", json=body)
                        if answer.status_code != 429:
                            break
                        await anyio.sleep(float(answer.headers["retry-after"]))
                    assert answer.status_code == 202, answer.text

        async def flood() -> None:
            async with anyio.create_task_group() as group:
                for n in range(20):
                    group.start_soon(client_task, leads[n::20], 1 if n % 2 else 10)

        anyio.run(flood)
        with server.client() as client:
            wait_until(lambda: pending(client) == 0, deadline_s=600)
    ended = outcomes(out)
    assert len(ended) == 1000 and set(ended) == {lead["id"] for lead in leads}
    assert "pending" not in ended.values()
    in_crm = crm_lead_ids(out)
    assert len(in_crm) == len(set(in_crm))
    assert set(in_crm) == {lead for lead, o in ended.items() if o in ("completed", "disqualified")}


def test_a_lead_answered_202_survives_kill_9(tmp_path: Path) -> None:
    """kill -9 right after a 202, restart on the same directory: the lead finishes."""
    out = tmp_path / "run"
    [lead] = sample_leads(1)
    server = start_server(out, "--latency-ms", "2000")
    try:
        with server.client() as client:
            assert client.post("/v1/leads", json=lead).status_code == 202
        server.kill()
    finally:
        server.close()
    with serving(out) as again, again.client() as client:
        wait_until(lambda: client.get(f"/v1/leads/{lead['id']}").json()["status"] != "pending")
        assert client.get(f"/v1/leads/{lead['id']}").json()["status"] in {
            "completed", "disqualified", "needs_review", "failed",
        }  # fmt: skip


def test_a_flood_past_the_inbox_gets_429_and_every_accepted_lead_finishes(tmp_path: Path) -> None:
    """Past the inbox bound, POST answers 429 with Retry-After; each lead answered 202 ends."""
    out = tmp_path / "run"
    leads = sample_leads(60)
    accepted: list[str] = []
    refused = 0
    options = ("--inbox", "4", "--concurrency", "1", "--latency-ms", "50")
    with serving(out, *options) as server, server.client() as client:
        for lead in leads:
            answer = client.post("/v1/leads", json=lead)
            if answer.status_code == 429:
                refused += 1
                assert int(answer.headers["retry-after"]) > 0
            else:
                assert answer.status_code == 202
                accepted.append(lead["id"])
        wait_until(lambda: pending(client) == 0)
    assert refused > 0 and accepted
    ended = outcomes(out)
    assert set(ended) == set(accepted)
    assert "pending" not in ended.values()


def test_sigterm_refuses_new_leads_drains_and_exits_143(tmp_path: Path) -> None:
    """After SIGTERM, a POST gets 503; the process exits 143; serving again finishes the rest."""
    out = tmp_path / "run"
    leads = sample_leads(6)
    with (
        serving(out, "--latency-ms", "3000", "--concurrency", "1") as server,
        server.client() as client,
    ):
        assert client.post("/v1/leads", json=leads[:5]).status_code == 202
        # Leads in flight, so that there is something to drain while new ones are refused.
        wait_until(lambda: "leadwright_in_flight 0.0" not in client.get("/metrics").text)
        server.process.send_signal(signal.SIGTERM)
        codes: list[int] = []

        def refused() -> bool:
            try:
                codes.append(client.post("/v1/leads", json=leads[5]).status_code)
            except httpx.TransportError:
                return False
            return codes[-1] == 503

        wait_until(refused)
        assert server.wait() == 143
    assert Counter(outcomes(out).values())["pending"] >= 1
    with serving(out) as again, again.client() as client:
        wait_until(lambda: pending(client) == 0)


def test_the_api_never_answers_500_to_anything_a_client_sends(tmp_path: Path) -> None:
    """A property-based fuzz of every operation from the OpenAPI spec (schemathesis), with
    valid and invalid inputs: no 5xx, ever."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    with serving(tmp_path / "run") as server:
        raw = httpx.get(server.url + "/openapi.json", headers=AUTH).json()
        schema = schemathesis.openapi.from_dict(raw)
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]
            if operation.path == "/v1/events":
                continue  # a stream that never ends; tested on its own
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(max_examples=30, suppress_health_check=list(HealthCheck), deadline=None)
                @given(case=operation.as_strategy(generation_mode=mode))
                def call(case: schemathesis.Case[Any]) -> None:
                    response = case.call(base_url=server.url, headers=AUTH, timeout=30)
                    assert response.status_code < 500, (case.method, case.path, response.text)

                try:
                    call()
                except Unsatisfiable:
                    # Only where the spec admits no invalid input (no parameters, or any
                    # string will do): there is nothing negative to send.
                    assert mode is GenerationMode.NEGATIVE


def test_events_stream_one_outcome_per_lead(tmp_path: Path) -> None:
    """``/v1/events`` sends an ``outcome`` event for each lead as it ends."""
    leads = sample_leads(3)
    with serving(tmp_path / "run") as server:
        seen: set[str] = set()
        with (
            httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client,
            client.stream("GET", "/v1/events") as stream,
        ):
            assert client.post("/v1/leads", json=leads).status_code == 202
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    seen.add(json.loads(line[6:])["id"])
                    if len(seen) == len(leads):
                        break
        assert seen == {lead["id"] for lead in leads}


def test_the_validator_as_a_service_judges_a_draft(tmp_path: Path) -> None:
    """``POST /v1/validate/draft`` answers the draft policy's verdict for a draft, and 422
    for something that is not one."""
    [lead] = sample_leads(1)
    with serving(tmp_path / "run") as server, server.client() as client:
        assert client.post("/v1/leads", json=lead).status_code == 202
        wait_until(lambda: pending(client) == 0)
        with sqlite3.connect(tmp_path / "run" / "journal.sqlite") as connection:
            (body,) = connection.execute(
                "SELECT body FROM messages WHERE kind = 'outreach_draft' AND approved = 1"
            ).fetchone()
        draft = json.loads(body)
        good = client.post("/v1/validate/draft", json=draft)
        assert good.status_code == 200 and good.json()["passed"] is True
        draft["body"] = draft["body"] + "\nSee http://evil.example/win and {{first_name}}"
        bad = client.post("/v1/validate/draft", json=draft).json()
        assert bad["passed"] is False
        assert {"draft.foreign_link", "draft.placeholder"} <= {v["rule"] for v in bad["violations"]}
        assert client.post("/v1/validate/draft", json={"subject": "x"}).status_code == 422
        assert client.post("/v1/validate/poem", json=draft).status_code == 422


def test_live_drift_is_judged_by_window_and_exposed(tmp_path: Path) -> None:
    """With a baseline, every full window of accepted leads is compared with it; the verdict
    is at /v1/drift and in /metrics."""
    import run as cli

    baseline = tmp_path / "baseline"
    leads_file = tmp_path / "leads.jsonl"
    leads_file.write_text("".join(json.dumps(lead) + "\n" for lead in sample_leads(20, prefix="B")))
    assert cli.main(["run", str(leads_file), "--out", str(baseline)]) == 0
    options = ("--baseline", str(baseline), "--drift-window", "5")
    with serving(tmp_path / "run", *options) as server, server.client() as client:
        before = client.get("/v1/drift").json()
        assert (before["windows_judged"], before["drift"], before["window"]) == (0, None, 5)
        assert client.post("/v1/leads", json=sample_leads(12)).status_code == 202
        wait_until(lambda: client.get("/v1/drift").json()["windows_judged"] >= 2)
        live = client.get("/v1/drift").json()
        assert live["baseline"] == str(baseline) and isinstance(live["drift"], bool)
        assert {column["name"] for column in live["columns"]} >= {"industry", "country"}
        assert "leadwright_dataset_drift" in client.get("/metrics").text
