"""The opening and closing of a system (``supervision/system/_lifespan.py``): ``open_system``
opens the stores, the bus and the actors together and closes them when the block ends,
after an error too, within a deadline; what is unfinished stays for the next start."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from actors import PENDING
from actors.llm import FunctionLlm, LlmRequest
from messages import ClosedResourceError, Envelope, ProfileFlush
from supervision.system import OPERATOR, open_system
from supervision.system._lifespan import STOP_S, sole_error
from tests.support.pipeline import offline_config

pytestmark = pytest.mark.anyio

LEAD = {"id": "W1", "email": "ana@ember-labs.ai"}
WAIT_S = 30.0
"""A safety net so that a lost lead fails the test instead of hanging it."""


async def test_the_run_directory_is_made_with_the_folders_above_it(tmp_path: Path) -> None:
    """A run directory that does not exist yet is made, parents included, with its files."""
    out = tmp_path / "a" / "b" / "run"
    async with open_system(offline_config(out)):
        assert (out / "journal.sqlite").is_file()


async def test_leaving_the_block_closes_the_bus_and_the_stores(tmp_path: Path) -> None:
    """Once the block ends, the bus refuses messages and the stores refuse queries."""
    async with open_system(offline_config(tmp_path)) as system:
        pass
    with pytest.raises(ClosedResourceError, match="as the bus has been closed"):
        await system.bus.publish(Envelope.new(ProfileFlush(), producer=OPERATOR))
    with pytest.raises(sqlite3.ProgrammingError):
        system.stores.ledger.unfinished()


async def test_an_error_in_the_block_comes_out_as_itself_and_the_stores_close(
    tmp_path: Path,
) -> None:
    """An error raised in the block is raised as itself, not in an exception group, so
    that an operator's error stays one line; the stores are closed all the same."""
    with pytest.raises(LookupError, match=r"^no such lead$"):
        async with open_system(offline_config(tmp_path)) as system:
            raise LookupError("no such lead")
    with pytest.raises(sqlite3.ProgrammingError):
        system.stores.ledger.unfinished()


async def test_a_stop_past_its_deadline_cancels_busy_actors_and_the_next_start_finishes(
    tmp_path: Path,
) -> None:
    """An actor still busy when stopping must be over is cancelled, its lead left
    unfinished in the run directory; the next system on it finishes that lead."""
    asked = anyio.Event()

    async def never_answers(request: LlmRequest) -> str:
        asked.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    config = replace(offline_config(tmp_path), gateway=FunctionLlm(never_answers))
    async with open_system(config) as system:
        await system.submit(await system.open_input("test"), [(1, LEAD)])
        with anyio.fail_after(WAIT_S):
            await asked.wait()
        system.stop_within(0)
        stopping = anyio.current_time()
    # Without the deadline, the busy research actor would hold the stop for STOP_S.
    assert anyio.current_time() - stopping < STOP_S / 2

    async with open_system(offline_config(tmp_path)) as again:
        assert again.unfinished == 1
        with anyio.fail_after(WAIT_S):
            await again.wait_finished()
        assert again.stores.ledger.outcome_of(1) != PENDING


def test_a_groups_only_error_is_raised_as_itself() -> None:
    """An error alone in nested task groups comes out bare."""
    with pytest.raises(KeyError, match="lead"), sole_error():
        raise ExceptionGroup("outer", [ExceptionGroup("inner", [KeyError("lead")])])


def test_several_errors_stay_in_their_group() -> None:
    """Two errors are not one: the group is raised whole."""
    with pytest.raises(ExceptionGroup) as caught, sole_error():
        raise ExceptionGroup("two", [KeyError("a"), ValueError("b")])
    assert len(caught.value.exceptions) == 2


def test_a_lone_interrupt_stays_in_its_group() -> None:
    """Only an ``Exception`` is unwrapped: an interrupt or a cancellation is left as it is."""
    with pytest.raises(BaseExceptionGroup) as caught, sole_error():
        raise BaseExceptionGroup("stop", [KeyboardInterrupt()])
    assert isinstance(caught.value.exceptions[0], KeyboardInterrupt)
