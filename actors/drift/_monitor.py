"""The drift monitor: profiles the run as it goes, and compares it to a baseline on demand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Unpack, assert_never, final

import anyio.to_thread

from actors.drift._builder import ProfileBuilder
from actors.drift._profile import PROFILE_FILE, Profile
from actors.drift._statistics import DriftReport, compare
from actors.runtime import Actor, ActorOptions, Context
from messages import (
    LeadAccepted,
    LeadScore,
    OutreachDraft,
    ValidationFailed,
    ValidationPassed,
)
from messages._drift import DriftDetected, ProfileFlush, ProfileSaved

Observed = (
    LeadAccepted | LeadScore | OutreachDraft | ValidationPassed | ValidationFailed | ProfileFlush
)


@final
class DriftMonitor(Actor[Observed]):
    """Profiles inputs and outputs, and on ``ProfileFlush`` saves and compares the profile.

    On ``ProfileFlush`` it writes ``out_dir/profile.json``. With a baseline, it compares
    the two, and publishes ``DriftDetected`` carrying only the drifted columns when any
    column drifted. Last, always, it publishes ``ProfileSaved``, whose ``drift`` is the
    dataset-level flag (at least half the columns drifted).

    The profile lives in ``builder``, which the composer creates once and passes to
    every incarnation: a restart keeps what the run has profiled so far.
    """

    handles = (
        LeadAccepted,
        LeadScore,
        OutreachDraft,
        ValidationPassed,
        ValidationFailed,
        ProfileFlush,
    )

    def __init__(
        self,
        out_dir: Path,
        builder: ProfileBuilder,
        *,
        baseline: Profile | None = None,
        baseline_name: str = "",
        on_window: Callable[[DriftReport], None] | None = None,
        **options: Unpack[ActorOptions],
    ) -> None:
        super().__init__(**options)
        self.out_dir = out_dir
        self.builder = builder
        self.baseline = baseline
        self.baseline_name = baseline_name or "baseline"
        self.on_window = on_window

    async def handle(self, ctx: Context[Observed]) -> None:
        envelope = ctx.envelope
        match ctx.message:
            case LeadAccepted(lead=lead):
                self.builder.add_lead(lead, at=envelope.created_at)
                if self.builder.window_full:
                    await self._judge_window(ctx)
            case LeadScore() as score:
                self.builder.add_score(score, attempt=envelope.attempt, at=envelope.created_at)
            case OutreachDraft() as draft:
                self.builder.add_draft(draft, attempt=envelope.attempt, at=envelope.created_at)
            case ValidationPassed():
                self.builder.add_verdict(passed=True)
            case ValidationFailed():
                self.builder.add_verdict(passed=False)
            case ProfileFlush():
                await self._flush(ctx)
            case unexpected:
                assert_never(unexpected)

    async def _flush(self, ctx: Context[Observed]) -> None:
        # A snapshot, so that saving and testing can run off the event loop.
        snapshot = self.builder.profile.copy()
        path = self.out_dir / PROFILE_FILE
        report = await anyio.to_thread.run_sync(self._save_and_compare, snapshot, path)
        if report is not None and report.drifted:
            await ctx.publish(
                DriftDetected(
                    columns=report.drifted, reference=self.baseline_name, current=str(path)
                )
            )
        await ctx.publish(
            ProfileSaved(
                path=str(path),
                drift=report is not None and report.drift,
                columns=len(snapshot.columns),
            )
        )

    async def _judge_window(self, ctx: Context[Observed]) -> None:
        """Compare the window just filled with the baseline; publish what drifted."""
        window = self.builder.next_window()
        if self.baseline is None:
            return
        report = await anyio.to_thread.run_sync(compare, self.baseline, window)
        if self.on_window is not None:
            self.on_window(report)
        if report.drifted:
            await ctx.publish(
                DriftDetected(
                    columns=report.drifted, reference=self.baseline_name, current="live window"
                )
            )

    def _save_and_compare(self, profile: Profile, path: Path) -> DriftReport | None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        profile.save(path)
        return None if self.baseline is None else compare(self.baseline, profile)
