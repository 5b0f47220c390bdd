"""The dashboard's drift view: the live profile against the baseline ``serve`` was given,
with a plot per drifted column (the same report as ``run.py drift --report``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import final

import anyio

from actors.drift import DriftReport, compare, write_report
from supervision.system import System

DRIFT_DIR = "console-drift"
"""Where the console draws the drift report, in the run directory."""
PLOT = re.compile(r"drift_[a-z0-9_]+\.png")
"""The names ``write_report`` gives plots; nothing else is served from its directory."""


@final
@dataclass(frozen=True, slots=True)
class DriftView:
    baseline: str
    report: DriftReport
    plots: dict[str, str]
    """Column name to plot file name, for drifted columns."""


@final
class DriftPlots:
    """Draws the drift report on demand into ``DRIFT_DIR`` in the run directory."""

    def __init__(self, system: System) -> None:
        self._system = system
        self._lock = anyio.Lock()
        self.directory = system.config.out / DRIFT_DIR

    async def view(self) -> DriftView | None:
        """The report now, its plots drawn; ``None`` without a baseline."""
        baseline = self._system.config.baseline
        if baseline is None:
            return None
        # A copy taken on the event loop, where the drift monitor adds to the profile;
        # the tests and the plots then run in a worker thread, one report at a time.
        current = self._system.drift_profile()
        async with self._lock:
            report = await anyio.to_thread.run_sync(lambda: compare(baseline, current))
            await anyio.to_thread.run_sync(
                lambda: write_report(report, baseline, current, self.directory)
            )
        plots = {
            c.name: p.name
            for c in report.drifted
            if (p := self.directory / f"drift_{_slug(c.name)}.png").is_file()
        }
        return DriftView(self._system.config.baseline_name, report, plots)

    def plot(self, name: str) -> Path | None:
        """A plot drawn by ``view``, by its file name."""
        path = self.directory / name
        return path if PLOT.fullmatch(name) and path.is_file() else None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "column"
