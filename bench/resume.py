"""Resume at scale: what a stopped run costs to pick up, and what a finished one costs to
recognise (issue 14, item 2).

Run by hand from the repository root, never by pytest::

    PYTHONPATH=. python bench/resume.py                 # 20,000 leads
    PYTHONPATH=. python bench/resume.py --leads 100000  # the issue's size: about 20 minutes

Three ``run.py run`` processes on one synthetic CSV (``bench/memory.py``'s leads), offline
at zero latency, into one fresh ``--out``: a fresh run stopped by SIGTERM once half the
leads are done; the same command again, which resumes; and the same command a third
time, on the finished run. For each it prints the process's peak RSS (``VmHWM``, polled
from ``/proc`` while it runs), its wall
time, and for the resume the time to its first progress line. The last line is one JSON
object; the ratios compare runs taken on the same machine in the same minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import write_csv

ROOT = Path(__file__).resolve().parent.parent


def peak_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return float("nan")
    found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else float("nan")


def one_run(leads: Path, out: Path, *, stop_at: int | None = None) -> dict[str, float | int | None]:
    """One ``run.py run``; SIGTERM once ``stop_at`` leads are done, if given."""
    argv = [sys.executable, str(ROOT / "run.py"), "run", str(leads), "--out", str(out)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    began = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert process.stderr is not None
    first: float | None = None
    peak = 0.0

    def watch() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, peak_mb(process.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for line in process.stderr:
        done = re.match(r"progress: (\d+)", line)
        if done is None:
            continue
        if first is None:
            first = time.perf_counter() - began
        if stop_at is not None and int(done.group(1)) >= stop_at:
            process.send_signal(signal.SIGTERM)
            stop_at = None
    process.wait()
    watcher.join()
    return {
        "exit": process.returncode,
        "wall_s": round(time.perf_counter() - began, 2),
        "first_progress_s": None if first is None else round(first, 2),
        "peak_rss_mb": round(peak, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        leads = Path(tmp) / "leads.csv"
        write_csv(leads, args.leads, seed=args.seed)
        out = Path(tmp) / "run"
        fresh = one_run(leads, out, stop_at=args.leads // 2)
        resumed = one_run(leads, out)
        finished = one_run(leads, out)
    print(
        json.dumps(
            {
                "leads": args.leads,
                "fresh_stopped_at_half": fresh,
                "resumed": resumed,
                "finished_again": finished,
                "resume_peak_over_fresh": round(
                    float(resumed["peak_rss_mb"] or 0) / float(fresh["peak_rss_mb"] or 1), 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
