"""What compaction saves: journal bytes per finished lead before and after ``compact``.

Run by hand from the repository root, never by pytest::

    PYTHONPATH=. python bench/compaction.py
    PYTHONPATH=. python bench/compaction.py --leads 5000 --chaos 0.2

Seeded synthetic leads (``bench/_workload.py``) run through ``run_pipeline`` with the
offline LLM at zero latency, optionally with chaos so that stories hold retries, reviews
and dead letters; then ``compact_run`` shrinks the journal. The last line of output is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import anyio
from _workload import EXAMPLES, synthetic_records
from stamina.instrumentation import set_on_retry_hooks

from actors import Icp, KnowledgeBase, LlmGateway
from actors.llm import ChaosLlm, OfflineLlm
from supervision.system import PipelineConfig, compact_run, run_pipeline


async def run(out: Path, arguments: argparse.Namespace) -> int:
    gateway: LlmGateway = OfflineLlm(seed=arguments.seed)
    if arguments.chaos:
        gateway = ChaosLlm(gateway, rate=arguments.chaos, seed=arguments.seed)
    config = PipelineConfig(
        out=out,
        gateway=gateway,
        icp=Icp.load(EXAMPLES / "icp.toml"),
        source=KnowledgeBase.load(EXAMPLES / "companies.json"),
        concurrency=32,
        seed=arguments.seed,
    )
    records = synthetic_records(arguments.leads, seed=arguments.seed)
    summary = await run_pipeline(config, records, total=len(records))
    return summary.leads


def main(arguments: argparse.Namespace) -> None:
    set_on_retry_hooks([])
    with tempfile.TemporaryDirectory(prefix="leadwright-compaction-") as directory:
        out = Path(directory)
        leads = anyio.run(run, out, arguments, backend="asyncio")
        started = time.perf_counter()
        result = compact_run(out)
        seconds = time.perf_counter() - started
    figures = {
        "leads": leads,
        "finished_leads": result.finished_leads,
        "bytes_per_lead_before": round(result.bytes_before / result.finished_leads),
        "bytes_per_lead_after": round(result.bytes_per_finished_lead),
        "compact_s": round(seconds, 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--chaos", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    main(parser.parse_args())
