"""The LLM usage of a running system, added to the run directory's as it goes (for
``report --cost``): only what was not saved yet, each time."""

from __future__ import annotations

from typing import final

from actors import LlmCaller, UsageStore
from actors.llm import Usage


@final
class UsageKeeper:
    """Saves what ``caller``'s calls used into ``store``, a difference at a time."""

    def __init__(self, store: UsageStore, caller: LlmCaller) -> None:
        self._store = store
        self._caller = caller
        self._saved: dict[tuple[str, str], Usage] = {}

    async def save(self) -> None:
        """Add the usage not saved yet to the run directory's."""
        now, unsaved = self._unsaved()
        await self._store.add(unsaved)
        self._saved = now

    def save_now(self) -> None:
        """``save``, blocking: for a system that is closing."""
        now, unsaved = self._unsaved()
        self._store.add_now(unsaved)
        self._saved = now

    def _unsaved(self) -> tuple[dict[tuple[str, str], Usage], dict[tuple[str, str], Usage]]:
        """The usage now, and what of it is not saved yet."""
        now = self._caller.statistics().usage
        unsaved = {key: used.minus(self._saved.get(key, Usage())) for key, used in now.items()}
        return now, {key: used for key, used in unsaved.items() if used.calls}
