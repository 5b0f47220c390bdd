"""What the durable journal costs: Leadwright's throughput at L = 0, journal on and off.

Run by hand from the repository root, never by pytest::

    PYTHONPATH=. python bench/journal.py
    PYTHONPATH=. python bench/journal.py --leads 1000 --concurrency 32 --rounds 3

Both configurations run the same seeded synthetic leads (``bench/_workload.py``) through
``run_pipeline`` with the offline LLM at zero latency, alternating, each round into a
fresh run directory; the best round of each is kept, because a shared machine only ever
adds time. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import anyio
from _workload import EXAMPLES, synthetic_records
from stamina.instrumentation import set_on_retry_hooks

from actors import Icp, KnowledgeBase
from actors.intake import RawRecord
from actors.llm import OfflineLlm
from supervision.system import PipelineConfig, run_pipeline


async def leads_per_s(
    records: list[RawRecord], *, journal: bool, concurrency: int, seed: int
) -> float:
    with tempfile.TemporaryDirectory(prefix="leadwright-journal-") as out:
        config = PipelineConfig(
            out=Path(out),
            gateway=OfflineLlm(seed=seed),
            icp=Icp.load(EXAMPLES / "icp.toml"),
            source=KnowledgeBase.load(EXAMPLES / "companies.json"),
            concurrency=concurrency,
            seed=seed,
            journal=journal,
        )
        summary = await run_pipeline(config, records, total=len(records))
    if summary.pending:
        raise RuntimeError(f"{summary.pending} leads did not finish")
    return summary.leads / summary.makespan_s


async def main(arguments: argparse.Namespace) -> None:
    set_on_retry_hooks([])
    records = synthetic_records(arguments.leads, seed=arguments.seed)
    best = {True: 0.0, False: 0.0}
    for _ in range(arguments.rounds):
        for journal in (True, False):
            rate = await leads_per_s(
                records, journal=journal, concurrency=arguments.concurrency, seed=arguments.seed
            )
            best[journal] = max(best[journal], rate)
            print(f"journal {'on ' if journal else 'off'}: {rate:8.1f} leads/s")
    cost = 1 - best[True] / best[False]
    print(f"best of {arguments.rounds}: on {best[True]:.1f}, off {best[False]:.1f} leads/s; "
          f"the journal costs {cost:.0%} of throughput")  # fmt: skip
    print(json.dumps({
        "leads": arguments.leads,
        "concurrency": arguments.concurrency,
        "journal_on_leads_per_s": round(best[True], 1),
        "journal_off_leads_per_s": round(best[False], 1),
        "throughput_cost": round(cost, 3),
    }))  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    anyio.run(main, parser.parse_args(), backend="asyncio")
