"""``/metrics``: the live system's figures in Prometheus's text format, read when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from actors.llm import Spend
from supervision.system import System


@final
class SystemCollector(Collector):
    """Reads the system's statistics at each scrape; keeps nothing of its own."""

    def __init__(self, system: System) -> None:
        self.system = system

    def collect(self) -> Iterator[Metric]:
        now = self.system.statistics()
        outcomes = CounterMetricFamily(
            "leadwright_leads", "Leads that ended, by outcome, since start.", labels=["outcome"]
        )
        for outcome, count in sorted(now.settled.items()):
            outcomes.add_metric([outcome], count)
        yield outcomes
        stats = now.caller
        yield CounterMetricFamily(
            "leadwright_llm_calls", "LLM calls, retries included.", stats.calls
        )
        yield CounterMetricFamily(
            "leadwright_retries", "LLM calls made again, and re-asks.", stats.retried
        )
        tokens = CounterMetricFamily("leadwright_tokens", "Tokens by stage.", labels=["stage"])
        for stage, count in sorted(stats.tokens_by_stage.items()):
            tokens.add_metric([stage], count)
        yield tokens
        yield from _spend(now.spend)
        companies = now.companies
        yield CounterMetricFamily(
            "leadwright_research_reused",
            "Leads given the research another lead of their company made.",
            companies.reused,
        )
        keeping = now.housekeeping
        yield CounterMetricFamily(
            "leadwright_journal_compacted_leads",
            "Finished leads compacted in the background, since start.",
            keeping.compacted,
        )
        failures = CounterMetricFamily(
            "leadwright_validation_failures", "Validator failures by rule.", labels=["rule"]
        )
        for rule, count in sorted(now.book.failures_by_rule.items()):
            failures.add_metric([rule], count)
        yield failures
        yield GaugeMetricFamily(
            "leadwright_queue_depth", "Leads waiting for admission.", now.queued
        )
        yield GaugeMetricFamily(
            "leadwright_in_flight", "Leads admitted, unfinished.", now.in_flight
        )
        latency = GaugeMetricFamily(
            "leadwright_llm_latency_seconds",
            "LLM call latency by stage and quantile.",
            labels=["stage", "quantile"],
        )
        for stage, value in sorted(stats.latency_p50_by_stage.items()):
            latency.add_metric([stage, "0.5"], value)
        for stage, value in sorted(stats.latency_p95_by_stage.items()):
            latency.add_metric([stage, "0.95"], value)
        yield latency
        report = now.live_drift
        if report is not None:
            drift = GaugeMetricFamily(
                "leadwright_drift",
                "1 where the last live window drifted from the baseline.",
                labels=["column"],
            )
            for column in report.columns:
                drift.add_metric([column.name], float(column.drift))
            yield drift
            yield GaugeMetricFamily(
                "leadwright_dataset_drift", "1 when the last live window drifted.", report.drift
            )


def _spend(spend: Spend) -> Iterator[Metric]:
    """Cached tokens and cost by stage, and per completed lead (cost only where priced)."""
    by_stage = spend.by_stage()
    cached = CounterMetricFamily(
        "leadwright_cached_tokens",
        "Prompt tokens read from the provider's cache, by stage.",
        labels=["stage"],
    )
    for stage, used in by_stage.items():
        cached.add_metric([stage], used.cached_tokens)
    yield cached
    total = spend.total
    if spend.completed:
        yield GaugeMetricFamily(
            "leadwright_tokens_per_completed_lead",
            "Tokens of every LLM call since start, per lead completed since start.",
            (total.prompt_tokens + total.completion_tokens) / spend.completed,
        )
    if not spend.priced:
        return  # offline, or no price for the model: a cost of 0 would be a lie
    cost = CounterMetricFamily(
        "leadwright_cost_usd",
        "What the LLM calls cost, by stage, in US dollars.",
        labels=["stage"],
    )
    for stage, used in by_stage.items():
        cost.add_metric([stage], used.cost_usd)
    yield cost
    if spend.completed:
        yield GaugeMetricFamily(
            "leadwright_cost_per_completed_lead_usd",
            "What the LLM calls since start cost, per lead completed since start.",
            total.cost_usd / spend.completed,
        )


def registry_for(system: System) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SystemCollector(system))
    return registry
