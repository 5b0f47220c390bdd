"""Real prices: the price table and --prices, and what a run cost, wherever it is shown."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import run as cli
from actors import Icp, KnowledgeBase, LlmReply, LlmRequest
from actors.intake import read_records
from actors.llm import (
    PRICES,
    FunctionLlm,
    OfflineLlm,
    Price,
    Spend,
    Usage,
    cost_usd,
    load_prices,
)
from actors.llm.testing import FakeOpenAI, OfflineModel
from console._metrics import registry_for
from messages import UsageError
from supervision.system import PipelineConfig, open_system
from tests.support.paths import ROOT


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def leads(tmp_path: Path, count: int) -> Path:
    lines = (ROOT / "examples" / "leads.csv").read_text(encoding="utf-8").splitlines(True)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "leads.csv"
    path.write_text("".join(lines[: count + 1]), encoding="utf-8")
    return path


# The table


def test_cached_prompt_tokens_cost_the_cached_rate() -> None:
    """Of a call's prompt tokens, the cached ones are priced at the cached rate."""
    price = PRICES["gpt-4o-mini"]
    expected = (600 * price.input_per_m + 400 * price.cached_per_m + 50 * price.output_per_m) / 1e6
    assert cost_usd("gpt-4o-mini", 1000, 50, cached_tokens=400) == pytest.approx(expected)
    assert price.cached_per_m < price.input_per_m


def test_a_price_without_a_cached_rate_charges_cached_tokens_in_full() -> None:
    """A model with no cached price bills cached tokens as any prompt token."""
    prices = {"m": Price(1.0, 2.0)}
    assert cost_usd("m", 1_000_000, 0, cached_tokens=500_000, prices=prices) == 1.0


def test_a_toml_prices_file_adds_and_replaces_models(tmp_path: Path) -> None:
    """--prices FILE in TOML: a new model gets a price; a shipped one is replaced."""
    path = tmp_path / "prices.toml"
    path.write_text(
        '["my-vllm"]\ninput = 0.0\noutput = 0.0\n\n'
        '["gpt-4o-mini"]\ninput = 1.0\ncached_input = 0.5\noutput = 4.0\n',
        encoding="utf-8",
    )
    prices = load_prices(path)
    assert prices["my-vllm"] == Price(0.0, 0.0)
    assert prices["gpt-4o-mini"] == Price(1.0, 4.0, 0.5)
    assert prices["gpt-4o"] == PRICES["gpt-4o"]


def test_a_json_prices_file_is_read_by_its_suffix(tmp_path: Path) -> None:
    """--prices FILE.json holds the same table as JSON."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"m": {"input": 2, "output": 8, "cached_input": 1}}))
    assert load_prices(path)["m"] == Price(2.0, 8.0, 1.0)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.toml", "x = [", "p.toml: not a TOML prices file (Invalid value"),
        ("p.json", "{", "p.json: not a JSON prices file"),
        ("p.toml", "", "p.toml: no models; map each model to its input and output price"),
        ("p.toml", "m = 3", "model 'm': expected a table of input, cached_input and output"),
        ("p.toml", '["m"]\ninput = 1', "model 'm': no output price; give USD per million tokens"),
        ("p.toml", '["m"]\ninput = 1\noutput = "2"', "model 'm': output = '2' is not a number"),
        ("p.toml", '["m"]\ninput = -1\noutput = 2', "model 'm': input = -1 must be a finite"),
        ("p.toml", '["m"]\ninput = 1\noutput = 2\nin = 3', "unknown key 'in'; use input"),
    ],
)
def test_a_bad_prices_file_is_one_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    """Every kind of bad prices file is a UsageError of one line naming the problem."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        load_prices(path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


# What a run spent


def test_the_offline_engine_costs_nothing() -> None:
    """Calls that a gateway does not price (the offline engine) say "offline: no cost"."""
    spend = Spend({("research", "offline-1"): Usage(calls=3, prompt_tokens=30, free=3)}, 2)
    assert spend.note() == "offline: no cost"
    assert spend.cost_usd is None
    assert spend.to_json()["tokens_per_completed_lead"] == 15.0


def test_a_model_without_a_price_is_named() -> None:
    """Calls to a model missing from the table say which model has no price."""
    spend = Spend({("writing", "llama3"): Usage(calls=2, unpriced=2)}, 1)
    assert spend.note() == "no price for model llama3 (give one with --prices FILE)"
    assert spend.cost_usd is None


def test_a_priced_run_shows_its_cost_per_completed_lead() -> None:
    """Priced calls give a total, by stage, and per completed lead, with separators."""
    usage = {
        ("research", "gpt-4o"): Usage(calls=1, cost_usd=1200.5),
        ("writing", "gpt-4o"): Usage(calls=4, cost_usd=0.5),
    }
    spend = Spend(usage, completed=4)
    assert spend.note() == "$1,201.0000 ($300.2500 per completed lead)"
    assert spend.cost_by_stage() == {"research": 1200.5, "writing": 0.5}


def run_openai(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    model: str,
    *extra: str,
) -> dict[str, object]:
    with FakeOpenAI(OfflineModel()) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        argv = ["run", str(leads(tmp_path, 6)), "--out", str(tmp_path / "out"), "--json"]
        code, out, err = invoke(capsys, *argv, "--llm", "openai", "--model", model, *extra)
    assert code == 0, err
    summary: dict[str, object] = json.loads(out)
    return summary


