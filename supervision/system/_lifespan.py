"""The opening and closing of a system: its stores, its bus and its actors, opened
together, and stopped within a deadline when the block that uses them ends."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import anyio

from actors import null_log
from bus import Bus
from supervision.system._config import PipelineConfig
from supervision.system._stores import Stores
from supervision.system._system import System
from supervision.system._wiring import routes
from supervision.system._worker import VALIDATORS

STOP_S = 10.0
"""How long stopping the actors may take before they are cancelled."""


@asynccontextmanager
async def open_system(config: PipelineConfig, *, admit: bool = True) -> AsyncIterator[System]:
    """The system on ``config.out``, running until the block ends.

    Leaving the block stops admission and the actors; what is unfinished stays in the
    run directory, and the next system on it picks it up. Stopping is bounded by
    ``STOP_S``: actors still busy then are cancelled, their messages unacked.
    """
    config.out.mkdir(parents=True, exist_ok=True)
    if config.bus is None:
        async with _open_system(config, admit=admit, bus=None) as system:
            yield system
        return
    from bus import NatsBus  # needs nats-py, which only the NATS bus needs

    async with (
        NatsBus.connect(
            config.bus,
            validators=VALIDATORS,
            user=config.bus_user,
            password=config.bus_password,
            name="serve",
            settings=config.nats,
            default_capacity=config.mailbox_capacity,
            hooks=config.hooks,
            routes=routes(),
        ) as shared,
        _open_system(config, admit=admit, bus=shared) as system,
    ):
        yield system


@asynccontextmanager
async def _open_system(
    config: PipelineConfig, *, admit: bool, bus: Bus | None
) -> AsyncIterator[System]:
    # On a shared bus the server keeps every message; the ledger stays the durable inbox.
    stores = Stores.open(config.out, journal=config.journal and bus is None)
    # On a shared bus, the server may hold a CrmUpdated that settles a stray row.
    settles = bus is None
    try:
        if settles:
            _settle_crm(stores, config)
        system = System(config, stores, admit=admit, bus=bus)
        try:
            with sole_error():
                async with anyio.create_task_group() as group:
                    await group.start(system.run)
                    try:
                        yield system
                    finally:
                        system.stop_actors()
                        # Cancelled if the actors overrun: a deadline, not a wish.
                        stop_by = system.stop_by
                        if stop_by is None:
                            stop_by = anyio.current_time() + STOP_S
                        group.cancel_scope.deadline = stop_by
        finally:
            await system.bus.aclose()
            with contextlib.suppress(sqlite3.Error, OSError):
                system.save_usage_now()
            # After a failure too, if the files still allow it; if not, the next start does.
            if settles:
                with contextlib.suppress(sqlite3.Error, OSError):
                    _settle_crm(stores, config)
    finally:
        stores.close()


def _settle_crm(stores: Stores, config: PipelineConfig) -> None:
    if settled := stores.settle_crm():
        log = config.log if config.log is not None else null_log()
        log.warning("crm_settled", removed=settled, reason="leads still pending after a crash")


@contextlib.contextmanager
def sole_error() -> Iterator[None]:
    """Raise a task group's only error as itself: an operator error stays one line."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1 and isinstance(leaves[0], Exception):
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            found.extend(_leaves(error))
        else:
            found.append(error)
    return found
