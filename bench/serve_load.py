"""``serve`` under load: leads accepted and finished per second over HTTP, the latency of a
``POST``, and the server's memory as the leads go through.

Run by hand from the repository root, never by pytest::

    PYTHONPATH=. python bench/serve_load.py
    PYTHONPATH=. python bench/serve_load.py --leads 20000 --clients 20 --concurrency 32

It starts ``run.py serve`` on 127.0.0.1 (a free port, a fresh temporary ``--out``, the
offline LLM with ``--latency-ms``), posts N synthetic valid leads from ``--clients``
concurrent clients, ``--batch`` leads a request (a 429 is waited out as its ``Retry-After``
says, and counted), and polls ``/v1/leads?outcome=pending`` until every lead has an outcome.
``accepted_per_s`` is N over the time to the last 202; ``finished_per_s`` is N over the time
to the last outcome; ``post_p50_ms`` and ``post_p99_ms`` are the latencies of the POSTs that
were answered 202. The server's RSS is read from ``/proc`` at each quarter of the leads
finished, and its peak (``VmHWM``) at the end; so is the journal's size on disk
(``journal.sqlite`` and its write-ahead log) per finished lead, which background
compaction keeps bounded. ``--serve-args`` passes options to ``serve`` (such as
``"--compact-every 0 --compact-minutes 0"`` to turn compaction off), and ``--code DIR``
runs the ``run.py`` of another checkout (a ``git worktree`` of an earlier revision) to
compare with it. The last line is one JSON object."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _workload import synthetic_records

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else float("nan")


def journal_kb_per_lead(out: Path, finished: int) -> float:
    """The journal's bytes on disk (its write-ahead log included) per finished lead, in KB."""
    path = out / "journal.sqlite"
    wal = path.with_name(path.name + "-wal")
    size = sum(p.stat().st_size for p in (path, wal) if p.exists())
    return round(size / max(1, finished) / 1024, 2)


class JournalSampler(threading.Thread):
    """Every second, the leads finished (from ``/metrics``) and the journal's KB per
    finished lead: how the journal grows while the service runs."""

    def __init__(self, url: str, out: Path) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.out = out
        self.samples: list[tuple[int, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=AUTH, timeout=30) as http:
            while not self._halt.wait(1.0):
                text = http.get("/metrics").text
                done = sum(
                    int(float(line.rsplit(" ", 1)[1]))
                    for line in text.splitlines()
                    if line.startswith("leadwright_leads_total{")
                )
                if done:
                    self.samples.append((done, journal_kb_per_lead(self.out, done)))

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def by_tenth(self, leads: int) -> list[float]:
        """The first sample past each tenth of the leads."""
        found = []
        for tenth in range(1, 11):
            after = [kb for done, kb in self.samples if done >= leads * tenth / 10]
            if after:
                found.append(after[0])
        return found

    def worst(self, after: int) -> float:
        """The most KB per finished lead once ``after`` leads have finished."""
        return max((kb for done, kb in self.samples if done >= after), default=float("nan"))


def start(
    out: Path, latency_ms: float, concurrency: int, code: Path, extra: list[str]
) -> tuple[subprocess.Popen[str], str]:
    argv = [sys.executable, str(code / "run.py"), "serve", "--out", str(out), "--port", "0"]
    argv += ["--latency-ms", str(latency_ms), "--concurrency", str(concurrency)]
    argv += ["--inbox", "100000", *extra]
    env = os.environ | {"PYTHONPATH": str(code), "LEADWRIGHT_TOKEN": TOKEN}
    process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"on (http://\S+)", line)
        if found:
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, found.group(1)
    raise SystemExit("serve did not start")


async def post_all(
    url: str, leads: list[dict[str, object]], clients: int, batch: int
) -> dict[str, float]:
    latencies: list[float] = []
    refused = 0

    async def client(share: list[dict[str, object]]) -> None:
        nonlocal refused
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=120) as http:
            for start in range(0, len(share), batch):
                body = share[start] if batch == 1 else share[start : start + batch]
                while True:
                    began = time.perf_counter()
                    answer = await http.post("/v1/leads", json=body)
                    if answer.status_code != 429:
                        break
                    refused += 1
                    await anyio.sleep(float(answer.headers["retry-after"]))
                if answer.status_code != 202:
                    raise SystemExit(f"POST answered {answer.status_code}: {answer.text}")
                latencies.append(time.perf_counter() - began)

    async with anyio.create_task_group() as group:
        for n in range(clients):
            group.start_soon(client, leads[n::clients])
    ordered = sorted(latencies)
    return {
        "post_p50_ms": round(statistics.median(ordered) * 1000, 2),
        "post_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
        "refused_429": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=1, help="Leads per POST.")
    parser.add_argument("--serve-args", default="", help="More options for serve.")
    parser.add_argument("--code", type=Path, default=ROOT, help="The checkout to run.")
    parser.add_argument(
        "--settle-s", type=float, default=15.0, help="Seconds to wait after the last lead."
    )
    args = parser.parse_args()
    leads: list[dict[str, object]] = [
        dict(r.fields) for r in synthetic_records(args.leads, seed=args.seed)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        extra = shlex.split(args.serve_args)
        process, url = start(out, args.latency_ms, args.concurrency, args.code, extra)
        try:
            sampler = JournalSampler(url, out)
            sampler.start()
            began = time.perf_counter()
            posted = anyio.run(post_all, url, leads, args.clients, args.batch)
            accepted_s = time.perf_counter() - began
            quarters: list[float] = []
            with httpx.Client(base_url=url, headers=AUTH, timeout=60) as http:
                while True:
                    done = args.leads - _pending(http)
                    while len(quarters) < 4 and done >= args.leads * (len(quarters) + 1) / 4:
                        quarters.append(round(rss_mb(process.pid), 1))
                    if done >= args.leads:
                        break
                    time.sleep(0.2)
            finished_s = time.perf_counter() - began
            sampler.stop()
            peak = rss_mb(process.pid, "VmHWM")
            # A service runs on after its last lead: a compaction due by count or time
            # comes; the journal is measured once it has had its chance.
            time.sleep(args.settle_s)
            settled = journal_kb_per_lead(out, args.leads)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    print(
        json.dumps(
            {
                "leads": args.leads,
                "clients": args.clients,
                "batch": args.batch,
                "latency_ms": args.latency_ms,
                "concurrency": args.concurrency,
                "accepted_per_s": round(args.leads / accepted_s, 1),
                "finished_per_s": round(args.leads / finished_s, 1),
                "accepted_over_finished": round(finished_s / accepted_s, 1),
                **posted,
                "rss_mb_at_quarters": quarters,
                "peak_rss_mb": round(peak, 1),
                "journal_kb_per_finished_lead_while_running": sampler.by_tenth(args.leads),
                "journal_kb_per_finished_lead_max": sampler.worst(args.leads // 10),
                "journal_kb_per_finished_lead": settled,
                "serve_args": args.serve_args,
            }
        )
    )


def _pending(http: httpx.Client) -> int:
    total = 0
    cursor = 0
    while True:
        page = http.get(
            "/v1/leads", params={"outcome": "pending", "limit": 1000, "cursor": cursor}
        ).json()
        total += len(page["leads"])
        if page["next_cursor"] is None:
            return total
        cursor = page["next_cursor"]


if __name__ == "__main__":
    main()
