"""Whether Leadwright's memory stays flat as the leads grow (DESIGN.md: a 100,000-lead file).

Run by hand from the repository root, never by pytest; the defaults take about three
minutes on two cores::

    PYTHONPATH=. python bench/memory.py
    PYTHONPATH=. python bench/memory.py --leads 1000 5000 20000 --concurrency 32 --seed 0
    PYTHONPATH=. python bench/memory.py --include-100k

For each N, N seeded synthetic valid leads (``bench/_workload.py``, renumbered chunk by
chunk so that ids and emails stay distinct) are streamed to a CSV file in a temporary
directory. A fresh child process (this script again, with ``--child``) then runs that
file as ``run.py run LEADS`` does: the records are read lazily with ``read_records``,
``total`` is counted by a separate pass over the file, and ``run_pipeline`` runs them
with the offline LLM at zero latency and the journal on, into a fresh temporary
``--out``. So no measurement mixes with another, and the records are never held whole.

The child samples its resident set size (``VmRSS``) from a background thread every
``--interval`` seconds, and reports the RSS after its imports, after the first 10% of
the leads, at the end, and at its peak (the kernel's ``VmHWM``), with leads/s overall,
over the first 10% and over the rest. ``--include-100k`` adds N = 100,000: ten minutes or
more.

``slope_mb_per_10k`` is the growth in MB per 10,000 leads between the smallest and the
largest N, of the peak and of the end RSS, and ``upper_slope_mb_per_10k`` the same between
the two largest N (past the first few thousand leads, when the bounded samples of the
drift profile and of the LLM latencies are full); ``in_run_mb_per_10k`` is the growth from
10% of the leads to the end within each run. Flat memory puts them near zero. The last
line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import final

import anyio
from _workload import EXAMPLES, synthetic_records
from stamina.instrumentation import set_on_retry_hooks

from actors import Icp, KnowledgeBase
from actors.intake import COLUMNS, RawRecord, read_records
from actors.llm import OfflineLlm
from supervision.system import PipelineConfig, Progress, run_pipeline

DEFAULT_LEADS = (2_000, 5_000, 15_000)
CHUNK = 5_000
"""Leads generated and written at a time, so the parent never holds a whole file either."""
MB = 1024 * 1024


def rss_mb(key: str = "VmRSS") -> float:
    """This process's resident set size (``VmRSS``) or its peak (``VmHWM``), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024 / MB
    raise RuntimeError(f"no {key} in /proc/self/status")


