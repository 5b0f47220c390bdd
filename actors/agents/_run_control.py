"""Run control: hears what the system says about the run itself, and tells its owner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack, final

from actors.runtime import Actor, ActorOptions, Context
from messages import DriftDetected, ProfileSaved, RunHalted

RunNotice = RunHalted | DriftDetected | ProfileSaved


@final
class RunControl(Actor[RunNotice]):
    """Passes run-level notices to the run's owner.

    ``RunHalted`` makes the owner stop admitting leads and shut down; ``DriftDetected``
    and ``ProfileSaved`` end the drift check at the end of a run.
    """

    handles = (RunHalted, DriftDetected, ProfileSaved)

    def __init__(
        self, on_notice: Callable[[RunNotice], None], **options: Unpack[ActorOptions]
    ) -> None:
        super().__init__(**options)
        self.on_notice = on_notice

    async def handle(self, ctx: Context[RunNotice]) -> None:
        self.on_notice(ctx.message)
