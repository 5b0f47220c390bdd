"""``evaluate`` between two models a FakeOpenAI serves, that differ as real ones do: one
leaves placeholders in a share of its drafts, another mis-scores a share of its leads at
random. The gate tells the worse one from the better, and ``--repeat`` measures how
often the erratic one changes its mind.

The evaluations each replay a hundred leads over real HTTP, seconds of work: they are in
the slow tier, and the offline evaluations of tests/cli/test_evaluate.py keep the gate in
the fast tier."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import run as cli
from actors import Icp
from actors.agents import scoring_request
from actors.llm import GatewaySpec, LlmRequest, OpenAiLlm, build_gateway
from actors.llm._openai import RETRY_SEED_STRIDE
from actors.llm.testing import MISSCORE_SHIFT, Behaviour, Completion, FakeOpenAI, OfflineModel
from messages import UsageError
from tests.support.outputs import lead, research
from tests.support.paths import EXAMPLES

ROWS = 100
BASELINE_MODEL = "gpt-4o-mini"
SLOPPY = "gpt-4.1-nano"
"""Leaves a placeholder in 40% of its drafts, and again when asked to fix it."""
ERRATIC = "gpt-4.1-mini"
"""Scores 30% of its leads far from their ICP score, drawn anew on every repeat."""
MISSCORE_RATE = 0.3
GATE = ("--fail-if", "rule:draft.placeholder > 0.05", "--fail-if", "completed_rate < baseline - 2%")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    behaviours = {
        SLOPPY: Behaviour(placeholder_rate=0.4),
        ERRATIC: Behaviour(misscore_rate=MISSCORE_RATE, seed=11),
    }
    models = [BASELINE_MODEL, SLOPPY, ERRATIC]
    with (
        FakeOpenAI(OfflineModel(behaviours=behaviours), models=models) as fake,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("OPENAI_API_KEY", "sk-test-evaluate")
        patch.setenv("OPENAI_BASE_URL", fake.url)
        yield fake


@pytest.fixture(scope="module")
def baseline(server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample leads run on the flawless model."""
    lines = (EXAMPLES / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    leads = tmp_path_factory.mktemp("leads") / "leads.csv"
    leads.write_text("".join(lines[: ROWS + 1]), encoding="utf-8")
    out = tmp_path_factory.mktemp("baseline")
    argv = ["run", str(leads), "--out", str(out), "--llm", "openai", "--model", BASELINE_MODEL]
    assert cli.main([*argv, "--json"]) == 0
    return out


def evaluate(
    capsys: pytest.CaptureFixture[str], baseline: Path, out: Path, *extra: str
) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["evaluate", "--baseline", str(baseline), "--out", str(out), "--json", *extra])
    captured = capsys.readouterr()
    assert code in (0, 3), captured.err
    return code, json.loads(captured.out), captured.err


def rates(result: dict[str, Any], rule: str) -> tuple[float, float]:
    (row,) = [r for r in result["rules"] if r["rule"] == rule]
    return row["baseline"]["rate"], row["candidate"]["rate"]


