"""Run control: hears that the run must stop, and tells whoever runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

from actors._actor import Actor
from actors._context import Context
from messages import RunHalted


@final
class RunControl(Actor[RunHalted]):
    """Passes ``RunHalted`` to the run's owner, which stops admitting leads and shuts down."""

    handles = (RunHalted,)

    def __init__(self, on_halt: Callable[[RunHalted], None], **options: Any) -> None:
        super().__init__(**options)
        self.on_halt = on_halt

    async def handle(self, ctx: Context[RunHalted]) -> None:
        self.on_halt(ctx.message)