def leads_in_chunks(count: int, *, seed: int) -> Iterator[RawRecord]:
    """``count`` distinct synthetic leads, made ``CHUNK`` at a time, numbered 1 to ``count``."""
    for offset in range(0, count, CHUNK):
        chunk = synthetic_records(min(CHUNK, count - offset), seed=seed + offset // CHUNK)
        for raw in chunk:
            number = offset + raw.record
            email = str(raw.fields["email"])
            local, _, domain = email.rpartition("@")
            person = local.rpartition(".")[0]
            fields = raw.fields | {"id": f"B{number:07d}", "email": f"{person}.{number}@{domain}"}
            yield RawRecord(record=number, fields=fields)


def write_csv(path: Path, count: int, *, seed: int) -> None:
    """Stream ``count`` leads to ``path`` as the CSV that ``actors.intake`` reads."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for raw in leads_in_chunks(count, seed=seed):
            writer.writerow(["" if raw.fields.get(c) is None else raw.fields[c] for c in COLUMNS])


@final
class Sampler:
    """``VmRSS`` every ``interval`` seconds from a daemon thread, until stopped."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.samples: list[float] = []

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss_mb())
            self._stop.wait(self._interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(slots=True)
class AtTenth:
    """The RSS, and the time, when the first 10% of the leads have their outcome."""

    mark: int
    rss_mb: float | None = None
    at_s: float = 0.0

    def __call__(self, progress: Progress) -> None:
        if self.rss_mb is None and progress.done >= self.mark:
            self.rss_mb = rss_mb()
            self.at_s = time.perf_counter()


async def child(arguments: argparse.Namespace) -> None:
    """One run of the CSV file, as ``run.py run LEADS`` does it; prints its figures as JSON."""
    set_on_retry_hooks([])
    leads = Path(arguments.child)
    records = read_records(leads)
    total = sum(1 for _ in read_records(leads))
    tenth = AtTenth(mark=max(1, total // 10))
    start_rss = rss_mb()
    with (
        tempfile.TemporaryDirectory(prefix="leadwright-memory-") as out,
        Sampler(arguments.interval) as sampler,
    ):
        config = PipelineConfig(
            out=Path(out),
            gateway=OfflineLlm(seed=arguments.seed, latency_ms=0.0),
            icp=Icp.load(EXAMPLES / "icp.toml"),
            source=KnowledgeBase.load(EXAMPLES / "companies.json"),
            concurrency=arguments.concurrency,
            seed=arguments.seed,
            journal=True,
        )
        started = time.perf_counter()
        summary = await run_pipeline(config, records, total=total, on_progress=tenth)
        end_rss, ended = rss_mb(), time.perf_counter()
    if summary.halted is not None or summary.pending or summary.leads != total:
        raise RuntimeError(
            f"the run did not finish every lead: {summary.leads} read, "
            f"{summary.pending} pending, halted={summary.halted!r}"
        )
    print(json.dumps({
        "leads": total,
        "outcomes": summary.outcomes,
        "leads_per_s": round(summary.leads_per_s, 1),
        "first_10pct_leads_per_s": round(tenth.mark / (tenth.at_s - started), 1),
        "last_90pct_leads_per_s": round((total - tenth.mark) / (ended - tenth.at_s), 1),
        "start_rss_mb": round(start_rss, 1),
        "tenth_rss_mb": round(tenth.rss_mb if tenth.rss_mb is not None else end_rss, 1),
        "end_rss_mb": round(end_rss, 1),
        "peak_rss_mb": round(max(rss_mb("VmHWM"), *sampler.samples), 1),
        "samples": len(sampler.samples),
    }))  # fmt: skip


def measure(count: int, arguments: argparse.Namespace, directory: Path) -> dict[str, object]:
    """Write N leads and run them in a fresh child process; its figures."""
    leads = directory / f"leads-{count}.csv"
    write_csv(leads, count, seed=arguments.seed)
    command = [
        sys.executable, __file__, "--child", str(leads),
        "--concurrency", str(arguments.concurrency), "--seed", str(arguments.seed),
        "--interval", str(arguments.interval),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True)
    finally:
        leads.unlink()
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def per_10k(growth_mb: float, leads: int) -> float:
    return round(growth_mb / leads * 10_000, 2) if leads > 0 else 0.0


def main(arguments: argparse.Namespace) -> None:
    counts = sorted(set(arguments.leads) | ({100_000} if arguments.include_100k else set()))
    print(f"C = {arguments.concurrency}, L = 0 ms, journal on, one child process per N")
    heads = ("leads", "leads/s", "start MB", "at 10% MB", "end MB", "peak MB", "+MB/10k in run")
    print("".join(f"{head:>15}" for head in heads))
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="leadwright-memory-csv-") as directory:
        for count in counts:
            figures = measure(count, arguments, Path(directory))
            tenth, end = float(str(figures["tenth_rss_mb"])), float(str(figures["end_rss_mb"]))
            figures["in_run_mb_per_10k"] = per_10k(end - tenth, count - count // 10)
            runs.append(figures)
            cells = (figures["leads_per_s"], figures["start_rss_mb"], tenth, end,
                     figures["peak_rss_mb"], figures["in_run_mb_per_10k"])  # fmt: skip
            print(f"{count:>15}" + "".join(f"{float(str(cell)):>15.1f}" for cell in cells))
    slope = growth(runs[0], runs[-1])
    upper = growth(runs[-2], runs[-1]) if len(runs) > 2 else slope
    print(json.dumps({
        "concurrency": arguments.concurrency,
        "latency_ms": 0.0,
        "journal": True,
        "runs": runs,
        "slope_mb_per_10k": slope,
        "upper_slope_mb_per_10k": upper,
    }))  # fmt: skip


def growth(small: dict[str, object], large: dict[str, object]) -> dict[str, float]:
    """Peak and end RSS growth per 10,000 leads from the run ``small`` to the run ``large``."""
    span = int(str(large["leads"])) - int(str(small["leads"]))
    slope = {
        key: per_10k(float(str(large[f"{key}_rss_mb"])) - float(str(small[f"{key}_rss_mb"])), span)
        for key in ("peak", "end")
    }
    print(
        f"growth from N = {small['leads']} to N = {large['leads']}: "
        f"peak {slope['peak']:+.2f} MB, end {slope['end']:+.2f} MB per 10,000 leads"
    )
    return slope


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, nargs="+", default=list(DEFAULT_LEADS),
                        help="the values of N, the leads per run")  # fmt: skip
    parser.add_argument("--include-100k", action="store_true", help="add N = 100,000")
    parser.add_argument("--concurrency", type=int, default=32, help="C, LLM calls in flight")
    parser.add_argument("--seed", type=int, default=0, help="seeds the leads and the LLM")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.child is not None:
        anyio.run(child, parsed, backend="asyncio")
    else:
        main(parsed)
