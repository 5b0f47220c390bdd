"""An operator on a run directory from outside a running system (the command line): the
system rebuilt from the run's settings, admitting nothing but what the operator does,
under the directory's lock, with its events in the run's event log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from actors.llm import LlmKind
from supervision.system._configure import close_backends, configure
from supervision.system._library_logs import command_log
from supervision.system._lifespan import open_system
from supervision.system._lock import DirectoryLock
from supervision.system._operations import Operator
from supervision.system._settings import RunSettings


@asynccontextmanager
async def operating(
    out: Path, *, reviewer: str = "", calls_llm: bool = False, secrets: Sequence[str] = ()
) -> AsyncIterator[Operator]:
    """An ``Operator`` on ``out`` as ``reviewer``, until the block ends.

    An action that calls no model (an approval, a decline) runs on the offline engine, so
    it needs no API key; one that does (a retry, ``calls_llm``) uses the run's settings.
    ``secrets`` are kept out of the event log.
    """
    with DirectoryLock(out, command="operator action"):
        settings = RunSettings.load(out)
        if not calls_llm:
            offline = replace(settings.llm, backend=LlmKind.OFFLINE, chaos=0.0)
            settings = replace(settings, llm=offline)
        config = configure(settings, out)
        with command_log(out, secrets=secrets) as log:
            try:
                async with open_system(replace(config, log=log), admit=False) as system:
                    yield Operator(system, reviewer=reviewer)
            finally:
                await close_backends(config.gateway, config.source)