def test_a_priced_model_s_run_reports_its_cost(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A run on a priced model: --json has the cost by stage and per completed lead, and
    ``report --cost --json`` reads the same from the run directory."""
    summary = run_openai(capsys, monkeypatch, tmp_path, "gpt-4o-mini")
    cost = summary["cost"]
    assert isinstance(cost, dict)
    assert cost["cost_usd"] > 0
    assert set(cost["by_stage"]) == {"research", "scoring", "writing"}
    completed = summary["outcomes"]["completed"]  # type: ignore[index]
    assert cost["cost_usd_per_completed_lead"] == pytest.approx(cost["cost_usd"] / completed)
    code, out, _ = invoke(capsys, "report", "--out", str(tmp_path / "out"), "--cost", "--json")
    assert code == 0
    reported = json.loads(out)
    assert reported["cost_usd"] == pytest.approx(cost["cost_usd"])
    assert reported["calls"] == cost["calls"]
    code, out, _ = invoke(capsys, "report", "--out", str(tmp_path / "out"))
    assert f"cost: ${cost['cost_usd']:,.4f}" in out


def test_an_unpriced_model_is_named_until_prices_give_it_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A model missing from the table: "no price for model X"; --prices FILE prices it."""
    summary = run_openai(capsys, monkeypatch, tmp_path / "a", "house-model")
    assert summary["cost"]["note"].startswith("no price for model house-model")  # type: ignore[index]
    prices = tmp_path / "prices.toml"
    prices.write_text('["house-model"]\ninput = 1.0\noutput = 2.0\n', encoding="utf-8")
    priced = run_openai(capsys, monkeypatch, tmp_path / "b", "house-model", "--prices", str(prices))
    assert priced["cost"]["cost_usd"] > 0  # type: ignore[index]


def test_a_bad_prices_option_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--prices with a bad file stops the run with one line and exit 1."""
    path = tmp_path / "prices.toml"
    path.write_text('["m"]\ninput = 1\n', encoding="utf-8")
    argv = ["run", str(leads(tmp_path, 2)), "--out", str(tmp_path / "out"), "--prices", str(path)]
    code, _, err = invoke(capsys, *argv)
    assert code == 1
    assert err.strip() == f"error: {path}: model 'm': no output price; give USD per million tokens"


def test_the_offline_summary_says_there_is_no_cost(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An offline run prints its tokens with separators and "offline: no cost"."""
    code, out, _ = invoke(capsys, "run", str(leads(tmp_path, 12)), "--out", str(tmp_path / "o"))
    assert code == 0
    assert "cost: offline: no cost" in out
    [tokens] = [line for line in out.splitlines() if line.startswith("tokens: ")]
    assert "," in tokens and "per completed lead" in tokens


# /metrics


def priced_system(tmp_path: Path, *, cost: float | None) -> PipelineConfig:
    """The offline engine's replies, priced at ``cost`` a call (``None``: no price)."""
    engine = OfflineLlm(seed=0, imperfection_rate=0.0)

    async def answer(request: LlmRequest) -> LlmReply:
        reply = await engine.complete(request)
        return replace(reply, model="house-model", extra={"cost_usd": cost}, cached_tokens=7)

    return PipelineConfig(
        out=tmp_path,
        gateway=FunctionLlm(answer),
        icp=Icp.load(ROOT / "examples" / "icp.toml"),
        source=KnowledgeBase.load(ROOT / "examples" / "companies.json"),
    )


async def scrape(config: PipelineConfig, count: int) -> dict[str, float]:
    rows = list(itertools.islice(read_records(ROOT / "examples" / "leads.csv"), count))
    async with open_system(config) as system:
        await system.submit(await system.open_input("t"), [(r.record, r.fields) for r in rows])
        with anyio.fail_after(60):
            await system.wait_finished()
        text = generate_latest(registry_for(system)).decode()
    return {
        f"{sample.name}{sample.labels or ''}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.mark.anyio
async def test_metrics_give_the_cost_by_stage_and_per_completed_lead(tmp_path: Path) -> None:
    """/metrics: cost by stage, per completed lead, and cached tokens, for priced calls."""
    metrics = await scrape(priced_system(tmp_path, cost=0.001), 6)
    costs = {k: v for k, v in metrics.items() if k.startswith("leadwright_cost_usd_total")}
    assert set(costs) == {
        "leadwright_cost_usd_total{'stage': 'research'}",
        "leadwright_cost_usd_total{'stage': 'scoring'}",
        "leadwright_cost_usd_total{'stage': 'writing'}",
    }
    assert metrics["leadwright_cost_per_completed_lead_usd"] > 0
    assert metrics["leadwright_cached_tokens_total{'stage': 'research'}"] > 0
    assert metrics["leadwright_tokens_per_completed_lead"] > 0


@pytest.mark.anyio
async def test_metrics_give_no_cost_where_there_is_no_price(tmp_path: Path) -> None:
    """With no price for the model, /metrics shows tokens but no cost (never a false 0)."""
    metrics = await scrape(priced_system(tmp_path, cost=None), 3)
    assert not any(name.startswith("leadwright_cost") for name in metrics)
    assert any(name.startswith("leadwright_tokens_total") for name in metrics)


usages = st.builds(
    Usage,
    *(st.integers(0, 10**9) for _ in range(4)),
    st.integers(0, 10**6).map(float),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)


@given(usages, usages)
def test_usage_adds_and_subtracts_every_count(first: Usage, second: Usage) -> None:
    """What a caller saved is subtracted from what it used, count by count: adding one
    usage to another and taking it off again gives the first back, and a sum counts both."""
    total = Usage()
    total.add(first)
    total.add(second)
    assert total.calls == first.calls + second.calls
    assert total.free == first.free + second.free
    assert total.minus(second) == first