@pytest.mark.slow
def test_the_worse_model_fails_the_gate_on_its_rule_and_its_outcomes(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """The sloppy model fails draft.placeholder more often, sends completed leads to review,
    and --fail-if exits 3 on both conditions; the closing line says so, with the cost."""
    code, result, _ = evaluate(capsys, baseline, tmp_path / "e", "--model", SLOPPY, *GATE)
    assert code == 3
    before, after = rates(result, "draft.placeholder")
    assert before == 0.0 and after > 0.2
    (row,) = [r for r in result["rules"] if r["rule"] == "draft.placeholder"]
    assert row["candidate"]["low"] > row["baseline"]["high"]  # the intervals do not overlap
    assert result["transitions"]["completed"].get("needs_review", 0) > 5
    outcomes = result["outcomes"]
    assert outcomes["candidate"]["needs_review"] > outcomes["baseline"]["needs_review"]
    assert [g["holds"] for g in result["gate"]] == [True, True]
    summary = result["summary"]
    assert "more in review" in summary and "draft.placeholder 0.0% → " in summary
    assert "cost −" in summary  # gpt-4.1-nano's list price is below gpt-4o-mini's
    changed = [lead for lead in result["lead_results"] if "draft.placeholder" in
               lead["candidate"]["rules_failed"]]  # fmt: skip
    assert changed and any(op != "equal" for op, _ in changed[0]["draft_diff"])


@pytest.mark.slow
def test_the_better_model_passes_the_same_gate(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path
) -> None:
    """The baseline's own model replays with no difference and exit 0."""
    code, result, _ = evaluate(capsys, baseline, tmp_path / "e", "--model", BASELINE_MODEL, *GATE)
    assert code == 0
    assert [g["holds"] for g in result["gate"]] == [False, False]
    assert result["summary"].startswith("candidate: no differences on")
    assert result["kappa"] == 1.0


@pytest.mark.slow
def test_repeat_measures_how_often_an_erratic_model_flips_an_outcome(
    capsys: pytest.CaptureFixture[str], baseline: Path, tmp_path: Path, server: FakeOpenAI
) -> None:
    """Three draws of a model that mis-scores 30% of leads at random: a scored lead keeps
    one outcome in all three with probability 0.7³ + 0.3³, so about 63% of them flip;
    each draw sends its own seed, so the draws are independent."""
    asked = len(server.requests)
    code, result, _ = evaluate(
        capsys, baseline, tmp_path / "e", "--model", ERRATIC, "--repeat", "3"
    )
    assert code == 0 and result["repeat"] == 3
    seeds = {r.body.get("seed") for r in server.requests[asked:] if r.body.get("model") == ERRATIC}
    assert seeds == {None, 1, 2}
    stable = [lead["stability"] for lead in result["lead_results"] if lead["stability"]]
    assert len(stable) == result["leads"]
    scored = [s for s in stable if all(fit is not None for fit in s["fits"])]
    flip = 1 - (1 - MISSCORE_RATE) ** 3 - MISSCORE_RATE**3
    expected = flip * len(scored) / len(stable)
    assert result["flip_rate"] == pytest.approx(expected, abs=0.12)
    assert {s["outcome_agreement"] for s in stable} <= {1.0, 2 / 3, 1 / 3}
    assert f"outcome flips on {result['flip_rate']:.0%} of leads over 3 draws" in result["summary"]


def scoring_body(lead_id: str, *, model: str, seed: int | None) -> dict[str, Any]:
    """A chat request for one lead's score, as OpenAiLlm sends it."""
    icp = Icp.load(EXAMPLES / "icp.toml")
    request = scoring_request(
        research(lead=lead(lead_id=lead_id)), icp, attempt=1, feedback=(), timeout=5.0
    )
    messages = [{"role": "system", "content": request.system},
                {"role": "user", "content": request.prompt}]  # fmt: skip
    return {"model": model, "messages": messages} | ({"seed": seed} if seed is not None else {})


def scored(script: OfflineModel, body: dict[str, Any]) -> dict[str, Any]:
    reply = script(body, 1)
    assert isinstance(reply, Completion) and reply.content is not None
    return dict(json.loads(reply.content))


def test_a_model_behaviour_draws_per_lead_and_seed() -> None:
    """A mis-scoring model lands MISSCORE_SHIFT from the ICP score on about its share of
    leads; the same request draws the same, another seed draws anew, and a model with no
    behaviour answers as the flawless engine does."""
    script = OfflineModel(behaviours={"m": Behaviour(misscore_rate=0.5)})
    ids = [f"L{n:04}" for n in range(200)]

    def misscored(seed: int | None) -> set[str]:
        found = set()
        for lead_id in ids:
            body = scoring_body(lead_id, model="m", seed=seed)
            reply = scored(script, body)
            icp = json.loads(
                body["messages"][1]["content"].split("<data>\n")[1].split("\n</data>")[0]
            )
            if abs(reply["score"] - icp["icp_score"]) == MISSCORE_SHIFT:
                found.add(lead_id)
        return found

    first = misscored(None)
    assert 0.4 < len(first) / len(ids) < 0.6
    assert misscored(None) == first
    again = misscored(1)
    assert again != first and 0.4 < len(again) / len(ids) < 0.6
    plain = scoring_body("L0001", model="other", seed=None)
    assert scored(script, plain) == scored(OfflineModel(), plain)


def test_a_behaviour_refuses_a_rate_out_of_range() -> None:
    """Rates are shares: 1.5 is a UsageError naming it."""
    with pytest.raises(UsageError, match=r"placeholder_rate=1.5 must be between 0 and 1"):
        Behaviour(placeholder_rate=1.5)


def test_openai_sends_the_seed_only_when_one_is_set_or_a_retry_moves_it() -> None:
    """The seed reaches the server as the request's seed; seed 0 (the default) sends none
    on a first pass, and an Operations retry moves it on (another draw)."""
    with FakeOpenAI(OfflineModel(), models=["m"]) as fake:
        for seed, retry in ((0, 0), (7, 0), (0, 2), (7, 1)):
            spec = GatewaySpec(llm="openai", model="m", seed=seed)
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("OPENAI_API_KEY", "sk-test")
                patch.setenv("OPENAI_BASE_URL", fake.url)
                gateway = build_gateway(spec)
            assert isinstance(gateway, OpenAiLlm)
            request = scoring_request(
                research(), Icp.load(EXAMPLES / "icp.toml"),
                attempt=1, feedback=(), timeout=5.0,
            )  # fmt: skip
            request = dataclasses.replace(request, retry=retry)

            async def ask(llm: OpenAiLlm = gateway, asked: LlmRequest = request) -> None:
                async with llm:
                    await llm.complete(asked)

            anyio.run(ask)
        seeds = [r.body.get("seed") for r in fake.requests]
        assert seeds == [None, 7, 2 * RETRY_SEED_STRIDE, 7 + RETRY_SEED_STRIDE]
