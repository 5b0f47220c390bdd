"""What the live system knows of drift: the profile the drift monitor builds, the columns
that drifted from the baseline, and the verdict on each full live window."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import final

import anyio

from actors.drift import PROFILE_FILE, DriftReport, Profile, ProfileBuilder
from messages import UsageError


@final
class DriftWatch:
    """The live profile (``ProfileBuilder``, handed to every incarnation of the drift
    monitor) and what the monitor said of it."""

    def __init__(self, out: Path, *, seed: int, window: int) -> None:
        self.builder = ProfileBuilder(seed=seed, window=window)
        # A resumed run adds to the profile of the leads done before, rather than replacing it.
        if (out / PROFILE_FILE).is_file():
            with contextlib.suppress(UsageError):
                self.builder.profile = Profile.load(out / PROFILE_FILE)
        self.drifted: list[str] = []
        """Columns whose distribution drifted from the baseline, in the order found."""
        self.live: DriftReport | None = None
        """The verdict on the last full live window, when there is a baseline."""
        self.windows = 0
        """Live windows judged."""
        self._saved = anyio.Event()

    def profile(self) -> Profile:
        """A copy of the profile, taken on the event loop where the monitor adds to it."""
        return copy.deepcopy(self.builder.profile)

    def judged(self, report: DriftReport) -> None:
        """The monitor's verdict on a full live window."""
        self.live = report
        self.windows += 1

    def drifted_in(self, names: list[str]) -> None:
        """The monitor found these columns drifted."""
        self.drifted.extend(name for name in names if name not in self.drifted)

    def saved(self) -> None:
        """The monitor saved the profile."""
        self._saved.set()

    def expect_save(self) -> None:
        """A ``ProfileFlush`` is about to ask the monitor to save the profile."""
        self._saved = anyio.Event()

    async def wait_saved(self) -> None:
        """Return once the monitor has saved the profile since ``expect_save``."""
        await self._saved.wait()
