"""What an operator's actions share: a system on the run directory that admits nothing
else, under its lock; and export."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import anyio
import typer

from cli._common import DEFAULT_OUT, Out, app, fail, must_exist, plain, stderr, with_stores
from messages import LeadwrightError
from supervision.system import (
    DraftRefused,
    Operator,
    RunLimits,
    RunSettings,
    crm_table,
    operating,
)


@app.command()
def export(
    out: Out = DEFAULT_OUT,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The CRM's rows (finished leads, score and draft) as CSV."""
    written = with_stores(out, crm_table)
    if csv_file is None:
        sys.stdout.write(written.text)
        return
    try:
        csv_file.write_text(written.text, encoding="utf-8")
    except OSError as exc:
        fail(f"--csv {csv_file}: cannot be written ({exc.strerror or exc})")
    plain(f"wrote {written.rows} rows to {csv_file}")


def operate(
    out: Path,
    work: Callable[[Operator], Awaitable[None]],
    *,
    needs_llm: bool,
    reviewer: str = "",
) -> None:
    """Run an operator's action on a system that admits nothing else, under the lock
    (``operating``): the one way every action of the command line takes.

    An action that calls no model (an approval, a decline) runs on the offline engine, so
    it needs no API key; one that does (a retry) uses the run's settings.
    """
    must_exist(out)
    secrets = [os.environ.get("OPENAI_API_KEY", "")]

    async def main() -> None:
        async with operating(
            out, reviewer=reviewer, calls_llm=needs_llm, secrets=secrets
        ) as operator:
            await work(operator)

    try:
        anyio.run(main, backend="asyncio")
    except DraftRefused as exc:
        for violation in exc.violations:
            stderr.print(f"  {violation.rule}: {violation.reason}", markup=False)
        fail(str(exc))
    except LeadwrightError as exc:
        fail(str(exc))


def allowed_retries(out: Path) -> int:
    """How many automatic retries the run directory's settings allow."""
    try:
        return RunSettings.load(out).limits.ops_retry
    except LeadwrightError:
        return RunLimits().ops_retry
