"""What a process pays before and after its work: imports, and a small run's wall time.

Run by hand from the repository root, never by pytest::

    PYTHONPATH=. python bench/startup.py [--leads 10] [--rounds 3]

Two measures, each the median of ``--rounds`` fresh processes:

1. ``python -X importtime run.py --help``: the wall time of the process and the import
   time of its top-level modules, with the heaviest ones named.
2. ``python run.py run LEADS --json`` on the first ``--leads`` leads of
   ``examples/leads.csv`` (offline LLM, L = 0), into a fresh run directory: the process's
   wall time against the ``makespan_s`` it reports, and their difference; and the CPU
   time the process used, which a busy machine inflates less than the wall time.

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEADS = ROOT / "examples" / "leads.csv"


def import_times(stderr: str) -> dict[str, float]:
    """Seconds per top-level import in ``-X importtime`` output, each with what it imported."""
    times: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        # The header has no numbers; an import made by another is indented under it.
        if cumulative.strip().isdigit() and not name.startswith("  "):
            times[name.strip()] = int(cumulative) / 1e6
    return times


def help_once() -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "run.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return time.perf_counter() - started, import_times(done.stderr)


def run_once(leads: Path) -> tuple[float, float, float]:
    """The wall time, CPU time and reported makespan of one small run."""
    with tempfile.TemporaryDirectory(prefix="leadwright-startup-") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), "run", str(leads), "--out", out, "--json"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, cpu, float(summary["makespan_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10, help="leads in the small run")
    parser.add_argument("--rounds", type=int, default=3, help="processes per measure")
    args = parser.parse_args()

    helps = [help_once() for _ in range(args.rounds)]
    help_wall = statistics.median(wall for wall, _ in helps)
    imports = min(helps)[1]
    heaviest = dict(sorted(imports.items(), key=lambda item: -item[1])[:6])

    with tempfile.TemporaryDirectory(prefix="leadwright-startup-leads-") as scratch:
        leads = Path(scratch) / "leads.csv"
        lines = LEADS.read_text(encoding="utf-8").splitlines()
        leads.write_text("\n".join(lines[: args.leads + 1]) + "\n", encoding="utf-8")
        runs = [run_once(leads) for _ in range(args.rounds)]
    walls = [wall for wall, _, _ in runs]
    run_wall, run_cpu, makespan = runs[walls.index(statistics.median_low(walls))]

    result = {
        "help_wall_s": round(help_wall, 3),
        "import_s": round(sum(imports.values()), 3),
        "heaviest_imports_s": {name: round(s, 3) for name, s in heaviest.items()},
        "leads": args.leads,
        "run_wall_s": round(run_wall, 3),
        "run_cpu_s": round(run_cpu, 3),
        "makespan_s": round(makespan, 3),
        "wall_above_makespan_s": round(run_wall - makespan, 3),
    }
    print(
        f"run.py --help: {help_wall:.2f} s, imports {result['import_s']} s; "
        f"run of {args.leads} leads: {run_wall:.2f} s wall, {makespan:.2f} s makespan"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
